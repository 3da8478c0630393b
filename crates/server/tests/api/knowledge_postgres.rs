//! The knowledge base in PostgreSQL, through the server binary: documents are
//! ingested into the database at start-up, answered from with citations, filtered
//! by access list in SQL, and still there for a server that starts without them.

use serde_json::json;
use std::path::Path;
use switchboard_testkit::TestClient;
use switchboard_testkit::events::{reply, terminal};
use switchboard_testkit::postgres::TestDatabase;
use switchboard_testkit::process::ServerProcess;

const SECRET: &str = "staff may waive the restocking fee for VIP customers";

async fn start(database: &TestDatabase, config: &Path) -> ServerProcess {
    let url = database.url();
    let config = config.display().to_string();
    ServerProcess::start(
        Path::new(env!("CARGO_BIN_EXE_switchboard")),
        &[
            ("SMOOTH_AGENT_STORAGE", "postgres"),
            ("SMOOTH_AGENT_DATABASE_URL", url.as_str()),
            ("SMOOTH_AGENT_CONFIG", config.as_str()),
        ],
    )
    .await
    .expect("the server starts")
}

/// Asks `question` on a fresh session; returns the answer and the first citation's id.
async fn ask(server: &ServerProcess, question: &str) -> (String, String, String) {
    let mut client = TestClient::connect(server.url()).await;
    let (session, _) = client.create_session().await;
    let events = client.turn("r1", &session, question).await;
    let citation = terminal(&events)["data"]["data"]["citations"][0]["id"]
        .as_str()
        .unwrap_or_default()
        .to_owned();
    let everything = serde_json::to_string(&events).unwrap();
    (reply(&events), citation, everything)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn documents_live_in_the_database_and_respect_access_lists() {
    let database = TestDatabase::create("kbpg");
    let dir = std::env::temp_dir().join(format!("sb-kbpg-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let with_documents = dir.join("with.json");
    std::fs::write(
        &with_documents,
        json!({"knowledge": [
            {"source": "policies/warranty.md",
             "content": "# Warranty\n\nEvery blender carries a 3-year warranty covering the motor."},
            {"source": "internal/returns-exceptions.md",
             "content": format!("# Return exceptions\n\nReturn exceptions: {SECRET}."),
             "acl": {"visibility": "restricted", "groups": ["staff"]}}
        ]})
        .to_string(),
    )
    .unwrap();
    let without = dir.join("without.json");
    std::fs::write(&without, "{}").unwrap();

    let server = start(&database, &with_documents).await;
    let (answer, citation, _) = ask(&server, "How long is the warranty on a blender?").await;
    assert!(answer.contains("3-year warranty"), "{answer}");
    assert!(citation.ends_with("policies/warranty.md"), "{citation}");
    // An anonymous visitor never gets the restricted document, even when asking
    // in its own words.
    let (_, _, everything) = ask(
        &server,
        "Are there return exceptions, like waiving the restocking fee for VIP customers?",
    )
    .await;
    assert!(!everything.contains(SECRET), "{everything}");
    server.kill_hard().expect("killed");

    // Another server on the same database, with no documents configured, answers
    // from what the first one stored.
    let server = start(&database, &without).await;
    let (answer, citation, _) = ask(&server, "What does the blender warranty cover?").await;
    assert!(answer.contains("covering the motor"), "{answer}");
    assert!(citation.ends_with("policies/warranty.md"), "{citation}");
    server.stop().expect("clean shutdown");
    std::fs::remove_dir_all(&dir).ok();
}
