//! Authorisation refusals as the official Python SDK client (`a2a-sdk`,
//! pinned in tests/interop/python) sees them through the gateway, in both
//! bindings: what it raises, and the code, status and reason on the wire.
//! Each test sets the scene here (callers, grants, quarantine, limits) and
//! runs one case of tests/interop/python/refusals.py.

use std::process::Stdio;

use serde_json::Value;
use tokio::io::{AsyncBufReadExt, BufReader};
use tokio::process::{Child, Command};

use crate::support::{Running, WAIT, gateway, python, repo_root, up, warden};

const BINDINGS: [&str; 2] = ["jsonrpc", "rest"];

/// Runs one case of refusals.py; asserts that every check passed and
/// returns the names of the checks.
async fn refusals(w: &Running, binding: &str, case: &str, extra: &[&str]) -> Vec<String> {
    let out = Command::new(python())
        .arg(repo_root().join("tests/interop/python/refusals.py"))
        .args(["--base", &w.gateway, "--binding", binding, "--case", case])
        .args(extra)
        .kill_on_drop(true)
        .output()
        .await
        .expect("run refusals.py");
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    let results: Vec<Value> = stdout
        .lines()
        .filter_map(|l| serde_json::from_str(l).ok())
        .collect();
    assert!(
        !results.is_empty(),
        "{case}/{binding}: no results: {stdout}\n{stderr}"
    );
    for r in &results {
        assert_eq!(r["ok"], true, "{case}/{binding}: {r}\n{stderr}");
    }
    assert!(out.status.success(), "{case}/{binding}: {stdout}\n{stderr}");
    results
        .iter()
        .filter_map(|r| r["check"].as_str().map(str::to_owned))
        .collect()
}

fn assert_checks(got: &[String], want: &[&str]) {
    for w in want {
        assert!(got.iter().any(|g| g == w), "check {w} did not run: {got:?}");
    }
}

/// `n` single-use tokens for `sub` to call `aud`.
async fn tokens(w: &Running, sub: &str, aud: &str, n: usize) -> Vec<String> {
    let out = w
        .cli(&[
            "token",
            "mint",
            "--sub",
            sub,
            "--aud",
            aud,
            "--count",
            &n.to_string(),
        ])
        .await;
    let list: Vec<String> = out.lines().map(str::to_owned).collect();
    assert_eq!(list.len(), n, "{out}");
    list
}

/// The audit rows of refused calls whose reason starts with `reason`, at
/// least `want` of them, read once the writer (which batches off the
/// request path) has stored every event emitted so far.
async fn refusal_rows(w: &Running, reason: &str, want: usize) -> Vec<warden_store::AuditRecord> {
    // `warden up` keeps its store in the data directory; `support::gateway`
    // in `data/` below it.
    let store = warden_store::Store::open(&w.data_dir().join("warden.db"))
        .await
        .expect("store");
    w.flush_audit().await;
    let rows: Vec<_> = store
        .recent_audit(500)
        .await
        .expect("audit")
        .into_iter()
        .filter(|r| {
            r.outcome == "refused" && r.reason.as_deref().is_some_and(|x| x.starts_with(reason))
        })
        .collect();
    assert!(rows.len() >= want, "{reason}: {rows:?}");
    rows
}

fn detail(r: &warden_store::AuditRecord) -> Value {
    r.detail
        .as_deref()
        .and_then(|d| serde_json::from_str(d).ok())
        .unwrap_or(Value::Null)
}

#[tokio::test]
async fn python_sdk_sees_a_skill_outside_the_token_scope_as_forbidden() {
    let w = up(&[]).await;
    // demo-client is granted echo's skills echo and echo-upper; its tokens
    // here are scoped to echo-upper alone.
    let key = w.api_key().await;
    for binding in BINDINGS {
        let args = ["--api-key", &key, "--scope", "echo-upper"];
        let checks = refusals(&w, binding, "scope", &args).await;
        assert_checks(&checks, &["scope:send", "scope:stream", "scope:control"]);
    }
    let rows = refusal_rows(&w, "skill_not_in_scope:echo", 4).await;
    assert_eq!(rows.len(), 4, "two calls per binding: {rows:?}");
    for r in &rows {
        assert_eq!(r.principal.as_deref(), Some("demo-client"));
        assert_eq!(
            detail(r),
            serde_json::json!({"decision": "deny", "reason": "skill_not_in_scope:echo", "rule": null})
        );
    }
}

#[tokio::test]
async fn python_sdk_sees_a_revoked_grant_as_an_unknown_agent() {
    let w = up(&[]).await;
    w.cli(&["registry", "add", "bob", "--grant", "echo=echo"])
        .await;
    // A grant for an agent the gateway does not have, so that the token
    // endpoint issues tokens for it: the unknown agent to compare with.
    w.cli(&["grant", "add", "bob", "ghost", "--skills", "echo"])
        .await;
    let ghost = tokens(&w, "bob", "ghost", 4).await;
    let echo = tokens(&w, "bob", "echo", 4).await;
    let out = w
        .cli(&["grant", "revoke", "--caller", "bob", "--target", "echo"])
        .await;
    assert!(out.starts_with("revoked 1 grant"), "{out}");
    for (i, binding) in BINDINGS.into_iter().enumerate() {
        let mut args = Vec::new();
        for t in &ghost[2 * i..2 * i + 2] {
            args.extend(["--token".to_string(), format!("ghost={t}")]);
        }
        for t in &echo[2 * i..2 * i + 2] {
            args.extend(["--token".to_string(), format!("echo={t}")]);
        }
        let args: Vec<&str> = args.iter().map(String::as_str).collect();
        let checks = refusals(&w, binding, "no-grant", &args).await;
        assert_checks(
            &checks,
            &[
                "no-grant:ghost:send",
                "no-grant:echo:send",
                "no-grant:echo:get",
                "no-grant:same-answer",
            ],
        );
    }
    assert_eq!(refusal_rows(&w, "no_grant", 4).await.len(), 4);
}

#[tokio::test]
async fn python_sdk_sees_an_ungranted_agent_like_an_unknown_one_with_an_api_key() {
    let w = up(&[]).await;
    w.cli(&["registry", "add", "bob", "--grant", "echo=echo"])
        .await;
    let key = w.cli(&["apikey", "create", "--sub", "bob"]).await;
    for binding in BINDINGS {
        let args = [
            "--x-api-key",
            &key,
            "--agent",
            "slow",
            "--skill",
            "count",
            "--ghost",
            "nowhere",
        ];
        let checks = refusals(&w, binding, "api-key-no-grant", &args).await;
        assert_checks(&checks, &["api-key-no-grant:same-answer"]);
    }
}

#[tokio::test]
async fn python_sdk_sees_another_callers_task_as_a_missing_one() {
    let w = up(&["--step-interval-ms", "200"]).await;
    w.cli(&["registry", "add", "bob", "--grant", "slow=count"])
        .await;
    let owner = w.api_key().await;
    let other = w.cli(&["apikey", "create", "--sub", "bob"]).await;
    for binding in BINDINGS {
        let args = [
            "--api-key",
            &owner,
            "--other-api-key",
            &other,
            "--agent",
            "slow",
            "--skill",
            "count",
        ];
        let checks = refusals(&w, binding, "task", &args).await;
        assert_checks(
            &checks,
            &[
                "task:get",
                "task:cancel",
                "task:subscribe",
                "task:send",
                "task:list",
                "task:owner-control",
            ],
        );
    }
    // Foreign and missing tasks are both task_not_visible in the audit log
    // (4 operations x 2 tasks x 2 bindings); the caller cannot tell them apart.
    assert_eq!(refusal_rows(&w, "task_not_visible", 16).await.len(), 16);
}

#[tokio::test]
async fn python_sdk_sees_a_quarantined_agent_or_caller_as_forbidden() {
    let w = up(&["--step-interval-ms", "50"]).await;
    let key = w.api_key().await;
    w.cli(&["quarantine", "add", "echo", "--reason", "under review"])
        .await;
    for binding in BINDINGS {
        let checks = refusals(&w, binding, "quarantined-agent", &["--api-key", &key]).await;
        assert_checks(
            &checks,
            &[
                "quarantined-agent:send",
                "quarantined-agent:stream",
                "quarantined-agent:control",
            ],
        );
    }
    w.cli(&["quarantine", "remove", "echo"]).await;

    // A quarantined caller gets no new tokens; one minted before is refused.
    let minted = tokens(&w, "demo-client", "echo", 2).await;
    w.cli(&["quarantine", "add", "demo-client", "--reason", "leaked key"])
        .await;
    for (binding, token) in BINDINGS.into_iter().zip(&minted) {
        let arg = format!("echo={token}");
        let checks = refusals(&w, binding, "quarantined-caller", &["--token", &arg]).await;
        assert_checks(&checks, &["quarantined-caller:send"]);
    }
    assert_eq!(refusal_rows(&w, "agent_quarantined", 4).await.len(), 4);
    assert_eq!(refusal_rows(&w, "caller_quarantined", 2).await.len(), 2);
}

/// `warden agent echo` on an ephemeral port; returns it and its URL.
async fn echo_agent(dir: &std::path::Path) -> (Child, String) {
    let mut child = warden()
        .args(["agent", "echo", "--listen", "127.0.0.1:0", "--data-dir"])
        .arg(dir)
        .stdout(Stdio::piped())
        .spawn()
        .expect("start warden agent echo");
    let mut lines = BufReader::new(child.stdout.take().expect("stdout")).lines();
    let url = tokio::time::timeout(WAIT, async {
        while let Ok(Some(line)) = lines.next_line().await {
            if let Some(url) = line.strip_prefix("agent echo listening on ") {
                return Some(url.trim().to_string());
            }
        }
        None
    })
    .await
    .expect("the agent started in time")
    .expect("the agent printed its URL");
    tokio::spawn(async move { while let Ok(Some(_)) = lines.next_line().await {} });
    (child, url)
}

#[tokio::test]
async fn python_sdk_sees_rate_limits_as_429_with_retry_after() {
    let agent_dir = tempfile::tempdir().expect("tempdir");
    let (_agent, url) = echo_agent(agent_dir.path()).await;
    let w = gateway(&format!(
        "[[agents]]\nname = \"echo\"\nurl = \"{url}\"\n\
         [rate_limits]\nprincipal = {{ rate = \"2/s\", burst = 2 }}\n"
    ))
    .await;
    let key = w.api_key().await;
    for binding in BINDINGS {
        let checks = refusals(
            &w,
            binding,
            "rate-limit",
            &["--api-key", &key, "--burst", "2"],
        )
        .await;
        assert_checks(&checks, &["rate-limit:429", "rate-limit:after-retry-after"]);
    }
    // Rate-limit refusals are audited as counts (one row per caller and
    // second), so the refusals are summed over the rows.
    let rows = refusal_rows(&w, "rate_limited:principal", 1).await;
    let refused: u64 = rows
        .iter()
        .map(|r| detail(r)["count"].as_u64().unwrap_or(0))
        .sum();
    assert!(refused >= 2, "{rows:?}");
}
