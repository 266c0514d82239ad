//! Where a link goes: the destination checks shared by URL fields and links
//! found in text (`internal_address`, `lookalike_host`).
//!
//! The link is read as a browser reads it ([`super::weburl`]) and parsed by
//! the WHATWG parser in `url`, which turns every spelling of an address into
//! one: `2852039166`, `0251.0376.0251.0376`, `0xa9fea9fe`, `169.254.43518`,
//! `127.1`, a trailing dot, percent-encoded and fullwidth digits, ideographic
//! full stops, `[::ffff:169.254.169.254]`. The parsed host is classed with
//! [`super::address`]. An address written in any spelling other than the
//! one the parser prints is a disguise: honest development cards write
//! `localhost` or `127.0.0.1`, not `0x7f.1`.

use std::net::IpAddr;

use url::{Host, Url};

use super::address::{self, Class, Danger};
use super::fields::Field;
use super::{FindingCode, Severity, Sink, excerpt, idn, weburl};

/// Where the link sits, which sets how much an internal address matters.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Place {
    /// An agent interface: a development card on `localhost` is common.
    Interface,
    /// Any other URL field (`documentationUrl`, `iconUrl`, `provider.url`,
    /// OAuth and OpenID endpoints, extension URIs).
    UrlField,
    /// A link found in free text.
    Text,
}

/// What the lint makes of a link's destination.
pub(crate) struct Verdict {
    pub(crate) danger: Danger,
    pub(crate) severity: Severity,
    pub(crate) why: String,
}

/// Checks where `raw` leads and reports `internal_address` and
/// `lookalike_host`. `raw` without a scheme is read as `http://raw`.
pub(crate) fn check(raw: &str, place: Place, field: &Field<'_>, sink: &mut Sink) {
    let Some((url, written)) = parse(raw) else {
        return;
    };
    if let Some(v) = destination(&url, written.as_deref(), place) {
        sink.push_with(
            FindingCode::InternalAddress,
            v.severity,
            &field.path,
            || format!("{}: \"{}\"", v.why, excerpt(raw.trim())),
        );
    }
    if let Some(Host::Domain(d)) = url.host()
        && let Some(why) = idn::lookalike(d)
    {
        let severity = if place == Place::Text {
            Severity::Warning
        } else {
            Severity::Error
        };
        sink.push_with(FindingCode::LookalikeHost, severity, &field.path, || {
            format!("{why}: \"{}\"", excerpt(raw.trim()))
        });
    }
}

/// Browser-style reading then WHATWG parsing; links without `//` (bare
/// hosts in text) get `http://`. Also the host as written, lower-cased.
fn parse(raw: &str) -> Option<(Url, Option<String>)> {
    let clean = weburl::clean(raw);
    let full = if clean.contains("://") {
        clean.into_owned()
    } else {
        // `host:port` (a gRPC interface) is a host; `mailto:x` or `urn:x`
        // has no host to judge.
        let port_next = clean
            .split_once(':')
            .is_some_and(|(_, rest)| rest.starts_with(|c: char| c.is_ascii_digit()));
        if weburl::scheme(&clean).is_some() && !port_next {
            return None;
        }
        format!("http://{clean}")
    };
    let url = Url::parse(&full).ok()?;
    url.host()?;
    let written = weburl::written_host(&full);
    Some((url, written))
}

/// The verdict on a parsed URL's host, if it is not a plain public one.
pub(crate) fn destination(url: &Url, written: Option<&str>, place: Place) -> Option<Verdict> {
    let (danger, canonical, embeds_v4) = match url.host()? {
        Host::Ipv4(a) => (address::classify_ip(IpAddr::V4(a))?, a.to_string(), false),
        Host::Ipv6(a) => (
            address::classify_ip(IpAddr::V6(a))?,
            format!("[{a}]"),
            address::embedded_v4(a).is_some(),
        ),
        Host::Domain(d) => {
            let name = d.strip_suffix('.').unwrap_or(d);
            (address::classify_name(name)?, name.to_owned(), false)
        }
    };
    // Written differently from what the parser reads: a numeric, octal, hex
    // or short IPv4, an IPv6 form that carries an IPv4 address, an
    // uncompressed IPv6, percent-encoding, fullwidth digits, a trailing dot.
    let disguised =
        (embeds_v4 || written.is_some_and(|w| w != canonical)) && danger.class >= Class::Internal;
    let admin = url
        .port_or_known_default()
        .and_then(address::admin_port)
        .filter(|_| danger.class >= Class::Internal);
    let (severity, why) = match danger.class {
        Class::Metadata => (Severity::Error, danger.what.to_owned()),
        _ if disguised => (
            Severity::Error,
            format!("{} written in a disguised spelling", danger.what),
        ),
        _ if admin.is_some() => (
            Severity::Error,
            format!(
                "{} on the port of an admin service ({})",
                danger.what,
                admin.unwrap_or_default()
            ),
        ),
        Class::Internal => (
            Severity::Warning,
            match place {
                Place::Interface => format!("interface on {} (development only)", danger.what),
                _ => format!("link to {}", danger.what),
            },
        ),
        Class::Documentation => (Severity::Info, format!("link to {}", danger.what)),
    };
    Some(Verdict {
        danger,
        severity,
        why,
    })
}

/// Whether a URL field's value leads to a cloud metadata endpoint (for the
/// sanitiser, which drops such URLs).
pub(crate) fn is_metadata(raw: &str) -> bool {
    parse(raw)
        .and_then(|(url, written)| destination(&url, written.as_deref(), Place::UrlField))
        .is_some_and(|v| v.danger.class == Class::Metadata)
}
