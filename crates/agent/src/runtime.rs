//! The agent runtime: everything turns share, and the planning of each turn.

use crate::config::{AgentFile, AgentProfile};
use crate::contact;
use crate::interactions::Kind;
use crate::llm::{ChatMessage, ImageRef, LlmProvider};
use crate::mcp::McpTools;
use crate::observe::{self, Observe};
use crate::otp::OtpService;
use crate::skills::SkillLibrary;
use crate::tools::{ConfirmPolicy, KNOWLEDGE_SEARCH, KnowledgeSearch, ToolRegistry};
use crate::turn::state::{STATE_VERSION, TurnState};
use crate::turn::{self, Parked, Parking, Resolution, TurnEnv, TurnIo, TurnTools, prompt};
use std::collections::HashSet;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};
use switchboard_core::{Message, Session, SessionId, Store, StoreError};
use switchboard_knowledge::{Access, Retriever};
use switchboard_protocol::ErrorCode;
use tracing::Instrument;

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
    /// How long a parked turn waits for its answer before it expires.
    pub park_ttl: Duration,
    /// `SMOOTH_AGENT_TURN_TIMEOUT_SECS`: the most a turn works between human answers.
    pub turn_timeout: Duration,
    /// The model that judges workflow steps; `None` turns judging off.
    pub judge_model: Option<String>,
}

/// Shared by every turn of the server.
pub struct AgentRuntime {
    env: TurnEnv,
    retriever: Retriever,
    tools: ToolRegistry,
    file: AgentFile,
    settings: RuntimeSettings,
    skills: SkillLibrary,
    /// Each agent's tools from its MCP servers.
    mcp: McpTools,
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
    /// A skill invoked for this turn: (name, body).
    pub skill: Option<(String, String)>,
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

/// What the runtime is built from.
pub struct RuntimeParts {
    pub llm: Arc<dyn LlmProvider>,
    pub store: Arc<dyn Store>,
    /// An already-filled knowledge base.
    pub retriever: Retriever,
    pub file: AgentFile,
    /// `SMOOTH_AGENT_CONFIRM_TOOLS` substrings.
    pub env_confirm_tools: Vec<String>,
    pub otp: Option<Arc<dyn OtpService>>,
    pub skills: SkillLibrary,
    pub settings: RuntimeSettings,
    /// The agents' MCP servers, already started ([`McpTools::start`]).
    pub mcp: McpTools,
}

impl AgentRuntime {
    pub fn new(parts: RuntimeParts) -> Self {
        let RuntimeParts {
            llm,
            store,
            retriever,
            file,
            env_confirm_tools,
            otp,
            skills,
            settings,
            mcp,
        } = parts;
        let mut tools = ToolRegistry::from_config(&file.tools);
        tools.add(Arc::new(KnowledgeSearch::new(retriever.clone())));
        let env = TurnEnv {
            llm,
            store,
            confirm: Arc::new(ConfirmPolicy::new(&file.confirm_tools, &env_confirm_tools)),
            parking: Parking::default(),
            park_ttl: settings.park_ttl,
            turn_timeout: settings.turn_timeout,
            otp,
            workflows: Arc::new(
                file.agents
                    .iter()
                    .filter_map(|a| a.workflow.clone().map(|w| (a.id.clone(), w)))
                    .collect(),
            ),
            judge_model: settings.judge_model.clone(),
            observe: Observe::default(),
            handoff: None,
            handoff_policies: Arc::new(
                file.agents
                    .iter()
                    .filter_map(|a| a.handoff.clone().map(|h| (a.id.clone(), h)))
                    .collect(),
            ),
        };
        Self {
            env,
            retriever,
            tools,
            file,
            settings,
            skills,
            mcp,
            busy: Arc::default(),
        }
    }

    /// The runtime reporting its measurements to `observe`.
    pub fn observed(mut self, observe: Observe) -> Self {
        self.env.observe = observe;
        self
    }

    /// The runtime handing conversations to a person through `desk`.
    pub fn with_handoff(mut self, desk: Arc<dyn crate::handoff::HandoffDesk>) -> Self {
        self.env.handoff = Some(desk);
        self
    }

    /// The body of skill `name`, if this server has it.
    pub fn skill(&self, name: &str) -> Option<String> {
        self.skills.resolve(name)
    }

    /// Each agent's tools from its MCP servers.
    pub fn mcp(&self) -> &McpTools {
        &self.mcp
    }

    pub fn parking(&self) -> &Parking {
        &self.env.parking
    }

    pub fn retriever(&self) -> &Retriever {
        &self.retriever
    }

    pub fn otp(&self) -> Option<&Arc<dyn OtpService>> {
        self.env.otp.as_ref()
    }

    pub fn llm_label(&self) -> String {
        self.env.llm.label()
    }

    /// The agent a client's `agentId` names (see [`AgentFile::resolve`]).
    pub fn resolve_agent(&self, agent_id: &str) -> Option<switchboard_core::AgentId> {
        self.file.resolve(agent_id)
    }

    /// The UUID a stored agent id stands for on the wire (see [`AgentFile::wire_id`]).
    pub fn wire_agent_id(&self, stored: &str) -> switchboard_core::AgentId {
        self.file.wire_id(stored)
    }

    /// The display name of an agent, when its profile gives one.
    pub fn agent_name(&self, agent_id: &str) -> Option<String> {
        self.file.agent(agent_id).and_then(|a| a.name.clone())
    }

    /// The agents the configuration file defines, in file order.
    pub fn agents(&self) -> &[AgentProfile] {
        &self.file.agents
    }

    /// Reserves the session for one turn; `None` while another turn runs on it.
    pub fn reserve(&self, session: SessionId) -> Option<BusyGuard> {
        let mut busy = self.busy.lock().unwrap_or_else(|e| e.into_inner());
        busy.insert(session).then(|| BusyGuard {
            busy: self.busy.clone(),
            session,
        })
    }

    /// Plans and runs a turn to its terminal event, inside its spans (see
    /// [`crate::observe`]).
    pub async fn run(&self, request: TurnRequest, io: TurnIo) {
        let started = Instant::now();
        let log = observe::turn_log_span(&request.session.id.to_string(), &request.request_id);
        let chat = log.in_scope(|| {
            observe::chat_span(
                &request.session.conversation_id.to_string(),
                request.session.org_id.as_str(),
            )
        });
        let end = self
            .plan_and_run(request, io, started)
            .instrument(chat)
            .instrument(log)
            .await;
        if let Some(end) = end {
            self.env.observe.turn_ended(end, started.elapsed());
        }
    }

    async fn plan_and_run(
        &self,
        request: TurnRequest,
        io: TurnIo,
        started: Instant,
    ) -> Option<observe::TurnEnd> {
        let request_id = request.request_id.clone();
        // A visitor who asks for a person gets one, without asking the model.
        if let Some(policy) = self
            .file
            .agent(request.session.agent_id.as_str())
            .and_then(|p| p.handoff.as_ref())
            .filter(|p| p.asked_for_person(&request.message.text))
        {
            match crate::handoff::answer_request(&self.env, &request, policy, &io).await {
                Ok(true) => return Some(observe::TurnEnd::Answered),
                Ok(false) => {}
                Err(crate::turn::TurnError::Store(e)) => {
                    self.env.observe.store_error("turn");
                    tracing::error!(request_id, error = %e, "could not hand a conversation over");
                    let code = ErrorCode::StorageError;
                    return io
                        .fail(
                            request_id,
                            code,
                            "The conversation could not be saved; try again.".into(),
                        )
                        .await
                        .then_some(observe::TurnEnd::Failed(code));
                }
                Err(_) => return Some(observe::TurnEnd::Abandoned),
            }
        }
        // Planning (retrieval, with its gateway calls) gets the turn's deadline too.
        let (code, message) = match tokio::time::timeout(self.env.turn_timeout, self.plan(request))
            .await
        {
            Ok(Ok((state, tools))) => {
                tracing::Span::current().record("gen_ai.request.model", state.model.as_str());
                return turn::run(state, tools, self.env.clone(), io, started).await;
            }
            Ok(Err(e)) => {
                self.env.observe.store_error("turn");
                tracing::error!(request_id, error = %e, "could not load the conversation for a turn");
                (
                    ErrorCode::StorageError,
                    "The conversation could not be loaded; try again.".to_owned(),
                )
            }
            Err(_) => {
                let timeout = crate::llm::LlmError::Timeout("turn deadline");
                tracing::warn!(request_id, "planning the turn passed its deadline");
                (timeout.code(), timeout.safe_message())
            }
        };
        io.fail(request_id, code, message)
            .await
            .then_some(observe::TurnEnd::Failed(code))
    }

    /// Continues a stored parked turn with the human's answer, on this connection.
    pub async fn resume(&self, parked: Parked, resolution: Resolution, io: TurnIo) {
        let started = Instant::now();
        let mut state = parked.turn;
        state.resolution = Some(resolution);
        let tools = self.tools_named(&state.agent_id, &state.tools);
        let log = observe::turn_log_span(&state.session_id.to_string(), &state.request_id);
        let chat = log.in_scope(|| {
            observe::chat_span(
                &state.conversation_id.to_string(),
                state.access.org.as_deref().unwrap_or_default(),
            )
        });
        chat.record("gen_ai.request.model", state.model.as_str());
        let end = turn::run(state, tools, self.env.clone(), io, started)
            .instrument(chat)
            .instrument(log)
            .await;
        if let Some(end) = end {
            self.env.observe.turn_ended(end, started.elapsed());
        }
    }

    /// Resolves model, limits, prompt, memory, knowledge and tools for a turn.
    async fn plan(&self, request: TurnRequest) -> Result<(TurnState, TurnTools), StoreError> {
        let session = &request.session;
        let profile = self.file.agent(session.agent_id.as_str());
        let model = request
            .model
            .or_else(|| profile.and_then(|p| p.model.clone()))
            .unwrap_or_else(|| self.settings.model.clone());
        let max_iterations = profile
            .and_then(|p| p.max_iterations)
            .unwrap_or(self.settings.max_iterations);
        let retrieving = Instant::now();
        let grounding = self
            .retriever
            .retrieve(&request.message.text, &request.access, AUTO_RETRIEVED)
            .instrument(tracing::info_span!("retrieval", limit = AUTO_RETRIEVED))
            .await;
        self.env.observe.retrieval(retrieving.elapsed());
        let history = prompt::history(
            &*self.env.store,
            session.conversation_id,
            request.message.id,
            self.settings.history_tokens,
        )
        .await?;
        let persona = match self.env.store.get_org_settings(&session.org_id).await? {
            Some(settings)
                if settings
                    .persona
                    .as_deref()
                    .is_some_and(|p| !p.trim().is_empty()) =>
            {
                settings.persona
            }
            _ => profile.and_then(|p| p.personality.clone()),
        };
        let workflow = match profile.and_then(|p| p.workflow.as_ref()) {
            Some(workflow) => {
                let conversation = self
                    .env
                    .store
                    .get_conversation(session.conversation_id)
                    .await?;
                let metadata = conversation.map(|c| c.metadata).unwrap_or_default();
                workflow.position(&metadata).map(|p| (workflow, p))
            }
            None => None,
        };
        let system = prompt::system_prompt(prompt::PromptParts {
            instructions: profile.and_then(|p| p.instructions.as_deref()),
            persona: persona.as_deref(),
            greeting: profile
                .and_then(|p| p.greeting.as_deref())
                .filter(|_| history.is_empty()),
            workflow: workflow.as_ref().map(|(w, p)| w.prompt_section(p)),
            skill: request
                .skill
                .as_ref()
                .map(|(n, b)| (n.as_str(), b.as_str())),
        });
        let suggestions = workflow
            .as_ref()
            .and_then(|(w, p)| w.step(&p.step))
            .map(|s| s.suggested_replies.clone())
            .unwrap_or_default();
        let mut transcript = vec![ChatMessage::system(system)];
        transcript.extend(prompt::knowledge_message(&grounding));
        transcript.extend(history);
        transcript.push(ChatMessage::User {
            content: request.message.text.clone(),
            images: request.images,
        });
        let knowledge = !self.retriever.is_empty().await;
        let agent_id = self.file.wire_id(session.agent_id.as_str()).to_string();
        let tools = self.offered_tools(&agent_id, profile, &session.supports, knowledge);
        let state = TurnState {
            version: STATE_VERSION,
            request_id: request.request_id,
            session_id: session.id,
            conversation_id: session.conversation_id,
            // The UUID, also for sessions stored under an agent's old text id, so
            // the agent's workflow (keyed by UUID) is found.
            agent_id,
            model,
            max_iterations,
            max_tokens: self.settings.max_tokens,
            transcript,
            tools,
            supports: session.supports.clone(),
            access: request.access,
            verified: contact::is_verified(session),
            internal_agent: profile.is_some_and(AgentProfile::internal),
            grounding,
            tool_hits: Vec::new(),
            iteration: 0,
            pending: Default::default(),
            usage: None,
            final_text: String::new(),
            streamed: String::new(),
            reasoning: String::new(),
            stashed_specs: Default::default(),
            refused_for_identity: Vec::new(),
            suggestions,
            workflow: workflow.map(|(_, p)| p),
            resolution: None,
            escalated: None,
        };
        let tools = self.tools_named(&state.agent_id, &state.tools);
        Ok((state, tools))
    }

    /// The names of the tools a turn offers: the agent's allowed configured tools,
    /// `knowledge_search` when there is knowledge, the interaction raise tools,
    /// `submit_interaction` when some interaction must fall back to conversation,
    /// and the tools of the agent's MCP servers.
    fn offered_tools(
        &self,
        agent_id: &str,
        profile: Option<&AgentProfile>,
        supports: &[String],
        knowledge: bool,
    ) -> Vec<String> {
        let fallback = Kind::ALL
            .iter()
            .any(|k| !supports.iter().any(|s| s == k.capability()));
        let mut names = allowed_names(self.tools.names(), profile, fallback);
        if !knowledge {
            names.retain(|n| n != KNOWLEDGE_SEARCH);
        }
        for tool in self.mcp.tools_for(agent_id) {
            let name = &tool.spec().name;
            if !names.contains(name) {
                names.push(name.clone());
            }
        }
        if self.env.handoff.is_some()
            && profile
                .and_then(|p| p.handoff.as_ref())
                .is_some_and(|h| h.tool)
        {
            names.push(crate::handoff::HANDOFF_TOOL.to_owned());
        }
        names
    }

    /// The tools of `names` for agent `agent_id`; its MCP tools come first, so a
    /// configured tool the agent may not use cannot shadow one of them.
    fn tools_named(&self, agent_id: &str, names: &[String]) -> TurnTools {
        let mut tools: TurnTools = self
            .mcp
            .tools_for(agent_id)
            .into_iter()
            .filter(|t| names.contains(&t.spec().name))
            .collect();
        tools.extend(self.tools.allowed(Some(names)));
        tools
    }
}

/// The configured and built-in tool names an agent is offered (before MCP), given
/// the configured tools' names and whether `submit_interaction` is needed.
fn allowed_names(
    configured: Vec<String>,
    profile: Option<&AgentProfile>,
    fallback: bool,
) -> Vec<String> {
    let mut names = configured;
    names.extend(Kind::ALL.iter().map(|k| k.raise_tool().to_owned()));
    if fallback {
        names.push(turn::SUBMIT_TOOL.to_owned());
    }
    if let Some(allowed) = profile.and_then(|p| p.tools.as_ref()) {
        names.retain(|n| allowed.contains(n));
    }
    names
}

/// Every tool name agent `profile` could be offered that is not from its MCP
/// servers: an MCP tool may not take one of these.
pub(crate) fn non_mcp_tool_names(file: &AgentFile, profile: &AgentProfile) -> Vec<String> {
    let mut configured: Vec<String> = file.tools.iter().map(|t| t.name.clone()).collect();
    configured.push(KNOWLEDGE_SEARCH.to_owned());
    allowed_names(configured, Some(profile), true)
}
