//! `warden clean --days N`: what it removes from a gateway's store and what
//! it keeps, its dry run and JSON, its exit codes, and its turn behind a
//! running retention on PostgreSQL. Time passes through the CLI's own test
//! clock (`WARDEN_TEST_CLOCK_FILE`), never by waiting.

use serde_json::{Value, json};

use crate::store_postgres::Schema;
use crate::support::{Running, Spy, gateway, gateway_from_file, rpc_with, user_message, warden};

const DAY: u64 = 86_400;

/// `warden clean ARGS… <instance>` with the CLI's clock `offset` seconds
/// ahead: its exit code, stdout and stderr.
async fn clean(w: &Running, offset: u64, args: &[&str]) -> (i32, String, String) {
    clean_with(&w.instance, offset, args).await
}

async fn clean_with(instance: &[String], offset: u64, args: &[&str]) -> (i32, String, String) {
    let clock = tempfile::NamedTempFile::new().expect("clock file");
    std::fs::write(clock.path(), offset.to_string()).expect("write clock");
    let out = warden()
        .arg("clean")
        .args(args)
        .args(instance)
        .env("WARDEN_TEST_CLOCK_FILE", clock.path())
        .output()
        .await
        .expect("run warden clean");
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stdout).trim().to_string(),
        String::from_utf8_lossy(&out.stderr).to_string(),
    )
}

async fn clean_json(w: &Running, offset: u64, args: &[&str]) -> Value {
    let mut all = args.to_vec();
    all.push("--json");
    let (code, out, err) = clean(w, offset, &all).await;
    assert_eq!(code, 0, "warden clean {args:?}: {err}");
    serde_json::from_str(&out).unwrap_or_else(|e| panic!("not JSON ({e}): {out}"))
}

async fn get_task(w: &Running, key: &str) -> Value {
    rpc_with(
        &format!("{}/agents/spy", w.gateway),
        Some(key),
        "GetTask",
        json!({"id": "t"}),
    )
    .await
}

#[tokio::test]
async fn clean_removes_what_is_past_its_age_and_keeps_audit_unless_asked() {
    let spy = Spy::start().await;
    let config = format!("[[agents]]\nname = \"spy\"\nurl = \"{}\"\n", spy.url);
    let w = gateway(&config).await;
    let key = w.api_key().await;
    let answer = rpc_with(
        &format!("{}/agents/spy", w.gateway),
        Some(&key),
        "SendMessage",
        json!({"message": user_message("hi")}),
    )
    .await;
    assert!(answer.get("result").is_some(), "{answer}");
    assert!(get_task(&w, &key).await.get("result").is_some());
    // A revoked grant and a revoked API key: history the run may remove.
    let grant = w
        .cli(&["grant", "add", "tester", "spy", "--skills", "*"])
        .await;
    w.cli(&["grant", "revoke", &grant]).await;
    let old_key = w.api_key().await;
    let old_id = old_key.split('_').nth(1).expect("key id");
    w.cli(&["apikey", "revoke", old_id]).await;
    w.flush_audit().await;

    // Nothing is a day old yet.
    let now = clean_json(&w, 0, &["--days", "1", "--dry-run"]).await;
    assert_eq!(now["dry_run"], true);
    assert!(
        now["rows"]
            .as_object()
            .is_some_and(|r| r.values().all(|n| n == 0)),
        "{now}"
    );
    assert_eq!(now["kept"], json!(["audit"]), "audit is kept by default");

    // Two days on: the revoked grant and key are past one day; owners go
    // at the configured 30 days; audit is still kept.
    let later = clean_json(&w, 2 * DAY, &["--days", "1", "--dry-run"]).await;
    assert_eq!(later["rows"]["grants"], 1, "{later}");
    assert_eq!(later["rows"]["api_keys"], 1, "{later}");
    assert_eq!(later["rows"]["task_owners"], 0, "{later}");
    assert_eq!(later["kept"], json!(["audit"]));
    let (code, table, _) = clean(&w, 2 * DAY, &["--days", "1", "--dry-run"]).await;
    assert_eq!(code, 0);
    assert!(table.starts_with("Would remove (dry run"), "{table}");
    assert!(table.contains("kept (give --audit-days"), "{table}");

    let args = ["--days", "1", "--ownership-days", "1", "--audit-days", "1"];
    let dry = clean_json(&w, 2 * DAY, &[&args[..], &["--dry-run"]].concat()).await;
    let done = clean_json(&w, 2 * DAY, &args).await;
    assert_eq!(done["dry_run"], false);
    assert_eq!(dry["rows"], done["rows"], "the dry run counted the run");
    assert_eq!(done["rows"]["task_owners"], 1, "{done}");
    assert_eq!(done["rows"]["context_owners"], 1, "{done}");
    assert!(done["rows"]["audit"].as_u64() > Some(0), "{done}");
    assert_eq!(done["kept"], json!([]));
    let again = clean_json(&w, 2 * DAY, &args).await;
    assert!(
        again["rows"]
            .as_object()
            .is_some_and(|r| r.values().all(|n| n == 0)),
        "a second run finds nothing: {again}"
    );
    let grants = w.cli(&["grant", "list", "--all"]).await;
    assert!(!grants.contains(&grant), "{grants}");

    // The task whose owner was removed is nobody's: after a restart (the
    // running gateway still held the owner in memory), its creator gets
    // the missing-task answer too.
    let path = w.dir.path().join("warden.toml");
    let w = gateway_from_file(w.stop().await, &path).await;
    let gone = get_task(&w, &key).await;
    assert!(
        gone.to_string().contains("not found"),
        "refused like a missing task: {gone}"
    );
}

#[tokio::test]
async fn clean_refuses_zero_days_and_a_missing_store() {
    let dir = tempfile::tempdir().expect("tempdir");
    let missing = dir.path().join("nothing-here");
    let instance = vec!["--data-dir".to_string(), missing.display().to_string()];
    let (code, _, err) = clean_with(&instance, 0, &["--days", "0"]).await;
    assert_eq!(code, 2, "{err}");
    assert!(err.contains("at least 1"), "{err}");
    let (code, _, err) = clean_with(&instance, 0, &["--days", "7", "--audit-days", "0"]).await;
    assert_eq!(code, 2, "{err}");
    let (code, _, err) = clean_with(&instance, 0, &["--days", "7"]).await;
    assert_eq!(code, 1, "{err}");
    assert!(err.contains("no store at"), "{err}");
    assert!(!missing.exists(), "no empty store was made");
}

#[tokio::test]
async fn clean_on_postgres_waits_for_a_running_retention_to_finish() {
    let schema = Schema::create().await;
    let dir = tempfile::tempdir().expect("tempdir");
    let path = dir.path().join("warden.toml");
    std::fs::write(
        &path,
        format!(
            "[gateway]\ndata_dir = {:?}\n[store]\nurl = \"{}\"\n",
            dir.path().join("data"),
            schema.url()
        ),
    )
    .expect("write config");
    let instance = vec!["--config".to_string(), path.display().to_string()];
    // Another process on the store (as a gateway's scheduled run would)
    // holds the retention lock.
    let store = warden_store::Store::open_url(&schema.url())
        .await
        .expect("store");
    let held = store
        .try_retention_lock()
        .await
        .expect("lock")
        .expect("free");
    let (code, _, err) = clean_with(&instance, 0, &["--days", "1"]).await;
    assert_eq!(code, 3, "{err}");
    assert!(err.contains("another process"), "{err}");
    let (code, out, err) = clean_with(&instance, 0, &["--days", "1", "--dry-run"]).await;
    assert_eq!(
        code, 0,
        "a dry run removes nothing, so needs no lock: {err}"
    );
    assert!(out.contains("Would remove"), "{out}");
    held.release().await.expect("release");
    let (code, out, err) = clean_with(&instance, 0, &["--days", "1"]).await;
    assert_eq!(code, 0, "{err}");
    assert!(out.starts_with("Removed:"), "{out}");
}
