//! Documents through the admin API: what a curator ingests is retrieved by turns
//! of that organisation only, is listed and counted per set, and goes when deleted.

use crate::admin::{Admin, jwt_config, token};
use serde_json::{Value, json};
use switchboard_testkit::config_for;
use switchboard_testkit::mock_gateway::{MockGateway, ScriptedReply};

const FACT: &str = "Every Zephyr blender carries a 7-year motor warranty";

fn search() -> ScriptedReply {
    ScriptedReply::ToolCall {
        name: "knowledge_search".into(),
        arguments: r#"{"query": "Zephyr blender motor warranty years", "limit": 10}"#.into(),
    }
}

/// What `knowledge_search` returned in a turn of `sub` (a basic user of `org`).
async fn searched_as(admin: &Admin, sub: &str, org: &str) -> String {
    let mut client = admin.ws(&token(sub, org, "basic")).await;
    let (session, _) = client.create_session().await;
    let events = client
        .turn("r", &session, "How long is the Zephyr blender warranty?")
        .await;
    events
        .iter()
        .find_map(|e| {
            e["data"]["state"]["rawResponse"]["toolResult"]["result"]
                .as_str()
                .map(str::to_owned)
        })
        .expect("a tool result")
}

#[tokio::test]
async fn ingested_documents_reach_their_organisation_only_until_deleted() {
    let turn = || [search(), ScriptedReply::Text("Done.".into())];
    let gateway = MockGateway::start(
        turn()
            .into_iter()
            .chain(turn())
            .chain(turn())
            .chain(turn())
            .collect(),
    )
    .await;
    let admin = Admin::with_config(jwt_config(config_for(&gateway))).await;
    let curator = token("cora", "acme", "curator");

    let ingested = admin
        .post(
            "/admin/documents",
            Some(&curator),
            json!({"documents": [
                {"id": "warranty", "source": "policies/warranty.md", "title": "Warranty",
                 "content": format!("{FACT}, covering parts and labour."),
                 "url": "https://acme.example/warranty", "sets": ["policies", "products"]},
                {"source": "faq.md", "content": "Orders ship within two business days.",
                 "sets": ["policies"], "acl": {"visibility": "restricted", "groups": ["staff"]}}
            ]}),
        )
        .await;
    assert_eq!(ingested.status, 200, "{:?}", ingested.body);
    assert_eq!(ingested.body["indexed"], 2);
    assert!(ingested.body["chunks"].as_u64().unwrap() >= 2);
    let ids = ingested.body["ids"].as_array().unwrap().clone();
    assert_eq!(ids[0], "warranty");
    assert!(
        uuid::Uuid::parse_str(ids[1].as_str().unwrap()).is_ok(),
        "a generated id"
    );

    // Re-sending the same document changes nothing.
    let again = admin
        .post(
            "/admin/documents",
            Some(&curator),
            json!({"documents": [{"id": "warranty", "source": "policies/warranty.md",
                "title": "Warranty", "content": format!("{FACT}, covering parts and labour."),
                "url": "https://acme.example/warranty", "sets": ["products", "policies"]}]}),
        )
        .await;
    assert_eq!(
        (
            again.body["indexed"].as_u64(),
            again.body["unchanged"].as_u64()
        ),
        (Some(0), Some(1))
    );

    let listed = admin.get("/admin/documents", Some(&curator)).await;
    let documents = listed.body["documents"].as_array().unwrap();
    assert_eq!(documents.len(), 2);
    let warranty = documents.iter().find(|d| d["id"] == "warranty").unwrap();
    assert_eq!(warranty["title"], "Warranty");
    assert_eq!(warranty["url"], "https://acme.example/warranty");
    assert_eq!(warranty["sets"], json!(["policies", "products"]));
    assert_eq!(
        (warranty["visibility"].as_str(), warranty["origin"].as_str()),
        (Some("org"), Some("api"))
    );
    let faq = documents.iter().find(|d| d["id"] == ids[1]).unwrap();
    assert_eq!(faq["visibility"], "restricted");
    assert_eq!(faq["groups"], json!(["staff"]));
    assert!(
        !listed.body.to_string().contains(FACT),
        "no text in listings"
    );

    let sets = admin.get("/admin/document-sets", Some(&curator)).await;
    assert_eq!(
        sets.body,
        json!({"documentSets": [{"name": "policies", "documentCount": 2},
                                {"name": "products", "documentCount": 1}]})
    );

    // Another organisation sees none of it, and cannot delete it.
    let globex = token("gus", "globex", "admin");
    assert_eq!(
        admin.get("/admin/documents", Some(&globex)).await.body,
        json!({"documents": []})
    );
    assert_eq!(
        admin.get("/admin/document-sets", Some(&globex)).await.body,
        json!({"documentSets": []})
    );
    let foreign = admin
        .delete("/admin/documents/warranty", Some(&globex))
        .await;
    assert_eq!((foreign.status, foreign.code()), (404, "NOT_FOUND"));

    // Turns: acme retrieves it, globex does not.
    assert!(searched_as(&admin, "amy", "acme").await.contains(FACT));
    let elsewhere = searched_as(&admin, "gil", "globex").await;
    assert!(!elsewhere.contains(FACT), "{elsewhere}");

    // Deleted: gone from retrieval and listings; a second delete is a 404.
    let deleted = admin
        .delete("/admin/documents/warranty", Some(&curator))
        .await;
    assert_eq!((deleted.status, &deleted.body), (204, &Value::Null));
    assert!(!searched_as(&admin, "amy", "acme").await.contains(FACT));
    let listed = admin.get("/admin/documents", Some(&curator)).await;
    assert_eq!(listed.body["documents"].as_array().unwrap().len(), 1);
    let twice = admin
        .delete("/admin/documents/warranty", Some(&curator))
        .await;
    assert_eq!(twice.code(), "NOT_FOUND");
}

#[tokio::test]
async fn documents_are_checked_before_any_is_ingested() {
    let admin = Admin::start().await;
    let curator = token("cora", "acme", "curator");
    for (body, wanted) in [
        (json!({"documents": []}), "1 to 100"),
        (
            json!({"documents": [{"source": "a.md", "content": "  "}]}),
            "documents[0]: 'content'",
        ),
        (
            json!({"documents": [{"source": " ", "content": "x"}]}),
            "documents[0]: 'source'",
        ),
        (
            json!({"documents": [{"id": "a", "source": "a", "content": "x"},
                              {"id": "a", "source": "b", "content": "y"}]}),
            "documents[1]: id 'a' appears twice",
        ),
        (
            json!({"documents": [{"source": "a", "content": "x", "url": "javascript:alert(1)"}]}),
            "'url'",
        ),
        (
            json!({"documents": [{"source": "a", "content": "x", "sets": [""]}]}),
            "'sets'",
        ),
        (
            json!({"documents": [{"source": "a", "content": "x", "acl": {"visibility": "secret"}}]}),
            "acl",
        ),
        (
            json!({"documents": [{"source": "a", "content": "x", "org": "globex"}]}),
            "org",
        ),
    ] {
        let reply = admin
            .post("/admin/documents", Some(&curator), body.clone())
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
    // The first document was valid, the second not: nothing was ingested.
    let listed = admin.get("/admin/documents", Some(&curator)).await;
    assert_eq!(listed.body, json!({"documents": []}));
}
