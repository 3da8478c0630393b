//! Token modes and widget policies.

use super::*;

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
    let es256 = include_str!("../../../tests/fixtures/test-es256-public.pem").replace('\n', "\\n");
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
            include_str!("../../../tests/fixtures/test-es256-private.pem"),
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
