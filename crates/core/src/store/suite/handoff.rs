//! Human handoff: the compare-and-set on a conversation's handoff record, the
//! organisation's queue, operators joining as participants, and their messages.

use super::*;
use crate::handoff::*;

async fn stored_conversation(store: &dyn Store, org: &str) -> Conversation {
    let new = new_session(org);
    let conversation = conversation_of(&new);
    store.create_session(new).await.unwrap();
    conversation
}

fn queued(conversation: &Conversation, previous: Option<&Handoff>) -> Handoff {
    Handoff::queued(
        conversation.id,
        conversation.org_id.clone(),
        AgentId::new("agent-1"),
        HandoffTrigger::Tool,
        "The visitor wants a refund the agent cannot grant.".into(),
        previous,
    )
}

fn claimed_by(handoff: &Handoff, user: &str) -> Handoff {
    let mut next = handoff.next(HandoffStatus::Claimed);
    next.operator = Some(Operator {
        user_id: user.into(),
        name: format!("Operator {user}"),
    });
    next.participant_id = Some(ParticipantId::random());
    next
}

pub async fn a_handoff_is_claimed_by_exactly_one_operator(store: Arc<dyn Store>) {
    let conversation = stored_conversation(&*store, "org-h").await;
    assert_eq!(store.get_handoff(conversation.id).await.unwrap(), None);
    let first = queued(&conversation, None);
    assert!(store.put_handoff(&first, None).await.unwrap());
    // A second "first" escalation finds the record there and changes nothing.
    let again = queued(&conversation, None);
    assert!(!store.put_handoff(&again, None).await.unwrap());
    assert_eq!(
        store.get_handoff(conversation.id).await.unwrap(),
        Some(first.clone()),
        "read back exactly as written"
    );

    // Eight operators claim at once, all from version 1: exactly one wins.
    let claims: Vec<Handoff> = (0..8)
        .map(|i| claimed_by(&first, &format!("op-{i}")))
        .collect();
    let attempts: Vec<_> = claims
        .iter()
        .map(|claim| {
            let store = store.clone();
            async move { store.put_handoff(claim, Some(1)).await.unwrap() }
        })
        .collect();
    let results = futures_free_join(attempts).await;
    assert_eq!(results.iter().filter(|won| **won).count(), 1, "{results:?}");
    let winner = &claims[results.iter().position(|won| *won).unwrap()];
    let stored = store.get_handoff(conversation.id).await.unwrap().unwrap();
    assert_eq!(&stored, winner);
    assert_eq!(stored.version, 2);

    // A stale version is refused; the current one moves it on.
    let back = stored.next(HandoffStatus::Returned);
    assert!(!store.put_handoff(&back, Some(1)).await.unwrap());
    assert!(store.put_handoff(&back, Some(2)).await.unwrap());
    // Queued again later, after the returned record.
    let later = queued(&conversation, Some(&back));
    assert_eq!(later.version, 4);
    assert!(store.put_handoff(&later, Some(3)).await.unwrap());
    assert_eq!(
        store.get_handoff(conversation.id).await.unwrap(),
        Some(later)
    );
}

pub async fn the_handoff_queue_is_per_organisation_and_oldest_first(store: Arc<dyn Store>) {
    let start = Utc::now() - Duration::minutes(10);
    let mut queue = Vec::new();
    for i in 0..3 {
        let conversation = stored_conversation(&*store, "org-queue").await;
        let mut handoff = queued(&conversation, None);
        // Queued newest first, so the order is the stored time, not insertion.
        handoff.queued_at = start + Duration::seconds(30 - i * 10);
        assert!(store.put_handoff(&handoff, None).await.unwrap());
        queue.push(handoff);
    }
    queue.reverse();
    let elsewhere = stored_conversation(&*store, "org-other").await;
    let foreign = queued(&elsewhere, None);
    store.put_handoff(&foreign, None).await.unwrap();
    let live_conversation = stored_conversation(&*store, "org-queue").await;
    let live = queued(&live_conversation, None);
    store.put_handoff(&live, None).await.unwrap();
    let live = claimed_by(&live, "op-1");
    assert!(store.put_handoff(&live, Some(1)).await.unwrap());

    let query = |status, limit, after| HandoffQuery {
        org_id: OrgId::new("org-queue"),
        status,
        limit,
        after,
    };
    let ids = |page: &HandoffPage| -> Vec<ConversationId> {
        page.handoffs.iter().map(|h| h.conversation_id).collect()
    };
    let first = store
        .list_handoffs(query(HandoffStatus::Queued, 2, None))
        .await
        .unwrap();
    assert_eq!(
        ids(&first),
        vec![queue[0].conversation_id, queue[1].conversation_id]
    );
    let rest = store
        .list_handoffs(query(HandoffStatus::Queued, 2, first.next))
        .await
        .unwrap();
    assert_eq!(ids(&rest), vec![queue[2].conversation_id]);
    assert_eq!(rest.next, None);
    assert_eq!(rest.handoffs[0], queue[2], "read back exactly as written");
    let claimed = store
        .list_handoffs(query(HandoffStatus::Claimed, 50, None))
        .await
        .unwrap();
    assert_eq!(claimed.handoffs, vec![live]);
    let other = store
        .list_handoffs(HandoffQuery {
            org_id: OrgId::new("org-other"),
            status: HandoffStatus::Queued,
            limit: 50,
            after: None,
        })
        .await
        .unwrap();
    assert_eq!(ids(&other), vec![foreign.conversation_id]);
}

pub async fn operators_join_as_participants_and_sign_their_messages(store: Arc<dyn Store>) {
    let conversation = stored_conversation(&*store, "org-h").await;
    let operator = Participant {
        id: ParticipantId::random(),
        conversation_id: conversation.id,
        org_id: conversation.org_id.clone(),
        kind: ParticipantKind::HumanAgent,
        name: "Ada".into(),
        email: None,
        external_id: Some("ada".into()),
        internal_id: None,
        browser_fingerprint: None,
        created_at: Utc::now(),
    };
    store.add_participant(&operator).await.unwrap();
    assert!(matches!(
        store.add_participant(&operator).await,
        Err(StoreError::Conflict(_))
    ));
    let nowhere = Participant {
        id: ParticipantId::random(),
        conversation_id: ConversationId::random(),
        ..operator.clone()
    };
    assert!(store.add_participant(&nowhere).await.is_err());
    let participants = store.list_participants(conversation.id).await.unwrap();
    assert_eq!(participants.len(), 3);
    assert_eq!(participants.last(), Some(&operator), "joined last");

    let visitor = Message::new(&conversation, Direction::Inbound, "A person, please".into());
    store.append_message(&visitor).await.unwrap();
    let reply = Message::from_operator(&conversation, operator.id, "Ada here.".into());
    store.append_message(&reply).await.unwrap();
    let page = store
        .list_messages(MessageQuery {
            conversation_id: conversation.id,
            limit: 10,
            order: Order::OldestFirst,
            after: None,
        })
        .await
        .unwrap();
    assert_eq!(page.messages, vec![visitor, reply]);
    assert_eq!(page.messages[1].sender, Some(operator.id));
    assert_eq!(page.messages[0].sender, None);
}
