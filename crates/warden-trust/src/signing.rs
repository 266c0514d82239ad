//! Private signing keys: Warden's own (Ed25519 preferred, ES256 where a peer
//! needs it) and the keys operators give it to sign Agent Cards with, which
//! may be any algorithm a card verifier expects (ES256, ES384, EdDSA, RS256,
//! PS256). Kept as PKCS#8, published as JWKs.
//!
//! A key is bound to one algorithm when it is loaded: an RSA key loaded for
//! PS256 never produces a PKCS#1 v1.5 signature. What a *verifier* accepts is
//! decided elsewhere, by explicit allow-lists; signing more algorithms here
//! widens none of them. Reading keys from files: [`crate::key_file`].

use aws_lc_rs::rand::SystemRandom;
use aws_lc_rs::rsa::KeySize;
use aws_lc_rs::signature::{self, EcdsaKeyPair, Ed25519KeyPair, KeyPair, RsaKeyPair};

use crate::alg::JwsAlg;
use crate::jwk::{Curve, KeyMaterial, PublicJwk};

/// Smallest RSA modulus accepted for signing, in bytes (2048 bits), the same
/// floor verification applies.
const MIN_RSA_BYTES: usize = 256;

enum Pair {
    Ed25519(Ed25519KeyPair),
    /// ES256 or ES384: the curve and hash follow the key pair's algorithm.
    Ecdsa(EcdsaKeyPair, JwsAlg),
    /// RS256 or PS256.
    Rsa(RsaKeyPair, JwsAlg),
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
    #[error("{0} is not supported for this key")]
    Unsupported(JwsAlg),
    #[error("RSA signing keys must be at least 2048 bits")]
    WeakRsa,
}

fn ecdsa_alg(alg: JwsAlg) -> Option<&'static signature::EcdsaSigningAlgorithm> {
    match alg {
        JwsAlg::Es256 => Some(&signature::ECDSA_P256_SHA256_FIXED_SIGNING),
        JwsAlg::Es384 => Some(&signature::ECDSA_P384_SHA384_FIXED_SIGNING),
        _ => None,
    }
}

impl SigningKey {
    /// A fresh key for `alg` (RSA keys are 2048 bits); its `kid` is its JWK
    /// thumbprint.
    pub fn generate(alg: JwsAlg) -> Result<Self, SigningError> {
        let rng = SystemRandom::new();
        let gen_err = |e: aws_lc_rs::error::Unspecified| SigningError::Generate(e.to_string());
        let doc = match alg {
            JwsAlg::EdDsa => Ed25519KeyPair::generate_pkcs8(&rng)
                .map_err(gen_err)?
                .as_ref()
                .to_vec(),
            JwsAlg::Es256 | JwsAlg::Es384 => {
                let curve = ecdsa_alg(alg).ok_or(SigningError::Unsupported(alg))?;
                EcdsaKeyPair::generate_pkcs8(curve, &rng)
                    .map_err(gen_err)?
                    .as_ref()
                    .to_vec()
            }
            JwsAlg::Rs256 | JwsAlg::Ps256 => {
                use aws_lc_rs::encoding::AsDer as _;
                let pair = RsaKeyPair::generate(KeySize::Rsa2048).map_err(gen_err)?;
                let der: aws_lc_rs::encoding::Pkcs8V1Der<'_> = pair.as_der().map_err(gen_err)?;
                der.as_ref().to_vec()
            }
        };
        Self::from_pkcs8(alg, &doc, None)
    }

    /// Loads a PKCS#8 key for `alg`; without a `kid`, the JWK thumbprint is
    /// used.
    pub fn from_pkcs8(alg: JwsAlg, pkcs8: &[u8], kid: Option<&str>) -> Result<Self, SigningError> {
        let bad = |_| SigningError::BadKey(alg);
        let pair = match alg {
            JwsAlg::EdDsa => Pair::Ed25519(Ed25519KeyPair::from_pkcs8(pkcs8).map_err(bad)?),
            JwsAlg::Es256 | JwsAlg::Es384 => {
                let curve = ecdsa_alg(alg).ok_or(SigningError::Unsupported(alg))?;
                Pair::Ecdsa(EcdsaKeyPair::from_pkcs8(curve, pkcs8).map_err(bad)?, alg)
            }
            JwsAlg::Rs256 | JwsAlg::Ps256 => {
                let pair = RsaKeyPair::from_pkcs8(pkcs8).map_err(bad)?;
                if pair.public_modulus_len() < MIN_RSA_BYTES {
                    return Err(SigningError::WeakRsa);
                }
                Pair::Rsa(pair, alg)
            }
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
            Pair::Ecdsa(_, alg) | Pair::Rsa(_, alg) => alg,
        }
    }

    /// The private key as PKCS#8 (to be sealed before it is stored).
    pub fn pkcs8(&self) -> &[u8] {
        &self.pkcs8
    }

    pub fn sign(&self, message: &[u8]) -> Vec<u8> {
        // Signing only fails on an RNG or allocation failure, which
        // aws-lc-rs treats as fatal too; an empty signature then simply
        // never verifies.
        match &self.pair {
            Pair::Ed25519(k) => k.sign(message).as_ref().to_vec(),
            Pair::Ecdsa(k, _) => k
                .sign(&SystemRandom::new(), message)
                .map(|s| s.as_ref().to_vec())
                .unwrap_or_default(),
            Pair::Rsa(k, alg) => {
                let padding: &'static dyn signature::RsaEncoding = if *alg == JwsAlg::Ps256 {
                    &signature::RSA_PSS_SHA256
                } else {
                    &signature::RSA_PKCS1_SHA256
                };
                let mut sig = vec![0; k.public_modulus_len()];
                match k.sign(padding, &SystemRandom::new(), message, &mut sig) {
                    Ok(()) => sig,
                    Err(_) => Vec::new(),
                }
            }
        }
    }

    pub fn public_jwk(&self) -> PublicJwk {
        let material = match &self.pair {
            Pair::Ed25519(k) => KeyMaterial::Ed25519 {
                x: k.public_key().as_ref().to_vec(),
            },
            Pair::Ecdsa(k, alg) => KeyMaterial::Ec {
                curve: if *alg == JwsAlg::Es384 {
                    Curve::P384
                } else {
                    Curve::P256
                },
                point: k.public_key().as_ref().to_vec(),
            },
            Pair::Rsa(k, _) => KeyMaterial::Rsa {
                n: k.public_key()
                    .modulus()
                    .big_endian_without_leading_zero()
                    .to_vec(),
                e: k.public_key()
                    .exponent()
                    .big_endian_without_leading_zero()
                    .to_vec(),
            },
        };
        PublicJwk {
            kid: (!self.kid.is_empty()).then(|| self.kid.clone()),
            alg: Some(self.alg()),
            material,
        }
    }
}
