//! Agents calling tools of real MCP servers (`mcpServers` in the configuration):
//! the scripted model calls them, their results reach the model, and they pass the
//! same gates as every tool.

use super::harness::{
    HttpServer, eventually, everything_server, free_port, kill_pid, offered, pid_in, stdio_server,
    tool_messages,
};
use serde_json::{Value, json};
use std::time::Duration;
use switchboard_testkit::events::{reply, types};
use switchboard_testkit::mock_gateway::{MockGateway, ScriptedReply};
use switchboard_testkit::{TestApp, config_for, spawn_app_with_agent};

/// The agent `TestClient::create_session` opens sessions with.
const AGENT: &str = "11111111-1111-1111-1111-111111111111";

fn call(name: &str, arguments: Value) -> ScriptedReply {
    ScriptedReply::ToolCall {
        name: name.into(),
        arguments: arguments.to_string(),
    }
}

fn text(text: &str) -> ScriptedReply {
    ScriptedReply::Text(text.into())
}

/// A server whose agent has `servers`, plus the rest of the file in `extra`.
async fn app_with(
    script: Vec<ScriptedReply>,
    servers: Value,
    extra: Value,
) -> (MockGateway, TestApp) {
    let gateway = MockGateway::start(script).await;
    let mut file = json!({"agents": [{"id": AGENT, "slug": "support", "mcpServers": servers}]});
    if let (Some(file), Some(extra)) = (file.as_object_mut(), extra.as_object()) {
        file.extend(extra.clone());
    }
    let app = spawn_app_with_agent(config_for(&gateway), file).await;
    (gateway, app)
}

/// The `toolResult` chunk of a turn's events.
fn tool_result(events: &[Value]) -> &Value {
    events
        .iter()
        .map(|e| &e["data"]["state"]["rawResponse"]["toolResult"])
        .find(|r| !r.is_null())
        .unwrap_or_else(|| panic!("no tool result in {events:?}"))
}

fn mcp_tool_names(app: &TestApp) -> Vec<String> {
    app.state.runtime().mcp().tool_names(AGENT)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_streamable_http_servers_tool_answers_the_model() {
    let server = HttpServer::start(&[]);
    let (gateway, app) = app_with(
        vec![call("echo", json!({"text": "hi"})), text("It said hi.")],
        json!([server.entry("py")]),
        json!({}),
    )
    .await;
    let mut client = app.client().await;
    let (session, _) = client.create_session().await;
    let events = client.turn("r1", &session, "echo hi").await;
    let result = tool_result(&events);
    assert_eq!(result["name"], "echo");
    assert_eq!(result["isError"], false);
    assert_eq!(result["result"], "echo: hi");
    assert_eq!(reply(&events), "It said hi.");
    let requests = gateway.requests();
    // Offered under the server's own name, with its description and schema.
    let echo = requests[0]["tools"]
        .as_array()
        .unwrap()
        .iter()
        .find(|t| t["function"]["name"] == "echo")
        .expect("echo is offered");
    assert_eq!(
        echo["function"]["description"],
        "Repeats the text it is given."
    );
    assert_eq!(
        echo["function"]["parameters"]["properties"]["text"]["type"],
        "string"
    );
    assert!(offered(&requests[0]).contains(&"grow".to_owned()));
    assert_eq!(tool_messages(&requests[1]), ["echo: hi"]);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_stdio_servers_tools_follow_its_list_changes() {
    let (gateway, app) = app_with(
        vec![
            call("grow", json!({})),
            text("Grown."),
            call("late_tool", json!({})),
            text("The late tool answered."),
        ],
        json!([stdio_server("py", json!({}))]),
        json!({}),
    )
    .await;
    assert!(!mcp_tool_names(&app).contains(&"late_tool".to_owned()));
    let mut client = app.client().await;
    let (session, _) = client.create_session().await;
    let events = client.turn("r1", &session, "grow").await;
    assert_eq!(tool_result(&events)["result"], "grown");
    // notifications/tools/list_changed makes Switchboard list again.
    eventually(Duration::from_secs(10), "late_tool is listed", || {
        mcp_tool_names(&app).contains(&"late_tool".to_owned())
    })
    .await;
    let events = client.turn("r2", &session, "use the late tool").await;
    assert_eq!(tool_result(&events)["result"], "late and here");
    assert_eq!(reply(&events), "The late tool answered.");
    assert!(offered(&gateway.requests()[2]).contains(&"late_tool".to_owned()));
}

/// A stdio server gets a handful of Switchboard's variables and its own `env`,
/// nothing else (this test process's `CARGO_*` variables stay out).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_stdio_server_inherits_only_a_few_variables() {
    assert!(
        std::env::var_os("CARGO_PKG_NAME").is_some(),
        "cargo sets it for tests"
    );
    let (_gateway, app) = app_with(
        vec![call("environment", json!({})), text("Listed.")],
        json!([stdio_server("py", json!({"GIVEN": "yes"}))]),
        json!({}),
    )
    .await;
    let mut client = app.client().await;
    let (session, _) = client.create_session().await;
    let events = client.turn("r1", &session, "list").await;
    let names = tool_result(&events)["result"].as_str().unwrap().to_owned();
    let names: Vec<&str> = names.split(' ').collect();
    assert!(
        names.contains(&"GIVEN") && names.contains(&"PATH"),
        "{names:?}"
    );
    // LC_CTYPE: Python sets it itself in a C locale (PEP 538).
    let allowed = [
        "PATH", "HOME", "USER", "LANG", "LC_ALL", "TMPDIR", "TZ", "GIVEN", "LC_CTYPE",
    ];
    assert!(names.iter().all(|n| allowed.contains(n)), "{names:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_npm_everything_server_answers_over_stdio() {
    let (gateway, app) = app_with(
        vec![call("echo", json!({"message": "hello"})), text("Echoed.")],
        json!([everything_server()]),
        json!({}),
    )
    .await;
    let mut client = app.client().await;
    let (session, _) = client.create_session().await;
    let events = client.turn("r1", &session, "echo hello").await;
    let result = tool_result(&events);
    assert_eq!(result["isError"], false, "{result}");
    assert!(
        result["result"].as_str().unwrap().contains("hello"),
        "{result}"
    );
    assert!(tool_messages(&gateway.requests()[1])[0].contains("hello"));
    assert_eq!(reply(&events), "Echoed.");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_approval_gated_mcp_tool_parks_the_turn_until_a_human_answers() {
    let server = HttpServer::start(&[]);
    let (gateway, app) = app_with(
        vec![call("echo", json!({"text": "approved"})), text("Done.")],
        json!([server.entry("py")]),
        json!({"confirmTools": ["echo"]}),
    )
    .await;
    let mut client = app.client().await;
    let (session, _) = client.create_session().await;
    client
        .send(json!({"action": "send_message", "requestId": "r1", "sessionId": session, "message": "echo"}))
        .await;
    let parked = client.until("stream_chunk").await;
    assert_eq!(
        types(&parked),
        [
            "immediate_response",
            "write_confirmation_required",
            "stream_chunk"
        ]
    );
    assert_eq!(parked[1]["data"]["data"]["toolId"], "echo");
    client.expect_silence(Duration::from_millis(300)).await;
    assert_eq!(gateway.requests().len(), 1, "nothing ran while parked");
    client
        .send(json!({"action": "confirm_tool_action", "requestId": "c1", "sessionId": session, "approved": true}))
        .await;
    let events = client.until_terminal("r1").await;
    assert_eq!(tool_result(&events)["result"], "echo: approved");
    assert_eq!(reply(&events), "Done.");
}

/// `authLevel: end_user` on the server, or the tool's name in
/// `SMOOTH_AGENT_AUTH_TOOLS`: refused until the visitor verifies.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_mcp_tool_needing_a_verified_visitor_is_refused_without_one() {
    let server = HttpServer::start(&[]);
    let mut by_level = server.entry("py");
    by_level["authLevel"] = json!("end_user");
    for (entry, auth_tools) in [
        (by_level, vec![]),
        (server.entry("py"), vec!["echo".to_owned()]),
    ] {
        let gateway = MockGateway::start(vec![
            call("echo", json!({"text": "x"})),
            text("I need you to verify."),
        ])
        .await;
        let mut config = config_for(&gateway);
        config.auth_tools = auth_tools;
        let app = spawn_app_with_agent(
            config,
            json!({"agents": [{"id": AGENT, "mcpServers": [entry]}]}),
        )
        .await;
        let mut client = app.client().await;
        let (session, _) = client.create_session().await;
        let events = client.turn("r1", &session, "echo").await;
        let result = tool_result(&events);
        assert_eq!(result["isError"], true);
        assert!(
            result["result"]
                .as_str()
                .unwrap()
                .contains("verify your identity"),
            "{result}"
        );
        assert!(!tool_messages(&gateway.requests()[1])[0].contains("echo: x"));
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn errors_slowness_and_size_are_tool_results_not_failed_turns() {
    let server = HttpServer::start(&[]);
    let mut entry = server.entry("py");
    entry["timeoutMs"] = json!(500);
    let (gateway, app) = app_with(
        vec![
            call("broken", json!({})),
            text("It broke."),
            call("slow", json!({"seconds": 5})),
            text("Too slow."),
            call("big", json!({})),
            text("Big."),
        ],
        json!([entry]),
        json!({}),
    )
    .await;
    let mut client = app.client().await;
    let (session, _) = client.create_session().await;

    let events = client.turn("r1", &session, "break").await;
    assert_eq!(tool_result(&events)["isError"], true);
    assert_eq!(reply(&events), "It broke.");

    let started = std::time::Instant::now();
    let events = client.turn("r2", &session, "be slow").await;
    let result = tool_result(&events);
    assert_eq!(result["isError"], true);
    assert!(
        result["result"]
            .as_str()
            .unwrap()
            .contains("did not answer within 500 ms"),
        "{result}"
    );
    assert_eq!(reply(&events), "Too slow.");
    assert!(started.elapsed() < Duration::from_secs(4));

    let events = client.turn("r3", &session, "be big").await;
    assert_eq!(reply(&events), "Big.");
    let told = tool_messages(&gateway.requests()[5]);
    let big = told.last().unwrap();
    assert!(big.len() <= 64 * 1024 + 20, "{} bytes", big.len());
    assert!(big.ends_with("[truncated]"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_stdio_server_killed_mid_call_gives_a_tool_error_and_is_restarted() {
    let dir = tempdir();
    let pid_file = dir.join("pid");
    let (_gateway, app) = app_with(
        vec![
            call("slow", json!({"seconds": 30})),
            text("The server went away."),
            call("echo", json!({"text": "again"})),
            text("Back."),
        ],
        json!([stdio_server("py", json!({"PID_FILE": pid_file}))]),
        json!({}),
    )
    .await;
    let first = pid_in(&pid_file).await;
    std::fs::remove_file(&pid_file).unwrap();
    let mut client = app.client().await;
    let (session, _) = client.create_session().await;
    client
        .send(json!({"action": "send_message", "requestId": "r1", "sessionId": session, "message": "wait"}))
        .await;
    client.until("stream_chunk").await;
    kill_pid(first);
    let events = tokio::time::timeout(Duration::from_secs(10), client.until_terminal("r1"))
        .await
        .expect("the turn ends soon after the server dies");
    let result = tool_result(&events);
    assert_eq!(result["isError"], true);
    assert!(
        result["result"]
            .as_str()
            .unwrap()
            .contains("the connection to the MCP server 'py' was lost during the call"),
        "{result}"
    );
    assert_eq!(reply(&events), "The server went away.");
    // Restarted with backoff: a new process, and its tools work again.
    let second = pid_in(&pid_file).await;
    assert_ne!(first, second);
    eventually(Duration::from_secs(10), "the server is back", || {
        app.state.runtime().mcp().connected(AGENT) == ["py"]
    })
    .await;
    let events = client.turn("r2", &session, "echo again").await;
    assert_eq!(tool_result(&events)["result"], "echo: again");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_http_server_killed_mid_call_gives_a_tool_error() {
    let mut server = HttpServer::start(&[]);
    let (_gateway, app) = app_with(
        vec![
            call("slow", json!({"seconds": 30})),
            text("Gone."),
            call("echo", json!({"text": "anyone?"})),
            text("Still gone."),
        ],
        json!([server.entry("py")]),
        json!({}),
    )
    .await;
    let mut client = app.client().await;
    let (session, _) = client.create_session().await;
    client
        .send(json!({"action": "send_message", "requestId": "r1", "sessionId": session, "message": "wait"}))
        .await;
    client.until("stream_chunk").await;
    tokio::time::sleep(Duration::from_millis(200)).await;
    server.kill();
    let events = tokio::time::timeout(Duration::from_secs(15), client.until_terminal("r1"))
        .await
        .expect("the turn ends soon after the server dies");
    let result = tool_result(&events);
    assert_eq!(result["isError"], true);
    assert!(
        result["result"]
            .as_str()
            .unwrap()
            .contains("the connection to the MCP server 'py' was lost during the call"),
        "{result}"
    );
    assert_eq!(reply(&events), "Gone.");
    // While it is down, its tools answer at once that it is not reachable.
    let started = std::time::Instant::now();
    let events = client.turn("r2", &session, "echo").await;
    let result = tool_result(&events);
    assert_eq!(result["isError"], true);
    assert!(
        result["result"]
            .as_str()
            .unwrap()
            .contains("MCP server 'py'"),
        "{result}"
    );
    assert_eq!(reply(&events), "Still gone.");
    assert!(started.elapsed() < Duration::from_secs(10));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn cancelling_the_turn_cancels_the_mcp_call() {
    let dir = tempdir();
    let marker = dir.join("cancelled");
    let (_gateway, app) = app_with(
        vec![call("slow", json!({"seconds": 30})), text("unused")],
        json!([stdio_server("py", json!({"CANCEL_FILE": marker}))]),
        json!({}),
    )
    .await;
    let mut client = app.client().await;
    let (session, _) = client.create_session().await;
    client
        .send(json!({"action": "send_message", "requestId": "r1", "sessionId": session, "message": "wait"}))
        .await;
    client.until("stream_chunk").await;
    tokio::time::sleep(Duration::from_millis(300)).await;
    client
        .send(json!({"action": "cancel", "requestId": "x1", "sessionId": session}))
        .await;
    let events = client.until_terminal("r1").await;
    assert_eq!(events.last().unwrap()["type"], "cancelled");
    // The server was told (notifications/cancelled) and stopped the call.
    eventually(Duration::from_secs(10), "the server saw the cancel", || {
        marker.exists()
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn shutting_down_stops_stdio_servers() {
    let dir = tempdir();
    let pid_file = dir.join("pid");
    let (_gateway, app) = app_with(
        vec![],
        json!([stdio_server("py", json!({"PID_FILE": pid_file}))]),
        json!({}),
    )
    .await;
    let pid = pid_in(&pid_file).await;
    let alive = move || std::path::Path::new(&format!("/proc/{pid}")).exists();
    assert!(alive());
    app.shutdown().await.unwrap();
    eventually(Duration::from_secs(10), "the child is gone", || !alive()).await;
}

/// The real binary: `${NAME}` in a header is filled from its environment, and a
/// server that stays down is logged once, not at every retry.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_binary_fills_headers_from_its_environment_and_logs_an_outage_once() {
    use std::io::{BufRead, BufReader, Read};
    let server = HttpServer::start(&[]);
    let gateway = MockGateway::start(vec![call("whoami", json!({})), text("Known.")]).await;
    let dir = tempdir();
    let file = dir.join("agents.json");
    let down = format!("http://127.0.0.1:{}/mcp", free_port());
    std::fs::write(
        &file,
        json!({"agents": [{"id": AGENT, "mcpServers": [
            {"name": "py", "url": server.url, "headers": {"Authorization": "Bearer ${MCP_TEST_TOKEN}"}},
            {"name": "down", "url": down}
        ]}]})
        .to_string(),
    )
    .unwrap();
    let mut child = std::process::Command::new(env!("CARGO_BIN_EXE_switchboard"))
        .env_clear()
        .env("RUST_LOG", "warn")
        .env("SMOOTH_AGENT_STORAGE", "memory")
        .env("SMOOTH_AGENT_PORT", "0")
        .env("SMOOTH_AGENT_CONFIG", &file)
        .env("SMOOAI_GATEWAY_URL", gateway.url())
        .env("MCP_TEST_TOKEN", "t0ken-from-the-environment")
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let mut line = String::new();
    BufReader::new(child.stdout.take().unwrap())
        .read_line(&mut line)
        .unwrap();
    let url = line
        .strip_prefix("switchboard listening on ")
        .and_then(|rest| rest.split_whitespace().next())
        .unwrap_or_else(|| panic!("unexpected first line {line:?}"))
        .to_owned();
    let mut client = switchboard_testkit::TestClient::connect(&url).await;
    let (session, _) = client.create_session().await;
    let events = client.turn("r1", &session, "who am I?").await;
    assert_eq!(
        tool_result(&events)["result"],
        "authorization=Bearer t0ken-from-the-environment"
    );
    // Retries at 0.25, 0.5, 1, 2 s… by now several have failed.
    tokio::time::sleep(Duration::from_secs(4)).await;
    child.kill().unwrap();
    child.wait().unwrap();
    let mut stderr = String::new();
    child
        .stderr
        .take()
        .unwrap()
        .read_to_string(&mut stderr)
        .unwrap();
    assert_eq!(
        stderr.matches("MCP server unreachable").count(),
        1,
        "{stderr}"
    );
    assert!(!stderr.contains("t0ken-from-the-environment"), "{stderr}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_server_down_at_start_up_joins_when_it_comes_up() {
    let port = free_port();
    let (gateway, app) = app_with(
        vec![
            text("No tools yet."),
            call("echo", json!({"text": "late"})),
            text("Now it works."),
        ],
        json!([{"name": "py", "url": format!("http://127.0.0.1:{port}/mcp")}]),
        json!({}),
    )
    .await;
    let mut client = app.client().await;
    let (session, _) = client.create_session().await;
    let events = client.turn("r1", &session, "hello").await;
    assert_eq!(reply(&events), "No tools yet.");
    assert!(!offered(&gateway.requests()[0]).contains(&"echo".to_owned()));
    let port_text = port.to_string();
    let _server = HttpServer::start(&[("PORT", &port_text)]);
    eventually(Duration::from_secs(40), "the server's tools appear", || {
        mcp_tool_names(&app).contains(&"echo".to_owned())
    })
    .await;
    let events = client.turn("r2", &session, "echo late").await;
    assert_eq!(tool_result(&events)["result"], "echo: late");
    assert_eq!(reply(&events), "Now it works.");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_tool_name_clash_stops_start_up_naming_both() {
    let server = HttpServer::start(&[]);
    let gateway = MockGateway::start(vec![]).await;
    let clash = |file: Value| {
        let file = switchboard_agent::AgentFile::from_json(file).unwrap();
        let store: std::sync::Arc<dyn switchboard_core::Store> =
            std::sync::Arc::new(switchboard_core::MemoryStore::new());
        switchboard_server::AppState::with_parts(config_for(&gateway), store, file)
    };
    let with_file_tool = json!({
        "tools": [{"name": "echo", "description": "d", "result": "r"}],
        "agents": [{"id": AGENT, "mcpServers": [server.entry("py")]}]
    });
    let e = clash(with_file_tool)
        .await
        .err()
        .expect("refused")
        .to_string();
    assert!(e.contains("tool 'echo' of MCP server 'py'"), "{e}");
    assert!(e.contains("the agent's tool 'echo'"), "{e}");
    let two_servers = json!({
        "agents": [{"id": AGENT, "mcpServers": [server.entry("one"), server.entry("two")]}]
    });
    let e = clash(two_servers).await.err().expect("refused").to_string();
    assert!(
        e.contains("MCP server 'two'") && e.contains("MCP server 'one'"),
        "{e}"
    );
    // A tool another agent is not offered does not clash.
    let allowed_elsewhere = json!({
        "tools": [{"name": "echo", "description": "d", "result": "r"}],
        "agents": [{"id": AGENT, "tools": ["lookup"], "mcpServers": [server.entry("py")]}]
    });
    assert!(clash(allowed_elsewhere).await.is_ok());
}

fn tempdir() -> std::path::PathBuf {
    let dir = std::env::temp_dir().join(format!("sb-mcp-{}", uuid::Uuid::new_v4().simple()));
    std::fs::create_dir_all(&dir).unwrap();
    dir
}
