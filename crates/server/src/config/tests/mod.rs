//! How each variable is read, defaulted and refused.

use super::*;
use secrecy::ExposeSecret;
use std::collections::HashMap;
use switchboard_agent::otp::SmtpSecurity;

mod auth;
mod handoff;
mod limits;
mod llm;
mod otp;
mod storage;
mod telemetry;

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
    let StorageConfig::Sqlite { path, .. } = &c.storage else {
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
fn variables_we_do_not_act_on_yet_are_reported() {
    let c = config(&[("SMOOTH_EXTENSIONS_ALLOW", "x")]).unwrap();
    assert_eq!(c.ignored, vec!["SMOOTH_EXTENSIONS_ALLOW"]);
}

#[test]
fn blank_values_count_as_unset() {
    let c = config(&[("SMOOTH_AGENT_PORT", "  "), ("SMOOTH_AGENT_SEED_KB", "")]).unwrap();
    assert_eq!(c.port, 8787);
    assert!(!c.seed_kb);
}
