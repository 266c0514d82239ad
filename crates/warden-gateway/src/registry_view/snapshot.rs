//! One consistent view, in memory, of everything a request decision reads
//! from the registry: grants, quarantine, registered agents and API keys.
//! Loaded whole at one generation; never changed in place (a change loads a
//! new one).

use std::collections::{HashMap, HashSet};

use warden_policy::{Grant, OpClass};
use warden_store::{ApiKeyRecord, GrantRecord, Store, StoreError};

#[derive(Debug, Default)]
pub struct Snapshot {
    pub generation: i64,
    /// Unrevoked grants by caller, then target (nested so a lookup by
    /// `&str` allocates nothing); time windows are checked per decision, so
    /// a grant starts and ends on time without a reload.
    grants: HashMap<String, HashMap<String, Vec<Grant>>>,
    quarantined: HashSet<String>,
    /// Registered agent ids (an API key's subject must be one).
    agents: HashSet<String>,
    /// API keys by id, revoked and expired ones included (they are refused
    /// after the same hash comparison as a good one: timing tells nothing).
    api_keys: HashMap<String, ApiKeyRecord>,
}

impl Snapshot {
    /// Reads everything; `generation` was read before, so a change that
    /// lands meanwhile only makes this snapshot look older than it is.
    pub async fn load(store: &Store, generation: i64) -> Result<Self, StoreError> {
        let mut grants: HashMap<String, HashMap<String, Vec<Grant>>> = HashMap::new();
        for r in store.list_grants(None, None, false).await? {
            grants
                .entry(r.caller.clone())
                .or_default()
                .entry(r.target.clone())
                .or_default()
                .push(grant_of(r));
        }
        let quarantined = store
            .quarantined()
            .await?
            .into_iter()
            .map(|q| q.agent)
            .collect();
        let agents = store
            .list_agents()
            .await?
            .into_iter()
            .map(|a| a.id)
            .collect();
        let api_keys = store
            .list_api_keys(None)
            .await?
            .into_iter()
            .map(|k| (k.id.clone(), k))
            .collect();
        Ok(Self {
            generation,
            grants,
            quarantined,
            agents,
            api_keys,
        })
    }

    pub fn grants(&self, caller: &str, target: &str) -> &[Grant] {
        self.grants
            .get(caller)
            .and_then(|by_target| by_target.get(target))
            .map_or(&[], Vec::as_slice)
    }

    /// The skills `caller` is granted at `target` at `now`, sorted (`*` for
    /// all); None when no grant is in force.
    pub fn skills_granted(&self, caller: &str, target: &str, now: u64) -> Option<Vec<String>> {
        let mut skills: Vec<String> = Vec::new();
        let mut any = false;
        for g in self
            .grants(caller, target)
            .iter()
            .filter(|g| g.active_at(now))
        {
            any = true;
            skills.extend(g.skills.iter().cloned());
        }
        if !any {
            return None;
        }
        skills.sort();
        skills.dedup();
        Some(skills)
    }

    pub fn is_quarantined(&self, name: &str) -> bool {
        self.quarantined.contains(name)
    }

    pub fn quarantined(&self) -> &HashSet<String> {
        &self.quarantined
    }

    pub fn is_registered(&self, agent: &str) -> bool {
        self.agents.contains(agent)
    }

    pub fn api_key(&self, id: &str) -> Option<&ApiKeyRecord> {
        self.api_keys.get(id)
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
