//! Shared state of replicated gateways, on Redis: single-use ids (token and
//! proof `jti`s), rate-limit buckets and open streams per caller, so that a
//! token used at one replica is refused at every other, and a limit holds
//! over all of them.
//!
//! Every operation is one round trip; a call's single-use id and its rate
//! limits go together in one ([`SharedState::step`]). Failures are reported, never
//! papered over: the caller decides to fail closed (the default everywhere
//! in Warden). The connection is re-established by itself: a gateway that
//! starts while Redis is down, or loses it, serves again once Redis is
//! back, without a restart.

use std::sync::Arc;
use std::time::Duration;

use redis::aio::{ConnectionManager, ConnectionManagerConfig};
use tokio::sync::RwLock;

mod gcra;
mod replay;
mod step;
mod streams;
#[cfg(test)]
mod tests;

pub use gcra::GcraReply;
pub use step::{Bucket, StepOutcome};

/// Why shared state could not be read or written.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SharedError {
    /// Not connected (yet, or any more), or the server did not answer in
    /// time.
    #[error("shared state (Redis) unavailable: {0}")]
    Unavailable(String),
    /// The server answered something Warden did not ask for.
    #[error("shared state (Redis) answered unexpectedly: {0}")]
    Protocol(String),
    /// The configured URL cannot be used.
    #[error("invalid Redis URL: {0}")]
    InvalidUrl(String),
}

/// How to reach Redis.
#[derive(Debug, Clone)]
pub struct SharedConfig {
    /// `redis://host:port/db` (with `user:password@` when needed).
    pub url: String,
    /// Put before every key, so that several deployments can share one
    /// server.
    pub key_prefix: String,
    /// Longest wait for one answer (and for a connection).
    pub timeout: Duration,
}

/// A handle to the shared state; cheap to clone.
#[derive(Clone)]
pub struct SharedState {
    inner: Arc<Inner>,
}

struct Inner {
    client: redis::Client,
    prefix: String,
    timeout: Duration,
    /// `None` until the first connection succeeds; after that the manager
    /// reconnects by itself.
    conn: RwLock<Option<ConnectionManager>>,
}

impl std::fmt::Debug for SharedState {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SharedState")
            .field("prefix", &self.inner.prefix)
            .finish_non_exhaustive()
    }
}

impl SharedState {
    /// Prepares the connection. Connects at once when Redis answers;
    /// otherwise keeps trying in the background (every operation fails with
    /// [`SharedError::Unavailable`] until then). Needs a Tokio runtime.
    pub async fn open(config: SharedConfig) -> Result<Self, SharedError> {
        // The error names the problem, not the URL (which may hold a password).
        let client = redis::Client::open(config.url.as_str()).map_err(|e| {
            SharedError::InvalidUrl(format!(
                "{:?}: expected redis://[user:password@]host[:port][/db]",
                e.kind()
            ))
        })?;
        let state = Self {
            inner: Arc::new(Inner {
                client,
                prefix: config.key_prefix,
                timeout: config.timeout,
                conn: RwLock::new(None),
            }),
        };
        if let Err(e) = state.connect().await {
            tracing::error!(error = %e, "Redis is not reachable: calls that need shared state are refused until it is");
            let retry = state.clone();
            tokio::spawn(async move {
                let mut tick = tokio::time::interval(Duration::from_secs(1));
                loop {
                    tick.tick().await;
                    if retry.connect().await.is_ok() {
                        tracing::info!("Redis is reachable again");
                        return;
                    }
                }
            });
        }
        Ok(state)
    }

    async fn connect(&self) -> Result<(), SharedError> {
        let config = ConnectionManagerConfig::new()
            .set_connection_timeout(Some(self.inner.timeout))
            .set_response_timeout(Some(self.inner.timeout))
            // Short retries: a request waits at most about one timeout.
            .set_number_of_retries(1);
        let manager = ConnectionManager::new_with_config(self.inner.client.clone(), config)
            .await
            .map_err(unavailable)?;
        *self.inner.conn.write().await = Some(manager);
        Ok(())
    }

    /// The connection, when there is one.
    async fn conn(&self) -> Result<ConnectionManager, SharedError> {
        self.inner
            .conn
            .read()
            .await
            .clone()
            .ok_or_else(|| SharedError::Unavailable("not connected".into()))
    }

    /// `prefix` + `kind` + `:` + `id`.
    fn key(&self, kind: &str, id: &str) -> String {
        format!("{}{kind}:{id}", self.inner.prefix)
    }

    /// Whether Redis answers a PING now (for readiness).
    pub async fn ping(&self) -> Result<(), SharedError> {
        let mut conn = self.conn().await?;
        let _: String = redis::cmd("PING")
            .query_async(&mut conn)
            .await
            .map_err(unavailable)?;
        Ok(())
    }
}

fn unavailable(e: redis::RedisError) -> SharedError {
    SharedError::Unavailable(e.to_string())
}
