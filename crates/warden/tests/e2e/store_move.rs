//! Moving a deployment from SQLite to PostgreSQL with `warden store export`
//! and `warden store import`: a gateway on SQLite serves a registered
//! caller with a grant and refuses two others (no grant; quarantined); its
//! store is exported, imported into a fresh PostgreSQL schema, and a
//! gateway on that schema (same public_url, the KEK file copied) serves
//! the caller with a token minted before the move and with its API key,
//! keeps its task its own, and refuses what was refused.

use std::os::unix::fs::PermissionsExt;
use std::process::Output;

use serde_json::{Value, json};

use crate::store_postgres::Schema;
use crate::support::{Running, Spy, client, gateway_from_file, user_message, warden};

const PUBLIC_URL: &str = "http://warden.move.test";

/// A gateway in front of `spy` on a port picked up front (every gateway of
/// the deployment advertises `PUBLIC_URL`, the issuer of its tokens), with
/// `store` as its `[store]` table.
async fn start(spy: &str, store: &str) -> Running {
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .expect("a free port")
        .port();
    let dir = tempfile::tempdir().expect("tempdir");
    let data = dir.path().join("data");
    let text = format!(
        "[gateway]\nlisten = \"127.0.0.1:{port}\"\npublic_url = \"{PUBLIC_URL}\"\ndata_dir = {data:?}\n\
         [admin]\nlisten = \"127.0.0.1:0\"\n{store}\n\
         [[agents]]\nname = \"spy\"\nurl = \"{spy}\"\ninsecure_unsigned_card = true\n"
    );
    let path = dir.path().join("warden.toml");
    std::fs::write(&path, text).expect("write config");
    let mut w = gateway_from_file(dir, &path).await;
    w.gateway = format!("http://127.0.0.1:{port}");
    w
}

/// `warden ARGS…` as it exits.
async fn run(args: &[&str]) -> Output {
    warden().args(args).output().await.expect("run warden")
}

fn says(out: &Output) -> String {
    format!(
        "exit {:?}\nstdout: {}\nstderr: {}",
        out.status.code(),
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    )
}

/// A JSON-RPC call to the spy at `w` with an API key or a token.
async fn call(w: &Running, credential: (&str, &str), method: &str, params: Value) -> Value {
    client()
        .post(format!("{}/agents/spy", w.gateway))
        .header("A2A-Version", "1.0")
        .header(credential.0, credential.1)
        .json(&json!({"jsonrpc": "2.0", "id": 1, "method": method, "params": params}))
        .send()
        .await
        .expect("send")
        .json()
        .await
        .expect("JSON answer")
}

fn send() -> Value {
    json!({"message": user_message("moving")})
}

fn served(v: &Value) -> bool {
    v.get("result").is_some()
}

fn error_code(v: &Value) -> i64 {
    v.pointer("/error/code")
        .and_then(Value::as_i64)
        .unwrap_or(0)
}

/// The row counts `warden store status --json` reports for an instance.
async fn rows(instance: &[String]) -> Value {
    let mut args = vec!["store", "status", "--json"];
    args.extend(instance.iter().map(String::as_str));
    let out = run(&args).await;
    assert_eq!(out.status.code(), Some(0), "{}", says(&out));
    let status: Value = serde_json::from_slice(&out.stdout).expect("JSON status");
    status["rows"].clone()
}

#[tokio::test]
async fn store_move_sqlite_to_postgres_keeps_callers_and_refusals() {
    let spy = Spy::start().await;
    let old = start(&spy.url, "").await;
    for args in [
        &["registry", "add", "tester", "--grant", "spy=*"][..],
        &["registry", "add", "other", "--grant", "spy=*"],
        &["registry", "add", "stranger"],
        &["registry", "add", "mallory", "--grant", "spy=*"],
        &["quarantine", "add", "mallory", "--reason", "leaked key"],
    ] {
        old.cli(args).await;
    }
    let key = |sub: &'static str| {
        let old = &old;
        async move { old.cli(&["apikey", "create", "--sub", sub]).await }
    };
    let (tester, other, stranger, mallory) = (
        key("tester").await,
        key("other").await,
        key("stranger").await,
        key("mallory").await,
    );
    // A token minted before the move, used only after it.
    let token = old
        .cli(&["token", "mint", "--sub", "tester", "--aud", "spy"])
        .await;

    let before = call(&old, ("X-API-Key", &tester), "SendMessage", send()).await;
    assert!(served(&before), "{before}");
    let task = before["result"]["task"]["id"]
        .as_str()
        .expect("a task")
        .to_string();
    let refusals = |v: &Value| (served(v), error_code(v));
    let refused_before = [
        refusals(&call(&old, ("X-API-Key", &stranger), "SendMessage", send()).await),
        refusals(&call(&old, ("X-API-Key", &mallory), "SendMessage", send()).await),
        refusals(&call(&old, ("X-API-Key", &other), "GetTask", json!({"id": task})).await),
    ];
    assert!(refused_before.iter().all(|(s, _)| !s), "{refused_before:?}");
    let old_instance = old.instance.clone();
    let old_dir = old.stop().await;
    let old_rows = rows(&old_instance).await;

    // Export: a new file, owner-only.
    let file = old_dir.path().join("move.jsonl");
    let file_arg = file.display().to_string();
    let mut export = vec!["store", "export", "--out", &file_arg];
    export.extend(old_instance.iter().map(String::as_str));
    let out = run(&export).await;
    assert_eq!(out.status.code(), Some(0), "{}", says(&out));
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("secrets at rest"),
        "{}",
        says(&out)
    );
    let mode = std::fs::metadata(&file)
        .expect("export file")
        .permissions()
        .mode();
    assert_eq!(mode & 0o777, 0o600, "{mode:o}");
    let out = run(&export).await;
    assert_eq!(
        out.status.code(),
        Some(2),
        "an existing file is kept: {}",
        says(&out)
    );

    // The new deployment: a fresh schema, a data directory of its own.
    let schema = Schema::create().await;
    let dir = tempfile::tempdir().expect("tempdir");
    let new_config = dir.path().join("warden.toml");
    let new_data = dir.path().join("data");
    std::fs::write(
        &new_config,
        format!(
            "[gateway]\ndata_dir = {new_data:?}\npublic_url = \"{PUBLIC_URL}\"\n[store]\nurl = \"{}\"\n",
            schema.url()
        ),
    )
    .expect("config");
    let config_arg = new_config.display().to_string();
    let import = [
        "store",
        "import",
        "--in",
        &file_arg,
        "--config",
        &config_arg,
    ];
    // Without the source's key-encryption key, nothing is imported.
    let out = run(&import).await;
    assert_eq!(out.status.code(), Some(1), "{}", says(&out));
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("no key-encryption key"),
        "{}",
        says(&out)
    );
    std::fs::create_dir_all(&new_data).expect("data dir");
    std::fs::copy(
        old_dir.path().join("data").join("kek"),
        new_data.join("kek"),
    )
    .expect("copy kek");
    let out = run(&import).await;
    assert_eq!(out.status.code(), Some(0), "{}", says(&out));
    assert!(
        String::from_utf8_lossy(&out.stdout).contains(&format!("public_url = \"{PUBLIC_URL}\"")),
        "{}",
        says(&out)
    );
    let new_instance = vec!["--config".to_string(), config_arg.clone()];
    assert_eq!(
        rows(&new_instance).await,
        old_rows,
        "every table moved whole"
    );
    // Once is enough: the target now has rows.
    let out = run(&import).await;
    assert_eq!(out.status.code(), Some(1), "{}", says(&out));
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("not empty"),
        "{}",
        says(&out)
    );

    // The gateway on PostgreSQL.
    let new = start(
        &spy.url,
        &format!(
            "[auth]\nkek_file = {:?}\n[store]\nurl = \"{}\"",
            new_data.join("kek"),
            schema.url()
        ),
    )
    .await;
    assert!(
        !new.data_dir().join("warden.db").exists(),
        "the state is on PostgreSQL"
    );
    let v = call(
        &new,
        ("Authorization", &format!("Bearer {token}")),
        "SendMessage",
        send(),
    )
    .await;
    assert!(served(&v), "a token minted before the move: {v}");
    let v = call(&new, ("X-API-Key", &tester), "GetTask", json!({"id": task})).await;
    assert!(served(&v), "its own task, created before the move: {v}");
    let refused_after = [
        refusals(&call(&new, ("X-API-Key", &stranger), "SendMessage", send()).await),
        refusals(&call(&new, ("X-API-Key", &mallory), "SendMessage", send()).await),
        refusals(&call(&new, ("X-API-Key", &other), "GetTask", json!({"id": task})).await),
    ];
    assert_eq!(refused_after, refused_before, "refused as before the move");
    new.stop().await;
    Schema::run(&format!("DROP SCHEMA {} CASCADE", schema.0)).await;
}

/// A store a newer Warden migrated: `status` says so (exit 1), `migrate`
/// and `export` refuse it (exit 1), and a gateway refuses to start on it,
/// saying why; nothing is changed.
#[tokio::test]
async fn store_newer_schema_is_refused_by_the_cli_and_the_gateway() {
    let schema = Schema::create().await;
    let url = schema.url();
    let latest = warden_store::SCHEMA_VERSION;
    let out = run(&["store", "status", "--url", &url]).await;
    assert_eq!(out.status.code(), Some(1), "never migrated: {}", says(&out));
    let out = run(&["store", "migrate", "--url", &url, "--json"]).await;
    assert_eq!(out.status.code(), Some(0), "{}", says(&out));
    let moved: Value = serde_json::from_slice(&out.stdout).expect("JSON");
    assert_eq!(
        (moved["from"].as_i64(), moved["to"].as_i64()),
        (Some(0), Some(latest))
    );
    let out = run(&["store", "status", "--url", &url]).await;
    assert_eq!(out.status.code(), Some(0), "{}", says(&out));

    Schema::run(&format!(
        "INSERT INTO {}.schema_versions (version, applied_at) VALUES ({}, 'a newer Warden')",
        schema.0,
        latest + 1
    ))
    .await;
    let out = run(&["store", "status", "--url", &url, "--json"]).await;
    assert_eq!(out.status.code(), Some(1), "{}", says(&out));
    let status: Value = serde_json::from_slice(&out.stdout).expect("JSON");
    assert_eq!(status["state"], "newer_than_binary", "{status}");
    for args in [
        &["store", "migrate", "--url", &url][..],
        &[
            "store",
            "export",
            "--url",
            &url,
            "--out",
            "/nonexistent/never-written",
        ],
    ] {
        let out = run(args).await;
        assert_eq!(out.status.code(), Some(1), "{args:?}: {}", says(&out));
    }

    let dir = tempfile::tempdir().expect("tempdir");
    let config = dir.path().join("warden.toml");
    std::fs::write(
        &config,
        format!(
            "[gateway]\nlisten = \"127.0.0.1:0\"\ndata_dir = {:?}\n[admin]\nlisten = \"127.0.0.1:0\"\n[store]\nurl = \"{url}\"\n",
            dir.path().join("data")
        ),
    )
    .expect("config");
    let out = tokio::time::timeout(
        crate::support::WAIT,
        run(&["gateway", "--config", &config.display().to_string()]),
    )
    .await
    .expect("the gateway exits at once");
    assert!(!out.status.success(), "{}", says(&out));
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("A newer Warden migrated it"),
        "{}",
        says(&out)
    );
    let out = run(&["store", "status", "--url", &url, "--json"]).await;
    let status: Value = serde_json::from_slice(&out.stdout).expect("JSON");
    assert_eq!(
        status["schema_version"].as_i64(),
        Some(latest + 1),
        "unchanged"
    );
    Schema::run(&format!("DROP SCHEMA {} CASCADE", schema.0)).await;
}

/// `warden store backup` copies a running gateway's SQLite store; restored
/// (the gateway stopped, the database files replaced by the copy), the
/// gateway serves what the store held when the copy was taken, and not
/// what came after.
#[tokio::test]
async fn store_backup_of_a_running_gateway_restores() {
    let spy = Spy::start().await;
    let w = start(&spy.url, "").await;
    w.cli(&["registry", "add", "tester", "--grant", "spy=*"])
        .await;
    let key = w.cli(&["apikey", "create", "--sub", "tester"]).await;
    let copy = w.dir.path().join("backup.db");
    let copy_arg = copy.display().to_string();
    let mut backup = vec!["store", "backup", "--out", &copy_arg];
    backup.extend(w.instance.iter().map(String::as_str));
    let out = run(&backup).await;
    assert_eq!(out.status.code(), Some(0), "{}", says(&out));
    let mode = std::fs::metadata(&copy).expect("copy").permissions().mode();
    assert_eq!(mode & 0o777, 0o600, "{mode:o}");
    let out = run(&backup).await;
    assert_eq!(out.status.code(), Some(2), "never replaced: {}", says(&out));
    // After the copy: a new key, a quarantine.
    let late = w.cli(&["apikey", "create", "--sub", "tester"]).await;
    w.cli(&[
        "quarantine",
        "add",
        "tester",
        "--reason",
        "after the backup",
    ])
    .await;
    let v = call(&w, ("X-API-Key", &key), "SendMessage", send()).await;
    assert!(!served(&v), "quarantined: {v}");

    let config = w.instance[1].clone();
    let dir = w.stop().await;
    let data = dir.path().join("data");
    for name in [
        "warden.db",
        "warden.db-wal",
        "warden.db-shm",
        "warden.db-changes",
    ] {
        let _ = std::fs::remove_file(data.join(name));
    }
    std::fs::copy(&copy, data.join("warden.db")).expect("restore");
    let mut restored = gateway_from_file(dir, std::path::Path::new(&config)).await;
    restored.gateway = w_gateway(&config);
    let v = call(&restored, ("X-API-Key", &key), "SendMessage", send()).await;
    assert!(served(&v), "the store as it was at the copy: {v}");
    let v = call(&restored, ("X-API-Key", &late), "SendMessage", send()).await;
    assert!(!served(&v), "a key made after the copy is not in it: {v}");
    restored.stop().await;
}

/// The gateway URL a configuration written by [`start`] listens on.
fn w_gateway(config: &str) -> String {
    let text = std::fs::read_to_string(config).expect("config");
    let listen = text
        .lines()
        .find_map(|l| l.strip_prefix("listen = \"127.0.0.1:"))
        .expect("the gateway's listen line");
    format!("http://127.0.0.1:{}", listen.trim_end_matches('"'))
}
