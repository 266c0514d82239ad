//! X25519 keys as OKP JWKs (RFC 8037) for sealing: the recipient's key pair
//! and the public half it publishes. A `kid` is always the key's RFC 7638
//! thumbprint, so it names exactly one key and cannot be chosen to collide
//! with or impersonate another.

use std::fmt;

use aws_lc_rs::aead::{AES_256_GCM, Aad, LessSafeKey, Nonce, UnboundKey};
use aws_lc_rs::agreement::{self, EphemeralPrivateKey, PrivateKey, UnparsedPublicKey, X25519};
use aws_lc_rs::encoding::{AsBigEndian, Curve25519SeedBin};
use aws_lc_rs::rand::{SecureRandom, SystemRandom};
use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD as B64;
use serde::Deserialize;
use serde_json::{Value, json};

use super::compact::{self, IV_LEN};
use super::kdf::concat_kdf_a256;
use super::{ALG, ENC, SealError};

/// An X25519 public key is 32 bytes: 43 base64url characters.
const KEY_LEN: usize = 32;
/// Longest JWK text accepted (a JWK with every allowed member is ~200 bytes).
const MAX_JWK_BYTES: usize = 1024;

/// A recipient's published X25519 key: what senders seal to.
#[derive(Clone, PartialEq, Eq)]
pub struct PublicJwk {
    x: [u8; KEY_LEN],
    kid: String,
}

/// The members a JWK may carry; anything else is refused (`deny_unknown_fields`),
/// so a key never means more than Warden understood.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct JwkMembers {
    kty: String,
    crv: String,
    x: String,
    #[serde(default)]
    d: Option<String>,
    #[serde(default)]
    kid: Option<String>,
    #[serde(default, rename = "use")]
    use_: Option<String>,
    #[serde(default)]
    alg: Option<String>,
}

impl JwkMembers {
    fn from_value(value: &Value) -> Result<Self, SealError> {
        if !value.is_object() {
            return Err(invalid("a JWK is a JSON object"));
        }
        Self::deserialize(value).map_err(|e| invalid(&e.to_string()))
    }

    fn from_text(text: &str) -> Result<Self, SealError> {
        if text.len() > MAX_JWK_BYTES {
            return Err(invalid("JWK longer than 1024 bytes"));
        }
        let limits = warden_json::JsonLimits {
            max_depth: 2,
            max_string_bytes: MAX_JWK_BYTES,
        };
        let value = warden_json::parse_strict(text.as_bytes(), limits)
            .map_err(|e| invalid(&e.to_string()))?;
        Self::from_value(&value)
    }

    /// Checks the members common to both halves; returns the public bytes.
    fn public_part(&self) -> Result<PublicJwk, SealError> {
        if self.kty != "OKP" || self.crv != "X25519" {
            return Err(invalid(
                "only OKP keys on X25519 (kty OKP, crv X25519) seal mail",
            ));
        }
        if self.use_.as_deref().is_some_and(|u| u != "enc") {
            return Err(invalid("use must be \"enc\" when present"));
        }
        if self.alg.as_deref().is_some_and(|a| a != ALG) {
            return Err(invalid("alg must be \"ECDH-ES\" when present"));
        }
        let x = decode_fixed::<KEY_LEN>(&self.x)
            .ok_or_else(|| invalid("x is not 32 bytes of base64url"))?;
        let public = PublicJwk::from_bytes(x);
        if self.kid.as_ref().is_some_and(|kid| *kid != public.kid) {
            return Err(invalid(
                "kid must be the key's RFC 7638 thumbprint (or be left out)",
            ));
        }
        Ok(public)
    }
}

impl PublicJwk {
    /// Validates a public JWK as a sender or the mailbox receives it:
    /// an X25519 OKP key, `kid` (if given) its thumbprint, no private part,
    /// no unknown member, and a point that agreement accepts (a low-order
    /// point would give every sender the same known shared secret).
    pub fn parse(value: &Value) -> Result<Self, SealError> {
        let members = JwkMembers::from_value(value)?;
        Self::from_members(&members)
    }

    /// [`PublicJwk::parse`] on JWK text (strict JSON: no duplicate keys).
    pub fn parse_text(text: &str) -> Result<Self, SealError> {
        Self::from_members(&JwkMembers::from_text(text)?)
    }

    fn from_members(members: &JwkMembers) -> Result<Self, SealError> {
        if members.d.is_some() {
            return Err(invalid(
                "this JWK holds a private key (member d): publish only the public key",
            ));
        }
        let public = members.public_part()?;
        public.check_agreeable()?;
        Ok(public)
    }

    fn from_bytes(x: [u8; KEY_LEN]) -> Self {
        let x_b64 = B64.encode(x);
        // RFC 7638: the required members in lexicographic order, no spaces.
        let canonical = format!(r#"{{"crv":"X25519","kty":"OKP","x":"{x_b64}"}}"#);
        let digest = aws_lc_rs::digest::digest(&aws_lc_rs::digest::SHA256, canonical.as_bytes());
        Self {
            x,
            kid: B64.encode(digest.as_ref()),
        }
    }

    /// A trial agreement with a throwaway key: X25519 refuses a peer point
    /// whose shared secret is all zeros (the low-order points).
    fn check_agreeable(&self) -> Result<(), SealError> {
        let rng = SystemRandom::new();
        let eph = EphemeralPrivateKey::generate(&X25519, &rng)
            .map_err(|_| SealError::Crypto("key generation failed"))?;
        agreement::agree_ephemeral(
            eph,
            UnparsedPublicKey::new(&X25519, &self.x),
            (),
            |_| Ok(()),
        )
        .map_err(|()| invalid("x is a low-order point: no secret can be agreed with it"))
    }

    /// The key's id: its RFC 7638 thumbprint (SHA-256, base64url).
    pub fn kid(&self) -> &str {
        &self.kid
    }

    /// The public JWK as published: `kty`, `crv`, `x`, `kid`, `use`, `alg`.
    pub fn to_json(&self) -> Value {
        json!({
            "kty": "OKP",
            "crv": "X25519",
            "x": B64.encode(self.x),
            "kid": self.kid,
            "use": "enc",
            "alg": ALG,
        })
    }

    /// Seals `plaintext` to this key: a JWE compact serialization with a
    /// fresh ephemeral key (so a fresh content key: the random IV can never
    /// repeat under one key).
    pub fn seal(&self, plaintext: &[u8]) -> Result<String, SealError> {
        let rng = SystemRandom::new();
        let eph = EphemeralPrivateKey::generate(&X25519, &rng)
            .map_err(|_| SealError::Crypto("key generation failed"))?;
        let epk = eph
            .compute_public_key()
            .map_err(|_| SealError::Crypto("public key computation failed"))?;
        let cek = agreement::agree_ephemeral(
            eph,
            UnparsedPublicKey::new(&X25519, &self.x),
            invalid("x is a low-order point: no secret can be agreed with it"),
            |z| Ok(concat_kdf_a256(z, ENC, b"", b"")),
        )?;
        let header = json!({
            "alg": ALG,
            "enc": ENC,
            "kid": self.kid,
            "epk": {"kty": "OKP", "crv": "X25519", "x": B64.encode(epk.as_ref())},
        });
        let header_b64 = B64.encode(header.to_string());
        let mut iv = [0u8; IV_LEN];
        rng.fill(&mut iv)
            .map_err(|_| SealError::Crypto("random IV failed"))?;
        let key = LessSafeKey::new(
            UnboundKey::new(&AES_256_GCM, &cek).map_err(|_| SealError::Crypto("AES key"))?,
        );
        let mut body = plaintext.to_vec();
        let tag = key
            .seal_in_place_separate_tag(
                Nonce::assume_unique_for_key(iv),
                Aad::from(header_b64.as_bytes()),
                &mut body,
            )
            .map_err(|_| SealError::Crypto("AES-GCM seal failed"))?;
        Ok(format!(
            "{header_b64}..{}.{}.{}",
            B64.encode(iv),
            B64.encode(body),
            B64.encode(tag.as_ref())
        ))
    }
}

impl fmt::Debug for PublicJwk {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("PublicJwk").field("kid", &self.kid).finish()
    }
}

/// A recipient's key pair: opens what was sealed to its public half.
pub struct RecipientKey {
    private: PrivateKey,
    public: PublicJwk,
}

impl RecipientKey {
    /// A fresh key pair from the system's random source.
    pub fn generate() -> Result<Self, SealError> {
        let private = PrivateKey::generate(&X25519)
            .map_err(|_| SealError::Crypto("key generation failed"))?;
        Self::from_private(private)
    }

    fn from_private(private: PrivateKey) -> Result<Self, SealError> {
        let public = private
            .compute_public_key()
            .map_err(|_| SealError::Crypto("public key computation failed"))?;
        let x: [u8; KEY_LEN] = public
            .as_ref()
            .try_into()
            .map_err(|_| SealError::Crypto("X25519 public key is not 32 bytes"))?;
        Ok(Self {
            private,
            public: PublicJwk::from_bytes(x),
        })
    }

    /// Reads a private JWK (`d` present); `x`, if given, must be `d`'s public
    /// key and `kid`, if given, its thumbprint.
    pub fn parse(value: &Value) -> Result<Self, SealError> {
        Self::from_members(&JwkMembers::from_value(value)?)
    }

    /// [`RecipientKey::parse`] on JWK text (strict JSON).
    pub fn parse_text(text: &str) -> Result<Self, SealError> {
        Self::from_members(&JwkMembers::from_text(text)?)
    }

    fn from_members(members: &JwkMembers) -> Result<Self, SealError> {
        let claimed = members.public_part()?;
        let d = members
            .d
            .as_deref()
            .ok_or_else(|| invalid("a private JWK needs its private key d"))?;
        let d =
            decode_fixed::<KEY_LEN>(d).ok_or_else(|| invalid("d is not 32 bytes of base64url"))?;
        let private = PrivateKey::from_private_key(&X25519, &d)
            .map_err(|_| invalid("d is not an X25519 private key"))?;
        let key = Self::from_private(private)?;
        if key.public != claimed {
            return Err(invalid("x is not the public key of d"));
        }
        Ok(key)
    }

    /// The id of this key (and of its public half).
    pub fn kid(&self) -> &str {
        self.public.kid()
    }

    /// The public half, to publish.
    pub fn public(&self) -> &PublicJwk {
        &self.public
    }

    /// The private JWK (with `d`) to keep in a file only the recipient reads.
    pub fn to_private_json(&self) -> Result<Value, SealError> {
        let seed: Curve25519SeedBin<'static> = self
            .private
            .as_be_bytes()
            .map_err(|_| SealError::Crypto("private key export failed"))?;
        let mut jwk = self.public.to_json();
        if let Some(obj) = jwk.as_object_mut() {
            obj.insert("d".into(), json!(B64.encode(seed.as_ref())));
        }
        Ok(jwk)
    }

    /// Opens a compact JWE sealed to this key: the same strict shape
    /// [`super::check_sealed`] enforces, the `kid` must be this key's, and
    /// AES-GCM authenticates the header and the ciphertext.
    pub fn open(&self, compact: &str) -> Result<Vec<u8>, SealError> {
        let parsed = compact::parse(compact, usize::MAX)?;
        if parsed.kid != self.kid() {
            return Err(SealError::OtherKey { kid: parsed.kid });
        }
        let cek = agreement::agree(
            &self.private,
            UnparsedPublicKey::new(&X25519, &parsed.epk),
            SealError::NotOpened,
            |z| Ok(concat_kdf_a256(z, ENC, &parsed.apu, &parsed.apv)),
        )?;
        let key = LessSafeKey::new(
            UnboundKey::new(&AES_256_GCM, &cek).map_err(|_| SealError::Crypto("AES key"))?,
        );
        let mut in_out = parsed.ciphertext;
        in_out.extend_from_slice(&parsed.tag);
        let plain_len = key
            .open_in_place(
                Nonce::assume_unique_for_key(parsed.iv),
                Aad::from(parsed.header_b64.as_bytes()),
                &mut in_out,
            )
            .map_err(|_| SealError::NotOpened)?
            .len();
        in_out.truncate(plain_len);
        Ok(in_out)
    }
}

impl fmt::Debug for RecipientKey {
    // Never the private key, even in a debug print.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("RecipientKey")
            .field("kid", &self.public.kid)
            .finish_non_exhaustive()
    }
}

/// Decodes canonical unpadded base64url of exactly `N` bytes.
pub(super) fn decode_fixed<const N: usize>(text: &str) -> Option<[u8; N]> {
    if text.len() != (4 * N).div_ceil(3) {
        return None;
    }
    B64.decode(text).ok()?.try_into().ok()
}

fn invalid(msg: &str) -> SealError {
    SealError::InvalidKey(msg.to_owned())
}
