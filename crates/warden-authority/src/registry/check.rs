//! Checks on what the registry stores: ids, grants and JWKS documents.

use std::path::Path;

use serde_json::Value;

use super::{MAX_GRANTS, MAX_JWKS_BYTES, MAX_NAME_BYTES, RegistryError};
use crate::Grants;

/// An id-like string: not empty, at most [`MAX_NAME_BYTES`], no whitespace
/// or control characters (ids travel in token claims, URLs and logs).
pub(crate) fn check_name(what: &str, s: &str) -> Result<(), RegistryError> {
    if s.is_empty() {
        return Err(RegistryError::Invalid(format!("{what} must not be empty")));
    }
    if s.len() > MAX_NAME_BYTES {
        return Err(RegistryError::Invalid(format!(
            "{what} {s:?} is longer than {MAX_NAME_BYTES} bytes"
        )));
    }
    if s.chars().any(|c| c.is_whitespace() || c.is_control()) {
        return Err(RegistryError::Invalid(format!(
            "{what} {s:?} must not contain whitespace or control characters"
        )));
    }
    // `warden` is the subject of Warden's own upstream tokens.
    if what == "agent id" && (s == crate::GATEWAY_SUBJECT || s == crate::MAILBOX_AUDIENCE) {
        return Err(RegistryError::Invalid(format!(
            "agent id {s:?} is reserved for Warden itself"
        )));
    }
    Ok(())
}

/// Parses `TARGET=SKILL[,SKILL…]` grants (the CLI's `--grant`), merging
/// repeated targets.
pub fn parse_grants(list: &[String]) -> Result<Grants, RegistryError> {
    let mut out = Grants::new();
    for g in list {
        let bad = || RegistryError::Invalid(format!("grant {g:?} must be TARGET=SKILL[,SKILL…]"));
        let (target, skills) = g.split_once('=').ok_or_else(bad)?;
        let skills: Vec<String> = skills
            .split(',')
            .map(str::trim)
            .filter(|s| !s.is_empty())
            .map(str::to_owned)
            .collect();
        let target = target.trim();
        if target.is_empty() || skills.is_empty() {
            return Err(bad());
        }
        out.entry(target.to_string()).or_default().extend(skills);
    }
    check_grants(out)
}

/// Checks grants (from the CLI or the admin API): every target and skill a
/// valid name, every target with at least one skill; duplicate skills are
/// merged. Returns them normalised (skills sorted).
pub fn check_grants(grants: Grants) -> Result<Grants, RegistryError> {
    if grants.len() > MAX_GRANTS {
        return Err(RegistryError::Invalid(format!(
            "at most {MAX_GRANTS} grant targets"
        )));
    }
    let mut out = Grants::new();
    for (target, mut skills) in grants {
        check_name("grant target", &target)?;
        if skills.is_empty() {
            return Err(RegistryError::Invalid(format!(
                "grant for {target:?} names no skill"
            )));
        }
        if skills.len() > MAX_GRANTS {
            return Err(RegistryError::Invalid(format!(
                "grant for {target:?}: at most {MAX_GRANTS} skills"
            )));
        }
        for s in &skills {
            check_name("skill id", s)?;
        }
        skills.sort();
        skills.dedup();
        out.insert(target, skills);
    }
    Ok(out)
}

/// Checks a JWKS document for `private_key_jwt`: an object with a `keys`
/// array, no private key anywhere, no duplicate `kid`, and at least one key
/// Warden can use (with a `kid`, for signatures, of a supported type).
/// Returns the document as stored (compact JSON).
pub fn check_jwks(doc: &Value) -> Result<String, RegistryError> {
    let keys = warden_trust::KeySet::from_jwks(doc)
        .map_err(|e| RegistryError::Invalid(format!("JWKS: {e}")))?;
    if keys.is_empty() {
        return Err(RegistryError::Invalid(
            "JWKS: no usable signing key (each needs a kid)".into(),
        ));
    }
    let text = doc.to_string();
    if text.len() > MAX_JWKS_BYTES {
        return Err(RegistryError::Invalid(format!(
            "JWKS: larger than {MAX_JWKS_BYTES} bytes"
        )));
    }
    Ok(text)
}

/// Reads and checks a JWKS file (strict JSON: no duplicate keys). Errors
/// name the file.
pub fn read_jwks_file(path: &Path) -> Result<Value, RegistryError> {
    let at = |e: &dyn std::fmt::Display| RegistryError::Invalid(format!("{}: {e}", path.display()));
    let text = std::fs::read(path).map_err(|e| at(&e))?;
    if text.len() > MAX_JWKS_BYTES {
        return Err(at(&format!("larger than {MAX_JWKS_BYTES} bytes")));
    }
    let doc =
        warden_json::parse_strict(&text, warden_json::JsonLimits::default()).map_err(|e| at(&e))?;
    check_jwks(&doc).map_err(|e| at(&e))?;
    Ok(doc)
}
