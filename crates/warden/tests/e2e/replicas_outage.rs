//! Three gateways sharing one PostgreSQL store and one Redis, each service
//! stopped mid-run and started again, the gateways never restarted (issue
//! 14's done-when on outages).
//!
//! - **Redis stops**: strict bearer calls are refused with 503 and
//!   `Retry-After` at all three, and nothing reaches the agent (the replay
//!   check cannot be made); `/readyz` says Redis. Redis starts again (empty,
//!   same port): every replica serves by itself, a token is single-use
//!   across replicas again.
//! - **PostgreSQL stops**: within `store.max_stale_secs` (here
//!   `MAX_STALE`), a call memory can decide is served (a task whose owner
//!   the replica holds); `/readyz` turns 503 at all three, naming the store;
//!   a message is refused at every replica before it reaches the agent (its
//!   task's owner could not be written), and a task whose owner a replica
//!   does not hold is refused with 503 (never answered as missing, never
//!   opened to the caller). Beyond the bound every call is refused with
//!   503, counted in `warden_store_unavailable_total{what}`.
//! - **PostgreSQL starts again**: `/readyz` is 200 at all three with the
//!   change listener connected again; a task created after the return is
//!   visible at the other replicas (its owner written and read back), a
//!   quarantine made through one replica reaches the others, and the audit
//!   events of refusals made during the outage were kept and written.
//!
//! The PostgreSQL cluster and the Redis server are the test's own
//! (`support::PgCluster`, `support::Redis`: temporary directories, free
//! ports), so stopping them leaves the machine's alone. One identity for
//! the three replicas: one store, one key-encryption key file, one
//! `public_url` (as in `replicas_store.rs`).

use std::future::Future;
use std::time::{Duration, Instant};

use reqwest::Method as M;
use serde_json::{Value, json};

use crate::support::{
    PgCluster, Redis, Running, Spy, WAIT, client, free_port, gateway_from_file, user_message,
    write_kek,
};

/// `store.max_stale_secs` in the replicas' configuration: long enough for
/// the within-the-bound checks on a loaded 2-core machine (each replica
/// takes up to about 2 s to notice the store is gone), short enough to
/// wait out.
const MAX_STALE: Duration = Duration::from_secs(6);
/// How long a replica may take to serve again once a service is back.
const RECOVERY: Duration = Duration::from_secs(20);
/// Between two attempts of a polled call (well under the pair limit).
const PAUSE: Duration = Duration::from_millis(50);
const PUBLIC_URL: &str = "http://warden.outage.test";

#[derive(Clone, Copy)]
enum Cred<'a> {
    ApiKey(&'a str),
    Bearer(&'a str),
}

/// What a replica answered.
#[derive(Debug)]
struct Answer {
    status: u16,
    retry_after: Option<String>,
    body: Value,
}

impl Answer {
    fn served(&self) -> bool {
        self.status == 200 && self.body.get("result").is_some()
    }

    /// Refused because a backing service cannot answer: 503, `Retry-After`.
    fn unavailable(&self) -> bool {
        self.status == 503 && self.retry_after.is_some()
    }

    fn task_id(&self) -> String {
        self.body
            .pointer("/result/task/id")
            .and_then(Value::as_str)
            .unwrap_or_else(|| panic!("a task: {self:?}"))
            .to_string()
    }
}

async fn call(w: &Running, cred: Cred<'_>, method: &str, params: Value) -> Answer {
    let req = client()
        .post(format!("{}/agents/spy", w.gateway))
        .header("A2A-Version", "1.0")
        .json(&json!({"jsonrpc": "2.0", "id": 1, "method": method, "params": params}));
    let req = match cred {
        Cred::ApiKey(k) => req.header("X-API-Key", k),
        Cred::Bearer(t) => req.bearer_auth(t),
    };
    let r = req.send().await.expect("send");
    let status = r.status().as_u16();
    let retry_after = r
        .headers()
        .get("retry-after")
        .and_then(|v| v.to_str().ok())
        .map(str::to_owned);
    let text = r.text().await.expect("body");
    let body =
        serde_json::from_str(&text).unwrap_or_else(|e| panic!("{status}, not JSON ({e}): {text}"));
    Answer {
        status,
        retry_after,
        body,
    }
}

async fn send(w: &Running, cred: Cred<'_>) -> Answer {
    call(
        w,
        cred,
        "SendMessage",
        json!({"message": user_message("outage")}),
    )
    .await
}

async fn get_task(w: &Running, cred: Cred<'_>, id: &str) -> Answer {
    call(w, cred, "GetTask", json!({"id": id})).await
}

/// Calls `attempt` until its answer passes `check`, at most `limit`; the
/// last answer and the time it took.
async fn until<F, Fut, T>(
    limit: Duration,
    what: &str,
    check: impl Fn(&T) -> bool,
    attempt: F,
) -> (T, Duration)
where
    F: Fn() -> Fut,
    Fut: Future<Output = T>,
    T: std::fmt::Debug,
{
    let start = Instant::now();
    loop {
        let got = attempt().await;
        if check(&got) {
            return (got, start.elapsed());
        }
        assert!(
            start.elapsed() < limit,
            "not {what} within {limit:?}: {got:?}"
        );
        tokio::time::sleep(PAUSE).await;
    }
}

/// `SendMessage` calls that reached the agent.
fn sends_seen(spy: &Spy) -> usize {
    spy.requests()
        .iter()
        .filter(|s| String::from_utf8_lossy(&s.body).contains("SendMessage"))
        .count()
}

/// A counter or gauge of `w`'s `/metrics` (0 when absent).
async fn metric(w: &Running, series: &str) -> f64 {
    let text = client()
        .get(format!("{}/metrics", w.admin))
        .send()
        .await
        .expect("metrics")
        .text()
        .await
        .expect("metrics text");
    text.lines()
        .find_map(|l| l.strip_prefix(series)?.strip_prefix(' '))
        .map_or(0.0, |v| v.trim().parse().expect("a number"))
}

/// One replica: its own directory and port, the shared store, Redis, key
/// and issuer.
async fn replica(store: &str, redis: &str, kek: &std::path::Path, spy: &str) -> Running {
    let port = free_port();
    let dir = tempfile::tempdir().expect("tempdir");
    let data = dir.path().join("data");
    let text = format!(
        "[gateway]\nlisten = \"127.0.0.1:{port}\"\npublic_url = \"{PUBLIC_URL}\"\ndata_dir = {data:?}\n\
         [admin]\nlisten = \"127.0.0.1:0\"\n\
         [auth]\nkek_file = {kek:?}\n\
         [store]\nurl = \"{store}\"\nmax_stale_secs = {}\n\
         [shared]\nredis_url = \"{redis}\"\ntimeout_ms = 1000\n\
         [[agents]]\nname = \"spy\"\nurl = \"{spy}\"\ninsecure_unsigned_card = true\n",
        MAX_STALE.as_secs()
    );
    let path = dir.path().join("warden.toml");
    std::fs::write(&path, text).expect("write config");
    let mut w = gateway_from_file(dir, &path).await;
    w.gateway = format!("http://127.0.0.1:{port}");
    w
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn replicas_outage_redis_then_postgres_stop_and_return_without_a_restart() {
    let mut pg = PgCluster::start().await;
    let mut redis = Redis::start().await;
    let spy = Spy::start_numbering_tasks().await;
    let shared_dir = tempfile::tempdir().expect("tempdir");
    let kek = write_kek(shared_dir.path());
    let (store, redis_url) = (pg.url(), redis.url());
    let (r1, r2, r3) = tokio::join!(
        replica(&store, &redis_url, &kek, &spy.url),
        replica(&store, &redis_url, &kek, &spy.url),
        replica(&store, &redis_url, &kek, &spy.url),
    );
    let replicas = [&r1, &r2, &r3];
    r1.cli(&["registry", "add", "tester", "--grant", "spy=*"])
        .await;
    let key = r1.api_key().await;
    let key = Cred::ApiKey(&key);
    // Tokens are minted through the store: all that the test needs, now.
    let minted = r2
        .cli(&[
            "token", "mint", "--sub", "tester", "--aud", "spy", "--count", "12",
        ])
        .await;
    let mut tokens = minted.lines();
    let mut token = move || tokens.next().expect("the test minted enough tokens");
    for w in replicas {
        until(WAIT, "served", Answer::served, || send(w, key)).await;
    }
    // Task A: its owner is held by replica 1 (which recorded it) and by
    // replica 2 (which read it from the store). Task B: its owner is in the
    // store, but not in replica 2's memory.
    let ta = send(&r1, key).await.task_id();
    until(WAIT, "task A at replica 2", Answer::served, || {
        get_task(&r2, key, &ta)
    })
    .await;
    let tb = send(&r1, key).await.task_id();
    until(WAIT, "task B at replica 3", Answer::served, || {
        get_task(&r3, key, &tb)
    })
    .await;

    // 1. Redis stops: no single-use token is let through anywhere.
    let sends = sends_seen(&spy);
    redis.kill().await;
    for w in replicas {
        let a = send(w, Cred::Bearer(token())).await;
        assert!(a.unavailable(), "{}: {a:?}", w.gateway);
        assert_eq!(a.retry_after.as_deref(), Some("1"), "{a:?}");
        let (status, ready) = w.readyz().await;
        assert_eq!(status, 503, "{ready}");
        assert_eq!(ready["shared"]["reachable"], json!(false), "{ready}");
        assert_eq!(ready["store"]["reachable"], json!(true), "{ready}");
    }
    assert_eq!(sends_seen(&spy), sends, "nothing reached the agent");
    redis.restart().await;
    for w in replicas {
        let (_, took) = until(
            RECOVERY,
            "served after Redis's return",
            Answer::served,
            || send(w, key),
        )
        .await;
        eprintln!(
            "replicas_outage: {} served {took:?} after Redis's return",
            w.gateway
        );
        until(
            RECOVERY,
            "ready",
            |r: &(u16, Value)| r.0 == 200,
            || w.readyz(),
        )
        .await;
    }
    let once = token();
    assert!(send(&r3, Cred::Bearer(once)).await.served());
    let again = send(&r1, Cred::Bearer(once)).await;
    assert_eq!(
        again.status, 401,
        "single-use across replicas again: {again:?}"
    );

    // 2. PostgreSQL stops.
    let sends = sends_seen(&spy);
    let stopping = Instant::now();
    pg.stop().await;
    let stopped = Instant::now();
    let a = get_task(&r1, key, &ta).await;
    assert!(a.served(), "within the bound, from memory: {a:?}");
    for w in replicas {
        let (ready, _) = until(
            MAX_STALE,
            "not ready",
            |r: &(u16, Value)| r.0 == 503,
            || w.readyz(),
        )
        .await;
        assert_eq!(ready.1["store"]["reachable"], json!(false), "{}", ready.1);
        assert!(
            ready.1["reason"]
                .as_str()
                .is_some_and(|r| r.contains("store")),
            "{}",
            ready.1
        );
    }
    let noticed = stopped.elapsed();
    eprintln!("replicas_outage: all three not ready {noticed:?} after PostgreSQL stopped");
    for w in replicas {
        let a = send(w, key).await;
        assert!(
            a.unavailable(),
            "a message while the store is down, {}: {a:?}",
            w.gateway
        );
    }
    let a = get_task(&r2, key, &tb).await;
    assert!(a.unavailable(), "an owner replica 2 does not hold: {a:?}");
    let a = get_task(&r2, key, &ta).await;
    assert!(
        a.served(),
        "an owner replica 2 holds, within the bound: {a:?}"
    );
    let within = stopped.elapsed();
    assert!(
        within < MAX_STALE,
        "the checks within the bound ended {within:?} after the stop, past {MAX_STALE:?}"
    );
    assert_eq!(sends_seen(&spy), sends, "no message reached the agent");
    // Beyond the bound: refused, with a token (authorisation) and with an
    // API key (its record is in the snapshot too).
    let (_, waited) = until(
        MAX_STALE + WAIT,
        "refused as stale",
        Answer::unavailable,
        || get_task(&r1, key, &ta),
    )
    .await;
    let refused_after = stopping.elapsed();
    eprintln!(
        "replicas_outage: replica 1 refused a call it served before {refused_after:?} after the stop (waited {waited:?})"
    );
    // The snapshot was last confirmed at most one poll (250 ms) before the
    // server began to stop.
    assert!(
        refused_after >= MAX_STALE - Duration::from_millis(400),
        "refused {refused_after:?} after the stop began, before the bound of {MAX_STALE:?}"
    );
    for w in replicas {
        until(WAIT, "refused as stale", Answer::unavailable, || {
            get_task(w, key, &ta)
        })
        .await;
        let a = get_task(w, Cred::Bearer(token()), &ta).await;
        assert!(a.unavailable(), "with a token, {}: {a:?}", w.gateway);
    }
    assert_eq!(metric(&r1, "warden_store_up").await, 0.0);
    for (w, what) in [
        (&r1, "stale_snapshot"),
        (&r1, "owner_write"),
        (&r2, "owner_lookup"),
    ] {
        let n = metric(
            w,
            &format!("warden_store_unavailable_total{{what=\"{what}\"}}"),
        )
        .await;
        assert!(n >= 1.0, "{}: {what} = {n}", w.gateway);
    }

    // 3. PostgreSQL is back: every replica serves again by itself.
    pg.start_again().await;
    let back = Instant::now();
    for w in replicas {
        let (_, took) = until(
            RECOVERY,
            "ready, listening for changes again",
            |r: &(u16, Value)| {
                r.0 == 200 && r.1["store"]["change_notifications"] == json!("listening")
            },
            || w.readyz(),
        )
        .await;
        eprintln!(
            "replicas_outage: {} ready {took:?} after PostgreSQL's return",
            w.gateway
        );
    }
    assert!(get_task(&r1, key, &ta).await.served());
    let tc = until(WAIT, "a new task", Answer::served, || send(&r1, key))
        .await
        .0
        .task_id();
    for w in [&r2, &r3] {
        until(
            WAIT,
            "the new task at another replica",
            Answer::served,
            || get_task(w, key, &tc),
        )
        .await;
    }
    assert!(
        get_task(&r2, key, &tb).await.served(),
        "read from the store again"
    );
    // Changes reach every replica again.
    let (status, v) = r3
        .admin_api(
            M::POST,
            "/quarantine",
            Some(json!({"agent": "spy", "reason": "outage test"})),
        )
        .await;
    assert_eq!(status, 201, "{v}");
    let (_, took) = until(
        WAIT,
        "quarantined at replica 1",
        |a: &Answer| a.body.to_string().contains("quarantined"),
        || send(&r1, key),
    )
    .await;
    eprintln!(
        "replicas_outage: a quarantine at replica 3 refused at replica 1 after {took:?} ({:?} after the return)",
        back.elapsed()
    );
    // What replica 1 refused during the outage is in the audit trail.
    r1.flush_audit().await;
    let audit = warden_store::Store::open_url(&store)
        .await
        .expect("the store")
        .recent_audit(1000)
        .await
        .expect("audit");
    let reasons: Vec<&str> = audit.iter().filter_map(|e| e.reason.as_deref()).collect();
    for reason in [
        "authz_unavailable:store",
        "authz_unavailable:stale_snapshot",
    ] {
        assert!(reasons.contains(&reason), "{reason} in {reasons:?}");
    }

    for w in [r1, r2, r3] {
        w.stop().await;
    }
}
