use crate::testing::store_test;

store_test! {
    async fn a_follow_starts_once_is_claimed_renewed_recorded_and_ended(s) {
        assert!(s.push_follow_start("echo", "t1", "alice", 10).await.expect("start"));
        assert!(!s.push_follow_start("echo", "t1", "bob", 11).await.expect("again"), "once");
        let got = s.push_follows_claim("gw-a", 100, 1_100, 10).await.expect("claim");
        assert_eq!(got.len(), 1);
        assert_eq!(got[0].owner, "alice", "the first start's owner is kept");
        assert_eq!(got[0].lease_owner.as_deref(), Some("gw-a"));
        assert!(s.push_follows_claim("gw-b", 200, 1_200, 10).await.expect("claim").is_empty(),
            "held by another gateway until its lease ends");
        assert!(s.push_follow_renew("echo", "t1", "gw-a", 2_000).await.expect("renew"));
        assert!(!s.push_follow_renew("echo", "t1", "gw-b", 2_000).await.expect("renew"),
            "only the holder renews");
        assert!(s.push_follow_seen("echo", "t1", "gw-a", "{\"s\":1}", 300).await.expect("seen"));
        assert!(!s.push_follow_seen("echo", "t1", "gw-b", "x", 300).await.expect("seen"));
        // The lease runs out: another gateway takes it, with what was seen.
        let got = s.push_follows_claim("gw-b", 2_000, 3_000, 10).await.expect("claim");
        assert_eq!(got[0].seen.as_deref(), Some("{\"s\":1}"));
        assert!(!s.push_follow_renew("echo", "t1", "gw-a", 4_000).await.expect("renew"),
            "the old holder lost it");
        assert!(s.push_follow_release("echo", "t1", "gw-b", 5_000).await.expect("release"));
        assert!(s.push_follows_claim("gw-a", 4_999, 6_000, 10).await.expect("claim").is_empty(),
            "released until its due time");
        assert_eq!(s.push_follows_claim("gw-a", 5_000, 6_000, 10).await.expect("claim").len(), 1);
        assert!(s.push_follow_end("echo", "t1").await.expect("end"));
        assert!(s.push_follow("echo", "t1").await.expect("get").is_none());
        assert!(!s.push_follow_end("echo", "t1").await.expect("end again"));
    }
}

store_test! {
    async fn a_claim_takes_at_most_its_limit_oldest_first(s) {
        for (i, t) in ["c", "a", "b"].iter().enumerate() {
            s.push_follow_start("echo", t, "alice", i as i64).await.expect("start");
        }
        let got = s.push_follows_claim("gw", 10, 100, 2).await.expect("claim");
        let tasks: Vec<_> = got.iter().map(|f| f.task_id.as_str()).collect();
        assert_eq!(tasks, ["c", "a"]);
        let rest = s.push_follows_claim("gw2", 10, 100, 2).await.expect("claim");
        assert_eq!(rest.len(), 1);
        assert_eq!(rest[0].task_id, "b");
    }
}

store_test! {
    async fn two_gateways_claiming_together_never_hold_one_follow_twice(db: TestDb) {
        let a = db.open().await;
        let b = db.open().await;
        for i in 0..40 {
            a.push_follow_start("echo", &format!("t{i:02}"), "alice", i).await.expect("start");
        }
        let (x, y) = tokio::join!(
            a.push_follows_claim("gw-a", 100, 10_000, 25),
            b.push_follows_claim("gw-b", 100, 10_000, 25),
        );
        let (x, y) = (x.expect("claim a"), y.expect("claim b"));
        let mut all: Vec<_> = x.iter().chain(y.iter()).map(|f| f.task_id.clone()).collect();
        let n = all.len();
        all.sort();
        all.dedup();
        assert_eq!(all.len(), n, "no follow claimed twice");
        assert!((25..=40).contains(&n), "{n}");
    }
}
