//! The mailbox's read connections on a SQLite database file: inbox
//! listings run on a few connections of their own, outside the pool.
//!
//! A query through sqlx's pool is three round trips to the connection's
//! thread, not one: the pool pings a connection when it hands it out
//! (`test_before_acquire`) and again, from a task it spawns, when it takes
//! it back (always, to find connections left mid-query by a dropped
//! future). Each round trip wakes that thread and then the waiting task;
//! on the 2-core machine the wake-ups cost more than a listing's query
//! (issue 16's bench: ~40 % of a listing's CPU in the kernel, switching
//! threads). Here a connection is leased for one query and put back
//! without a ping. A lease dropped before it was finished (its future
//! dropped mid-query) closes its connection instead: the next lease opens
//! a fresh one, so no connection is reused in an unknown state.
//!
//! What a listing sees does not change: each query is its own read
//! transaction on the same file, as a pool connection's is.

use std::sync::{Arc, Mutex};

use sqlx::sqlite::SqliteConnection;
use sqlx::{ConnectOptions as _, SqlitePool};
use tokio::sync::{OwnedSemaphorePermit, Semaphore};

/// How many listings run at once on the mailbox's own connections.
const READERS: usize = 2;

/// The read connections of a store handle (and its clones).
#[derive(Debug, Clone)]
pub(crate) struct Readers(Arc<Inner>);

#[derive(Debug)]
struct Inner {
    idle: Mutex<Vec<SqliteConnection>>,
    permits: Arc<Semaphore>,
}

impl Default for Readers {
    fn default() -> Self {
        Self(Arc::new(Inner {
            idle: Mutex::new(Vec::with_capacity(READERS)),
            permits: Arc::new(Semaphore::new(READERS)),
        }))
    }
}

/// A connection leased for one query; [`Lease::done`] puts it back.
pub(crate) struct Lease {
    conn: Option<SqliteConnection>,
    readers: Arc<Inner>,
    _permit: OwnedSemaphorePermit,
}

impl Readers {
    /// A connection of its own to the pool's database file; None when the
    /// database is in memory (another connection would be another
    /// database: use the pool).
    pub(crate) async fn lease(&self, pool: &SqlitePool) -> Result<Option<Lease>, sqlx::Error> {
        let options = pool.connect_options();
        let file = options.get_filename().to_string_lossy();
        if file == ":memory:" || file.starts_with("file:sqlx-in-memory") {
            return Ok(None);
        }
        let permit = Arc::clone(&self.0.permits)
            .acquire_owned()
            .await
            .map_err(|_| sqlx::Error::PoolClosed)?;
        let idle = self.0.idle.lock().map_or(None, |mut idle| idle.pop());
        let conn = match idle {
            Some(c) => c,
            None => options.connect().await?,
        };
        Ok(Some(Lease {
            conn: Some(conn),
            readers: Arc::clone(&self.0),
            _permit: permit,
        }))
    }
}

impl Lease {
    /// The leased connection.
    pub(crate) fn conn(&mut self) -> &mut SqliteConnection {
        // Present until `done` consumes the lease.
        self.conn.as_mut().expect("a lease holds its connection")
    }

    /// The query finished: the connection goes back for the next lease.
    pub(crate) fn done(mut self) {
        if let (Some(c), Ok(mut idle)) = (self.conn.take(), self.readers.idle.lock()) {
            idle.push(c);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::backend::Db;
    use crate::testing::TestDb;
    use crate::{MailFilter, MailGrant, MailMessage, NewMail, SendCheck};

    fn pool(s: &crate::Store) -> &SqlitePool {
        match &s.db {
            Db::Sqlite(p) => p,
            Db::Postgres(_) => panic!("a SQLite store"),
        }
    }

    fn mail(i: u32, recipient: &str) -> NewMail {
        NewMail {
            message: MailMessage {
                id: format!("msg_{i:032x}"),
                sender: "alice".into(),
                recipient: recipient.into(),
                kind: "message".into(),
                topic: None,
                thread: format!("msg_{i:032x}"),
                reply_to: None,
                body: r#"[{"text":"hi"}]"#.into(),
                sealed: false,
                size: 15,
                signature: "h..s".into(),
                created: "2027-01-15T08:00:00.000Z".into(),
                created_ms: i64::from(i),
                read_ms: None,
                acked_ms: None,
            },
            check: SendCheck::Grant,
            key: None,
            now_ms: 1,
            max_messages: 100,
            max_bytes: 100_000,
        }
    }

    #[tokio::test]
    async fn listings_on_a_file_see_every_commit_of_this_and_other_handles() {
        let db = TestDb::sqlite().await;
        let s = db.open().await;
        let other = db.open().await;
        let g = MailGrant {
            recipient: "bob".into(),
            sender: "alice".into(),
            topics: vec![],
            request_id: None,
            created_ms: 0,
            expires_ms: i64::MAX,
            revoked_ms: None,
        };
        s.mail_grant_put(&g, 1).await.expect("grant");
        let f = MailFilter {
            recipient: "bob".into(),
            limit: 50,
            ..MailFilter::default()
        };
        for i in 1..=6u32 {
            // Sends through either handle's writer, listed by the first.
            let sender = if i % 2 == 0 { &other } else { &s };
            sender.mail_send(&mail(i, "bob")).await.expect("send");
            let page = s.mail_inbox(&f).await.expect("list");
            assert_eq!(page.messages.len(), i as usize, "after send {i}");
            assert_eq!(
                page.messages.last().map(|m| m.created_ms),
                Some(i64::from(i))
            );
        }
        // Listed on the store's own connections, at most READERS of them.
        let idle = s.mail_reads.0.idle.lock().expect("lock").len();
        assert!(
            (1..=READERS).contains(&idle),
            "{idle} idle read connections"
        );
    }

    #[tokio::test]
    async fn a_lease_dropped_unfinished_is_not_reused() {
        let db = TestDb::sqlite().await;
        let s = db.open().await;
        let readers = Readers::default();
        let mut a = readers
            .lease(pool(&s))
            .await
            .expect("lease")
            .expect("a file: connections of its own");
        // Left mid-transaction, as a future dropped mid-query may leave it.
        sqlx::query("BEGIN").execute(a.conn()).await.expect("begin");
        drop(a);
        assert_eq!(readers.0.idle.lock().expect("lock").len(), 0);
        let mut b = readers.lease(pool(&s)).await.expect("lease").expect("own");
        // A reused connection would refuse: a transaction within a transaction.
        sqlx::query("BEGIN")
            .execute(b.conn())
            .await
            .expect("a fresh connection");
        sqlx::query("ROLLBACK")
            .execute(b.conn())
            .await
            .expect("rollback");
        b.done();
        assert_eq!(readers.0.idle.lock().expect("lock").len(), 1);
        // In memory, the pool (another connection would be another database).
        let m = crate::Store::open_in_memory().await.expect("memory");
        assert!(readers.lease(pool(&m)).await.expect("lease").is_none());
    }
}
