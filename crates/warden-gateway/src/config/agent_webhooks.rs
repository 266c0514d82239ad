//! `[agents.webhooks]`: Warden as the receiver of signed push notifications
//! for one local agent (`POST /webhooks/{agent}`, see docs/webhooks.md).
//! Off unless the table is there.
//!
//! What is checked here, at load: where verified notifications go (a path
//! or URL on the agent's own origin, nothing else: the endpoint must never
//! become a way to post to an arbitrary host), what is trusted (at least
//! one secret or a JWKS), and the URLs' shapes. The secrets and a JWKS
//! file are read when the gateway starts (`crate::webhooks`), never
//! written into an error or a log.

use std::path::PathBuf;

use serde::Deserialize;

/// The freshness window unless set (the Standard Webhooks libraries').
pub const DEFAULT_TOLERANCE_SECS: u64 = 300;
/// How long a fetched JWKS is used before it is fetched again.
pub const DEFAULT_JWKS_REFRESH_SECS: u64 = 600;
/// The widest freshness window accepted (as `warden webhook verify`).
const MAX_TOLERANCE_SECS: u64 = 86_400;

#[derive(Debug, Clone, Deserialize, PartialEq, Eq)]
#[serde(deny_unknown_fields)]
pub struct AgentWebhooks {
    /// Where a verified notification is posted: an absolute path on the
    /// agent's origin (`/a2a/notifications`) or a URL of that same origin.
    pub deliver_to: String,
    /// Files each holding one `whsec_…` secret (Standard Webhooks `v1`).
    #[serde(default)]
    pub secret_files: Vec<PathBuf>,
    /// Environment variables each holding one `whsec_…` secret.
    #[serde(default)]
    pub secret_envs: Vec<String>,
    /// The sending Warden's JWKS, fetched through the egress rules
    /// (purpose `jwks`) and cached for `jwks_refresh_secs`.
    #[serde(default)]
    pub jwks_url: Option<String>,
    /// The sending Warden's JWKS, from a file (read at start).
    #[serde(default)]
    pub jwks_file: Option<PathBuf>,
    /// Pin the notification JWT's `iss` (the sending Warden's public URL).
    #[serde(default)]
    pub issuer: Option<String>,
    /// This receiver's URL exactly as the subscriber registered it: the
    /// JWT's `aud` must equal it. Default:
    /// `{gateway.public_url}/webhooks/{agent}`.
    #[serde(default)]
    pub receiver_url: Option<String>,
    /// Seconds either side of now a `webhook-timestamp` may be.
    #[serde(default = "default_tolerance")]
    pub tolerance_secs: u64,
    /// Seconds a fetched JWKS is used before it is fetched again (an
    /// unknown `kid` fetches it sooner, at most once a minute).
    #[serde(default = "default_jwks_refresh")]
    pub jwks_refresh_secs: u64,
}

fn default_tolerance() -> u64 {
    DEFAULT_TOLERANCE_SECS
}

fn default_jwks_refresh() -> u64 {
    DEFAULT_JWKS_REFRESH_SECS
}

impl AgentWebhooks {
    /// Whether Warden's public keys are trusted (then the JWT, with its
    /// `aud`, is required).
    pub fn has_keys(&self) -> bool {
        self.jwks_url.is_some() || self.jwks_file.is_some()
    }

    /// The URL verified notifications are posted to, on the origin of
    /// `agent_url`; anything else is an error.
    pub fn delivery_url(&self, agent_url: &str) -> Result<String, String> {
        let base = url::Url::parse(agent_url).map_err(|e| format!("url: {e}"))?;
        let origin = base.origin();
        let refused = || {
            format!(
                "deliver_to {:?} must be an absolute path, or a URL on the agent's own origin ({})",
                self.deliver_to,
                origin.ascii_serialization()
            )
        };
        let d = self.deliver_to.as_str();
        // "//host/…" is a URL of another host, and "\" is read as "/" by
        // URL parsers: neither is a path.
        let url = if d.starts_with('/') && !d.starts_with("//") && !d.contains('\\') {
            base.join(d).map_err(|_| refused())?
        } else {
            url::Url::parse(d).map_err(|_| refused())?
        };
        if url.origin() != origin || !url.username().is_empty() || url.password().is_some() {
            return Err(refused());
        }
        if url.fragment().is_some() {
            return Err(format!("deliver_to {d:?} must not have a fragment (#…)"));
        }
        Ok(url.to_string())
    }

    /// The JWT's expected `aud`: the configured URL, or the gateway's own
    /// for this agent.
    pub fn receiver_url(&self, public_url: &str, agent: &str) -> String {
        self.receiver_url.clone().unwrap_or_else(|| {
            format!(
                "{}{}/{agent}",
                public_url.trim_end_matches('/'),
                crate::routes::WEBHOOKS_PREFIX
            )
        })
    }

    /// Rules serde cannot express; `agent_url` is the agent's `url`,
    /// `rules` the general egress rules (a `jwks_url` obeys them).
    pub fn validate(&self, agent_url: &str, rules: &warden_egress::Rules) -> Result<(), String> {
        self.delivery_url(agent_url)?;
        if self.secret_files.is_empty() && self.secret_envs.is_empty() && !self.has_keys() {
            return Err(
                "nothing to verify with: set secret_files, secret_envs, jwks_url or jwks_file"
                    .into(),
            );
        }
        if self.jwks_url.is_some() && self.jwks_file.is_some() {
            return Err("set jwks_url or jwks_file, not both".into());
        }
        if let Some(u) = &self.jwks_url {
            use super::egress::{UrlUse, check_configured};
            check_configured(rules, u, UrlUse::Endpoint)
                .map_err(|e| format!("jwks_url: {u:?} is refused: {e} [{}]", e.reason()))?;
        }
        if !self.has_keys() {
            for (key, set) in [
                ("issuer", self.issuer.is_some()),
                ("receiver_url", self.receiver_url.is_some()),
            ] {
                if set {
                    return Err(format!(
                        "{key} is checked against the notification JWT, which needs jwks_url or jwks_file"
                    ));
                }
            }
        }
        if let Some(u) = &self.receiver_url {
            let parsed =
                url::Url::parse(u).map_err(|e| format!("receiver_url: {u:?} is not a URL: {e}"))?;
            if !matches!(parsed.scheme(), "http" | "https") {
                return Err(format!("receiver_url: {u:?} must be http or https"));
            }
        }
        if self.tolerance_secs == 0 || self.tolerance_secs > MAX_TOLERANCE_SECS {
            return Err(format!("tolerance_secs: must be 1 to {MAX_TOLERANCE_SECS}"));
        }
        if self.jwks_refresh_secs < 60 {
            return Err("jwks_refresh_secs: must be at least 60".into());
        }
        for v in &self.secret_envs {
            if v.is_empty() || !v.chars().all(|c| c.is_ascii_alphanumeric() || c == '_') {
                return Err(format!(
                    "secret_envs: {v:?} is not an environment variable name"
                ));
            }
        }
        Ok(())
    }

    /// The trusted secrets, read from their files and variables (`env`
    /// looks a variable up). Errors name the file or variable, never a
    /// value.
    pub fn secrets(
        &self,
        env: &dyn Fn(&str) -> Option<String>,
    ) -> Result<Vec<warden_webhooks::SubscriptionSecret>, String> {
        use warden_webhooks::SubscriptionSecret;
        let mut out = Vec::new();
        for path in &self.secret_files {
            let text = std::fs::read_to_string(path)
                .map_err(|e| format!("secret_files: cannot read {}: {e}", path.display()))?;
            let s = SubscriptionSecret::parse(text.trim()).map_err(|e| {
                format!(
                    "secret_files: {} does not hold a whsec_ secret: {e}",
                    path.display()
                )
            })?;
            out.push(s);
        }
        for name in &self.secret_envs {
            let text = env(name).ok_or_else(|| format!("secret_envs: {name} is not set"))?;
            let s = SubscriptionSecret::parse(text.trim())
                .map_err(|e| format!("secret_envs: {name} does not hold a whsec_ secret: {e}"))?;
            out.push(s);
        }
        Ok(out)
    }
}

/// `[agents.webhooks]` of every agent, under the general egress rules.
pub fn validate(agents: &[super::AgentConfig], rules: &warden_egress::Rules) -> Result<(), String> {
    for (i, a) in agents.iter().enumerate() {
        if let Some(w) = &a.webhooks {
            w.validate(&a.url, rules)
                .map_err(|e| format!("agents[{i}].webhooks.{e}"))?;
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn hooks(text: &str) -> AgentWebhooks {
        toml::from_str(text).expect("parse")
    }

    fn rules() -> warden_egress::Rules {
        warden_egress::Rules::new(warden_egress::EgressPolicy::default()).expect("rules")
    }

    const AGENT: &str = "http://127.0.0.1:9001/a2a";

    #[test]
    fn deliver_to_is_a_path_or_a_url_on_the_agent_s_origin_only() {
        let url = |d: &str| {
            hooks(&format!("deliver_to = {d:?}\nsecret_envs = [\"S\"]")).delivery_url(AGENT)
        };
        assert_eq!(
            url("/hooks/a2a").as_deref(),
            Ok("http://127.0.0.1:9001/hooks/a2a")
        );
        assert_eq!(
            url("http://127.0.0.1:9001/x?y=1").as_deref(),
            Ok("http://127.0.0.1:9001/x?y=1")
        );
        for bad in [
            "http://127.0.0.1:9002/x",
            "https://127.0.0.1:9001/x",
            "http://localhost:9001/x",
            "http://evil.example/x",
            "//evil.example/x",
            "/\\evil.example/x",
            "http://user:pw@127.0.0.1:9001/x",
            "hooks",
            "/x#frag",
            "",
        ] {
            assert!(url(bad).is_err(), "{bad:?} was accepted");
        }
    }

    #[test]
    fn something_to_trust_is_required_and_key_only_settings_need_keys() {
        let check = |t: &str| hooks(t).validate(AGENT, &rules());
        assert!(check("deliver_to = \"/h\"").is_err(), "no trust at all");
        assert!(check("deliver_to = \"/h\"\nsecret_envs = [\"S\"]").is_ok());
        assert!(check("deliver_to = \"/h\"\njwks_file = \"/k.json\"").is_ok());
        for bad in [
            "secret_envs = [\"S\"]\nissuer = \"https://w.example\"",
            "secret_envs = [\"S\"]\nreceiver_url = \"https://w.example/h\"",
            "jwks_file = \"/k\"\njwks_url = \"https://w.example/jwks\"",
            "jwks_file = \"/k\"\nreceiver_url = \"ftp://w.example/h\"",
            "secret_envs = [\"S\"]\ntolerance_secs = 0",
            "secret_envs = [\"S\"]\ntolerance_secs = 86401",
            "secret_envs = [\"S\"]\njwks_refresh_secs = 5",
            "secret_envs = [\"BAD NAME\"]",
            // The general rules refuse loopback: the JWKS is fetched under them.
            "jwks_url = \"http://127.0.0.1/jwks\"",
        ] {
            assert!(
                check(&format!("deliver_to = \"/h\"\n{bad}")).is_err(),
                "{bad}"
            );
        }
        assert!(
            toml::from_str::<AgentWebhooks>("deliver_to = \"/h\"\nsecret = \"whsec_x\"").is_err(),
            "an inline secret is not a key"
        );
    }

    #[test]
    fn the_receiver_url_defaults_to_the_gateway_s_own_route() {
        let h = hooks("deliver_to = \"/h\"\njwks_file = \"/k\"");
        assert_eq!(
            h.receiver_url("https://w.example/", "planner"),
            "https://w.example/webhooks/planner"
        );
        let h = hooks("deliver_to = \"/h\"\njwks_file = \"/k\"\nreceiver_url = \"https://x/y\"");
        assert_eq!(
            h.receiver_url("https://w.example", "planner"),
            "https://x/y"
        );
    }

    #[test]
    fn secrets_come_from_files_and_variables_and_errors_never_show_them() {
        let dir = tempfile::tempdir().expect("dir");
        let good = warden_webhooks::SubscriptionSecret::generate().expect("secret");
        let path = dir.path().join("s");
        std::fs::write(&path, format!("{}\n", good.to_whsec())).expect("write");
        let h = hooks(&format!(
            "deliver_to = \"/h\"\nsecret_files = [{path:?}]\nsecret_envs = [\"A\"]"
        ));
        let env_value = good.to_whsec();
        let got = h
            .secrets(&|n| (n == "A").then(|| env_value.clone()))
            .expect("secrets");
        assert_eq!(got.len(), 2);
        let err = h
            .secrets(&|_| Some("whsec_not-base64!".into()))
            .expect_err("bad");
        assert!(err.contains("A") && !err.contains("not-base64"), "{err}");
        assert!(
            h.secrets(&|_| None)
                .expect_err("unset")
                .contains("A is not set")
        );
    }
}
