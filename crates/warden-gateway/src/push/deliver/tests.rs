//! Deliveries to a real receiver on loopback, through an egress whose
//! resolver answers what the test says (the name turns private midway).

use std::collections::BTreeMap;
use std::io;
use std::net::{IpAddr, SocketAddr};
use std::sync::{Arc, Mutex};

use axum::Router;
use axum::routing::post;
use futures_util::future::BoxFuture;
use warden_egress::Egress;
use warden_egress::policy::{EgressPolicy, Rules};
use warden_egress::resolve::Resolver;
use warden_store::{NewNotification, PushSubscription};
use warden_webhooks::{SubscriptionSecret, Verifier};

use super::*;
use crate::clock::SystemClock;
use crate::push::secrets::{self, Secrets};

/// Answers from a table the test changes.
#[derive(Clone, Default)]
struct Switchable(Arc<Mutex<BTreeMap<String, Vec<IpAddr>>>>);

impl Switchable {
    fn set(&self, name: &str, ip: &str) {
        self.0
            .lock()
            .expect("lock")
            .insert(name.into(), vec![ip.parse().expect("ip")]);
    }
}

impl Resolver for Switchable {
    fn lookup(&self, name: &str) -> BoxFuture<'static, io::Result<Vec<IpAddr>>> {
        let found = self.0.lock().expect("lock").get(name).cloned();
        Box::pin(async move { found.ok_or_else(|| io::Error::other("no such name")) })
    }
}

type Seen = Arc<Mutex<Vec<(http::HeaderMap, bytes::Bytes)>>>;

/// A receiver answering `status` and keeping what it got.
async fn receiver(status: u16, extra: Option<(&'static str, &'static str)>) -> (SocketAddr, Seen) {
    let seen: Seen = Arc::default();
    let kept = Arc::clone(&seen);
    let app = Router::new().route(
        "/hook",
        post(move |headers: http::HeaderMap, body: bytes::Bytes| {
            let kept = Arc::clone(&kept);
            async move {
                kept.lock().expect("lock").push((headers, body));
                let mut r = axum::response::Response::new(axum::body::Body::empty());
                *r.status_mut() = StatusCode::from_u16(status).expect("status");
                if let Some((k, v)) = extra {
                    r.headers_mut().insert(k, v.parse().expect("value"));
                }
                r
            }
        }),
    );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind");
    let addr = listener.local_addr().expect("addr");
    tokio::spawn(async move { axum::serve(listener, app).await });
    (addr, seen)
}

struct Setup {
    deliverer: Deliverer,
    store: Store,
    kek: Arc<Kek>,
    keys: Arc<KeyRing>,
    resolver: Switchable,
    secret: String,
}

async fn setup(port: u16) -> Setup {
    let store = Store::open_in_memory().await.expect("store");
    let text = Kek::generate_text().expect("kek");
    let keys = Arc::new(
        KeyRing::open(
            store.clone(),
            Kek::from_text(&text).expect("kek"),
            3600,
            60,
            SystemClock.now_unix(),
        )
        .await
        .expect("keys"),
    );
    let kek = Arc::new(Kek::from_text(&text).expect("kek"));
    let resolver = Switchable::default();
    let policy = EgressPolicy {
        allow_http: true,
        allowed_ports: vec![warden_egress::ports::PortRange::single(port).expect("port")],
        allow_cidrs: vec!["127.0.0.0/8".into()],
        ..EgressPolicy::default()
    };
    let egress = Egress::with(
        Rules::new(policy).expect("rules"),
        Arc::new(resolver.clone()),
        None,
    )
    .expect("egress");
    let secret = SubscriptionSecret::generate().expect("secret").to_whsec();
    let sealed = secrets::seal(
        &kek,
        "sub_1",
        &Secrets {
            token: Some("caller-token".into()),
            scheme: Some("Bearer".into()),
            credentials: Some("caller-credentials".into()),
            secret: secret.clone(),
        },
    )
    .expect("seal");
    let url = format!("http://hooks.test:{port}/hook");
    store
        .push_subscription_put(&PushSubscription {
            id: "sub_1".into(),
            agent: "echo".into(),
            owner: "alice".into(),
            task_id: Some("t1".into()),
            config_id: "cfg".into(),
            url,
            config: "{}".into(),
            sealed,
            relay_hash: secrets::relay_hash("wpr_x"),
            created_ms: 0,
        })
        .await
        .expect("subscription");
    let deliverer = Deliverer::new(
        store.clone(),
        Arc::clone(&kek),
        Destinations::new(egress, crate::config::MessageUrlsSection::default()),
        Arc::clone(&keys),
        "https://warden.test",
        Arc::new(SystemClock),
    );
    Setup {
        deliverer,
        store,
        kek,
        keys,
        resolver,
        secret,
    }
}

async fn entry(store: &Store, port: u16) -> OutboxEntry {
    store
        .outbox_enqueue(&NewNotification {
            subscription_id: "sub_1".into(),
            task_id: "t1".into(),
            destination: format!("http://hooks.test:{port}/hook"),
            body: br#"{"statusUpdate":{"taskId":"t1","contextId":"c","status":{"state":"TASK_STATE_WORKING"}}}"#.to_vec(),
            created_ms: 0,
        })
        .await
        .expect("enqueue");
    let origin =
        warden_store::outbox_origin(&format!("http://hooks.test:{port}/hook")).expect("origin");
    let claimed = store
        .outbox_claim(&warden_store::Claim {
            origin: &origin,
            worker: "test",
            now_ms: 1,
            lease_until_ms: 60_000,
            limit: 10,
        })
        .await
        .expect("claim");
    claimed.into_iter().next().expect("an entry")
}

#[tokio::test]
async fn a_delivery_is_signed_three_ways_with_the_callers_credential() {
    let (addr, seen) = receiver(204, None).await;
    let s = setup(addr.port()).await;
    s.resolver.set("hooks.test", "127.0.0.1");
    let e = entry(&s.store, addr.port()).await;
    assert_eq!(s.deliverer.attempt(&e).await, DeliveryOutcome::Delivered);
    let got = seen.lock().expect("lock").clone();
    let (headers, body) = &got[0];
    assert_eq!(&body[..], &e.body[..]);
    assert_eq!(headers["webhook-id"], e.id.as_str());
    assert_eq!(headers["authorization"], "Bearer caller-credentials");
    assert_eq!(headers["x-a2a-notification-token"], "caller-token");
    // v1 with the subscription's secret.
    let by_secret = Verifier::builder()
        .secret(SubscriptionSecret::parse(&s.secret).expect("secret"))
        .build()
        .expect("verifier");
    let v = by_secret
        .verify_header_map(headers, body, SystemClock.now_unix())
        .expect("v1 verifies");
    assert_eq!(v.signature, "v1");
    // v1a and the JWT with Warden's published keys, for this URL only.
    let url = format!("http://hooks.test:{}/hook", addr.port());
    let by_keys = Verifier::builder()
        .keys(s.keys.published())
        .receiver_url(url)
        .issuer("https://warden.test")
        .build()
        .expect("verifier");
    let v = by_keys
        .verify_header_map(headers, body, SystemClock.now_unix())
        .expect("v1a and the JWT verify");
    assert_eq!(v.task_id.as_deref(), Some("t1"));
}

#[tokio::test]
async fn a_name_that_turned_private_is_refused_at_delivery() {
    let (addr, seen) = receiver(200, None).await;
    let s = setup(addr.port()).await;
    // Public-looking at registration (any address the rules admit) ...
    s.resolver.set("hooks.test", "127.0.0.1");
    let e = entry(&s.store, addr.port()).await;
    // ... private at delivery.
    s.resolver.set("hooks.test", "10.1.2.3");
    match s.deliverer.attempt(&e).await {
        DeliveryOutcome::Permanent { reason } => assert!(reason.contains("egress"), "{reason}"),
        other => panic!("expected a permanent refusal, got {other:?}"),
    }
    // Metadata addresses too, whatever the allowances.
    s.resolver.set("hooks.test", "169.254.169.254");
    assert!(matches!(
        s.deliverer.attempt(&e).await,
        DeliveryOutcome::Permanent { .. }
    ));
    assert!(seen.lock().expect("lock").is_empty(), "nothing reached it");
}

#[tokio::test]
async fn receivers_answers_map_to_outcomes() {
    for (status, extra, want) in [
        (
            429,
            Some(("retry-after", "7")),
            DeliveryOutcome::Retry {
                after: Some(Duration::from_secs(7)),
                reason: "HTTP 429".into(),
            },
        ),
        (
            503,
            None,
            DeliveryOutcome::Retry {
                after: None,
                reason: "HTTP 503".into(),
            },
        ),
        (
            410,
            None,
            DeliveryOutcome::Permanent {
                reason: "HTTP 410".into(),
            },
        ),
        (
            302,
            Some(("location", "http://hooks.test/elsewhere")),
            DeliveryOutcome::Permanent {
                reason: "HTTP 302 (redirects are not followed)".into(),
            },
        ),
    ] {
        let (addr, _) = receiver(status, extra).await;
        let s = setup(addr.port()).await;
        s.resolver.set("hooks.test", "127.0.0.1");
        let e = entry(&s.store, addr.port()).await;
        assert_eq!(s.deliverer.attempt(&e).await, want, "HTTP {status}");
    }
    // Nobody listening: tried again.
    let s = setup(9).await;
    s.resolver.set("hooks.test", "127.0.0.1");
    let e = entry(&s.store, 9).await;
    assert!(matches!(
        s.deliverer.attempt(&e).await,
        DeliveryOutcome::Retry { .. }
    ));
    // The subscription gone: permanent.
    s.store
        .push_subscription_delete("sub_1")
        .await
        .expect("delete");
    assert!(matches!(
        s.deliverer.attempt(&e).await,
        DeliveryOutcome::Permanent { .. }
    ));
}

#[test]
fn outcome_table() {
    assert_eq!(outcome(StatusCode::OK, None), DeliveryOutcome::Delivered);
    assert_eq!(
        outcome(StatusCode::ACCEPTED, None),
        DeliveryOutcome::Delivered
    );
    assert!(matches!(
        outcome(StatusCode::REQUEST_TIMEOUT, None),
        DeliveryOutcome::Retry { .. }
    ));
    assert!(matches!(
        outcome(StatusCode::UNAUTHORIZED, None),
        DeliveryOutcome::Permanent { .. }
    ));
    let mut h = HeaderMap::new();
    h.insert(header::RETRY_AFTER, HeaderValue::from_static("999999"));
    assert_eq!(retry_after(&h), Some(MAX_RETRY_AFTER));
    h.insert(
        header::RETRY_AFTER,
        HeaderValue::from_static("Wed, 21 Oct 2015 07:28:00 GMT"),
    );
    assert_eq!(retry_after(&h), None);
}

/// Every URL of the egress tests' hostile corpus, as a delivery's
/// destination (under the default rules and the corpus's DNS answers), is
/// refused for good before anything is sent, with the corpus's reason (a
/// name that does not resolve is tried again: lookups fail and recover).
#[tokio::test]
async fn the_hostile_url_corpus_is_refused_at_delivery() {
    let s = setup(443).await;
    let egress = Egress::with(
        Rules::new(EgressPolicy::default()).expect("rules"),
        Arc::new(warden_egress::StaticResolver::new(
            warden_egress::corpus::answers(),
        )),
        None,
    )
    .expect("egress");
    let deliverer = Deliverer::new(
        s.store.clone(),
        Arc::clone(&s.kek),
        Destinations::new(egress, crate::config::MessageUrlsSection::default()),
        Arc::clone(&s.keys),
        "https://warden.test",
        Arc::new(SystemClock),
    );
    let mut wrong = Vec::new();
    for (url, reason) in warden_egress::corpus::hostile_urls() {
        let e = OutboxEntry {
            id: warden_store::NotificationId::from("msg_corpus".to_string()),
            subscription_id: "sub_1".into(),
            task_id: "t1".into(),
            seq: 1,
            destination: url.into(),
            origin: "x".into(),
            body: b"{}".to_vec(),
            attempts: 0,
            since_ms: 0,
            created_ms: 0,
        };
        match deliverer.attempt(&e).await {
            DeliveryOutcome::Permanent { reason: why } if why.contains(reason) => {}
            // A name that does not resolve may resolve later: tried again.
            DeliveryOutcome::Retry { reason: why, .. }
                if reason == "dns" && why.contains("dns") => {}
            other => wrong.push(format!("{url:?} ({reason}): {other:?}")),
        }
    }
    assert!(wrong.is_empty(), "{}", wrong.join("\n"));
}
