use proptest::prelude::*;

use super::*;

const MS: u64 = 1_000_000;

/// One key's stored state, driven through `step`.
#[derive(Default)]
struct Bucket(Option<u64>);

impl Bucket {
    fn check(&mut self, quota: Quota, now: u64) -> RateDecision {
        let (decision, tat) = step(self.0, quota, now);
        if tat.is_some() {
            self.0 = tat;
        }
        decision
    }
}

fn ms(n: u64) -> Duration {
    Duration::from_millis(n)
}

/// 10/s, burst 3: T = 100 ms, tau = 300 ms.
fn quota() -> Quota {
    Quota::parse("10/s", 3).expect("valid quota")
}

fn allowed(remaining: u32, reset_ms: u64) -> RateDecision {
    RateDecision::Allowed {
        limit: 3,
        remaining,
        reset_after: ms(reset_ms),
    }
}

fn limited(reset_ms: u64, retry_ms: u64) -> RateDecision {
    RateDecision::Limited {
        limit: 3,
        reset_after: ms(reset_ms),
        retry_after: ms(retry_ms),
    }
}

#[test]
fn burst_passes_at_once_then_exact_refusal() {
    let mut b = Bucket::default();
    assert_eq!(b.check(quota(), 0), allowed(2, 100));
    assert_eq!(b.check(quota(), 0), allowed(1, 200));
    assert_eq!(b.check(quota(), 0), allowed(0, 300));
    assert_eq!(b.check(quota(), 0), limited(300, 100));
    assert_eq!(b.check(quota(), 40 * MS), limited(260, 60));
    // One nanosecond early is still refused; exactly on time passes.
    let d = b.check(quota(), 100 * MS - 1);
    assert_eq!(d.retry_after(), Some(Duration::from_nanos(1)));
    assert_eq!(b.check(quota(), 100 * MS), allowed(0, 300));
}

#[test]
fn refusals_do_not_delay_recovery() {
    let mut b = Bucket::default();
    for _ in 0..3 {
        assert!(b.check(quota(), 0).is_allowed());
    }
    for _ in 0..1_000 {
        assert!(!b.check(quota(), 50 * MS).is_allowed());
    }
    assert!(b.check(quota(), 100 * MS).is_allowed());
}

#[test]
fn steady_rate_is_one_cell_per_interval() {
    let mut b = Bucket::default();
    for _ in 0..3 {
        b.check(quota(), 0);
    }
    for i in 1..=50 {
        let t = i * 100 * MS;
        assert_eq!(b.check(quota(), t), allowed(0, 300), "at {i}");
        assert_eq!(b.check(quota(), t), limited(300, 100), "at {i}");
    }
}

#[test]
fn remaining_and_reset_recover_while_idle() {
    let mut b = Bucket::default();
    for _ in 0..3 {
        b.check(quota(), 0);
    }
    // TAT = 300 ms. At 150 ms, 1.5 cells have come back: one usable.
    assert_eq!(b.check(quota(), 150 * MS), allowed(0, 250));
    // TAT = 400 ms. Idle past it: a fresh, full bucket.
    assert_eq!(b.check(quota(), 400 * MS), allowed(2, 100));
    assert_eq!(b.check(quota(), 10_000 * MS), allowed(2, 100));
}

#[test]
fn burst_of_one_is_a_plain_interval() {
    let q = Quota::parse("2/s", 1).expect("valid quota");
    let mut b = Bucket::default();
    assert!(b.check(q, 0).is_allowed());
    assert_eq!(b.check(q, 0).retry_after(), Some(ms(500)));
    assert!(b.check(q, 500 * MS).is_allowed());
}

fn any_quota() -> impl Strategy<Value = Quota> {
    (1u32..50, 1u64..5_000, 1u32..10).prop_map(|(count, period_ms, burst)| {
        Quota::new(count, ms(period_ms), burst).expect("valid quota")
    })
}

proptest! {
    /// The GCRA bound: for allowed cells at times in [t, t + w], with T
    /// the (rounded-up) emission interval, n <= burst + floor(w / T).
    /// Proof: the first in-window cell leaves TAT >= t + T and every
    /// allowed cell adds at least T, so after the n-th TAT >= t + nT;
    /// it was allowed, so TAT <= s + burst * T <= t + w + burst * T.
    /// Out-of-window or out-of-order cells only raise TAT, so this holds
    /// for any processing order, which is what concurrent callers with
    /// slightly stale `now` values produce.
    #[test]
    fn never_more_than_burst_plus_window(
        quota in any_quota(),
        times in prop::collection::vec(0u64..20_000 * MS, 1..300),
    ) {
        let mut b = Bucket::default();
        let mut passed: Vec<u64> = times
            .iter()
            .copied()
            .filter(|&t| b.check(quota, t).is_allowed())
            .collect();
        passed.sort_unstable();
        let interval = quota.interval_ns();
        // The tightest windows start and end at allowed cells.
        for i in 0..passed.len() {
            for j in i..passed.len() {
                let n = (j - i + 1) as u64;
                let w = passed[j] - passed[i];
                prop_assert!(n <= u64::from(quota.burst()) + w / interval);
            }
        }
    }

    /// `remaining` and `retry_after` are exact, not estimates.
    #[test]
    fn figures_are_exact(
        quota in any_quota(),
        times in prop::collection::vec(0u64..10_000 * MS, 1..50),
    ) {
        let mut times = times;
        times.sort_unstable();
        let mut b = Bucket::default();
        for t in times {
            match b.check(quota, t) {
                RateDecision::Allowed { remaining, .. } => {
                    let mut probe = Bucket(b.0);
                    for _ in 0..remaining {
                        prop_assert!(probe.check(quota, t).is_allowed());
                    }
                    prop_assert!(!probe.check(quota, t).is_allowed());
                }
                RateDecision::Limited { retry_after, .. } => {
                    let at = t + u64::try_from(retry_after.as_nanos()).expect("small retry");
                    prop_assert!(!Bucket(b.0).check(quota, at - 1).is_allowed());
                    prop_assert!(Bucket(b.0).check(quota, at).is_allowed());
                }
            }
        }
    }
}
