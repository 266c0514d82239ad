//! `warden call` on warden-client: every request through the egress rules,
//! the card verified, client credentials and DPoP at the gateway's token
//! endpoint. Exit code 3 names the refusal.

use std::process::Output;

use serde_json::{Value, json};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpListener;

use crate::support::{Running, Spy, client, up, warden};

async fn call(args: &[&str], env: &[(&str, &str)]) -> Output {
    let mut c = warden();
    c.arg("call").args(args);
    for (k, v) in env {
        c.env(k, v);
    }
    c.output().await.expect("run warden call")
}

fn stdout(o: &Output) -> String {
    String::from_utf8_lossy(&o.stdout).to_string()
}

fn stderr(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).to_string()
}

fn last_json(o: &Output) -> Value {
    serde_json::from_str(stdout(o).lines().last().unwrap_or("null")).unwrap_or(Value::Null)
}

fn data_dir(w: &Running) -> String {
    w.dir.path().display().to_string()
}

#[tokio::test]
async fn warden_call_with_data_dir_verifies_the_gateways_signed_card() {
    let w = up(&[]).await;
    let echo = format!("{}/agents/echo", w.gateway);
    let dir = data_dir(&w);
    for binding in ["jsonrpc", "rest"] {
        let out = call(
            &[
                &echo,
                "--text",
                "hello egress",
                "--data-dir",
                &dir,
                "--binding",
                binding,
                "--json",
            ],
            &[],
        )
        .await;
        assert!(out.status.success(), "{binding}: {}", stderr(&out));
        let v = last_json(&out);
        assert_eq!(v["task"]["status"]["state"], "TASK_STATE_COMPLETED", "{v}");
        assert_eq!(
            v["task"]["artifacts"][0]["parts"][0]["text"],
            "hello egress"
        );
        // The gateway signs the cards it serves, with a key of the data
        // directory's JWKS: verified, nothing to note.
        assert!(!stderr(&out).contains("not signed"), "{}", stderr(&out));
    }
}

#[tokio::test]
async fn warden_call_refuses_a_hostile_target_with_exit_3_naming_the_reason() {
    for (url, reason) in [
        ("https://169.254.169.254/agents/echo", "denied_address"),
        (
            "https://[::ffff:169.254.169.254]/agents/echo",
            "denied_address",
        ),
        ("https://10.0.0.1/agents/echo", "denied_address"),
        ("http://10.0.0.1:8080/agents/echo", "scheme"),
        (
            "https://agent.example.com@127.0.0.1/agents/echo",
            "userinfo",
        ),
        ("https://metadata.google.internal/agents/echo", "bad_host"),
        ("file:///etc/passwd", "scheme"),
    ] {
        let out = call(&[url, "--text", "hi", "--token", "t"], &[]).await;
        assert_eq!(out.status.code(), Some(3), "{url}: {}", stderr(&out));
        assert!(
            stderr(&out).contains(&format!("[{reason}]")),
            "{url}: {}",
            stderr(&out)
        );
    }
    // The token endpoint is held to the same rules: a local agent whose
    // card is fine, a token URL at the metadata address.
    let base = card_server(|own| card_with_interface(&format!("{own}/agents/x"))).await;
    let out = call(
        &[
            &format!("{base}/agents/x"),
            "--text",
            "hi",
            "--token-url",
            "https://169.254.169.254/oauth2/token",
            "--client-secret-env",
            "WARDEN_TEST_SECRET",
        ],
        &[("WARDEN_TEST_SECRET", "k")],
    )
    .await;
    assert_eq!(out.status.code(), Some(3), "{}", stderr(&out));
    assert!(
        stderr(&out).contains("[denied_address]"),
        "{}",
        stderr(&out)
    );
}

/// The card path is joined on the parsed agent URL, never pasted after it:
/// a fragment or query the path would land after is a bad argument (exit
/// 2, nothing sent); percent-encoding is kept and dot segments resolved.
#[tokio::test]
async fn warden_call_joins_the_card_path_on_the_parsed_agent_url() {
    let spy = Spy::start().await;
    let u = &spy.url;
    for bad in [
        format!("{u}#@example.com/"),
        format!("{u}/#@example.com/"),
        format!("{u}/?x#"),
        format!("{u}/agents/a?x=1"),
    ] {
        let out = call(&[&bad, "--text", "hi", "--token", "t"], &[]).await;
        assert_eq!(out.status.code(), Some(2), "{bad}: {}", stderr(&out));
        assert!(
            stderr(&out).contains("fragment") || stderr(&out).contains("query"),
            "{bad}: {}",
            stderr(&out)
        );
    }
    assert!(spy.requests().is_empty(), "{:?}", spy.requests());
    for base in [format!("{u}/agents%2Fx"), format!("{u}/a/../b/")] {
        let out = call(&[&base, "--text", "hi", "--token", "t"], &[]).await;
        assert!(out.status.success(), "{base}: {}", stderr(&out));
    }
    let cards: Vec<String> = spy
        .requests()
        .into_iter()
        .filter(|r| r.method == "GET")
        .map(|r| r.path)
        .collect();
    assert_eq!(
        cards,
        [
            "/agents%2Fx/.well-known/agent-card.json",
            "/b/.well-known/agent-card.json"
        ]
    );
}

/// Serves `card` at any path, one request per connection; returns the base.
async fn card_server(card: impl Fn(&str) -> Value + Send + Sync + 'static) -> String {
    let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
    let base = format!("http://{}", listener.local_addr().expect("addr"));
    let card = std::sync::Arc::new(card);
    let own = base.clone();
    tokio::spawn(async move {
        while let Ok((mut sock, _)) = listener.accept().await {
            let (card, own) = (card.clone(), own.clone());
            tokio::spawn(async move {
                let mut buf = vec![0u8; 8192];
                let _ = sock.read(&mut buf).await;
                let body = card(&own).to_string();
                let resp = format!(
                    "HTTP/1.1 200 OK\r\ncontent-type: application/json\r\ncontent-length: {}\r\nconnection: close\r\n\r\n{body}",
                    body.len()
                );
                let _ = sock.write_all(resp.as_bytes()).await;
                let _ = sock.shutdown().await;
            });
        }
    });
    base
}

fn card_with_interface(url: &str) -> Value {
    json!({
        "name": "hostile", "description": "points elsewhere", "version": "1",
        "supportedInterfaces": [{"url": url, "protocolBinding": "JSONRPC", "protocolVersion": "1.0"}],
        "capabilities": {}, "defaultInputModes": ["text/plain"], "defaultOutputModes": ["text/plain"],
        "skills": [{"id": "s", "name": "s", "description": "s", "tags": ["t"]}]
    })
}

#[tokio::test]
async fn a_card_naming_a_hostile_interface_is_refused_with_exit_3() {
    for (iface, reason) in [
        (
            "https://169.254.169.254/latest/meta-data/",
            "denied_address",
        ),
        ("http://169.254.169.254/latest/meta-data/", "scheme"),
        ("https://192.168.0.1/a2a", "denied_address"),
        // The agent's own loopback host, another port: trusted only at the
        // origin given on the command line.
        ("http://127.0.0.1:1/a2a", "trusted_origin"),
    ] {
        let iface = iface.to_string();
        let base = card_server(move |_| card_with_interface(&iface)).await;
        let out = call(
            &[&format!("{base}/agents/x"), "--text", "hi", "--token", "t"],
            &[],
        )
        .await;
        assert_eq!(out.status.code(), Some(3), "{reason}: {}", stderr(&out));
        assert!(
            stderr(&out).contains(&format!("[{reason}]")),
            "{reason}: {}",
            stderr(&out)
        );
    }
}

#[tokio::test]
async fn warden_call_gets_a_dpop_token_from_the_gateway_and_calls_with_it() {
    let w = up(&[]).await;
    let key = w.api_key().await;
    let token_url = format!("{}/oauth2/token", w.gateway);
    let echo = format!("{}/agents/echo", w.gateway);
    for (binding, stream) in [("jsonrpc", false), ("rest", false), ("jsonrpc", true)] {
        let mut args = vec![
            echo.as_str(),
            "--text",
            "hi dpop",
            "--token-url",
            &token_url,
            "--client-secret-env",
            "WARDEN_TEST_CLIENT_SECRET",
            "--dpop",
            "--binding",
            binding,
            "--json",
        ];
        if stream {
            args.push("--stream");
        }
        let out = call(&args, &[("WARDEN_TEST_CLIENT_SECRET", key.as_str())]).await;
        assert!(
            out.status.success(),
            "{binding} stream={stream}: {} {}",
            stdout(&out),
            stderr(&out)
        );
        assert!(stdout(&out).contains("hi dpop"), "{}", stdout(&out));
        // The key never appears in what warden prints.
        assert!(!stderr(&out).contains(&key));
    }
    // Without --dpop: a bearer token from the endpoint works the same way.
    let out = call(
        &[
            &echo,
            "--text",
            "hi bearer",
            "--token-url",
            &token_url,
            "--client-secret-env",
            "WARDEN_TEST_CLIENT_SECRET",
            "--json",
        ],
        &[("WARDEN_TEST_CLIENT_SECRET", key.as_str())],
    )
    .await;
    assert!(out.status.success(), "{}", stderr(&out));
    assert_eq!(
        last_json(&out)["task"]["artifacts"][0]["parts"][0]["text"],
        "hi bearer"
    );
    // A wrong key: the token endpoint's refusal, exit 1.
    let out = call(
        &[
            &echo,
            "--text",
            "x",
            "--token-url",
            &token_url,
            "--client-secret-env",
            "WARDEN_TEST_CLIENT_SECRET",
            "--dpop",
        ],
        &[("WARDEN_TEST_CLIENT_SECRET", "wdn_nope.nope")],
    )
    .await;
    assert_eq!(out.status.code(), Some(1), "{}", stderr(&out));
    assert!(stderr(&out).contains("invalid_client"), "{}", stderr(&out));
}

#[tokio::test]
async fn trusted_keys_require_a_signed_card_unless_unsigned_is_allowed() {
    let w = up(&[]).await;
    let jwks = client()
        .get(format!("{}/.well-known/jwks.json", w.gateway))
        .send()
        .await
        .expect("jwks")
        .text()
        .await
        .expect("text");
    let file = w.dir.path().join("trusted-jwks.json");
    std::fs::write(&file, jwks).expect("write");
    let file = file.display().to_string();
    // Somebody else's key: the gateway's signature names a key not given.
    let other = warden_trust::SigningKey::generate(warden_trust::JwsAlg::EdDsa).expect("key");
    let other_file = w.dir.path().join("other-jwks.json");
    std::fs::write(
        &other_file,
        json!({"keys": [other.public_jwk().to_json()]}).to_string(),
    )
    .expect("write");
    let other_file = other_file.display().to_string();
    let echo = format!("{}/agents/echo", w.gateway);
    let dir = data_dir(&w);
    let with_keys = |keys: &str| {
        [
            echo.clone(),
            "--text".into(),
            "signed?".into(),
            "--data-dir".into(),
            dir.clone(),
            "--trust-jwks".into(),
            keys.to_string(),
        ]
    };
    // The gateway signs the cards it serves: its JWKS verifies them.
    let args = with_keys(&file);
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    let out = call(&args, &[]).await;
    assert!(out.status.success(), "{}", stderr(&out));
    assert!(stdout(&out).contains("signed?"), "{}", stdout(&out));

    let args = with_keys(&other_file);
    let base: Vec<&str> = args.iter().map(String::as_str).collect();
    let out = call(&base, &[]).await;
    assert_eq!(out.status.code(), Some(3), "{}", stderr(&out));
    assert!(
        stderr(&out).contains("[card_signature]"),
        "{}",
        stderr(&out)
    );

    let mut lenient = base.clone();
    lenient.push("--insecure-unsigned-card");
    let out = call(&lenient, &[]).await;
    assert!(out.status.success(), "{}", stderr(&out));
    assert!(
        stderr(&out).contains("warning: --insecure-unsigned-card"),
        "{}",
        stderr(&out)
    );
    assert!(stdout(&out).contains("signed?"), "{}", stdout(&out));

    // An unreadable key file is a bad argument.
    let out = call(
        &[
            &echo,
            "--text",
            "x",
            "--trust-jwks",
            "/nonexistent/jwks.json",
        ],
        &[],
    )
    .await;
    assert_eq!(out.status.code(), Some(2), "{}", stderr(&out));
}
