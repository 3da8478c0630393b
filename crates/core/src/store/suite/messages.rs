//! Messages and conversations: paging, cursors, append order, renames, the
//! sidebar list.

use super::*;

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
            after: None,
            search: None,
        })
    };
    let owned_by = |owner: &str| {
        store.list_conversations(ConversationQuery {
            org_id: OrgId::new(&org),
            only: None,
            owner: Some(Owner::new(OrgId::new(&org), owner)),
            limit: 10,
            after: None,
            search: None,
        })
    };
    let rows = list(None, 10).await.unwrap().conversations;
    assert_eq!(
        rows.iter().map(|r| r.conversation.id).collect::<Vec<_>>(),
        vec![cb.id, ca.id],
        "newest first, empty and foreign conversations left out"
    );
    assert_eq!(rows[1].message_count, 3);
    assert_eq!(rows[1].first_user_text.as_deref(), Some("message 0"));
    assert_eq!(list(None, 1).await.unwrap().conversations.len(), 1);
    let only_a = list(Some(vec![ca.id]), 10).await.unwrap().conversations;
    assert_eq!(only_a.len(), 1);
    assert_eq!(only_a[0].conversation.id, ca.id);
    let mine = owned_by("user-a").await.unwrap().conversations;
    assert_eq!(
        mine.iter().map(|r| r.conversation.id).collect::<Vec<_>>(),
        vec![ca.id],
        "an owner sees only their conversations"
    );
    assert!(owned_by("user-b").await.unwrap().conversations.is_empty());
}

pub async fn messages_keep_append_order_whatever_their_clocks_say(store: Arc<dyn Store>) {
    let new = new_session("org-a");
    let conversation = conversation_of(&new);
    store.create_session(new).await.unwrap();
    // Replicas' clocks disagree: later appends may carry earlier timestamps.
    let late = Utc::now() + Duration::seconds(30);
    let mut appended = Vec::new();
    for (i, at) in [
        late,
        late - Duration::seconds(20),
        late - Duration::seconds(10),
    ]
    .into_iter()
    .enumerate()
    {
        let mut message = Message::new(&conversation, Direction::Inbound, format!("m{i}"));
        message.created_at = at;
        store.append_message(&message).await.unwrap();
        appended.push(message.id);
    }
    let page = store
        .list_messages(MessageQuery {
            conversation_id: conversation.id,
            limit: 10,
            order: Order::OldestFirst,
            after: None,
        })
        .await
        .unwrap();
    assert_eq!(ids(&page.messages), appended);
    let read = store
        .get_conversation(conversation.id)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(read.updated_at, late, "updated_at never moves back");
}

pub async fn a_duplicate_message_is_a_conflict_and_stores_nothing(store: Arc<dyn Store>) {
    let new = new_session("org-a");
    let conversation = conversation_of(&new);
    store.create_session(new).await.unwrap();
    let message = Message::new(&conversation, Direction::Inbound, "once".into());
    store.append_message(&message).await.unwrap();
    assert!(matches!(
        store.append_message(&message).await,
        Err(StoreError::Conflict(_))
    ));
    let page = store
        .list_messages(MessageQuery {
            conversation_id: conversation.id,
            limit: 10,
            order: Order::NewestFirst,
            after: None,
        })
        .await
        .unwrap();
    assert_eq!(page.messages.len(), 1);
}

/// Ownership is the pair (organisation, user): the same `sub` in another
/// organisation owns nothing, in the sidebar's list and in the admin list alike.
pub async fn owner_filters_match_the_organisation_and_the_user(store: Arc<dyn Store>) {
    let (acme, globex) = (
        format!("acme-{}", uuid::Uuid::new_v4()),
        format!("globex-{}", uuid::Uuid::new_v4()),
    );
    let (mut a, mut g) = (new_session(&acme), new_session(&globex));
    a.participants[0].external_id = Some("alice".into());
    g.participants[0].external_id = Some("alice".into());
    let (ca, cg) = (conversation_of(&a), conversation_of(&g));
    for new in [a, g] {
        store.create_session(new).await.unwrap();
    }
    append_messages(&*store, &ca, 1).await;
    append_messages(&*store, &cg, 1).await;
    let owner = |org: &str, user: &str| Some(Owner::new(OrgId::new(org), user));
    for (org, who, expected) in [
        (&acme, owner(&acme, "alice"), vec![ca.id]),
        (&acme, owner(&globex, "alice"), vec![]),
        (&acme, owner(&acme, "bob"), vec![]),
        (&globex, owner(&globex, "alice"), vec![cg.id]),
        (&globex, owner(&acme, "alice"), vec![]),
    ] {
        let listed = store
            .list_conversations(ConversationQuery {
                org_id: OrgId::new(org),
                only: None,
                owner: who.clone(),
                limit: 10,
                after: None,
                search: None,
            })
            .await
            .unwrap();
        let ids: Vec<_> = listed
            .conversations
            .iter()
            .map(|r| r.conversation.id)
            .collect();
        assert_eq!(ids, expected, "sidebar of {org} for {who:?}");
        let admin = store
            .list_org_conversations(OrgConversationQuery {
                org_id: OrgId::new(org),
                owner: who.clone(),
                limit: 10,
                after: None,
            })
            .await
            .unwrap();
        let ids: Vec<_> = admin.conversations.iter().map(|c| c.id).collect();
        assert_eq!(ids, expected, "admin list of {org} for {who:?}");
    }
}
