//! The store on a real PostgreSQL server (127.0.0.1:5432): the shared conformance
//! suite, plus what only a database has (migrations, connection errors).

mod common;

use common::{TestDatabase, pool_options};
use switchboard_core::store::suite::new_session;
use switchboard_core::*;
use switchboard_store_postgres::{PoolOptions, PostgresStore};

switchboard_core::store_conformance_tests!(common::fresh_store().await);
switchboard_core::store_lease_tests!(common::fresh_store().await);

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn replicas_starting_together_migrate_once() {
    let database = TestDatabase::create().await;
    let url = database.url();
    let (a, b) = tokio::join!(
        PostgresStore::connect(&url, pool_options()),
        PostgresStore::connect(&url, pool_options()),
    );
    let (a, b) = (a.expect("first replica"), b.expect("second replica"));
    let all_applied: Option<bool> =
        sqlx::query_scalar("SELECT bool_and(success) FROM _sqlx_migrations")
            .fetch_one(a.pool())
            .await
            .unwrap();
    assert_eq!(all_applied, Some(true));
    // Both replicas serve the same data.
    let new = new_session("org-a");
    a.create_session(new.clone()).await.unwrap();
    assert_eq!(
        b.get_session(new.session.id).await.unwrap(),
        Some(new.session)
    );
}

#[tokio::test]
async fn a_restart_keeps_what_was_written() {
    let database = TestDatabase::create().await;
    let first = PostgresStore::connect(&database.url(), pool_options())
        .await
        .unwrap();
    let new = new_session("org-a");
    let conversation = new.conversation.clone().unwrap();
    first.create_session(new.clone()).await.unwrap();
    let message = Message::new(&conversation, Direction::Inbound, "still here?".into());
    first.append_message(&message).await.unwrap();
    first.pool().close().await;

    let again = PostgresStore::connect(&database.url(), pool_options())
        .await
        .expect("reconnect to a migrated database");
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
async fn connection_errors_never_show_the_password() {
    let password = "hunter2-s3cret";
    let fast = PoolOptions {
        max_connections: 1,
        acquire_timeout: std::time::Duration::from_millis(500),
    };
    let missing_database = format!(
        "postgres://postgres:{password}@127.0.0.1:5432/sb_missing_{}",
        uuid::Uuid::new_v4().simple()
    );
    let nobody_listening = format!("postgres://postgres:{password}@127.0.0.1:1/postgres");
    let bad_option =
        format!("postgres://postgres:{password}@127.0.0.1:5432/postgres?sslmode=sometimes");
    let mut causes = Vec::new();
    for url in [missing_database, nobody_listening, bad_option] {
        let Err(error) = PostgresStore::connect(&url, fast.clone()).await else {
            panic!("{url} should not connect");
        };
        let text = format!("{error} {error:?}");
        assert!(matches!(error, StoreError::Backend(_)), "{text}");
        assert!(!text.contains(password), "the password leaked: {text}");
        causes.push(text);
    }
    // Each error says what went wrong, not only that something did.
    assert!(causes[0].contains("does not exist"), "{}", causes[0]);
    assert!(causes[1].contains("refused"), "{}", causes[1]);
    assert!(
        causes[2].contains("sslmode") || causes[2].contains("ssl_mode"),
        "{}",
        causes[2]
    );
}
