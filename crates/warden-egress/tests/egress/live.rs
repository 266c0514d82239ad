//! Real connections: DNS rebinding, redirects, size and time caps,
//! credentials across origins, and the audit observer.

use std::io;
use std::net::IpAddr;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use futures_util::future::BoxFuture;
use http::HeaderValue;
use warden_egress::audit::{Observer, OutboundEvent};
use warden_egress::{
    Egress, EgressError, EgressPolicy, Outbound, PortRange, Resolver, Rules, StaticResolver,
};

use crate::server::{Reply, serve};

/// 127.0.0.2 stands for "a public address" in these tests: the rules
/// exempt it, while the rest of 127/8 stays denied.
fn policy() -> EgressPolicy {
    EgressPolicy {
        allow_http: true,
        allowed_ports: vec![],
        allow_cidrs: vec!["127.0.0.2/32".into()],
        ..EgressPolicy::default()
    }
}

fn with_ports(mut p: EgressPolicy, ports: &[u16]) -> EgressPolicy {
    p.allowed_ports = ports
        .iter()
        .map(|&port| PortRange::single(port).expect("port"))
        .collect();
    p
}

fn egress(p: EgressPolicy, resolver: Arc<dyn Resolver>) -> Egress {
    Egress::with(Rules::new(p).expect("rules"), resolver, None).expect("egress")
}

fn names(pairs: &[(&str, &str)]) -> Arc<dyn Resolver> {
    Arc::new(StaticResolver::new(pairs.iter().map(|(n, a)| {
        (n.to_string(), vec![a.parse::<IpAddr>().expect("ip")])
    })))
}

/// Answers with the first address on the first lookup and the second on
/// every later one: a rebinding attacker's DNS.
struct Rebinding {
    first: IpAddr,
    then: IpAddr,
    calls: AtomicUsize,
}

impl Resolver for Rebinding {
    fn lookup(&self, _name: &str) -> BoxFuture<'static, io::Result<Vec<IpAddr>>> {
        let n = self.calls.fetch_add(1, Ordering::SeqCst);
        let ip = if n == 0 { self.first } else { self.then };
        Box::pin(async move { Ok(vec![ip]) })
    }
}

#[tokio::test]
async fn rebinding_dns_cannot_move_the_connection() {
    let good = serve("127.0.0.2", 0, |_| Reply::ok("validated")).await;
    let port = good.addr.port();
    let bad = serve("127.0.0.1", port, |_| Reply::ok("internal")).await;
    let rebinding = Arc::new(Rebinding {
        first: "127.0.0.2".parse().expect("ip"),
        then: "127.0.0.1".parse().expect("ip"),
        calls: AtomicUsize::new(0),
    });
    let e = egress(with_ports(policy(), &[port]), rebinding.clone());
    let url = format!("http://rebind.attacker.test:{port}/");
    let body = e
        .send(Outbound::get(&url, "test"))
        .await
        .expect("first call")
        .bytes()
        .await
        .expect("body");
    assert_eq!(&body[..], b"validated");
    assert_eq!(
        rebinding.calls.load(Ordering::SeqCst),
        1,
        "one lookup per connection"
    );
    // The server closed the connection: the next call resolves again, gets
    // the internal address, and is refused before connecting.
    let err = e
        .send(Outbound::get(&url, "test"))
        .await
        .expect_err("rebound");
    assert!(matches!(err, EgressError::DeniedAddress { .. }), "{err}");
    assert_eq!(good.hits().len(), 1);
    assert!(bad.hits().is_empty(), "the internal server was reached");

    // check() then send(): the send's own lookup is checked as well.
    let rebinding = Arc::new(Rebinding {
        first: "127.0.0.2".parse().expect("ip"),
        then: "127.0.0.1".parse().expect("ip"),
        calls: AtomicUsize::new(0),
    });
    let e = egress(with_ports(policy(), &[port]), rebinding);
    e.check(&url).await.expect("first answer passes");
    assert!(e.send(Outbound::get(&url, "test")).await.is_err());
    assert!(bad.hits().is_empty(), "the internal server was reached");
}

#[tokio::test]
async fn a_redirect_to_a_private_address_is_refused_at_the_hop() {
    let internal = serve("127.0.0.1", 0, |_| Reply::ok("secret")).await;
    let to = format!("http://127.0.0.1:{}/", internal.addr.port());
    let open = serve("127.0.0.2", 0, move |_| Reply::redirect(302, &to)).await;
    let ports = [open.addr.port(), internal.addr.port()];
    let url = format!("http://127.0.0.2:{}/start", open.addr.port());

    let off = egress(with_ports(policy(), &ports), names(&[]));
    let err = off
        .send(Outbound::get(&url, "test"))
        .await
        .expect_err("redirect");
    assert_eq!(err.reason(), "redirect_off", "{err}");

    let mut p = with_ports(policy(), &ports);
    p.max_redirects = 3;
    let follow = egress(p, names(&[]));
    let err = follow
        .send(Outbound::get(&url, "test"))
        .await
        .expect_err("redirect");
    assert_eq!(err.reason(), "denied_address", "{err}");
    assert!(internal.hits().is_empty());
}

#[tokio::test]
async fn redirect_loops_stop_at_the_hop_limit() {
    let s = serve("127.0.0.2", 0, |r| {
        let n: u32 = r.path.trim_start_matches('/').parse().unwrap_or(0);
        Reply::redirect(307, &format!("/{}", n + 1))
    })
    .await;
    let mut p = with_ports(policy(), &[s.addr.port()]);
    p.max_redirects = 2;
    let e = egress(p, names(&[]));
    let url = format!("http://127.0.0.2:{}/0", s.addr.port());
    let err = e.send(Outbound::get(&url, "test")).await.expect_err("loop");
    assert_eq!(err, EgressError::TooManyRedirects(2));
    assert_eq!(s.hits().len(), 3);
}

#[tokio::test]
async fn credentials_stay_with_the_first_origin() {
    let other = serve("127.0.0.2", 0, |_| Reply::ok("other")).await;
    let to = format!("http://127.0.0.2:{}/landed", other.addr.port());
    let first = serve("127.0.0.2", 0, move |r| {
        if r.path == "/start" {
            Reply::redirect(302, "/same")
        } else {
            Reply::redirect(302, &to)
        }
    })
    .await;
    let mut p = with_ports(policy(), &[first.addr.port(), other.addr.port()]);
    p.max_redirects = 5;
    let e = egress(p, names(&[]));
    let mut req = Outbound::get(
        format!("http://127.0.0.2:{}/start", first.addr.port()),
        "test",
    );
    req.credentials.insert(
        "authorization",
        HeaderValue::from_static("Bearer secret-token"),
    );
    req.credentials
        .insert("dpop", HeaderValue::from_static("proof"));
    let r = e.send(req).await.expect("followed");
    assert_eq!(r.status(), 200);
    let first_hits = first.hits();
    assert_eq!(first_hits.len(), 2);
    for h in &first_hits {
        assert!(
            h.head
                .to_ascii_lowercase()
                .contains("authorization: bearer secret-token")
        );
    }
    let other_hits = other.hits();
    assert_eq!(other_hits.len(), 1);
    let head = other_hits[0].head.to_ascii_lowercase();
    assert!(
        !head.contains("secret-token") && !head.contains("dpop"),
        "{head}"
    );
}

#[tokio::test]
async fn an_oversized_response_is_refused_with_or_without_a_length() {
    for no_length in [false, true] {
        let s = serve("127.0.0.2", 0, move |_| Reply {
            no_length,
            ..Reply::ok(&"x".repeat(64 * 1024))
        })
        .await;
        let mut p = with_ports(policy(), &[s.addr.port()]);
        p.max_response_bytes = 16 * 1024;
        let e = egress(p, names(&[]));
        let url = format!("http://127.0.0.2:{}/", s.addr.port());
        let err = e
            .send(Outbound::get(&url, "test"))
            .await
            .expect("head")
            .bytes()
            .await
            .expect_err("too large");
        assert_eq!(
            err,
            EgressError::TooLarge(16 * 1024),
            "no_length={no_length}"
        );
    }
}

#[tokio::test]
async fn a_slow_drip_is_cut_off_by_the_total_timeout() {
    let s = serve("127.0.0.2", 0, |_| Reply {
        drip: Some(Duration::from_millis(100)),
        ..Reply::ok(&"y".repeat(100))
    })
    .await;
    let mut p = with_ports(policy(), &[s.addr.port()]);
    p.total_timeout_ms = 700;
    let e = egress(p, names(&[]));
    let url = format!("http://127.0.0.2:{}/", s.addr.port());
    let err = e
        .send(Outbound::get(&url, "test"))
        .await
        .expect("head")
        .bytes()
        .await
        .expect_err("drip");
    assert_eq!(err.reason(), "timeout", "{err}");
}

#[tokio::test]
async fn dns_failure_refuses() {
    let e = egress(with_ports(policy(), &[8080]), names(&[]));
    let err = e
        .send(Outbound::get("http://nowhere.test:8080/", "test"))
        .await
        .expect_err("no answer");
    assert_eq!(err.reason(), "dns", "{err}");
}

#[derive(Default)]
struct Recorder(Mutex<Vec<OutboundEvent>>);

impl Observer for Recorder {
    fn outbound(&self, event: &OutboundEvent) {
        self.0.lock().expect("lock").push(event.clone());
    }
}

#[tokio::test]
async fn every_call_is_reported_without_its_query() {
    let s = serve("127.0.0.2", 0, |_| Reply::ok("{}")).await;
    let rec = Arc::new(Recorder::default());
    let e = Egress::with(
        Rules::new(with_ports(policy(), &[s.addr.port()])).expect("rules"),
        names(&[]),
        Some(rec.clone()),
    )
    .expect("egress");
    let url = format!("http://127.0.0.2:{}/jwks?token=secret", s.addr.port());
    e.send(Outbound::get(&url, "jwks")).await.expect("ok");
    let _ = e
        .send(Outbound::get(
            format!("http://10.0.0.1:{}/", s.addr.port()),
            "card",
        ))
        .await;
    let events = rec.0.lock().expect("lock").clone();
    assert_eq!(events.len(), 2);
    assert_eq!(events[0].purpose, "jwks");
    assert_eq!(events[0].status, Some(200));
    assert!(!events[0].url.contains("secret"), "{}", events[0].url);
    assert_eq!(events[1].refused, Some("denied_address"));
}
