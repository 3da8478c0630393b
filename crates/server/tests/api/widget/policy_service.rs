//! Policies from the operator's policy service (`WIDGET_AUTH_URL`), played here by a
//! small HTTP server that counts what it is asked.

use super::{SHOP, code, create, from, spawn};
use axum::Router;
use axum::extract::Path;
use axum::http::{HeaderMap, StatusCode, Uri};
use axum::routing::get;
use serde_json::{Value, json};
use std::sync::{Arc, Mutex};
use std::time::Duration;
use switchboard_server::Config;
use switchboard_server::config::WidgetServiceConfig;
use switchboard_testkit::TestApp;

const BEARER: &str = "wb-policy-service-token";
const LISTED: &str = "5e0e0000-0000-4000-8000-000000000001";
const UNKNOWN: &str = "5e0e0000-0000-4000-8000-000000000002";
const BROKEN: &str = "5e0e0000-0000-4000-8000-000000000003";
const GARBLED: &str = "5e0e0000-0000-4000-8000-000000000004";
/// Not a uuid, nor any agent's slug: refused before the service is asked.
const ODD: &str = "a/b c";

/// One request the policy service received.
#[derive(Debug, Clone)]
struct Asked {
    path: String,
    authorization: Option<String>,
}

/// The operator's policy service: `LISTED`, `SHOP` and `ODD` have policies (in
/// the reference service's snake_case), `UNKNOWN` (and anything else) is a 404,
/// `BROKEN` a 500, `GARBLED` a 200 that is not a policy.
struct PolicyServer {
    url: String,
    asked: Arc<Mutex<Vec<Asked>>>,
}

impl PolicyServer {
    async fn start() -> Self {
        let asked: Arc<Mutex<Vec<Asked>>> = Arc::default();
        let log = asked.clone();
        let app = Router::new().route(
            "/policies/{agent}",
            get(
                move |Path(agent): Path<String>, uri: Uri, headers: HeaderMap| {
                    let log = log.clone();
                    async move {
                        log.lock().unwrap().push(Asked {
                            path: uri.path().to_owned(),
                            authorization: headers
                                .get("authorization")
                                .and_then(|v| v.to_str().ok())
                                .map(str::to_owned),
                        });
                        answer(&agent)
                    }
                },
            ),
        );
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let url = format!("http://{}/policies", listener.local_addr().unwrap());
        tokio::spawn(async move { axum::serve(listener, app).await });
        Self { url, asked }
    }

    /// Paths asked so far, in order.
    fn paths(&self) -> Vec<String> {
        self.asked
            .lock()
            .unwrap()
            .iter()
            .map(|a| a.path.clone())
            .collect()
    }

    fn times_asked(&self, agent: &str) -> usize {
        let path = format!("/policies/{agent}");
        self.paths().iter().filter(|p| **p == path).count()
    }

    fn config(&self, ttl: Duration, strict: bool) -> Config {
        let mut config = Config::for_tests();
        config.widget.strict = strict;
        config.widget.service = Some(WidgetServiceConfig {
            url: self.url.parse().unwrap(),
            bearer: Some(BEARER.to_owned().into()),
            ttl,
        });
        config
    }
}

fn answer(agent: &str) -> (StatusCode, String) {
    let policy = |origins: Value| {
        json!({"allowed_origins": origins, "public_key": null, "organization_id": "from-service"})
            .to_string()
    };
    match agent {
        LISTED | SHOP => (StatusCode::OK, policy(json!(["https://service.example"]))),
        ODD => (StatusCode::OK, policy(json!([]))),
        BROKEN => (StatusCode::INTERNAL_SERVER_ERROR, "boom".into()),
        GARBLED => (StatusCode::OK, "<html>not a policy</html>".into()),
        _ => (StatusCode::NOT_FOUND, String::new()),
    }
}

/// A server asking `service`, with the file giving `SHOP` its own policy.
async fn spawn_asking(service: &PolicyServer, ttl: Duration, strict: bool) -> TestApp {
    let (app, _) = spawn(
        service.config(ttl, strict),
        json!({"allowedOrigins": ["https://file.example"]}),
    )
    .await;
    app
}

#[tokio::test]
async fn a_policy_is_fetched_with_the_bearer_and_remembered_for_the_ttl() {
    let service = PolicyServer::start().await;
    let app = spawn_asking(&service, Duration::from_secs(60), false).await;
    let mut page = from(&app, "https://service.example").await;
    for request in ["c1", "c2", "c3"] {
        let ack = page.request(request, create(LISTED)).await;
        assert_eq!(ack["status"], 200, "{ack}");
    }
    // The cached policy still refuses other origins, without asking again.
    let e = from(&app, "https://evil.example")
        .await
        .request("c4", create(LISTED))
        .await;
    assert_eq!(code(&e), "ORIGIN_NOT_ALLOWED", "{e}");
    assert_eq!(service.times_asked(LISTED), 1);
    let asked = service.asked.lock().unwrap()[0].clone();
    assert_eq!(
        asked.authorization.as_deref(),
        Some(format!("Bearer {BEARER}").as_str())
    );

    // The organisation the service names owns the new conversation.
    let ack = page.request("c5", create(LISTED)).await;
    let session = super::stored_session(&app, &ack).await;
    assert_eq!(session.org_id.as_str(), "from-service");
}

#[tokio::test]
async fn a_policy_is_asked_again_once_its_ttl_has_passed() {
    let service = PolicyServer::start().await;
    let app = spawn_asking(&service, Duration::from_secs(1), false).await;
    let mut page = from(&app, "https://service.example").await;
    page.request("c1", create(LISTED)).await;
    page.request("c2", create(LISTED)).await;
    assert_eq!(service.times_asked(LISTED), 1);
    tokio::time::sleep(Duration::from_millis(1100)).await;
    page.request("c3", create(LISTED)).await;
    assert_eq!(service.times_asked(LISTED), 2);
}

#[tokio::test]
async fn no_policy_is_remembered_but_a_failure_is_not() {
    let service = PolicyServer::start().await;
    let app = spawn_asking(&service, Duration::from_secs(60), false).await;
    let mut page = app.client().await;
    for agent in [UNKNOWN, BROKEN, GARBLED] {
        for request in ["c1", "c2"] {
            let ack = page.request(request, create(agent)).await;
            assert_eq!(ack["status"], 200, "no policy, not strict: {agent}: {ack}");
        }
    }
    assert_eq!(service.times_asked(UNKNOWN), 1, "a 404 is remembered");
    assert_eq!(service.times_asked(BROKEN), 2, "a 500 is not");
    assert_eq!(service.times_asked(GARBLED), 2, "nor a bad body");
}

#[tokio::test]
async fn in_strict_mode_an_unreachable_or_unknown_policy_refuses() {
    let service = PolicyServer::start().await;
    let app = spawn_asking(&service, Duration::from_secs(60), true).await;
    let mut page = from(&app, "https://service.example").await;
    for agent in [UNKNOWN, BROKEN] {
        let e = page.request("c", create(agent)).await;
        assert_eq!(code(&e), "AGENT_NOT_AUTHORIZED", "{agent}: {e}");
    }
    let ack = page.request("c", create(LISTED)).await;
    assert_eq!(ack["status"], 200, "{ack}");
}

#[tokio::test]
async fn the_file_wins_over_the_service() {
    let service = PolicyServer::start().await;
    let app = spawn_asking(&service, Duration::from_secs(60), false).await;
    let ack = from(&app, "https://file.example")
        .await
        .request("c1", create(SHOP))
        .await;
    assert_eq!(ack["status"], 200, "{ack}");
    let e = from(&app, "https://service.example")
        .await
        .request("c2", create(SHOP))
        .await;
    assert_eq!(
        code(&e),
        "ORIGIN_NOT_ALLOWED",
        "the service's policy is not used"
    );
    assert_eq!(service.times_asked(SHOP), 0, "the service is not asked");
}

/// The service is asked for the agent's UUID (the canonical form, whatever form
/// the client wrote it in); an `agentId` that is no agent's UUID or slug never
/// reaches it.
#[tokio::test]
async fn the_service_is_asked_for_the_uuid_and_never_for_anything_else() {
    let service = PolicyServer::start().await;
    let app = spawn_asking(&service, Duration::from_secs(60), true).await;
    let e = app.client().await.request("c", create(ODD)).await;
    assert_eq!(code(&e), "VALIDATION_ERROR", "{e}");
    assert!(service.paths().is_empty(), "{:?}", service.paths());
    let e = app
        .client()
        .await
        .request("c", create(&LISTED.to_uppercase()))
        .await;
    assert_eq!(code(&e), "ORIGIN_NOT_ALLOWED", "the policy was found: {e}");
    assert_eq!(service.paths(), [format!("/policies/{LISTED}")]);
}
