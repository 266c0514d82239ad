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
    let bucket = ("k", Duration::from_secs(1), Duration::from_secs(1));
    assert!(matches!(
        s.step(Some(("x", in_an_hour())), &[bucket], false).await,
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

#[tokio::test]
async fn a_call_step_claims_its_id_with_its_buckets_and_a_replay_takes_no_cell() {
    let cfg = config("step");
    let a = SharedState::open(cfg.clone()).await.expect("open");
    let b = SharedState::open(cfg).await.expect("open");
    let hour = Duration::from_secs(3600);
    let buckets = [("p", hour, hour * 5), ("q", hour, hour * 5)];
    let first = a
        .step(Some(("jti-1", in_an_hour())), &buckets, false)
        .await
        .expect("step");
    let StepOutcome::Allowed(replies) = &first else {
        panic!("{first:?}");
    };
    assert_eq!(
        replies.iter().map(|r| r.remaining).collect::<Vec<_>>(),
        [4, 4]
    );
    // Recorded for every handle, the plain claim included.
    assert_eq!(b.claim_once("jti-1", in_an_hour()).await, Ok(false));
    // A replay, at another handle: refused, and no bucket is touched.
    let again = b
        .step(Some(("jti-1", in_an_hour())), &buckets, false)
        .await
        .expect("step");
    assert_eq!(again, StepOutcome::Replayed);
    let p = a.gcra("p", hour, hour * 5, true).await.expect("peek");
    assert_eq!(
        p.remaining, 3,
        "one cell taken, by the first call only: {p:?}"
    );
    // An id claimed alone (no limit in force) is still single-use.
    assert!(matches!(
        a.step(Some(("jti-2", in_an_hour())), &[], false).await,
        Ok(StepOutcome::Allowed(r)) if r.is_empty()
    ));
    assert_eq!(
        b.step(Some(("jti-2", in_an_hour())), &[], false).await,
        Ok(StepOutcome::Replayed)
    );
}

#[tokio::test]
async fn a_call_its_limits_refuse_leaves_its_id_unused_and_keeps_earlier_cells_taken() {
    let s = SharedState::open(config("step-refused"))
        .await
        .expect("open");
    let hour = Duration::from_secs(3600);
    // "wide" has room for 5, "narrow" for 1.
    let buckets = [("wide", hour, hour * 5), ("narrow", hour, hour)];
    assert!(matches!(
        s.step(Some(("t-1", in_an_hour())), &buckets, false).await,
        Ok(StepOutcome::Allowed(_))
    ));
    let refused = s
        .step(Some(("t-2", in_an_hour())), &buckets, false)
        .await
        .expect("step");
    let StepOutcome::Refused(replies) = &refused else {
        panic!("{refused:?}");
    };
    assert_eq!(replies.len(), 2, "{replies:?}");
    assert!(replies[0].allowed && !replies[1].allowed);
    assert!(
        replies[1].retry_after > Duration::from_secs(3500),
        "{replies:?}"
    );
    // The id was not used up: the caller may retry with it (here it is
    // refused for its rate again, and still not used up).
    assert!(matches!(
        s.step(Some(("t-2", in_an_hour())), &buckets, false).await,
        Ok(StepOutcome::Refused(_))
    ));
    assert_eq!(s.claim_once("t-2", in_an_hour()).await, Ok(true));
    // The cells taken before the refusal stay taken (as one by one).
    let wide = s.gcra("wide", hour, hour * 5, true).await.expect("peek");
    assert_eq!(wide.remaining, 1, "three cells taken: {wide:?}");
}

#[tokio::test]
async fn one_of_many_concurrent_steps_with_one_id_wins() {
    let cfg = config("step-race");
    let handles = [
        SharedState::open(cfg.clone()).await.expect("open"),
        SharedState::open(cfg).await.expect("open"),
    ];
    let second = Duration::from_secs(1);
    let steps: Vec<_> = (0..20)
        .map(|i| {
            let s = handles[i % 2].clone();
            tokio::spawn(async move {
                s.step(
                    Some(("raced", in_an_hour())),
                    &[("r", second, second * 100)],
                    false,
                )
                .await
                .expect("step")
            })
        })
        .collect();
    let mut outcomes = Vec::new();
    for step in steps {
        outcomes.push(step.await.expect("task"));
    }
    let won = outcomes
        .iter()
        .filter(|o| matches!(o, StepOutcome::Allowed(_)))
        .count();
    assert_eq!(won, 1, "{outcomes:?}");
    assert!(
        outcomes
            .iter()
            .all(|o| matches!(o, StepOutcome::Allowed(_) | StepOutcome::Replayed))
    );
    let r = handles[0]
        .gcra("r", second, second * 100, true)
        .await
        .expect("peek");
    assert!(r.remaining >= 98, "the replays took no cell: {r:?}");
}

#[tokio::test]
async fn an_expiry_already_past_still_holds_the_id_and_a_peek_cannot_claim() {
    let s = SharedState::open(config("step-past")).await.expect("open");
    assert!(matches!(
        s.step(Some(("old", 1)), &[], false).await,
        Ok(StepOutcome::Allowed(_))
    ));
    assert_eq!(
        s.step(Some(("old", 1)), &[], false).await,
        Ok(StepOutcome::Replayed)
    );
    assert!(matches!(
        s.step(Some(("x", in_an_hour())), &[], true).await,
        Err(SharedError::Protocol(_))
    ));
    assert_eq!(
        s.step(None, &[], false).await,
        Ok(StepOutcome::Allowed(Vec::new()))
    );
}

#[tokio::test]
async fn a_bucket_named_twice_in_one_step_is_stepped_twice() {
    let s = SharedState::open(config("step-twice")).await.expect("open");
    let hour = Duration::from_secs(3600);
    let twice = [("d", hour, hour * 3), ("d", hour, hour * 3)];
    let out = s.step(None, &twice, false).await.expect("step");
    assert_eq!(
        out.replies()
            .iter()
            .map(|r| r.remaining)
            .collect::<Vec<_>>(),
        [2, 1]
    );
}

#[tokio::test]
async fn a_callers_streams_are_counted_across_handles_and_given_back() {
    let cfg = config("streams");
    let (a, b) = (
        SharedState::open(cfg.clone()).await.expect("open"),
        SharedState::open(cfg).await.expect("open"),
    );
    let lease = Duration::from_secs(60);
    assert_eq!(a.stream_acquire("alice", "s1", 2, lease).await, Ok(true));
    assert_eq!(b.stream_acquire("alice", "s2", 2, lease).await, Ok(true));
    assert_eq!(a.stream_acquire("alice", "s3", 2, lease).await, Ok(false));
    assert_eq!(b.stream_acquire("bob", "s4", 2, lease).await, Ok(true));
    assert_eq!(a.stream_count("alice").await, Ok(2));
    b.stream_release("alice", "s2").await.expect("release");
    assert_eq!(a.stream_acquire("alice", "s3", 2, lease).await, Ok(true));
    assert_eq!(b.stream_count("alice").await, Ok(2));
}

#[tokio::test]
async fn a_stream_whose_lease_is_not_renewed_stops_counting() {
    let s = SharedState::open(config("streams-lease"))
        .await
        .expect("open");
    let short = Duration::from_millis(30);
    assert_eq!(s.stream_acquire("c", "gone", 1, short).await, Ok(true));
    // The lease ends on Redis's clock; wait for that, with a deadline.
    let deadline = std::time::Instant::now() + Duration::from_secs(10);
    while s.stream_count("c").await != Ok(0) {
        assert!(
            std::time::Instant::now() < deadline,
            "the lease never ended"
        );
        tokio::task::yield_now().await;
    }
    let long = Duration::from_secs(60);
    assert_eq!(s.stream_acquire("c", "next", 1, long).await, Ok(true));
}

#[tokio::test]
async fn renewing_keeps_streams_and_counts_again_those_redis_forgot() {
    let s = SharedState::open(config("streams-renew"))
        .await
        .expect("open");
    let lease = Duration::from_secs(60);
    assert_eq!(s.stream_acquire("r", "s1", 5, lease).await, Ok(true));
    // Redis forgets (a restart without persistence).
    let mut conn = s.conn().await.expect("conn");
    let _: i64 = redis::cmd("DEL")
        .arg(s.key("streams", "r"))
        .query_async(&mut conn)
        .await
        .expect("del");
    assert_eq!(s.stream_count("r").await, Ok(0));
    let held = vec![("r".to_string(), "s1".to_string())];
    s.stream_renew(&held, lease).await.expect("renew");
    assert_eq!(s.stream_count("r").await, Ok(1));
    assert_eq!(s.stream_acquire("r", "s2", 1, lease).await, Ok(false));
}
