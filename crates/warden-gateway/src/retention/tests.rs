//! The schedule on an injected clock: no test waits for time to pass.

use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Instant;

use warden_store::{AuditRecord, GrantRecord, RetentionKind};

use super::*;

const DAY: u64 = 86_400;

/// A clock a test moves by hand.
#[derive(Debug)]
struct ManualClock(AtomicU64);

impl ManualClock {
    fn at(unix: u64) -> Arc<Self> {
        Arc::new(Self(AtomicU64::new(unix)))
    }

    fn advance(&self, secs: u64) {
        self.0.fetch_add(secs, Ordering::SeqCst);
    }
}

impl Clock for ManualClock {
    fn now_unix(&self) -> u64 {
        self.0.load(Ordering::SeqCst)
    }

    fn now_instant(&self) -> Instant {
        Instant::now()
    }

    fn now_rfc3339(&self) -> String {
        Cutoff::at_unix(i64::try_from(self.now_unix()).unwrap_or(0))
            .rfc3339()
            .to_string()
    }
}

fn config(retention: &str) -> Config {
    Config::parse(
        &format!("[retention]\n{retention}\n"),
        std::path::Path::new("test.toml"),
    )
    .expect("config")
}

/// Now, on the real clock: rows the store stamps itself (owners) are
/// written at this time.
fn real_now() -> u64 {
    crate::clock::unix_now()
}

fn audit_at(unix: u64) -> AuditRecord {
    AuditRecord {
        at: Cutoff::at_unix(i64::try_from(unix).unwrap_or(0))
            .rfc3339()
            .to_string(),
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

fn revoked_grant(id: &str, at_unix: u64) -> GrantRecord {
    GrantRecord {
        id: id.into(),
        caller: "planner".into(),
        target: "echo".into(),
        skills: vec!["*".into()],
        operations: vec!["send".into()],
        tasks_of: None,
        not_before: None,
        not_after: None,
        created_at: "2020-01-01T00:00:00.000Z".into(),
        revoked_at: Some(
            Cutoff::at_unix(i64::try_from(at_unix).unwrap_or(0))
                .rfc3339()
                .to_string(),
        ),
        note: None,
    }
}

struct Gateway {
    retention: Retention,
    owners: Arc<OwnerBook>,
    metrics: Metrics,
}

fn gateway(config: &Config, store: &Store, clock: &Arc<ManualClock>) -> Gateway {
    let metrics = Metrics::new();
    let health = Arc::new(crate::store_health::StoreHealth::new(
        Duration::from_secs(30),
        &metrics,
    ));
    let owners = OwnerBook::start(store.clone(), health, 1000, 1000);
    let clock: Arc<dyn Clock> = clock.clone();
    Gateway {
        retention: Retention::new(
            config,
            store.clone(),
            clock,
            metrics.clone(),
            Arc::clone(&owners),
        ),
        owners,
        metrics,
    }
}

fn removed(outcome: &Outcome, kind: RetentionKind) -> u64 {
    match outcome {
        Outcome::Ran(r) => r.iter().find(|(k, _)| *k == kind).map_or(0, |(_, n)| *n),
        other => panic!("expected a run, got {other:?}"),
    }
}

async fn store_file(dir: &tempfile::TempDir) -> Store {
    Store::open(&dir.path().join("warden.db"))
        .await
        .expect("store")
}

#[tokio::test]
async fn the_schedule_runs_once_per_period_on_the_gateways_clock() {
    let dir = tempfile::tempdir().expect("tempdir");
    let store = store_file(&dir).await;
    let now = real_now();
    let clock = ManualClock::at(now);
    let c = config("every_hours = 24\ndays = 30\naudit_days = 30");
    let g = gateway(&c, &store, &clock);
    store
        .append_audit(&[audit_at(now - 40 * DAY), audit_at(now - 40 * DAY)])
        .await
        .expect("audit");
    store
        .put_grant(&revoked_grant("g-old", now - 40 * DAY))
        .await
        .expect("grant");

    let first = g.retention.tick().await.expect("tick");
    assert_eq!(removed(&first, RetentionKind::Audit), 2);
    assert_eq!(removed(&first, RetentionKind::Grants), 1);
    let metrics = g.metrics.render();
    assert!(
        metrics.contains("warden_retention_removed_rows_total{kind=\"audit\"} 2"),
        "{metrics}"
    );
    assert!(
        metrics.contains("warden_retention_runs_total{outcome=\"ran\"} 1"),
        "{metrics}"
    );

    // More old rows: not removed before the period is over.
    store
        .append_audit(&[audit_at(now - 40 * DAY)])
        .await
        .expect("audit");
    clock.advance(23 * 3600);
    assert_eq!(g.retention.tick().await.expect("tick"), Outcome::NotDue);
    assert_eq!(store.recent_audit(10).await.expect("read").len(), 1);
    clock.advance(3600);
    let next = g.retention.tick().await.expect("tick");
    assert_eq!(removed(&next, RetentionKind::Audit), 1);
    assert_eq!(
        store.setting(LAST_RUN_SETTING).await.expect("setting"),
        Some((now + DAY).to_string()),
        "the run is recorded on the gateway's clock"
    );
}

#[tokio::test]
async fn gateways_on_one_store_run_it_once_per_period_between_them() {
    let dir = tempfile::tempdir().expect("tempdir");
    let (a, b) = (store_file(&dir).await, store_file(&dir).await);
    let now = real_now();
    let clock = ManualClock::at(now);
    let c = config("every_hours = 6\naudit_days = 1");
    let (ga, gb) = (gateway(&c, &a, &clock), gateway(&c, &b, &clock));
    a.append_audit(&[audit_at(now - 2 * DAY)])
        .await
        .expect("audit");

    let ran = ga.retention.tick().await.expect("a");
    assert_eq!(removed(&ran, RetentionKind::Audit), 1);
    assert_eq!(
        gb.retention.tick().await.expect("b"),
        Outcome::RanElsewhere,
        "the other gateway reads the run from the store"
    );
    assert_eq!(
        gb.retention.tick().await.expect("b again"),
        Outcome::NotDue,
        "and then waits on its own clock, without asking the store"
    );
    clock.advance(6 * 3600);
    assert!(matches!(
        gb.retention.tick().await.expect("b"),
        Outcome::Ran(_)
    ));
    assert_eq!(ga.retention.tick().await.expect("a"), Outcome::RanElsewhere);
}

#[tokio::test]
async fn audit_is_kept_unless_audit_days_is_set() {
    let dir = tempfile::tempdir().expect("tempdir");
    let store = store_file(&dir).await;
    let now = real_now();
    let clock = ManualClock::at(now);
    let g = gateway(&config("days = 30"), &store, &clock);
    store
        .append_audit(&[audit_at(now - 4000 * DAY)])
        .await
        .expect("audit");
    store
        .put_grant(&revoked_grant("g-old", now - 40 * DAY))
        .await
        .expect("grant");
    let outcome = g.retention.tick().await.expect("tick");
    let Outcome::Ran(r) = &outcome else {
        panic!("{outcome:?}")
    };
    assert!(
        r.iter().all(|(k, _)| *k != RetentionKind::Audit),
        "audit is not even looked at: {r:?}"
    );
    assert_eq!(removed(&outcome, RetentionKind::Grants), 1);
    assert_eq!(store.recent_audit(10).await.expect("read").len(), 1);

    let off = gateway(&config("every_hours = 0\naudit_days = 1"), &store, &clock);
    assert_eq!(off.retention.tick().await.expect("off"), Outcome::Off);
    assert_eq!(store.recent_audit(10).await.expect("read").len(), 1);
}

#[tokio::test]
async fn removed_owners_are_forgotten_in_memory_too() {
    let dir = tempfile::tempdir().expect("tempdir");
    let store = store_file(&dir).await;
    // Ownership only (the default age, 30 days), on a clock 31 days on:
    // the owners written now are past it.
    let clock = ManualClock::at(real_now() + 31 * DAY);
    let g = gateway(&config(""), &store, &clock);
    g.owners
        .record("echo", Some("t1"), Some("c1"), "alice")
        .expect("record");
    assert_eq!(
        g.owners
            .task_owner("echo", "t1")
            .await
            .expect("owner")
            .map(|t| t.owner),
        Some("alice".into()),
        "held in memory, before the writer commits"
    );
    let outcome = g.retention.tick().await.expect("tick");
    assert_eq!(
        removed(&outcome, RetentionKind::TaskOwners),
        1,
        "flushed first, then removed"
    );
    assert_eq!(removed(&outcome, RetentionKind::ContextOwners), 1);
    assert_eq!(
        g.owners.task_owner("echo", "t1").await.expect("owner"),
        None,
        "not kept alive by the cache: the task is nobody's, so refused to all"
    );
    assert_eq!(
        g.owners.context_owner("echo", "c1").await.expect("owner"),
        None
    );
}

#[test]
fn the_mailbox_ages_by_its_own_days() {
    let now = 1_800_000_000;
    let plan = Ages::of(&config("")).plan(now);
    let at = |days: i64| {
        Cutoff::days_before(
            i64::try_from(now).expect("now"),
            u32::try_from(days).expect("days"),
        )
    };
    assert_eq!(
        plan.mail,
        Some(at(30)),
        "[mailbox] retention_days defaults to 30"
    );
    assert_eq!(plan.cutoff(RetentionKind::MailMessages), Some(&at(30)));
    assert_eq!(plan.cutoff(RetentionKind::MailGrants), Some(&at(30)));
    let c = Config::parse(
        "[mailbox]\nretention_days = 7\n",
        std::path::Path::new("test.toml"),
    )
    .expect("config");
    assert_eq!(Ages::of(&c).plan(now).mail, Some(at(7)));
}
