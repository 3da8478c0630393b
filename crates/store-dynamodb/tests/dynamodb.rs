//! The store on a local DynamoDB-compatible server: the shared conformance suite,
//! plus what only a table has (creation, races between replicas, restarts).

mod common;

use chrono::{Duration, Utc};
use common::{open, unique_table};
use switchboard_core::store::suite::new_session;
use switchboard_core::*;

switchboard_core::store_conformance_tests!(common::fresh_store().await);
switchboard_core::store_lease_tests!(common::fresh_store().await);

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn replicas_starting_together_share_one_new_table() {
    let table = unique_table("boot");
    let (a, b) = tokio::join!(open(&table), open(&table));
    let new = new_session("org-a");
    a.create_session(new.clone()).await.unwrap();
    assert_eq!(
        b.get_session(new.session.id).await.unwrap(),
        Some(new.session)
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_replicas_racing_for_one_park_resolve_it_once() {
    let table = unique_table("race");
    let (a, b) = (open(&table).await, open(&table).await);
    for _ in 0..5 {
        let session = SessionId::random();
        let park = ParkedTurn {
            id: uuid::Uuid::new_v4(),
            session_id: session,
            request_id: "r1".into(),
            created_at: Utc::now(),
            expires_at: Utc::now() + Duration::minutes(5),
            state: serde_json::json!({"approve": "delete_record"}),
        };
        a.put_parked_turn(&park).await.unwrap();
        let (x, y) = tokio::join!(
            tokio::spawn({
                let a = a.clone();
                async move { a.take_parked_turn(session, Some(park.id)).await }
            }),
            tokio::spawn({
                let b = b.clone();
                async move { b.take_parked_turn(session, Some(park.id)).await }
            }),
        );
        let won = [x.unwrap().unwrap(), y.unwrap().unwrap()];
        assert_eq!(won.iter().flatten().count(), 1, "{won:?}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_replicas_creating_one_session_get_one_conflict() {
    let table = unique_table("race");
    let (a, b) = (open(&table).await, open(&table).await);
    for _ in 0..5 {
        let first = new_session("org-a");
        let mut second = new_session("org-a");
        second.session.id = first.session.id;
        let (x, y) = tokio::join!(
            tokio::spawn({
                let a = a.clone();
                async move { a.create_session(first).await }
            }),
            tokio::spawn({
                let b = b.clone();
                async move { b.create_session(second).await }
            }),
        );
        let results = [x.unwrap(), y.unwrap()];
        assert_eq!(
            results.iter().filter(|r| r.is_ok()).count(),
            1,
            "{results:?}"
        );
        assert!(
            results
                .iter()
                .any(|r| matches!(r, Err(StoreError::Conflict(_)))),
            "{results:?}"
        );
    }
}

#[tokio::test]
async fn a_restart_keeps_what_was_written() {
    let table = unique_table("restart");
    let first = open(&table).await;
    let new = new_session("org-a");
    let conversation = new.conversation.clone().unwrap();
    first.create_session(new.clone()).await.unwrap();
    let message = Message::new(&conversation, Direction::Inbound, "still here?".into());
    first.append_message(&message).await.unwrap();
    drop(first);

    let again = open(&table).await;
    assert_eq!(
        again.get_session(new.session.id).await.unwrap(),
        Some(new.session)
    );
    let page = again
        .list_messages(MessageQuery {
            conversation_id: conversation.id,
            limit: 10,
            order: Order::NewestFirst,
            after: None,
        })
        .await
        .unwrap();
    assert_eq!(page.messages, vec![message]);
}

#[tokio::test]
async fn an_unreachable_server_is_a_backend_error_naming_the_table() {
    let client = switchboard_store_dynamodb::local_client("http://127.0.0.1:1");
    let Err(error) = switchboard_store_dynamodb::DynamoStore::open(client, "sb-nowhere").await
    else {
        panic!("nothing listens on port 1");
    };
    assert!(matches!(error, StoreError::Backend(_)), "{error:?}");
    assert!(error.to_string().contains("sb-nowhere"), "{error}");
}
