//! Warden as a token authority, over HTTP: the token endpoint, JWKS and
//! RFC 8414 metadata ([`endpoints`]). The registry, grants, keys and minting
//! live in `warden-authority`; the names the rest of the gateway uses are
//! re-exported here, and [`OAuthError`] maps its refusals to the wire.

pub mod endpoints;

pub(crate) use warden_authority::{Grants, grants, registry};

use warden_authority::IssueError;

/// Why a token request is refused, as RFC 6749 §5.2 names it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OAuthError {
    pub code: &'static str,
    pub description: String,
}

impl OAuthError {
    pub fn new(code: &'static str, description: impl Into<String>) -> Self {
        Self {
            code,
            description: description.into(),
        }
    }

    /// 401 for client authentication failures, 500/503 for Warden's own
    /// trouble, 400 for the rest.
    pub fn status(&self) -> u16 {
        match self.code {
            "invalid_client" => 401,
            "server_error" => 500,
            "temporarily_unavailable" => 503,
            _ => 400,
        }
    }
}

impl From<IssueError> for OAuthError {
    fn from(e: IssueError) -> Self {
        Self::new(e.oauth_code(), e.to_string())
    }
}
