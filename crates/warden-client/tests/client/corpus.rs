//! The whole hostile-URL corpus through the card path: a correctly signed
//! card whose interface URL is each hostile URL in turn. The card verifies
//! (its signer is trusted), and the client still refuses to use the URL,
//! for the corpus's reason, without sending anything there.

use std::sync::{Arc, Mutex};

use warden_a2a::Binding;
use warden_client::{A2aClient, CardTrust, ClientError, TokenSource};
use warden_egress::corpus;
use warden_trust::KeySet;

use crate::support::{card, egress, key, signed};
use warden_test_support::http::{Reply, serve};

#[tokio::test]
async fn every_hostile_interface_url_in_a_signed_card_is_refused_for_its_reason() {
    let signer = key();
    let current = Arc::new(Mutex::new(serde_json::Value::Null));
    let served = current.clone();
    let server = serve(move |seen| {
        if seen.path == "/agents/weather/.well-known/agent-card.json" {
            Reply::json(200, &served.lock().expect("lock"))
        } else {
            Reply::json(
                500,
                &serde_json::json!({"error": "only the card is served"}),
            )
        }
    })
    .await;
    let client = A2aClient::new(egress(&["cards.test"]), TokenSource::Bearer("t".into()));
    let trust = CardTrust::pinned(KeySet::from_keys([signer.public_jwk()]));
    let base = format!("http://cards.test:{}/agents/weather", server.port());

    let hostile = corpus::hostile_urls();
    assert!(hostile.len() >= 60, "corpus has {} entries", hostile.len());
    let mut wrong = Vec::new();
    for (url, reason) in &hostile {
        *current.lock().expect("lock") = signed(card(url), &signer, None);
        let verified = match client.fetch_card(&base, &trust).await {
            Ok(v) => v,
            Err(e) => {
                wrong.push(format!("{url:?}: the card itself was refused: {e}"));
                continue;
            }
        };
        assert_eq!(verified.signed_by.as_deref(), Some(signer.kid()));
        for binding in [Binding::JsonRpc, Binding::Rest] {
            match client.interface(&verified, binding).await {
                Ok(i) => wrong.push(format!("{url:?}: ALLOWED ({:?})", i.admitted().addrs)),
                Err(e @ ClientError::InterfaceRefused { .. }) if e.reason() == *reason => {
                    assert!(e.is_refusal());
                }
                Err(e) => wrong.push(format!(
                    "{url:?}: refused as {} ({e}), expected {reason}",
                    e.reason()
                )),
            }
        }
    }
    assert!(
        wrong.is_empty(),
        "{} of {}:\n{}",
        wrong.len(),
        hostile.len(),
        wrong.join("\n")
    );
    // Only the cards were fetched: nothing went anywhere else.
    let hits = server.hits();
    assert_eq!(hits.len(), hostile.len());
    assert!(hits.iter().all(|h| h.method == "GET"
        && h.path.ends_with("/.well-known/agent-card.json")
        && h.header("a2a-version") == Some("1.0")
        && h.header("authorization").is_none()));
}

#[tokio::test]
async fn a_hostile_card_url_is_refused_before_anything_is_sent() {
    let client = A2aClient::new(egress(&[]), TokenSource::None);
    let trust = CardTrust::default();
    for (url, reason) in corpus::hostile_urls().into_iter().take(40) {
        let err = client
            .fetch_card(url, &trust)
            .await
            .expect_err("hostile base URL");
        assert_eq!(err.reason(), reason, "{url:?}: {err}");
    }
}
