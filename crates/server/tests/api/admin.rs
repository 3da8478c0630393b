//! The admin HTTP API: authentication and roles, CORS, the error envelope. Also the
//! helpers every `admin_*` test uses: an [`Admin`] server whose every response is
//! checked against the OpenAPI description, and token minting.

use jsonwebtoken::{EncodingKey, Header, encode};
use reqwest::Method;
use serde_json::{Value, json};
use std::sync::OnceLock;
use switchboard_server::Config;
use switchboard_server::config::{AuthConfig, JwtKey};
use switchboard_testkit::{TestApp, TestClient, spawn_app_with};

pub const SECRET: &str = "admin-api-test-secret";

/// `config` verifying HS256 tokens signed with the tests' secret.
pub fn jwt_config(mut config: Config) -> Config {
    config.auth = AuthConfig::Jwt {
        key: JwtKey::Hs256(SECRET.to_owned().into()),
        issuer: None,
        audience: None,
    };
    config
}

/// A signed token with these claims plus an `exp` ten minutes ahead (unless given).
pub fn signed(mut claims: Value) -> String {
    if claims.get("exp").is_none() {
        claims["exp"] = json!(chrono::Utc::now().timestamp() + 600);
    }
    encode(
        &Header::default(),
        &claims,
        &EncodingKey::from_secret(SECRET.as_bytes()),
    )
    .unwrap()
}

/// A valid token for `sub` with `role` in `org`.
pub fn token(sub: &str, org: &str, role: &str) -> String {
    signed(json!({"sub": sub, "org": org, "role": role}))
}

/// A server and an HTTP client for its admin API.
pub struct Admin {
    pub app: TestApp,
    http: reqwest::Client,
}

/// A response: its status, body (`null` when empty) and headers.
#[derive(Debug)]
pub struct Reply {
    pub status: u16,
    pub body: Value,
    pub headers: reqwest::header::HeaderMap,
}

impl Reply {
    /// The error code of an error body.
    pub fn code(&self) -> &str {
        self.body["error"]["code"]
            .as_str()
            .unwrap_or("<not an error>")
    }

    pub fn message(&self) -> &str {
        self.body["error"]["message"].as_str().unwrap_or_default()
    }
}

impl Admin {
    /// A server verifying the tests' JWTs.
    pub async fn start() -> Self {
        Self::with_config(jwt_config(Config::for_tests())).await
    }

    pub async fn with_config(config: Config) -> Self {
        Self::over(spawn_app_with(config).await)
    }

    pub fn over(app: TestApp) -> Self {
        Self {
            app,
            http: switchboard_agent::http::client(),
        }
    }

    pub async fn get(&self, path: &str, token: Option<&str>) -> Reply {
        self.call(Method::GET, path, token, None).await
    }

    pub async fn post(&self, path: &str, token: Option<&str>, body: Value) -> Reply {
        self.call(Method::POST, path, token, Some(body)).await
    }

    pub async fn put(&self, path: &str, token: Option<&str>, body: Value) -> Reply {
        self.call(Method::PUT, path, token, Some(body)).await
    }

    pub async fn delete(&self, path: &str, token: Option<&str>) -> Reply {
        self.call(Method::DELETE, path, token, None).await
    }

    /// Sends a request (a JSON body when given) and checks the answer against what
    /// the OpenAPI description says this operation answers with that status.
    pub async fn call(
        &self,
        method: Method,
        path: &str,
        token: Option<&str>,
        body: Option<Value>,
    ) -> Reply {
        let mut request = self.request(method.clone(), path);
        if let Some(token) = token {
            request = request.bearer_auth(token);
        }
        if let Some(body) = body {
            request = request.json(&body);
        }
        let reply = self.send(request).await;
        check_documented(&method, path, &reply);
        reply
    }

    /// A request to the server, for tests that shape it themselves.
    pub fn request(&self, method: Method, path: &str) -> reqwest::RequestBuilder {
        self.http
            .request(method, format!("http://{}{path}", self.app.addr))
    }

    /// Sends a request the test shaped itself (not checked against the description).
    pub async fn send(&self, request: reqwest::RequestBuilder) -> Reply {
        let response = request.send().await.expect("the server answers");
        let status = response.status().as_u16();
        let headers = response.headers().clone();
        let bytes = response.bytes().await.expect("a body");
        let body = if bytes.is_empty() {
            Value::Null
        } else {
            serde_json::from_slice(&bytes).unwrap_or_else(|e| {
                panic!(
                    "{status}: not JSON ({e}): {}",
                    String::from_utf8_lossy(&bytes)
                )
            })
        };
        if status >= 400 {
            switchboard_testkit::schemas()
                .check_event(&body, None)
                .unwrap_or_else(|e| panic!("an error body that is not a protocol error: {e}"));
        }
        Reply {
            status,
            body,
            headers,
        }
    }

    /// A WebSocket client of the server, with `token`.
    pub async fn ws(&self, token: &str) -> TestClient {
        TestClient::connect(&format!("{}?token={token}", self.app.ws_url())).await
    }
}

/// The served OpenAPI description.
pub fn openapi() -> &'static Value {
    static SPEC: OnceLock<Value> = OnceLock::new();
    SPEC.get_or_init(|| {
        serde_json::from_str(switchboard_server::admin::OPENAPI_SPEC).expect("valid JSON")
    })
}

/// The description's path template that `path` (without its query) matches.
pub fn template_of(path: &str) -> Option<&'static str> {
    let path = path.split('?').next().unwrap_or(path);
    let wanted: Vec<&str> = path.split('/').collect();
    openapi()["paths"].as_object()?.keys().find_map(|template| {
        let parts: Vec<&str> = template.split('/').collect();
        let matches = parts.len() == wanted.len()
            && parts
                .iter()
                .zip(&wanted)
                .all(|(t, w)| t == w || (t.starts_with('{') && !w.is_empty()));
        matches.then_some(template.as_str())
    })
}

/// Fails unless the description documents `reply.status` for this operation and
/// the body matches the schema it gives.
fn check_documented(method: &Method, path: &str, reply: &Reply) {
    let Some(template) = template_of(path) else {
        assert_eq!(
            reply.status, 404,
            "{path} is not documented, so it must be 404"
        );
        return;
    };
    let operation = &openapi()["paths"][template][method.as_str().to_lowercase()];
    if operation.is_null() {
        assert_eq!(reply.status, 405, "{method} {template} is not documented");
        return;
    }
    let status = reply.status.to_string();
    let mut documented = &operation["responses"][&status];
    assert!(
        !documented.is_null(),
        "{method} {template} answered {status}, which it does not document: {}",
        reply.body
    );
    if let Some(name) = documented["$ref"].as_str() {
        let name = name.rsplit('/').next().unwrap();
        documented = &openapi()["components"]["responses"][name];
    }
    let schema = &documented["content"]["application/json"]["schema"];
    if schema.is_null() {
        assert!(
            reply.body.is_null(),
            "{method} {template} {status} documents no body"
        );
        return;
    }
    let root = json!({"components": openapi()["components"], "allOf": [schema]});
    let validator = jsonschema::validator_for(&root).expect("a valid schema");
    let errors: Vec<String> = validator
        .iter_errors(&reply.body)
        .map(|e| format!("{} at {}", e, e.instance_path()))
        .collect();
    assert!(
        errors.is_empty(),
        "{method} {template} {status}: the body does not match the description: {errors:?}\n{}",
        reply.body
    );
}

#[tokio::test]
async fn health_needs_no_token_and_everything_else_does() {
    let admin = Admin::start().await;
    let health = admin.get("/admin/health", None).await;
    assert_eq!(
        (health.status, &health.body),
        (200, &json!({"status": "ok"}))
    );

    let none = admin.get("/admin/me", None).await;
    assert_eq!((none.status, none.code()), (401, "UNAUTHENTICATED"));
    assert_eq!(none.headers["www-authenticate"], "Bearer");
    assert_eq!(none.body["data"]["error"], none.body["error"]);
    assert!(none.body["timestamp"].is_i64());
    for header in ["Bearer ", "Bearer    ", "Basic dXNlcjpwdw==", "Token abc"] {
        let reply = admin
            .send(
                admin
                    .request(Method::GET, "/admin/me")
                    .header("authorization", header),
            )
            .await;
        assert_eq!(
            (reply.status, reply.code()),
            (401, "UNAUTHENTICATED"),
            "{header}"
        );
    }

    let expired = signed(json!({"sub": "u", "org": "acme", "role": "admin",
                                "exp": chrono::Utc::now().timestamp() - 3600}));
    let garbage = "not.a.jwt".to_owned();
    let wrong_key = encode(
        &Header::default(),
        &json!({"sub": "u", "org": "acme", "role": "admin", "exp": chrono::Utc::now().timestamp() + 600}),
        &EncodingKey::from_secret(b"another secret"),
    )
    .unwrap();
    for bad in [&expired, &garbage, &wrong_key] {
        let reply = admin.get("/admin/me", Some(bad)).await;
        assert_eq!((reply.status, reply.code()), (401, "INVALID_TOKEN"));
    }
    for claims in [
        json!({"sub": "u", "org": "acme"}),
        json!({"sub": "u", "org": "acme", "role": "superuser"}),
    ] {
        let reply = admin.get("/admin/me", Some(&signed(claims))).await;
        assert_eq!((reply.status, reply.code()), (401, "MISSING_ROLE"));
    }
    let no_org = signed(json!({"sub": "u", "role": "admin"}));
    assert_eq!(
        admin.get("/admin/me", Some(&no_org)).await.code(),
        "INVALID_TOKEN"
    );

    let me = admin
        .get(
            "/admin/me",
            Some(&signed(
                json!({"sub": "dana", "org": "acme", "role": "Curator",
                                "name": "Dana", "email": "Dana@Example.test", "groups": ["staff"]}),
            )),
        )
        .await;
    assert_eq!(me.status, 200);
    assert_eq!(
        me.body,
        json!({"userId": "dana", "orgId": "acme", "role": "curator", "displayName": "Dana",
               "email": "dana@example.test", "groups": ["staff"]})
    );
}

/// Every route that declares a role refuses the role below it and no token at all,
/// before it looks at anything else (ids, bodies).
#[tokio::test]
async fn every_route_refuses_a_role_below_its_own() {
    let admin = Admin::start().await;
    let roles = ["basic", "curator", "admin"];
    let mut checked = 0;
    for route in switchboard_server::admin::route_table() {
        let path = format!(
            "/admin{}",
            route
                .path
                .replace("{id}", "00000000-0000-4000-8000-000000000000")
        );
        let method = Method::from_bytes(route.method.as_str().as_bytes()).unwrap();
        let Some(least) = route.min_role else {
            let reply = admin.call(method, &path, None, None).await;
            assert_eq!(reply.status, 200, "{path} needs no token");
            continue;
        };
        let anonymous = admin.call(method.clone(), &path, None, None).await;
        assert_eq!(
            (anonymous.status, anonymous.code()),
            (401, "UNAUTHENTICATED"),
            "{path}"
        );
        let rank = roles.iter().position(|r| *r == least.as_str()).unwrap();
        if rank == 0 {
            continue;
        }
        let below = roles[rank - 1];
        let reply = admin
            .call(
                method,
                &path,
                Some(&token("u", "acme", below)),
                Some(json!({})),
            )
            .await;
        assert_eq!((reply.status, reply.code()), (403, "FORBIDDEN"), "{path}");
        assert_eq!(
            reply.message(),
            format!(
                "forbidden: requires {}, principal is {below}",
                least.as_str()
            )
        );
        checked += 1;
    }
    assert!(checked >= 10, "only {checked} routes checked");
}

#[tokio::test]
async fn auth_mode_none_still_needs_a_bearer_header() {
    let mut config = Config::for_tests();
    config.auth = AuthConfig::Open {
        dev_org: "dev-org".into(),
    };
    let admin = Admin::with_config(config).await;
    assert_eq!(admin.get("/admin/me", None).await.code(), "UNAUTHENTICATED");
    let me = admin.get("/admin/me", Some("anything")).await;
    assert_eq!(me.status, 200);
    assert_eq!(
        (me.body["orgId"].as_str(), me.body["role"].as_str()),
        (Some("dev-org"), Some("admin"))
    );
}

#[tokio::test]
async fn without_configured_auth_the_admin_api_is_off() {
    let admin = Admin::with_config(Config::for_tests()).await;
    assert_eq!(admin.get("/admin/health", None).await.status, 200);
    let reply = admin
        .get("/admin/me", Some(&token("u", "acme", "admin")))
        .await;
    assert_eq!((reply.status, reply.code()), (401, "UNAUTHENTICATED"));
    assert!(reply.message().contains("disabled"), "{}", reply.message());
}

#[tokio::test]
async fn browsers_may_call_from_any_origin() {
    let admin = Admin::start().await;
    let preflight = admin
        .send(
            admin
                .request(Method::OPTIONS, "/admin/connectors")
                .header("origin", "https://console.example")
                .header("access-control-request-method", "POST")
                .header(
                    "access-control-request-headers",
                    "authorization,content-type",
                ),
        )
        .await;
    assert!(preflight.status < 300, "{preflight:?}");
    let header = |name: &str| {
        preflight.headers[name]
            .to_str()
            .unwrap()
            .to_ascii_lowercase()
    };
    assert_eq!(header("access-control-allow-origin"), "*");
    for method in ["get", "post", "put", "delete", "options"] {
        assert!(header("access-control-allow-methods").contains(method));
    }
    for allowed in ["authorization", "content-type"] {
        assert!(header("access-control-allow-headers").contains(allowed));
    }
    // Answers (errors too) carry the header; the rest of the server does not.
    let refused = admin
        .send(
            admin
                .request(Method::GET, "/admin/me")
                .header("origin", "https://console.example"),
        )
        .await;
    assert_eq!(refused.status, 401);
    assert_eq!(refused.headers["access-control-allow-origin"], "*");
    let health = admin
        .http
        .get(format!("http://{}/health", admin.app.addr))
        .header("origin", "https://console.example")
        .send()
        .await
        .unwrap();
    assert!(
        health
            .headers()
            .get("access-control-allow-origin")
            .is_none()
    );
}

#[tokio::test]
async fn unknown_paths_and_methods_answer_in_the_envelope() {
    let admin = Admin::start().await;
    let admin_token = token("root", "acme", "admin");
    let nothing = admin.get("/admin/nothing/here", Some(&admin_token)).await;
    assert_eq!((nothing.status, nothing.code()), (404, "NOT_FOUND"));
    let patch = admin
        .send(
            admin
                .request(Method::PATCH, "/admin/settings")
                .bearer_auth(&admin_token),
        )
        .await;
    assert_eq!((patch.status, patch.code()), (405, "METHOD_NOT_ALLOWED"));
}

#[tokio::test]
async fn malformed_bodies_get_a_clear_400() {
    let admin = Admin::start().await;
    let admin_token = token("root", "acme", "admin");
    let raw = |body: &'static str| {
        admin
            .request(Method::PUT, "/admin/settings")
            .bearer_auth(&admin_token)
            .header("content-type", "application/json")
            .body(body)
    };
    let syntax = admin.send(raw(r#"{"model": "m", "#)).await;
    assert_eq!((syntax.status, syntax.code()), (400, "VALIDATION_ERROR"));
    assert!(
        syntax.message().starts_with("the body is not valid JSON"),
        "{}",
        syntax.message()
    );

    let shape = admin
        .send(raw(r#"{"model": 5, "systemPrompt": "p"}"#))
        .await;
    assert_eq!((shape.status, shape.code()), (400, "VALIDATION_ERROR"));
    assert!(shape.message().contains("model"), "{}", shape.message());

    let unknown = admin
        .send(raw(
            r#"{"model": "m", "systemPrompt": "p", "temperature": 2}"#,
        ))
        .await;
    assert!(
        unknown.message().contains("temperature"),
        "{}",
        unknown.message()
    );

    let missing = admin.send(raw(r#"{"model": "m"}"#)).await;
    assert!(
        missing.message().contains("systemPrompt"),
        "{}",
        missing.message()
    );

    let nul = admin
        .send(raw(r#"{"model": "m", "systemPrompt": "p\u0000"}"#))
        .await;
    assert_eq!((nul.status, nul.code()), (400, "VALIDATION_ERROR"));
    assert_eq!(
        nul.message(),
        "text must not contain NUL characters (U+0000)"
    );
    // An escaped backslash before "u0000" is ordinary text.
    let escaped = admin
        .send(raw(r#"{"model": "m", "systemPrompt": "C:\\u0000"}"#))
        .await;
    assert_eq!(escaped.status, 200, "{:?}", escaped.body);

    let untyped = admin
        .send(
            admin
                .request(Method::PUT, "/admin/settings")
                .bearer_auth(&admin_token)
                .body(r#"{"model": "m", "systemPrompt": "p"}"#),
        )
        .await;
    assert_eq!(
        (untyped.status, untyped.code()),
        (415, "UNSUPPORTED_MEDIA_TYPE")
    );

    let huge = "x".repeat(3 * 1024 * 1024);
    let too_large = admin
        .send(
            admin
                .request(Method::POST, "/admin/documents")
                .bearer_auth(&admin_token)
                .json(&json!({"documents": [{"source": "big.md", "content": huge}]})),
        )
        .await;
    assert_eq!(
        (too_large.status, too_large.code()),
        (413, "PAYLOAD_TOO_LARGE")
    );
}
