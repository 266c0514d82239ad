//! TLS for a listener: a rustls `ServerConfig` built from PEM files with the
//! aws-lc-rs provider, and a holder that rebuilds it when the files change.

use std::path::{Path, PathBuf};
use std::sync::{Arc, RwLock, Weak};
use std::time::Duration;

use rustls::crypto::CryptoProvider;
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, PrivateKeyDer};
use rustls::server::WebPkiClientVerifier;
use rustls::{RootCertStore, ServerConfig};

use crate::config::{ClientAuth, TlsConfig};

/// Why a TLS configuration could not be loaded.
#[derive(Debug, thiserror::Error)]
pub enum TlsError {
    #[error("cannot read {path}: {source}")]
    Read {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("{path}: {message}")]
    Pem { path: PathBuf, message: String },
    #[error("{0}")]
    Rustls(String),
}

/// The only protocol versions offered: TLS 1.3 and 1.2.
pub static PROTOCOL_VERSIONS: &[&rustls::SupportedProtocolVersion] =
    &[&rustls::version::TLS13, &rustls::version::TLS12];

/// ALPN protocols, in the server's order of preference.
pub fn alpn_protocols() -> Vec<Vec<u8>> {
    vec![b"h2".to_vec(), b"http/1.1".to_vec()]
}

/// The crypto provider for every listener: aws-lc-rs, named explicitly so
/// the choice never depends on what else is linked in.
pub fn provider() -> Arc<CryptoProvider> {
    Arc::new(rustls::crypto::aws_lc_rs::default_provider())
}

/// The bytes of every file a TLS configuration reads, read once so the
/// configuration is built from exactly what was compared.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Files {
    cert: Vec<u8>,
    key: Vec<u8>,
    cas: Vec<Vec<u8>>,
}

fn read(path: &Path) -> Result<Vec<u8>, TlsError> {
    std::fs::read(path).map_err(|source| TlsError::Read {
        path: path.to_path_buf(),
        source,
    })
}

impl Files {
    fn read(c: &TlsConfig) -> Result<Self, TlsError> {
        Ok(Self {
            cert: read(&c.cert_file)?,
            key: read(&c.key_file)?,
            cas: c
                .client_ca_files
                .iter()
                .map(|p| read(p))
                .collect::<Result<_, _>>()?,
        })
    }
}

fn pem_error(path: &Path, message: impl Into<String>) -> TlsError {
    TlsError::Pem {
        path: path.to_path_buf(),
        message: message.into(),
    }
}

fn certs(path: &Path, pem: &[u8]) -> Result<Vec<CertificateDer<'static>>, TlsError> {
    let certs = CertificateDer::pem_slice_iter(pem)
        .collect::<Result<Vec<_>, _>>()
        .map_err(|e| pem_error(path, format!("not a PEM certificate list: {e}")))?;
    if certs.is_empty() {
        return Err(pem_error(path, "no CERTIFICATE block"));
    }
    Ok(certs)
}

/// Builds the server configuration from files already read.
fn build(c: &TlsConfig, files: &Files) -> Result<ServerConfig, TlsError> {
    let provider = provider();
    let chain = certs(&c.cert_file, &files.cert)?;
    let key = PrivateKeyDer::from_pem_slice(&files.key)
        .map_err(|e| pem_error(&c.key_file, format!("no usable private key: {e}")))?;
    let certified = rustls::sign::CertifiedKey::from_der(chain, key, &provider).map_err(|e| {
        pem_error(
            &c.key_file,
            format!("does not fit {}: {e}", c.cert_file.display()),
        )
    })?;
    // `from_der` lets an unknown consistency pass; insist on a match.
    certified.keys_match().map_err(|e| {
        pem_error(
            &c.key_file,
            format!("does not match {}: {e}", c.cert_file.display()),
        )
    })?;
    warn_if_outside_validity(&c.cert_file, &certified.cert[0]);
    let builder = ServerConfig::builder_with_provider(provider.clone())
        .with_protocol_versions(PROTOCOL_VERSIONS)
        .map_err(|e| TlsError::Rustls(e.to_string()))?;
    let builder = match c.client_auth {
        ClientAuth::Off => builder.with_no_client_auth(),
        ClientAuth::Optional | ClientAuth::Required => {
            let mut roots = RootCertStore::empty();
            for (path, pem) in c.client_ca_files.iter().zip(&files.cas) {
                for ca in certs(path, pem)? {
                    roots.add(ca).map_err(|e| {
                        pem_error(path, format!("not a usable CA certificate: {e}"))
                    })?;
                }
            }
            let verifier = WebPkiClientVerifier::builder_with_provider(Arc::new(roots), provider);
            let verifier = if c.client_auth == ClientAuth::Optional {
                verifier.allow_unauthenticated()
            } else {
                verifier
            };
            let verifier = verifier
                .build()
                .map_err(|e| TlsError::Rustls(format!("client certificate verifier: {e}")))?;
            builder.with_client_cert_verifier(verifier)
        }
    };
    // One certificate per built configuration: a reload builds a new one.
    let mut config = builder.with_cert_resolver(Arc::new(Fixed(Arc::new(certified))));
    config.alpn_protocols = alpn_protocols();
    Ok(config)
}

/// Reads the files and builds the configuration once, as a start would,
/// without serving or polling (`warden config check`).
pub fn check(config: &TlsConfig) -> Result<(), TlsError> {
    build(config, &Files::read(config)?).map(drop)
}

/// Always the same certificate.
#[derive(Debug)]
struct Fixed(Arc<rustls::sign::CertifiedKey>);

impl rustls::server::ResolvesServerCert for Fixed {
    fn resolve(
        &self,
        _hello: rustls::server::ClientHello<'_>,
    ) -> Option<Arc<rustls::sign::CertifiedKey>> {
        Some(self.0.clone())
    }
}

fn warn_if_outside_validity(path: &Path, leaf: &CertificateDer<'_>) {
    use x509_parser::prelude::{FromDer, X509Certificate};
    if let Ok((_, cert)) = X509Certificate::from_der(leaf)
        && !cert.validity().is_valid()
    {
        tracing::warn!(
            file = %path.display(),
            not_before = %cert.validity().not_before,
            not_after = %cert.validity().not_after,
            "the server certificate is outside its validity period"
        );
    }
}

/// A listener's TLS configuration, rebuilt when its files change.
///
/// Each accepted connection takes the configuration current at that moment
/// ([`Reloadable::current`]) and keeps it for its whole life, so a reload
/// never disturbs open connections. A changed file that does not make a
/// working configuration is logged and the previous configuration stays.
#[derive(Debug)]
pub struct Reloadable {
    config: TlsConfig,
    /// What is served now, and the file contents it was built from.
    state: RwLock<(Arc<ServerConfig>, Files)>,
    /// The last contents that failed to build, so a bad file is reported
    /// once rather than at every poll.
    last_failed: RwLock<Option<(String, Option<Files>)>>,
}

impl Reloadable {
    /// Loads the files once; an error here stops the start-up. With a
    /// non-zero `reload_interval_ms` a task polls the files for changes for
    /// as long as the returned value lives (so call it within a Tokio
    /// runtime).
    pub fn load(config: &TlsConfig) -> Result<Arc<Self>, TlsError> {
        let files = Files::read(config)?;
        let server = build(config, &files)?;
        let this = Arc::new(Self {
            config: config.clone(),
            state: RwLock::new((Arc::new(server), files)),
            last_failed: RwLock::new(None),
        });
        if !config.reload_interval.is_zero() {
            let weak = Arc::downgrade(&this);
            let every = config.reload_interval;
            tokio::spawn(poll(weak, every));
        }
        Ok(this)
    }

    /// The configuration new connections get.
    pub fn current(&self) -> Arc<ServerConfig> {
        match self.state.read() {
            Ok(s) => s.0.clone(),
            Err(poisoned) => poisoned.into_inner().0.clone(),
        }
    }

    /// How long a client has to complete the handshake.
    pub fn handshake_timeout(&self) -> Duration {
        self.config.handshake_timeout
    }

    /// Whether clients are asked for a certificate.
    pub fn client_auth(&self) -> ClientAuth {
        self.config.client_auth
    }

    /// Re-reads the files; when they changed and make a working
    /// configuration, it becomes current. Returns whether it was replaced.
    pub fn reload(&self) -> Result<bool, TlsError> {
        let files = Files::read(&self.config)?;
        self.reload_from(files)
    }

    fn reload_from(&self, files: Files) -> Result<bool, TlsError> {
        let unchanged = self
            .state
            .read()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .1
            == files;
        if unchanged {
            return Ok(false);
        }
        let server = build(&self.config, &files)?;
        *self
            .state
            .write()
            .unwrap_or_else(std::sync::PoisonError::into_inner) = (Arc::new(server), files);
        Ok(true)
    }

    /// One poll: reload, and log what happened (a failure once, until the
    /// error or the files change).
    fn poll_once(&self) {
        let (files, result) = match Files::read(&self.config) {
            Ok(files) => (Some(files.clone()), self.reload_from(files)),
            Err(e) => (None, Err(e)),
        };
        let mut last = self
            .last_failed
            .write()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        match result {
            Ok(true) => {
                tracing::info!(cert = %self.config.cert_file.display(), "TLS certificate reloaded");
                *last = None;
            }
            Ok(false) => *last = None,
            Err(e) => {
                let failure = (e.to_string(), files);
                if last.as_ref() != Some(&failure) {
                    tracing::error!(error = %e, "TLS reload failed; the previous certificate stays in use");
                    *last = Some(failure);
                }
            }
        }
    }
}

async fn poll(this: Weak<Reloadable>, every: Duration) {
    let mut tick = tokio::time::interval(every);
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    tick.tick().await;
    loop {
        tick.tick().await;
        let Some(this) = this.upgrade() else { return };
        // File reads and key parsing are blocking work.
        let _ = tokio::task::spawn_blocking(move || this.poll_once()).await;
    }
}
