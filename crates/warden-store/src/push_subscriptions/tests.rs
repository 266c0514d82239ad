use super::*;
use crate::testing::store_test;

fn sub(id: &str, task: Option<&str>, config_id: &str) -> PushSubscription {
    PushSubscription {
        id: id.into(),
        agent: "echo".into(),
        owner: "alice".into(),
        task_id: task.map(str::to_owned),
        config_id: config_id.into(),
        url: "https://hooks.example.com/a".into(),
        config: r#"{"url":"https://hooks.example.com/a"}"#.into(),
        sealed: vec![1, 2, 3],
        relay_hash: vec![9; 32],
        created_ms: 1_000,
    }
}

store_test! {
    async fn subscriptions_round_trip_and_list_by_task(s) {
        s.push_subscription_put(&sub("sub_b", Some("t"), "b")).await.expect("put");
        s.push_subscription_put(&sub("sub_a", Some("t"), "a")).await.expect("put");
        s.push_subscription_put(&sub("sub_c", Some("other"), "a")).await.expect("put");
        let got = s.push_subscription("sub_a").await.expect("get").expect("found");
        assert_eq!(got, sub("sub_a", Some("t"), "a"));
        let ids: Vec<_> = s
            .push_subscriptions_of_task("echo", "t")
            .await
            .expect("list")
            .into_iter()
            .map(|x| x.config_id)
            .collect();
        assert_eq!(ids, ["a", "b"]);
        assert!(s.push_subscriptions_of_task("other-agent", "t").await.expect("list").is_empty());
        assert!(s.push_subscription_delete("sub_a").await.expect("delete"));
        assert!(!s.push_subscription_delete("sub_a").await.expect("delete again"));
        assert!(s.push_subscription("sub_a").await.expect("get").is_none());
    }
}

store_test! {
    async fn a_put_with_a_known_config_id_replaces_the_old_subscription(s) {
        s.push_subscription_put(&sub("sub_1", Some("t"), "cfg")).await.expect("put");
        let replaced = s.push_subscription_put(&sub("sub_2", Some("t"), "cfg")).await.expect("put");
        assert_eq!(replaced, ["sub_1"]);
        assert!(s.push_subscription("sub_1").await.expect("get").is_none());
        assert_eq!(s.push_subscriptions_of_task("echo", "t").await.expect("list").len(), 1);
    }
}

store_test! {
    async fn a_task_is_bound_once_and_never_moved(s) {
        s.push_subscription_put(&sub("sub_new", None, "cfg")).await.expect("put");
        assert!(s.push_subscriptions_of_task("echo", "t1").await.expect("list").is_empty());
        assert!(s.push_subscription_bind_task("sub_new", "t1").await.expect("bind"));
        assert!(s.push_subscription_bind_task("sub_new", "t1").await.expect("bind again"));
        assert!(!s.push_subscription_bind_task("sub_new", "t2").await.expect("bind other"));
        assert!(!s.push_subscription_bind_task("sub_gone", "t1").await.expect("bind gone"));
        let got = s.push_subscription("sub_new").await.expect("get").expect("found");
        assert_eq!(got.task_id.as_deref(), Some("t1"));
    }
}

/// Retention (`push_subscriptions`, with the ownership records): a
/// subscription registered before the cutoff goes once its task's owner is
/// not kept, unless its task is an unfinished one of Warden's own agents or
/// a notification of it still waits.
mod retention {
    use super::*;
    use crate::backend::either;
    use crate::{
        Claim, Cutoff, NewNotification, RetentionKind, RetentionPlan, Settle, Settlement,
        TaskRecord,
    };

    /// 2025-01-01; rows "old" are from 1970, "new" from 2096.
    const CUTOFF: i64 = 1_735_689_600;
    const OLD_MS: i64 = 1_000;
    const NEW_MS: i64 = 4_000_000_000_000;

    fn aged(id: &str, task: Option<&str>, created_ms: i64) -> PushSubscription {
        PushSubscription {
            created_ms,
            ..sub(id, task, id)
        }
    }

    async fn age_owners(s: &Store, tasks: &[&str], at: &str) {
        for t in tasks {
            either!(Db, &s.db, pool => {
                sqlx::query("UPDATE task_owners SET created_at = $1 WHERE task_id = $2")
                    .bind(at)
                    .bind(*t)
                    .execute(pool)
                    .await
                    .map(|_| ())
            })
            .expect("age owner");
        }
    }

    async fn notify(s: &Store, sub: &str, task: &str) {
        let n = NewNotification {
            subscription_id: sub.into(),
            task_id: task.into(),
            destination: "https://hooks.example.com/a".into(),
            body: b"{}".to_vec(),
            created_ms: OLD_MS,
        };
        s.outbox_enqueue(&n).await.expect("enqueue");
    }

    store_test! {
        async fn retention_removes_subscriptions_of_forgotten_tasks_past_the_ownership_age(s) {
            let subs = [
                // Goes: old, its task's owner old too.
                aged("s-gone", Some("t-gone"), OLD_MS),
                // Goes: old, no owner on record.
                aged("s-no-owner", Some("t-unknown"), OLD_MS),
                // Goes: old, never bound to a task.
                aged("s-unbound", None, OLD_MS),
                // Goes: old, its owner old, its one notification delivered.
                aged("s-delivered", Some("t-delivered"), OLD_MS),
                // Kept: its task's owner is recent.
                aged("s-owner-kept", Some("t-recent"), OLD_MS),
                // Kept: registered recently.
                aged("s-new", Some("t-old-2"), NEW_MS),
                // Kept: a working task of Warden's own agent.
                aged("s-live", Some("t-working"), OLD_MS),
                // Kept: a notification of it waits for delivery.
                aged("s-waiting", Some("t-waiting"), OLD_MS),
            ];
            for p in &subs {
                s.push_subscription_put(p).await.expect("put");
            }
            for t in ["t-gone", "t-delivered", "t-recent", "t-old-2", "t-working", "t-waiting"] {
                s.record_task("echo", t, Some("c"), "alice").await.expect("owner");
            }
            age_owners(&s, &["t-gone", "t-delivered", "t-old-2", "t-working", "t-waiting"],
                "1970-01-01T00:00:01.000Z").await;
            s.put_task(&TaskRecord {
                agent: "echo".into(),
                id: "t-working".into(),
                context_id: "c".into(),
                state: "TASK_STATE_WORKING".into(),
                status_timestamp: "1970-01-01T00:00:01.000Z".into(),
                body: "{}".into(),
            })
            .await
            .expect("task");
            notify(&s, "s-waiting", "t-waiting").await;
            notify(&s, "s-delivered", "t-delivered").await;
            let claim = Claim {
                origin: "https://hooks.example.com:443",
                worker: "w",
                now_ms: OLD_MS,
                lease_until_ms: OLD_MS + 30_000,
                limit: 10,
            };
            let claimed = s.outbox_claim(&claim).await.expect("claim");
            let delivered = claimed
                .iter()
                .find(|e| e.subscription_id == "s-delivered")
                .expect("claimed");
            s.outbox_settle("w", &[Settlement::of(delivered, OLD_MS, Settle::Delivered)])
                .await
                .expect("settle");

            let plan = RetentionPlan {
                ownership: Some(Cutoff::at_unix(CUTOFF)),
                ..RetentionPlan::default()
            };
            let count = |r: &[(RetentionKind, u64)]| {
                r.iter()
                    .find(|(k, _)| *k == RetentionKind::PushSubscriptions)
                    .map(|(_, n)| *n)
            };
            let dry = s.apply_retention(&plan, true).await.expect("dry run");
            let wet = s.apply_retention(&plan, false).await.expect("run");
            assert_eq!((count(&dry), count(&wet)), (Some(4), Some(4)));
            for p in &subs {
                let kept = s.push_subscription(&p.id).await.expect("get").is_some();
                let want = !matches!(
                    p.id.as_str(),
                    "s-gone" | "s-no-owner" | "s-unbound" | "s-delivered"
                );
                assert_eq!(kept, want, "{}", p.id);
            }
            // A plan without the ownership records keeps them all.
            let none = s.apply_retention(&RetentionPlan::default(), false).await.expect("run");
            assert_eq!(count(&none), None);
        }
    }

    store_test! {
        async fn retention_never_removes_a_mailbox_webhook(s) {
            // The gateway's mailbox webhooks (agent `@mailbox`) have no task
            // owner; each is its recipient's until removed.
            let hook = PushSubscription {
                agent: "@mailbox".into(),
                owner: "alice".into(),
                ..aged("s-hook", Some("mailbox:alice"), OLD_MS)
            };
            let other = aged("s-other", Some("t-unknown"), OLD_MS);
            for p in [&hook, &other] {
                s.push_subscription_put(p).await.expect("put");
            }
            let plan = RetentionPlan {
                ownership: Some(Cutoff::at_unix(CUTOFF)),
                ..RetentionPlan::default()
            };
            s.apply_retention(&plan, false).await.expect("run");
            assert!(s.push_subscription("s-hook").await.expect("get").is_some());
            assert!(s.push_subscription("s-other").await.expect("get").is_none());
        }
    }
}
