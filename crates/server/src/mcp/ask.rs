//! One MCP question as a normal turn of the caller: a new conversation they own,
//! the question stored as their message, the agent's turn run to its end, and the
//! reply with its citations returned.

use crate::access::Viewer;
use crate::actions::DEFAULT_AGENT_NAME;
use crate::admin::Caller;
use crate::state::AppState;
use async_trait::async_trait;
use chrono::Utc;
use serde_json::Value;
use std::sync::{Arc, Mutex};
use switchboard_agent::TurnRequest;
use switchboard_agent::turn::{EventSink, SinkClosed, TerminalClaim, TurnIo};
use switchboard_core::{
    AgentId, Conversation, ConversationId, Direction, Message, Metadata, NewSession, Participant,
    ParticipantId, ParticipantKind, Platform, Session, SessionId, SessionStatus,
};
use switchboard_protocol::Event;
use tokio::sync::Notify;

/// What the agent answered.
pub struct Answer {
    pub text: String,
    /// The turn's citations as the protocol shows them (`id`, `title`, `url`,
    /// `snippet`, `score`).
    pub citations: Vec<Value>,
    pub conversation_id: String,
}

/// Asks agent `agent` (its UUID) `question` as `caller`. `Err` is a message for
/// the MCP client: the turn failed, or stopped for a person's approval, which an
/// MCP call cannot give.
pub async fn ask(
    state: &AppState,
    caller: &Caller,
    agent: &str,
    question: String,
) -> Result<Answer, String> {
    let store = state.store();
    let org = caller.org();
    crate::quota::charge_new_session(
        &**store,
        &state.config().storage_limits,
        None,
        &org,
        question.len() as u64,
    )
    .await
    .map_err(|e| format!("refused: {e}"))?;
    let (conversation, session) = new_session(state, caller, agent);
    let runtime = state.runtime();
    store
        .create_session(NewSession {
            conversation: Some(conversation.clone()),
            participants: participants(caller, &conversation, &session, agent),
            session: session.clone(),
        })
        .await
        .map_err(|e| stored(&e))?;
    let busy = runtime
        .reserve(session.id)
        .ok_or("the conversation is busy")?;
    let message = Message::new(&conversation, Direction::Inbound, question);
    store
        .append_message(&message)
        .await
        .map_err(|e| stored(&e))?;
    let sink = Arc::new(Collect::default());
    let terminal = TerminalClaim::default();
    terminal.hold(busy);
    let io = TurnIo {
        sink: sink.clone(),
        terminal,
        client: None,
    };
    let request = TurnRequest {
        request_id: uuid::Uuid::new_v4().to_string(),
        session: session.clone(),
        message,
        model: None,
        images: Vec::new(),
        access: Viewer::new(Some(caller.0.clone()), String::new()).access(&org),
        skill: None,
    };
    tokio::select! {
        () = runtime.run(request, io) => {}
        () = sink.parked.notified() => {
            // Nobody can approve over MCP: the turn stops and its park is dropped.
            if let Err(e) = store.take_parked_turn(session.id, None).await {
                tracing::error!(error = %e, "could not drop an MCP turn's park");
            }
            let waiting = sink.lock().park.clone().unwrap_or_default();
            return Err(format!(
                "The agent wanted to {waiting}, which needs a person's approval; ask in a chat \
                 instead. Nothing was done."
            ));
        }
    }
    let end = sink.lock().end.take().unwrap_or_default();
    match end["type"].as_str() {
        Some("eventual_response") => {
            let outcome = &end["data"]["data"];
            Ok(Answer {
                text: outcome["response"]["responseParts"]
                    .as_array()
                    .map(|parts| {
                        parts
                            .iter()
                            .filter_map(Value::as_str)
                            .collect::<Vec<_>>()
                            .join("\n")
                    })
                    .unwrap_or_default(),
                citations: outcome["citations"].as_array().cloned().unwrap_or_default(),
                conversation_id: conversation.id.to_string(),
            })
        }
        _ => Err(end["error"]["message"]
            .as_str()
            .unwrap_or("The agent could not answer; try again.")
            .to_owned()),
    }
}

fn stored(e: &switchboard_core::StoreError) -> String {
    tracing::error!(error = %e, "could not store an MCP question");
    "the question could not be stored; try again".into()
}

/// A new conversation (marked as from MCP) and the session the turn runs in.
fn new_session(state: &AppState, caller: &Caller, agent: &str) -> (Conversation, Session) {
    let now = Utc::now();
    let session_id = SessionId::random();
    let mut metadata = Metadata::new();
    metadata.insert("channel".into(), Value::from("mcp"));
    let conversation = Conversation {
        id: ConversationId::random(),
        org_id: caller.org(),
        platform: Platform::Web,
        name: format!(
            "{}{session_id}",
            switchboard_core::title::DEFAULT_NAME_PREFIX
        ),
        idempotency_key: session_id.to_string(),
        metadata,
        created_at: now,
        updated_at: now,
    };
    let session = Session {
        id: session_id,
        conversation_id: conversation.id,
        org_id: conversation.org_id.clone(),
        agent_id: AgentId::new(agent.to_owned()),
        agent_name: state
            .runtime()
            .agent_name(agent)
            .unwrap_or_else(|| DEFAULT_AGENT_NAME.into()),
        user_participant_id: ParticipantId::random(),
        agent_participant_id: ParticipantId::random(),
        status: SessionStatus::Active,
        supports: Vec::new(),
        metadata: Metadata::new(),
        created_at: now,
        updated_at: now,
    };
    (conversation, session)
}

/// The caller (the conversation's owner) and the agent.
fn participants(
    caller: &Caller,
    conversation: &Conversation,
    session: &Session,
    agent: &str,
) -> Vec<Participant> {
    let principal = &caller.0;
    let now = Utc::now();
    vec![
        Participant {
            id: session.user_participant_id,
            conversation_id: conversation.id,
            org_id: conversation.org_id.clone(),
            kind: ParticipantKind::User,
            name: principal
                .display_name
                .clone()
                .unwrap_or_else(|| "MCP client".into()),
            email: principal.email.clone(),
            external_id: Some(principal.user_id.clone()),
            internal_id: None,
            browser_fingerprint: None,
            created_at: now,
        },
        Participant {
            id: session.agent_participant_id,
            conversation_id: conversation.id,
            org_id: conversation.org_id.clone(),
            kind: ParticipantKind::AiAgent,
            name: DEFAULT_AGENT_NAME.into(),
            email: None,
            external_id: None,
            internal_id: Some(agent.to_owned()),
            browser_fingerprint: None,
            created_at: now,
        },
    ]
}

/// Keeps what the MCP answer needs from the turn's events: its terminal event,
/// and whether it stopped to wait for a person.
#[derive(Default)]
struct Collect {
    seen: Mutex<Seen>,
    parked: Notify,
}

#[derive(Default)]
struct Seen {
    end: Option<Value>,
    /// What the turn waits for a person to allow.
    park: Option<String>,
}

impl Collect {
    fn lock(&self) -> std::sync::MutexGuard<'_, Seen> {
        self.seen.lock().unwrap_or_else(|e| e.into_inner())
    }
}

#[async_trait]
impl EventSink for Collect {
    async fn send(&self, event: Event) -> Result<(), SinkClosed> {
        let value = serde_json::to_value(&event).unwrap_or_default();
        match value["type"].as_str() {
            Some("eventual_response" | "error") => self.lock().end = Some(value),
            Some("write_confirmation_required") => {
                let tool = value["data"]["data"]["toolId"].as_str().unwrap_or_default();
                self.lock().park = Some(format!("run '{tool}'"));
                self.parked.notify_one();
            }
            Some("interaction_required") => {
                self.lock().park = Some("ask you something in a form".into());
                self.parked.notify_one();
            }
            _ => {}
        }
        Ok(())
    }
}
