//! Signed cards at the gateway: an upstream card is believed only when its
//! signature verifies with a key pinned for the agent, and the card Warden
//! serves is its own statement, signed with Warden's card key and
//! verifiable with Warden's JWKS (by Warden and by the official Python SDK).

use std::sync::{Arc, Mutex};

use serde_json::{Value, json};
use tokio::io::{AsyncBufReadExt, AsyncReadExt, AsyncWriteExt, BufReader};
use tokio::net::TcpListener;
use warden_trust::card_signature::{
    CardSigningOptions, CardVerifyPolicy, add_card_signature, verify_card,
};
use warden_trust::{JwsAlg, KeySet, SigningKey};

use crate::support::{client, gateway, python, repo_root};

/// An upstream serving fixed card bytes, recording every path asked for.
struct CardServer {
    url: String,
    card: Arc<Mutex<Vec<u8>>>,
    paths: Arc<Mutex<Vec<String>>>,
}

impl CardServer {
    async fn start() -> Self {
        let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
        let url = format!("http://{}", listener.local_addr().expect("addr"));
        let card = Arc::new(Mutex::new(Vec::new()));
        let paths = Arc::new(Mutex::new(Vec::new()));
        let (c, p) = (card.clone(), paths.clone());
        tokio::spawn(async move {
            while let Ok((sock, _)) = listener.accept().await {
                let (c, p) = (c.clone(), p.clone());
                tokio::spawn(async move {
                    let _ = serve(sock, c, p).await;
                });
            }
        });
        Self { url, card, paths }
    }

    fn set_card(&self, bytes: Vec<u8>) {
        *self.card.lock().expect("lock") = bytes;
    }

    fn paths(&self) -> Vec<String> {
        self.paths.lock().expect("lock").clone()
    }
}

async fn serve(
    sock: tokio::net::TcpStream,
    card: Arc<Mutex<Vec<u8>>>,
    paths: Arc<Mutex<Vec<String>>>,
) -> std::io::Result<()> {
    let mut reader = BufReader::new(sock);
    loop {
        let mut request_line = String::new();
        if reader.read_line(&mut request_line).await? == 0 {
            return Ok(());
        }
        let path = request_line
            .split_whitespace()
            .nth(1)
            .unwrap_or("")
            .to_string();
        let mut len = 0;
        loop {
            let mut line = String::new();
            reader.read_line(&mut line).await?;
            let line = line.trim_end();
            if line.is_empty() {
                break;
            }
            if let Some((k, v)) = line.split_once(':')
                && k.trim().eq_ignore_ascii_case("content-length")
            {
                len = v.trim().parse().unwrap_or(0);
            }
        }
        let mut body = vec![0; len];
        reader.read_exact(&mut body).await?;
        paths.lock().expect("lock").push(path.clone());
        let reply = if path.ends_with("/.well-known/agent-card.json") {
            card.lock().expect("lock").clone()
        } else {
            json!({"jsonrpc": "2.0", "id": 1, "result": {"task": {"id": "t", "contextId": "c", "status": {"state": "TASK_STATE_COMPLETED"}}}})
                .to_string()
                .into_bytes()
        };
        let head = format!(
            "HTTP/1.1 200 OK\r\ncontent-type: application/json\r\ncontent-length: {}\r\n\r\n",
            reply.len()
        );
        let sock = reader.get_mut();
        sock.write_all(head.as_bytes()).await?;
        sock.write_all(&reply).await?;
    }
}

/// The upstream's card, with members A2A does not define.
fn upstream_card(url: &str) -> Value {
    json!({
        "name": "signed", "description": "a signed agent", "version": "1.0.0",
        "supportedInterfaces": [
            {"url": url, "protocolBinding": "JSONRPC", "protocolVersion": "1.0"}
        ],
        "capabilities": {"streaming": false},
        "securitySchemes": {"upstream_key": {"apiKeySecurityScheme": {"location": "header", "name": "X-Upstream"}}},
        "securityRequirements": [{"schemes": {"upstream_key": {"list": ["all"]}}}],
        "defaultInputModes": ["text/plain"], "defaultOutputModes": ["text/plain"],
        "skills": [{
            "id": "lookup", "name": "Lookup", "description": "looks things up", "tags": ["t"],
            "securityRequirements": [{"schemes": {"upstream_key": {"list": ["lookup"]}}}],
            "xInternalNote": "do not forward"
        }],
        "xSecretRoute": "http://10.9.9.9/admin"
    })
}

fn upstream_key(kid: &str) -> SigningKey {
    let key = SigningKey::generate(JwsAlg::EdDsa).expect("key");
    SigningKey::from_pkcs8(JwsAlg::EdDsa, key.pkcs8(), Some(kid)).expect("kid")
}

fn signed(card: &Value, key: &SigningKey, jku: Option<String>) -> Vec<u8> {
    let mut card = card.clone();
    let options = CardSigningOptions {
        jku,
        ..CardSigningOptions::default()
    };
    add_card_signature(&mut card, key, &options).expect("sign");
    card.to_string().into_bytes()
}

fn pinned(key: &SigningKey) -> String {
    json!({"keys": [key.public_jwk().to_json()]}).to_string()
}

async fn get(url: &str) -> (u16, Vec<u8>) {
    let resp = client().get(url).send().await.expect("GET");
    let status = resp.status().as_u16();
    (status, resp.bytes().await.expect("body").to_vec())
}

/// The served card, checked against Warden's JWKS; returns it and the key.
async fn served_and_verified(gateway: &str, agent: &str) -> (Value, Value) {
    let (status, bytes) = get(&format!(
        "{gateway}/agents/{agent}/.well-known/agent-card.json"
    ))
    .await;
    assert_eq!(status, 200, "{}", String::from_utf8_lossy(&bytes));
    let (status, jwks) = get(&format!("{gateway}/.well-known/jwks.json")).await;
    assert_eq!(status, 200);
    let jwks: Value = serde_json::from_slice(&jwks).expect("JWKS");
    let keys = KeySet::from_jwks(&jwks).expect("Warden's JWKS");
    let verified = verify_card(
        &bytes,
        &CardVerifyPolicy::new(warden_trust::alg::ALL_ALGS.to_vec()),
        &keys,
    )
    .expect("the served card verifies with Warden's JWKS");
    assert!(verified.kid.starts_with("card-"), "{}", verified.kid);
    let jwk = jwks["keys"]
        .as_array()
        .and_then(|k| k.iter().find(|k| k["kid"] == verified.kid.as_str()))
        .cloned()
        .expect("the card key is published");
    (serde_json::from_slice(&bytes).expect("card"), jwk)
}

/// Whether the official Python SDK verifies `card` with `jwk`.
async fn python_verifies(card: &Value, jwk: &Value) -> bool {
    let input =
        json!({"card_json": card.to_string(), "jwk": jwk, "algorithms": ["EdDSA", "ES256"]});
    let mut child = tokio::process::Command::new(python())
        .arg(repo_root().join("tests/interop/python/card_signing.py"))
        .arg("verify")
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .expect("start card_signing.py");
    let mut stdin = child.stdin.take().expect("stdin");
    stdin
        .write_all(input.to_string().as_bytes())
        .await
        .expect("write");
    drop(stdin);
    let out = child.wait_with_output().await.expect("output");
    let code = out.status.code().unwrap_or(-1);
    assert!(
        code == 0 || code == 1,
        "card_signing.py verify failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    code == 0
}

fn agent_toml(name: &str, url: &str, extra: &str) -> String {
    format!("[[agents]]\nname = \"{name}\"\nurl = \"{url}\"\n{extra}")
}

fn jwks_inline(jwks: &str) -> String {
    format!("card_jwks = '''{jwks}'''\n")
}

#[tokio::test]
async fn a_pinned_signature_is_verified_and_warden_serves_its_own_signed_card() {
    let up = CardServer::start().await;
    let key = upstream_key("up-1");
    up.set_card(signed(&upstream_card(&up.url), &key, None));
    // The text names insecure_unsigned_card: support leaves the table alone.
    let w = gateway(&agent_toml(
        "signed",
        &up.url,
        &format!(
            "{}insecure_unsigned_card = false\n",
            jwks_inline(&pinned(&key))
        ),
    ))
    .await;
    let (card, jwk) = served_and_verified(&w.gateway, "signed").await;
    let text = card.to_string();
    assert!(
        !text.contains("xSecretRoute") && !text.contains("xInternalNote"),
        "{text}"
    );
    assert!(
        !text.contains(&up.url) && !text.contains("10.9.9.9"),
        "{text}"
    );
    assert!(
        !text.contains("upstream_key"),
        "upstream schemes are never copied: {text}"
    );
    assert_eq!(card["signatures"].as_array().map(Vec::len), Some(1));
    // Strict authentication: Warden's tokens and API keys.
    let schemes = card["securitySchemes"].as_object().expect("schemes");
    let mut names: Vec<&str> = schemes.keys().map(String::as_str).collect();
    names.sort_unstable();
    assert_eq!(names, ["warden_api_key", "warden_oauth2"]);
    assert_eq!(
        card["securitySchemes"]["warden_oauth2"]["oauth2SecurityScheme"]["flows"]["clientCredentials"]
            ["tokenUrl"],
        format!("{}/oauth2/token", w.gateway)
    );
    assert_eq!(
        card["securitySchemes"]["warden_api_key"]["apiKeySecurityScheme"]["name"],
        "X-API-Key"
    );
    for req in card["skills"][0]["securityRequirements"]
        .as_array()
        .expect("skill requirements")
    {
        for scheme in req["schemes"].as_object().expect("schemes").keys() {
            assert!(schemes.contains_key(scheme), "{scheme} is declared");
        }
    }
    assert!(
        python_verifies(&card, &jwk).await,
        "the Python SDK verifies Warden's card: {card}"
    );
    // A call goes through to the verified agent.
    let answer = w
        .rpc(
            "signed",
            "SendMessage",
            json!({"message": {"messageId": "m1", "role": "ROLE_USER", "parts": [{"text": "hi"}]}}),
        )
        .await;
    assert!(answer.get("error").is_none(), "{answer}");
}

#[tokio::test]
async fn an_altered_byte_refuses_the_card_and_the_calls() {
    let up = CardServer::start().await;
    let key = upstream_key("up-1");
    let good = String::from_utf8(signed(&upstream_card(&up.url), &key, None)).expect("utf-8");
    let bad = good.replacen("a signed agent", "a signed agenT", 1);
    assert_ne!(good, bad);
    up.set_card(bad.into_bytes());
    let w = gateway(&agent_toml(
        "signed",
        &up.url,
        &format!(
            "{}insecure_unsigned_card = false\n",
            jwks_inline(&pinned(&key))
        ),
    ))
    .await;
    let (status, body) = get(&format!(
        "{}/agents/signed/.well-known/agent-card.json",
        w.gateway
    ))
    .await;
    let body = String::from_utf8_lossy(&body);
    assert_eq!(status, 502, "{body}");
    assert!(body.contains("card_signature"), "{body}");
    assert!(!body.contains(&up.url), "{body}");
    let answer = w
        .rpc(
            "signed",
            "SendMessage",
            json!({"message": {"messageId": "m1", "role": "ROLE_USER", "parts": [{"text": "hi"}]}}),
        )
        .await;
    assert!(answer.get("error").is_some(), "{answer}");
    assert!(
        !up.paths().iter().any(|p| !p.ends_with("agent-card.json")),
        "nothing but the card was asked for: {:?}",
        up.paths()
    );
}

#[tokio::test]
async fn an_unsigned_card_is_refused_unless_the_agent_allows_it() {
    let strict = CardServer::start().await;
    let lax = CardServer::start().await;
    for s in [&strict, &lax] {
        s.set_card(upstream_card(&s.url).to_string().into_bytes());
    }
    let key = upstream_key("up-1");
    let w = gateway(&format!(
        "{}{}",
        agent_toml("strict", &strict.url, &jwks_inline(&pinned(&key))),
        agent_toml("lax", &lax.url, "insecure_unsigned_card = true\n"),
    ))
    .await;
    let (status, body) = get(&format!(
        "{}/agents/strict/.well-known/agent-card.json",
        w.gateway
    ))
    .await;
    let body = String::from_utf8_lossy(&body);
    assert_eq!(status, 502, "{body}");
    assert!(body.contains("card_unsigned"), "{body}");
    // Allowed unsigned: still served as Warden's own signed card.
    let (card, _) = served_and_verified(&w.gateway, "lax").await;
    assert!(!card.to_string().contains("xSecretRoute"));
}

#[tokio::test]
async fn a_jku_outside_the_listed_hosts_is_never_fetched() {
    let up = CardServer::start().await;
    // Signed by a key that is not pinned, naming a JWKS on the upstream.
    let key = upstream_key("elsewhere-1");
    let jku = format!("{}/jwks.json", up.url);
    up.set_card(signed(&upstream_card(&up.url), &key, Some(jku)));
    let other = upstream_key("pinned-1");
    let w = gateway(&agent_toml(
        "signed",
        &up.url,
        &format!(
            "{}card_jku_hosts = [\"keys.example\"]\ninsecure_unsigned_card = false\n",
            jwks_inline(&pinned(&other))
        ),
    ))
    .await;
    let (status, body) = get(&format!(
        "{}/agents/signed/.well-known/agent-card.json",
        w.gateway
    ))
    .await;
    assert_eq!(status, 502, "{}", String::from_utf8_lossy(&body));
    assert!(
        !up.paths().iter().any(|p| p.contains("jwks")),
        "the jku was fetched: {:?}",
        up.paths()
    );
}

#[tokio::test]
async fn with_authentication_off_the_card_declares_no_schemes() {
    let up = CardServer::start().await;
    let key = upstream_key("up-1");
    up.set_card(signed(&upstream_card(&up.url), &key, None));
    let w = gateway(&format!(
        "[auth]\nmode = \"insecure-off\"\n{}",
        agent_toml(
            "signed",
            &up.url,
            &format!(
                "{}insecure_unsigned_card = false\n",
                jwks_inline(&pinned(&key))
            ),
        )
    ))
    .await;
    let (card, _) = served_and_verified(&w.gateway, "signed").await;
    assert!(card.get("securitySchemes").is_none(), "{card}");
    assert!(card.get("securityRequirements").is_none(), "{card}");
    assert!(
        card["skills"][0].get("securityRequirements").is_none(),
        "{card}"
    );
}

/// `warden registry review --json` lines.
async fn reviews(w: &crate::support::Running) -> Vec<Value> {
    w.cli(&["registry", "review", "--json"])
        .await
        .lines()
        .map(|l| serde_json::from_str(l).expect("a review as JSON"))
        .collect()
}

/// The served card, once the kept one has expired on the gateway's clock
/// (cards are kept for `card_cache_ms` = 60 s here).
async fn served_after_expiry(w: &crate::support::Running) -> Value {
    w.advance_clock(61);
    served_and_verified(&w.gateway, "signed").await.0
}

#[tokio::test]
async fn a_changed_card_is_held_for_review_and_the_pinned_one_served() {
    let up = CardServer::start().await;
    let first = upstream_key("up-1");
    let second = upstream_key("up-2");
    let jwks = json!({"keys": [first.public_jwk().to_json(), second.public_jwk().to_json()]});
    up.set_card(signed(&upstream_card(&up.url), &first, None));
    let w = gateway(&format!(
        "[limits]\ncard_cache_ms = 60000\n{}",
        agent_toml(
            "signed",
            &up.url,
            &format!(
                "{}insecure_unsigned_card = false\n",
                jwks_inline(&jwks.to_string())
            ),
        )
    ))
    .await;
    let (card, _) = served_and_verified(&w.gateway, "signed").await;
    assert_eq!(card["description"], "a signed agent");
    assert_eq!(card["version"], "1.0.0");

    // Only the version changes: accepted and pinned.
    let mut v2 = upstream_card(&up.url);
    v2["version"] = json!("1.0.1");
    up.set_card(signed(&v2, &first, None));
    let card = served_after_expiry(&w).await;
    assert_eq!(card["version"], "1.0.1", "the new version is served");
    assert!(
        reviews(&w).await.is_empty(),
        "a version bump needs no review"
    );

    // A new signing key (and a new description): held, the pinned card served.
    let mut v3 = v2.clone();
    v3["description"] = json!("a changed agent");
    up.set_card(signed(&v3, &second, None));
    let card = served_after_expiry(&w).await;
    assert_eq!(
        card["description"], "a signed agent",
        "the pinned card is served"
    );
    let held = reviews(&w).await;
    assert_eq!(held.len(), 1, "one review per card: {held:?}");
    assert_eq!(held[0]["status"], "pending");
    let changes = held[0]["changes"].to_string();
    assert!(
        changes.contains("signing key") && changes.contains("description"),
        "{changes}"
    );
    for _ in 0..3 {
        let (card, _) = served_and_verified(&w.gateway, "signed").await;
        assert_eq!(
            card["description"], "a signed agent",
            "the pinned card is served"
        );
    }
    assert_eq!(reviews(&w).await.len(), 1, "raised once");

    let id = held[0]["id"].as_str().expect("id").to_string();
    let out = w.cli(&["registry", "approve", &id]).await;
    assert!(out.contains("approved"), "{out}");
    let card = served_after_expiry(&w).await;
    assert_eq!(
        card["description"], "a changed agent",
        "approved: the new card is served"
    );
    assert_eq!(reviews(&w).await[0]["status"], "approved");

    // Audited: the re-pin once, the hold once (kind `card`).
    let store = warden_store::Store::open(&w.dir.path().join("data").join("warden.db"))
        .await
        .expect("store");
    w.flush_audit().await;
    let events = store.recent_audit(500).await.expect("audit");
    let card: Vec<_> = events.iter().filter(|e| e.kind == "card").collect();
    let count = |outcome: &str| card.iter().filter(|e| e.outcome == outcome).count();
    assert!(
        count("held") == 1 && count("repinned") == 1,
        "card events: {card:?}"
    );
}

/// Discovery lists only Warden-signed cards of agents whose upstream card
/// verifies and which are not quarantined, filtered by skill, tag and text.
#[tokio::test]
async fn discovery_lists_verified_signed_unquarantined_cards() {
    let good = CardServer::start().await;
    let key = upstream_key("up-d");
    good.set_card(signed(&upstream_card(&good.url), &key, None));
    let forged = CardServer::start().await;
    let mut bytes = signed(&upstream_card(&forged.url), &key, None);
    let at = bytes.iter().position(|b| *b == b'l').expect("a letter");
    bytes[at] = b'L';
    forged.set_card(bytes);
    let other = CardServer::start().await;
    other.set_card(signed(&upstream_card(&other.url), &key, None));
    let pins = format!(
        "{}insecure_unsigned_card = false\n",
        jwks_inline(&pinned(&key))
    );
    let w = gateway(&format!(
        "{}{}{}",
        agent_toml("good", &good.url, &pins),
        agent_toml("forged", &forged.url, &pins),
        agent_toml("held", &other.url, &pins),
    ))
    .await;
    w.cli(&["quarantine", "add", "held", "--reason", "test"])
        .await;
    let list = |query: &'static str| {
        let url = format!("{}/registry/agents{query}", w.gateway);
        async move {
            let (status, body) = get(&url).await;
            (
                status,
                serde_json::from_slice::<Value>(&body).expect("JSON"),
            )
        }
    };
    // The CLI's quarantine holds for the very next listing (no wait for the
    // snapshot watcher).
    let (status, all) = list("").await;
    assert_eq!(status, 200, "{all}");
    let names: Vec<&str> = all["agents"]
        .as_array()
        .expect("agents")
        .iter()
        .filter_map(|a| a["name"].as_str())
        .collect();
    assert_eq!(names, ["good"], "{all}");
    // The listed card is the one Warden signs and serves.
    let (status, jwks) = get(&format!("{}/.well-known/jwks.json", w.gateway)).await;
    assert_eq!(status, 200);
    let keys = KeySet::from_jwks(&serde_json::from_slice(&jwks).expect("JWKS")).expect("keys");
    let card = all["agents"][0]["card"].to_string();
    verify_card(
        card.as_bytes(),
        &CardVerifyPolicy::new(warden_trust::alg::ALL_ALGS.to_vec()),
        &keys,
    )
    .expect("a listed card verifies with Warden's JWKS");

    assert_eq!(
        list("?skill=lookup").await.1["agents"]
            .as_array()
            .map(Vec::len),
        Some(1)
    );
    assert_eq!(
        list("?skill=nope").await.1["agents"]
            .as_array()
            .map(Vec::len),
        Some(0)
    );
    assert_eq!(
        list("?tag=T").await.1["agents"].as_array().map(Vec::len),
        Some(1)
    );
    assert_eq!(
        list("?q=looks%20THINGS").await.1["agents"]
            .as_array()
            .map(Vec::len),
        Some(1)
    );
    assert_eq!(
        list("?q=unrelated").await.1["agents"]
            .as_array()
            .map(Vec::len),
        Some(0)
    );
    assert_eq!(list("?skill=").await.0, 400);
    assert_eq!(list("?bogus=1").await.0, 400);
}

/// An agent whose card imitates another's (`0fficial-payments` next to
/// `official-payments`) is refused; a distinct agent beside them is served.
#[tokio::test]
async fn a_look_alike_card_is_refused() {
    let key = upstream_key("up-s");
    let mut servers = Vec::new();
    let mut toml = String::new();
    let pins = format!(
        "{}insecure_unsigned_card = false\n",
        jwks_inline(&pinned(&key))
    );
    for name in ["official-payments", "0fficial-payments", "weather"] {
        let s = CardServer::start().await;
        let mut card = upstream_card(&s.url);
        card["name"] = json!(name);
        s.set_card(signed(&card, &key, None));
        toml.push_str(&agent_toml(name, &s.url, &pins));
        servers.push(s);
    }
    let w = gateway(&toml).await;
    let card_of = |agent: &str| format!("{}/agents/{agent}/.well-known/agent-card.json", w.gateway);
    let (status, _) = get(&card_of("official-payments")).await;
    assert_eq!(status, 200);
    let (status, body) = get(&card_of("0fficial-payments")).await;
    assert_eq!(status, 502, "{}", String::from_utf8_lossy(&body));
    let v: Value = serde_json::from_slice(&body).expect("JSON");
    assert!(v.to_string().contains("card_shadowing"), "{v}");
    let (status, _) = get(&card_of("weather")).await;
    assert_eq!(status, 200);
}

/// Links in an upstream card that the egress rules refuse are not served;
/// acceptable ones are.
#[tokio::test]
async fn card_links_the_egress_rules_refuse_are_dropped() {
    let up = CardServer::start().await;
    let key = upstream_key("up-l");
    let mut card = upstream_card(&up.url);
    card["documentationUrl"] = json!("https://169.254.169.254/latest/meta-data/");
    card["iconUrl"] = json!("https://docs.example.com/icon.png");
    card["provider"] = json!({"organization": "Evil", "url": "http://10.0.0.1/"});
    up.set_card(signed(&card, &key, None));
    let w = gateway(&agent_toml(
        "links",
        &up.url,
        &format!(
            "{}insecure_unsigned_card = false\n",
            jwks_inline(&pinned(&key))
        ),
    ))
    .await;
    let (served, _) = served_and_verified(&w.gateway, "links").await;
    assert!(served.get("documentationUrl").is_none(), "{served}");
    assert!(served.get("provider").is_none(), "{served}");
    assert_eq!(
        served["iconUrl"], "https://docs.example.com/icon.png",
        "{served}"
    );
}
