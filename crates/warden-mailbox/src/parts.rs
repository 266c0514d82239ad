//! A message's content: A2A v1.0 parts, checked strictly, or a sealed
//! (JWE) string, checked for shape only (Warden never opens it).
//!
//! The part shape itself — exactly one of `text`, `raw`, `url`, `data`, no
//! unknown fields, `raw` valid base64 — is `warden-a2a`'s reader (a part
//! that fails it never becomes a [`Part`]); here are the mailbox's own
//! rules on top: how many, how big, what a URL and a file name may be.

use warden_a2a::types::{Part, PartContent};

use crate::{Limits, MailError};

/// Longest URL of a part (a file by reference).
const MAX_URL_BYTES: usize = 2048;
/// Longest `filename` and `mediaType`.
const MAX_NAME_BYTES: usize = 255;

/// The stored form of a message's content and its size in bytes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Body {
    pub text: String,
    pub sealed: bool,
}

/// Checks the content of a send (exactly one of parts and sealed) and
/// returns what is stored.
pub(crate) fn body(
    parts: Option<&[Part]>,
    sealed: Option<&str>,
    limits: &Limits,
) -> Result<Body, MailError> {
    let body = match (parts, sealed) {
        (Some(parts), None) => Body {
            text: parts_json(parts, limits)?,
            sealed: false,
        },
        (None, Some(jwe)) => {
            check_sealed(jwe, limits)?;
            Body {
                text: jwe.to_string(),
                sealed: true,
            }
        }
        _ => {
            return Err(MailError::invalid(
                "a message has exactly one of parts and sealed",
            ));
        }
    };
    if body.text.len() > limits.max_message_bytes {
        return Err(MailError::TooLarge {
            limit: limits.max_message_bytes,
        });
    }
    Ok(body)
}

/// Checks parts and returns their JSON (the `parts` array as stored and
/// signed).
pub(crate) fn parts_json(parts: &[Part], limits: &Limits) -> Result<String, MailError> {
    if parts.is_empty() {
        return Err(MailError::invalid("a message needs at least one part"));
    }
    if parts.len() > limits.max_parts {
        return Err(MailError::invalid(format!(
            "a message has at most {} parts",
            limits.max_parts
        )));
    }
    for (i, p) in parts.iter().enumerate() {
        check_part(p).map_err(|e| MailError::invalid(format!("parts[{i}]: {e}")))?;
    }
    serde_json::to_string(parts).map_err(|e| MailError::invalid(format!("parts: {e}")))
}

fn check_part(p: &Part) -> Result<(), String> {
    if let PartContent::Url(url) = &p.content {
        check_url(url)?;
    }
    for (name, v) in [("filename", &p.filename), ("mediaType", &p.media_type)] {
        if let Some(v) = v
            && (v.is_empty() || v.len() > MAX_NAME_BYTES || v.chars().any(char::is_control))
        {
            return Err(format!(
                "{name} must be 1 to {MAX_NAME_BYTES} bytes without control characters"
            ));
        }
    }
    if let Some(name) = &p.filename
        && (name.contains('/') || name.contains('\\'))
    {
        return Err("filename must not contain a path".into());
    }
    if let Some(mt) = &p.media_type
        && !is_media_type(mt)
    {
        return Err(format!("mediaType {mt:?} is not TYPE/SUBTYPE"));
    }
    Ok(())
}

/// A file by reference: an absolute `https` (or `http`) URL without
/// credentials. Whether Warden may fetch it is the egress rules' decision
/// when something does; the mailbox only stores it.
fn check_url(url: &str) -> Result<(), String> {
    if url.len() > MAX_URL_BYTES {
        return Err(format!("url is longer than {MAX_URL_BYTES} bytes"));
    }
    let rest = url
        .strip_prefix("https://")
        .or_else(|| url.strip_prefix("http://"))
        .ok_or("url must be an absolute https:// or http:// URL")?;
    let authority = rest.split(['/', '?', '#']).next().unwrap_or_default();
    if authority.is_empty() {
        return Err("url has no host".into());
    }
    if authority.contains('@') {
        return Err("url must not carry credentials".into());
    }
    if url.chars().any(|c| c.is_whitespace() || c.is_control()) {
        return Err("url must not contain whitespace or control characters".into());
    }
    Ok(())
}

fn is_media_type(s: &str) -> bool {
    let essence = s.split(';').next().unwrap_or_default().trim();
    let token = |t: &str| {
        !t.is_empty()
            && t.bytes()
                .all(|b| b.is_ascii_alphanumeric() || b"!#$&^_.+-".contains(&b))
    };
    matches!(essence.split_once('/'), Some((t, st)) if token(t) && token(st))
}

/// A sealed message: the mailbox stores it only if it is a JWE Warden's
/// recipients can open (`seal::check_sealed`: ECDH-ES, A256GCM, the
/// recipient key's kid); it never decrypts it.
fn check_sealed(jwe: &str, limits: &Limits) -> Result<(), MailError> {
    if jwe.len() > limits.max_message_bytes {
        return Err(MailError::TooLarge {
            limit: limits.max_message_bytes,
        });
    }
    crate::seal::check_sealed(jwe, limits.max_message_bytes)
        .map(|_| ())
        .map_err(|e| MailError::invalid(format!("sealed: {e}")))
}

#[cfg(test)]
mod tests;
