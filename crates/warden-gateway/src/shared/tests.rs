//! The gateway's shared step against the Redis every machine of this
//! project runs (127.0.0.1:6379; `.ci/run` starts it), each test under its
//! own key prefix, and against a port nothing listens on.

use std::sync::Arc;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use warden_policy::ratelimit::{LocalRateLimiter, Quota, RateDecision, RateLimiter};
use warden_store::shared::SharedConfig;

use super::*;

fn config(name: &str) -> SharedConfig {
    let nanos = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_nanos());
    SharedConfig {
        url: std::env::var("WARDEN_TEST_REDIS_URL")
            .unwrap_or_else(|_| "redis://127.0.0.1:6379/0".into()),
        key_prefix: format!("warden-test:gw-{name}:{}:{nanos}:", std::process::id()),
        timeout: Duration::from_secs(2),
    }
}

fn in_an_hour() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_secs())
        + 3600
}

fn quota(per_hour: u32, burst: u32) -> Quota {
    Quota::new(per_hour, Duration::from_secs(3600), burst).expect("quota")
}

fn count(family: &Family<WhatLabels, Counter>, what: &'static str) -> u64 {
    family.get_or_create(&WhatLabels { what }).get()
}

#[tokio::test]
async fn a_calls_step_records_its_id_with_its_limits_and_a_limited_call_leaves_it_unused() {
    let shared = Shared::open(config("step"), None, Family::default())
        .await
        .expect("open");
    let limiter = &shared.limiter;
    let now = Duration::from_secs(10);
    let checks = [
        ("source:192.0.2.1".to_string(), quota(1000, 1000)),
        ("principal:alice".to_string(), quota(2, 2)),
    ];
    let first = PendingUse::new("iss\njti-1", in_an_hour(), false);
    let step = limiter
        .step_call(Some(&first), &checks, 1, now)
        .await
        .expect("step");
    assert!(
        matches!(&step, CallStep::Decided(d) if d.len() == 2 && d.iter().all(RateDecision::is_allowed)),
        "{step:?}"
    );
    // The same id again, at any gateway: a replay, and it takes no cell.
    let again = limiter.step_call(Some(&first), &checks, 1, now).await;
    assert_eq!(again, Ok(CallStep::Replayed));
    let second = PendingUse::new("iss\njti-2", in_an_hour(), false);
    assert!(matches!(
        limiter.step_call(Some(&second), &checks, 1, now).await,
        Ok(CallStep::Decided(d)) if d.iter().all(RateDecision::is_allowed)
    ));
    // The principal's bucket (2 cells) is spent: refused, and the third
    // token is not used up.
    let third = PendingUse::new("iss\njti-3", in_an_hour(), false);
    let refused = limiter
        .step_call(Some(&third), &checks, 1, now)
        .await
        .expect("step");
    let CallStep::Decided(d) = &refused else {
        panic!("{refused:?}");
    };
    assert!(d[0].is_allowed() && !d[1].is_allowed(), "{d:?}");
    assert_eq!(shared.replay.claim_pending(&third).await, Claim::First);
    // The early refusal knows the bucket is spent until its next cell
    // (about 30 minutes at 2 an hour), without asking Redis.
    let peek = limiter
        .peek(
            "principal:alice",
            quota(2, 2),
            now + Duration::from_secs(60),
        )
        .await
        .expect("peek");
    assert!(!peek.is_allowed(), "{peek:?}");
    let later = now + Duration::from_secs(1800);
    let peek = limiter
        .peek("principal:alice", quota(2, 2), later)
        .await
        .expect("peek");
    assert!(
        peek.is_allowed(),
        "past the next cell Redis decides: {peek:?}"
    );
    // A bucket never refused here is not refused early.
    let other = limiter
        .peek("principal:bob", quota(2, 2), now)
        .await
        .expect("peek");
    assert!(other.is_allowed());
}

#[tokio::test]
async fn a_proof_and_a_token_with_the_same_id_text_do_not_collide_across_kinds() {
    // The authenticator names proofs "dpop\n{jkt}\n{jti}" and tokens
    // "{iss}\n{jti}": only the digest of that text goes to Redis.
    let shared = Shared::open(config("kinds"), None, Family::default())
        .await
        .expect("open");
    let token = PendingUse::new("iss\nx", in_an_hour(), false);
    let proof = PendingUse::new("dpop\niss\nx", in_an_hour(), true);
    assert_eq!(shared.replay.claim_pending(&token).await, Claim::First);
    assert_eq!(shared.replay.claim_pending(&proof).await, Claim::First);
    assert_eq!(shared.replay.claim_pending(&proof).await, Claim::Replayed);
    // `claim` (the token endpoint's) and a pending id agree on the key.
    assert_eq!(
        shared.replay.claim("iss\nx", in_an_hour()).await,
        Claim::Replayed
    );
}

#[tokio::test]
async fn without_redis_a_pending_id_is_refused_and_the_limits_fall_back_without_the_screen() {
    let mut cfg = config("down");
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .expect("port");
    cfg.url = format!("redis://127.0.0.1:{port}/0");
    cfg.timeout = Duration::from_millis(200);
    let local = Arc::new(LocalRateLimiter::new(
        std::num::NonZeroUsize::MIN.saturating_add(99),
    ));
    let failures = Family::<WhatLabels, Counter>::default();
    let shared = Shared::open(cfg, Some(local.clone()), failures.clone())
        .await
        .expect("open never fails on a down server");
    let now = Duration::from_secs(10);
    let checks = [
        ("source:192.0.2.1".to_string(), quota(1, 1)),
        ("principal:alice".to_string(), quota(5, 5)),
    ];
    // A single-use id is never let through unrecorded, fallback or not.
    let pending = PendingUse::new("iss\njti", in_an_hour(), false);
    assert_eq!(
        shared
            .limiter
            .step_call(Some(&pending), &checks, 1, now)
            .await,
        Ok(CallStep::ClaimUnavailable)
    );
    assert_eq!(count(&failures, "replay"), 1);
    assert_eq!(count(&failures, "rate_limit"), 0);
    // Without one, the local fallback decides, leaving out the per-address
    // limit the accept stage already applied with the same local bucket
    // (one cell a call, not two).
    for _ in 0..2 {
        let step = shared.limiter.step_call(None, &checks, 1, now).await;
        let Ok(CallStep::Decided(d)) = &step else {
            panic!("{step:?}");
        };
        // In the order of the checks, the screened one first (allowed).
        assert_eq!(d.len(), 2, "{d:?}");
        assert!(d.iter().all(RateDecision::is_allowed), "{d:?}");
    }
    assert_eq!(count(&failures, "rate_limit"), 2);
    let source = local.peek_now("source:192.0.2.1", quota(1, 1), now);
    assert!(
        source.is_allowed(),
        "the fallback took no source cell: {source:?}"
    );
    // Two cells of five taken: a peek says two would be left after a third.
    assert_eq!(
        local
            .peek_now("principal:alice", quota(5, 5), now)
            .remaining(),
        2
    );
}

#[tokio::test]
async fn stream_places_are_shared_given_back_on_drop_and_unavailable_without_redis() {
    let failures = Family::<WhatLabels, Counter>::default();
    let cfg = config("streams");
    let a = Shared::open(cfg.clone(), None, failures.clone())
        .await
        .expect("open");
    let b = Shared::open(cfg, None, failures.clone())
        .await
        .expect("open");
    let first = a.streams.acquire("alice", 2).await;
    assert!(matches!(first, StreamPlace::Granted(_)), "{first:?}");
    let second = b.streams.acquire("alice", 2).await;
    assert!(matches!(second, StreamPlace::Granted(_)), "{second:?}");
    assert!(matches!(
        a.streams.acquire("alice", 2).await,
        StreamPlace::Full
    ));
    // Given back on drop (a spawned release): the place comes back.
    drop(first);
    let deadline = std::time::Instant::now() + Duration::from_secs(10);
    loop {
        match b.streams.acquire("alice", 2).await {
            StreamPlace::Granted(_) => break,
            StreamPlace::Full => {
                assert!(std::time::Instant::now() < deadline, "never given back");
                tokio::task::yield_now().await;
            }
            StreamPlace::Unavailable => panic!("Redis is up"),
        }
    }
    assert_eq!(count(&failures, "streams"), 0);

    // Redis cannot answer: no place, counted; the fallback flag follows
    // `on_unavailable`.
    let mut down = config("streams-down");
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .expect("port");
    down.url = format!("redis://127.0.0.1:{port}/0");
    down.timeout = Duration::from_millis(200);
    let strict = Shared::open(down.clone(), None, failures.clone())
        .await
        .expect("open never fails on a down server");
    assert!(matches!(
        strict.streams.acquire("alice", 2).await,
        StreamPlace::Unavailable
    ));
    assert!(!strict.streams.local_fallback());
    assert_eq!(count(&failures, "streams"), 1);
    let local = Arc::new(LocalRateLimiter::new(std::num::NonZeroUsize::MIN));
    let lenient = Shared::open(down, Some(local), failures)
        .await
        .expect("open");
    assert!(lenient.streams.local_fallback());
}
