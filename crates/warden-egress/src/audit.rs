//! What every outbound call reports: who asked for it (the purpose),
//! where it went, and how it ended. The gateway turns these into audit
//! events; URLs are reported without query or fragment, which may carry
//! secrets.

use std::time::Duration;

use crate::client::Outbound;
use crate::error::EgressError;
use crate::response::Inbound;

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OutboundEvent {
    pub purpose: &'static str,
    pub method: String,
    /// scheme://host:port/path of the first URL (no query, no fragment).
    pub url: String,
    /// The HTTP status, when an answer came.
    pub status: Option<u16>,
    /// The refusal or failure code ([`EgressError::reason`]), if any.
    pub refused: Option<&'static str>,
    /// The call failed in the network or at the peer (timeout, broken
    /// connection) rather than being refused by the rules.
    pub failed: bool,
    pub detail: Option<String>,
    pub elapsed_ms: u64,
}

impl OutboundEvent {
    pub(crate) fn new(
        req: &Outbound,
        result: &Result<Inbound, EgressError>,
        elapsed: Duration,
    ) -> Self {
        let (status, refused, detail) = match result {
            Ok(r) => (Some(r.status().as_u16()), None, None),
            Err(e) => (None, Some(e.reason()), Some(e.to_string())),
        };
        let failed = result.as_ref().is_err_and(|e| !e.is_refusal());
        Self {
            purpose: req.purpose,
            method: req.method.to_string(),
            url: redact(&req.url),
            status,
            refused,
            failed,
            detail,
            elapsed_ms: u64::try_from(elapsed.as_millis()).unwrap_or(u64::MAX),
        }
    }
}

/// Receives every outbound call's outcome.
pub trait Observer: Send + Sync + 'static {
    fn outbound(&self, event: &OutboundEvent);
}

/// The URL without query, fragment or userinfo; unparseable text is
/// reported by length only.
pub fn redact(raw: &str) -> String {
    match url::Url::parse(raw) {
        Ok(mut u) => {
            u.set_query(None);
            u.set_fragment(None);
            let _ = u.set_username("");
            let _ = u.set_password(None);
            u.to_string()
        }
        Err(_) => format!("<unparseable URL, {} bytes>", raw.len()),
    }
}
