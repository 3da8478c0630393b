//! What the real binary writes to its log: never a token, a signing secret or the
//! gateway key, even at debug level and when all of them are refused or fail.

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

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn tokens_and_secrets_never_reach_the_logs() {
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
