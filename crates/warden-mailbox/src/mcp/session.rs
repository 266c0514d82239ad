//! Sessions of the handshake revisions (2025-06-18, 2025-11-25): an id
//! minted at `initialize`, bound to the principal that opened it and to the
//! negotiated revision, ended by `DELETE` or by idling past its lifetime.
//!
//! The table is bounded twice: per owner (a client that never sends
//! `DELETE` replaces its own oldest session instead of filling the table)
//! and in total (full after dropping the expired: a new session is refused,
//! never an unexpired one of another caller forgotten). Time is given by
//! the caller (milliseconds since the epoch) so tests drive it.

use std::collections::HashMap;
use std::sync::Mutex;

use aws_lc_rs::rand::{SecureRandom, SystemRandom};

/// How many sessions the table holds and how long an idle one lives.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SessionLimits {
    pub max_sessions: usize,
    pub max_per_owner: usize,
    pub idle_ms: u64,
}

impl Default for SessionLimits {
    fn default() -> Self {
        Self {
            max_sessions: 10_000,
            max_per_owner: 16,
            idle_ms: 30 * 60 * 1000,
        }
    }
}

/// A live session, as a request sees it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Session {
    pub id: String,
    pub version: &'static str,
}

/// Why a session id does not let a request in.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SessionRefusal {
    /// Never minted, ended, or expired.
    Unknown,
    /// Minted for another principal (answered as `Unknown`, audited apart).
    NotYours,
}

/// Why no session could be opened.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum OpenRefusal {
    /// The table is full of live sessions.
    Full,
    /// The system random source failed.
    Random,
}

struct Entry {
    owner: String,
    version: &'static str,
    opened_ms: u64,
    last_ms: u64,
}

/// The session table.
pub struct Sessions {
    limits: SessionLimits,
    map: Mutex<HashMap<String, Entry>>,
    random: SystemRandom,
}

/// Session ids: `mcps_` and 32 lowercase hex digits (128 random bits), all
/// visible ASCII as the transport requires.
const PREFIX: &str = "mcps_";

impl Sessions {
    pub fn new(limits: SessionLimits) -> Self {
        Self {
            limits,
            map: Mutex::new(HashMap::new()),
            random: SystemRandom::new(),
        }
    }

    /// Opens a session for `owner` speaking `version`.
    pub fn open(
        &self,
        owner: &str,
        version: &'static str,
        now_ms: u64,
    ) -> Result<Session, OpenRefusal> {
        let mut bytes = [0u8; 16];
        self.random
            .fill(&mut bytes)
            .map_err(|_| OpenRefusal::Random)?;
        let id = format!("{PREFIX}{}", hex(&bytes));
        let mut map = self.lock();
        let idle = self.limits.idle_ms;
        map.retain(|_, e| now_ms.saturating_sub(e.last_ms) < idle);
        let mut own: Vec<(u64, String)> = map
            .iter()
            .filter(|(_, e)| e.owner == owner)
            .map(|(k, e)| (e.opened_ms, k.clone()))
            .collect();
        if own.len() >= self.limits.max_per_owner {
            own.sort();
            let excess = own.len() + 1 - self.limits.max_per_owner;
            for (_, k) in own.into_iter().take(excess) {
                map.remove(&k);
            }
        }
        if map.len() >= self.limits.max_sessions {
            return Err(OpenRefusal::Full);
        }
        map.insert(
            id.clone(),
            Entry {
                owner: owner.to_string(),
                version,
                opened_ms: now_ms,
                last_ms: now_ms,
            },
        );
        Ok(Session { id, version })
    }

    /// The session `id` names, if it is live and `owner`'s; a use keeps it
    /// alive.
    pub fn resume(&self, id: &str, owner: &str, now_ms: u64) -> Result<Session, SessionRefusal> {
        let mut map = self.lock();
        let Some(e) = map.get_mut(id) else {
            return Err(SessionRefusal::Unknown);
        };
        if now_ms.saturating_sub(e.last_ms) >= self.limits.idle_ms {
            map.remove(id);
            return Err(SessionRefusal::Unknown);
        }
        if e.owner != owner {
            return Err(SessionRefusal::NotYours);
        }
        e.last_ms = now_ms;
        Ok(Session {
            id: id.to_string(),
            version: e.version,
        })
    }

    /// Ends `owner`'s session `id`.
    pub fn end(&self, id: &str, owner: &str, now_ms: u64) -> Result<(), SessionRefusal> {
        self.resume(id, owner, now_ms)?;
        self.lock().remove(id);
        Ok(())
    }

    /// Live and expired-but-not-yet-dropped sessions.
    pub fn len(&self) -> usize {
        self.lock().len()
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<String, Entry>> {
        // A panic while holding the lock cannot leave an entry half-written
        // (every mutation is one map call), so a poisoned table is usable.
        self.map
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }
}

fn hex(bytes: &[u8]) -> String {
    const DIGITS: &[u8; 16] = b"0123456789abcdef";
    let mut s = String::with_capacity(bytes.len() * 2);
    for b in bytes {
        s.push(char::from(DIGITS[usize::from(b >> 4)]));
        s.push(char::from(DIGITS[usize::from(b & 0xf)]));
    }
    s
}
