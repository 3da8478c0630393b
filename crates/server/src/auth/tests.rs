use super::*;
use crate::config::{AuthConfig, JwtKey};
use jsonwebtoken::{Algorithm, EncodingKey, Header, encode};
use serde_json::{Value, json};

const PRIVATE: &str = include_str!("../../tests/fixtures/test-rsa-private.pem");
const PUBLIC: &str = include_str!("../../tests/fixtures/test-rsa-public.pem");
const OTHER_PRIVATE: &str = include_str!("../../tests/fixtures/other-rsa-private.pem");

fn now() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs() as i64
}

fn claims(extra: Value) -> Value {
    let mut base = json!({"sub": "u-1", "org": "acme", "role": "curator", "exp": now() + 600,
                          "email": "Ada@Acme.test", "groups": ["staff"], "name": "Ada"});
    base.as_object_mut()
        .unwrap()
        .extend(extra.as_object().unwrap().clone());
    base
}

fn hs(secret: &str, claims: &Value) -> String {
    encode(
        &Header::default(),
        claims,
        &EncodingKey::from_secret(secret.as_bytes()),
    )
    .unwrap()
}

fn rs(private: &str, claims: &Value) -> String {
    encode(
        &Header::new(Algorithm::RS256),
        claims,
        &EncodingKey::from_rsa_pem(private.as_bytes()).unwrap(),
    )
    .unwrap()
}

async fn jwt(key: JwtKey, issuer: Option<&str>, audience: Option<&str>) -> Authenticator {
    Authenticator::new(&AuthConfig::Jwt {
        key,
        issuer: issuer.map(str::to_owned),
        audience: audience.map(str::to_owned),
    })
    .await
    .unwrap()
}

async fn refused(auth: &Authenticator, token: String) -> AuthError {
    auth.verify(&token).await.unwrap_err()
}

#[tokio::test]
async fn hs256_tokens_map_their_claims() {
    let auth = jwt(JwtKey::Hs256("s3cret".to_owned().into()), None, None).await;
    let principal = auth
        .verify(&hs("s3cret", &claims(json!({}))))
        .await
        .unwrap();
    assert_eq!(principal.user_id, "u-1");
    assert_eq!(principal.org_id, "acme");
    assert_eq!(principal.role, Role::Curator);
    assert_eq!(principal.email.as_deref(), Some("ada@acme.test"));
    assert_eq!(principal.groups, ["staff"]);
    let alias = auth
        .verify(&hs(
            "s3cret",
            &claims(json!({"org": null, "org_id": "beta", "role": "USER"})),
        ))
        .await
        .unwrap();
    assert_eq!((alias.org_id.as_str(), alias.role), ("beta", Role::Basic));
}

#[tokio::test]
async fn bad_tokens_are_refused_with_their_reason() {
    let auth = jwt(JwtKey::Hs256("s3cret".to_owned().into()), None, None).await;
    assert!(
        matches!(
            refused(&auth, hs("wrong", &claims(json!({})))).await,
            AuthError::Invalid(_)
        ),
        "bad signature"
    );
    assert!(
        matches!(
            refused(&auth, hs("s3cret", &claims(json!({"exp": now() - 3600})))).await,
            AuthError::Invalid(_)
        ),
        "expired"
    );
    assert_eq!(
        refused(&auth, hs("s3cret", &claims(json!({"role": "root"})))).await,
        AuthError::MissingRole
    );
    assert!(
        matches!(
            refused(&auth, hs("s3cret", &claims(json!({"org": null})))).await,
            AuthError::Invalid(_)
        ),
        "no org"
    );
    assert_eq!(refused(&auth, "   ".into()).await, AuthError::Missing);
    assert!(matches!(
        refused(&auth, "not.a.jwt".into()).await,
        AuthError::Invalid(_)
    ));
    let mut no_exp = claims(json!({}));
    no_exp.as_object_mut().unwrap().remove("exp");
    assert!(
        matches!(
            refused(&auth, hs("s3cret", &no_exp)).await,
            AuthError::Invalid(_)
        ),
        "exp is required"
    );
    // An RS256 token cannot pass as HS256 (no algorithm confusion).
    assert!(matches!(
        refused(&auth, rs(PRIVATE, &claims(json!({})))).await,
        AuthError::Invalid(_)
    ));
}

#[tokio::test]
async fn rs256_with_issuer_and_audience() {
    let auth = jwt(
        JwtKey::Rs256(PUBLIC.into()),
        Some("https://id.acme.test"),
        Some("switchboard"),
    )
    .await;
    let good = claims(json!({"iss": "https://id.acme.test", "aud": "switchboard"}));
    assert_eq!(
        auth.verify(&rs(PRIVATE, &good)).await.unwrap().user_id,
        "u-1"
    );
    assert!(
        auth.verify(&rs(OTHER_PRIVATE, &good)).await.is_err(),
        "another key"
    );
    assert!(
        auth.verify(&rs(
            PRIVATE,
            &claims(json!({"iss": "https://evil.test", "aud": "switchboard"}))
        ))
        .await
        .is_err()
    );
    assert!(
        auth.verify(&rs(
            PRIVATE,
            &claims(json!({"iss": "https://id.acme.test", "aud": "other"}))
        ))
        .await
        .is_err()
    );
    assert!(
        Authenticator::new(&AuthConfig::Jwt {
            key: JwtKey::Rs256("not a pem".into()),
            issuer: None,
            audience: None
        })
        .await
        .is_err()
    );
}

#[tokio::test]
async fn trusted_none_and_disabled() {
    use base64::Engine;
    let trusted = Authenticator::new(&AuthConfig::Trusted).await.unwrap();
    let blob = base64::engine::general_purpose::URL_SAFE_NO_PAD
        .encode(json!({"sub": "u", "org": "o", "role": "basic", "groups": ["g1"]}).to_string());
    assert_eq!(trusted.verify(&blob).await.unwrap().groups, ["g1"]);
    assert!(trusted.verify("%%%").await.is_err());
    let open = Authenticator::new(&AuthConfig::Open {
        dev_org: "dev-org".into(),
    })
    .await
    .unwrap();
    assert_eq!(open.verify("anything").await.unwrap().role, Role::Admin);
    let disabled = Authenticator::new(&AuthConfig::Disabled).await.unwrap();
    assert_eq!(
        disabled.verify("anything").await.unwrap_err(),
        AuthError::Disabled
    );
    assert_eq!(
        disabled.connection(Some("anything")).await,
        None,
        "anonymous, not refused"
    );
}
