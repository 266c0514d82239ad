//! The gateway's replay cache: a [`CompactReplayCache`] sized from `[auth]`
//! (`replay_rate`, or `replay_cache_entries`), allocated once at start.
//!
//! When it is full it refuses (the caller gets 503, as before) rather than
//! forget an id early, and it says so: every such refusal counts in
//! `warden_replay_cache_full_total`, and a warning is logged at most once
//! per [`WARN_EVERY_SECS`].

use std::sync::atomic::{AtomicU64, Ordering};

use prometheus_client::metrics::counter::Counter;
use warden_trust::{CompactReplayCache, ReplayCache, ReplayError};

use crate::config::{AuthSection, ReplaySource};

/// The shortest time between two "replay cache full" warnings.
pub const WARN_EVERY_SECS: u64 = 10;

/// The compact cache, counting and reporting its refusals for want of room.
#[derive(Debug)]
pub struct GatewayReplay {
    cache: CompactReplayCache,
    full: Counter,
    /// When the last warning was logged (Unix seconds; 0: never).
    warned_at: AtomicU64,
}

impl GatewayReplay {
    /// Sizes and allocates the cache, and logs its size. `full` counts the
    /// refusals for want of room.
    pub fn open(section: &AuthSection, full: Counter) -> Result<Self, ReplayError> {
        let sizing = section.replay_sizing();
        let cache = CompactReplayCache::new(sizing.capacity, sizing.horizon_secs)?;
        let mib = cache.memory_bytes() as f64 / f64::from(1 << 20);
        let capacity = cache.capacity();
        match sizing.source {
            ReplaySource::Entries => tracing::info!(
                "replay cache: room for {capacity} single-use ids ({mib:.1} MiB; auth.replay_cache_entries)"
            ),
            ReplaySource::Rate { hold_secs } => tracing::info!(
                "replay cache: room for {capacity} single-use ids ({mib:.1} MiB): auth.replay_rate {} for {hold_secs} s, the longest an id is held",
                section.replay_rate
            ),
            ReplaySource::Capped { hold_secs, wanted } => tracing::warn!(
                "replay cache: auth.replay_rate {} for {hold_secs} s (the longest an id is held) wants room for {wanted} ids; capped at {capacity} ({mib:.1} MiB). Set auth.replay_cache_entries for more, or lower the rate",
                section.replay_rate
            ),
        }
        Ok(Self {
            cache,
            full,
            warned_at: AtomicU64::new(0),
        })
    }

    /// Logs a warning unless one was logged in the last
    /// [`WARN_EVERY_SECS`].
    fn warn_full(&self, now: u64) {
        let last = self.warned_at.load(Ordering::Relaxed);
        if last != 0 && now < last.saturating_add(WARN_EVERY_SECS) {
            return;
        }
        if self
            .warned_at
            .compare_exchange(last, now.max(1), Ordering::Relaxed, Ordering::Relaxed)
            .is_ok()
        {
            tracing::warn!(
                refused_total = self.full.get(),
                capacity = self.cache.capacity(),
                "the replay cache is full: single-use tokens, DPoP proofs and client assertions are refused with 503 until ids expire. Raise auth.replay_rate (or auth.replay_cache_entries)"
            );
        }
    }
}

impl ReplayCache for GatewayReplay {
    fn check_and_insert(&self, id: &str, expires_at: u64, now: u64) -> Result<(), ReplayError> {
        let result = self.cache.check_and_insert(id, expires_at, now);
        if result == Err(ReplayError::Full) {
            self.full.inc();
            self.warn_full(now);
        }
        result
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn section(entries: usize) -> AuthSection {
        AuthSection {
            replay_cache_entries: std::num::NonZeroUsize::new(entries),
            ..AuthSection::default()
        }
    }

    #[test]
    fn a_full_cache_counts_every_refusal_and_warns_at_most_every_ten_seconds() {
        let full = Counter::default();
        let replay = GatewayReplay::open(&section(1), full.clone()).expect("opens");
        let now = 1_000;
        let mut refused = 0;
        for i in 0..200 {
            match replay.check_and_insert(&format!("{i}"), now + 100, now) {
                Ok(()) => {}
                Err(ReplayError::Full) => refused += 1,
                Err(e) => panic!("{e}"),
            }
        }
        assert!(refused > 0);
        assert_eq!(full.get(), refused);
        assert_eq!(replay.warned_at.load(Ordering::Relaxed), now);
        replay.warn_full(now + WARN_EVERY_SECS - 1);
        assert_eq!(replay.warned_at.load(Ordering::Relaxed), now);
        replay.warn_full(now + WARN_EVERY_SECS);
        assert_eq!(
            replay.warned_at.load(Ordering::Relaxed),
            now + WARN_EVERY_SECS
        );
    }

    /// Through the gateway: a full cache answers 503 (`Unavailable`), counts
    /// in the metrics, and keeps refusing the tokens it took.
    #[tokio::test]
    async fn a_full_cache_is_a_503_and_a_metric_at_the_gateway() {
        use crate::auth::{AuthError, AuthRequest};
        use crate::clock::unix_now;

        let dir = tempfile::tempdir().expect("tempdir");
        let mut config = crate::Config::parse(
            "[auth]\nreplay_cache_entries = 1\n",
            std::path::Path::new("test"),
        )
        .expect("config");
        config.gateway.data_dir = dir.path().to_path_buf();
        let store = warden_store::Store::open(&dir.path().join("warden.db"))
            .await
            .expect("store");
        store
            .put_agent(&warden_store::RegisteredAgent {
                id: "client".into(),
                display_name: "client".into(),
                jwks: None,
                jwks_url: None,
                grants: r#"{"echo": ["echo"]}"#.into(),
                tls_subject: None,
                created_at: crate::clock::now_rfc3339(),
            })
            .await
            .expect("registry");
        warden_authority::grants::ensure_grants(
            &store,
            "client",
            &[("echo".to_string(), vec!["echo".to_string()])].into(),
        )
        .await
        .expect("grant");
        let s = crate::GatewayState::open(config, store)
            .await
            .expect("state");
        let call = |token: String| {
            let auth = std::sync::Arc::clone(&s.auth);
            async move {
                let mut headers = http::HeaderMap::new();
                headers.insert(
                    http::header::AUTHORIZATION,
                    format!("Bearer {token}").parse().expect("header"),
                );
                let req = AuthRequest {
                    headers: &headers,
                    agent: "echo",
                    source: std::net::Ipv4Addr::LOCALHOST.into(),
                    method: "POST",
                    url: "http://127.0.0.1:8080/agents/echo",
                    now: unix_now(),
                    peer_cert: None,
                    seen: None,
                };
                auth.authenticate(&req).await.map(|_| ())
            }
        };
        let mut taken = Vec::new();
        let mut unavailable = 0u64;
        // Room for one id is one bucket of 16 slots.
        for _ in 0..40 {
            let (minted, _) = s
                .auth
                .authority
                .issue("client", "echo", &[], None, unix_now())
                .await
                .expect("issue");
            match call(minted.token.clone()).await {
                Ok(()) => taken.push(minted.token),
                Err(AuthError::Unavailable) => unavailable += 1,
                Err(e) => panic!("{e:?}"),
            }
        }
        assert!(!taken.is_empty() && unavailable > 0, "{}", taken.len());
        for token in taken {
            assert!(matches!(call(token).await, Err(AuthError::Replayed)));
        }
        let metrics = s.metrics.render();
        assert!(
            metrics.contains(&format!("warden_replay_cache_full_total {unavailable}")),
            "{metrics}"
        );
    }

    #[test]
    fn replays_are_not_counted_as_full() {
        let full = Counter::default();
        let replay = GatewayReplay::open(&section(100), full.clone()).expect("opens");
        replay.check_and_insert("a", 200, 100).expect("first use");
        assert_eq!(
            replay.check_and_insert("a", 200, 150),
            Err(ReplayError::Replayed)
        );
        assert_eq!(full.get(), 0);
    }
}
