use crate::GrantRecord;
use crate::testing::store_test;

fn grant(id: &str, caller: &str, target: &str, created_at: &str) -> GrantRecord {
    GrantRecord {
        id: id.into(),
        caller: caller.into(),
        target: target.into(),
        skills: vec!["echo".into()],
        operations: vec!["send".into(), "get".into()],
        tasks_of: None,
        not_before: None,
        not_after: None,
        created_at: created_at.into(),
        revoked_at: None,
        note: None,
    }
}

fn ids(gs: &[GrantRecord]) -> Vec<&str> {
    gs.iter().map(|g| g.id.as_str()).collect()
}

store_test! {
    async fn put_and_read_back_every_field(s) {
        let g = GrantRecord {
            skills: vec!["*".into()],
            operations: vec!["push".into(), "extended-card".into()],
            tasks_of: Some("planner".into()),
            not_before: Some(10),
            not_after: Some(20),
            revoked_at: Some("2026-01-02T00:00:00.000Z".into()),
            note: Some("weekly report".into()),
            ..grant(
                "g_1",
                "https://idp.example#svc",
                "echo",
                "2026-01-01T00:00:00.000Z",
            )
        };
        s.put_grant(&g).await.expect("put");
        assert_eq!(s.grant("g_1").await.expect("get"), Some(g.clone()));
        assert_eq!(s.grant("g_2").await.expect("get"), None);

        let replaced = GrantRecord {
            skills: vec!["summarise".into()],
            revoked_at: None,
            ..g
        };
        s.put_grant(&replaced).await.expect("replace");
        assert_eq!(s.grant("g_1").await.expect("get"), Some(replaced));
        assert_eq!(
            s.authz_generation().await.expect("gen"),
            2,
            "each put bumps"
        );
    }
}

store_test! {
    async fn lists_filter_by_pair_and_revocation_oldest_first(s) {
        s.put_grant(&grant("g_b", "planner", "echo", "2026-01-02T00:00:00.000Z"))
            .await
            .expect("put");
        s.put_grant(&grant("g_a", "planner", "echo", "2026-01-02T00:00:00.000Z"))
            .await
            .expect("put");
        s.put_grant(&grant("g_c", "planner", "slow", "2026-01-01T00:00:00.000Z"))
            .await
            .expect("put");
        s.put_grant(&grant("g_d", "writer", "echo", "2026-01-03T00:00:00.000Z"))
            .await
            .expect("put");
        assert!(s.revoke_grant("g_b", "t").await.expect("revoke"));

        let all = s.list_grants(None, None, true).await.expect("list");
        assert_eq!(ids(&all), ["g_c", "g_a", "g_b", "g_d"]);
        let live = s.list_grants(None, None, false).await.expect("list");
        assert_eq!(ids(&live), ["g_c", "g_a", "g_d"]);
        let planner = s
            .list_grants(Some("planner"), None, true)
            .await
            .expect("list");
        assert_eq!(ids(&planner), ["g_c", "g_a", "g_b"]);
        let to_echo = s
            .list_grants(None, Some("echo"), false)
            .await
            .expect("list");
        assert_eq!(ids(&to_echo), ["g_a", "g_d"]);
        let pair = s
            .list_grants(Some("planner"), Some("echo"), false)
            .await
            .expect("list");
        assert_eq!(ids(&pair), ["g_a"]);
    }
}

store_test! {
    async fn active_window_filters_and_bounds(s) {
        let t = "2026-01-01T00:00:00.000Z";
        let open = grant("g_open", "planner", "echo", t);
        let later = GrantRecord {
            not_before: Some(100),
            ..grant("g_later", "planner", "echo", t)
        };
        let ending = GrantRecord {
            not_after: Some(100),
            ..grant("g_ending", "planner", "echo", t)
        };
        let revoked = grant("g_revoked", "planner", "echo", t);
        let elsewhere = grant("g_elsewhere", "planner", "slow", t);
        for g in [&open, &later, &ending, &revoked, &elsewhere] {
            s.put_grant(g).await.expect("put");
        }
        assert!(s.revoke_grant("g_revoked", "t").await.expect("revoke"));

        let at = |now| {
            let s = s.clone();
            async move {
                s.active_grants("planner", "echo", now)
                    .await
                    .expect("active")
            }
        };
        assert_eq!(ids(&at(99).await), ["g_ending", "g_open"]);
        // not_before is inclusive, not_after exclusive.
        assert_eq!(ids(&at(100).await), ["g_later", "g_open"]);
        assert!(
            s.active_grants("writer", "echo", 100)
                .await
                .expect("active")
                .is_empty()
        );

        let everything = s.all_active_grants(99).await.expect("all");
        assert_eq!(ids(&everything), ["g_elsewhere", "g_ending", "g_open"]);
    }
}

store_test! {
    async fn revocation_bumps_the_generation_only_when_it_changes_something(s) {
        let t = "2026-01-01T00:00:00.000Z";
        for id in ["g_1", "g_2", "g_3"] {
            s.put_grant(&grant(id, "planner", "echo", t))
                .await
                .expect("put");
        }
        s.put_grant(&grant("g_4", "planner", "slow", t))
            .await
            .expect("put");
        let g0 = s.authz_generation().await.expect("gen");
        assert_eq!(g0, 4);

        assert!(s.revoke_grant("g_1", "r1").await.expect("revoke"));
        assert_eq!(s.authz_generation().await.expect("gen"), g0 + 1);
        assert!(!s.revoke_grant("g_1", "r2").await.expect("again"));
        assert!(!s.revoke_grant("g_nope", "r2").await.expect("unknown"));
        assert_eq!(s.authz_generation().await.expect("gen"), g0 + 1);
        assert_eq!(
            s.grant("g_1")
                .await
                .expect("get")
                .and_then(|g| g.revoked_at),
            Some("r1".into()),
            "a second revocation keeps the first time"
        );

        assert_eq!(
            s.revoke_grants_between("planner", "echo", "r3")
                .await
                .expect("pair"),
            2
        );
        assert_eq!(s.authz_generation().await.expect("gen"), g0 + 2);
        assert_eq!(
            s.revoke_grants_between("planner", "echo", "r4")
                .await
                .expect("pair"),
            0
        );
        assert_eq!(s.authz_generation().await.expect("gen"), g0 + 2);
        assert_eq!(ids(&s.all_active_grants(0).await.expect("all")), ["g_4"]);
    }
}
