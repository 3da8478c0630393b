//! Temp folders, local servers and configurations shared by the source tests.

use std::path::{Path, PathBuf};
use std::sync::Once;
use std::sync::atomic::{AtomicUsize, Ordering};
use switchboard_knowledge::source::SourceConfig;

/// A variable holding a GitHub token, set once for the whole test binary.
pub const TOKEN_ENV: &str = "SWITCHBOARD_KNOWLEDGE_SOURCES_TEST_TOKEN";
pub const TOKEN: &str = "sources-test-token-7f3a";
/// A variable set to an empty value.
pub const EMPTY_ENV: &str = "SWITCHBOARD_KNOWLEDGE_SOURCES_TEST_EMPTY";
/// A variable that is never set.
pub const UNSET_ENV: &str = "SWITCHBOARD_KNOWLEDGE_SOURCES_TEST_UNSET";

/// Installs the TLS provider and the test environment variables. Every test calls
/// it first, so no test reads the environment while it is being written.
#[allow(unsafe_code)] // calls libc or writes the environment: see SAFETY below
pub fn init() {
    static INIT: Once = Once::new();
    INIT.call_once(|| {
        let _ = rustls::crypto::ring::default_provider().install_default();
        // SAFETY: runs once, before any test in this binary does anything else
        // (every test calls `init` first and waits for it to finish).
        unsafe {
            std::env::set_var(TOKEN_ENV, TOKEN);
            std::env::set_var(EMPTY_ENV, "");
            std::env::remove_var(UNSET_ENV);
        }
    });
}

/// The HTTP client a server would hand to sources.
pub fn http() -> reqwest::Client {
    init();
    reqwest::Client::builder().no_proxy().build().unwrap()
}

/// A source configuration, written as an operator would in the agent file.
pub fn config(value: serde_json::Value) -> SourceConfig {
    serde_json::from_value(value).expect("a valid source configuration")
}

/// Serves `app` on 127.0.0.1 on a free port; returns its base URL.
pub async fn serve(app: axum::Router) -> String {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let address = listener.local_addr().unwrap();
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
    format!("http://{address}")
}

/// A uniquely named folder under the system temp folder, removed on drop.
pub struct TempDir {
    pub path: PathBuf,
}

impl TempDir {
    pub fn new(label: &str) -> Self {
        static NEXT: AtomicUsize = AtomicUsize::new(0);
        let nanos = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap()
            .as_nanos();
        let name = format!(
            "switchboard-sources-{label}-{}-{}-{nanos}",
            std::process::id(),
            NEXT.fetch_add(1, Ordering::Relaxed)
        );
        let path = std::env::temp_dir().join(name);
        std::fs::create_dir_all(&path).unwrap();
        Self { path }
    }

    /// Writes a file (creating its folders) at a `/`-separated relative path.
    pub fn write(&self, relative: &str, contents: impl AsRef<[u8]>) -> PathBuf {
        let path = self.path.join(relative);
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        std::fs::write(&path, contents).unwrap();
        path
    }

    pub fn remove(&self, relative: &str) {
        std::fs::remove_file(self.path.join(relative)).unwrap();
    }

    pub fn path_str(&self) -> &str {
        self.path.to_str().unwrap()
    }

    pub fn join(&self, relative: &str) -> PathBuf {
        Path::new(&self.path).join(relative)
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.path);
    }
}
