//! `GET`/`PUT /admin/settings` and `GET /admin/model-costs`.

use crate::admin::{Admin, jwt_config, token};
use axum::Router;
use axum::http::StatusCode;
use axum::routing::get;
use serde_json::{Value, json};
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use switchboard_server::Config;
use switchboard_server::config::GatewayConfig;
use switchboard_testkit::config_for;
use switchboard_testkit::mock_gateway::{MockGateway, ScriptedReply};

#[tokio::test]
async fn settings_round_trip_with_defaults_and_the_persona_reaches_turns() {
    let gateway = MockGateway::start(vec![ScriptedReply::Text("Arr.".into())]).await;
    let admin = Admin::with_config(jwt_config(config_for(&gateway))).await;
    let (boss, cora) = (
        token("root", "acme", "admin"),
        token("cora", "acme", "curator"),
    );

    let defaults = admin.get("/admin/settings", Some(&cora)).await;
    assert_eq!(defaults.status, 200);
    let settings = &defaults.body["settings"];
    assert_eq!(settings["orgId"], "acme");
    assert_eq!(settings["model"], switchboard_server::admin::DEFAULT_MODEL);
    assert_eq!(
        settings["systemPrompt"],
        switchboard_server::admin::DEFAULT_SYSTEM_PROMPT
    );
    assert_eq!(
        (&settings["persona"], &settings["updatedAt"]),
        (&Value::Null, &Value::Null)
    );
    assert_eq!(settings["defaultTools"], json!([]));

    let body = json!({"model": "gpt-4o", "systemPrompt": "Be precise.",
                      "persona": "Speaks like a pirate.", "defaultTools": ["knowledge_search", "knowledge_search"]});
    let refused = admin
        .put("/admin/settings", Some(&cora), body.clone())
        .await;
    assert_eq!(refused.code(), "FORBIDDEN", "curators read, admins write");
    let saved = admin.put("/admin/settings", Some(&boss), body).await;
    assert_eq!(saved.status, 200, "{:?}", saved.body);
    let read = admin.get("/admin/settings", Some(&cora)).await;
    assert_eq!(read.body, saved.body);
    let settings = &read.body["settings"];
    assert_eq!(
        (
            settings["model"].as_str(),
            settings["systemPrompt"].as_str(),
            settings["persona"].as_str()
        ),
        (
            Some("gpt-4o"),
            Some("Be precise."),
            Some("Speaks like a pirate.")
        )
    );
    assert_eq!(settings["defaultTools"], json!(["knowledge_search"]));
    assert!(settings["updatedAt"].is_string());
    // Another organisation still has the defaults.
    let globex = admin
        .get("/admin/settings", Some(&token("gus", "globex", "admin")))
        .await;
    assert_eq!(globex.body["settings"]["persona"], Value::Null);

    // The persona shapes the organisation's turns.
    let mut client = admin.ws(&token("amy", "acme", "basic")).await;
    let (session, _) = client.create_session().await;
    client.turn("r1", &session, "hello").await;
    let sent = serde_json::to_string(&gateway.requests()[0]).unwrap();
    assert!(sent.contains("Speaks like a pirate."), "{sent}");

    // Omitting the persona clears it (a PUT replaces everything).
    let cleared = admin
        .put(
            "/admin/settings",
            Some(&boss),
            json!({"model": "gpt-4o", "systemPrompt": "Be precise."}),
        )
        .await;
    assert_eq!(cleared.body["settings"]["persona"], Value::Null);

    for (body, wanted) in [
        (json!({"model": " ", "systemPrompt": "p"}), "'model'"),
        (json!({"model": "m", "systemPrompt": ""}), "'systemPrompt'"),
        (
            json!({"model": "m", "systemPrompt": "p", "defaultTools": [""]}),
            "'defaultTools'",
        ),
        (
            json!({"model": "m", "systemPrompt": "p", "persona": "x".repeat(20_001)}),
            "'persona'",
        ),
        (json!({"systemPrompt": "p"}), "model"),
    ] {
        let reply = admin
            .put("/admin/settings", Some(&boss), body.clone())
            .await;
        assert_eq!(
            (reply.status, reply.code()),
            (400, "VALIDATION_ERROR"),
            "{body}"
        );
        assert!(reply.message().contains(wanted), "{}", reply.message());
    }
}

/// A gateway serving only `/v1/model/info`: `status` and a count of requests.
async fn model_info(status: StatusCode) -> (String, Arc<AtomicUsize>) {
    let hits = Arc::new(AtomicUsize::new(0));
    let counter = hits.clone();
    let app = Router::new().route(
        "/v1/model/info",
        get(move || {
            counter.fetch_add(1, Ordering::SeqCst);
            async move {
                let body = json!({"data": [
                    {"model_name": "gpt-4o-mini", "model_info": {
                        "input_cost_per_token": 1.5e-7, "output_cost_per_token": 6e-7,
                        "tier": "fast", "use_cases": ["chat", "summaries"], "max_output_tokens": 16384}},
                    {"model_name": "bare", "model_info": {"tier": 3}}
                ]});
                (status, axum::Json(body))
            }
        }),
    );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}/v1", listener.local_addr().unwrap());
    tokio::spawn(async move { axum::serve(listener, app).await });
    (url, hits)
}

fn with_gateway(url: String) -> Config {
    let mut config = Config::for_tests();
    config.gateway = Some(GatewayConfig {
        url,
        key: None,
        timeout: std::time::Duration::from_secs(5),
    });
    config
}

#[tokio::test]
async fn model_costs_come_from_the_gateway_once() {
    let none = Admin::with_config(Config::for_tests()).await;
    assert_eq!(none.get("/admin/model-costs", None).await.body, json!({}));

    let (url, hits) = model_info(StatusCode::OK).await;
    let admin = Admin::with_config(with_gateway(url)).await;
    let costs = admin.get("/admin/model-costs", None).await;
    assert_eq!(costs.status, 200);
    assert_eq!(
        costs.body["gpt-4o-mini"],
        json!({"inputCostPerToken": 1.5e-7, "outputCostPerToken": 6e-7, "tier": "fast",
               "useCases": ["chat", "summaries"], "maxOutputTokens": 16384})
    );
    assert_eq!(
        costs.body["bare"],
        json!({"inputCostPerToken": null, "outputCostPerToken": null, "tier": null,
               "useCases": [], "maxOutputTokens": null})
    );
    assert_eq!(admin.get("/admin/model-costs", None).await.body, costs.body);
    assert_eq!(
        hits.load(Ordering::SeqCst),
        1,
        "cached after the first success"
    );

    let (url, hits) = model_info(StatusCode::INTERNAL_SERVER_ERROR).await;
    let failing = Admin::with_config(with_gateway(url)).await;
    for _ in 0..2 {
        let reply = failing.get("/admin/model-costs", None).await;
        assert_eq!((reply.status, &reply.body), (200, &json!({})));
    }
    assert_eq!(hits.load(Ordering::SeqCst), 2, "failures are not cached");
}
