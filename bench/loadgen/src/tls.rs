//! The client side of https:// runs: rustls with the aws-lc-rs provider,
//! trusting only the given CA file (no platform roots: the benchmark's
//! gateway has a throw-away CA), presenting a client certificate if given.

use std::path::Path;
use std::sync::Arc;

use rustls::ClientConfig;
use rustls_pki_types::pem::PemObject;
use rustls_pki_types::{CertificateDer, PrivateKeyDer};

pub fn client_config(
    cacert: &Path,
    identity: Option<(&Path, &Path)>,
) -> Result<Arc<ClientConfig>, String> {
    let at = |p: &Path| {
        let p = p.display().to_string();
        move |e| format!("{p}: {e}")
    };
    let mut roots = rustls::RootCertStore::empty();
    for cert in CertificateDer::pem_file_iter(cacert).map_err(at(cacert))? {
        roots
            .add(cert.map_err(at(cacert))?)
            .map_err(|e| format!("{}: {e}", cacert.display()))?;
    }
    // Named explicitly, as Warden does: no process-wide default provider.
    let provider = Arc::new(rustls::crypto::aws_lc_rs::default_provider());
    let builder = ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .map_err(|e| e.to_string())?
        .with_root_certificates(roots);
    let mut config = match identity {
        None => builder.with_no_client_auth(),
        Some((cert, key)) => {
            let chain = CertificateDer::pem_file_iter(cert)
                .map_err(at(cert))?
                .collect::<Result<Vec<_>, _>>()
                .map_err(at(cert))?;
            let key = PrivateKeyDer::from_pem_file(key).map_err(at(key))?;
            builder
                .with_client_auth_cert(chain, key)
                .map_err(|e| format!("client certificate: {e}"))?
        }
    };
    // The gateway offers h2 first; this client speaks HTTP/1.1 only (as wrk
    // does on the other scenarios), so it asks for that alone.
    config.alpn_protocols = vec![b"http/1.1".to_vec()];
    Ok(Arc::new(config))
}
