//! Why a call through the egress proxy did not reach the remote agent, or
//! did not come back: one closed enum, mapped in one place to the caller's
//! answer, the audit reason and the audit outcome.

use warden_a2a::{A2aError, ErrorKind};
use warden_client::ClientError;

use crate::audit::Outcome;

#[derive(Debug, Clone, PartialEq)]
pub enum ProxyError {
    /// The egress rules refused a request (`refusal`), or the network
    /// failed it (timeout, broken connection).
    Egress {
        reason: &'static str,
        why: String,
        refusal: bool,
        /// The remote did not answer in time.
        timeout: bool,
    },
    /// The remote's card could not be fetched, read or verified
    /// (`card_status`, `card_json`, `card_invalid`, `card_unsigned`,
    /// `card_signature`, `jwks`).
    Card { reason: &'static str, why: String },
    /// The card offers no interface in the caller's binding.
    NoInterface { binding: &'static str },
    /// An unsigned card names an interface off the origin configured for
    /// the remote: Warden's credential is not sent there.
    InterfaceOrigin { url: String },
    /// No credential for the remote could be obtained (token endpoint).
    Credential { reason: &'static str, why: String },
    /// The remote refused Warden's own credential (HTTP 401, after one
    /// retry with a fresh token).
    RemoteUnauthenticated,
    /// A non-streaming answer over `limits.max_response_body_bytes`.
    TooLarge { cap: usize },
    /// Warden could not pass a successful answer on: the task it names
    /// could not be recorded, or an extended card could not be rewritten.
    Answer { error: A2aError },
}

impl ProxyError {
    /// What the local caller is told: the reason code, never an address.
    pub fn to_a2a(&self, remote: &str) -> A2aError {
        match self {
            Self::Egress {
                reason,
                refusal: true,
                ..
            } => A2aError::new(
                ErrorKind::Forbidden,
                format!("the egress rules refuse the call to remote agent {remote:?} ({reason})"),
            )
            .with("egressReason", *reason),
            Self::Egress { timeout: true, .. } => A2aError::new(
                ErrorKind::UpstreamTimeout,
                format!("remote agent {remote:?} did not answer in time"),
            ),
            Self::Egress { reason, .. } => A2aError::new(
                ErrorKind::UpstreamUnavailable,
                format!("remote agent {remote:?} is unavailable"),
            )
            .with("egressReason", *reason),
            Self::Card { reason, .. } => A2aError::new(
                ErrorKind::UpstreamUnavailable,
                format!("the card of remote agent {remote:?} is not acceptable ({reason})"),
            )
            .with("cardReason", *reason),
            Self::NoInterface { binding } => A2aError::unsupported_operation(format!(
                "remote agent {remote:?} offers no {binding} interface"
            )),
            Self::InterfaceOrigin { .. } => A2aError::new(
                ErrorKind::UpstreamUnavailable,
                format!(
                    "the unsigned card of remote agent {remote:?} names an interface on another \
                     origin"
                ),
            )
            .with("cardReason", "interface_origin"),
            Self::Credential { reason, .. } => A2aError::new(
                ErrorKind::UpstreamUnavailable,
                format!("no credential for remote agent {remote:?} could be obtained ({reason})"),
            ),
            Self::RemoteUnauthenticated => A2aError::new(
                ErrorKind::UpstreamUnavailable,
                format!("remote agent {remote:?} refused Warden's credential"),
            ),
            Self::TooLarge { cap } => A2aError::new(
                ErrorKind::InvalidAgentResponse,
                format!("remote agent {remote:?} sent a response over {cap} bytes"),
            ),
            Self::Answer { error } => error.clone(),
        }
    }

    /// The audit reason.
    pub fn audit_reason(&self) -> String {
        match self {
            Self::Egress { reason, .. } => format!("egress:{reason}"),
            Self::Card { reason, .. } => (*reason).to_string(),
            Self::NoInterface { .. } => "no_interface".into(),
            Self::InterfaceOrigin { .. } => "interface_origin".into(),
            Self::Credential { reason, .. } => format!("credential:{reason}"),
            Self::RemoteUnauthenticated => "remote_unauthenticated".into(),
            Self::TooLarge { .. } => "too_large".into(),
            Self::Answer { error } => error.kind.wire().reason.to_string(),
        }
    }

    /// Refused (by a rule: egress, card verification) or failed (the
    /// remote or the network).
    pub fn outcome(&self) -> Outcome {
        match self {
            Self::Egress { refusal, .. } if *refusal => Outcome::Refused,
            Self::Card {
                reason: "card_unsigned" | "card_signature" | "jwks",
                ..
            }
            | Self::InterfaceOrigin { .. } => Outcome::Refused,
            _ => Outcome::UpstreamFailed,
        }
    }

    /// The full story, for the audit detail and the log (may name
    /// addresses; never sent to the caller).
    pub fn why(&self) -> String {
        match self {
            Self::Egress { why, .. } | Self::Card { why, .. } | Self::Credential { why, .. } => {
                why.clone()
            }
            Self::NoInterface { binding } => format!("no {binding} interface"),
            Self::InterfaceOrigin { url } => format!("unsigned card names {url}"),
            Self::RemoteUnauthenticated => "HTTP 401 from the remote".into(),
            Self::TooLarge { cap } => format!("answer over {cap} bytes"),
            Self::Answer { error } => error.message.clone(),
        }
    }
}

impl From<warden_egress::EgressError> for ProxyError {
    fn from(e: warden_egress::EgressError) -> Self {
        Self::Egress {
            reason: e.reason(),
            why: e.to_string(),
            refusal: e.is_refusal(),
            timeout: e.is_timeout(),
        }
    }
}

impl From<ClientError> for ProxyError {
    fn from(e: ClientError) -> Self {
        let why = e.to_string();
        match e {
            ClientError::Egress(e) | ClientError::InterfaceRefused { source: e, .. } => {
                Self::Egress {
                    reason: e.reason(),
                    why,
                    refusal: e.is_refusal(),
                    timeout: e.is_timeout(),
                }
            }
            ClientError::NoInterface { binding, .. } => Self::NoInterface { binding },
            ClientError::TokenEndpoint { .. }
            | ClientError::TokenAnswer(_)
            | ClientError::Dpop(_)
            | ClientError::Config(_) => Self::Credential {
                reason: e.reason(),
                why,
            },
            // The card's own problems; the call-level variants (an agent
            // error, an unusable answer) are not produced by the card and
            // token functions the proxy uses, and count as a bad card.
            other => Self::Card {
                reason: other.reason(),
                why,
            },
        }
    }
}
