//! Two gateways sharing Redis (`[shared]`): a call's single-use id and its
//! rate limits in one round trip, and what becomes of the id when the call
//! is refused (docs/scale-out.md, "One round trip per call").
//!
//! - An allowed call with a plain bearer token costs Redis one script
//!   (`EVALSHA`) and nothing else: counted on the test's own
//!   `redis-server` with `INFO commandstats`.
//! - A call refused for its rate (429) leaves its token unused: the same
//!   token is refused for its rate again (not as used) at the other
//!   gateway and at this one (the early refusal, which asks no one), and
//!   accepted once the bucket has a cell; after that it is used up at both.
//! - A used token on a call refused before the shared step (an unknown
//!   agent, a body that does not parse) is answered as a replay, as it was
//!   when the id was recorded at authentication; a fresh token on such a
//!   definitive refusal is used up by it.
//!
//! The caller is an external issuer's subject (as in `replicas`), so both
//! gateways know it without sharing a store; its tokens are signed up
//! front by PyJWT.

use std::collections::HashMap;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use serde_json::{Value, json};
use tokio::io::{AsyncReadExt, AsyncWriteExt};

use crate::auth::{keygen, pyjwt};
use crate::support::{Redis, Running, Spy, client, gateway, user_message};

const ISS: &str = "https://idp.example";
const AUD: &str = "https://warden.example/gw";
const CALLER: &str = "ext-once";

/// One cell every 5 s, a burst of one: a second call right after the
/// first is refused for about 5 s, long enough for the test to look.
const LIMIT: &str = "principal = { rate = \"12/m\", burst = 1 }";

fn config(redis: &Redis, jwks: &str, spy: &Spy, limits: &str) -> String {
    format!(
        "[shared]\nredis_url = \"{}\"\ntimeout_ms = 1000\n\
         [rate_limits]\nsource = {{ rate = \"off\" }}\npair = {{ rate = \"off\" }}\nskill = {{ rate = \"off\" }}\n{limits}\n\
         [[auth.issuers]]\nissuer = \"{ISS}\"\naudiences = [\"{AUD}\"]\nalgorithms = [\"ES256\"]\njwks = '''{jwks}'''\ntyp = \"at+jwt\"\n\
         [[agents]]\nname = \"spy\"\nurl = \"{}\"\n",
        redis.url(),
        spy.url
    )
}

/// `n` single-use tokens for `CALLER` (unique `jti`s per `batch`).
async fn tokens(pem: &str, batch: &str, n: usize) -> Vec<String> {
    let now = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .expect("clock after 1970")
        .as_secs();
    let claims: Vec<Value> = (0..n)
        .map(|i| {
            json!({"iss": ISS, "sub": CALLER, "aud": AUD, "iat": now, "exp": now + 600,
                   "jti": format!("{batch}-{i}"), "scope": "spy"})
        })
        .collect();
    let out = pyjwt(
        &["sign-many"],
        Some(&json!({"private_pem": pem, "alg": "ES256",
                     "headers": {"kid": "idp-es", "typ": "at+jwt"}, "claims": claims})),
    )
    .await;
    out["tokens"]
        .as_array()
        .expect("tokens")
        .iter()
        .map(|t| t.as_str().expect("token").to_string())
        .collect()
}

/// Status, `WWW-Authenticate` and the JSON-RPC error message of a
/// `SendMessage` (or of `body` when given) to `agent` at `w`.
async fn send(w: &Running, agent: &str, token: &str, body: Option<&str>) -> (u16, String) {
    let message = user_message("once");
    let default =
        json!({"jsonrpc": "2.0", "id": 1, "method": "SendMessage", "params": {"message": message}})
            .to_string();
    let r = client()
        .post(format!("{}/agents/{agent}", w.gateway))
        .header("A2A-Version", "1.0")
        .header("content-type", "application/json")
        .bearer_auth(token)
        .body(body.map_or(default, str::to_string))
        .send()
        .await
        .expect("send");
    let status = r.status().as_u16();
    let challenge = r
        .headers()
        .get("www-authenticate")
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default()
        .to_string();
    let text = r.text().await.expect("body");
    (status, format!("{challenge} {text}"))
}

fn used(answer: &(u16, String)) -> bool {
    answer.0 == 401 && answer.1.contains("already used")
}

/// `INFO commandstats` of the test's Redis: calls by command.
async fn commandstats(redis: &Redis) -> HashMap<String, u64> {
    let url = redis.url();
    let addr = url
        .trim_start_matches("redis://")
        .split('/')
        .next()
        .expect("host:port")
        .to_string();
    let mut sock = tokio::net::TcpStream::connect(addr)
        .await
        .expect("connect to redis-server");
    sock.write_all(b"INFO commandstats\r\n")
        .await
        .expect("INFO");
    // A bulk string: "$<len>\r\n<text>\r\n".
    let mut buf = Vec::new();
    let mut chunk = [0u8; 4096];
    loop {
        let n = sock.read(&mut chunk).await.expect("read INFO");
        assert!(n > 0, "redis-server closed the connection");
        buf.extend_from_slice(&chunk[..n]);
        let text = String::from_utf8_lossy(&buf);
        if let Some((head, rest)) = text.split_once("\r\n")
            && let Ok(len) = head.trim_start_matches('$').parse::<usize>()
            && rest.len() >= len
        {
            break;
        }
    }
    String::from_utf8_lossy(&buf)
        .lines()
        .filter_map(|l| {
            let (name, rest) = l.strip_prefix("cmdstat_")?.split_once(':')?;
            let calls = rest.strip_prefix("calls=")?.split(',').next()?;
            Some((name.to_string(), calls.parse().ok()?))
        })
        .collect()
}

/// What was called between two `commandstats` (the INFO call itself left
/// out).
fn delta(before: &HashMap<String, u64>, after: &HashMap<String, u64>) -> Vec<(String, u64)> {
    let mut d: Vec<(String, u64)> = after
        .iter()
        .filter(|(name, _)| name.as_str() != "info")
        .map(|(name, n)| (name.clone(), n - before.get(name).copied().unwrap_or(0)))
        .filter(|(_, n)| *n > 0)
        .collect();
    d.sort();
    d
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn one_round_trip_per_call_and_a_token_refused_for_its_rate_stays_usable() {
    let redis = Redis::start().await;
    let spy = Spy::start_numbering_tasks().await;
    let (jwk, pem) = keygen("ES256", "idp-es").await;
    let jwks = json!({"keys": [jwk]}).to_string();
    // A: no limit but the caller's, high (the command count); B, C: the
    // slow limit, one Redis.
    let high = "principal = { rate = \"1000/s\", burst = 1000 }";
    let (fast, slow) = (
        config(&redis, &jwks, &spy, high),
        config(&redis, &jwks, &spy, LIMIT),
    );
    let (a, b, c) = tokio::join!(gateway(&fast), gateway(&slow), gateway(&slow));
    let caller = format!("{ISS}#{CALLER}");
    for g in [&a, &b, &c] {
        g.cli(&["grant", "add", &caller, "spy", "--skills", "spy"])
            .await;
    }
    let mut pool = tokens(&pem, "once", 16).await.into_iter();
    let mut next = || pool.next().expect("the test signed enough tokens");

    // 1. One round trip per allowed call: one script (EVALSHA), whose
    // commands are TIME, one MGET (the id and the bucket), one SET for the
    // bucket and one for the id.
    // The first call loads the script (NOSCRIPT, SCRIPT LOAD, EVALSHA);
    // every later one sends its SHA only.
    assert_eq!(send(&a, "spy", &next(), None).await.0, 200);
    let calls = 4u64;
    let before = commandstats(&redis).await;
    for _ in 0..calls {
        let answer = send(&a, "spy", &next(), None).await;
        assert_eq!(answer.0, 200, "{answer:?}");
    }
    let after = commandstats(&redis).await;
    let seen = delta(&before, &after);
    eprintln!("replicas_once: Redis commands for {calls} calls: {seen:?}");
    assert_eq!(
        seen,
        [
            ("evalsha".to_string(), calls),
            ("mget".to_string(), calls),
            ("set".to_string(), 2 * calls),
            ("time".to_string(), calls),
        ],
        "one EVALSHA per call and only its script's commands"
    );

    // 2. Refused for its rate: the token stays usable.
    let first = next();
    assert_eq!(send(&b, "spy", &first, None).await.0, 200);
    let throttled = next();
    let at_b = send(&b, "spy", &throttled, None).await;
    assert_eq!(at_b.0, 429, "the bucket's one cell is taken: {at_b:?}");
    // At the other gateway (its step asks Redis) and again at this one
    // (the early refusal, from the refusal it just saw): still refused
    // for its rate, never as used.
    for g in [&c, &b] {
        let again = send(g, "spy", &throttled, None).await;
        assert_eq!(again.0, 429, "{again:?}");
    }
    // Once the bucket has a cell again (within 5 s), the same token is
    // accepted, and from then on it is used.
    let deadline = Instant::now() + Duration::from_secs(15);
    loop {
        let answer = send(&c, "spy", &throttled, None).await;
        if answer.0 == 200 {
            break;
        }
        assert_eq!(answer.0, 429, "while the bucket refills: {answer:?}");
        assert!(Instant::now() < deadline, "no cell within 15 s");
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    for g in [&b, &c] {
        let answer = send(g, "spy", &throttled, None).await;
        assert!(used(&answer), "{answer:?}");
    }

    // 3. Refused before the shared step: a used token is answered as a
    // replay (not as an unknown agent, not as a bad body) ...
    let nope = send(&a, "nope", &first, None).await;
    assert!(used(&nope), "a used token at an unknown agent: {nope:?}");
    let garbled = send(&a, "spy", &first, Some("{\"jsonrpc\": ")).await;
    assert!(
        used(&garbled),
        "a used token with a broken body: {garbled:?}"
    );
    // ... and a fresh token is used up by such a refusal, at every gateway.
    let fresh = next();
    let nope = send(&a, "nope", &fresh, None).await;
    assert!(nope.1.contains("no such agent"), "{nope:?}");
    for g in [&a, &b] {
        let answer = send(g, "spy", &fresh, None).await;
        assert!(used(&answer), "{answer:?}");
    }
    let fresh = next();
    let garbled = send(&a, "spy", &fresh, Some("{\"jsonrpc\": ")).await;
    assert!(
        garbled.1.contains("\"error\"") && !used(&garbled),
        "{garbled:?}"
    );
    assert!(used(&send(&c, "spy", &fresh, None).await));
}
