//! The egress rules the configuration implies: `[egress]` as written for
//! everything but the configured upstreams, and `[egress]` trusting the
//! `[[agents]]` hosts for those (see docs/egress.md). Pure: the clients
//! built on these rules live in [`crate::egress`].

use std::time::Duration;

use warden_egress::{EgressError, EgressPolicy, Host, PolicyError, Rules, Target, target};

use super::Config;

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
/// are judged when looked up: `crate::config_check`).
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
    let ms = |d: Duration| u64::try_from(d.as_millis()).unwrap_or(u64::MAX);
    let mut policy = config.egress.clone();
    policy.connect_timeout_ms = ms(l.upstream_connect_timeout);
    policy.total_timeout_ms = ms(l.upstream_timeout);
    policy.idle_timeout_ms = ms(l.stream_idle_timeout);
    // Streams run as long as the agent streams; whole bodies are capped
    // by each caller (`limits.max_response_body_bytes`).
    policy.max_response_bytes = u64::MAX;
    policy.max_redirects = 0;
    policy
}
