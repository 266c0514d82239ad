//! Certificate-bound tokens already verified on one mTLS connection, so
//! that a client presenting the same token again on that connection costs
//! a digest, not a signature check.
//!
//! Why this is safe: a token bound to the connection's certificate
//! (RFC 8705 `cnf.x5t#S256`) is usable only by the holder of that
//! certificate's key, which the TLS handshake proved once for the whole
//! connection. The same bytes on the same connection are the same token,
//! already verified in full (signature, issuer, audience, times, binding):
//! checking the signature again proves nothing new. What can change is
//! time and the key set, so an entry is used only for the same audience,
//! before the token's `exp`, and for at most [`REVERIFY_AFTER_SECS`] after
//! it was verified (a retired signing key stops working within that time).
//! Authorisation (grants, quarantine, rate limits) runs on every call as
//! before. Plain bearer tokens are single-use and never cached here.

use std::sync::Mutex;

use warden_trust::jwt::Claims;

/// Tokens remembered per connection (one client rarely uses more at once;
/// the oldest goes first).
const MAX_ENTRIES: usize = 4;
/// The longest a verification is reused before the token is checked again.
pub const REVERIFY_AFTER_SECS: u64 = 60;

#[derive(Debug, Clone)]
struct Entry {
    digest: [u8; 32],
    audience: String,
    /// Unix seconds: reusable while `now <` this.
    until: u64,
    claims: Claims,
}

/// The verified tokens of one connection.
#[derive(Debug, Default)]
pub struct VerifiedTokens {
    entries: Mutex<Vec<Entry>>,
}

// A connection's cache is not part of what the certificate says: two
// certificates compare by their contents alone, and a copy starts empty.
impl Clone for VerifiedTokens {
    fn clone(&self) -> Self {
        Self::default()
    }
}

impl PartialEq for VerifiedTokens {
    fn eq(&self, _: &Self) -> bool {
        true
    }
}

impl Eq for VerifiedTokens {}

fn digest(token: &str) -> [u8; 32] {
    let d = aws_lc_rs::digest::digest(&aws_lc_rs::digest::SHA256, token.as_bytes());
    let mut out = [0u8; 32];
    out.copy_from_slice(d.as_ref());
    out
}

impl VerifiedTokens {
    /// The claims of `token`, if it was verified on this connection for
    /// `audience` and may still be reused at `now`.
    pub fn get(&self, token: &str, audience: &str, now: u64) -> Option<Claims> {
        let d = digest(token);
        let entries = self.entries.lock().unwrap_or_else(|p| p.into_inner());
        entries
            .iter()
            .find(|e| e.digest == d && e.audience == audience && now < e.until)
            .map(|e| e.claims.clone())
    }

    /// Remembers a certificate-bound token verified in full at `now`.
    pub fn put(&self, token: &str, audience: &str, claims: &Claims, now: u64) {
        let until = claims.exp.min(now.saturating_add(REVERIFY_AFTER_SECS));
        let mut entries = self.entries.lock().unwrap_or_else(|p| p.into_inner());
        entries.retain(|e| now < e.until);
        if entries.len() >= MAX_ENTRIES {
            entries.remove(0);
        }
        entries.push(Entry {
            digest: digest(token),
            audience: audience.to_string(),
            until,
            claims: claims.clone(),
        });
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn claims(exp: u64) -> Claims {
        Claims {
            iss: "https://warden.example".into(),
            sub: Some("client".into()),
            aud: vec!["echo".into()],
            exp,
            nbf: None,
            iat: 1_000,
            jti: "j1".into(),
            scope: Vec::new(),
            cnf: None,
            all: serde_json::Map::new(),
        }
    }

    #[test]
    fn a_verified_token_is_reused_for_its_audience_only() {
        let v = VerifiedTokens::default();
        v.put("tok", "echo", &claims(2_000), 1_000);
        assert_eq!(v.get("tok", "echo", 1_001), Some(claims(2_000)));
        assert_eq!(v.get("tok", "other", 1_001), None, "another audience");
        assert_eq!(v.get("tok2", "echo", 1_001), None, "other bytes");
    }

    #[test]
    fn reuse_ends_at_expiry_and_after_the_reverification_interval() {
        let v = VerifiedTokens::default();
        v.put("soon", "echo", &claims(1_010), 1_000);
        assert!(v.get("soon", "echo", 1_009).is_some());
        assert_eq!(v.get("soon", "echo", 1_010), None, "expired");
        v.put("long", "echo", &claims(100_000), 1_000);
        assert!(
            v.get("long", "echo", 1_000 + REVERIFY_AFTER_SECS - 1)
                .is_some()
        );
        assert_eq!(
            v.get("long", "echo", 1_000 + REVERIFY_AFTER_SECS),
            None,
            "verified again after the interval"
        );
    }

    #[test]
    fn a_connection_keeps_a_few_tokens_and_a_copy_keeps_none() {
        let v = VerifiedTokens::default();
        for i in 0..=MAX_ENTRIES {
            v.put(&format!("t{i}"), "echo", &claims(2_000), 1_000);
        }
        assert_eq!(v.get("t0", "echo", 1_001), None, "the oldest went");
        assert!(v.get(&format!("t{MAX_ENTRIES}"), "echo", 1_001).is_some());
        assert_eq!(v.clone().get("t1", "echo", 1_001), None);
    }
}
