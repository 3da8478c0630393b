//! The official Python client, which drops any frame its models reject, sees the
//! escalation and the operator's reply.

use super::*;
use std::path::Path;
use std::process::Stdio;
use std::time::Duration;
use tokio::io::{AsyncBufReadExt, BufReader};

type Output = tokio::io::Lines<BufReader<tokio::process::ChildStdout>>;

/// The next JSON line the client prints.
async fn line(lines: &mut Output) -> Value {
    let line = tokio::time::timeout(Duration::from_secs(120), lines.next_line())
        .await
        .expect("the Python client answers within 2 minutes")
        .unwrap();
    serde_json::from_str::<Value>(line.as_deref().unwrap_or("null")).unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_python_client_is_told_of_the_handoff_and_hears_the_operator() {
    let (admin, _gateway) = start(Vec::new(), json!({})).await;
    let python = tokio::task::spawn_blocking(crate::python_client::python)
        .await
        .unwrap();
    let script = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures/python/smooth_operator_handoff.py");
    let mut child = tokio::process::Command::new(python)
        .arg(script)
        .arg(admin.app.ws_url())
        .arg(token("vera", ORG, "basic"))
        .arg(AGENT)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .kill_on_drop(true)
        .spawn()
        .expect("run the Python client");
    let mut lines = BufReader::new(child.stdout.take().unwrap()).lines();
    let escalated = line(&mut lines).await;
    assert_eq!(escalated["escalated"], true, "{escalated}");
    assert_eq!(escalated["reason"], "The visitor asked for a person.");
    assert!(escalated["told"][0].as_str().unwrap().contains("a person"));
    assert_eq!(escalated["heldEscalated"], true);
    assert_eq!(escalated["heldParts"], json!([]));

    let conversation = escalated["conversation"].as_str().unwrap();
    let olga = operator("olga", ORG);
    let claim = admin
        .post(
            &format!("/admin/handoffs/{conversation}/claim"),
            Some(&olga),
            json!({}),
        )
        .await;
    assert_eq!(claim.status, 200, "{:?}", claim.body);
    let replied = admin
        .post(
            &format!("/admin/handoffs/{conversation}/reply"),
            Some(&olga),
            json!({"text": "Hi, I'm Olga. How can I help?"}),
        )
        .await;
    assert_eq!(replied.status, 201);
    let heard = line(&mut lines).await;
    assert_eq!(heard["type"], "eventual_response", "{heard}");
    assert_eq!(heard["parts"], json!(["Hi, I'm Olga. How can I help?"]));
    assert_eq!(heard["from"]["type"], "human-agent");
    assert_eq!(heard["from"]["name"], "Operator olga");
    let status = child.wait().await.unwrap();
    if !status.success() {
        let mut err = String::new();
        use tokio::io::AsyncReadExt;
        child
            .stderr
            .take()
            .unwrap()
            .read_to_string(&mut err)
            .await
            .ok();
        panic!("the Python client failed: {err}");
    }
}
