//! The grants and quarantine list in memory, reloaded whenever the store's
//! authorisation generation moves (any change by the admin API, the CLI or
//! another gateway bumps it in the same transaction as the change).

use std::collections::{HashMap, HashSet};

use warden_policy::{Grant, OpClass};
use warden_store::{GrantRecord, Store, StoreError};

/// One consistent view of grants and quarantine.
#[derive(Debug, Default)]
pub struct Snapshot {
    pub generation: i64,
    /// Unrevoked grants by (caller, target); time windows are checked per
    /// decision, so a grant starts and ends on time without a reload.
    grants: HashMap<(String, String), Vec<Grant>>,
    quarantined: HashSet<String>,
}

impl Snapshot {
    /// Reads everything at `generation`.
    pub async fn load(store: &Store, generation: i64) -> Result<Self, StoreError> {
        let mut grants: HashMap<(String, String), Vec<Grant>> = HashMap::new();
        for r in store.list_grants(None, None, false).await? {
            grants
                .entry((r.caller.clone(), r.target.clone()))
                .or_default()
                .push(grant_of(r));
        }
        let quarantined = store
            .quarantined()
            .await?
            .into_iter()
            .map(|q| q.agent)
            .collect();
        Ok(Self {
            generation,
            grants,
            quarantined,
        })
    }

    pub fn grants(&self, caller: &str, target: &str) -> &[Grant] {
        self.grants
            .get(&(caller.to_string(), target.to_string()))
            .map_or(&[], Vec::as_slice)
    }

    pub fn is_quarantined(&self, name: &str) -> bool {
        self.quarantined.contains(name)
    }

    pub fn quarantined(&self) -> &HashSet<String> {
        &self.quarantined
    }
}

/// A stored grant as decisions see it (operation names the store holds but
/// this version does not know are ignored: they allow nothing).
pub fn grant_of(r: GrantRecord) -> Grant {
    Grant {
        operations: r
            .operations
            .iter()
            .filter_map(|o| OpClass::parse(o))
            .collect(),
        id: r.id,
        caller: r.caller,
        target: r.target,
        skills: r.skills,
        tasks_of: r.tasks_of,
        not_before: r.not_before.and_then(|t| u64::try_from(t).ok()),
        not_after: r.not_after.map(|t| u64::try_from(t).unwrap_or(0)),
    }
}
