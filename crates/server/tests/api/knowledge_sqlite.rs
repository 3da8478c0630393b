//! The knowledge base in the SQLite file, through the server binary: documents
//! of a folder and of the configuration are ingested at start-up and embedded by
//! the gateway; after a restart (SIGKILL) the unchanged ones are not embedded
//! again, an edited one is, answers still cite them, and a visitor never retrieves
//! another organisation's document or a restricted one.

use serde_json::{Value, json};
use std::path::Path;
use switchboard_testkit::TestClient;
use switchboard_testkit::events::terminal;
use switchboard_testkit::mock_gateway::{MockGateway, ScriptedReply};
use switchboard_testkit::process::ServerProcess;

const SECRET: &str = "staff may waive the restocking fee for VIP customers";
const ACME_CODE: &str = "ACME-ZEBRA-77";
const ACME_WIDGET: &str = "acacacac-0000-4000-8000-000000000002";

async fn start(gateway: &MockGateway, dir: &Path) -> ServerProcess {
    let url = format!("sqlite://{}", dir.join("data/switchboard.db").display());
    let docs = dir.join("docs").display().to_string();
    let config = dir.join("agent.json").display().to_string();
    let gateway = gateway.url();
    ServerProcess::start(
        Path::new(env!("CARGO_BIN_EXE_switchboard")),
        &[
            ("SMOOTH_AGENT_STORAGE", "sqlite"),
            ("SMOOTH_AGENT_DATABASE_URL", url.as_str()),
            ("SMOOTH_AGENT_KNOWLEDGE_PATH", docs.as_str()),
            ("SMOOTH_AGENT_CONFIG", config.as_str()),
            ("SMOOAI_GATEWAY_URL", gateway.as_str()),
            ("SMOOTH_AGENT_EMBEDDINGS", "gateway"),
        ],
    )
    .await
    .expect("the server starts")
}

/// Asks `question` on a fresh session (of `agent`, if given); returns the cited
/// document ids and everything the server sent.
async fn ask(server: &ServerProcess, agent: Option<&str>, question: &str) -> (Vec<String>, String) {
    let mut client = TestClient::connect(server.url()).await;
    let (session, _) = match agent {
        Some(agent) => client.create_session_with(json!({"agentId": agent})).await,
        None => client.create_session().await,
    };
    let events = client.turn("r1", &session, question).await;
    let citations = terminal(&events)["data"]["data"]["citations"]
        .as_array()
        .cloned()
        .unwrap_or_default()
        .iter()
        .filter_map(|c| c["id"].as_str().map(str::to_owned))
        .collect();
    (citations, serde_json::to_string(&events).unwrap())
}

/// Every text the gateway was sent, embeddings and chats, as one string.
fn sent(gateway: &MockGateway) -> String {
    Value::from(gateway.requests()).to_string()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn documents_survive_a_restart_without_being_embedded_again() {
    let gateway = MockGateway::builder()
        .script(vec![ScriptedReply::Text("ok".into())])
        .repeat_last(true)
        .start()
        .await;
    let dir = std::env::temp_dir().join(format!("sb-kbsqlite-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(dir.join("docs")).unwrap();
    std::fs::write(
        dir.join("docs/warranty.md"),
        "# Warranty\n\nEvery blender carries a 3-year warranty covering the motor.",
    )
    .unwrap();
    std::fs::write(
        dir.join("docs/shipping.md"),
        "# Shipping\n\nStandard shipping takes 5 to 7 business days.",
    )
    .unwrap();
    std::fs::write(
        dir.join("agent.json"),
        json!({
        "agents": [{"id": ACME_WIDGET,
                    "widget": {"allowedOrigins": ["*"], "organizationId": "acme"}}],
        "knowledge": [
            {"source": "acme/discount.md", "org": "acme",
             "content": format!("Acme members get the zebra discount code {ACME_CODE}.")},
            {"source": "internal/returns-exceptions.md",
             "content": format!("Return exceptions: {SECRET}."),
             "acl": {"visibility": "restricted", "groups": ["staff"]}}
        ]})
        .to_string(),
    )
    .unwrap();

    let server = start(&gateway, &dir).await;
    let first: usize = gateway.embedding_batches().iter().sum();
    assert_eq!(first, 4, "each document's one chunk embedded once");
    let (cited, _) = ask(&server, None, "How long is the warranty on a blender?").await;
    assert!(
        cited.iter().any(|c| c.ends_with("warranty.md")),
        "{cited:?}"
    );
    server.kill_hard().expect("killed");

    // Restarted on the same file: the unchanged documents are not embedded again
    // (one probe checks the embedder is the recorded one).
    let before = gateway.embedding_batches().len();
    let server = start(&gateway, &dir).await;
    assert_eq!(
        gateway.embedding_batches()[before..],
        [1],
        "only the probe at start-up"
    );
    let (cited, _) = ask(&server, None, "What does the blender warranty cover?").await;
    assert!(
        cited.iter().any(|c| c.ends_with("warranty.md")),
        "{cited:?}"
    );

    // A visitor of the default organisation never gets Acme's document or the
    // restricted one, even asking in their words: not in the reply, not in the
    // citations, not in what the model was sent.
    let before_questions = gateway.requests().len();
    let (cited, everything) = ask(
        &server,
        None,
        "What is the zebra discount code for members?",
    )
    .await;
    assert!(!cited.iter().any(|c| c.contains("acme")), "{cited:?}");
    assert!(!everything.contains(ACME_CODE), "{everything}");
    let (cited, everything) = ask(
        &server,
        None,
        "Are there return exceptions, like waiving the restocking fee for VIP customers?",
    )
    .await;
    assert!(!cited.iter().any(|c| c.contains("internal")), "{cited:?}");
    assert!(!everything.contains(SECRET), "{everything}");
    let asked = Value::from(gateway.requests()[before_questions..].to_vec()).to_string();
    assert!(
        !asked.contains(ACME_CODE) && !asked.contains(SECRET),
        "{asked}"
    );
    // Acme's visitor does get Acme's document.
    let (cited, _) = ask(
        &server,
        Some(ACME_WIDGET),
        "What is the zebra discount code for members?",
    )
    .await;
    assert!(
        cited.iter().any(|c| c.ends_with("acme/discount.md")),
        "{cited:?}"
    );
    assert!(
        sent(&gateway).contains(ACME_CODE),
        "Acme's chunk reached the model"
    );
    server.kill_hard().expect("killed");

    // One document edited: only it is embedded at the next start.
    std::fs::write(
        dir.join("docs/shipping.md"),
        "# Shipping\n\nStandard shipping now takes 3 business days.",
    )
    .unwrap();
    let before = gateway.embedding_batches().len();
    let server = start(&gateway, &dir).await;
    // The configuration's documents first (unchanged: the probe), then the folder.
    assert_eq!(
        gateway.embedding_batches()[before..],
        [1, 1],
        "the probe, then the edited document"
    );
    let (cited, _) = ask(&server, None, "How many business days does shipping take?").await;
    assert!(
        cited.iter().any(|c| c.ends_with("shipping.md")),
        "{cited:?}"
    );
    server.stop().expect("clean shutdown");
    std::fs::remove_dir_all(&dir).ok();
}
