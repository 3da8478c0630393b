//! The store on a SQLite file: the shared conformance suite, plus what only a file
//! has (reopening, the lock against a second server, backups, concurrent writers).

use std::path::PathBuf;
use std::sync::Arc;
use std::sync::atomic::{AtomicU32, Ordering};
use switchboard_core::store::suite::new_session;
use switchboard_core::*;
use switchboard_store_sqlite::{OpenError, SqliteOptions, SqliteStore};

/// A database path no other test or run uses, under Cargo's scratch folder.
fn fresh_path(label: &str) -> PathBuf {
    static NEXT: AtomicU32 = AtomicU32::new(0);
    PathBuf::from(env!("CARGO_TARGET_TMPDIR"))
        .join(format!(
            "sqlite-store-{}-{}-{}",
            std::process::id(),
            NEXT.fetch_add(1, Ordering::Relaxed),
            &uuid::Uuid::new_v4().simple().to_string()[..8]
        ))
        .join(format!("{label}.db"))
}

async fn fresh_store() -> Arc<dyn Store> {
    Arc::new(
        SqliteStore::open(&fresh_path("suite"), SqliteOptions::default())
            .await
            .expect("open a fresh database"),
    )
}

switchboard_core::store_conformance_tests!(fresh_store().await);

/// The same suite with durability `process`: commits run in place and the log is
/// checkpointed in the background, which must not change what the store does.
mod process_durability {
    use super::*;
    use switchboard_store_sqlite::Durability;

    async fn fresh_store() -> Arc<dyn Store> {
        let options = SqliteOptions {
            durability: Durability::Process,
            ..SqliteOptions::default()
        };
        Arc::new(
            SqliteStore::open(&fresh_path("suite-process"), options)
                .await
                .expect("open a fresh database"),
        )
    }

    switchboard_core::store_conformance_tests!(fresh_store().await);
}

fn page_of(conversation: ConversationId) -> MessageQuery {
    MessageQuery {
        conversation_id: conversation,
        limit: 100,
        order: Order::OldestFirst,
        after: None,
    }
}

#[tokio::test]
async fn a_reopened_file_keeps_what_was_written() {
    let path = fresh_path("reopen");
    let first = SqliteStore::open(&path, SqliteOptions::default())
        .await
        .unwrap();
    let new = new_session("org-a");
    let conversation = new.conversation.clone().unwrap();
    first.create_session(new.clone()).await.unwrap();
    let message = Message::new(&conversation, Direction::Inbound, "still here?".into());
    first.append_message(&message).await.unwrap();
    first.close().await;

    let again = SqliteStore::open(&path, SqliteOptions::default())
        .await
        .expect("reopen a migrated file");
    assert_eq!(
        again.get_session(new.session.id).await.unwrap(),
        Some(new.session)
    );
    let page = again.list_messages(page_of(conversation.id)).await.unwrap();
    assert_eq!(page.messages, vec![message]);
}

#[tokio::test]
async fn a_second_store_on_one_file_is_refused_until_the_first_closes() {
    let path = fresh_path("locked");
    let first = SqliteStore::open(&path, SqliteOptions::default())
        .await
        .unwrap();
    let refused = SqliteStore::open(&path, SqliteOptions::default()).await;
    let Err(error) = refused else {
        panic!("a second store opened a file in use");
    };
    assert!(matches!(error, OpenError::InUse { .. }), "{error:?}");
    let text = error.to_string();
    assert!(
        text.contains("in use by another switchboard process"),
        "{text}"
    );
    assert!(text.contains(&path.display().to_string()), "{text}");
    first.close().await;
    SqliteStore::open(&path, SqliteOptions::default())
        .await
        .expect("the lock is released when the first store closes");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn concurrent_appends_all_land_in_order_per_conversation() {
    let store = Arc::new(
        SqliteStore::open(&fresh_path("concurrent"), SqliteOptions::default())
            .await
            .unwrap(),
    );
    let new = new_session("org-a");
    let conversation = new.conversation.clone().unwrap();
    store.create_session(new).await.unwrap();
    let mut tasks = Vec::new();
    for task in 0..8 {
        let store = store.clone();
        let conversation = conversation.clone();
        tasks.push(tokio::spawn(async move {
            for i in 0..25 {
                let message =
                    Message::new(&conversation, Direction::Inbound, format!("{task}/{i}"));
                store.append_message(&message).await.expect("append");
            }
        }));
    }
    for task in tasks {
        task.await.unwrap();
    }
    let page = store.list_messages(page_of(conversation.id)).await.unwrap();
    assert_eq!(page.messages.len(), 100);
    let more = store
        .list_messages(MessageQuery {
            limit: 1000,
            ..page_of(conversation.id)
        })
        .await
        .unwrap();
    assert_eq!(more.messages.len(), 200);
    // Each task's messages come back in the order it appended them.
    for task in 0..8 {
        let mine: Vec<String> = more
            .messages
            .iter()
            .filter(|m| m.text.starts_with(&format!("{task}/")))
            .map(|m| m.text.clone())
            .collect();
        let expected: Vec<String> = (0..25).map(|i| format!("{task}/{i}")).collect();
        assert_eq!(mine, expected);
    }
    let listed = store
        .list_conversations(ConversationQuery {
            org_id: OrgId::new("org-a"),
            only: None,
            owner: None,
            limit: 10,
            after: None,
            search: None,
        })
        .await
        .unwrap();
    assert_eq!(listed.conversations[0].message_count, 200);
}

#[tokio::test]
async fn a_backup_is_a_consistent_copy_and_never_overwrites() {
    let path = fresh_path("live");
    let store = SqliteStore::open(&path, SqliteOptions::default())
        .await
        .unwrap();
    let new = new_session("org-a");
    let conversation = new.conversation.clone().unwrap();
    store.create_session(new.clone()).await.unwrap();
    for i in 0..10 {
        let message = Message::new(&conversation, Direction::Inbound, format!("m{i}"));
        store.append_message(&message).await.unwrap();
    }
    let copy = path.with_file_name("copy.db");
    let size = switchboard_store_sqlite::backup(&path, &copy)
        .await
        .expect("backup of a database in use");
    assert!(size > 0);
    let again = switchboard_store_sqlite::backup(&path, &copy).await;
    let Err(error) = again else {
        panic!("a backup overwrote {}", copy.display());
    };
    assert!(error.to_string().contains("already exists"), "{error}");
    assert_eq!(std::fs::metadata(&copy).unwrap().len(), size);
    // Writes after the backup are not in it; everything before is.
    let later = Message::new(&conversation, Direction::Inbound, "after".into());
    store.append_message(&later).await.unwrap();
    store.close().await;
    let restored = SqliteStore::open(&copy, SqliteOptions::default())
        .await
        .expect("the copy opens as a database");
    let page = restored
        .list_messages(page_of(conversation.id))
        .await
        .unwrap();
    let texts: Vec<&str> = page.messages.iter().map(|m| m.text.as_str()).collect();
    let expected: Vec<String> = (0..10).map(|i| format!("m{i}")).collect();
    assert_eq!(texts, expected);
    assert_eq!(
        restored.get_session(new.session.id).await.unwrap(),
        Some(new.session)
    );
}

#[tokio::test]
async fn a_backup_of_nothing_says_so() {
    let missing = fresh_path("missing");
    let error = switchboard_store_sqlite::backup(&missing, &missing.with_file_name("c.db"))
        .await
        .unwrap_err();
    assert!(error.to_string().contains("no database here"), "{error}");
}
