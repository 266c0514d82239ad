//! The egress rules as an operator writes them (`[egress]` in warden.toml)
//! and as they are applied.

use std::collections::BTreeMap;
use std::net::IpAddr;
use std::path::PathBuf;

use serde::Deserialize;

use crate::error::EgressError;
use crate::ports::{self, PortRange};
use crate::ranges::{self, Cidr};
use crate::target::{Host, Target};

/// What an operator configures. Every default is the strict one.
#[derive(Debug, Clone, Deserialize, PartialEq)]
#[serde(default, deny_unknown_fields)]
pub struct EgressPolicy {
    /// Allow plain `http://` (otherwise https only).
    pub allow_http: bool,
    /// Hosts that may be called: exact names (`agents.example.com`) or
    /// suffixes (`*.example.com`, which does not match `example.com`
    /// itself). Empty: any host whose addresses pass the deny table.
    pub allowed_hosts: Vec<String>,
    /// Ports that may be called: integers and inclusive ranges written as
    /// strings (`[443, "8000-8100"]`). Empty: 443 for https and 80 for http.
    pub allowed_ports: Vec<PortRange>,
    /// Address blocks exempted from the deny table (an internal network
    /// you mean to reach). Cloud metadata addresses stay denied.
    pub allow_cidrs: Vec<String>,
    /// Redirect hops followed, each re-validated (0: redirects are off).
    pub max_redirects: u8,
    /// Largest response body read, counted while streaming.
    pub max_response_bytes: u64,
    pub connect_timeout_ms: u64,
    /// Whole exchange, headers and body (non-streaming calls).
    pub total_timeout_ms: u64,
    /// Longest wait for the next chunk of a streamed body.
    pub idle_timeout_ms: u64,
    /// PEM bundle of CA certificates: when set, the only roots trusted
    /// (otherwise the platform's roots).
    pub ca_file: Option<PathBuf>,
    /// Fixed answers for names (like curl's `--resolve`), checked against
    /// the deny table like any DNS answer.
    pub resolve: BTreeMap<String, Vec<IpAddr>>,
    /// Development only: lifts the deny table, the port list and the https
    /// requirement. Logged loudly. `allow_insecure_local` is its old,
    /// deprecated spelling (warden.toml reports its use).
    #[serde(alias = "allow_insecure_local")]
    pub insecure_local_egress: bool,
}

impl Default for EgressPolicy {
    fn default() -> Self {
        Self {
            allow_http: false,
            allowed_hosts: Vec::new(),
            allowed_ports: Vec::new(),
            allow_cidrs: Vec::new(),
            max_redirects: 0,
            max_response_bytes: 16 * 1024 * 1024,
            connect_timeout_ms: 5_000,
            total_timeout_ms: 30_000,
            idle_timeout_ms: 60_000,
            ca_file: None,
            resolve: BTreeMap::new(),
            insecure_local_egress: false,
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PolicyError {
    #[error("egress.allowed_hosts: {0:?} is not a host name or *.suffix")]
    Host(String),
    #[error("egress.allow_cidrs: {0}")]
    Cidr(#[from] ranges::CidrError),
    #[error("egress.resolve: {0:?} is not a host name")]
    ResolveName(String),
    #[error("egress.max_response_bytes and the timeouts must be above zero")]
    Zero,
}

/// [`EgressPolicy`] checked and ready to apply.
#[derive(Debug, Clone)]
pub struct Rules {
    pub(crate) policy: EgressPolicy,
    exact: Vec<String>,
    suffixes: Vec<String>,
    cidrs: Vec<Cidr>,
    /// Hosts whose every address is trusted, whatever its range: the
    /// agents an operator put behind the gateway. Metadata stays denied.
    trusted_hosts: Vec<Host>,
}

impl Rules {
    pub fn new(policy: EgressPolicy) -> Result<Self, PolicyError> {
        if policy.max_response_bytes == 0
            || policy.connect_timeout_ms == 0
            || policy.total_timeout_ms == 0
            || policy.idle_timeout_ms == 0
        {
            return Err(PolicyError::Zero);
        }
        let mut exact = Vec::new();
        let mut suffixes = Vec::new();
        for h in &policy.allowed_hosts {
            let (pattern, is_suffix) = match h.strip_prefix("*.") {
                Some(rest) => (rest, true),
                None => (h.as_str(), false),
            };
            let name = normalise_name(pattern).ok_or_else(|| PolicyError::Host(h.clone()))?;
            if is_suffix {
                suffixes.push(format!(".{name}"));
            } else {
                exact.push(name);
            }
        }
        let cidrs = policy
            .allow_cidrs
            .iter()
            .map(|c| c.parse())
            .collect::<Result<Vec<Cidr>, _>>()?;
        for name in policy.resolve.keys() {
            if normalise_name(name).as_deref() != Some(name.as_str()) {
                return Err(PolicyError::ResolveName(name.clone()));
            }
        }
        Ok(Self {
            policy,
            exact,
            suffixes,
            cidrs,
            trusted_hosts: Vec::new(),
        })
    }

    /// These rules, also trusting `hosts` (the operator's own upstream
    /// agents, which commonly sit on loopback or a private network): plain
    /// http, any port, and their loopback, private and link-local
    /// addresses. Still refused for them: metadata addresses and names, and
    /// the addresses nothing legitimate listens on
    /// ([`ranges::never_legitimate`]: unspecified, multicast, reserved,
    /// documentation, IPv4-embedding IPv6 forms), unless `allow_cidrs`
    /// names them.
    pub fn trusting(mut self, hosts: impl IntoIterator<Item = Host>) -> Self {
        self.trusted_hosts.extend(hosts);
        self
    }

    pub fn policy(&self) -> &EgressPolicy {
        &self.policy
    }

    /// The checks that need no lookup: scheme, host allow-list, port, and
    /// the deny table when the host is an address literal.
    pub fn check_target(&self, t: &Target) -> Result<(), EgressError> {
        let p = &self.policy;
        let trusted = self.trusted_hosts.contains(&t.host);
        if t.url.scheme() == "http" && !(p.allow_http || p.insecure_local_egress || trusted) {
            return Err(EgressError::Scheme("http".into()));
        }
        if !trusted && !self.host_allowed(&t.host) {
            return Err(EgressError::HostNotAllowed(t.host.to_string()));
        }
        if !trusted && !p.insecure_local_egress && !self.port_allowed(t) {
            return Err(EgressError::Port(t.port));
        }
        if let Host::Name(n) = &t.host
            && !p.insecure_local_egress
        {
            if is_metadata_name(n) {
                return Err(EgressError::BadHost {
                    host: n.clone(),
                    why: "a cloud metadata name",
                });
            }
            if !trusted && is_local_name(n) {
                return Err(EgressError::BadHost {
                    host: n.clone(),
                    why: "a local-only name",
                });
            }
        }
        if let Host::Ip(ip) = t.host {
            self.check_addr(&t.host, ip)?;
        }
        Ok(())
    }

    /// Whether `ip`, an answer for `host`, may be connected to.
    pub fn check_addr(&self, host: &Host, ip: IpAddr) -> Result<(), EgressError> {
        self.judge_addr(host, ip, self.trusted_hosts.contains(host))
    }

    /// [`Self::check_addr`] for a host the operator vouched for (an
    /// upstream, or a name an allowance names): loopback and private space
    /// pass, metadata and [`ranges::never_legitimate`] addresses do not.
    pub(crate) fn check_trusted_addr(&self, host: &Host, ip: IpAddr) -> Result<(), EgressError> {
        self.judge_addr(host, ip, true)
    }

    fn judge_addr(&self, host: &Host, ip: IpAddr, trusted: bool) -> Result<(), EgressError> {
        let deny = |range| EgressError::DeniedAddress {
            host: host.to_string(),
            addr: ip,
            range,
        };
        if self.policy.insecure_local_egress {
            return Ok(());
        }
        if ranges::is_metadata(ip) {
            return Err(deny("cloud metadata endpoint"));
        }
        if self.cidrs.iter().any(|c| c.contains(ip)) {
            return Ok(());
        }
        let denied = if trusted {
            ranges::never_legitimate(ip)
        } else {
            ranges::denied_range(ip)
        };
        match denied {
            Some(range) => Err(deny(range)),
            None => Ok(()),
        }
    }

    fn host_allowed(&self, host: &Host) -> bool {
        if self.exact.is_empty() && self.suffixes.is_empty() {
            return true;
        }
        let Host::Name(n) = host else {
            // An allow-list names hosts; a literal address is never on it.
            return false;
        };
        self.exact.iter().any(|e| e == n) || self.suffixes.iter().any(|s| n.ends_with(s.as_str()))
    }

    fn port_allowed(&self, t: &Target) -> bool {
        if self.policy.allowed_ports.is_empty() {
            let default = if t.url.scheme() == "https" { 443 } else { 80 };
            return t.port == default;
        }
        ports::any_contains(&self.policy.allowed_ports, t.port)
    }
}

/// Names of cloud metadata services: refused even for a trusted host.
pub(crate) fn is_metadata_name(n: &str) -> bool {
    matches!(
        n,
        "metadata.google.internal" | "metadata.goog" | "instance-data"
    )
}

/// Names that always mean this machine (RFC 6761) or a private network.
fn is_local_name(n: &str) -> bool {
    n == "localhost"
        || n.ends_with(".localhost")
        || n.ends_with(".internal")
        || n == "local"
        || n.ends_with(".local")
        || n == "home.arpa"
        || n.ends_with(".home.arpa")
}

/// A configured host name in the form [`crate::target`] produces.
pub(crate) fn normalise_name(s: &str) -> Option<String> {
    let t = crate::target::parse(&format!("https://{s}/")).ok()?;
    t.host.as_name().map(str::to_string)
}

#[cfg(test)]
mod tests;
