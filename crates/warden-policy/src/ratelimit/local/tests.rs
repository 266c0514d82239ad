use std::sync::Arc;
use std::task::{Context, Poll, Waker};

use super::*;

fn cap(n: usize) -> NonZeroUsize {
    NonZeroUsize::new(n).expect("non-zero cap")
}

fn secs(n: u64) -> Duration {
    Duration::from_secs(n)
}

#[test]
fn applies_gcra_per_key() {
    let limiter = LocalRateLimiter::new(cap(1_000));
    let q = Quota::parse("1/s", 2).expect("valid quota");
    assert_eq!(limiter.check_now("a", q, secs(10)).remaining(), 1);
    assert_eq!(limiter.check_now("a", q, secs(10)).remaining(), 0);
    let d = limiter.check_now("a", q, secs(10));
    assert_eq!(d.retry_after(), Some(secs(1)));
    assert_eq!(d.reset_after(), secs(2));
    assert!(limiter.check_now("b", q, secs(10)).is_allowed());
    assert!(limiter.check_now("a", q, secs(11)).is_allowed());
    assert_eq!(limiter.len(), 2);
}

#[test]
fn trait_object_gives_the_same_decision() {
    let limiter: Arc<dyn RateLimiter> = Arc::new(LocalRateLimiter::new(cap(8)));
    let q = Quota::parse("1/h", 1).expect("valid quota");
    let mut cx = Context::from_waker(Waker::noop());
    let mut first = limiter.check("k", q, secs(0));
    let Poll::Ready(Ok(d)) = first.as_mut().poll(&mut cx) else {
        panic!("local check is immediately ready");
    };
    assert!(d.is_allowed());
    let mut second = limiter.check("k", q, secs(0));
    let Poll::Ready(Ok(d)) = second.as_mut().poll(&mut cx) else {
        panic!("local check is immediately ready");
    };
    assert_eq!(d.retry_after(), Some(secs(3_600)));
}

#[test]
fn churn_of_a_million_keys_stays_under_the_cap() {
    let limiter = LocalRateLimiter::new(cap(1_000));
    let q = Quota::parse("1/s", 1).expect("valid quota");
    for i in 0..1_000_000u32 {
        // Time barely moves, so every key is still live when evicted.
        let now = Duration::from_micros(u64::from(i));
        assert!(
            limiter
                .check_now(&format!("principal:{i}"), q, now)
                .is_allowed()
        );
        if i % 1_000 == 0 {
            assert!(limiter.len() <= 1_000, "len {} at {i}", limiter.len());
        }
    }
    assert!(limiter.len() <= limiter.max_keys());
    assert!(limiter.evictions() > 900_000, "{}", limiter.evictions());
}

#[test]
fn len_never_exceeds_the_cap_at_any_insert() {
    for max in [1, 2, 7, 16, 17, 100] {
        let limiter = LocalRateLimiter::new(cap(max));
        let q = Quota::parse("1/h", 1).expect("valid quota");
        for i in 0..5_000 {
            limiter.check_now(&format!("k{i}"), q, secs(0));
            assert!(limiter.len() <= max, "cap {max}: len {}", limiter.len());
        }
        assert!(limiter.evictions() > 0);
    }
}

#[test]
fn expired_keys_are_dropped_without_counting_evictions() {
    let limiter = LocalRateLimiter::new(cap(64));
    let q = Quota::parse("1/s", 1).expect("valid quota");
    // Each key's TAT is one second after its cell, so by the next second
    // every earlier key is indistinguishable from an unknown one.
    for round in 0..100u64 {
        for i in 0..4 {
            limiter.check_now(&format!("r{round}:{i}"), q, secs(round));
        }
    }
    assert!(limiter.len() <= 64);
    assert_eq!(limiter.evictions(), 0);
}

#[test]
fn a_flood_of_fresh_keys_does_not_evict_a_limited_key() {
    let limiter = LocalRateLimiter::new(cap(64));
    let strict = Quota::parse("1/h", 5).expect("valid quota");
    for _ in 0..5 {
        assert!(
            limiter
                .check_now("principal:abuser", strict, secs(0))
                .is_allowed()
        );
    }
    let loose = Quota::parse("1/s", 1).expect("valid quota");
    for i in 0..100_000 {
        limiter.check_now(&format!("flood:{i}"), loose, secs(1));
    }
    assert!(limiter.evictions() > 0);
    assert!(
        !limiter
            .check_now("principal:abuser", strict, secs(1))
            .is_allowed()
    );
}

#[test]
fn keys_are_independent_across_threads() {
    let limiter = LocalRateLimiter::new(cap(1_000));
    let small = Quota::parse("1/h", 10).expect("valid quota");
    let large = Quota::parse("1/h", 10_000).expect("valid quota");
    let now = secs(0);
    std::thread::scope(|scope| {
        let hammer = scope.spawn(|| {
            (0..10_000)
                .filter(|_| {
                    limiter
                        .check_now("pair:alice>echo", small, now)
                        .is_allowed()
                })
                .count()
        });
        let other = scope.spawn(|| {
            (0..10_000).all(|_| limiter.check_now("pair:bob>echo", large, now).is_allowed())
        });
        assert_eq!(hammer.join().expect("thread finished"), 10);
        assert!(
            other.join().expect("thread finished"),
            "bob was limited by alice's traffic"
        );
    });
    assert!(
        !limiter
            .check_now("pair:alice>echo", small, now)
            .is_allowed()
    );
}

#[test]
fn debug_output_leaves_keys_out() {
    let limiter = LocalRateLimiter::new(cap(32));
    limiter.check_now(
        "principal:secret",
        Quota::parse("1/s", 1).expect("valid quota"),
        secs(0),
    );
    assert!(!format!("{limiter:?}").contains("secret"));
}

#[test]
fn a_peek_takes_no_cell_and_sees_an_empty_bucket() {
    let limiter = LocalRateLimiter::new(cap(1_000));
    let q = Quota::parse("1/s", 2).expect("valid quota");
    for _ in 0..5 {
        assert!(limiter.peek_now("a", q, secs(10)).is_allowed());
    }
    assert_eq!(limiter.len(), 0, "a peek tracks nothing");
    limiter.check_now("a", q, secs(10));
    limiter.check_now("a", q, secs(10));
    let peeked = limiter.peek_now("a", q, secs(10));
    assert!(!peeked.is_allowed());
    assert_eq!(peeked, limiter.check_now("a", q, secs(10)));
    assert!(limiter.peek_now("a", q, secs(11)).is_allowed());
}
