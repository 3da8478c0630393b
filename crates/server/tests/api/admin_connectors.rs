//! Connectors: CRUD, indexing a `file` connector with its runs recorded, and the
//! refusals (kinds, config, folders, GitHub tokens).

use crate::admin::{Admin, jwt_config, token};
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

#[tokio::test]
async fn a_file_connector_is_created_indexed_updated_and_deleted() {
    let root = Folder::new("root");
    root.write(
        "handbook/leave.md",
        "# Leave\n\nStaff get 31 days of paid leave a year.",
    );
    root.write(
        "handbook/travel.txt",
        "Travel is booked through the portal.",
    );
    let admin = server(&root).await;
    let (boss, cora) = (
        token("root", "acme", "admin"),
        token("cora", "acme", "curator"),
    );
    let folder = root.0.join("handbook").display().to_string();

    let body =
        json!({"name": "Handbook", "kind": "FILE", "config": {"path": folder, "sets": ["hr"]}});
    let refused = admin
        .post("/admin/connectors", Some(&cora), body.clone())
        .await;
    assert_eq!(
        refused.code(),
        "FORBIDDEN",
        "curators do not create connectors"
    );
    let created = admin
        .post("/admin/connectors", Some(&boss), body.clone())
        .await;
    assert_eq!(created.status, 201, "{:?}", created.body);
    let connector = created.body["connector"].clone();
    let id = connector["id"].as_str().unwrap().to_owned();
    assert_eq!(connector["kind"], "file");
    assert_eq!(connector["enabled"], true);
    assert_eq!(connector["config"], json!({"path": folder, "sets": ["hr"]}));
    let duplicate = admin.post("/admin/connectors", Some(&boss), body).await;
    assert_eq!((duplicate.status, duplicate.code()), (409, "CONFLICT"));
    let other = admin
        .post(
            "/admin/connectors",
            Some(&boss),
            json!({"name": "Archive", "kind": "file", "config": {"path": folder}, "enabled": false}),
        )
        .await;
    assert_eq!(other.status, 201);

    let listed = admin.get("/admin/connectors", Some(&cora)).await;
    let names: Vec<&str> = listed.body["connectors"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["name"].as_str().unwrap())
        .collect();
    assert_eq!(names, ["Archive", "Handbook"], "sorted by name");
    let one = admin
        .get(&format!("/admin/connectors/{id}"), Some(&cora))
        .await;
    assert_eq!(one.body["connector"], connector);

    // Another organisation's administrator: every id of acme is unknown.
    let gus = token("gus", "globex", "admin");
    let path = format!("/admin/connectors/{id}");
    assert_eq!(admin.get(&path, Some(&gus)).await.code(), "NOT_FOUND");
    let hijack = json!({"name": "Mine", "kind": "file", "config": {"path": folder}});
    assert_eq!(
        admin.put(&path, Some(&gus), hijack).await.code(),
        "NOT_FOUND"
    );
    assert_eq!(
        admin
            .post(&format!("{path}/index"), Some(&gus), json!({}))
            .await
            .code(),
        "NOT_FOUND"
    );
    assert_eq!(admin.delete(&path, Some(&gus)).await.code(), "NOT_FOUND");
    assert_eq!(
        admin.get("/admin/connectors", Some(&gus)).await.body,
        json!({"connectors": []})
    );

    // A curator indexes it: the run is recorded, the documents are acme's.
    let run = admin
        .post(&format!("{path}/index"), Some(&cora), json!({}))
        .await;
    assert_eq!(run.status, 200, "{:?}", run.body);
    let first = run.body["run"].clone();
    assert_eq!(first["status"], "succeeded", "{first}");
    assert_eq!(first["connectorName"], "Handbook");
    assert_eq!(first["connectorId"], id.as_str());
    assert_eq!(first["documentsSeen"], 2);
    assert!(first["chunksIndexed"].as_u64().unwrap() > 0);
    assert!(first["finishedAt"].is_string());
    assert!(
        hits(&admin, "acme", "paid leave days")
            .await
            .iter()
            .any(|t| t.contains("31 days"))
    );
    assert!(hits(&admin, "globex", "paid leave days").await.is_empty());
    let documents = admin.get("/admin/documents", Some(&cora)).await;
    let documents = documents.body["documents"].as_array().unwrap().clone();
    let mut local: Vec<&str> = documents
        .iter()
        .map(|d| d["id"].as_str().unwrap())
        .collect();
    local.sort();
    assert_eq!(local, ["leave.md", "travel.txt"]);
    assert!(
        documents
            .iter()
            .all(|d| d["origin"] == "connector" && d["connectorId"] == id.as_str())
    );
    assert_eq!(documents[0]["sets"], json!(["hr"]));
    // Such a document is deleted with its connector, not alone.
    assert_eq!(
        admin
            .delete("/admin/documents/leave.md", Some(&cora))
            .await
            .code(),
        "NOT_FOUND"
    );

    // Again, after an edit and a deletion on disk.
    root.write(
        "handbook/leave.md",
        "# Leave\n\nStaff get 33 days of paid leave a year.",
    );
    std::fs::remove_file(root.0.join("handbook/travel.txt")).unwrap();
    let second = admin
        .post(&format!("{path}/index"), Some(&cora), json!({}))
        .await
        .body["run"]
        .clone();
    assert_eq!(
        (
            second["documentsSeen"].as_u64(),
            second["documentsRemoved"].as_u64()
        ),
        (Some(1), Some(1))
    );
    let third = admin
        .post(&format!("{path}/index"), Some(&cora), json!({}))
        .await
        .body["run"]
        .clone();
    assert_eq!(
        (
            third["documentsSkipped"].as_u64(),
            third["chunksIndexed"].as_u64()
        ),
        (Some(1), Some(0)),
        "unchanged"
    );
    assert!(
        hits(&admin, "acme", "paid leave days")
            .await
            .iter()
            .any(|t| t.contains("33 days"))
    );

    let runs = admin.get("/admin/indexing/runs", Some(&cora)).await;
    let runs = runs.body["runs"].as_array().unwrap().clone();
    let run_ids: Vec<&Value> = runs.iter().map(|r| &r["id"]).collect();
    assert_eq!(
        run_ids,
        [&first["id"], &second["id"], &third["id"]],
        "oldest first"
    );
    assert_eq!(
        admin
            .get("/admin/indexing/runs?limit=1", Some(&cora))
            .await
            .body["runs"][0]["id"],
        third["id"]
    );
    assert_eq!(
        admin.get("/admin/indexing/runs", Some(&gus)).await.body,
        json!({"runs": []})
    );
    // From the store, so they survive a restart.
    let stored = admin
        .app
        .state
        .store()
        .list_indexing_runs(switchboard_core::IndexingRunQuery {
            org_id: switchboard_core::OrgId::new("acme"),
            connector: None,
            limit: 10,
        })
        .await
        .unwrap();
    assert_eq!(stored.len(), 3);

    // Renamed and disabled: id and creation kept; a disabled connector is not indexed.
    let updated = admin
        .put(
            &path,
            Some(&boss),
            json!({"name": "Staff handbook", "kind": "file",
             "config": {"path": folder, "sets": ["hr"]}, "enabled": false}),
        )
        .await;
    assert_eq!(updated.status, 200, "{:?}", updated.body);
    let after = &updated.body["connector"];
    assert_eq!(
        (after["id"].as_str(), after["createdAt"].as_str()),
        (Some(id.as_str()), connector["createdAt"].as_str())
    );
    assert_eq!(
        (after["name"].as_str(), after["enabled"].as_bool()),
        (Some("Staff handbook"), Some(false))
    );
    assert!(after["updatedAt"].as_str() >= connector["updatedAt"].as_str());
    let disabled = admin
        .post(&format!("{path}/index"), Some(&cora), json!({}))
        .await;
    assert_eq!((disabled.status, disabled.code()), (409, "CONFLICT"));
    let clash = admin
        .put(
            &path,
            Some(&boss),
            json!({"name": "Archive", "kind": "file", "config": {"path": folder}}),
        )
        .await;
    assert_eq!(clash.code(), "CONFLICT");

    // Deleted, with its documents; its runs stay on record.
    let deleted = admin.delete(&path, Some(&boss)).await;
    assert_eq!(deleted.status, 204);
    assert_eq!(admin.get(&path, Some(&cora)).await.code(), "NOT_FOUND");
    assert_eq!(admin.delete(&path, Some(&boss)).await.code(), "NOT_FOUND");
    assert!(hits(&admin, "acme", "paid leave days").await.is_empty());
    assert_eq!(
        admin.get("/admin/documents", Some(&cora)).await.body,
        json!({"documents": []})
    );
    assert_eq!(
        admin.get("/admin/indexing/runs", Some(&cora)).await.body["runs"]
            .as_array()
            .unwrap()
            .len(),
        3
    );
}

/// A link in a connector's folder to a file outside it, to the server's
/// environment, or a FIFO: none is indexed, so no user's answer can hold them.
#[tokio::test]
async fn links_out_of_a_connector_folder_are_never_indexed() {
    let root = Folder::new("links");
    root.write("docs/kept.md", "# Cafeteria\n\nThe cafeteria opens at 8am.");
    let outside = Folder::new("outside");
    outside.write(
        "payroll.md",
        "# Payroll\n\nThe director's salary is 987654 a year (OUTSIDE-SECRET).",
    );
    let docs = root.0.join("docs");
    std::os::unix::fs::symlink(outside.0.join("payroll.md"), docs.join("link.md")).unwrap();
    std::os::unix::fs::symlink("/proc/self/environ", docs.join("environ.txt")).unwrap();
    let made = std::process::Command::new("mkfifo")
        .arg(docs.join("pipe.md"))
        .status()
        .unwrap();
    assert!(made.success());
    let admin = server(&root).await;
    let boss = token("root", "acme", "admin");
    let connector = |path: PathBuf| {
        json!({"name": path.file_name().unwrap().to_str().unwrap(), "kind": "file",
               "config": {"path": path.display().to_string()}})
    };

    let created = admin
        .post("/admin/connectors", Some(&boss), connector(docs.clone()))
        .await;
    let id = created.body["connector"]["id"].as_str().unwrap().to_owned();
    let index = format!("/admin/connectors/{id}/index");
    let run = admin.post(&index, Some(&boss), json!({})).await;
    assert_eq!(run.body["run"]["status"], "succeeded", "{:?}", run.body);
    let documents = admin.get("/admin/documents", Some(&boss)).await;
    let ids: Vec<&str> = documents.body["documents"]
        .as_array()
        .unwrap()
        .iter()
        .map(|d| d["id"].as_str().unwrap())
        .collect();
    assert_eq!(ids, ["kept.md"]);

    // Named directly, such a link is refused before anything is read.
    for link in ["link.md", "environ.txt"] {
        let created = admin
            .post("/admin/connectors", Some(&boss), connector(docs.join(link)))
            .await;
        let id = created.body["connector"]["id"].as_str().unwrap().to_owned();
        let refused = admin
            .post(
                &format!("/admin/connectors/{id}/index"),
                Some(&boss),
                json!({}),
            )
            .await;
        assert_eq!(
            (refused.status, refused.code()),
            (400, "VALIDATION_ERROR"),
            "{link}"
        );
    }

    // An ordinary user asking for them gets neither.
    let mut client = admin.ws(&token("ann", "acme", "basic")).await;
    let (session, _) = client.create_session().await;
    let path_variable = std::env::var("PATH").unwrap();
    for (request, question) in [
        ("r1", "What is the director's salary on the payroll?"),
        ("r2", "What are the PATH and HOME environment variables?"),
        ("r3", "When does the cafeteria open?"),
    ] {
        let events = client.turn(request, &session, question).await;
        let wire = serde_json::to_string(&events).unwrap();
        assert!(!wire.contains("987654"), "{wire}");
        assert!(!wire.contains(&path_variable), "{wire}");
    }
    let control = serde_json::to_string(&client.turn("r4", &session, "cafeteria opens").await);
    assert!(
        control.unwrap().contains("8am"),
        "the folder's own file is found"
    );
}

/// A connector that cannot be built is refused (400, no run); one whose source
/// fails while it is read makes a `failed` run.
#[tokio::test]
async fn unreadable_sources_are_refused_or_fail_their_run() {
    let root = Folder::new("failing");
    root.write("docs/a.md", "Alpha.");
    let admin = server(&root).await;
    let boss = token("root", "acme", "admin");
    let folder = root.0.join("docs");
    let created = admin
        .post("/admin/connectors", Some(&boss),
              json!({"name": "Docs", "kind": "file", "config": {"path": folder.display().to_string()}}))
        .await;
    let id = created.body["connector"]["id"].as_str().unwrap().to_owned();
    std::fs::remove_dir_all(&folder).unwrap();
    let missing = admin
        .post(
            &format!("/admin/connectors/{id}/index"),
            Some(&boss),
            json!({}),
        )
        .await;
    assert_eq!((missing.status, missing.code()), (400, "VALIDATION_ERROR"));
    assert!(
        missing.message().contains("cannot read"),
        "{}",
        missing.message()
    );
    assert_eq!(
        admin.get("/admin/indexing/runs", Some(&boss)).await.body,
        json!({"runs": []}),
        "refused, not run"
    );

    // A web page on the server's own network is never fetched: named directly,
    // the connector is refused; named through DNS, the run fails.
    let web = |url: &str| json!({"name": url, "kind": "web", "config": {"url": url}});
    let direct = admin
        .post(
            "/admin/connectors",
            Some(&boss),
            web("http://127.0.0.1:9/latest/meta-data"),
        )
        .await;
    let id = direct.body["connector"]["id"].as_str().unwrap().to_owned();
    let refused = admin
        .post(
            &format!("/admin/connectors/{id}/index"),
            Some(&boss),
            json!({}),
        )
        .await;
    assert_eq!((refused.status, refused.code()), (400, "VALIDATION_ERROR"));
    assert!(
        refused.message().contains("private or local address"),
        "{}",
        refused.message()
    );

    let named = admin
        .post(
            "/admin/connectors",
            Some(&boss),
            web("http://localhost:9/page"),
        )
        .await;
    let id = named.body["connector"]["id"].as_str().unwrap().to_owned();
    let run = admin
        .post(
            &format!("/admin/connectors/{id}/index"),
            Some(&boss),
            json!({}),
        )
        .await;
    assert_eq!(run.status, 200);
    assert_eq!(run.body["run"]["status"], "failed");
    let error = run.body["run"]["error"].as_str().unwrap();
    assert!(
        error.contains("localhost resolves only to private or local addresses"),
        "{error}"
    );
    let runs = admin.get("/admin/indexing/runs", Some(&boss)).await;
    assert_eq!(runs.body["runs"][0]["status"], "failed");
}

#[tokio::test]
async fn connector_requests_are_checked() {
    let root = Folder::new("checks");
    let admin = server(&root).await;
    let boss = token("root", "acme", "admin");
    let inside = root.0.join("docs").display().to_string();
    for (body, wanted) in [
        (
            json!({"name": "x", "kind": "ftp"}),
            "unknown connector kind 'ftp'",
        ),
        (
            json!({"name": "x", "kind": "file"}),
            "file connector config requires a 'path' field",
        ),
        (
            json!({"name": "x", "kind": "web", "config": {"url": ""}}),
            "web connector config requires a 'url' field",
        ),
        (
            json!({"name": "x", "kind": "github", "config": {"owner": "o"}}),
            "github connector config requires a 'repo' field",
        ),
        (
            json!({"name": "x", "kind": "web", "config": {"url": "ftp://x"}}),
            "http:// or https://",
        ),
        (
            json!({"name": "x", "kind": "web", "config": {"url": "https://x", "depth": 3}}),
            "unknown field `depth`",
        ),
        (
            json!({"name": "x", "kind": "file", "config": {"path": "/etc"}}),
            "inside the folders",
        ),
        (
            json!({"name": "x", "kind": "file", "config": {"path": format!("{inside}/../../..")}}),
            "inside the folders",
        ),
        (
            json!({"name": "x", "kind": "file", "config": "path"}),
            "'config' must be a JSON object",
        ),
        (
            json!({"name": " ", "kind": "file", "config": {"path": inside}}),
            "'name'",
        ),
        (
            json!({"name": "x", "kind": "github", "config": {"owner": "o", "repo": "r", "auth_ref": "SMOOAI_GATEWAY_KEY"}}),
            "auth_ref",
        ),
        (
            json!({"name": "x", "kind": "file", "config": {"path": inside}, "schedule": "daily"}),
            "schedule",
        ),
    ] {
        let reply = admin
            .post("/admin/connectors", Some(&boss), body.clone())
            .await;
        assert_eq!(
            (reply.status, reply.code()),
            (400, "VALIDATION_ERROR"),
            "{body}"
        );
        assert!(
            reply.message().contains(wanted),
            "{body}: {}",
            reply.message()
        );
    }
    assert_eq!(
        admin.get("/admin/connectors", Some(&boss)).await.body,
        json!({"connectors": []})
    );

    // Without allowed folders, file connectors are off.
    let closed = Admin::start().await;
    let reply = closed
        .post(
            "/admin/connectors",
            Some(&boss),
            json!({"name": "x", "kind": "file", "config": {"path": inside}}),
        )
        .await;
    assert!(
        reply
            .message()
            .contains("SMOOTH_AGENT_CONNECTOR_FILE_ROOTS"),
        "{}",
        reply.message()
    );
}

#[tokio::test]
async fn a_private_repository_is_indexed_only_with_a_token_that_resolves() {
    let admin = Admin::start().await;
    let boss = token("root", "acme", "admin");
    let unset = format!("GITHUB_TOKEN_SB_TEST_UNSET_{}", std::process::id());
    let private = admin
        .post("/admin/connectors", Some(&boss),
              json!({"name": "Private", "kind": "github", "config": {"owner": "acme", "repo": "secret", "visibility": "private"}}))
        .await;
    assert_eq!(private.status, 201);
    let with_ref = admin
        .post("/admin/connectors", Some(&boss),
              json!({"name": "Named", "kind": "github",
                     "config": {"owner": "acme", "repo": "secret", "visibility": "private", "authRef": unset}}))
        .await;
    assert_eq!(with_ref.status, 201);
    assert_eq!(
        with_ref.body["connector"]["config"]["auth_ref"],
        unset.as_str(),
        "the name, echoed"
    );

    for (reply, wanted) in [
        (&private, "needs 'auth_ref'"),
        (&with_ref, "did not resolve to a token"),
    ] {
        let id = reply.body["connector"]["id"].as_str().unwrap();
        let index = admin
            .post(
                &format!("/admin/connectors/{id}/index"),
                Some(&boss),
                json!({}),
            )
            .await;
        assert_eq!((index.status, index.code()), (400, "VALIDATION_ERROR"));
        assert!(index.message().contains(wanted), "{}", index.message());
        assert!(index.message().contains("refusing to index"));
    }
    assert_eq!(
        admin.get("/admin/indexing/runs", Some(&boss)).await.body,
        json!({"runs": []})
    );
}
