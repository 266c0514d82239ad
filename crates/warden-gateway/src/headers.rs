//! Which headers cross the gateway.
//!
//! Hop-by-hop headers (RFC 9110 §7.6.1) and any header a `Connection` header
//! names belong to one connection and are dropped in both directions. Headers
//! starting with `x-warden-` are Warden's own: a client-supplied copy is
//! dropped so that it can never be mistaken for one Warden set. Forwarded
//! headers from the client are dropped; Warden writes its own.

use std::net::IpAddr;

use http::header::{self, HeaderMap, HeaderName, HeaderValue};

/// Warden's internal header prefix.
pub const INTERNAL_PREFIX: &str = "x-warden-";

const HOP_BY_HOP: [&str; 9] = [
    "connection",
    "keep-alive",
    "proxy-authenticate",
    "proxy-authorization",
    "proxy-connection",
    "te",
    "trailer",
    "transfer-encoding",
    "upgrade",
];

/// Credentials a caller presents to Warden.
const CREDENTIALS: [&str; 5] = [
    "authorization",
    "x-api-key",
    "dpop",
    "cookie",
    crate::auth::public::CAPABILITY_HEADER,
];

/// Headers describing the client's hop that Warden rewrites itself.
const FORWARDING: [&str; 5] = [
    "forwarded",
    "x-forwarded-for",
    "x-forwarded-host",
    "x-forwarded-proto",
    "x-real-ip",
];

fn connection_named(headers: &HeaderMap) -> Vec<HeaderName> {
    // Read as bytes: a value with one unreadable byte must still have every
    // header it names dropped.
    headers
        .get_all(header::CONNECTION)
        .iter()
        .flat_map(|v| v.as_bytes().split(|b| *b == b','))
        .filter_map(|name| HeaderName::from_bytes(name.trim_ascii()).ok())
        .collect()
}

/// Removes hop-by-hop headers and Warden-internal headers.
pub fn strip_hop_by_hop(headers: &mut HeaderMap) {
    for name in connection_named(headers) {
        headers.remove(name);
    }
    for name in HOP_BY_HOP {
        headers.remove(name);
    }
    let internal: Vec<HeaderName> = headers
        .keys()
        .filter(|k| k.as_str().starts_with(INTERNAL_PREFIX))
        .cloned()
        .collect();
    for name in internal {
        headers.remove(name);
    }
}

/// The headers sent upstream for a client request.
pub fn upstream_request_headers(
    incoming: &HeaderMap,
    client_ip: IpAddr,
    public_proto: &str,
    a2a_version: &str,
    upstream_token: Option<&str>,
) -> HeaderMap {
    let mut h = incoming.clone();
    strip_hop_by_hop(&mut h);
    for name in FORWARDING {
        h.remove(name);
    }
    // The caller's credentials are for Warden, never for the agent.
    for name in CREDENTIALS {
        h.remove(name);
    }
    // Warden's own credential for the agent, never the caller's.
    if let Some(v) = upstream_token.and_then(|t| HeaderValue::from_str(&format!("Bearer {t}")).ok())
    {
        h.insert(header::AUTHORIZATION, v);
    }
    // The HTTP client sets these for the upstream connection.
    h.remove(header::HOST);
    h.remove(header::CONTENT_LENGTH);
    // Warden may need to read what comes back; ask for it uncompressed.
    h.remove(header::ACCEPT_ENCODING);
    if let Ok(v) = HeaderValue::from_str(&client_ip.to_string()) {
        h.insert("x-forwarded-for", v);
    }
    if let Ok(v) = HeaderValue::from_str(public_proto) {
        h.insert("x-forwarded-proto", v);
    }
    // Always explicit upstream, even for a 0.3 caller that sent none.
    h.insert(
        "a2a-version",
        HeaderValue::from_str(a2a_version).unwrap_or(HeaderValue::from_static("1.0")),
    );
    h
}

/// Total size of request headers, for the header cap.
pub fn header_bytes(headers: &HeaderMap) -> usize {
    headers
        .iter()
        .map(|(k, v)| k.as_str().len() + v.len() + 4)
        .sum()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn connection_names_are_read_as_bytes() {
        let mut h = HeaderMap::new();
        h.insert(
            "connection",
            HeaderValue::from_bytes(b"x-secret, \xff").expect("obs-text"),
        );
        h.insert("x-secret", HeaderValue::from_static("1"));
        strip_hop_by_hop(&mut h);
        assert!(
            h.get("x-secret").is_none(),
            "named before an unreadable byte"
        );
    }

    #[test]
    fn strips_hop_by_hop_named_and_internal_headers() {
        let mut h = HeaderMap::new();
        h.insert("connection", HeaderValue::from_static("close, x-secret"));
        h.insert("x-secret", HeaderValue::from_static("1"));
        h.insert("te", HeaderValue::from_static("trailers"));
        h.insert("x-warden-principal", HeaderValue::from_static("admin"));
        h.insert("X-Warden-Other", HeaderValue::from_static("x"));
        h.insert("x-forwarded-for", HeaderValue::from_static("6.6.6.6"));
        h.insert("a2a-extensions", HeaderValue::from_static("urn:x"));
        h.insert("a2a-version", HeaderValue::from_static("0.3"));
        h.insert("authorization", HeaderValue::from_static("Bearer secret"));
        h.insert("x-api-key", HeaderValue::from_static("wdn_x"));
        let out =
            upstream_request_headers(&h, "127.0.0.1".parse().expect("ip"), "http", "1.0", None);
        assert!(out.get("x-secret").is_none());
        assert!(out.get("te").is_none());
        assert!(out.get("connection").is_none());
        assert!(out.get("x-warden-principal").is_none());
        assert!(out.get("x-warden-other").is_none());
        assert_eq!(out.get("x-forwarded-for").expect("xff"), "127.0.0.1");
        assert_eq!(out.get("a2a-extensions").expect("ext"), "urn:x");
        assert_eq!(out.get("a2a-version").expect("version"), "1.0");
        assert!(out.get("authorization").is_none() && out.get("x-api-key").is_none());
    }
}
