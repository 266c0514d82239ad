//! `[shared]`: the state replicated gateways share on Redis (single-use
//! ids, rate-limit buckets). Absent: each gateway keeps them in memory.

use std::time::Duration;

use serde::Deserialize;

/// `[shared]` in warden.toml.
#[derive(Debug, Clone, Deserialize, PartialEq, Eq)]
#[serde(deny_unknown_fields)]
pub struct SharedSection {
    /// `redis://host:port/db`, without a password (the file is not the
    /// place for secrets): use `redis_url_env` for a URL that has one.
    #[serde(default)]
    pub redis_url: Option<String>,
    /// The environment variable holding the URL (read once at start).
    #[serde(default)]
    pub redis_url_env: Option<String>,
    /// Put before every key (several deployments may share one server).
    #[serde(default = "d_prefix")]
    pub key_prefix: String,
    /// Longest wait for one answer from Redis (`timeout_ms`).
    #[serde(default = "d_timeout", rename = "timeout_ms", with = "super::millis")]
    pub timeout: Duration,
    /// What a call that needs shared state gets while Redis cannot answer.
    #[serde(default)]
    pub on_unavailable: OnUnavailable,
}

/// `on_unavailable = "refuse" | "local_limits"`.
#[derive(Debug, Clone, Copy, Default, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "snake_case")]
pub enum OnUnavailable {
    /// 503 with `Retry-After` for every call that needs shared state.
    #[default]
    Refuse,
    /// Rate limits fall back to this gateway's own buckets (each replica
    /// then allows the whole limit). Single-use ids are never checked
    /// locally only: those calls are still refused.
    LocalLimits,
}

fn d_prefix() -> String {
    "warden:".into()
}

fn d_timeout() -> Duration {
    Duration::from_millis(250)
}

impl SharedSection {
    /// The Redis URL: from the file or the named variable (`env` reads one).
    pub fn url(&self, env: &dyn Fn(&str) -> Option<String>) -> Result<String, String> {
        match (&self.redis_url, &self.redis_url_env) {
            (Some(url), None) => Ok(url.clone()),
            (None, Some(var)) => env(var)
                .filter(|v| !v.is_empty())
                .ok_or_else(|| format!("shared.redis_url_env: {var} is not set or empty")),
            _ => Err("shared: set exactly one of redis_url and redis_url_env".into()),
        }
    }

    /// Rules serde cannot express.
    pub fn validate(&self) -> Result<(), String> {
        if let Some(url) = &self.redis_url {
            let parsed = url::Url::parse(url)
                .map_err(|e| format!("shared.redis_url: {url:?} is not a URL: {e}"))?;
            if parsed.scheme() != "redis" {
                return Err(format!(
                    "shared.redis_url: {url:?} must start with redis:// (TLS to Redis is not supported yet)"
                ));
            }
            if parsed.password().is_some() {
                return Err(
                    "shared.redis_url carries a password: put the URL in an environment variable and name it in shared.redis_url_env".into(),
                );
            }
        }
        if self.redis_url.is_some() == self.redis_url_env.is_some() {
            return Err("shared: set exactly one of redis_url and redis_url_env".into());
        }
        if self.timeout < Duration::from_millis(1) {
            return Err("shared.timeout_ms must be at least 1".into());
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(text: &str) -> Result<SharedSection, String> {
        let s: SharedSection = toml::from_str(text).map_err(|e| e.to_string())?;
        s.validate()?;
        Ok(s)
    }

    #[test]
    fn defaults_and_the_two_ways_to_give_the_url() {
        let s = parse("redis_url = \"redis://127.0.0.1:6379/0\"").expect("valid");
        assert_eq!(s.key_prefix, "warden:");
        assert_eq!(s.timeout, Duration::from_millis(250));
        assert_eq!(s.on_unavailable, OnUnavailable::Refuse);
        assert_eq!(s.url(&|_| None).as_deref(), Ok("redis://127.0.0.1:6379/0"));
        let s = parse("redis_url_env = \"R\"\non_unavailable = \"local_limits\"").expect("valid");
        assert_eq!(
            s.url(&|v| (v == "R").then(|| "redis://h/1".to_string()))
                .as_deref(),
            Ok("redis://h/1")
        );
        assert!(s.url(&|_| None).is_err());
    }

    #[test]
    fn passwords_in_the_file_and_ambiguity_are_refused() {
        for bad in [
            "redis_url = \"redis://:secret@127.0.0.1/0\"",
            "redis_url = \"rediss://127.0.0.1/0\"",
            "redis_url = \"redis://a/0\"\nredis_url_env = \"R\"",
            "key_prefix = \"x\"",
            "redis_url = \"redis://a/0\"\ntimeout_ms = 0",
        ] {
            assert!(parse(bad).is_err(), "{bad}");
        }
        let err = parse("redis_url = \"redis://:secret@127.0.0.1/0\"").expect_err("refused");
        assert!(!err.contains("secret"), "{err}");
    }
}
