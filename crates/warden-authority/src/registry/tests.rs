//! The registry and API keys on an in-memory store.

use serde_json::{Value, json};
use warden_store::Store;

use super::*;
use crate::Grants;

async fn store() -> Store {
    Store::open_in_memory().await.expect("store")
}

fn grants(pairs: &[(&str, &[&str])]) -> Grants {
    pairs
        .iter()
        .map(|(t, s)| {
            (
                (*t).to_string(),
                s.iter().map(|s| (*s).to_string()).collect(),
            )
        })
        .collect()
}

fn agent(id: &str) -> NewAgent {
    NewAgent {
        id: id.into(),
        grants: grants(&[("echo", &["echo"])]),
        ..NewAgent::default()
    }
}

/// A public EC key (P-256) as a JWK, from a fresh key pair.
fn public_jwk(kid: &str) -> Value {
    let key = warden_trust::SigningKey::generate(warden_trust::JwsAlg::Es256).expect("key");
    let mut jwk = key.public_jwk().to_json();
    jwk["kid"] = json!(kid);
    jwk
}

#[test]
fn grants_parse_merge_and_refuse_bad_shapes() {
    let g = parse_grants(&[
        "echo=echo, echo-upper".into(),
        "slow=slow".into(),
        "echo=echo,extra".into(),
    ])
    .expect("grants");
    assert_eq!(
        g,
        grants(&[
            ("echo", &["echo", "echo-upper", "extra"]),
            ("slow", &["slow"])
        ])
    );
    for bad in ["echo", "=echo", "echo=", "echo=,", "ec ho=x", "echo=a b"] {
        assert!(
            matches!(parse_grants(&[bad.into()]), Err(RegistryError::Invalid(_))),
            "{bad}"
        );
    }
    assert!(parse_grants(&[]).expect("none").is_empty());
    assert!(matches!(
        check_grants(grants(&[("echo", &[])])),
        Err(RegistryError::Invalid(_))
    ));
}

#[test]
fn jwks_must_hold_a_usable_public_key() {
    let good = json!({"keys": [public_jwk("k1")]});
    assert!(check_jwks(&good).is_ok());
    let mut no_kid = public_jwk("k1");
    no_kid.as_object_mut().expect("object").remove("kid");
    let mut private = public_jwk("k1");
    private["d"] = json!("c2VjcmV0");
    for (bad, what) in [
        (json!({}), "no keys array"),
        (json!({"keys": []}), "empty"),
        (json!({"keys": [no_kid]}), "no kid"),
        (
            json!({"keys": [{"kty": "oct", "kid": "s", "k": "c2VjcmV0"}]}),
            "symmetric",
        ),
        (json!({"keys": [private]}), "private member"),
        (
            json!({"keys": [public_jwk("a"), public_jwk("a")]}),
            "duplicate kid",
        ),
    ] {
        assert!(
            matches!(check_jwks(&bad), Err(RegistryError::Invalid(_))),
            "{what}"
        );
    }
}

#[test]
fn jwks_files_are_read_strictly_and_named_in_errors() {
    let dir = tempfile::tempdir().expect("dir");
    let path = dir.path().join("k.json");
    std::fs::write(&path, json!({"keys": [public_jwk("k1")]}).to_string()).expect("write");
    assert!(read_jwks_file(&path).is_ok());
    std::fs::write(&path, r#"{"keys": [], "keys": []}"#).expect("write");
    let e = read_jwks_file(&path).expect_err("duplicate key");
    assert!(e.to_string().contains("k.json"), "{e}");
    let e = read_jwks_file(&dir.path().join("missing.json")).expect_err("missing");
    assert!(e.to_string().contains("missing.json"), "{e}");
}

#[tokio::test]
async fn agents_are_added_replaced_only_when_asked_listed_and_removed() {
    let s = store().await;
    let (a, created) = add_agent(&s, agent("planner"), false).await.expect("add");
    assert!(created);
    assert_eq!(a.display_name, "planner");
    let granted = crate::grants::summary(&s, "planner", 0)
        .await
        .expect("grants");
    assert_eq!(granted.get("echo"), Some(&vec!["echo".to_string()]));
    let again = add_agent(&s, agent("planner"), false).await;
    assert!(
        matches!(again, Err(RegistryError::Conflict(_))),
        "{again:?}"
    );
    let mut renamed = agent("planner");
    renamed.display_name = Some("Trip planner".into());
    renamed.jwks = Some(json!({"keys": [public_jwk("k1")]}));
    let (b, created) = add_agent(&s, renamed, true).await.expect("replace");
    assert!(!created);
    assert_eq!(b.display_name, "Trip planner");
    assert_eq!(b.created_at, a.created_at, "creation time kept");
    assert!(b.jwks.is_some());
    assert_eq!(get_agent(&s, "planner").await.expect("get"), b);
    assert_eq!(list_agents(&s).await.expect("list").len(), 1);
    for bad in [
        "",
        "has space",
        "tab\there",
        &"x".repeat(MAX_NAME_BYTES + 1),
    ] {
        assert!(
            matches!(
                add_agent(&s, agent(bad), true).await,
                Err(RegistryError::Invalid(_))
            ),
            "{bad:?}"
        );
    }
    let mut bad_jwks = agent("other");
    bad_jwks.jwks = Some(json!({"keys": []}));
    assert!(matches!(
        add_agent(&s, bad_jwks, false).await,
        Err(RegistryError::Invalid(_))
    ));
    assert!(
        s.agent("other").await.expect("get").is_none(),
        "nothing stored"
    );
    let k = create_key(&s, "planner", None).await.expect("key");
    remove_agent(&s, "planner").await.expect("remove");
    assert!(matches!(
        get_agent(&s, "planner").await,
        Err(RegistryError::NotFound(_))
    ));
    assert!(
        matches!(
            get_key(&s, &k.record.id).await,
            Err(RegistryError::NotFound(_))
        ),
        "keys go with their agent"
    );
    assert!(matches!(
        remove_agent(&s, "planner").await,
        Err(RegistryError::NotFound(_))
    ));
}

#[tokio::test]
async fn keys_are_created_once_revoked_once_and_never_stored_in_the_clear() {
    let s = store().await;
    assert!(matches!(
        create_key(&s, "nobody", None).await,
        Err(RegistryError::NotFound(_))
    ));
    add_agent(&s, agent("planner"), false).await.expect("add");
    let k = create_key(&s, "planner", None).await.expect("key");
    let (id, secret) = warden_trust::apikey::split(&k.key).expect("shape");
    assert_eq!(id, k.record.id);
    let stored = get_key(&s, id).await.expect("stored");
    assert!(warden_trust::apikey::matches(secret, &stored.hash));
    assert!(
        !stored
            .hash
            .windows(secret.len())
            .any(|w| w == secret.as_bytes())
    );
    assert_eq!(KeyState::of(&stored, 0), KeyState::Active);
    assert_eq!(list_keys(&s, Some("planner")).await.expect("list").len(), 1);
    assert!(list_keys(&s, Some("other")).await.expect("list").is_empty());

    let revoked = revoke_key(&s, id).await.expect("revoke");
    assert!(revoked.revoked_at.is_some());
    assert_eq!(KeyState::of(&revoked, 0), KeyState::Revoked);
    assert!(matches!(
        revoke_key(&s, id).await,
        Err(RegistryError::Conflict(_))
    ));
    assert!(matches!(
        revoke_key(&s, "0000000000000000").await,
        Err(RegistryError::NotFound(_))
    ));
}

#[tokio::test]
async fn rotation_overlaps_and_never_revives_or_extends_a_key() {
    let s = store().await;
    add_agent(&s, agent("planner"), false).await.expect("add");
    let now = 1_000_000;
    let old = create_key(&s, "planner", None).await.expect("key");
    let r = rotate_key(&s, &old.record.id, 3600, now)
        .await
        .expect("rotate");
    assert_eq!(r.new.record.subject, "planner");
    assert_ne!(r.new.record.id, old.record.id);
    assert_eq!(r.old.expires_at, Some(1_003_600));
    assert_eq!(KeyState::of(&r.old, now), KeyState::Expiring);
    assert_eq!(KeyState::of(&r.old, 1_003_600), KeyState::Expired);
    // Rotated again with a longer overlap: the earlier expiry stands.
    let r2 = rotate_key(&s, &old.record.id, 86_400, now)
        .await
        .expect("again");
    assert_eq!(r2.old.expires_at, Some(1_003_600));
    // Expired and revoked keys are not rotated (that would revive them).
    assert!(matches!(
        rotate_key(&s, &old.record.id, 60, 1_003_600).await,
        Err(RegistryError::Conflict(_))
    ));
    revoke_key(&s, &r.new.record.id).await.expect("revoke");
    assert!(matches!(
        rotate_key(&s, &r.new.record.id, 60, now).await,
        Err(RegistryError::Conflict(_))
    ));
    assert!(matches!(
        rotate_key(&s, "0000000000000000", 60, now).await,
        Err(RegistryError::NotFound(_))
    ));
    assert!(matches!(
        rotate_key(&s, &r2.new.record.id, MAX_OVERLAP_SECS + 1, now).await,
        Err(RegistryError::Invalid(_))
    ));
}

#[test]
fn the_gateway_subject_is_reserved() {
    assert!(check_name("agent id", "warden").is_err());
    assert!(check_name("agent id", "warden-client").is_ok());
    assert!(check_name("grant target", "warden").is_ok());
}
