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
//!
//! `[[message_urls.allow]]` entries that apply to the call (its agent, its
//! caller, the kind of URL) may admit a URL the rules refuse, for their
//! destination only ([`warden_egress::allowance`]); a URL none of them fits
//! is judged, and refused, exactly as without them.

use bytes::Bytes;
use serde_json::Value;
use warden_a2a::{A2aError, A2aOp, ErrorKind};
use warden_egress::{Egress, EgressError};

use crate::config::UrlAllowance;
pub use crate::config::{MessageUrlsSection, UrlAction, UrlKind};

/// A URL that failed, where it was, and why.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Failed {
    /// `part[2]` or `push`.
    pub place: String,
    pub error: EgressError,
}

/// A URL an allowance admitted, where it was, and which allowance (for
/// the audit: every use of an exception is on record).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Excepted {
    /// `part[2]` or `push`.
    pub place: String,
    /// The allowance, as `host "…" ports … (https)`.
    pub by: String,
}

/// Who a call is from and for: which allowances apply to it.
#[derive(Debug, Clone, Copy)]
pub struct Scope<'a> {
    /// The target agent.
    pub agent: &'a str,
    /// The caller as grants name it (none: not known).
    pub caller: Option<&'a str>,
}

/// What the check decided, and the URLs it let through by an exception.
#[derive(Debug)]
pub struct Checked {
    pub verdict: Verdict,
    pub excepted: Vec<Excepted>,
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

/// Checks the URLs of `op` (whose exact body is `body`) in a call `scope`
/// names.
pub async fn check(
    section: &MessageUrlsSection,
    egress: &Egress,
    op: &A2aOp,
    body: &Bytes,
    scope: Scope<'_>,
) -> Checked {
    let mut excepted = Vec::new();
    let verdict = judge(section, egress, op, body, scope, &mut excepted).await;
    Checked { verdict, excepted }
}

async fn judge(
    section: &MessageUrlsSection,
    egress: &Egress,
    op: &A2aOp,
    body: &Bytes,
    scope: Scope<'_>,
    excepted: &mut Vec<Excepted>,
) -> Verdict {
    if section.action == UrlAction::Off {
        return Verdict::Pass;
    }
    let mut failed = Vec::new();
    let push = section.allowances(UrlKind::Push, scope.agent, scope.caller);
    for url in &op.push_urls {
        match one(section, egress, url, &push).await {
            Ok(by) => note(excepted, "push".into(), by),
            Err(error) => failed.push(Failed {
                place: "push".into(),
                error,
            }),
        }
    }
    if !failed.is_empty() {
        return refused("a push-notification URL", failed);
    }
    let part = section.allowances(UrlKind::Part, scope.agent, scope.caller);
    let mut bad_urls = Vec::new();
    for (i, p) in op.parts.iter().enumerate() {
        let Some(url) = &p.url else { continue };
        match one(section, egress, url, &part).await {
            Ok(by) => note(excepted, format!("part[{i}]"), by),
            Err(error) => {
                failed.push(Failed {
                    place: format!("part[{i}]"),
                    error,
                });
                bad_urls.push(url.clone());
            }
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

fn note(excepted: &mut Vec<Excepted>, place: String, by: Option<&UrlAllowance>) {
    if let Some(a) = by {
        excepted.push(Excepted {
            place,
            by: a.rule.to_string(),
        });
    }
}

/// One URL under the rules and `allow`: which allowance admitted it (none:
/// the rules did), or why it is refused.
async fn one<'a>(
    section: &MessageUrlsSection,
    egress: &Egress,
    url: &str,
    allow: &[&'a UrlAllowance],
) -> Result<Option<&'a UrlAllowance>, EgressError> {
    let rules: Vec<_> = allow.iter().map(|a| &a.rule).collect();
    let check = egress.check_allowing(url, &rules, section.resolve);
    match tokio::time::timeout(section.resolve_timeout, check).await {
        Ok(r) => r.map(|by| by.map(|i| allow[i])),
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
