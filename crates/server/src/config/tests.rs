//! How each variable is read, defaulted and refused.

use super::*;
use secrecy::ExposeSecret;
use std::collections::HashMap;
use switchboard_agent::otp::SmtpSecurity;

fn config(vars: &[(&str, &str)]) -> Result<Config, ConfigError> {
    let map: HashMap<String, String> = vars
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect();
    Config::from_lookup(|name| map.get(name).cloned())
}

#[test]
fn defaults_match_the_reference_contract() {
    let c = config(&[]).unwrap();
    assert_eq!(c.bind.to_string(), "127.0.0.1");
    assert_eq!(c.port, 8787);
    assert!(!c.seed_kb);
    assert_eq!(c.model, "claude-haiku-4-5");
    assert_eq!((c.max_iterations, c.max_tokens), (20, 8192));
    let StorageConfig::Sqlite { path } = &c.storage else {
        panic!("SQLite is the default, not {:?}", c.storage)
    };
    assert_eq!(path, &std::path::Path::new("./data").join("switchboard.db"));
    assert!(c.gateway.is_none());
    assert!(c.agent_config.is_none());
}

#[test]
fn invalid_values_name_their_variable() {
    for (var, value) in [
        ("SMOOTH_AGENT_BIND", "localhost:80"),
        ("SMOOTH_AGENT_PORT", "99999"),
        ("SMOOTH_AGENT_PORT", "http"),
        ("SMOOTH_AGENT_MAX_ITERATIONS", "0"),
        ("SMOOTH_AGENT_MAX_TOKENS", "-5"),
        ("SMOOTH_AGENT_SEED_KB", "maybe"),
        ("SMOOTH_AGENT_STORAGE", "mysql"),
        ("SMOOAI_GATEWAY_URL", "llm.local:4000"),
    ] {
        let err = config(&[(var, value)]).unwrap_err();
        assert_eq!(err.var, var, "{value}");
        assert!(err.to_string().starts_with(var));
    }
}

#[test]
fn sqlite_lives_in_the_data_dir_or_where_its_url_says() {
    let sqlite = |vars: &[(&str, &str)]| match config(vars).unwrap().storage {
        StorageConfig::Sqlite { path } => path,
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
fn gateway_from_url_or_key() {
    let c = config(&[("SMOOAI_GATEWAY_URL", "http://127.0.0.1:4000/v1/")]).unwrap();
    let g = c.gateway.unwrap();
    assert_eq!(g.url, "http://127.0.0.1:4000/v1");
    assert!(g.key.is_none());
    let c = config(&[("SMOOAI_GATEWAY_KEY", "sk-1")]).unwrap();
    assert_eq!(c.gateway.unwrap().url, DEFAULT_GATEWAY_URL);
}

#[test]
fn a_key_without_a_url_warns_that_it_goes_to_the_hosted_gateway() {
    let c = config(&[("SMOOAI_GATEWAY_KEY", "sk-openai-1")]).unwrap();
    let warning = c.gateway.unwrap().hosted_default_warning().unwrap();
    assert!(warning.contains(DEFAULT_GATEWAY_URL), "{warning}");
    assert!(warning.contains("SMOOAI_GATEWAY_URL"), "{warning}");
    assert!(!warning.contains("sk-openai-1"), "the key is never printed");
    let own = config(&[
        ("SMOOAI_GATEWAY_KEY", "sk-1"),
        ("SMOOAI_GATEWAY_URL", "http://127.0.0.1:4000/v1"),
    ])
    .unwrap();
    assert_eq!(own.gateway.unwrap().hosted_default_warning(), None);
}

#[test]
fn the_turn_deadline_defaults_to_five_minutes_and_must_be_positive() {
    assert_eq!(config(&[]).unwrap().turn_timeout, Duration::from_secs(300));
    let c = config(&[("SMOOTH_AGENT_TURN_TIMEOUT_SECS", "20")]).unwrap();
    assert_eq!(c.turn_timeout, Duration::from_secs(20));
    let err = config(&[("SMOOTH_AGENT_TURN_TIMEOUT_SECS", "0")]).unwrap_err();
    assert_eq!(err.var, "SMOOTH_AGENT_TURN_TIMEOUT_SECS");
}

#[test]
fn embeddings_follow_the_gateway_unless_told_otherwise() {
    assert_eq!(config(&[]).unwrap().embeddings, EmbeddingsConfig::Offline);
    let gw = [("SMOOAI_GATEWAY_URL", "http://gw/v1")];
    assert!(matches!(
        config(&gw).unwrap().embeddings,
        EmbeddingsConfig::Gateway { .. }
    ));
    let off = [gw[0], ("SMOOTH_AGENT_EMBEDDINGS", "offline")];
    assert_eq!(config(&off).unwrap().embeddings, EmbeddingsConfig::Offline);
    assert_eq!(
        config(&[("SMOOTH_AGENT_EMBEDDINGS", "gateway")])
            .unwrap_err()
            .var,
        "SMOOTH_AGENT_EMBEDDINGS"
    );
    assert_eq!(
        config(&[("SMOOTH_AGENT_RERANK", "lexical")])
            .unwrap()
            .rerank,
        RerankConfig::Lexical
    );
    assert_eq!(
        config(&[("SMOOTH_AGENT_RERANK", "gateway")])
            .unwrap_err()
            .var,
        "SMOOTH_AGENT_RERANK"
    );
    assert_eq!(
        config(&[("SMOOTH_AGENT_RERANK", "bm42")]).unwrap_err().var,
        "SMOOTH_AGENT_RERANK"
    );
    let paths = config(&[("SMOOTH_AGENT_KNOWLEDGE_PATH", "./docs, ./faq.md")])
        .unwrap()
        .knowledge_paths;
    assert_eq!(paths, [PathBuf::from("./docs"), PathBuf::from("./faq.md")]);
    assert!(config(&[]).unwrap().connector_file_roots.is_empty());
    let roots = config(&[("SMOOTH_AGENT_CONNECTOR_FILE_ROOTS", "/srv/docs, /data")])
        .unwrap()
        .connector_file_roots;
    assert_eq!(roots, [PathBuf::from("/srv/docs"), PathBuf::from("/data")]);
}

#[test]
fn confirm_tools_are_a_comma_list() {
    let c = config(&[("SMOOTH_AGENT_CONFIRM_TOOLS", "issue_refund, delete ,,")]).unwrap();
    assert_eq!(c.confirm_tools, vec!["issue_refund", "delete"]);
    let c = config(&[("SMOOTH_AGENT_SMTP_HOST", "127.0.0.1")]);
    assert_eq!(c.unwrap_err().var, "SMOOTH_AGENT_SMTP_FROM");
    let c = config(&[
        ("SMOOTH_AGENT_SMTP_HOST", "mail"),
        ("SMOOTH_AGENT_SMTP_FROM", "a@b.c"),
    ])
    .unwrap();
    assert!(matches!(
        c.otp,
        Some(OtpConfig::Smtp {
            port: 587,
            security: SmtpSecurity::StartTls,
            ..
        })
    ));
    assert_eq!(
        config(&[("SMOOTH_AGENT_OTP_WEBHOOK_URL", "ftp://x")])
            .unwrap_err()
            .var,
        "SMOOTH_AGENT_OTP_WEBHOOK_URL"
    );
}

#[test]
fn secrets_never_print() {
    let c = config(&[
        ("SMOOAI_GATEWAY_KEY", "sk-very-secret"),
        ("SMOOTH_AGENT_STORAGE", "pg"),
        ("DATABASE_URL", "postgres://u:pw@h/db"),
    ])
    .unwrap();
    let debug = format!("{c:?}");
    assert!(!debug.contains("sk-very-secret"));
    assert!(!debug.contains("pw@h"));
}

#[test]
fn auth_modes() {
    assert!(matches!(config(&[]).unwrap().auth, AuthConfig::Disabled));
    let err = config(&[("AUTH_MODE", "jwt")]).unwrap_err();
    assert_eq!(err.var, "AUTH_MODE", "jwt without a key refuses to start");
    let c = config(&[("AUTH_JWT_HS256_SECRET", "s3cret")]).unwrap();
    assert!(
        matches!(
            c.auth,
            AuthConfig::Jwt {
                key: JwtKey::Hs256(_),
                ..
            }
        ),
        "a key alone means jwt"
    );
    let c = config(&[("SMOOTH_AGENT_AUTH_MODE", "None"), ("AUTH_MODE", "jwt")]).unwrap();
    assert!(
        matches!(c.auth, AuthConfig::Open { ref dev_org } if dev_org == "dev-org"),
        "canonical name wins"
    );
    assert!(matches!(
        config(&[("AUTH_MODE", "trusted")]).unwrap().auth,
        AuthConfig::Trusted
    ));
    assert_eq!(
        config(&[("AUTH_MODE", "magic")]).unwrap_err().var,
        "AUTH_MODE"
    );
    assert!(matches!(
        config(&[("AUTH_JWT_JWKS_URL", "https://id.acme.test/jwks")])
            .unwrap()
            .auth,
        AuthConfig::Jwt {
            key: JwtKey::Jwks(_),
            ..
        }
    ));
    let es256 = include_str!("../../tests/fixtures/test-es256-public.pem").replace('\n', "\\n");
    assert!(
        matches!(
            config(&[("AUTH_JWT_ES256_PUBLIC_KEY", &es256)])
                .unwrap()
                .auth,
            AuthConfig::Jwt {
                key: JwtKey::Es256(_),
                ..
            }
        ),
        "escaped newlines are read as newlines"
    );
    for (var, value) in [
        ("AUTH_JWT_JWKS_URL", "not a url"),
        ("AUTH_JWT_RS256_PUBLIC_KEY", "not a pem"),
        ("AUTH_JWT_EDDSA_PUBLIC_KEY", es256.as_str()),
        (
            "AUTH_JWT_ES256_PUBLIC_KEY",
            include_str!("../../tests/fixtures/test-es256-private.pem"),
        ),
    ] {
        assert_eq!(config(&[(var, value)]).unwrap_err().var, var, "{value}");
    }
    let debug = format!(
        "{:?}",
        config(&[("AUTH_JWT_HS256_SECRET", "s3cret")]).unwrap()
    );
    assert!(!debug.contains("s3cret"));
}

#[test]
fn variables_we_do_not_act_on_yet_are_reported() {
    let c = config(&[("SMOOTH_EXTENSIONS_ALLOW", "x")]).unwrap();
    assert_eq!(c.ignored, vec!["SMOOTH_EXTENSIONS_ALLOW"]);
}

#[test]
fn telemetry_variables() {
    use crate::config::{LogFormat, OtlpProtocol};
    let c = config(&[]).unwrap();
    assert_eq!(c.telemetry.log_format, LogFormat::Text);
    assert!(c.telemetry.otlp.is_none() && c.telemetry.metrics_addr.is_none());
    let c = config(&[
        ("OTEL_EXPORTER_OTLP_ENDPOINT", "http://otel:4318"),
        ("OTEL_EXPORTER_OTLP_PROTOCOL", "http/protobuf"),
        ("OTEL_EXPORTER_OTLP_HEADERS", "api-key=s3cr%3Dt,x=y"),
        ("OTEL_RESOURCE_ATTRIBUTES", "deployment.environment=prod"),
        ("SMOOTH_AGENT_LOG_FORMAT", "JSON"),
        ("SMOOTH_AGENT_METRICS_ADDR", "127.0.0.1:9464"),
    ])
    .unwrap();
    let otlp = c.telemetry.otlp.clone().unwrap();
    assert_eq!(otlp.protocol, OtlpProtocol::HttpProtobuf);
    assert_eq!(otlp.service_name, "switchboard");
    assert_eq!(otlp.headers.len(), 2);
    {
        use secrecy::ExposeSecret;
        assert_eq!(otlp.headers[0].1.expose_secret(), "s3cr=t");
    }
    assert!(!format!("{c:?}").contains("s3cr"));
    assert_eq!(c.telemetry.log_format, LogFormat::Json);
    assert_eq!(c.telemetry.metrics_addr.unwrap().port(), 9464);
    for (var, value) in [
        ("OTEL_EXPORTER_OTLP_PROTOCOL", "http/json"),
        ("SMOOTH_AGENT_LOG_FORMAT", "xml"),
        ("SMOOTH_AGENT_METRICS_ADDR", "nine"),
        ("OTEL_EXPORTER_OTLP_HEADERS", "novalue"),
    ] {
        let mut vars = vec![(var, value)];
        vars.push(("OTEL_EXPORTER_OTLP_ENDPOINT", "http://otel:4317"));
        assert_eq!(config(&vars).unwrap_err().var, var, "{value}");
    }
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
fn widget_auth_is_off_and_permissive_by_default() {
    let c = config(&[]).unwrap();
    assert!(c.widget.service.is_none());
    assert!(!c.widget.strict);
}

#[test]
fn widget_policy_service_and_strict_mode() {
    let c = config(&[
        ("WIDGET_AUTH_URL", "https://policies.example.com/widget/"),
        ("WIDGET_AUTH_BEARER", "wb-very-secret"),
        ("WIDGET_AUTH_TTL_SECS", "5"),
        ("WIDGET_AUTH_STRICT", "yes"),
    ])
    .unwrap();
    assert!(c.widget.strict);
    let service = c.widget.service.as_ref().unwrap();
    assert_eq!(service.url.as_str(), "https://policies.example.com/widget/");
    assert_eq!(
        service.bearer.as_ref().map(ExposeSecret::expose_secret),
        Some("wb-very-secret")
    );
    assert_eq!(service.ttl, Duration::from_secs(5));
    assert!(!format!("{c:?}").contains("wb-very-secret"));

    let c = config(&[("WIDGET_AUTH_URL", "http://127.0.0.1:9000")]).unwrap();
    let service = c.widget.service.unwrap();
    assert_eq!(service.ttl, Duration::from_secs(60), "the default TTL");
    assert!(service.bearer.is_none());
    for on in ["1", "true", "YES"] {
        assert!(config(&[("WIDGET_AUTH_STRICT", on)]).unwrap().widget.strict);
    }
    for off in ["0", "false", "no"] {
        assert!(
            !config(&[("WIDGET_AUTH_STRICT", off)])
                .unwrap()
                .widget
                .strict
        );
    }
}

#[test]
fn bad_widget_values_name_their_variable() {
    for (vars, var) in [
        (
            &[("WIDGET_AUTH_STRICT", "sometimes")][..],
            "WIDGET_AUTH_STRICT",
        ),
        (
            &[("WIDGET_AUTH_URL", "policies.example.com")],
            "WIDGET_AUTH_URL",
        ),
        (
            &[("WIDGET_AUTH_URL", "ftp://policies.example.com")],
            "WIDGET_AUTH_URL",
        ),
        (
            &[
                ("WIDGET_AUTH_URL", "http://p"),
                ("WIDGET_AUTH_TTL_SECS", "1m"),
            ],
            "WIDGET_AUTH_TTL_SECS",
        ),
        (&[("WIDGET_AUTH_TTL_SECS", "-1")], "WIDGET_AUTH_TTL_SECS"),
        (&[("WIDGET_AUTH_BEARER", "t")], "WIDGET_AUTH_BEARER"),
    ] {
        let err = config(vars).unwrap_err();
        assert_eq!(err.var, var, "{vars:?}");
        assert!(err.to_string().starts_with(var));
    }
}

#[test]
fn connection_limits_have_defaults_can_be_turned_off_and_name_bad_values() {
    let c = config(&[]).unwrap();
    assert_eq!(
        c.rate_limit,
        Some(RateLimit {
            per_sec: 20,
            burst: 40
        })
    );
    assert_eq!(c.idle_timeout, Some(Duration::from_secs(300)));
    assert_eq!(c.max_connections_per_ip, Some(64));
    assert_eq!(c.max_pending_per_ip, Some(32));
    assert_eq!(c.header_timeout, Duration::from_secs(10));
    assert!(!c.trust_forwarded_for);
    assert_eq!(c.max_frame_bytes, 1 << 20);

    let c = config(&[
        ("SMOOTH_AGENT_RATE_LIMIT_PER_SEC", "5"),
        ("SMOOTH_AGENT_RATE_LIMIT_BURST", "7"),
        ("SMOOTH_AGENT_IDLE_TIMEOUT_SECS", "30"),
        ("SMOOTH_AGENT_MAX_CONNECTIONS_PER_IP", "3"),
        ("SMOOTH_AGENT_MAX_PENDING_PER_IP", "2"),
        ("SMOOTH_AGENT_HEADER_TIMEOUT_SECS", "4"),
        ("SMOOTH_AGENT_TRUST_FORWARDED_FOR", "true"),
    ])
    .unwrap();
    assert_eq!(
        c.rate_limit,
        Some(RateLimit {
            per_sec: 5,
            burst: 7
        })
    );
    assert_eq!(c.idle_timeout, Some(Duration::from_secs(30)));
    assert_eq!(c.max_connections_per_ip, Some(3));
    assert_eq!(c.max_pending_per_ip, Some(2));
    assert_eq!(c.header_timeout, Duration::from_secs(4));
    assert!(c.trust_forwarded_for);

    let off = config(&[
        ("SMOOTH_AGENT_RATE_LIMIT_PER_SEC", "0"),
        ("SMOOTH_AGENT_IDLE_TIMEOUT_SECS", "0"),
        ("SMOOTH_AGENT_MAX_CONNECTIONS_PER_IP", "0"),
        ("SMOOTH_AGENT_MAX_PENDING_PER_IP", "0"),
    ])
    .unwrap();
    assert_eq!(off.rate_limit, None);
    assert_eq!(off.idle_timeout, None);
    assert_eq!(off.max_connections_per_ip, None);
    assert_eq!(off.max_pending_per_ip, None);

    for (var, value) in [
        ("SMOOTH_AGENT_RATE_LIMIT_PER_SEC", "-1"),
        ("SMOOTH_AGENT_RATE_LIMIT_PER_SEC", "fast"),
        ("SMOOTH_AGENT_RATE_LIMIT_BURST", "0"),
        ("SMOOTH_AGENT_RATE_LIMIT_BURST", "lots"),
        ("SMOOTH_AGENT_IDLE_TIMEOUT_SECS", "5m"),
        ("SMOOTH_AGENT_MAX_CONNECTIONS_PER_IP", "-3"),
        ("SMOOTH_AGENT_MAX_CONNECTIONS_PER_IP", "many"),
        ("SMOOTH_AGENT_MAX_PENDING_PER_IP", "some"),
        ("SMOOTH_AGENT_HEADER_TIMEOUT_SECS", "0"),
        ("SMOOTH_AGENT_TRUST_FORWARDED_FOR", "perhaps"),
        ("SMOOTH_AGENT_MAX_FRAME_BYTES", "0"),
    ] {
        let err = config(&[(var, value)]).unwrap_err();
        assert_eq!(err.var, var, "{value}");
        assert!(err.to_string().starts_with(var), "{err}");
    }
}

#[test]
fn blank_values_count_as_unset() {
    let c = config(&[("SMOOTH_AGENT_PORT", "  "), ("SMOOTH_AGENT_SEED_KB", "")]).unwrap();
    assert_eq!(c.port, 8787);
    assert!(!c.seed_kb);
}

#[test]
fn smtp_credentials_without_tls_need_an_explicit_allowance() {
    let smtp = [
        ("SMOOTH_AGENT_SMTP_HOST", "127.0.0.1"),
        ("SMOOTH_AGENT_SMTP_FROM", "a@b.c"),
        ("SMOOTH_AGENT_SMTP_SECURITY", "none"),
        ("SMOOTH_AGENT_SMTP_USERNAME", "mailer"),
        ("SMOOTH_AGENT_SMTP_PASSWORD", "pw"),
    ];
    assert_eq!(config(&smtp).unwrap_err().var, "SMOOTH_AGENT_SMTP_SECURITY");
    let mut allowed = smtp.to_vec();
    allowed.push(("SMOOTH_AGENT_SMTP_ALLOW_INSECURE_AUTH", "true"));
    let c = config(&allowed).unwrap();
    assert!(matches!(
        c.otp,
        Some(OtpConfig::Smtp {
            port: 25,
            security: SmtpSecurity::Plain,
            allow_insecure_auth: true,
            ..
        })
    ));
    let implicit = config(&[
        ("SMOOTH_AGENT_SMTP_HOST", "mail"),
        ("SMOOTH_AGENT_SMTP_FROM", "a@b.c"),
        ("SMOOTH_AGENT_SMTP_SECURITY", "tls"),
    ])
    .unwrap();
    assert!(matches!(
        implicit.otp,
        Some(OtpConfig::Smtp { port: 465, .. })
    ));
    let bad = config(&[
        ("SMOOTH_AGENT_SMTP_HOST", "mail"),
        ("SMOOTH_AGENT_SMTP_FROM", "a@b.c"),
        ("SMOOTH_AGENT_SMTP_SECURITY", "sometimes"),
    ]);
    assert_eq!(bad.unwrap_err().var, "SMOOTH_AGENT_SMTP_SECURITY");
}

#[test]
fn otp_limits_and_phone_region_are_read() {
    let c = config(&[]).unwrap();
    assert_eq!(c.otp_options.settings.per_destination.max, 5);
    assert_eq!(c.otp_options.settings.per_destination.window.as_secs(), 900);
    assert_eq!(c.otp_options.settings.per_client.max, 20);
    assert_eq!(c.otp_options.phone_region, "US");
    assert!(matches!(c.otp_options.key, OtpKeySource::Random));
    let c = config(&[
        ("SMOOTH_AGENT_OTP_MAX_PER_DESTINATION", "3"),
        ("SMOOTH_AGENT_OTP_CLIENT_WINDOW_SECS", "60"),
        ("SMOOTH_AGENT_PHONE_DEFAULT_REGION", "in"),
    ])
    .unwrap();
    assert_eq!(c.otp_options.settings.per_destination.max, 3);
    assert_eq!(c.otp_options.settings.per_client.window.as_secs(), 60);
    assert_eq!(c.otp_options.phone_region, "IN");
    let bad = config(&[("SMOOTH_AGENT_PHONE_DEFAULT_REGION", "Narnia")]);
    assert_eq!(bad.unwrap_err().var, "SMOOTH_AGENT_PHONE_DEFAULT_REGION");
}

/// Replicas must share the code key and it must survive restarts: with a
/// database store and codes on, a key must be configured.
#[test]
fn a_shared_store_with_codes_needs_a_configured_key() {
    let shared = [
        ("SMOOTH_AGENT_STORAGE", "postgres"),
        ("SMOOTH_AGENT_DATABASE_URL", "postgres://127.0.0.1/x"),
        ("SMOOTH_AGENT_OTP_WEBHOOK_URL", "http://127.0.0.1:9/hook"),
    ];
    assert_eq!(config(&shared).unwrap_err().var, "SMOOTH_AGENT_OTP_SECRET");
    let mut keyed = shared.to_vec();
    keyed.push((
        "SMOOTH_AGENT_OTP_SECRET",
        "0123456789abcdef0123456789abcdef",
    ));
    assert!(matches!(
        config(&keyed).unwrap().otp_options.key,
        OtpKeySource::Secret(_)
    ));
    let mut short = shared.to_vec();
    short.push(("SMOOTH_AGENT_OTP_SECRET", "short"));
    assert_eq!(config(&short).unwrap_err().var, "SMOOTH_AGENT_OTP_SECRET");
    // One process per SQLite file: a random key is shared with no one (codes sent
    // before a restart stop verifying; docs/sqlite.md).
    let sqlite = config(&[("SMOOTH_AGENT_OTP_WEBHOOK_URL", "http://127.0.0.1:9/hook")]);
    assert!(matches!(
        sqlite.unwrap().otp_options.key,
        OtpKeySource::Random
    ));
}

#[test]
fn sqlite_takes_a_file_path() {
    let path = |vars: &[(&str, &str)]| match config(vars).map(|c| c.storage) {
        Ok(StorageConfig::Sqlite { path }) => Ok(path),
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
