//! File connectors never read outside their folder.

use super::*;

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
    let run = index(&admin, &boss, &created).await;
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
        let refused = index(&admin, &boss, &created).await;
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
