//! The mailbox's rules, end to end over a real (in-memory SQLite) store,
//! on a manual clock.

use std::sync::Arc;

use serde_json::json;
use warden_a2a::types::Part;
use warden_trust::{JwsAlg, SigningKey};

use crate::*;

const T0: i64 = 1_800_000_000_000;

struct Fixture {
    mb: Mailbox,
    clock: ManualClock,
    key: Arc<SigningKey>,
}

async fn fixture_with(limits: Limits) -> Fixture {
    let store = crate::test_store::store_with(&["alice", "bob", "carol"]).await;
    let key = Arc::new(SigningKey::generate(JwsAlg::EdDsa).expect("key"));
    let clock = ManualClock::at(T0);
    let mb = Mailbox::with_clock(
        store,
        Arc::new(KeySigner(key.clone())),
        limits,
        Arc::new(clock.clone()),
    );
    Fixture { mb, clock, key }
}

async fn fixture() -> Fixture {
    fixture_with(Limits::default()).await
}

fn text(to: &str, t: &str) -> SendRequest {
    SendRequest {
        to: to.into(),
        parts: Some(vec![Part::text(t)]),
        ..SendRequest::default()
    }
}

fn grant_to(sender: &str) -> GrantRequest {
    GrantRequest {
        sender: Some(sender.into()),
        ..GrantRequest::default()
    }
}

#[tokio::test]
async fn a_granted_send_arrives_signed_and_is_read_acked_and_deleted() {
    let f = fixture().await;
    f.mb.grant("bob", grant_to("alice")).await.expect("grant");
    let sent =
        f.mb.send("alice", text("bob", "hello"))
            .await
            .expect("send");
    assert!(!sent.duplicate);
    let m = &sent.message;
    assert_eq!((m.from.as_str(), m.to.as_str()), ("alice", "bob"));
    assert_eq!(m.thread, m.id);
    assert!(address::is_message_id(&m.id));
    verify_message(m, &f.key.public_jwk()).expect("Warden's signature holds");

    let page =
        f.mb.inbox("bob", InboxQuery::default())
            .await
            .expect("inbox");
    assert_eq!(page.messages.len(), 1);
    assert_eq!(page.next_cursor, None);
    assert_eq!(page.messages[0].parts, Some(json!([{"text": "hello"}])));
    verify_message(&page.messages[0], &f.key.public_jwk()).expect("stored signature holds");

    f.clock.advance_ms(5);
    let read = f.mb.read("bob", &m.id).await.expect("read");
    assert_eq!(read.read_at.as_deref(), Some("2027-01-15T08:00:00.005Z"));
    assert_eq!(read.acked_at, None);
    let unread = InboxQuery {
        state: Some(InboxState::Unread),
        ..InboxQuery::default()
    };
    assert!(
        f.mb.inbox("bob", unread)
            .await
            .expect("inbox")
            .messages
            .is_empty()
    );
    let acked = f.mb.ack("bob", &m.id).await.expect("ack");
    assert!(acked.acked_at.is_some());
    // Only the recipient's inbox holds it.
    assert!(matches!(
        f.mb.read("alice", &m.id).await,
        Err(MailError::NoSuchMessage)
    ));
    assert!(matches!(
        f.mb.delete("carol", &m.id).await,
        Err(MailError::NoSuchMessage)
    ));
    f.mb.delete("bob", &m.id).await.expect("delete");
    assert!(matches!(
        f.mb.read("bob", &m.id).await,
        Err(MailError::NoSuchMessage)
    ));
}

#[tokio::test]
async fn unknown_and_ungranted_recipients_get_the_same_answer() {
    let f = fixture().await;
    let unknown =
        f.mb.send("alice", text("nobody", "x"))
            .await
            .expect_err("refused");
    let ungranted =
        f.mb.send("alice", text("bob", "x"))
            .await
            .expect_err("refused");
    assert!(matches!(unknown, MailError::NotFound));
    assert!(matches!(ungranted, MailError::NotFound));
    assert_eq!(unknown.to_string(), ungranted.to_string());
    assert_eq!(unknown.status(), ungranted.status());
}

#[tokio::test]
async fn grants_are_scoped_expire_and_revoke_at_once() {
    let f = fixture().await;
    let g = GrantRequest {
        sender: Some("alice".into()),
        topics: Some(vec!["ci".into(), "build".into(), "ci".into()]),
        ttl_days: Some(1),
        ..GrantRequest::default()
    };
    let g = f.mb.grant("bob", g).await.expect("grant");
    assert_eq!(g.topics, ["build", "ci"]);
    let on = |topic: Option<&str>| SendRequest {
        topic: topic.map(str::to_owned),
        ..text("bob", "x")
    };
    f.mb.send("alice", on(Some("ci")))
        .await
        .expect("granted topic");
    for refused in [on(Some("other")), on(None)] {
        assert!(matches!(
            f.mb.send("alice", refused).await,
            Err(MailError::NotFound)
        ));
    }
    let grants = f.mb.grants("alice").await.expect("grants");
    assert_eq!(grants.received.len(), 1);
    assert!(grants.given.is_empty());

    // Expired: a day later.
    f.clock.advance_ms(86_400_000);
    assert!(matches!(
        f.mb.send("alice", on(Some("ci"))).await,
        Err(MailError::NotFound)
    ));
    assert!(f.mb.grants("bob").await.expect("grants").given.is_empty());

    // Granted again, then revoked: the next send is refused.
    f.mb.grant("bob", grant_to("alice")).await.expect("grant");
    f.mb.send("alice", on(None)).await.expect("every topic");
    let r =
        f.mb.revoke(
            "bob",
            RevokeRequest {
                sender: "alice".into(),
            },
        )
        .await
        .expect("revoke");
    assert!(r.revoked);
    assert!(matches!(
        f.mb.send("alice", on(None)).await,
        Err(MailError::NotFound)
    ));
    let again =
        f.mb.revoke(
            "bob",
            RevokeRequest {
                sender: "alice".into(),
            },
        )
        .await;
    assert!(!again.expect("revoke again").revoked);
}

#[tokio::test]
async fn an_access_request_is_a_message_accepted_by_granting_its_id() {
    let f = fixture().await;
    let req = AccessRequest {
        to: "bob".into(),
        topics: vec!["ci".into()],
        note: Some("build reports".into()),
    };
    let sent = f.mb.request_access("alice", req).await.expect("request");
    let q = InboxQuery {
        kind: Some(MessageKind::AccessRequest),
        ..InboxQuery::default()
    };
    let page = f.mb.inbox("bob", q).await.expect("inbox");
    assert_eq!(page.messages.len(), 1);
    let r = &page.messages[0];
    assert_eq!(r.id, sent.request_id);
    assert_eq!(r.topic.as_deref(), Some(ACCESS_TOPIC));
    assert_eq!(
        r.parts,
        Some(json!([{"data": {"topics": ["ci"]}}, {"text": "build reports"}]))
    );
    verify_message(r, &f.key.public_jwk()).expect("signed");

    let accept = GrantRequest {
        request_id: Some(sent.request_id.clone()),
        ..GrantRequest::default()
    };
    let g = f.mb.grant("bob", accept).await.expect("accept");
    assert_eq!(
        (g.sender.as_str(), g.topics.clone()),
        ("alice", vec!["ci".to_string()])
    );
    assert_eq!(g.request_id.as_deref(), Some(sent.request_id.as_str()));
    let unacked = InboxQuery {
        state: Some(InboxState::Unacked),
        ..InboxQuery::default()
    };
    assert!(
        f.mb.inbox("bob", unacked)
            .await
            .expect("inbox")
            .messages
            .is_empty(),
        "acked"
    );
    let ci = SendRequest {
        topic: Some("ci".into()),
        ..text("bob", "green")
    };
    f.mb.send("alice", ci).await.expect("send under the grant");

    // Someone else's request id is no message of carol's.
    let steal = GrantRequest {
        request_id: Some(sent.request_id),
        ..GrantRequest::default()
    };
    assert!(matches!(
        f.mb.grant("carol", steal).await,
        Err(MailError::NoSuchMessage)
    ));
}

#[tokio::test]
async fn an_access_request_to_nobody_answers_alike_and_leaves_nothing_readable() {
    let f = fixture().await;
    let ask = |to: &str| AccessRequest {
        to: to.into(),
        ..AccessRequest::default()
    };
    let real =
        f.mb.request_access("alice", ask("bob"))
            .await
            .expect("real");
    let void =
        f.mb.request_access("alice", ask("nobody"))
            .await
            .expect("void");
    assert_eq!(real.to, "bob");
    assert_eq!(void.to, "nobody");
    assert!(address::is_message_id(&void.request_id));
    let store = f.mb.store();
    assert_eq!(store.mail_counts("nobody").await.expect("counts").0, 0);
    assert_eq!(
        store
            .mail_counts(warden_store::VOID_RECIPIENT)
            .await
            .expect("c")
            .0,
        1
    );
    assert!(matches!(
        f.mb.read("nobody", &void.request_id).await,
        Err(MailError::NoSuchMessage)
    ));
}

#[tokio::test]
async fn idempotent_sends_return_the_original_or_conflict() {
    let f = fixture().await;
    f.mb.grant("bob", grant_to("alice")).await.expect("grant");
    let keyed = |t: &str| SendRequest {
        idempotency_key: Some("k-1".into()),
        ..text("bob", t)
    };
    let first = f.mb.send("alice", keyed("once")).await.expect("first");
    f.clock.advance_ms(1000);
    let again = f.mb.send("alice", keyed("once")).await.expect("retry");
    assert!(again.duplicate);
    assert_eq!(again.message, first.message);
    let clash =
        f.mb.send("alice", keyed("other"))
            .await
            .expect_err("refused");
    assert!(matches!(clash, MailError::IdempotencyConflict));
    assert_eq!(
        clash.to_string(),
        "idempotency key reused with a different message"
    );
    assert_eq!(
        f.mb.inbox("bob", InboxQuery::default())
            .await
            .expect("inbox")
            .messages
            .len(),
        1
    );

    // Even once the recipient deleted it, a retry answers the original.
    f.mb.delete("bob", &first.message.id).await.expect("delete");
    let after = f.mb.send("alice", keyed("once")).await.expect("retry");
    assert_eq!(after.message, first.message);

    // Another sender's key space is its own; a spent key is new again.
    f.mb.grant("bob", grant_to("carol")).await.expect("grant");
    assert!(
        !f.mb
            .send("carol", keyed("once"))
            .await
            .expect("carol")
            .duplicate
    );
    f.clock.advance_ms(24 * 3_600_000);
    let fresh =
        f.mb.send("alice", keyed("other"))
            .await
            .expect("after the window");
    assert!(!fresh.duplicate);
    assert_ne!(fresh.message.id, first.message.id);
}

#[tokio::test]
async fn replies_join_the_thread_of_a_message_the_sender_saw() {
    let f = fixture().await;
    f.mb.grant("bob", grant_to("alice")).await.expect("grant");
    f.mb.grant("alice", grant_to("bob")).await.expect("grant");
    let first =
        f.mb.send("alice", text("bob", "q"))
            .await
            .expect("send")
            .message;
    let reply = SendRequest {
        reply_to: Some(first.id.clone()),
        ..text("alice", "a")
    };
    let r = f.mb.send("bob", reply).await.expect("reply").message;
    assert_eq!(
        (r.thread.as_str(), r.reply_to.as_deref()),
        (first.id.as_str(), Some(first.id.as_str()))
    );
    let q = InboxQuery {
        thread: Some(first.id.clone()),
        ..InboxQuery::default()
    };
    assert_eq!(
        f.mb.inbox("alice", q).await.expect("inbox").messages.len(),
        1
    );
    // Carol never saw it.
    f.mb.grant("bob", grant_to("carol")).await.expect("grant");
    let nosy = SendRequest {
        reply_to: Some(first.id.clone()),
        ..text("bob", "?")
    };
    assert!(matches!(
        f.mb.send("carol", nosy).await,
        Err(MailError::NoSuchMessage)
    ));
}

#[tokio::test]
async fn the_inbox_pages_by_cursor_in_both_orders() {
    let f = fixture().await;
    f.mb.grant("bob", grant_to("alice")).await.expect("grant");
    let mut ids = Vec::new();
    for i in 0..7 {
        // Two messages share each millisecond: the id breaks the tie.
        if i % 2 == 0 {
            f.clock.advance_ms(1);
        }
        ids.push(
            f.mb.send("alice", text("bob", &format!("m{i}")))
                .await
                .expect("send")
                .message,
        );
    }
    let mut want: Vec<(String, String)> = ids
        .iter()
        .map(|m| (m.created.clone(), m.id.clone()))
        .collect();
    want.sort();
    for order in [InboxOrder::Oldest, InboxOrder::Newest] {
        let mut got = Vec::new();
        let mut cursor = None;
        loop {
            let q = InboxQuery {
                limit: Some(3),
                order: Some(order),
                cursor: cursor.take(),
                ..InboxQuery::default()
            };
            let page = f.mb.inbox("bob", q).await.expect("page");
            got.extend(page.messages.into_iter().map(|m| (m.created, m.id)));
            match page.next_cursor {
                Some(c) => cursor = Some(c),
                None => break,
            }
        }
        let mut expect = want.clone();
        if order == InboxOrder::Newest {
            expect.reverse();
        }
        assert_eq!(got, expect, "{order:?}");
    }
    let bad = InboxQuery {
        limit: Some(101),
        ..InboxQuery::default()
    };
    assert!(matches!(
        f.mb.inbox("bob", bad).await,
        Err(MailError::Invalid(_))
    ));
}

#[tokio::test]
async fn limits_refuse_large_messages_full_inboxes_and_fast_senders() {
    let limits = Limits {
        max_message_bytes: 100,
        inbox_max_messages: 2,
        pair_rate: warden_policy::ratelimit::Quota::new(3, std::time::Duration::from_secs(1), 3)
            .expect("quota"),
        ..Limits::default()
    };
    let f = fixture_with(limits).await;
    f.mb.grant("bob", grant_to("alice")).await.expect("grant");
    let big =
        f.mb.send("alice", text("bob", &"x".repeat(200)))
            .await
            .expect_err("refused");
    assert!(matches!(big, MailError::TooLarge { limit: 100 }));
    f.mb.send("alice", text("bob", "1")).await.expect("1");
    f.mb.send("alice", text("bob", "2")).await.expect("2");
    let full =
        f.mb.send("alice", text("bob", "3"))
            .await
            .expect_err("refused");
    assert!(matches!(full, MailError::InboxFull));
    let fast =
        f.mb.send("alice", text("bob", "4"))
            .await
            .expect_err("refused");
    let MailError::RateLimited { retry_after } = fast else {
        panic!("{fast:?}");
    };
    assert!(retry_after.as_millis() > 0);
    // Time passes on the clock, not in the test.
    f.clock.advance_ms(1000);
    assert!(matches!(
        f.mb.send("alice", text("bob", "5")).await,
        Err(MailError::InboxFull)
    ));
}

#[tokio::test]
async fn callers_without_a_mailbox_are_forbidden() {
    let f = fixture().await;
    for me in ["", "has space", "ctl\u{1}"] {
        assert!(matches!(f.mb.whoami(me).await, Err(MailError::Forbidden)));
    }
    let who = f.mb.whoami("alice").await.expect("whoami");
    assert_eq!((who.address.as_str(), who.messages), ("alice", 0));
}

/// Records the ids delivery was told of.
#[derive(Default)]
struct Recorder(std::sync::Mutex<Vec<String>>);

impl Delivery for Recorder {
    fn stored<'a>(&'a self, message: &'a Message) -> BoxFuture<'a, ()> {
        Box::pin(async move {
            let at = format!("{}@{}", message.id, message.to);
            self.0.lock().expect("lock").push(at);
        })
    }
}

#[tokio::test]
async fn delivery_hears_of_new_messages_and_of_requests_to_nobody_as_void() {
    let f = fixture().await;
    let rec = Arc::new(Recorder::default());
    assert!(f.mb.set_delivery(rec.clone()));
    assert!(!f.mb.clone().set_delivery(rec.clone()), "once");
    f.mb.grant("bob", grant_to("alice")).await.expect("grant");
    let keyed = SendRequest {
        idempotency_key: Some("k".into()),
        ..text("bob", "x")
    };
    let sent = f.mb.send("alice", keyed.clone()).await.expect("send");
    f.mb.send("alice", keyed).await.expect("retry");
    let _ = f.mb.send("alice", text("carol", "no grant")).await;
    let ask = |to: &str| AccessRequest {
        to: to.into(),
        ..AccessRequest::default()
    };
    let real =
        f.mb.request_access("alice", ask("carol"))
            .await
            .expect("request");
    let void =
        f.mb.request_access("alice", ask("nobody"))
            .await
            .expect("void");
    // A request to nobody is handed over too (the same work, so the same
    // time), addressed to the void, where no webhook or bridge is found.
    let seen = rec.0.lock().expect("lock").clone();
    assert_eq!(
        seen,
        [
            format!("{}@bob", sent.message.id),
            format!("{}@carol", real.request_id),
            format!("{}@{}", void.request_id, warden_store::VOID_RECIPIENT),
        ]
    );
}

mod paging {
    use proptest::prelude::*;

    use super::*;

    /// One send of the generated inbox: sender (0 or 1), topic (0 or 1),
    /// milliseconds the clock moves first (0: the same millisecond).
    type Plan = Vec<(u8, u8, u8)>;

    async fn check(plan: Plan, limit: u32, newest: bool, from: Option<u8>, topic: Option<u8>) {
        let f = fixture().await;
        for s in ["alice", "carol"] {
            f.mb.grant("bob", grant_to(s)).await.expect("grant");
        }
        let senders = ["alice", "carol"];
        let topics = ["a", "b"];
        let mut model = Vec::new();
        for (s, t, dt) in plan {
            f.clock.advance_ms(i64::from(dt));
            let req = SendRequest {
                topic: Some(topics[usize::from(t)].into()),
                ..text("bob", "x")
            };
            let m = f.mb.send(senders[usize::from(s)], req).await.expect("send");
            model.push((m.message.created.clone(), m.message.id.clone(), s, t));
        }
        model.retain(|(_, _, s, t)| from.is_none_or(|x| x == *s) && topic.is_none_or(|x| x == *t));
        model.sort();
        if newest {
            model.reverse();
        }
        let want: Vec<String> = model.into_iter().map(|(_, id, _, _)| id).collect();
        let mut got = Vec::new();
        let mut cursor = None;
        loop {
            let q = InboxQuery {
                from: from.map(|s| senders[usize::from(s)].to_string()),
                topic: topic.map(|t| topics[usize::from(t)].to_string()),
                order: Some(if newest {
                    InboxOrder::Newest
                } else {
                    InboxOrder::Oldest
                }),
                limit: Some(limit),
                cursor: cursor.take(),
                ..InboxQuery::default()
            };
            let page = f.mb.inbox("bob", q).await.expect("page");
            assert!(page.messages.len() <= limit as usize);
            got.extend(page.messages.into_iter().map(|m| m.id));
            match page.next_cursor {
                Some(c) => cursor = Some(c),
                None => break,
            }
        }
        assert_eq!(got, want);
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(64))]

        /// Paging by cursor through any inbox, in either order, with any
        /// filter, yields exactly the filtered inbox in order: every message
        /// once, ties in one millisecond broken by id.
        #[test]
        fn pages_add_up_to_the_filtered_inbox(
            plan in proptest::collection::vec((0u8..2, 0u8..2, 0u8..3), 0..30),
            limit in 1u32..7,
            newest in any::<bool>(),
            from in proptest::option::of(0u8..2),
            topic in proptest::option::of(0u8..2),
        ) {
            tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .expect("runtime")
                .block_on(check(plan, limit, newest, from, topic));
        }
    }
}
