//! [`Agent`]: an agent with tools that draws on a pool through a
//! [`PoolStore`].
//!
//! [`Agent::run`] drives the core's [`AgentRun`]: the core decides what to send,
//! what to reserve, settle, release and renew, when to retry or wait, which
//! tool calls are valid, the words the model reads, and when the run ends;
//! this module applies the pool operations it asks for to the store, sends,
//! runs the tools (a batch concurrently) and sleeps. Dropping a run's future
//! mid-run cancels it ([`AgentRun::cancel`]): the pool operations the
//! cancellation asks for (closing a held reservation) are applied at once
//! with a store that answers at once, such as
//! [`SharedPool`](crate::SharedPool), else in a task on the current tokio
//! runtime.

use crate::client::Client;
use crate::drive::perform;
use crate::error::Error;
use crate::store::PoolStore;
use crate::time::{fresh_seed, now_ms, sleep_until_ms};
use crate::tool::Tool;
use creditpool_core::agent::{AgentAction, AgentConfig, AgentRun, AgentTexts, Outcome, ToolCall, ToolOutput as CoreToolOutput, ToolResult, WaitReason};
use creditpool_core::api::{MessageParam, MessageRequest, Metadata, StreamEvent, TextOrBlocks, ToolSpec};
use creditpool_core::call::RetryNotice;
use creditpool_core::money::Money;
use creditpool_core::pricing::EstimateMode;
use futures_util::FutureExt;
use std::collections::HashMap;
use std::panic::AssertUnwindSafe;
use std::sync::Arc;
use std::time::Duration;

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
    /// An event of a streamed response.
    Stream {
        /// The request it belongs to.
        send: u32,
        /// The event.
        event: StreamEvent,
    },
    /// The streamed response whose events were handed out failed and will be
    /// sent again from its start: discard what was shown. The core's notice
    /// (a `stream_retry` event as JSON: [`RetryNotice::to_event`]); a
    /// [`AgentEvent::Wait`] follows.
    StreamRetry(RetryNotice),
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
type ToolErrorFn = Arc<dyn Fn(&str) -> String + Send + Sync>;

/// An agent: a model, tools and limits, drawing on a pool. Cheap to clone;
/// runs may go on concurrently.
///
/// ```no_run
/// # async fn demo() -> Result<(), creditpool::Error> {
/// use creditpool::{Agent, Client, Money, OutcomeExt, PoolConfig, RunStatus, SharedPool, Tool};
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
/// match outcome.error() {
///     None => println!("{}", outcome.final_text),
///     Some(e) => println!("ended: {} ({e})", e.code()),
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
    store: Arc<dyn PoolStore>,
    config: AgentConfig,
    template: MessageRequest,
    tools: HashMap<String, Tool>,
    on_event: Option<EventFn>,
    tool_error: Option<ToolErrorFn>,
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
    /// A builder for an agent on `client` that draws on `store`: a
    /// [`SharedPool`](crate::SharedPool), or any other [`PoolStore`] (cloned;
    /// pass an `Arc` to share one).
    pub fn builder<S: PoolStore + Clone>(client: &Client, store: &S) -> AgentBuilder {
        AgentBuilder::new(client, Arc::new(store.clone()))
    }

    /// A builder for an agent on `client` that draws on a shared store.
    pub fn builder_with_store(client: &Client, store: Arc<dyn PoolStore>) -> AgentBuilder {
        AgentBuilder::new(client, store)
    }

    /// The agent's name in the pool.
    pub fn agent_id(&self) -> &str {
        &self.inner.config.agent_id
    }

    /// The pool store it draws on.
    pub fn pool_store(&self) -> &Arc<dyn PoolStore> {
        &self.inner.store
    }

    /// The client it calls with.
    pub fn client(&self) -> &Client {
        &self.inner.client
    }

    /// The run's configuration (the core's: limits, call options, words).
    pub fn config(&self) -> &AgentConfig {
        &self.inner.config
    }

    /// Runs the agent on a prompt until the model finishes, a limit or the pool
    /// stops it, or a call fails for good. Every one of those is an [`Outcome`]
    /// (see its `status`, and [`OutcomeExt::error`] for a typed error); `Err`
    /// means the run could not start (an invalid request or tool) or the pool
    /// store failed ([`Error::Store`]).
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
        let mut guard = RunGuard { run, store: Arc::clone(&inner.store), finished: false };
        let io = inner.client.io(max_body, Some(&*inner.store));
        let mut sends = 0u32;
        // What each failed tool said (its display chain), by call ID: kept
        // on the turn record that asked for the call, never serialized.
        let mut failures: HashMap<String, String> = HashMap::new();
        loop {
            match guard.run.next_action(now_ms()) {
                AgentAction::Pool(op) => {
                    let result = inner.store.apply(op).await?;
                    guard.run.handle_pool(result, now_ms());
                }
                AgentAction::Send(http) => {
                    let send = sends;
                    sends = sends.saturating_add(1);
                    self.emit(|| AgentEvent::Sending { send });
                    let mut on_events = |events: Vec<StreamEvent>| {
                        for event in events {
                            self.emit(|| AgentEvent::Stream { send, event });
                        }
                    };
                    perform(&io, &mut guard.run, http, &mut on_events).await?;
                }
                AgentAction::CallTools(calls) => {
                    let (results, failed) = self.call_tools(&guard.run, calls).await;
                    failures.extend(failed);
                    guard.run.handle_tool_results(results);
                }
                AgentAction::Wait { until_ms, reason, retry } => {
                    if let Some(notice) = retry {
                        self.emit(|| AgentEvent::StreamRetry(notice));
                    }
                    self.emit(|| AgentEvent::Wait { until_ms, reason });
                    sleep_until_ms(until_ms).await;
                }
                AgentAction::Done => break,
            }
        }
        guard.finished = true;
        let mut outcome = guard.run.outcome().ok_or(Error::NoResult)?;
        for failure in outcome.turns.iter_mut().flat_map(|t| t.tool_failures.iter_mut()) {
            failure.error = failures.remove(&failure.call_id);
        }
        Ok(outcome)
    }

    fn emit(&self, event: impl FnOnce() -> AgentEvent) {
        if let Some(f) = &self.inner.on_event {
            f(&event());
        }
    }

    /// Runs a batch of tool calls concurrently; results in the calls' order,
    /// each made by the run from what its tool did, and what each failed
    /// tool said (its error's display chain) by call ID.
    async fn call_tools(&self, run: &AgentRun, calls: Vec<ToolCall>) -> (Vec<ToolResult>, Vec<(String, String)>) {
        let runs = calls.into_iter().map(|call| async move {
            self.emit(|| AgentEvent::ToolCall(call.clone()));
            let mut failure = None;
            let output = match self.inner.tools.get(&call.name) {
                None => CoreToolOutput::Unknown,
                Some(tool) => match AssertUnwindSafe(tool.call(call.input.clone())).catch_unwind().await {
                    Ok(Ok(out)) => out.into_core(),
                    Ok(Err(error)) => {
                        // Logged for the developer; the model reads the core's
                        // words, which by default do not show the error.
                        tracing::warn!(target: "creditpool::agent", agent = %self.inner.config.agent_id, tool = %call.name, call_id = %call.id, error = %error, "tool failed");
                        let text = self.error_text(&error);
                        failure = Some((call.id.clone(), error));
                        CoreToolOutput::Failed(text)
                    }
                    Err(panic) => {
                        let error = panic_message(panic.as_ref());
                        tracing::warn!(target: "creditpool::agent", agent = %self.inner.config.agent_id, tool = %call.name, call_id = %call.id, error = %error, "tool panicked");
                        let text = self.error_text(&error);
                        failure = Some((call.id.clone(), error));
                        CoreToolOutput::Failed(text)
                    }
                },
            };
            let result = run.tool_result(&call, output);
            self.emit(|| AgentEvent::ToolResult { call, result: result.clone() });
            (result, failure)
        });
        let (results, failures): (Vec<ToolResult>, Vec<Option<(String, String)>>) = futures_util::future::join_all(runs).await.into_iter().unzip();
        (results, failures.into_iter().flatten().collect())
    }

    /// The `{error}` text of a failed tool: the caller's formatter's, else
    /// the error's own (the model reads it only if the run's words ask for
    /// `{error}`). A formatter that panics shows nothing of the error.
    fn error_text(&self, error: &str) -> String {
        match &self.inner.tool_error {
            None => error.to_owned(),
            Some(f) => std::panic::catch_unwind(AssertUnwindSafe(|| f(error))).unwrap_or_default(),
        }
    }
}

/// A panic's message, as the error a failed tool reports.
fn panic_message(payload: &(dyn std::any::Any + Send)) -> String {
    let text = payload.downcast_ref::<&str>().map(|s| (*s).to_owned()).or_else(|| payload.downcast_ref::<String>().cloned());
    format!("panic: {}", text.unwrap_or_default())
}

/// The typed view of a run's [`Outcome`].
pub trait OutcomeExt {
    /// The error a run that ended without an answer ended with (a failed
    /// call, with its code, HTTP status and partial message; a pool refusal;
    /// `max_turns`; the run's budget; an invalid request), or `None` for a
    /// run that completed, stopped for a stop reason, or was cancelled. See
    /// [`Error::from_run_status`].
    fn error(&self) -> Option<Error>;
}

impl OutcomeExt for Outcome {
    fn error(&self) -> Option<Error> {
        Error::from_run_status(&self.status)
    }
}

/// Owns a run. If it is dropped before the run is done (the future was
/// dropped, or the store failed), cancels the run and applies what the
/// cancellation asks of the pool (closing a held reservation, a settle not
/// yet applied): at once if the store answers at once, else in a task.
struct RunGuard {
    run: AgentRun,
    store: Arc<dyn PoolStore>,
    finished: bool,
}

impl Drop for RunGuard {
    fn drop(&mut self) {
        if self.finished {
            return;
        }
        self.run.cancel(now_ms());
        while let AgentAction::Pool(op) = self.run.next_action(now_ms()) {
            match self.store.apply(op).now_or_never() {
                Some(Ok(result)) => self.run.handle_pool(result, now_ms()),
                Some(Err(_)) => return,
                None => {
                    // A store that does not answer at once: finish in a task
                    // (the operation is asked for again there).
                    let (mut run, store) = (self.run.clone(), Arc::clone(&self.store));
                    if let Ok(runtime) = tokio::runtime::Handle::try_current() {
                        runtime.spawn(async move {
                            while let AgentAction::Pool(op) = run.next_action(now_ms()) {
                                match store.apply(op).await {
                                    Ok(result) => run.handle_pool(result, now_ms()),
                                    Err(_) => return,
                                }
                            }
                        });
                    }
                    return;
                }
            }
        }
    }
}

/// Builds an [`Agent`]. `model` is required.
pub struct AgentBuilder {
    client: Client,
    store: Arc<dyn PoolStore>,
    config: AgentConfig,
    template: MessageRequest,
    tools: Vec<Tool>,
    on_event: Option<EventFn>,
    tool_error: Option<ToolErrorFn>,
}

impl std::fmt::Debug for AgentBuilder {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AgentBuilder").field("config", &self.config).field("model", &self.template.model).finish_non_exhaustive()
    }
}

impl AgentBuilder {
    fn new(client: &Client, store: Arc<dyn PoolStore>) -> AgentBuilder {
        AgentBuilder {
            client: client.clone(),
            store,
            config: AgentConfig::default(),
            // max_tokens 0: the run takes AgentConfig::max_tokens.
            template: MessageRequest::new("", 0, ""),
            tools: Vec::new(),
            on_event: None,
            tool_error: None,
        }
    }

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
    /// default [`AgentConfig::max_tokens`] (1024).
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

    /// Whether responses are streamed (default on, as [`AgentConfig`]).
    /// Streaming shows progress ([`AgentEvent::Stream`]), is timed by the
    /// idle timeout, and keeps what arrived of a stream that is cut.
    pub fn streaming(mut self, on: bool) -> Self {
        self.config.call.stream = on;
        self
    }

    /// How reservations are sized; default a true upper bound.
    pub fn estimate(mut self, mode: EstimateMode) -> Self {
        self.config.estimate = mode;
        self
    }

    /// Minutes of code execution container time counted for each request
    /// whose code execution is billed by time (no web search or fetch tool
    /// dated 2026-02-09 or later beside it), reserved and, when the tool ran
    /// or files were preloaded, settled (flagged estimated); default 5, the
    /// billing minimum. Below 5 or above 43,200 is refused with
    /// `invalid_container_minutes` when the run starts.
    pub fn container_minutes(mut self, minutes: u64) -> Self {
        self.config.container_minutes = Some(minutes);
        self
    }

    /// The lease of each reservation; default the pool's. While a response
    /// is read, the run renews it each time half of it has passed.
    pub fn lease(mut self, lease: Duration) -> Self {
        self.config.lease_ms = Some(u64::try_from(lease.as_millis()).unwrap_or(u64::MAX));
        self
    }

    /// The words the model reads when a tool cannot answer (an unknown tool,
    /// a tool that failed, a missing result); default the core's, which do
    /// not show a failed tool's error (it may hold a secret).
    /// [`AgentTexts::TOOL_FAILED_WITH_ERROR`] as `tool_failed` shows it.
    pub fn texts(mut self, texts: AgentTexts) -> Self {
        self.config.texts = texts;
        self
    }

    /// Formats a failed tool's error (its display chain) as the `{error}`
    /// text of the run's words; default the error as it is. The model reads
    /// it only if `texts.tool_failed` contains `{error}` (the default words
    /// do not). Whatever it returns, the turn record keeps the whole error
    /// ([`ToolFailureRecord::error`](creditpool_core::agent::ToolFailureRecord))
    /// and a `tracing` warning (target `creditpool::agent`) logs it.
    pub fn tool_error(mut self, f: impl Fn(&str) -> String + Send + Sync + 'static) -> Self {
        self.tool_error = Some(Arc::new(f));
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
        Ok(Agent { inner: Arc::new(AgentInner { client: self.client, store: self.store, config, template, tools, on_event: self.on_event, tool_error: self.tool_error }) })
    }
}
