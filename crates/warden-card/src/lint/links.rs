//! URLs, `www.` links, e-mail addresses and bare host names in free text.
//!
//! A hand-written scanner rather than a URL parser: text is cut into chunks
//! at whitespace and at the brackets and quotes that usually surround a link,
//! trailing punctuation is trimmed, and each chunk is classified on its
//! shape. A model does not need a valid URL to follow one.

use super::fields::Field;
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
    for scheme in [
        "javascript:",
        "vbscript:",
        "data:text/",
        "data:image/",
        "data:application/",
    ] {
        if lower.starts_with(scheme) && lower.len() > scheme.len() {
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

fn is_ipv4(s: &str) -> bool {
    let parts: Vec<&str> = s.split('.').collect();
    parts.len() == 4
        && parts
            .iter()
            .all(|p| !p.is_empty() && p.len() <= 3 && p.parse::<u8>().is_ok())
}

/// Reports `link_in_text` and `email_in_text` (script links are left to the
/// markup check).
pub(crate) fn check(visible: &str, field: &Field<'_>, sink: &mut Sink) {
    for chunk in chunks(visible) {
        let (code, severity, what) = match classify(chunk) {
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
