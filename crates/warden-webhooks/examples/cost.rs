//! What signing and verifying one notification costs, on this machine:
//! `cargo run --release -p warden-webhooks --example cost [N]` signs N
//! notifications (a 1 KiB body; v1 with one secret, v1a, the JWT), then
//! verifies them with the secret alone and with the keys (JWT + v1a +
//! replay cache), and prints the time per notification of each.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::time::Instant;

use warden_trust::{JwsAlg, KeySet, SigningKey};
use warden_webhooks::{Notification, Signer, SubscriptionSecret, Verifier};

fn main() {
    let n: usize = std::env::args()
        .nth(1)
        .and_then(|a| a.parse().ok())
        .unwrap_or(20_000);
    let key = SigningKey::generate(JwsAlg::EdDsa).unwrap();
    let key = SigningKey::from_pkcs8(JwsAlg::EdDsa, key.pkcs8(), Some("webhook-cost")).unwrap();
    let secret = SubscriptionSecret::generate().unwrap();
    let url = "https://hooks.example.com/a2a";
    let body = vec![b'x'; 1024];
    let ids: Vec<String> = (0..n).map(|i| format!("msg_{i}")).collect();
    let signer = Signer::new("https://warden.example.com");
    let now = 1_800_000_000;

    let start = Instant::now();
    let signed: Vec<_> = ids
        .iter()
        .map(|id| {
            let note = Notification {
                id,
                body: &body,
                url,
                task_id: "t-1",
            };
            signer
                .sign(&note, std::slice::from_ref(&secret), &key, now)
                .unwrap()
        })
        .collect();
    let sign = start.elapsed();

    let by_secret = Verifier::builder().secret(secret).build().unwrap();
    let start = Instant::now();
    for h in &signed {
        by_secret
            .verify(h.iter().map(|(k, v)| (*k, v.as_bytes())), &body, now)
            .unwrap();
    }
    let secret_time = start.elapsed();

    let by_keys = Verifier::builder()
        .keys(KeySet::from_keys([key.public_jwk()]))
        .receiver_url(url)
        .build()
        .unwrap();
    let start = Instant::now();
    for h in &signed {
        by_keys
            .verify(h.iter().map(|(k, v)| (*k, v.as_bytes())), &body, now)
            .unwrap();
    }
    let keys_time = start.elapsed();

    let per = |d: std::time::Duration| d.as_secs_f64() * 1e6 / n as f64;
    println!("{n} notifications, 1 KiB body");
    println!("sign (v1 + v1a + JWT):          {:7.1} µs each", per(sign));
    println!(
        "verify with the secret (v1):    {:7.1} µs each",
        per(secret_time)
    );
    println!(
        "verify with the keys (JWT+v1a): {:7.1} µs each",
        per(keys_time)
    );
}
