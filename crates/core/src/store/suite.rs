//! The store conformance suite: one set of checks every [`Store`] must pass.
//!
//! A backend runs it with [`crate::store_conformance_tests!`], giving an expression
//! that builds a fresh, empty store.

use super::*;
use chrono::{Duration, Utc};
use std::sync::Arc;

/// Generates one `#[tokio::test]` per check, each on a fresh store from `$make`.
#[macro_export]
macro_rules! store_conformance_tests {
    ($make:expr) => {
        $crate::store_conformance_tests!(@tests $make;
            session_round_trip,
            duplicate_session_is_a_conflict,
            resume_needs_an_existing_conversation,
            messages_page_newest_first_with_cursor,
            messages_page_oldest_first,
            unknown_cursor_is_refused,
            append_to_unknown_conversation_fails,
            update_conversation_renames_and_bumps,
            list_conversations_is_org_scoped_and_skips_empty,
            update_session_replaces_metadata,
            a_parked_turn_is_taken_exactly_once,
            otp_attempts_are_spent_atomically,
            org_settings_round_trip,
            org_conversations_page_newest_first_by_creation,
            connectors_are_org_scoped_and_uniquely_named,
            indexing_runs_are_replaced_by_id_and_listed_oldest_first,
        );
    };
    (@tests $make:expr; $($check:ident),* $(,)?) => {
        $(
            #[tokio::test]
            async fn $check() {
                let store: ::std::sync::Arc<dyn $crate::Store> = $make;
                $crate::store::suite::$check(store).await;
            }
        )*
    };
}

/// A fresh session on a fresh conversation, as create-session builds it.
pub fn new_session(org: &str) -> NewSession {
    let now = Utc::now();
    let conversation = Conversation {
        id: ConversationId::random(),
        org_id: OrgId::new(org),
        platform: Platform::Web,
        name: "Session test".into(),
        idempotency_key: uuid::Uuid::new_v4().to_string(),
        metadata: Metadata::new(),
        created_at: now,
        updated_at: now,
    };
    let participant = |kind, name: &str| Participant {
        id: ParticipantId::random(),
        conversation_id: conversation.id,
        org_id: conversation.org_id.clone(),
        kind,
        name: name.into(),
        email: None,
        external_id: None,
        internal_id: None,
        browser_fingerprint: None,
        created_at: now,
    };
    let user = participant(ParticipantKind::User, "Visitor");
    let agent = participant(ParticipantKind::AiAgent, "smooth-agent");
    let session = Session {
        id: SessionId::random(),
        conversation_id: conversation.id,
        org_id: conversation.org_id.clone(),
        agent_id: AgentId::new("agent-1"),
        agent_name: "smooth-agent".into(),
        user_participant_id: user.id,
        agent_participant_id: agent.id,
        status: SessionStatus::Active,
        supports: vec!["identity_form".into()],
        metadata: Metadata::new(),
        created_at: now,
        updated_at: now,
    };
    NewSession {
        conversation: Some(conversation),
        participants: vec![user, agent],
        session,
    }
}

fn conversation_of(new: &NewSession) -> Conversation {
    new.conversation.clone().expect("a new conversation")
}

/// Appends `n` alternating messages, one millisecond apart, and returns them in order.
async fn append_messages(store: &dyn Store, conversation: &Conversation, n: usize) -> Vec<Message> {
    let start = Utc::now();
    let mut out = Vec::new();
    for i in 0..n {
        let direction = if i % 2 == 0 {
            Direction::Inbound
        } else {
            Direction::Outbound
        };
        let mut message = Message::new(conversation, direction, format!("message {i}"));
        message.created_at = start + Duration::milliseconds(i as i64);
        store.append_message(&message).await.expect("append");
        out.push(message);
    }
    out
}

fn ids(messages: &[Message]) -> Vec<MessageId> {
    messages.iter().map(|m| m.id).collect()
}

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

pub async fn messages_page_newest_first_with_cursor(store: Arc<dyn Store>) {
    let new = new_session("org-a");
    let conversation = conversation_of(&new);
    store.create_session(new).await.unwrap();
    let all = append_messages(&*store, &conversation, 6).await;
    let newest: Vec<MessageId> = ids(&all).into_iter().rev().collect();
    let query = |limit, after| MessageQuery {
        conversation_id: conversation.id,
        limit,
        order: Order::NewestFirst,
        after,
    };
    let first = store.list_messages(query(4, None)).await.unwrap();
    assert_eq!(ids(&first.messages), newest[..4]);
    assert_eq!(first.next_cursor, Some(newest[3]));
    let second = store
        .list_messages(query(4, first.next_cursor))
        .await
        .unwrap();
    assert_eq!(ids(&second.messages), newest[4..]);
    assert_eq!(second.next_cursor, None);
    // An exact fit leaves no cursor behind.
    let exact = store.list_messages(query(6, None)).await.unwrap();
    assert_eq!(exact.messages.len(), 6);
    assert_eq!(exact.next_cursor, None);
    assert_eq!(exact.messages[5].text, "message 0");
    assert_eq!(exact.messages[5].direction, Direction::Inbound);
}

pub async fn messages_page_oldest_first(store: Arc<dyn Store>) {
    let new = new_session("org-a");
    let conversation = conversation_of(&new);
    store.create_session(new).await.unwrap();
    let all = append_messages(&*store, &conversation, 5).await;
    let query = |after| MessageQuery {
        conversation_id: conversation.id,
        limit: 3,
        order: Order::OldestFirst,
        after,
    };
    let first = store.list_messages(query(None)).await.unwrap();
    assert_eq!(ids(&first.messages), ids(&all[..3]));
    let second = store.list_messages(query(first.next_cursor)).await.unwrap();
    assert_eq!(ids(&second.messages), ids(&all[3..]));
    assert_eq!(second.next_cursor, None);
}

pub async fn unknown_cursor_is_refused(store: Arc<dyn Store>) {
    let a = new_session("org-a");
    let b = new_session("org-a");
    let (ca, cb) = (conversation_of(&a), conversation_of(&b));
    store.create_session(a).await.unwrap();
    store.create_session(b).await.unwrap();
    append_messages(&*store, &ca, 2).await;
    let other = append_messages(&*store, &cb, 1).await;
    for after in [MessageId::random(), other[0].id] {
        let result = store
            .list_messages(MessageQuery {
                conversation_id: ca.id,
                limit: 10,
                order: Order::NewestFirst,
                after: Some(after),
            })
            .await;
        assert!(
            matches!(result, Err(StoreError::InvalidCursor)),
            "{result:?}"
        );
    }
}

pub async fn append_to_unknown_conversation_fails(store: Arc<dyn Store>) {
    let new = new_session("org-a");
    let conversation = conversation_of(&new);
    let message = Message::new(&conversation, Direction::Inbound, "hi".into());
    assert!(store.append_message(&message).await.is_err());
}

pub async fn update_conversation_renames_and_bumps(store: Arc<dyn Store>) {
    let new = new_session("org-a");
    let conversation = conversation_of(&new);
    store.create_session(new).await.unwrap();
    let mut metadata = Metadata::new();
    metadata.insert(
        CLIENT_SUPPORTS_KEY.into(),
        serde_json::json!(["choice_chips"]),
    );
    let updated = store
        .update_conversation(
            conversation.id,
            ConversationUpdate {
                name: Some("Billing".into()),
                metadata: Some(metadata),
            },
        )
        .await
        .unwrap()
        .expect("exists");
    assert_eq!(updated.name, "Billing");
    assert_eq!(updated.client_supports(), vec!["choice_chips".to_owned()]);
    assert!(updated.updated_at >= conversation.updated_at);
    let read = store
        .get_conversation(conversation.id)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(read.name, "Billing");
    let missing = store
        .update_conversation(ConversationId::random(), ConversationUpdate::default())
        .await
        .unwrap();
    assert!(missing.is_none());
}

pub async fn list_conversations_is_org_scoped_and_skips_empty(store: Arc<dyn Store>) {
    let org = format!("org-{}", uuid::Uuid::new_v4());
    let (mut a, b, empty, foreign) = (
        new_session(&org),
        new_session(&org),
        new_session(&org),
        new_session("another-org"),
    );
    // `a`'s visitor proved who they are.
    a.participants[0].external_id = Some("user-a".into());
    let (ca, cb, cf) = (
        conversation_of(&a),
        conversation_of(&b),
        conversation_of(&foreign),
    );
    for new in [a, b, empty, foreign] {
        store.create_session(new).await.unwrap();
    }
    append_messages(&*store, &ca, 3).await;
    append_messages(&*store, &cf, 1).await;
    // `b` is written last, so it is the most recent.
    tokio_free_sleep().await;
    append_messages(&*store, &cb, 1).await;
    let list = |only, limit| {
        store.list_conversations(ConversationQuery {
            org_id: OrgId::new(&org),
            only,
            owner: None,
            limit,
        })
    };
    let owned_by = |owner: &str| {
        store.list_conversations(ConversationQuery {
            org_id: OrgId::new(&org),
            only: None,
            owner: Some(owner.to_owned()),
            limit: 10,
        })
    };
    let rows = list(None, 10).await.unwrap();
    assert_eq!(
        rows.iter().map(|r| r.conversation.id).collect::<Vec<_>>(),
        vec![cb.id, ca.id],
        "newest first, empty and foreign conversations left out"
    );
    assert_eq!(rows[1].message_count, 3);
    assert_eq!(rows[1].first_user_text.as_deref(), Some("message 0"));
    assert_eq!(list(None, 1).await.unwrap().len(), 1);
    let only_a = list(Some(vec![ca.id]), 10).await.unwrap();
    assert_eq!(only_a.len(), 1);
    assert_eq!(only_a[0].conversation.id, ca.id);
    let mine = owned_by("user-a").await.unwrap();
    assert_eq!(
        mine.iter().map(|r| r.conversation.id).collect::<Vec<_>>(),
        vec![ca.id],
        "an owner sees only their conversations"
    );
    assert!(owned_by("user-b").await.unwrap().is_empty());
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

fn parked(session: SessionId) -> ParkedTurn {
    ParkedTurn {
        id: uuid::Uuid::new_v4(),
        session_id: session,
        request_id: "r1".into(),
        created_at: Utc::now(),
        expires_at: Utc::now() + Duration::minutes(5),
        state: serde_json::json!({"transcript": ["…"], "iteration": 2}),
    }
}

pub async fn a_parked_turn_is_taken_exactly_once(store: Arc<dyn Store>) {
    let session = SessionId::random();
    let first = parked(session);
    store.put_parked_turn(&first).await.unwrap();
    let newer = parked(session);
    store.put_parked_turn(&newer).await.unwrap();
    assert_eq!(
        store.get_parked_turn(session).await.unwrap(),
        Some(newer.clone()),
        "newest wins"
    );
    // A stale park id takes nothing and leaves the park in place.
    assert_eq!(
        store
            .take_parked_turn(session, Some(first.id))
            .await
            .unwrap(),
        None
    );
    assert!(store.get_parked_turn(session).await.unwrap().is_some());
    // Concurrent takers: exactly one wins.
    let takers: Vec<_> = (0..8)
        .map(|_| {
            let store = store.clone();
            async move {
                store
                    .take_parked_turn(session, Some(newer.id))
                    .await
                    .unwrap()
            }
        })
        .collect();
    let won = futures_free_join(takers)
        .await
        .into_iter()
        .flatten()
        .count();
    assert_eq!(won, 1);
    assert_eq!(store.get_parked_turn(session).await.unwrap(), None);
    assert_eq!(store.take_parked_turn(session, None).await.unwrap(), None);
}

pub async fn otp_attempts_are_spent_atomically(store: Arc<dyn Store>) {
    let session = SessionId::random();
    assert_eq!(store.spend_otp_attempt(session).await.unwrap(), None);
    let challenge = OtpChallenge {
        session_id: session,
        code_hash: "h".into(),
        salt: "s".into(),
        channel: "email".into(),
        destination: "a@example.com".into(),
        attempts_left: 3,
        created_at: Utc::now(),
        expires_at: Utc::now() + Duration::minutes(10),
    };
    store.put_otp_challenge(&challenge).await.unwrap();
    let spenders: Vec<_> = (0..5)
        .map(|_| {
            let store = store.clone();
            async move { store.spend_otp_attempt(session).await.unwrap().unwrap() }
        })
        .collect();
    let mut before: Vec<u32> = futures_free_join(spenders).await;
    before.sort();
    assert_eq!(
        before,
        [0, 0, 1, 2, 3],
        "each attempt sees a distinct count"
    );
    assert_eq!(
        store
            .get_otp_challenge(session)
            .await
            .unwrap()
            .unwrap()
            .attempts_left,
        0
    );
    store.delete_otp_challenge(session).await.unwrap();
    assert_eq!(store.get_otp_challenge(session).await.unwrap(), None);
}

pub async fn org_settings_round_trip(store: Arc<dyn Store>) {
    let org = OrgId::new(format!("org-{}", uuid::Uuid::new_v4()));
    assert_eq!(store.get_org_settings(&org).await.unwrap(), None);
    let settings = OrgSettings {
        org_id: org.clone(),
        persona: Some("Cheerful and brief.".into()),
        model: Some("m".into()),
        system_prompt: None,
        default_tools: vec!["knowledge_search".into()],
        updated_at: Some(Utc::now()),
    };
    store.put_org_settings(&settings).await.unwrap();
    let read = store.get_org_settings(&org).await.unwrap().unwrap();
    assert_eq!(read.persona, settings.persona);
    assert_eq!(read.default_tools, settings.default_tools);
}

pub async fn org_conversations_page_newest_first_by_creation(store: Arc<dyn Store>) {
    let org = format!("org-{}", uuid::Uuid::new_v4());
    let start = Utc::now() - Duration::minutes(10);
    let mut created = Vec::new();
    for i in 0..5 {
        let mut new = new_session(&org);
        let conversation = new.conversation.as_mut().expect("a new conversation");
        conversation.created_at = start + Duration::seconds(i);
        conversation.updated_at = conversation.created_at;
        if i % 2 == 0 {
            new.participants[0].external_id = Some("owner-1".into());
        }
        created.push(conversation_of(&new));
        store.create_session(new).await.unwrap();
    }
    store
        .create_session(new_session("another-org"))
        .await
        .unwrap();
    // Messages move `updated_at`, not the order.
    append_messages(&*store, &created[0], 1).await;
    let newest: Vec<ConversationId> = created.iter().rev().map(|c| c.id).collect();
    let page = |owner: Option<&str>, after, limit| {
        store.list_org_conversations(OrgConversationQuery {
            org_id: OrgId::new(&org),
            owner: owner.map(str::to_owned),
            limit,
            after,
        })
    };
    let ids = |page: &ConversationPage| page.conversations.iter().map(|c| c.id).collect::<Vec<_>>();
    let first = page(None, None, 2).await.unwrap();
    assert_eq!(ids(&first), newest[..2]);
    assert_eq!(first.next.map(|c| c.id), Some(newest[1]));
    assert_eq!(first.conversations[0].name, "Session test");
    let second = page(None, first.next, 2).await.unwrap();
    assert_eq!(ids(&second), newest[2..4]);
    let last = page(None, second.next, 2).await.unwrap();
    assert_eq!(
        ids(&last),
        newest[4..],
        "empty conversations are listed too"
    );
    assert_eq!(last.next, None, "no cursor after the last page");
    let exact = page(None, None, 5).await.unwrap();
    assert_eq!(ids(&exact), newest);
    assert_eq!(exact.next, None);
    let owned = page(Some("owner-1"), None, 10).await.unwrap();
    assert_eq!(ids(&owned), [newest[0], newest[2], newest[4]]);
    assert!(
        page(Some("nobody"), None, 10)
            .await
            .unwrap()
            .conversations
            .is_empty()
    );
}

fn connector(org: &str, name: &str) -> Connector {
    let now = Utc::now();
    Connector {
        id: ConnectorId::random(),
        org_id: OrgId::new(org),
        name: name.into(),
        kind: ConnectorKind::File,
        config: serde_json::json!({"path": "/srv/docs", "sets": ["handbook"]}),
        enabled: true,
        created_at: now,
        updated_at: now,
    }
}

pub async fn connectors_are_org_scoped_and_uniquely_named(store: Arc<dyn Store>) {
    let (org, other) = (OrgId::new("org-a"), OrgId::new("org-b"));
    let docs = connector("org-a", "docs");
    let blog = connector("org-a", "blog");
    store.create_connector(&docs).await.unwrap();
    store.create_connector(&blog).await.unwrap();
    assert_eq!(
        store.get_connector(&org, docs.id).await.unwrap(),
        Some(docs.clone())
    );
    assert_eq!(store.get_connector(&other, docs.id).await.unwrap(), None);
    let names = |list: Vec<Connector>| list.into_iter().map(|c| c.name).collect::<Vec<_>>();
    assert_eq!(
        names(store.list_connectors(&org).await.unwrap()),
        ["blog", "docs"]
    );
    assert!(store.list_connectors(&other).await.unwrap().is_empty());
    // Names are unique within an organisation, not across them.
    assert!(matches!(
        store.create_connector(&connector("org-a", "docs")).await,
        Err(StoreError::Conflict(_))
    ));
    assert!(matches!(
        store.create_connector(&docs).await,
        Err(StoreError::Conflict(_))
    ));
    store
        .create_connector(&connector("org-b", "docs"))
        .await
        .unwrap();

    let mut renamed = docs.clone();
    renamed.name = "handbook".into();
    renamed.kind = ConnectorKind::Web;
    renamed.config = serde_json::json!({"url": "https://example.com/handbook"});
    renamed.enabled = false;
    renamed.created_at = Utc::now() + Duration::days(1);
    renamed.updated_at = Utc::now() + Duration::seconds(1);
    let updated = store
        .update_connector(&renamed)
        .await
        .unwrap()
        .expect("exists");
    assert_eq!(updated.created_at, docs.created_at, "creation is kept");
    assert_eq!(updated.updated_at, renamed.updated_at);
    assert_eq!(
        (updated.name.as_str(), updated.kind, updated.enabled),
        ("handbook", ConnectorKind::Web, false)
    );
    assert_eq!(updated.config, renamed.config);
    assert_eq!(
        store.get_connector(&org, docs.id).await.unwrap(),
        Some(updated)
    );
    let mut clash = blog.clone();
    clash.name = "handbook".into();
    assert!(matches!(
        store.update_connector(&clash).await,
        Err(StoreError::Conflict(_))
    ));
    let mut foreign = renamed.clone();
    foreign.org_id = other.clone();
    assert_eq!(store.update_connector(&foreign).await.unwrap(), None);

    assert!(!store.delete_connector(&other, docs.id).await.unwrap());
    assert!(store.delete_connector(&org, docs.id).await.unwrap());
    assert!(!store.delete_connector(&org, docs.id).await.unwrap());
    assert_eq!(store.get_connector(&org, docs.id).await.unwrap(), None);
    assert_eq!(names(store.list_connectors(&org).await.unwrap()), ["blog"]);
}

fn run(org: &str, connector: ConnectorId, started_at: chrono::DateTime<Utc>) -> IndexingRun {
    IndexingRun {
        id: IndexingRunId::random(),
        org_id: OrgId::new(org),
        connector_id: connector,
        connector_name: "docs".into(),
        status: RunStatus::Running,
        started_at,
        finished_at: None,
        documents_seen: 0,
        chunks_indexed: 0,
        documents_skipped: 0,
        documents_removed: 0,
        error: None,
    }
}

pub async fn indexing_runs_are_replaced_by_id_and_listed_oldest_first(store: Arc<dyn Store>) {
    let org = format!("org-{}", uuid::Uuid::new_v4());
    let (docs, blog) = (ConnectorId::random(), ConnectorId::random());
    let start = Utc::now() - Duration::minutes(5);
    let first = run(&org, docs, start);
    store.put_indexing_run(&first).await.unwrap();
    let finished = IndexingRun {
        status: RunStatus::Succeeded,
        finished_at: Some(start + Duration::seconds(2)),
        documents_seen: 3,
        chunks_indexed: 7,
        documents_skipped: 1,
        documents_removed: 2,
        ..first.clone()
    };
    store.put_indexing_run(&finished).await.unwrap();
    let failed = IndexingRun {
        status: RunStatus::Failed,
        finished_at: Some(start + Duration::seconds(11)),
        error: Some("cannot read /srv/docs".into()),
        ..run(&org, blog, start + Duration::seconds(10))
    };
    store.put_indexing_run(&failed).await.unwrap();
    let third = run(&org, docs, start + Duration::seconds(20));
    store.put_indexing_run(&third).await.unwrap();
    store
        .put_indexing_run(&run("another-org", docs, start))
        .await
        .unwrap();
    // A run id of another organisation cannot be overwritten.
    let hijack = IndexingRun {
        org_id: OrgId::new("another-org"),
        ..third.clone()
    };
    assert!(store.put_indexing_run(&hijack).await.is_err());

    let list = |connector, limit| {
        store.list_indexing_runs(IndexingRunQuery {
            org_id: OrgId::new(&org),
            connector,
            limit,
        })
    };
    let all = list(None, 10).await.unwrap();
    assert_eq!(all, vec![finished.clone(), failed.clone(), third.clone()]);
    assert_eq!(
        list(None, 2).await.unwrap(),
        vec![failed.clone(), third.clone()],
        "the most recent runs, oldest first"
    );
    assert_eq!(list(Some(docs), 10).await.unwrap(), vec![finished, third]);
}

/// Runs futures concurrently on the current task, without a runtime dependency.
async fn futures_free_join<T>(futures: Vec<impl std::future::Future<Output = T>>) -> Vec<T> {
    let mut pinned: Vec<std::pin::Pin<Box<dyn std::future::Future<Output = T> + '_>>> =
        futures.into_iter().map(|f| Box::pin(f) as _).collect();
    let mut results: Vec<Option<T>> = pinned.iter().map(|_| None).collect();
    std::future::poll_fn(|cx| {
        let mut pending = false;
        for (slot, future) in results.iter_mut().zip(pinned.iter_mut()) {
            if slot.is_none() {
                match future.as_mut().poll(cx) {
                    std::task::Poll::Ready(value) => *slot = Some(value),
                    std::task::Poll::Pending => pending = true,
                }
            }
        }
        if pending {
            std::task::Poll::Pending
        } else {
            std::task::Poll::Ready(())
        }
    })
    .await;
    results.into_iter().map(|r| r.expect("ready")).collect()
}

/// Lets the clock move on without depending on an async runtime.
async fn tokio_free_sleep() {
    std::thread::sleep(std::time::Duration::from_millis(5));
}

#[cfg(test)]
mod memory {
    crate::store_conformance_tests!(std::sync::Arc::new(crate::MemoryStore::new()));
}
