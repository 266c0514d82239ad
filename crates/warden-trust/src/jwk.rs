//! Public JSON Web Keys (RFC 7517), read from their raw JSON so that nothing
//! is silently dropped: private members and symmetric (`oct`) keys are
//! refused outright, because a verifier that accepted one could be made to
//! check an HMAC with a key the attacker chose.

use aws_lc_rs::signature::{self, RsaPublicKeyComponents, UnparsedPublicKey};
use serde_json::{Map, Value, json};

use crate::alg::JwsAlg;
use crate::b64;

/// Members that only a private or symmetric key has.
const PRIVATE_MEMBERS: [&str; 8] = ["d", "p", "q", "dp", "dq", "qi", "oth", "k"];

/// Smallest RSA modulus accepted, in bits.
const MIN_RSA_BITS: usize = 2048;

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum KeyMaterial {
    /// P-256 or P-384: the uncompressed point `04 || x || y`.
    Ec {
        curve: Curve,
        point: Vec<u8>,
    },
    /// Ed25519 public key bytes.
    Ed25519 {
        x: Vec<u8>,
    },
    Rsa {
        n: Vec<u8>,
        e: Vec<u8>,
    },
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Curve {
    P256,
    P384,
}

/// A verified-shape public key.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PublicJwk {
    pub kid: Option<String>,
    /// The key's own `alg`, if it names one: then only that one is used.
    pub alg: Option<JwsAlg>,
    pub material: KeyMaterial,
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum JwkError {
    #[error("a JWK must be a JSON object")]
    NotObject,
    #[error("the JWK carries private or symmetric key material ({0:?})")]
    PrivateMember(&'static str),
    #[error("unsupported key type {0:?}")]
    UnsupportedType(String),
    #[error("unsupported curve {0:?}")]
    UnsupportedCurve(String),
    #[error("JWK member {0:?} is missing or not base64url")]
    BadMember(&'static str),
    #[error("RSA keys must be at least {MIN_RSA_BITS} bits")]
    WeakRsa,
    #[error("JWK alg {0:?} is not an accepted algorithm")]
    BadAlg(String),
}

fn member(obj: &Map<String, Value>, name: &'static str) -> Result<Vec<u8>, JwkError> {
    obj.get(name)
        .and_then(Value::as_str)
        .and_then(b64::decode)
        .filter(|b| !b.is_empty())
        .ok_or(JwkError::BadMember(name))
}

impl PublicJwk {
    /// Reads a public JWK from its JSON.
    pub fn from_json(v: &Value) -> Result<Self, JwkError> {
        let obj = v.as_object().ok_or(JwkError::NotObject)?;
        for m in PRIVATE_MEMBERS {
            if obj.contains_key(m) {
                return Err(JwkError::PrivateMember(m));
            }
        }
        let kty = obj.get("kty").and_then(Value::as_str).unwrap_or_default();
        let crv = obj.get("crv").and_then(Value::as_str).unwrap_or_default();
        let material = match kty {
            "EC" => {
                let curve = match crv {
                    "P-256" => Curve::P256,
                    "P-384" => Curve::P384,
                    other => return Err(JwkError::UnsupportedCurve(other.into())),
                };
                let (x, y) = (member(obj, "x")?, member(obj, "y")?);
                let len = if curve == Curve::P256 { 32 } else { 48 };
                if x.len() != len || y.len() != len {
                    return Err(JwkError::BadMember("x"));
                }
                let mut point = vec![4u8];
                point.extend(x);
                point.extend(y);
                KeyMaterial::Ec { curve, point }
            }
            "OKP" => {
                if crv != "Ed25519" {
                    return Err(JwkError::UnsupportedCurve(crv.into()));
                }
                let x = member(obj, "x")?;
                if x.len() != 32 {
                    return Err(JwkError::BadMember("x"));
                }
                KeyMaterial::Ed25519 { x }
            }
            "RSA" => {
                let n = member(obj, "n")?;
                let e = member(obj, "e")?;
                let bits = n.iter().skip_while(|b| **b == 0).count() * 8;
                if bits < MIN_RSA_BITS {
                    return Err(JwkError::WeakRsa);
                }
                KeyMaterial::Rsa { n, e }
            }
            other => return Err(JwkError::UnsupportedType(other.into())),
        };
        let alg = match obj.get("alg").and_then(Value::as_str) {
            Some(a) => Some(JwsAlg::parse(a).ok_or_else(|| JwkError::BadAlg(a.into()))?),
            None => None,
        };
        let kid = obj.get("kid").and_then(Value::as_str).map(str::to_owned);
        Ok(Self { kid, alg, material })
    }

    /// Whether this key can verify `alg` (its type fits, and its own `alg`,
    /// if any, is that one).
    pub fn fits(&self, alg: JwsAlg) -> bool {
        if self.alg.is_some_and(|a| a != alg) {
            return false;
        }
        matches!(
            (&self.material, alg),
            (
                KeyMaterial::Ec {
                    curve: Curve::P256,
                    ..
                },
                JwsAlg::Es256
            ) | (
                KeyMaterial::Ec {
                    curve: Curve::P384,
                    ..
                },
                JwsAlg::Es384
            ) | (KeyMaterial::Ed25519 { .. }, JwsAlg::EdDsa)
                | (KeyMaterial::Rsa { .. }, JwsAlg::Rs256 | JwsAlg::Ps256)
        )
    }

    /// Verifies `signature` over `message` with `alg`. False for any
    /// mismatch, including a key that does not fit the algorithm.
    pub fn verify(&self, alg: JwsAlg, message: &[u8], sig: &[u8]) -> bool {
        if !self.fits(alg) {
            return false;
        }
        match (&self.material, alg) {
            (KeyMaterial::Ec { point, .. }, JwsAlg::Es256) => {
                UnparsedPublicKey::new(&signature::ECDSA_P256_SHA256_FIXED, point)
                    .verify(message, sig)
                    .is_ok()
            }
            (KeyMaterial::Ec { point, .. }, JwsAlg::Es384) => {
                UnparsedPublicKey::new(&signature::ECDSA_P384_SHA384_FIXED, point)
                    .verify(message, sig)
                    .is_ok()
            }
            (KeyMaterial::Ed25519 { x }, JwsAlg::EdDsa) => {
                UnparsedPublicKey::new(&signature::ED25519, x)
                    .verify(message, sig)
                    .is_ok()
            }
            (KeyMaterial::Rsa { n, e }, JwsAlg::Rs256) => RsaPublicKeyComponents { n, e }
                .verify(&signature::RSA_PKCS1_2048_8192_SHA256, message, sig)
                .is_ok(),
            (KeyMaterial::Rsa { n, e }, JwsAlg::Ps256) => RsaPublicKeyComponents { n, e }
                .verify(&signature::RSA_PSS_2048_8192_SHA256, message, sig)
                .is_ok(),
            _ => false,
        }
    }

    /// The required public members, as a JSON object (RFC 7638 order).
    fn required_members(&self) -> Value {
        match &self.material {
            KeyMaterial::Ec { curve, point } => {
                let len = (point.len() - 1) / 2;
                json!({
                    "crv": if *curve == Curve::P256 { "P-256" } else { "P-384" },
                    "kty": "EC",
                    "x": b64::encode(&point[1..=len]),
                    "y": b64::encode(&point[1 + len..]),
                })
            }
            KeyMaterial::Ed25519 { x } => {
                json!({"crv": "Ed25519", "kty": "OKP", "x": b64::encode(x)})
            }
            KeyMaterial::Rsa { n, e } => {
                json!({"e": b64::encode(e), "kty": "RSA", "n": b64::encode(n)})
            }
        }
    }

    /// The RFC 7638 thumbprint (SHA-256, base64url): what `cnf.jkt` holds.
    pub fn thumbprint(&self) -> String {
        // The members are written in lexicographic order with no whitespace;
        // `json!` with preserve_order keeps the order given above.
        let canonical = self.required_members().to_string();
        let digest = aws_lc_rs::digest::digest(&aws_lc_rs::digest::SHA256, canonical.as_bytes());
        b64::encode(digest.as_ref())
    }

    /// The public JWK as JSON, with `kid`, `alg` and `use: sig`.
    pub fn to_json(&self) -> Value {
        let mut v = self.required_members();
        if let Some(obj) = v.as_object_mut() {
            if let Some(kid) = &self.kid {
                obj.insert("kid".into(), json!(kid));
            }
            if let Some(alg) = self.alg {
                obj.insert("alg".into(), json!(alg.as_str()));
            }
            obj.insert("use".into(), json!("sig"));
        }
        v
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rfc7638_thumbprint_example() {
        // The RSA key of RFC 7638 §3.1 and its published thumbprint.
        let jwk = json!({
            "kty": "RSA",
            "n": "0vx7agoebGcQSuuPiLJXZptN9nndrQmbXEps2aiAFbWhM78LhWx4cbbfAAtVT86zwu1RK7aPFFxuhDR1L6tSoc_BJECPebWKRXjBZCiFV4n3oknjhMstn64tZ_2W-5JsGY4Hc5n9yBXArwl93lqt7_RN5w6Cf0h4QyQ5v-65YGjQR0_FDW2QvzqY368QQMicAtaSqzs8KJZgnYb9c7d0zgdAZHzu6qMQvRL5hajrn1n91CbOpbISD08qNLyrdkt-bFTWhAI4vMQFh6WeZu0fM4lFd2NcRwr3XPksINHaQ-G_xBniIqbw0Ls1jF44-csFCur-kEgU8awapJzKnqDKgw",
            "e": "AQAB",
            "alg": "RS256",
            "kid": "2011-04-29"
        });
        let key = PublicJwk::from_json(&jwk).expect("valid RSA JWK");
        assert_eq!(
            key.thumbprint(),
            "NzbLsXh8uDCcd-6MNwXF4W_7noWXFZAfHkxZsRGC9Xs"
        );
    }

    #[test]
    fn private_and_symmetric_keys_are_refused() {
        let oct = json!({"kty": "oct", "k": "c2VjcmV0"});
        assert_eq!(
            PublicJwk::from_json(&oct),
            Err(JwkError::PrivateMember("k"))
        );
        let ec_private = json!({"kty": "EC", "crv": "P-256", "x": "x", "y": "y", "d": "d"});
        assert_eq!(
            PublicJwk::from_json(&ec_private),
            Err(JwkError::PrivateMember("d"))
        );
        let oct_no_k = json!({"kty": "oct"});
        assert!(matches!(
            PublicJwk::from_json(&oct_no_k),
            Err(JwkError::UnsupportedType(_))
        ));
    }

    #[test]
    fn short_rsa_and_wrong_sizes_are_refused() {
        let short = json!({"kty": "RSA", "n": b64::encode(&[0xff; 128]), "e": "AQAB"});
        assert_eq!(PublicJwk::from_json(&short), Err(JwkError::WeakRsa));
        let ed = json!({"kty": "OKP", "crv": "Ed25519", "x": b64::encode(&[1; 31])});
        assert!(PublicJwk::from_json(&ed).is_err());
        let x448 = json!({"kty": "OKP", "crv": "X448", "x": b64::encode(&[1; 56])});
        assert!(matches!(
            PublicJwk::from_json(&x448),
            Err(JwkError::UnsupportedCurve(_))
        ));
    }
}
