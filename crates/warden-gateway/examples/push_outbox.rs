//! Sustained push deliveries per second from the durable outbox on SQLite
//! (issue 15; bench/README.md, "push-outbox"). The gateway's own delivery
//! worker and deliverer (`GatewayState::open` starts them: signed with the
//! subscription's secret and Warden's webhook key, the destination judged
//! by the egress rules) deliver to a receiver on loopback in this process.
//!
//! Two measurements, one SQLite store file each:
//!
//! - `drain`: `N` notifications are queued before the gateway starts; the
//!   time from its start until the receiver has every one.
//! - `steady`: the gateway runs while producers queue `RATE` notifications
//!   a second for `SECS` seconds, each `Store::outbox_enqueue` as the relay
//!   makes it; the delivered rate, the queue left at the end, and the time
//!   from enqueue to the receiver.
//!
//! ```sh
//! cargo run --release -p warden-gateway --example push_outbox
//! N=50000 TASKS=500 RATE=3000 SECS=30 CONCURRENCY=16 \
//!   cargo run --release -p warden-gateway --example push_outbox
//! ```
//!
//! Environment: `MODE` (`drain`, `steady` or `both`, the default; or
//! `drain-plain`: the drain with the outbox and its worker alone, an
//! unsigned POST per notification, to tell their cost from the
//! deliverer's; or `sign`: the deliverer's opening of a subscription and
//! its signing alone, one thread, no I/O), `N`
//! (20000), `TASKS` (notifications are spread over this many tasks, 200:
//! each task's are delivered in order, one at a time), `RATE` (2500),
//! `SECS` (20), `PRODUCERS` (4), `CONCURRENCY` (`push.per_destination_concurrency`, 32),
//! `MAX_IN_FLIGHT` (`push.max_in_flight`, 256). The receiver checks that
//! every request is signed (`webhook-signature`) and counts the ones that
//! are not. CPU is this process's (worker, SQLite and receiver together).

use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use axum::Router;
use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::routing::post;
use tokio::sync::Mutex;
use warden_gateway::push::outbox::{Deliver, DeliveryOutcome, Outbox, Settings};
use warden_gateway::push::secrets::{self, Secrets};
use warden_gateway::{Config, GatewayState};
use warden_store::{NewNotification, OutboxEntry, PushSubscription, Store};

fn env(name: &str, default: u64) -> u64 {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

/// What the receiver saw.
#[derive(Default)]
struct Seen {
    count: AtomicU64,
    unsigned: AtomicU64,
    /// Enqueue-to-receipt, microseconds (steady mode).
    latencies: Mutex<Vec<u64>>,
}

struct Receiver {
    seen: Arc<Seen>,
    started: Instant,
}

async fn hook(State(r): State<Arc<Receiver>>, headers: HeaderMap, body: Bytes) -> StatusCode {
    if headers.get("webhook-signature").is_none() {
        r.seen.unsigned.fetch_add(1, Ordering::Relaxed);
    }
    // The producer put its enqueue time (µs since the start) in the body.
    let sent = body
        .windows(8)
        .position(|w| w == b"\"sentUs\"")
        .and_then(|at| {
            let rest = &body[at + 9..];
            let end = rest.iter().position(|b| !b.is_ascii_digit())?;
            std::str::from_utf8(&rest[..end]).ok()?.parse::<u64>().ok()
        });
    if let Some(sent) = sent {
        let now = u64::try_from(r.started.elapsed().as_micros()).unwrap_or(u64::MAX);
        r.seen.latencies.lock().await.push(now.saturating_sub(sent));
    }
    r.seen.count.fetch_add(1, Ordering::Relaxed);
    StatusCode::NO_CONTENT
}

async fn receiver(started: Instant) -> (SocketAddr, Arc<Seen>) {
    let seen = Arc::new(Seen::default());
    let state = Arc::new(Receiver {
        seen: Arc::clone(&seen),
        started,
    });
    let app = Router::new().route("/hook", post(hook)).with_state(state);
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind");
    let addr = listener.local_addr().expect("addr");
    tokio::spawn(async move { axum::serve(listener, app).await });
    (addr, seen)
}

/// This process's CPU time (user + system), from /proc.
fn cpu() -> Duration {
    let stat = std::fs::read_to_string("/proc/self/stat").unwrap_or_default();
    let after = stat.rsplit(')').next().unwrap_or_default();
    let f: Vec<u64> = after
        .split_whitespace()
        .map(|x| x.parse().unwrap_or(0))
        .collect();
    // Fields 14 and 15 of the file; 12 and 13 after the command name.
    let ticks = f.get(11).copied().unwrap_or(0) + f.get(12).copied().unwrap_or(0);
    Duration::from_millis(ticks * 10)
}

fn config(dir: &std::path::Path) -> Config {
    let text = format!(
        "[gateway]\ndata_dir = \"{}\"\n[egress]\ninsecure_local_egress = true\n\
         [push]\nper_destination_concurrency = {}\nmax_in_flight = {}\n",
        dir.display(),
        env("CONCURRENCY", 32),
        env("MAX_IN_FLIGHT", 256),
    );
    Config::parse(&text, std::path::Path::new("bench.toml")).expect("config")
}

/// A subscription to `url`, sealed under the data directory's
/// key-encryption key (made there when missing), as the gateway seals one.
async fn subscribe(store: &Store, config: &Config, url: &str) -> String {
    let kek = warden_authority::keys::load_kek(&config.kek_file()).expect("kek");
    let id = secrets::new_subscription_id();
    let s = Secrets {
        token: Some("bench-caller-token".into()),
        scheme: None,
        credentials: None,
        secret: "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw".into(),
    };
    let sealed = secrets::seal(&kek, &id, &s).expect("seal");
    let sub = PushSubscription {
        id: id.clone(),
        agent: "bench".into(),
        owner: "bench-caller".into(),
        task_id: None,
        config_id: "c1".into(),
        url: url.into(),
        config: format!(r#"{{"url":"{url}"}}"#),
        sealed,
        relay_hash: secrets::relay_hash("unused"),
        created_ms: 0,
    };
    store.push_subscription_put(&sub).await.expect("put");
    id
}

fn note(sub: &str, url: &str, task: u64, sent_us: u64, created_ms: i64) -> NewNotification {
    let body = format!(
        r#"{{"statusUpdate":{{"taskId":"task-{task}","contextId":"ctx-{task}","status":{{"state":"TASK_STATE_WORKING","timestamp":"2026-12-07T12:00:00.000Z"}},"metadata":{{"sentUs":{sent_us}}}}}}}"#
    );
    NewNotification {
        subscription_id: sub.into(),
        task_id: format!("task-{task}"),
        destination: url.into(),
        body: body.into_bytes(),
        created_ms,
    }
}

fn now_ms() -> i64 {
    i64::try_from(warden_gateway::clock::SystemClock.now_unix_ms()).unwrap_or(0)
}

use warden_gateway::clock::Clock as _;

async fn wait_for(seen: &Seen, n: u64, limit: Duration) -> bool {
    let until = Instant::now() + limit;
    while seen.count.load(Ordering::Relaxed) < n {
        if Instant::now() > until {
            return false;
        }
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    true
}

async fn drain() {
    let n = env("N", 20_000);
    let tasks = env("TASKS", 200);
    let started = Instant::now();
    let (addr, seen) = receiver(started).await;
    let url = format!("http://127.0.0.1:{}/hook", addr.port());
    let dir = tempfile::tempdir().expect("dir");
    let store = Store::open(&dir.path().join("warden.db"))
        .await
        .expect("store");
    let sub = subscribe(&store, &config(dir.path()), &url).await;
    let fill = Instant::now();
    for i in 0..n {
        store
            .outbox_enqueue(&note(&sub, &url, i % tasks, 0, now_ms()))
            .await
            .expect("enqueue");
    }
    let fill = fill.elapsed();
    let cpu0 = cpu();
    let t0 = Instant::now();
    let _state = GatewayState::open(config(dir.path()), store)
        .await
        .expect("gateway");
    let done = wait_for(&seen, n, Duration::from_secs(600)).await;
    let took = t0.elapsed();
    let cpu = cpu() - cpu0;
    println!("## drain: {n} notifications queued, then delivered\n");
    println!("| | |\n|---|---|");
    println!(
        "| queued | {n} over {tasks} tasks in {:.2} s ({:.0}/s, one enqueue at a time) |",
        fill.as_secs_f64(),
        n as f64 / fill.as_secs_f64()
    );
    println!(
        "| delivered | {} in {:.2} s: **{:.0}/s**{} |",
        seen.count.load(Ordering::Relaxed),
        took.as_secs_f64(),
        seen.count.load(Ordering::Relaxed) as f64 / took.as_secs_f64(),
        if done {
            ""
        } else {
            " (stopped: not all arrived)"
        }
    );
    println!(
        "| CPU (this process) | {:.2} s: {:.0} µs per delivery |",
        cpu.as_secs_f64(),
        cpu.as_secs_f64() * 1e6 / n as f64
    );
    println!(
        "| unsigned requests | {} |\n",
        seen.unsigned.load(Ordering::Relaxed)
    );
}

async fn steady() {
    let rate = env("RATE", 2_500);
    let secs = env("SECS", 20);
    let tasks = env("TASKS", 200);
    let producers = env("PRODUCERS", 4).max(1);
    let started = Instant::now();
    let (addr, seen) = receiver(started).await;
    let url = format!("http://127.0.0.1:{}/hook", addr.port());
    let dir = tempfile::tempdir().expect("dir");
    let store = Store::open(&dir.path().join("warden.db"))
        .await
        .expect("store");
    let sub = subscribe(&store, &config(dir.path()), &url).await;
    let _state = GatewayState::open(config(dir.path()), store.clone())
        .await
        .expect("gateway");
    let queued = Arc::new(AtomicU64::new(0));
    let cpu0 = cpu();
    let t0 = Instant::now();
    let window = Duration::from_secs(secs);
    let mut handles = Vec::new();
    for p in 0..producers {
        let (store, url, sub, queued) =
            (store.clone(), url.clone(), sub.clone(), Arc::clone(&queued));
        handles.push(tokio::spawn(async move {
            // Each producer queues its share in 10 ms steps.
            let per_step = rate as f64 / producers as f64 / 100.0;
            let mut owed = 0.0;
            let mut tick = tokio::time::interval(Duration::from_millis(10));
            let mut i = p;
            while t0.elapsed() < window {
                tick.tick().await;
                owed += per_step;
                while owed >= 1.0 {
                    owed -= 1.0;
                    let sent = u64::try_from(started.elapsed().as_micros()).unwrap_or(0);
                    let n = note(&sub, &url, i % tasks, sent, now_ms());
                    store.outbox_enqueue(&n).await.expect("enqueue");
                    queued.fetch_add(1, Ordering::Relaxed);
                    i += producers;
                }
            }
        }));
    }
    for h in handles {
        h.await.expect("producer");
    }
    let at_end = seen.count.load(Ordering::Relaxed);
    let elapsed = t0.elapsed();
    let cpu = cpu() - cpu0;
    let total = queued.load(Ordering::Relaxed);
    let backlog = store.outbox_queued().await.expect("queued");
    let done = wait_for(&seen, total, Duration::from_secs(300)).await;
    let mut lat = seen.latencies.lock().await.clone();
    lat.sort_unstable();
    let pct = |p: f64| {
        lat.get(((lat.len() as f64 * p) as usize).min(lat.len().saturating_sub(1)))
            .map_or(0.0, |us| *us as f64 / 1000.0)
    };
    println!("## steady: {rate}/s queued for {secs} s while the gateway delivers\n");
    println!("| | |\n|---|---|");
    println!(
        "| queued | {total} in {:.2} s ({:.0}/s, {producers} producers, {tasks} tasks) |",
        elapsed.as_secs_f64(),
        total as f64 / elapsed.as_secs_f64()
    );
    println!(
        "| delivered in the window | {at_end}: **{:.0}/s** |",
        at_end as f64 / elapsed.as_secs_f64()
    );
    println!("| left in the queue at the end | {backlog} |");
    println!(
        "| enqueue to receiver (ms) | p50 {:.1}, p90 {:.1}, p99 {:.1}, max {:.1}{} |",
        pct(0.5),
        pct(0.9),
        pct(0.99),
        pct(1.0),
        if done { "" } else { " (not all arrived)" }
    );
    println!(
        "| CPU in the window (this process) | {:.2} s: {:.0} µs per delivery, {:.0} % of one core |",
        cpu.as_secs_f64(),
        cpu.as_secs_f64() * 1e6 / at_end.max(1) as f64,
        cpu.as_secs_f64() * 100.0 / elapsed.as_secs_f64()
    );
    println!(
        "| unsigned requests | {} |\n",
        seen.unsigned.load(Ordering::Relaxed)
    );
}

/// The outbox and its worker alone: a plain POST per notification (no
/// subscription read, no signing), to tell the outbox's cost from the
/// deliverer's.
struct PlainPost(warden_egress::Egress);

impl Deliver for PlainPost {
    async fn deliver(&self, e: &OutboxEntry) -> DeliveryOutcome {
        let mut req =
            warden_egress::Outbound::new(http::Method::POST, e.destination.clone(), "push");
        req.body = e.body.clone().into();
        match self.0.send(req).await {
            Ok(r) if r.status().is_success() => {
                let _ = r.bytes_capped(4096).await;
                DeliveryOutcome::Delivered
            }
            Ok(r) => DeliveryOutcome::Retry {
                after: None,
                reason: r.status().to_string(),
            },
            Err(e) => DeliveryOutcome::Retry {
                after: None,
                reason: e.to_string(),
            },
        }
    }
}

async fn drain_plain() {
    let n = env("N", 20_000);
    let tasks = env("TASKS", 200);
    let started = Instant::now();
    let (addr, seen) = receiver(started).await;
    let url = format!("http://127.0.0.1:{}/hook", addr.port());
    let dir = tempfile::tempdir().expect("dir");
    let store = Store::open(&dir.path().join("warden.db"))
        .await
        .expect("store");
    for i in 0..n {
        store
            .outbox_enqueue(&note("sub", &url, i % tasks, 0, now_ms()))
            .await
            .expect("enqueue");
    }
    let config = config(dir.path());
    let egress = warden_egress::Egress::new(config.egress.clone()).expect("egress");
    let cpu0 = cpu();
    let t0 = Instant::now();
    let worker = Outbox::start(
        store,
        Settings::of(&config.push),
        Arc::new(warden_gateway::clock::SystemClock),
        warden_gateway::metrics::Metrics::new().push,
        Arc::new(PlainPost(egress)),
    );
    let done = wait_for(&seen, n, Duration::from_secs(600)).await;
    let took = t0.elapsed();
    let cpu = cpu() - cpu0;
    worker.stop().await;
    println!(
        "## drain-plain: the outbox and worker alone (unsigned POSTs, no subscription read)\n"
    );
    println!("| | |\n|---|---|");
    println!(
        "| delivered | {} in {:.2} s: **{:.0}/s**{} |",
        seen.count.load(Ordering::Relaxed),
        took.as_secs_f64(),
        seen.count.load(Ordering::Relaxed) as f64 / took.as_secs_f64(),
        if done {
            ""
        } else {
            " (stopped: not all arrived)"
        }
    );
    println!(
        "| CPU (this process) | {:.2} s: {:.0} µs per delivery |\n",
        cpu.as_secs_f64(),
        cpu.as_secs_f64() * 1e6 / n as f64
    );
}

/// The deliverer's own CPU per notification, one thread, no I/O: opening
/// a subscription (unsealing its secrets, reading the `whsec_` secret and
/// the credential) and signing an attempt (`v1` HMAC, `v1a` Ed25519 and
/// the JWT, itself Ed25519), each `N` times.
fn sign() {
    use warden_trust::{JwsAlg, SigningKey};
    use warden_webhooks::{Notification, Signer, SubscriptionSecret};
    let n = env("N", 20_000);
    let kek =
        warden_trust::seal::Kek::from_text(&warden_trust::seal::Kek::generate_text().expect("kek"))
            .expect("kek");
    let s = Secrets {
        token: Some("bench-caller-token".into()),
        scheme: None,
        credentials: None,
        secret: "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw".into(),
    };
    let sealed = secrets::seal(&kek, "sub_1", &s).expect("seal");
    let t0 = Instant::now();
    for _ in 0..n {
        let s = secrets::open(&kek, "sub_1", &sealed).expect("open");
        let secret = SubscriptionSecret::parse(&s.secret).expect("secret");
        let h = warden_webhooks::credential::Registered {
            token: s.token.as_deref(),
            scheme: s.scheme.as_deref(),
            credentials: s.credentials.as_deref(),
        }
        .headers()
        .expect("headers");
        std::hint::black_box((secret, h));
    }
    let open = t0.elapsed();
    let key = SigningKey::generate(JwsAlg::EdDsa).expect("key");
    let key = SigningKey::from_pkcs8(JwsAlg::EdDsa, key.pkcs8(), Some("webhook-1")).expect("key");
    let secret = [SubscriptionSecret::parse(&s.secret).expect("secret")];
    let signer = Signer::new("https://warden.example");
    let body = note("sub_1", "http://127.0.0.1:9/hook", 7, 0, 0).body;
    let t1 = Instant::now();
    for i in 0..n {
        let id = format!("msg_{i:032x}");
        let note = Notification {
            id: &id,
            body: &body,
            url: "http://127.0.0.1:9/hook",
            task_id: "task-7",
        };
        std::hint::black_box(
            signer
                .sign(&note, &secret, &key, 1_796_000_000)
                .expect("sign"),
        );
    }
    let signing = t1.elapsed();
    println!("## sign: the deliverer's own work, one thread, {n} times\n");
    println!("| | per notification |\n|---|---|");
    println!(
        "| open a subscription (unseal, parse, credential) | {:.1} µs |",
        open.as_secs_f64() * 1e6 / n as f64
    );
    println!(
        "| sign an attempt (`v1`, `v1a`, JWT) | {:.1} µs |\n",
        signing.as_secs_f64() * 1e6 / n as f64
    );
}

#[tokio::main]
async fn main() {
    let mode = std::env::var("MODE").unwrap_or_else(|_| "both".into());
    if mode == "sign" {
        sign();
    }
    if mode == "drain-plain" {
        drain_plain().await;
    }
    if mode == "drain" || mode == "both" {
        drain().await;
    }
    if mode == "steady" || mode == "both" {
        steady().await;
    }
}
