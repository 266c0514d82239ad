//! Shared pieces: an egress that reaches the scripted server under test
//! names, a hand-driven clock, and signed cards.

use std::net::IpAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use serde_json::{Value, json};
use warden_client::Clock;
use warden_egress::{Egress, EgressPolicy, Host, Rules, StaticResolver, corpus};
use warden_trust::card_signature::{CardSigningOptions, add_card_signature};
use warden_trust::{JwsAlg, SigningKey};

/// Default rules and the corpus's DNS table; `local` names answer
/// 127.0.0.1 and are trusted (as an operator trusts its own agents), so
/// plain http on any port reaches the scripted server there. Every other
/// name and address gets the full rules.
pub fn egress(local: &[&str]) -> Egress {
    let mut resolve = corpus::answers();
    let loopback: IpAddr = "127.0.0.1".parse().expect("ip");
    for name in local {
        resolve.insert((*name).to_string(), vec![loopback]);
    }
    let rules = Rules::new(EgressPolicy {
        resolve,
        ..EgressPolicy::default()
    })
    .expect("rules")
    .trusting(local.iter().map(|n| Host::Name((*n).to_string())));
    Egress::with(rules, Arc::new(StaticResolver::default()), None).expect("egress")
}

/// A clock the test moves.
#[derive(Debug, Default)]
pub struct ManualClock(pub AtomicU64);

impl ManualClock {
    pub fn at(now: u64) -> Arc<Self> {
        Arc::new(Self(AtomicU64::new(now)))
    }

    pub fn advance(&self, secs: u64) {
        self.0.fetch_add(secs, Ordering::SeqCst);
    }
}

impl Clock for ManualClock {
    fn now_unix(&self) -> u64 {
        self.0.load(Ordering::SeqCst)
    }
}

/// A small valid card whose JSON-RPC and REST interfaces are at `url`
/// (with a tenant on the REST one).
pub fn card(url: &str) -> Value {
    json!({
        "name": "weather",
        "description": "forecasts",
        "version": "1",
        "supportedInterfaces": [
            {"url": url, "protocolBinding": "JSONRPC", "protocolVersion": "1.0"},
            {"url": url, "protocolBinding": "HTTP+JSON", "protocolVersion": "1.0", "tenant": "t1"}
        ],
        "capabilities": {"streaming": true},
        "defaultInputModes": ["text/plain"],
        "defaultOutputModes": ["text/plain"],
        "skills": [{"id": "f", "name": "f", "description": "f", "tags": ["w"]}]
    })
}

pub fn key() -> SigningKey {
    SigningKey::generate(JwsAlg::Es256).expect("key")
}

/// `card` with a signature by `key` (naming `jku`, if given).
pub fn signed(mut card: Value, key: &SigningKey, jku: Option<&str>) -> Value {
    let options = CardSigningOptions {
        jku: jku.map(str::to_owned),
        ..CardSigningOptions::default()
    };
    add_card_signature(&mut card, key, &options).expect("sign");
    card
}

pub fn user_message(text: &str) -> Value {
    json!({"role": "ROLE_USER", "messageId": "m-1", "parts": [{"text": text}]})
}
