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
    admin
        .post(
            &format!("/admin/connectors/{id}/index"),
            Some(token),
            json!({}),
        )
        .await
}
