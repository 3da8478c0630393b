//! The command-line tools as a person or a script uses them: `switchboard chat`
//! through a pipe and through a pseudo-terminal, `switchboard token` against the
//! admin API, and `--help`.

use serde_json::json;
use std::io::Write;
use std::path::Path;
use std::process::{Command, Output, Stdio};
use std::time::Duration;
use switchboard_testkit::mock_gateway::{MockGateway, ScriptedReply};
use switchboard_testkit::process::ServerProcess;

const BIN: &str = env!("CARGO_BIN_EXE_switchboard");

async fn server(env: &[(&str, &str)]) -> ServerProcess {
    ServerProcess::start(Path::new(BIN), env).await.unwrap()
}

/// `switchboard chat --url URL` with `input` on a pipe, run to its end.
async fn chat(url: &str, input: &str) -> Output {
    let (url, input) = (url.to_owned(), input.to_owned());
    tokio::task::spawn_blocking(move || {
        let mut child = Command::new(BIN)
            .args(["chat", "--url", &url])
            .env_clear()
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        child
            .stdin
            .take()
            .unwrap()
            .write_all(input.as_bytes())
            .unwrap();
        child.wait_with_output().unwrap()
    })
    .await
    .unwrap()
}

fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn piped_chat_prints_each_answer_with_its_sources_and_exits_zero() {
    let server = server(&[("SMOOTH_AGENT_SEED_KB", "1")]).await;
    let out = chat(
        server.url(),
        "How long is the return window?\n\nHow long does shipping take?\n",
    )
    .await;
    let stdout = text(&out.stdout);
    assert!(out.status.success(), "{out:?}");
    assert!(stdout.contains("17 days"), "{stdout}");
    assert!(
        stdout.contains("Sources:\n  [1] policies/returns.md"),
        "{stdout}"
    );
    assert!(stdout.contains("shipping"), "{stdout}");
    // A script sees answers only: no prompts, no banner.
    assert!(!stdout.contains("you>"), "{stdout}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_failed_turn_makes_piped_chat_exit_non_zero_with_the_reason() {
    // A gateway address where nothing listens (loopback port 1).
    let server = server(&[
        ("SMOOAI_GATEWAY_URL", "http://127.0.0.1:1/v1"),
        ("SMOOTH_AGENT_EMBEDDINGS", "offline"),
    ])
    .await;
    let out = chat(server.url(), "hello\n").await;
    assert_eq!(out.status.code(), Some(1), "{out:?}");
    assert!(text(&out.stderr).contains("LLM_UNAVAILABLE"), "{out:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn piped_chat_answers_an_approval_from_the_next_line() {
    for (answer, expect) in [("y", "Approved."), ("n", "Denied.")] {
        let gateway = MockGateway::start(vec![
            ScriptedReply::ToolCall {
                name: "delete_record".into(),
                arguments: r#"{"id": "42"}"#.into(),
            },
            ScriptedReply::Text("All handled.".into()),
        ])
        .await;
        let config = std::env::temp_dir().join(format!("sb-cli-{}.json", uuid::Uuid::new_v4()));
        std::fs::write(
            &config,
            json!({"tools": [{"name": "delete_record", "description": "Delete a record",
                              "result": "Record 42 deleted."}],
                   "confirmTools": ["delete_record"]})
            .to_string(),
        )
        .unwrap();
        let server = server(&[
            ("SMOOAI_GATEWAY_URL", &gateway.url()),
            ("SMOOTH_AGENT_CONFIG", &config.display().to_string()),
        ])
        .await;
        let out = chat(server.url(), &format!("delete record 42\n{answer}\n")).await;
        let stdout = text(&out.stdout);
        assert!(out.status.success(), "{out:?}");
        assert!(
            stdout.contains("The agent wants to run delete_record"),
            "{stdout}"
        );
        assert!(stdout.contains(expect), "{stdout}");
        assert!(stdout.contains("All handled."), "{stdout}");
        // What the model was told about the tool shows whether it ran.
        let told = gateway.requests().last().unwrap().to_string();
        assert_eq!(told.contains("Record 42 deleted."), answer == "y", "{told}");
        let _ = std::fs::remove_file(&config);
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn chat_on_a_terminal_prompts_and_streams() {
    let server = server(&[("SMOOTH_AGENT_SEED_KB", "1")]).await;
    let command = format!("{BIN} chat --url {}", server.url());
    // util-linux `script` runs the chat on a pseudo-terminal fed from our pipe.
    let out = tokio::task::spawn_blocking(move || {
        let mut child = Command::new("script")
            .args(["-qec", &command, "/dev/null"])
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("this test needs `script` (util-linux)");
        let mut stdin = child.stdin.take().unwrap();
        stdin
            .write_all(b"How long is the return window?\n")
            .unwrap();
        // Leave time for the answer before the end of input closes the terminal.
        std::thread::sleep(Duration::from_secs(3));
        drop(stdin);
        child.wait_with_output().unwrap()
    })
    .await
    .unwrap();
    let screen = text(&out.stdout);
    assert!(out.status.success(), "{out:?}");
    assert!(screen.contains("you> "), "{screen}");
    assert!(screen.contains("17 days"), "{screen}");
    assert!(screen.contains("[1] policies/returns.md"), "{screen}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_minted_token_opens_the_admin_api() {
    let secret = "cli-token-test-secret-of-32-bytes!!";
    let out = Command::new(BIN)
        .args(["token", "--sub", "ada", "--org", "acme", "--role", "admin"])
        .env_clear()
        .env("AUTH_JWT_HS256_SECRET", secret)
        .output()
        .unwrap();
    assert!(out.status.success(), "{out:?}");
    let token = text(&out.stdout).trim().to_owned();

    let server = server(&[("AUTH_JWT_HS256_SECRET", secret)]).await;
    let base = server.url().replace("ws://", "http://").replace("/ws", "");
    let me: serde_json::Value = switchboard_agent::http::client()
        .get(format!("{base}/admin/me"))
        .bearer_auth(&token)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(me["userId"], "ada", "{me}");
    assert_eq!(me["orgId"], "acme", "{me}");

    // Without a secret there is nothing to sign with: a clear refusal.
    let out = Command::new(BIN)
        .args(["token", "--sub", "ada", "--org", "acme"])
        .env_clear()
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert!(
        text(&out.stderr).contains("AUTH_JWT_HS256_SECRET"),
        "{out:?}"
    );
}

#[test]
fn help_lists_the_variables_and_version_names_the_program() {
    let out = Command::new(BIN).arg("--help").output().unwrap();
    let help = text(&out.stdout);
    assert!(out.status.success());
    for needle in [
        "chat",
        "token",
        "serve",
        "SMOOTH_AGENT_PORT",
        "[default: 8787]",
    ] {
        assert!(
            help.contains(needle),
            "{needle} missing from --help:\n{help}"
        );
    }
    let out = Command::new(BIN).arg("--version").output().unwrap();
    assert!(text(&out.stdout).starts_with("switchboard "), "{out:?}");
}
