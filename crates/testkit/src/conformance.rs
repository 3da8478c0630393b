//! The conformance scenario runner: replays `spec/conformance/scenarios/*.json`
//! against the real server over a real WebSocket.
//!
//! Format (see `spec/README.md`): each step sends one frame and expects events in
//! order; `pong` and `keepalive` in between are ignored; an empty `expect` requires
//! silence for a short grace period.

use crate::mock_gateway::{MockGateway, ScriptedReply};
use crate::{TestApp, TestClient, spawn_app_with};
use serde::Deserialize;
use serde_json::{Map, Value};
use std::collections::HashMap;
use std::path::PathBuf;
use std::time::Duration;

/// How long an empty `expect` waits to be sure nothing arrives.
const SILENCE_GRACE: Duration = Duration::from_millis(300);
/// How long a matcher waits for its event.
const EVENT_WAIT: Duration = Duration::from_secs(10);

#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Scenario {
    pub name: String,
    #[serde(default)]
    pub description: String,
    #[serde(default)]
    pub mock_llm_script: Vec<Value>,
    /// Server set-up: an agent configuration file, exactly as written.
    pub server: Option<Value>,
    pub steps: Vec<Step>,
}

#[derive(Debug, Clone, Deserialize)]
pub struct Step {
    pub send: Value,
    #[serde(default)]
    pub expect: Vec<Matcher>,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Matcher {
    #[serde(rename = "type")]
    pub kind: String,
    pub status: Option<Value>,
    pub status_gte: Option<f64>,
    #[serde(default)]
    pub assert: Map<String, Value>,
    #[serde(default)]
    pub capture: Map<String, Value>,
    #[serde(default)]
    pub repeat: bool,
    pub accumulate: Option<String>,
    pub assert_accumulated: Option<String>,
}

/// `spec/conformance/scenarios`.
pub fn scenario_dir() -> PathBuf {
    crate::spec_dir().join("conformance/scenarios")
}

/// The names of every scenario file, sorted.
pub fn scenario_names() -> Vec<String> {
    let mut names: Vec<String> = std::fs::read_dir(scenario_dir())
        .expect("read the scenario directory")
        .filter_map(|e| {
            let name = e.ok()?.file_name().into_string().ok()?;
            name.strip_suffix(".json").map(str::to_owned)
        })
        .collect();
    names.sort();
    names
}

/// Loads one scenario by name.
pub fn load(name: &str) -> Scenario {
    let path = scenario_dir().join(format!("{name}.json"));
    let text = std::fs::read_to_string(&path)
        .unwrap_or_else(|e| panic!("cannot read {}: {e}", path.display()));
    serde_json::from_str(&text).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

/// A server set up as a scenario asks, with the scripted gateway it talks to.
pub struct ScenarioApp {
    pub app: TestApp,
    pub gateway: MockGateway,
    /// The scenario's `server` block, written out as the agent configuration file.
    config_file: Option<PathBuf>,
}

impl Drop for ScenarioApp {
    fn drop(&mut self) {
        if let Some(path) = &self.config_file {
            let _ = std::fs::remove_file(path);
        }
    }
}

/// Boots a server for a scenario: its LLM gateway is a mock serving the scenario's
/// `mockLlmScript`, and its `server` block becomes the agent configuration file,
/// exactly as written, loaded the way `SMOOTH_AGENT_CONFIG` is.
pub async fn start_app(scenario: &Scenario) -> Result<ScenarioApp, String> {
    let script = ScriptedReply::from_scenario(&scenario.mock_llm_script)?;
    let gateway = MockGateway::start(script).await;
    let mut config = switchboard_server::Config::for_tests();
    config.gateway = Some(switchboard_server::config::GatewayConfig {
        url: gateway.url(),
        key: None,
        timeout: Duration::from_secs(10),
    });
    let config_file = match &scenario.server {
        Some(server) => {
            let path = std::env::temp_dir().join(format!(
                "switchboard-scenario-{}-{}-{}.json",
                scenario.name,
                std::process::id(),
                uuid_like()
            ));
            std::fs::write(&path, serde_json::to_vec_pretty(server).expect("JSON"))
                .map_err(|e| format!("cannot write {}: {e}", path.display()))?;
            config.agent_config = Some(path.clone());
            Some(path)
        }
        None => None,
    };
    let app = spawn_app_with(config).await;
    Ok(ScenarioApp {
        app,
        gateway,
        config_file,
    })
}

/// A value unique within this process, for file names.
fn uuid_like() -> u64 {
    use std::sync::atomic::{AtomicU64, Ordering};
    static NEXT: AtomicU64 = AtomicU64::new(0);
    NEXT.fetch_add(1, Ordering::Relaxed)
}

/// Runs a scenario on a fresh server; `Err` says which step and matcher failed.
pub async fn run(scenario: &Scenario) -> Result<(), String> {
    let setup = start_app(scenario).await?;
    let mut client = setup.app.client().await;
    let result = Runner::new(&mut client).run(scenario).await;
    client.close().await;
    result
}

/// A scenario that must pass.
pub async fn expect_pass(name: &str) {
    let scenario = load(name);
    if let Err(failure) = run(&scenario).await {
        panic!("conformance scenario '{name}' failed: {failure}");
    }
}

/// A scenario that is not expected to pass yet. It still runs, so the moment it
/// passes the test fails and asks for it to be moved to the passing list.
pub async fn expect_pending(name: &str) {
    let scenario = load(name);
    match run(&scenario).await {
        Ok(()) => panic!("conformance scenario '{name}' now passes: move it to the passing list"),
        Err(failure) => {
            eprintln!("pending scenario '{name}' does not pass yet (expected): {failure}")
        }
    }
}

struct Runner<'c> {
    client: &'c mut TestClient,
    vars: HashMap<String, Value>,
    /// One event of lookahead, for `repeat`.
    peeked: Option<Value>,
}

impl<'c> Runner<'c> {
    fn new(client: &'c mut TestClient) -> Self {
        Self {
            client,
            vars: HashMap::new(),
            peeked: None,
        }
    }

    async fn run(&mut self, scenario: &Scenario) -> Result<(), String> {
        for (i, step) in scenario.steps.iter().enumerate() {
            let frame = substitute(&step.send, &self.vars);
            self.client.send(frame.clone()).await;
            if step.expect.is_empty() {
                self.expect_silence()
                    .await
                    .map_err(|e| format!("step {i} ({frame}): {e}"))?;
            }
            for (j, matcher) in step.expect.iter().enumerate() {
                self.expect(matcher).await.map_err(|e| {
                    format!(
                        "step {i} ({frame}), expectation {j} ({}): {e}",
                        matcher.kind
                    )
                })?;
            }
        }
        Ok(())
    }

    /// The next event that is not a `pong` or `keepalive`.
    async fn next(&mut self, wait: Duration) -> Option<Value> {
        if let Some(event) = self.peeked.take() {
            return Some(event);
        }
        let deadline = tokio::time::Instant::now() + wait;
        loop {
            let left = deadline.saturating_duration_since(tokio::time::Instant::now());
            let event = self.client.next_within(left).await?;
            if event["type"] != "pong" && event["type"] != "keepalive" {
                return Some(event);
            }
        }
    }

    async fn expect_silence(&mut self) -> Result<(), String> {
        match self.next(SILENCE_GRACE).await {
            None => Ok(()),
            Some(event) => Err(format!("expected no event, got {event}")),
        }
    }

    async fn expect(&mut self, matcher: &Matcher) -> Result<(), String> {
        let first = self
            .next(EVENT_WAIT)
            .await
            .ok_or_else(|| format!("no '{}' event within {EVENT_WAIT:?}", matcher.kind))?;
        self.check(matcher, &first)?;
        if !matcher.repeat {
            return Ok(());
        }
        let mut accumulated = accumulate(matcher, &first);
        loop {
            match self.next(EVENT_WAIT).await {
                Some(event) if event["type"] == matcher.kind.as_str() => {
                    self.check(matcher, &event)?;
                    accumulated.push_str(&accumulate(matcher, &event));
                }
                other => {
                    self.peeked = other;
                    break;
                }
            }
        }
        match &matcher.assert_accumulated {
            Some(expected) if *expected != accumulated => Err(format!(
                "accumulated '{}' is {accumulated:?}, expected {expected:?}",
                matcher.accumulate.as_deref().unwrap_or("")
            )),
            _ => Ok(()),
        }
    }

    fn check(&mut self, matcher: &Matcher, event: &Value) -> Result<(), String> {
        if event["type"] != matcher.kind.as_str() {
            return Err(format!("expected a '{}' event, got {event}", matcher.kind));
        }
        if let Some(status) = &matcher.status
            && !same(&event["status"], status)
        {
            return Err(format!("status should be {status}: {event}"));
        }
        if let Some(min) = matcher.status_gte
            && event["status"].as_f64().is_none_or(|s| s < min)
        {
            return Err(format!("status should be at least {min}: {event}"));
        }
        for (path, expected) in &matcher.assert {
            let actual = lookup(event, path);
            if !actual.is_some_and(|a| same(a, expected)) {
                return Err(format!(
                    "'{path}' should be {expected}, is {actual:?}: {event}"
                ));
            }
        }
        for (name, path) in &matcher.capture {
            let path = path.as_str().ok_or("capture paths are strings")?;
            let value = lookup(event, path)
                .ok_or_else(|| format!("nothing at '{path}' to capture: {event}"))?;
            self.vars.insert(name.clone(), value.clone());
        }
        Ok(())
    }
}

fn accumulate(matcher: &Matcher, event: &Value) -> String {
    matcher
        .accumulate
        .as_deref()
        .and_then(|path| lookup(event, path))
        .and_then(Value::as_str)
        .unwrap_or_default()
        .to_owned()
}

/// Follows a dot path; numeric segments index arrays.
pub fn lookup<'v>(value: &'v Value, path: &str) -> Option<&'v Value> {
    path.split('.').try_fold(value, |v, segment| match v {
        Value::Array(items) => items.get(segment.parse::<usize>().ok()?),
        Value::Object(map) => map.get(segment),
        _ => None,
    })
}

/// Deep equality where numbers compare by value (`10` equals `10.0`).
pub fn same(a: &Value, b: &Value) -> bool {
    match (a, b) {
        (Value::Number(x), Value::Number(y)) => x.as_f64() == y.as_f64(),
        (Value::Array(x), Value::Array(y)) => {
            x.len() == y.len() && x.iter().zip(y).all(|(a, b)| same(a, b))
        }
        (Value::Object(x), Value::Object(y)) => {
            x.len() == y.len() && x.iter().all(|(k, v)| y.get(k).is_some_and(|w| same(v, w)))
        }
        _ => a == b,
    }
}

/// Replaces `{{name}}` in every string of `value` with captured values.
fn substitute(value: &Value, vars: &HashMap<String, Value>) -> Value {
    match value {
        Value::String(text) => {
            let mut out = text.clone();
            for (name, captured) in vars {
                let replacement = match captured {
                    Value::String(s) => s.clone(),
                    other => other.to_string(),
                };
                out = out.replace(&format!("{{{{{name}}}}}"), &replacement);
            }
            Value::String(out)
        }
        Value::Array(items) => Value::Array(items.iter().map(|v| substitute(v, vars)).collect()),
        Value::Object(map) => Value::Object(
            map.iter()
                .map(|(k, v)| (k.clone(), substitute(v, vars)))
                .collect(),
        ),
        other => other.clone(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn paths_index_arrays_and_numbers_compare_by_value() {
        let v = json!({"data": {"citations": [{"id": "a"}], "usage": {"promptTokens": 10}}});
        assert_eq!(lookup(&v, "data.citations.0.id"), Some(&json!("a")));
        assert_eq!(lookup(&v, "data.citations.1.id"), None);
        assert!(same(
            lookup(&v, "data.usage.promptTokens").unwrap(),
            &json!(10.0)
        ));
        assert!(!same(&json!([1, 2]), &json!([1])));
    }

    #[test]
    fn substitution_reaches_nested_strings() {
        let vars = HashMap::from([("sessionId".to_owned(), json!("s-1"))]);
        let out = substitute(
            &json!({"a": ["{{sessionId}}", 3], "b": "x{{sessionId}}y"}),
            &vars,
        );
        assert_eq!(out, json!({"a": ["s-1", 3], "b": "xs-1y"}));
    }
}
