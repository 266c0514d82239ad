//! The egress proxy end to end: gateway A's local agent calls a remote
//! agent behind gateway B (strict authentication) through A's egress
//! listener with only its A credential; A fetches B's card through the
//! egress rules, gets a token at B's token endpoint with the API key A was
//! given there (an environment variable of A's process), and both audit
//! trails say who called whom.

use std::path::{Path, PathBuf};
use std::process::Stdio;

use serde_json::{Value, json};
use tokio::io::{AsyncBufReadExt, AsyncReadExt, AsyncWriteExt, BufReader};
use tokio::net::TcpListener;
use tokio::process::Child;

use crate::support::{Running, WAIT, client, up, user_message, warden};

/// Gateway A: `warden gateway` with an egress proxy, its secrets in `env`.
struct GatewayA {
    _child: Child,
    egress: String,
    admin: String,
    dir: tempfile::TempDir,
    config: PathBuf,
}

impl GatewayA {
    async fn start(config_toml: &str, env: &[(&str, &str)]) -> Self {
        let dir = tempfile::tempdir().expect("tempdir");
        let data = dir.path().join("data");
        let config_toml = crate::support::insecure_unsigned_cards(config_toml);
        let text = format!(
            "[gateway]\nlisten = \"127.0.0.1:0\"\ndata_dir = {data:?}\n[admin]\nlisten = \"127.0.0.1:0\"\n[egress_proxy]\nlisten = \"127.0.0.1:0\"\n{config_toml}"
        );
        let config = dir.path().join("warden.toml");
        std::fs::write(&config, text).expect("write config");
        let mut cmd = warden();
        cmd.arg("gateway").arg("--config").arg(&config);
        for (k, v) in env {
            cmd.env(k, v);
        }
        let mut child = cmd.stdout(Stdio::piped()).spawn().expect("spawn gateway A");
        let stdout = child.stdout.take().expect("stdout");
        let mut lines = BufReader::new(stdout).lines();
        let (egress, admin) = tokio::time::timeout(WAIT, async {
            let mut egress = None;
            while let Ok(Some(line)) = lines.next_line().await {
                let mut words = line.split_whitespace();
                match (words.next(), words.next()) {
                    (Some("egress-proxy"), Some(url)) => egress = Some(url.to_string()),
                    (Some("admin"), url) => return (egress, url.map(str::to_owned)),
                    _ => {}
                }
            }
            (egress, None)
        })
        .await
        .expect("gateway A started in time");
        let egress = egress.expect("gateway A printed its egress proxy URL");
        let admin = admin.expect("gateway A printed its admin URL");
        tokio::spawn(async move { while let Ok(Some(_)) = lines.next_line().await {} });
        Self {
            _child: child,
            egress,
            admin,
            dir,
            config,
        }
    }

    async fn cli(&self, args: &[&str]) -> String {
        let out = warden()
            .args(args)
            .arg("--config")
            .arg(&self.config)
            .output()
            .await
            .expect("run warden");
        assert!(
            out.status.success(),
            "warden {args:?}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8_lossy(&out.stdout).trim().to_string()
    }

    /// A local agent registered at A with `grants`, and its API key.
    async fn local_agent(&self, id: &str, grants: &[&str]) -> String {
        let mut args = vec!["registry", "add", id];
        for g in grants {
            args.extend(["--grant", g]);
        }
        self.cli(&args).await;
        self.cli(&["apikey", "create", "--sub", id]).await
    }

    /// Its `kind` audit events, once every event emitted so far is stored.
    async fn audit(&self, kind: &str) -> Vec<warden_store::AuditRecord> {
        audit_of(&self.admin, &self.dir.path().join("data"), kind).await
    }
}

/// B's API key for A (the registry client `warden-a`, granted `grants`).
async fn key_at_b(b: &Running, grants: &[&str]) -> String {
    let mut args = vec!["registry", "add", "warden-a"];
    for g in grants {
        args.extend(["--grant", g]);
    }
    b.cli(&args).await;
    b.cli(&["apikey", "create", "--sub", "warden-a"]).await
}

fn port_of(url: &str) -> u16 {
    url.rsplit(':')
        .next()
        .and_then(|p| p.trim_end_matches('/').parse().ok())
        .expect("port")
}

/// Loopback is denied by default: the test opts in for B's port only.
fn egress_for(ports: &[u16]) -> String {
    format!(
        "[egress]\nallow_http = true\nallow_cidrs = [\"127.0.0.0/8\"]\nallowed_ports = {ports:?}\n"
    )
}

/// A JSON-RPC call with an API key (or none); status and body.
async fn rpc(url: &str, key: Option<&str>, method: &str, params: Value) -> (u16, Value) {
    let body = json!({"jsonrpc": "2.0", "id": 3, "method": method, "params": params});
    let mut req = client().post(url).header("A2A-Version", "1.0").json(&body);
    if let Some(k) = key {
        req = req.header("X-API-Key", k);
    }
    let r = req.send().await.expect("send");
    (r.status().as_u16(), r.json().await.unwrap_or(Value::Null))
}

/// The `kind` audit events of the instance with admin listener `admin` and
/// data directory `data`, once its writer has stored every event emitted
/// so far.
async fn audit_of(admin: &str, data: &Path, kind: &str) -> Vec<warden_store::AuditRecord> {
    crate::support::flush_audit(admin, data).await;
    let store = warden_store::Store::open(&data.join("warden.db"))
        .await
        .expect("store");
    let mut events = store.recent_audit(200).await.expect("audit");
    events.retain(|e| e.kind == kind);
    events
}

/// The `kind` audit events of a [`Running`] instance: see [`audit_of`].
async fn audit(w: &Running, kind: &str) -> Vec<warden_store::AuditRecord> {
    audit_of(&w.admin, &w.data_dir(), kind).await
}

fn detail(e: &warden_store::AuditRecord) -> Value {
    e.detail
        .as_deref()
        .and_then(|d| serde_json::from_str(d).ok())
        .unwrap_or(Value::Null)
}

#[tokio::test]
async fn egress_proxy_a_local_agent_calls_a_remote_agent_without_a_credential_for_it() {
    let b = up(&["--step-interval-ms", "50"]).await;
    let b_key = key_at_b(&b, &["echo=echo", "slow=*"]).await;
    let a = GatewayA::start(
        &format!(
            "{}
[[remote_agents]]
name = \"remote-echo\"
url = \"{gw}/agents/echo\"
insecure_unsigned_card = true
[remote_agents.auth]
kind = \"client_credentials\"
token_url = \"{gw}/oauth2/token\"
client_secret_env = \"WARDEN_E2E_B_KEY\"
audience = \"echo\"

[[remote_agents]]
name = \"remote-slow\"
url = \"{gw}/agents/slow\"
insecure_unsigned_card = true
[remote_agents.auth]
kind = \"client_credentials\"
token_url = \"{gw}/oauth2/token\"
client_secret_env = \"WARDEN_E2E_B_KEY\"
audience = \"slow\"
dpop = true
",
            egress_for(&[port_of(&b.gateway)]),
            gw = b.gateway
        ),
        &[("WARDEN_E2E_B_KEY", &b_key)],
    )
    .await;
    let planner = a
        .local_agent("planner", &["remote-echo=*", "remote-slow=*"])
        .await;
    let echo = format!("{}/egress/remote-echo", a.egress);

    // JSON-RPC, twice: the second call needs a new single-use token at B.
    for text in ["hello via A", "again via A"] {
        let (status, v) = rpc(
            &echo,
            Some(&planner),
            "SendMessage",
            json!({"message": user_message(text)}),
        )
        .await;
        assert_eq!(status, 200, "{v}");
        assert_eq!(
            v["result"]["task"]["status"]["state"], "TASK_STATE_COMPLETED",
            "{v}"
        );
        assert_eq!(
            v["result"]["task"]["artifacts"][0]["parts"][0]["text"],
            text
        );
    }
    // REST, then the task read back: it is the caller's at A.
    let r = client()
        .post(format!("{echo}/message:send"))
        .header("A2A-Version", "1.0")
        .header("X-API-Key", &planner)
        .json(&json!({"message": user_message("rest via A")}))
        .send()
        .await
        .expect("rest");
    assert_eq!(r.status(), 200);
    let v: Value = r.json().await.expect("json");
    let task = v["task"]["id"].as_str().expect("task id").to_string();
    let r = client()
        .get(format!("{echo}/tasks/{task}"))
        .header("A2A-Version", "1.0")
        .header("X-API-Key", &planner)
        .send()
        .await
        .expect("get task");
    assert_eq!(r.status(), 200);
    let got: Value = r.json().await.expect("json");
    assert_eq!(got["id"], task.as_str(), "{got}");

    // A stream from the remote slow agent, with a DPoP-bound token.
    let r = client()
        .post(format!("{}/egress/remote-slow", a.egress))
        .header("A2A-Version", "1.0")
        .header("X-API-Key", &planner)
        .json(
            &json!({"jsonrpc": "2.0", "id": 9, "method": "SendStreamingMessage",
            "params": {"message": user_message("3")}}),
        )
        .send()
        .await
        .expect("stream");
    assert_eq!(r.status(), 200);
    assert!(
        r.headers()["content-type"]
            .to_str()
            .is_ok_and(|c| c.starts_with("text/event-stream"))
    );
    let text = r.text().await.expect("events");
    let events = text.matches("data:").count();
    assert!(events >= 4, "{text}");
    assert!(text.contains("TASK_STATE_COMPLETED"), "{text}");

    // The card local agents see points at the proxy.
    let card: Value = client()
        .get(format!("{echo}/.well-known/agent-card.json"))
        .send()
        .await
        .expect("card")
        .json()
        .await
        .expect("json");
    let ifaces = card["supportedInterfaces"].as_array().expect("interfaces");
    assert!(!ifaces.is_empty());
    assert!(ifaces.iter().all(|i| i["url"] == echo.as_str()), "{card}");
    assert!(!card.to_string().contains(&b.gateway), "{card}");

    // B saw A's client, never the local agent or its key.
    let b_events = audit(&b, "request").await;
    assert!(
        b_events
            .iter()
            .filter(|e| e.outcome == "forwarded" && e.principal.as_deref() == Some("warden-a"))
            .count()
            >= 5,
        "{b_events:?}"
    );
    let from_a: Vec<_> = b_events
        .iter()
        .filter(|e| e.outcome == "forwarded")
        .collect();
    assert!(from_a.len() >= 5, "{b_events:?}");
    assert!(
        from_a
            .iter()
            .all(|e| e.principal.as_deref() == Some("warden-a"))
    );
    assert!(from_a.iter().any(|e| e.agent.as_deref() == Some("slow")));
    // A recorded who called whom.
    let a_events = a.audit("egress_proxy").await;
    assert!(
        a_events.iter().filter(|e| e.outcome == "forwarded").count() >= 5,
        "{a_events:?}"
    );
    let calls: Vec<_> = a_events
        .iter()
        .filter(|e| e.outcome == "forwarded")
        .collect();
    assert_eq!(calls.len(), 5, "{a_events:?}");
    for e in &calls {
        assert_eq!(e.principal.as_deref(), Some("planner"));
        assert!(e.agent.as_deref().is_some_and(|n| n.starts_with("remote-")));
        let d = detail(e);
        assert!(
            d["remote"]
                .as_str()
                .is_some_and(|u| u.starts_with(&b.gateway)),
            "{d}"
        );
        assert_eq!(d["status"], 200, "{d}");
        assert_eq!(d["decision"], "allow", "{d}");
    }
    assert!(
        calls
            .iter()
            .any(|e| e.operation.as_deref() == Some("SendStreamingMessage"))
    );
    let raw = format!("{a_events:?}");
    assert!(
        !raw.contains(&planner) && !raw.contains(&b_key),
        "no secret is recorded"
    );
}

#[tokio::test]
async fn egress_proxy_refuses_callers_without_credential_grant_or_good_standing() {
    let b = up(&[]).await;
    let b_key = key_at_b(&b, &["echo=echo"]).await;
    let a = GatewayA::start(
        &format!(
            "{}
[[remote_agents]]
name = \"remote-echo\"
url = \"{gw}/agents/echo\"
insecure_unsigned_card = true
auth = {{ kind = \"api_key_env\", env = \"WARDEN_E2E_B_API_KEY\" }}
",
            egress_for(&[port_of(&b.gateway)]),
            gw = b.gateway
        ),
        &[("WARDEN_E2E_B_API_KEY", &b_key)],
    )
    .await;
    let echo = format!("{}/egress/remote-echo", a.egress);
    let params = || json!({"message": user_message("x")});
    let planner = a.local_agent("planner", &["remote-echo=*"]).await;
    let (status, v) = rpc(&echo, Some(&planner), "SendMessage", params()).await;
    assert!(
        v["result"]["task"].is_object(),
        "the API key at B works: {status} {v}"
    );
    // A Warden token of A for the remote's name works too (single-use).
    let token = a
        .cli(&["token", "mint", "--sub", "planner", "--aud", "remote-echo"])
        .await;
    let send_with = |token: String| {
        let echo = echo.clone();
        async move {
            client()
                .post(&echo)
                .header("A2A-Version", "1.0")
                .bearer_auth(token)
                .json(&json!({"jsonrpc": "2.0", "id": 1, "method": "SendMessage", "params": params()}))
                .send()
                .await
                .expect("send")
        }
    };
    assert_eq!(send_with(token.clone()).await.status(), 200);
    assert_eq!(send_with(token).await.status(), 401, "replayed");

    // No credential: 401 with a challenge, whichever remote is named.
    for url in [echo.clone(), format!("{}/egress/nobody", a.egress)] {
        let r = client()
            .post(&url)
            .header("A2A-Version", "1.0")
            .json(&json!({"jsonrpc": "2.0", "id": 1, "method": "SendMessage", "params": params()}))
            .send()
            .await
            .expect("send");
        assert_eq!(r.status(), 401, "{url}");
        assert!(r.headers().contains_key("www-authenticate"));
    }
    // A local agent with no grant for the remote: its key is not for that
    // audience (as at ingress).
    let stranger = a.local_agent("stranger", &["other=*"]).await;
    let (status, v) = rpc(&echo, Some(&stranger), "SendMessage", params()).await;
    assert_eq!(status, 401, "{v}");
    // A grant for reading only: sending is forbidden.
    let reader = a.local_agent("reader", &[]).await;
    a.cli(&[
        "grant",
        "add",
        "reader",
        "remote-echo",
        "--skills",
        "*",
        "--ops",
        "get",
    ])
    .await;
    let (status, v) = rpc(&echo, Some(&reader), "SendMessage", params()).await;
    assert_eq!(status, 200);
    assert_eq!(v["error"]["data"][0]["reason"], "PERMISSION_DENIED", "{v}");
    // A quarantined caller is cut off, and released again.
    a.cli(&["quarantine", "add", "planner", "--reason", "e2e"])
        .await;
    let (_, v) = rpc(&echo, Some(&planner), "SendMessage", params()).await;
    assert_eq!(
        v["error"]["message"], "the calling agent is quarantined",
        "{v}"
    );
    a.cli(&["quarantine", "remove", "planner"]).await;
    let (_, v) = rpc(&echo, Some(&planner), "SendMessage", params()).await;
    assert!(v["result"]["task"].is_object(), "{v}");

    let events = a.audit("egress_proxy").await;
    assert!(
        events
            .iter()
            .any(|e| e.reason.as_deref() == Some("operation_not_granted:send"))
            && events
                .iter()
                .any(|e| e.reason.as_deref() == Some("caller_quarantined")),
        "{events:?}"
    );
    let reasons: Vec<_> = events.iter().filter_map(|e| e.reason.as_deref()).collect();
    for r in [
        "credential_missing",
        "operation_not_granted:send",
        "caller_quarantined",
    ] {
        assert!(reasons.contains(&r), "{r} not in {reasons:?}");
    }
    let denied = events
        .iter()
        .find(|e| e.reason.as_deref() == Some("operation_not_granted:send"))
        .expect("denied");
    assert_eq!(denied.principal.as_deref(), Some("reader"));
    assert_eq!(denied.agent.as_deref(), Some("remote-echo"));
}

/// Serves `card` at any path ending in the card path, one request per
/// connection; returns the base URL.
async fn card_server(card: Value) -> String {
    let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
    let base = format!("http://{}", listener.local_addr().expect("addr"));
    let body = card.to_string();
    tokio::spawn(async move {
        while let Ok((mut sock, _)) = listener.accept().await {
            let body = body.clone();
            tokio::spawn(async move {
                let mut buf = vec![0u8; 8192];
                let _ = sock.read(&mut buf).await;
                let resp = format!(
                    "HTTP/1.1 200 OK\r\ncontent-type: application/json\r\ncontent-length: {}\r\nconnection: close\r\n\r\n{body}",
                    body.len()
                );
                let _ = sock.write_all(resp.as_bytes()).await;
                let _ = sock.shutdown().await;
            });
        }
    });
    base
}

#[tokio::test]
async fn egress_proxy_refuses_a_remote_whose_card_does_not_verify() {
    let key = warden_trust::SigningKey::generate(warden_trust::JwsAlg::EdDsa).expect("key");
    let mut card = json!({
        "name": "partner", "description": "signed", "version": "1",
        "supportedInterfaces": [{"url": "http://127.0.0.1:1/rpc", "protocolBinding": "JSONRPC", "protocolVersion": "1.0"}],
        "capabilities": {"streaming": false}, "defaultInputModes": ["text/plain"],
        "defaultOutputModes": ["text/plain"],
        "skills": [{"id": "s", "name": "s", "description": "s", "tags": ["t"]}]
    });
    warden_trust::card_signature::add_card_signature(&mut card, &key, &Default::default())
        .expect("sign");
    let mut tampered = card.clone();
    tampered["supportedInterfaces"][0]["url"] = json!("http://127.0.0.1:2/rpc");
    let mut unsigned = card.clone();
    unsigned
        .as_object_mut()
        .expect("object")
        .remove("signatures");
    let servers = [card_server(tampered).await, card_server(unsigned).await];
    let jwks = json!({"keys": [key.public_jwk().to_json()]}).to_string();
    let ports: Vec<u16> = servers.iter().map(|s| port_of(s)).collect();
    let mut config = egress_for(&ports);
    for (name, base) in ["tampered", "unsigned"].iter().zip(&servers) {
        config.push_str(&format!(
            "[[remote_agents]]\nname = \"{name}\"\nurl = \"{base}/agents/partner\"\ntrust_jwks = '{jwks}'\n"
        ));
    }
    let a = GatewayA::start(&config, &[]).await;
    let caller = a.local_agent("caller", &["tampered=*", "unsigned=*"]).await;
    for (name, reason) in [
        ("tampered", "card_signature"),
        ("unsigned", "card_unsigned"),
    ] {
        let url = format!("{}/egress/{name}", a.egress);
        let (status, v) = rpc(
            &url,
            Some(&caller),
            "SendMessage",
            json!({"message": user_message("x")}),
        )
        .await;
        assert_eq!(status, 200, "{v}");
        assert_eq!(
            v["error"]["data"][0]["reason"], "UPSTREAM_UNAVAILABLE",
            "{v}"
        );
        assert_eq!(
            v["error"]["data"][0]["metadata"]["cardReason"], reason,
            "{v}"
        );
        // Its card is not served either.
        let r = client()
            .get(format!("{url}/.well-known/agent-card.json"))
            .send()
            .await
            .expect("card");
        assert_eq!(r.status(), 502, "{name}");
    }
    let events = a.audit("egress_proxy").await;
    assert!(
        events.iter().filter(|e| e.operation.is_some()).count() >= 2,
        "{events:?}"
    );
    for reason in ["card_signature", "card_unsigned"] {
        let e = events
            .iter()
            .find(|e| e.reason.as_deref() == Some(reason) && e.operation.is_some())
            .unwrap_or_else(|| panic!("{reason}: {events:?}"));
        assert_eq!(e.outcome, "refused");
        assert_eq!(e.principal.as_deref(), Some("caller"));
    }
}

#[tokio::test]
async fn egress_proxy_configuration_is_checked_before_anything_listens() {
    let dir = tempfile::tempdir().expect("tempdir");
    let check = |text: String| {
        let path = dir.path().join(format!("w{}.toml", text.len()));
        std::fs::write(&path, text).expect("write");
        async move {
            // The remotes are at documentation names: no lookups.
            let out = warden()
                .args(["config", "check", "--offline"])
                .arg(&path)
                .output()
                .await
                .expect("run");
            (
                out.status.success(),
                String::from_utf8_lossy(&out.stderr).to_string(),
            )
        }
    };
    let remote = |url: &str| {
        format!("[[remote_agents]]\nname = \"r\"\nurl = \"{url}\"\ninsecure_unsigned_card = true\n")
    };
    for (url, reason) in [
        (
            "https://169.254.169.254/latest/meta-data/",
            "denied_address",
        ),
        ("https://[::ffff:127.0.0.1]/", "denied_address"),
        ("https://2130706433/", "denied_address"),
        ("http://agent.example.com/", "scheme"),
        ("https://user:pass@agent.example.com/", "userinfo"),
        ("https://metadata.google.internal/", "bad_host"),
        ("https://agent.example.com:22/", "port"),
    ] {
        let (ok, err) = check(remote(url)).await;
        assert!(!ok, "{url}");
        assert!(err.contains(&format!("[{reason}]")), "{url}: {err}");
    }
    let (ok, err) = check(remote("https://agents.partner.example/agents/x")).await;
    assert!(ok, "{err}");
    let (ok, err) = check(format!(
        "[[agents]]\nname = \"r\"\nurl = \"http://127.0.0.1:9\"\n{}",
        remote("https://agents.partner.example/")
    ))
    .await;
    assert!(!ok && err.contains("also an [[agents]] name"), "{err}");

    // A secret that is not in the environment stops the start, naming the
    // variable.
    let path = dir.path().join("start.toml");
    std::fs::write(
        &path,
        format!(
            "[gateway]\nlisten = \"127.0.0.1:0\"\ndata_dir = {:?}\n[admin]\nlisten = \"127.0.0.1:0\"\n[egress_proxy]\nlisten = \"127.0.0.1:0\"\n{}auth = {{ kind = \"bearer_env\", env = \"WARDEN_E2E_UNSET_TOKEN\" }}\n",
            dir.path().join("data"),
            remote("https://agents.partner.example/")
        ),
    )
    .expect("write");
    let out = warden()
        .args(["gateway", "--config"])
        .arg(&path)
        .env_remove("WARDEN_E2E_UNSET_TOKEN")
        .output()
        .await
        .expect("run");
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("WARDEN_E2E_UNSET_TOKEN"), "{err}");
}

/// The official Python SDK's agent (tests/interop/python/sdk_agent.py) and
/// its port.
async fn python_sdk_agent() -> (Child, u16) {
    let mut child = tokio::process::Command::new(crate::support::python())
        .arg(crate::support::repo_root().join("tests/interop/python/sdk_agent.py"))
        .args(["--port", "0", "--exit-on-stdin-eof"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .kill_on_drop(true)
        .spawn()
        .expect("start the Python SDK agent");
    let mut lines = BufReader::new(child.stdout.take().expect("stdout")).lines();
    let port = tokio::time::timeout(WAIT, async {
        while let Ok(Some(line)) = lines.next_line().await {
            if let Some(p) = line.strip_prefix("LISTENING ") {
                return p.trim().parse::<u16>().ok();
            }
        }
        None
    })
    .await
    .expect("the SDK agent started in time")
    .expect("the SDK agent printed its port");
    tokio::spawn(async move { while let Ok(Some(_)) = lines.next_line().await {} });
    (child, port)
}

#[tokio::test]
async fn egress_proxy_reaches_the_python_sdk_agent_behind_another_warden() {
    let (_agent, port) = python_sdk_agent().await;
    let b = crate::support::gateway(&format!(
        "[[agents]]\nname = \"sdk\"\nurl = \"http://127.0.0.1:{port}\"\n"
    ))
    .await;
    let b_key = key_at_b(&b, &["sdk=*"]).await;
    let a = GatewayA::start(
        &format!(
            "{}
[[remote_agents]]
name = \"remote-sdk\"
url = \"{gw}/agents/sdk\"
insecure_unsigned_card = true
[remote_agents.auth]
kind = \"client_credentials\"
token_url = \"{gw}/oauth2/token\"
client_secret_env = \"WARDEN_E2E_SDK_KEY\"
audience = \"sdk\"
dpop = true
",
            egress_for(&[port_of(&b.gateway)]),
            gw = b.gateway
        ),
        &[("WARDEN_E2E_SDK_KEY", &b_key)],
    )
    .await;
    let local = a.local_agent("planner", &["remote-sdk=*"]).await;
    let sdk = format!("{}/egress/remote-sdk", a.egress);
    let (status, v) = rpc(
        &sdk,
        Some(&local),
        "SendMessage",
        json!({"message": user_message("hello python")}),
    )
    .await;
    assert_eq!(status, 200, "{v}");
    assert_eq!(
        v["result"]["task"]["artifacts"][0]["parts"][0]["text"], "hello python",
        "{v}"
    );
    let r = client()
        .post(format!("{sdk}/message:send"))
        .header("A2A-Version", "1.0")
        .header("X-API-Key", &local)
        .json(&json!({"message": user_message("rest python")}))
        .send()
        .await
        .expect("rest");
    assert_eq!(r.status(), 200);
    let v: Value = r.json().await.expect("json");
    assert_eq!(
        v["task"]["artifacts"][0]["parts"][0]["text"], "rest python",
        "{v}"
    );
    let r = client()
        .post(format!("{sdk}/message:stream"))
        .header("A2A-Version", "1.0")
        .header("X-API-Key", &local)
        .json(&json!({"message": user_message("slow:3")}))
        .send()
        .await
        .expect("stream");
    assert_eq!(r.status(), 200);
    let text = r.text().await.expect("events");
    assert!(text.matches("data:").count() >= 4, "{text}");
    assert!(text.contains("TASK_STATE_COMPLETED"), "{text}");

    let b_events = audit(&b, "request").await;
    assert!(
        b_events.iter().filter(|e| e.outcome == "forwarded").count() >= 3,
        "{b_events:?}"
    );
    let forwarded: Vec<_> = b_events
        .iter()
        .filter(|e| e.outcome == "forwarded")
        .collect();
    assert_eq!(forwarded.len(), 3, "{b_events:?}");
    assert!(
        forwarded
            .iter()
            .all(|e| e.principal.as_deref() == Some("warden-a"))
    );
    let a_events = a.audit("egress_proxy").await;
    assert!(
        a_events.iter().filter(|e| e.outcome == "forwarded").count() >= 3,
        "{a_events:?}"
    );
    assert!(
        a_events
            .iter()
            .filter(|e| e.outcome == "forwarded")
            .all(|e| e.principal.as_deref() == Some("planner")
                && e.agent.as_deref() == Some("remote-sdk"))
    );
}
