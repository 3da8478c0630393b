//! Storage and backplanes: SQLite, PostgreSQL, DynamoDB, Redis, NATS.

use super::*;

#[test]
fn sqlite_lives_in_the_data_dir_or_where_its_url_says() {
    let sqlite = |vars: &[(&str, &str)]| match config(vars).unwrap().storage {
        StorageConfig::Sqlite { path, .. } => path,
        other => panic!("{other:?}"),
    };
    assert_eq!(
        sqlite(&[("SMOOTH_AGENT_DATA_DIR", "/srv/sb")]),
        std::path::Path::new("/srv/sb/switchboard.db")
    );
    assert_eq!(
        sqlite(&[
            ("SMOOTH_AGENT_STORAGE", "SQLite"),
            ("SMOOTH_AGENT_DATABASE_URL", "sqlite:///var/lib/sb/chat.db"),
        ]),
        std::path::Path::new("/var/lib/sb/chat.db")
    );
    assert_eq!(
        sqlite(&[("SMOOTH_AGENT_DATABASE_URL", "sqlite://here.db")]),
        std::path::Path::new("here.db")
    );
    // DATABASE_URL belongs to PostgreSQL; SQLite ignores it.
    assert_eq!(
        sqlite(&[("DATABASE_URL", "postgres://x/y")]),
        std::path::Path::new("./data/switchboard.db")
    );
    assert!(matches!(
        config(&[("SMOOTH_AGENT_STORAGE", "memory")])
            .unwrap()
            .storage,
        StorageConfig::Memory
    ));
    for (url, says) in [
        (
            "postgres://app:hunter2@db/app",
            "SMOOTH_AGENT_STORAGE=postgres",
        ),
        ("sqlite::memory:", "SMOOTH_AGENT_STORAGE=memory"),
        ("sqlite://x.db?mode=ro", "no options"),
        ("sqlite://", "not a file"),
    ] {
        let err = config(&[("SMOOTH_AGENT_DATABASE_URL", url)]).unwrap_err();
        assert_eq!(err.var, "SMOOTH_AGENT_DATABASE_URL");
        assert!(err.to_string().contains(says), "{url}: {err}");
        assert!(!err.to_string().contains("hunter2"), "{err}");
    }
}

#[test]
fn postgres_needs_a_database_url_and_says_which() {
    let err = config(&[("SMOOTH_AGENT_STORAGE", "Postgres")]).unwrap_err();
    assert!(err.to_string().contains("SMOOTH_AGENT_DATABASE_URL"));
    assert!(err.to_string().contains("DATABASE_URL"));
    let c = config(&[
        ("SMOOTH_AGENT_STORAGE", "pg"),
        ("DATABASE_URL", "postgres://x/y"),
    ])
    .unwrap();
    let StorageConfig::Postgres { url, rank_fusion } = c.storage else {
        panic!()
    };
    assert_eq!(url.expose_secret(), "postgres://x/y");
    assert!(!rank_fusion, "score fusion unless asked");
}

#[test]
fn rank_fusion_is_a_postgres_option() {
    let pg = [
        ("SMOOTH_AGENT_STORAGE", "postgres"),
        ("DATABASE_URL", "postgres://x/y"),
    ];
    let with = |fusion| {
        let mut vars = pg.to_vec();
        vars.push(("SMOOTH_AGENT_KNOWLEDGE_FUSION", fusion));
        config(&vars)
    };
    let c = with("RRF").unwrap();
    assert!(matches!(
        c.storage,
        StorageConfig::Postgres {
            rank_fusion: true,
            ..
        }
    ));
    let err = with("borda").unwrap_err().to_string();
    assert!(
        err.contains("SMOOTH_AGENT_KNOWLEDGE_FUSION") && err.contains("borda"),
        "{err}"
    );
    let err = config(&[("SMOOTH_AGENT_KNOWLEDGE_FUSION", "rrf")]).unwrap_err();
    assert!(
        err.to_string().contains("SMOOTH_AGENT_STORAGE=postgres"),
        "{err}"
    );
}

#[test]
fn dynamodb_takes_a_table_and_an_optional_endpoint() {
    let c = config(&[("SMOOTH_AGENT_STORAGE", "DynamoDB")]).unwrap();
    let StorageConfig::DynamoDb { table, endpoint } = c.storage else {
        panic!()
    };
    assert_eq!((table.as_str(), endpoint), ("smooth-operator", None));
    let c = config(&[
        ("SMOOTH_AGENT_STORAGE", "ddb"),
        ("SMOOTH_AGENT_DDB_TABLE", "agents"),
        ("SMOOTH_AGENT_DDB_ENDPOINT", "http://127.0.0.1:8000"),
    ])
    .unwrap();
    let StorageConfig::DynamoDb { table, endpoint } = c.storage else {
        panic!()
    };
    assert_eq!(table, "agents");
    assert_eq!(endpoint.as_deref(), Some("http://127.0.0.1:8000"));
    let err = config(&[
        ("SMOOTH_AGENT_STORAGE", "dynamodb"),
        ("SMOOTH_AGENT_DDB_ENDPOINT", "127.0.0.1:8000"),
    ])
    .unwrap_err();
    assert_eq!(err.var, "SMOOTH_AGENT_DDB_ENDPOINT");
}

#[test]
fn backplanes() {
    let label = |vars: &[(&str, &str)]| config(vars).map(|c| c.backplane.label());
    assert_eq!(label(&[]).unwrap(), "memory");
    assert_eq!(
        label(&[("SMOOTH_AGENT_BACKPLANE", "InMemory")]).unwrap(),
        "memory"
    );
    assert_eq!(
        label(&[
            ("SMOOTH_AGENT_BACKPLANE", "valkey"),
            ("SMOOTH_AGENT_REDIS_URL", "redis://r:6379")
        ])
        .unwrap(),
        "redis"
    );
    assert_eq!(
        label(&[
            ("SMOOTH_AGENT_BACKPLANE", "nats"),
            ("SMOOTH_AGENT_BACKPLANE_URL", "nats://n:4222")
        ])
        .unwrap(),
        "nats"
    );
    let err = config(&[("SMOOTH_AGENT_BACKPLANE", "nats")]).unwrap_err();
    assert_eq!(err.var, "SMOOTH_AGENT_BACKPLANE_URL");
    assert!(err.to_string().contains("SMOOTH_AGENT_NATS_URL"), "{err}");
    let err = config(&[("SMOOTH_AGENT_BACKPLANE", "bogus")]).unwrap_err();
    assert_eq!(err.var, "SMOOTH_AGENT_BACKPLANE");
    assert!(
        err.to_string()
            .contains("expected: memory | redis | valkey | nats"),
        "{err}"
    );
    let debug = format!(
        "{:?}",
        config(&[
            ("SMOOTH_AGENT_BACKPLANE", "redis"),
            ("SMOOTH_AGENT_BACKPLANE_URL", "redis://:hunter2@r:6379")
        ])
        .unwrap()
    );
    assert!(!debug.contains("hunter2"), "the URL may hold a password");
}

#[test]
fn sqlite_takes_a_file_path() {
    let path = |vars: &[(&str, &str)]| match config(vars).map(|c| c.storage) {
        Ok(StorageConfig::Sqlite { path, .. }) => Ok(path),
        Ok(other) => panic!("{other:?}"),
        Err(e) => Err(e.to_string()),
    };
    let sqlite = ("SMOOTH_AGENT_STORAGE", "sqlite");
    assert_eq!(
        path(&[sqlite]).unwrap(),
        std::path::Path::new("./data/switchboard.db")
    );
    let url = |u| [sqlite, ("SMOOTH_AGENT_DATABASE_URL", u)];
    assert_eq!(
        path(&url("sqlite:///var/lib/sb/x.db")).unwrap(),
        std::path::Path::new("/var/lib/sb/x.db")
    );
    assert_eq!(
        path(&url("sqlite://rel/x.db")).unwrap(),
        std::path::Path::new("rel/x.db")
    );
    for bad in [
        "postgres://x/y",
        "sqlite://",
        "sqlite://:memory:",
        "sqlite://x.db?mode=ro",
    ] {
        let err = path(&url(bad)).unwrap_err();
        assert!(err.contains("SMOOTH_AGENT_DATABASE_URL"), "{bad}: {err}");
    }
}

#[test]
fn sqlite_durability_is_full_unless_process_is_asked_for() {
    let durability = |vars: &[(&str, &str)]| match config(vars).unwrap().storage {
        StorageConfig::Sqlite { durability, .. } => durability,
        other => panic!("{other:?}"),
    };
    assert_eq!(durability(&[]), SqliteDurability::Full);
    assert_eq!(
        durability(&[("SMOOTH_AGENT_SQLITE_DURABILITY", "Process")]),
        SqliteDurability::Process
    );
    let refused = config(&[("SMOOTH_AGENT_SQLITE_DURABILITY", "fast")]).unwrap_err();
    assert_eq!(refused.var, "SMOOTH_AGENT_SQLITE_DURABILITY");
    assert!(refused.problem.contains("fast"), "{}", refused.problem);
}
