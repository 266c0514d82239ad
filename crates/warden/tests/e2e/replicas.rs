//! Three gateways on one machine sharing Redis (`[shared]`): the first
//! done-when bullets of issue 14 for what exists so far (Redis; PostgreSQL
//! is not built yet, so the store is still one SQLite file per gateway).
//!
//! - A single-use token accepted at replica 1 is refused at replicas 2
//!   and 3.
//! - A per-caller limit of 50/s, hammered through all three at once,
//!   admits 50/s ± 10 % in total.
//! - Redis stopped mid-run: every call that needs the replay check or a
//!   rate limit is refused (503 with `Retry-After: 1` in both bindings,
//!   `-32603 UNAVAILABLE` in JSON-RPC), nothing that needs the replay check reaches the
//!   agent, each refusal is audited and counted in
//!   `warden_shared_unavailable_total{what}`; the replica with
//!   `on_unavailable = "local_limits"` decides limits on its own (an API
//!   key gets through, and is still limited), but refuses single-use tokens
//!   all the same. Redis started again on the same port: every replica
//!   serves again by itself, with shared replay ids and limits.
//!
//! The Redis is the test's own `redis-server` on a free port (the
//! machine's on 6379 is left alone), killed and restarted by the test.
//!
//! Identity across replicas: each gateway has its own store (signing keys,
//! API keys, registry), so the caller is an external issuer's subject
//! (`ISS#sub`), trusted through the same `[[auth.issuers]]` by every
//! replica and granted on each with `warden grant add`. Its plain bearer
//! tokens are single-use, so the test signs every token it may need up
//! front in one PyJWT run (`pyjwt_tool.py sign-many`, a fraction of a
//! millisecond a token). The rate limit is measured with such tokens, a
//! fresh one per call: the per-caller (`principal`) bucket is then keyed
//! `principal:ISS#sub` on every replica, which is the shared per-caller
//! limit the issue speaks of. (A public agent's per-address bucket would be
//! shared too, but it is not a per-caller limit; an API key exists in one
//! gateway's store only, which is what makes it the credential for the
//! calls that need a limit but no replay check.)

use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use serde_json::{Value, json};

use crate::auth::{keygen, pyjwt};
use crate::support::{Redis, Running, Spy, client, gateway, user_message};

const ISS: &str = "https://idp.example";
const AUD: &str = "https://warden.example/gw";
/// The caller of the single-use and outage checks.
const CALLER: &str = "ext-agent";
/// The caller whose limit is measured (its own bucket, untouched before).
const FLOODER: &str = "ext-flooder";

/// The per-caller limit: `RATE`/s with a burst of `BURST`.
///
/// From a full bucket, GCRA admits `BURST + RATE × t` calls in `t` seconds
/// of demand above the rate (decided by one Lua script on Redis's clock,
/// whichever replica asks). The burst is known, so the test subtracts it:
/// `(allowed − BURST) / elapsed` is the rate itself, to be 50/s ± 10 %,
/// i.e. ± 20 calls over the 4 s window. The measurement errors are far
/// smaller: the elapsed time is taken around the whole run, so it exceeds
/// the window in which Redis admitted by about one call's latency
/// (milliseconds against seconds), and the count is off by at most a call.
///
/// Why not a burst of 1: then a call arriving after its slot pushes the
/// whole schedule back, and the admitted rate falls short of 50/s by the
/// mean lateness of the arrivals (the load generator's jitter would be
/// measured, not the limit). With a deeper bucket a late call only uses up
/// slack and the schedule holds, as long as no gap between two arrivals
/// is longer than `BURST / RATE` = 0.5 s; on a loaded 2-core machine only
/// a stall of the whole test that long loses calls. A deeper bucket costs
/// no accuracy (it is subtracted), but it would be most of what a short run
/// admits; a quarter of it keeps the rate the bulk of what is counted.
const RATE: u32 = 50;
const BURST: u32 = 25;
/// How long the limit is hammered.
const WINDOW: Duration = Duration::from_secs(4);
/// Load: `WORKERS` per replica (half JSON-RPC, half REST), each sending
/// one call per `PACE` and waiting for its answer: 150 calls/s in all, 3×
/// the limit, so the bucket never fills again, while the three debug-built
/// gateways are not driven harder than a loaded 2-core machine can serve.
const WORKERS: usize = 2;
const PACE: Duration = Duration::from_millis(40);

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Binding {
    JsonRpc,
    Rest,
}

const BINDINGS: [Binding; 2] = [Binding::JsonRpc, Binding::Rest];

#[derive(Clone, Copy)]
enum Credential<'a> {
    Bearer(&'a str),
    ApiKey(&'a str),
}

/// What the gateway answered.
#[derive(Debug)]
struct Answer {
    status: u16,
    retry_after: Option<String>,
    challenge: String,
    body: Value,
}

impl Answer {
    /// The call reached the agent and came back with its result.
    fn allowed(&self) -> bool {
        self.status == 200 && (self.body.get("result").is_some() || self.body.get("task").is_some())
    }

    fn message(&self) -> &str {
        self.body
            .pointer("/error/message")
            .and_then(Value::as_str)
            .unwrap_or_default()
    }

    /// Refused by the per-caller limit: 429 in both bindings.
    fn limited(&self) -> bool {
        self.status == 429 && self.message().contains("rate limit (principal)")
    }
}

/// A `SendMessage` to the spy behind `w` in `binding`.
async fn call(
    http: &reqwest::Client,
    w: &Running,
    binding: Binding,
    credential: Credential<'_>,
) -> Answer {
    call_at(http, &w.gateway, binding, credential).await
}

async fn call_at(
    http: &reqwest::Client,
    gateway: &str,
    binding: Binding,
    credential: Credential<'_>,
) -> Answer {
    let base = format!("{gateway}/agents/spy");
    let message = user_message("replicas");
    let req = match binding {
        Binding::JsonRpc => http.post(base).json(&json!({
            "jsonrpc": "2.0", "id": 1, "method": "SendMessage", "params": {"message": message}
        })),
        Binding::Rest => http
            .post(format!("{base}/message:send"))
            .json(&json!({"message": message})),
    };
    let req = match credential {
        Credential::Bearer(t) => req.bearer_auth(t),
        Credential::ApiKey(k) => req.header("X-API-Key", k),
    };
    let r = req.header("A2A-Version", "1.0").send().await.expect("send");
    let header = |name: &str| {
        r.headers()
            .get(name)
            .and_then(|v| v.to_str().ok())
            .map(str::to_owned)
    };
    let (retry_after, challenge) = (
        header("retry-after"),
        header("www-authenticate").unwrap_or_default(),
    );
    let status = r.status().as_u16();
    let bytes = r.bytes().await.expect("body");
    let body = serde_json::from_slice(&bytes).unwrap_or_else(|e| {
        panic!(
            "{status}, not JSON ({e}): {}",
            String::from_utf8_lossy(&bytes)
        )
    });
    Answer {
        status,
        retry_after,
        challenge,
        body,
    }
}

/// Calls that reached the agent (card fetches left out).
fn calls_seen(spy: &Spy) -> usize {
    spy.requests()
        .iter()
        .filter(|s| !s.path.contains("/.well-known/"))
        .count()
}

/// `warden_shared_unavailable_total{what}` on `w`'s admin listener.
async fn unavailable_total(w: &Running, what: &str) -> u64 {
    let text = client()
        .get(format!("{}/metrics", w.admin))
        .send()
        .await
        .expect("metrics")
        .text()
        .await
        .expect("metrics text");
    let prefix = format!("warden_shared_unavailable_total{{what=\"{what}\"}} ");
    text.lines()
        .find_map(|l| l.strip_prefix(&prefix))
        .map_or(0, |v| v.trim().parse::<f64>().expect("a number") as u64)
}

/// Single-use tokens of the external issuer, signed ahead of use.
struct Tokens(std::vec::IntoIter<String>);

impl Tokens {
    /// `counts[i]` tokens for subject `subjects[i]`, signed in one PyJWT run.
    async fn sign(pem: &str, batches: &[(&str, usize)]) -> Vec<Tokens> {
        let now = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .expect("clock after 1970")
            .as_secs();
        let claims: Vec<Value> = batches
            .iter()
            .flat_map(|&(sub, n)| {
                (0..n).map(move |i| {
                    json!({"iss": ISS, "sub": sub, "aud": AUD, "iat": now, "exp": now + 600,
                           "jti": format!("{sub}-{i}"), "scope": "spy"})
                })
            })
            .collect();
        let out = pyjwt(
            &["sign-many"],
            Some(&json!({"private_pem": pem, "alg": "ES256",
                         "headers": {"kid": "idp-es", "typ": "at+jwt"}, "claims": claims})),
        )
        .await;
        let mut all: Vec<String> = out["tokens"]
            .as_array()
            .expect("tokens")
            .iter()
            .map(|t| t.as_str().expect("token").to_string())
            .collect();
        assert_eq!(all.len(), claims.len());
        let mut pools = Vec::new();
        for &(_, n) in batches {
            let rest = all.split_off(n);
            pools.push(Tokens(std::mem::replace(&mut all, rest).into_iter()));
        }
        pools
    }

    fn next(&mut self) -> String {
        self.0.next().expect("the test signed enough tokens")
    }

    /// `n` pools of `each` tokens (one per worker).
    fn split(mut self, n: usize, each: usize) -> Vec<Vec<String>> {
        (0..n)
            .map(|_| self.0.by_ref().take(each).collect())
            .collect()
    }
}

fn config(redis: &Redis, jwks: &str, spy: &Spy, local_limits: bool) -> String {
    let fallback = if local_limits {
        "on_unavailable = \"local_limits\"\n"
    } else {
        ""
    };
    // Only the per-caller limit: the others would be shared as well (the
    // per-address one before authentication, keyed 127.0.0.1 at every
    // replica), and would blur what is measured. A 1 s timeout keeps a
    // busy machine from turning a slow answer into a 503; a stopped Redis
    // refuses connections at once, so the outage is not slower for it.
    format!(
        "[shared]\nredis_url = \"{}\"\ntimeout_ms = 1000\n{fallback}\
         [rate_limits]\nsource = {{ rate = \"off\" }}\npair = {{ rate = \"off\" }}\nskill = {{ rate = \"off\" }}\n\
         principal = {{ rate = \"{RATE}/s\", burst = {BURST} }}\n\
         [[auth.issuers]]\nissuer = \"{ISS}\"\naudiences = [\"{AUD}\"]\nalgorithms = [\"ES256\"]\njwks = '''{jwks}'''\ntyp = \"at+jwt\"\n\
         [[agents]]\nname = \"spy\"\nurl = \"{}\"\n",
        redis.url(),
        spy.url
    )
}

/// What one replica admitted and limited while hammered.
#[derive(Debug, Default, Clone, Copy)]
struct Tally {
    allowed: u32,
    limited: u32,
}

/// One worker: a call with a fresh token every `PACE` until `deadline`.
async fn worker(
    http: reqwest::Client,
    gateway: String,
    binding: Binding,
    tokens: Vec<String>,
    deadline: Instant,
) -> Tally {
    let mut tick = tokio::time::interval(PACE);
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    let mut tally = Tally::default();
    let mut tokens = tokens.into_iter();
    loop {
        tick.tick().await;
        if Instant::now() >= deadline {
            return tally;
        }
        let token = tokens.next().expect("a worker has a token for every tick");
        let a = call_at(&http, &gateway, binding, Credential::Bearer(&token)).await;
        if a.allowed() {
            tally.allowed += 1;
        } else if a.limited() {
            assert!(a.retry_after.is_some(), "{a:?}");
            tally.limited += 1;
        } else {
            panic!("{gateway} ({binding:?}): neither allowed nor limited: {a:?}");
        }
    }
}

/// The longest a replica may take to serve again once Redis is back (it
/// takes one or two calls: the first failure after the return starts a
/// reconnection). Bounded so the 1000 signed tokens cannot run out first.
const RECOVERY: Duration = Duration::from_secs(15);

/// Polls `w` with fresh tokens until a call goes through again, each
/// attempt before that refused as unavailable (deadline: `RECOVERY`).
async fn until_served(http: &reqwest::Client, w: &Running, tokens: &mut Tokens) {
    let start = Instant::now();
    for attempt in 1.. {
        let a = call(
            http,
            w,
            Binding::JsonRpc,
            Credential::Bearer(&tokens.next()),
        )
        .await;
        if a.allowed() {
            eprintln!(
                "replicas: {} served again after {attempt} call(s), {:?}",
                w.gateway,
                start.elapsed()
            );
            return;
        }
        assert_eq!(a.status, 503, "while Redis comes back: {a:?}");
        assert!(
            start.elapsed() < RECOVERY,
            "{} did not serve again within {RECOVERY:?} of Redis's return",
            w.gateway
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn three_replicas_share_single_use_ids_and_limits_and_fail_closed_without_redis() {
    let mut redis = Redis::start().await;
    let spy = Spy::start_numbering_tasks().await;
    let (jwk, pem) = keygen("ES256", "idp-es").await;
    let jwks = json!({"keys": [jwk]}).to_string();
    // Replica 3 falls back to local limits while Redis is away.
    let (shared, fallback) = (
        config(&redis, &jwks, &spy, false),
        config(&redis, &jwks, &spy, true),
    );
    let (r1, r2, r3) = tokio::join!(gateway(&shared), gateway(&shared), gateway(&fallback));
    let replicas = [&r1, &r2, &r3];
    // Grants are per gateway store: the same on each.
    futures_util::future::join_all(replicas.iter().flat_map(|r| {
        [CALLER, FLOODER].map(|sub| async move {
            let caller = format!("{ISS}#{sub}");
            r.cli(&["grant", "add", &caller, "spy", "--skills", "spy"])
                .await;
        })
    }))
    .await;
    // API keys: calls that need a limit but no replay check (each exists
    // in one replica's store only).
    let (key1, key3) = tokio::join!(r1.api_key(), r3.api_key());
    let per_worker = (WINDOW.as_millis() / PACE.as_millis()) as usize + 2;
    let workers = replicas.len() * WORKERS;
    let [mut tokens, mut flood]: [Tokens; 2] =
        Tokens::sign(&pem, &[(CALLER, 1000), (FLOODER, workers * per_worker + 1)])
            .await
            .try_into()
            .unwrap_or_else(|_| panic!("two pools"));
    let http = client();

    // 1. A single-use token is used once, whichever replica sees it.
    let once = tokens.next();
    let a = call(&http, &r1, Binding::JsonRpc, Credential::Bearer(&once)).await;
    assert!(a.allowed(), "replica 1: {a:?}");
    for (r, binding) in [(&r2, Binding::JsonRpc), (&r3, Binding::Rest)] {
        let a = call(&http, r, binding, Credential::Bearer(&once)).await;
        assert_eq!(a.status, 401, "{binding:?}: {a:?}");
        assert!(
            a.challenge.contains("already used") || a.message().contains("already used"),
            "{a:?}"
        );
    }
    assert_eq!(calls_seen(&spy), 1);

    // 1b. A new context id a caller proposes is claimed on every replica at
    // once: the replicas' stores are separate here, so only the shared
    // claim can refuse another caller the same id at another replica.
    let context = format!("ctx-race-{}", std::process::id());
    let in_context = |token: String, gateway: String| {
        let http = http.clone();
        let context = context.clone();
        async move {
            let mut message = user_message("in a context");
            message["contextId"] = json!(context);
            let body = json!({"jsonrpc": "2.0", "id": 1, "method": "SendMessage", "params": {"message": message}});
            let v: serde_json::Value = http
                .post(format!("{gateway}/agents/spy"))
                .header("A2A-Version", "1.0")
                .bearer_auth(token)
                .json(&body)
                .send()
                .await
                .expect("send")
                .json()
                .await
                .expect("json");
            v
        }
    };
    let mine = in_context(tokens.next(), r1.gateway.clone()).await;
    assert!(mine.get("result").is_some(), "the first caller: {mine}");
    let theirs = in_context(flood.next(), r2.gateway.clone()).await;
    assert!(
        theirs.get("error").is_some() && theirs.to_string().contains("context"),
        "another caller, same new context id, another replica: {theirs}"
    );
    assert_eq!(calls_seen(&spy), 2, "the second never reached the agent");

    // 2. The per-caller limit holds over the three replicas together.
    let pools = flood.split(workers, per_worker);
    let start = Instant::now();
    let deadline = start + WINDOW;
    let mut tasks = Vec::new();
    for (i, pool) in pools.into_iter().enumerate() {
        let gateway = replicas[i / WORKERS].gateway.clone();
        let binding = BINDINGS[i % 2];
        tasks.push(tokio::spawn(worker(
            http.clone(),
            gateway,
            binding,
            pool,
            deadline,
        )));
    }
    let mut per_replica = [Tally::default(); 3];
    for (i, t) in tasks.into_iter().enumerate() {
        let t = t.await.expect("worker");
        per_replica[i / WORKERS].allowed += t.allowed;
        per_replica[i / WORKERS].limited += t.limited;
    }
    let elapsed = start.elapsed().as_secs_f64();
    let allowed: u32 = per_replica.iter().map(|t| t.allowed).sum();
    let limited: u32 = per_replica.iter().map(|t| t.limited).sum();
    let rate = f64::from(allowed - BURST.min(allowed)) / elapsed;
    let report = format!(
        "{allowed} allowed and {limited} limited in {elapsed:.2} s: {rate:.1}/s after the burst of {BURST} \
         ({:.1}/s with it); per replica {per_replica:?}",
        f64::from(allowed) / elapsed
    );
    eprintln!("replicas: {report}");
    assert!(
        (f64::from(RATE) * 0.9..=f64::from(RATE) * 1.1).contains(&rate),
        "the shared limit of {RATE}/s: {report}"
    );
    // Demand was above the limit, and every replica took part in both.
    assert!(
        per_replica.iter().all(|t| t.allowed > 0 && t.limited > 0),
        "{report}"
    );

    // 3. Redis stops: nothing that needs it is allowed.
    for r in replicas {
        assert_eq!(unavailable_total(r, "replay").await, 0);
        assert_eq!(unavailable_total(r, "rate_limit").await, 0);
    }
    let seen = calls_seen(&spy);
    redis.kill().await;
    for r in replicas {
        for binding in BINDINGS {
            let a = call(&http, r, binding, Credential::Bearer(&tokens.next())).await;
            assert_eq!(a.status, 503, "{} {binding:?}: {a:?}", r.gateway);
            assert_eq!(a.retry_after.as_deref(), Some("1"), "{a:?}");
            assert!(a.challenge.contains("temporarily_unavailable"), "{a:?}");
        }
    }
    // A limit that cannot be decided (replica 1 refuses): an API key needs
    // no replay check, but its caller's bucket is on Redis.
    let a = call(&http, &r1, Binding::JsonRpc, Credential::ApiKey(&key1)).await;
    assert_eq!(a.status, 503, "{a:?}");
    assert_eq!(a.body.pointer("/error/code"), Some(&json!(-32603)), "{a:?}");
    assert_eq!(a.retry_after.as_deref(), Some("1"), "{a:?}");
    assert!(
        a.message().contains("rate limits cannot be checked"),
        "{a:?}"
    );
    let a = call(&http, &r1, Binding::Rest, Credential::ApiKey(&key1)).await;
    assert_eq!(a.status, 503, "{a:?}");
    assert_eq!(a.retry_after.as_deref(), Some("1"), "{a:?}");
    assert_eq!(calls_seen(&spy), seen, "nothing reached the agent");

    // 4. Replica 3 (local_limits) decides the limit on its own: the API
    // key gets through, and is still limited; tokens stay refused (above).
    let answers = futures_util::future::join_all(
        (0..3 * BURST).map(|_| call(&http, &r3, Binding::JsonRpc, Credential::ApiKey(&key3))),
    )
    .await;
    let local = answers.iter().filter(|a| a.allowed()).count();
    assert!(local >= 1, "{answers:?}");
    assert!(answers.iter().any(Answer::limited), "{answers:?}");
    assert!(
        answers.iter().all(|a| a.allowed() || a.limited()),
        "{answers:?}"
    );
    assert_eq!(calls_seen(&spy), seen + local, "only the API key's calls");

    // Counted, and audited.
    for r in replicas {
        assert_eq!(unavailable_total(r, "replay").await, 2, "{}", r.gateway);
    }
    assert!(unavailable_total(&r1, "rate_limit").await >= 2);
    assert_eq!(unavailable_total(&r2, "rate_limit").await, 0);
    assert!(unavailable_total(&r3, "rate_limit").await >= u64::from(3 * BURST));
    r1.flush_audit().await;
    let store = warden_store::Store::open(&r1.data_dir().join("warden.db"))
        .await
        .expect("store");
    let reasons: Vec<String> = store
        .recent_audit(20)
        .await
        .expect("audit")
        .into_iter()
        .filter(|e| e.kind == "request")
        .filter_map(|e| e.reason)
        .collect();
    let count = |p: &str| reasons.iter().filter(|r| r.starts_with(p)).count();
    assert_eq!(count("auth_unavailable"), 2, "{reasons:?}");
    assert_eq!(count("rate_limit_unavailable:"), 2, "{reasons:?}");

    // 5. Redis is back (empty, on the same port): every replica serves
    // again by itself, sharing replay ids and limits again.
    redis.restart().await;
    for r in replicas {
        until_served(&http, r, &mut tokens).await;
    }
    let again = tokens.next();
    let a = call(&http, &r2, Binding::Rest, Credential::Bearer(&again)).await;
    assert!(a.allowed(), "{a:?}");
    for r in [&r1, &r3] {
        let a = call(&http, r, Binding::JsonRpc, Credential::Bearer(&again)).await;
        assert_eq!(a.status, 401, "{a:?}");
    }
    let a = call(&http, &r1, Binding::JsonRpc, Credential::ApiKey(&key1)).await;
    assert!(a.allowed(), "the limit is decided on Redis again: {a:?}");
}
