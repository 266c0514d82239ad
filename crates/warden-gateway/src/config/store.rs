//! `[store]`: where the durable state lives. Absent: the SQLite file in
//! `gateway.data_dir`, as before the section existed.

use std::time::Duration;

use serde::Deserialize;

/// `[store]` in warden.toml.
#[derive(Debug, Clone, Deserialize, PartialEq, Eq)]
#[serde(deny_unknown_fields)]
pub struct StoreSection {
    /// `sqlite://PATH` or `postgres://user@host:port/database`, without a
    /// password (the file is not the place for secrets): use `url_env` for
    /// a URL that has one.
    #[serde(default)]
    pub url: Option<String>,
    /// The environment variable holding the URL (read once at start).
    #[serde(default)]
    pub url_env: Option<String>,
    /// While the store does not answer, how long decisions may still be
    /// made from the in-memory snapshot (grants, quarantine, keys), counted
    /// from its last confirmation; after that, calls are refused (503).
    #[serde(default = "d_max_stale_secs")]
    pub max_stale_secs: u64,
}

fn d_max_stale_secs() -> u64 {
    30
}

impl Default for StoreSection {
    fn default() -> Self {
        Self {
            url: None,
            url_env: None,
            max_stale_secs: d_max_stale_secs(),
        }
    }
}

impl StoreSection {
    /// The store URL from the file or the named variable (`env` reads
    /// one); None for the default, the SQLite file in the data directory.
    pub fn url(&self, env: &dyn Fn(&str) -> Option<String>) -> Result<Option<String>, String> {
        match (&self.url, &self.url_env) {
            (None, None) => Ok(None),
            (Some(url), None) => Ok(Some(url.clone())),
            (None, Some(var)) => env(var)
                .filter(|v| !v.is_empty())
                .map(Some)
                .ok_or_else(|| format!("store.url_env: {var} is not set or empty")),
            (Some(_), Some(_)) => Err(BOTH.into()),
        }
    }

    /// The bound on serving from a snapshot the store has not confirmed.
    pub fn max_stale(&self) -> Duration {
        Duration::from_secs(self.max_stale_secs)
    }

    /// Rules serde cannot express. `poll` is `authz.poll_interval_ms`, how
    /// often the snapshot is confirmed: the bound must leave room for it.
    pub fn validate(&self, poll: Duration) -> Result<(), String> {
        if self.url.is_some() && self.url_env.is_some() {
            return Err(BOTH.into());
        }
        if self.max_stale_secs == 0 || self.max_stale_secs > 86_400 {
            return Err("store.max_stale_secs must be between 1 and 86400".into());
        }
        if self.max_stale() < poll * 4 {
            return Err(format!(
                "store.max_stale_secs ({}) must be at least four times authz.poll_interval_ms ({} ms): the snapshot is confirmed once per poll",
                self.max_stale_secs,
                poll.as_millis()
            ));
        }
        let Some(url) = &self.url else {
            return Ok(());
        };
        if url.starts_with("sqlite:") {
            return Ok(());
        }
        if !(url.starts_with("postgres://") || url.starts_with("postgresql://")) {
            return Err(format!(
                "store.url: {url:?} must start with sqlite:// or postgres://"
            ));
        }
        let parsed = url::Url::parse(url).map_err(|e| format!("store.url: not a URL: {e}"))?;
        // libpq also takes the password as a parameter.
        if parsed.password().is_some() || parsed.query_pairs().any(|(k, _)| k == "password") {
            return Err(
                "store.url carries a password: put the URL in an environment variable and name it in store.url_env".into(),
            );
        }
        Ok(())
    }
}

const BOTH: &str = "store: set url or url_env, not both";

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(text: &str) -> Result<StoreSection, String> {
        let s: StoreSection = toml::from_str(text).map_err(|e| e.to_string())?;
        s.validate(Duration::from_millis(250))?;
        Ok(s)
    }

    #[test]
    fn the_default_and_the_two_ways_to_give_the_url() {
        let s = parse("").expect("valid");
        assert_eq!(s.url(&|_| None), Ok(None));
        let s = parse("url = \"postgres://warden@db:5432/warden\"").expect("valid");
        assert_eq!(
            s.url(&|_| None),
            Ok(Some("postgres://warden@db:5432/warden".into()))
        );
        let s = parse("url = \"sqlite:///var/lib/warden/warden.db\"").expect("valid");
        assert!(s.url(&|_| None).is_ok());
        let s = parse("url_env = \"DB\"").expect("valid");
        let env = |v: &str| (v == "DB").then(|| "postgres://u:p@h/d".to_string());
        assert_eq!(s.url(&env), Ok(Some("postgres://u:p@h/d".into())));
        assert!(
            s.url(&|_| None).is_err(),
            "an unset variable stops the start"
        );
    }

    #[test]
    fn passwords_in_the_file_other_engines_and_ambiguity_are_refused() {
        for bad in [
            "url = \"postgres://warden:secret@db/warden\"",
            "url = \"postgres://warden@db/warden?password=secret\"",
            "url = \"mysql://db/warden\"",
            "url = \"/var/lib/warden.db\"",
            "url = \"sqlite://a.db\"\nurl_env = \"DB\"",
            "uri = \"sqlite://a.db\"",
        ] {
            assert!(parse(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn the_staleness_bound_defaults_to_30_s_and_leaves_room_for_the_poll() {
        assert_eq!(
            parse("").expect("valid").max_stale(),
            Duration::from_secs(30)
        );
        assert_eq!(
            parse("max_stale_secs = 2").expect("valid").max_stale_secs,
            2
        );
        for bad in ["max_stale_secs = 0", "max_stale_secs = 100000"] {
            assert!(parse(bad).is_err(), "{bad}");
        }
        let s: StoreSection = toml::from_str("max_stale_secs = 1").expect("parses");
        let err = s
            .validate(Duration::from_millis(500))
            .expect_err("poll too slow");
        assert!(err.contains("authz.poll_interval_ms"), "{err}");
    }
}
