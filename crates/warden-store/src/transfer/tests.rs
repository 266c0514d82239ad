use sqlx::AssertSqlSafe;

use super::tables::{Kind, TABLES};
use super::{ExportOptions, TransferError};
use crate::backend::{Db, either};
use crate::testing::{TestDb, store_test};
use crate::{
    ApiKeyRecord, AuditRecord, CardPin, CardReview, GrantRecord, OwnershipWrite, PushConfigRecord,
    RegisteredAgent, SCHEMA_VERSION, SigningKeyRecord, Store, TaskRecord,
};

const AT: &str = "2026-05-01T12:00:00.000Z";

fn event(i: usize, detail: &str) -> AuditRecord {
    AuditRecord {
        at: format!("2026-05-01T12:00:0{i}.000Z"),
        kind: "request".into(),
        agent: Some("echo".into()),
        operation: i.is_multiple_of(2).then(|| "SendMessage".into()),
        binding: None,
        outcome: "forwarded".into(),
        reason: None,
        source: Some("127.0.0.1".into()),
        principal: Some("planner".into()),
        task_id: Some(format!("t{i}")),
        detail: Some(detail.into()),
    }
}

/// A row in every table, with NULLs and without, text that needs escaping
/// (quotes, backslashes, newlines, control characters, non-ASCII), every
/// byte value, and the extremes of 64-bit integers.
async fn fill(s: &Store) {
    s.put_setting("authority.issuer", "https://warden.example")
        .await
        .expect("setting");
    for (id, jwks, tls) in [
        (
            "planner",
            Some(r#"{"keys":[{"kty":"OKP","crv":"Ed25519","x":"AA"}]}"#),
            Some("spiffe://example.org/planner"),
        ),
        ("zed \"quoted\" \\ ✓", None, None),
    ] {
        s.put_agent(&RegisteredAgent {
            id: id.into(),
            display_name: format!("{id}\nsecond line\t\u{1}"),
            jwks: jwks.map(str::to_owned),
            jwks_url: None,
            grants: "{}".into(),
            tls_subject: tls.map(str::to_owned),
            created_at: AT.into(),
        })
        .await
        .expect("agent");
    }
    for (id, expires_at, revoked_at) in [
        ("k_live", None, None),
        ("k_max", Some(i64::MAX), None),
        ("k_revoked", Some(i64::MIN), Some(AT.to_string())),
    ] {
        s.put_api_key(&ApiKeyRecord {
            id: id.into(),
            subject: "planner".into(),
            hash: (0..=255u8).rev().collect(),
            created_at: AT.into(),
            expires_at,
            revoked_at,
            last_used_at: None,
        })
        .await
        .expect("api key");
    }
    s.touch_api_key("k_live", AT).await.expect("touch");
    for kid in ["tok-1", "card-tok-1"] {
        s.put_signing_key(&SigningKeyRecord {
            kid: kid.into(),
            alg: "EdDSA".into(),
            sealed: vec![0, 1, 2, 254, 255, 0],
            created_at: 1_777_636_800,
            retire_at: 1_777_723_200,
            expires_at: i64::MAX,
        })
        .await
        .expect("signing key");
    }
    s.put_grant(&GrantRecord {
        id: "g_0001".into(),
        caller: "planner".into(),
        target: "echo".into(),
        skills: vec!["echo".into(), "summarise ✓".into()],
        operations: vec!["send".into(), "get".into()],
        tasks_of: Some("zed".into()),
        not_before: Some(0),
        not_after: Some(4_102_444_800),
        created_at: AT.into(),
        revoked_at: None,
        note: Some("ticket \"OPS-1\"".into()),
    })
    .await
    .expect("grant");
    s.put_grant(&GrantRecord {
        id: "g_0002".into(),
        caller: "https://idp.example#svc".into(),
        target: "slow".into(),
        skills: vec!["*".into()],
        operations: vec!["send".into()],
        tasks_of: None,
        not_before: None,
        not_after: None,
        created_at: AT.into(),
        revoked_at: None,
        note: None,
    })
    .await
    .expect("grant");
    s.revoke_grant("g_0002", AT).await.expect("revoke");
    s.quarantine_add("mallory", "leaked key\nsee OPS-2", "cli", AT)
        .await
        .expect("quarantine");
    s.put_card_pin(&CardPin {
        agent: "echo".into(),
        digest: "ab".repeat(32),
        card: r#"{"name":"Echo ✓","description":"says \"hi\""}"#.into(),
        key_thumbprints: r#"["kid:a"]"#.into(),
        pinned_at: AT.into(),
    })
    .await
    .expect("pin");
    s.raise_card_review(&CardReview {
        id: "r_1".into(),
        agent: "echo".into(),
        digest: "cd".repeat(32),
        card: "{}".into(),
        key_thumbprints: "[]".into(),
        changes: r#"["description"]"#.into(),
        status: "pending".into(),
        raised_at: AT.into(),
        decided_at: None,
    })
    .await
    .expect("review");
    s.record_ownership(&[
        OwnershipWrite {
            agent: "echo".into(),
            task_id: Some("t1".into()),
            context_id: Some("c1".into()),
            owner: "planner".into(),
        },
        OwnershipWrite {
            agent: "echo".into(),
            task_id: Some("t2".into()),
            context_id: None,
            owner: "planner".into(),
        },
        OwnershipWrite {
            agent: "echo".into(),
            task_id: None,
            context_id: Some("c2".into()),
            owner: "https://idp.example#svc".into(),
        },
    ])
    .await
    .expect("owners");
    s.put_task(&TaskRecord {
        agent: "echo".into(),
        id: "t1".into(),
        context_id: "c1".into(),
        state: "TASK_STATE_COMPLETED".into(),
        status_timestamp: AT.into(),
        body: format!(r#"{{"id":"t1","text":"{}"}}"#, "é𝄞\\n".repeat(1000)),
    })
    .await
    .expect("task");
    s.put_push_config(&PushConfigRecord {
        agent: "echo".into(),
        task_id: "t1".into(),
        id: "p1".into(),
        body: r#"{"url":"https://hooks.example/1"}"#.into(),
    })
    .await
    .expect("push config");
    fill_outbox(s).await;
    let events: Vec<AuditRecord> = (0..5)
        .map(|i| event(i, r#"{"note":"tab\t, quote \", nl \n, ✓"}"#))
        .collect();
    s.append_audit(&events).await.expect("audit");
    // The last number handed out is past the last row (retention removed
    // it, say): the target must not hand it out again.
    either!(Db, &s.db, pool => {
        sqlx::query("DELETE FROM audit_events WHERE seq = (SELECT MAX(seq) FROM audit_events)")
            .execute(pool)
            .await
            .expect("delete the last event");
    });
}

/// Two push notifications: one leased after a failed attempt (a lease
/// owner and an error on record), one waiting behind it (NULLs), with every
/// byte value in a body and the extremes of the clock.
async fn fill_outbox(s: &Store) {
    for (created_ms, body) in [(0, (0..=255u8).collect()), (i64::MAX, b"{}".to_vec())] {
        s.outbox_enqueue(&crate::NewNotification {
            subscription_id: "sub \"1\" ✓".into(),
            task_id: "t1".into(),
            destination: "https://hooks.example/in?x=1".into(),
            body,
            created_ms,
        })
        .await
        .expect("enqueue");
    }
    let claim = |now_ms| crate::Claim {
        origin: "https://hooks.example:443",
        worker: "w_1",
        now_ms,
        lease_until_ms: now_ms + 1,
        limit: 5,
    };
    let first = s.outbox_claim(&claim(1)).await.expect("claim");
    assert_eq!(first.len(), 1, "the second waits for the first");
    let failed = crate::Settle::Retry {
        next_attempt_ms: 5,
        error: "503 \"busy\"\nline".into(),
    };
    let settled = crate::Settlement::of(&first[0], 2, failed);
    s.outbox_settle("w_1", &[settled]).await.expect("settle");
    assert_eq!(s.outbox_claim(&claim(10)).await.expect("again").len(), 1);
}

async fn export(s: &Store, options: ExportOptions) -> Vec<u8> {
    let mut out = Vec::new();
    s.export(&mut out, options).await.expect("export");
    out
}

/// Everything after the header: the rows and the closing line.
fn body(file: &[u8]) -> Vec<String> {
    let text = std::str::from_utf8(file).expect("UTF-8");
    text.lines().skip(1).map(str::to_owned).collect()
}

fn no_check(_: &str, _: &[u8]) -> Result<(), String> {
    Ok(())
}

/// A database of the other engine.
async fn other_engine(db: &TestDb) -> TestDb {
    match db {
        TestDb::Sqlite(_) => TestDb::postgres().await,
        TestDb::Postgres(_) => TestDb::sqlite().await,
    }
}

async fn last_seq(s: &Store) -> i64 {
    let seq: Option<i64> = either!(Db, &s.db, pool => {
        sqlx::query_scalar("SELECT MAX(seq) FROM audit_events")
            .fetch_one(pool)
            .await
            .expect("max seq")
    });
    seq.unwrap_or(0)
}

async fn all_empty(s: &Store) -> bool {
    s.row_counts()
        .await
        .expect("counts")
        .iter()
        .all(|(_, n)| *n == Some(0))
}

store_test! {
    async fn an_export_moves_to_the_other_engine_exactly(db: TestDb) {
        let source = db.open().await;
        fill(&source).await;
        let file = export(&source, ExportOptions::default()).await;

        let target_db = other_engine(&db).await;
        let target = target_db.open().await;
        let read = target.import(file.as_slice(), no_check).await.expect("import");
        assert_eq!(read.schema_version, SCHEMA_VERSION);
        assert_eq!(read.total_rows(), 25, "{read:?}");

        // Every column of every row, in the same order: the target exports
        // exactly what the source did.
        let again = export(&target, ExportOptions::default()).await;
        assert_eq!(body(&again), body(&file));
        let header: serde_json::Value =
            serde_json::from_slice(file.split(|b| *b == b'\n').next().expect("header"))
                .expect("JSON header");
        let source_engine = match db {
            TestDb::Sqlite(_) => "sqlite",
            TestDb::Postgres(_) => "postgres",
        };
        assert_eq!(header["source"], source_engine);
        assert_eq!(header["schema_version"], SCHEMA_VERSION);

        // What gateways read, read back the same.
        assert_eq!(
            target.list_grants(None, None, true).await.expect("grants"),
            source.list_grants(None, None, true).await.expect("grants")
        );
        assert_eq!(
            target.api_key("k_revoked").await.expect("key"),
            source.api_key("k_revoked").await.expect("key")
        );
        assert_eq!(
            target.signing_keys().await.expect("keys"),
            source.signing_keys().await.expect("keys")
        );
        assert_eq!(target.quarantined().await.expect("q"), source.quarantined().await.expect("q"));

        // The generation moved with the rows and was announced to this
        // process (and, for a file, in its -changes file).
        let generation = source.authz_generation().await.expect("generation");
        assert!(generation > 0);
        assert_eq!(target.authz_generation().await.expect("generation"), generation);
        assert_eq!(target.announced_generation(), generation);

        // Audit numbers carry on from the last one handed out, not the
        // last row kept.
        assert_eq!(last_seq(&target).await, 4);
        target.append_audit(&[event(9, "after")]).await.expect("append");
        source.append_audit(&[event(9, "after")]).await.expect("append");
        assert_eq!(last_seq(&target).await, 6);
        assert_eq!(last_seq(&source).await, 6);
    }
}

store_test! {
    async fn without_audit_every_other_table_moves(db: TestDb) {
        let source = db.open().await;
        fill(&source).await;
        let file = export(&source, ExportOptions { audit: false }).await;
        let text = String::from_utf8(file.clone()).expect("UTF-8");
        assert!(!text.contains("\"table\":\"audit_events\""));
        assert!(!text.contains("audit_last_seq"));
        let target_db = other_engine(&db).await;
        let target = target_db.open().await;
        let read = target.import(file.as_slice(), no_check).await.expect("import");
        assert!(read.rows.iter().all(|(t, _)| t != "audit_events"));
        assert_eq!(last_seq(&target).await, 0);
        let full = export(&source, ExportOptions::default()).await;
        let moved = export(&target, ExportOptions::default()).await;
        let not_audit = |lines: Vec<String>| -> Vec<String> {
            lines
                .into_iter()
                .filter(|l| l.starts_with("{\"table\":") && !l.contains("\"audit_events\""))
                .collect()
        };
        assert_eq!(not_audit(body(&moved)), not_audit(body(&full)));
    }
}

store_test! {
    async fn only_an_empty_store_takes_an_import(s) {
        fill(&s).await;
        let file = export(&s, ExportOptions::default()).await;
        let before = export(&s, ExportOptions::default()).await;
        match s.import(file.as_slice(), no_check).await {
            Err(e @ TransferError::NotEmpty(_)) => {
                assert!(e.is_refusal());
                let text = e.to_string();
                assert!(text.contains("settings: 2") && text.contains("grants: 2"), "{text}");
            }
            other => panic!("imported into a store with rows: {other:?}"),
        }
        assert_eq!(body(&export(&s, ExportOptions::default()).await), body(&before));

        // One setting is enough to refuse.
        let fresh = Store::open_in_memory().await.expect("open");
        fresh.put_setting("authority.issuer", "x").await.expect("setting");
        assert!(matches!(
            fresh.import(file.as_slice(), no_check).await,
            Err(TransferError::NotEmpty(_))
        ));
    }
}

/// Imports `file` into a fresh store of `db`'s engine; the error, after
/// checking that nothing was written.
async fn refused(db: &TestDb, file: &[u8]) -> TransferError {
    let fresh = match db {
        TestDb::Sqlite(_) => TestDb::sqlite().await,
        TestDb::Postgres(_) => TestDb::postgres().await,
    };
    let target = fresh.open().await;
    let e = target
        .import(file, no_check)
        .await
        .expect_err("the import is refused");
    assert!(all_empty(&target).await, "{e}: rows were left behind");
    e
}

fn edit(file: &[u8], f: impl FnOnce(&mut Vec<String>)) -> Vec<u8> {
    let mut lines: Vec<String> = std::str::from_utf8(file)
        .expect("UTF-8")
        .lines()
        .map(str::to_owned)
        .collect();
    f(&mut lines);
    let mut out = lines.join("\n").into_bytes();
    out.push(b'\n');
    out
}

store_test! {
    async fn a_damaged_file_imports_nothing(db: TestDb) {
        let source = db.open().await;
        fill(&source).await;
        let file = export(&source, ExportOptions::default()).await;
        let lines = file.iter().filter(|b| **b == b'\n').count() as u64;

        // Cut short: without its closing line, or in the middle of a line.
        let cut = edit(&file, |l| {
            l.pop();
        });
        let e = refused(&db, &cut).await;
        assert!(matches!(e, TransferError::Truncated(n) if n == lines - 1), "{e}");
        let e = refused(&db, &file[..file.len() / 2]).await;
        assert!(matches!(e, TransferError::Malformed { .. }), "{e}");

        // A row removed: the closing line's count disagrees.
        let e = refused(&db, &edit(&file, |l| {
            let i = l.iter().position(|x| x.contains("\"table\":\"grants\"")).expect("a grant");
            l.remove(i);
        }))
        .await;
        assert!(e.to_string().contains("counts 2 rows of grants, the file holds 1"), "{e}");

        // A value of the wrong kind, an unknown column, an unknown table,
        // bad base64, a line after the end: each named with its line.
        for (from, to, says) in [
            ("\"not_before\":0", "\"not_before\":\"0\"", "grants.not_before: expected an integer or null"),
            ("\"note\":null", "\"note\":null,\"extra\":1", "no column \"extra\""),
            ("\"table\":\"quarantine\"", "\"table\":\"quarantaine\"", "no table \"quarantaine\""),
            ("\"sealed\":\"AAEC/v8A\"", "\"sealed\":\"AAEC*v8A\"", "signing_keys.sealed: expected standard base64"),
        ] {
            let damaged = String::from_utf8(file.clone()).expect("UTF-8").replacen(from, to, 1);
            assert_ne!(damaged.as_bytes(), file.as_slice(), "{from} is in the file");
            let e = refused(&db, damaged.as_bytes()).await;
            assert!(
                matches!(&e, TransferError::Malformed { line, .. } if *line > 1) && e.to_string().contains(says),
                "{from}: {e}"
            );
        }
        // A row twice (the count adjusted): the store's key refuses it.
        let e = refused(&db, &edit(&file, |l| {
            let i = l.iter().position(|x| x.contains("\"table\":\"quarantine\"")).expect("a row");
            let row = l[i].clone();
            l.insert(i, row);
            let end = l.last_mut().expect("closing line");
            *end = end.replace("\"quarantine\":1", "\"quarantine\":2");
        }))
        .await;
        assert!(matches!(e, TransferError::Store(_)), "{e}");
        let e = refused(&db, &edit(&file, |l| l.push("{}".into()))).await;
        assert!(e.to_string().contains("after the closing line"), "{e}");

        // Not an export; another format version; another schema version.
        let e = refused(&db, b"{\"hello\":1}\n").await;
        assert!(matches!(e, TransferError::NotAnExport(_)), "{e}");
        let e = refused(&db, b"").await;
        assert!(matches!(e, TransferError::NotAnExport(_)), "{e}");
        let e = refused(&db, &edit(&file, |l| {
            l[0] = l[0].replace("\"format_version\":1", "\"format_version\":2");
        }))
        .await;
        assert!(matches!(e, TransferError::FormatVersion(2)), "{e}");
        for other in [SCHEMA_VERSION - 1, SCHEMA_VERSION + 1] {
            let e = refused(&db, &edit(&file, |l| {
                l[0] = l[0].replace(
                    &format!("\"schema_version\":{SCHEMA_VERSION}"),
                    &format!("\"schema_version\":{other}"),
                );
            }))
            .await;
            assert!(
                matches!(e, TransferError::FileSchema { found, .. } if found == other) && e.is_refusal(),
                "{e}"
            );
        }
    }
}

store_test! {
    async fn a_signing_key_the_check_refuses_stops_the_import(db: TestDb) {
        let source = db.open().await;
        fill(&source).await;
        let file = export(&source, ExportOptions::default()).await;
        let target_db = other_engine(&db).await;
        let target = target_db.open().await;
        let mut seen = Vec::new();
        let e = target
            .import(file.as_slice(), |kid, sealed| {
                seen.push((kid.to_string(), sealed.to_vec()));
                if kid == "tok-1" { Err("does not open".into()) } else { Ok(()) }
            })
            .await
            .expect_err("refused");
        assert!(matches!(&e, TransferError::SigningKey { kid, .. } if kid == "tok-1") && e.is_refusal(), "{e}");
        assert_eq!(seen[0], ("card-tok-1".to_string(), vec![0, 1, 2, 254, 255, 0]));
        assert!(all_empty(&target).await, "nothing is written");
        // Refused, the target takes the file as it would have.
        target.import(file.as_slice(), no_check).await.expect("import");
    }
}

store_test! {
    async fn only_a_store_at_this_schema_version_is_exported(db: TestDb) {
        let old = db.open_at(3).await;
        let mut out = Vec::new();
        match old.export(&mut out, ExportOptions::default()).await {
            Err(e @ TransferError::StoreSchema { found: 3, .. }) => {
                assert!(e.to_string().contains("warden store migrate"), "{e}");
            }
            other => panic!("exported an old schema: {other:?}"),
        }
        assert!(out.is_empty(), "nothing written");
    }
}

store_test! {
    async fn the_export_covers_every_table_and_column_of_the_schema(s) {
        // A migration that adds a table or a column fails this until
        // `tables.rs` (and docs/operations.md) list it.
        let live: Vec<(String, Vec<(String, String)>)> = match &s.db {
            Db::Sqlite(pool) => {
                let names: Vec<String> = sqlx::query_scalar(
                    "SELECT name FROM sqlite_master WHERE type = 'table'
                     AND name NOT LIKE 'sqlite_%' ORDER BY name",
                )
                .fetch_all(pool)
                .await
                .expect("tables");
                let mut out = Vec::new();
                for n in names {
                    let cols: Vec<(String, String)> = sqlx::query_as(AssertSqlSafe(format!(
                        "SELECT name, type FROM pragma_table_info('{n}') ORDER BY cid"
                    )))
                    .fetch_all(pool)
                    .await
                    .expect("columns");
                    out.push((n, cols));
                }
                out
            }
            Db::Postgres(pool) => {
                let names: Vec<String> = sqlx::query_scalar(
                    "SELECT table_name::text FROM information_schema.tables
                     WHERE table_schema = current_schema() AND table_name <> 'schema_versions'
                     ORDER BY table_name",
                )
                .fetch_all(pool)
                .await
                .expect("tables");
                let mut out = Vec::new();
                for n in names {
                    let cols: Vec<(String, String)> = sqlx::query_as(
                        "SELECT column_name::text, data_type::text FROM information_schema.columns
                         WHERE table_schema = current_schema() AND table_name = $1
                         ORDER BY ordinal_position",
                    )
                    .bind(&n)
                    .fetch_all(pool)
                    .await
                    .expect("columns");
                    out.push((n, cols));
                }
                out
            }
        };
        let kind_of = |t: &str| match t.to_ascii_lowercase().as_str() {
            "text" => Kind::Text,
            "integer" | "bigint" => Kind::Int,
            "blob" | "bytea" => Kind::Blob,
            other => panic!("a column of type {other}"),
        };
        let mut listed: Vec<(String, Vec<(String, Kind)>)> = TABLES
            .iter()
            .map(|t| {
                (
                    t.name.to_string(),
                    t.columns.iter().map(|(c, k)| (c.to_string(), *k)).collect(),
                )
            })
            .collect();
        listed.sort_by(|a, b| a.0.cmp(&b.0));
        let live: Vec<(String, Vec<(String, Kind)>)> = live
            .into_iter()
            .filter(|(t, _)| !crate::transfer::tables::DERIVED.contains(&t.as_str()))
            .map(|(t, cols)| (t, cols.into_iter().map(|(c, ty)| (c, kind_of(&ty))).collect()))
            .collect();
        assert_eq!(live, listed);
    }
}
