//! Sealed mail end to end (issue 16): a recipient makes a key pair and
//! publishes its public half with `warden mail key`, a granted sender seals
//! with `warden mail send --seal` (the CLI fetches the recipient's key from
//! the gateway), Warden stores only ciphertext — the test reads the SQLite
//! files themselves and finds no plaintext — and the recipient opens the
//! message with `warden mail read --key`. After a rotation, an old message
//! still opens with the kept old key.

use std::path::Path;

use serde_json::Value;

use crate::support::{Running, up, warden};

/// `warden mail ARGS --data-dir D --as WHO --json`: success and the last
/// JSON line printed.
async fn mail(w: &Running, who: &str, args: &[&str]) -> (bool, Value, String) {
    let out = warden()
        .arg("mail")
        .args(args)
        .args(&w.instance)
        .args(["--as", who, "--gateway", &w.gateway, "--json"])
        .output()
        .await
        .expect("run warden mail");
    let text = String::from_utf8_lossy(&out.stdout).to_string();
    let last = text.lines().last().unwrap_or("null");
    let v = serde_json::from_str(last).unwrap_or(Value::Null);
    let stderr = String::from_utf8_lossy(&out.stderr).to_string();
    (out.status.success(), v, format!("{text}\n{stderr}"))
}

async fn ok(w: &Running, who: &str, args: &[&str]) -> Value {
    let (success, v, out) = mail(w, who, args).await;
    assert!(success, "warden mail {args:?} as {who}: {out}");
    v
}

/// Every byte Warden's SQLite store holds (the database and its WAL).
fn store_bytes(dir: &Path) -> Vec<u8> {
    let mut all = Vec::new();
    for name in ["warden.db", "warden.db-wal"] {
        if let Ok(b) = std::fs::read(dir.join(name)) {
            all.extend(b);
        }
    }
    assert!(!all.is_empty(), "no SQLite files in {}", dir.display());
    all
}

fn contains(hay: &[u8], needle: &str) -> bool {
    hay.windows(needle.len()).any(|w| w == needle.as_bytes())
}

fn sealed_of(v: &Value) -> String {
    let m = v.get("message").unwrap_or(v);
    m["sealed"]
        .as_str()
        .unwrap_or_else(|| panic!("no sealed in {v}"))
        .to_string()
}

fn id_of(v: &Value) -> String {
    let m = v.get("message").unwrap_or(v);
    m["id"]
        .as_str()
        .unwrap_or_else(|| panic!("no id in {v}"))
        .to_string()
}

fn text_of(v: &Value) -> String {
    let m = v.get("message").unwrap_or(v);
    m["parts"][0]["text"]
        .as_str()
        .unwrap_or_else(|| panic!("no text part in {v}"))
        .to_string()
}

#[tokio::test]
async fn a_sealed_message_is_stored_as_ciphertext_only_and_opens_with_the_recipient_key() {
    let w = up(&[]).await;
    for agent in ["alice", "bob"] {
        w.cli(&["registry", "add", agent]).await;
    }
    ok(&w, "alice", &["grant", "bob"]).await;
    // Before alice publishes a key, --seal has nothing to seal to: refused,
    // and nothing is sent in the clear instead.
    let (sent, _, out) = mail(
        &w,
        "bob",
        &["send", "--to", "alice", "--text", "early", "--seal"],
    )
    .await;
    assert!(!sent, "sealed without a key: {out}");
    assert!(out.contains("published no sealing key"), "{out}");
    let inbox = ok(&w, "alice", &["inbox"]).await;
    assert_eq!(
        inbox["messages"].as_array().map(Vec::len),
        Some(0),
        "{inbox}"
    );

    // Alice's key pair: the private JWK stays in her file.
    let keys = tempfile::tempdir().expect("tempdir");
    let old_key = keys.path().join("alice-1.jwk");
    let old_key_s = old_key.to_str().expect("utf-8 path");
    ok(&w, "alice", &["key", "gen", "--out", old_key_s]).await;
    ok(&w, "alice", &["key", "publish", old_key_s]).await;

    const SECRET: &str = "the vault code is 7-4-1-XYZZY";
    let sent = ok(
        &w,
        "bob",
        &["send", "--to", "alice", "--text", SECRET, "--seal"],
    )
    .await;
    let id = id_of(&sent);
    let sealed = sealed_of(&sent);
    assert_eq!(sealed.split('.').count(), 5, "a JWE compact serialization");

    // What Warden holds: the JWE, never the text.
    let db = store_bytes(&w.data_dir());
    assert!(!contains(&db, SECRET), "plaintext found in the store");
    assert!(
        !contains(&db, "XYZZY"),
        "part of the plaintext found in the store"
    );
    assert!(
        contains(&db, &sealed[..60]),
        "the sealed form is what is stored"
    );

    // Without her key the message is only ciphertext; with it, the text.
    let plain = ok(&w, "alice", &["read", &id]).await;
    assert_eq!(sealed_of(&plain), sealed);
    let opened = ok(&w, "alice", &["read", &id, "--key", old_key_s]).await;
    assert_eq!(text_of(&opened), SECRET);

    // Rotation: a new key published; the old message still names the old
    // kid and opens only with the kept old key.
    let new_key = keys.path().join("alice-2.jwk");
    let new_key_s = new_key.to_str().expect("utf-8 path");
    ok(&w, "alice", &["key", "gen", "--out", new_key_s]).await;
    ok(&w, "alice", &["key", "publish", new_key_s]).await;
    let second = ok(
        &w,
        "bob",
        &[
            "send",
            "--to",
            "alice",
            "--text",
            "after rotation",
            "--seal",
        ],
    )
    .await;
    let (opened_with_new_only, _, out) =
        mail(&w, "alice", &["read", &id, "--key", new_key_s]).await;
    assert!(
        !opened_with_new_only,
        "an old message opened with the new key only: {out}"
    );
    let both = ["read", &id, "--key", new_key_s, "--key", old_key_s];
    assert_eq!(text_of(&ok(&w, "alice", &both).await), SECRET);
    let second_id = id_of(&second);
    let both = ["read", &second_id, "--key", new_key_s, "--key", old_key_s];
    assert_eq!(text_of(&ok(&w, "alice", &both).await), "after rotation");
    assert!(!contains(&store_bytes(&w.data_dir()), "after rotation"));
}
