//! The Concat KDF of RFC 7518 §4.6.2 (NIST SP 800-56A single-step KDF)
//! with SHA-256, for the 256-bit AES-GCM key of `ECDH-ES` direct agreement.

use aws_lc_rs::digest;

/// Derives the 32-byte content encryption key from the shared secret `z`.
///
/// For direct key agreement the AlgorithmID is the `enc` value and the key
/// length is that of the content key, so one SHA-256 round (counter 1)
/// gives all 256 bits. PartyUInfo/PartyVInfo are the decoded `apu`/`apv`
/// (empty when absent): they bind the key to the parties when used.
pub(super) fn concat_kdf_a256(z: &[u8], enc: &str, apu: &[u8], apv: &[u8]) -> [u8; 32] {
    let mut out = [0u8; 32];
    out.copy_from_slice(one_round(z, enc, apu, apv, 256).as_ref());
    out
}

/// One round of the KDF: enough for any key of at most 256 bits.
fn one_round(z: &[u8], alg: &str, apu: &[u8], apv: &[u8], key_bits: u32) -> digest::Digest {
    let mut ctx = digest::Context::new(&digest::SHA256);
    ctx.update(&1u32.to_be_bytes());
    ctx.update(z);
    for field in [alg.as_bytes(), apu, apv] {
        // Each OtherInfo field is a 32-bit big-endian length and the bytes;
        // callers bound the fields far below u32::MAX.
        ctx.update(&(field.len() as u32).to_be_bytes());
        ctx.update(field);
    }
    ctx.update(&key_bits.to_be_bytes());
    ctx.finish()
}

#[cfg(test)]
mod tests {
    use super::*;

    /// RFC 7518 Appendix C derives an A128GCM key with this KDF (on a P-256
    /// secret, apu "Alice", apv "Bob"): the framing is the same for 256 bits.
    #[test]
    fn rfc7518_appendix_c() {
        let z: [u8; 32] = [
            158, 86, 217, 29, 129, 113, 53, 211, 114, 131, 66, 131, 191, 132, 38, 156, 251, 49,
            110, 163, 218, 128, 106, 72, 246, 218, 167, 121, 140, 254, 144, 196,
        ];
        let d = one_round(&z, "A128GCM", b"Alice", b"Bob", 128);
        let expected: [u8; 16] = [
            86, 170, 141, 234, 248, 35, 109, 32, 92, 34, 40, 205, 113, 167, 16, 26,
        ];
        assert_eq!(&d.as_ref()[..16], &expected);
    }

    #[test]
    fn binds_every_input() {
        let base = concat_kdf_a256(&[1; 32], "A256GCM", b"", b"");
        assert_ne!(base, concat_kdf_a256(&[2; 32], "A256GCM", b"", b""));
        assert_ne!(base, concat_kdf_a256(&[1; 32], "A128GCM", b"", b""));
        assert_ne!(base, concat_kdf_a256(&[1; 32], "A256GCM", b"a", b""));
        assert_ne!(base, concat_kdf_a256(&[1; 32], "A256GCM", b"", b"a"));
        // Lengths are framed: moving a byte from apu to apv changes the key.
        assert_ne!(
            concat_kdf_a256(&[1; 32], "A256GCM", b"ab", b""),
            concat_kdf_a256(&[1; 32], "A256GCM", b"a", b"b")
        );
    }
}
