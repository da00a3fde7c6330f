//! [`Agent`]: an agent with tools that draws on a [`SharedPool`].
//!
//! [`Agent::run`] drives the core's [`AgentRun`]: the core decides what to send,
//! what to reserve and settle, when to retry or wait, which tool calls are valid
//! and when the run ends; this module sends, runs the tools (a batch
//! concurrently), sleeps, and holds the pool's lock only inside each core call.
//! Dropping a run's future mid-run cancels it: a held reservation is released.

use crate::client::Client;
use crate::drive::{perform, Machine};
use crate::error::Error;
use crate::pool::SharedPool;
use crate::time::{fresh_seed, now_ms, sleep_until_ms};
use crate::tool::Tool;
use creditpool_core::agent::{AgentAction, AgentConfig, AgentRun, Outcome, ToolCall, ToolResult, WaitReason};
use creditpool_core::api::{MessageParam, MessageRequest, Metadata, StreamEvent, TextOrBlocks, ToolSpec};
use creditpool_core::call::ReadBody;
use creditpool_core::http::Headers;
use creditpool_core::money::Money;
use creditpool_core::pricing::EstimateMode;
use creditpool_core::retry::Failure;
use futures_util::FutureExt;
use std::collections::HashMap;
use std::panic::AssertUnwindSafe;
use std::sync::Arc;
use std::time::Duration;

/// The default `max_tokens` of an agent's requests.
pub const DEFAULT_MAX_TOKENS: u32 = 1024;

/// Something that happened during a run, for display or logging.
#[derive(Clone, Debug, PartialEq)]
#[non_exhaustive]
#[allow(clippy::large_enum_variant)] // transient values, handed out by reference
pub enum AgentEvent {
    /// A request is being sent (its reservation is held). `send` counts this
    /// run's requests from 0, retries included.
    Sending {
        /// The request's number in this run.
        send: u32,
    },
    /// An event of a streamed response. When `send` changes mid-turn, the
    /// earlier attempt failed and the response starts over.
    Stream {
        /// The request it belongs to.
        send: u32,
        /// The event.
        event: StreamEvent,
    },
    /// A tool is about to run.
    ToolCall(ToolCall),
    /// A tool has returned.
    ToolResult {
        /// The call.
        call: ToolCall,
        /// Its result (`is_error` if the tool failed).
        result: ToolResult,
    },
    /// The run sleeps: a retry's backoff, or the pool's rate limit.
    Wait {
        /// Until when, Unix ms.
        until_ms: u64,
        /// Why.
        reason: WaitReason,
    },
}

type EventFn = Arc<dyn Fn(&AgentEvent) + Send + Sync>;

/// An agent: a model, tools and limits, drawing on a pool. Cheap to clone;
/// runs may go on concurrently.
///
/// ```no_run
/// # async fn demo() -> Result<(), creditpool::Error> {
/// use creditpool::{Agent, Client, Money, PoolConfig, RunStatus, SharedPool, Tool};
/// use serde_json::json;
///
/// let client = Client::new()?; // ANTHROPIC_API_KEY
/// let pool = SharedPool::new(PoolConfig::new(Money::from_usd(1).unwrap_or(Money::ZERO)))?;
/// let search = Tool::new(
///     "search_database",
///     "Query the product inventory database.",
///     json!({"type": "object", "properties": {"query": {"type": "string"}}, "required": ["query"]}),
///     |input| async move { Ok::<_, String>(format!("3 products match {}", input["query"])) },
/// );
/// let agent = Agent::builder(&client, &pool)
///     .agent_id("researcher")
///     .model("claude-haiku-4-5")
///     .tool(search)
///     .max_turns(6)
///     .build()?;
/// let outcome = agent.run("Find products under $50").await?;
/// match &outcome.status {
///     RunStatus::Completed => println!("{}", outcome.final_text),
///     other => println!("ended: {other:?}"),
/// }
/// println!("cost {}", outcome.total_cost);
/// # Ok(()) }
/// ```
#[derive(Clone)]
pub struct Agent {
    inner: Arc<AgentInner>,
}

struct AgentInner {
    client: Client,
    pool: SharedPool,
    config: AgentConfig,
    template: MessageRequest,
    tools: HashMap<String, Tool>,
    on_event: Option<EventFn>,
}

impl std::fmt::Debug for Agent {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Agent")
            .field("config", &self.inner.config)
            .field("model", &self.inner.template.model)
            .field("tools", &self.inner.tools.keys().collect::<Vec<_>>())
            .finish_non_exhaustive()
    }
}

impl Agent {
    /// A builder for an agent on `client` and `pool`.
    pub fn builder(client: &Client, pool: &SharedPool) -> AgentBuilder {
        AgentBuilder {
            client: client.clone(),
            pool: pool.clone(),
            config: AgentConfig::default(),
            template: MessageRequest::new("", DEFAULT_MAX_TOKENS, ""),
            tools: Vec::new(),
            on_event: None,
        }
    }

    /// The agent's name in the pool.
    pub fn agent_id(&self) -> &str {
        &self.inner.config.agent_id
    }

    /// The pool it draws on.
    pub fn pool(&self) -> &SharedPool {
        &self.inner.pool
    }

    /// The client it calls with.
    pub fn client(&self) -> &Client {
        &self.inner.client
    }

    /// Runs the agent on a prompt until the model finishes, a limit or the pool
    /// stops it, or a call fails for good. Every one of those is an [`Outcome`]
    /// (see its `status`); `Err` means the run could not start (an invalid
    /// request or tool).
    pub async fn run(&self, prompt: impl Into<String>) -> Result<Outcome, Error> {
        self.run_messages(vec![MessageParam::user(prompt)]).await
    }

    /// Runs the agent on a conversation (the last turn the user's).
    pub async fn run_messages(&self, messages: Vec<MessageParam>) -> Result<Outcome, Error> {
        let inner = &*self.inner;
        let mut request = inner.template.clone();
        request.messages = messages;
        let mut config = inner.config.clone();
        config.call.jitter_seed = fresh_seed();
        let max_body = config.call.max_body_bytes;
        let run = AgentRun::new(config, request, inner.client.request_builder().clone(), Arc::clone(inner.client.prices()))?;
        let mut guard = RunGuard { run, pool: inner.pool.clone() };
        let io = inner.client.io(max_body);
        let mut sends = 0u32;
        loop {
            let action = inner.pool.with(|p| guard.run.next_action(p, now_ms()));
            match action {
                AgentAction::Send(http) => {
                    let send = sends;
                    sends = sends.saturating_add(1);
                    self.emit(|| AgentEvent::Sending { send });
                    let mut machine = Pooled { run: &mut guard.run, pool: &inner.pool };
                    let mut on_events = |events: Vec<StreamEvent>| {
                        for event in events {
                            self.emit(|| AgentEvent::Stream { send, event });
                        }
                    };
                    perform(&io, &mut machine, http, &mut on_events).await;
                }
                AgentAction::CallTools(calls) => {
                    let results = self.call_tools(calls).await;
                    guard.run.handle_tool_results(results);
                }
                AgentAction::Wait { until_ms, reason } => {
                    self.emit(|| AgentEvent::Wait { until_ms, reason });
                    sleep_until_ms(until_ms).await;
                }
                AgentAction::Done => break,
            }
        }
        guard.run.outcome().ok_or(Error::NoResult)
    }

    fn emit(&self, event: impl FnOnce() -> AgentEvent) {
        if let Some(f) = &self.inner.on_event {
            f(&event());
        }
    }

    /// Runs a batch of tool calls concurrently; results in the calls' order.
    async fn call_tools(&self, calls: Vec<ToolCall>) -> Vec<ToolResult> {
        let runs = calls.into_iter().map(|call| async move {
            self.emit(|| AgentEvent::ToolCall(call.clone()));
            let result = match self.inner.tools.get(&call.name) {
                None => ToolResult::error(call.id.clone(), format!("No handler is registered for the tool \"{}\".", call.name)),
                Some(tool) => match AssertUnwindSafe(tool.call(call.input.clone())).catch_unwind().await {
                    Ok(Ok(out)) => ToolResult { tool_use_id: call.id.clone(), content: out.0, is_error: false },
                    Ok(Err(message)) => ToolResult::error(call.id.clone(), message),
                    Err(_) => ToolResult::error(call.id.clone(), format!("The tool \"{}\" failed unexpectedly (it panicked).", call.name)),
                },
            };
            self.emit(|| AgentEvent::ToolResult { call, result: result.clone() });
            result
        });
        futures_util::future::join_all(runs).await
    }
}

/// Owns a run; if it is dropped before the run is done (the future was
/// dropped), cancels the run, releasing a held reservation.
struct RunGuard {
    run: AgentRun,
    pool: SharedPool,
}

impl Drop for RunGuard {
    fn drop(&mut self) {
        if !self.run.is_done() {
            let run = &mut self.run;
            self.pool.with(|p| run.cancel(p, now_ms()));
        }
    }
}

/// An agent run and its pool, as the attempt driver sees them.
struct Pooled<'a> {
    run: &'a mut AgentRun,
    pool: &'a SharedPool,
}

impl Machine for Pooled<'_> {
    fn handle_head(&mut self, status: u16, headers: &Headers, now_ms: u64) -> ReadBody {
        self.run.handle_head(status, headers, now_ms)
    }
    fn handle_body(&mut self, body: &[u8], now_ms: u64) {
        let run = &mut *self.run;
        self.pool.with(|p| run.handle_body(p, body, now_ms));
    }
    fn handle_chunk(&mut self, bytes: &[u8], now_ms: u64) -> Vec<StreamEvent> {
        let run = &mut *self.run;
        self.pool.with(|p| run.handle_chunk(p, bytes, now_ms))
    }
    fn handle_end(&mut self, now_ms: u64) -> Vec<StreamEvent> {
        let run = &mut *self.run;
        self.pool.with(|p| run.handle_end(p, now_ms))
    }
    fn handle_transport_error(&mut self, failure: Failure, now_ms: u64) {
        let run = &mut *self.run;
        self.pool.with(|p| run.handle_transport_error(p, failure, now_ms));
    }
    fn is_reading(&self) -> bool {
        self.run.is_reading()
    }
    fn deadline(&self) -> Option<u64> {
        self.run.deadline()
    }
}

/// Builds an [`Agent`]. `model` is required.
pub struct AgentBuilder {
    client: Client,
    pool: SharedPool,
    config: AgentConfig,
    template: MessageRequest,
    tools: Vec<Tool>,
    on_event: Option<EventFn>,
}

impl std::fmt::Debug for AgentBuilder {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AgentBuilder").field("config", &self.config).field("model", &self.template.model).finish_non_exhaustive()
    }
}

impl AgentBuilder {
    /// The agent's name in the pool (its caps, rate limits and report line);
    /// default `"default"`.
    pub fn agent_id(mut self, id: impl Into<String>) -> Self {
        self.config.agent_id = id.into();
        self
    }

    /// The model (required).
    pub fn model(mut self, model: impl Into<String>) -> Self {
        self.template.model = model.into();
        self
    }

    /// `max_tokens` of each request (also what the pool reserves for output);
    /// default 1024.
    pub fn max_tokens(mut self, max_tokens: u32) -> Self {
        self.template.max_tokens = max_tokens;
        self
    }

    /// The system prompt.
    pub fn system(mut self, system: impl Into<String>) -> Self {
        self.template.system = Some(TextOrBlocks::Text(system.into()));
        self
    }

    /// `metadata.user_id` of each request (an opaque end-user ID).
    pub fn user_id(mut self, user_id: impl Into<String>) -> Self {
        self.template.metadata = Some(Metadata { user_id: Some(user_id.into()), ..Metadata::default() });
        self
    }

    /// Every other request parameter, from a request: its model, `max_tokens`,
    /// system prompt, sampling options, server tools, ... Its messages are
    /// replaced by each run's; the builder's tools are added to its tools.
    pub fn request_template(mut self, mut request: MessageRequest) -> Self {
        request.messages.clear();
        self.template = request;
        self
    }

    /// Adds a tool.
    pub fn tool(mut self, tool: Tool) -> Self {
        self.tools.push(tool);
        self
    }

    /// Adds tools.
    pub fn tools(mut self, tools: impl IntoIterator<Item = Tool>) -> Self {
        self.tools.extend(tools);
        self
    }

    /// The most model calls in one run; default 16.
    pub fn max_turns(mut self, max_turns: u32) -> Self {
        self.config.max_turns = max_turns;
        self
    }

    /// The most one run may spend; the run ends before a request whose worst
    /// case does not fit.
    pub fn max_spend(mut self, max_spend: Money) -> Self {
        self.config.max_spend = Some(max_spend);
        self
    }

    /// Whether responses are streamed (default `false`). Streaming shows
    /// progress ([`AgentEvent::Stream`]) and is timed by the idle timeout.
    pub fn streaming(mut self, on: bool) -> Self {
        self.config.call.stream = on;
        self
    }

    /// How reservations are sized; default a true upper bound.
    pub fn estimate(mut self, mode: EstimateMode) -> Self {
        self.config.estimate = mode;
        self
    }

    /// The lease of each reservation; default the pool's.
    pub fn lease(mut self, lease: Duration) -> Self {
        self.config.lease_ms = Some(u64::try_from(lease.as_millis()).unwrap_or(u64::MAX));
        self
    }

    /// Calls `f` with every [`AgentEvent`] of every run.
    pub fn on_event(mut self, f: impl Fn(&AgentEvent) + Send + Sync + 'static) -> Self {
        self.on_event = Some(Arc::new(f));
        self
    }

    /// The agent. Checks the tools and the request now, before anything is
    /// spent.
    pub fn build(self) -> Result<Agent, Error> {
        if self.template.model.trim().is_empty() {
            return Err(Error::Config { reason: "the agent needs a model: call .model(...)".into() });
        }
        let mut config = self.config;
        let client_call = self.client.call_options(config.call.stream);
        config.call = client_call;
        let mut template = self.template;
        let mut tools = HashMap::new();
        for tool in self.tools {
            template.tools.push(ToolSpec::Custom(tool.definition().clone()));
            tools.insert(tool.name().to_owned(), tool);
        }
        AgentRun::new(config.clone(), template.clone(), self.client.request_builder().clone(), Arc::clone(self.client.prices()))?;
        Ok(Agent { inner: Arc::new(AgentInner { client: self.client, pool: self.pool, config, template, tools, on_event: self.on_event }) })
    }
}
