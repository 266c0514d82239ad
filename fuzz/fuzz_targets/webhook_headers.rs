//! Any bytes as a received notification (header lines `name: value`, a
//! blank line, the body) into the webhook header reader and the verifier:
//! never a panic; what the reader accepts it reads again the same from its
//! own rendering; the verifier answers every input with a verdict.
#![no_main]

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use libfuzzer_sys::fuzz_target;
use warden_webhooks::headers::{Signature, WebhookHeaders};
use warden_webhooks::{SubscriptionSecret, Verifier};

fuzz_target!(|data: &[u8]| {
    let (head, body) = match data.windows(2).position(|w| w == b"\n\n") {
        Some(i) => (&data[..i], &data[i + 2..]),
        None => (data, &b""[..]),
    };
    let lines: Vec<(String, &[u8])> = head
        .split(|&b| b == b'\n')
        .filter_map(|line| {
            let colon = line.iter().position(|&b| b == b':')?;
            let name = String::from_utf8_lossy(&line[..colon]).into_owned();
            let value = line[colon + 1..]
                .strip_prefix(b" ")
                .unwrap_or(&line[colon + 1..]);
            Some((name, value))
        })
        .collect();
    let pairs = || lines.iter().map(|(n, v)| (n.as_str(), *v));
    if let Ok(h) = WebhookHeaders::parse(pairs()) {
        if h.signatures
            .iter()
            .all(|s| !matches!(s, Signature::Other(_)))
        {
            let sig: Vec<String> = h
                .signatures
                .iter()
                .map(|s| match s {
                    Signature::V1(b) => format!("v1,{}", STANDARD.encode(b)),
                    Signature::V1a(b) => format!("v1a,{}", STANDARD.encode(b)),
                    Signature::Other(_) => unreachable!(),
                })
                .collect();
            let ts = h.timestamp.to_string();
            let sig = sig.join(" ");
            let mut again = vec![
                ("webhook-id", h.id.as_bytes()),
                ("webhook-timestamp", ts.as_bytes()),
                ("webhook-signature", sig.as_bytes()),
            ];
            if let Some(jwt) = &h.jwt {
                again.push(("warden-notification-jwt", jwt.as_bytes()));
            }
            assert_eq!(WebhookHeaders::parse(again).expect("reads again"), h);
        }
        let secret = SubscriptionSecret::from_bytes(vec![7; 32]).expect("secret");
        let verifier = Verifier::builder()
            .secret(secret)
            .build()
            .expect("verifier");
        let _ = verifier.verify(pairs(), body, h.timestamp);
    }
});
