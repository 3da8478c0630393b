//! A real Prometheus server (Debian's `prometheus` package, installed when missing
//! by `scripts/ensure-promtool`) scrapes a test server's `/metrics` and answers a
//! query about the turns it ran.

use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};
use switchboard_testkit::mock_gateway::{MockGateway, ScriptedReply};
use switchboard_testkit::{config_for, spawn_app_with};

/// Kills the Prometheus server however the test ends.
struct Running(Child);

impl Drop for Running {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn prometheus_scrapes_the_turn_counter() {
    let script = concat!(env!("CARGO_MANIFEST_DIR"), "/../../scripts/ensure-promtool");
    assert!(Command::new(script).status().unwrap().success());
    let gateway = MockGateway::start(vec![ScriptedReply::Text("Hi.".into()); 2]).await;
    let app = spawn_app_with(config_for(&gateway)).await;
    let mut client = app.client().await;
    let (session, _) = client.create_session().await;
    client.turn("r1", &session, "hello").await;
    client.turn("r2", &session, "hello").await;

    let dir = std::env::temp_dir().join(format!("sb-prometheus-{}", uuid::Uuid::new_v4()));
    std::fs::create_dir_all(&dir).unwrap();
    let config = dir.join("prometheus.yml");
    std::fs::write(
        &config,
        format!(
            "global:\n  scrape_interval: 1s\nscrape_configs:\n  - job_name: switchboard\n    static_configs:\n      - targets: ['{}']\n",
            app.addr
        ),
    )
    .unwrap();
    let web = format!("127.0.0.1:{}", free_port());
    let prometheus = Running(
        Command::new("prometheus")
            .arg(format!("--config.file={}", config.display()))
            .arg(format!(
                "--storage.tsdb.path={}",
                dir.join("data").display()
            ))
            .arg(format!("--web.listen-address={web}"))
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("prometheus starts"),
    );
    let query = format!(
        "http://{web}/api/v1/query?query=sum(switchboard_turns_total%7Boutcome%3D%22answered%22%7D)"
    );
    let deadline = Instant::now() + Duration::from_secs(60);
    let http = switchboard_agent::http::client();
    loop {
        if let Ok(response) = http.get(&query).send().await
            && let Ok(body) = response.json::<serde_json::Value>().await
            && let Some(value) = body["data"]["result"][0]["value"][1].as_str()
        {
            assert_eq!(value, "2", "{body}");
            break;
        }
        assert!(
            Instant::now() < deadline,
            "Prometheus never scraped the turns"
        );
        tokio::time::sleep(Duration::from_millis(250)).await;
    }
    drop(prometheus);
    let _ = std::fs::remove_dir_all(&dir);
}
