//! What the real binary writes to its log: never a token, a signing secret or the
//! gateway key, even at debug level and when all of them are refused or fail; in
//! JSON (`SMOOTH_AGENT_LOG_FORMAT=json`), one object per line, and every line of a
//! turn names its session and request.

use serde_json::json;
use std::io::{BufRead, BufReader};
use std::process::{Command, Stdio};
use std::time::Duration;
use switchboard_testkit::TestClient;
use switchboard_testkit::mock_gateway::{MockGateway, ScriptedReply};

const SECRET: &str = "log-test-signing-secret-0123456789abcdef";
const GATEWAY_KEY: &str = "sk-log-test-gateway-key-5f1e2d3c";

fn sign(secret: &str, sub: &str) -> String {
    let exp = chrono::Utc::now().timestamp() + 600;
    jsonwebtoken::encode(
        &jsonwebtoken::Header::new(jsonwebtoken::Algorithm::HS256),
        &json!({"sub": sub, "org": "acme", "role": "admin", "exp": exp}),
        &jsonwebtoken::EncodingKey::from_secret(secret.as_bytes()),
    )
    .unwrap()
}

/// What one run of the binary logged, and the secrets it was given.
struct Logged {
    written: String,
    forged: String,
    good: String,
    session: String,
}

/// Runs the binary with `format` through a refused token, a turn failing at the
/// gateway and a refused admin call; returns its stderr.
async fn run_logged(format: &str) -> Logged {
    let gateway = MockGateway::start(vec![ScriptedReply::Fail {
        status: 401,
        body: r#"{"error": {"message": "invalid api key"}}"#.into(),
    }])
    .await;
    let log = std::env::temp_dir().join(format!("sb-log-{}.txt", uuid::Uuid::new_v4()));
    let mut child = Command::new(env!("CARGO_BIN_EXE_switchboard"))
        .env_clear()
        .env("RUST_LOG", "debug")
        .env("SMOOTH_AGENT_STORAGE", "memory")
        .env("SMOOTH_AGENT_PORT", "0")
        .env("AUTH_JWT_HS256_SECRET", SECRET)
        .env("SMOOAI_GATEWAY_URL", gateway.url())
        .env("SMOOAI_GATEWAY_KEY", GATEWAY_KEY)
        .env("SMOOTH_AGENT_EMBEDDINGS", "offline")
        .env("SMOOTH_AGENT_LOG_FORMAT", format)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(std::fs::File::create(&log).unwrap())
        .spawn()
        .unwrap();
    let mut first = String::new();
    BufReader::new(child.stdout.as_mut().unwrap())
        .read_line(&mut first)
        .unwrap();
    let url = first
        .split_whitespace()
        .nth(3)
        .expect("switchboard listening on URL")
        .to_owned();

    // A token signed with another key: refused, the connection is anonymous.
    let forged = sign("another-secret-of-enough-length-000000", "mallory");
    let mut anonymous = TestClient::connect(&format!("{url}?token={forged}")).await;
    anonymous.create_session().await;
    // A good token whose turn fails at the gateway (a bad key there).
    let good = sign(SECRET, "ada");
    let mut client = TestClient::connect(&format!("{url}?token={good}")).await;
    let (session, _) = client.create_session().await;
    client
        .send(
            json!({"action": "send_message", "requestId": "r1", "sessionId": session,
                     "message": "hello"}),
        )
        .await;
    let error = client.until("error").await;
    assert_eq!(error.last().unwrap()["error"]["code"], "LLM_ERROR");
    // The admin API refusing the forged token.
    let base = url.replace("ws://", "http://").replace("/ws", "");
    let status = switchboard_agent::http::client()
        .get(format!("{base}/admin/me"))
        .bearer_auth(&forged)
        .send()
        .await
        .unwrap()
        .status();
    assert_eq!(status, 401);

    Command::new("kill")
        .args(["-TERM", &child.id().to_string()])
        .status()
        .unwrap();
    let deadline = std::time::Instant::now() + Duration::from_secs(30);
    while child.try_wait().unwrap().is_none() {
        assert!(std::time::Instant::now() < deadline, "did not exit");
        std::thread::sleep(Duration::from_millis(50));
    }
    let written = std::fs::read_to_string(&log).unwrap();
    let _ = std::fs::remove_file(&log);
    Logged {
        written,
        forged,
        good,
        session,
    }
}

fn assert_no_secrets(logged: &Logged) {
    let Logged {
        written,
        forged,
        good,
        ..
    } = logged;
    assert!(
        written.contains("token"),
        "the refusal was not logged:\n{written}"
    );
    for (what, secret) in [
        ("the signing secret", SECRET),
        ("the gateway key", GATEWAY_KEY),
        ("the forged token", forged.as_str()),
        ("the good token", good.as_str()),
    ] {
        assert!(
            !written.contains(secret),
            "{what} is in the log:\n{written}"
        );
        // Nor the signature part alone.
        let tail = secret.rsplit('.').next().unwrap();
        assert!(!written.contains(tail), "part of {what} is in the log");
    }
    assert!(
        written.contains("open file descriptor limit"),
        "the descriptor limit was not logged:\n{written}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn tokens_and_secrets_never_reach_the_logs() {
    assert_no_secrets(&run_logged("text").await);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn json_logs_are_one_object_per_line_and_tie_turn_lines_to_their_turn() {
    let logged = run_logged("json").await;
    assert_no_secrets(&logged);
    let lines: Vec<serde_json::Value> = logged
        .written
        .lines()
        .map(|line| serde_json::from_str(line).unwrap_or_else(|e| panic!("not JSON ({e}): {line}")))
        .collect();
    assert!(lines.iter().all(serde_json::Value::is_object));
    // The lines the turn wrote: its gateway request and its failure.
    let turn_lines: Vec<_> = lines
        .iter()
        .filter(|l| {
            let message = l["fields"]["message"].as_str().unwrap_or_default();
            message == "chat completion request" || message == "turn failed at the gateway"
        })
        .collect();
    assert_eq!(turn_lines.len(), 2, "{}", logged.written);
    for line in turn_lines {
        let turn = line["spans"]
            .as_array()
            .and_then(|spans| spans.iter().find(|s| s["name"] == "turn"))
            .unwrap_or_else(|| panic!("no turn span: {line}"));
        assert_eq!(turn["session"], logged.session.as_str(), "{line}");
        assert_eq!(turn["request_id"], "r1", "{line}");
    }
}
