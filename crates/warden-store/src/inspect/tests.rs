use crate::testing::{TestDb, TestSchema, store_test};
use crate::{Location, SCHEMA_VERSION, Store, StoreError};

#[tokio::test]
async fn a_sqlite_file_is_looked_at_as_it_is_and_never_created() {
    let dir = tempfile::tempdir().expect("tempdir");
    let path = dir.path().join("nested").join("warden.db");
    let e = Store::open_unmigrated(&path).await.expect_err("no file");
    assert!(e.to_string().contains("no store there"), "{e}");
    let url = format!("sqlite://{}", path.display());
    assert!(Store::open_url_unmigrated(&url).await.is_err());
    assert!(!dir.path().join("nested").exists(), "nothing was created");

    drop(Store::open(&path).await.expect("create"));
    let s = Store::open_url_unmigrated(&url).await.expect("open");
    assert_eq!(s.schema_version().await.expect("version"), SCHEMA_VERSION);
    assert_eq!(
        s.location().await.expect("location"),
        Location::Sqlite { path: path.clone() }
    );
    assert_eq!(
        s.location().await.expect("location").to_string(),
        format!("SQLite {}", path.display())
    );
}

#[tokio::test]
async fn a_postgres_location_names_the_schema_and_never_a_password() {
    let schema = TestSchema::create().await;
    let s = Store::open_url_unmigrated(&schema.url())
        .await
        .expect("open");
    let Location::Postgres {
        host,
        port,
        schema: Some(name),
        user,
        ..
    } = s.location().await.expect("location")
    else {
        panic!("not PostgreSQL");
    };
    assert_eq!((host.as_str(), port), ("127.0.0.1", 5432));
    assert!(name.starts_with("warden_test_"), "{name}");
    assert!(!user.is_empty());
    // A password given in the URL is not part of the location.
    let with_password =
        schema
            .url()
            .replacen("postgres://postgres@", "postgres://postgres:hunter2@", 1);
    if let Ok(s) = Store::open_url_unmigrated(&with_password).await {
        let text = s.location().await.expect("location").to_string();
        let json = serde_json::to_string(&s.location().await.expect("location")).expect("JSON");
        assert!(
            !text.contains("hunter2") && !json.contains("hunter2"),
            "{text} {json}"
        );
    }
}

store_test! {
    async fn a_store_never_migrated_is_at_version_0_until_migrate(db: TestDb) {
        // A fresh PostgreSQL schema, or an empty SQLite file.
        let s = match &db {
            TestDb::Sqlite(dir) => {
                let path = dir.path().join("empty.db");
                std::fs::File::create(&path).expect("empty file");
                Store::open_unmigrated(&path).await.expect("open")
            }
            TestDb::Postgres(schema) => Store::open_url_unmigrated(&schema.url()).await.expect("open"),
        };
        assert_eq!(s.schema_version().await.expect("version"), 0);
        let counts = s.row_counts().await.expect("counts");
        assert!(counts.iter().all(|(_, n)| n.is_none()), "{counts:?}");
        assert_eq!(s.migrate().await.expect("migrate"), (0, SCHEMA_VERSION));
        assert_eq!(s.migrate().await.expect("again"), (SCHEMA_VERSION, SCHEMA_VERSION));
        let counts = s.row_counts().await.expect("counts");
        assert!(counts.iter().all(|(_, n)| *n == Some(0)), "{counts:?}");
    }
}

store_test! {
    async fn an_old_schema_migrates_from_its_version(db: TestDb) {
        let s = db.open_at(3).await;
        s.put_setting("authority.issuer", "x").await.expect("write at version 3");
        let counts = s.row_counts().await.expect("counts");
        let of = |name: &str| counts.iter().find(|(t, _)| *t == name).expect("listed").1;
        assert_eq!(of("settings"), Some(1));
        assert_eq!(of("grants"), None, "version 4 adds it");
        assert_eq!(s.migrate().await.expect("migrate"), (3, SCHEMA_VERSION));
        assert_eq!(s.schema_version().await.expect("version"), SCHEMA_VERSION);
    }
}

store_test! {
    async fn a_newer_schema_is_shown_and_never_migrated(db: TestDb) {
        let s = db.open().await;
        crate::schema::set_version(&s.db, SCHEMA_VERSION + 1).await.expect("newer");
        drop(s);
        let s = match &db {
            TestDb::Sqlite(dir) => Store::open_unmigrated(&dir.path().join("warden.db")).await,
            TestDb::Postgres(schema) => Store::open_url_unmigrated(&schema.url()).await,
        }
        .expect("opens as it is");
        assert_eq!(s.schema_version().await.expect("version"), SCHEMA_VERSION + 1);
        assert!(matches!(
            s.migrate().await,
            Err(StoreError::SchemaTooNew { found, known }) if found == SCHEMA_VERSION + 1 && known == SCHEMA_VERSION
        ));
        assert_eq!(s.schema_version().await.expect("version"), SCHEMA_VERSION + 1);
    }
}
