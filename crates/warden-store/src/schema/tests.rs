use crate::testing::store_test;
use crate::{GrantRecord, RegisteredAgent};

fn agent(id: &str, grants: &str) -> RegisteredAgent {
    RegisteredAgent {
        id: id.into(),
        display_name: id.into(),
        jwks: None,
        jwks_url: None,
        grants: grants.into(),
        tls_subject: None,
        created_at: format!("2026-01-01T00:00:00.000Z/{id}"),
    }
}

store_test! {
async fn version_4_moves_registry_grants_into_the_grants_table(db: TestDb) {
    let s = db.open_at(3).await;
    for a in [
        agent(
            "planner",
            r#"{"slow":["wait"],"echo":["echo","summarise"]}"#,
        ),
        agent("dup", r#"{"echo":["first"],"echo":["last"]}"#),
        agent("odd_key", r#"{"a \"b\"":["x"]}"#),
        // What the old reader would have ignored migrates to nothing.
        agent("none", "{}"),
        agent("broken", "not json"),
        agent("array", r#"[["x"]]"#),
        agent("mixed", r#"{"echo":["ok"],"slow":"wait"}"#),
        agent("nested", r#"{"echo":[["x"]]}"#),
        agent("number", r#"{"echo":[1]}"#),
        agent("empty", r#"{"echo":[],"slow":["wait"]}"#),
    ] {
        s.put_agent(&a).await.expect("put agent");
    }
    s.migrate_fully().await.expect("migrate");

    let version = crate::schema::version(&s.db).await.expect("version");
    assert_eq!(
        version,
        crate::schema::sqlite::MIGRATIONS.len() as i64,
        "migrated to the latest"
    );
    let got: Vec<(String, String, Vec<String>)> = s
        .list_grants(None, None, true)
        .await
        .expect("list")
        .into_iter()
        .map(|g| (g.caller, g.target, g.skills))
        .collect();
    let want = [
        ("dup", "echo", vec!["last"]),
        ("empty", "slow", vec!["wait"]),
        ("odd_key", "a \"b\"", vec!["x"]),
        ("planner", "echo", vec!["echo", "summarise"]),
        ("planner", "slow", vec!["wait"]),
    ];
    let mut got_sorted = got.clone();
    got_sorted.sort();
    let want: Vec<(String, String, Vec<String>)> = want
        .iter()
        .map(|(c, t, sk)| {
            (
                c.to_string(),
                t.to_string(),
                sk.iter().map(|x| x.to_string()).collect(),
            )
        })
        .collect();
    assert_eq!(got_sorted, want);

    let g: GrantRecord = s
        .list_grants(Some("planner"), Some("echo"), true)
        .await
        .expect("list")
        .remove(0);
    assert!(g.id.starts_with("g_") && g.id.len() == 18, "{}", g.id);
    assert!(
        g.id[2..]
            .chars()
            .all(|c| c.is_ascii_hexdigit() && !c.is_ascii_uppercase())
    );
    assert_eq!(g.operations, ["send", "get", "list", "cancel", "subscribe"]);
    assert_eq!(g.created_at, "2026-01-01T00:00:00.000Z/planner");
    assert_eq!(g.note.as_deref(), Some("migrated from the registry"));
    assert_eq!(
        (g.tasks_of, g.not_before, g.not_after, g.revoked_at),
        (None, None, None, None)
    );
    assert_eq!(
        s.active_grants("planner", "echo", 0)
            .await
            .expect("active")
            .len(),
        1,
        "migrated grants are in force"
    );

    for a in s.list_agents().await.expect("agents") {
        assert_eq!(a.grants, "{}", "{} keeps no legacy grants", a.id);
    }
}
}

store_test! {
    async fn a_schema_newer_than_this_code_is_refused(db: TestDb) {
        let s = db.open().await;
        crate::schema::set_version(&s.db, 99).await.expect("set version");
        drop(s);
        let known = crate::schema::sqlite::MIGRATIONS.len() as i64;
        match db.try_open().await {
            Err(crate::StoreError::SchemaTooNew { found: 99, known: k }) => assert_eq!(k, known),
            other => panic!("opened a newer schema: {other:?}"),
        }
    }
}
