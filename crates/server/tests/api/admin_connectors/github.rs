//! GitHub connectors: private repositories need a token that resolves.

use super::*;

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
        let answer = index(&admin, &boss, reply).await;
        assert_eq!((answer.status, answer.code()), (400, "VALIDATION_ERROR"));
        assert!(answer.message().contains(wanted), "{}", answer.message());
        assert!(answer.message().contains("refusing to index"));
    }
    assert_eq!(
        admin.get("/admin/indexing/runs", Some(&boss)).await.body,
        json!({"runs": []})
    );
}
