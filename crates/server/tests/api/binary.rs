//! The `switchboard` binary as an operator runs it.

use std::io::{BufRead, BufReader};
use std::process::{Command, Stdio};
use std::time::Duration;

fn switchboard() -> Command {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_switchboard"));
    // Nothing on disk unless a test says where: SQLite is the default storage.
    cmd.env_clear()
        .env("RUST_LOG", "warn")
        .env("SMOOTH_AGENT_STORAGE", "memory");
    cmd
}

#[test]
fn invalid_configuration_stops_startup_naming_the_variable() {
    for (var, value) in [
        ("SMOOTH_AGENT_PORT", "eighty"),
        ("SMOOTH_AGENT_STORAGE", "floppy"),
        ("SMOOTH_AGENT_MAX_ITERATIONS", "0"),
        ("SMOOTH_AGENT_BIND", "not-an-ip"),
    ] {
        let out = switchboard().env(var, value).output().unwrap();
        assert_eq!(out.status.code(), Some(2), "{var}={value}");
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert!(stderr.contains(var), "{var}: {stderr}");
    }
}

#[cfg(not(feature = "dynamodb"))]
#[test]
fn unavailable_storage_is_refused_not_replaced() {
    let out = switchboard()
        .env("SMOOTH_AGENT_STORAGE", "dynamodb")
        .env("SMOOTH_AGENT_PORT", "0")
        .output()
        .unwrap();
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("SMOOTH_AGENT_STORAGE"));
}

#[cfg(feature = "dynamodb")]
#[test]
fn an_unreachable_dynamodb_stops_startup_naming_what_to_check() {
    let out = switchboard()
        .env("SMOOTH_AGENT_STORAGE", "dynamodb")
        .env("SMOOTH_AGENT_DDB_ENDPOINT", "http://127.0.0.1:1")
        .env("AWS_ACCESS_KEY_ID", "test")
        .env("AWS_SECRET_ACCESS_KEY", "test")
        .env("SMOOTH_AGENT_PORT", "0")
        .output()
        .unwrap();
    assert!(!out.status.success());
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("SMOOTH_AGENT_STORAGE=dynamodb"), "{stderr}");
    assert!(stderr.contains("SMOOTH_AGENT_DDB_ENDPOINT"), "{stderr}");
}

/// A container image without CA certificates: a clear start-up error, never a panic.
/// (rustls' system loader reads only `SSL_CERT_FILE`/`SSL_CERT_DIR` when they are set.)
#[test]
fn without_ca_certificates_startup_stops_saying_what_to_install() {
    let out = switchboard()
        .env("SSL_CERT_FILE", "/nonexistent/ca.pem")
        .env("SSL_CERT_DIR", "/nonexistent/certs")
        .env("SMOOTH_AGENT_STORAGE", "memory")
        .env("SMOOTH_AGENT_PORT", "0")
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{stderr}");
    assert!(!stderr.contains("panicked"), "{stderr}");
    assert!(
        stderr.contains("CA certificates") && stderr.contains("ca-certificates package"),
        "{stderr}"
    );
}

#[test]
fn a_bad_agent_configuration_file_stops_startup() {
    let dir = std::env::temp_dir().join(format!("sb-binary-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let typo = dir.join("agent.json");
    std::fs::write(&typo, r#"{"tool": []}"#).unwrap();
    for path in [dir.join("missing.json"), typo] {
        let out = switchboard()
            .env("SMOOTH_AGENT_CONFIG", &path)
            .env("SMOOTH_AGENT_PORT", "0")
            .output()
            .unwrap();
        assert!(!out.status.success());
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert!(stderr.contains("SMOOTH_AGENT_CONFIG"), "{stderr}");
        assert!(stderr.contains(&path.display().to_string()), "{stderr}");
    }
}

#[test]
fn starts_with_defaults_prints_one_line_and_exits_zero_on_sigterm() {
    // No storage variable: SQLite, in ./data of the working directory.
    let cwd = std::path::PathBuf::from(env!("CARGO_TARGET_TMPDIR"))
        .join(format!("defaults-{}", uuid::Uuid::new_v4().simple()));
    std::fs::create_dir_all(&cwd).unwrap();
    let mut child = switchboard()
        .env_remove("SMOOTH_AGENT_STORAGE")
        .current_dir(&cwd)
        .env("SMOOTH_AGENT_PORT", "0")
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let mut line = String::new();
    BufReader::new(child.stdout.take().unwrap())
        .read_line(&mut line)
        .unwrap();
    assert!(
        line.starts_with("switchboard listening on ws://127.0.0.1:"),
        "{line}"
    );
    assert!(line.contains("/ws"), "{line}");
    let db = cwd.join("data").join("switchboard.db");
    assert!(
        line.contains(&format!("store=sqlite, data in {}", db.display())),
        "{line}"
    );
    assert!(db.is_file(), "{} was not created", db.display());

    let port: u16 = line
        .split("127.0.0.1:")
        .nth(1)
        .and_then(|rest| rest.split('/').next())
        .and_then(|p| p.parse().ok())
        .expect("port in the listening line");
    let mut stream = std::net::TcpStream::connect(("127.0.0.1", port)).unwrap();
    use std::io::{Read, Write};
    stream
        .write_all(b"GET /health HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
        .unwrap();
    let mut response = String::new();
    stream.read_to_string(&mut response).unwrap();
    assert!(response.starts_with("HTTP/1.1 200"), "{response}");
    assert!(response.ends_with("ok"), "{response}");

    let pid = child.id().to_string();
    Command::new("kill").args(["-TERM", &pid]).status().unwrap();
    let deadline = std::time::Instant::now() + Duration::from_secs(10);
    loop {
        if let Some(status) = child.try_wait().unwrap() {
            assert_eq!(status.code(), Some(0));
            std::fs::remove_dir_all(&cwd).ok();
            break;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "did not exit after SIGTERM"
        );
        std::thread::sleep(Duration::from_millis(50));
    }
}

#[test]
fn an_unusable_address_or_database_exits_two_naming_the_variable() {
    // A port already taken on loopback.
    let taken = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = taken.local_addr().unwrap().port().to_string();
    let out = switchboard()
        .env("SMOOTH_AGENT_PORT", &port)
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2), "{out:?}");
    assert!(String::from_utf8_lossy(&out.stderr).contains("SMOOTH_AGENT_PORT"));

    // A PostgreSQL URL where nothing listens (loopback port 1).
    #[cfg(feature = "postgres")]
    {
        let out = switchboard()
            .env("SMOOTH_AGENT_PORT", "0")
            .env("SMOOTH_AGENT_STORAGE", "postgres")
            .env(
                "SMOOTH_AGENT_DATABASE_URL",
                "postgres://sb@127.0.0.1:1/nothing",
            )
            .output()
            .unwrap();
        assert_eq!(out.status.code(), Some(2), "{out:?}");
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert!(stderr.contains("SMOOTH_AGENT_DATABASE_URL"), "{stderr}");
        assert!(!stderr.contains("panicked"), "{stderr}");
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn a_half_sent_request_does_not_hold_up_exit_on_sigterm() {
    use std::path::Path;
    use switchboard_testkit::process::ServerProcess;
    use tokio::io::AsyncWriteExt;
    // The header timeout is far away: only the drain bound can end the connection.
    let server = ServerProcess::start(
        Path::new(env!("CARGO_BIN_EXE_switchboard")),
        &[
            ("SMOOTH_AGENT_DRAIN_SECS", "2"),
            ("SMOOTH_AGENT_HEADER_TIMEOUT_SECS", "600"),
        ],
    )
    .await
    .unwrap();
    let addr = server
        .url()
        .trim_start_matches("ws://")
        .trim_end_matches("/ws")
        .to_owned();
    let mut stream = tokio::net::TcpStream::connect(&addr).await.unwrap();
    stream.write_all(b"GET /health").await.unwrap();
    tokio::time::sleep(Duration::from_millis(300)).await;

    let started = std::time::Instant::now();
    // `stop` kills the server and fails if it has not exited within 30 s.
    let status = server.stop().expect("exits after SIGTERM");
    assert_eq!(status.code(), Some(0));
    assert!(
        started.elapsed() < Duration::from_secs(15),
        "took {:?} with a drain time of 2 s",
        started.elapsed()
    );
    drop(stream);
}
