//! What one connection counted, and the summary line over all of them.
//!
//! The line has the fields and meaning of the wrk scripts' (see
//! bench/wrk/common.lua), so that bench/run.sh parses both alike:
//!
//! ```text
//! BENCH requests=… duration_us=… rps=… p50_us=… p90_us=… p99_us=… max_us=…
//!       connect=… read=… write=… status=… timeout=… checked=… bad=…
//! ```
//!
//! `requests` counts the responses received (whatever their status), as wrk
//! does; the latencies are theirs. `connect`: connections (TCP or TLS
//! handshake) that could not be made; `read`: requests that failed on an
//! established connection (an I/O or HTTP error, the connection closed);
//! `write` stays 0 (hyper does not tell a failed write from a failed read);
//! `status`: responses not 2xx; `timeout`: responses slower than --timeout;
//! `checked`: 2xx responses whose body was checked; `bad`: those that
//! failed the --expect / --reject check.

use std::time::Duration;

#[derive(Default)]
pub struct Counts {
    /// Microseconds per response, in the order they came.
    pub latencies_us: Vec<u32>,
    pub connect: u64,
    pub read: u64,
    pub status: u64,
    pub timeout: u64,
    pub checked: u64,
    pub bad: u64,
    /// The first failed response, for the log.
    pub first_bad: Option<String>,
}

impl Counts {
    pub fn merge(&mut self, other: Counts) {
        self.latencies_us.extend(other.latencies_us);
        self.connect += other.connect;
        self.read += other.read;
        self.status += other.status;
        self.timeout += other.timeout;
        self.checked += other.checked;
        self.bad += other.bad;
        self.first_bad = self.first_bad.take().or(other.first_bad);
    }

    /// Notes a failed response (or request) for the log, if it is the first.
    pub fn note(&mut self, what: impl FnOnce() -> String) {
        if self.first_bad.is_none() {
            self.first_bad = Some(what());
        }
    }

    /// The summary line(s): `BENCH …`, and `BENCH-FIRST-BAD …` after any
    /// failure.
    pub fn report(mut self, elapsed: Duration) -> String {
        self.latencies_us.sort_unstable();
        let n = self.latencies_us.len();
        let us = elapsed.as_micros().max(1);
        let p = |q| percentile(&self.latencies_us, q);
        let mut out = format!(
            "BENCH requests={n} duration_us={us} rps={:.1} p50_us={} p90_us={} p99_us={} max_us={} \
             connect={} read={} write=0 status={} timeout={} checked={} bad={}\n",
            n as f64 / (us as f64 / 1e6),
            p(50.0),
            p(90.0),
            p(99.0),
            self.latencies_us.last().copied().unwrap_or(0),
            self.connect,
            self.read,
            self.status,
            self.timeout,
            self.checked,
            self.bad,
        );
        if let Some(sample) = &self.first_bad {
            out += &format!("BENCH-FIRST-BAD {sample}\n");
        }
        out
    }
}

/// The nearest-rank percentile of sorted values (0 when there are none).
fn percentile(sorted: &[u32], q: f64) -> u32 {
    if sorted.is_empty() {
        return 0;
    }
    let rank = (q / 100.0 * sorted.len() as f64).ceil() as usize;
    sorted[rank.clamp(1, sorted.len()) - 1]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn nearest_rank() {
        let v: Vec<u32> = (1..=100).collect();
        assert_eq!(percentile(&v, 50.0), 50);
        assert_eq!(percentile(&v, 99.0), 99);
        assert_eq!(percentile(&[7], 99.0), 7);
        assert_eq!(percentile(&[], 50.0), 0);
        assert_eq!(percentile(&[1, 2, 3], 0.0), 1);
    }

    #[test]
    fn line_has_the_wrk_scripts_fields() {
        let c = Counts {
            latencies_us: vec![300, 100, 200],
            status: 1,
            ..Counts::default()
        };
        let line = c.report(Duration::from_secs(2));
        assert_eq!(
            line,
            "BENCH requests=3 duration_us=2000000 rps=1.5 p50_us=200 p90_us=300 p99_us=300 \
             max_us=300 connect=0 read=0 write=0 status=1 timeout=0 checked=0 bad=0\n"
        );
    }
}
