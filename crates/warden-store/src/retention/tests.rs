use super::*;
use crate::backend::either;
use crate::testing::store_test;
use crate::{
    ApiKeyRecord, AuditRecord, GrantRecord, PushConfigRecord, SigningKeyRecord, TaskRecord,
};

/// Rows are "old" (2020) or "recent" (2030) against a cutoff in 2025.
const OLD: &str = "2020-01-01T00:00:00.000Z";
const OLD_UNIX: i64 = 1_577_836_800;
const RECENT: &str = "2030-01-01T00:00:00.000Z";
const RECENT_UNIX: i64 = 1_893_456_000;
const CUTOFF_UNIX: i64 = 1_735_689_600; // 2025-01-01

fn cutoff() -> Cutoff {
    Cutoff::at_unix(CUTOFF_UNIX)
}

/// Every kind before the one cutoff.
fn everything() -> RetentionPlan {
    let c = Some(cutoff());
    RetentionPlan {
        audit: c.clone(),
        tasks: c.clone(),
        ownership: c.clone(),
        grants: c.clone(),
        api_keys: c.clone(),
        signing_keys: c.clone(),
        mail: c,
    }
}

fn count(removed: &Removed, kind: RetentionKind) -> u64 {
    removed
        .iter()
        .find(|(k, _)| *k == kind)
        .map_or_else(|| panic!("{kind:?} not in {removed:?}"), |(_, n)| *n)
}

fn audit(at: &str) -> AuditRecord {
    AuditRecord {
        at: at.into(),
        kind: "request".into(),
        agent: Some("echo".into()),
        operation: None,
        binding: None,
        outcome: "forwarded".into(),
        reason: None,
        source: None,
        principal: None,
        task_id: None,
        detail: None,
    }
}

fn task(id: &str, ctx: &str, state: &str, at: &str) -> TaskRecord {
    TaskRecord {
        agent: "echo".into(),
        id: id.into(),
        context_id: ctx.into(),
        state: format!("TASK_STATE_{state}"),
        status_timestamp: at.into(),
        body: "{}".into(),
    }
}

fn grant(id: &str, revoked_at: Option<&str>, not_after: Option<i64>) -> GrantRecord {
    GrantRecord {
        id: id.into(),
        caller: "planner".into(),
        target: "echo".into(),
        skills: vec!["*".into()],
        operations: vec!["send".into()],
        tasks_of: None,
        not_before: None,
        not_after,
        created_at: OLD.into(),
        revoked_at: revoked_at.map(Into::into),
        note: None,
    }
}

fn api_key(id: &str, revoked_at: Option<&str>, expires_at: Option<i64>) -> ApiKeyRecord {
    ApiKeyRecord {
        id: id.into(),
        subject: "planner".into(),
        hash: vec![1],
        created_at: OLD.into(),
        expires_at,
        revoked_at: revoked_at.map(Into::into),
        last_used_at: None,
    }
}

fn signing_key(kid: &str, expires_at: i64) -> SigningKeyRecord {
    SigningKeyRecord {
        kid: kid.into(),
        alg: "EdDSA".into(),
        sealed: vec![9],
        created_at: expires_at - 10,
        retire_at: expires_at - 5,
        expires_at,
    }
}

/// Sets a column the database fills in itself (`created_at` of owners and
/// push configs) for the rows `filter` selects.
async fn age(s: &Store, table: &str, filter: &str, at: &str) {
    let sql = format!("UPDATE {table} SET created_at = $1 WHERE {filter}");
    either!(Db, &s.db, pool => {
        sqlx::query(sqlx::AssertSqlSafe(sql)).bind(at).execute(pool).await.map(|_| ())
    })
    .expect("age rows");
}

async fn rows(s: &Store, table: &str) -> i64 {
    let sql = format!("SELECT COUNT(*) FROM {table}");
    either!(Db, &s.db, pool => {
        sqlx::query_scalar(sqlx::AssertSqlSafe(sql)).fetch_one(pool).await
    })
    .expect("count")
}

/// One old and one recent row of each kind, plus the rows retention must
/// keep however old they are.
async fn seed(s: &Store) {
    s.append_audit(&[audit(OLD), audit(OLD), audit(RECENT)])
        .await
        .expect("audit");
    for t in [
        task("done-old", "c-done", "COMPLETED", OLD),
        task("failed-old", "c-done", "FAILED", OLD),
        task("done-new", "c-new", "COMPLETED", RECENT),
        task("working-old", "c-live", "WORKING", OLD),
        task("input-old", "c-live", "INPUT_REQUIRED", OLD),
    ] {
        s.put_task(&t).await.expect("task");
    }
    for (task_id, id) in [
        ("done-old", "p1"),
        ("working-old", "p2"),
        ("done-new", "p3"),
    ] {
        s.put_push_config(&PushConfigRecord {
            agent: "echo".into(),
            task_id: task_id.into(),
            id: id.into(),
            body: "{}".into(),
        })
        .await
        .expect("push config");
    }
    for g in [
        grant("g-revoked-old", Some(OLD), None),
        grant("g-ended-old", None, Some(OLD_UNIX)),
        grant("g-revoked-new", Some(RECENT), None),
        grant("g-ends-later", None, Some(RECENT_UNIX)),
        grant("g-open", None, None),
    ] {
        s.put_grant(&g).await.expect("grant");
    }
    for k in [
        api_key("k-revoked-old", Some(OLD), None),
        api_key("k-expired-old", None, Some(OLD_UNIX)),
        api_key("k-revoked-new", Some(RECENT), None),
        api_key("k-expiring", None, Some(RECENT_UNIX)),
        api_key("k-active", None, None),
    ] {
        s.put_api_key(&k).await.expect("key");
    }
    for k in [
        signing_key("sk-old", OLD_UNIX),
        signing_key("sk-published", RECENT_UNIX),
    ] {
        s.put_signing_key(&k).await.expect("signing key");
    }
}

store_test! {
    async fn each_kind_goes_past_its_cutoff_and_a_dry_run_counts_the_same(s) {
        seed(&s).await;
        age(&s, "push_configs", "task_id IN ('done-old', 'working-old')", OLD).await;
        let plan = everything();
        let dry = s.apply_retention(&plan, true).await.expect("dry run");
        assert_eq!(rows(&s, "audit_events").await, 3, "a dry run removes nothing");
        let wet = s.apply_retention(&plan, false).await.expect("run");
        assert_eq!(dry, wet, "the dry run counted what the run removed");
        let want = [
            (RetentionKind::Audit, 2),
            (RetentionKind::Tasks, 2),
            (RetentionKind::PushConfigs, 1),
            (RetentionKind::TaskOwners, 0),
            (RetentionKind::ContextOwners, 0),
            (RetentionKind::PushNotifications, 0),
            (RetentionKind::PushSubscriptions, 0),
            (RetentionKind::Grants, 2),
            (RetentionKind::ApiKeys, 2),
            (RetentionKind::SigningKeys, 1),
            (RetentionKind::MailMessages, 0),
            (RetentionKind::MailIdempotency, 0),
            (RetentionKind::MailGrants, 0),
        ];
        assert_eq!(wet, want);

        assert_eq!(rows(&s, "audit_events").await, 1);
        for (id, kept) in [
            ("done-old", false),
            ("failed-old", false),
            ("done-new", true),
            ("working-old", true),
            ("input-old", true),
        ] {
            assert_eq!(s.task("echo", id).await.expect("task").is_some(), kept, "{id}");
        }
        for (task_id, id, kept) in [
            ("done-old", "p1", false),
            ("working-old", "p2", true),
            ("done-new", "p3", true),
        ] {
            let found = s.push_config("echo", task_id, id).await.expect("config");
            assert_eq!(found.is_some(), kept, "{id}");
        }
        let grants: Vec<String> = s
            .list_grants(None, None, true)
            .await
            .expect("grants")
            .into_iter()
            .map(|g| g.id)
            .collect();
        assert_eq!(grants, ["g-ends-later", "g-open", "g-revoked-new"]);
        let keys: Vec<String> = s
            .list_api_keys(None)
            .await
            .expect("keys")
            .into_iter()
            .map(|k| k.id)
            .collect();
        let mut keys = keys;
        keys.sort();
        assert_eq!(keys, ["k-active", "k-expiring", "k-revoked-new"]);
        let signing: Vec<String> = s
            .signing_keys()
            .await
            .expect("signing keys")
            .into_iter()
            .map(|k| k.kid)
            .collect();
        assert_eq!(signing, ["sk-published"]);

        assert_eq!(
            s.apply_retention(&plan, false).await.expect("again"),
            want.map(|(k, _)| (k, 0)),
            "a second run finds nothing"
        );
    }
}

store_test! {
    async fn a_plan_keeps_what_it_does_not_name(s) {
        seed(&s).await;
        let plan = RetentionPlan {
            grants: Some(cutoff()),
            ..RetentionPlan::default()
        };
        let removed = s.apply_retention(&plan, false).await.expect("run");
        assert_eq!(removed, [(RetentionKind::Grants, 2)]);
        assert_eq!(rows(&s, "audit_events").await, 3, "audit kept");
        assert_eq!(rows(&s, "tasks").await, 5, "tasks kept");
        assert_eq!(rows(&s, "api_keys").await, 5, "keys kept");
        assert_eq!(
            s.apply_retention(&RetentionPlan::default(), false)
                .await
                .expect("empty plan"),
            []
        );
    }
}

store_test! {
    async fn removing_grants_or_keys_bumps_the_generation_and_nothing_else_does(s) {
        seed(&s).await;
        let before = s.authz_generation().await.expect("generation");
        let plan = RetentionPlan {
            audit: Some(cutoff()),
            tasks: Some(cutoff()),
            ..RetentionPlan::default()
        };
        s.apply_retention(&plan, false).await.expect("run");
        assert_eq!(s.authz_generation().await.expect("generation"), before);
        let plan = RetentionPlan {
            api_keys: Some(cutoff()),
            ..RetentionPlan::default()
        };
        s.apply_retention(&plan, false).await.expect("run");
        let after = s.authz_generation().await.expect("generation");
        assert_ne!(after, before, "a removed key is a change gateways reload");
        s.apply_retention(&plan, false).await.expect("nothing left");
        assert_eq!(
            s.authz_generation().await.expect("generation"),
            after,
            "a run that removes nothing changes nothing"
        );
    }
}

store_test! {
    async fn ownership_goes_by_age_but_never_from_a_context_still_in_use(s) {
        // Contexts: c-old (only old task owners: goes with them), c-busy
        // (an old and a recent task owner: kept), c-empty (claimed, no
        // task: goes), c-live (an old owner of a working task of Warden's
        // own agent: owner and context kept), c-stored (an old owner of a
        // finished task the plan keeps: owner goes, context kept).
        for (t, c) in [
            ("t-old", "c-old"),
            ("t-busy-old", "c-busy"),
            ("t-busy-new", "c-busy"),
            ("working-old", "c-live"),
            ("done-kept", "c-stored"),
        ] {
            s.record_task("echo", t, Some(c), "alice").await.expect("task owner");
        }
        for c in ["c-old", "c-busy", "c-empty", "c-live", "c-stored"] {
            s.claim_context("echo", c, "alice").await.expect("claim");
        }
        s.put_task(&task("working-old", "c-live", "WORKING", OLD))
            .await
            .expect("task");
        s.put_task(&task("done-kept", "c-stored", "COMPLETED", OLD))
            .await
            .expect("task");
        age(&s, "task_owners", "task_id <> 't-busy-new'", OLD).await;
        age(&s, "context_owners", "1 = 1", OLD).await;

        let plan = RetentionPlan {
            ownership: Some(cutoff()),
            ..RetentionPlan::default()
        };
        let dry = s.apply_retention(&plan, true).await.expect("dry run");
        let removed = s.apply_retention(&plan, false).await.expect("run");
        assert_eq!(dry, removed);
        assert_eq!(count(&removed, RetentionKind::TaskOwners), 3);
        assert_eq!(count(&removed, RetentionKind::ContextOwners), 2);
        for (t, kept) in [
            ("t-old", false),
            ("t-busy-old", false),
            ("t-busy-new", true),
            ("working-old", true),
            ("done-kept", false),
        ] {
            let owner = s.task_owner("echo", t).await.expect("owner");
            assert_eq!(owner.is_some(), kept, "{t}");
        }
        for (c, kept) in [
            ("c-old", false),
            ("c-busy", true),
            ("c-empty", false),
            ("c-live", true),
            ("c-stored", true),
        ] {
            let owner = s.context_owner("echo", c).await.expect("owner");
            assert_eq!(owner.is_some(), kept, "{c}");
        }
        // The context of a kept task is still alice's: another caller
        // cannot claim it.
        assert_eq!(
            s.claim_context("echo", "c-busy", "mallory").await.expect("claim"),
            "alice"
        );
    }
}

store_test! {
    async fn a_context_goes_in_the_same_run_as_the_last_task_in_it(s) {
        // The task is finished and old, its owner old: a run removing tasks
        // and ownership together frees the context at once, and the dry run
        // (before anything is removed) says so.
        s.put_task(&task("done", "c1", "COMPLETED", OLD)).await.expect("task");
        s.record_task("echo", "done", Some("c1"), "alice").await.expect("owner");
        s.claim_context("echo", "c1", "alice").await.expect("claim");
        age(&s, "task_owners", "1 = 1", OLD).await;
        age(&s, "context_owners", "1 = 1", OLD).await;
        let plan = RetentionPlan {
            tasks: Some(cutoff()),
            ownership: Some(cutoff()),
            ..RetentionPlan::default()
        };
        let dry = s.apply_retention(&plan, true).await.expect("dry run");
        assert_eq!(count(&dry, RetentionKind::ContextOwners), 1);
        assert_eq!(s.apply_retention(&plan, false).await.expect("run"), dry);
        assert_eq!(s.context_owner("echo", "c1").await.expect("owner"), None);
    }
}

store_test! {
    async fn a_large_clean_goes_in_batches_and_keeps_what_is_recent(s) {
        let batch = 7;
        let old: Vec<AuditRecord> = (0..batch * 5 + 3).map(|_| audit(OLD)).collect();
        s.append_audit(&old).await.expect("old");
        s.append_audit(&[audit(RECENT), audit(RECENT)]).await.expect("recent");
        let plan = RetentionPlan {
            audit: Some(cutoff()),
            ..RetentionPlan::default()
        };
        let removed = s.apply_retention_in(&plan, false, batch).await.expect("run");
        assert_eq!(removed, [(RetentionKind::Audit, u64::from(batch * 5 + 3))]);
        let left = s.recent_audit(100).await.expect("read");
        assert_eq!(left.len(), 2);
        assert!(left.iter().all(|e| e.at == RECENT));
    }
}

store_test! {
    async fn two_runs_at_once_remove_and_count_each_row_once(db: TestDb) {
        let (a, b) = (db.open().await, db.open().await);
        let old: Vec<AuditRecord> = (0..500).map(|_| audit(OLD)).collect();
        a.append_audit(&old).await.expect("seed");
        let plan = RetentionPlan {
            audit: Some(cutoff()),
            ..RetentionPlan::default()
        };
        let (ra, rb) = tokio::join!(
            a.apply_retention_in(&plan, false, 10),
            b.apply_retention_in(&plan, false, 10)
        );
        let total = count(&ra.expect("a"), RetentionKind::Audit)
            + count(&rb.expect("b"), RetentionKind::Audit);
        assert_eq!(total, 500);
        assert_eq!(rows(&a, "audit_events").await, 0);
    }
}

store_test! {
    async fn one_process_at_a_time_holds_the_retention_lock(db: TestDb) {
        let (a, b) = (db.open().await, db.open().await);
        let held = a.try_retention_lock().await.expect("lock").expect("free");
        let second = b.try_retention_lock().await.expect("lock");
        match db {
            crate::testing::TestDb::Postgres(_) => {
                assert!(second.is_none(), "another store holds it");
                held.release().await.expect("release");
                let again = b.try_retention_lock().await.expect("lock");
                assert!(again.is_some(), "released when dropped");
            }
            // SQLite: no lock; a second run is harmless (above).
            crate::testing::TestDb::Sqlite(_) => {
                assert!(second.is_some());
                held.release().await.expect("release");
            }
        }
    }
}

#[test]
fn a_cutoff_is_the_same_moment_in_both_forms() {
    let c = Cutoff::days_before(CUTOFF_UNIX + 90 * 86_400, 90);
    assert_eq!(c.unix(), CUTOFF_UNIX);
    assert_eq!(c.rfc3339(), "2025-01-01T00:00:00.000Z");
}

/// Figures, not a check: how long a large clean takes on each engine, and
/// the longest a concurrent audit write waits meanwhile (the write lock is
/// held one batch at a time). Run with
/// `cargo nextest run -p warden-store --run-ignored only retention::tests::figures`.
mod figures {
    use super::*;

    async fn measure(s: Store, label: &str) {
        use std::time::{Duration, Instant};
        const OLD_ROWS: usize = 200_000;
        let chunk: Vec<AuditRecord> = (0..10_000).map(|_| audit(OLD)).collect();
        for _ in 0..OLD_ROWS / chunk.len() {
            s.append_audit(&chunk).await.expect("seed audit");
        }
        s.append_audit(&[audit(RECENT)]).await.expect("recent");
        let owners: Vec<crate::OwnershipWrite> = (0..100_000)
            .map(|i| crate::OwnershipWrite {
                agent: "echo".into(),
                task_id: Some(format!("t{i}")),
                context_id: Some(format!("c{}", i / 2)),
                owner: "alice".into(),
            })
            .chain((0..50_000).map(|i| crate::OwnershipWrite {
                agent: "echo".into(),
                task_id: None,
                context_id: Some(format!("c{i}")),
                owner: "alice".into(),
            }))
            .collect();
        for part in owners.chunks(10_000) {
            s.record_ownership(part).await.expect("seed owners");
        }
        age(&s, "task_owners", "1 = 1", OLD).await;
        age(&s, "context_owners", "1 = 1", OLD).await;

        let done = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
        let writer = {
            let (s, done) = (s.clone(), done.clone());
            tokio::spawn(async move {
                let (mut worst, mut writes) = (Duration::ZERO, 0u32);
                while !done.load(std::sync::atomic::Ordering::Relaxed) {
                    let t = Instant::now();
                    s.append_audit(&[audit(RECENT)]).await.expect("write");
                    worst = worst.max(t.elapsed());
                    writes += 1;
                    tokio::time::sleep(Duration::from_millis(5)).await;
                }
                (worst, writes)
            })
        };
        let plan = RetentionPlan {
            audit: Some(cutoff()),
            ownership: Some(cutoff()),
            ..RetentionPlan::default()
        };
        let t = Instant::now();
        let removed = s.apply_retention(&plan, false).await.expect("run");
        let took = t.elapsed();
        done.store(true, std::sync::atomic::Ordering::Relaxed);
        let (worst, writes) = writer.await.expect("writer");
        println!(
            "{label}: removed {removed:?} in {took:.2?}; a concurrent audit write ({writes} of them) waited at most {worst:.2?}"
        );
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    #[ignore = "figures: run on purpose"]
    async fn sqlite_file() {
        let db = crate::testing::TestDb::sqlite().await;
        measure(db.open().await, "SQLite (file, WAL)").await;
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    #[ignore = "figures: run on purpose"]
    async fn postgres() {
        let db = crate::testing::TestDb::postgres().await;
        measure(db.open().await, "PostgreSQL").await;
    }
}
