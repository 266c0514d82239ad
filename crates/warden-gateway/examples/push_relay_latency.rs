//! The latency Warden's relay adds to a push notification (issue 15;
//! bench/README.md, "push-relay-latency"): from the agent's POST to the
//! relay until the receiver has the notification, against the agent
//! POSTing to the receiver itself.
//!
//! The gateway (`GatewayState::open`: the relay, the SQLite outbox, the
//! delivery worker and deliverer — the destination judged by the egress
//! rules with a lookup, signed three ways) serves on loopback, the receiver
//! too, all in this process (the per-address limit raised: one address
//! posts everything). One notification at a time (the next is posted
//! once the receiver has the one before), `N` of them (default 2000) after
//! `WARMUP` (200):
//!
//! - `direct`: POST to the receiver, until its answer;
//! - `relay answer`: POST to `/push/{subscription}`, until the relay's 202
//!   (the notification checked and written to the store);
//! - `relay to receiver`: the same POST, until the receiver has it.
//!
//! ```sh
//! cargo run --release -p warden-gateway --example push_relay_latency
//! ```

use std::net::SocketAddr;
use std::time::{Duration, Instant};

use axum::Router;
use axum::body::Bytes;
use axum::extract::State;
use axum::http::StatusCode;
use axum::routing::post;
use tokio::sync::mpsc;
use warden_gateway::push::secrets::{self, Secrets};
use warden_gateway::{Config, GatewayState};
use warden_store::{PushSubscription, Store};

const TOKEN: &str = "wpr_bench-relay-token";

fn env(name: &str, default: usize) -> usize {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

async fn hook(State(tx): State<mpsc::UnboundedSender<Instant>>, _body: Bytes) -> StatusCode {
    let _ = tx.send(Instant::now());
    StatusCode::NO_CONTENT
}

async fn serve(app: Router) -> SocketAddr {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind");
    let addr = listener.local_addr().expect("addr");
    tokio::spawn(async move {
        axum::serve(
            listener,
            app.into_make_service_with_connect_info::<SocketAddr>(),
        )
        .await
    });
    addr
}

fn body(i: usize) -> String {
    format!(
        r#"{{"statusUpdate":{{"taskId":"task-1","contextId":"ctx-1","status":{{"state":"TASK_STATE_WORKING"}},"metadata":{{"n":{i}}}}}}}"#
    )
}

fn summary(name: &str, mut v: Vec<Duration>) {
    v.sort();
    let at = |q: f64| v[((v.len() as f64 * q) as usize).min(v.len() - 1)];
    let us = |d: Duration| d.as_secs_f64() * 1e6;
    println!(
        "{name:<18} n={:<5} p50={:>7.0} µs  p90={:>7.0} µs  p99={:>7.0} µs  max={:>7.0} µs",
        v.len(),
        us(at(0.5)),
        us(at(0.9)),
        us(at(0.99)),
        us(v[v.len() - 1])
    );
}

#[tokio::main]
async fn main() {
    let n = env("N", 2000);
    let warmup = env("WARMUP", 200);
    let (tx, mut got) = mpsc::unbounded_channel();
    let receiver = serve(Router::new().route("/hook", post(hook)).with_state(tx)).await;
    let url = format!("http://127.0.0.1:{}/hook", receiver.port());

    let dir = tempfile::tempdir().expect("dir");
    let text = format!(
        "[gateway]\ndata_dir = \"{}\"\n[egress]\nallow_http = true\n\
         allowed_ports = [\"1024-65535\"]\nallow_cidrs = [\"127.0.0.1/32\"]\n\
         [rate_limits]\nsource = {{ rate = \"100000/s\", burst = 100000 }}\n",
        dir.path().display()
    );
    let config = Config::parse(&text, std::path::Path::new("bench.toml")).expect("config");
    let store = Store::open(&dir.path().join("warden.db"))
        .await
        .expect("store");
    let kek_file = config.kek_file();
    let state = GatewayState::open(config, store.clone())
        .await
        .expect("gateway");
    // A subscription as registration makes one (sealed under the KEK the
    // gateway just made), with a relay token the bench knows.
    let kek = warden_authority::keys::load_kek(&kek_file).expect("kek");
    let id = secrets::new_subscription_id();
    let sealed = secrets::seal(
        &kek,
        &id,
        &Secrets {
            token: Some("caller-token".into()),
            scheme: None,
            credentials: None,
            secret: "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw".into(),
        },
    )
    .expect("seal");
    store
        .push_subscription_put(&PushSubscription {
            id: id.clone(),
            agent: "bench".into(),
            owner: "caller".into(),
            task_id: Some("task-1".into()),
            config_id: "c1".into(),
            url: url.clone(),
            config: "{}".into(),
            sealed,
            relay_hash: secrets::relay_hash(TOKEN),
            created_ms: 0,
        })
        .await
        .expect("subscription");
    let gateway = serve(warden_gateway::router(state)).await;
    let relay = format!("http://{gateway}/push/{id}");
    #[allow(clippy::disallowed_methods)] // the bench's own client, not Warden going out
    let client = reqwest::Client::builder()
        .no_proxy()
        .build()
        .expect("client");

    let (mut direct, mut answer, mut through) = (Vec::new(), Vec::new(), Vec::new());
    for i in 0..warmup + n {
        let t0 = Instant::now();
        let r = client
            .post(&url)
            .header("content-type", "application/json")
            .body(body(i))
            .send()
            .await
            .expect("direct");
        let t1 = Instant::now();
        assert!(r.status().is_success());
        got.recv().await.expect("receiver");
        let t2 = Instant::now();
        let r = client
            .post(&relay)
            .header("content-type", "application/json")
            .header("x-a2a-notification-token", TOKEN)
            .body(body(i))
            .send()
            .await
            .expect("relay");
        let t3 = Instant::now();
        assert_eq!(r.status(), 202, "{}", r.text().await.unwrap_or_default());
        let at = tokio::time::timeout(Duration::from_secs(10), got.recv())
            .await
            .expect("delivered within 10 s")
            .expect("receiver");
        if i >= warmup {
            direct.push(t1 - t0);
            answer.push(t3 - t2);
            through.push(at - t2);
        }
    }
    println!("{n} notifications, one at a time, after {warmup} to warm up (SQLite, loopback):");
    summary("direct", direct);
    summary("relay answer", answer);
    summary("relay to receiver", through);
}
