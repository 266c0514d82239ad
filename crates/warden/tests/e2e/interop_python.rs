//! The official Python SDK (`a2a-sdk`, pinned in tests/interop/python) as a
//! client through the gateway, and as an upstream agent behind it.

use std::process::Stdio;

use serde_json::Value;
use tokio::io::{AsyncBufReadExt, BufReader};
use tokio::process::Command;

use crate::support::{Running, WAIT, gateway, python, repo_root, up, warden};

pub(crate) fn script(name: &str) -> std::path::PathBuf {
    repo_root().join("tests/interop/python").join(name)
}

/// Runs the Python SDK client; it fetches a fresh token per request from
/// Warden's token endpoint with an API key.
async fn run_scenarios(w: &Running, binding: &str, extra: &[&str]) {
    let key = w.api_key().await;
    let out = Command::new(python())
        .arg(script("client_scenarios.py"))
        .args([
            "--base",
            &w.gateway,
            "--binding",
            binding,
            "--api-key",
            &key,
        ])
        .args(extra)
        .kill_on_drop(true)
        .output()
        .await
        .expect("run the Python SDK client");
    let stdout = String::from_utf8_lossy(&out.stdout);
    let results: Vec<Value> = stdout
        .lines()
        .filter_map(|l| serde_json::from_str(l).ok())
        .collect();
    assert!(
        !results.is_empty(),
        "no results: {stdout}\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    for r in &results {
        assert_eq!(r["ok"], true, "{binding}: {r}");
    }
    assert!(
        out.status.success(),
        "{stdout}\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
}

const ALL: [&str; 7] = [
    "send",
    "stream",
    "get",
    "cancel",
    "list",
    "subscribe",
    "input",
];

fn scenario_args() -> Vec<&'static str> {
    ALL.iter().flat_map(|s| ["--scenario", s]).collect()
}

#[tokio::test]
async fn python_sdk_client_works_through_the_gateway_over_json_rpc() {
    let w = up(&["--step-interval-ms", "50"]).await;
    run_scenarios(&w, "jsonrpc", &scenario_args()).await;
}

#[tokio::test]
async fn python_sdk_client_works_through_the_gateway_over_rest() {
    let w = up(&["--step-interval-ms", "50"]).await;
    run_scenarios(&w, "rest", &scenario_args()).await;
}

/// Starts the Python SDK agent and returns it with its port.
pub(crate) async fn sdk_agent() -> (tokio::process::Child, u16) {
    sdk_agent_with(&[]).await
}

async fn sdk_agent_with(extra: &[&str]) -> (tokio::process::Child, u16) {
    let mut child = Command::new(python())
        .arg(script("sdk_agent.py"))
        .args(["--port", "0", "--exit-on-stdin-eof"])
        .args(extra)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .kill_on_drop(true)
        .spawn()
        .expect("start the Python SDK agent");
    let stdout = child.stdout.take().expect("stdout");
    let mut lines = BufReader::new(stdout).lines();
    let port = tokio::time::timeout(WAIT, async {
        while let Ok(Some(line)) = lines.next_line().await {
            if let Some(p) = line.strip_prefix("LISTENING ") {
                return p.trim().parse::<u16>().ok();
            }
        }
        None
    })
    .await
    .expect("the SDK agent started in time")
    .expect("the SDK agent printed its port");
    tokio::spawn(async move { while let Ok(Some(_)) = lines.next_line().await {} });
    (child, port)
}

#[tokio::test]
async fn python_sdk_agent_behind_the_gateway_driven_by_warden_call() {
    let (_agent, port) = sdk_agent().await;
    let w = gateway(&format!(
        "[[agents]]\nname = \"sdk\"\nurl = \"http://127.0.0.1:{port}\"\n"
    ))
    .await;
    let url = format!("{}/agents/sdk", w.gateway);
    for binding in ["jsonrpc", "rest"] {
        let out = warden()
            .args([
                "call",
                &url,
                "--text",
                "hello python",
                "--binding",
                binding,
                "--json",
            ])
            .args(["--token", &w.token("sdk").await])
            .output()
            .await
            .expect("run warden call");
        let text = String::from_utf8_lossy(&out.stdout);
        assert!(
            out.status.success(),
            "{binding}: {text} {}",
            String::from_utf8_lossy(&out.stderr)
        );
        let v: Value = serde_json::from_str(text.lines().last().unwrap_or("")).expect("json");
        assert_eq!(v["task"]["status"]["state"], "TASK_STATE_COMPLETED", "{v}");
        assert_eq!(
            v["task"]["artifacts"][0]["parts"][0]["text"],
            "hello python"
        );
    }
    let out = warden()
        .args(["call", &url, "--text", "slow:3", "--stream", "--json"])
        .args(["--token", &w.token("sdk").await])
        .output()
        .await
        .expect("run warden call --stream");
    assert!(out.status.success());
    let events = String::from_utf8_lossy(&out.stdout).lines().count();
    assert!(events >= 4, "streamed {events} events");
}

#[tokio::test]
async fn client_disconnect_through_the_gateway_does_not_cancel_the_python_sdk_agent() {
    let (_agent, port) = sdk_agent().await;
    let w = gateway(&format!(
        "[[agents]]\nname = \"sdk\"\nurl = \"http://127.0.0.1:{port}\"\n"
    ))
    .await;
    for binding in ["jsonrpc", "rest"] {
        run_scenarios(
            &w,
            binding,
            &["--sdk-agent", "sdk", "--scenario", "disconnect"],
        )
        .await;
    }
}

#[tokio::test]
async fn python_sdk_agent_verifies_the_token_warden_presents() {
    let dir = tempfile::tempdir().expect("tempdir");
    let jwks_file = dir.path().join("warden-jwks.json");
    let jwks_arg = jwks_file.display().to_string();
    let (_agent, port) =
        sdk_agent_with(&["--warden-jwks-file", &jwks_arg, "--audience", "sdk"]).await;
    let w = gateway(&format!(
        "[[agents]]\nname = \"sdk\"\nurl = \"http://127.0.0.1:{port}\"\n"
    ))
    .await;
    // The operator gives the agent Warden's public keys.
    let jwks = crate::support::client()
        .get(format!("{}/.well-known/jwks.json", w.gateway))
        .send()
        .await
        .expect("jwks")
        .text()
        .await
        .expect("text");
    std::fs::write(&jwks_file, jwks).expect("write jwks");

    // Straight to the agent, without Warden's token: refused by the agent.
    let direct = crate::support::client()
        .post(format!("http://127.0.0.1:{port}/jsonrpc"))
        .header("A2A-Version", "1.0")
        .json(&serde_json::json!({"jsonrpc": "2.0", "id": 1, "method": "GetTask", "params": {"id": "x"}}))
        .send()
        .await
        .expect("direct call");
    assert_eq!(direct.status(), 401);

    // Through Warden: the agent verifies Warden's token and sees the caller.
    let out = warden()
        .args([
            "call",
            &format!("{}/agents/sdk", w.gateway),
            "--text",
            "who am i",
            "--json",
        ])
        .args(["--token", &w.token("sdk").await])
        .output()
        .await
        .expect("run warden call");
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "{text} {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let v: Value = serde_json::from_str(text.lines().last().unwrap_or("")).expect("json");
    let artifacts = v["task"]["artifacts"].as_array().expect("artifacts");
    let texts: Vec<&str> = artifacts
        .iter()
        .filter_map(|a| a["parts"][0]["text"].as_str())
        .collect();
    assert!(texts.contains(&"caller=tester"), "{v}");
}

#[tokio::test]
async fn python_sdk_client_works_with_dpop_bound_tokens() {
    // One DPoP-bound token per agent, reused; each call carries a fresh proof.
    let w = up(&["--step-interval-ms", "50"]).await;
    for binding in ["jsonrpc", "rest"] {
        let mut args = vec!["--dpop"];
        args.extend(scenario_args());
        run_scenarios(&w, binding, &args).await;
    }
}
