//! The owner book: who owns which task and context, served from memory in
//! front of the store, so that a call waits neither on SQLite's write lock
//! nor, for what this gateway has seen recently, on a read.
//!
//! - A record this gateway makes is held in `pending` and queued for the
//!   one writer task (`writer.rs`), which commits it in a batch; the answer
//!   that names the task is relayed without waiting for the commit. Once
//!   committed it moves to the bounded `cache` (least recently used out).
//! - A lookup checks `pending`, then the `cache`, then the store (a read,
//!   kept in the cache when it finds an owner).
//! - Fails closed: a task whose record was lost (the gateway died between
//!   relaying an answer and committing its owner) has no owner after a
//!   restart, and a task without an owner is refused to every caller. A
//!   full queue refuses the answer rather than relaying an unrecorded task.
//! - While the store is known to be unreachable ([`StoreHealth`]), what
//!   memory cannot answer is refused at once instead of waiting seconds for
//!   a connection: a lookup of an owner not held, and a new record (its
//!   answer is withheld, so no task is relayed whose owner cannot be
//!   written). Owners held in memory are still enforced.
//! - The first owner wins: the store never overwrites an owner, and the
//!   writer puts the owner on record (not the one queued) into the cache.
//!   Until that commit (milliseconds), an id an agent hands out again to a
//!   second caller, when its first owner is no longer in memory, is held
//!   for the second caller: only a misbehaving agent does that, and such an
//!   agent could hand out the task's contents anyway.

use std::sync::{Arc, Mutex};

use hashlink::LruCache;
use tokio::sync::{Notify, mpsc};
use warden_store::{OwnershipWrite, Store, StoreError, TaskOwner};

use crate::store_health::{Need, StoreHealth};

/// Why an owner could not be looked up or recorded.
#[derive(Debug, thiserror::Error)]
pub enum BookError {
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error("the ownership writer is behind (queue full)")]
    QueueFull,
    /// Not asked: the store is known to be unreachable.
    #[error("the store is unreachable")]
    StoreDown,
}

/// A task or a context at one agent (two namespaces: tasks and contexts
/// are kept apart by the `kind` byte).
fn key(kind: u8, agent: &str, id: &str) -> String {
    let mut k = String::with_capacity(agent.len() + id.len() + 2);
    k.push(kind as char);
    k.push_str(agent);
    // A NUL cannot occur in an agent name (config-validated), so
    // `agent\0id` is unambiguous.
    k.push('\0');
    k.push_str(id);
    k
}
const TASK: u8 = b't';
const CONTEXT: u8 = b'c';

/// An owner as the book holds it.
#[derive(Debug, Clone)]
struct Entry {
    owner: Arc<str>,
    /// For tasks: the context it was created in.
    context_id: Option<Arc<str>>,
}

struct Maps {
    pending: std::collections::HashMap<String, Entry>,
    cache: LruCache<String, Entry>,
    /// Records queued so far, and committed so far (the writer commits in
    /// queue order, so "committed ≥ n" means the first n are).
    queued: u64,
    done: u64,
}

pub struct OwnerBook {
    store: Store,
    health: Arc<StoreHealth>,
    maps: Mutex<Maps>,
    queue: mpsc::Sender<OwnershipWrite>,
    /// Woken whenever the writer has committed a batch (for `flush`).
    progress: Notify,
}

impl std::fmt::Debug for OwnerBook {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("OwnerBook").finish_non_exhaustive()
    }
}

impl OwnerBook {
    /// A book holding up to `cache_entries` committed owners, with a queue
    /// of `queue` records for its writer; the writer task is started.
    pub fn start(
        store: Store,
        health: Arc<StoreHealth>,
        cache_entries: usize,
        queue: usize,
    ) -> Arc<Self> {
        let (book, rx) = Self::unstarted(store, health, cache_entries, queue);
        super::writer::spawn(Arc::clone(&book), rx);
        book
    }

    /// A book whose writer is not running (its queue's receiver returned).
    fn unstarted(
        store: Store,
        health: Arc<StoreHealth>,
        cache_entries: usize,
        queue: usize,
    ) -> (Arc<Self>, mpsc::Receiver<OwnershipWrite>) {
        let (tx, rx) = mpsc::channel(queue.max(1));
        let book = Arc::new(Self {
            store,
            health,
            maps: Mutex::new(Maps {
                pending: Default::default(),
                cache: LruCache::new(cache_entries.max(1)),
                queued: 0,
                done: 0,
            }),
            queue: tx,
            progress: Notify::new(),
        });
        (book, rx)
    }

    pub(super) fn store(&self) -> &Store {
        &self.store
    }

    pub(super) fn health(&self) -> &StoreHealth {
        &self.health
    }

    /// Whether the store may be asked now (it is not known to be down).
    pub fn store_reachable(&self) -> bool {
        self.health.reachable()
    }

    /// `ask`s the store, unless it is known to be unreachable (refused at
    /// once, counted as `need`); a failure to reach it starts an outage.
    async fn ask<T>(
        &self,
        need: Need,
        ask: impl std::future::Future<Output = Result<T, StoreError>>,
    ) -> Result<T, BookError> {
        if !self.health.reachable() {
            self.health.refused(need);
            return Err(BookError::StoreDown);
        }
        ask.await.map_err(|e| {
            self.health.failed(&e);
            BookError::Store(e)
        })
    }

    fn with_maps<T>(&self, f: impl FnOnce(&mut Maps) -> T) -> T {
        let mut m = self.maps.lock().unwrap_or_else(|p| p.into_inner());
        f(&mut m)
    }

    /// The entry held in memory for `k`, if any.
    fn held(&self, k: &str) -> Option<Entry> {
        self.with_maps(|m| {
            if let Some(e) = m.pending.get(k) {
                return Some(e.clone());
            }
            m.cache.get(k).cloned()
        })
    }

    fn remember(&self, k: String, e: Entry) {
        self.with_maps(|m| {
            m.cache.insert(k, e);
        });
    }

    /// The owner of a task, if one is on record (or queued).
    pub async fn task_owner(
        &self,
        agent: &str,
        task: &str,
    ) -> Result<Option<TaskOwner>, BookError> {
        let k = key(TASK, agent, task);
        if let Some(e) = self.held(&k) {
            return Ok(Some(TaskOwner {
                owner: e.owner.to_string(),
                context_id: e.context_id.map(|c| c.to_string()),
            }));
        }
        let found = self
            .ask(Need::OwnerLookup, self.store.task_owner(agent, task))
            .await?;
        if let Some(t) = &found {
            self.remember(
                k,
                Entry {
                    owner: t.owner.as_str().into(),
                    context_id: t.context_id.as_deref().map(Into::into),
                },
            );
        }
        Ok(found)
    }

    /// The owner of a context, if one is on record (or queued).
    pub async fn context_owner(&self, agent: &str, ctx: &str) -> Result<Option<String>, BookError> {
        let k = key(CONTEXT, agent, ctx);
        if let Some(e) = self.held(&k) {
            return Ok(Some(e.owner.to_string()));
        }
        let found = self
            .ask(Need::OwnerLookup, self.store.context_owner(agent, ctx))
            .await?;
        if let Some(o) = &found {
            self.remember(
                k,
                Entry {
                    owner: o.as_str().into(),
                    context_id: None,
                },
            );
        }
        Ok(found)
    }

    /// Claims a context before a call goes out: the owner on record when
    /// there is one (the store is asked when memory does not know), else
    /// `owner`, queued. Two callers racing for a new context: the first
    /// to reach the book wins, the other gets the winner back.
    pub async fn claim_context(
        &self,
        agent: &str,
        ctx: &str,
        owner: &str,
    ) -> Result<String, BookError> {
        if let Some(on_record) = self.context_owner(agent, ctx).await? {
            return Ok(on_record);
        }
        self.queue_unless_held(CONTEXT, agent, None, Some(ctx), owner)
    }

    /// Records what an answer names, without asking the store: a task id or
    /// context id the agent just handed out is new in nearly every case,
    /// and when it is not, the writer finds the earlier owner on record and
    /// keeps it (the book follows the store). Returns the owner in force.
    pub fn record(
        &self,
        agent: &str,
        task: Option<&str>,
        ctx: Option<&str>,
        owner: &str,
    ) -> Result<(), BookError> {
        if let Some(task) = task {
            let on_record = self.queue_unless_held(TASK, agent, Some(task), ctx, owner)?;
            if on_record != owner {
                // An agent reusing a task id for another caller: the first
                // owner keeps it. Debug level: an agent that reuses ids
                // would otherwise log once per call.
                tracing::debug!(agent, task, "task id already owned by another caller");
            }
        }
        if let Some(ctx) = ctx {
            // While the store is down, a held task's own context needs no
            // record of its own (it was recorded with the task): a stream
            // on a known task is not cut for it.
            let with_task = task
                .and_then(|t| self.held(&key(TASK, agent, t)))
                .is_some_and(|e| e.context_id.as_deref() == Some(ctx));
            if with_task && !self.health.reachable() {
                return Ok(());
            }
            self.queue_unless_held(CONTEXT, agent, None, Some(ctx), owner)?;
        }
        Ok(())
    }

    /// The owner held for the task (or context) when there is one; else
    /// `owner`, put in `pending` and queued for the writer.
    fn queue_unless_held(
        &self,
        kind: u8,
        agent: &str,
        task: Option<&str>,
        ctx: Option<&str>,
        owner: &str,
    ) -> Result<String, BookError> {
        let id = if kind == TASK { task } else { ctx }.unwrap_or_default();
        let k = key(kind, agent, id);
        self.with_maps(|m| {
            if let Some(e) = m.pending.get(&k) {
                return Ok(e.owner.to_string());
            }
            if let Some(e) = m.cache.get(&k) {
                return Ok(e.owner.to_string());
            }
            // A record the store cannot take now is not made: the caller
            // withholds what needed it.
            if !self.health.reachable() {
                self.health.refused(Need::OwnerWrite);
                return Err(BookError::StoreDown);
            }
            let write = OwnershipWrite {
                agent: agent.to_string(),
                task_id: task.map(str::to_owned),
                context_id: ctx.map(str::to_owned),
                owner: owner.to_string(),
            };
            // Queued under the lock, so `pending` and the queue agree.
            self.queue
                .try_send(write)
                .map_err(|_| BookError::QueueFull)?;
            m.queued += 1;
            m.pending.insert(
                k,
                Entry {
                    owner: owner.into(),
                    context_id: ctx.map(Into::into),
                },
            );
            Ok(owner.to_string())
        })
    }

    /// After the writer committed `batch`: each record leaves `pending` for
    /// the cache, holding the owner the store has on record.
    pub(super) fn committed(&self, batch: &[OwnershipWrite], on_record: &[String]) {
        self.with_maps(|m| {
            for (w, owner) in batch.iter().zip(on_record) {
                let k = match (&w.task_id, &w.context_id) {
                    (Some(t), _) => key(TASK, &w.agent, t),
                    (None, Some(c)) => key(CONTEXT, &w.agent, c),
                    (None, None) => continue,
                };
                let Some(mut e) = m.pending.remove(&k) else {
                    continue;
                };
                if *e.owner != **owner {
                    e.owner = owner.as_str().into();
                }
                m.cache.insert(k, e);
            }
            m.done += batch.len() as u64;
        });
        self.progress.notify_waiters();
    }

    /// Records queued and not yet committed.
    pub fn pending(&self) -> usize {
        self.with_maps(|m| m.pending.len())
    }

    /// Waits until every record queued before this call is committed
    /// (ListTasks counts from the store; tests and shutdown).
    pub async fn flush(&self) {
        let target = self.with_maps(|m| m.queued);
        loop {
            let wait = self.progress.notified();
            if self.with_maps(|m| m.done) >= target {
                return;
            }
            wait.await;
        }
    }

    /// Forgets what memory holds (after retention pruned the store, so an
    /// owner the store forgot is not kept alive here).
    pub fn forget_committed(&self) {
        self.with_maps(|m| m.cache.clear());
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    async fn store() -> Store {
        Store::open_in_memory().await.expect("store")
    }

    fn health() -> Arc<StoreHealth> {
        Arc::new(StoreHealth::new(
            std::time::Duration::from_secs(30),
            &crate::metrics::Metrics::new(),
        ))
    }

    /// While the store is known to be down, memory still answers for what
    /// it holds; anything else is refused without asking the store, and no
    /// new record is made (its answer would name an unrecorded task).
    #[tokio::test]
    async fn while_the_store_is_down_only_memory_answers() {
        let s = store().await;
        s.record_task("echo", "old", None, "alice")
            .await
            .expect("seed");
        let health = health();
        let book = OwnerBook::start(s.clone(), health.clone(), 10, 10);
        book.record("echo", Some("t1"), Some("c1"), "alice")
            .expect("record");
        book.flush().await;
        health.unreachable("test: connection refused".into());
        assert!(!book.store_reachable());
        assert_eq!(
            owner_of(book.task_owner("echo", "t1").await.expect("held")),
            Some("alice".into())
        );
        let err = book.task_owner("echo", "old").await;
        assert!(matches!(err, Err(BookError::StoreDown)), "{err:?}");
        let err = book.record("echo", Some("t2"), None, "alice");
        assert!(matches!(err, Err(BookError::StoreDown)), "{err:?}");
        // What is already held needs no write: an answer naming it passes,
        // as does a task known with its context from the store (a stream
        // on it names both).
        book.record("echo", Some("t1"), Some("c1"), "alice")
            .expect("held already");
        health.confirmed(std::time::Instant::now());
        s.record_task("echo", "t9", Some("c9"), "alice")
            .await
            .expect("seed");
        book.task_owner("echo", "t9")
            .await
            .expect("read")
            .expect("t9");
        health.unreachable("test: connection refused".into());
        book.record("echo", Some("t9"), Some("c9"), "alice")
            .expect("the task's own context");
        let err = book.record("echo", Some("t9"), Some("other"), "alice");
        assert!(matches!(err, Err(BookError::StoreDown)), "{err:?}");
        let err = book.claim_context("echo", "new", "alice").await;
        assert!(matches!(err, Err(BookError::StoreDown)), "{err:?}");
        // Back: asked again, and records are made again.
        health.confirmed(std::time::Instant::now());
        assert_eq!(
            owner_of(book.task_owner("echo", "old").await.expect("read")),
            Some("alice".into())
        );
        book.record("echo", Some("t2"), None, "alice")
            .expect("record");
    }

    fn owner_of(t: Option<TaskOwner>) -> Option<String> {
        t.map(|t| t.owner)
    }

    #[tokio::test]
    async fn a_record_is_known_at_once_and_in_the_store_after_the_writer() {
        let s = store().await;
        let (book, rx) = OwnerBook::unstarted(s.clone(), health(), 10, 10);
        book.record("echo", Some("t1"), Some("c1"), "alice")
            .expect("record");
        // Before any commit: memory answers, the store does not know yet.
        assert_eq!(
            owner_of(book.task_owner("echo", "t1").await.expect("t1")),
            Some("alice".into())
        );
        assert_eq!(
            book.context_owner("echo", "c1").await.expect("c1"),
            Some("alice".into())
        );
        assert_eq!(s.task_owner("echo", "t1").await.expect("read"), None);
        assert_eq!(book.pending(), 2);
        super::super::writer::spawn(Arc::clone(&book), rx);
        book.flush().await;
        assert_eq!(book.pending(), 0);
        assert_eq!(
            owner_of(s.task_owner("echo", "t1").await.expect("read")),
            Some("alice".into())
        );
        assert_eq!(
            s.context_owner("echo", "c1").await.expect("read"),
            Some("alice".into())
        );
    }

    #[tokio::test]
    async fn the_owner_on_record_wins_over_a_later_record() {
        let s = store().await;
        // alice's task from before this gateway started (not in memory).
        s.record_task("echo", "t0", None, "alice")
            .await
            .expect("seed");
        let book = OwnerBook::start(s.clone(), health(), 10, 10);
        book.record("echo", Some("t0"), None, "bob")
            .expect("record");
        book.flush().await;
        assert_eq!(
            owner_of(book.task_owner("echo", "t0").await.expect("t0")),
            Some("alice".into()),
            "the book follows the store"
        );
    }

    #[tokio::test]
    async fn the_first_claim_of_a_context_wins() {
        let s = store().await;
        let book = OwnerBook::start(s.clone(), health(), 10, 10);
        let first = book.claim_context("echo", "c", "alice").await.expect("a");
        let second = book.claim_context("echo", "c", "bob").await.expect("b");
        assert_eq!((first.as_str(), second.as_str()), ("alice", "alice"));
        // A context claimed before the start is found in the store.
        s.claim_context("echo", "old", "carol").await.expect("seed");
        let got = book.claim_context("echo", "old", "bob").await.expect("old");
        assert_eq!(got, "carol");
    }

    #[tokio::test]
    async fn a_full_queue_refuses_instead_of_dropping_a_record() {
        let (book, _rx) = OwnerBook::unstarted(store().await, health(), 10, 1);
        book.record("echo", Some("t1"), None, "alice")
            .expect("fits");
        let err = book.record("echo", Some("t2"), None, "alice");
        assert!(matches!(err, Err(BookError::QueueFull)), "{err:?}");
        // The refused record is not held either: t2 stays unknown.
        assert_eq!(book.task_owner("echo", "t2").await.expect("t2"), None);
    }

    #[tokio::test]
    async fn the_cache_is_bounded_and_a_miss_reads_the_store() {
        let s = store().await;
        let book = OwnerBook::start(s.clone(), health(), 2, 10);
        for t in ["t1", "t2", "t3"] {
            book.record("echo", Some(t), None, "alice").expect("record");
        }
        book.flush().await;
        assert!(book.with_maps(|m| m.cache.len()) <= 2);
        // t1 was pushed out; the store still answers for it.
        assert_eq!(
            owner_of(book.task_owner("echo", "t1").await.expect("t1")),
            Some("alice".into())
        );
    }
}
