//! DPoP proofs (RFC 9449) made by the client: an ephemeral key pair, and a
//! fresh signed proof per request with the claims Warden checks
//! (`warden_trust::dpop::verify_proof`): `htm`, `htu`, `iat`, `jti`, and
//! `ath` and `nonce` when they apply.

use std::sync::Arc;

use serde_json::{Map, Value, json};
use warden_trust::dpop::{DPOP_TYP, access_token_hash};
use warden_trust::{JwsAlg, SigningKey, b64url_encode};

use crate::error::ClientError;

/// The key a client proves possession of. Generated per process and never
/// stored: a token bound to it dies with it. Cheap to clone (shared).
#[derive(Debug, Clone)]
pub struct DpopKey(Arc<Inner>);

#[derive(Debug)]
struct Inner {
    key: SigningKey,
    /// The public JWK put in every proof's header.
    jwk: Value,
}

impl DpopKey {
    /// A fresh ES256 (P-256) key: the algorithm every DPoP server supports.
    pub fn ephemeral() -> Result<Self, ClientError> {
        Self::generate(JwsAlg::Es256)
    }

    /// A fresh key for `alg` (ES256 and EdDSA are the usual choices).
    pub fn generate(alg: JwsAlg) -> Result<Self, ClientError> {
        let key = SigningKey::generate(alg)
            .map_err(|e| ClientError::Dpop(format!("cannot generate a key: {e}")))?;
        Ok(Self::from_signing_key(key))
    }

    /// Proofs signed with `key` (e.g. a key kept across runs).
    pub fn from_signing_key(key: SigningKey) -> Self {
        let mut jwk = key.public_jwk();
        // A proof names its key by value; a kid would only be ignored.
        jwk.kid = None;
        Self(Arc::new(Inner {
            jwk: jwk.to_json(),
            key,
        }))
    }

    /// The RFC 7638 thumbprint of the public key: what a bound token's
    /// `cnf.jkt` holds.
    pub fn thumbprint(&self) -> String {
        self.0.key.public_jwk().thumbprint()
    }

    pub fn alg(&self) -> JwsAlg {
        self.0.key.alg()
    }

    /// A proof for `method url` at `now` (Unix seconds). `access_token`
    /// adds `ath` (every request but the token request); `nonce` is the
    /// server's `DPoP-Nonce`, when it asked for one. Query and fragment are
    /// left out of `htu`.
    pub fn proof(
        &self,
        method: &str,
        url: &str,
        access_token: Option<&str>,
        nonce: Option<&str>,
        now: u64,
    ) -> Result<String, ClientError> {
        let mut htu =
            url::Url::parse(url).map_err(|e| ClientError::Dpop(format!("htu {url:?}: {e}")))?;
        htu.set_query(None);
        htu.set_fragment(None);
        let mut header = Map::new();
        header.insert("typ".into(), json!(DPOP_TYP));
        header.insert("alg".into(), json!(self.0.key.alg().as_str()));
        header.insert("jwk".into(), self.0.jwk.clone());
        let mut claims = Map::new();
        claims.insert("jti".into(), json!(uuid::Uuid::new_v4().to_string()));
        claims.insert("htm".into(), json!(method));
        claims.insert("htu".into(), json!(htu.as_str()));
        claims.insert("iat".into(), json!(now));
        if let Some(token) = access_token {
            claims.insert("ath".into(), json!(access_token_hash(token)));
        }
        if let Some(nonce) = nonce {
            claims.insert("nonce".into(), json!(nonce));
        }
        let input = format!(
            "{}.{}",
            b64url_encode(Value::Object(header).to_string().as_bytes()),
            b64url_encode(Value::Object(claims).to_string().as_bytes()),
        );
        let signature = self.0.key.sign(input.as_bytes());
        if signature.is_empty() {
            return Err(ClientError::Dpop("signing the proof failed".into()));
        }
        Ok(format!("{input}.{}", b64url_encode(&signature)))
    }
}

#[cfg(test)]
mod tests;
