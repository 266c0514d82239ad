//! The client certificate a connection presented, once verified, and the
//! identity read from it.

use base64::Engine;
use rustls::pki_types::CertificateDer;
use x509_parser::extensions::GeneralName;
use x509_parser::prelude::{FromDer, X509Certificate};

/// The verified leaf certificate of an mTLS connection. Every request on the
/// connection carries it in its extensions as `Arc<PeerCertificate>`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PeerCertificate {
    /// The leaf certificate, DER-encoded, exactly as the client sent it.
    pub der: CertificateDer<'static>,
    /// What the certificate says about its holder.
    pub identity: PeerIdentity,
    /// Certificate-bound tokens verified on this connection (see
    /// `verified_tokens.rs` for why reusing the verification is safe).
    pub verified_tokens: super::VerifiedTokens,
}

/// Who a client certificate names. Only verified certificates get here: the
/// chain was checked against the listener's configured client CAs.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PeerIdentity {
    /// URI subject alternative names, e.g. SPIFFE ids
    /// (`spiffe://example.org/ns/prod/sa/billing`).
    pub uris: Vec<String>,
    /// DNS subject alternative names.
    pub dns_names: Vec<String>,
    /// The subject distinguished name (RFC 4514 form), for logs.
    pub subject: String,
    /// RFC 8705 certificate thumbprint: base64url (no padding) of the
    /// SHA-256 of the DER certificate; what a bound token's `cnf.x5t#S256`
    /// must hold.
    pub x5t_s256: String,
}

impl PeerIdentity {
    /// The first SPIFFE id among the URI names, if any.
    pub fn spiffe_id(&self) -> Option<&str> {
        self.uris
            .iter()
            .map(String::as_str)
            .find(|u| u.starts_with("spiffe://"))
    }
}

impl PeerCertificate {
    /// Reads the identity of a (verified) leaf certificate. A certificate
    /// whose extensions cannot be parsed still has its thumbprint; it names
    /// nothing else.
    pub fn from_der(der: CertificateDer<'static>) -> Self {
        let x5t_s256 = x5t_s256(&der);
        let mut identity = PeerIdentity {
            uris: Vec::new(),
            dns_names: Vec::new(),
            subject: String::new(),
            x5t_s256,
        };
        match X509Certificate::from_der(&der) {
            Ok((_, cert)) => {
                identity.subject = cert.subject().to_string();
                match cert.subject_alternative_name() {
                    Ok(Some(san)) => {
                        for name in &san.value.general_names {
                            match name {
                                GeneralName::URI(u) => identity.uris.push((*u).to_string()),
                                GeneralName::DNSName(d) => {
                                    identity.dns_names.push((*d).to_string());
                                }
                                _ => {}
                            }
                        }
                    }
                    Ok(None) => {}
                    Err(e) => {
                        tracing::warn!(error = %e, "client certificate: unreadable subject alternative names");
                    }
                }
            }
            Err(e) => tracing::warn!(error = %e, "client certificate: cannot parse"),
        }
        Self {
            der,
            identity,
            verified_tokens: super::VerifiedTokens::default(),
        }
    }
}

/// RFC 8705 §3.1 `x5t#S256`: base64url(SHA-256(DER)), without padding.
pub fn x5t_s256(der: &[u8]) -> String {
    let digest = aws_lc_rs::digest::digest(&aws_lc_rs::digest::SHA256, der);
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(digest.as_ref())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn thumbprint_is_base64url_sha256_without_padding() {
        // SHA-256("abc") = ba7816bf…15ad, base64url below.
        assert_eq!(
            x5t_s256(b"abc"),
            "ungWv48Bz-pBQUDeXa4iI7ADYaOWF3qctBD_YfIAFa0"
        );
        let t = x5t_s256(&[0u8; 1000]);
        assert_eq!(t.len(), 43);
        assert!(!t.contains('=') && !t.contains('+') && !t.contains('/'));
    }

    #[test]
    fn identity_reads_san_uris_and_dns_names() {
        let mut params =
            rcgen::CertificateParams::new(vec!["client.example".to_string()]).expect("params");
        params.subject_alt_names.push(rcgen::SanType::URI(
            rcgen::string::Ia5String::try_from("spiffe://example.org/sa/billing").expect("uri"),
        ));
        params
            .distinguished_name
            .push(rcgen::DnType::CommonName, "billing");
        let key = rcgen::KeyPair::generate().expect("key");
        let cert = params.self_signed(&key).expect("cert");
        let der = cert.der().clone();
        let peer = PeerCertificate::from_der(der.clone());
        assert_eq!(peer.identity.dns_names, vec!["client.example"]);
        assert_eq!(peer.identity.uris, vec!["spiffe://example.org/sa/billing"]);
        assert_eq!(
            peer.identity.spiffe_id(),
            Some("spiffe://example.org/sa/billing")
        );
        assert!(
            peer.identity.subject.contains("CN=billing"),
            "{}",
            peer.identity.subject
        );
        assert_eq!(peer.identity.x5t_s256, x5t_s256(&der));
    }

    #[test]
    fn garbage_still_has_a_thumbprint_and_no_names() {
        let peer = PeerCertificate::from_der(CertificateDer::from(vec![1, 2, 3]));
        assert!(peer.identity.uris.is_empty() && peer.identity.dns_names.is_empty());
        assert_eq!(peer.identity.x5t_s256, x5t_s256(&[1, 2, 3]));
    }
}
