use super::*;
use crate::testing::{TestDb, store_test};
use crate::{Cutoff, RegisteredAgent, RetentionKind, RetentionPlan};

const NOW: i64 = 1_800_000_000_000;

fn msg(id: u32, from: &str, to: &str, created_ms: i64) -> MailMessage {
    MailMessage {
        id: format!("msg_{id:032x}"),
        sender: from.into(),
        recipient: to.into(),
        kind: "message".into(),
        topic: Some("ci".into()),
        thread: format!("msg_{id:032x}"),
        reply_to: None,
        body: r#"[{"text":"hi"}]"#.into(),
        sealed: false,
        size: 15,
        signature: "h..s".into(),
        created: "2027-01-15T08:00:00.000Z".into(),
        created_ms,
        read_ms: None,
        acked_ms: None,
    }
}

fn send(m: MailMessage, key: Option<(&str, u8)>) -> NewMail {
    NewMail {
        message: m,
        check: SendCheck::Grant,
        key: key.map(|(k, d)| NewMailKey {
            key: k.into(),
            digest: vec![d; 32],
            expires_ms: NOW + 1000,
        }),
        now_ms: NOW,
        max_messages: 3,
        max_bytes: 1000,
    }
}

fn grant(recipient: &str, sender: &str, topics: &[&str]) -> MailGrant {
    MailGrant {
        recipient: recipient.into(),
        sender: sender.into(),
        topics: topics.iter().map(|t| t.to_string()).collect(),
        request_id: None,
        created_ms: NOW,
        expires_ms: NOW + 10_000,
        revoked_ms: None,
    }
}

store_test! {
    async fn a_send_needs_a_live_grant_covering_its_topic(s) {
        let m = || msg(1, "alice", "bob", NOW);
        assert_eq!(s.mail_send(&send(m(), None)).await.expect("send"), MailSendOutcome::NotGranted);
        s.mail_grant_put(&grant("bob", "alice", &["other"]), NOW).await.expect("grant");
        assert_eq!(s.mail_send(&send(m(), None)).await.expect("send"), MailSendOutcome::NotGranted);
        s.mail_grant_put(&grant("bob", "alice", &["ci"]), NOW).await.expect("grant");
        assert_eq!(s.mail_send(&send(m(), None)).await.expect("send"), MailSendOutcome::Stored);
        assert_eq!(s.mail_get(&m().id).await.expect("get"), Some(m()));
        assert!(s.mail_grant_revoke("bob", "alice", NOW).await.expect("revoke"));
        let next = send(msg(2, "alice", "bob", NOW), None);
        assert_eq!(s.mail_send(&next).await.expect("send"), MailSendOutcome::NotGranted);
        // Expired.
        let mut g = grant("bob", "alice", &[]);
        g.expires_ms = NOW;
        s.mail_grant_put(&g, NOW).await.expect("grant");
        assert_eq!(s.mail_send(&next).await.expect("send"), MailSendOutcome::NotGranted);
        assert!(s.mail_grants("bob", true, NOW).await.expect("list").is_empty());
    }
}

store_test! {
    async fn keys_answer_retries_and_refuse_other_content(s) {
        s.mail_grant_put(&grant("bob", "alice", &[]), NOW).await.expect("grant");
        let first = send(msg(1, "alice", "bob", NOW), Some(("k", 1)));
        assert_eq!(s.mail_send(&first).await.expect("send"), MailSendOutcome::Stored);
        let retry = send(msg(2, "alice", "bob", NOW), Some(("k", 1)));
        let MailSendOutcome::Duplicate(d) = s.mail_send(&retry).await.expect("retry") else {
            panic!("a duplicate");
        };
        assert_eq!(d.message_id, first.message.id);
        let other = send(msg(3, "alice", "bob", NOW), Some(("k", 2)));
        assert_eq!(s.mail_send(&other).await.expect("send"), MailSendOutcome::KeyConflict);
        assert_eq!(s.mail_counts("bob").await.expect("counts").0, 1);
        // Spent: the key is taken anew.
        let mut later = send(msg(4, "alice", "bob", NOW + 1000), Some(("k", 2)));
        later.now_ms = NOW + 1000;
        later.key.as_mut().expect("key").expires_ms = NOW + 2000;
        assert_eq!(s.mail_send(&later).await.expect("send"), MailSendOutcome::Stored);
    }
}

store_test! {
    async fn quotas_count_messages_and_bytes(s) {
        s.mail_grant_put(&grant("bob", "alice", &[]), NOW).await.expect("grant");
        for i in 0..3 {
            let out = s.mail_send(&send(msg(i, "alice", "bob", NOW), None)).await.expect("send");
            assert_eq!(out, MailSendOutcome::Stored);
        }
        let full = s.mail_send(&send(msg(9, "alice", "bob", NOW), None)).await.expect("send");
        assert_eq!(full, MailSendOutcome::InboxFull);
        assert!(s.mail_delete("bob", &msg(0, "", "", 0).id).await.expect("delete"));
        let mut huge = send(msg(9, "alice", "bob", NOW), None);
        huge.message.size = 990;
        assert_eq!(s.mail_send(&huge).await.expect("send"), MailSendOutcome::InboxFull);
        assert_eq!(s.mail_counts("bob").await.expect("counts"), (2, 30, 2));
    }
}

store_test! {
    async fn requests_to_nobody_or_a_full_inbox_go_to_the_void(s) {
        s.put_agent(&RegisteredAgent {
            id: "bob".into(),
            display_name: "bob".into(),
            jwks: None,
            jwks_url: None,
            grants: "{}".into(),
            created_at: "x".into(),
            tls_subject: None,
        })
        .await
        .expect("agent");
        let req = |id, to: &str, known| {
            let mut n = send(msg(id, "alice", to, NOW), None);
            n.message.kind = "access_request".into();
            n.check = SendCheck::Request { known };
            n
        };
        use MailSendOutcome::{Stored, Voided};
        for (id, to, known, want) in [
            (1, "bob", false, Stored),
            (2, "nobody", false, Voided),
            (3, "bridged", true, Stored),
        ] {
            assert_eq!(s.mail_send(&req(id, to, known)).await.expect("send"), want);
        }
        assert_eq!(s.mail_counts("bob").await.expect("c").0, 1);
        assert_eq!(s.mail_counts("bridged").await.expect("c").0, 1);
        assert_eq!(s.mail_counts("nobody").await.expect("c").0, 0);
        assert_eq!(s.mail_counts(VOID_RECIPIENT).await.expect("c").0, 1);
        // bob's inbox at its quota of 3: a request still "succeeds".
        for id in 4..6 {
            s.mail_send(&req(id, "bob", false)).await.expect("send");
        }
        assert_eq!(s.mail_send(&req(7, "bob", false)).await.expect("send"), Voided);
        assert_eq!(s.mail_counts("bob").await.expect("c").0, 3);
        assert_eq!(s.mail_counts(VOID_RECIPIENT).await.expect("c").0, 2);
    }
}

store_test! {
    async fn an_inbox_lists_filters_pages_and_marks(s) {
        s.mail_grant_put(&grant("bob", "alice", &[]), NOW).await.expect("grant");
        s.mail_grant_put(&grant("bob", "carol", &[]), NOW).await.expect("grant");
        let mut many = send(msg(0, "alice", "bob", NOW), None);
        many.max_messages = 100;
        for (i, from, at) in [(1, "alice", 5), (2, "carol", 5), (3, "alice", 7), (4, "alice", 1)] {
            many.message = msg(i, from, "bob", NOW + at);
            s.mail_send(&many).await.expect("send");
        }
        let ids = |p: &MailPage| p.messages.iter().map(|m| m.id.clone()).collect::<Vec<_>>();
        let f = MailFilter { recipient: "bob".into(), limit: 2, ..MailFilter::default() };
        let p = s.mail_inbox(&f).await.expect("page");
        assert_eq!(ids(&p), [msg(4, "", "", 0).id, msg(1, "", "", 0).id]);
        assert!(p.more);
        let last = p.messages.last().expect("last");
        let next = MailFilter { after: Some((last.created_ms, last.id.clone())), ..f.clone() };
        let p = s.mail_inbox(&next).await.expect("page");
        assert_eq!(ids(&p), [msg(2, "", "", 0).id, msg(3, "", "", 0).id]);
        assert!(!p.more);
        let from = MailFilter { from: Some("carol".into()), limit: 10, ..f.clone() };
        assert_eq!(ids(&s.mail_inbox(&from).await.expect("page")), [msg(2, "", "", 0).id]);
        let newest = MailFilter { newest_first: true, limit: 1, ..f.clone() };
        assert_eq!(ids(&s.mail_inbox(&newest).await.expect("page")), [msg(3, "", "", 0).id]);

        let read = s.mail_mark("bob", &msg(3, "", "", 0).id, false, NOW + 9).await.expect("mark");
        assert_eq!(read.expect("found").read_ms, Some(NOW + 9));
        let acked = s.mail_mark("bob", &msg(3, "", "", 0).id, true, NOW + 10).await.expect("mark");
        let acked = acked.expect("found");
        assert_eq!((acked.read_ms, acked.acked_ms), (Some(NOW + 9), Some(NOW + 10)));
        assert_eq!(s.mail_mark("carol", &msg(3, "", "", 0).id, true, NOW).await.expect("mark"), None);
        let unread = MailFilter { state: MailState::Unread, limit: 10, ..f.clone() };
        assert_eq!(s.mail_inbox(&unread).await.expect("page").messages.len(), 3);
        let unacked = MailFilter { state: MailState::Unacked, limit: 10, ..f };
        assert_eq!(s.mail_inbox(&unacked).await.expect("page").messages.len(), 3);
    }
}

store_test! {
    async fn keys_are_published_and_replaced(s) {
        let k = |kid: &str| MailKey {
            address: "bob".into(),
            kid: kid.into(),
            jwk: format!(r#"{{"kid":"{kid}"}}"#),
            published_ms: NOW,
        };
        assert_eq!(s.mail_key("bob").await.expect("get"), None);
        s.mail_key_put(&k("a")).await.expect("put");
        s.mail_key_put(&k("b")).await.expect("put");
        assert_eq!(s.mail_key("bob").await.expect("get"), Some(k("b")));
    }
}

store_test! {
    async fn retention_removes_old_messages_spent_keys_and_ended_grants(s) {
        // The cutoff is NOW; rows are a second either side of it.
        let (old, new) = (NOW - 1000, NOW + 1000);
        s.mail_grant_put(&grant("bob", "alice", &[]), NOW).await.expect("grant");
        let mut g = grant("bob", "carol", &[]);
        g.expires_ms = old;
        s.mail_grant_put(&g, NOW).await.expect("grant");
        let mut g = grant("bob", "dave", &[]);
        g.revoked_ms = Some(old);
        s.mail_grant_put(&g, NOW).await.expect("grant");
        for (i, at, k) in [(1, old, "k1"), (2, new, "k2")] {
            let mut n = send(msg(i, "alice", "bob", at), Some((k, 1)));
            n.key.as_mut().expect("key").expires_ms = at;
            n.now_ms = at - 1;
            assert_eq!(s.mail_send(&n).await.expect("send"), MailSendOutcome::Stored);
        }
        let plan = RetentionPlan {
            mail: Some(Cutoff::at_unix(NOW / 1000)),
            ..RetentionPlan::default()
        };
        let dry = s.apply_retention(&plan, true).await.expect("dry");
        let removed = s.apply_retention(&plan, false).await.expect("run");
        assert_eq!(dry, removed);
        assert_eq!(
            removed,
            [
                (RetentionKind::MailMessages, 1),
                (RetentionKind::MailIdempotency, 1),
                (RetentionKind::MailGrants, 2),
            ]
        );
        assert!(s.mail_get(&msg(2, "", "", 0).id).await.expect("get").is_some());
        assert!(s.mail_grant("bob", "alice").await.expect("get").is_some());
    }
}

store_test! {
    async fn concurrent_sends_keep_the_quota_and_one_copy_per_key(db: TestDb) {
        // Several handles (gateways) and many sends at once: on SQLite they
        // share transactions in the writer, on PostgreSQL they race.
        let s = db.open().await;
        s.mail_grant_put(&grant("bob", "alice", &[]), NOW).await.expect("grant");
        let other = db.open().await;
        let mut tasks = Vec::new();
        for i in 0..40u32 {
            let store = if i % 2 == 0 { s.clone() } else { other.clone() };
            let mut n = send(msg(i, "alice", "bob", NOW), None);
            n.max_messages = 25;
            tasks.push(tokio::spawn(async move { store.mail_send(&n).await }));
        }
        for i in 100..110u32 {
            let store = if i % 2 == 0 { s.clone() } else { other.clone() };
            let mut n = send(msg(i, "alice", "carol", NOW), Some(("same", 7)));
            n.check = SendCheck::Request { known: true };
            tasks.push(tokio::spawn(async move { store.mail_send(&n).await }));
        }
        let mut outcomes = Vec::new();
        for t in tasks {
            outcomes.push(t.await.expect("task").expect("send"));
        }
        let count = |f: &dyn Fn(&MailSendOutcome) -> bool| outcomes.iter().filter(|o| f(o)).count();
        assert_eq!(count(&|o| *o == MailSendOutcome::InboxFull), 15);
        assert_eq!(count(&|o| matches!(o, MailSendOutcome::Duplicate(_))), 9);
        assert_eq!(count(&|o| o.wrote()), 26);
        assert_eq!(s.mail_counts("bob").await.expect("counts").0, 25);
        assert_eq!(s.mail_counts("carol").await.expect("counts").0, 1);
    }
}

store_test! {
    async fn a_listed_message_is_exactly_the_stored_one(s) {
        // On SQLite a page travels as JSON (json_group_array): every
        // column, nulls and awkward text included, must come back as is.
        s.mail_grant_put(&grant("bob", "alice", &[]), NOW).await.expect("grant");
        let mut m = msg(1, "alice", "bob", i64::from(i32::MAX) * 1000);
        m.topic = None;
        m.reply_to = Some(msg(9, "", "", 0).id);
        m.body = "[{\"text\":\"quotes \\\" and \\\\ é 😀 \\n\\u0000 end\"}]".into();
        m.sealed = true;
        let mut n = send(m.clone(), None);
        n.message.read_ms = None;
        s.mail_send(&n).await.expect("send");
        s.mail_mark("bob", &m.id, true, NOW).await.expect("mark");
        let stored = s.mail_get(&m.id).await.expect("get").expect("found");
        let f = MailFilter { recipient: "bob".into(), limit: 5, ..MailFilter::default() };
        let page = s.mail_inbox(&f).await.expect("page");
        assert_eq!(page.messages, [stored]);
        assert!(!page.more);
        let empty = MailFilter { recipient: "nobody".into(), limit: 5, ..MailFilter::default() };
        assert!(s.mail_inbox(&empty).await.expect("page").messages.is_empty());
    }
}

/// The counts the quota reads (`mail_boxes`) against a count of the inbox.
async fn counts_agree(s: &crate::Store, address: &str) -> (i64, i64) {
    use crate::backend::either;
    let kept: Option<(i64, i64)> = either!(Db, &s.db, pool => {
        sqlx::query_as("SELECT messages, bytes FROM mail_boxes WHERE address = $1")
            .bind(address)
            .fetch_optional(pool)
            .await
            .expect("read")
    });
    let (n, bytes, _) = s.mail_counts(address).await.expect("counts");
    assert_eq!(kept.unwrap_or((0, 0)), (n, bytes), "{address}");
    (n, bytes)
}

store_test! {
    async fn inbox_counts_follow_every_insert_and_delete(s) {
        s.mail_grant_put(&grant("bob", "alice", &[]), NOW).await.expect("grant");
        for i in 0..3 {
            let mut n = send(msg(i, "alice", "bob", NOW - 5000 + i64::from(i) * 5000), None);
            n.message.size = 10 + i64::from(i);
            s.mail_send(&n).await.expect("send");
        }
        assert_eq!(counts_agree(&s, "bob").await, (3, 33));
        assert!(s.mail_delete("bob", &msg(2, "", "", 0).id).await.expect("delete"));
        assert_eq!(counts_agree(&s, "bob").await, (2, 21));
        let plan = RetentionPlan {
            mail: Some(Cutoff::at_unix(NOW / 1000)),
            ..RetentionPlan::default()
        };
        s.apply_retention(&plan, false).await.expect("retention");
        assert_eq!(counts_agree(&s, "bob").await, (1, 11));
        // A full inbox by the counts: the quota of 3 holds after deletes.
        for i in 10..12 {
            s.mail_send(&send(msg(i, "alice", "bob", NOW), None)).await.expect("send");
        }
        let full = s.mail_send(&send(msg(20, "alice", "bob", NOW), None)).await.expect("send");
        assert_eq!(full, MailSendOutcome::InboxFull);
    }
}

store_test! {
    async fn version_12_counts_the_inboxes_version_11_holds(db: TestDb) {
        use crate::backend::either;
        let s = db.open_at(11).await;
        for (i, to) in [(0, "bob"), (1, "bob"), (2, "carol")] {
            let m = msg(i, "alice", to, NOW);
            either!(Db, &s.db, pool => {
                sqlx::query(
                    "INSERT INTO mail_messages (id, sender, recipient, kind, thread, body, sealed,
                         size, signature, created, created_ms)
                     VALUES ($1, $2, $3, 'message', $1, $4, 0, $5, 'h..s', 'x', $6)",
                )
                .bind(&m.id)
                .bind(&m.sender)
                .bind(&m.recipient)
                .bind(&m.body)
                .bind(m.size)
                .bind(m.created_ms)
                .execute(pool)
                .await
                .expect("insert at version 11");
            });
        }
        s.migrate_fully().await.expect("migrate");
        assert_eq!(counts_agree(&s, "bob").await, (2, 30));
        assert_eq!(counts_agree(&s, "carol").await, (1, 15));
        s.mail_grant_put(&grant("bob", "alice", &[]), NOW).await.expect("grant");
        s.mail_send(&send(msg(5, "alice", "bob", NOW), None)).await.expect("send");
        assert_eq!(counts_agree(&s, "bob").await, (3, 45));
    }
}

store_test! {
    async fn an_export_moves_the_mailbox_and_the_import_rebuilds_the_counts(db: TestDb) {
        let source = db.open().await;
        source.mail_grant_put(&grant("bob", "alice", &["ci"]), NOW).await.expect("grant");
        let mut keyed = send(msg(1, "alice", "bob", NOW), Some(("k", 3)));
        keyed.message.size = 20;
        source.mail_send(&keyed).await.expect("send");
        source.mail_send(&send(msg(2, "alice", "bob", NOW + 1), None)).await.expect("send");
        source
            .mail_key_put(&MailKey {
                address: "bob".into(),
                kid: "k1".into(),
                jwk: "{}".into(),
                published_ms: NOW,
            })
            .await
            .expect("key");
        let mut file = Vec::new();
        source.export(&mut file, crate::ExportOptions::default()).await.expect("export");
        assert!(!String::from_utf8_lossy(&file).contains("mail_boxes"), "derived: not exported");

        let target_db = match &db {
            TestDb::Sqlite(_) => TestDb::postgres().await,
            TestDb::Postgres(_) => TestDb::sqlite().await,
        };
        let target = target_db.open().await;
        target.import(file.as_slice(), |_, _| Ok(())).await.expect("import");
        assert_eq!(counts_agree(&target, "bob").await, (2, 35));
        for id in [1, 2] {
            let id = msg(id, "", "", 0).id;
            assert_eq!(
                target.mail_get(&id).await.expect("get"),
                source.mail_get(&id).await.expect("get")
            );
        }
        assert_eq!(
            target.mail_grant("bob", "alice").await.expect("grant"),
            source.mail_grant("bob", "alice").await.expect("grant")
        );
        assert_eq!(target.mail_key("bob").await.expect("key").map(|k| k.kid).as_deref(), Some("k1"));
        // The key still answers a retry on the target.
        let retry = send(msg(7, "alice", "bob", NOW), Some(("k", 3)));
        assert!(matches!(
            target.mail_send(&retry).await.expect("retry"),
            MailSendOutcome::Duplicate(_)
        ));
    }
}

store_test! {
    async fn marks_and_deletes_mix_with_sends(db: TestDb) {
        // On SQLite all of them go through the writer, in shared batches.
        let s = db.open().await;
        s.mail_grant_put(&grant("bob", "alice", &[]), NOW).await.expect("grant");
        for i in 0..20 {
            let mut n = send(msg(i, "alice", "bob", NOW), None);
            n.max_messages = 100;
            assert!(s.mail_send(&n).await.expect("send").wrote());
        }
        let mut tasks = Vec::new();
        for i in 0..30u32 {
            let s = s.clone();
            tasks.push(tokio::spawn(async move {
                let id = msg(i % 20, "", "", 0).id;
                match i {
                    0..10 => assert!(s.mail_mark("bob", &id, i % 2 == 0, NOW + 1).await.expect("mark").is_some()),
                    10..20 => assert!(s.mail_delete("bob", &id).await.expect("delete")),
                    _ => {
                        let mut n = send(msg(100 + i, "alice", "bob", NOW), None);
                        n.max_messages = 100;
                        assert!(s.mail_send(&n).await.expect("send").wrote());
                    }
                }
            }));
        }
        for t in tasks {
            t.await.expect("task");
        }
        assert_eq!(counts_agree(&s, "bob").await.0, 20);
        let (_, _, unread) = s.mail_counts("bob").await.expect("counts");
        assert_eq!(unread, 10, "10 of the 20 left were marked read");
        assert!(!s.mail_delete("bob", &msg(10, "", "", 0).id).await.expect("again"));
        assert_eq!(s.mail_mark("bob", &msg(10, "", "", 0).id, true, NOW).await.expect("gone"), None);
    }
}
