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
use warden_egress::{BuildError, Egress, SystemResolver};

use crate::audit::{AuditEvent, AuditSink, Outcome};
use crate::config::Config;

use crate::config::egress::{general_rules, upstream_rules};

/// Writes each outbound call as an audit event of kind `egress`.
pub struct AuditObserver(pub AuditSink);

impl Observer for AuditObserver {
    fn outbound(&self, e: &OutboundEvent) {
        let outcome = match (e.refused, e.failed) {
            (None, _) => Outcome::Forwarded,
            (Some(_), true) => Outcome::UpstreamFailed,
            (Some(_), false) => Outcome::Refused,
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
