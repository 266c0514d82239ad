//! The way out for CLI verbs that make outbound calls (`warden call`,
//! `warden card fetch|verify`): the same egress rules the gateway uses,
//! built the same way for every verb.

use std::path::Path;
use std::sync::Arc;

use warden_egress::target::Host;
use warden_egress::{Egress, EgressPolicy, Rules, SystemResolver};

/// `[egress]` of the configuration file at `config` (its deprecated
/// spellings warned about), or `default`; then the verb's `--timeout-secs`
/// and the `--insecure-local-egress` opt-in (warned about).
pub(crate) fn policy(
    config: Option<&Path>,
    default: EgressPolicy,
    timeout_secs: Option<u64>,
    insecure_local: bool,
) -> Result<EgressPolicy, String> {
    let mut policy = match config {
        Some(path) => {
            let c = warden_gateway::Config::load(path).map_err(|e| e.to_string())?;
            for d in &c.deprecations {
                eprintln!("warning: {}: {d}", path.display());
            }
            c.egress
        }
        None => default,
    };
    if let Some(secs) = timeout_secs {
        policy.total_timeout_ms = secs.saturating_mul(1000);
        policy.idle_timeout_ms = secs.saturating_mul(1000);
    }
    if insecure_local {
        eprintln!(
            "warning: --insecure-local-egress: the egress rules are lifted (loopback, private and \
             metadata addresses, plain http, any port). Development only."
        );
        policy.insecure_local_egress = true;
    }
    Ok(policy)
}

/// The egress for `policy`, trusting `hosts` as configured (loopback hosts
/// the operator typed on the command line).
pub(crate) fn egress(policy: EgressPolicy, hosts: Vec<Host>) -> Result<Egress, String> {
    let rules = Rules::new(policy)
        .map_err(|e| e.to_string())?
        .trusting(hosts);
    Egress::with(rules, Arc::new(SystemResolver), None).map_err(|e| e.to_string())
}

/// 127.0.0.0/8, ::1 and `localhost`: this machine.
pub(crate) fn is_loopback(host: &Host) -> bool {
    match host {
        Host::Ip(ip) => ip.is_loopback(),
        Host::Name(n) => n == "localhost",
    }
}
