//! `[gateway]`, `[admin]` and their `tls` tables: where Warden listens and
//! how.

use std::net::{IpAddr, SocketAddr};
use std::path::PathBuf;
use std::time::Duration;

use serde::Deserialize;

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct GatewaySection {
    /// Where the gateway listens. Loopback by default.
    #[serde(default = "default_listen")]
    pub listen: SocketAddr,
    /// The base URL clients use to reach the gateway; agent cards advertise
    /// URLs under it. Defaults to `http://{listen}`, or `https://{listen}`
    /// with `[gateway.tls]`.
    #[serde(default)]
    pub public_url: Option<String>,
    /// Peers whose `X-Forwarded-Proto`/`X-Forwarded-Host` are believed when
    /// building card URLs. Empty: forwarded headers are never trusted.
    #[serde(default)]
    pub trusted_proxies: Vec<IpAddr>,
    /// Where the embedded store lives.
    #[serde(default = "default_data_dir")]
    pub data_dir: PathBuf,
    /// TLS (and optionally mTLS) on the gateway listener. Absent: plain
    /// HTTP.
    #[serde(default)]
    pub tls: Option<TlsConfig>,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AdminSection {
    /// Health and metrics listener, separate from client traffic.
    #[serde(default = "default_admin_listen")]
    pub listen: SocketAddr,
    /// TLS (and optionally mTLS) on the admin listener. Absent: plain HTTP.
    #[serde(default)]
    pub tls: Option<TlsConfig>,
}

impl Default for GatewaySection {
    fn default() -> Self {
        Self {
            listen: default_listen(),
            public_url: None,
            trusted_proxies: Vec::new(),
            data_dir: default_data_dir(),
            tls: None,
        }
    }
}

impl Default for AdminSection {
    fn default() -> Self {
        Self {
            listen: default_admin_listen(),
            tls: None,
        }
    }
}

fn default_listen() -> SocketAddr {
    SocketAddr::from(([127, 0, 0, 1], 8080))
}
fn default_admin_listen() -> SocketAddr {
    SocketAddr::from(([127, 0, 0, 1], 9091))
}
fn default_data_dir() -> PathBuf {
    PathBuf::from(".warden")
}

/// `[gateway.tls]` / `[admin.tls]`: the listener's certificate and, for
/// mutual TLS, the CAs client certificates must chain to. TLS 1.2 and 1.3
/// only; ALPN `h2` and `http/1.1`. The files are polled and a change is
/// picked up without dropping open connections.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TlsConfig {
    /// The server certificate chain (PEM, leaf first).
    pub cert_file: PathBuf,
    /// The private key of the leaf certificate (PEM: PKCS#8, PKCS#1 or SEC1).
    pub key_file: PathBuf,
    /// PEM files of the CAs client certificates are verified against.
    /// Required when `client_auth` is `optional` or `required`.
    #[serde(default)]
    pub client_ca_files: Vec<PathBuf>,
    /// `off` (default): no client certificate is asked for. `optional`: a
    /// certificate is asked for and verified when sent. `required`: a
    /// connection without a verified certificate fails its handshake.
    #[serde(default)]
    pub client_auth: ClientAuth,
    /// A client that has not completed the handshake by then is dropped
    /// (`handshake_timeout_ms`).
    #[serde(
        rename = "handshake_timeout_ms",
        with = "super::millis",
        default = "d_handshake"
    )]
    pub handshake_timeout: Duration,
    /// How often the files are checked for changes; zero: never
    /// (`reload_interval_ms`).
    #[serde(
        rename = "reload_interval_ms",
        with = "super::millis",
        default = "d_reload"
    )]
    pub reload_interval: Duration,
}

/// Whether a TLS listener asks clients for certificates.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum ClientAuth {
    #[default]
    Off,
    Optional,
    Required,
}

impl ClientAuth {
    /// The configuration value.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Off => "off",
            Self::Optional => "optional",
            Self::Required => "required",
        }
    }
}

fn d_handshake() -> Duration {
    Duration::from_secs(10)
}
fn d_reload() -> Duration {
    Duration::from_secs(5)
}

impl TlsConfig {
    /// Rules serde cannot express; `key` names the table in errors.
    pub fn validate(&self, key: &str) -> Result<(), String> {
        for (name, path) in [("cert_file", &self.cert_file), ("key_file", &self.key_file)] {
            if path.as_os_str().is_empty() {
                return Err(format!("{key}.{name} must not be empty"));
            }
        }
        match (self.client_auth, self.client_ca_files.is_empty()) {
            (ClientAuth::Optional | ClientAuth::Required, true) => {
                return Err(format!(
                    "{key}.client_auth = \"{}\" needs {key}.client_ca_files",
                    self.client_auth.as_str()
                ));
            }
            (ClientAuth::Off, false) => {
                return Err(format!(
                    "{key}.client_ca_files is set but {key}.client_auth is \"off\": set it to \"optional\" or \"required\", or remove the CAs"
                ));
            }
            _ => {}
        }
        let handshake = Duration::from_millis(100)..=Duration::from_secs(300);
        if !handshake.contains(&self.handshake_timeout) {
            return Err(format!(
                "{key}.handshake_timeout_ms must be between 100 and 300000"
            ));
        }
        if !self.reload_interval.is_zero() && self.reload_interval < Duration::from_millis(100) {
            return Err(format!(
                "{key}.reload_interval_ms must be 0 (no reloading) or at least 100"
            ));
        }
        Ok(())
    }
}
