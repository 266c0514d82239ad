//! Sealing interop with a JOSE library Warden did not write: jwcrypto
//! (PyPI, pinned in tests/interop/python/requirements.txt), driven through
//! `tests/interop/python/mail_seal.py`. Both directions, and keys made on
//! either side.

use std::io::Write as _;
use std::process::{Command, Stdio};

use serde_json::{Value, json};
use warden_mailbox::seal::{self, PublicJwk, RecipientKey, SealError};
use warden_test_support::interop::python;
use warden_test_support::repo_root;

/// Runs `mail_seal.py COMMAND` with `input`; its JSON answer and whether it
/// succeeded (exit 0) or refused (exit 1).
fn jwcrypto(command: &str, input: &Value) -> (Value, bool) {
    let mut child = Command::new(python())
        .arg(repo_root().join("tests/interop/python/mail_seal.py"))
        .arg(command)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("start mail_seal.py");
    child
        .stdin
        .take()
        .expect("stdin")
        .write_all(input.to_string().as_bytes())
        .expect("write stdin");
    let out = child.wait_with_output().expect("mail_seal.py output");
    let code = out.status.code().unwrap_or(-1);
    assert!(
        code == 0 || code == 1,
        "mail_seal.py {command} failed ({code}): {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let value = serde_json::from_slice(&out.stdout).expect("mail_seal.py prints JSON");
    (value, code == 0)
}

const PARTS: &str = r#"[{"text":"the build is green"},{"data":{"run":42}}]"#;

#[test]
fn jwcrypto_opens_what_warden_sealed() {
    let bob = RecipientKey::generate().expect("key");
    let private = bob.to_private_json().expect("export");
    let sealed = seal::seal(bob.public(), PARTS.as_bytes()).expect("seal");
    let (out, ok) = jwcrypto("open", &json!({"jwk": private, "compact": sealed}));
    assert!(ok, "jwcrypto refused: {out}");
    assert_eq!(out["plaintext"], PARTS);
    assert_eq!(out["header"]["kid"], bob.kid());

    // jwcrypto authenticates the header too: one changed tag byte is refused.
    let mut tampered = sealed.clone();
    let last = tampered.pop().expect("non-empty");
    tampered.push(if last == 'A' { 'Q' } else { 'A' });
    let (out, ok) = jwcrypto("open", &json!({"jwk": private, "compact": tampered}));
    assert!(!ok, "jwcrypto opened a tampered message: {out}");
}

#[test]
fn warden_opens_what_jwcrypto_sealed() {
    let bob = RecipientKey::generate().expect("key");
    let (out, ok) = jwcrypto(
        "seal",
        &json!({"jwk": bob.public().to_json(), "plaintext": PARTS}),
    );
    assert!(ok, "jwcrypto could not seal: {out}");
    let compact = out["compact"].as_str().expect("compact");
    // What the mailbox would check on send, then what the recipient opens.
    let info = seal::check_sealed(compact, 64 * 1024).expect("well-formed");
    assert_eq!(info.kid, bob.kid());
    assert_eq!(bob.open(compact).expect("opens"), PARTS.as_bytes());
}

#[test]
fn keys_made_by_jwcrypto_work_both_ways() {
    let (pair, ok) = jwcrypto("keygen", &json!({}));
    assert!(ok, "{pair}");
    // The public half is what a Python recipient would publish.
    let public = PublicJwk::parse(&pair["public"]).expect("jwcrypto's public JWK is accepted");
    assert_eq!(public.kid(), pair["public"]["kid"]);
    let sealed = public.seal(PARTS.as_bytes()).expect("seal");
    let (out, ok) = jwcrypto("open", &json!({"jwk": pair["private"], "compact": sealed}));
    assert!(ok, "{out}");
    assert_eq!(out["plaintext"], PARTS);

    // And its private half opens in Rust what jwcrypto sealed to it.
    let key = RecipientKey::parse(&pair["private"]).expect("jwcrypto's private JWK is read");
    let (out, ok) = jwcrypto("seal", &json!({"jwk": pair["public"], "plaintext": "x"}));
    assert!(ok, "{out}");
    let compact = out["compact"].as_str().expect("compact");
    assert_eq!(key.open(compact).expect("opens"), b"x");

    // A message jwcrypto sealed to another key names that key.
    let other = RecipientKey::generate().expect("key");
    assert!(matches!(
        other.open(compact),
        Err(SealError::OtherKey { kid }) if kid == key.kid()
    ));
}
