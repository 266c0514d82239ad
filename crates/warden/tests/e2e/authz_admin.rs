//! The operator surfaces of authorisation: `warden grant`, `warden
//! quarantine` and `warden policy` on a real instance's store, and the admin
//! API's grant, quarantine and policy routes on a running gateway. The
//! effects are observed through the token endpoint (`warden token mint`),
//! which issues tokens only within grants and never to a quarantined client.

use std::process::Output;

use reqwest::Method as M;
use serde_json::{Value, json};

use crate::support::{Running, Spy, client, gateway, up, user_message, warden};

/// Runs `warden ARGS… <instance>` and returns the whole outcome (the
/// support helper asserts success; these tests look at failures too).
async fn run(w: &Running, args: &[&str]) -> Output {
    warden()
        .args(args)
        .args(&w.instance)
        .output()
        .await
        .expect("run warden")
}

fn stdout(o: &Output) -> String {
    String::from_utf8_lossy(&o.stdout).trim().to_string()
}

fn stderr(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).trim().to_string()
}

fn code(o: &Output) -> Option<i32> {
    o.status.code()
}

/// The instance's admin token (`{data_dir}/admin-token`).
fn admin_token(data_dir: &std::path::Path) -> String {
    std::fs::read_to_string(data_dir.join("admin-token"))
        .expect("admin-token")
        .trim()
        .to_string()
}

/// An admin API request; returns the status and the JSON answer (null
/// when empty).
async fn admin(
    w: &Running,
    method: M,
    path: &str,
    token: Option<&str>,
    body: Option<Value>,
) -> (u16, Value) {
    let mut req = client().request(method, format!("{}/admin/v1{path}", w.admin));
    if let Some(t) = token {
        req = req.bearer_auth(t);
    }
    if let Some(b) = body {
        req = req.json(&b);
    }
    let r = req.send().await.expect("admin request");
    let status = r.status().as_u16();
    let text = r.text().await.expect("body");
    let v = if text.is_empty() {
        Value::Null
    } else {
        serde_json::from_str(&text).unwrap_or_else(|e| panic!("{path}: not JSON ({e}): {text}"))
    };
    (status, v)
}

/// Whether the token endpoint would issue `sub` a token for `aud` now.
async fn can_mint(w: &Running, sub: &str, aud: &str) -> bool {
    let o = run(w, &["token", "mint", "--sub", sub, "--aud", aud]).await;
    o.status.success()
}

/// The admin changes made with the CLI, oldest first: (action, detail).
async fn cli_changes(data_dir: &std::path::Path) -> Vec<(String, Value)> {
    let store = warden_store::Store::open(&data_dir.join("warden.db"))
        .await
        .expect("store");
    let rows = store.recent_audit(500).await.expect("audit");
    rows.into_iter()
        .rev()
        .filter(|r| r.kind == "admin" && r.principal.as_deref() == Some("cli"))
        .map(|r| {
            let detail = r
                .detail
                .as_deref()
                .and_then(|d| serde_json::from_str(d).ok())
                .unwrap_or(Value::Null);
            (r.reason.unwrap_or_default(), detail)
        })
        .collect()
}

#[tokio::test]
async fn authz_admin_grants_are_added_listed_and_revoked_with_the_cli() {
    let w = up(&[]).await;
    w.cli(&["registry", "add", "planner"]).await;
    assert!(
        !can_mint(&w, "planner", "echo").await,
        "no grant, no token (default deny)"
    );

    let id = w
        .cli(&[
            "grant",
            "add",
            "planner",
            "echo",
            "--skills",
            "echo",
            "--ops",
            "send,get",
            "--ttl",
            "1h",
            "--note",
            "ticket 42",
        ])
        .await;
    assert!(
        id.starts_with("g_") && !id.contains(char::is_whitespace),
        "{id}"
    );
    assert!(
        can_mint(&w, "planner", "echo").await,
        "the grant holds at once"
    );
    let shown = w.cli(&["registry", "show", "planner"]).await;
    assert!(shown.contains(r#"{"echo":["echo"]}"#), "{shown}");

    let added = w
        .cli(&[
            "grant",
            "add",
            "planner",
            "slow",
            "--skills",
            "*",
            "--ops",
            "all",
            "--tasks-of",
            "demo-client",
            "--not-before",
            "2030-01-01T00:00:00Z",
            "--json",
        ])
        .await;
    let added: Value = serde_json::from_str(&added).expect("JSON record");
    assert_eq!(added["skills"], json!(["*"]));
    assert_eq!(added["operations"].as_array().map(Vec::len), Some(7));
    assert_eq!(
        (&added["tasksOf"], &added["notBefore"], &added["state"]),
        (
            &json!("demo-client"),
            &json!(1_893_456_000),
            &json!("pending")
        )
    );
    assert!(
        !can_mint(&w, "planner", "slow").await,
        "not before its window opens"
    );
    let pending = added["id"].as_str().expect("id").to_string();

    // The table, and JSON.
    let listing = w.cli(&["grant", "list", "--caller", "planner"]).await;
    let mut lines = listing.lines();
    let header = lines.next().expect("header");
    for column in [
        "ID", "CALLER", "TARGET", "SKILLS", "OPS", "WINDOW", "REVOKED",
    ] {
        assert!(header.contains(column), "{header}");
    }
    let row = listing
        .lines()
        .find(|l| l.starts_with(&id))
        .unwrap_or_else(|| panic!("{listing}"));
    assert!(row.contains("send,get") && row.contains("until "), "{row}");
    assert!(listing.contains("(not yet)"), "{listing}");
    let list: Value = serde_json::from_str(
        &w.cli(&[
            "grant", "list", "--target", "echo", "--caller", "planner", "--json",
        ])
        .await,
    )
    .expect("JSON list");
    assert_eq!(list.as_array().map(Vec::len), Some(1), "{list}");
    assert_eq!(list[0]["id"], id.as_str());
    assert_eq!(list[0]["note"], "ticket 42");

    // Refused input: usage errors exit 2 and store nothing.
    for args in [
        &[
            "grant", "add", "planner", "echo", "--skills", "echo", "--ops", "delete",
        ][..],
        &["grant", "add", "planner", "echo"],
        &[
            "grant",
            "add",
            "planner",
            "echo",
            "--skills",
            "echo",
            "--not-after",
            "soon",
        ],
        &[
            "grant",
            "add",
            "planner",
            "echo",
            "--skills",
            "echo",
            "--ttl",
            "1h",
            "--not-after",
            "0",
        ],
        &["grant", "revoke"],
        &["grant", "revoke", "--caller", "planner"],
    ] {
        let o = run(&w, args).await;
        assert_eq!(code(&o), Some(2), "{args:?}: {}", stderr(&o));
    }
    let o = run(
        &w,
        &[
            "grant",
            "add",
            "planner",
            "echo",
            "--skills",
            "echo",
            "--not-before",
            "100",
            "--not-after",
            "100",
        ],
    )
    .await;
    assert_eq!(code(&o), Some(1), "{}", stderr(&o));
    assert!(stderr(&o).contains("later than"), "{}", stderr(&o));

    // Revoking: by id, then every grant of a pair.
    assert_eq!(
        w.cli(&["grant", "revoke", &id]).await,
        format!("revoked {id}")
    );
    assert!(!can_mint(&w, "planner", "echo").await, "revoked at once");
    let o = run(&w, &["grant", "revoke", &id]).await;
    assert_eq!(code(&o), Some(1));
    assert!(stderr(&o).contains("already revoked"), "{}", stderr(&o));
    let o = run(&w, &["grant", "revoke", "g_0000000000000000"]).await;
    assert_eq!(code(&o), Some(1));
    assert!(stderr(&o).contains("no grant"), "{}", stderr(&o));
    let out = w
        .cli(&["grant", "revoke", "--caller", "planner", "--target", "slow"])
        .await;
    assert!(out.contains("revoked 1 grant"), "{out}");
    let o = run(
        &w,
        &["grant", "revoke", "--caller", "planner", "--target", "slow"],
    )
    .await;
    assert_eq!(code(&o), Some(1), "nothing left to revoke");

    // Revoked grants are kept, and listed when asked for.
    let o = run(&w, &["grant", "list", "--caller", "planner"]).await;
    assert_eq!(stdout(&o), "", "{}", stderr(&o));
    let all: Value = serde_json::from_str(
        &w.cli(&["grant", "list", "--caller", "planner", "--all", "--json"])
            .await,
    )
    .expect("JSON list");
    let states: Vec<&str> = all
        .as_array()
        .expect("list")
        .iter()
        .filter_map(|g| g["state"].as_str())
        .collect();
    assert_eq!(states, ["revoked", "revoked"], "{all}");

    // Audited as the CLI, ids only (the note is not copied).
    let changes = cli_changes(w.dir.path()).await;
    let grant_changes: Vec<&(String, Value)> = changes
        .iter()
        .filter(|(a, _)| a.starts_with("grant."))
        .collect();
    let actions: Vec<&str> = grant_changes.iter().map(|(a, _)| a.as_str()).collect();
    assert_eq!(
        actions,
        ["grant.add", "grant.add", "grant.revoke", "grant.revoke"]
    );
    assert_eq!(grant_changes[0].1["grant"], id.as_str());
    assert_eq!(grant_changes[2].1, json!({"grant": id}));
    assert_eq!(grant_changes[3].1["grants"], json!([pending]));
    assert!(
        !changes
            .iter()
            .any(|(_, d)| d.to_string().contains("ticket 42")),
        "{changes:?}"
    );
}

#[tokio::test]
async fn authz_admin_quarantine_with_the_cli() {
    let w = up(&[]).await;
    let o = run(&w, &["quarantine", "list"]).await;
    assert_eq!((code(&o), stdout(&o)), (Some(0), String::new()));
    assert!(can_mint(&w, "demo-client", "echo").await);

    let out = w
        .cli(&["quarantine", "add", "demo-client", "--reason", "leaked key"])
        .await;
    assert_eq!(out, "quarantined demo-client");
    assert!(
        !can_mint(&w, "demo-client", "echo").await,
        "a quarantined client gets no token"
    );
    let o = run(
        &w,
        &["quarantine", "add", "demo-client", "--reason", "again"],
    )
    .await;
    assert_eq!(code(&o), Some(1));
    assert!(stderr(&o).contains("already quarantined"), "{}", stderr(&o));
    let o = run(&w, &["quarantine", "add", "echo", "--reason", ""]).await;
    assert_eq!(code(&o), Some(1), "a reason is required");
    let o = run(&w, &["quarantine", "add", "echo"]).await;
    assert_eq!(code(&o), Some(2), "--reason is required");

    let table = w.cli(&["quarantine", "list"]).await;
    assert!(table.starts_with("AGENT"), "{table}");
    assert!(
        table.contains("demo-client") && table.contains("leaked key") && table.contains("cli"),
        "{table}"
    );
    let list: Value =
        serde_json::from_str(&w.cli(&["quarantine", "list", "--json"]).await).expect("JSON");
    assert_eq!(list.as_array().map(Vec::len), Some(1), "{list}");
    assert_eq!(
        (&list[0]["agent"], &list[0]["reason"], &list[0]["createdBy"]),
        (&json!("demo-client"), &json!("leaked key"), &json!("cli"))
    );

    assert_eq!(
        w.cli(&["quarantine", "remove", "demo-client"]).await,
        "released demo-client"
    );
    assert!(can_mint(&w, "demo-client", "echo").await, "lifted at once");
    let o = run(&w, &["quarantine", "remove", "demo-client"]).await;
    assert_eq!(code(&o), Some(1));
    assert!(stderr(&o).contains("not quarantined"), "{}", stderr(&o));

    let actions: Vec<String> = cli_changes(w.dir.path())
        .await
        .into_iter()
        .filter(|(a, _)| a.starts_with("quarantine."))
        .map(|(a, d)| {
            assert_eq!(d, json!({"agent": "demo-client"}), "ids only");
            a
        })
        .collect();
    assert_eq!(actions, ["quarantine.add", "quarantine.remove"]);
}

const POLICY: &str = r#"
[[rule]]
name = "no-large-files"
effect = "deny"
when = 'parts.exists(p, p.kind == "raw" && p.size > 1048576)'
description = "files over 1 MiB stay out"
"#;

#[tokio::test]
async fn authz_admin_policy_explain_exit_codes() {
    let w = up(&[]).await;
    let policy = w.dir.path().join("policy.toml");
    std::fs::write(&policy, POLICY).expect("write policy");
    let policy = policy.display().to_string();
    let base = [
        "policy",
        "explain",
        "--caller",
        "demo-client",
        "--agent",
        "echo",
        "--operation",
        "SendMessage",
        "--skill",
        "echo",
    ];

    // Allowed: by the demo client's grant; the policy lets it through.
    let o = run(&w, &base).await;
    assert_eq!(code(&o), Some(0), "{}{}", stdout(&o), stderr(&o));
    let out = stdout(&o);
    assert!(out.starts_with("decision    allow"), "{out}");
    assert!(out.contains("model       allow  grant g_"), "{out}");
    let o = run(
        &w,
        &[
            &base[..],
            &["--policy", &policy, "--part", "raw:1024", "--json"],
        ]
        .concat(),
    )
    .await;
    assert_eq!(code(&o), Some(0), "{}", stderr(&o));
    let v: Value = serde_json::from_str(&stdout(&o)).expect("JSON");
    assert_eq!(v["decision"], "allow");
    assert!(
        v["model"]["grant"]
            .as_str()
            .is_some_and(|g| g.starts_with("g_")),
        "{v}"
    );
    assert_eq!(
        v["rules"]["explanation"]["rules"][0]["outcome"],
        "not_matched"
    );
    assert_eq!(v["request"]["caller"]["scopesFrom"], "grants");

    // Denied by a rule: exit 1, the rule named.
    let o = run(
        &w,
        &[
            &base[..],
            &["--policy", &policy, "--part", "raw:2097152:application/pdf"],
        ]
        .concat(),
    )
    .await;
    assert_eq!(code(&o), Some(1), "{}", stderr(&o));
    let out = stdout(&o);
    assert!(out.starts_with("decision    deny"), "{out}");
    assert!(
        out.contains(r#"deny rule "no-large-files" matched"#),
        "{out}"
    );
    assert!(
        out.lines()
            .any(|l| l.starts_with("no-large-files") && l.contains("matched")),
        "the per-rule table: {out}"
    );

    // Denied by the built-in model: a skill not granted, a scope not held,
    // an agent without a grant, a quarantined agent.
    let without_skill = &base[..base.len() - 2];
    let o = run(&w, &[without_skill, &["--skill", "pay"]].concat()).await;
    assert_eq!(code(&o), Some(1));
    assert!(
        stdout(&o).contains("skill_not_granted:pay"),
        "{}",
        stdout(&o)
    );
    let o = run(&w, &[&base[..], &["--scope", "other"]].concat()).await;
    assert_eq!(code(&o), Some(1));
    assert!(
        stdout(&o).contains("skill_not_in_scope:echo"),
        "{}",
        stdout(&o)
    );
    let o = run(
        &w,
        &[
            "policy",
            "explain",
            "--caller",
            "nobody",
            "--agent",
            "echo",
            "--operation",
            "GetTask",
            "--json",
        ],
    )
    .await;
    assert_eq!(code(&o), Some(1));
    let v: Value = serde_json::from_str(&stdout(&o)).expect("JSON");
    assert_eq!(
        (
            &v["decision"],
            &v["model"]["reason"],
            &v["rules"]["reached"]
        ),
        (&json!("deny"), &json!("no_grant"), &json!(false))
    );
    w.cli(&["quarantine", "add", "echo", "--reason", "test"])
        .await;
    let o = run(&w, &base).await;
    assert_eq!(code(&o), Some(1));
    assert!(stdout(&o).contains("agent_quarantined"), "{}", stdout(&o));
    w.cli(&["quarantine", "remove", "echo"]).await;

    // Usage and configuration errors: exit 2.
    let bad = w.dir.path().join("bad.toml");
    std::fs::write(
        &bad,
        "[[rule]]\nname = \"x\"\neffect = \"deny\"\nwhen = 'agnet == \"echo\"'\n",
    )
    .expect("write");
    let bad = bad.display().to_string();
    for args in [
        [&base[..], &["--policy", &bad]].concat(),
        [&base[..], &["--policy", "/no/such/policy.toml"]].concat(),
        [&base[..], &["--part", "blob:12"]].concat(),
        vec![
            "policy",
            "explain",
            "--caller",
            "demo-client",
            "--agent",
            "echo",
            "--operation",
            "SendMsg",
        ],
        vec![
            "policy",
            "explain",
            "--agent",
            "echo",
            "--operation",
            "GetTask",
        ],
    ] {
        let o = run(&w, &args).await;
        assert_eq!(code(&o), Some(2), "{args:?}: {}{}", stdout(&o), stderr(&o));
    }

    // Another instance's data directory that holds no store.
    let empty = tempfile::tempdir().expect("dir");
    let o = warden()
        .args(base)
        .arg("--data-dir")
        .arg(empty.path())
        .output()
        .await
        .expect("run");
    assert_eq!(code(&o), Some(2), "{}", stderr(&o));
    assert!(stderr(&o).contains("no store"), "{}", stderr(&o));
    assert!(
        !empty.path().join("warden.db").exists(),
        "explaining creates nothing"
    );

    // `policy check`.
    let o = warden()
        .args(["policy", "check", &policy])
        .output()
        .await
        .expect("run");
    assert_eq!(code(&o), Some(0), "{}", stderr(&o));
    assert!(
        stdout(&o).ends_with("ok (1 rules, default allow)"),
        "{}",
        stdout(&o)
    );
    let o = warden()
        .args(["policy", "check", &bad])
        .output()
        .await
        .expect("run");
    assert_eq!(code(&o), Some(2));
    assert!(
        stderr(&o).contains("unknown variable `agnet`"),
        "{}",
        stderr(&o)
    );
}

#[tokio::test]
async fn authz_admin_explain_reads_the_configured_policy_and_task_owners() {
    let spy = Spy::start().await;
    let dir = tempfile::tempdir().expect("dir");
    let policy = dir.path().join("policy.toml");
    std::fs::write(&policy, POLICY).expect("write policy");
    let w = gateway(&format!(
        "[authz]\npolicy_file = {:?}\n[[agents]]\nname = \"spy\"\nurl = \"{}\"\n",
        policy.display().to_string(),
        spy.url
    ))
    .await;
    // The configuration's policy file is used without --policy.
    let o = run(
        &w,
        &[
            "policy",
            "explain",
            "--caller",
            "tester",
            "--agent",
            "spy",
            "--operation",
            "SendMessage",
            "--skill",
            "spy",
            "--part",
            "raw:5000000",
        ],
    )
    .await;
    assert_eq!(code(&o), Some(1), "{}{}", stdout(&o), stderr(&o));
    assert!(stdout(&o).contains("no-large-files"), "{}", stdout(&o));

    // Task ownership comes from the store: someone else's task is "not
    // found" unless a grant delegates it.
    let store = warden_store::Store::open(&w.dir.path().join("data").join("warden.db"))
        .await
        .expect("store");
    store
        .record_task("spy", "t-1", Some("c-1"), "someone-else")
        .await
        .expect("record task");
    let get = [
        "policy",
        "explain",
        "--caller",
        "tester",
        "--agent",
        "spy",
        "--operation",
        "GetTask",
        "--task-id",
        "t-1",
        "--json",
    ];
    let o = run(&w, &get).await;
    assert_eq!(code(&o), Some(1), "{}", stderr(&o));
    let v: Value = serde_json::from_str(&stdout(&o)).expect("JSON");
    assert_eq!(v["model"]["reason"], "task_not_visible", "{v}");
    assert_eq!(v["facts"]["taskOwner"], "someone-else");
    w.cli(&[
        "grant",
        "add",
        "tester",
        "spy",
        "--skills",
        "*",
        "--ops",
        "get",
        "--tasks-of",
        "someone-else",
    ])
    .await;
    let o = run(&w, &get).await;
    assert_eq!(code(&o), Some(0), "{}", stdout(&o));
    let v: Value = serde_json::from_str(&stdout(&o)).expect("JSON");
    assert_eq!(v["model"]["owner"], "someone-else", "{v}");
}

#[tokio::test]
async fn authz_admin_api_grants_quarantine_and_policy_reload() {
    let w = up(&[]).await;
    let token = admin_token(w.dir.path());
    let t = Some(token.as_str());
    w.cli(&["registry", "add", "ops-bot"]).await;

    // Without the admin token: 401 on every route.
    for (method, path) in [
        (M::GET, "/grants"),
        (M::POST, "/grants"),
        (M::DELETE, "/grants/g_0000000000000000"),
        (M::GET, "/quarantine"),
        (M::POST, "/quarantine"),
        (M::DELETE, "/quarantine/echo"),
        (M::POST, "/policy/reload"),
    ] {
        let (status, v) = admin(&w, method.clone(), path, None, None).await;
        assert_eq!(status, 401, "{method} {path}: {v}");
        let (status, _) = admin(&w, method.clone(), path, Some("wrong"), None).await;
        assert_eq!(status, 401, "{method} {path} with a wrong token");
    }

    // Grants.
    assert!(!can_mint(&w, "ops-bot", "echo").await);
    let (status, g) = admin(
        &w,
        M::POST,
        "/grants",
        t,
        Some(
            json!({"caller": "ops-bot", "target": "echo", "skills": ["echo"],
                    "operations": ["send", "get"], "notAfter": 4_102_444_800_u64,
                    "note": "via the API"}),
        ),
    )
    .await;
    assert_eq!(status, 201, "{g}");
    let id = g["id"].as_str().expect("id").to_string();
    assert_eq!(
        (&g["operations"], &g["state"]),
        (&json!(["send", "get"]), &json!("active"))
    );
    assert!(can_mint(&w, "ops-bot", "echo").await, "the grant holds");
    let listed = w.cli(&["grant", "list", "--caller", "ops-bot"]).await;
    assert!(listed.contains(&id), "the CLI sees it: {listed}");
    let (status, v) = admin(
        &w,
        M::POST,
        "/grants",
        t,
        Some(
            json!({"caller": "ops-bot", "target": "echo", "skills": ["echo"],
                    "operations": ["send", "delete"]}),
        ),
    )
    .await;
    assert_eq!(
        (status, v["error"].as_str()),
        (400, Some("invalid_request")),
        "{v}"
    );
    assert!(
        v["message"].as_str().is_some_and(|m| m.contains("delete")),
        "{v}"
    );
    let (status, v) = admin(&w, M::GET, "/grants?caller=ops-bot", t, None).await;
    assert_eq!(status, 200, "{v}");
    assert_eq!(v["grants"].as_array().map(Vec::len), Some(1), "{v}");
    assert_eq!(v["grants"][0]["id"], id.as_str());
    let (status, _) = admin(&w, M::GET, "/grants?all=maybe", t, None).await;
    assert_eq!(status, 400);

    let (status, v) = admin(&w, M::DELETE, &format!("/grants/{id}"), t, None).await;
    assert_eq!((status, &v), (204, &Value::Null));
    assert!(!can_mint(&w, "ops-bot", "echo").await, "revoked at once");
    let (status, v) = admin(&w, M::DELETE, &format!("/grants/{id}"), t, None).await;
    assert_eq!(
        (status, v["error"].as_str()),
        (409, Some("conflict")),
        "{v}"
    );
    let (status, v) = admin(&w, M::DELETE, "/grants/g_0000000000000000", t, None).await;
    assert_eq!(
        (status, v["error"].as_str()),
        (404, Some("not_found")),
        "{v}"
    );
    let (_, v) = admin(&w, M::GET, "/grants?caller=ops-bot&all=true", t, None).await;
    assert_eq!(v["grants"][0]["state"], "revoked", "{v}");

    // Quarantine.
    let (status, v) = admin(&w, M::GET, "/quarantine", t, None).await;
    assert_eq!((status, v), (200, json!({"quarantined": []})));
    let body = json!({"agent": "demo-client", "reason": "incident 7"});
    let (status, v) = admin(&w, M::POST, "/quarantine", t, Some(body.clone())).await;
    assert_eq!(status, 201, "{v}");
    assert_eq!(v["createdBy"], "admin");
    assert!(!can_mint(&w, "demo-client", "echo").await, "quarantined");
    let (status, v) = admin(&w, M::POST, "/quarantine", t, Some(body)).await;
    assert_eq!(
        (status, v["error"].as_str()),
        (409, Some("conflict")),
        "{v}"
    );
    let (status, _) = admin(
        &w,
        M::POST,
        "/quarantine",
        t,
        Some(json!({"agent": "echo"})),
    )
    .await;
    assert_eq!(status, 400, "a reason is required");
    let (_, v) = admin(&w, M::GET, "/quarantine", t, None).await;
    assert_eq!(v["quarantined"][0]["reason"], "incident 7", "{v}");
    let listed = w.cli(&["quarantine", "list"]).await;
    assert!(listed.contains("incident 7"), "the CLI sees it: {listed}");
    let (status, _) = admin(&w, M::DELETE, "/quarantine/demo-client", t, None).await;
    assert_eq!(status, 204);
    assert!(can_mint(&w, "demo-client", "echo").await, "released");
    let (status, v) = admin(&w, M::DELETE, "/quarantine/demo-client", t, None).await;
    assert_eq!(
        (status, v["error"].as_str()),
        (404, Some("not_found")),
        "{v}"
    );

    // A quarantined agent is refused from the next call on.
    let message = json!({"message": user_message("are you there?")});
    let v = w.rpc("echo", "SendMessage", message.clone()).await;
    assert!(v.get("result").is_some(), "{v}");
    let body = json!({"agent": "echo", "reason": "misbehaving"});
    let (status, _) = admin(&w, M::POST, "/quarantine", t, Some(body)).await;
    assert_eq!(status, 201);
    let v = w.rpc("echo", "SendMessage", message.clone()).await;
    assert!(
        v.get("error").is_some() && v.to_string().contains("quarantined"),
        "{v}"
    );
    let (status, _) = admin(&w, M::DELETE, "/quarantine/echo", t, None).await;
    assert_eq!(status, 204);
    let v = w.rpc("echo", "SendMessage", message).await;
    assert!(v.get("result").is_some(), "{v}");

    // Policy reload: `warden up` has no policy file.
    let (status, v) = admin(&w, M::POST, "/policy/reload", t, None).await;
    assert_eq!((status, v), (200, json!({"rules": 0, "file": null})));

    // Every change audited (kind admin, principal admin).
    let store = warden_store::Store::open(&w.dir.path().join("warden.db"))
        .await
        .expect("store");
    let rows = store.recent_audit(500).await.expect("audit");
    let actions: Vec<&str> = rows
        .iter()
        .rev()
        .filter(|r| r.kind == "admin" && r.outcome == "admin_change")
        .filter(|r| r.principal.as_deref() == Some("admin"))
        .filter_map(|r| r.reason.as_deref())
        .collect();
    assert_eq!(
        actions,
        [
            "grant.add",
            "grant.revoke",
            "quarantine.add",
            "quarantine.remove",
            "quarantine.add",
            "quarantine.remove",
            "policy.reload"
        ]
    );
}

#[tokio::test]
async fn authz_admin_api_reloads_the_policy_file() {
    let spy = Spy::start().await;
    let dir = tempfile::tempdir().expect("dir");
    let policy = dir.path().join("policy.toml");
    std::fs::write(&policy, POLICY).expect("write policy");
    let w = gateway(&format!(
        "[authz]\npolicy_file = {:?}\n[[agents]]\nname = \"spy\"\nurl = \"{}\"\n",
        policy.display().to_string(),
        spy.url
    ))
    .await;
    let token = admin_token(&w.dir.path().join("data"));
    let t = Some(token.as_str());
    let (status, v) = admin(&w, M::POST, "/policy/reload", t, None).await;
    assert_eq!(status, 200, "{v}");
    assert_eq!(v["rules"], 1);
    std::fs::write(
        &policy,
        format!(
            "{POLICY}\n[[rule]]\nname = \"typo\"\neffect = \"deny\"\nwhen = 'agnet == \"spy\"'\n"
        ),
    )
    .expect("write");
    let (status, v) = admin(&w, M::POST, "/policy/reload", t, None).await;
    assert_eq!(
        (status, v["error"].as_str()),
        (400, Some("invalid_policy")),
        "{v}"
    );
    assert!(
        v["message"].as_str().is_some_and(|m| m.contains("agnet")),
        "{v}"
    );
    std::fs::write(&policy, "").expect("write");
    let (status, v) = admin(&w, M::POST, "/policy/reload", t, None).await;
    assert_eq!((status, &v["rules"]), (200, &json!(0)), "{v}");
}

#[tokio::test]
async fn authz_admin_api_quarantine_closes_open_streams() {
    use futures_util::StreamExt;
    // Ten steps five seconds apart: left alone, the stream lasts 50 s.
    let w = up(&["--step-interval-ms", "5000"]).await;
    let token = admin_token(w.dir.path());
    let r = client()
        .post(format!("{}/agents/slow", w.gateway))
        .bearer_auth(w.token("slow").await)
        .header("A2A-Version", "1.0")
        .header("Accept", "text/event-stream")
        .json(
            &json!({"jsonrpc": "2.0", "id": 1, "method": "SendStreamingMessage",
                      "params": {"message": user_message("10")}}),
        )
        .send()
        .await
        .expect("open the stream");
    assert_eq!(r.status(), 200);
    let mut chunks = r.bytes_stream();
    let first = tokio::time::timeout(std::time::Duration::from_secs(30), chunks.next())
        .await
        .expect("a first event");
    assert!(first.is_some_and(|c| c.is_ok()), "the stream is open");

    let started = std::time::Instant::now();
    let body = json!({"agent": "slow", "reason": "runaway"});
    let (status, v) = admin(&w, M::POST, "/quarantine", Some(&token), Some(body)).await;
    assert_eq!(status, 201, "{v}");
    let ended = tokio::time::timeout(std::time::Duration::from_secs(20), async {
        while let Some(Ok(_)) = chunks.next().await {}
    })
    .await;
    assert!(ended.is_ok(), "the stream is closed, not left to run");
    assert!(started.elapsed() < std::time::Duration::from_secs(20));
}
