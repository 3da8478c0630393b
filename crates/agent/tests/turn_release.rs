//! A turn frees its session before its terminal event reaches the client, so a
//! client that answers that event at once is never told a turn is still running.

use async_trait::async_trait;
use std::collections::VecDeque;
use std::sync::{Arc, Mutex, OnceLock};
use std::time::Duration;
use switchboard_agent::llm::{ChatRequest, LlmError, LlmProvider, LlmStream, StreamEvent};
use switchboard_agent::turn::{EventSink, SinkClosed, TerminalClaim, TurnIo};
use switchboard_agent::{AgentFile, AgentRuntime, RuntimeParts, RuntimeSettings, TurnRequest};
use switchboard_core::store::suite::new_session;
use switchboard_core::{Direction, MemoryStore, Message, Store};
use switchboard_knowledge::{Access, HashingEmbedder, KnowledgeIndex, Retriever};
use switchboard_protocol::Event;

/// Answers each call with the next scripted outcome.
struct Scripted(Mutex<VecDeque<Result<Vec<StreamEvent>, LlmError>>>);

#[async_trait]
impl LlmProvider for Scripted {
    async fn stream(&self, _: ChatRequest) -> Result<LlmStream, LlmError> {
        let next = self.0.lock().unwrap().pop_front().expect("scripted");
        let events = next?;
        Ok(Box::pin(futures_util::stream::iter(
            events.into_iter().map(Ok),
        )))
    }

    fn label(&self) -> String {
        "scripted".into()
    }
}

/// Records, for each terminal event, whether the session was free at that moment.
struct CheckingSink {
    runtime: OnceLock<Arc<AgentRuntime>>,
    session: switchboard_core::SessionId,
    free_at_terminal: Mutex<Vec<(String, bool)>>,
}

#[async_trait]
impl EventSink for CheckingSink {
    async fn send(&self, event: Event) -> Result<(), SinkClosed> {
        if matches!(event, Event::EventualResponse(_) | Event::Error(_)) {
            let free = self.runtime.get().unwrap().reserve(self.session).is_some();
            self.free_at_terminal
                .lock()
                .unwrap()
                .push((event.kind().to_owned(), free));
        }
        Ok(())
    }
}

async fn run_turn(outcome: Result<Vec<StreamEvent>, LlmError>) -> Vec<(String, bool)> {
    let store: Arc<dyn Store> = Arc::new(MemoryStore::new());
    let new = new_session("org");
    let conversation = new.conversation.clone().unwrap();
    let session = new.session.clone();
    store.create_session(new).await.unwrap();
    let message = Message::new(&conversation, Direction::Inbound, "hi".into());
    store.append_message(&message).await.unwrap();
    let runtime = Arc::new(AgentRuntime::new(RuntimeParts {
        llm: Arc::new(Scripted(Mutex::new(VecDeque::from([outcome])))),
        store,
        retriever: Retriever::new(
            Arc::new(KnowledgeIndex::new(Arc::new(HashingEmbedder::default()))),
            None,
        ),
        file: AgentFile::default(),
        env_confirm_tools: Vec::new(),
        otp: None,
        skills: Default::default(),
        settings: RuntimeSettings {
            model: "m".into(),
            max_iterations: 3,
            max_tokens: 100,
            history_tokens: 1000,
            park_ttl: Duration::from_secs(1),
            turn_timeout: Duration::from_secs(30),
            judge_model: None,
        },
        mcp: Default::default(),
    }));
    let sink = Arc::new(CheckingSink {
        runtime: OnceLock::new(),
        session: session.id,
        free_at_terminal: Mutex::new(Vec::new()),
    });
    let _ = sink.runtime.set(runtime.clone());
    let terminal = TerminalClaim::default();
    terminal.hold(runtime.reserve(session.id).expect("free before the turn"));
    assert!(
        runtime.reserve(session.id).is_none(),
        "reserved while the turn runs"
    );
    let request = TurnRequest {
        request_id: "r1".into(),
        session,
        message,
        model: None,
        images: Vec::new(),
        access: Access::anonymous("org"),
        skill: None,
    };
    runtime
        .run(
            request,
            TurnIo {
                client: None,
                sink: sink.clone(),
                terminal,
            },
        )
        .await;
    sink.free_at_terminal.lock().unwrap().clone()
}

#[tokio::test]
async fn the_session_is_free_when_eventual_response_is_sent() {
    let seen = run_turn(Ok(vec![StreamEvent::Text("hello".into())])).await;
    assert_eq!(seen, [("eventual_response".to_owned(), true)]);
}

#[tokio::test]
async fn the_session_is_free_when_a_failure_is_sent() {
    let seen = run_turn(Err(LlmError::RateLimited)).await;
    assert_eq!(seen, [("error".to_owned(), true)]);
}
