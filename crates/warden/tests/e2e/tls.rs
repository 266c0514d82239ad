//! TLS and mTLS on the gateway's listeners, certificate reload, and
//! certificate-bound tokens (RFC 8705), against a real `warden gateway`.

use std::path::Path;
use std::time::Duration;

use crate::support::{Leaf, Pki, Spy, gateway, replace_file, send_message_via, server_cert_of};

/// Writes the server certificate, its key and the CA into `dir`.
fn write_pki(dir: &Path, pki: &Pki, server: &Leaf) {
    replace_file(&dir.join("ca.pem"), &pki.ca_pem);
    replace_file(&dir.join("server.key"), &server.key_pem);
    replace_file(&dir.join("server.pem"), &server.cert_pem);
}

/// A `[gateway.tls]` (or `[admin.tls]`) table for the files in `dir`.
fn tls_table(table: &str, dir: &Path, client_auth: &str) -> String {
    let cas = if client_auth == "off" {
        String::new()
    } else {
        format!("client_ca_files = [{:?}]\n", dir.join("ca.pem"))
    };
    format!(
        "[{table}]\ncert_file = {:?}\nkey_file = {:?}\n{cas}client_auth = \"{client_auth}\"\nreload_interval_ms = 200\n",
        dir.join("server.pem"),
        dir.join("server.key"),
    )
}

#[tokio::test]
async fn mtls_gateway_serves_verified_clients_and_binds_tokens_to_certificates() {
    let pki = Pki::new("Warden test CA");
    let dir = tempfile::tempdir().expect("tempdir");
    write_pki(dir.path(), &pki, &pki.server(1));
    let alice = pki.client(
        "alice.example",
        Some("spiffe://example.org/ns/test/sa/alice"),
        10,
    );
    let bob = pki.client("bob.example", None, 11);
    let spy = Spy::start().await;
    let w = gateway(&format!(
        "[[agents]]\nname = \"spy\"\nurl = \"{}\"\n{}",
        spy.url,
        tls_table("gateway.tls", dir.path(), "required")
    ))
    .await;
    assert!(w.gateway.starts_with("https://127.0.0.1:"), "{}", w.gateway);
    assert!(w.admin.starts_with("http://"), "{}", w.admin);
    let url = format!("{}/agents/spy", w.gateway);

    // With a client certificate: HTTPS works and the card points at https.
    let as_alice = pki.client_for(Some(&alice));
    let card: serde_json::Value = as_alice
        .get(format!("{url}/.well-known/agent-card.json"))
        .send()
        .await
        .expect("card over mTLS")
        .json()
        .await
        .expect("card json");
    assert_eq!(card["supportedInterfaces"][0]["url"], url.as_str());
    let token = w.token("spy").await;
    let (status, _, body) = send_message_via(&as_alice, &url, &token)
        .await
        .expect("call");
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["result"]["task"]["id"], "t", "{body}");

    // Without one, the handshake is refused (client_auth = "required").
    let anonymous = pki.client_for(None);
    let token = w.token("spy").await;
    assert!(send_message_via(&anonymous, &url, &token).await.is_err());
    // Plain HTTP to the TLS port gets nothing useful either.
    let plain = url.replacen("https://", "http://", 1);
    let r = crate::support::client()
        .get(format!("{plain}/.well-known/agent-card.json"))
        .send()
        .await;
    assert!(r.is_err() || !r.expect("response").status().is_success());

    // A token bound to alice's certificate (cnf.x5t#S256) ...
    let bound = w
        .cli(&[
            "token",
            "mint",
            "--sub",
            &w.client,
            "--aud",
            "spy",
            // One argument: a thumbprint may start with `-`.
            &format!("--cnf-x5t={}", alice.thumbprint()),
        ])
        .await;
    // ... works over alice's connection, more than once (the handshake is
    // the proof of possession) ...
    for _ in 0..2 {
        let (status, _, body) = send_message_via(&as_alice, &url, &bound)
            .await
            .expect("bound call");
        assert_eq!(status, 200, "{body}");
    }
    // ... including on a fresh connection with the same certificate ...
    let (status, _, _) = send_message_via(&pki.client_for(Some(&alice)), &url, &bound)
        .await
        .expect("fresh connection");
    assert_eq!(status, 200);
    // ... and is refused over bob's.
    let (status, challenge, body) = send_message_via(&pki.client_for(Some(&bob)), &url, &bound)
        .await
        .expect("bob's call is answered");
    assert_eq!(status, 401, "{body}");
    let challenge = challenge.expect("WWW-Authenticate");
    assert!(challenge.contains("invalid_token"), "{challenge}");
    // The upstream saw only the calls that were let through (4), never a
    // client credential.
    let calls: Vec<_> = spy
        .requests()
        .into_iter()
        .filter(|r| r.method == "POST")
        .collect();
    assert_eq!(calls.len(), 4, "{calls:?}");
    assert!(calls.iter().all(|r| {
        r.header("authorization")
            .is_none_or(|a| !a.contains(&bound))
    }));
}

#[tokio::test]
async fn a_bound_token_is_refused_without_a_client_certificate() {
    let pki = Pki::new("Warden test CA");
    let dir = tempfile::tempdir().expect("tempdir");
    write_pki(dir.path(), &pki, &pki.server(1));
    let alice = pki.client("alice.example", None, 10);
    let spy = Spy::start().await;
    // Client certificates optional: connections without one are served.
    let w = gateway(&format!(
        "[[agents]]\nname = \"spy\"\nurl = \"{}\"\n{}",
        spy.url,
        tls_table("gateway.tls", dir.path(), "optional")
    ))
    .await;
    let url = format!("{}/agents/spy", w.gateway);
    let bound = w
        .cli(&[
            "token",
            "mint",
            "--sub",
            &w.client,
            "--aud",
            "spy",
            // One argument: a thumbprint may start with `-`.
            &format!("--cnf-x5t={}", alice.thumbprint()),
        ])
        .await;
    let (status, challenge, body) = send_message_via(&pki.client_for(None), &url, &bound)
        .await
        .expect("answered");
    assert_eq!(status, 401, "{body}");
    assert!(challenge.unwrap_or_default().contains("invalid_token"));
    let (status, _, body) = send_message_via(&pki.client_for(Some(&alice)), &url, &bound)
        .await
        .expect("answered");
    assert_eq!(status, 200, "{body}");
    // Plain tokens keep working without a certificate.
    let (status, _, body) = send_message_via(&pki.client_for(None), &url, &w.token("spy").await)
        .await
        .expect("answered");
    assert_eq!(status, 200, "{body}");
}

#[tokio::test]
async fn certificates_reload_without_dropping_open_connections() {
    let pki = Pki::new("Warden test CA");
    let dir = tempfile::tempdir().expect("tempdir");
    let first = pki.server(1);
    write_pki(dir.path(), &pki, &first);
    let admin_dir = tempfile::tempdir().expect("tempdir");
    write_pki(admin_dir.path(), &pki, &pki.server(5));
    let spy = Spy::start().await;
    let w = gateway(&format!(
        "[[agents]]\nname = \"spy\"\nurl = \"{}\"\n{}{}",
        spy.url,
        tls_table("gateway.tls", dir.path(), "off"),
        tls_table("admin.tls", admin_dir.path(), "off"),
    ))
    .await;
    // The admin listener speaks TLS too.
    assert!(w.admin.starts_with("https://"), "{}", w.admin);
    let r = pki
        .client_for(None)
        .get(format!("{}/healthz", w.admin))
        .send()
        .await
        .expect("admin over TLS");
    assert!(r.status().is_success());

    let card = format!("{}/agents/spy/.well-known/agent-card.json", w.gateway);
    let open = pki.client_for(None);
    let r = open.get(&card).send().await.expect("first");
    assert_eq!(r.status(), 200);
    assert_eq!(server_cert_of(&r), first.der);
    let _ = r.bytes().await;

    // New certificate, new serial, same names; key first, then certificate.
    let second = pki.server(2);
    assert_ne!(second.der, first.der);
    replace_file(&dir.path().join("server.key"), &second.key_pem);
    replace_file(&dir.path().join("server.pem"), &second.cert_pem);
    let deadline = tokio::time::Instant::now() + Duration::from_secs(30);
    loop {
        let r = pki.client_for(None).get(&card).send().await.expect("fresh");
        if server_cert_of(&r) == second.der {
            break;
        }
        assert!(tokio::time::Instant::now() < deadline, "not reloaded");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    // The connection opened before the reload still works, on its old
    // certificate: it was neither dropped nor renegotiated.
    let r = open.get(&card).send().await.expect("old connection");
    assert_eq!(r.status(), 200);
    assert_eq!(server_cert_of(&r), first.der);

    // A broken replacement is ignored: the new certificate stays.
    replace_file(&dir.path().join("server.pem"), "not a certificate\n");
    tokio::time::sleep(Duration::from_millis(600)).await;
    let r = pki
        .client_for(None)
        .get(&card)
        .send()
        .await
        .expect("still up");
    assert_eq!(server_cert_of(&r), second.der);
}

#[tokio::test]
async fn a_bad_certificate_file_stops_the_start_with_its_name() {
    let dir = tempfile::tempdir().expect("tempdir");
    let config = dir.path().join("warden.toml");
    std::fs::write(
        &config,
        format!(
            "[gateway]\nlisten = \"127.0.0.1:0\"\ndata_dir = {:?}\n[admin]\nlisten = \"127.0.0.1:0\"\n[gateway.tls]\ncert_file = {:?}\nkey_file = {:?}\n",
            dir.path().join("data"),
            dir.path().join("nope.pem"),
            dir.path().join("nope.key"),
        ),
    )
    .expect("config");
    let out = crate::support::warden()
        .arg("gateway")
        .arg("--config")
        .arg(&config)
        .output()
        .await
        .expect("run");
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("nope.pem"), "{err}");
}

#[tokio::test]
async fn config_check_reads_the_tls_files() {
    let pki = Pki::new("Warden test CA");
    let dir = tempfile::tempdir().expect("tempdir");
    let server = pki.server(1);
    write_pki(dir.path(), &pki, &server);
    let config = dir.path().join("warden.toml");
    std::fs::write(&config, tls_table("gateway.tls", dir.path(), "required")).expect("config");
    let check = || async {
        crate::support::warden()
            .args(["config", "check"])
            .arg(&config)
            .output()
            .await
            .expect("run")
    };
    let out = check().await;
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    // A key that belongs to another certificate is caught before any start.
    replace_file(&dir.path().join("server.key"), &pki.server(2).key_pem);
    let out = check().await;
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("gateway.tls") && err.contains("server.key"),
        "{err}"
    );
}

#[tokio::test]
async fn a_client_authenticates_with_its_certificate_and_gets_a_bound_token() {
    let pki = Pki::new("Warden test CA");
    let dir = tempfile::tempdir().expect("tempdir");
    write_pki(dir.path(), &pki, &pki.server(1));
    let alice = pki.client(
        "alice.example",
        Some("spiffe://example.org/ns/test/sa/alice"),
        20,
    );
    let bob = pki.client("bob.example", None, 21);
    let spy = Spy::start().await;
    let w = gateway(&format!(
        "[[agents]]\nname = \"spy\"\nurl = \"{}\"\n{}",
        spy.url,
        tls_table("gateway.tls", dir.path(), "required")
    ))
    .await;
    w.cli(&[
        "registry",
        "add",
        "alice",
        "--grant",
        "spy=test",
        "--tls-subject",
        "spiffe://example.org/ns/test/sa/alice",
    ])
    .await;
    let token_url = format!("{}/oauth2/token", w.gateway);
    let request = |client: reqwest::Client, client_id: &'static str| {
        let token_url = token_url.clone();
        async move {
            let r = client
                .post(&token_url)
                .header("Content-Type", "application/x-www-form-urlencoded")
                .body(format!(
                    "grant_type=client_credentials&audience=spy&client_id={client_id}"
                ))
                .send()
                .await
                .expect("token request");
            let status = r.status().as_u16();
            (status, r.json::<serde_json::Value>().await.expect("json"))
        }
    };
    // Alice's certificate carries the registered SAN: a token, bound to it.
    let (status, body) = request(pki.client_for(Some(&alice)), "alice").await;
    assert_eq!(status, 200, "{body}");
    let token = body["access_token"].as_str().expect("token").to_string();
    let payload = token.split('.').nth(1).expect("jwt");
    let claims: serde_json::Value =
        serde_json::from_slice(&warden_trust::b64url_decode(payload).expect("b64")).expect("json");
    assert_eq!(claims["cnf"]["x5t#S256"], alice.thumbprint());
    let url = format!("{}/agents/spy", w.gateway);
    let (status, _, _) = send_message_via(&pki.client_for(Some(&alice)), &url, &token)
        .await
        .expect("bound call");
    assert_eq!(status, 200);
    let (status, _, _) = send_message_via(&pki.client_for(Some(&bob)), &url, &token)
        .await
        .expect("bob's call");
    assert_eq!(status, 401, "the token is bound to alice's certificate");
    // Bob's certificate does not carry alice's SAN.
    let (status, body) = request(pki.client_for(Some(&bob)), "alice").await;
    assert_eq!(status, 401, "{body}");
    assert_eq!(body["error"], "invalid_client");
}
