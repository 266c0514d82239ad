//! The worker against a real receiver (`receiver.rs`), posting through the
//! egress client, on a store file, with time on a clock the test moves:
//! nothing here waits for time to pass; it waits for events (polling a
//! condition with a deadline).

mod postgres;
mod receiver;
mod stop;

use std::collections::{BTreeMap, HashSet};
use std::future::Future;
use std::net::{IpAddr, Ipv4Addr};
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use http::{HeaderValue, Method, header};
use warden_egress::{Egress, EgressPolicy, Outbound};
use warden_store::{NewNotification, NotificationFilter, NotificationState, OutboxEntry, Store};

use self::receiver::{Got, Receiver, Reply};
use super::schedule::Jitter;
use super::{Deliver, DeliveryOutcome, Outbox, OutboxHandle, Settings};
use crate::clock::Clock;
use crate::config::PushSection;
use crate::metrics::Metrics;

const T0: u64 = 1_800_000_000_000;

/// A clock a test moves by hand, in milliseconds.
#[derive(Debug)]
pub(super) struct ManualClock(AtomicU64);

impl ManualClock {
    fn set(&self, ms: u64) {
        self.0.store(ms, Ordering::SeqCst);
    }
}

impl Clock for ManualClock {
    fn now_unix(&self) -> u64 {
        self.0.load(Ordering::SeqCst) / 1000
    }
    fn now_unix_ms(&self) -> u64 {
        self.0.load(Ordering::SeqCst)
    }
    fn now_instant(&self) -> Instant {
        Instant::now()
    }
    fn now_rfc3339(&self) -> String {
        String::new()
    }
}

/// The simplest real delivery: a POST through the egress client with the
/// entry's id in `webhook-id` (the gateway's own, `push::deliver`, also
/// signs it), its answer read as `push::deliver` reads it.
struct Post(Egress);

impl Deliver for Post {
    async fn deliver(&self, e: &OutboxEntry) -> DeliveryOutcome {
        let mut req = Outbound::new(Method::POST, e.destination.clone(), "push");
        let id = HeaderValue::from_str(e.id.as_str()).expect("id");
        req.headers.insert("webhook-id", id);
        let json = HeaderValue::from_static("application/json");
        req.headers.insert(header::CONTENT_TYPE, json);
        req.body = e.body.clone().into();
        let resp = match self.0.send(req).await {
            Ok(r) => r,
            Err(err) if err.is_refusal() => {
                return DeliveryOutcome::Permanent {
                    reason: err.to_string(),
                };
            }
            Err(err) => {
                return DeliveryOutcome::Retry {
                    after: None,
                    reason: err.to_string(),
                };
            }
        };
        let status = resp.status();
        let after = resp
            .headers()
            .get(header::RETRY_AFTER)
            .and_then(|v| v.to_str().ok()?.parse().ok())
            .map(Duration::from_secs);
        let _ = resp.bytes_capped(4096).await;
        match status.as_u16() {
            200..=299 => DeliveryOutcome::Delivered,
            408 | 429 | 500..=599 => DeliveryOutcome::Retry {
                after,
                reason: format!("HTTP {}", status.as_u16()),
            },
            _ => DeliveryOutcome::Permanent {
                reason: format!("HTTP {status}"),
            },
        }
    }
}

fn egress() -> Egress {
    let loopback = vec![IpAddr::V4(Ipv4Addr::LOCALHOST)];
    Egress::new(EgressPolicy {
        // Loopback over plain http: the receiver is this process.
        insecure_local_egress: true,
        resolve: [("a.test", &loopback), ("b.test", &loopback)]
            .into_iter()
            .map(|(n, a)| (n.to_string(), a.clone()))
            .collect(),
        ..EgressPolicy::default()
    })
    .expect("egress")
}

/// A worker on its own store handle, a receiver, one clock.
struct Rig {
    _dir: tempfile::TempDir,
    /// The store's URL: a SQLite file in `dir`, or a PostgreSQL schema.
    url: String,
    store: Store,
    clock: Arc<ManualClock>,
    metrics: Metrics,
    worker: Option<OutboxHandle>,
    receiver: Receiver,
    settings: Settings,
}

fn settings(push: &str) -> Settings {
    let section: PushSection = toml::from_str(push).expect("[push]");
    section.validate().expect("valid");
    let mut s = Settings::of(&section);
    s.schedule.jitter = Jitter::Bound;
    s
}

impl Rig {
    async fn new(push: &str) -> Self {
        let dir = tempfile::tempdir().expect("dir");
        let url = format!("sqlite://{}", dir.path().join("warden.db").display());
        Self::on(push, dir, url).await
    }

    async fn on(push: &str, dir: tempfile::TempDir, url: String) -> Self {
        let store = Store::open_url(&url).await.expect("store");
        let clock = Arc::new(ManualClock(AtomicU64::new(T0)));
        let receiver = Receiver::start(Arc::clone(&clock)).await;
        let mut rig = Self {
            _dir: dir,
            url,
            store,
            metrics: Metrics::new(),
            worker: None,
            receiver,
            settings: settings(push),
            clock,
        };
        rig.worker = Some(rig.start(rig.store.clone()));
        rig
    }

    fn start(&self, store: Store) -> OutboxHandle {
        Outbox::start(
            store,
            self.settings,
            Arc::clone(&self.clock) as Arc<dyn Clock>,
            self.metrics.push.clone(),
            Arc::new(Post(egress())),
        )
    }

    fn worker(&self) -> &OutboxHandle {
        self.worker.as_ref().expect("a worker")
    }

    async fn enqueue_to(&self, host: &str, task: &str, n: u64) -> String {
        let note = NewNotification {
            subscription_id: "sub-1".into(),
            task_id: task.into(),
            destination: self.receiver.url(host),
            body: format!(r#"{{"task":"{task}","n":{n}}}"#).into_bytes(),
            created_ms: i64::try_from(self.clock.now_unix_ms()).expect("ms"),
        };
        self.store
            .outbox_enqueue(&note)
            .await
            .expect("enqueue")
            .to_string()
    }

    async fn enqueue(&self, task: &str, n: u64) -> String {
        self.enqueue_to("a.test", task, n).await
    }

    /// Moves the clock to `T0 + ms` and waits for a pass that saw it.
    async fn at(&self, ms: u64) {
        self.clock.set(T0 + ms);
        self.pass().await;
    }

    /// Wakes the worker and waits for a pass that began after the wake-up
    /// (one in progress may have read the clock before): two passes, each
    /// after a wake-up.
    async fn pass(&self) {
        let mut passes = self.worker().passes();
        let seen = *passes.borrow_and_update();
        for more in 1..=2 {
            self.store.outbox_wake();
            let wait = passes.wait_for(|n| *n >= seen + more);
            tokio::time::timeout(Duration::from_secs(20), wait)
                .await
                .expect("a pass within 20 s")
                .expect("the worker runs");
        }
    }

    async fn entry(&self, id: &str) -> warden_store::NotificationRecord {
        self.store
            .outbox_get(id)
            .await
            .expect("get")
            .expect("entry")
            .0
    }

    fn counted(&self, outcome: &str) -> u64 {
        let text = self.metrics.render();
        let line = format!("warden_push_deliveries_total{{outcome=\"{outcome}\"}} ");
        text.lines()
            .find_map(|l| l.strip_prefix(&line)?.parse().ok())
            .unwrap_or(0)
    }
}

/// Waits until `f` holds, polling; fails after 20 s.
async fn until<F, Fut>(what: &str, mut f: F)
where
    F: FnMut() -> Fut,
    Fut: Future<Output = bool>,
{
    let deadline = Instant::now() + Duration::from_secs(20);
    while !f().await {
        assert!(Instant::now() < deadline, "timed out waiting for {what}");
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
}

/// The receiver's requests for `task`, as (n, id).
fn of_task(got: &[Got], task: &str) -> Vec<(u64, String)> {
    got.iter()
        .filter(|g| g.task == task)
        .map(|g| (g.n, g.id.clone()))
        .collect()
}

#[tokio::test]
async fn every_notification_is_delivered_once_in_order_per_task() {
    let rig = Rig::new("").await;
    let mut ids = BTreeMap::new();
    for n in 1..=5 {
        for task in ["t1", "t2", "t3"] {
            ids.insert((task, n), rig.enqueue(task, n).await);
        }
    }
    until("15 deliveries", || async { rig.counted("delivered") == 15 }).await;
    let got = rig.receiver.got();
    assert_eq!(got.len(), 15, "each once: {got:?}");
    for task in ["t1", "t2", "t3"] {
        let want: Vec<(u64, String)> = (1..=5).map(|n| (n, ids[&(task, n)].clone())).collect();
        assert_eq!(of_task(&got, task), want, "{task} in order, with its ids");
    }
    // Settled in the store after the metrics count them.
    until("15 settled", || async {
        let c = rig.store.outbox_counts().await.expect("counts");
        (c.delivered, c.pending, c.delivering, c.dead) == (15, 0, 0, 0)
    })
    .await;
    let text = rig.metrics.render();
    assert!(
        text.contains("warden_push_delivery_seconds_count 15"),
        "{text}"
    );
}

#[tokio::test]
async fn retries_back_off_on_the_clock_and_honour_retry_after() {
    let rig = Rig::new("backoff_base_ms = 1000\nbackoff_max_ms = 8000").await;
    rig.receiver.script(&[
        Reply::Status(500, None),
        Reply::Status(503, None),
        Reply::Status(429, Some(60)),
    ]);
    let id = rig.enqueue("t1", 1).await;
    let attempted = |n: i64| {
        let rig = &rig;
        let id = id.clone();
        async move { rig.entry(&id).await.attempts == n }
    };
    until("the first attempt", || attempted(1)).await;
    // Due again at T0 + 1 s (the first bound), not before.
    assert_eq!(rig.entry(&id).await.next_attempt_ms, (T0 + 1_000) as i64);
    rig.at(999).await;
    assert_eq!(rig.receiver.count(), 1, "not before its time");
    rig.at(1_000).await;
    until("the second attempt", || attempted(2)).await;
    assert_eq!(rig.entry(&id).await.next_attempt_ms, (T0 + 3_000) as i64);
    rig.at(3_000).await;
    until("the third attempt", || attempted(3)).await;
    // 429 with Retry-After: 60 s, above the backoff's 4 s bound.
    let e = rig.entry(&id).await;
    assert_eq!(e.next_attempt_ms, (T0 + 63_000) as i64);
    assert_eq!(e.last_error.as_deref(), Some("HTTP 429"));
    rig.at(62_999).await;
    assert_eq!(rig.receiver.count(), 3);
    rig.at(63_000).await;
    until("delivered", || async { rig.counted("delivered") == 1 }).await;
    let times: Vec<u64> = rig.receiver.got().iter().map(|g| g.at_ms - T0).collect();
    assert_eq!(times, [0, 1_000, 3_000, 63_000]);
    assert!(rig.receiver.got().iter().all(|g| g.id == id), "one id");
    assert_eq!(rig.counted("retried"), 3);
}

#[tokio::test]
async fn a_task_keeps_its_order_while_an_earlier_entry_retries() {
    let rig = Rig::new("backoff_base_ms = 1000\nbackoff_max_ms = 1000").await;
    // The first of task A fails twice; everything else is answered.
    rig.receiver.rule(|g, seen| {
        (g.task == "A" && g.n == 1 && seen < 2).then_some(Reply::Status(503, None))
    });
    let a1 = rig.enqueue("A", 1).await;
    let a2 = rig.enqueue("A", 2).await;
    let a3 = rig.enqueue("A", 3).await;
    let b1 = rig.enqueue("B", 1).await;
    until("b1 delivered", || async { rig.counted("delivered") == 1 }).await;
    until("a1 retried", || async {
        rig.entry(&a1).await.attempts == 1
    })
    .await;
    rig.pass().await;
    let got = rig.receiver.got();
    assert_eq!(
        of_task(&got, "B"),
        [(1, b1)],
        "another task is not held back"
    );
    assert_eq!(of_task(&got, "A"), [(1, a1.clone())], "a2 waits for a1");
    assert_eq!(rig.entry(&a2).await.attempts, 0);
    rig.at(1_000).await;
    until("a1 retried again", || async {
        rig.entry(&a1).await.attempts == 2
    })
    .await;
    assert_eq!(of_task(&rig.receiver.got(), "A").len(), 2);
    rig.at(2_000).await;
    until("all delivered", || async { rig.counted("delivered") == 4 }).await;
    let want = [(1, a1.clone()), (1, a1.clone()), (1, a1), (2, a2), (3, a3)];
    assert_eq!(of_task(&rig.receiver.got(), "A"), want);
}

#[tokio::test]
async fn at_most_the_cap_is_in_flight_to_one_destination() {
    let rig = Rig::new("per_destination_concurrency = 2\nmax_in_flight = 10").await;
    rig.receiver.mode(Reply::Hold);
    for t in 0..6 {
        rig.enqueue_to("a.test", &format!("a{t}"), 1).await;
    }
    for t in 0..3 {
        rig.enqueue_to("b.test", &format!("b{t}"), 1).await;
    }
    until("two held at each destination", || async {
        rig.receiver.in_flight("a.test") == 2 && rig.receiver.in_flight("b.test") == 2
    })
    .await;
    rig.pass().await;
    assert_eq!(rig.receiver.count(), 4, "no more than the cap at each");
    rig.receiver.release();
    until("all delivered", || async { rig.counted("delivered") == 9 }).await;
    assert_eq!(rig.receiver.most_in_flight("a.test"), 2);
    assert_eq!(rig.receiver.most_in_flight("b.test"), 2);
}

#[tokio::test]
async fn a_breaker_opens_after_failures_in_a_row_and_half_opens_with_one_probe() {
    let rig = Rig::new(
        "breaker_failures = 3\nbreaker_cooldown_secs = 30\nper_destination_concurrency = 1\n\
         backoff_base_ms = 1000\nbackoff_max_ms = 1000",
    )
    .await;
    rig.receiver.mode(Reply::Status(503, None));
    let mut ids = Vec::new();
    for t in 0..4 {
        ids.push(rig.enqueue(&format!("t{t}"), 1).await);
    }
    // One at a time (cap 1): three failures open the breaker.
    until("three failures", || async { rig.counted("retried") == 3 }).await;
    rig.pass().await;
    let text = rig.metrics.render();
    assert!(
        text.contains("warden_push_breakers{state=\"open\"} 1"),
        "{text}"
    );
    // Every pending entry of the destination waits out the cool-down.
    let open_until = (T0 + 30_000) as i64;
    until("postponed", || async {
        let page = rig
            .store
            .outbox_list(&NotificationFilter {
                state: Some(NotificationState::Pending),
                limit: 10,
                ..Default::default()
            })
            .await
            .expect("list");
        page.entries.len() == 4 && page.entries.iter().all(|e| e.next_attempt_ms >= open_until)
    })
    .await;
    rig.at(29_999).await;
    assert_eq!(rig.receiver.count(), 3, "nothing while open");
    // Half open: one probe, held by the receiver; nothing else goes.
    rig.receiver.mode(Reply::Hold);
    rig.at(30_000).await;
    until("the probe", || async { rig.receiver.count() == 4 }).await;
    rig.pass().await;
    assert_eq!(rig.receiver.count(), 4, "one probe at a time");
    let text = rig.metrics.render();
    assert!(
        text.contains("warden_push_breakers{state=\"half_open\"} 1"),
        "{text}"
    );
    rig.receiver.release();
    // The probe's success closes it: everything goes (the entries whose
    // retries fell in the cool-down are due at its end).
    until("all delivered", || async { rig.counted("delivered") == 4 }).await;
    rig.pass().await;
    let text = rig.metrics.render();
    assert!(
        text.contains("warden_push_breakers{state=\"open\"} 0")
            && text.contains("warden_push_breakers{state=\"half_open\"} 0"),
        "{text}"
    );
}

#[tokio::test]
async fn an_entry_is_dead_after_the_horizon_or_its_attempts_or_a_refusal() {
    let rig = Rig::new(
        "dead_after_secs = 10\nmax_attempts = 50\nbackoff_base_ms = 1000\nbackoff_max_ms = 60000\n\
         breaker_failures = 100",
    )
    .await;
    rig.receiver
        .rule(|g, _| (g.task == "gone").then_some(Reply::Status(404, None)));
    rig.receiver.mode(Reply::Status(500, None));
    let id = rig.enqueue("t1", 1).await;
    let gone = rig.enqueue("gone", 1).await;
    until("the refusal is dead", || async {
        rig.entry(&gone).await.state == "dead"
    })
    .await;
    assert_eq!(
        rig.entry(&gone).await.last_error.as_deref(),
        Some("HTTP 404 Not Found")
    );
    // Attempts at 0, 1, 3, 7 s; the next bound (8 s) would pass the 10 s
    // horizon, so the last attempt is made at it.
    for (i, at) in [1_000u64, 3_000, 7_000, 10_000].into_iter().enumerate() {
        let n = i64::try_from(i).expect("small") + 1;
        until("an attempt", || async {
            rig.entry(&id).await.attempts == n
        })
        .await;
        assert_eq!(rig.entry(&id).await.next_attempt_ms, (T0 + at) as i64);
        rig.at(at).await;
    }
    until("dead", || async { rig.entry(&id).await.state == "dead" }).await;
    let e = rig.entry(&id).await;
    assert_eq!(e.attempts, 5);
    assert!(
        e.last_error
            .as_deref()
            .is_some_and(|m| m.contains("push.dead_after_secs")),
        "{e:?}"
    );
    assert_eq!(rig.counted("dead"), 2);

    // An admin retry: pending again with a fresh horizon, delivered now.
    rig.receiver.mode(Reply::Ok);
    let retried = rig
        .store
        .outbox_retry(&id, (T0 + 10_000) as i64)
        .await
        .expect("retry");
    assert_eq!(retried, warden_store::Retried::Queued);
    until("delivered after the retry", || async {
        rig.entry(&id).await.state == "delivered"
    })
    .await;

    // max_attempts: two failures and it is dead.
    let rig = Rig::new("max_attempts = 2\nbackoff_base_ms = 1000\nbackoff_max_ms = 1000").await;
    rig.receiver.mode(Reply::Status(502, None));
    let id = rig.enqueue("t1", 1).await;
    until("one failure", || async {
        rig.entry(&id).await.attempts == 1
    })
    .await;
    rig.at(1_000).await;
    until("dead", || async { rig.entry(&id).await.state == "dead" }).await;
    let e = rig.entry(&id).await;
    assert!(
        e.last_error
            .as_deref()
            .is_some_and(|m| m.contains("push.max_attempts")),
        "{e:?}"
    );
}

#[tokio::test]
async fn a_worker_killed_mid_delivery_leaves_its_leases_to_another() {
    killed_mid_delivery(Rig::new(KILLED).await).await;
}

/// The same with the store on PostgreSQL (a schema of its own): the second
/// worker is another gateway's, claiming with `FOR UPDATE SKIP LOCKED`.
#[tokio::test]
async fn on_postgres_a_killed_workers_leases_go_to_another_gateway() {
    let schema = postgres::Schema::create().await;
    let dir = tempfile::tempdir().expect("dir");
    killed_mid_delivery(Rig::on(KILLED, dir, schema.url()).await).await;
    schema.drop().await;
}

const KILLED: &str = "delivery_timeout_ms = 5000";

async fn killed_mid_delivery(mut rig: Rig) {
    rig.receiver.mode(Reply::Hold);
    let mut ids = BTreeMap::new();
    for n in 1..=3 {
        for t in 0..5 {
            let task = format!("t{t}");
            ids.insert((task.clone(), n), rig.enqueue(&task, n).await);
        }
    }
    until("five held", || async { rig.receiver.count() == 5 }).await;
    // Killed while the receiver holds its five POSTs; the receiver then
    // answers 200 to a worker that is gone (delivered, never settled).
    rig.worker.take().expect("worker").abort().await;
    rig.receiver.release();
    let other = Store::open_url(&rig.url)
        .await
        .expect("a second gateway's store");
    rig.worker = Some(rig.start(other.clone()));
    rig.store = other;
    rig.pass().await;
    assert_eq!(rig.receiver.count(), 5, "leased by the dead worker");
    // The lease: twice the delivery timeout plus a second.
    rig.at(11_000).await;
    until("all delivered", || async { rig.counted("delivered") == 15 }).await;
    let got = rig.receiver.got();
    let distinct: HashSet<&str> = got.iter().map(|g| g.id.as_str()).collect();
    assert_eq!((got.len(), distinct.len()), (20, 15), "five twice: {got:?}");
    for t in 0..5 {
        let task = format!("t{t}");
        let id = |n: u64| ids[&(task.clone(), n)].clone();
        let want = [(1, id(1)), (1, id(1)), (2, id(2)), (3, id(3))];
        assert_eq!(
            of_task(&got, &task),
            want,
            "{task}: in order, the duplicate with its id"
        );
    }
    rig.worker.take().expect("worker").stop().await;
    assert_eq!(
        rig.store.outbox_counts().await.expect("counts").delivered,
        15
    );
}

#[tokio::test]
async fn a_dropped_handle_leaves_the_worker_running_without_spinning() {
    let mut rig = Rig::new("").await;
    let passes = rig.worker().passes();
    drop(rig.worker.take());
    rig.enqueue("t1", 1).await;
    until("delivered", || async { rig.counted("delivered") == 1 }).await;
    // Each pass follows a wake-up, a finished delivery or the poll: a few,
    // not the thousands of a loop that spins on the dropped handle.
    assert!(*passes.borrow() < 50, "{} passes", *passes.borrow());
}
