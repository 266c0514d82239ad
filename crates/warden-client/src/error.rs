//! [`ClientError`]: every way a call can fail, each with a stable
//! [`ClientError::reason`] code. Refusals by the egress rules keep the
//! [`EgressError`] they came from, so its reason reaches the caller.

use serde_json::Value;
use warden_a2a::sse::SseError;
use warden_egress::EgressError;
use warden_trust::card_signature::CardVerifyError;

#[derive(Debug, thiserror::Error)]
pub enum ClientError {
    /// The egress rules refused a request, or the network failed it.
    #[error("{0}")]
    Egress(#[from] EgressError),
    /// The URL the card names for the chosen interface is refused by the
    /// egress rules (the card is the peer's word, not the caller's).
    #[error("the card's {binding} interface URL {url:?} is refused: {source}")]
    InterfaceRefused {
        binding: &'static str,
        url: String,
        source: EgressError,
    },
    #[error("{url} answered HTTP {status}")]
    CardStatus { url: String, status: u16 },
    #[error("the card at {url} is not acceptable JSON: {why}")]
    CardJson { url: String, why: String },
    #[error("the card at {url} is not a valid A2A v1.0 Agent Card: {why}")]
    CardInvalid { url: String, why: String },
    #[error(
        "the card at {0} is not signed; signatures are required (give keys to verify it, or \
         allow unsigned cards explicitly)"
    )]
    CardUnsigned(String),
    #[error("the card at {url} is refused: {source}")]
    CardSignature {
        url: String,
        source: CardVerifyError,
    },
    /// A JWKS (named by an allow-listed `jku`, or Warden's for verifying
    /// notifications) could not be used.
    #[error("the JWKS at {url} cannot be used: {why}")]
    Jwks { url: String, why: String },
    #[error("the card of {agent:?} offers no {binding} interface")]
    NoInterface {
        agent: String,
        binding: &'static str,
    },
    /// The token endpoint refused (RFC 6749 §5.2 error).
    #[error("the token endpoint answered HTTP {status}: {error}{}", describe(.description))]
    TokenEndpoint {
        status: u16,
        error: String,
        description: Option<String>,
    },
    /// The token endpoint answered something that is not a usable token.
    #[error("the token endpoint's answer is not usable: {0}")]
    TokenAnswer(String),
    #[error("DPoP: {0}")]
    Dpop(String),
    /// The agent answered with an A2A error (JSON-RPC `error`, or a REST
    /// error body): `error` is that object as sent.
    #[error("the agent answered with an error{}", agent_message(.error))]
    Agent { status: u16, error: Value },
    /// The agent's answer is neither a result nor an error.
    #[error("the agent's answer (HTTP {status}) is not usable: {why}")]
    BadAnswer { status: u16, why: String },
    #[error("the event stream is not usable: {0}")]
    Stream(String),
    /// A key file, a JWKS or another input given by the caller is unusable.
    #[error("{0}")]
    Config(String),
}

fn describe(d: &Option<String>) -> String {
    d.as_ref().map(|d| format!(" ({d})")).unwrap_or_default()
}

fn agent_message(error: &Value) -> String {
    let code = error.get("code").map(Value::to_string);
    let msg = error.get("message").and_then(Value::as_str);
    match (code, msg) {
        (Some(c), Some(m)) => format!(" {c}: {m}"),
        (None, Some(m)) => format!(": {m}"),
        (Some(c), None) => format!(" {c}"),
        (None, None) => String::new(),
    }
}

impl From<SseError> for ClientError {
    fn from(e: SseError) -> Self {
        Self::Stream(e.to_string())
    }
}

impl ClientError {
    /// A short stable code naming the reason. Egress refusals report the
    /// egress code (`denied_address`, `scheme`, …).
    pub fn reason(&self) -> &'static str {
        match self {
            Self::Egress(e) | Self::InterfaceRefused { source: e, .. } => e.reason(),
            Self::CardStatus { .. } => "card_status",
            Self::CardJson { .. } => "card_json",
            Self::CardInvalid { .. } => "card_invalid",
            Self::CardUnsigned(_) => "card_unsigned",
            Self::CardSignature { .. } => "card_signature",
            Self::Jwks { .. } => "jwks",
            Self::NoInterface { .. } => "no_interface",
            Self::TokenEndpoint { .. } => "token_endpoint",
            Self::TokenAnswer(_) => "token_answer",
            Self::Dpop(_) => "dpop",
            Self::Agent { .. } => "a2a_error",
            Self::BadAnswer { .. } => "bad_answer",
            Self::Stream(_) => "stream",
            Self::Config(_) => "config",
        }
    }

    /// The egress error behind this one, if any.
    pub fn egress(&self) -> Option<&EgressError> {
        match self {
            Self::Egress(e) | Self::InterfaceRefused { source: e, .. } => Some(e),
            _ => None,
        }
    }

    /// Whether a rule refused the call: the egress rules (not a timeout or
    /// a broken connection), or the card's verification. Everything else is
    /// the peer's or the network's failure.
    pub fn is_refusal(&self) -> bool {
        match self {
            Self::Egress(e) | Self::InterfaceRefused { source: e, .. } => e.is_refusal(),
            Self::CardUnsigned(_) | Self::CardSignature { .. } | Self::Jwks { .. } => true,
            _ => false,
        }
    }
}
