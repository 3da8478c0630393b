//! What an operator sees: `/metrics` (counted over real WebSocket turns and checked
//! by promtool), `/ready`, JSON logs, and OTLP traces received by a real collector.

mod metrics;
mod prometheus;
mod ready;
mod traces;

use switchboard_testkit::TestApp;

/// `GET path` on the app's port: (status, body).
pub async fn get(app: &TestApp, path: &str) -> (u16, String) {
    let response = switchboard_agent::http::client()
        .get(format!("http://{}{path}", app.addr))
        .send()
        .await
        .unwrap();
    (response.status().as_u16(), response.text().await.unwrap())
}

/// The value of one series in a scrape (0 when absent, as Prometheus reads it).
pub fn value(scrape: &str, series: &str) -> f64 {
    scrape
        .lines()
        .find_map(|line| line.strip_prefix(series)?.strip_prefix(' '))
        .map_or(0.0, |v| v.trim().parse().unwrap())
}
