//! Issuing within the grants, and the token Warden presents upstream.

use serde_json::json;
use warden_store::Store;
use warden_trust::seal::Kek;
use warden_trust::{IssuerPolicy, JwsAlg, verify_jwt};

use super::*;
use crate::grants::{NewGrant, add_grant, quarantine};

const ISSUER: &str = "https://warden.test";
const NOW: u64 = 1_000_000;

async fn authority() -> Authority {
    let store = Store::open_in_memory().await.expect("store");
    let kek = Kek::from_text(&Kek::generate_text().expect("kek")).expect("kek");
    let lifetimes = Lifetimes {
        token_ttl_secs: 300,
        leeway_secs: 30,
        key_rotation_secs: 86_400,
        keep_published_secs: 0,
    };
    let a = Authority::open(store, kek, ISSUER, lifetimes, NOW)
        .await
        .expect("authority");
    let planner = crate::registry::NewAgent {
        id: "planner".into(),
        grants: [(
            "echo".to_string(),
            vec!["echo".to_string(), "upper".to_string()],
        )]
        .into(),
        ..Default::default()
    };
    crate::registry::add_agent(&a.store, planner, false)
        .await
        .expect("add");
    a
}

fn verify(a: &Authority, token: &str, audience: &str) -> warden_trust::Claims {
    let policy = IssuerPolicy {
        issuer: ISSUER.into(),
        audiences: vec![audience.into()],
        algorithms: vec![JwsAlg::EdDsa],
        typ: Some("at+jwt".into()),
        max_lifetime_secs: 3600,
        leeway_secs: 0,
        max_token_bytes: 8 * 1024,
    };
    verify_jwt(token, &policy, &a.keys.token_keys(), NOW)
        .expect("verifies with the published token keys")
        .claims
}

#[tokio::test]
async fn opening_records_the_issuer() {
    let a = authority().await;
    assert_eq!(
        a.store
            .setting(ISSUER_SETTING)
            .await
            .expect("setting")
            .as_deref(),
        Some(ISSUER)
    );
    assert_eq!(a.issuer, ISSUER);
    assert_eq!((a.token_ttl_secs, a.leeway_secs), (300, 30));
}

#[tokio::test]
async fn tokens_carry_the_grants_or_what_was_asked_within_them() {
    let a = authority().await;
    let (minted, scopes) = a
        .issue("planner", "echo", &[], None, NOW)
        .await
        .expect("all");
    assert_eq!(scopes, ["echo", "upper"]);
    assert_eq!(minted.expires_at, NOW + 300);
    let claims = verify(&a, &minted.token, "echo");
    assert_eq!(claims.sub.as_deref(), Some("planner"));
    assert_eq!(claims.scope, ["echo", "upper"]);
    assert_eq!(claims.jti, minted.jti);
    assert_eq!(claims.all.get("client_id"), Some(&json!("planner")));

    let cnf = json!({"jkt": "0ZcOCORZNYy-DWpqq30jZyJGHTN0d2HglBV3uiguA4I"});
    let (minted, scopes) = a
        .issue("planner", "echo", &["upper".into()], Some(cnf.clone()), NOW)
        .await
        .expect("one");
    assert_eq!(scopes, ["upper"]);
    let claims = verify(&a, &minted.token, "echo");
    assert_eq!(claims.scope, ["upper"]);
    assert_eq!(claims.all.get("cnf"), Some(&cnf));
}

#[tokio::test]
async fn refusals_name_their_oauth_error() {
    let a = authority().await;
    let e = a
        .issue("nobody", "echo", &[], None, NOW)
        .await
        .expect_err("unknown");
    assert!(matches!(e, IssueError::UnknownClient), "{e:?}");
    assert_eq!(e.oauth_code(), "invalid_client");

    let e = a
        .issue("planner", "slow", &[], None, NOW)
        .await
        .expect_err("no grant");
    assert!(matches!(e, IssueError::NotGranted), "{e:?}");
    assert_eq!(e.oauth_code(), "invalid_target");

    let e = a
        .issue(
            "planner",
            "echo",
            &["echo".into(), "admin".into()],
            None,
            NOW,
        )
        .await
        .expect_err("beyond the grant");
    assert!(
        matches!(&e, IssueError::ScopeNotGranted(s) if s == "admin"),
        "{e:?}"
    );
    assert_eq!(e.oauth_code(), "invalid_scope");
    assert_eq!(
        e.to_string(),
        "scope \"admin\" is not granted to this client for that audience"
    );

    quarantine(&a.store, "planner", "compromised", "test")
        .await
        .expect("quarantine");
    let e = a
        .issue("planner", "echo", &[], None, NOW)
        .await
        .expect_err("quarantined");
    assert!(matches!(e, IssueError::Quarantined), "{e:?}");
    assert_eq!(e.oauth_code(), "unauthorized_client");
}

#[tokio::test]
async fn any_registry_agent_gets_a_mailbox_token_without_a_grant_and_without_scopes() {
    let a = authority().await;
    let quiet = crate::registry::NewAgent {
        id: "quiet".into(),
        ..Default::default()
    };
    crate::registry::add_agent(&a.store, quiet, false)
        .await
        .expect("add");
    let (minted, scopes) = a
        .issue("quiet", crate::MAILBOX_AUDIENCE, &[], None, NOW)
        .await
        .expect("a mailbox token needs no grant");
    assert!(scopes.is_empty());
    let claims = verify(&a, &minted.token, crate::MAILBOX_AUDIENCE);
    assert_eq!(claims.sub.as_deref(), Some("quiet"));
    assert!(claims.scope.is_empty());
    // Nothing beyond the mailbox: no call grant came with it.
    let e = a
        .issue("quiet", "echo", &[], None, NOW)
        .await
        .expect_err("no call grant");
    assert!(matches!(e, IssueError::NotGranted), "{e:?}");
    let e = a
        .issue(
            "quiet",
            crate::MAILBOX_AUDIENCE,
            &["echo".into()],
            None,
            NOW,
        )
        .await
        .expect_err("no scopes at the mailbox");
    assert!(matches!(e, IssueError::ScopeNotGranted(_)), "{e:?}");
    let e = a
        .issue("nobody", crate::MAILBOX_AUDIENCE, &[], None, NOW)
        .await
        .expect_err("registry agents only");
    assert!(matches!(e, IssueError::UnknownClient), "{e:?}");
    quarantine(&a.store, "quiet", "compromised", "test")
        .await
        .expect("quarantine");
    let e = a
        .issue("quiet", crate::MAILBOX_AUDIENCE, &[], None, NOW)
        .await
        .expect_err("quarantined");
    assert!(matches!(e, IssueError::Quarantined), "{e:?}");
    // The name is reserved: no agent can be registered as the audience.
    let taken = crate::registry::NewAgent {
        id: crate::MAILBOX_AUDIENCE.into(),
        ..Default::default()
    };
    assert!(
        crate::registry::add_agent(&a.store, taken, false)
            .await
            .is_err()
    );
}

#[tokio::test]
async fn a_wildcard_grant_allows_any_requested_skill() {
    let a = authority().await;
    add_grant(
        &a.store,
        NewGrant::simple("planner", "slow", vec![warden_policy::ANY_SKILL.into()]),
    )
    .await
    .expect("grant");
    let (_, scopes) = a
        .issue("planner", "slow", &["anything".into()], None, NOW)
        .await
        .expect("any skill");
    assert_eq!(scopes, ["anything"]);
}

#[tokio::test]
async fn upstream_tokens_are_warden_s_own_and_name_the_caller() {
    let a = authority().await;
    let scopes = vec!["echo".to_string()];
    let own = Actor {
        subject: "planner",
        issuer: ISSUER,
        scopes: &scopes,
    };
    let token = a.upstream_token("echo", own, NOW).expect("token");
    let claims = verify(&a, &token, "echo");
    assert_eq!(claims.sub.as_deref(), Some(GATEWAY_SUBJECT));
    assert_eq!(claims.exp, NOW + UPSTREAM_TOKEN_TTL_SECS);
    assert_eq!(claims.scope, ["echo"]);
    assert_eq!(claims.all.get("act"), Some(&json!({"sub": "planner"})));

    let foreign = Actor {
        issuer: "https://idp.example",
        ..own
    };
    let token = a.upstream_token("echo", foreign, NOW).expect("token");
    assert_eq!(
        verify(&a, &token, "echo").all.get("act"),
        Some(&json!({"sub": "planner", "iss": "https://idp.example"}))
    );
}

#[tokio::test]
async fn a_retired_token_key_stays_published_as_long_as_what_it_signed_is_kept() {
    // Rotation every 100 s; tokens need a retired key for 300 + 30 s and a
    // day more. Kept things (mailbox messages) may ask for longer.
    let at = |keep: u64| async move {
        let store = Store::open_in_memory().await.expect("store");
        let kek = Kek::from_text(&Kek::generate_text().expect("kek")).expect("kek");
        let lifetimes = Lifetimes {
            token_ttl_secs: 300,
            leeway_secs: 30,
            key_rotation_secs: 100,
            keep_published_secs: keep,
        };
        let a = Authority::open(store, kek, ISSUER, lifetimes, NOW)
            .await
            .expect("authority");
        let first = a.keys.signing_key().expect("key").kid().to_string();
        // Past the rotation: a successor signs.
        a.keys.refresh(NOW + 150).await.expect("rotate");
        assert_ne!(a.keys.signing_key().expect("key").kid(), first);
        // Two days after the retirement: past what tokens need.
        a.keys
            .refresh(NOW + 100 + 2 * 86_400)
            .await
            .expect("reload");
        a.keys.token_keys().get(&first).is_some()
    };
    assert!(!at(0).await, "tokens alone: unpublished after a day");
    assert!(at(30 * 86_400).await, "kept 30 days: still published");
}
