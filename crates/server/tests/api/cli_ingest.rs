//! `switchboard ingest` as an operator runs it: a folder into the configured store,
//! a summary that counts what happened, a second run that re-embeds nothing, and a
//! server on the same store answering from the ingested documents.

use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use switchboard_testkit::postgres::TestDatabase;
use switchboard_testkit::process::ServerProcess;

const BIN: &str = env!("CARGO_BIN_EXE_switchboard");

/// `switchboard ARGS` with exactly `env` (no inherited variables).
async fn switchboard(args: &[&str], env: &[(&str, String)]) -> Output {
    let args: Vec<String> = args.iter().map(|a| (*a).to_owned()).collect();
    let env: Vec<(String, String)> = env
        .iter()
        .map(|(k, v)| ((*k).to_owned(), v.clone()))
        .collect();
    tokio::task::spawn_blocking(move || {
        Command::new(BIN)
            .args(&args)
            .env_clear()
            .envs(env)
            .stdin(Stdio::null())
            .output()
            .unwrap()
    })
    .await
    .unwrap()
}

fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

/// A folder with two documents, one file the walker must skip (not UTF-8) and one
/// it ignores (not a document type).
fn docs_folder(label: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("sb-ingest-{label}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(dir.join("faq")).unwrap();
    std::fs::write(
        dir.join("returns.md"),
        "# Zebra returns\n\nZebra costumes may be returned within 23 days of delivery.\n",
    )
    .unwrap();
    std::fs::write(
        dir.join("faq/hours.txt"),
        "The help desk for zebra costumes answers from 9 to 5 on weekdays.\n",
    )
    .unwrap();
    std::fs::write(dir.join("broken.md"), [0xff, 0xfe, 0x00, 0x41]).unwrap();
    std::fs::write(dir.join("logo.png"), [0x89, b'P', b'N', b'G']).unwrap();
    dir
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn ingest_fills_the_store_and_a_second_run_re_embeds_nothing() {
    let database = TestDatabase::create("ingest");
    let dir = docs_folder("pg");
    let dir_arg = dir.display().to_string();
    let env = vec![
        ("SMOOTH_AGENT_STORAGE", "postgres".to_owned()),
        ("SMOOTH_AGENT_DATABASE_URL", database.url()),
    ];

    let first = switchboard(&["ingest", &dir_arg], &env).await;
    let (stdout, stderr) = (text(&first.stdout), text(&first.stderr));
    assert!(first.status.success(), "{first:?}");
    assert!(
        stdout.contains("Ingested 1 source: 2 documents (2 indexed, 0 unchanged)"),
        "{stdout}"
    );
    assert!(stdout.contains("1 skipped file"), "{stdout}");
    assert!(
        stderr.contains("warning: skipping a file that is not UTF-8 text")
            && stderr.contains("broken.md"),
        "the skipped file is named with the reason: {stderr}"
    );
    // Not a terminal: no bar, no escape sequences in what a script reads.
    assert!(!stderr.contains('\u{1b}'), "{stderr:?}");

    let again = switchboard(&["ingest", &dir_arg], &env).await;
    let stdout = text(&again.stdout);
    assert!(again.status.success(), "{again:?}");
    assert!(
        stdout.contains("2 documents (0 indexed, 2 unchanged), 0 chunks"),
        "nothing changed, so nothing is re-embedded: {stdout}"
    );

    // A server on the same store answers from them, citing the file.
    let env_refs: Vec<(&str, &str)> = env.iter().map(|(k, v)| (*k, v.as_str())).collect();
    let server = ServerProcess::start(Path::new(BIN), &env_refs)
        .await
        .unwrap();
    let answer = chat_with(
        server.url(),
        "How many days do I have to return a zebra costume?",
    )
    .await;
    assert!(answer.status.success(), "{answer:?}");
    let stdout = text(&answer.stdout);
    assert!(stdout.contains("23 days"), "{stdout}");
    assert!(
        stdout.contains("[1] Zebra returns"),
        "the citation: {stdout}"
    );
    let _ = std::fs::remove_dir_all(&dir);
}

async fn chat_with(url: &str, message: &str) -> Output {
    let (url, message) = (url.to_owned(), format!("{message}\n"));
    tokio::task::spawn_blocking(move || {
        use std::io::Write;
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
            .write_all(message.as_bytes())
            .unwrap();
        child.wait_with_output().unwrap()
    })
    .await
    .unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn ingest_refuses_the_memory_store_and_names_a_missing_source() {
    let memory = switchboard(
        &["ingest", "./docs"],
        &[("SMOOTH_AGENT_STORAGE", "memory".to_owned())],
    )
    .await;
    assert_eq!(memory.status.code(), Some(2), "{memory:?}");
    assert!(
        text(&memory.stderr).contains("SMOOTH_AGENT_STORAGE=memory keeps nothing"),
        "{memory:?}"
    );

    let database = TestDatabase::create("ingest_missing");
    let env = vec![
        ("SMOOTH_AGENT_STORAGE", "postgres".to_owned()),
        ("SMOOTH_AGENT_DATABASE_URL", database.url()),
    ];
    let missing = std::env::temp_dir().join(format!("sb-ingest-none-{}", std::process::id()));
    let missing = missing.display().to_string();
    let out = switchboard(&["ingest", &missing], &env).await;
    assert_eq!(out.status.code(), Some(1), "{out:?}");
    let stderr = text(&out.stderr);
    assert!(
        stderr.contains(&format!("source '{missing}'")),
        "the failing source is named: {stderr}"
    );

    let two = switchboard(&["ingest", "--name", "x", "a", "b"], &env).await;
    assert_eq!(two.status.code(), Some(2), "{two:?}");
    assert!(
        text(&two.stderr).contains("--name names one source"),
        "{two:?}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn on_the_default_sqlite_store_ingest_works_while_the_server_runs() {
    let dir = docs_folder("sqlite");
    let data = std::env::temp_dir().join(format!("sb-ingest-data-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&data);
    // `ingest` gets no SMOOTH_AGENT_STORAGE: the default, a SQLite file in the data
    // folder; the test kit's server says sqlite explicitly (it defaults tests to memory).
    let env = vec![("SMOOTH_AGENT_DATA_DIR", data.display().to_string())];
    let data_dir = data.display().to_string();
    let server_env = [
        ("SMOOTH_AGENT_STORAGE", "sqlite"),
        ("SMOOTH_AGENT_DATA_DIR", data_dir.as_str()),
    ];
    let server = ServerProcess::start(Path::new(BIN), &server_env)
        .await
        .unwrap();

    let out = switchboard(&["ingest", &dir.display().to_string()], &env).await;
    assert!(
        out.status.success(),
        "the server's lock does not stop ingest: {out:?}"
    );
    assert!(
        text(&out.stdout).contains("2 documents (2 indexed"),
        "{out:?}"
    );
    let answer = chat_with(
        server.url(),
        "How many days do I have to return a zebra costume?",
    )
    .await;
    let stdout = text(&answer.stdout);
    assert!(
        stdout.contains("23 days"),
        "the running server sees them: {stdout}"
    );
    drop(server);
    let _ = std::fs::remove_dir_all(&dir);
    let _ = std::fs::remove_dir_all(&data);
}
