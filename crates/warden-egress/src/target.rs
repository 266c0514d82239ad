//! Reading an outbound URL strictly, before any decision is made on it.
//!
//! The WHATWG parser in `url` already normalises the spellings attackers use
//! (`2130706433`, `0x7f.1`, `0177.0.0.1`, `127.1`, IDNA to punycode, upper
//! case), so decisions are made on the host it parsed. What it would quietly
//! *repair* is refused instead, so that no other parser downstream can read
//! the same text differently: whitespace and control characters (it strips
//! tabs and newlines), backslashes (it reads them as `/`), percent-encoding
//! in the host (it decodes it), userinfo, and empty labels.

use std::net::IpAddr;

use url::Url;

use crate::error::EgressError;

/// Longest URL considered at all.
pub const MAX_URL_LEN: usize = 8 * 1024;

/// A URL that passed the syntactic checks, with its host classified.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Target {
    /// The normalised URL (fragment removed), as it will be sent.
    pub url: Url,
    pub host: Host,
    /// The explicit port, or the scheme's default.
    pub port: u16,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Host {
    /// An ASCII (punycode) lower-case DNS name without a trailing dot.
    Name(String),
    Ip(IpAddr),
}

impl Host {
    pub fn as_name(&self) -> Option<&str> {
        match self {
            Self::Name(n) => Some(n),
            Self::Ip(_) => None,
        }
    }
}

impl std::fmt::Display for Host {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::Name(n) => f.write_str(n),
            Self::Ip(ip) => write!(f, "{ip}"),
        }
    }
}

/// Parses `raw` (absolute) into a [`Target`], refusing anything ambiguous.
/// A fragment is dropped (it is never sent).
pub fn parse(raw: &str) -> Result<Target, EgressError> {
    from_url(read(raw)?)
}

/// Parses `raw` as a base URL, one that paths are joined onto (an agent's
/// URL, a REST endpoint): as [`parse`], and also refusing a query or a
/// fragment, which a joined path would land after (`http://a/#@b/` plus
/// `/x` is a request for `/`).
pub fn parse_base(raw: &str) -> Result<Target, EgressError> {
    let url = read(raw)?;
    if url.fragment().is_some() {
        return Err(EgressError::BadUrl(
            "a base URL must not have a fragment (#…)".into(),
        ));
    }
    if url.query().is_some() {
        return Err(EgressError::BadUrl(
            "a base URL must not have a query (?…)".into(),
        ));
    }
    from_url(url)
}

/// The URL a request for `path` under `base` goes to: `base` read by
/// [`parse_base`], `path` appended to its path (a trailing `/` on `base` is
/// not doubled). `path` is an absolute path as a server received it
/// (`/message:send`, `/tasks/t-1:cancel`, or empty for `base` itself) and
/// keeps its percent-encoding; a query, a fragment, a backslash or a `.` or
/// `..` segment (encoded or not) in it is refused, so nothing in it can
/// leave `base`. The URL is built on the parsed one, never by pasting text.
pub fn join_path(base: &str, path: &str) -> Result<String, EgressError> {
    let mut t = parse_base(base)?;
    check_joined_path(path)?;
    if !path.is_empty() {
        let joined = format!("{}{path}", t.url.path().trim_end_matches('/'));
        t.url.set_path(&joined);
    }
    Ok(t.url.into())
}

/// [`join_path`] on a base already read by [`parse_base`], then `query`
/// after a `?`: the [`Target`] that [`parse`] reads from `join_path`'s
/// text followed by `?` and `query`, without reading the base (its host,
/// through IDNA) again. Two steps, as two errors: the path's refusal is
/// the outer one (what `join_path` refuses); the inner one is what `parse`
/// would refuse in the whole text (its length, whitespace, a control
/// character or a backslash in the query). `base` must come from
/// [`parse_base`].
#[allow(clippy::type_complexity)]
pub fn join_on(
    base: &Target,
    path: &str,
    query: Option<&str>,
) -> Result<Result<Target, EgressError>, EgressError> {
    check_joined_path(path)?;
    let mut t = base.clone();
    if !path.is_empty() {
        let joined = format!("{}{path}", t.url.path().trim_end_matches('/'));
        t.url.set_path(&joined);
    }
    Ok(with_query(t, query))
}

/// `t` (parsed, its URL without a query) with `query` read as [`read`]
/// reads it at the end of the whole text: the same text checks, the same
/// encoding (the parser's own query step), a `#` and what follows dropped
/// (a fragment, never sent).
fn with_query(mut t: Target, query: Option<&str>) -> Result<Target, EgressError> {
    let Some(q) = query else {
        return check_len(t.url.as_str().len()).map(|()| t);
    };
    check_len(t.url.as_str().len() + 1 + q.len())?;
    check_text(q)?;
    let q = q.split_once('#').map_or(q, |(before, _)| before);
    t.url.set_query(Some(q));
    Ok(t)
}

fn check_len(len: usize) -> Result<(), EgressError> {
    if len > MAX_URL_LEN {
        return Err(EgressError::BadUrl(format!(
            "longer than {MAX_URL_LEN} bytes"
        )));
    }
    Ok(())
}

/// Whitespace, control characters and backslashes, which the parser would
/// quietly repair.
fn check_text(raw: &str) -> Result<(), EgressError> {
    if let Some(c) = raw.chars().find(|c| c.is_whitespace() || c.is_control()) {
        return Err(EgressError::BadUrl(format!(
            "contains whitespace or a control character ({:?})",
            c
        )));
    }
    if raw.contains('\\') {
        return Err(EgressError::BadUrl("contains a backslash".into()));
    }
    Ok(())
}

/// `base` (read by [`parse_base`]) with `segments` appended to its path,
/// each percent-encoded as one segment (a `/`, `%`, `?` or `#` in it is
/// encoded, not read). An empty, `.` or `..` segment is refused.
pub fn join_segments(base: &str, segments: &[&str]) -> Result<String, EgressError> {
    let mut t = parse_base(base)?;
    if let Some(s) = segments.iter().find(|s| matches!(**s, "" | "." | "..")) {
        return Err(EgressError::BadUrl(format!(
            "{s:?} is not a path segment that can be joined"
        )));
    }
    t.url
        .path_segments_mut()
        .map_err(|()| EgressError::BadUrl("the URL cannot have a path".into()))?
        .pop_if_empty()
        .extend(segments);
    Ok(t.url.into())
}

/// A path [`join_path`] appends: empty, or `/`-led without a query,
/// fragment, backslash, whitespace, control character or dot segment.
fn check_joined_path(path: &str) -> Result<(), EgressError> {
    let bad = |why: &str| Err(EgressError::BadUrl(format!("path {path:?}: {why}")));
    if path.is_empty() {
        return Ok(());
    }
    if !path.starts_with('/') {
        return bad("does not start with /");
    }
    if path
        .chars()
        .any(|c| matches!(c, '?' | '#' | '\\') || c.is_whitespace() || c.is_control())
    {
        return bad("holds a query, fragment, backslash or whitespace");
    }
    let dot = |seg: &str| {
        let s = seg.to_ascii_lowercase().replace("%2e", ".");
        s == "." || s == ".."
    };
    if path[1..].split('/').any(dot) {
        return bad("holds a . or .. segment");
    }
    Ok(())
}

/// The text checks, then the WHATWG parse (which normalises the host).
fn read(raw: &str) -> Result<Url, EgressError> {
    check_len(raw.len())?;
    check_text(raw)?;
    check_raw_authority(raw)?;
    Url::parse(raw).map_err(|e| EgressError::BadUrl(e.to_string()))
}

/// Checks a URL that is already parsed (e.g. a redirect resolved against
/// the current one).
pub fn from_url(mut url: Url) -> Result<Target, EgressError> {
    let scheme = url.scheme();
    if scheme != "https" && scheme != "http" {
        return Err(EgressError::Scheme(scheme.to_string()));
    }
    if !url.username().is_empty() || url.password().is_some() {
        return Err(EgressError::Userinfo);
    }
    let host = match url.host() {
        Some(url::Host::Ipv4(a)) => Host::Ip(IpAddr::V4(a)),
        Some(url::Host::Ipv6(a)) => Host::Ip(IpAddr::V6(a)),
        Some(url::Host::Domain(d)) => Host::Name(check_name(d)?),
        None => return Err(EgressError::BadUrl("no host".into())),
    };
    if let Host::Name(n) = &host
        && url.host_str() != Some(n.as_str())
    {
        // Send what was checked: the name without its trailing dot.
        url.set_host(Some(n))
            .map_err(|e| EgressError::BadUrl(e.to_string()))?;
    }
    let port = url
        .port_or_known_default()
        .ok_or_else(|| EgressError::BadUrl("no port".into()))?;
    if port == 0 {
        return Err(EgressError::Port(0));
    }
    url.set_fragment(None);
    Ok(Target { url, host, port })
}

/// Refusals that must be made on the text before `url` rewrites it.
fn check_raw_authority(raw: &str) -> Result<(), EgressError> {
    let Some((_, rest)) = raw.split_once("://") else {
        return Ok(()); // `url` refuses it, or it has no authority
    };
    let authority = rest.split(['/', '?', '#']).next().unwrap_or_default();
    if authority.contains('@') {
        return Err(EgressError::Userinfo);
    }
    if authority.contains('%') {
        return Err(EgressError::BadHost {
            host: authority.to_string(),
            why: "percent-encoding in the host",
        });
    }
    Ok(())
}

/// A DNS name as `url` left it (IDNA applied, lower case): letters, digits,
/// `-` and `_` in non-empty labels of at most 63 bytes; one trailing dot
/// dropped (`localhost.` is `localhost`).
fn check_name(d: &str) -> Result<String, EgressError> {
    let bad = |why| EgressError::BadHost {
        host: d.to_string(),
        why,
    };
    let name = d.strip_suffix('.').unwrap_or(d);
    if name.is_empty() || name.len() > 253 {
        return Err(bad("empty or longer than 253 bytes"));
    }
    for label in name.split('.') {
        if label.is_empty() {
            return Err(bad("empty label"));
        }
        if label.len() > 63 {
            return Err(bad("label longer than 63 bytes"));
        }
        if !label
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-' || b == b'_')
        {
            return Err(bad("characters outside a-z 0-9 - _"));
        }
    }
    // A name whose last label is all digits would be read as an IPv4
    // address by some resolvers (`url` refuses most of these itself).
    if name
        .rsplit('.')
        .next()
        .is_some_and(|l| l.bytes().all(|b| b.is_ascii_digit()))
    {
        return Err(bad("numeric top-level label"));
    }
    Ok(name.to_string())
}

#[cfg(test)]
mod tests;
