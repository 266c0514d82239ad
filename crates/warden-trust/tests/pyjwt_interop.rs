//! Interop with PyJWT (cryptography backend), both ways, plus DPoP proofs
//! made by PyJWT. The Python side is `tests/interop/python/pyjwt_tool.py`,
//! run with the interop venv (`WARDEN_PYTHON`, else what
//! `tests/interop/python/setup.sh` prints last).

use std::io::Write as _;
use std::process::{Command, Stdio};
use std::time::{SystemTime, UNIX_EPOCH};

use serde_json::{Map, Value, json};
use warden_trust::dpop::DpopError;
use warden_trust::jws::sign_compact;
use warden_trust::{
    DpopPolicy, DpopRequest, IssuerPolicy, JwsAlg, KeySet, MemoryReplayCache, SigningKey,
    TokenError, verify_jwt, verify_proof,
};

const ISS: &str = "https://warden.example";
const AUD: &str = "agent-b";

use warden_test_support::interop::python;
use warden_test_support::repo_root;

/// Runs `pyjwt_tool.py ARGS` with `stdin`, returns its JSON output.
fn tool(args: &[&str], stdin: Option<&Value>) -> Value {
    let mut child = Command::new(python())
        .arg(repo_root().join("tests/interop/python/pyjwt_tool.py"))
        .args(args)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("start pyjwt_tool.py");
    {
        let mut input = child.stdin.take().expect("stdin");
        if let Some(v) = stdin {
            input
                .write_all(v.to_string().as_bytes())
                .expect("write stdin");
        }
    }
    let out = child.wait_with_output().expect("pyjwt_tool.py output");
    assert!(
        out.status.success(),
        "pyjwt_tool.py {args:?} failed: {}\n{}",
        String::from_utf8_lossy(&out.stderr),
        String::from_utf8_lossy(&out.stdout)
    );
    serde_json::from_slice(&out.stdout).expect("pyjwt_tool.py prints JSON")
}

fn now() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .expect("clock after 1970")
        .as_secs()
}

fn policy(alg: JwsAlg) -> IssuerPolicy {
    IssuerPolicy {
        issuer: ISS.into(),
        audiences: vec![AUD.into()],
        algorithms: vec![alg],
        typ: Some("at+jwt".into()),
        max_lifetime_secs: 600,
        leeway_secs: 30,
        max_token_bytes: 8 * 1024,
    }
}

#[test]
fn pyjwt_tokens_verify_at_warden() {
    let t = now();
    let out = tool(
        &["mint", "--iss", ISS, "--aud", AUD, "--now", &t.to_string()],
        None,
    );
    let keys = KeySet::from_jwks(&out["jwks"]).expect("PyJWT's JWKS is accepted");
    assert_eq!(keys.len(), 4);
    for (name, alg) in [
        ("ES256", JwsAlg::Es256),
        ("EdDSA", JwsAlg::EdDsa),
        ("RS256", JwsAlg::Rs256),
        ("PS256", JwsAlg::Ps256),
    ] {
        let token = out["tokens"][name].as_str().expect("token");
        let v = verify_jwt(token, &policy(alg), &keys, t)
            .unwrap_or_else(|e| panic!("PyJWT {name} token refused: {e:?}"));
        assert_eq!(v.alg, alg);
        assert_eq!(v.kid, format!("py-{}", name.to_ascii_lowercase()));
        assert_eq!(
            v.claims.sub.as_deref(),
            Some(format!("python-{}", name.to_ascii_lowercase()).as_str())
        );
        assert_eq!(v.claims.scope, ["skill.echo", "skill.sum"]);
        // The issuer's policy, not the token, picks the algorithm.
        let other = if alg == JwsAlg::Es256 {
            JwsAlg::EdDsa
        } else {
            JwsAlg::Es256
        };
        assert_eq!(
            verify_jwt(token, &policy(other), &keys, t).map(|_| ()),
            Err(TokenError::AlgorithmNotAllowed(name.into())),
            "{name}"
        );
        // Once expired (past leeway), refused.
        assert_eq!(
            verify_jwt(token, &policy(alg), &keys, t + 331).map(|_| ()),
            Err(TokenError::Expired),
            "{name}"
        );
    }
    // RS256 and PS256 share a key type; each key names its own alg, so an
    // RS256 key cannot verify a PS256 token even when both are allowed.
    let both = IssuerPolicy {
        algorithms: vec![JwsAlg::Rs256, JwsAlg::Ps256],
        ..policy(JwsAlg::Rs256)
    };
    let ps = out["tokens"]["PS256"].as_str().expect("PS256");
    let (head, rest) = ps.split_once('.').expect("jws");
    let swapped_head: Value =
        serde_json::from_slice(&warden_trust::b64url_decode(head).expect("b64")).expect("json");
    let mut swapped_head = swapped_head.as_object().expect("object").clone();
    swapped_head.insert("kid".into(), json!("py-rs256"));
    let relabelled = format!(
        "{}.{rest}",
        warden_trust::b64url_encode(Value::Object(swapped_head).to_string().as_bytes())
    );
    assert_eq!(
        verify_jwt(&relabelled, &both, &keys, t).map(|_| ()),
        Err(TokenError::BadSignature)
    );
}

#[test]
fn warden_tokens_and_jwks_verify_in_pyjwt() {
    let t = now();
    let ed = SigningKey::generate(JwsAlg::EdDsa).expect("EdDSA key");
    let es = SigningKey::generate(JwsAlg::Es256).expect("ES256 key");
    let jwks = KeySet::from_keys([ed.public_jwk(), es.public_jwk()]).to_jwks();
    let typ = Map::from_iter([("typ".to_string(), json!("at+jwt"))]);
    let claims = |sub: &str, aud: &str| {
        json!({
            "iss": ISS,
            "sub": sub,
            "aud": aud,
            "iat": t,
            "exp": t + 300,
            "jti": format!("{sub}-jti"),
            "scope": "skill.echo",
        })
        .to_string()
    };
    // An impostor key with the EdDSA key's kid.
    let impostor = SigningKey::from_pkcs8(
        JwsAlg::EdDsa,
        SigningKey::generate(JwsAlg::EdDsa).expect("key").pkcs8(),
        Some(ed.kid()),
    )
    .expect("impostor");
    let tokens = [
        sign_compact(&ed, &typ, claims("agent-ed", AUD).as_bytes()),
        sign_compact(&es, &typ, claims("agent-es", AUD).as_bytes()),
        sign_compact(&ed, &typ, claims("agent-x", "agent-c").as_bytes()),
        sign_compact(&impostor, &typ, claims("agent-y", AUD).as_bytes()),
    ];
    // Warden itself accepts the first two.
    let keys = KeySet::from_jwks(&jwks).expect("own JWKS");
    for (tok, alg) in tokens[..2].iter().zip([JwsAlg::EdDsa, JwsAlg::Es256]) {
        verify_jwt(tok, &policy(alg), &keys, t).expect("Warden verifies its own token");
    }
    let out = tool(
        &["verify", "--iss", ISS, "--aud", AUD, "--allow-failures"],
        Some(&json!({"jwks": jwks, "tokens": tokens})),
    );
    let results = out["results"].as_array().expect("results");
    assert_eq!(results.len(), 4);
    for (i, (sub, alg)) in [("agent-ed", "EdDSA"), ("agent-es", "ES256")]
        .iter()
        .enumerate()
    {
        assert_eq!(
            results[i]["ok"],
            json!(true),
            "PyJWT refused: {}",
            results[i]
        );
        assert_eq!(results[i]["alg"], json!(alg));
        assert_eq!(results[i]["claims"]["sub"], json!(sub));
        assert_eq!(results[i]["claims"]["aud"], json!(AUD));
    }
    let err = |i: usize| results[i]["error"].as_str().unwrap_or_default().to_string();
    assert_eq!(results[2]["ok"], json!(false));
    assert!(err(2).contains("InvalidAudience"), "{}", err(2));
    assert_eq!(results[3]["ok"], json!(false));
    assert!(err(3).contains("InvalidSignature"), "{}", err(3));
}

#[test]
fn pyjwt_dpop_proofs_verify_at_warden() {
    let t = now();
    let access_token = "eyJ.warden.token";
    let out = tool(
        &[
            "dpop",
            "--htm",
            "POST",
            "--htu",
            "https://gw.example/a2a/agent-b",
            "--now",
            &t.to_string(),
            "--access-token",
            access_token,
            "--nonce",
            "n-1",
        ],
        None,
    );
    let proofs = out["proofs"].as_array().expect("proofs");
    assert_eq!(proofs.len(), 3);
    let policy = DpopPolicy::default();
    let cache = MemoryReplayCache::new(64);
    let req = DpopRequest {
        method: "POST",
        url: "https://GW.example:443/a2a/agent-b?tenant=1",
        access_token: Some(access_token),
        nonce: Some("n-1"),
    };
    for p in proofs {
        let alg = p["alg"].as_str().expect("alg");
        let proof = p["proof"].as_str().expect("proof");
        // A wrong method or nonce is refused and does not use up the jti.
        let post_elsewhere = DpopRequest {
            method: "PUT",
            ..req
        };
        assert_eq!(
            verify_proof(proof, &post_elsewhere, &policy, &cache, t).map(|_| ()),
            Err(DpopError::WrongMethod),
            "{alg}"
        );
        let new_nonce = DpopRequest {
            nonce: Some("n-2"),
            ..req
        };
        let e = verify_proof(proof, &new_nonce, &policy, &cache, t).expect_err("nonce");
        assert!(e.is_use_nonce(), "{alg}: {e:?}");
        let v = verify_proof(proof, &req, &policy, &cache, t)
            .unwrap_or_else(|e| panic!("PyJWT {alg} proof refused: {e:?}"));
        assert_eq!(v.alg.as_str(), alg);
        // Warden's RFC 7638 thumbprint equals the one Python computed.
        assert_eq!(Some(v.jkt.as_str()), p["jkt"].as_str(), "{alg}");
        assert_eq!(
            verify_proof(proof, &req, &policy, &cache, t + 1).map(|_| ()),
            Err(DpopError::Replayed),
            "{alg}"
        );
    }
}
