//! A small WebDriver client driving headless Chromium through `chromedriver`
//! (the W3C WebDriver JSON wire protocol over HTTP, with the HTTP client the server
//! already has), and the page helpers the browser tests share.

use serde_json::{Value, json};
use std::net::TcpListener;
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// Installs Chromium and its driver from Debian when missing (`scripts/ensure-chromium`),
/// once per test process so parallel tests do not race for the package manager.
fn ensure_chromium() {
    static ONCE: std::sync::Once = std::sync::Once::new();
    ONCE.call_once(install_chromium);
}

fn install_chromium() {
    let present = |bin: &str| {
        Command::new("sh")
            .args(["-c", &format!("command -v {bin}")])
            .stdout(Stdio::null())
            .status()
            .is_ok_and(|s| s.success())
    };
    if present("chromedriver") && present("chromium") {
        return;
    }
    let script = concat!(env!("CARGO_MANIFEST_DIR"), "/../../scripts/ensure-chromium");
    let status = Command::new("bash").arg(script).status();
    assert!(
        status.is_ok_and(|s| s.success()) && present("chromedriver"),
        "chromium and chromedriver are needed (apt-get install -y chromium chromium-driver)"
    );
}

/// A `chromedriver` process and one headless Chromium session; both end on drop.
pub struct Browser {
    driver: Child,
    base: String,
    http: reqwest::Client,
    _profile: TempDir,
}

struct TempDir(PathBuf);

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

impl Browser {
    /// Starts a browser whose window is `width` × `height` CSS pixels.
    pub async fn start(width: u32, height: u32) -> Browser {
        Self::start_with(width, height, &[]).await
    }

    /// [`Browser::start`] with more Chromium switches (`--force-dark-mode`).
    pub async fn start_with(width: u32, height: u32, extra: &[&str]) -> Browser {
        ensure_chromium();
        let port = TcpListener::bind("127.0.0.1:0")
            .and_then(|l| l.local_addr())
            .expect("a free port")
            .port();
        let driver = Command::new("chromedriver")
            .arg(format!("--port={port}"))
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("start chromedriver");
        let profile = std::env::temp_dir().join(format!("sb-chrome-{}", uuid::Uuid::new_v4()));
        let mut browser = Browser {
            driver,
            base: format!("http://127.0.0.1:{port}"),
            http: switchboard_agent::http::client(),
            _profile: TempDir(profile.clone()),
        };
        browser.wait_ready().await;
        let mut args = vec![
            "--headless=new".to_owned(),
            "--no-sandbox".into(),
            "--disable-gpu".into(),
            "--no-first-run".into(),
            "--disable-background-networking".into(),
            "--disable-component-update".into(),
            "--disable-sync".into(),
            "--disable-dev-shm-usage".into(),
            format!("--window-size={width},{height}"),
            format!("--user-data-dir={}", profile.display()),
        ];
        args.extend(extra.iter().map(|a| (*a).to_owned()));
        // Desktop windows are at least 500 px wide: narrower ones are emulated.
        let mut options = json!({"binary": "/usr/bin/chromium", "args": args});
        if width < 500 {
            options["mobileEmulation"] =
                json!({"deviceMetrics": {"width": width, "height": height, "pixelRatio": 1.0}});
        }
        let caps = json!({"capabilities": {"alwaysMatch": {
            "browserName": "chrome",
            "goog:chromeOptions": options
        }}});
        let reply = browser.call("POST", "/session", caps).await;
        let id = reply["sessionId"]
            .as_str()
            .unwrap_or_else(|| panic!("no WebDriver session: {reply}"))
            .to_owned();
        browser.base = format!("{}/session/{id}", browser.base);
        browser
    }

    async fn wait_ready(&self) {
        let deadline = Instant::now() + Duration::from_secs(30);
        while Instant::now() < deadline {
            if let Ok(r) = self.http.get(format!("{}/status", self.base)).send().await
                && r.status().is_success()
            {
                return;
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        panic!("chromedriver did not start");
    }

    async fn call(&self, method: &str, path: &str, body: Value) -> Value {
        let url = format!("{}{path}", self.base);
        let request = match method {
            "GET" => self.http.get(url),
            "DELETE" => self.http.delete(url),
            _ => self.http.post(url).json(&body),
        };
        let reply: Value = request
            .timeout(Duration::from_secs(120))
            .send()
            .await
            .expect("chromedriver answers")
            .json()
            .await
            .expect("chromedriver sends JSON");
        reply.get("value").cloned().unwrap_or(reply)
    }

    pub async fn goto(&self, url: &str) {
        self.call("POST", "/url", json!({"url": url})).await;
    }

    pub async fn refresh(&self) {
        self.call("POST", "/refresh", json!({})).await;
    }

    /// Runs `body` (a function body; `arguments` are `args`) in the page.
    pub async fn js(&self, body: &str, args: Value) -> Value {
        let value = self
            .call(
                "POST",
                "/execute/sync",
                json!({"script": body, "args": args}),
            )
            .await;
        if let Some(error) = value.get("error") {
            panic!("script failed: {error}: {}", value["message"]);
        }
        value
    }

    /// Waits until `expr` (a JavaScript expression) is truthy; returns its value.
    pub async fn wait(&self, what: &str, expr: &str) -> Value {
        let deadline = Instant::now() + Duration::from_secs(60);
        let body = format!("try {{ return ({expr}) || null; }} catch (e) {{ return null; }}");
        loop {
            let value = self.js(&body, json!([])).await;
            if !value.is_null() && value != json!(false) {
                return value;
            }
            if Instant::now() > deadline {
                let text = self
                    .js(&format!("return {SHADOW}.textContent"), json!([]))
                    .await;
                panic!("timed out waiting for {what}; the chat shows: {text}");
            }
            tokio::time::sleep(Duration::from_millis(150)).await;
        }
    }

    /// Saves a screenshot as `<target>/screenshots/<name>.png` and returns its path.
    pub async fn screenshot(&self, name: &str) -> PathBuf {
        use base64::Engine;
        let png = self.call("GET", "/screenshot", Value::Null).await;
        let bytes = base64::engine::general_purpose::STANDARD
            .decode(png.as_str().expect("a base64 screenshot"))
            .expect("valid base64");
        let dir = screenshot_dir();
        std::fs::create_dir_all(&dir).expect("create the screenshot folder");
        let path = dir.join(format!("{name}.png"));
        std::fs::write(&path, bytes).expect("write the screenshot");
        path
    }

    /// Types `text` into the chat's message box and presses Send.
    pub async fn ask(&self, text: &str) {
        self.wait(
            "a connected chat",
            "document.querySelector('switchboard-chat').dataset.state === 'ready'",
        )
        .await;
        self.js(
            &format!(
                "const s = {SHADOW}; s.querySelector('textarea').value = arguments[0];
                 s.querySelector('form.compose button[type=submit]').click();"
            ),
            json!([text]),
        )
        .await;
    }

    /// Clicks the first button in the chat whose text is `label`.
    pub async fn click(&self, label: &str) {
        self.wait(
            &format!("a button '{label}'"),
            &format!(
                "[...{SHADOW}.querySelectorAll('button')].find(b => b.textContent === {label:?} && !b.disabled)"
            ),
        )
        .await;
        self.js(
            &format!(
                "[...{SHADOW}.querySelectorAll('button')].find(b => b.textContent === arguments[0] && !b.disabled).click()"
            ),
            json!([label]),
        )
        .await;
    }

    /// Clicks the chat's element matching the CSS `selector`.
    pub async fn click_on(&self, selector: &str) {
        let expr = format!("{SHADOW}.querySelector({selector:?})");
        self.wait(selector, &expr).await;
        self.js(&format!("{expr}.click()"), json!([])).await;
    }

    /// The text of the chat's message log.
    pub async fn log_text(&self) -> String {
        self.js(
            &format!("return {SHADOW}.querySelector('.log').textContent"),
            json!([]),
        )
        .await
        .as_str()
        .unwrap_or_default()
        .to_owned()
    }
}

impl Drop for Browser {
    fn drop(&mut self) {
        let _ = self.driver.kill();
        let _ = self.driver.wait();
    }
}

/// The chat element's shadow root, as a JavaScript expression.
pub const SHADOW: &str = "document.querySelector('switchboard-chat').shadowRoot";

/// `$CARGO_TARGET_DIR/screenshots` (else `target/screenshots`), kept as CI artifacts.
pub fn screenshot_dir() -> PathBuf {
    std::env::var_os("CARGO_TARGET_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from(concat!(env!("CARGO_MANIFEST_DIR"), "/../../target")))
        .join("screenshots")
}
