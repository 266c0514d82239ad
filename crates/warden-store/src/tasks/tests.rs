use super::*;
use crate::testing::store_test;

fn task(id: &str, ts: &str, ctx: &str) -> TaskRecord {
    TaskRecord {
        agent: "echo".into(),
        id: id.into(),
        context_id: ctx.into(),
        state: "TASK_STATE_COMPLETED".into(),
        status_timestamp: ts.into(),
        body: format!("{{\"id\":\"{id}\"}}"),
    }
}

store_test! {
    async fn lists_newest_first_with_cursor_pages(s) {
        for (i, ts) in [
            "2026-01-01T00:00:01.000Z",
            "2026-01-01T00:00:03.000Z",
            "2026-01-01T00:00:02.000Z",
            "2026-01-01T00:00:03.000Z",
        ]
        .iter()
        .enumerate()
        {
            s.put_task(&task(&format!("t{i}"), ts, "c"))
                .await
                .expect("put");
        }
        let f = TaskFilter::default();
        let p1 = s.list_tasks("echo", &f, 2, None).await.expect("list");
        let ids: Vec<_> = p1.tasks.iter().map(|t| t.id.as_str()).collect();
        assert_eq!(ids, ["t3", "t1"]);
        assert_eq!(p1.total_size, 4);
        assert!(!p1.next_page_token.is_empty());
        let p2 = s
            .list_tasks("echo", &f, 2, Some(&p1.next_page_token))
            .await
            .expect("list");
        let ids: Vec<_> = p2.tasks.iter().map(|t| t.id.as_str()).collect();
        assert_eq!(ids, ["t2", "t0"]);
        assert_eq!(p2.next_page_token, "");
        assert!(matches!(
            s.list_tasks("echo", &f, 2, Some("!!")).await,
            Err(StoreError::BadPageToken)
        ));
        let other = s.list_tasks("slow", &f, 10, None).await.expect("list");
        assert!(other.tasks.is_empty());
    }
}

store_test! {
    async fn filters_by_context_state_and_time(s) {
        s.put_task(&task("a", "2026-01-01T00:00:01.000Z", "c1"))
            .await
            .expect("put");
        s.put_task(&task("b", "2026-01-01T00:00:05.000Z", "c2"))
            .await
            .expect("put");
        let by_ctx = TaskFilter {
            context_id: Some("c2".into()),
            ..TaskFilter::default()
        };
        assert_eq!(
            s.list_tasks("echo", &by_ctx, 10, None)
                .await
                .expect("list")
                .tasks
                .len(),
            1
        );
        let by_time = TaskFilter {
            status_timestamp_after: Some("2026-01-01T00:00:05.000Z".into()),
            ..TaskFilter::default()
        };
        assert_eq!(
            s.list_tasks("echo", &by_time, 10, None)
                .await
                .expect("list")
                .tasks[0]
                .id,
            "b"
        );
        let by_state = TaskFilter {
            state: Some("TASK_STATE_WORKING".into()),
            ..TaskFilter::default()
        };
        assert_eq!(
            s.list_tasks("echo", &by_state, 10, None)
                .await
                .expect("list")
                .total_size,
            0
        );
    }
}

#[tokio::test]
async fn file_database_uses_wal_and_survives_reopen() {
    let dir = tempfile::tempdir().expect("tempdir");
    let path = dir.path().join("sub/warden.db");
    let s = Store::open(&path).await.expect("open");
    assert_eq!(s.journal_mode().await.expect("mode"), "wal");
    s.put_task(&task("x", "2026-01-01T00:00:01.000Z", "c"))
        .await
        .expect("put");
    drop(s);
    let s = Store::open(&path).await.expect("reopen");
    assert!(s.task("echo", "x").await.expect("get").is_some());
}

store_test! {
    async fn push_configs_crud_and_idempotent_delete(s) {
        for id in ["b", "a"] {
            s.put_push_config(&PushConfigRecord {
                agent: "echo".into(),
                task_id: "t".into(),
                id: id.into(),
                body: "{}".into(),
            })
            .await
            .expect("put");
        }
        let all = s
            .list_push_configs("echo", "t", 10, None)
            .await
            .expect("list");
        assert_eq!(
            all.iter().map(|c| c.id.as_str()).collect::<Vec<_>>(),
            ["a", "b"]
        );
        assert_eq!(
            s.list_push_configs("echo", "t", 10, Some("a"))
                .await
                .expect("list")
                .len(),
            1
        );
        s.delete_push_config("echo", "t", "a")
            .await
            .expect("delete");
        s.delete_push_config("echo", "t", "a")
            .await
            .expect("delete twice");
        assert!(
            s.push_config("echo", "t", "a")
                .await
                .expect("get")
                .is_none()
        );
    }
}
