//! The store conformance suite: one set of checks every [`Store`] must pass.
//!
//! A backend runs it with [`crate::store_conformance_tests!`], giving an expression
//! that builds a fresh, empty store.

//!
//! The checks are grouped by what they cover: sessions, messages and conversation
//! lists, turns waiting for a person (parked turns, one-time codes), and what the
//! admin API keeps (settings, connectors, indexing runs). Stores several servers
//! share also run [`crate::store_lease_tests!`].

mod admin;
mod bounds;
mod handoff;
mod lease;
mod listing;
mod messages;
mod sessions;
mod waiting;

pub use admin::*;
pub use bounds::*;
pub use handoff::*;
pub use lease::*;
pub use listing::*;
pub use messages::*;
pub use sessions::*;
pub use waiting::*;

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
            messages_keep_append_order_whatever_their_clocks_say,
            a_duplicate_message_is_a_conflict_and_stores_nothing,
            unknown_cursor_is_refused,
            append_to_unknown_conversation_fails,
            update_conversation_renames_and_bumps,
            list_conversations_is_org_scoped_and_skips_empty,
            owner_filters_match_the_organisation_and_the_user,
            update_session_replaces_metadata,
            a_parked_turn_is_taken_exactly_once,
            otp_attempts_are_spent_atomically,
            otp_throttle_counts_every_hit_once_per_key,
            otp_throttle_starts_again_after_expiry,
            org_settings_round_trip,
            org_conversations_page_newest_first_by_creation,
            connectors_are_org_scoped_and_uniquely_named,
            indexing_runs_are_replaced_by_id_and_listed_oldest_first,
        );
        $crate::store_conformance_tests!(@tests $make;
            expired_parked_turns_are_removed_and_live_ones_kept,
            quota_charges_stop_at_the_limit,
            concurrent_quota_charges_never_pass_the_limit,
            quota_expiry_keeps_live_counters,
        );
        $crate::store_conformance_tests!(@tests $make;
            conversation_pages_reach_every_conversation,
            conversation_pages_bound_the_limit_and_the_search,
            conversation_pages_keep_the_owner_filter,
            conversation_search_matches_titles_and_first_messages,
        );
        $crate::store_conformance_tests!(@tests $make;
            a_handoff_is_claimed_by_exactly_one_operator,
            the_handoff_queue_is_per_organisation_and_oldest_first,
            operators_join_as_participants_and_sign_their_messages,
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

/// The lease checks, for stores several servers share (the default
/// `acquire_lease` grants everything, which only a one-server store may keep).
#[macro_export]
macro_rules! store_lease_tests {
    ($make:expr) => {
        $crate::store_conformance_tests!(@tests $make;
            a_lease_has_one_holder_until_released,
            a_lapsed_lease_goes_to_the_next_asker,
            concurrent_lease_requests_grant_exactly_one,
        );
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
    crate::store_lease_tests!(std::sync::Arc::new(crate::MemoryStore::new()));
}
