//! The agent runtime: everything turns share, and the planning of each turn.

use crate::config::{AgentFile, AgentProfile};
use crate::llm::{ChatMessage, ImageRef, LlmProvider};
use crate::tools::{ConfirmPolicy, KNOWLEDGE_SEARCH, KnowledgeSearch, ToolRegistry};
use crate::turn::{self, EventSink, Parking, TerminalClaim, TurnEnv, TurnPlan, prompt};
use std::collections::HashSet;
use std::sync::{Arc, Mutex};
use std::time::Duration;
use switchboard_core::{Message, Session, SessionId, Store};
use switchboard_knowledge::{Access, Retriever};
use switchboard_protocol::{ErrorCode, Event};

/// Passages retrieved for every user message and given to the model.
const AUTO_RETRIEVED: usize = 3;

/// Turn limits from the server's configuration.
#[derive(Debug, Clone)]
pub struct RuntimeSettings {
    /// Used when neither the turn nor the agent names a model.
    pub model: String,
    pub max_iterations: u32,
    pub max_tokens: u32,
    /// How much conversation history a turn replays, in estimated tokens.
    pub history_tokens: usize,
    /// How long a turn waits for a human to approve a tool call.
    pub confirm_timeout: Duration,
}

/// Shared by every turn of the server.
pub struct AgentRuntime {
    env: TurnEnv,
    retriever: Retriever,
    tools: ToolRegistry,
    file: AgentFile,
    settings: RuntimeSettings,
    busy: Arc<Mutex<HashSet<SessionId>>>,
}

/// One `send_message`, after validation. The user's message is already stored.
pub struct TurnRequest {
    pub request_id: String,
    pub session: Session,
    pub message: Message,
    /// The turn's own model override.
    pub model: Option<String>,
    pub images: Vec<ImageRef>,
    pub access: Access,
}

/// Held while a session's turn runs; a second turn on the session is refused.
pub struct BusyGuard {
    busy: Arc<Mutex<HashSet<SessionId>>>,
    session: SessionId,
}

impl Drop for BusyGuard {
    fn drop(&mut self) {
        self.busy
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .remove(&self.session);
    }
}

impl AgentRuntime {
    /// Builds the runtime over an already-filled knowledge base.
    pub fn new(
        llm: Arc<dyn LlmProvider>,
        store: Arc<dyn Store>,
        retriever: Retriever,
        file: AgentFile,
        env_confirm_tools: &[String],
        settings: RuntimeSettings,
    ) -> Self {
        let mut tools = ToolRegistry::from_config(&file.tools);
        tools.add(Arc::new(KnowledgeSearch::new(retriever.clone())));
        let env = TurnEnv {
            llm,
            store,
            confirm: Arc::new(ConfirmPolicy::new(&file.confirm_tools, env_confirm_tools)),
            parking: Parking::default(),
            confirm_timeout: settings.confirm_timeout,
        };
        Self {
            env,
            retriever,
            tools,
            file,
            settings,
            busy: Arc::default(),
        }
    }

    pub fn parking(&self) -> &Parking {
        &self.env.parking
    }

    pub fn retriever(&self) -> &Retriever {
        &self.retriever
    }

    pub fn llm_label(&self) -> String {
        self.env.llm.label()
    }

    /// The display name of an agent, when its profile gives one.
    pub fn agent_name(&self, agent_id: &str) -> Option<String> {
        self.file.agent(agent_id).and_then(|a| a.name.clone())
    }

    /// Reserves the session for one turn; `None` while another turn runs on it.
    pub fn reserve(&self, session: SessionId) -> Option<BusyGuard> {
        let mut busy = self.busy.lock().unwrap_or_else(|e| e.into_inner());
        busy.insert(session).then(|| BusyGuard {
            busy: self.busy.clone(),
            session,
        })
    }

    /// Plans and runs a turn to its terminal event.
    pub async fn run(
        &self,
        request: TurnRequest,
        sink: Arc<dyn EventSink>,
        terminal: TerminalClaim,
    ) {
        let request_id = request.request_id.clone();
        match self.plan(request).await {
            Ok(plan) => turn::run(plan, self.env.clone(), sink, terminal).await,
            Err(e) => {
                tracing::error!(request_id, error = %e, "could not load the conversation for a turn");
                if terminal.claim() {
                    terminal.release();
                    let _ = sink
                        .send(Event::error(
                            Some(request_id),
                            ErrorCode::StorageError,
                            "The conversation could not be loaded; try again.",
                        ))
                        .await;
                }
            }
        }
    }

    /// Resolves model, limits, prompt, memory, knowledge and tools for a turn.
    async fn plan(&self, request: TurnRequest) -> Result<TurnPlan, switchboard_core::StoreError> {
        let profile = self.file.agent(request.session.agent_id.as_str());
        let model = request
            .model
            .or_else(|| profile.and_then(|p| p.model.clone()))
            .unwrap_or_else(|| self.settings.model.clone());
        let max_iterations = profile
            .and_then(|p| p.max_iterations)
            .unwrap_or(self.settings.max_iterations);
        let grounding = self
            .retriever
            .retrieve(&request.message.text, &request.access, AUTO_RETRIEVED)
            .await;
        let mut transcript = vec![ChatMessage::system(instructions(profile))];
        transcript.extend(prompt::knowledge_message(&grounding));
        transcript.extend(
            prompt::history(
                &*self.env.store,
                request.session.conversation_id,
                request.message.id,
                self.settings.history_tokens,
            )
            .await?,
        );
        transcript.push(ChatMessage::User {
            content: request.message.text.clone(),
            images: request.images,
        });
        let mut tools = self.tools.allowed(profile.and_then(|p| p.tools.as_deref()));
        if self.retriever.index().document_count() == 0 {
            tools.retain(|t| t.spec().name != KNOWLEDGE_SEARCH);
        }
        Ok(TurnPlan {
            request_id: request.request_id,
            session: request.session,
            model,
            max_iterations,
            max_tokens: self.settings.max_tokens,
            transcript,
            grounding,
            tools,
            access: request.access,
        })
    }
}

fn instructions(profile: Option<&AgentProfile>) -> String {
    profile
        .and_then(|p| p.instructions.clone())
        .filter(|i| !i.trim().is_empty())
        .unwrap_or_else(|| prompt::DEFAULT_INSTRUCTIONS.to_owned())
}
