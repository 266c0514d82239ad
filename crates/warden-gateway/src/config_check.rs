//! The half of `warden config check` that needs the network: every host
//! name in a configured outbound URL is looked up (the `[egress] resolve`
//! table first, as at run time) and each answer judged by the rules the
//! gateway will reach that URL with. [`Config::validate`] stays free of
//! lookups: it runs at every start, and a start must not depend on DNS.
//!
//! What is looked up, and under which rules:
//!
//! - `[[agents]]` `url`, `jsonrpc_url`, `rest_url`: the upstream rules
//!   ([`crate::config::egress::upstream_rules`]). A private or loopback answer is
//!   fine; a metadata or never-legitimate one is not.
//! - `[[auth.issuers]]` `jwks_url`, `[agents.webhooks]` `jwks_url`,
//!   `[[remote_agents]]` `url` and
//!   `auth.token_url`: the `[egress]` rules as written
//!   ([`crate::config::egress::general_rules`]), private ranges denied unless
//!   `allow_cidrs` or `insecure_local_egress` say otherwise.
//!
//! A name that does not resolve is an error naming the key. Address
//! literals were judged by `validate` already.

use std::sync::Arc;
use std::time::Duration;

use futures_util::future::join_all;
use warden_egress::resolve::resolve_checked;
use warden_egress::{Host, Resolver, Rules, StaticResolver};

use crate::config::Config;
use crate::config::RemoteAuth;

/// Which rules a configured URL is reached with.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Reach {
    Upstream,
    General,
}

/// One configured outbound URL: its key in the file, the URL, its rules.
struct Configured<'a> {
    key: String,
    url: &'a str,
    reach: Reach,
}

/// Every configured outbound URL, in file order.
fn configured_urls(config: &Config) -> Vec<Configured<'_>> {
    let mut out = Vec::new();
    for (i, a) in config.agents.iter().enumerate() {
        for (name, url) in [
            ("url", Some(&a.url)),
            ("jsonrpc_url", a.jsonrpc_url.as_ref()),
            ("rest_url", a.rest_url.as_ref()),
        ] {
            if let Some(url) = url {
                out.push(Configured {
                    key: format!("agents[{i}].{name}"),
                    url,
                    reach: Reach::Upstream,
                });
            }
        }
    }
    for (i, a) in config.agents.iter().enumerate() {
        if let Some(url) = a.webhooks.as_ref().and_then(|w| w.jwks_url.as_ref()) {
            out.push(Configured {
                key: format!("agents[{i}].webhooks.jwks_url"),
                url,
                reach: Reach::General,
            });
        }
    }
    for (i, iss) in config.auth.issuers.iter().enumerate() {
        if let Some(url) = &iss.jwks_url {
            out.push(Configured {
                key: format!("auth.issuers[{i}].jwks_url"),
                url,
                reach: Reach::General,
            });
        }
    }
    for (i, r) in config.remote_agents.iter().enumerate() {
        out.push(Configured {
            key: format!("remote_agents[{i}].url"),
            url: &r.url,
            reach: Reach::General,
        });
        if let RemoteAuth::ClientCredentials { token_url, .. } = &r.auth {
            out.push(Configured {
                key: format!("remote_agents[{i}].auth.token_url"),
                url: token_url,
                reach: Reach::General,
            });
        }
    }
    out
}

/// Looks up every host name of a configured outbound URL through
/// `resolver` (behind the `[egress] resolve` table) and judges each answer
/// as the gateway will. Returns how many distinct names were looked up, or
/// the first refusal in file order, naming the key and the egress reason.
/// Each lookup is bounded by `egress.connect_timeout_ms`.
pub async fn resolve_names(config: &Config, resolver: Arc<dyn Resolver>) -> Result<usize, String> {
    let general = crate::config::egress::general_rules(config).map_err(|e| e.to_string())?;
    let upstream = crate::config::egress::upstream_rules(config).map_err(|e| e.to_string())?;
    let resolver = StaticResolver::from_policy(&config.egress.resolve, resolver);
    let timeout = Duration::from_millis(config.egress.connect_timeout_ms);
    let named: Vec<(Configured<'_>, String)> = configured_urls(config)
        .into_iter()
        .filter_map(
            |c| match warden_egress::target::parse(c.url).map(|t| t.host) {
                Ok(Host::Name(n)) => Some((c, n)),
                // Address literals (and unusable URLs) are `validate`'s.
                _ => None,
            },
        )
        .collect();
    let lookups = named.iter().map(|(c, name)| {
        let rules: &Rules = match c.reach {
            Reach::Upstream => &upstream,
            Reach::General => &general,
        };
        let resolver = resolver.clone();
        async move {
            match tokio::time::timeout(timeout, resolve_checked(rules, resolver.as_ref(), name))
                .await
            {
                Ok(Ok(_)) => Ok(()),
                Ok(Err(e)) => Err(format!(
                    "{}: {:?} is refused: {e} [{}]",
                    c.key,
                    c.url,
                    e.reason()
                )),
                Err(_) => Err(format!(
                    "{}: {:?}: the lookup of {name} took longer than egress.connect_timeout_ms                      [dns]",
                    c.key, c.url
                )),
            }
        }
    });
    for result in join_all(lookups).await {
        result?;
    }
    let mut names: Vec<&str> = named.iter().map(|(_, n)| n.as_str()).collect();
    names.sort_unstable();
    names.dedup();
    Ok(names.len())
}

#[cfg(test)]
mod tests;
