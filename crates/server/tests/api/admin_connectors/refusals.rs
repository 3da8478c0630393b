//! Connectors that cannot be built or read, and requests that are refused.

use super::*;

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
    std::fs::remove_dir_all(&folder).unwrap();
    let missing = index(&admin, &boss, &created).await;
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
    let refused = index(&admin, &boss, &direct).await;
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
    let run = index(&admin, &boss, &named).await;
    assert_eq!(run.status, 202);
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
