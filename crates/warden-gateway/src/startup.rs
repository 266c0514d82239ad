//! Start-up checks that read the files a configuration names (policy
//! rules, pinned keys, issuer JWKS, TLS certificates and keys), so
//! `warden config check` catches them before the gateway starts.
//! [`Config::validate`] reads no file; this step does.

use std::path::Path;

use crate::config::{Config, ConfigError};

/// Checks what lives in the files `config` (read from `path`) names.
pub fn check_files(config: &Config, path: &Path) -> Result<(), ConfigError> {
    if let Some(policy) = &config.authz.policy_file {
        crate::authz::load_rules(policy)?;
    }
    for (i, r) in config.remote_agents.iter().enumerate() {
        crate::config::trust_keys(r).map_err(|message| ConfigError::Invalid {
            path: path.to_path_buf(),
            message: format!("remote_agents[{i}]: {message}"),
        })?;
    }
    for (i, iss) in config.auth.issuers.iter().enumerate() {
        let text = match (&iss.jwks, &iss.jwks_file) {
            (Some(t), _) => t.clone(),
            (None, Some(f)) => std::fs::read_to_string(f).map_err(|source| ConfigError::Read {
                path: f.clone(),
                source,
            })?,
            _ => continue,
        };
        let invalid = |message: String| ConfigError::Invalid {
            path: path.to_path_buf(),
            message: format!("auth.issuers[{i}]: {message}"),
        };
        let doc = warden_json::parse_strict(text.as_bytes(), warden_json::JsonLimits::default())
            .map_err(|e| invalid(format!("JWKS is not valid JSON: {e}")))?;
        let keys = warden_trust::KeySet::from_jwks(&doc).map_err(|e| invalid(e.to_string()))?;
        if keys.is_empty() {
            return Err(invalid(
                "the JWKS has no usable signing key (each needs a kid)".into(),
            ));
        }
    }
    for (key, tls) in [
        ("gateway.tls", &config.gateway.tls),
        ("admin.tls", &config.admin.tls),
    ] {
        if let Some(t) = tls {
            crate::listener::check(t).map_err(|e| ConfigError::Invalid {
                path: path.to_path_buf(),
                message: format!("{key}: {e}"),
            })?;
        }
    }
    Ok(())
}
