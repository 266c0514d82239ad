//! `warden card sign | verify | fetch | lint` as a script uses them: exit
//! codes 0 (ok), 1 (not verified, lint findings), 2 (bad input) and 3
//! (refused by the egress rules), `--json` output, keys from Rust and from
//! the official Python SDK (`tests/interop/python/card_signing.py`).

use std::path::{Path, PathBuf};
use std::process::Output;

use base64::Engine as _;
use serde_json::{Value, json};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpListener;
use warden_trust::alg::ALL_ALGS;
use warden_trust::{JwsAlg, SigningKey};

use crate::support::{repo_root, up, warden};
use warden_test_support::interop::card_signing;
use warden_test_support::reformatted;

async fn card_cmd(args: &[&str]) -> Output {
    warden()
        .arg("card")
        .args(args)
        .output()
        .await
        .expect("run warden card")
}

fn stdout(o: &Output) -> String {
    String::from_utf8_lossy(&o.stdout).to_string()
}

fn stderr(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).to_string()
}

/// The one JSON object `--json` prints.
fn json_out(o: &Output) -> Value {
    serde_json::from_slice(&o.stdout).unwrap_or_else(|e| {
        panic!(
            "not one JSON object ({e}): {}\nstderr: {}",
            stdout(o),
            stderr(o)
        )
    })
}

fn path_str(p: &Path) -> &str {
    p.to_str().expect("temp paths are UTF-8")
}

fn write(dir: &Path, name: &str, text: &str) -> PathBuf {
    let path = dir.join(name);
    std::fs::write(&path, text).expect("write file");
    path
}

fn corpus(name: &str) -> PathBuf {
    repo_root()
        .join("crates/warden-card/tests/corpus")
        .join(name)
}

/// A v1.0 card in ProtoJSON spelling, without empty values: every reader
/// (the specification's, the Python SDK's) canonicalises it the same way.
fn card() -> Value {
    json!({
        "name": "Card CLI Agent",
        "description": "Answers in 中文, with emoji 😀",
        "version": "1.0.0",
        "supportedInterfaces": [{
            "url": "https://agents.example/a2a/v1",
            "protocolBinding": "JSONRPC",
            "protocolVersion": "1.0"
        }],
        "provider": {"organization": "Example", "url": "https://example.org"},
        "capabilities": {"streaming": true, "pushNotifications": false},
        "defaultInputModes": ["text/plain"],
        "defaultOutputModes": ["text/plain", "application/json"],
        "skills": [{
            "id": "echo", "name": "Echo", "description": "Echoes", "tags": ["echo"],
            "examples": ["héllo"]
        }]
    })
}

/// A fresh key for `alg` named `kid`, and its private key in a file: DER
/// PKCS#8 or PEM.
fn rust_key(alg: JwsAlg, kid: &str, dir: &Path, pem: bool) -> (SigningKey, PathBuf) {
    std::fs::create_dir_all(dir).expect("key directory");
    let generated = SigningKey::generate(alg).expect("generate a key");
    let key = SigningKey::from_pkcs8(alg, generated.pkcs8(), Some(kid)).expect("reload the key");
    let path = if pem {
        let b64 = base64::engine::general_purpose::STANDARD.encode(key.pkcs8());
        let mut text = String::from("-----BEGIN PRIVATE KEY-----\n");
        for line in b64.as_bytes().chunks(64) {
            text.push_str(std::str::from_utf8(line).expect("base64 is ASCII"));
            text.push('\n');
        }
        text.push_str("-----END PRIVATE KEY-----\n");
        write(dir, &format!("{kid}.pem"), &text)
    } else {
        let path = dir.join(format!("{kid}.der"));
        std::fs::write(&path, key.pkcs8()).expect("write DER key");
        path
    };
    (key, path)
}

fn jwks_file(dir: &Path, name: &str, keys: &[Value]) -> PathBuf {
    write(dir, name, &json!({ "keys": keys }).to_string())
}

#[tokio::test]
async fn sign_then_verify_with_every_algorithm_and_catch_tampering() {
    let dir = tempfile::tempdir().expect("tempdir");
    let d = dir.path();
    let card_path = write(d, "card.json", &card().to_string());
    for (i, alg) in ALL_ALGS.into_iter().enumerate() {
        let kid = format!("cli-{alg}");
        let (key, key_path) = rust_key(alg, &kid, d, i % 2 == 0);
        let jwks = jwks_file(d, &format!("{kid}.jwks"), &[key.public_jwk().to_json()]);
        let signed = d.join(format!("{kid}.signed.json"));
        let out = card_cmd(&[
            "sign",
            path_str(&card_path),
            "--key",
            path_str(&key_path),
            "--alg",
            alg.as_str(),
            "--kid",
            &kid,
            "--out",
            path_str(&signed),
        ])
        .await;
        assert_eq!(out.status.code(), Some(0), "{alg}: {}", stderr(&out));
        assert!(
            stderr(&out).contains(&format!("kid {kid}")),
            "{}",
            stderr(&out)
        );

        let out = card_cmd(&[
            "verify",
            path_str(&signed),
            "--jwks",
            path_str(&jwks),
            "--json",
        ])
        .await;
        assert_eq!(out.status.code(), Some(0), "{alg}: {}", stderr(&out));
        let v = json_out(&out);
        assert_eq!(v["ok"], true, "{v}");
        assert_eq!(v["kid"], kid.as_str(), "{v}");
        assert_eq!(v["alg"], alg.as_str(), "{v}");
        assert_eq!(v["form"], "rfc8785", "{v}");
        assert_eq!(v["signature"], 0, "{v}");

        // Human output names the same.
        let out = card_cmd(&["verify", path_str(&signed), "--jwks", path_str(&jwks)]).await;
        assert_eq!(out.status.code(), Some(0), "{alg}: {}", stderr(&out));
        assert!(
            stdout(&out).starts_with(&format!(
                "ok: signature 0 verifies: kid {kid}, alg {alg}, form rfc8785"
            )),
            "{}",
            stdout(&out)
        );

        let text = std::fs::read_to_string(&signed).expect("signed card");
        let value: Value = serde_json::from_str(&text).expect("signed card is JSON");

        // One altered byte: exit 1.
        let altered = write(
            d,
            "altered.json",
            &text.replacen("Card CLI Agent", "Card CLI Agenu", 1),
        );
        let out = card_cmd(&[
            "verify",
            path_str(&altered),
            "--jwks",
            path_str(&jwks),
            "--json",
        ])
        .await;
        assert_eq!(out.status.code(), Some(1), "{alg}: {}", stdout(&out));
        assert_eq!(json_out(&out)["reason"], "card_signature");

        // Reformatted (whitespace, member order): the same card, exit 0.
        let moved = write(d, "reformatted.json", &reformatted(&value));
        let out = card_cmd(&["verify", path_str(&moved), "--jwks", path_str(&jwks)]).await;
        assert_eq!(out.status.code(), Some(0), "{alg}: {}", stderr(&out));

        // Another key under the same kid: exit 1.
        let (other, _) = rust_key(alg, &kid, &d.join("other"), false);
        let wrong = jwks_file(d, "wrong.jwks", &[other.public_jwk().to_json()]);
        let out = card_cmd(&["verify", path_str(&signed), "--jwks", path_str(&wrong)]).await;
        assert_eq!(out.status.code(), Some(1), "{alg}: {}", stderr(&out));
        assert!(
            stderr(&out).contains("[card_signature]"),
            "{}",
            stderr(&out)
        );
    }
}

#[tokio::test]
async fn verify_refuses_what_it_was_not_asked_to_accept() {
    let dir = tempfile::tempdir().expect("tempdir");
    let d = dir.path();
    let card_path = write(d, "card.json", &card().to_string());
    let (key, key_path) = rust_key(JwsAlg::Es256, "k-es", d, true);
    let jwks = jwks_file(d, "k.jwks", &[key.public_jwk().to_json()]);
    let out = card_cmd(&[
        "sign",
        path_str(&card_path),
        "--key",
        path_str(&key_path),
        "--alg",
        "ES256",
        "--kid",
        "k-es",
    ])
    .await;
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    // Without --out the signed card is stdout, alone.
    let signed_text = stdout(&out);
    let signed = write(d, "signed.json", &signed_text);
    assert!(serde_json::from_str::<Value>(&signed_text).is_ok());

    // An algorithm outside --alg: exit 1.
    let out = card_cmd(&[
        "verify",
        path_str(&signed),
        "--jwks",
        path_str(&jwks),
        "--alg",
        "EdDSA",
        "--json",
    ])
    .await;
    assert_eq!(out.status.code(), Some(1));
    assert_eq!(json_out(&out)["reason"], "card_signature");
    // A key the card does not name: exit 1, unknown_key.
    let (other, _) = rust_key(JwsAlg::Es256, "someone-else", &d.join("o"), false);
    let others = jwks_file(d, "others.jwks", &[other.public_jwk().to_json()]);
    let out = card_cmd(&[
        "verify",
        path_str(&signed),
        "--jwks",
        path_str(&others),
        "--json",
    ])
    .await;
    assert_eq!(out.status.code(), Some(1));
    assert_eq!(json_out(&out)["reason"], "unknown_key");
    // An unsigned card: exit 1.
    let out = card_cmd(&[
        "verify",
        path_str(&card_path),
        "--jwks",
        path_str(&jwks),
        "--json",
    ])
    .await;
    assert_eq!(out.status.code(), Some(1));
    assert_eq!(json_out(&out)["reason"], "card_unsigned");
    // A duplicate key smuggled into a signed card: exit 1, card_json.
    let dup = signed_text.replacen('{', "{\"name\": \"Evil\",", 1);
    let dup = write(d, "dup.json", &dup);
    let out = card_cmd(&[
        "verify",
        path_str(&dup),
        "--jwks",
        path_str(&jwks),
        "--json",
    ])
    .await;
    assert_eq!(out.status.code(), Some(1));
    assert_eq!(json_out(&out)["reason"], "card_json");
    // Bad arguments and unreadable input: exit 2.
    for args in [
        vec!["verify", path_str(&signed)],
        vec![
            "verify",
            "/nonexistent/card.json",
            "--jwks",
            path_str(&jwks),
        ],
        vec![
            "verify",
            path_str(&signed),
            "--jwks",
            "/nonexistent/jwks.json",
        ],
        vec![
            "verify",
            path_str(&signed),
            "--jwks",
            path_str(&jwks),
            "--alg",
            "HS256",
        ],
        vec![
            "verify",
            path_str(&signed),
            "--jwks",
            path_str(&jwks),
            "--alg",
            "none",
        ],
    ] {
        let out = card_cmd(&args).await;
        assert_eq!(out.status.code(), Some(2), "{args:?}: {}", stderr(&out));
    }
}

#[tokio::test]
async fn sign_strips_empty_values_and_refuses_bad_input() {
    let dir = tempfile::tempdir().expect("tempdir");
    let d = dir.path();
    let (key, key_path) = rust_key(JwsAlg::EdDsa, "unused", d, false);
    // The benign weather card requires a scheme with an empty scope list.
    let weather = corpus("benign/weather_forecast.json");
    let out = card_cmd(&[
        "sign",
        path_str(&weather),
        "--key",
        path_str(&key_path),
        "--alg",
        "EdDSA",
        "--json",
    ])
    .await;
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    assert!(
        stderr(&out).contains("removed 1 empty value"),
        "{}",
        stderr(&out)
    );
    assert!(
        stderr(&out).contains("/securityRequirements"),
        "{}",
        stderr(&out)
    );
    let v = json_out(&out);
    assert_eq!(v["removed"], json!(["/securityRequirements"]));
    assert_eq!(v["alg"], "EdDSA");
    // Without --kid, the DER key's kid is its RFC 7638 thumbprint.
    let thumbprint = key.public_jwk().thumbprint();
    assert_eq!(v["kid"], thumbprint.as_str(), "{v}");
    assert!(v["card"].get("securityRequirements").is_none());
    let signed = write(d, "weather.signed.json", &v["card"].to_string());
    let mut public = key.public_jwk().to_json();
    public["kid"] = json!(thumbprint);
    let jwks = jwks_file(d, "k.jwks", &[public]);
    let out = card_cmd(&["verify", path_str(&signed), "--jwks", path_str(&jwks)]).await;
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));

    // A jku is written into the protected header.
    let out = card_cmd(&[
        "sign",
        path_str(&signed),
        "--key",
        path_str(&key_path),
        "--alg",
        "EdDSA",
        "--kid",
        "second",
        "--jku",
        "https://keys.example.com/jwks.json",
        "--json",
    ])
    .await;
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let v = json_out(&out);
    let sigs = v["card"]["signatures"].as_array().expect("signatures");
    assert_eq!(sigs.len(), 2, "the earlier signature is kept");
    let protected = base64::engine::general_purpose::URL_SAFE_NO_PAD
        .decode(sigs[1]["protected"].as_str().expect("protected"))
        .expect("base64url");
    let header: Value = serde_json::from_slice(&protected).expect("header JSON");
    assert_eq!(header["jku"], "https://keys.example.com/jwks.json");
    assert_eq!(header["kid"], "second");

    // Refused with exit 2: not JSON, duplicate keys, not an object, a key
    // for another algorithm, a missing key file, a bad jku.
    let not_json = write(d, "not.json", "{\"name\": ");
    let dup = write(d, "dup.json", r#"{"name": "a", "name": "b"}"#);
    let array = write(d, "array.json", "[1]");
    let card_path = write(d, "card.json", &card().to_string());
    for (card, alg, key, extra) in [
        (&not_json, "EdDSA", key_path.as_path(), None),
        (&dup, "EdDSA", key_path.as_path(), None),
        (&array, "EdDSA", key_path.as_path(), None),
        (&card_path, "ES256", key_path.as_path(), None),
        (&card_path, "EdDSA", Path::new("/nonexistent/key.pem"), None),
        (&card_path, "EdDSA", key_path.as_path(), Some("ftp://x y")),
    ] {
        let mut args = vec![
            "sign",
            path_str(card),
            "--key",
            path_str(key),
            "--alg",
            alg,
            "--json",
        ];
        if let Some(jku) = extra {
            args.extend(["--jku", jku]);
        }
        let out = card_cmd(&args).await;
        assert_eq!(out.status.code(), Some(2), "{args:?}: {}", stdout(&out));
        assert_eq!(json_out(&out)["ok"], false);
    }
}

#[tokio::test]
async fn python_sdk_signatures_verify_and_warden_signatures_verify_in_python() {
    let dir = tempfile::tempdir().expect("tempdir");
    let d = dir.path();
    for alg in [JwsAlg::Es256, JwsAlg::EdDsa, JwsAlg::Ps256] {
        let kid = format!("py-{alg}");
        let (key, _) = card_signing("keygen", &json!({"alg": alg.as_str(), "kid": kid}));
        let jwks = jwks_file(d, &format!("{kid}.jwks"), &[key["jwk"].clone()]);

        // The SDK signs, `warden card verify` checks.
        let (signed, _) = card_signing(
            "sign",
            &json!({"card": card(), "private_pem": key["private_pem"], "alg": alg.as_str(),
                    "kid": kid}),
        );
        let py_signed = write(d, "py-signed.json", &signed["card"].to_string());
        let out = card_cmd(&[
            "verify",
            path_str(&py_signed),
            "--jwks",
            path_str(&jwks),
            "--json",
        ])
        .await;
        assert_eq!(out.status.code(), Some(0), "{alg}: {}", stdout(&out));
        let v = json_out(&out);
        assert_eq!(
            (v["kid"].as_str(), v["alg"].as_str()),
            (Some(kid.as_str()), Some(alg.as_str()))
        );

        // `warden card sign` with the SDK's key as a private JWK; the SDK
        // verifies.
        let jwk_path = write(d, &format!("{kid}.jwk"), &key["private_jwk"].to_string());
        let card_path = write(d, "card.json", &card().to_string());
        let out = card_cmd(&[
            "sign",
            path_str(&card_path),
            "--key",
            path_str(&jwk_path),
            "--alg",
            alg.as_str(),
            "--kid",
            &kid,
        ])
        .await;
        assert_eq!(out.status.code(), Some(0), "{alg}: {}", stderr(&out));
        let (answer, code) = card_signing(
            "verify",
            &json!({"card_json": stdout(&out), "jwk": key["jwk"], "algorithms": [alg.as_str()]}),
        );
        assert_eq!(
            code, 0,
            "{alg}: the SDK refuses Warden's signature: {answer}"
        );
    }
}

#[tokio::test]
async fn lint_reports_hostile_cards_and_passes_benign_ones() {
    for (file, code) in [
        (
            "instruction_override__ignore_previous.json",
            "instruction_override",
        ),
        ("hidden_unicode__bidi_override.json", "hidden_unicode"),
        ("markup_injection__script_tag.json", "markup_injection"),
        ("exfiltration__history_to_url.json", "exfiltration"),
    ] {
        let path = corpus(&format!("hostile/{file}"));
        let out = card_cmd(&["lint", path_str(&path), "--json"]).await;
        assert_eq!(out.status.code(), Some(1), "{file}: {}", stdout(&out));
        let v = json_out(&out);
        assert_eq!(v["ok"], false, "{v}");
        assert_eq!(v["worst"], "error", "{v}");
        let findings = v["findings"].as_array().expect("findings");
        assert!(
            findings
                .iter()
                .any(|f| f["code"] == code && f["severity"] == "error"),
            "{file}: {v}"
        );
        // Human output: one line per finding, and the verdict.
        let out = card_cmd(&["lint", path_str(&path)]).await;
        assert_eq!(out.status.code(), Some(1));
        assert!(stdout(&out).contains(code), "{}", stdout(&out));
        assert!(
            stdout(&out).contains("fails (--fail-on error)"),
            "{}",
            stdout(&out)
        );
    }
    // A warning fails only with --fail-on warning.
    let zw = corpus("hostile/hidden_unicode__zero_width_in_name.json");
    let out = card_cmd(&["lint", path_str(&zw), "--json"]).await;
    assert_eq!(out.status.code(), Some(0), "{}", stdout(&out));
    assert_eq!(json_out(&out)["worst"], "warning");
    let out = card_cmd(&["lint", path_str(&zw), "--fail-on", "warning", "--json"]).await;
    assert_eq!(out.status.code(), Some(1), "{}", stdout(&out));
    let v = json_out(&out);
    assert!(
        v["findings"]
            .as_array()
            .expect("findings")
            .iter()
            .any(|f| f["code"] == "hidden_unicode" && f["path"] == "/name"),
        "{v}"
    );

    for file in [
        "weather_forecast.json",
        "customer_support_ar.json",
        "emoji_travel.json",
        "v03_legacy_inventory.json",
    ] {
        let path = corpus(&format!("benign/{file}"));
        let out = card_cmd(&["lint", path_str(&path), "--fail-on", "warning", "--json"]).await;
        assert_eq!(out.status.code(), Some(0), "{file}: {}", stdout(&out));
        assert_eq!(json_out(&out)["ok"], true);
    }

    // Not strict JSON: one malformed_card error, exit 1.
    let dir = tempfile::tempdir().expect("tempdir");
    let dup = write(dir.path(), "dup.json", r#"{"name": "a", "name": "b"}"#);
    let out = card_cmd(&["lint", path_str(&dup), "--json"]).await;
    assert_eq!(out.status.code(), Some(1));
    assert_eq!(json_out(&out)["findings"][0]["code"], "malformed_card");
    // Unreadable: exit 2.
    let out = card_cmd(&["lint", "/nonexistent/card.json"]).await;
    assert_eq!(out.status.code(), Some(2));
    let out = card_cmd(&["lint", path_str(&dup), "--fail-on", "never"]).await;
    assert_eq!(out.status.code(), Some(2));
}

#[tokio::test]
async fn lint_sanitise_prints_a_card_without_hidden_characters() {
    for file in [
        "hostile/hidden_unicode__zero_width_in_name.json",
        "hostile/instruction_override__zero_width_split.json",
        "hostile/hidden_unicode__tag_smuggling.json",
    ] {
        let path = corpus(file);
        let out = card_cmd(&[
            "lint",
            path_str(&path),
            "--sanitise",
            "--fail-on",
            "warning",
        ])
        .await;
        assert_eq!(out.status.code(), Some(1), "{file}: {}", stderr(&out));
        let text = stdout(&out);
        let clean: Value = serde_json::from_str(&text).expect("the sanitised card is JSON");
        for hidden in ['\u{200B}', '\u{200C}', '\u{200D}', '\u{2060}', '\u{FEFF}'] {
            assert!(!text.contains(hidden), "{file}: {hidden:?} left in {text}");
        }
        assert!(!text.to_lowercase().contains("\\u200b"), "{file}: {text}");
        assert!(
            !text
                .chars()
                .any(|c| ('\u{E0000}'..='\u{E007F}').contains(&c)),
            "{file}: tag characters left"
        );
        // Free text is fenced; the findings went to stderr.
        let name = clean["name"].as_str().expect("name");
        assert!(name.starts_with("\u{27E6}card-text\u{27E7}"), "{name}");
        assert!(stderr(&out).contains("hidden_unicode"), "{}", stderr(&out));
    }
    // --json carries the sanitised card beside the findings.
    let path = corpus("hostile/hidden_unicode__zero_width_in_name.json");
    let out = card_cmd(&["lint", path_str(&path), "--sanitise", "--json"]).await;
    assert_eq!(out.status.code(), Some(0));
    let v = json_out(&out);
    assert!(
        !v["card"]["name"]
            .as_str()
            .expect("name")
            .contains('\u{200B}')
    );
    assert_eq!(v["worst"], "warning");
}

#[tokio::test]
async fn hostile_urls_are_refused_with_exit_3_naming_the_reason() {
    let dir = tempfile::tempdir().expect("tempdir");
    let jwks = jwks_file(dir.path(), "empty.jwks", &[]);
    let jwks = path_str(&jwks);
    for (url, reason) in [
        ("https://169.254.169.254/", "denied_address"),
        (
            "https://[::ffff:169.254.169.254]/agents/x",
            "denied_address",
        ),
        ("https://10.0.0.1/", "denied_address"),
        ("http://10.0.0.1:8080/", "scheme"),
        ("https://agent.example.com@127.0.0.1/", "userinfo"),
        ("https://metadata.google.internal/", "bad_host"),
        ("file:///etc/passwd", "scheme"),
    ] {
        for args in [
            vec!["fetch", url, "--insecure-unsigned-card"],
            vec!["fetch", url, "--jwks", jwks],
            vec!["verify", url, "--jwks", jwks],
            vec!["lint", url],
        ] {
            let out = card_cmd(&args).await;
            assert_eq!(out.status.code(), Some(3), "{args:?}: {}", stderr(&out));
            assert!(
                stderr(&out).contains(&format!("error [{reason}]")),
                "{args:?}: {}",
                stderr(&out)
            );
            let mut json_args = args.clone();
            json_args.push("--json");
            let out = card_cmd(&json_args).await;
            assert_eq!(out.status.code(), Some(3), "{args:?}");
            let v = json_out(&out);
            assert_eq!(
                (v["ok"].clone(), v["reason"].clone()),
                (json!(false), json!(reason))
            );
        }
    }
}

#[tokio::test]
async fn fetch_reads_a_card_from_a_running_gateway() {
    let w = up(&[]).await;
    let echo = format!("{}/agents/echo", w.gateway);
    // A loopback URL is trusted for its host, as `warden call` does.
    let out = card_cmd(&["fetch", &echo, "--insecure-unsigned-card"]).await;
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let card: Value = serde_json::from_str(&stdout(&out)).expect("the card");
    assert!(
        card["supportedInterfaces"][0]["url"]
            .as_str()
            .is_some_and(|u| u.starts_with(&echo)),
        "{card}"
    );
    // The gateway signs the cards it serves; without its keys the
    // signature cannot be checked here, and the card is let through only
    // because of --insecure-unsigned-card.
    assert!(stderr(&out).contains("not verified"), "{}", stderr(&out));
    // With the gateway's published keys it verifies.
    let jwks = crate::support::client()
        .get(format!("{}/.well-known/jwks.json", w.gateway))
        .send()
        .await
        .expect("jwks")
        .text()
        .await
        .expect("jwks body");
    let keys_dir = tempfile::tempdir().expect("tempdir");
    let keys = keys_dir.path().join("jwks.json");
    std::fs::write(&keys, jwks).expect("write jwks");
    let out = card_cmd(&["verify", &echo, "--jwks", &keys.display().to_string()]).await;
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));

    // The full well-known URL, --json, --out.
    let dir = tempfile::tempdir().expect("tempdir");
    let saved = dir.path().join("echo.json");
    let url = format!("{echo}/.well-known/agent-card.json");
    let out = card_cmd(&[
        "fetch",
        &url,
        "--insecure-unsigned-card",
        "--out",
        path_str(&saved),
        "--json",
    ])
    .await;
    assert_eq!(out.status.code(), Some(0), "{}", stdout(&out));
    let v = json_out(&out);
    assert_eq!(
        (v["ok"].clone(), v["verified"].clone()),
        (json!(true), json!(false))
    );
    assert_eq!(v["url"], url.as_str());
    let saved: Value =
        serde_json::from_str(&std::fs::read_to_string(&saved).expect("--out file")).expect("JSON");
    assert_eq!(saved, card);

    // Keys that are not the gateway's: refused (exit 1), the signature
    // naming a key not given.
    let jwks = jwks_file(dir.path(), "k.jwks", &[]);
    let out = card_cmd(&["fetch", &echo, "--jwks", path_str(&jwks), "--json"]).await;
    assert_eq!(out.status.code(), Some(1), "{}", stdout(&out));
    assert_eq!(json_out(&out)["reason"], "unknown_key");
    // No keys and no --insecure-unsigned-card: a usage error.
    let out = card_cmd(&["fetch", &echo]).await;
    assert_eq!(out.status.code(), Some(2), "{}", stderr(&out));
    // An agent the gateway does not have: unreadable input.
    let out = card_cmd(&[
        "fetch",
        &format!("{}/agents/nobody", w.gateway),
        "--insecure-unsigned-card",
    ])
    .await;
    assert_eq!(out.status.code(), Some(2), "{}", stderr(&out));
    assert!(stderr(&out).contains("[card_status]"), "{}", stderr(&out));
    // Lint over the same path: the demo card is fine at error level.
    let out = card_cmd(&["lint", &echo, "--json"]).await;
    assert_eq!(out.status.code(), Some(0), "{}", stdout(&out));

    // --insecure-local-egress lifts the rules, with a warning.
    let out = card_cmd(&[
        "fetch",
        &echo,
        "--insecure-unsigned-card",
        "--insecure-local-egress",
    ])
    .await;
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    assert!(
        stderr(&out).contains("--insecure-local-egress"),
        "{}",
        stderr(&out)
    );
}

/// Serves `card` at any path but `/jwks.json`, which serves `jwks`, one
/// request per connection, on `listener`.
fn serve_on(listener: TcpListener, card: String, jwks: String) {
    tokio::spawn(async move {
        while let Ok((mut sock, _)) = listener.accept().await {
            let (card, jwks) = (card.clone(), jwks.clone());
            tokio::spawn(async move {
                let mut buf = vec![0u8; 8192];
                let n = sock.read(&mut buf).await.unwrap_or(0);
                let head = String::from_utf8_lossy(&buf[..n]);
                let body = if head.starts_with("GET /jwks.json ") {
                    jwks
                } else {
                    card
                };
                let resp = format!(
                    "HTTP/1.1 200 OK\r\ncontent-type: application/json\r\ncontent-length: {}\r\nconnection: close\r\n\r\n{body}",
                    body.len()
                );
                let _ = sock.write_all(resp.as_bytes()).await;
                let _ = sock.shutdown().await;
            });
        }
    });
}

async fn loopback_listener() -> (TcpListener, String) {
    let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
    let base = format!("http://{}", listener.local_addr().expect("addr"));
    (listener, base)
}

async fn sign_to_stdout(
    card: &Path,
    key: &Path,
    alg: JwsAlg,
    kid: &str,
    jku: Option<&str>,
) -> String {
    let mut args = vec![
        "sign",
        path_str(card),
        "--key",
        path_str(key),
        "--alg",
        alg.as_str(),
        "--kid",
        kid,
    ];
    if let Some(jku) = jku {
        args.extend(["--jku", jku]);
    }
    let out = card_cmd(&args).await;
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    stdout(&out)
}

#[tokio::test]
async fn verify_and_fetch_a_signed_card_over_http_with_pinned_keys_or_an_allowed_jku() {
    let dir = tempfile::tempdir().expect("tempdir");
    let d = dir.path();
    let card_path = write(d, "card.json", &card().to_string());

    // Pinned keys, over a loopback URL (trusted for its host).
    let (key, key_path) = rust_key(JwsAlg::Es384, "served", d, true);
    let jwks = jwks_file(d, "k.jwks", &[key.public_jwk().to_json()]);
    let signed = sign_to_stdout(&card_path, &key_path, JwsAlg::Es384, "served", None).await;
    let (listener, base) = loopback_listener().await;
    serve_on(listener, signed.clone(), String::new());
    let out = card_cmd(&[
        "verify",
        &format!("{base}/agents/x"),
        "--jwks",
        path_str(&jwks),
        "--json",
    ])
    .await;
    assert_eq!(out.status.code(), Some(0), "{}", stdout(&out));
    assert_eq!(json_out(&out)["kid"], "served");
    let out = card_cmd(&["fetch", &base, "--jwks", path_str(&jwks)]).await;
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    assert_eq!(
        stdout(&out).trim_end(),
        signed.trim_end(),
        "printed as received"
    );
    assert!(
        stderr(&out).contains("verified: signature 0 verifies: kid served, alg ES384"),
        "{}",
        stderr(&out)
    );

    // Keys from the jku, followed only to an allowed host.
    let (jku_key, jku_key_path) = rust_key(JwsAlg::EdDsa, "from-jku", d, false);
    let (listener, base) = loopback_listener().await;
    let jku = format!("{base}/jwks.json");
    let jku_signed = sign_to_stdout(
        &card_path,
        &jku_key_path,
        JwsAlg::EdDsa,
        "from-jku",
        Some(&jku),
    )
    .await;
    let jku_jwks = json!({"keys": [jku_key.public_jwk().to_json()]}).to_string();
    serve_on(listener, jku_signed.clone(), jku_jwks);
    let card_url = format!("{base}/agents/x");
    let out = card_cmd(&[
        "verify",
        &card_url,
        "--allow-jku-host",
        "127.0.0.1",
        "--json",
    ])
    .await;
    assert_eq!(out.status.code(), Some(0), "{}", stdout(&out));
    let v = json_out(&out);
    assert_eq!(v["kid"], "from-jku");
    assert_eq!(v["jku"], jku.as_str());
    let out = card_cmd(&[
        "fetch",
        &card_url,
        "--allow-jku-host",
        "127.0.0.1",
        "--json",
    ])
    .await;
    assert_eq!(out.status.code(), Some(0), "{}", stdout(&out));
    assert_eq!(json_out(&out)["verified"], true);
    // A jku on a host that is not allowed is not followed: the key is
    // unknown (exit 1), and --insecure-unsigned-card prints the card unverified.
    let out = card_cmd(&[
        "verify",
        &card_url,
        "--allow-jku-host",
        "keys.example.com",
        "--json",
    ])
    .await;
    assert_eq!(out.status.code(), Some(1), "{}", stdout(&out));
    assert_eq!(json_out(&out)["reason"], "unknown_key");
    let out = card_cmd(&["fetch", &card_url, "--insecure-unsigned-card", "--json"]).await;
    assert_eq!(out.status.code(), Some(0), "{}", stdout(&out));
    assert_eq!(json_out(&out)["verified"], false);
    // A file gives no loopback trust: fetching its jku over plain http on
    // this machine is refused by the egress rules (exit 3).
    let file = write(d, "jku-signed.json", &jku_signed);
    let out = card_cmd(&[
        "verify",
        path_str(&file),
        "--allow-jku-host",
        "127.0.0.1",
        "--json",
    ])
    .await;
    assert_eq!(out.status.code(), Some(3), "{}", stdout(&out));
    assert_eq!(json_out(&out)["reason"], "scheme");
}
