//! Authentication failures and how they are answered (RFC 6750 §3).

use http::StatusCode;
use warden_trust::TokenError;

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum AuthError {
    /// No credential at all: a bare challenge.
    Missing,
    InvalidRequest(&'static str),
    /// A plain bearer token where the issuer requires DPoP.
    DpopRequired,
    InvalidToken(TokenError),
    /// A single-use token presented again.
    Replayed,
    /// A DPoP proof refused (or a server nonce needed).
    Dpop(warden_trust::DpopError),
    /// Warden cannot decide now (replay cache full, store down): fail closed.
    Unavailable,
}

impl AuthError {
    /// The A2A error kind this failure is answered with; its HTTP status
    /// (401, 400, 503) comes from the one error table.
    pub fn kind(&self) -> warden_a2a::ErrorKind {
        use warden_a2a::ErrorKind;
        match self {
            Self::Missing
            | Self::InvalidToken(_)
            | Self::Replayed
            | Self::Dpop(_)
            | Self::DpopRequired => ErrorKind::Unauthenticated,
            Self::InvalidRequest(_) => ErrorKind::InvalidRequest,
            Self::Unavailable => ErrorKind::Unavailable,
        }
    }

    /// This failure as the A2A error answered to the caller.
    pub fn to_a2a(&self) -> warden_a2a::A2aError {
        warden_a2a::A2aError::new(self.kind(), self.description())
    }

    /// The HTTP status it is answered with.
    pub fn status(&self) -> StatusCode {
        self.kind().wire().http
    }

    /// The OAuth error code, if any.
    pub fn code(&self) -> Option<&'static str> {
        match self {
            Self::Missing => None,
            Self::InvalidRequest(_) => Some("invalid_request"),
            Self::InvalidToken(_) | Self::Replayed => Some("invalid_token"),
            Self::Unavailable => Some("temporarily_unavailable"),
            Self::Dpop(e) => Some(e.error_code()),
            Self::DpopRequired => Some("invalid_token"),
        }
    }

    /// What the caller is told; never which agents exist or which keys.
    pub fn description(&self) -> &'static str {
        match self {
            Self::Missing => "a credential is required",
            Self::InvalidRequest(why) => why,
            Self::InvalidToken(e) => e.public_description(),
            Self::Replayed => "the token was already used",
            Self::Unavailable => "authentication is temporarily unavailable",
            Self::Dpop(e) => e.public_description(),
            Self::DpopRequired => "this token must be used with DPoP",
        }
    }

    /// The audit reason (more precise than what the caller sees).
    pub fn audit_reason(&self) -> String {
        match self {
            Self::Missing => "credential_missing".into(),
            Self::InvalidRequest(why) => format!("invalid_request: {why}"),
            Self::InvalidToken(e) => format!("invalid_token: {e}"),
            Self::Replayed => "invalid_token: replayed".into(),
            Self::Unavailable => "auth_unavailable".into(),
            Self::Dpop(e) => format!("invalid_dpop_proof: {e}"),
            Self::DpopRequired => "invalid_token: DPoP required".into(),
        }
    }

    /// The `WWW-Authenticate` challenge.
    pub fn challenge(&self) -> String {
        if let Self::Dpop(_) | Self::DpopRequired = self {
            return format!(
                "DPoP algs=\"ES256 ES384 EdDSA RS256 PS256\", error=\"{}\", error_description=\"{}\"",
                self.code().unwrap_or("invalid_dpop_proof"),
                self.description()
            );
        }
        match self.code() {
            None => "Bearer realm=\"warden\"".to_string(),
            Some(code) => format!(
                "Bearer realm=\"warden\", error=\"{code}\", error_description=\"{}\"",
                self.description()
            ),
        }
    }
}
