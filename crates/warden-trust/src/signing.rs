//! Warden's own signing keys (Ed25519 preferred, ES256 where a peer needs
//! it): generated from the system RNG, kept as PKCS#8, published as JWKs.

use aws_lc_rs::rand::SystemRandom;
use aws_lc_rs::signature::{self, EcdsaKeyPair, Ed25519KeyPair, KeyPair};

use crate::alg::JwsAlg;
use crate::jwk::{Curve, KeyMaterial, PublicJwk};

enum Pair {
    Ed25519(Ed25519KeyPair),
    Es256(EcdsaKeyPair),
}

/// A private signing key with its `kid`.
pub struct SigningKey {
    kid: String,
    pair: Pair,
    pkcs8: Vec<u8>,
}

impl std::fmt::Debug for SigningKey {
    // Never print key material.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SigningKey")
            .field("kid", &self.kid)
            .field("alg", &self.alg())
            .finish_non_exhaustive()
    }
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SigningError {
    #[error("cannot generate a key: {0}")]
    Generate(String),
    #[error("invalid PKCS#8 key for {0}")]
    BadKey(JwsAlg),
    #[error("Warden signs with EdDSA or ES256, not {0}")]
    Unsupported(JwsAlg),
}

impl SigningKey {
    /// A fresh key; its `kid` is its JWK thumbprint.
    pub fn generate(alg: JwsAlg) -> Result<Self, SigningError> {
        let rng = SystemRandom::new();
        let doc = match alg {
            JwsAlg::EdDsa => Ed25519KeyPair::generate_pkcs8(&rng),
            JwsAlg::Es256 => {
                EcdsaKeyPair::generate_pkcs8(&signature::ECDSA_P256_SHA256_FIXED_SIGNING, &rng)
            }
            other => return Err(SigningError::Unsupported(other)),
        }
        .map_err(|e| SigningError::Generate(e.to_string()))?;
        Self::from_pkcs8(alg, doc.as_ref(), None)
    }

    /// Loads a PKCS#8 key; without a `kid`, the JWK thumbprint is used.
    pub fn from_pkcs8(alg: JwsAlg, pkcs8: &[u8], kid: Option<&str>) -> Result<Self, SigningError> {
        let pair = match alg {
            JwsAlg::EdDsa => Pair::Ed25519(
                Ed25519KeyPair::from_pkcs8(pkcs8).map_err(|_| SigningError::BadKey(alg))?,
            ),
            JwsAlg::Es256 => Pair::Es256(
                EcdsaKeyPair::from_pkcs8(&signature::ECDSA_P256_SHA256_FIXED_SIGNING, pkcs8)
                    .map_err(|_| SigningError::BadKey(alg))?,
            ),
            other => return Err(SigningError::Unsupported(other)),
        };
        let mut key = Self {
            kid: String::new(),
            pair,
            pkcs8: pkcs8.to_vec(),
        };
        key.kid = match kid {
            Some(k) => k.to_string(),
            None => key.public_jwk().thumbprint(),
        };
        Ok(key)
    }

    pub fn kid(&self) -> &str {
        &self.kid
    }

    pub fn alg(&self) -> JwsAlg {
        match self.pair {
            Pair::Ed25519(_) => JwsAlg::EdDsa,
            Pair::Es256(_) => JwsAlg::Es256,
        }
    }

    /// The private key as PKCS#8 (to be sealed before it is stored).
    pub fn pkcs8(&self) -> &[u8] {
        &self.pkcs8
    }

    pub fn sign(&self, message: &[u8]) -> Vec<u8> {
        match &self.pair {
            Pair::Ed25519(k) => k.sign(message).as_ref().to_vec(),
            // Signing only fails on an RNG failure, which aws-lc-rs treats as
            // fatal too; an empty signature then simply never verifies.
            Pair::Es256(k) => k
                .sign(&SystemRandom::new(), message)
                .map(|s| s.as_ref().to_vec())
                .unwrap_or_default(),
        }
    }

    pub fn public_jwk(&self) -> PublicJwk {
        let material = match &self.pair {
            Pair::Ed25519(k) => KeyMaterial::Ed25519 {
                x: k.public_key().as_ref().to_vec(),
            },
            Pair::Es256(k) => KeyMaterial::Ec {
                curve: Curve::P256,
                point: k.public_key().as_ref().to_vec(),
            },
        };
        PublicJwk {
            kid: (!self.kid.is_empty()).then(|| self.kid.clone()),
            alg: Some(self.alg()),
            material,
        }
    }
}
