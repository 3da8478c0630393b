//! Connectors: CRUD, indexing a `file` connector with its runs recorded, and the
//! refusals (kinds, config, folders, GitHub tokens). Shared helpers here; the
//! checks by topic in the modules.

mod github;
mod lifecycle;
mod refusals;
mod roots;

use crate::admin::{Admin, Reply, jwt_config, token};
use serde_json::{Value, json};
use std::path::PathBuf;
use switchboard_knowledge::{Access, SearchMode};
use switchboard_server::Config;

/// A fresh folder under the system's temporary folder, removed on drop.
struct Folder(PathBuf);

impl Folder {
    fn new(label: &str) -> Self {
        let path = std::env::temp_dir().join(format!(
            "sb-admin-{label}-{}-{}",
            std::process::id(),
            uuid::Uuid::new_v4().simple()
        ));
        std::fs::create_dir_all(&path).unwrap();
        Self(path)
    }

    fn write(&self, name: &str, text: &str) {
        let path = self.0.join(name);
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        std::fs::write(path, text).unwrap();
    }
}

impl Drop for Folder {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

/// A server that allows file connectors under `root`.
async fn server(root: &Folder) -> Admin {
    let mut config = jwt_config(Config::for_tests());
    config.connector_file_roots = vec![root.0.clone()];
    Admin::with_config(config).await
}

async fn hits(admin: &Admin, org: &str, query: &str) -> Vec<String> {
    admin
        .app
        .state
        .knowledge()
        .search_with(query, &Access::anonymous(org), 5, SearchMode::Hybrid)
        .await
        .unwrap()
        .into_iter()
        .map(|h| h.text)
        .collect()
}

/// Asks for the connector a create reply names to be indexed now.
async fn index(admin: &Admin, token: &str, created: &Reply) -> Reply {
    let id = created.body["connector"]["id"].as_str().unwrap();
    index_id(admin, token, id).await
}

/// Asks for connector `id` to be indexed and, when the run is accepted (202),
/// waits for it to end: the reply keeps the 202 and holds the ended run.
async fn index_id(admin: &Admin, token: &str, id: &str) -> Reply {
    let mut reply = admin
        .post(
            &format!("/admin/connectors/{id}/index"),
            Some(token),
            json!({}),
        )
        .await;
    if reply.status == 202 {
        let run = reply.body["run"]["id"].as_str().unwrap().to_owned();
        reply.body = json!({"run": ended(admin, token, &run).await});
    }
    reply
}

/// Run `id` once it has ended, from `GET /admin/indexing/runs`.
async fn ended(admin: &Admin, token: &str, id: &str) -> Value {
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(20);
    loop {
        let runs = admin.get("/admin/indexing/runs", Some(token)).await;
        let run = runs.body["runs"]
            .as_array()
            .unwrap()
            .iter()
            .find(|r| r["id"] == id)
            .cloned()
            .unwrap_or_else(|| panic!("run {id} is listed: {}", runs.body));
        if run["status"] != "running" {
            assert_eq!(run["progress"], Value::Null, "{run}");
            return run;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "run {id} never ended: {run}"
        );
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    }
}
