//! The old spellings of the insecure opt-ins. Every setting looser than the
//! default is spelled with the word `insecure` first (`insecure_…` keys,
//! `insecure-…` values; docs/configuration.md, "Opt-ins that loosen
//! security"). The old spellings still load, through serde aliases, and
//! each use is reported here: [`scan`] reads the raw table before the typed
//! parse, naming the new spelling, and refuses a table giving both.

/// One renamed key: `old` in a table, now `new`.
struct Renamed {
    old: &'static str,
    new: &'static str,
}

/// `[egress]`.
const EGRESS: Renamed = Renamed {
    old: "allow_insecure_local",
    new: "insecure_local_egress",
};
/// `[[agents]]`.
const AGENTS: Renamed = Renamed {
    old: "allow_unsigned_card",
    new: "insecure_unsigned_card",
};
/// `[[remote_agents]]`.
const REMOTE_AGENTS: Renamed = Renamed {
    old: "allow_unsigned",
    new: "insecure_unsigned_card",
};
/// `[auth] mode`: the old value and the new one.
const AUTH_MODE_OLD: &str = "off-insecure";
const AUTH_MODE_NEW: &str = "insecure-off";

/// The deprecation warnings for `raw` (one per old spelling used, in file
/// order of sections), or an error when a table gives an old and a new
/// spelling at once.
pub fn scan(raw: &toml::Table) -> Result<Vec<String>, String> {
    let mut found = Vec::new();
    if let Some(mode) = raw
        .get("auth")
        .and_then(|a| a.get("mode"))
        .and_then(|m| m.as_str())
        && mode == AUTH_MODE_OLD
    {
        found.push(format!(
            "auth.mode = \"{AUTH_MODE_OLD}\" is a deprecated spelling: write mode = \"{AUTH_MODE_NEW}\""
        ));
    }
    if let Some(t) = raw.get("egress").and_then(|e| e.as_table()) {
        check(t, "egress", &EGRESS, &mut found)?;
    }
    for (section, renamed) in [("agents", &AGENTS), ("remote_agents", &REMOTE_AGENTS)] {
        let Some(list) = raw.get(section).and_then(|a| a.as_array()) else {
            continue;
        };
        for (i, t) in list.iter().enumerate() {
            if let Some(t) = t.as_table() {
                check(t, &format!("{section}[{i}]"), renamed, &mut found)?;
            }
        }
    }
    Ok(found)
}

fn check(
    table: &toml::Table,
    key: &str,
    renamed: &Renamed,
    found: &mut Vec<String>,
) -> Result<(), String> {
    let Renamed { old, new } = renamed;
    let Some(value) = table.get(*old) else {
        return Ok(());
    };
    if table.contains_key(*new) {
        return Err(format!(
            "{key}: both {old} (the deprecated spelling) and {new} are set: keep only {new}"
        ));
    }
    found.push(format!(
        "{key}.{old} is a deprecated spelling: write {new} = {value}"
    ));
    Ok(())
}
