//! Against the Redis every machine of this project runs (127.0.0.1:6379;
//! `.ci/run` starts it), each test under its own key prefix.

use std::time::Duration;

use super::*;

fn config(prefix: &str) -> SharedConfig {
    let unique = format!(
        "warden-test:{prefix}:{}:{}:",
        std::process::id(),
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| d.as_nanos())
    );
    SharedConfig {
        url: std::env::var("WARDEN_TEST_REDIS_URL")
            .unwrap_or_else(|_| "redis://127.0.0.1:6379/0".into()),
        key_prefix: unique,
        timeout: Duration::from_secs(2),
    }
}

fn in_an_hour() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_secs())
        + 3600
}

#[tokio::test]
async fn an_id_is_claimed_once_across_handles() {
    let cfg = config("replay");
    let a = SharedState::open(cfg.clone()).await.expect("open");
    let b = SharedState::open(cfg).await.expect("open");
    a.ping()
        .await
        .expect("Redis answers (is it running on 127.0.0.1:6379?)");
    assert_eq!(a.claim_once("jti-1", in_an_hour()).await, Ok(true));
    assert_eq!(b.claim_once("jti-1", in_an_hour()).await, Ok(false));
    assert_eq!(a.claim_once("jti-1", in_an_hour()).await, Ok(false));
    assert_eq!(b.claim_once("jti-2", in_an_hour()).await, Ok(true));
}

#[tokio::test]
async fn a_bucket_is_shared_and_a_peek_takes_nothing() {
    let cfg = config("gcra");
    let a = SharedState::open(cfg.clone()).await.expect("open");
    let b = SharedState::open(cfg).await.expect("open");
    // 3 at once, then one an hour: whoever asks, three pass.
    let interval = Duration::from_secs(3600);
    let tolerance = interval * 3;
    for _ in 0..5 {
        let peek = a.gcra("k", interval, tolerance, true).await.expect("peek");
        assert!(peek.allowed);
    }
    let mut allowed = 0;
    for i in 0..6 {
        let who = if i % 2 == 0 { &a } else { &b };
        let r = who
            .gcra("k", interval, tolerance, false)
            .await
            .expect("gcra");
        if r.allowed {
            allowed += 1;
            assert_eq!(r.remaining, 3 - allowed);
            assert_eq!(r.retry_after, Duration::ZERO);
        } else {
            assert_eq!(r.remaining, 0);
            assert!(r.retry_after > Duration::from_secs(3500), "{r:?}");
        }
    }
    assert_eq!(allowed, 3);
    let peek = b.gcra("k", interval, tolerance, true).await.expect("peek");
    assert!(!peek.allowed);
    // Another key is untouched.
    assert!(
        a.gcra("other", interval, tolerance, false)
            .await
            .expect("gcra")
            .allowed
    );
}

#[tokio::test]
async fn an_unreachable_server_is_an_error_never_a_yes() {
    let mut cfg = config("down");
    // A port nothing listens on (bound and dropped).
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .expect("port");
    cfg.url = format!("redis://127.0.0.1:{port}/0");
    cfg.timeout = Duration::from_millis(200);
    let s = SharedState::open(cfg)
        .await
        .expect("open never fails on a down server");
    assert!(matches!(
        s.claim_once("x", in_an_hour()).await,
        Err(SharedError::Unavailable(_))
    ));
    assert!(matches!(
        s.gcra("k", Duration::from_secs(1), Duration::from_secs(1), false)
            .await,
        Err(SharedError::Unavailable(_))
    ));
    assert!(s.ping().await.is_err());
}

#[tokio::test]
async fn a_bad_url_is_refused_at_open() {
    let mut cfg = config("bad");
    cfg.url = "http://127.0.0.1:6379".into();
    assert!(matches!(
        SharedState::open(cfg).await,
        Err(SharedError::InvalidUrl(_))
    ));
}

#[tokio::test]
async fn buckets_are_stepped_in_order_in_one_call_until_the_first_refusal() {
    let s = SharedState::open(config("all")).await.expect("open");
    let hour = Duration::from_secs(3600);
    // "a" has room for 2, "b" for 1, "c" for 5.
    let buckets = [
        ("a", hour, hour * 2),
        ("b", hour, hour),
        ("c", hour, hour * 5),
    ];
    let first = s.gcra_all(&buckets, false).await.expect("first");
    assert_eq!(first.len(), 3);
    assert!(first.iter().all(|r| r.allowed));
    // "b" is spent: a is stepped (and charged), b refused, c not reached.
    let second = s.gcra_all(&buckets, false).await.expect("second");
    assert_eq!(second.len(), 2, "{second:?}");
    assert!(second[0].allowed && !second[1].allowed);
    let c = s.gcra("c", hour, hour * 5, true).await.expect("peek c");
    assert_eq!(c.remaining, 3, "c was charged once only: {c:?}");
}

#[tokio::test]
async fn a_name_is_claimed_by_the_first_and_named_to_the_rest() {
    let cfg = config("claim");
    let a = SharedState::open(cfg.clone()).await.expect("open");
    let b = SharedState::open(cfg).await.expect("open");
    let hold = Duration::from_secs(60);
    assert_eq!(
        a.claim_name("ctx-1", "alice", hold).await.as_deref(),
        Ok("alice")
    );
    assert_eq!(
        b.claim_name("ctx-1", "bob", hold).await.as_deref(),
        Ok("alice")
    );
    assert_eq!(
        a.claim_name("ctx-1", "alice", hold).await.as_deref(),
        Ok("alice")
    );
    assert_eq!(
        b.claim_name("ctx-2", "bob", hold).await.as_deref(),
        Ok("bob")
    );
}
