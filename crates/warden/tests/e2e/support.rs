//! Test support: real `warden` processes on ephemeral ports and a spy
//! upstream that records what reaches it. Fixtures other crates' tests use
//! too (the interop peers' interpreters, the test PKI, `Seen`) come from
//! `warden-test-support` and are re-exported here.

use std::path::PathBuf;
use std::process::Stdio;
use std::sync::{Arc, Mutex};

use serde_json::{Value, json};
use tokio::io::{AsyncBufReadExt, AsyncReadExt, AsyncWriteExt, BufReader};
use tokio::net::TcpListener;
use tokio::process::{Child, Command};

pub use warden_test_support::http::Seen;
pub use warden_test_support::interop::{js_dir, python};
pub use warden_test_support::pki::{Leaf, Pki, server_cert_of};
pub use warden_test_support::{WAIT, replace_file, repo_root};

mod pg_cluster;
mod redis;

pub use pg_cluster::PgCluster;
pub use redis::Redis;

/// A loopback port that was free a moment ago (another process may take it
/// first: callers that bind it retry elsewhere).
pub fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .expect("a free port")
        .port()
}

/// A fresh key-encryption key in a file in `dir` (64 hex characters), for
/// gateways that must share one (one store, one set of sealed keys).
pub fn write_kek(dir: &std::path::Path) -> PathBuf {
    use std::io::Read as _;
    let mut bytes = [0u8; 32];
    std::fs::File::open("/dev/urandom")
        .and_then(|mut f| f.read_exact(&mut bytes))
        .expect("random bytes");
    let hex: String = bytes.iter().map(|b| format!("{b:02x}")).collect();
    let path = dir.join("kek");
    std::fs::write(&path, hex).expect("write kek");
    path
}

pub fn warden() -> Command {
    let mut c = Command::new(env!("CARGO_BIN_EXE_warden"));
    c.kill_on_drop(true).env("WARDEN_LOG", "warn");
    c
}

/// A running `warden` process and the URLs it printed.
pub struct Running {
    /// Held so the process lives as long as the test (killed on drop).
    _child: Child,
    pub gateway: String,
    pub admin: String,
    pub dir: tempfile::TempDir,
    /// How CLI commands find this instance (`--data-dir D` or `--config F`).
    pub instance: Vec<String>,
    /// The registry client tokens are minted for.
    pub client: String,
}

/// The file an instance's clock offset is read from (debug builds only):
/// see [`Running::advance_clock`].
fn clock_file(dir: &tempfile::TempDir) -> PathBuf {
    dir.path().join("test-clock")
}

impl Running {
    /// The instance's admin token (`{data_dir}/admin-token`).
    pub fn admin_token(&self) -> String {
        std::fs::read_to_string(self.data_dir().join("admin-token"))
            .expect("admin-token")
            .trim()
            .to_string()
    }

    /// An admin API request (`/admin/v1{path}`); the status and the JSON
    /// answer (null when empty).
    pub async fn admin_api(
        &self,
        method: reqwest::Method,
        path: &str,
        body: Option<Value>,
    ) -> (u16, Value) {
        let mut req = client()
            .request(method, format!("{}/admin/v1{path}", self.admin))
            .bearer_auth(self.admin_token());
        if let Some(b) = body {
            req = req.json(&b);
        }
        let r = req.send().await.expect("admin request");
        let status = r.status().as_u16();
        let text = r.text().await.expect("body");
        let v = if text.is_empty() {
            Value::Null
        } else {
            serde_json::from_str(&text).unwrap_or_else(|e| panic!("{path}: not JSON ({e}): {text}"))
        };
        (status, v)
    }

    /// `GET /readyz`: its status and JSON answer.
    pub async fn readyz(&self) -> (u16, Value) {
        let r = client()
            .get(format!("{}/readyz", self.admin))
            .send()
            .await
            .expect("readyz");
        let status = r.status().as_u16();
        let text = r.text().await.expect("body");
        let v = serde_json::from_str(&text)
            .unwrap_or_else(|e| panic!("/readyz: not JSON ({e}): {text}"));
        (status, v)
    }

    /// Moves the instance's Unix clock `secs` seconds forward, at once:
    /// token lifetimes, replay and refresh windows see the time pass
    /// without the test waiting for it. (The gateway reads the offset from
    /// `WARDEN_TEST_CLOCK_FILE`, honoured only by debug builds.)
    pub fn advance_clock(&self, secs: u64) {
        let file = clock_file(&self.dir);
        let now: u64 = std::fs::read_to_string(&file)
            .ok()
            .and_then(|s| s.trim().parse().ok())
            .unwrap_or(0);
        replace_file(&file, &(now + secs).to_string());
    }

    /// The instance's data directory: the directory itself for `warden up`,
    /// `data/` below it for [`gateway`].
    pub fn data_dir(&self) -> PathBuf {
        let dir = self.dir.path();
        if dir.join("warden.db").exists() {
            dir.to_path_buf()
        } else {
            dir.join("data")
        }
    }

    /// Waits until every audit event this instance emitted so far is in its
    /// store: see [`flush_audit`].
    pub async fn flush_audit(&self) {
        flush_audit(&self.admin, &self.data_dir()).await;
    }

    /// Runs `warden ARGS… <instance>` and returns its stdout (trimmed).
    pub async fn cli(&self, args: &[&str]) -> String {
        let out = warden()
            .args(args)
            .args(&self.instance)
            .output()
            .await
            .expect("run warden");
        assert!(
            out.status.success(),
            "warden {args:?} failed: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8_lossy(&out.stdout).trim().to_string()
    }

    /// Stops the process as Ctrl-C would (SIGTERM: it finishes what it
    /// queued, then exits; it is gone when this returns) and hands back its
    /// data directory.
    pub async fn stop(mut self) -> tempfile::TempDir {
        if let Some(pid) = self._child.id() {
            let sent = std::process::Command::new("kill")
                .args(["-TERM", &pid.to_string()])
                .status()
                .expect("run kill");
            assert!(sent.success(), "kill -TERM {pid}");
            let exited = tokio::time::timeout(WAIT, self._child.wait()).await;
            assert!(exited.is_ok(), "warden did not exit after SIGTERM");
        }
        self.dir
    }

    /// Kills the process outright (SIGKILL: a crash, nothing finished) and
    /// hands back its data directory.
    pub async fn kill(mut self) -> tempfile::TempDir {
        self._child.kill().await.expect("kill warden");
        self.dir
    }

    /// A fresh single-use token for the test client to call `agent`.
    pub async fn token(&self, agent: &str) -> String {
        self.cli(&["token", "mint", "--sub", &self.client, "--aud", agent])
            .await
    }

    /// An API key for the test client.
    pub async fn api_key(&self) -> String {
        self.cli(&["apikey", "create", "--sub", &self.client]).await
    }

    /// A JSON-RPC call to `agent` with a fresh token.
    pub async fn rpc(&self, agent: &str, method: &str, params: Value) -> Value {
        let token = self.token(agent).await;
        rpc_with(
            &format!("{}/agents/{agent}", self.gateway),
            Some(&token),
            method,
            params,
        )
        .await
    }
}

/// Waits until every audit event an instance emitted so far is in its
/// store (`POST /admin/v1/audit/flush` on its `admin` listener, with the
/// admin token from `data_dir`), so a test reads the audit table once
/// instead of polling it while the batching writer catches up.
pub async fn flush_audit(admin: &str, data_dir: &std::path::Path) {
    let token = std::fs::read_to_string(data_dir.join("admin-token")).expect("admin-token");
    let r = client()
        .post(format!("{admin}/admin/v1/audit/flush"))
        .bearer_auth(token.trim())
        .send()
        .await
        .expect("audit flush");
    assert_eq!(r.status(), 204, "audit flush");
}

/// Reads stdout lines until both the gateway and admin URLs were printed.
async fn read_urls(child: &mut Child) -> (String, String) {
    let stdout = child.stdout.take().expect("stdout is piped");
    let mut lines = BufReader::new(stdout).lines();
    let (mut gateway, mut admin) = (None, None);
    let found = tokio::time::timeout(WAIT, async {
        while let Ok(Some(line)) = lines.next_line().await {
            let mut words = line.split_whitespace();
            match (words.next(), words.next()) {
                (Some("gateway"), Some(url)) => gateway = Some(url.to_string()),
                (Some("admin"), Some(url)) => admin = Some(url.to_string()),
                _ => {}
            }
            if gateway.is_some() && admin.is_some() {
                break;
            }
        }
    })
    .await;
    assert!(found.is_ok(), "warden did not print its URLs in time");
    // Keep draining stdout so the child never blocks on a full pipe.
    tokio::spawn(async move { while let Ok(Some(_)) = lines.next_line().await {} });
    (
        gateway.expect("gateway URL printed"),
        admin.expect("admin URL printed"),
    )
}

/// `warden up` on ephemeral ports in a fresh data directory.
pub async fn up(extra: &[&str]) -> Running {
    up_in(tempfile::tempdir().expect("tempdir"), extra).await
}

/// `warden up` on an existing data directory (see [`Running::stop`]).
pub async fn up_in(dir: tempfile::TempDir, extra: &[&str]) -> Running {
    up_in_env(dir, extra, &[]).await
}

/// [`up_in`] with extra environment variables (debug-build test hooks).
pub async fn up_in_env(dir: tempfile::TempDir, extra: &[&str], env: &[(&str, &str)]) -> Running {
    let mut child = warden();
    child.envs(env.iter().copied());
    let mut child = child
        .args([
            "up",
            "--listen",
            "127.0.0.1:0",
            "--admin-listen",
            "127.0.0.1:0",
        ])
        .arg("--data-dir")
        .arg(dir.path())
        .args(extra)
        .env("WARDEN_TEST_CLOCK_FILE", clock_file(&dir))
        .stdout(Stdio::piped())
        .spawn()
        .expect("spawn warden up");
    let (gateway, admin) = read_urls(&mut child).await;
    let instance = vec!["--data-dir".to_string(), dir.path().display().to_string()];
    Running {
        _child: child,
        gateway,
        admin,
        dir,
        instance,
        client: "demo-client".into(),
    }
}

/// `warden gateway --config` with the given TOML (listen addresses are added).
/// The test upstreams (Spy, SDK agents) do not sign their cards: unless a
/// test's `[[agents]]` tables speak of `insecure_unsigned_card` themselves,
/// each gets `insecure_unsigned_card = true` (`[[remote_agents]]` may use
/// the same key).
pub fn insecure_unsigned_cards(config_toml: &str) -> String {
    let own = config_toml
        .split("[[")
        .any(|t| t.starts_with("agents]]") && t.contains("insecure_unsigned_card"));
    if own {
        return config_toml.to_string();
    }
    config_toml.replace(
        "[[agents]]\n",
        "[[agents]]\ninsecure_unsigned_card = true\n",
    )
}

pub async fn gateway(config_toml: &str) -> Running {
    let dir = tempfile::tempdir().expect("tempdir");
    let data = dir.path().join("data");
    let agents = insecure_unsigned_cards(config_toml);
    let text = format!(
        "[gateway]\nlisten = \"127.0.0.1:0\"\ndata_dir = {data:?}\n[admin]\nlisten = \"127.0.0.1:0\"\n{agents}"
    );
    let path = dir.path().join("warden.toml");
    std::fs::write(&path, text).expect("write config");
    let w = gateway_from_file(dir, &path).await;
    // A registry client allowed every skill of every configured agent.
    let mut args = vec!["registry".to_string(), "add".into(), "tester".into()];
    for line in config_toml.lines() {
        if let Some(name) = line.trim().strip_prefix("name = ") {
            args.push("--grant".into());
            args.push(format!("{}=*", name.trim_matches('"')));
        }
    }
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    w.cli(&args).await;
    w
}

/// `warden gateway --config PATH` for a configuration file the test wrote
/// whole (in `dir`, which holds the instance's clock file), once it printed
/// its URLs; registers nothing. The CLI client is `tester`.
pub async fn gateway_from_file(dir: tempfile::TempDir, path: &std::path::Path) -> Running {
    let mut child = warden()
        .arg("gateway")
        .arg("--config")
        .arg(path)
        .env("WARDEN_TEST_CLOCK_FILE", clock_file(&dir))
        .stdout(Stdio::piped())
        .spawn()
        .expect("spawn warden gateway");
    let (gateway, admin) = read_urls(&mut child).await;
    let instance = vec!["--config".to_string(), path.display().to_string()];
    Running {
        _child: child,
        gateway,
        admin,
        dir,
        instance,
        client: "tester".into(),
    }
}

pub fn client() -> reqwest::Client {
    reqwest::Client::builder()
        .no_proxy()
        .timeout(WAIT)
        .build()
        .expect("client")
}

/// A JSON-RPC call with `A2A-Version: 1.0` (and a bearer token when given);
/// returns the whole response body.
pub async fn rpc_with(url: &str, token: Option<&str>, method: &str, params: Value) -> Value {
    let body = json!({"jsonrpc": "2.0", "id": 1, "method": method, "params": params});
    let mut req = client().post(url).header("A2A-Version", "1.0").json(&body);
    if let Some(t) = token {
        req = req.bearer_auth(t);
    }
    req.send()
        .await
        .expect("send")
        .json()
        .await
        .expect("json body")
}

pub fn user_message(text: &str) -> Value {
    json!({
        "role": "ROLE_USER",
        "messageId": format!("m-{}", uuid_like()),
        "parts": [{"text": text}],
    })
}

fn uuid_like() -> String {
    use std::sync::atomic::{AtomicU64, Ordering};
    static N: AtomicU64 = AtomicU64::new(0);
    format!(
        "{}-{}",
        std::process::id(),
        N.fetch_add(1, Ordering::Relaxed)
    )
}

/// A minimal HTTP/1.1 upstream that records every request and answers a
/// card at `/.well-known/agent-card.json` and a fixed JSON-RPC result
/// elsewhere. It is deliberately not Warden code.
pub struct Spy {
    pub url: String,
    pub seen: Arc<Mutex<Vec<Seen>>>,
    pub connections: Arc<Mutex<usize>>,
}

impl Spy {
    pub async fn start() -> Spy {
        Self::start_with(None).await
    }

    /// A spy whose answer to each `SendMessage` names a new task (`t1`,
    /// `t2`, …) instead of always `t`.
    pub async fn start_numbering_tasks() -> Spy {
        Self::start_with(Some(Arc::new(std::sync::atomic::AtomicU64::new(0)))).await
    }

    async fn start_with(tasks: Option<Arc<std::sync::atomic::AtomicU64>>) -> Spy {
        let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind spy");
        let url = format!("http://{}", listener.local_addr().expect("addr"));
        let seen = Arc::new(Mutex::new(Vec::new()));
        let connections = Arc::new(Mutex::new(0));
        let (s, c, u) = (seen.clone(), connections.clone(), url.clone());
        tokio::spawn(async move {
            while let Ok((sock, _)) = listener.accept().await {
                *c.lock().expect("lock") += 1;
                let (s, u, t) = (s.clone(), u.clone(), tasks.clone());
                tokio::spawn(async move {
                    let _ = serve_spy_connection(sock, s, u, t).await;
                });
            }
        });
        Spy {
            url,
            seen,
            connections,
        }
    }

    pub fn requests(&self) -> Vec<Seen> {
        self.seen.lock().expect("lock").clone()
    }

    pub fn connection_count(&self) -> usize {
        *self.connections.lock().expect("lock")
    }
}

async fn serve_spy_connection(
    sock: tokio::net::TcpStream,
    seen: Arc<Mutex<Vec<Seen>>>,
    url: String,
    tasks: Option<Arc<std::sync::atomic::AtomicU64>>,
) -> std::io::Result<()> {
    let mut reader = BufReader::new(sock);
    loop {
        let mut request_line = String::new();
        if reader.read_line(&mut request_line).await? == 0 {
            return Ok(());
        }
        let mut parts = request_line.split_whitespace();
        let method = parts.next().unwrap_or("").to_string();
        let path = parts.next().unwrap_or("").to_string();
        let mut headers = Vec::new();
        loop {
            let mut line = String::new();
            reader.read_line(&mut line).await?;
            let line = line.trim_end();
            if line.is_empty() {
                break;
            }
            if let Some((k, v)) = line.split_once(':') {
                headers.push((k.trim().to_string(), v.trim().to_string()));
            }
        }
        let len = headers
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case("content-length"))
            .and_then(|(_, v)| v.parse::<usize>().ok())
            .unwrap_or(0);
        let mut body = vec![0; len];
        reader.read_exact(&mut body).await?;
        let reply = if path.ends_with("/.well-known/agent-card.json") {
            json!({
                "name": "spy", "description": "records requests", "version": "1",
                "supportedInterfaces": [
                    {"url": url, "protocolBinding": "JSONRPC", "protocolVersion": "1.0"},
                    {"url": url, "protocolBinding": "HTTP+JSON", "protocolVersion": "1.0"}
                ],
                "capabilities": {"streaming": true},
                "defaultInputModes": ["text/plain"], "defaultOutputModes": ["text/plain"],
                "skills": [{"id": "spy", "name": "spy", "description": "spy", "tags": []}]
            })
        } else {
            spy_answer(&method, &path, &body, tasks.as_deref())
        };
        seen.lock().expect("lock").push(Seen {
            method,
            path,
            headers,
            body,
        });
        let body = reply.to_string();
        let resp = format!(
            "HTTP/1.1 200 OK\r\ncontent-type: application/json\r\ncontent-length: {}\r\nx-warden-injected: evil\r\nconnection: keep-alive\r\n\r\n{body}",
            body.len()
        );
        reader.get_mut().write_all(resp.as_bytes()).await?;
    }
}

/// A valid answer to whatever call reached the spy (Warden checks answers:
/// see `crate::answers` in the gateway): the call's JSON-RPC id echoed, a
/// task for a message (always `t`, or `t1`, `t2`, … when numbering), the
/// task asked for, an empty list.
fn spy_answer(
    method: &str,
    path: &str,
    body: &[u8],
    tasks: Option<&std::sync::atomic::AtomicU64>,
) -> Value {
    let call: Value = serde_json::from_slice(body).unwrap_or(Value::Null);
    let jsonrpc = call.get("jsonrpc").is_some();
    let rpc_method = call.get("method").and_then(Value::as_str).unwrap_or("");
    let sends = if jsonrpc {
        rpc_method.contains("SendMessage") || rpc_method.starts_with("message/")
    } else {
        path.contains("message:")
    };
    let task = |id: String, context: String| json!({"id": id, "contextId": context, "status": {"state": "TASK_STATE_COMPLETED"}});
    let result = if sends {
        let (id, context) = match tasks {
            Some(n) => {
                let n = n.fetch_add(1, std::sync::atomic::Ordering::Relaxed) + 1;
                (format!("t{n}"), format!("c{n}"))
            }
            None => ("t".to_string(), "c".to_string()),
        };
        json!({"task": task(id, context)})
    } else {
        let asked = if jsonrpc {
            call.pointer("/params/id")
                .and_then(Value::as_str)
                .map(str::to_owned)
        } else {
            path.split('?')
                .next()
                .and_then(|p| p.split("/tasks/").nth(1))
                .map(|rest| rest.split([':', '/']).next().unwrap_or("").to_string())
        };
        let listing = if jsonrpc {
            rpc_method == "ListTasks"
        } else {
            method == "GET"
                && path
                    .split('?')
                    .next()
                    .is_some_and(|p| p.ends_with("/tasks"))
        };
        match asked {
            _ if listing => {
                json!({"tasks": [], "nextPageToken": "", "pageSize": 0, "totalSize": 0})
            }
            Some(id)
                if !id.is_empty()
                    && !path.contains("pushNotificationConfigs")
                    && !rpc_method.contains("PushNotification") =>
            {
                task(id, "c".to_string())
            }
            _ => json!({}),
        }
    };
    if jsonrpc {
        json!({"jsonrpc": "2.0", "id": call.get("id").cloned().unwrap_or(Value::Null), "result": result})
    } else {
        result
    }
}

/// A JSON-RPC `SendMessage` over `client` with a bearer token; returns the
/// status, the `WWW-Authenticate` header and the body.
pub async fn send_message_via(
    client: &reqwest::Client,
    url: &str,
    token: &str,
) -> Result<(u16, Option<String>, Value), reqwest::Error> {
    let body = json!({
        "jsonrpc": "2.0", "id": 1, "method": "SendMessage",
        "params": {"message": user_message("over TLS")},
    });
    let r = client
        .post(url)
        .header("A2A-Version", "1.0")
        .bearer_auth(token)
        .json(&body)
        .send()
        .await?;
    let status = r.status().as_u16();
    let challenge = r
        .headers()
        .get("www-authenticate")
        .and_then(|v| v.to_str().ok())
        .map(str::to_owned);
    Ok((status, challenge, r.json().await.unwrap_or(Value::Null)))
}
