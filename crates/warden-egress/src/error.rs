//! Why an outbound call did not happen or did not finish. Every variant has
//! a stable [`EgressError::reason`] code for audit events and metrics.

use std::net::IpAddr;

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum EgressError {
    #[error("not a usable URL: {0}")]
    BadUrl(String),
    #[error("scheme {0:?} is not allowed (https only unless allow_http)")]
    Scheme(String),
    #[error("URLs carrying credentials (userinfo) are refused")]
    Userinfo,
    #[error("host {host:?} is refused: {why}")]
    BadHost { host: String, why: &'static str },
    #[error("host {0:?} is not in the egress allow-list")]
    HostNotAllowed(String),
    #[error("port {0} is not allowed")]
    Port(u16),
    #[error("{host} resolves to {addr}, which is in a denied range ({range})")]
    DeniedAddress {
        host: String,
        addr: IpAddr,
        range: &'static str,
    },
    #[error("DNS lookup of {host:?} failed: {why}")]
    Dns { host: String, why: String },
    #[error("redirect not followed: redirects are off ({status} to {location:?})")]
    RedirectOff { status: u16, location: String },
    #[error("redirect without a usable Location header")]
    BadRedirect,
    #[error("more than {0} redirects")]
    TooManyRedirects(u8),
    #[error("response is larger than {0} bytes")]
    TooLarge(u64),
    #[error("timed out: {0}")]
    Timeout(&'static str),
    #[error("connection failed: {0}")]
    Transport(String),
}

impl EgressError {
    /// A short stable code naming the reason.
    pub fn reason(&self) -> &'static str {
        match self {
            Self::BadUrl(_) => "bad_url",
            Self::Scheme(_) => "scheme",
            Self::Userinfo => "userinfo",
            Self::BadHost { .. } => "bad_host",
            Self::HostNotAllowed(_) => "host_not_allowed",
            Self::Port(_) => "port",
            Self::DeniedAddress { .. } => "denied_address",
            Self::Dns { .. } => "dns",
            Self::RedirectOff { .. } => "redirect_off",
            Self::BadRedirect => "bad_redirect",
            Self::TooManyRedirects(_) => "too_many_redirects",
            Self::TooLarge(_) => "too_large",
            Self::Timeout(_) => "timeout",
            Self::Transport(_) => "transport",
        }
    }

    /// Whether the rules refused the call (as opposed to the network or the
    /// peer failing it).
    pub fn is_refusal(&self) -> bool {
        !matches!(self, Self::Timeout(_) | Self::Transport(_))
    }

    /// Whether the peer did not answer in time (a gateway answers
    /// `UPSTREAM_TIMEOUT` rather than `UPSTREAM_UNAVAILABLE`).
    pub fn is_timeout(&self) -> bool {
        matches!(self, Self::Timeout(_))
    }
}
