//! Who a request comes from, once authenticated. Imports no feature
//! module: the audit log, authorisation and the stages all name it.

use std::net::IpAddr;

use crate::listener::PeerIdentity;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AuthMethod {
    /// A JWT access token.
    Bearer,
    /// A DPoP-bound JWT with its proof.
    Dpop,
    ApiKey,
    /// Authentication is off (`auth.mode = "insecure-off"`).
    Anonymous,
    /// No credential, at a public agent (`[[agents]] access = "public"`):
    /// the identity is the capability Warden handed out.
    Public,
}

impl AuthMethod {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Bearer => "bearer",
            Self::Dpop => "dpop",
            Self::ApiKey => "api_key",
            Self::Anonymous => "anonymous",
            Self::Public => "public",
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Principal {
    pub subject: String,
    pub issuer: String,
    /// Whether `issuer` is Warden's own authority (its tokens and API keys);
    /// grants, ownership and the audit log name other issuers' callers
    /// `ISSUER#SUBJECT`.
    pub local: bool,
    /// Skill ids the credential carries.
    pub scopes: Vec<String>,
    pub method: AuthMethod,
    /// The token's `jti` or the API key's id (never the secret).
    pub token_id: Option<String>,
    pub source: IpAddr,
    /// The verified client certificate of the connection (mTLS), whatever
    /// the credential: its SAN URIs (SPIFFE ids), DNS names and thumbprint.
    pub peer: Option<PeerIdentity>,
}

impl Principal {
    pub fn anonymous(source: IpAddr) -> Self {
        Self {
            subject: "anonymous".into(),
            issuer: String::new(),
            local: true,
            scopes: Vec::new(),
            method: AuthMethod::Anonymous,
            token_id: None,
            source,
            peer: None,
        }
    }
}

impl Principal {
    /// The name grants, task ownership, quarantine and the audit log know
    /// this caller by.
    pub fn key(&self) -> String {
        if self.local {
            self.subject.clone()
        } else {
            format!("{}#{}", self.issuer, self.subject)
        }
    }
}

/// The caller a token Warden presents upstream names in its `act` claim.
impl<'a> From<&'a Principal> for warden_authority::Actor<'a> {
    fn from(p: &'a Principal) -> Self {
        Self {
            subject: &p.subject,
            issuer: &p.issuer,
            scopes: &p.scopes,
        }
    }
}
