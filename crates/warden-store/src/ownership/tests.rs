use crate::TaskOwner;
use crate::backend::either;
use crate::testing::store_test;

const PAST: &str = "2000-01-01T00:00:00.000Z";
const FUTURE: &str = "9999-01-01T00:00:00.000Z";

store_test! {
    async fn record_task_never_overwrites(s) {
        let first = s
            .record_task("echo", "t1", Some("c1"), "alice")
            .await
            .expect("record");
        assert_eq!(first, "alice");
        let second = s
            .record_task("echo", "t1", Some("c2"), "mallory")
            .await
            .expect("record again");
        assert_eq!(second, "alice", "the owner on record is returned");
        assert_eq!(
            s.task_owner("echo", "t1").await.expect("owner"),
            Some(TaskOwner {
                owner: "alice".into(),
                context_id: Some("c1".into()),
            }),
            "neither owner nor context changed"
        );
        assert_eq!(
            s.record_task("slow", "t1", None, "mallory")
                .await
                .expect("other agent"),
            "mallory",
            "task ids are per agent"
        );
        assert_eq!(
            s.task_owner("slow", "t1").await.expect("owner"),
            Some(TaskOwner {
                owner: "mallory".into(),
                context_id: None,
            })
        );
        assert_eq!(s.task_owner("echo", "t2").await.expect("owner"), None);
    }
}

store_test! {
    async fn claim_context_first_claimant_wins(s) {
        assert_eq!(s.context_owner("echo", "c1").await.expect("owner"), None);
        assert_eq!(
            s.claim_context("echo", "c1", "alice").await.expect("claim"),
            "alice"
        );
        assert_eq!(
            s.claim_context("echo", "c1", "bob").await.expect("claim"),
            "alice"
        );
        assert_eq!(
            s.context_owner("echo", "c1").await.expect("owner"),
            Some("alice".into())
        );
        assert_eq!(
            s.claim_context("slow", "c1", "bob").await.expect("claim"),
            "bob",
            "contexts are per agent"
        );
    }
}

store_test! {
    async fn concurrent_claims_agree_on_one_owner(db: TestDb) {
    // A file database: its pool has several connections, as PostgreSQL's.
    let s = db.open().await;
    let claims: Vec<_> = (0..8)
        .map(|i| {
            let s = s.clone();
            tokio::spawn(async move { s.claim_context("echo", "c", &format!("owner{i}")).await })
        })
        .collect();
    let mut winners = Vec::new();
    for c in claims {
        winners.push(c.await.expect("join").expect("claim"));
    }
    let on_record = s
        .context_owner("echo", "c")
        .await
        .expect("owner")
        .expect("claimed");
    assert!(
        winners.iter().all(|w| *w == on_record),
        "every claimant sees the winner: {winners:?}"
    );
}
}

store_test! {
    async fn counts_owned_tasks_per_context(s) {
        for (task, ctx, owner) in [
            ("t1", Some("c1"), "alice"),
            ("t2", Some("c1"), "alice"),
            ("t3", Some("c2"), "alice"),
            ("t4", None, "alice"),
            ("t5", Some("c1"), "bob"),
        ] {
            s.record_task("echo", task, ctx, owner)
                .await
                .expect("record");
        }
        let count = |owner: &'static str, ctx: Option<&'static str>| {
            let s = s.clone();
            async move {
                s.count_owned_tasks("echo", owner, ctx)
                    .await
                    .expect("count")
            }
        };
        assert_eq!(count("alice", None).await, 4);
        assert_eq!(count("alice", Some("c1")).await, 2);
        assert_eq!(count("bob", Some("c2")).await, 0);
        assert_eq!(count("carol", None).await, 0);
        assert_eq!(
            s.count_owned_tasks("slow", "alice", None)
                .await
                .expect("count"),
            0
        );
    }
}

store_test! {
    async fn retention_keeps_recent_rows_and_contexts_still_in_use(s) {
        use crate::{Cutoff, RetentionPlan};
        let before = |text: &str| RetentionPlan {
            ownership: Some(Cutoff::at_unix(
                chrono::DateTime::parse_from_rfc3339(text).expect("time").timestamp(),
            )),
            ..RetentionPlan::default()
        };
        let removed = |r: crate::Removed| r.iter().map(|(_, n)| n).sum::<u64>();
        s.record_task("echo", "old", Some("c_old"), "alice")
            .await
            .expect("record");
        s.record_task("echo", "new", Some("c_busy"), "alice")
            .await
            .expect("record");
        s.claim_context("echo", "c_old", "alice")
            .await
            .expect("claim");
        s.claim_context("echo", "c_busy", "alice")
            .await
            .expect("claim");
        s.claim_context("echo", "c_empty", "alice")
            .await
            .expect("claim");
        let run = |plan: RetentionPlan| {
            let s = s.clone();
            async move { s.apply_retention(&plan, false).await.expect("prune") }
        };
        assert_eq!(removed(run(before(PAST)).await), 0);

        // Age everything but the task `new`, which keeps its context alive.
        for (sql, what) in [
            (
                "UPDATE task_owners SET created_at = $1 WHERE task_id = 'old'",
                "age tasks",
            ),
            ("UPDATE context_owners SET created_at = $1", "age contexts"),
        ] {
            either!(Db, &s.db, pool => {
                sqlx::query(sql).bind(PAST).execute(pool).await.map(|_| ())
            })
            .expect(what);
        }
        assert_eq!(removed(run(before("2001-01-01T00:00:00.000Z")).await), 3);
        assert_eq!(s.task_owner("echo", "old").await.expect("owner"), None);
        assert!(s.task_owner("echo", "new").await.expect("owner").is_some());
        assert_eq!(s.context_owner("echo", "c_old").await.expect("owner"), None);
        assert_eq!(
            s.context_owner("echo", "c_empty").await.expect("owner"),
            None
        );
        assert_eq!(
            s.context_owner("echo", "c_busy").await.expect("owner"),
            Some("alice".into())
        );

        assert_eq!(removed(run(before(FUTURE)).await), 2);
        assert_eq!(
            s.context_owner("echo", "c_busy").await.expect("owner"),
            None
        );
    }
}

store_test! {
    async fn a_batch_records_tasks_and_contexts_and_keeps_earlier_owners(s) {
    use crate::OwnershipWrite;
    s.record_task("echo", "t0", None, "alice")
        .await
        .expect("t0");
    let w = |task: Option<&str>, ctx: Option<&str>, owner: &str| OwnershipWrite {
        agent: "echo".into(),
        task_id: task.map(str::to_owned),
        context_id: ctx.map(str::to_owned),
        owner: owner.into(),
    };
    let got = s
        .record_ownership(&[
            w(Some("t1"), Some("c1"), "bob"),
            w(None, Some("c2"), "bob"),
            w(Some("t0"), None, "bob"),
            w(Some("t1"), None, "carol"),
        ])
        .await
        .expect("batch");
    assert_eq!(
        got,
        ["bob", "bob", "alice", "bob"],
        "t0 keeps its first owner, and t1 its first in the batch"
    );
    assert_eq!(
        s.task_owner("echo", "t1")
            .await
            .expect("t1")
            .map(|t| t.owner),
        Some("bob".into())
    );
    assert_eq!(
        s.context_owner("echo", "c2").await.expect("c2"),
        Some("bob".into())
    );
}
}
