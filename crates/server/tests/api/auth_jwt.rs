//! JSON Web Token rules through the admin API (`GET /admin/me`): required claims,
//! no leeway on `exp` and `nbf`, and what the real binary does with unusable keys.

use crate::admin::{Admin, SECRET};
use jsonwebtoken::{Algorithm, EncodingKey, Header, encode};
use serde_json::{Value, json};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};
use switchboard_server::Config;
use switchboard_server::config::{AuthConfig, JwtKey};

const ISSUER: &str = "https://id.acme.test";
const AUDIENCE: &str = "switchboard";

fn now() -> i64 {
    chrono::Utc::now().timestamp()
}

/// An HS256 server that wants `ISSUER` and `AUDIENCE`.
async fn server_with_issuer_and_audience() -> Admin {
    let mut config = Config::for_tests();
    config.auth = AuthConfig::Jwt {
        key: JwtKey::Hs256(SECRET.to_owned().into()),
        issuer: Some(ISSUER.into()),
        audience: Some(AUDIENCE.into()),
    };
    Admin::with_config(config).await
}

/// An administrator's claims, valid for ten minutes, for `ISSUER` and `AUDIENCE`,
/// with `changes` applied (`null` removes a claim).
fn claims(changes: Value) -> Value {
    let mut claims = json!({"sub": "ada", "org": "acme", "role": "admin", "exp": now() + 600,
                            "iss": ISSUER, "aud": AUDIENCE});
    for (key, value) in changes.as_object().unwrap() {
        match value {
            Value::Null => claims.as_object_mut().unwrap().remove(key),
            _ => claims
                .as_object_mut()
                .unwrap()
                .insert(key.clone(), value.clone()),
        };
    }
    claims
}

fn hs256(claims: &Value) -> String {
    encode(
        &Header::default(),
        claims,
        &EncodingKey::from_secret(SECRET.as_bytes()),
    )
    .unwrap()
}

/// The status `GET /admin/me` answers with this token.
async fn status(admin: &Admin, token: &str) -> u16 {
    admin.get("/admin/me", Some(token)).await.status
}

#[tokio::test]
async fn tokens_without_the_configured_issuer_or_audience_are_refused() {
    let admin = server_with_issuer_and_audience().await;
    assert_eq!(status(&admin, &hs256(&claims(json!({})))).await, 200);
    for (what, changes) in [
        ("no iss", json!({"iss": null})),
        ("no aud", json!({"aud": null})),
        ("neither", json!({"iss": null, "aud": null})),
        ("another issuer", json!({"iss": "https://evil.test"})),
        ("another audience", json!({"aud": "other"})),
    ] {
        let reply = admin.get("/admin/me", Some(&hs256(&claims(changes)))).await;
        assert_eq!(reply.status, 401, "{what}: {:?}", reply.body);
        assert_eq!(reply.code(), "INVALID_TOKEN", "{what}");
    }
}

#[tokio::test]
async fn a_token_expired_even_seconds_ago_is_refused() {
    let admin = server_with_issuer_and_audience().await;
    for ago in [1, 5, 30, 59] {
        let token = hs256(&claims(json!({"exp": now() - ago})));
        assert_eq!(status(&admin, &token).await, 401, "expired {ago} s ago");
    }
    let token = hs256(&claims(json!({"exp": now() + 30})));
    assert_eq!(status(&admin, &token).await, 200, "still valid");
    let token = hs256(&claims(json!({"exp": "tomorrow"})));
    assert_eq!(status(&admin, &token).await, 401, "an exp that is no time");
}

#[tokio::test]
async fn a_token_not_valid_yet_is_refused() {
    let admin = server_with_issuer_and_audience().await;
    for ahead in [30, 3600] {
        let token = hs256(&claims(json!({"nbf": now() + ahead})));
        assert_eq!(status(&admin, &token).await, 401, "nbf {ahead} s ahead");
    }
    let token = hs256(&claims(json!({"nbf": now() - 5})));
    assert_eq!(status(&admin, &token).await, 200, "nbf in the past");
}

#[tokio::test]
async fn es256_and_eddsa_public_keys_verify_their_own_tokens_only() {
    let es256 = include_str!("../fixtures/test-es256-private.pem");
    let ed25519 = include_str!("../fixtures/test-ed25519-private.pem");
    let signed = |algorithm, key: EncodingKey| {
        encode(&Header::new(algorithm), &claims(json!({})), &key).unwrap()
    };
    let es_token = signed(
        Algorithm::ES256,
        EncodingKey::from_ec_pem(es256.as_bytes()).unwrap(),
    );
    let ed_token = signed(
        Algorithm::EdDSA,
        EncodingKey::from_ed_pem(ed25519.as_bytes()).unwrap(),
    );
    for (key, good, other) in [
        (
            JwtKey::Es256(include_str!("../fixtures/test-es256-public.pem").into()),
            &es_token,
            &ed_token,
        ),
        (
            JwtKey::EdDsa(include_str!("../fixtures/test-ed25519-public.pem").into()),
            &ed_token,
            &es_token,
        ),
    ] {
        let mut config = Config::for_tests();
        config.auth = AuthConfig::Jwt {
            key,
            issuer: Some(ISSUER.into()),
            audience: Some(AUDIENCE.into()),
        };
        let admin = Admin::with_config(config).await;
        assert_eq!(status(&admin, good).await, 200);
        assert_eq!(status(&admin, other).await, 401, "another algorithm");
        assert_eq!(
            status(&admin, &hs256(&claims(json!({})))).await,
            401,
            "HS256"
        );
    }
}

/// Runs the real binary with only `vars` set; its exit code (`None` when it was
/// still running after 30 s and had to be stopped) and what it wrote to stderr.
fn run_switchboard(vars: &[(&str, &str)]) -> (Option<i32>, String) {
    use std::io::Read;
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_switchboard"));
    cmd.env_clear()
        .env("RUST_LOG", "warn")
        .env("SMOOTH_AGENT_STORAGE", "memory")
        .env("SMOOTH_AGENT_PORT", "0")
        .stdout(Stdio::null())
        .stderr(Stdio::piped());
    for (var, value) in vars {
        cmd.env(var, value);
    }
    let mut child = cmd.spawn().unwrap();
    let deadline = Instant::now() + Duration::from_secs(30);
    let code = loop {
        if let Some(status) = child.try_wait().unwrap() {
            break status.code();
        }
        if Instant::now() > deadline {
            child.kill().unwrap();
            child.wait().unwrap();
            break None;
        }
        std::thread::sleep(Duration::from_millis(50));
    };
    let mut stderr = String::new();
    child
        .stderr
        .take()
        .unwrap()
        .read_to_string(&mut stderr)
        .unwrap();
    (code, stderr)
}

#[test]
fn an_unreachable_key_set_stops_the_binary_naming_the_variable() {
    let (code, stderr) = run_switchboard(&[("AUTH_JWT_JWKS_URL", "http://127.0.0.1:1/jwks")]);
    assert_eq!(code, Some(2), "{stderr}");
    assert!(stderr.contains("AUTH_JWT_JWKS_URL"), "{stderr}");
}

#[test]
fn an_unusable_key_stops_the_binary_with_exit_2_naming_the_variable() {
    let rsa = include_str!("../fixtures/test-rsa-public.pem");
    let ec = include_str!("../fixtures/test-es256-public.pem");
    for (var, value) in [
        ("AUTH_JWT_RS256_PUBLIC_KEY", "not a pem"),
        (
            "AUTH_JWT_RS256_PUBLIC_KEY",
            "-----BEGIN PUBLIC KEY-----\nAAAA\n-----END PUBLIC KEY-----\n",
        ),
        ("AUTH_JWT_RS256_PUBLIC_KEY", ec),
        ("AUTH_JWT_ES256_PUBLIC_KEY", rsa),
        ("AUTH_JWT_EDDSA_PUBLIC_KEY", ec),
        ("AUTH_JWT_JWKS_URL", "ftp://id.acme.test/jwks"),
    ] {
        let (code, stderr) = run_switchboard(&[(var, value)]);
        assert_eq!(code, Some(2), "{var}={value}: {stderr}");
        assert!(stderr.contains(var), "{var}: {stderr}");
    }
    let (code, stderr) = run_switchboard(&[
        ("AUTH_JWT_RS256_PUBLIC_KEY", rsa),
        (
            "AUTH_JWT_HS256_SECRET",
            "an-hs256-secret-of-at-least-32-bytes",
        ),
    ]);
    assert_eq!(code, Some(2), "two keys: {stderr}");
    assert!(
        stderr.contains("AUTH_JWT_RS256_PUBLIC_KEY") && stderr.contains("AUTH_JWT_HS256_SECRET"),
        "{stderr}"
    );
}

#[test]
fn a_short_hs256_secret_is_warned_about_at_startup() {
    use std::io::{BufRead, BufReader, Read};
    let start = |secret: &str| {
        let mut child = Command::new(env!("CARGO_BIN_EXE_switchboard"))
            .env_clear()
            .env("RUST_LOG", "warn")
            .env("SMOOTH_AGENT_STORAGE", "memory")
            .env("SMOOTH_AGENT_PORT", "0")
            .env("AUTH_JWT_HS256_SECRET", secret)
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        let mut line = String::new();
        BufReader::new(child.stdout.take().unwrap())
            .read_line(&mut line)
            .unwrap();
        assert!(line.contains("auth=jwt"), "{line}");
        child.kill().unwrap();
        child.wait().unwrap();
        let mut stderr = String::new();
        child
            .stderr
            .take()
            .unwrap()
            .read_to_string(&mut stderr)
            .unwrap();
        stderr
    };
    let short = start("only-20-bytes-long!!");
    assert!(
        short.contains("AUTH_JWT_HS256_SECRET") && short.contains("32 bytes"),
        "{short}"
    );
    let long = start("a-secret-that-is-32-bytes-long!!");
    assert!(!long.contains("AUTH_JWT_HS256_SECRET"), "{long}");
}
