//! The strict, bounded reader of a sealed message: a JWE compact
//! serialization of exactly the shape Warden seals (RFC 7516 §7.1).
//!
//! The mailbox runs it on every sealed message it stores, without a key:
//! five segments, an empty encrypted key (direct agreement), a protected
//! header with `alg` `ECDH-ES`, `enc` `A256GCM`, a thumbprint-shaped `kid`,
//! an X25519 `epk` and nothing else but optional `apu`/`apv`, a 96-bit IV, a
//! 128-bit tag, every segment canonical base64url. What it cannot check
//! (that the ciphertext opens) only the recipient can.

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD as B64;
use serde::Deserialize;

use super::keys::decode_fixed;
use super::{ALG, ENC, SealError};

/// AES-GCM's IV: 96 bits.
pub(super) const IV_LEN: usize = 12;
/// AES-GCM's tag: 128 bits.
const TAG_LEN: usize = 16;
/// Longest protected header, base64url (Warden's is ~230 characters).
const MAX_HEADER_B64: usize = 1024;
/// Longest `apu`/`apv`, decoded.
const MAX_PARTY_INFO: usize = 64;
/// A `kid` is a SHA-256 thumbprint: 43 base64url characters.
const KID_LEN: usize = 43;

/// What the mailbox learns from a sealed message it checked: the `kid` of
/// the recipient key it names (never anything about the content).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SealedInfo {
    pub kid: String,
}

/// A checked sealed message, decoded for opening.
pub(super) struct Parsed<'a> {
    pub header_b64: &'a str,
    pub kid: String,
    pub epk: [u8; 32],
    pub apu: Vec<u8>,
    pub apv: Vec<u8>,
    pub iv: [u8; IV_LEN],
    pub ciphertext: Vec<u8>,
    pub tag: [u8; TAG_LEN],
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Header {
    alg: String,
    enc: String,
    kid: String,
    epk: Epk,
    #[serde(default)]
    apu: Option<String>,
    #[serde(default)]
    apv: Option<String>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Epk {
    kty: String,
    crv: String,
    x: String,
}

/// Checks that `compact` is a sealed message Warden may store: the shape
/// above and at most `max_len` bytes in all. Decrypts nothing.
pub fn check_sealed(compact: &str, max_len: usize) -> Result<SealedInfo, SealError> {
    parse(compact, max_len).map(|p| SealedInfo { kid: p.kid })
}

pub(super) fn parse(compact: &str, max_len: usize) -> Result<Parsed<'_>, SealError> {
    if compact.len() > max_len {
        return Err(malformed(format!("longer than {max_len} bytes")));
    }
    let mut segments = compact.split('.');
    let (Some(header_b64), Some(ek), Some(iv), Some(ct), Some(tag), None) = (
        segments.next(),
        segments.next(),
        segments.next(),
        segments.next(),
        segments.next(),
        segments.next(),
    ) else {
        return Err(malformed(
            "a JWE compact serialization has five segments".into(),
        ));
    };
    if !ek.is_empty() {
        return Err(malformed(
            "the encrypted key must be empty (ECDH-ES direct key agreement)".into(),
        ));
    }
    if header_b64.len() > MAX_HEADER_B64 {
        return Err(malformed(format!(
            "protected header longer than {MAX_HEADER_B64} characters"
        )));
    }
    let header = read_header(header_b64)?;
    let iv = decode_fixed::<IV_LEN>(iv)
        .ok_or_else(|| malformed("the IV must be 96 bits of base64url".into()))?;
    let tag = decode_fixed::<TAG_LEN>(tag)
        .ok_or_else(|| malformed("the tag must be 128 bits of base64url".into()))?;
    if ct.is_empty() {
        return Err(malformed("the ciphertext is empty".into()));
    }
    let ciphertext = B64
        .decode(ct)
        .map_err(|_| malformed("the ciphertext is not canonical base64url".into()))?;
    Ok(Parsed {
        header_b64,
        kid: header.kid,
        epk: header.epk,
        apu: header.apu,
        apv: header.apv,
        iv,
        ciphertext,
        tag,
    })
}

/// The protected header's checked values.
struct Checked {
    kid: String,
    epk: [u8; 32],
    apu: Vec<u8>,
    apv: Vec<u8>,
}

fn read_header(header_b64: &str) -> Result<Checked, SealError> {
    let bytes = B64
        .decode(header_b64)
        .map_err(|_| malformed("the protected header is not canonical base64url".into()))?;
    let limits = warden_json::JsonLimits {
        max_depth: 2,
        max_string_bytes: MAX_HEADER_B64,
    };
    // Strict JSON first: a duplicate `alg` could read differently elsewhere.
    let value = warden_json::parse_strict(&bytes, limits)
        .map_err(|e| malformed(format!("protected header: {e}")))?;
    let header =
        Header::deserialize(&value).map_err(|e| malformed(format!("protected header: {e}")))?;
    if header.alg != ALG {
        return Err(malformed(format!("alg must be {ALG}")));
    }
    if header.enc != ENC {
        return Err(malformed(format!("enc must be {ENC}")));
    }
    if header.kid.len() != KID_LEN || decode_fixed::<32>(&header.kid).is_none() {
        return Err(malformed(
            "kid must be the recipient key's RFC 7638 thumbprint".into(),
        ));
    }
    if header.epk.kty != "OKP" || header.epk.crv != "X25519" {
        return Err(malformed("epk must be an OKP key on X25519".into()));
    }
    let epk = decode_fixed::<32>(&header.epk.x)
        .ok_or_else(|| malformed("epk x must be 32 bytes of base64url".into()))?;
    Ok(Checked {
        kid: header.kid,
        epk,
        apu: party_info(header.apu.as_deref(), "apu")?,
        apv: party_info(header.apv.as_deref(), "apv")?,
    })
}

fn party_info(value: Option<&str>, name: &str) -> Result<Vec<u8>, SealError> {
    let Some(text) = value else {
        return Ok(Vec::new());
    };
    let bytes = B64
        .decode(text)
        .map_err(|_| malformed(format!("{name} is not canonical base64url")))?;
    if bytes.len() > MAX_PARTY_INFO {
        return Err(malformed(format!(
            "{name} longer than {MAX_PARTY_INFO} bytes"
        )));
    }
    Ok(bytes)
}

fn malformed(msg: String) -> SealError {
    SealError::Malformed(msg)
}
