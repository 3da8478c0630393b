//! The gateway, the turn deadline, embeddings and confirmations.

use super::*;

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
