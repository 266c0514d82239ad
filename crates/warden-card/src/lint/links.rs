//! URLs, `www.` links, e-mail addresses and bare host names in free text.
//!
//! A hand-written scanner rather than a URL parser: text is cut into chunks
//! at whitespace and at the brackets and quotes that usually surround a link,
//! trailing punctuation is trimmed, and each chunk is classified on its
//! shape. A model does not need a valid URL to follow one.

use super::fields::Field;
use super::hosts::{self, Place};
use super::{FindingCode, Severity, Sink};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Link {
    /// `scheme://…`, or a script scheme (`javascript:`, `vbscript:`, `data:`).
    Url {
        script: bool,
    },
    Www,
    Email,
    /// `host.tld` with a common TLD, or a dotted IPv4 address.
    Host,
}

/// TLDs common enough in text (and in exfiltration examples) to take
/// `name.tld` for a host. Deliberately short: `Node.js` and `file.py` are
/// not hosts.
const TLDS: &[&str] = &[
    "com", "net", "org", "io", "dev", "app", "ai", "co", "xyz", "info", "biz", "me", "sh", "cc",
    "tk", "ru", "cn", "su", "top", "site", "online", "link", "click", "live", "pw", "gg", "ly",
    "to", "us", "uk", "de", "fr", "jp", "eu", "in", "tv", "cloud", "tech", "example", "invalid",
    "test", "ngrok", "zip", "mov",
];

/// Chunks of `text` that could be links, trimmed.
pub(crate) fn chunks(text: &str) -> impl Iterator<Item = &str> {
    text.split(|c: char| {
        c.is_whitespace()
            || matches!(
                c,
                '<' | '>' | '"' | '\'' | '`' | '(' | ')' | '[' | ']' | '{' | '}' | '|' | '\\' | ','
            )
    })
    .map(|c| c.trim_end_matches(['.', ':', ';', '!', '?', '*']))
    .map(|c| c.trim_start_matches(['*', '!', ':']))
    .filter(|c| !c.is_empty())
}

/// What kind of link `chunk` is, if any.
pub(crate) fn classify(chunk: &str) -> Option<Link> {
    let lower = chunk.to_ascii_lowercase();
    if let Some(at) = lower.find("://") {
        let scheme = &lower[..at];
        let rest = &lower[at + 3..];
        let scheme_ok = !scheme.is_empty()
            && scheme.starts_with(|c: char| c.is_ascii_alphabetic())
            && scheme
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || matches!(c, '+' | '-' | '.'));
        if scheme_ok && !rest.is_empty() {
            return Some(Link::Url { script: false });
        }
    }
    for scheme in ["javascript:", "vbscript:"] {
        if lower.starts_with(scheme) && lower.len() > scheme.len() {
            return Some(Link::Url { script: true });
        }
    }
    // `data:` then a media type (`text/html`, `image/svg+xml`) or straight
    // to its parameters or payload (`data:,…`, `data:;base64,…`).
    if let Some(body) = lower.strip_prefix("data:") {
        let media = body.split([';', ',']).next().unwrap_or_default();
        let typed = media.split_once('/').is_some_and(|(t, s)| {
            !t.is_empty() && !s.is_empty() && t.chars().all(|c| c.is_ascii_alphabetic())
        });
        if typed || (media.is_empty() && body.len() > 1) {
            return Some(Link::Url { script: true });
        }
    }
    if lower.starts_with("www.") && is_host(&lower[4..]) {
        return Some(Link::Www);
    }
    if let Some((local, domain)) = lower.rsplit_once('@') {
        let local_ok = !local.is_empty()
            && local
                .chars()
                .all(|c| c.is_alphanumeric() || matches!(c, '.' | '_' | '%' | '+' | '-'));
        if local_ok && is_host(domain) {
            return Some(Link::Email);
        }
        return None;
    }
    let host = lower.split(['/', '?', '#']).next().unwrap_or_default();
    let host = host
        .rsplit_once(':')
        .filter(|(_, port)| port.chars().all(|c| c.is_ascii_digit()))
        .map_or(host, |(h, _)| h);
    (is_host(host) || is_ipv4(host)).then_some(Link::Host)
}

/// URLs with a bracketed IPv6 host (`http://[::1]/`), which [`chunks`]
/// cuts at the brackets: from the scheme to the next space, quote or `)`.
fn bracketed_urls(text: &str) -> impl Iterator<Item = &str> {
    text.match_indices("://[").map(move |(at, _)| {
        let start = text[..at]
            .char_indices()
            .rev()
            .take(32)
            .take_while(|&(_, c)| c.is_ascii_alphanumeric() || matches!(c, '+' | '-' | '.'))
            .last()
            .map_or(at, |(i, _)| i);
        let rest = &text[at..];
        let len = rest
            .char_indices()
            .take(256)
            .find(|&(_, c)| c.is_whitespace() || matches!(c, '"' | '\'' | '<' | '>' | ')'))
            .map_or(rest.len().min(256), |(i, _)| i);
        let mut end = at + len;
        while !text.is_char_boundary(end) {
            end -= 1;
        }
        &text[start..end]
    })
}

/// `label(.label)+.tld` with a TLD from [`TLDS`].
fn is_host(s: &str) -> bool {
    let labels: Vec<&str> = s.split('.').collect();
    let Some((tld, names)) = labels.split_last() else {
        return false;
    };
    !names.is_empty()
        && TLDS.contains(tld)
        && names.iter().all(|l| {
            !l.is_empty()
                && l.chars().all(|c| c.is_alphanumeric() || c == '-')
                && !l.starts_with('-')
        })
}

/// A bare metadata host name in text (`metadata.google.internal/…`): its
/// TLD is not one [`classify`] knows, but no honest card names it.
fn is_metadata_name(chunk: &str) -> bool {
    let host = chunk.split(['/', '?', '#', ':']).next().unwrap_or_default();
    [
        "metadata.google.internal",
        "metadata.goog",
        "metadata.azure.internal",
    ]
    .iter()
    .any(|n| host.eq_ignore_ascii_case(n))
}

fn is_ipv4(s: &str) -> bool {
    let parts: Vec<&str> = s.split('.').collect();
    parts.len() == 4
        && parts
            .iter()
            .all(|p| !p.is_empty() && p.len() <= 3 && p.parse::<u8>().is_ok())
}

/// Reports `link_in_text` and `email_in_text` (script links are left to the
/// markup check), and where each link leads ([`hosts::check`]).
pub(crate) fn check(visible: &str, field: &Field<'_>, sink: &mut Sink) {
    for url in bracketed_urls(visible) {
        hosts::check(url, Place::Text, field, sink);
    }
    for chunk in chunks(visible) {
        let link = classify(chunk);
        if matches!(
            link,
            Some(Link::Url { script: false } | Link::Www | Link::Host)
        ) || is_metadata_name(chunk)
        {
            hosts::check(chunk, Place::Text, field, sink);
        }
        let (code, severity, what) = match link {
            None | Some(Link::Url { script: true }) => continue,
            Some(Link::Url { script: false } | Link::Www) => (
                FindingCode::LinkInText,
                Severity::Warning,
                "link in free text (links belong in documentationUrl)",
            ),
            Some(Link::Host) => (
                FindingCode::LinkInText,
                Severity::Info,
                "host name in free text",
            ),
            Some(Link::Email) => (
                FindingCode::EmailInText,
                Severity::Warning,
                "e-mail address in free text",
            ),
        };
        sink.push_with(code, severity, &field.path, || {
            format!("{what}: \"{}\"", super::excerpt(chunk))
        });
    }
}
