//! A `file` connector created, indexed, updated and deleted, with its runs.

use super::*;

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
    let run = index_id(&admin, &cora, &id).await;
    assert_eq!(run.status, 202, "{:?}", run.body);
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
    let second = index_id(&admin, &cora, &id).await.body["run"].clone();
    assert_eq!(
        (
            second["documentsSeen"].as_u64(),
            second["documentsRemoved"].as_u64()
        ),
        (Some(1), Some(1))
    );
    let third = index_id(&admin, &cora, &id).await.body["run"].clone();
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
