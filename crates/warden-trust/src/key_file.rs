//! Private signing keys as operators keep them: PKCS#8 (PEM or DER) and
//! private JWKs (RFC 7518 §6). This is the only place the crate reads a
//! file, and it reads nothing else.
//!
//! Only unencrypted PKCS#8 PEM (`BEGIN PRIVATE KEY`) is read: the legacy
//! `RSA PRIVATE KEY` / `EC PRIVATE KEY` forms and encrypted keys are refused
//! with a hint, rather than half-supported. A JWK's own `alg`, when present,
//! must match the algorithm asked for, so a key published for one algorithm
//! is never used with another.

use std::path::Path;

use aws_lc_rs::encoding::AsDer as _;
use aws_lc_rs::rsa::{KeyPairComponents, PublicKeyComponents};
use aws_lc_rs::signature::{self, EcdsaKeyPair, Ed25519KeyPair, RsaKeyPair};
use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use serde_json::{Map, Value};
use warden_json::{JsonLimits, parse_strict};

use crate::alg::JwsAlg;
use crate::b64;
use crate::signing::{SigningError, SigningKey};

/// Key files are small; anything bigger is not a key.
const MAX_KEY_FILE_BYTES: usize = 64 * 1024;

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum KeyFileError {
    #[error("cannot read key file: {0}")]
    Io(String),
    #[error("key file is larger than {MAX_KEY_FILE_BYTES} bytes")]
    TooLarge,
    #[error("not a PEM \"PRIVATE KEY\" block")]
    BadPem,
    #[error("PEM {0:?} keys are not read; convert with `openssl pkcs8 -topk8 -nocrypt`")]
    UnsupportedPem(String),
    #[error("not a private JWK: {0}")]
    BadJwk(&'static str),
    #[error("the JWK is for {found}, not {wanted}")]
    AlgMismatch { wanted: JwsAlg, found: String },
    #[error(transparent)]
    Key(#[from] SigningError),
}

impl SigningKey {
    /// Loads a key file for `alg`: a private JWK (starts with `{`), PEM
    /// PKCS#8, or DER PKCS#8. `kid` overrides the JWK's own `kid`; without
    /// either, the thumbprint is used.
    pub fn from_key_file(
        path: &Path,
        alg: JwsAlg,
        kid: Option<&str>,
    ) -> Result<Self, KeyFileError> {
        let bytes = std::fs::read(path).map_err(|e| KeyFileError::Io(e.to_string()))?;
        Self::from_key_bytes(&bytes, alg, kid)
    }

    /// [`Self::from_key_file`] on bytes already read.
    pub fn from_key_bytes(
        bytes: &[u8],
        alg: JwsAlg,
        kid: Option<&str>,
    ) -> Result<Self, KeyFileError> {
        if bytes.len() > MAX_KEY_FILE_BYTES {
            return Err(KeyFileError::TooLarge);
        }
        let text = bytes.trim_ascii_start();
        if text.starts_with(b"{") {
            let jwk = match parse_strict(
                text,
                JsonLimits {
                    max_depth: 4,
                    max_string_bytes: 16 * 1024,
                },
            ) {
                Ok(Value::Object(o)) => o,
                _ => return Err(KeyFileError::BadJwk("not a JSON object")),
            };
            return Self::from_private_jwk(&jwk, alg, kid);
        }
        if text.starts_with(b"-----BEGIN") {
            let pem = std::str::from_utf8(text).map_err(|_| KeyFileError::BadPem)?;
            return Ok(Self::from_pkcs8(alg, &pem_pkcs8(pem)?, kid)?);
        }
        Ok(Self::from_pkcs8(alg, bytes, kid)?)
    }

    /// Loads a private JWK (EC P-256/P-384, OKP Ed25519 or two-prime RSA)
    /// for `alg`.
    pub fn from_private_jwk(
        jwk: &Map<String, Value>,
        alg: JwsAlg,
        kid: Option<&str>,
    ) -> Result<Self, KeyFileError> {
        if let Some(found) = jwk.get("alg")
            && found.as_str() != Some(alg.as_str())
        {
            return Err(KeyFileError::AlgMismatch {
                wanted: alg,
                found: found.as_str().unwrap_or("?").chars().take(16).collect(),
            });
        }
        let kty = jwk.get("kty").and_then(Value::as_str).unwrap_or("");
        let crv = jwk.get("crv").and_then(Value::as_str).unwrap_or("");
        let bad_key = |_| KeyFileError::Key(SigningError::BadKey(alg));
        let pkcs8: Vec<u8> = match (alg, kty, crv) {
            (JwsAlg::Es256, "EC", "P-256") | (JwsAlg::Es384, "EC", "P-384") => {
                let curve = if alg == JwsAlg::Es256 {
                    &signature::ECDSA_P256_SHA256_FIXED_SIGNING
                } else {
                    &signature::ECDSA_P384_SHA384_FIXED_SIGNING
                };
                let mut point = vec![4u8];
                point.extend(member(jwk, "x")?);
                point.extend(member(jwk, "y")?);
                let pair = EcdsaKeyPair::from_private_key_and_public_key(
                    curve,
                    &member(jwk, "d")?,
                    &point,
                )
                .map_err(bad_key)?;
                pair.to_pkcs8v1()
                    .map_err(|_| SigningError::BadKey(alg))?
                    .as_ref()
                    .to_vec()
            }
            (JwsAlg::EdDsa, "OKP", "Ed25519") => {
                let pair = Ed25519KeyPair::from_seed_and_public_key(
                    &member(jwk, "d")?,
                    &member(jwk, "x")?,
                )
                .map_err(bad_key)?;
                pair.to_pkcs8()
                    .map_err(|_| SigningError::BadKey(alg))?
                    .as_ref()
                    .to_vec()
            }
            (JwsAlg::Rs256 | JwsAlg::Ps256, "RSA", _) => {
                if jwk.contains_key("oth") {
                    return Err(KeyFileError::BadJwk(
                        "multi-prime RSA keys are not supported",
                    ));
                }
                let components = KeyPairComponents {
                    public_key: PublicKeyComponents {
                        n: member(jwk, "n")?,
                        e: member(jwk, "e")?,
                    },
                    d: member(jwk, "d")?,
                    p: member(jwk, "p")?,
                    q: member(jwk, "q")?,
                    dP: member(jwk, "dp")?,
                    dQ: member(jwk, "dq")?,
                    qInv: member(jwk, "qi")?,
                };
                let pair = RsaKeyPair::from_components(&components).map_err(bad_key)?;
                let der: aws_lc_rs::encoding::Pkcs8V1Der<'_> =
                    pair.as_der().map_err(|_| SigningError::BadKey(alg))?;
                der.as_ref().to_vec()
            }
            _ => return Err(KeyFileError::BadJwk("key type does not fit the algorithm")),
        };
        let kid = kid.or_else(|| jwk.get("kid").and_then(Value::as_str));
        Ok(Self::from_pkcs8(alg, &pkcs8, kid)?)
    }
}

fn member(jwk: &Map<String, Value>, name: &'static str) -> Result<Vec<u8>, KeyFileError> {
    jwk.get(name)
        .and_then(Value::as_str)
        .and_then(b64::decode)
        .filter(|b| !b.is_empty())
        .ok_or(KeyFileError::BadJwk(name))
}

/// The DER inside the first PEM block, which must be `PRIVATE KEY`.
fn pem_pkcs8(pem: &str) -> Result<Vec<u8>, KeyFileError> {
    let mut lines = pem.lines().map(str::trim);
    let first = lines.next().unwrap_or_default();
    let label = first
        .strip_prefix("-----BEGIN ")
        .and_then(|l| l.strip_suffix("-----"))
        .ok_or(KeyFileError::BadPem)?;
    if label != "PRIVATE KEY" {
        return Err(KeyFileError::UnsupportedPem(
            label.chars().take(32).collect(),
        ));
    }
    let end = format!("-----END {label}-----");
    let mut body = String::new();
    for line in lines {
        if line == end {
            return STANDARD
                .decode(body.as_bytes())
                .map_err(|_| KeyFileError::BadPem);
        }
        body.push_str(line);
    }
    Err(KeyFileError::BadPem)
}
