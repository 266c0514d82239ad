use std::collections::{BTreeMap, HashSet};
use std::time::Duration;

use crate::backend::either;
use crate::testing::{TestDb, store_test};
use crate::{
    Claim, Cutoff, NewNotification, NotificationFilter, NotificationId, NotificationState,
    OutboxEntry, RetentionKind, RetentionPlan, Retried, Settle, Settlement, Store, StoreError,
};

const HOOK: &str = "https://hooks.example/in";
const ORIGIN: &str = "https://hooks.example:443";

fn note(sub: &str, task: &str, created_ms: i64) -> NewNotification {
    NewNotification {
        subscription_id: sub.into(),
        task_id: task.into(),
        destination: HOOK.into(),
        body: format!(r#"{{"task":"{task}","at":{created_ms}}}"#).into_bytes(),
        created_ms,
    }
}

fn claim(worker: &str, now_ms: i64, limit: u32) -> Claim<'_> {
    Claim {
        origin: ORIGIN,
        worker,
        now_ms,
        lease_until_ms: now_ms + 30_000,
        limit,
    }
}

async fn enqueue(s: &Store, n: &NewNotification) -> NotificationId {
    s.outbox_enqueue(n).await.expect("enqueue")
}

async fn settle(s: &Store, worker: &str, e: &OutboxEntry, at_ms: i64, outcome: Settle) -> u64 {
    s.outbox_settle(worker, &[Settlement::of(e, at_ms, outcome)])
        .await
        .expect("settle")
}

fn names(entries: &[OutboxEntry]) -> Vec<(String, i64)> {
    entries.iter().map(|e| (e.task_id.clone(), e.seq)).collect()
}

store_test! {
    async fn an_enqueue_gets_a_stable_id_and_its_place_in_its_task(s) {
        let mut ids = HashSet::new();
        let mut seqs = Vec::new();
        for (sub, task) in [("s1", "a"), ("s1", "a"), ("s1", "b"), ("s2", "a"), ("s1", "a")] {
            let id = enqueue(&s, &note(sub, task, 10)).await;
            assert!(id.as_str().starts_with("msg_") && id.as_str().len() == 36, "{id}");
            assert!(ids.insert(id.clone()), "ids are unique");
            let (rec, body) = s.outbox_get(id.as_str()).await.expect("get").expect("found");
            assert_eq!((rec.state.as_str(), rec.attempts, rec.origin.as_str()), ("pending", 0, ORIGIN));
            assert_eq!(body, format!(r#"{{"task":"{task}","at":10}}"#).into_bytes());
            seqs.push(rec.seq);
        }
        // Per subscription and task: s1/a is 1, 2, 3; s1/b and s2/a start at 1.
        assert_eq!(seqs, [1, 2, 1, 1, 3]);
        for bad in ["ftp://hooks.example/x", "not a url", "https://", "data:text/plain,x"] {
            let mut n = note("s1", "a", 1);
            n.destination = bad.into();
            assert!(
                matches!(s.outbox_enqueue(&n).await, Err(StoreError::BadNotification(_))),
                "{bad}"
            );
        }
        assert_eq!(crate::outbox_origin("http://H.example/x").expect("ok"), "http://h.example:80");
        assert_eq!(crate::outbox_origin("https://[::1]:8443/").expect("ok"), "https://[::1]:8443");
    }
}

store_test! {
    async fn an_enqueue_wakes_the_worker_of_its_handle(s) {
        let waiting = s.clone();
        let woken = tokio::spawn(async move { waiting.outbox_wakeup().await });
        enqueue(&s, &note("s1", "a", 1)).await;
        tokio::time::timeout(Duration::from_secs(10), woken)
            .await
            .expect("woken")
            .expect("task");
    }
}

store_test! {
    async fn claims_take_the_first_open_entry_of_each_task_when_due(s) {
        for i in 0..3 {
            enqueue(&s, &note("s1", "a", 100 + i)).await;
        }
        enqueue(&s, &note("s1", "b", 150)).await;
        enqueue(&s, &note("s1", "b", 151)).await;
        enqueue(&s, &note("s1", "later", 5_000)).await;
        let mut other = note("s1", "c", 100);
        other.destination = "http://elsewhere.example:8080/hook".into();
        enqueue(&s, &other).await;

        assert!(s.outbox_claim(&claim("w", 99, 10)).await.expect("claim").is_empty(), "nothing due");
        let first = s.outbox_claim(&claim("w", 200, 10)).await.expect("claim");
        assert_eq!(names(&first), [("a".into(), 1), ("b".into(), 1)], "heads only, one destination");
        assert!(first.iter().all(|e| e.attempts == 0 && e.origin == ORIGIN));
        assert!(s.outbox_claim(&claim("w", 200, 10)).await.expect("again").is_empty(), "leased");

        // a1 delivered: a2 is next; b1 still held, so b2 waits.
        assert_eq!(settle(&s, "w", &first[0], 210, Settle::Delivered).await, 1);
        let next = s.outbox_claim(&claim("w", 220, 10)).await.expect("claim");
        assert_eq!(names(&next), [("a".into(), 2)]);
        let (rec, body) = s.outbox_get(first[0].id.as_str()).await.expect("get").expect("kept");
        assert_eq!((rec.state.as_str(), rec.attempts), ("delivered", 1));
        assert!(body.is_empty(), "a delivered entry keeps no body");

        // b1 dead: b2 goes next (order waits for delivered or dead).
        let dead = Settle::Dead { error: "410 Gone".into() };
        assert_eq!(settle(&s, "w", &first[1], 230, dead).await, 1);
        let next = s.outbox_claim(&claim("w", 240, 10)).await.expect("claim");
        assert_eq!(names(&next), [("b".into(), 2)]);
        let later = s.outbox_claim(&claim("w", 5_000, 10)).await.expect("claim");
        assert_eq!(names(&later), [("later".into(), 1)]);
    }
}

store_test! {
    async fn a_retry_holds_back_the_entries_after_it(s) {
        for i in 0..3 {
            enqueue(&s, &note("s1", "a", i)).await;
        }
        let head = s.outbox_claim(&claim("w", 10, 10)).await.expect("claim");
        let retry = Settle::Retry { next_attempt_ms: 1_000, error: "503".into() };
        assert_eq!(settle(&s, "w", &head[0], 20, retry).await, 1);
        let (rec, _) = s.outbox_get(head[0].id.as_str()).await.expect("get").expect("found");
        assert_eq!(
            (rec.state.as_str(), rec.attempts, rec.next_attempt_ms, rec.last_error.as_deref()),
            ("pending", 1, 1_000, Some("503"))
        );
        let page = s
            .outbox_list(&NotificationFilter { task_id: Some("a".into()), limit: 10, ..Default::default() })
            .await
            .expect("list");
        assert!(
            page.entries.iter().all(|e| e.next_attempt_ms >= 1_000),
            "the followers wait with it: {:?}",
            page.entries
        );
        assert!(s.outbox_claim(&claim("w", 999, 10)).await.expect("claim").is_empty());
        let again = s.outbox_claim(&claim("w", 1_000, 10)).await.expect("claim");
        assert_eq!((names(&again), again[0].attempts), (vec![("a".into(), 1)], 1));
        assert_eq!(again[0].id, head[0].id, "the same notification, the same id");
    }
}

store_test! {
    async fn a_lease_runs_out_and_only_its_holder_settles(s) {
        enqueue(&s, &note("s1", "a", 0)).await;
        let mine = s.outbox_claim(&claim("w1", 10, 1)).await.expect("claim");
        let lease_end = 10 + 30_000;
        assert!(s.outbox_claim(&claim("w2", lease_end - 1, 1)).await.expect("claim").is_empty());
        let theirs = s.outbox_claim(&claim("w2", lease_end, 1)).await.expect("claim");
        assert_eq!(theirs[0].id, mine[0].id, "the lapsed claim, with its id");
        assert_eq!(settle(&s, "w1", &mine[0], lease_end + 1, Settle::Delivered).await, 0, "no longer w1's");
        let (rec, _) = s.outbox_get(mine[0].id.as_str()).await.expect("get").expect("found");
        assert_eq!((rec.state.as_str(), rec.lease_owner.as_deref()), ("delivering", Some("w2")));
        assert_eq!(settle(&s, "w2", &theirs[0], lease_end + 2, Settle::Delivered).await, 1);
        // A release gives an entry back unattempted.
        enqueue(&s, &note("s1", "b", 0)).await;
        let b = s.outbox_claim(&claim("w1", 100_000, 1)).await.expect("claim");
        let release = Settle::Release { next_attempt_ms: 100_001 };
        assert_eq!(settle(&s, "w1", &b[0], 100_000, release).await, 1);
        let again = s.outbox_claim(&claim("w2", 100_001, 1)).await.expect("claim");
        assert_eq!((again[0].id.clone(), again[0].attempts), (b[0].id.clone(), 0));
    }
}

store_test! {
    async fn destinations_are_found_in_order_with_when_they_are_due(s) {
        for (host, at) in [("c.example", 30), ("a.example", 10), ("b.example", 20), ("a.example", 5)] {
            let mut n = note("s1", &format!("{host}-{at}"), at);
            n.destination = format!("https://{host}/hook");
            enqueue(&s, &n).await;
        }
        let all = s.outbox_due_origins(None, 10).await.expect("scan");
        let got: Vec<(&str, i64)> = all.iter().map(|d| (d.origin.as_str(), d.next_due_ms)).collect();
        assert_eq!(
            got,
            [("https://a.example:443", 5), ("https://b.example:443", 20), ("https://c.example:443", 30)]
        );
        let page = s.outbox_due_origins(Some("https://a.example:443"), 1).await.expect("scan");
        assert_eq!(page.len(), 1);
        assert_eq!(page[0].origin, "https://b.example:443");
        // An origin whose breaker is open: its pending entries move on.
        assert_eq!(s.outbox_postpone("https://a.example:443", 500).await.expect("postpone"), 2);
        let all = s.outbox_due_origins(None, 10).await.expect("scan");
        assert_eq!((all[0].next_due_ms, all[1].next_due_ms), (500, 20));
        assert!(s.outbox_due_origins(Some("https://c.example:443"), 10).await.expect("scan").is_empty());
    }
}

store_test! {
    async fn the_admin_view_lists_shows_counts_and_retries(s) {
        let mut ids = Vec::new();
        for i in 0..5 {
            ids.push(enqueue(&s, &note("s1", if i < 3 { "a" } else { "b" }, i)).await);
        }
        let heads = s.outbox_claim(&claim("w", 10, 10)).await.expect("claim");
        let dead = Settle::Dead { error: "404 Not Found".into() };
        settle(&s, "w", &heads[0], 20, Settle::Delivered).await;
        settle(&s, "w", &heads[1], 20, dead).await;
        let counts = s.outbox_counts().await.expect("counts");
        assert_eq!((counts.pending, counts.delivering, counts.delivered, counts.dead), (3, 0, 1, 1));
        assert_eq!(s.outbox_queued().await.expect("queued"), 3);

        let list = |f: NotificationFilter| {
            let s = s.clone();
            async move { s.outbox_list(&f).await.expect("list") }
        };
        let newest_first: Vec<NotificationId> = list(NotificationFilter { limit: 10, ..Default::default() })
            .await
            .entries
            .into_iter()
            .map(|e| e.id)
            .collect();
        assert_eq!(newest_first, ids.iter().rev().cloned().collect::<Vec<_>>());
        let by_state = list(NotificationFilter { state: Some(NotificationState::Dead), limit: 10, ..Default::default() }).await;
        assert_eq!(by_state.entries.len(), 1);
        assert_eq!(by_state.entries[0].last_error.as_deref(), Some("404 Not Found"));
        let by_task = list(NotificationFilter { task_id: Some("b".into()), limit: 10, ..Default::default() }).await;
        assert_eq!(by_task.entries.len(), 2);
        let elsewhere = list(NotificationFilter { origin: Some("https://other.example:443".into()), limit: 10, ..Default::default() }).await;
        assert!(elsewhere.entries.is_empty());
        // Pages of two.
        let mut seen = Vec::new();
        let mut token = None;
        loop {
            let page = list(NotificationFilter { limit: 2, page_token: token, ..Default::default() }).await;
            seen.extend(page.entries.into_iter().map(|e| e.id));
            if page.next_page_token.is_empty() {
                break;
            }
            token = Some(page.next_page_token);
        }
        assert_eq!(seen, newest_first);
        assert!(matches!(
            s.outbox_list(&NotificationFilter { page_token: Some("!!".into()), limit: 1, ..Default::default() }).await,
            Err(StoreError::BadPageToken)
        ));

        let dead_id = heads[1].id.as_str();
        assert_eq!(s.outbox_retry(dead_id, 7_000).await.expect("retry"), Retried::Queued);
        let (rec, _) = s.outbox_get(dead_id).await.expect("get").expect("found");
        assert_eq!(
            (rec.state.as_str(), rec.attempts, rec.since_ms, rec.next_attempt_ms, rec.last_error),
            ("pending", 0, 7_000, 7_000, None)
        );
        assert_eq!(
            s.outbox_retry(heads[0].id.as_str(), 7_000).await.expect("retry"),
            Retried::NotDead("delivered".into())
        );
        assert_eq!(s.outbox_retry("msg_nope", 7_000).await.expect("retry"), Retried::NotFound);
    }
}

store_test! {
    async fn retention_removes_delivered_and_dead_entries_past_their_age(s) {
        // Unix ms 1_000 is 1970; 4_000_000_000_000 is 2096.
        for (task, created) in [("old-done", 0), ("old-dead", 0), ("old-open", 0), ("new-done", 0)] {
            enqueue(&s, &note("s1", task, created)).await;
        }
        let heads = s.outbox_claim(&claim("w", 10, 10)).await.expect("claim");
        let by_task: BTreeMap<&str, &OutboxEntry> =
            heads.iter().map(|e| (e.task_id.as_str(), e)).collect();
        settle(&s, "w", by_task["old-done"], 1_000, Settle::Delivered).await;
        settle(&s, "w", by_task["old-dead"], 1_000, Settle::Dead { error: "gone".into() }).await;
        settle(&s, "w", by_task["new-done"], 4_000_000_000_000, Settle::Delivered).await;
        let retry = Settle::Retry { next_attempt_ms: 2_000, error: "503".into() };
        settle(&s, "w", by_task["old-open"], 1_000, retry).await;
        let plan = RetentionPlan { ownership: Some(Cutoff::at_unix(1_735_689_600)), ..RetentionPlan::default() };
        let count = |r: &[(RetentionKind, u64)]| {
            r.iter().find(|(k, _)| *k == RetentionKind::PushNotifications).map(|(_, n)| *n)
        };
        let dry = s.apply_retention(&plan, true).await.expect("dry run");
        let wet = s.apply_retention(&plan, false).await.expect("run");
        assert_eq!((count(&dry), count(&wet)), (Some(2), Some(2)));
        let left: Vec<String> = s
            .outbox_list(&NotificationFilter { limit: 10, ..Default::default() })
            .await
            .expect("list")
            .entries
            .into_iter()
            .map(|e| e.task_id)
            .collect();
        let mut left = left;
        left.sort();
        assert_eq!(left, ["new-done", "old-open"], "an open entry stays however old");
    }
}

store_test! {
    async fn two_claimers_never_hold_one_entry_and_keep_each_task_in_order(db: TestDb) {
        let (one, two) = (db.open().await, db.open().await);
        let tasks = 40;
        let per_task = 5;
        for i in 0..per_task {
            for t in 0..tasks {
                enqueue(&one, &note("s1", &format!("t{t:02}"), i)).await;
            }
        }
        let run = |s: Store, worker: &'static str| async move {
            let mut claimed = Vec::new();
            let mut idle = 0;
            while idle < 3 {
                let got = s.outbox_claim(&claim(worker, 100, 7)).await.expect("claim");
                if got.is_empty() {
                    idle += 1;
                    tokio::task::yield_now().await;
                    continue;
                }
                idle = 0;
                let done: Vec<Settlement> =
                    got.iter().map(|e| Settlement::of(e, 100, Settle::Delivered)).collect();
                assert_eq!(s.outbox_settle(worker, &done).await.expect("settle"), done.len() as u64);
                claimed.extend(got);
            }
            claimed
        };
        let (a, b) = tokio::join!(
            tokio::spawn(run(one.clone(), "w1")),
            tokio::spawn(run(two.clone(), "w2"))
        );
        let (a, b) = (a.expect("w1"), b.expect("w2"));
        let mut ids = HashSet::new();
        for e in a.iter().chain(&b) {
            assert!(ids.insert(e.id.clone()), "{} claimed twice", e.id);
        }
        // Anything left (a claimer gave up on a busy moment) is drained here.
        let rest = run(one.clone(), "w1").await;
        for e in &rest {
            assert!(ids.insert(e.id.clone()), "{} claimed twice", e.id);
        }
        assert_eq!(ids.len(), tasks * per_task as usize);
        // Each claimer saw each task's entries in order.
        for claimed in [&a, &b, &rest] {
            let mut last: BTreeMap<&str, i64> = BTreeMap::new();
            for e in claimed.iter() {
                let prev = last.insert(e.task_id.as_str(), e.seq).unwrap_or(0);
                assert!(e.seq > prev, "{} after {prev} in {}", e.seq, e.task_id);
            }
        }
        let counts = one.outbox_counts().await.expect("counts");
        assert_eq!(counts.delivered, ids.len() as u64);
    }
}

/// PostgreSQL: a claim skips the rows another transaction holds, rather
/// than waiting for them or taking them too.
#[tokio::test]
async fn postgres_claims_skip_rows_another_claim_holds() {
    let db = TestDb::postgres().await;
    let s = db.open().await;
    let first = enqueue(&s, &note("s1", "a", 0)).await;
    let second = enqueue(&s, &note("s1", "b", 0)).await;
    let crate::backend::Db::Postgres(pool) = &s.db else {
        unreachable!("a PostgreSQL store")
    };
    let mut holder = pool.begin().await.expect("begin");
    sqlx::query("SELECT id FROM push_outbox WHERE id = $1 FOR UPDATE")
        .bind(first.as_str())
        .execute(&mut *holder)
        .await
        .expect("lock a row");
    let other = db.open().await;
    let got = tokio::time::timeout(
        Duration::from_secs(10),
        other.outbox_claim(&claim("w2", 10, 10)),
    )
    .await
    .expect("the claim does not wait for the held row")
    .expect("claim");
    assert_eq!(
        got.iter().map(|e| e.id.clone()).collect::<Vec<_>>(),
        [second]
    );
    holder.rollback().await.expect("rollback");
    let got = other
        .outbox_claim(&claim("w2", 10, 10))
        .await
        .expect("claim");
    assert_eq!(
        got.iter().map(|e| e.id.clone()).collect::<Vec<_>>(),
        [first]
    );
}

store_test! {
    async fn entries_behind_an_open_one_wait_parked_until_it_is_settled(s) {
        let a1 = enqueue(&s, &note("s1", "a", 0)).await;
        let a2 = enqueue(&s, &note("s1", "a", 0)).await;
        let a3 = enqueue(&s, &note("s1", "a", 0)).await;
        let get = |id: NotificationId| {
            let s = s.clone();
            async move { s.outbox_get(id.as_str()).await.expect("get").expect("found").0 }
        };
        assert!(!get(a1.clone()).await.waiting, "the first is due");
        assert!(get(a2.clone()).await.waiting && get(a3.clone()).await.waiting);
        // Parked entries are not due, whatever the time: a destination's
        // first due time is its head's.
        let due = s.outbox_due_origins(None, 10).await.expect("scan");
        assert_eq!(due[0].next_due_ms, 0);
        let head = s.outbox_claim(&claim("w", 10, 10)).await.expect("claim");
        assert_eq!(names(&head), [("a".into(), 1)]);
        // A retry leaves them parked; a delivery makes the next one due.
        let retry = Settle::Retry { next_attempt_ms: 20, error: "503".into() };
        settle(&s, "w", &head[0], 15, retry).await;
        assert!(get(a2.clone()).await.waiting);
        let again = s.outbox_claim(&claim("w", 20, 10)).await.expect("claim");
        settle(&s, "w", &again[0], 25, Settle::Delivered).await;
        let a2_rec = get(a2.clone()).await;
        assert!(!a2_rec.waiting && a2_rec.next_attempt_ms == 25, "{a2_rec:?}");
        assert!(get(a3.clone()).await.waiting, "only the next one");
        // Dead makes the next one due too.
        let next = s.outbox_claim(&claim("w", 30, 10)).await.expect("claim");
        assert_eq!(next[0].id, a2);
        settle(&s, "w", &next[0], 35, Settle::Dead { error: "410".into() }).await;
        assert!(!get(a3.clone()).await.waiting);
        // A new entry behind nothing open is due at once.
        let b1 = enqueue(&s, &note("s1", "b", 40)).await;
        assert!(!get(b1).await.waiting);

        // The safety net: an entry parked with nothing open before it.
        let c1 = enqueue(&s, &note("s1", "c", 50)).await;
        either!(Db, &s.db, pool => {
            sqlx::query("UPDATE push_outbox SET next_attempt_ms = $1 WHERE id = $2")
                .bind(i64::MAX)
                .bind(c1.as_str())
                .execute(pool)
                .await
                .expect("strand it");
        });
        assert!(get(c1.clone()).await.waiting);
        assert_eq!(s.outbox_unpark_stranded(60).await.expect("sweep"), 1);
        let c1_rec = get(c1).await;
        assert!(!c1_rec.waiting && c1_rec.next_attempt_ms == 60);
        assert_eq!(s.outbox_unpark_stranded(61).await.expect("sweep"), 0, "nothing else stranded");
    }
}

store_test! {
    async fn enqueues_made_at_once_each_get_their_place(s) {
        // On SQLite they are written together (one transaction for what is
        // waiting); on PostgreSQL each under its task's lock.
        let all = (0..200).map(|i| {
            let s = s.clone();
            async move { s.outbox_enqueue(&note("s1", &format!("t{}", i % 10), i)).await }
        });
        let ids = futures_util::future::join_all(all).await;
        assert!(ids.iter().all(Result::is_ok), "{ids:?}");
        let page = s
            .outbox_list(&NotificationFilter { limit: 1000, ..Default::default() })
            .await
            .expect("list");
        assert_eq!(page.entries.len(), 200);
        let mut per_task: BTreeMap<String, Vec<(i64, bool)>> = BTreeMap::new();
        for e in page.entries {
            per_task.entry(e.task_id).or_default().push((e.seq, e.waiting));
        }
        for (task, mut places) in per_task {
            places.sort_unstable();
            let seqs: Vec<i64> = places.iter().map(|p| p.0).collect();
            assert_eq!(seqs, (1..=20).collect::<Vec<_>>(), "{task}");
            let due: Vec<i64> = places.iter().filter(|p| !p.1).map(|p| p.0).collect();
            assert_eq!(due, [1], "{task}: only the first is due");
        }
    }
}

store_test! {
    async fn enqueues_claims_and_settlements_made_at_once_keep_their_promises(db: TestDb) {
        // On SQLite all three go through the outbox's one writer, written
        // together; each call still returns only once its own write is
        // committed: another handle (another connection) sees an enqueued
        // entry as soon as the enqueue returns.
        let (s, other) = (db.open().await, db.open().await);
        let n = 200;
        let produce = {
            let (s, other) = (s.clone(), other.clone());
            tokio::spawn(async move {
                let all = (0..n).map(|i| {
                    let (s, other) = (s.clone(), other.clone());
                    async move {
                        let id = enqueue(&s, &note("s1", &format!("t{}", i % 10), i)).await;
                        let seen = other.outbox_get(id.as_str()).await.expect("get");
                        assert!(seen.is_some(), "{id} not committed when its enqueue returned");
                    }
                });
                futures_util::future::join_all(all).await;
            })
        };
        let mut claimed: Vec<OutboxEntry> = Vec::new();
        let mut ids = HashSet::new();
        for _ in 0..100_000 {
            if claimed.len() == n as usize {
                break;
            }
            let got = s.outbox_claim(&claim("w", 1_000, 7)).await.expect("claim");
            let done: Vec<Settlement> =
                got.iter().map(|e| Settlement::of(e, 1_000, Settle::Delivered)).collect();
            // A settlement and a claim at once (written together on SQLite).
            let nothing = claim("w", 1_000, 0);
            let (settled, none) =
                tokio::join!(s.outbox_settle("w", &done), s.outbox_claim(&nothing));
            assert!(none.expect("claim").is_empty());
            assert_eq!(settled.expect("settle"), done.len() as u64);
            for e in &got {
                assert!(ids.insert(e.id.clone()), "{} claimed twice", e.id);
            }
            claimed.extend(got);
            tokio::task::yield_now().await;
        }
        produce.await.expect("producers");
        assert_eq!(claimed.len(), n as usize);
        let mut last: BTreeMap<&str, i64> = BTreeMap::new();
        for e in &claimed {
            let prev = last.insert(e.task_id.as_str(), e.seq).unwrap_or(0);
            assert_eq!(e.seq, prev + 1, "{} after {prev} in {}", e.seq, e.task_id);
        }
        let counts = other.outbox_counts().await.expect("counts");
        assert_eq!((counts.delivered, counts.pending), (n as u64, 0));
    }
}
