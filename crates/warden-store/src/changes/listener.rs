//! Following a PostgreSQL database's change announcements.
//!
//! Two tasks keep one counter: the first listens on [`CHANNEL`] and takes
//! each announced generation as it comes (within a round trip of the
//! commit); the second re-reads the generation every [`REREAD`], the safety
//! net for a notification lost while the listening connection was down, or
//! a connection that died without an error. The listener reconnects by
//! itself, backing off while the server is away, and re-reads the
//! generation whenever it (re)connects; a re-read that finds the server
//! answering again while nobody listens cuts the back-off short, so the
//! notifications resume within a re-read of the server's return. Both
//! tasks end when the store's last handle is dropped.

use std::sync::Arc;
use std::sync::atomic::{AtomicI32, AtomicI64, Ordering};
use std::time::Duration;

use sqlx::PgPool;
use sqlx::postgres::{PgListener, PgNotification, PgPoolOptions};
use tokio::sync::Notify;
use tokio::task::JoinHandle;

use crate::StoreError;

/// The channel every Warden on a database notifies. A notification reaches
/// every listener of the database, so its payload names the schema it is
/// about: `<schema> <generation>`.
pub(crate) const CHANNEL: &str = "warden_changes";

/// How often the generation is re-read whatever the notifications say.
pub(crate) const REREAD: Duration = Duration::from_secs(2);

/// The first and the longest pause between attempts to reconnect.
const BACKOFF: (Duration, Duration) = (Duration::from_millis(250), Duration::from_secs(10));

/// The longest wait for the listening connection in one attempt.
const CONNECT_TIMEOUT: Duration = Duration::from_secs(2);

/// The listener's connection shows as this in `pg_stat_activity`.
pub(crate) const APPLICATION_NAME: &str = "warden-changes";

/// The running tasks, stopped when dropped.
#[derive(Debug)]
pub(crate) struct Tasks {
    handles: Vec<JoinHandle<()>>,
    /// The server process of the listening connection (0 while there is
    /// none): readiness reports it, tests kill it to check that the
    /// listener reconnects.
    pid: Arc<AtomicI32>,
}

impl Tasks {
    pub(crate) fn listener_pid(&self) -> i32 {
        self.pid.load(Ordering::Acquire)
    }
}

impl Drop for Tasks {
    fn drop(&mut self) {
        for t in &self.handles {
            t.abort();
        }
    }
}

/// Starts following the changes of the schema `pool` works in.
pub(crate) async fn start(pool: PgPool, counter: Arc<AtomicI64>) -> Result<Tasks, StoreError> {
    let schema: Option<String> = sqlx::query_scalar("SELECT current_schema()")
        .fetch_one(&pool)
        .await?;
    let schema = schema.unwrap_or_default();
    // A pool of its own, holding one connection for as long as it lives,
    // so listening takes nothing from the connections queries use.
    let options = pool
        .connect_options()
        .as_ref()
        .clone()
        .application_name(APPLICATION_NAME);
    let listen_pool = PgPoolOptions::new()
        .max_connections(1)
        .max_lifetime(None)
        .idle_timeout(None)
        // A short wait for the connection: while the server is away, the
        // retries are this module's (which a re-read cuts short once it
        // answers), not the pool's, whose pauses grow to a fifth of this.
        .acquire_timeout(CONNECT_TIMEOUT)
        .connect_lazy_with(options);
    let pid = Arc::new(AtomicI32::new(0));
    let nudge = Arc::new(Notify::new());
    let listen = tokio::spawn(follow(
        listen_pool,
        pool.clone(),
        schema,
        counter.clone(),
        (pid.clone(), nudge.clone()),
    ));
    let listening = pid.clone();
    let reread = tokio::spawn(async move {
        let mut tick = tokio::time::interval(REREAD);
        tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            tick.tick().await;
            // The server answers but nobody listens: the listener is
            // backing off after an outage; try now.
            if refresh(&pool, &counter).await && listening.load(Ordering::Acquire) == 0 {
                nudge.notify_one();
            }
        }
    });
    Ok(Tasks {
        handles: vec![listen, reread],
        pid,
    })
}

/// Listens for notifications, reconnecting for as long as the store lives.
async fn follow(
    listen_pool: PgPool,
    pool: PgPool,
    schema: String,
    counter: Arc<AtomicI64>,
    (pid, nudge): (Arc<AtomicI32>, Arc<Notify>),
) {
    let mut pause = BACKOFF.0;
    loop {
        match subscribe(&listen_pool).await {
            Ok((mut listener, backend)) => {
                pid.store(backend, Ordering::Release);
                tracing::debug!(pid = backend, "listening for the store's changes");
                pause = BACKOFF.0;
                // Whatever was announced while no one listened.
                let _ = refresh(&pool, &counter).await;
                loop {
                    match listener.try_recv().await {
                        Ok(Some(n)) => take(&n, &schema, &counter),
                        Ok(None) => {
                            tracing::warn!("lost the store's change notifications; reconnecting");
                            break;
                        }
                        Err(e) => {
                            tracing::warn!(error = %e, "lost the store's change notifications; reconnecting");
                            break;
                        }
                    }
                }
                pid.store(0, Ordering::Release);
            }
            Err(e) => {
                tracing::warn!(error = %e, retry_in = ?pause, "cannot listen for the store's change notifications");
            }
        }
        // Until the pause is over, or the re-read found the server back.
        let _ = tokio::time::timeout(pause, nudge.notified()).await;
        pause = (pause * 2).min(BACKOFF.1);
    }
}

/// A listening connection, and its server process id.
async fn subscribe(listen_pool: &PgPool) -> Result<(PgListener, i32), sqlx::Error> {
    let mut listener = PgListener::connect_with(listen_pool).await?;
    // Reconnecting is this module's loop, which re-reads what was missed.
    listener.eager_reconnect(false);
    listener.listen(CHANNEL).await?;
    let pid = sqlx::query_scalar("SELECT pg_backend_pid()")
        .fetch_one(&mut listener)
        .await?;
    Ok((listener, pid))
}

/// Takes the generation a notification about `schema` announces.
fn take(n: &PgNotification, schema: &str, counter: &AtomicI64) {
    let Some((about, generation)) = n.payload().rsplit_once(' ') else {
        return;
    };
    if about != schema {
        return;
    }
    match generation.parse::<i64>() {
        Ok(g) => {
            counter.fetch_max(g, Ordering::AcqRel);
        }
        Err(_) => tracing::debug!(
            payload = n.payload(),
            "ignored a malformed change notification"
        ),
    }
}

/// Reads the generation from the database; false when it did not answer.
/// A failure keeps the last value: the next re-read tries again.
async fn refresh(pool: &PgPool, counter: &AtomicI64) -> bool {
    match sqlx::query_scalar::<_, i64>(crate::generation::READ)
        .fetch_optional(pool)
        .await
    {
        Ok(g) => {
            counter.fetch_max(g.unwrap_or(0), Ordering::AcqRel);
            true
        }
        Err(e) => {
            tracing::debug!(error = %e, "could not re-read the authorisation generation");
            false
        }
    }
}
