//! `rediss://`: the bus suite over TLS, against a `redis-server` started here with a
//! certificate made for the test and trusted through `SSL_CERT_FILE`. A binary of its
//! own, since it sets that variable for the whole process.

use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::time::{Duration, Instant};
use switchboard_backplane_redis::RedisBus;
use switchboard_core::Bus;

/// A TLS-only `redis-server` on a free port, killed on drop.
struct TlsRedis {
    child: Child,
    port: u16,
}

impl Drop for TlsRedis {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// A certificate authority (`ca.pem`) and a certificate it signed for `localhost`
/// and 127.0.0.1 (`cert.pem`, `key.pem`), made with `openssl`.
fn make_certificates(dir: &Path) {
    let openssl = |args: &[&str]| {
        let status = Command::new("openssl")
            .current_dir(dir)
            .args(args)
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .status()
            .expect("this test needs the `openssl` command (Debian package openssl)");
        assert!(status.success(), "openssl {args:?} failed");
    };
    std::fs::write(
        dir.join("san.ext"),
        "subjectAltName=DNS:localhost,IP:127.0.0.1\n",
    )
    .unwrap();
    openssl(
        &[
            "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1",
        ]
        .into_iter()
        .chain([
            "-subj",
            "/CN=switchboard-test-ca",
            "-keyout",
            "ca.key",
            "-out",
            "ca.pem",
        ])
        .collect::<Vec<_>>(),
    );
    openssl(
        &[
            "req",
            "-newkey",
            "rsa:2048",
            "-nodes",
            "-subj",
            "/CN=localhost",
        ]
        .into_iter()
        .chain(["-keyout", "key.pem", "-out", "server.csr"])
        .collect::<Vec<_>>(),
    );
    openssl(
        &[
            "x509",
            "-req",
            "-in",
            "server.csr",
            "-CA",
            "ca.pem",
            "-CAkey",
            "ca.key",
        ]
        .into_iter()
        .chain([
            "-CAcreateserial",
            "-days",
            "1",
            "-extfile",
            "san.ext",
            "-out",
            "cert.pem",
        ])
        .collect::<Vec<_>>(),
    );
}

fn start_tls_redis(dir: &Path) -> TlsRedis {
    let port = free_port();
    let child = Command::new("redis-server")
        .args(["--port", "0", "--save", "", "--appendonly", "no"])
        .args(["--tls-port", &port.to_string(), "--tls-auth-clients", "no"])
        .arg("--tls-cert-file")
        .arg(dir.join("cert.pem"))
        .arg("--tls-key-file")
        .arg(dir.join("key.pem"))
        .stdout(Stdio::null())
        .spawn()
        .expect("this test needs `redis-server` (Debian package redis-server)");
    let server = TlsRedis { child, port };
    let deadline = Instant::now() + Duration::from_secs(10);
    while std::net::TcpStream::connect(("127.0.0.1", port)).is_err() {
        assert!(
            Instant::now() < deadline,
            "redis-server did not listen on TLS"
        );
        std::thread::sleep(Duration::from_millis(50));
    }
    server
}

async fn replica(url: &str, channel: &str) -> Arc<dyn Bus> {
    Arc::new(
        RedisBus::connect(url, channel)
            .await
            .expect("rediss:// with a trusted certificate connects"),
    )
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[allow(unsafe_code)] // calls libc or writes the environment: see SAFETY below
async fn rediss_urls_connect_over_tls_and_pass_the_bus_suite() {
    let dir = std::env::temp_dir().join(format!("sb-redis-tls-{}", uuid::Uuid::new_v4()));
    std::fs::create_dir_all(&dir).unwrap();
    make_certificates(&dir);
    let server = start_tls_redis(&dir);

    // Before the certificate is trusted, TLS refuses the server: proof that the
    // connection really is TLS and really verifies.
    let url = format!("rediss://localhost:{}", server.port);
    let refused = RedisBus::connect(&url, "x").await;
    assert!(refused.is_err(), "an untrusted certificate was accepted");

    // SAFETY: this test binary holds this one test, so no other thread reads the
    // environment meanwhile.
    unsafe { std::env::set_var("SSL_CERT_FILE", dir.join("ca.pem")) };
    let channel = format!("switchboard-test:{}", uuid::Uuid::new_v4());
    switchboard_core::backplane::suite::run(|| replica(&url, &channel)).await;
    drop(server);
    let _ = std::fs::remove_dir_all(&dir);
}
