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
const CREDENTIALS: [&str; 4] = ["authorization", "x-api-key", "dpop", "cookie"];

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

/// Every value of `name`, or an error when one of them is not visible
/// ASCII: a header that cannot be read still counts as present, so it can
/// never be skipped in favour of another one (two credentials, two
/// versions).
pub fn readable<'a>(headers: &'a HeaderMap, name: &str) -> Result<Vec<&'a str>, Unreadable> {
    headers
        .get_all(name)
        .iter()
        .map(|v| v.to_str().map_err(|_| Unreadable(name.to_string())))
        .collect()
}

/// A request header whose value is not visible ASCII.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("the {0} header is not readable (visible ASCII only)")]
pub struct Unreadable(pub String);

/// The A2A version a request asks for: the `A2A-Version` header, else the
/// `A2A-Version` query parameter, else 0.3. Given twice (in either place),
/// or unreadable, it is refused: the agent might read the other copy.
pub fn requested_version(
    headers: &HeaderMap,
    query: Option<&str>,
) -> Result<warden_a2a::ProtocolVersion, warden_a2a::A2aError> {
    use warden_a2a::version::VERSION_HEADER;
    let invalid = |m: String| {
        warden_a2a::A2aError::version_not_supported(m).with("supportedVersions", "1.0,0.3")
    };
    let header = readable(headers, VERSION_HEADER).map_err(|e| invalid(e.to_string()))?;
    if header.len() > 1 {
        return Err(invalid(format!("send one {VERSION_HEADER} header")));
    }
    let prefix = format!("{VERSION_HEADER}=");
    let in_query: Vec<&str> = query
        .into_iter()
        .flat_map(|q| q.split('&'))
        .filter_map(|kv| kv.strip_prefix(prefix.as_str()))
        .collect();
    if in_query.len() > 1 {
        return Err(invalid(format!(
            "give the {VERSION_HEADER} query parameter once"
        )));
    }
    warden_a2a::version::requested_version(header.first().copied(), in_query.first().copied())
}

/// The extensions a request asks for (`A2A-Extensions` and the legacy
/// `X-A2A-Extensions`); an unreadable value is refused, never skipped.
pub fn requested_extensions(headers: &HeaderMap) -> Result<Vec<String>, warden_a2a::A2aError> {
    use warden_a2a::version::{EXTENSIONS_HEADER, LEGACY_EXTENSIONS_HEADER};
    let mut values = Vec::new();
    for name in [EXTENSIONS_HEADER, LEGACY_EXTENSIONS_HEADER] {
        values.extend(
            readable(headers, name)
                .map_err(|e| warden_a2a::A2aError::invalid_request(e.to_string()))?,
        );
    }
    Ok(warden_a2a::version::requested_extensions(values))
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
    fn an_unreadable_or_repeated_version_is_refused_not_skipped() {
        use warden_a2a::ProtocolVersion;
        let mut h = HeaderMap::new();
        assert_eq!(
            requested_version(&h, None).ok(),
            Some(ProtocolVersion::V0_3)
        );
        h.insert("a2a-version", HeaderValue::from_static("1.0"));
        assert_eq!(
            requested_version(&h, None).ok(),
            Some(ProtocolVersion::V1_0)
        );
        h.append(
            "a2a-version",
            HeaderValue::from_bytes(b"0.3\xff").expect("obs-text"),
        );
        assert!(requested_version(&h, None).is_err(), "two headers");
        let mut h = HeaderMap::new();
        h.insert(
            "a2a-version",
            HeaderValue::from_bytes(b"\xff").expect("obs-text"),
        );
        assert!(requested_version(&h, Some("A2A-Version=1.0")).is_err());
        let h = HeaderMap::new();
        assert!(requested_version(&h, Some("A2A-Version=1.0&A2A-Version=0.3")).is_err());
        assert_eq!(
            requested_version(&h, Some("x=1&A2A-Version=1.0")).ok(),
            Some(ProtocolVersion::V1_0)
        );
    }

    #[test]
    fn unreadable_extensions_are_refused_and_connection_names_read_as_bytes() {
        let mut h = HeaderMap::new();
        h.insert("a2a-extensions", HeaderValue::from_static("urn:a, urn:b"));
        assert_eq!(
            requested_extensions(&h).expect("readable"),
            ["urn:a", "urn:b"]
        );
        h.append(
            "x-a2a-extensions",
            HeaderValue::from_bytes(b"urn:\xff").expect("obs-text"),
        );
        assert!(requested_extensions(&h).is_err());
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
