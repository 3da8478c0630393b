//! Sessions: creation, conflicts, resuming a conversation, metadata.

use super::*;

pub async fn session_round_trip(store: Arc<dyn Store>) {
    let new = new_session("org-a");
    let (session, conversation) = (new.session.clone(), conversation_of(&new));
    store.create_session(new.clone()).await.expect("create");
    assert_eq!(
        store.get_session(session.id).await.unwrap(),
        Some(session.clone())
    );
    assert_eq!(store.get_session(SessionId::random()).await.unwrap(), None);
    let stored = store
        .get_conversation(conversation.id)
        .await
        .unwrap()
        .expect("conversation");
    assert_eq!(stored.id, conversation.id);
    assert_eq!(stored.org_id, conversation.org_id);
    assert_eq!(stored.name, conversation.name);
    let participants = store.list_participants(conversation.id).await.unwrap();
    assert_eq!(
        participants.iter().map(|p| p.kind).collect::<Vec<_>>(),
        vec![ParticipantKind::User, ParticipantKind::AiAgent]
    );
}

pub async fn duplicate_session_is_a_conflict(store: Arc<dyn Store>) {
    let new = new_session("org-a");
    store.create_session(new.clone()).await.expect("create");
    let mut again = new_session("org-a");
    again.session.id = new.session.id;
    assert!(matches!(
        store.create_session(again).await,
        Err(StoreError::Conflict(_))
    ));
}

pub async fn resume_needs_an_existing_conversation(store: Arc<dyn Store>) {
    let first = new_session("org-a");
    store.create_session(first.clone()).await.expect("create");
    // A second session on the same conversation, with no new participants.
    let mut resumed = first.clone();
    resumed.conversation = None;
    resumed.participants.clear();
    resumed.session.id = SessionId::random();
    store.create_session(resumed.clone()).await.expect("resume");
    assert!(
        store
            .get_session(resumed.session.id)
            .await
            .unwrap()
            .is_some()
    );
    assert_eq!(
        store
            .list_participants(first.session.conversation_id)
            .await
            .unwrap()
            .len(),
        2
    );
    // Resuming a conversation that does not exist stores nothing.
    let mut orphan = new_session("org-a");
    orphan.conversation = None;
    assert!(store.create_session(orphan.clone()).await.is_err());
    assert_eq!(store.get_session(orphan.session.id).await.unwrap(), None);
}

pub async fn update_session_replaces_metadata(store: Arc<dyn Store>) {
    let new = new_session("org-a");
    let id = new.session.id;
    store.create_session(new).await.unwrap();
    let mut metadata = Metadata::new();
    metadata.insert("otpVerified".into(), serde_json::json!(true));
    let updated = store
        .update_session(
            id,
            SessionUpdate {
                metadata: Some(metadata.clone()),
                status: None,
            },
        )
        .await
        .unwrap()
        .expect("exists");
    assert_eq!(updated.metadata, metadata);
    assert_eq!(
        store.get_session(id).await.unwrap().unwrap().metadata,
        metadata
    );
    assert_eq!(updated.status, SessionStatus::Active);
    assert!(
        store
            .update_session(SessionId::random(), SessionUpdate::default())
            .await
            .unwrap()
            .is_none()
    );
}
