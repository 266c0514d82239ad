//! The hostile-URL corpus against `Egress::check` and `Egress::send` under
//! the default rules: every entry refused for its expected reason, and the
//! benign names allowed.

use std::sync::Arc;

use warden_egress::{Egress, EgressPolicy, Outbound, Rules, StaticResolver, corpus};

fn egress() -> Egress {
    let resolver = StaticResolver::new(corpus::answers());
    Egress::with(
        Rules::new(EgressPolicy::default()).expect("rules"),
        Arc::new(resolver),
        None,
    )
    .expect("egress")
}

#[tokio::test]
async fn every_hostile_url_is_refused_for_its_reason() {
    let e = egress();
    let corpus = corpus::hostile_urls();
    assert!(corpus.len() >= 60, "corpus has {} entries", corpus.len());
    let mut wrong = Vec::new();
    for (url, reason) in &corpus {
        match e.check(url).await {
            Ok(a) => wrong.push(format!("{url:?}: ALLOWED ({:?})", a.addrs)),
            Err(err) if err.reason() != *reason => wrong.push(format!(
                "{url:?}: {} ({err}), expected {reason}",
                err.reason()
            )),
            Err(_) => {}
        }
        // Sending must refuse too, before any connection.
        match e.send(Outbound::get(*url, "test")).await {
            Ok(_) => wrong.push(format!("{url:?}: send went through")),
            Err(err) if err.reason() != *reason => wrong.push(format!(
                "{url:?}: send refused as {} ({err}), expected {reason}",
                err.reason()
            )),
            Err(_) => {}
        }
    }
    assert!(
        wrong.is_empty(),
        "{} of {}:\n{}",
        wrong.len(),
        corpus.len(),
        wrong.join("\n")
    );
}

#[tokio::test]
async fn benign_public_names_are_allowed() {
    let e = egress();
    for url in corpus::benign_urls() {
        let admitted = e
            .check(&url)
            .await
            .unwrap_or_else(|err| panic!("{url}: {err}"));
        assert!(!admitted.addrs.is_empty());
    }
}
