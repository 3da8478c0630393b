use super::*;
use crate::config::{AuthConfig, JwtKey};
use jsonwebtoken::{EncodingKey, Header, encode};
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

fn jwt(key: JwtKey, issuer: Option<&str>, audience: Option<&str>) -> Authenticator {
    Authenticator::new(&AuthConfig::Jwt {
        key,
        issuer: issuer.map(str::to_owned),
        audience: audience.map(str::to_owned),
    })
    .unwrap()
}

#[test]
fn hs256_tokens_map_their_claims() {
    let auth = jwt(JwtKey::Hs256("s3cret".to_owned().into()), None, None);
    let principal = auth.verify(&hs("s3cret", &claims(json!({})))).unwrap();
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
        .unwrap();
    assert_eq!((alias.org_id.as_str(), alias.role), ("beta", Role::Basic));
}

#[test]
fn bad_tokens_are_refused_with_their_reason() {
    let auth = jwt(JwtKey::Hs256("s3cret".to_owned().into()), None, None);
    let refused = |token: String| auth.verify(&token).unwrap_err();
    assert!(
        matches!(
            refused(hs("wrong", &claims(json!({})))),
            AuthError::Invalid(_)
        ),
        "bad signature"
    );
    assert!(
        matches!(
            refused(hs("s3cret", &claims(json!({"exp": now() - 3600})))),
            AuthError::Invalid(_)
        ),
        "expired"
    );
    assert_eq!(
        refused(hs("s3cret", &claims(json!({"role": "root"})))),
        AuthError::MissingRole
    );
    assert!(
        matches!(
            refused(hs("s3cret", &claims(json!({"org": null})))),
            AuthError::Invalid(_)
        ),
        "no org"
    );
    assert_eq!(refused("   ".into()), AuthError::Missing);
    assert!(matches!(refused("not.a.jwt".into()), AuthError::Invalid(_)));
    let mut no_exp = claims(json!({}));
    no_exp.as_object_mut().unwrap().remove("exp");
    assert!(
        matches!(refused(hs("s3cret", &no_exp)), AuthError::Invalid(_)),
        "exp is required"
    );
    // An RS256 token cannot pass as HS256 (no algorithm confusion).
    assert!(matches!(
        refused(rs(PRIVATE, &claims(json!({})))),
        AuthError::Invalid(_)
    ));
}

#[test]
fn rs256_with_issuer_and_audience() {
    let auth = jwt(
        JwtKey::Rs256(PUBLIC.into()),
        Some("https://id.acme.test"),
        Some("switchboard"),
    );
    let good = claims(json!({"iss": "https://id.acme.test", "aud": "switchboard"}));
    assert_eq!(auth.verify(&rs(PRIVATE, &good)).unwrap().user_id, "u-1");
    assert!(
        auth.verify(&rs(OTHER_PRIVATE, &good)).is_err(),
        "another key"
    );
    assert!(
        auth.verify(&rs(
            PRIVATE,
            &claims(json!({"iss": "https://evil.test", "aud": "switchboard"}))
        ))
        .is_err()
    );
    assert!(
        auth.verify(&rs(
            PRIVATE,
            &claims(json!({"iss": "https://id.acme.test", "aud": "other"}))
        ))
        .is_err()
    );
    assert!(
        Authenticator::new(&AuthConfig::Jwt {
            key: JwtKey::Rs256("not a pem".into()),
            issuer: None,
            audience: None
        })
        .is_err()
    );
}

#[test]
fn trusted_none_and_disabled() {
    use base64::Engine;
    let trusted = Authenticator::new(&AuthConfig::Trusted).unwrap();
    let blob = base64::engine::general_purpose::URL_SAFE_NO_PAD
        .encode(json!({"sub": "u", "org": "o", "role": "basic", "groups": ["g1"]}).to_string());
    assert_eq!(trusted.verify(&blob).unwrap().groups, ["g1"]);
    assert!(trusted.verify("%%%").is_err());
    let open = Authenticator::new(&AuthConfig::Open {
        dev_org: "dev-org".into(),
    })
    .unwrap();
    assert_eq!(open.verify("anything").unwrap().role, Role::Admin);
    let disabled = Authenticator::new(&AuthConfig::Disabled).unwrap();
    assert_eq!(
        disabled.verify("anything").unwrap_err(),
        AuthError::Disabled
    );
    assert_eq!(
        disabled.connection(Some("anything")),
        None,
        "anonymous, not refused"
    );
}
