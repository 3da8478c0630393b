//! The SQLite store through the real binary: one server per file, and
//! `switchboard backup` while the server runs and writes (docs/sqlite.md). The
//! crash test is in `crash.rs`.

use serde_json::json;
use std::path::{Path, PathBuf};
use std::process::Command;
use switchboard_testkit::TestClient;
use switchboard_testkit::process::ServerProcess;

const BIN: &str = env!("CARGO_BIN_EXE_switchboard");

/// A data folder of its own under Cargo's scratch space, removed when dropped.
struct DataDir(PathBuf);

impl DataDir {
    fn new(label: &str) -> Self {
        Self(
            PathBuf::from(env!("CARGO_TARGET_TMPDIR"))
                .join(format!("sqlite-{label}-{}", uuid::Uuid::new_v4().simple())),
        )
    }

    fn env(&self) -> Vec<(&'static str, String)> {
        vec![
            ("SMOOTH_AGENT_STORAGE", "sqlite".into()),
            ("SMOOTH_AGENT_DATA_DIR", self.0.display().to_string()),
        ]
    }
}

impl Drop for DataDir {
    fn drop(&mut self) {
        std::fs::remove_dir_all(&self.0).ok();
    }
}

async fn start(env: &[(&'static str, String)]) -> ServerProcess {
    let env: Vec<(&str, &str)> = env.iter().map(|(k, v)| (*k, v.as_str())).collect();
    ServerProcess::start(Path::new(BIN), &env)
        .await
        .expect("the server starts")
}

/// Runs the binary to its end with a clean environment holding only `env`.
fn run(args: &[&str], env: &[(&'static str, String)]) -> std::process::Output {
    let mut command = Command::new(BIN);
    command
        .args(args)
        .env_clear()
        .env("RUST_LOG", "warn")
        .env("SMOOTH_AGENT_PORT", "0");
    for (name, value) in env {
        command.env(name, value);
    }
    command.output().expect("run switchboard")
}

fn texts(ack: &serde_json::Value) -> Vec<String> {
    ack["data"]["messages"]
        .as_array()
        .expect("messages")
        .iter()
        .map(|m| m["content"]["text"].as_str().unwrap().to_owned())
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_second_server_on_one_file_refuses_to_start_and_a_crash_frees_it() {
    let data = DataDir::new("two");
    let first = start(&data.env()).await;

    let second = run(&[], &data.env());
    assert_eq!(second.status.code(), Some(2), "{second:?}");
    let stderr = String::from_utf8_lossy(&second.stderr);
    assert!(
        stderr.contains("in use by another switchboard process"),
        "{stderr}"
    );
    assert!(stderr.contains("switchboard.db"), "{stderr}");
    assert!(stderr.contains("SMOOTH_AGENT_STORAGE=sqlite"), "{stderr}");
    // The first server is unharmed.
    let mut client = TestClient::connect(first.url()).await;
    client.create_session().await;

    // The kernel drops the lock with the process, however it ends.
    first.kill_hard().expect("killed");
    let again = start(&data.env()).await;
    again.stop().expect("clean shutdown");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_backup_taken_while_the_server_writes_restores_every_earlier_message() {
    let data = DataDir::new("backup");
    let server = start(&data.env()).await;
    let mut client = TestClient::connect(server.url()).await;
    let (session, _) = client.create_session().await;
    client
        .turn("before", &session, "written before the backup")
        .await;

    // Another client writes all through the backup.
    let url = server.url().to_owned();
    let (stop, mut stopped) = tokio::sync::watch::channel(false);
    let writer = tokio::spawn(async move {
        let mut client = TestClient::connect(&url).await;
        let mut turns = 0u32;
        while !*stopped.borrow_and_update() {
            let (session, _) = client.create_session().await;
            client.turn(&format!("w{turns}"), &session, "busy").await;
            turns += 1;
            // Two frames a round, under the per-connection frame rate (20/s),
            // however long the backup takes.
            tokio::time::sleep(std::time::Duration::from_millis(150)).await;
        }
        turns
    });
    tokio::time::sleep(std::time::Duration::from_millis(300)).await;
    let copy = data.0.join("copy.db");
    let copy_text = copy.display().to_string();
    let env = data.env();
    let out = tokio::task::spawn_blocking(move || run(&["backup", &copy_text], &env))
        .await
        .unwrap();
    assert!(out.status.success(), "{out:?}");
    assert!(
        String::from_utf8_lossy(&out.stdout).contains("bytes"),
        "{out:?}"
    );
    stop.send(true).unwrap();
    let turns = writer.await.unwrap();
    assert!(turns > 0, "nothing was written during the backup");

    // Never over an existing file.
    let size = std::fs::metadata(&copy).unwrap().len();
    let again = run(&["backup", &copy.display().to_string()], &data.env());
    assert_eq!(again.status.code(), Some(1), "{again:?}");
    assert!(
        String::from_utf8_lossy(&again.stderr).contains("already exists"),
        "{again:?}"
    );
    assert_eq!(std::fs::metadata(&copy).unwrap().len(), size);

    // Restore: stop the server, put the copy in place, start again.
    server.stop().expect("clean shutdown");
    let live = data.0.join("switchboard.db");
    for suffix in ["", "-wal", "-shm"] {
        let mut name = live.clone().into_os_string();
        name.push(suffix);
        std::fs::remove_file(PathBuf::from(name)).ok();
    }
    std::fs::copy(&copy, &live).unwrap();
    let restored = start(&data.env()).await;
    let mut client = TestClient::connect(restored.url()).await;
    let ack = client
        .request(
            "m",
            json!({"action": "get_conversation_messages", "sessionId": session}),
        )
        .await;
    let texts = texts(&ack);
    assert_eq!(texts.len(), 2, "{texts:?}");
    assert_eq!(texts[1], "written before the backup");
    restored.stop().expect("clean shutdown");
}

#[test]
fn backup_without_a_sqlite_store_says_what_to_do() {
    let out = run(
        &["backup", "/nonexistent-dir-for-sb-test/x.db"],
        &[("SMOOTH_AGENT_STORAGE", "memory".into())],
    );
    assert_eq!(out.status.code(), Some(1));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("keeps no SQLite file"), "{stderr}");
}
