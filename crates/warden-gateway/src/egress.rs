//! The gateway's ways out, all through [`warden_egress`]:
//!
//! - [`general`]: JWKS and card fetches, remote agents, the egress proxy —
//!   the `[egress]` rules as written, every call an audit event;
//! - [`upstream`]: the agents configured behind the gateway. Their
//!   configured hosts are the operator's own choice and commonly sit on
//!   loopback, so their addresses are trusted (metadata addresses still
//!   are not); any other host, such as an endpoint an upstream card names
//!   elsewhere, gets the full rules. These calls are recorded by the
//!   request's own audit event, not once more here.

use std::net::{IpAddr, Ipv4Addr};
use std::sync::Arc;

use warden_egress::audit::{Observer, OutboundEvent};
use warden_egress::{
    BuildError, Egress, EgressError, EgressPolicy, Host, PolicyError, Rules, SystemResolver,
    Target, target,
};

use crate::audit::{AuditEvent, AuditSink, Outcome};
use crate::config::Config;

/// The checks on `url` that need no lookup (for configuration checks).
pub fn check_static(rules: &Rules, url: &str) -> Result<(), EgressError> {
    rules.check_target(&target::parse(url)?)
}

/// How a configured URL is used.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum UrlUse {
    /// Paths are joined onto it (an agent's `url`, a `rest_url`, a remote
    /// agent's `url`): a query or fragment is refused, as the joined path
    /// would land after it.
    Base,
    /// Called as it is (a `jsonrpc_url`, a `jwks_url`, a `token_url`): a
    /// query is kept, a fragment (never sent) is refused.
    Endpoint,
}

/// Judges a configured outbound URL under `rules` without a lookup: the
/// strict reading, then [`Rules::check_target`], the check every call to it
/// gets at run time. With [`upstream_rules`] for the agents behind the
/// gateway and [`general_rules`] for everything else, a URL that passes
/// here is not refused at run time for what it says (its names' answers
/// are judged when looked up: [`crate::config_check`]).
pub fn check_configured(rules: &Rules, url: &str, how: UrlUse) -> Result<Target, EgressError> {
    let t = match how {
        UrlUse::Base => target::parse_base(url)?,
        UrlUse::Endpoint => {
            let t = target::parse(url)?;
            // Past `parse`, a `#` can only start the fragment.
            if url.contains('#') {
                return Err(EgressError::BadUrl("must not have a fragment (#…)".into()));
            }
            t
        }
    };
    rules.check_target(&t)?;
    Ok(t)
}

/// The rules for everything but the configured upstreams: `[egress]` as
/// written.
pub fn general_rules(config: &Config) -> Result<Rules, PolicyError> {
    Rules::new(config.egress.clone())
}

/// The rules for the configured upstream agents: `[egress]` with the
/// upstream limits, trusting the hosts of every `[[agents]]` URL (metadata
/// and never-legitimate addresses stay refused, see [`Rules::trusting`]).
pub fn upstream_rules(config: &Config) -> Result<Rules, PolicyError> {
    let hosts: Vec<Host> = config
        .agents
        .iter()
        .flat_map(|a| [Some(&a.url), a.jsonrpc_url.as_ref(), a.rest_url.as_ref()])
        .flatten()
        .filter_map(|u| target::parse(u).ok())
        .map(|t| t.host)
        .collect();
    Ok(Rules::new(upstream_policy(config))?.trusting(hosts))
}

fn upstream_policy(config: &Config) -> EgressPolicy {
    let l = &config.limits;
    let mut policy = config.egress.clone();
    policy.connect_timeout_ms = l.upstream_connect_timeout_ms;
    policy.total_timeout_ms = l.upstream_timeout_ms;
    policy.idle_timeout_ms = l.stream_idle_timeout_ms;
    // Streams run as long as the agent streams; whole bodies are capped
    // by each caller (`limits.max_response_body_bytes`).
    policy.max_response_bytes = u64::MAX;
    policy.max_redirects = 0;
    policy
}

/// Writes each outbound call as an audit event of kind `egress`.
pub struct AuditObserver(pub AuditSink);

impl Observer for AuditObserver {
    fn outbound(&self, e: &OutboundEvent) {
        let outcome = match e.refused {
            None => Outcome::Forwarded,
            Some("timeout" | "transport") => Outcome::UpstreamFailed,
            Some(_) => Outcome::Refused,
        };
        // The gateway itself is the source of an outbound call.
        let mut event = AuditEvent::new(None, IpAddr::V4(Ipv4Addr::UNSPECIFIED), outcome);
        event.kind = "egress";
        event.reason = e
            .refused
            .map(str::to_owned)
            .or_else(|| e.status.map(|s| s.to_string()));
        event.detail = Some(serde_json::json!({
            "purpose": e.purpose,
            "method": e.method,
            "url": e.url,
            "status": e.status,
            "why": e.detail,
            "elapsedMs": e.elapsed_ms,
        }));
        if outcome == Outcome::Refused {
            tracing::warn!(purpose = e.purpose, url = %e.url, reason = ?e.refused, "outbound call refused");
        }
        self.0.emit(&event);
    }
}

/// The egress for everything but the configured upstreams.
pub fn general(config: &Config, sink: AuditSink) -> Result<Egress, BuildError> {
    Egress::with(
        general_rules(config)?,
        Arc::new(SystemResolver),
        Some(Arc::new(AuditObserver(sink))),
    )
}

/// The egress to the configured upstream agents.
pub fn upstream(config: &Config) -> Result<Egress, BuildError> {
    Egress::with(upstream_rules(config)?, Arc::new(SystemResolver), None)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn config(toml_text: &str) -> Config {
        Config::parse(toml_text, std::path::Path::new("test.toml")).expect("config")
    }

    /// The upstream egress trusts the configured host only: an endpoint an
    /// upstream card names anywhere else is held to the full rules.
    #[tokio::test]
    async fn card_named_endpoints_elsewhere_get_the_full_rules() {
        let mut c = config("[[agents]]\nname = \"a\"\nurl = \"http://10.9.9.9:9000\"\n");
        c.egress.resolve = warden_egress::corpus::answers();
        let up = upstream(&c).expect("egress");
        up.check("http://10.9.9.9:9000/rpc")
            .await
            .expect("configured host");
        let mut wrong = Vec::new();
        for (url, reason) in warden_egress::corpus::hostile_urls() {
            match up.check(url).await {
                Err(e) if e.reason() == reason => {}
                other => wrong.push(format!("{url:?}: {other:?}")),
            }
        }
        assert!(wrong.is_empty(), "{}", wrong.join("\n"));
    }

    #[test]
    fn hostile_jwks_urls_fail_the_configuration_check() {
        let text = "[[auth.issuers]]\nissuer = \"https://idp.example.com\"\naudiences = [\"x\"]\n\
                    algorithms = [\"ES256\"]\njwks_url = \"https://169.254.169.254/jwks\"\n";
        let err = Config::parse(text, std::path::Path::new("t.toml"))
            .err()
            .map(|e| e.to_string())
            .unwrap_or_default();
        assert!(err.contains("denied range"), "{err}");
    }
}
