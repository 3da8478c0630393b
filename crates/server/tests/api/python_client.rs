//! The official smooth-operator Python client, version 1.66, against the server.
//! It validates every frame against its own models and drops those that do not
//! match, so a wrong field shows up here as a failure or a timeout.
//!
//! The client is installed from PyPI into a virtual environment in the temporary
//! folder the first time (`python3` must be on the path); later runs reuse it.

use serde_json::{Value, json};
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Duration;
use switchboard_core::AgentId;
use switchboard_server::Config;
use switchboard_testkit::{TestApp, spawn_app, spawn_app_with_agent};

/// With its WebSocket transport (the `websockets` extra).
const PACKAGE: &str = "smooai-smooth-operator[websockets]==1.66.*";

/// The virtual environment's Python with the client installed.
pub(crate) fn python() -> PathBuf {
    static PYTHON: std::sync::OnceLock<PathBuf> = std::sync::OnceLock::new();
    PYTHON
        .get_or_init(|| {
            crate::python_venv::venv(
                "switchboard-smooth-operator-1.66",
                PACKAGE,
                "import importlib.metadata as m, websockets; \
                 assert m.version('smooai-smooth-operator').startswith('1.66.')",
            )
        })
        .clone()
}

/// Runs the client script against `app` and returns the JSON it printed.
async fn drive(app: &TestApp, args: &[&str]) -> Value {
    let script = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures/python/smooth_operator_client.py");
    let mut command = Command::new(python());
    command.arg(script).arg(app.ws_url()).args(args);
    let out = tokio::time::timeout(
        Duration::from_secs(180),
        tokio::task::spawn_blocking(move || command.output()),
    )
    .await
    .expect("the Python client finished within 3 minutes")
    .unwrap()
    .expect("run the Python client");
    assert!(
        out.status.success(),
        "the Python client failed:\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let stdout = String::from_utf8_lossy(&out.stdout);
    serde_json::from_str(stdout.lines().last().unwrap_or_default())
        .unwrap_or_else(|e| panic!("not JSON ({e}): {stdout}"))
}

fn strings(value: &Value) -> Vec<String> {
    value
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v.as_str().unwrap().to_owned())
        .collect()
}

fn pages(value: &Value) -> Vec<Vec<String>> {
    value.as_array().unwrap().iter().map(strings).collect()
}

/// The strict client reaches every conversation (`limit=1`, following
/// `next_cursor`), searches them, and reaches every message page with
/// `get_messages(before=…)`.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_python_client_pages_conversations_and_messages() {
    let app = spawn_app().await;
    let seen = drive(&app, &["paging"]).await;
    let made = strings(&seen["made"]);
    let newest_first: Vec<String> = made.iter().rev().cloned().collect();
    let listed = pages(&seen["pages"]);
    assert!(listed.iter().all(|p| p.len() == 1), "{listed:?}");
    assert_eq!(
        listed.concat(),
        newest_first,
        "every conversation once, newest first"
    );
    assert_eq!(
        pages(&seen["refundPages"]),
        [vec![made[2].clone()], vec![made[0].clone()]],
        "'Another REFUND question' and 'Where is my refund?'"
    );
    assert_eq!(pages(&seen["hoursPages"]), [vec![made[1].clone()]]);
    let messages = pages(&seen["messagePages"]);
    assert_eq!(messages.iter().map(Vec::len).collect::<Vec<_>>(), [2, 2, 2]);
    assert_eq!(
        messages.concat(),
        strings(&seen["newestFirst"]),
        "three turns' six messages, each once, newest first"
    );
}

/// `create_conversation_session` and `get_session` with an agent configured by
/// slug, with one whose file id predates UUIDs, and by UUID: the client's
/// models (which want a UUID `agentId`) accept every answer.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_python_client_opens_sessions_with_slug_configured_agents() {
    let support = "0f1e2d3c-4b5a-4968-8776-655443322110";
    let app = spawn_app_with_agent(
        Config::for_tests(),
        json!({"agents": [
            {"id": support, "slug": "support", "name": "Support"},
            {"id": "sales", "name": "Sales"},
        ]}),
    )
    .await;
    let seen = drive(&app, &["agents", "support", "sales", support]).await;
    let sales = AgentId::from_slug("sales").to_string();
    assert_eq!(
        seen,
        json!([
            {"created": support, "got": support, "name": "Support"},
            {"created": sales, "got": sales, "name": "Sales"},
            {"created": support, "got": support, "name": "Support"},
        ])
    );
}
