//! Per-pair grants and quarantine, managed: the one implementation behind
//! `warden grant …`, `warden quarantine …`, `warden registry add --grant`
//! and the admin API. Changes bump the store's authorisation generation,
//! so every gateway on the store applies them from its next call.

use serde_json::{Value, json};
use warden_policy::OpClass;
use warden_store::{GrantRecord, QuarantineRecord, Store, StoreError};

use crate::Grants;
use crate::registry::{MAX_GRANTS, RegistryError, check_name};

/// A grant to add.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewGrant {
    /// A registry agent id, or `ISSUER#SUBJECT` for an external issuer.
    pub caller: String,
    /// The gateway agent name.
    pub target: String,
    /// Skill ids, or `["*"]`.
    pub skills: Vec<String>,
    pub operations: Vec<OpClass>,
    /// A delegation: the owner whose tasks the caller may act on.
    pub tasks_of: Option<String>,
    pub not_before: Option<i64>,
    pub not_after: Option<i64>,
    pub note: Option<String>,
}

impl NewGrant {
    /// A grant of `skills` with the default operations and no time limit.
    pub fn simple(caller: &str, target: &str, skills: Vec<String>) -> Self {
        Self {
            caller: caller.into(),
            target: target.into(),
            skills,
            operations: OpClass::DEFAULT.to_vec(),
            tasks_of: None,
            not_before: None,
            not_after: None,
            note: None,
        }
    }
}

fn random_id() -> Result<String, RegistryError> {
    use aws_lc_rs::rand::SecureRandom;
    let mut b = [0u8; 8];
    aws_lc_rs::rand::SystemRandom::new()
        .fill(&mut b)
        .map_err(|_| RegistryError::Internal("the random generator failed".into()))?;
    Ok(format!(
        "g_{}",
        b.iter().map(|x| format!("{x:02x}")).collect::<String>()
    ))
}

/// Checks and stores a grant; returns it with its new id.
pub async fn add_grant(store: &Store, g: NewGrant) -> Result<GrantRecord, RegistryError> {
    check_name("grant caller", &g.caller)?;
    check_name("grant target", &g.target)?;
    if g.skills.is_empty() {
        return Err(RegistryError::Invalid(
            "a grant names at least one skill (or *)".into(),
        ));
    }
    if g.skills.len() > MAX_GRANTS {
        return Err(RegistryError::Invalid(format!(
            "at most {MAX_GRANTS} skills per grant"
        )));
    }
    for s in &g.skills {
        check_name("skill id", s)?;
    }
    if g.operations.is_empty() {
        return Err(RegistryError::Invalid(
            "a grant allows at least one operation".into(),
        ));
    }
    if let Some(owner) = &g.tasks_of {
        check_name("tasks-of owner", owner)?;
    }
    if let (Some(nb), Some(na)) = (g.not_before, g.not_after)
        && na <= nb
    {
        return Err(RegistryError::Invalid(
            "not_after must be later than not_before".into(),
        ));
    }
    if let Some(n) = &g.note
        && (n.len() > 1024 || n.chars().any(char::is_control))
    {
        return Err(RegistryError::Invalid(
            "a note is at most 1024 bytes without control characters".into(),
        ));
    }
    let mut skills = g.skills;
    skills.sort();
    skills.dedup();
    let record = GrantRecord {
        id: random_id()?,
        caller: g.caller,
        target: g.target,
        skills,
        operations: g.operations.iter().map(|o| o.name().to_string()).collect(),
        tasks_of: g.tasks_of,
        not_before: g.not_before,
        not_after: g.not_after,
        created_at: crate::now_rfc3339(),
        revoked_at: None,
        note: g.note,
    };
    store.put_grant(&record).await?;
    Ok(record)
}

/// Adds the registry-style grants (target → skills, default operations)
/// that do not exist yet: registering an agent twice adds nothing twice.
pub async fn ensure_grants(
    store: &Store,
    caller: &str,
    grants: &Grants,
) -> Result<(), RegistryError> {
    let existing = store.list_grants(Some(caller), None, false).await?;
    for (target, skills) in grants {
        let default_ops: Vec<String> = OpClass::DEFAULT
            .iter()
            .map(|o| o.name().to_string())
            .collect();
        let present = existing.iter().any(|g| {
            &g.target == target
                && &g.skills == skills
                && g.operations == default_ops
                && g.not_before.is_none()
                && g.not_after.is_none()
                && g.tasks_of.is_none()
        });
        if !present {
            add_grant(store, NewGrant::simple(caller, target, skills.clone())).await?;
        }
    }
    Ok(())
}

/// Revokes one grant at once: [`RegistryError::NotFound`] for an unknown
/// id, [`RegistryError::Conflict`] for one already revoked.
pub async fn revoke_grant(store: &Store, id: &str) -> Result<(), RegistryError> {
    if store.revoke_grant(id, &crate::now_rfc3339()).await? {
        return Ok(());
    }
    match store.grant(id).await? {
        Some(g) if g.revoked_at.is_some() => Err(RegistryError::Conflict(format!(
            "grant {id:?} is already revoked"
        ))),
        _ => Err(RegistryError::NotFound(format!("no grant {id:?}"))),
    }
}

/// Revokes every grant from `caller` to `target`; returns how many.
pub async fn revoke_between(
    store: &Store,
    caller: &str,
    target: &str,
) -> Result<u64, RegistryError> {
    Ok(store
        .revoke_grants_between(caller, target, &crate::now_rfc3339())
        .await?)
}

/// Revokes every grant a caller holds (its registry entry is going away).
pub async fn revoke_all_of(store: &Store, caller: &str) -> Result<(), RegistryError> {
    let at = crate::now_rfc3339();
    for g in store.list_grants(Some(caller), None, false).await? {
        store.revoke_grant(&g.id, &at).await?;
    }
    Ok(())
}

/// The skills `caller` may be granted for `target` now (the union of its
/// grants in force; `*` when one allows every skill), or `None` without a
/// grant. What the token endpoint and API keys are limited to.
pub async fn skills_granted(
    store: &Store,
    caller: &str,
    target: &str,
    now: u64,
) -> Result<Option<Vec<String>>, StoreError> {
    let now = i64::try_from(now).unwrap_or(i64::MAX);
    let grants = store.active_grants(caller, target, now).await?;
    if grants.is_empty() {
        return Ok(None);
    }
    let mut skills: Vec<String> = grants.into_iter().flat_map(|g| g.skills).collect();
    skills.sort();
    skills.dedup();
    Ok(Some(skills))
}

/// A caller's grants in force, as target → skills (for listings).
pub async fn summary(store: &Store, caller: &str, now: u64) -> Result<Grants, StoreError> {
    let now = i64::try_from(now).unwrap_or(i64::MAX);
    let mut out = Grants::new();
    for g in store.list_grants(Some(caller), None, false).await? {
        let active =
            g.not_before.is_none_or(|nb| nb <= now) && g.not_after.is_none_or(|na| now < na);
        if active {
            out.entry(g.target).or_default().extend(g.skills);
        }
    }
    for skills in out.values_mut() {
        skills.sort();
        skills.dedup();
    }
    Ok(out)
}

/// Quarantines an agent (as caller and as target); false when it already was.
pub async fn quarantine(
    store: &Store,
    agent: &str,
    reason: &str,
    by: &str,
) -> Result<bool, RegistryError> {
    check_name("agent", agent)?;
    if reason.trim().is_empty() || reason.len() > 1024 || reason.chars().any(char::is_control) {
        return Err(RegistryError::Invalid(
            "a quarantine needs a reason: 1 to 1024 bytes, no control characters".into(),
        ));
    }
    Ok(store
        .quarantine_add(agent, reason, by, &crate::now_rfc3339())
        .await?)
}

/// Lifts a quarantine.
pub async fn release(store: &Store, agent: &str) -> Result<(), RegistryError> {
    if store.quarantine_remove(agent).await? {
        Ok(())
    } else {
        Err(RegistryError::NotFound(format!(
            "{agent:?} is not quarantined"
        )))
    }
}

pub async fn quarantined(store: &Store) -> Result<Vec<QuarantineRecord>, RegistryError> {
    Ok(store.quarantined().await?)
}

/// Operation classes named one by one (an admin API body): `["all"]` is
/// every class; an unknown name is refused, never ignored. An empty list
/// stays empty (and [`add_grant`] refuses it).
pub fn parse_operations(names: &[String]) -> Result<Vec<OpClass>, RegistryError> {
    if let [only] = names
        && only == "all"
    {
        return Ok(OpClass::ALL.to_vec());
    }
    let mut out = Vec::with_capacity(names.len());
    for name in names {
        let class = OpClass::parse(name).ok_or_else(|| {
            RegistryError::Invalid(format!(
                "unknown operation {name:?} (use {} or all)",
                OpClass::ALL.map(OpClass::name).join(", ")
            ))
        })?;
        if !out.contains(&class) {
            out.push(class);
        }
    }
    out.sort();
    Ok(out)
}

/// Where a grant stands at `now` (Unix seconds): `revoked`, `pending`
/// (its window has not opened), `expired` or `active`.
pub fn grant_state(g: &GrantRecord, now: u64) -> &'static str {
    let now = i64::try_from(now).unwrap_or(i64::MAX);
    if g.revoked_at.is_some() {
        "revoked"
    } else if g.not_before.is_some_and(|nb| now < nb) {
        "pending"
    } else if g.not_after.is_some_and(|na| na <= now) {
        "expired"
    } else {
        "active"
    }
}

/// What the audit records of a grant made, by the CLI or the admin API
/// alike (ids and scope only).
pub fn grant_audit(g: &GrantRecord) -> Value {
    serde_json::json!({
        "grant": g.id,
        "caller": g.caller,
        "target": g.target,
        "skills": g.skills,
        "operations": g.operations,
        "tasksOf": g.tasks_of,
    })
}

/// A grant as the admin API and `warden grant … --json` show it.
pub fn grant_json(g: &GrantRecord, now: u64) -> Value {
    json!({
        "id": g.id,
        "caller": g.caller,
        "target": g.target,
        "skills": g.skills,
        "operations": g.operations,
        "tasksOf": g.tasks_of,
        "notBefore": g.not_before,
        "notAfter": g.not_after,
        "state": grant_state(g, now),
        "createdAt": g.created_at,
        "revokedAt": g.revoked_at,
        "note": g.note,
    })
}

/// A quarantine as the admin API and `warden quarantine list --json` show it.
pub fn quarantine_json(q: &QuarantineRecord) -> Value {
    json!({
        "agent": q.agent,
        "reason": q.reason,
        "createdAt": q.created_at,
        "createdBy": q.created_by,
    })
}

#[cfg(test)]
mod tests;
