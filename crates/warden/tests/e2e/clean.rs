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
    drop(store);
    Schema::run(&format!("DROP SCHEMA {} CASCADE", schema.0)).await;
}

/// A clock the test moves by hand, for the gateway's scheduled run.
#[derive(Debug)]
struct ManualClock(std::sync::atomic::AtomicU64);

impl warden_gateway::clock::Clock for ManualClock {
    fn now_unix(&self) -> u64 {
        self.0.load(std::sync::atomic::Ordering::SeqCst)
    }
    fn now_instant(&self) -> std::time::Instant {
        std::time::Instant::now()
    }
    fn now_rfc3339(&self) -> String {
        warden_gateway::clock::now_rfc3339()
    }
}

/// The scheduled run of one gateway (in this process) on `store`.
fn scheduled(
    store: &warden_store::Store,
    clock: &std::sync::Arc<ManualClock>,
) -> warden_gateway::retention::Retention {
    use std::sync::Arc;
    let config = warden_gateway::Config::parse(
        "[retention]\nevery_hours = 1\naudit_days = 1\n",
        std::path::Path::new("test.toml"),
    )
    .expect("config");
    let metrics = warden_gateway::metrics::Metrics::new();
    let health = Arc::new(warden_gateway::store_health::StoreHealth::new(
        std::time::Duration::from_secs(30),
        &metrics,
    ));
    let owners =
        warden_gateway::authz::ownership::OwnerBook::start(store.clone(), health, 100, 100);
    let clock: Arc<dyn warden_gateway::clock::Clock> = clock.clone();
    warden_gateway::retention::Retention::new(&config, store.clone(), clock, metrics, owners)
}

#[tokio::test]
async fn scheduled_retention_on_postgres_runs_at_one_gateway_at_a_time() {
    use warden_gateway::retention::Outcome;
    use warden_store::RetentionKind;
    let schema = Schema::create().await;
    let url = schema.url();
    let open = || warden_store::Store::open_url(&url);
    let (a, b, other) = (
        open().await.expect("a"),
        open().await.expect("b"),
        open().await.expect("another process"),
    );
    let old = warden_store::AuditRecord {
        at: "2020-01-01T00:00:00.000Z".into(),
        kind: "request".into(),
        agent: None,
        operation: None,
        binding: None,
        outcome: "forwarded".into(),
        reason: None,
        source: None,
        principal: None,
        task_id: None,
        detail: None,
    };
    a.append_audit(&vec![old.clone(); 3000])
        .await
        .expect("seed");
    let clock = std::sync::Arc::new(ManualClock(warden_gateway::clock::unix_now().into()));
    let (ga, gb) = (scheduled(&a, &clock), scheduled(&b, &clock));

    // Both gateways due at once: one runs, the other finds the lock held
    // (or, if the first is already done, the run recorded).
    let (ra, rb) = tokio::join!(ga.tick(), gb.tick());
    let outcomes = [ra.expect("a"), rb.expect("b")];
    let ran: Vec<&Outcome> = outcomes
        .iter()
        .filter(|o| matches!(o, Outcome::Ran(_)))
        .collect();
    assert_eq!(ran.len(), 1, "{outcomes:?}");
    let Outcome::Ran(removed) = ran[0] else {
        unreachable!()
    };
    assert!(
        removed.contains(&(RetentionKind::Audit, 3000)),
        "{removed:?}"
    );
    assert!(
        outcomes
            .iter()
            .any(|o| matches!(o, Outcome::Busy | Outcome::RanElsewhere)),
        "{outcomes:?}"
    );

    // Next period, while another process holds the lock: the gateway
    // leaves the run to it, and runs at its next check once it is free.
    a.append_audit(&[old]).await.expect("seed");
    clock.0.fetch_add(3600, std::sync::atomic::Ordering::SeqCst);
    let held = other
        .try_retention_lock()
        .await
        .expect("lock")
        .expect("free");
    assert_eq!(gb.tick().await.expect("b"), Outcome::Busy);
    held.release().await.expect("release");
    let again = gb.tick().await.expect("b");
    assert!(
        matches!(&again, Outcome::Ran(r) if r.contains(&(RetentionKind::Audit, 1))),
        "{again:?}"
    );
    assert_eq!(ga.tick().await.expect("a"), Outcome::RanElsewhere);
    drop((ga, gb, a, b, other));
    Schema::run(&format!("DROP SCHEMA {} CASCADE", schema.0)).await;
}
