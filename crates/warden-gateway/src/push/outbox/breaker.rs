//! Per destination (`scheme://host:port`), in this gateway's memory: how
//! many deliveries are in flight (at most `per_destination_concurrency`),
//! and a circuit breaker. `breaker_failures` failed attempts in a row open
//! it: nothing is sent there for `breaker_cooldown_secs`; then it is half
//! open and one attempt probes the destination — a success closes it, a
//! failure opens it again for another cool-down.
//!
//! What counts: a delivery is a success; an attempt to be tried again
//! (connection failure, timeout, 408, 429, 5xx) a failure; a permanent
//! refusal (another 4xx, the egress rules) neither — the receiver answered,
//! or was never reached. Times are Unix milliseconds on the gateway's
//! clock.

use std::collections::HashMap;

/// How an attempt ended, as the breaker counts it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Verdict {
    Success,
    Failure,
    Neutral,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum State {
    Closed {
        failures: u32,
    },
    Open {
        until_ms: i64,
    },
    /// One probe allowed; `probing` while it is in flight.
    HalfOpen {
        probing: bool,
    },
}

/// One destination.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Destination {
    in_flight: u32,
    state: State,
}

/// The breaker's settings.
#[derive(Debug, Clone, Copy)]
pub struct Limits {
    pub per_destination: u32,
    pub failures: u32,
    pub cooldown_ms: i64,
}

/// Every destination this gateway has deliveries for or a breaker state
/// about; the others are forgotten.
#[derive(Debug)]
pub struct Destinations {
    limits: Limits,
    map: HashMap<String, Destination>,
}

/// What a finished attempt did to its destination's breaker.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Change {
    None,
    /// Opened (or opened again) until then.
    Opened {
        until_ms: i64,
    },
    Closed,
}

impl Destinations {
    pub fn new(limits: Limits) -> Self {
        Self {
            limits,
            map: HashMap::new(),
        }
    }

    /// When an open breaker lets `origin` be tried again; None when it
    /// may be tried now (closed or half open).
    pub fn blocked_until(&mut self, origin: &str, now_ms: i64) -> Option<i64> {
        let d = self.map.get_mut(origin)?;
        match d.state {
            State::Open { until_ms } if now_ms < until_ms => Some(until_ms),
            State::Open { .. } => {
                d.state = State::HalfOpen { probing: false };
                None
            }
            _ => None,
        }
    }

    /// How many more deliveries to `origin` may start now.
    pub fn free(&mut self, origin: &str, now_ms: i64) -> u32 {
        if self.blocked_until(origin, now_ms).is_some() {
            return 0;
        }
        let cap = self.limits.per_destination;
        match self.map.get(origin) {
            None => cap,
            Some(d) => match d.state {
                State::HalfOpen { probing } => u32::from(!probing && d.in_flight == 0),
                _ => cap.saturating_sub(d.in_flight),
            },
        }
    }

    /// A delivery to `origin` started.
    pub fn started(&mut self, origin: &str) {
        let d = self.map.entry(origin.to_string()).or_insert(Destination {
            in_flight: 0,
            state: State::Closed { failures: 0 },
        });
        d.in_flight += 1;
        if let State::HalfOpen { .. } = d.state {
            d.state = State::HalfOpen { probing: true };
        }
    }

    /// A delivery to `origin` ended with `verdict` at `now_ms`.
    pub fn finished(&mut self, origin: &str, verdict: Verdict, now_ms: i64) -> Change {
        let limits = self.limits;
        let Some(d) = self.map.get_mut(origin) else {
            return Change::None;
        };
        d.in_flight = d.in_flight.saturating_sub(1);
        let open = || State::Open {
            until_ms: now_ms.saturating_add(limits.cooldown_ms),
        };
        let (state, change) = match (d.state, verdict) {
            (State::Closed { .. }, Verdict::Success) => {
                (State::Closed { failures: 0 }, Change::None)
            }
            (_, Verdict::Success) => (State::Closed { failures: 0 }, Change::Closed),
            (State::Closed { failures }, Verdict::Failure) if failures + 1 >= limits.failures => {
                (open(), Change::None)
            }
            (State::Closed { failures }, Verdict::Failure) => (
                State::Closed {
                    failures: failures + 1,
                },
                Change::None,
            ),
            (State::HalfOpen { .. }, Verdict::Failure) => (open(), Change::None),
            // A failure of an attempt started before the breaker opened.
            (State::Open { .. }, Verdict::Failure) => (d.state, Change::None),
            (State::HalfOpen { .. }, Verdict::Neutral) => {
                (State::HalfOpen { probing: false }, Change::None)
            }
            (s, Verdict::Neutral) => (s, Change::None),
        };
        let change = match (d.state, state) {
            (State::Open { .. }, State::Open { .. }) => change,
            (_, State::Open { until_ms }) => Change::Opened { until_ms },
            _ => change,
        };
        d.state = state;
        if d.in_flight == 0 && d.state == (State::Closed { failures: 0 }) {
            self.map.remove(origin);
        }
        change
    }

    /// Deliveries in flight to `origin`.
    #[cfg(test)]
    pub fn in_flight(&self, origin: &str) -> u32 {
        self.map.get(origin).map_or(0, |d| d.in_flight)
    }

    /// Destinations whose breaker is open and half open.
    pub fn breaker_counts(&self) -> (usize, usize) {
        self.map.values().fold((0, 0), |(o, h), d| match d.state {
            State::Open { .. } => (o + 1, h),
            State::HalfOpen { .. } => (o, h + 1),
            State::Closed { .. } => (o, h),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const O: &str = "https://hooks.example:443";

    fn destinations() -> Destinations {
        Destinations::new(Limits {
            per_destination: 2,
            failures: 3,
            cooldown_ms: 1_000,
        })
    }

    fn fail(d: &mut Destinations, now: i64) -> Change {
        d.started(O);
        d.finished(O, Verdict::Failure, now)
    }

    #[test]
    fn at_most_the_cap_is_in_flight_per_destination() {
        let mut d = destinations();
        assert_eq!(d.free(O, 0), 2);
        d.started(O);
        d.started(O);
        assert_eq!((d.free(O, 0), d.free("http://other:80", 0)), (0, 2));
        d.finished(O, Verdict::Success, 1);
        assert_eq!(d.free(O, 1), 1);
        d.finished(O, Verdict::Success, 1);
        assert_eq!(d.in_flight(O), 0);
        assert!(
            d.map.is_empty(),
            "an idle, healthy destination is forgotten"
        );
    }

    #[test]
    fn failures_in_a_row_open_it_and_one_probe_follows_the_cooldown() {
        let mut d = destinations();
        assert_eq!(fail(&mut d, 10), Change::None);
        d.started(O);
        assert_eq!(d.finished(O, Verdict::Success, 11), Change::None, "reset");
        assert_eq!(fail(&mut d, 20), Change::None);
        assert_eq!(fail(&mut d, 21), Change::None);
        assert_eq!(fail(&mut d, 22), Change::Opened { until_ms: 1_022 });
        assert_eq!(d.breaker_counts(), (1, 0));
        assert_eq!(
            (d.blocked_until(O, 1_021), d.free(O, 1_021)),
            (Some(1_022), 0)
        );
        // Half open: one probe at a time.
        assert_eq!(d.free(O, 1_022), 1);
        assert_eq!(d.breaker_counts(), (0, 1));
        d.started(O);
        assert_eq!(d.free(O, 1_022), 0, "the probe is in flight");
        // The probe fails: open again for a cool-down.
        assert_eq!(
            d.finished(O, Verdict::Failure, 1_500),
            Change::Opened { until_ms: 2_500 }
        );
        assert_eq!(d.free(O, 2_499), 0);
        assert_eq!(d.free(O, 2_500), 1);
        d.started(O);
        assert_eq!(d.finished(O, Verdict::Success, 2_600), Change::Closed);
        assert_eq!((d.free(O, 2_600), d.breaker_counts()), (2, (0, 0)));
    }

    #[test]
    fn a_refusal_is_neither_success_nor_failure() {
        let mut d = destinations();
        fail(&mut d, 1);
        fail(&mut d, 2);
        d.started(O);
        assert_eq!(d.finished(O, Verdict::Neutral, 3), Change::None);
        assert_eq!(fail(&mut d, 4), Change::Opened { until_ms: 1_004 });
        // A neutral probe lets another probe go.
        assert_eq!(d.free(O, 1_004), 1);
        d.started(O);
        d.finished(O, Verdict::Neutral, 1_005);
        assert_eq!(d.free(O, 1_005), 1);
    }
}
