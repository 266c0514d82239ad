//! `[store]`: where the durable state lives. Absent: the SQLite file in
//! `gateway.data_dir`, as before the section existed.

use serde::Deserialize;

/// `[store]` in warden.toml.
#[derive(Debug, Clone, Default, Deserialize, PartialEq, Eq)]
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

    /// Rules serde cannot express.
    pub fn validate(&self) -> Result<(), String> {
        if self.url.is_some() && self.url_env.is_some() {
            return Err(BOTH.into());
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
        s.validate()?;
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
}
