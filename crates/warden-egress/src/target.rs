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
pub fn parse(raw: &str) -> Result<Target, EgressError> {
    if raw.len() > MAX_URL_LEN {
        return Err(EgressError::BadUrl(format!(
            "longer than {MAX_URL_LEN} bytes"
        )));
    }
    if let Some(c) = raw.chars().find(|c| c.is_whitespace() || c.is_control()) {
        return Err(EgressError::BadUrl(format!(
            "contains whitespace or a control character ({:?})",
            c
        )));
    }
    if raw.contains('\\') {
        return Err(EgressError::BadUrl("contains a backslash".into()));
    }
    check_raw_authority(raw)?;
    let url = Url::parse(raw).map_err(|e| EgressError::BadUrl(e.to_string()))?;
    from_url(url)
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
#[path = "target_tests.rs"]
mod tests;
