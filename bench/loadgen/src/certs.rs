//! `warden-loadgen certs`: a throw-away PKI for the mTLS benchmark.
//!
//! ECDSA P-256 keys (rcgen's default). The validity is rcgen's default
//! (1975 to 4096): these certificates live as long as one benchmark run's
//! temporary directory, and nothing else trusts their CA.

use std::fs::OpenOptions;
use std::io::Write;
use std::net::{IpAddr, Ipv4Addr};
use std::os::unix::fs::OpenOptionsExt;
use std::path::Path;

use rcgen::{
    BasicConstraints, CertificateParams, DnType, ExtendedKeyUsagePurpose, IsCa, Issuer, KeyPair,
    KeyUsagePurpose, SanType,
};

/// Writes ca.pem, server.pem/server.key, client.pem/client.key and x5t.txt
/// into `dir`, and prints the client certificate's thumbprint.
pub fn write(dir: &Path) -> Result<(), String> {
    std::fs::create_dir_all(dir).map_err(|e| format!("{}: {e}", dir.display()))?;
    let e = |e: rcgen::Error| e.to_string();

    let mut ca = CertificateParams::default();
    ca.distinguished_name
        .push(DnType::CommonName, "warden-loadgen throw-away CA");
    ca.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
    ca.key_usages = vec![KeyUsagePurpose::KeyCertSign, KeyUsagePurpose::CrlSign];
    let ca_key = KeyPair::generate().map_err(e)?;
    let ca_cert = ca.self_signed(&ca_key).map_err(e)?;
    let issuer = Issuer::from_params(&ca, &ca_key);

    // Leaves say CA:FALSE explicitly (rcgen leaves basicConstraints out by
    // default), and name their one purpose.
    let leaf = |cn: &str, sans: Vec<SanType>, purpose| -> Result<_, String> {
        let mut p = CertificateParams::default();
        p.distinguished_name.push(DnType::CommonName, cn);
        p.subject_alt_names = sans;
        p.is_ca = IsCa::ExplicitNoCa;
        p.key_usages = vec![KeyUsagePurpose::DigitalSignature];
        p.extended_key_usages = vec![purpose];
        let key = KeyPair::generate().map_err(e)?;
        let cert = p.signed_by(&key, &issuer).map_err(e)?;
        Ok((cert, key))
    };
    let localhost = "localhost".try_into().map_err(e)?;
    let (server, server_key) = leaf(
        "warden",
        vec![
            SanType::IpAddress(IpAddr::V4(Ipv4Addr::LOCALHOST)),
            SanType::DnsName(localhost),
        ],
        ExtendedKeyUsagePurpose::ServerAuth,
    )?;
    let loadgen = "loadgen.bench.invalid".try_into().map_err(e)?;
    let (client, client_key) = leaf(
        "warden-loadgen",
        vec![SanType::DnsName(loadgen)],
        ExtendedKeyUsagePurpose::ClientAuth,
    )?;

    let x5t = thumbprint(client.der());
    for (name, text, private) in [
        ("ca.pem", ca_cert.pem(), false),
        ("server.pem", server.pem(), false),
        ("server.key", server_key.serialize_pem(), true),
        ("client.pem", client.pem(), false),
        ("client.key", client_key.serialize_pem(), true),
        ("x5t.txt", format!("{x5t}\n"), false),
    ] {
        let path = dir.join(name);
        OpenOptions::new()
            .write(true)
            .create(true)
            .truncate(true)
            .mode(if private { 0o600 } else { 0o644 })
            .open(&path)
            .and_then(|mut f| f.write_all(text.as_bytes()))
            .map_err(|e| format!("{}: {e}", path.display()))?;
    }
    println!("{x5t}");
    Ok(())
}

/// RFC 8705 `x5t#S256`: base64url, unpadded, of the SHA-256 of the DER
/// certificate (what `warden token mint --cnf-x5t` takes).
pub fn thumbprint(der: &[u8]) -> String {
    let digest = aws_lc_rs::digest::digest(&aws_lc_rs::digest::SHA256, der);
    base64url(digest.as_ref())
}

/// Base64url without padding (RFC 4648 §5); 15 lines rather than a crate.
fn base64url(bytes: &[u8]) -> String {
    const ALPHABET: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
    let mut out = String::with_capacity(bytes.len().div_ceil(3) * 4);
    for chunk in bytes.chunks(3) {
        let n = chunk
            .iter()
            .enumerate()
            .fold(0u32, |n, (i, b)| n | (u32::from(*b) << (16 - 8 * i)));
        // 1, 2 or 3 bytes give 2, 3 or 4 characters.
        for i in 0..=chunk.len() {
            out.push(char::from(ALPHABET[((n >> (18 - 6 * i)) & 63) as usize]));
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn base64url_rfc4648_vectors() {
        let cases = [
            ("", ""),
            ("f", "Zg"),
            ("fo", "Zm8"),
            ("foo", "Zm9v"),
            ("foob", "Zm9vYg"),
            ("fooba", "Zm9vYmE"),
            ("foobar", "Zm9vYmFy"),
        ];
        for (input, want) in cases {
            assert_eq!(base64url(input.as_bytes()), want);
        }
        assert_eq!(base64url(&[0xfb, 0xff]), "-_8");
    }

    #[test]
    fn thumbprint_is_43_characters() {
        // SHA-256 of the empty string.
        assert_eq!(
            thumbprint(b""),
            "47DEQpj8HBSa-_TImW-5JCeuQeRkm5NMpJWZG3hSuFU"
        );
    }

    #[test]
    fn writes_a_pki() {
        let dir = std::env::temp_dir().join(format!("warden-loadgen-test-{}", std::process::id()));
        write(&dir).expect("certs");
        let x5t = std::fs::read_to_string(dir.join("x5t.txt")).expect("x5t.txt");
        let client = std::fs::read(dir.join("client.pem")).expect("client.pem");
        let der = rustls_pki_types::pem::PemObject::from_pem_slice(&client)
            .map(|c: rustls_pki_types::CertificateDer<'_>| c.to_vec())
            .expect("client certificate");
        assert_eq!(x5t.trim(), thumbprint(&der));
        // The client's files load as the run's TLS configuration does.
        crate::tls::client_config(
            &dir.join("ca.pem"),
            Some((&dir.join("client.pem"), &dir.join("client.key"))),
        )
        .expect("client TLS configuration");
        std::fs::remove_dir_all(&dir).expect("clean up");
    }
}
