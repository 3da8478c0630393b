//! The sidebar list: paging by keyset through every conversation, within the
//! owner filter, and searching titles and first messages.

use super::*;

/// The sidebar query of `org` with no filter, cursor or search.
fn sidebar(org: &str, limit: usize) -> ConversationQuery {
    ConversationQuery {
        org_id: OrgId::new(org),
        only: None,
        owner: None,
        limit,
        after: None,
        search: None,
    }
}

fn search(text: &str) -> Option<ConversationSearch> {
    ConversationSearch::new(text).expect("a short search")
}

/// Stores a new conversation of `org` whose messages say `texts` (inbound first,
/// then alternating), all stamped `at`, so its `updated_at` is exactly `at`.
async fn conversation_saying(
    store: &dyn Store,
    new: NewSession,
    texts: &[&str],
    at: chrono::DateTime<Utc>,
) -> Conversation {
    let mut conversation = conversation_of(&new);
    store.create_session(new).await.unwrap();
    for (i, text) in texts.iter().enumerate() {
        let direction = if i % 2 == 0 {
            Direction::Inbound
        } else {
            Direction::Outbound
        };
        let mut message = Message::new(&conversation, direction, (*text).into());
        message.created_at = at;
        store.append_message(&message).await.unwrap();
    }
    // Appends move `updated_at` to the latest message time (never back).
    conversation.updated_at = at.max(conversation.updated_at);
    conversation
}

/// Every page of `query`, following `next` until there is none; panics after
/// more pages than conversations could fill (a cursor that never ends).
async fn every_page(store: &dyn Store, mut query: ConversationQuery) -> Vec<Vec<ConversationId>> {
    let mut pages = Vec::new();
    for _ in 0..50 {
        let page = store.list_conversations(query.clone()).await.unwrap();
        pages.push(
            page.conversations
                .iter()
                .map(|r| r.conversation.id)
                .collect(),
        );
        match page.next {
            Some(next) => query.after = Some(next),
            None => return pages,
        }
    }
    panic!("paging did not end after 50 pages");
}

/// A future instant with whole milliseconds, which every backend keeps exactly.
fn later(seconds: i64) -> chrono::DateTime<Utc> {
    let at = Utc::now() + Duration::seconds(seconds);
    chrono::DateTime::from_timestamp_millis(at.timestamp_millis()).expect("in range")
}

/// Pages of two reach all five conversations once each, in listing order, even
/// when three of them share one `updated_at` (the id breaks the tie).
pub async fn conversation_pages_reach_every_conversation(store: Arc<dyn Store>) {
    let org = format!("org-{}", uuid::Uuid::new_v4());
    let (tie, newest) = (later(3600), later(7200));
    let mut made = Vec::new();
    for at in [later(60), tie, tie, tie, newest] {
        made.push(conversation_saying(&*store, new_session(&org), &["hi", "hello"], at).await);
    }
    let mut expected = made.clone();
    expected.sort_by_key(|c| std::cmp::Reverse((c.updated_at, c.id)));
    let expected: Vec<_> = expected.iter().map(|c| c.id).collect();
    assert_eq!(expected[0], made[4].id, "the newest comes first");

    let pages = every_page(&*store, sidebar(&org, 2)).await;
    assert_eq!(
        pages.iter().map(Vec::len).collect::<Vec<_>>(),
        vec![2, 2, 1],
        "pages of two, the last one short and without a cursor"
    );
    assert_eq!(
        pages.concat(),
        expected,
        "every conversation once, in order"
    );

    // Exactly filled pages end with no cursor rather than an empty page.
    let whole = store.list_conversations(sidebar(&org, 5)).await.unwrap();
    assert_eq!(whole.conversations.len(), 5);
    assert_eq!(whole.next, None);
    let rows = store.list_conversations(sidebar(&org, 4)).await.unwrap();
    let next = rows.next.expect("one more remains");
    assert_eq!(
        next,
        ActivityCursor::of(&rows.conversations[3].conversation)
    );
}

/// `limit` 0 is served as 1 and a limit past the maximum as the maximum, with no
/// overflow; a search of the maximum length is served.
pub async fn conversation_pages_bound_the_limit_and_the_search(store: Arc<dyn Store>) {
    let org = format!("org-{}", uuid::Uuid::new_v4());
    let long = "x".repeat(ConversationSearch::MAX_CHARS);
    let said = format!("see {long}");
    for at in [later(60), later(120), later(180)] {
        conversation_saying(&*store, new_session(&org), &[&said], at).await;
    }
    let one = store.list_conversations(sidebar(&org, 0)).await.unwrap();
    assert_eq!(one.conversations.len(), 1);
    assert!(one.next.is_some());
    let all = store
        .list_conversations(sidebar(&org, usize::MAX))
        .await
        .unwrap();
    assert_eq!(all.conversations.len(), 3);
    assert_eq!(all.next, None);
    assert_eq!(
        sidebar(&org, usize::MAX).page_size(),
        MAX_CONVERSATIONS_PAGE
    );

    let found = store
        .list_conversations(ConversationQuery {
            search: search(&long.to_uppercase()),
            ..sidebar(&org, 10)
        })
        .await
        .unwrap();
    assert_eq!(
        found.conversations.len(),
        3,
        "a search of the longest length"
    );
    assert_eq!(
        ConversationSearch::new(&format!("{long}x")),
        Err(SearchTooLong)
    );
}

/// Paging stays inside the owner filter and the `only` list: a page never shows
/// another person's conversation, and the pages together show all of the caller's.
pub async fn conversation_pages_keep_the_owner_filter(store: Arc<dyn Store>) {
    let (org, elsewhere) = (
        format!("org-{}", uuid::Uuid::new_v4()),
        format!("org-{}", uuid::Uuid::new_v4()),
    );
    let owned = |org: &str, user: &str| {
        let mut new = new_session(org);
        new.participants[0].external_id = Some(user.into());
        new
    };
    let mut alices = Vec::new();
    let mut others = Vec::new();
    for (i, new) in [
        owned(&org, "alice"),
        owned(&org, "bob"),
        owned(&org, "alice"),
        new_session(&org),
        owned(&org, "alice"),
        owned(&elsewhere, "alice"),
    ]
    .into_iter()
    .enumerate()
    {
        let mine = new.participants[0].external_id.as_deref() == Some("alice")
            && new.session.org_id.as_str() == org;
        let c = conversation_saying(&*store, new, &["hi"], later(60 + i as i64)).await;
        if mine {
            alices.push(c.id);
        } else {
            others.push(c.id);
        }
    }
    alices.reverse();
    let query = ConversationQuery {
        owner: Some(Owner::new(OrgId::new(&org), "alice")),
        ..sidebar(&org, 1)
    };
    let pages = every_page(&*store, query).await;
    assert_eq!(pages.concat(), alices, "alice's three, newest first");
    assert!(pages.iter().all(|p| p.len() <= 1));

    let only = vec![alices[0], others[0], alices[2]];
    let query = ConversationQuery {
        only: Some(only),
        ..sidebar(&org, 2)
    };
    let listed = every_page(&*store, query).await.concat();
    assert_eq!(listed, vec![alices[0], others[0], alices[2]]);
}

/// A search keeps the conversations whose meaningful name or first inbound
/// message contains the text, ignoring case; the default name, later messages and
/// the agent's words do not count, and `%` or `_` are plain characters.
pub async fn conversation_search_matches_titles_and_first_messages(store: Arc<dyn Store>) {
    let org = format!("org-{}", uuid::Uuid::new_v4());
    let at = later(60);
    let titled = conversation_saying(&*store, new_session(&org), &["hello"], at).await;
    store
        .update_conversation(
            titled.id,
            ConversationUpdate {
                name: Some("Billing question".into()),
                ..Default::default()
            },
        )
        .await
        .unwrap();
    let asked = conversation_saying(&*store, new_session(&org), &["My REFUND is late"], at).await;
    let mut placeholder = new_session(&org);
    if let Some(c) = placeholder.conversation.as_mut() {
        c.name = "Session refund billing".into();
    }
    let placeholder = conversation_saying(&*store, placeholder, &["hi there"], at).await;
    let later_words = conversation_saying(
        &*store,
        new_session(&org),
        &["100% sure", "billing is open", "refund_please"],
        at,
    )
    .await;
    let found = |text: &'static str| {
        let store = store.clone();
        let org = org.clone();
        async move {
            let page = store
                .list_conversations(ConversationQuery {
                    search: search(text),
                    ..sidebar(&org, 10)
                })
                .await
                .unwrap();
            let mut ids: Vec<_> = page
                .conversations
                .iter()
                .map(|r| r.conversation.id)
                .collect();
            ids.sort();
            ids
        }
    };
    let sorted = |mut ids: Vec<ConversationId>| {
        ids.sort();
        ids
    };
    assert_eq!(
        found("BILLING").await,
        vec![titled.id],
        "by title, any case"
    );
    assert_eq!(found("  refund ").await, vec![asked.id], "by first message");
    assert_eq!(found("%").await, vec![later_words.id], "'%' is literal");
    assert_eq!(
        found("_").await,
        Vec::<ConversationId>::new(),
        "'_' is literal"
    );
    assert_eq!(found("nothing like it").await, vec![]);
    assert_eq!(
        found("h").await,
        sorted(vec![titled.id, placeholder.id]),
        "'hello' and 'hi there', not the agent's words"
    );
    assert!(search("   ").is_none(), "a blank text builds no search");

    // A search pages like the whole list: by one, reaching every match once.
    let query = ConversationQuery {
        search: search("E"),
        ..sidebar(&org, 1)
    };
    let pages = every_page(&*store, query).await;
    assert_eq!(
        sorted(pages.concat()),
        sorted(vec![titled.id, asked.id, placeholder.id, later_words.id]),
        "'hello', 'late', 'there', 'sure'"
    );
}
