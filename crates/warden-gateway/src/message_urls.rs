//! URLs inside a call (spec §14.1.1): every `url` part (v0.3 file parts
//! with a `uri` included) and every push-notification webhook URL is held
//! to the egress rules before the call reaches the agent, because the
//! agent will fetch or call them — often with fewer scruples than Warden.
//!
//! `action = "refuse"` (the default) refuses the call; `"strip"` removes the
//! offending parts and forwards the rest (a message left with no part is
//! refused); `"off"` skips the check. Webhook URLs are always refused, never
//! stripped: a push config without its URL means nothing. The caller learns
//! the reason code only (`denied_address`, `scheme`, …); what a name
//! resolved to goes to the audit log, never to the caller, so Warden is not
//! a DNS oracle for internal names.

use bytes::Bytes;
use serde_json::Value;
use warden_a2a::{A2aError, A2aOp, ErrorKind};
use warden_egress::{Egress, EgressError};

pub use crate::config::{MessageUrlsSection, UrlAction};

/// A URL that failed, where it was, and why.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Failed {
    /// `part[2]` or `push`.
    pub place: String,
    pub error: EgressError,
}

/// What the check decided.
#[derive(Debug)]
pub enum Verdict {
    /// Nothing to change.
    Pass,
    /// Forward this body instead (parts stripped), and record these.
    Stripped(Bytes, Vec<Failed>),
    /// Refuse the call.
    Refused(A2aError, Vec<Failed>),
}

/// Checks the URLs of `op` (whose exact body is `body`).
pub async fn check(
    section: &MessageUrlsSection,
    egress: &Egress,
    op: &A2aOp,
    body: &Bytes,
) -> Verdict {
    if section.action == UrlAction::Off {
        return Verdict::Pass;
    }
    let mut failed = Vec::new();
    for url in &op.push_urls {
        if let Err(error) = one(section, egress, url).await {
            failed.push(Failed {
                place: "push".into(),
                error,
            });
        }
    }
    if !failed.is_empty() {
        return refused("a push-notification URL", failed);
    }
    let mut bad_urls = Vec::new();
    for (i, part) in op.parts.iter().enumerate() {
        if let Some(url) = &part.url
            && let Err(error) = one(section, egress, url).await
        {
            failed.push(Failed {
                place: format!("part[{i}]"),
                error,
            });
            bad_urls.push(url.clone());
        }
    }
    if failed.is_empty() {
        return Verdict::Pass;
    }
    if section.action == UrlAction::Refuse {
        return refused("a url part", failed);
    }
    match strip(body, &bad_urls) {
        Some(b) => Verdict::Stripped(b, failed),
        None => refused("a url part (and stripping it would leave no part)", failed),
    }
}

async fn one(section: &MessageUrlsSection, egress: &Egress, url: &str) -> Result<(), EgressError> {
    if !section.resolve {
        return crate::config::egress::check_static(egress.rules(), url);
    }
    let wait = section.resolve_timeout;
    match tokio::time::timeout(wait, egress.check(url)).await {
        Ok(r) => r.map(|_| ()),
        Err(_) => Err(EgressError::Dns {
            host: String::new(),
            why: "lookup timed out".into(),
        }),
    }
}

fn refused(what: &str, failed: Vec<Failed>) -> Verdict {
    let reasons: Vec<String> = failed
        .iter()
        .map(|f| format!("{} {}", f.place, f.error.reason()))
        .collect();
    let err = A2aError::new(
        ErrorKind::Forbidden,
        format!(
            "{what} is not allowed by Warden's egress rules ({})",
            reasons.join(", ")
        ),
    );
    Verdict::Refused(err, failed)
}

/// The body without the parts whose URL is in `bad`, or None when that
/// would leave a message with no part (or the body is not as parsed).
fn strip(body: &[u8], bad: &[String]) -> Option<Bytes> {
    let mut v: Value = serde_json::from_slice(body).ok()?;
    let message = if v.get("params").is_some() {
        v.pointer_mut("/params/message")?
    } else {
        v.get_mut("message")?
    };
    let parts = message.get_mut("parts")?.as_array_mut()?;
    parts.retain(|p| {
        let url = p
            .get("url")
            .or_else(|| p.pointer("/file/uri"))
            .or_else(|| p.pointer("/file/fileWithUri"))
            .and_then(Value::as_str);
        !url.is_some_and(|u| bad.iter().any(|b| b == u))
    });
    if parts.is_empty() {
        return None;
    }
    serde_json::to_vec(&v).ok().map(Bytes::from)
}

#[cfg(test)]
mod tests;
