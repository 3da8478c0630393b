//! Indexing in the background, through the server binary: it listens while a
//! start-up source is still being read, `/ready` says indexing is under way,
//! turns answer from what is in so far; a connector's run is accepted at once
//! (202), shows its progress, and is the only run of its connector across
//! replicas (409 naming it); a source with `refreshSecs` is read again.

use crate::admin::{SECRET, token};
use axum::extract::State;
use axum::routing::get;
use serde_json::{Value, json};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};
use switchboard_testkit::TestClient;
use switchboard_testkit::events::{reply, terminal};
use switchboard_testkit::postgres::TestDatabase;
use switchboard_testkit::process::ServerProcess;
use tokio::sync::watch;

const TEAPOT: &str = "The Zephyr teapot is glazed in cobalt blue.";

/// A web page served by the test on 127.0.0.1 that can be held back (the
/// request waits until the test opens the gate) and changed.
#[derive(Clone)]
struct Site {
    addr: std::net::SocketAddr,
    hits: Arc<AtomicUsize>,
    text: Arc<Mutex<String>>,
    gate: Arc<watch::Sender<bool>>,
}

impl Site {
    async fn start(text: &str, open: bool) -> Self {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let site = Self {
            addr: listener.local_addr().unwrap(),
            hits: Arc::default(),
            text: Arc::new(Mutex::new(text.to_owned())),
            gate: Arc::new(watch::channel(open).0),
        };
        let router = axum::Router::new()
            .route("/teapot.html", get(page))
            .with_state(site.clone());
        tokio::spawn(async move { axum::serve(listener, router).await });
        site
    }

    fn url(&self) -> String {
        format!("http://{}/teapot.html", self.addr)
    }

    fn open(&self) {
        self.gate.send_replace(true);
    }

    fn set(&self, text: &str) {
        *self.text.lock().unwrap() = text.to_owned();
    }

    fn hits(&self) -> usize {
        self.hits.load(Ordering::SeqCst)
    }

    /// Waits until the page has been asked for `n` times.
    async fn asked(&self, n: usize) {
        let deadline = Instant::now() + Duration::from_secs(20);
        while self.hits() < n {
            assert!(
                Instant::now() < deadline,
                "the page was asked {} times",
                self.hits()
            );
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }
}

/// Held (at most 12 s, under the source's 15 s timeout) until the gate opens.
async fn page(State(site): State<Site>) -> axum::response::Html<String> {
    site.hits.fetch_add(1, Ordering::SeqCst);
    let mut gate = site.gate.subscribe();
    let _ = tokio::time::timeout(Duration::from_secs(12), gate.wait_for(|open| *open)).await;
    let text = site.text.lock().unwrap().clone();
    axum::response::Html(format!(
        "<html><head><title>Teapots</title></head><body><main><h1>Teapots</h1><p>{text}</p></main></body></html>"
    ))
}

/// A fresh folder holding the agent configuration and a connector's documents.
struct Dir(PathBuf);

impl Dir {
    fn new(label: &str, sources: Value) -> Self {
        let dir = std::env::temp_dir().join(format!(
            "sb-bgindex-{label}-{}-{}",
            std::process::id(),
            uuid::Uuid::new_v4().simple()
        ));
        std::fs::create_dir_all(dir.join("docs/handbook")).unwrap();
        std::fs::write(
            dir.join("docs/handbook/leave.md"),
            "# Leave\n\nStaff get 31 days of paid leave a year.",
        )
        .unwrap();
        std::fs::write(
            dir.join("agent.json"),
            json!({ "sources": sources }).to_string(),
        )
        .unwrap();
        Self(dir)
    }

    fn path(&self, name: &str) -> String {
        self.0.join(name).display().to_string()
    }
}

impl Drop for Dir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

fn binary() -> &'static Path {
    Path::new(env!("CARGO_BIN_EXE_switchboard"))
}

/// Asks `question` on a fresh session: the reply and the cited document ids.
async fn ask(server: &ServerProcess, question: &str) -> (String, Vec<String>) {
    let mut client = TestClient::connect(server.url()).await;
    let (session, _) = client.create_session().await;
    let events = client.turn("r1", &session, question).await;
    let cited = terminal(&events)["data"]["data"]["citations"]
        .as_array()
        .cloned()
        .unwrap_or_default()
        .iter()
        .filter_map(|c| c["id"].as_str().map(str::to_owned))
        .collect();
    (reply(&events), cited)
}

/// The admin API of a server, as the organisation `acme`'s administrator.
struct AdminApi {
    base: String,
    http: reqwest::Client,
    token: String,
}

impl AdminApi {
    fn of(server: &ServerProcess) -> Self {
        Self {
            base: server.http_url(),
            http: switchboard_agent::http::client(),
            token: token("root", "acme", "admin"),
        }
    }

    async fn call(&self, method: reqwest::Method, path: &str, body: Option<Value>) -> (u16, Value) {
        let mut request = self
            .http
            .request(method, format!("{}{path}", self.base))
            .bearer_auth(&self.token);
        if let Some(body) = body {
            request = request.json(&body);
        }
        let response = request.send().await.unwrap();
        let status = response.status().as_u16();
        (status, response.json().await.unwrap_or(Value::Null))
    }

    async fn create_file_connector(&self, folder: &str) -> String {
        let (status, body) = self
            .call(
                reqwest::Method::POST,
                "/admin/connectors",
                Some(json!({"name": "Handbook", "kind": "file", "config": {"path": folder}})),
            )
            .await;
        assert_eq!(status, 201, "{body}");
        body["connector"]["id"].as_str().unwrap().to_owned()
    }

    async fn index(&self, connector: &str) -> (u16, Value) {
        let path = format!("/admin/connectors/{connector}/index");
        self.call(reqwest::Method::POST, &path, Some(json!({})))
            .await
    }

    async fn run(&self, id: &str) -> Value {
        let (status, body) = self
            .call(reqwest::Method::GET, "/admin/indexing/runs", None)
            .await;
        assert_eq!(status, 200, "{body}");
        body["runs"]
            .as_array()
            .unwrap()
            .iter()
            .find(|r| r["id"] == id)
            .cloned()
            .unwrap_or_else(|| panic!("run {id} is not listed: {body}"))
    }

    /// Run `id` once it has ended.
    async fn ended(&self, id: &str) -> Value {
        let deadline = Instant::now() + Duration::from_secs(30);
        loop {
            let run = self.run(id).await;
            if run["status"] != "running" {
                return run;
            }
            assert!(Instant::now() < deadline, "never ended: {run}");
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_server_answers_while_it_indexes_and_is_ready_once_indexed() {
    let site = Site::start(TEAPOT, false).await;
    let dir = Dir::new("startup", json!([{"url": site.url()}]));
    let (config, docs) = (dir.path("agent.json"), dir.path("docs"));
    // One place for runs: the start-up run holds it while the page is held back.
    let server = ServerProcess::start_listening(
        binary(),
        &[
            ("SMOOTH_AGENT_SEED_KB", "1"),
            ("SMOOTH_AGENT_CONFIG", config.as_str()),
            ("SMOOTH_AGENT_INDEXING_CONCURRENCY", "1"),
            ("SMOOTH_AGENT_CONNECTOR_FILE_ROOTS", docs.as_str()),
            ("AUTH_JWT_HS256_SECRET", SECRET),
        ],
    )
    .await
    .expect("the server listens");

    // Listening while the start-up source is still being read.
    site.asked(1).await;
    let (status, reason) = server.get("/ready").await.unwrap();
    assert_eq!(status, 503, "{reason}");
    assert!(reason.contains("indexing under way"), "{reason}");
    assert_eq!(server.get("/health").await.unwrap().0, 200);
    // A turn answers meanwhile, from what is in (the demo documents came first).
    let (answer, cited) = ask(&server, "How long is the return window?").await;
    assert!(answer.contains("17 days"), "{answer}");
    assert!(
        cited.contains(&"policies/returns.md".to_owned()),
        "{cited:?}"
    );
    let (_, cited) = ask(&server, "What colour is the Zephyr teapot?").await;
    assert!(!cited.contains(&site.url()), "not in yet: {cited:?}");

    // A connector's run is accepted at once, queued behind the start-up run.
    let admin = AdminApi::of(&server);
    let connector = admin
        .create_file_connector(&dir.path("docs/handbook"))
        .await;
    let (status, accepted) = admin.index(&connector).await;
    assert_eq!(status, 202, "{accepted}");
    let run = accepted["run"].clone();
    let id = run["id"].as_str().unwrap().to_owned();
    assert_eq!(run["status"], "running");
    assert_eq!(run["progress"]["phase"], "queued", "{run}");
    // One run per connector: asking again names the one under way.
    let (status, busy) = admin.index(&connector).await;
    assert_eq!(status, 409, "{busy}");
    assert_eq!(busy["error"]["code"], "CONFLICT");
    assert_eq!(busy["error"]["runId"], id.as_str(), "{busy}");
    let listed = admin.run(&id).await;
    assert_eq!(listed["status"], "running");
    assert_eq!(listed["progress"]["phase"], "queued", "{listed}");
    assert!(listed["progress"]["elapsedMs"].is_u64(), "{listed}");

    // The page comes: start-up indexing ends, the server is ready and cites it.
    site.open();
    server
        .ready(Duration::from_secs(20))
        .await
        .expect("ready once indexed");
    let (answer, cited) = ask(&server, "What colour is the Zephyr teapot?").await;
    assert!(cited.contains(&site.url()), "{cited:?}");
    assert!(answer.contains("cobalt blue"), "{answer}");
    // ... and the queued run went on.
    let ended = admin.ended(&id).await;
    assert_eq!(ended["status"], "succeeded", "{ended}");
    assert_eq!(ended["documentsSeen"], 1);
    assert!(ended["chunksIndexed"].as_u64().unwrap() > 0, "{ended}");
    assert_eq!(ended["progress"], Value::Null);
    // A later run is accepted again, and does not make the server unready.
    let (status, again) = admin.index(&connector).await;
    assert_eq!(status, 202, "{again}");
    assert_eq!(server.get("/ready").await.unwrap().0, 200);
    let again = admin.ended(again["run"]["id"].as_str().unwrap()).await;
    assert_eq!(again["documentsSkipped"], 1, "unchanged: {again}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_source_is_read_again_every_refresh_secs() {
    let site = Site::start(TEAPOT, true).await;
    let dir = Dir::new("refresh", json!([{"url": site.url(), "refreshSecs": 1}]));
    let config = dir.path("agent.json");
    let server = ServerProcess::start(binary(), &[("SMOOTH_AGENT_CONFIG", config.as_str())])
        .await
        .expect("the server starts");
    let (answer, _) = ask(&server, "What colour is the Zephyr teapot?").await;
    assert!(answer.contains("cobalt blue"), "{answer}");

    site.set("The Zephyr teapot is now glazed in saffron yellow.");
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        let (answer, _) = ask(&server, "What colour is the Zephyr teapot?").await;
        if answer.contains("saffron yellow") {
            break;
        }
        assert!(Instant::now() < deadline, "never refreshed: {answer}");
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    assert!(site.hits() >= 2, "read {} times", site.hits());
    // Refreshes never make the server unready.
    assert_eq!(server.get("/ready").await.unwrap().0, 200);
}

/// Two replicas on one PostgreSQL database: a connector queued on one is busy on
/// the other, which names the run; once it has ended, either may index it.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn one_run_per_connector_across_replicas() {
    let database = TestDatabase::create("bgindex");
    let url = database.url();
    let site = Site::start(TEAPOT, false).await;
    let dir = Dir::new("replicas", json!([{"url": site.url()}]));
    let (config, docs) = (dir.path("agent.json"), dir.path("docs"));
    let common = [
        ("SMOOTH_AGENT_STORAGE", "postgres"),
        ("SMOOTH_AGENT_DATABASE_URL", url.as_str()),
        ("SMOOTH_AGENT_CONNECTOR_FILE_ROOTS", docs.as_str()),
        ("AUTH_JWT_HS256_SECRET", SECRET),
    ];
    // Replica A has a start-up source held back and one place for runs, so a
    // connector run it accepts stays queued, holding the connector's lease.
    let mut a_env = common.to_vec();
    a_env.extend([
        ("SMOOTH_AGENT_CONFIG", config.as_str()),
        ("SMOOTH_AGENT_INDEXING_CONCURRENCY", "1"),
    ]);
    let a = ServerProcess::start_listening(binary(), &a_env)
        .await
        .expect("replica A listens");
    site.asked(1).await;
    let b = ServerProcess::start(binary(), &common)
        .await
        .expect("replica B starts");
    let (on_a, on_b) = (AdminApi::of(&a), AdminApi::of(&b));
    let connector = on_b.create_file_connector(&dir.path("docs/handbook")).await;

    let (status, accepted) = on_a.index(&connector).await;
    assert_eq!(status, 202, "{accepted}");
    let id = accepted["run"]["id"].as_str().unwrap().to_owned();
    let (status, busy) = on_b.index(&connector).await;
    assert_eq!(status, 409, "{busy}");
    assert_eq!(busy["error"]["runId"], id.as_str(), "{busy}");
    // B lists A's run, without a progress it does not know.
    let seen_from_b = on_b.run(&id).await;
    assert_eq!(seen_from_b["status"], "running");
    assert_eq!(seen_from_b["progress"], Value::Null);

    site.open();
    let ended = on_b.ended(&id).await;
    assert_eq!(ended["status"], "succeeded", "{ended}");
    let (status, next) = on_b.index(&connector).await;
    assert_eq!(status, 202, "{next}");
    let next = on_a.ended(next["run"]["id"].as_str().unwrap()).await;
    assert_eq!(next["status"], "succeeded", "{next}");
    drop((a, b));
}
