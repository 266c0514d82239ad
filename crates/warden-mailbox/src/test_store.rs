//! For this crate's tests: an in-memory store with registry agents, each a
//! mailbox address.

use warden_store::{RegisteredAgent, Store};

/// An in-memory store where `ids` are registered agents.
pub(crate) async fn store_with(ids: &[&str]) -> Store {
    let store = Store::open_in_memory().await.expect("store");
    for id in ids {
        store
            .put_agent(&RegisteredAgent {
                id: (*id).into(),
                display_name: (*id).into(),
                jwks: None,
                jwks_url: None,
                grants: "{}".into(),
                created_at: "2026-01-01T00:00:00.000Z".into(),
                tls_subject: None,
            })
            .await
            .expect("register");
    }
    store
}
