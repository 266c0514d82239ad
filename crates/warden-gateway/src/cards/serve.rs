//! The card as Warden serves it: the verified upstream card rewritten for
//! the gateway and signed by Warden ([`super::signing::signed`]), and the
//! `ETag` over the exact bytes served. The routes that serve it are in
//! [`crate::card_routes`].

use axum::body::Body;
use axum::response::Response;
use http::{HeaderValue, StatusCode, header};
use serde_json::Value;
use warden_a2a::{A2aError, ErrorKind};

use super::security::Security;
use super::signing::signed;
use crate::config::Config;

pub use crate::routes::CARD_PATHS;

pub fn is_card_path(subpath: &str) -> bool {
    CARD_PATHS.contains(&subpath)
}

/// `card` (verified, known fields only) as Warden serves it under `base`,
/// for `agent`: rewritten, Warden's security declared, signed.
pub fn signed_card(
    config: &Config,
    key: Option<&warden_trust::SigningKey>,
    agent: &str,
    card: &Value,
    base: &str,
) -> Result<Value, A2aError> {
    let unbuildable = |e: warden_egress::EgressError| {
        tracing::error!(
            agent,
            reason = e.reason(),
            "cannot build the served card's URLs"
        );
        A2aError::new(ErrorKind::Internal, "the agent card could not be built")
    };
    // Joined on the parsed base (which may come from a trusted proxy's
    // forwarded headers), never pasted.
    let gateway_url =
        warden_egress::target::join_segments(base, &["agents", agent]).map_err(unbuildable)?;
    let security = Security::of(config, base);
    let jwks_url =
        warden_egress::target::join_path(base, crate::routes::JWKS_PATH).map_err(unbuildable)?;
    signed(card, &gateway_url, &security, key, &jwks_url).map_err(|e| {
        tracing::error!(agent, error = %e, "cannot sign the served agent card");
        A2aError::new(ErrorKind::Internal, "the agent card could not be signed")
    })
}
/// A strong `ETag` over the exact bytes served.
pub fn etag(bytes: &[u8]) -> String {
    let digest = aws_lc_rs::digest::digest(&aws_lc_rs::digest::SHA256, bytes);
    let hex: String = digest.as_ref()[..16]
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect();
    format!("\"{hex}\"")
}

/// Whether an `If-None-Match` value matches `etag`.
pub fn not_modified(if_none_match: &str, etag: &str) -> bool {
    if_none_match
        .split(',')
        .map(str::trim)
        .any(|t| t == "*" || t == etag || t.strip_prefix("W/") == Some(etag))
}

/// A card answer: `bytes` with a strong `ETag` over them, or 304 when the
/// request's `If-None-Match` names that tag; `headers` (`Cache-Control`,
/// `Last-Modified`, …) on both.
pub fn answer(
    bytes: Vec<u8>,
    request: &http::HeaderMap,
    headers: &[(header::HeaderName, String)],
) -> Response {
    let tag = etag(&bytes);
    let unchanged = request
        .get(header::IF_NONE_MATCH)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| not_modified(v, &tag));
    let mut resp = if unchanged {
        let mut r = Response::new(Body::empty());
        *r.status_mut() = StatusCode::NOT_MODIFIED;
        r
    } else {
        let mut r = Response::new(Body::from(bytes));
        r.headers_mut().insert(
            header::CONTENT_TYPE,
            HeaderValue::from_static("application/json"),
        );
        r
    };
    let h = resp.headers_mut();
    for (name, value) in std::iter::once((header::ETAG, tag)).chain(headers.iter().cloned()) {
        if let Ok(v) = HeaderValue::from_str(&value) {
            h.insert(name, v);
        }
    }
    resp
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn etags_and_conditional_requests() {
        let e = etag(b"{}");
        assert!(e.starts_with('"') && e.len() == 34);
        assert_ne!(e, etag(b"{ }"));
        assert!(not_modified(&e, &e));
        assert!(not_modified(&format!("\"x\", {e}"), &e));
        assert!(not_modified("*", &e));
        assert!(!not_modified("\"other\"", &e));
    }
}
