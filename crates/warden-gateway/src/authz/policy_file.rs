//! The policy file: loaded at start, re-read when it changes on disk, and
//! reloaded on demand (the admin API's `policy/reload`).

use std::sync::Arc;
use std::time::SystemTime;

use warden_policy::rules::PolicyRules;

use super::Authorizer;
use crate::config::ConfigError;

impl Authorizer {
    /// Re-reads the policy file when it changed on disk. A file that no
    /// longer parses keeps the rules in force (and says so).
    pub fn reload_policy_if_changed(&self) {
        let Some(path) = &self.policy_file else {
            return;
        };
        let stamp = std::fs::metadata(path).and_then(|m| m.modified()).ok();
        let Ok(mut last) = self.policy_stamp.lock() else {
            return;
        };
        if stamp.is_none() || stamp == *last {
            return;
        }
        *last = stamp;
        drop(last);
        if let Err(e) = self.reload_policy() {
            tracing::error!(error = %e, "policy file not reloaded; the previous rules stay in force");
        }
    }

    /// Reloads the policy file now (the admin API's `policy/reload`).
    pub fn reload_policy(&self) -> Result<usize, ConfigError> {
        let Some(path) = &self.policy_file else {
            return Ok(0);
        };
        let (rules, stamp) = load_rules(path)?;
        let n = rules.len();
        if let Ok(mut r) = self.rules.write() {
            *r = Arc::new(rules);
        }
        if let Ok(mut last) = self.policy_stamp.lock() {
            *last = Some(stamp);
        }
        tracing::info!(rules = n, path = %path.display(), "policy rules loaded");
        Ok(n)
    }
}

/// Reads and compiles a policy file (also for `warden config check`).
pub fn load_rules(path: &std::path::Path) -> Result<(PolicyRules, SystemTime), ConfigError> {
    let text = std::fs::read_to_string(path).map_err(|source| ConfigError::Read {
        path: path.to_path_buf(),
        source,
    })?;
    let stamp = std::fs::metadata(path)
        .and_then(|m| m.modified())
        .unwrap_or(SystemTime::UNIX_EPOCH);
    let rules = PolicyRules::from_toml(&text).map_err(|e| ConfigError::Invalid {
        path: path.to_path_buf(),
        message: e.to_string(),
    })?;
    Ok((rules, stamp))
}
