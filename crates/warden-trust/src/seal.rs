//! Private keys at rest: sealed with AES-256-GCM under a key-encryption key
//! that lives outside the store (a file or an environment variable), so a
//! copy of the database alone does not yield signing keys.

use aws_lc_rs::aead::{AES_256_GCM, Aad, LessSafeKey, NONCE_LEN, Nonce, UnboundKey};
use aws_lc_rs::rand::{SecureRandom, SystemRandom};

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SealError {
    #[error("the key-encryption key must be 32 bytes (64 hex characters or 43/44 base64url)")]
    BadKek,
    #[error("sealed data is corrupt or was sealed under another key")]
    Open,
    #[error("the system random generator failed")]
    Random,
}

/// A key-encryption key.
pub struct Kek(LessSafeKey);

impl std::fmt::Debug for Kek {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Kek(…)")
    }
}

impl Kek {
    pub fn from_bytes(bytes: &[u8]) -> Result<Self, SealError> {
        let key = UnboundKey::new(&AES_256_GCM, bytes).map_err(|_| SealError::BadKek)?;
        Ok(Self(LessSafeKey::new(key)))
    }

    /// Reads a KEK written as 64 hex characters or base64url (whitespace trimmed).
    pub fn from_text(text: &str) -> Result<Self, SealError> {
        let t = text.trim();
        let bytes = if t.len() == 64 && t.bytes().all(|b| b.is_ascii_hexdigit()) {
            (0..32)
                .map(|i| u8::from_str_radix(&t[2 * i..2 * i + 2], 16))
                .collect::<Result<Vec<u8>, _>>()
                .map_err(|_| SealError::BadKek)?
        } else {
            crate::b64::decode(t.trim_end_matches('=')).ok_or(SealError::BadKek)?
        };
        Self::from_bytes(&bytes)
    }

    /// A fresh random KEK, as 64 hex characters.
    pub fn generate_text() -> Result<String, SealError> {
        let mut b = [0u8; 32];
        SystemRandom::new()
            .fill(&mut b)
            .map_err(|_| SealError::Random)?;
        Ok(b.iter().map(|x| format!("{x:02x}")).collect())
    }

    /// `nonce || ciphertext || tag`, bound to `context` (e.g. the key id).
    pub fn seal(&self, context: &[u8], plaintext: &[u8]) -> Result<Vec<u8>, SealError> {
        let mut nonce = [0u8; NONCE_LEN];
        SystemRandom::new()
            .fill(&mut nonce)
            .map_err(|_| SealError::Random)?;
        let mut buf = plaintext.to_vec();
        self.0
            .seal_in_place_append_tag(
                Nonce::assume_unique_for_key(nonce),
                Aad::from(context),
                &mut buf,
            )
            .map_err(|_| SealError::Random)?;
        let mut out = nonce.to_vec();
        out.extend(buf);
        Ok(out)
    }

    pub fn open(&self, context: &[u8], sealed: &[u8]) -> Result<Vec<u8>, SealError> {
        if sealed.len() < NONCE_LEN {
            return Err(SealError::Open);
        }
        let (nonce, rest) = sealed.split_at(NONCE_LEN);
        let nonce = Nonce::try_assume_unique_for_key(nonce).map_err(|_| SealError::Open)?;
        let mut buf = rest.to_vec();
        let plain = self
            .0
            .open_in_place(nonce, Aad::from(context), &mut buf)
            .map_err(|_| SealError::Open)?;
        Ok(plain.to_vec())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn seal_and_open_round_trip_and_bind_context() {
        let kek = Kek::from_text(&Kek::generate_text().expect("kek")).expect("parse");
        let sealed = kek.seal(b"kid-1", b"secret key").expect("seal");
        assert_eq!(kek.open(b"kid-1", &sealed).expect("open"), b"secret key");
        assert_eq!(kek.open(b"kid-2", &sealed), Err(SealError::Open));
        let other = Kek::from_text(&Kek::generate_text().expect("kek")).expect("parse");
        assert_eq!(other.open(b"kid-1", &sealed), Err(SealError::Open));
        assert!(Kek::from_text("short").is_err());
    }
}
