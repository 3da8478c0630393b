//! The knowledge base over the WebSocket: what a turn may see, cite and search.

use serde_json::{Value, json};
use std::time::Duration;
use switchboard_knowledge::SearchMode;
use switchboard_testkit::events::{reply, terminal};
use switchboard_testkit::mock_gateway::{MockGateway, ScriptedReply};
use switchboard_testkit::{config_for, spawn_app_with, spawn_app_with_agent};

const SECRET: &str = "staff may waive the restocking fee for VIP customers";

/// Knowledge with an org-public document and one restricted to a group.
fn knowledge() -> Value {
    json!({"knowledge": [
        {"source": "policies/returns.md", "content": "Returns are accepted within 30 days of delivery."},
        {"source": "internal/returns-exceptions.md",
         "content": format!("Return exceptions: {SECRET}."),
         "acl": {"visibility": "restricted", "groups": ["staff"]}}
    ]})
}

#[tokio::test]
async fn a_restricted_document_never_reaches_an_anonymous_turn() {
    let gateway = MockGateway::start(vec![
        ScriptedReply::ToolCall {
            name: "knowledge_search".into(),
            arguments: r#"{"query": "return exceptions restocking fee waive", "limit": 10}"#.into(),
        },
        ScriptedReply::Text("Returns are accepted within 30 days.".into()),
    ])
    .await;
    let app = spawn_app_with_agent(config_for(&gateway), knowledge()).await;
    let mut client = app.client().await;
    let (session, _) = client.create_session().await;
    let events = client
        .turn(
            "r1",
            &session,
            "Are there return exceptions, like waiving the restocking fee?",
        )
        .await;

    // Not in what the model was given (auto-retrieval), nor in the tool's result.
    let sent = serde_json::to_string(&gateway.requests()).unwrap();
    assert!(
        !sent.contains(SECRET),
        "the model saw the restricted document"
    );
    assert!(
        sent.contains("within 30 days"),
        "the public document was retrieved (control)"
    );
    let result = events
        .iter()
        .find_map(|e| e["data"]["state"]["rawResponse"]["toolResult"]["result"].as_str())
        .expect("a tool result");
    assert!(
        result.contains("policies/returns.md") && !result.contains(SECRET),
        "{result}"
    );
    // Nor in the citations.
    let citations = terminal(&events)["data"]["data"]["citations"]
        .as_array()
        .cloned()
        .unwrap();
    let ids: Vec<&str> = citations
        .iter()
        .map(|c| c["id"].as_str().unwrap())
        .collect();
    assert_eq!(ids, ["policies/returns.md"]);
    // Nor anywhere on the wire.
    assert!(!serde_json::to_string(&events).unwrap().contains(SECRET));
}

#[tokio::test]
async fn a_folder_of_markdown_answers_with_citations() {
    let dir = std::env::temp_dir().join(format!("sb-kb-folder-{}", std::process::id()));
    std::fs::create_dir_all(dir.join("policies")).unwrap();
    std::fs::write(
        dir.join("policies/warranty.md"),
        "# Warranty\n\nEvery blender carries a 3-year warranty covering the motor.\n\n## Claims\n\nClaims need the original receipt.",
    )
    .unwrap();
    std::fs::write(
        dir.join("policies/shipping.md"),
        "# Shipping\n\nWe ship to 40 countries.",
    )
    .unwrap();
    std::fs::write(
        dir.join("notes.txt"),
        "The office closes at 6pm on Fridays.",
    )
    .unwrap();
    let mut config = switchboard_server::Config::for_tests();
    config.knowledge_paths = vec![dir.clone()];
    let app = spawn_app_with(config).await;
    let mut client = app.client().await;
    let (session, _) = client.create_session().await;

    let events = client
        .turn("r1", &session, "How long is the warranty on a blender?")
        .await;
    let answer = reply(&events);
    assert!(answer.contains("3-year warranty"), "{answer}");
    let citation = &terminal(&events)["data"]["data"]["citations"][0];
    assert!(
        citation["id"]
            .as_str()
            .unwrap()
            .ends_with("policies/warranty.md"),
        "{citation}"
    );
    assert_eq!(citation["title"], "Warranty");
    assert!(
        citation["snippet"]
            .as_str()
            .unwrap()
            .starts_with("Warranty\n\nEvery blender")
    );

    let events = client
        .turn("r2", &session, "When does the office close on Friday?")
        .await;
    assert!(reply(&events).contains("6pm"));
    std::fs::remove_dir_all(&dir).unwrap();
}

#[tokio::test]
async fn gateway_embeddings_are_batched_at_ingestion_and_used_per_query() {
    let gateway = MockGateway::start(vec![ScriptedReply::Text("ok".into())]).await;
    let mut config = config_for(&gateway);
    config.embeddings = switchboard_server::config::EmbeddingsConfig::Gateway {
        model: "text-embedding-3-small".into(),
    };
    let app = spawn_app_with_agent(config, knowledge()).await;
    assert_eq!(
        gateway.embedding_batches(),
        [2],
        "both documents in one batch"
    );
    let signature = app
        .state
        .runtime()
        .retriever()
        .base()
        .signature()
        .await
        .unwrap()
        .unwrap();
    assert_eq!(signature.name, "gateway:text-embedding-3-small");
    assert_eq!(signature.dimension, 32);

    let mut client = app.client().await;
    let (session, _) = client.create_session().await;
    let events = client.turn("r1", &session, "return window").await;
    assert_eq!(
        gateway.embedding_batches(),
        [2, 1],
        "the question is embedded once"
    );
    let cited = &terminal(&events)["data"]["data"]["citations"][0]["id"];
    assert_eq!(cited, "policies/returns.md");
}

#[tokio::test]
async fn gateway_reranking_orders_the_candidates() {
    let gateway = MockGateway::start(vec![ScriptedReply::Text("ok".into())]).await;
    let mut config = config_for(&gateway);
    config.rerank = switchboard_server::config::RerankConfig::Gateway {
        model: "rerank".into(),
    };
    let app = spawn_app_with_agent(config, knowledge()).await;
    let mut client = app.client().await;
    let (session, _) = client.create_session().await;
    client.turn("r1", &session, "return policy").await;
    assert_eq!(gateway.rerank_queries(), ["return policy"]);
}

#[tokio::test]
async fn a_refreshed_source_picks_up_edits_and_deletions() {
    let dir = std::env::temp_dir().join(format!("sb-kb-refresh-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    std::fs::write(dir.join("hours.md"), "Support is open 9 to 5.").unwrap();
    std::fs::write(
        dir.join("old.md"),
        "The legacy portal is at portal.example.",
    )
    .unwrap();
    let app = spawn_app_with_agent(
        switchboard_server::Config::for_tests(),
        json!({"sources": [{"name": "docs", "path": dir.display().to_string(), "refreshSecs": 1}]}),
    )
    .await;
    let index = app.state.runtime().retriever().base().clone();
    let anyone = switchboard_knowledge::Access::anonymous("reference-org");
    assert_eq!(index.document_count().await.unwrap(), 2);

    std::fs::write(dir.join("hours.md"), "Support is open 8 to 8.").unwrap();
    std::fs::remove_file(dir.join("old.md")).unwrap();
    let deadline = tokio::time::Instant::now() + Duration::from_secs(10);
    loop {
        let hits = index
            .search_with("support open", &anyone, 5, SearchMode::Hybrid)
            .await
            .unwrap();
        if index.document_count().await.unwrap() == 1
            && hits.first().is_some_and(|h| h.text.contains("8 to 8"))
        {
            break;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "not refreshed: {hits:?}"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let stale = index
        .search_with("legacy portal", &anyone, 5, SearchMode::Hybrid)
        .await
        .unwrap();
    assert!(stale.is_empty());
    std::fs::remove_dir_all(&dir).unwrap();
}

#[tokio::test]
async fn sources_that_cannot_be_read_stop_startup_with_a_clear_message() {
    let store = std::sync::Arc::new(switchboard_core::MemoryStore::new());
    let file = switchboard_agent::AgentFile::from_json(
        json!({"sources": [{"path": "/nonexistent/docs"}]}),
    )
    .unwrap();
    let err = switchboard_server::AppState::with_parts(
        switchboard_server::Config::for_tests(),
        store.clone(),
        file,
    )
    .await
    .err()
    .expect("refused");
    assert!(err.to_string().contains("/nonexistent/docs"), "{err}");

    // A gateway that serves no embeddings: the message says what to do.
    let mut config = switchboard_server::Config::for_tests();
    config.gateway = Some(switchboard_server::config::GatewayConfig {
        url: "http://127.0.0.1:9/v1".into(),
        key: None,
        timeout: Duration::from_secs(1),
    });
    config.embeddings = switchboard_server::config::EmbeddingsConfig::Gateway { model: "m".into() };
    let file = switchboard_agent::AgentFile::from_json(knowledge()).unwrap();
    let err = switchboard_server::AppState::with_parts(config, store, file)
        .await
        .err()
        .expect("refused");
    assert!(
        err.to_string().contains("SMOOTH_AGENT_EMBEDDINGS=offline"),
        "{err}"
    );
}
