//! Durable delivery across crashes (issue 15, Done-when): 1,000
//! notifications of ten tasks are queued through the relay while their
//! receiver is down (its port refuses connections); the gateway is killed
//! (SIGKILL) with all of them waiting, then restarted on the same data
//! directory with the receiver up. Once 300 have arrived the receiver holds
//! its answers and the gateway is killed again with those POSTs unanswered,
//! then restarted once more. Every notification arrives, in order per
//! task; a notification arrives twice only with the same `webhook-id`
//! (those held at the second kill do, by construction), and each has one
//! id of its own.
//!
//! Time: the gateways' clock is moved (the test clock file) past the leases
//! and the backoff instead of waiting for them; the test waits for events
//! (arrivals, the outbox's counts), never for time to pass.

use std::collections::{BTreeMap, BTreeSet};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::routing::post;
use serde_json::{Value, json};
use tokio::sync::watch;

use crate::support::{Running, Spy, WAIT, client, free_port, gateway, gateway_from_file};

const TASKS: u64 = 10;
const PER_TASK: u64 = 100;
/// Arrivals after which the receiver holds its answers (the second kill).
const HOLD_AFTER: usize = 300;

/// One POST as the receiver saw it.
#[derive(Debug, Clone)]
struct Arrival {
    id: String,
    task: String,
    n: u64,
}

/// The receiver's shared state: what arrived, and whether it holds its
/// answers (a POST that arrives after `hold_after` others, until released,
/// is recorded, then waits).
#[derive(Clone)]
struct Hooks {
    arrivals: Arc<Mutex<Vec<Arrival>>>,
    held: Arc<Mutex<usize>>,
    hold_after: usize,
    release: watch::Receiver<bool>,
}

impl Hooks {
    /// Hooks, and the way to release what they hold (and hold no more).
    fn new(hold_after: usize) -> (Self, watch::Sender<bool>) {
        let (release, released) = watch::channel(false);
        let hooks = Self {
            arrivals: Arc::new(Mutex::new(Vec::new())),
            held: Arc::new(Mutex::new(0)),
            hold_after,
            release: released,
        };
        (hooks, release)
    }
}

async fn hook(State(h): State<Hooks>, headers: HeaderMap, body: String) -> StatusCode {
    let v: Value = serde_json::from_str(&body).unwrap_or(Value::Null);
    let update = &v["statusUpdate"];
    let arrival = Arrival {
        id: headers
            .get("webhook-id")
            .and_then(|v| v.to_str().ok())
            .unwrap_or_default()
            .to_string(),
        task: update["taskId"].as_str().unwrap_or_default().to_string(),
        n: update["metadata"]["n"].as_u64().unwrap_or(0),
    };
    let hold = {
        let mut a = h.arrivals.lock().expect("lock");
        a.push(arrival);
        a.len() > h.hold_after
    };
    let mut release = h.release.clone();
    if hold && !*release.borrow() {
        *h.held.lock().expect("lock") += 1;
        let _ = release.wait_for(|r| *r).await;
    }
    StatusCode::OK
}

/// The receiver, listening on `port` from now on.
async fn receiver_on(port: u16, hooks: Hooks) {
    let listener = tokio::net::TcpListener::bind(("127.0.0.1", port))
        .await
        .expect("bind the receiver's port again");
    let app = axum::Router::new()
        .route("/hook", post(hook))
        .with_state(hooks);
    tokio::spawn(async move {
        let _ = axum::serve(listener, app).await;
    });
}

/// The outbox's counts (admin API).
async fn counts(w: &Running) -> Value {
    let (s, v) = w
        .admin_api(reqwest::Method::GET, "/push/counts", None)
        .await;
    assert_eq!(s, 200, "{v}");
    v
}

/// Waits until `f` holds, checking every 20 ms; fails after `WAIT`.
async fn until<F: FnMut() -> bool>(what: &str, mut f: F) {
    let deadline = tokio::time::Instant::now() + WAIT;
    while !f() {
        assert!(
            tokio::time::Instant::now() < deadline,
            "timed out waiting for {what}"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

/// `warden_push_deliveries_total{outcome}` at `w`.
async fn attempts(w: &Running, outcome: &str) -> u64 {
    let text = client()
        .get(format!("{}/metrics", w.admin))
        .send()
        .await
        .expect("metrics")
        .text()
        .await
        .expect("text");
    let line = format!("warden_push_deliveries_total{{outcome=\"{outcome}\"}} ");
    text.lines()
        .find_map(|l| l.strip_prefix(&line)?.parse().ok())
        .unwrap_or(0)
}

/// JSON-RPC v1.0 to the spy with an API key.
async fn rpc(w: &Running, key: &str, method: &str, params: Value) -> Value {
    let body = json!({"jsonrpc": "2.0", "id": 1, "method": method, "params": params});
    let r = client()
        .post(format!("{}/agents/spy", w.gateway))
        .header("A2A-Version", "1.0")
        .header("X-API-Key", key)
        .json(&body)
        .send()
        .await
        .expect("send");
    assert_eq!(r.status(), 200);
    r.json().await.expect("json")
}

/// Restarts the gateway of `dir` (its configuration file unchanged) and
/// moves its clock a minute on: past every lease (5 s), backoff (at most
/// 1 s) and breaker cool-down (1 s) the killed one left in the store.
async fn restart(dir: tempfile::TempDir) -> Running {
    let w = restart_unmoved(dir).await;
    w.advance_clock(60);
    w
}

#[tokio::test]
async fn a_killed_gateway_delivers_every_queued_notification_in_order_after_restart() {
    // The receiver's port, refusing connections until the receiver is up.
    let port = free_port();
    let hook_url = format!("http://127.0.0.1:{port}/hook");
    let spy = Spy::start_numbering_tasks().await;
    let w = gateway(&format!(
        "[egress]\nallow_http = true\nallowed_ports = [443, \"1024-65535\"]\n\
         allow_cidrs = [\"127.0.0.1/32\"]\n\
         [rate_limits]\nsource = {{ rate = \"off\" }}\n\
         [push]\nbackoff_base_ms = 50\nbackoff_max_ms = 1000\nbreaker_cooldown_secs = 1\n\
         delivery_timeout_ms = 2000\nper_destination_concurrency = 16\n\
         [[agents]]\nname = \"spy\"\nurl = \"{}\"\n",
        spy.url
    ))
    .await;
    let key = w.api_key().await;
    w.cli(&[
        "grant", "add", "--skills", "*", "--ops", "all", "tester", "spy",
    ])
    .await;

    // Ten tasks (the spy names them t1…t10), a push config each: the agent
    // (the test, from what the spy was sent) gets a relay URL and token.
    for _ in 0..TASKS {
        let v = rpc(
            &w,
            &key,
            "SendMessage",
            json!({"message": crate::support::user_message("x")}),
        )
        .await;
        assert!(v.get("result").is_some(), "{v}");
    }
    for t in 1..=TASKS {
        let v = rpc(
            &w,
            &key,
            "CreateTaskPushNotificationConfig",
            json!({"taskId": format!("t{t}"), "id": "cfg", "url": hook_url}),
        )
        .await;
        assert!(v.get("result").is_some(), "{v}");
    }
    let relays: BTreeMap<String, (String, String)> = spy
        .requests()
        .into_iter()
        .filter_map(|s| serde_json::from_slice::<Value>(&s.body).ok())
        .filter(|v| v["method"] == "CreateTaskPushNotificationConfig")
        .map(|v| {
            let p = &v["params"];
            let s = |k: &str| p[k].as_str().expect(k).to_string();
            (s("taskId"), (s("url"), s("token")))
        })
        .collect();
    assert_eq!(relays.len() as u64, TASKS);

    // 1,000 notifications, each task's in order (one at a time per task,
    // the tasks at once); each is in the store when its 202 comes.
    let mut posting = tokio::task::JoinSet::new();
    for (task, (url, token)) in relays.clone() {
        posting.spawn(async move {
            let http = client();
            for n in 1..=PER_TASK {
                let note = json!({"statusUpdate": {"taskId": task, "contextId": "c",
                    "status": {"state": "TASK_STATE_WORKING"}, "metadata": {"n": n}}});
                let r = http
                    .post(&url)
                    .header("X-A2A-Notification-Token", &token)
                    .json(&note)
                    .send()
                    .await
                    .expect("relay");
                assert_eq!(r.status(), 202, "{task} #{n}");
            }
        });
    }
    while let Some(done) = posting.join_next().await {
        done.expect("posting");
    }
    let c = counts(&w).await;
    assert_eq!(c["queued"], json!(TASKS * PER_TASK), "{c}");
    assert_eq!(c["delivered"], json!(0), "{c}");
    // The receiver is down: attempts fail (and are retried) meanwhile.
    let deadline = tokio::time::Instant::now() + WAIT;
    while attempts(&w, "retried").await < TASKS {
        assert!(tokio::time::Instant::now() < deadline, "no failed attempts");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }

    // Killed with everything queued; restarted with the receiver up.
    let dir = w.kill().await;
    let (hooks, release) = Hooks::new(HOLD_AFTER);
    receiver_on(port, hooks.clone()).await;
    let w = restart(dir).await;

    // Past 300 arrivals the receiver holds its answers; with several POSTs
    // held (received, never answered), the gateway is killed again.
    until("held POSTs", || *hooks.held.lock().expect("lock") >= 5).await;
    let dir = w.kill().await;
    let held: Vec<Arrival> = hooks.arrivals.lock().expect("lock")[HOLD_AFTER..].to_vec();
    let _ = release.send(true);
    let w = restart(dir).await;

    let total = (TASKS * PER_TASK) as usize;
    until("every notification", || {
        let a = hooks.arrivals.lock().expect("lock");
        a.iter()
            .map(|x| (&x.task, x.n))
            .collect::<BTreeSet<_>>()
            .len()
            >= total
    })
    .await;
    let deadline = tokio::time::Instant::now() + WAIT;
    while counts(&w).await["delivered"] != json!(total) {
        assert!(tokio::time::Instant::now() < deadline, "not all settled");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let c = counts(&w).await;
    assert_eq!((&c["queued"], &c["dead"]), (&json!(0), &json!(0)), "{c}");

    // Every (task, n) arrived with one id of its own; per task, in order,
    // a repeat only of the last one that arrived, with its id.
    let arrivals = hooks.arrivals.lock().expect("lock").clone();
    let mut ids: BTreeMap<(String, u64), String> = BTreeMap::new();
    let mut repeats = BTreeSet::new();
    for t in 1..=TASKS {
        let task = format!("t{t}");
        let mut last = 0;
        for a in arrivals.iter().filter(|a| a.task == task) {
            assert!(a.id.starts_with("msg_"), "{a:?}");
            match ids.get(&(task.clone(), a.n)) {
                None => {
                    assert_eq!(a.n, last + 1, "{task}: out of order at {a:?}");
                    last = a.n;
                    ids.insert((task.clone(), a.n), a.id.clone());
                }
                Some(first) => {
                    assert_eq!(&a.id, first, "{task} #{}: a repeat under another id", a.n);
                    assert_eq!(a.n, last, "{task}: an earlier one again after a later one");
                    repeats.insert(a.id.clone());
                }
            }
        }
        assert_eq!(last, PER_TASK, "{task}: not all arrived");
    }
    let distinct: BTreeSet<&String> = ids.values().collect();
    assert_eq!(distinct.len(), total, "an id shared by two notifications");
    // Those held at the second kill were never settled: sent again, with
    // their ids.
    for h in &held {
        assert!(repeats.contains(&h.id), "held, never sent again: {h:?}");
    }
    assert!(
        arrivals.len() - total >= held.len(),
        "{} repeats, {} held",
        arrivals.len() - total,
        held.len()
    );
}

/// SIGTERM (`warden gateway` stopping cleanly) with a delivery in flight to
/// a receiver that does not answer: the gateway exits after its grace
/// period, the delivery released in the store (pending, due, held by no
/// one, no attempt counted) rather than left to a lease of two minutes;
/// restarted, with the clock unmoved, it delivers everything at once.
#[tokio::test]
async fn a_stopped_gateway_releases_its_deliveries_for_the_restart() {
    let port = free_port();
    // Holds every POST until released.
    let (holding, release) = Hooks::new(0);
    receiver_on(port, holding.clone()).await;
    let hook_url = format!("http://127.0.0.1:{port}/hook");
    let spy = Spy::start_numbering_tasks().await;
    let w = gateway(&format!(
        "[egress]\nallow_http = true\nallowed_ports = [443, \"1024-65535\"]\n\
         allow_cidrs = [\"127.0.0.1/32\"]\n\
         [push]\ndelivery_timeout_ms = 60000\n\
         [[agents]]\nname = \"spy\"\nurl = \"{}\"\n",
        spy.url
    ))
    .await;
    let key = w.api_key().await;
    w.cli(&[
        "grant", "add", "--skills", "*", "--ops", "all", "tester", "spy",
    ])
    .await;
    let v = rpc(
        &w,
        &key,
        "SendMessage",
        json!({"message": crate::support::user_message("x")}),
    )
    .await;
    assert!(v.get("result").is_some(), "{v}");
    let v = rpc(
        &w,
        &key,
        "CreateTaskPushNotificationConfig",
        json!({"taskId": "t1", "id": "cfg", "url": hook_url}),
    )
    .await;
    assert!(v.get("result").is_some(), "{v}");
    let given = spy
        .requests()
        .into_iter()
        .filter_map(|s| serde_json::from_slice::<Value>(&s.body).ok())
        .find(|v| v["method"] == "CreateTaskPushNotificationConfig")
        .expect("the agent got a config");
    let (url, token) = (
        given["params"]["url"].as_str().expect("url").to_string(),
        given["params"]["token"]
            .as_str()
            .expect("token")
            .to_string(),
    );
    for n in 1..=3 {
        let note = json!({"statusUpdate": {"taskId": "t1", "contextId": "c",
            "status": {"state": "TASK_STATE_WORKING"}, "metadata": {"n": n}}});
        let r = client()
            .post(&url)
            .header("X-A2A-Notification-Token", &token)
            .json(&note)
            .send()
            .await
            .expect("relay");
        assert_eq!(r.status(), 202);
    }
    until("the first POST held", || {
        *holding.held.lock().expect("lock") == 1
    })
    .await;

    let dir = w.stop().await;
    let store = warden_store::Store::open(&dir.path().join("data").join("warden.db"))
        .await
        .expect("the stopped gateway's store");
    let page = store
        .outbox_list(&warden_store::NotificationFilter {
            limit: 10,
            ..Default::default()
        })
        .await
        .expect("list");
    let first = page
        .entries
        .iter()
        .find(|e| e.seq == 1)
        .expect("the first notification");
    assert_eq!(
        (
            first.state.as_str(),
            first.attempts,
            first.lease_owner.as_deref(),
            first.waiting
        ),
        ("pending", 0, None, false),
        "released, not left to its lease: {first:?}"
    );
    let now_ms = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .expect("time")
        .as_millis();
    assert!(
        u128::try_from(first.next_attempt_ms).expect("ms") <= now_ms,
        "due at once: {first:?}"
    );
    drop(store);

    // Restarted, the receiver answering: all three, the first again with
    // its id, long before the two-minute lease would have run out.
    let _ = release.send(true);
    let w = restart_unmoved(dir).await;
    until("three delivered", || {
        let a = holding.arrivals.lock().expect("lock");
        a.iter().map(|x| x.n).collect::<BTreeSet<_>>().len() == 3
    })
    .await;
    let got: Vec<(u64, String)> = holding
        .arrivals
        .lock()
        .expect("lock")
        .iter()
        .map(|a| (a.n, a.id.clone()))
        .collect();
    assert_eq!(
        got.iter().map(|(n, _)| *n).collect::<Vec<_>>(),
        [1, 1, 2, 3],
        "{got:?}"
    );
    assert_eq!(got[0].1, got[1].1, "the released one again, with its id");
    let deadline = tokio::time::Instant::now() + WAIT;
    while counts(&w).await["delivered"] != json!(3) {
        assert!(tokio::time::Instant::now() < deadline, "not all settled");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

/// Restarts the gateway of `dir` without moving its clock.
async fn restart_unmoved(dir: tempfile::TempDir) -> Running {
    let path = dir.path().join("warden.toml");
    gateway_from_file(dir, &path).await
}
