//! The subscriber's own credential, passed back on every delivery in the
//! forms A2A receivers look for:
//!
//! - `authentication` (v1.0 `AuthenticationInfo{scheme, credentials}`; v0.3
//!   `{schemes[], credentials}`, of which the relay passes the first
//!   scheme): `Authorization: {scheme} {credentials}` (A2A §4.3.3).
//! - `token`: `X-A2A-Notification-Token: {token}`, the header the v0.3
//!   specification suggested and the official Python SDK still sends (and
//!   checks in its receivers).
//!
//! Both are sent when both were registered. Neither is touched by Warden's
//! own proofs (`webhook-*`, `warden-notification-jwt`), so a receiver that
//! checks its own credential keeps doing so unchanged.

/// The header carrying the registered `token`.
pub const NOTIFICATION_TOKEN: &str = "x-a2a-notification-token";
/// The header carrying the registered `authentication`.
pub const AUTHORIZATION: &str = "authorization";
/// The longest token or credentials passed on.
pub const MAX_CREDENTIAL_BYTES: usize = 4096;

#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum CredentialError {
    #[error("the authentication scheme is not an HTTP token (letters, digits, !#$%&'*+-.^_`|~)")]
    Scheme,
    #[error("the credentials or token hold bytes a header cannot carry, or are too long")]
    Value,
}

/// What a subscriber registered to be sent back.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Registered<'a> {
    /// `TaskPushNotificationConfig.token`.
    pub token: Option<&'a str>,
    /// `AuthenticationInfo.scheme` (e.g. `Bearer`, `Basic`).
    pub scheme: Option<&'a str>,
    /// `AuthenticationInfo.credentials`.
    pub credentials: Option<&'a str>,
}

impl Registered<'_> {
    /// The headers to add to a delivery. A scheme without credentials sends
    /// no `Authorization` (there is nothing to authenticate with).
    pub fn headers(&self) -> Result<Vec<(&'static str, String)>, CredentialError> {
        let mut out = Vec::new();
        if let (Some(scheme), Some(credentials)) = (self.scheme, self.credentials) {
            if scheme.is_empty() || !scheme.bytes().all(is_tchar) {
                return Err(CredentialError::Scheme);
            }
            check_value(credentials)?;
            out.push((AUTHORIZATION, format!("{scheme} {credentials}")));
        }
        if let Some(token) = self.token {
            check_value(token)?;
            out.push((NOTIFICATION_TOKEN, token.to_string()));
        }
        Ok(out)
    }
}

/// RFC 9110 `tchar`.
fn is_tchar(b: u8) -> bool {
    b.is_ascii_alphanumeric() || b"!#$%&'*+-.^_`|~".contains(&b)
}

/// Visible ASCII and inner spaces, no control bytes (a CR or LF would start
/// another header), not empty, bounded.
fn check_value(v: &str) -> Result<(), CredentialError> {
    let ok = !v.is_empty()
        && v.len() <= MAX_CREDENTIAL_BYTES
        && v.bytes().all(|b| b.is_ascii_graphic() || b == b' ')
        && !v.starts_with(' ')
        && !v.ends_with(' ');
    ok.then_some(()).ok_or(CredentialError::Value)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn both_forms_are_sent_as_registered() {
        let r = Registered {
            token: Some("tok-1"),
            scheme: Some("Bearer"),
            credentials: Some("abc.def"),
        };
        assert_eq!(
            r.headers().expect("headers"),
            vec![
                ("authorization", "Bearer abc.def".to_string()),
                ("x-a2a-notification-token", "tok-1".to_string()),
            ]
        );
        assert_eq!(Registered::default().headers().expect("none"), vec![]);
        let scheme_only = Registered {
            scheme: Some("Bearer"),
            ..Registered::default()
        };
        assert_eq!(scheme_only.headers().expect("none"), vec![]);
    }

    #[test]
    fn header_injection_is_refused() {
        let bad_token = Registered {
            token: Some("t\r\nX-Evil: 1"),
            ..Registered::default()
        };
        assert_eq!(bad_token.headers(), Err(CredentialError::Value));
        let bad_scheme = Registered {
            scheme: Some("Bearer x"),
            credentials: Some("c"),
            ..Registered::default()
        };
        assert_eq!(bad_scheme.headers(), Err(CredentialError::Scheme));
        let long = "a".repeat(MAX_CREDENTIAL_BYTES + 1);
        let too_long = Registered {
            token: Some(&long),
            ..Registered::default()
        };
        assert_eq!(too_long.headers(), Err(CredentialError::Value));
    }
}
