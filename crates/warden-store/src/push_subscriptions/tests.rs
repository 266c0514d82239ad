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
