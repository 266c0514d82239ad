use super::*;
use crate::cards::security::{SCHEME_MTLS, SCHEME_TOKEN};
use serde_json::json;

fn upstream() -> Value {
    json!({
        "name": "a", "description": "", "version": "1",
        "supportedInterfaces": [{"url": "http://10.0.0.5/", "protocolBinding": "JSONRPC", "protocolVersion": "1.0"}],
        "capabilities": {},
        "securitySchemes": {"theirs": {"mtlsSecurityScheme": {}}},
        "securityRequirements": [{"schemes": {"theirs": {"list": ["x"]}}}],
        "defaultInputModes": [], "defaultOutputModes": ["text/plain"],
        "skills": [{"id": "s1", "name": "S1", "description": "d", "tags": [],
            "securityRequirements": [{"schemes": {"theirs": {"list": ["s1"]}}}]}]
    })
}

fn verify(card: &Value, key: &warden_trust::SigningKey) {
    use warden_trust::card_signature::{CardVerifyPolicy, verify_card};
    let keys = warden_trust::KeySet::from_keys([key.public_jwk()]);
    let policy = CardVerifyPolicy::new(vec![key.alg()]);
    let v = verify_card(card.to_string().as_bytes(), &policy, &keys).expect("verifies");
    assert_eq!(v.form, warden_trust::card_signature::CanonicalForm::Rfc8785);
}

#[test]
fn served_cards_declare_wardens_schemes_only_and_are_signed() {
    let key = warden_trust::SigningKey::generate(warden_trust::JwsAlg::EdDsa).expect("key");
    let security = Security {
        token_url: Some("https://gw.example/oauth2/token".into()),
        api_keys: true,
        external_bearer: false,
        mtls: Some(true),
    };
    let out = signed(
        &upstream(),
        "https://gw.example/agents/a",
        &security,
        Some(&key),
        "https://gw.example/.well-known/jwks.json",
    )
    .expect("signed");
    verify(&out, &key);
    let text = out.to_string();
    assert!(
        !text.contains("theirs") && !text.contains("10.0.0.5"),
        "{text}"
    );
    assert!(
        out.get("description").is_none(),
        "empty values are stripped"
    );
    let schemes = out["securitySchemes"].as_object().expect("schemes");
    assert_eq!(schemes.len(), 3, "{text}");
    assert!(out.get("securityRequirements").is_none());
    let reqs = out["skills"][0]["securityRequirements"]
        .as_array()
        .expect("reqs");
    assert_eq!(
        reqs.len(),
        2,
        "a token or an API key, each with a certificate"
    );
    for r in reqs {
        let r = r["schemes"].as_object().expect("schemes");
        assert!(r.contains_key(SCHEME_MTLS));
        assert!(r.keys().all(|k| schemes.contains_key(k)), "{r:?}");
        assert!(r.values().all(|l| l["list"] == json!(["s1"])));
    }
    assert_eq!(
        out["securitySchemes"][SCHEME_TOKEN]["oauth2SecurityScheme"]["flows"]["clientCredentials"]
            ["scopes"],
        json!({"s1": "S1"})
    );
}

#[test]
fn with_authentication_off_no_scheme_is_declared() {
    let key = warden_trust::SigningKey::generate(warden_trust::JwsAlg::EdDsa).expect("key");
    let out = signed(
        &upstream(),
        "https://gw/agents/a",
        &Security::default(),
        Some(&key),
        "https://gw/j",
    )
    .expect("signed");
    verify(&out, &key);
    assert!(out.get("securitySchemes").is_none());
    assert!(out["skills"][0].get("securityRequirements").is_none());
    assert!(matches!(
        signed(
            &upstream(),
            "https://gw/agents/a",
            &Security::default(),
            None,
            "https://gw/j"
        ),
        Err(ServeError::NoKey)
    ));
}
