//! Sends and inbox reads per second through the mailbox on SQLite (issue
//! 16; bench/mailbox.sh). The `Mailbox` API itself — validation, Warden's
//! signature, the store's transaction (the writer's batches on SQLite) —
//! on a store file, without HTTP in front (the REST and MCP layers add
//! their own parsing and authentication).
//!
//! - `send`: `PRODUCERS` tasks send `N` messages in all, each with an
//!   idempotency key and two text parts, spread over `SENDERS` ×
//!   `RECIPIENTS` granted pairs. Reported: sends/s, latency p50/p99, CPU
//!   per send.
//! - `inbox`: `N` messages stored first (as `send` stores them), then
//!   `READERS` tasks list inboxes (a page of `PAGE`, alternately the first
//!   and the second page by cursor) for `SECS` seconds. Reported:
//!   listings/s, latency p50/p99.
//!
//! Environment: `MODE` (`send`, `inbox` or `both`), `N` (20000),
//! `PRODUCERS` (32), `READERS` (8), `SENDERS` (50), `RECIPIENTS` (50),
//! `PAGE` (20), `SECS` (10), `DIR` (a temporary directory), `RUNTIME`
//! (`multi`, tokio's default, or `current`: one thread).

use std::sync::Arc;
use std::time::{Duration, Instant};

use warden_a2a::types::Part;
use warden_mailbox::{GrantRequest, InboxQuery, KeySigner, Limits, Mailbox, SendRequest};
use warden_policy::ratelimit::Quota;
use warden_store::{RegisteredAgent, Store};
use warden_trust::{JwsAlg, SigningKey};

fn env(name: &str, default: u64) -> u64 {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

fn cpu_seconds() -> f64 {
    // utime + stime of this process, in clock ticks (100 a second).
    let stat = std::fs::read_to_string("/proc/self/stat").unwrap_or_default();
    let fields: Vec<&str> = stat
        .rsplit_once(')')
        .map(|(_, rest)| rest.split_whitespace().collect())
        .unwrap_or_default();
    let tick = |i: usize| {
        fields
            .get(i)
            .and_then(|v| v.parse::<f64>().ok())
            .unwrap_or(0.0)
    };
    (tick(11) + tick(12)) / 100.0
}

fn percentile(sorted: &[Duration], p: f64) -> Duration {
    if sorted.is_empty() {
        return Duration::ZERO;
    }
    sorted[((sorted.len() - 1) as f64 * p).round() as usize]
}

async fn open(dir: &std::path::Path, senders: u64, recipients: u64) -> Mailbox {
    let store = Store::open(&dir.join("warden.db")).await.expect("store");
    let quota = Quota::new(1_000_000, Duration::from_secs(1), 1_000_000).expect("quota");
    let limits = Limits {
        sender_rate: quota,
        pair_rate: quota,
        inbox_max_messages: 1_000_000,
        inbox_max_bytes: 1 << 40,
        ..Limits::default()
    };
    let key = Arc::new(SigningKey::generate(JwsAlg::EdDsa).expect("key"));
    let mb = Mailbox::new(store.clone(), Arc::new(KeySigner(key)), limits);
    for r in 0..recipients {
        let id = format!("recipient-{r}");
        store
            .put_agent(&RegisteredAgent {
                id: id.clone(),
                display_name: id.clone(),
                jwks: None,
                jwks_url: None,
                grants: "{}".into(),
                created_at: "2026-12-07T00:00:00.000Z".into(),
                tls_subject: None,
            })
            .await
            .expect("agent");
        for s in 0..senders {
            let g = GrantRequest {
                sender: Some(format!("sender-{s}")),
                ..GrantRequest::default()
            };
            mb.grant(&id, g).await.expect("grant");
        }
    }
    mb
}

fn message(i: u64, key: u64, senders: u64, recipients: u64) -> (String, SendRequest) {
    let from = format!("sender-{}", i % senders);
    let to = format!("recipient-{}", (i / senders) % recipients);
    let req = SendRequest {
        to,
        topic: Some("bench".into()),
        parts: Some(vec![
            Part::text(format!("message {i}: the build is green")),
            Part::text("a second part, as agents often send"),
        ]),
        idempotency_key: Some(format!("bench-{key}")),
        ..SendRequest::default()
    };
    (from, req)
}

/// Sends `n` messages from `producers` tasks; the latencies.
async fn send_all(
    mb: &Mailbox,
    n: u64,
    offset: u64,
    producers: u64,
    senders: u64,
    recipients: u64,
) -> Vec<Duration> {
    let mut tasks = Vec::new();
    for p in 0..producers {
        let mb = mb.clone();
        tasks.push(tokio::spawn(async move {
            let mut lat = Vec::new();
            let mut i = p;
            while i < n {
                let (from, req) = message(i, i + offset, senders, recipients);
                let t = Instant::now();
                mb.send(&from, req).await.expect("send");
                lat.push(t.elapsed());
                i += producers;
            }
            lat
        }));
    }
    let mut all = Vec::new();
    for t in tasks {
        all.extend(t.await.expect("producer"));
    }
    all.sort();
    all
}

async fn bench_send(dir: &std::path::Path) {
    let (n, producers) = (env("N", 20_000), env("PRODUCERS", 32));
    let (senders, recipients) = (env("SENDERS", 50), env("RECIPIENTS", 50));
    let mb = open(dir, senders, recipients).await;
    // Warm up (connections, the writer, page cache) on other keys.
    let warm = n / 20;
    send_all(&mb, warm, n, producers, senders, recipients).await;
    let cpu = cpu_seconds();
    let started = Instant::now();
    let lat = send_all(&mb, n, 0, producers, senders, recipients).await;
    let took = started.elapsed().as_secs_f64();
    let cpu = cpu_seconds() - cpu;
    println!(
        "| send | {n} sends, {producers} producers, {senders}x{recipients} pairs | {:.0}/s | p50 {:.2} ms, p99 {:.2} ms | {:.0} us CPU/send |",
        n as f64 / took,
        percentile(&lat, 0.5).as_secs_f64() * 1e3,
        percentile(&lat, 0.99).as_secs_f64() * 1e3,
        cpu / n as f64 * 1e6,
    );
}

async fn bench_inbox(dir: &std::path::Path) {
    let (n, readers, secs) = (env("N", 20_000), env("READERS", 8), env("SECS", 10));
    let (senders, recipients, page) = (env("SENDERS", 50), env("RECIPIENTS", 50), env("PAGE", 20));
    let mb = open(dir, senders, recipients).await;
    send_all(&mb, n, 0, 32, senders, recipients).await;
    let cpu = cpu_seconds();
    let started = Instant::now();
    let deadline = started + Duration::from_secs(secs);
    let mut tasks = Vec::new();
    for r in 0..readers {
        let mb = mb.clone();
        tasks.push(tokio::spawn(async move {
            let mut lat = Vec::new();
            let mut i = r;
            while Instant::now() < deadline {
                let me = format!("recipient-{}", i % recipients);
                let q = InboxQuery {
                    limit: Some(page as u32),
                    ..InboxQuery::default()
                };
                let t = Instant::now();
                let first = mb.inbox(&me, q.clone()).await.expect("inbox");
                lat.push(t.elapsed());
                if let Some(cursor) = first.next_cursor {
                    let t = Instant::now();
                    let next = InboxQuery {
                        cursor: Some(cursor),
                        ..q
                    };
                    mb.inbox(&me, next).await.expect("page 2");
                    lat.push(t.elapsed());
                }
                i += readers;
            }
            lat
        }));
    }
    let mut lat = Vec::new();
    for t in tasks {
        lat.extend(t.await.expect("reader"));
    }
    lat.sort();
    let took = started.elapsed().as_secs_f64();
    let cpu = cpu_seconds() - cpu;
    println!(
        "| inbox | pages of {page}, {readers} readers, {n} messages in {recipients} inboxes | {:.0}/s | p50 {:.2} ms, p99 {:.2} ms | {:.0} us CPU/listing |",
        lat.len() as f64 / took,
        percentile(&lat, 0.5).as_secs_f64() * 1e3,
        percentile(&lat, 0.99).as_secs_f64() * 1e3,
        cpu / lat.len().max(1) as f64 * 1e6,
    );
}

fn main() {
    // `RUNTIME=current`: one thread for the tasks (sqlx's SQLite threads
    // aside), to see the cost of waking tokio's workers.
    let runtime = match std::env::var("RUNTIME").as_deref() {
        Ok("current") => tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build(),
        _ => tokio::runtime::Builder::new_multi_thread()
            .enable_all()
            .build(),
    };
    runtime.expect("runtime").block_on(run());
}

async fn run() {
    let mode = std::env::var("MODE").unwrap_or_else(|_| "both".into());
    let tmp = tempfile::tempdir().expect("tempdir");
    let base = std::env::var("DIR").map_or_else(|_| tmp.path().to_path_buf(), Into::into);
    println!("| mode | load | rate | latency | cost |");
    println!("|---|---|---|---|---|");
    if mode == "send" || mode == "both" {
        let dir = base.join("send");
        std::fs::create_dir_all(&dir).expect("dir");
        bench_send(&dir).await;
    }
    if mode == "inbox" || mode == "both" {
        let dir = base.join("inbox");
        std::fs::create_dir_all(&dir).expect("dir");
        bench_inbox(&dir).await;
    }
}
