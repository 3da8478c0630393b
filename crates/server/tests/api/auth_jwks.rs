//! `AUTH_JWT_JWKS_URL`: the identity provider's key set, served by a small JWKS
//! server on 127.0.0.1 that counts its fetches.

use crate::admin::Admin;
use jsonwebtoken::jwk::Jwk;
use jsonwebtoken::{Algorithm, EncodingKey, Header, encode};
use serde_json::{Value, json};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use switchboard_server::config::{AuthConfig, JwtKey};
use switchboard_server::{AppState, Config};
use switchboard_testkit::spawn_app_with;

const RSA: &str = include_str!("../fixtures/test-rsa-private.pem");
const OTHER_RSA: &str = include_str!("../fixtures/other-rsa-private.pem");
const ES256: &str = include_str!("../fixtures/test-es256-private.pem");
const ED25519: &str = include_str!("../fixtures/test-ed25519-private.pem");

/// A signing key and the JWK that publishes it.
struct Signer {
    kid: &'static str,
    algorithm: Algorithm,
    key: EncodingKey,
}

impl Signer {
    fn new(kid: &'static str, algorithm: Algorithm, pem: &str) -> Self {
        let pem = pem.as_bytes();
        let key = match algorithm {
            Algorithm::RS256 => EncodingKey::from_rsa_pem(pem),
            Algorithm::ES256 => EncodingKey::from_ec_pem(pem),
            _ => EncodingKey::from_ed_pem(pem),
        }
        .unwrap();
        Self {
            kid,
            algorithm,
            key,
        }
    }

    fn jwk(&self) -> Value {
        let mut jwk =
            serde_json::to_value(Jwk::from_encoding_key(&self.key, self.algorithm).unwrap())
                .unwrap();
        jwk["kid"] = json!(self.kid);
        jwk["use"] = json!("sig");
        jwk
    }

    /// An administrator's token naming `kid` in its header, signed by this key.
    fn token_as(&self, kid: &str, claims: Value) -> String {
        let mut header = Header::new(self.algorithm);
        header.kid = Some(kid.to_owned());
        let mut all = json!({"sub": "ada", "org": "acme", "role": "admin",
                             "exp": chrono::Utc::now().timestamp() + 600});
        all.as_object_mut()
            .unwrap()
            .extend(claims.as_object().unwrap().clone());
        encode(&header, &all, &self.key).unwrap()
    }

    fn token(&self) -> String {
        self.token_as(self.kid, json!({}))
    }
}

/// A JWKS server: the keys it serves can be changed; it counts its fetches.
struct Jwks {
    url: reqwest::Url,
    keys: Arc<Mutex<Vec<Value>>>,
    fetches: Arc<AtomicUsize>,
}

impl Jwks {
    async fn serve(keys: Vec<Value>) -> Self {
        let keys = Arc::new(Mutex::new(keys));
        let fetches = Arc::new(AtomicUsize::new(0));
        let (served, counted) = (keys.clone(), fetches.clone());
        let app = axum::Router::new().route(
            "/jwks",
            axum::routing::get(move || {
                counted.fetch_add(1, Ordering::SeqCst);
                let keys = served.lock().unwrap().clone();
                async move { axum::Json(json!({ "keys": keys })) }
            }),
        );
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let url = format!("http://{}/jwks", listener.local_addr().unwrap());
        tokio::spawn(async move { axum::serve(listener, app).await });
        Self {
            url: url.parse().unwrap(),
            keys,
            fetches,
        }
    }

    fn fetches(&self) -> usize {
        self.fetches.load(Ordering::SeqCst)
    }

    fn config(&self) -> Config {
        let mut config = Config::for_tests();
        config.auth = AuthConfig::Jwt {
            key: JwtKey::Jwks(self.url.clone()),
            issuer: None,
            audience: None,
        };
        config
    }

    async fn admin(&self) -> Admin {
        Admin::over(spawn_app_with(self.config()).await)
    }
}

async fn status(admin: &Admin, token: &str) -> u16 {
    admin.get("/admin/me", Some(token)).await.status
}

#[tokio::test]
async fn rs256_es256_and_eddsa_keys_of_the_set_verify_their_tokens() {
    let rsa = Signer::new("rsa-1", Algorithm::RS256, RSA);
    let ec = Signer::new("ec-1", Algorithm::ES256, ES256);
    let ed = Signer::new("ed-1", Algorithm::EdDSA, ED25519);
    let mut encryption = rsa.jwk();
    encryption["kid"] = json!("rsa-enc");
    encryption["use"] = json!("enc");
    // A shared secret published in the set must not become a verifying key.
    let hmac = json!({"kty": "oct", "kid": "hmac", "alg": "HS256", "k": "c2VjcmV0"});
    let odd = json!({"kty": "EC", "kid": "odd", "crv": "P-999", "x": "AA", "y": "AA"});
    let jwks = Jwks::serve(vec![rsa.jwk(), ec.jwk(), ed.jwk(), encryption, hmac, odd]).await;
    let admin = jwks.admin().await;
    assert_eq!(jwks.fetches(), 1, "fetched at start-up");
    for signer in [&rsa, &ec, &ed] {
        assert_eq!(status(&admin, &signer.token()).await, 200, "{}", signer.kid);
    }
    assert_eq!(jwks.fetches(), 1, "known keys need no fetch");

    let expired = rsa.token_as("rsa-1", json!({"exp": chrono::Utc::now().timestamp() - 5}));
    let not_yet = ec.token_as("ec-1", json!({"nbf": chrono::Utc::now().timestamp() + 60}));
    let hs256 = {
        let mut header = Header::new(Algorithm::HS256);
        header.kid = Some("hmac".into());
        let claims = json!({"sub": "ada", "org": "acme", "role": "admin",
                            "exp": chrono::Utc::now().timestamp() + 600});
        encode(&header, &claims, &EncodingKey::from_secret(b"secret")).unwrap()
    };
    for (what, token) in [
        ("expired", expired),
        ("not valid yet", not_yet),
        (
            "an ES256 key named for an RS256 token",
            rsa.token_as("ec-1", json!({})),
        ),
        ("another key's kid", ed.token_as("rsa-1", json!({}))),
        ("an encryption key", rsa.token_as("rsa-enc", json!({}))),
        ("a shared secret from the set", hs256),
    ] {
        let reply = admin.get("/admin/me", Some(&token)).await;
        assert_eq!(reply.status, 401, "{what}: {:?}", reply.body);
        assert_eq!(reply.code(), "INVALID_TOKEN", "{what}");
    }
}

#[tokio::test]
async fn a_rotated_key_is_fetched_once_and_made_up_key_ids_cause_no_flood() {
    let old = Signer::new("rsa-1", Algorithm::RS256, RSA);
    let new = Signer::new("rsa-2", Algorithm::RS256, OTHER_RSA);
    let jwks = Jwks::serve(vec![old.jwk()]).await;
    let admin = jwks.admin().await;
    assert_eq!(status(&admin, &old.token()).await, 200);
    assert_eq!(jwks.fetches(), 1);

    // The provider rotates: the new key is published, tokens start naming it.
    jwks.keys.lock().unwrap().push(new.jwk());
    assert_eq!(status(&admin, &new.token()).await, 200, "the new key");
    assert_eq!(jwks.fetches(), 2, "one fetch for the new key id");
    assert_eq!(status(&admin, &new.token()).await, 200);
    assert_eq!(jwks.fetches(), 2, "then it is known");

    // Tokens naming made-up key ids, many at once: refused, and the provider is
    // asked at most once more (once per 30 s; this test takes far less, but a very
    // slow machine could cross one boundary).
    // 24 at once: under the per-address cap on connections not yet answered (32).
    let made_up: Vec<String> = (0..24)
        .map(|i| new.token_as(&format!("made-up-{i}-{}", uuid::Uuid::new_v4()), json!({})))
        .collect();
    let statuses = futures_util::future::join_all(made_up.iter().map(|t| status(&admin, t))).await;
    assert!(statuses.iter().all(|s| *s == 401), "{statuses:?}");
    assert!(
        jwks.fetches() <= 3,
        "{} fetches for 24 made-up key ids",
        jwks.fetches()
    );
    assert_eq!(
        status(&admin, &old.token()).await,
        200,
        "known keys still work"
    );
}

#[tokio::test]
async fn a_key_set_that_cannot_be_used_stops_startup_naming_the_variable() {
    let unreachable = {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let url = format!("http://{}/jwks", listener.local_addr().unwrap());
        drop(listener);
        url
    };
    let hmac_only = Jwks::serve(vec![json!({"kty": "oct", "kid": "h", "k": "c2VjcmV0"})]).await;
    let not_json = {
        let app = axum::Router::new().route("/jwks", axum::routing::get(|| async { "<html>" }));
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let url = format!("http://{}/jwks", listener.local_addr().unwrap());
        tokio::spawn(async move { axum::serve(listener, app).await });
        url
    };
    let huge = Jwks::serve(vec![json!({"kty": "oct", "k": "A".repeat(300 * 1024)})]).await;
    for url in [
        unreachable,
        hmac_only.url.to_string(),
        not_json,
        huge.url.to_string(),
    ] {
        let mut config = Config::for_tests();
        config.auth = AuthConfig::Jwt {
            key: JwtKey::Jwks(url.parse().unwrap()),
            issuer: None,
            audience: None,
        };
        let error = match AppState::new(config).await {
            Ok(_) => panic!("{url}: started without a usable key set"),
            Err(e) => e.to_string(),
        };
        assert!(error.contains("AUTH_JWT_JWKS_URL"), "{url}: {error}");
    }
}
