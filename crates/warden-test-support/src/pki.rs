//! A test PKI: one CA and the certificates it signs (rcgen, aws-lc-rs).

use crate::WAIT;

/// One CA and the certificates it signs.
pub struct Pki {
    params: rcgen::CertificateParams,
    key: rcgen::KeyPair,
    /// The CA certificate, PEM.
    pub ca_pem: String,
}

/// A certificate and its key.
pub struct Leaf {
    pub cert_pem: String,
    pub key_pem: String,
    /// The certificate, DER.
    pub der: Vec<u8>,
    /// The key, PKCS#8 DER.
    pub key_der: Vec<u8>,
}

impl Leaf {
    /// RFC 8705 `x5t#S256`, computed here independently of Warden.
    pub fn thumbprint(&self) -> String {
        use base64::Engine;
        let d = aws_lc_rs::digest::digest(&aws_lc_rs::digest::SHA256, &self.der);
        base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(d.as_ref())
    }

    /// The certificate and key in one PEM, as reqwest's `Identity` wants.
    pub fn identity(&self) -> reqwest::Identity {
        reqwest::Identity::from_pem(format!("{}{}", self.cert_pem, self.key_pem).as_bytes())
            .expect("identity")
    }
}

impl Pki {
    pub fn new(name: &str) -> Self {
        let mut params = rcgen::CertificateParams::new(Vec::<String>::new()).expect("CA params");
        params
            .distinguished_name
            .push(rcgen::DnType::CommonName, name);
        params.is_ca = rcgen::IsCa::Ca(rcgen::BasicConstraints::Unconstrained);
        let key = rcgen::KeyPair::generate().expect("CA key");
        let ca_pem = params.self_signed(&key).expect("CA").pem();
        Self {
            params,
            key,
            ca_pem,
        }
    }

    fn sign(
        &self,
        names: &[&str],
        uri: Option<&str>,
        serial: u64,
        usage: rcgen::ExtendedKeyUsagePurpose,
    ) -> Leaf {
        let mut params = rcgen::CertificateParams::new(
            names.iter().map(|s| (*s).to_string()).collect::<Vec<_>>(),
        )
        .expect("params");
        if let Some(u) = uri {
            params
                .subject_alt_names
                .push(rcgen::SanType::URI(u.try_into().expect("URI SAN")));
        }
        params
            .distinguished_name
            .push(rcgen::DnType::CommonName, names[0]);
        params.serial_number = Some(serial.into());
        params.extended_key_usages = vec![usage];
        let key = rcgen::KeyPair::generate().expect("key");
        let issuer = rcgen::Issuer::from_params(&self.params, &self.key);
        let cert = params.signed_by(&key, &issuer).expect("sign");
        Leaf {
            cert_pem: cert.pem(),
            key_pem: key.serialize_pem(),
            der: cert.der().to_vec(),
            key_der: key.serialize_der(),
        }
    }

    /// A server certificate for 127.0.0.1 and localhost.
    pub fn server(&self, serial: u64) -> Leaf {
        self.server_for(&["127.0.0.1", "localhost"], serial)
    }

    /// A server certificate for `names` (the first is also the common name).
    pub fn server_for(&self, names: &[&str], serial: u64) -> Leaf {
        self.sign(
            names,
            None,
            serial,
            rcgen::ExtendedKeyUsagePurpose::ServerAuth,
        )
    }

    /// A client certificate for `dns`, with a URI SAN (e.g. a SPIFFE id).
    pub fn client(&self, dns: &str, uri: Option<&str>, serial: u64) -> Leaf {
        self.sign(
            &[dns],
            uri,
            serial,
            rcgen::ExtendedKeyUsagePurpose::ClientAuth,
        )
    }

    /// An HTTPS client trusting only this CA, presenting `identity` when
    /// given, reporting the server certificate of each response.
    #[allow(clippy::disallowed_methods)] // a test client, not Warden going out
    pub fn client_for(&self, identity: Option<&Leaf>) -> reqwest::Client {
        let mut b = reqwest::Client::builder()
            .no_proxy()
            .timeout(WAIT)
            .tls_info(true)
            .tls_certs_only([reqwest::Certificate::from_pem(self.ca_pem.as_bytes()).expect("CA")]);
        if let Some(leaf) = identity {
            b = b.identity(leaf.identity());
        }
        b.build().expect("https client")
    }
}

/// The DER server certificate a response came over.
pub fn server_cert_of(r: &reqwest::Response) -> Vec<u8> {
    r.extensions()
        .get::<reqwest::tls::TlsInfo>()
        .and_then(|i| i.peer_certificate())
        .map(<[u8]>::to_vec)
        .unwrap_or_default()
}
