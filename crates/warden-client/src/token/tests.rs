//! Reading token answers and keeping secrets out of debug output. The
//! endpoint exchanges themselves are in `tests/client/tokens.rs`.

use serde_json::json;

use super::{DpopKey, TokenSource, read_token};

const NOW: u64 = 1_000;

#[test]
fn a_token_is_refreshed_shortly_before_it_expires() {
    let t = read_token(
        &json!({"access_token": "a", "token_type": "Bearer", "expires_in": 300}),
        false,
        NOW,
    )
    .expect("token");
    assert_eq!(t.refresh_at, Some(NOW + 270));
    assert!(!t.dpop);
    // Short-lived: a quarter of the lifetime.
    let t = read_token(
        &json!({"access_token": "a", "token_type": "bearer", "expires_in": 20}),
        false,
        NOW,
    )
    .expect("token");
    assert_eq!(t.refresh_at, Some(NOW + 15));
    // An absurd lifetime does not overflow.
    let t = read_token(
        &json!({"access_token": "a", "token_type": "Bearer", "expires_in": u64::MAX}),
        false,
        NOW,
    )
    .expect("token");
    assert_eq!(t.refresh_at, Some(u64::MAX));
    // No lifetime: used once.
    let t = read_token(
        &json!({"access_token": "a", "token_type": "Bearer"}),
        false,
        NOW,
    )
    .expect("token");
    assert_eq!(t.refresh_at, None);
}

#[test]
fn token_type_must_match_what_was_asked_for() {
    let bound = json!({"access_token": "a", "token_type": "DPoP", "expires_in": 60});
    let bearer = json!({"access_token": "a", "token_type": "Bearer", "expires_in": 60});
    assert!(read_token(&bound, true, NOW).expect("dpop").dpop);
    assert_eq!(
        read_token(&bearer, true, NOW).err().map(|e| e.reason()),
        Some("dpop"),
        "a DPoP request answered with a bearer token"
    );
    assert!(read_token(&bound, false, NOW).is_err());
    for bad in [
        json!({"token_type": "Bearer"}),
        json!({"access_token": "", "token_type": "Bearer"}),
        json!({"access_token": "a", "token_type": "mac"}),
        json!({"access_token": "a"}),
    ] {
        assert_eq!(
            read_token(&bad, false, NOW).err().map(|e| e.reason()),
            Some("token_answer"),
            "{bad}"
        );
    }
}

#[test]
fn debug_output_never_shows_secrets() {
    let sources = [
        TokenSource::Bearer("s3cret-token".into()),
        TokenSource::ApiKey("s3cret-key".into()),
        TokenSource::ClientCredentials {
            token_url: "https://gw.example/oauth2/token".into(),
            client_id: Some("me".into()),
            client_secret: "s3cret-client".into(),
            audience: "echo".into(),
            scope: None,
            dpop: Some(DpopKey::ephemeral().expect("key")),
        },
    ];
    for s in &sources {
        let text = format!("{s:?}");
        assert!(!text.contains("s3cret"), "{text}");
    }
}
