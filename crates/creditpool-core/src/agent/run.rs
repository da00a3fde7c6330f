//! [`AgentRun`]: the state machine (see the module docs).

use super::config::{AgentConfig, AgentTexts};
use super::outcome::{Outcome, RunAttribution, RunStatus, ToolCall, ToolFailureRecord, ToolOutput, ToolResult, TurnRecord, WaitReason};
use crate::api::{ContentBlock, Message, MessageParam, MessageRequest, Role, StopReason, StreamEvent, TextOrBlocks, ToolResultBlock, Usage};
use crate::call::{CallAction, CallOptions, Completed, MessagesCall, ReadBody, RetryNotice};
use crate::http::{Headers, HttpRequest};
use crate::money::Money;
use crate::pool::{AttributionInput, OpResult, PoolOp, Reservation};
use crate::pricing::{cost, worst_case_with, CapabilityError, CostOptions, PriceTable, PricingError};
use crate::request::{RequestBuilder, RequestError};
use crate::retry::Failure;
use crate::sse::ToolInputIssueKind;
use crate::tools::{ToolDefinitionError, ToolSet};
use std::collections::BTreeMap;
use std::sync::Arc;

/// What the driver should do next.
#[derive(Clone, Debug, PartialEq)]
#[must_use]
pub enum AgentAction {
    /// Apply this operation to the pool store (a `reserve`, `settle`,
    /// `release` or `extend`), then hand its result to
    /// [`AgentRun::handle_pool`]. Until then the run asks for it again.
    Pool(PoolOp),
    /// Send this request (the reservation for it is already held).
    Send(HttpRequest),
    /// Run these tools, then hand every result to
    /// [`AgentRun::handle_tool_results`]. They are independent: run them
    /// concurrently if you can.
    CallTools(Vec<ToolCall>),
    /// Sleep until this Unix time in ms, then ask again.
    Wait {
        /// When to ask again.
        until_ms: u64,
        /// Why.
        reason: WaitReason,
        /// For a retry of a stream that had handed out events: the notice to
        /// pass on to whoever shows them.
        retry: Option<RetryNotice>,
    },
    /// The run is over: read [`AgentRun::outcome`].
    Done,
}

/// A run that cannot start.
#[derive(Clone, Debug, PartialEq, thiserror::Error)]
#[non_exhaustive]
pub enum AgentError {
    /// A tool definition is invalid.
    #[error(transparent)]
    Tool(#[from] ToolDefinitionError),
    /// The model does not accept the request.
    #[error(transparent)]
    Capability(#[from] CapabilityError),
    /// The model cannot be priced.
    #[error(transparent)]
    Pricing(#[from] PricingError),
    /// The request cannot be built.
    #[error(transparent)]
    Request(#[from] RequestError),
}

/// A reservation the run holds, and when to renew its lease.
#[derive(Debug, Clone)]
struct Held {
    reservation: Reservation,
    /// The lease's length, as granted.
    lease_ms: u64,
    /// When to ask for an extension (half the lease after it was granted or
    /// last renewed).
    renew_at_ms: u64,
}

/// A pool operation asked for and not yet answered.
#[derive(Debug, Clone)]
struct PendingOp {
    op: PoolOp,
}

#[derive(Debug, Clone)]
enum Phase {
    /// Ready to start the next model call.
    Ready,
    /// A model call is under way.
    Calling { call: Box<MessagesCall>, request: Box<MessageRequest>, amount: Money, reservation: Option<Held> },
    /// Waiting for the driver's tool results.
    AwaitingTools { calls: Vec<ToolCall>, immediate: Vec<(String, ContentBlock)>, order: Vec<String> },
    /// Over.
    Done,
}

/// One agent's run. See the [module docs](super).
#[derive(Debug, Clone)]
pub struct AgentRun {
    config: AgentConfig,
    template: MessageRequest,
    builder: RequestBuilder,
    tools: ToolSet,
    prices: Arc<PriceTable>,
    messages: Vec<MessageParam>,
    phase: Phase,
    turns: Vec<TurnRecord>,
    spent: Money,
    status: Option<RunStatus>,
    last_message: Option<Message>,
    /// Pool operations to ask for, in order; the first is out.
    pool_ops: std::collections::VecDeque<PendingOp>,
    /// The run's clock: never earlier than a time already seen.
    clock_ms: u64,
    /// The pool refused for a rate limit: wait until then, then reserve again.
    rate_wait: Option<u64>,
    /// Settled at the worst case for attempts that may have been billed.
    estimated: Money,
    /// The failed call that ended the run.
    call_error: Option<crate::call::CallError>,
}

impl AgentRun {
    /// A run of `request` (its messages hold the prompt; its tools are the
    /// agent's tools). The tools and the request are checked here, before
    /// anything costs money.
    pub fn new(config: AgentConfig, mut request: MessageRequest, builder: RequestBuilder, prices: Arc<PriceTable>) -> Result<AgentRun, AgentError> {
        if request.max_tokens == 0 {
            request.max_tokens = config.max_tokens;
        }
        crate::tools::check_tools(&request.tools)?;
        let tools = ToolSet::from_specs(&request.tools)?;
        crate::pricing::check_request_with(&prices, &request)?;
        prices.prices(&request.model)?;
        config.pricing().validate(&prices)?;
        let mut check = request.clone();
        if check.messages.is_empty() {
            check.messages.push(MessageParam::user(""));
        }
        builder.messages(&check, false)?;
        Ok(AgentRun {
            messages: request.messages.clone(),
            config,
            template: request,
            builder,
            tools,
            prices,
            phase: Phase::Ready,
            turns: Vec::new(),
            spent: Money::ZERO,
            status: None,
            last_message: None,
            pool_ops: std::collections::VecDeque::new(),
            clock_ms: 0,
            rate_wait: None,
            estimated: Money::ZERO,
            call_error: None,
        })
    }

    /// The configuration.
    pub fn config(&self) -> &AgentConfig {
        &self.config
    }

    /// Money settled by this run so far.
    pub fn spent(&self) -> Money {
        self.spent
    }

    /// The conversation so far.
    pub fn transcript(&self) -> &[MessageParam] {
        &self.messages
    }

    /// Whether the run is over.
    pub fn is_done(&self) -> bool {
        matches!(self.phase, Phase::Done)
    }

    fn clock(&mut self, now_ms: u64) -> u64 {
        self.clock_ms = self.clock_ms.max(now_ms);
        self.clock_ms
    }

    /// What to do next.
    pub fn next_action(&mut self, now_ms: u64) -> AgentAction {
        let now_ms = self.clock(now_ms);
        for _ in 0..8 {
            if let Some(p) = self.pool_ops.front() {
                return AgentAction::Pool(p.op.clone());
            }
            if let Some(until_ms) = self.rate_wait.take() {
                if now_ms < until_ms && !matches!(self.phase, Phase::Done) {
                    self.clock_ms = until_ms;
                    return AgentAction::Wait { until_ms, reason: WaitReason::RateLimited, retry: None };
                }
            }
            match &mut self.phase {
                Phase::Done => return AgentAction::Done,
                Phase::AwaitingTools { calls, .. } => return AgentAction::CallTools(calls.clone()),
                Phase::Ready => {
                    if let Err(status) = self.start_turn() {
                        self.finish(status);
                    }
                }
                Phase::Calling { call, amount, reservation, .. } => match call.next_action(now_ms) {
                    CallAction::Send(http) => {
                        if reservation.is_some() {
                            return AgentAction::Send(http);
                        }
                        let remaining = self.config.max_spend.map(|m| m.saturating_sub(self.spent));
                        if let Some(remaining) = remaining {
                            if *amount > remaining {
                                let needed = *amount;
                                self.finish(RunStatus::BudgetExhausted { needed, remaining });
                                continue;
                            }
                        }
                        let op = PoolOp::Reserve { agent: self.config.agent_id.clone(), amount: *amount, now_ms, lease_ms: self.config.lease_ms };
                        self.pool_ops.push_back(PendingOp { op });
                    }
                    CallAction::Wait { until_ms, retry } => {
                        self.clock_ms = self.clock_ms.max(until_ms);
                        return AgentAction::Wait { until_ms, reason: WaitReason::Retry, retry };
                    }
                    CallAction::Done => {
                        let result = call.take_result();
                        match result {
                            Some(Ok(_)) | None => self.finish(RunStatus::invalid("internal_error", "the call ended without a settled result")),
                            Some(Err(e)) => {
                                self.finish(RunStatus::failed(&e));
                                self.call_error = Some(e);
                            }
                        }
                    }
                },
            }
        }
        AgentAction::Done
    }

    /// The result of the pool operation of the last [`AgentAction::Pool`],
    /// as the pool store answered it.
    pub fn handle_pool(&mut self, result: OpResult, now_ms: u64) {
        let now_ms = self.clock(now_ms);
        let Some(pending) = self.pool_ops.pop_front() else { return };
        match pending.op {
            PoolOp::Reserve { .. } => match result {
                OpResult::Reserved(r) => {
                    if let Phase::Calling { reservation, .. } = &mut self.phase {
                        let lease_ms = r.expires_at_ms.saturating_sub(now_ms).max(1);
                        *reservation = Some(Held { reservation: r, lease_ms, renew_at_ms: now_ms.saturating_add(lease_ms / 2) });
                    }
                }
                OpResult::Refused(refusal) => match refusal.retry_at_ms() {
                    Some(until_ms) => {
                        let until_ms = until_ms.max(now_ms);
                        self.rate_wait = Some(until_ms);
                    }
                    None => self.finish(RunStatus::PoolRefused { refusal }),
                },
                OpResult::Error(e) => self.finish(RunStatus::invalid(e.code(), &e.to_string())),
                other => self.finish(RunStatus::invalid("internal_error", &format!("the pool answered a reserve with {}", serde_json::to_string(&other).unwrap_or_default()))),
            },
            PoolOp::Extend { .. } => {
                if let (Phase::Calling { reservation: Some(held), .. }, OpResult::Extended(r)) = (&mut self.phase, &result) {
                    held.reservation.expires_at_ms = r.expires_at_ms;
                    held.renew_at_ms = now_ms.saturating_add(held.lease_ms / 2);
                }
            }
            // A settle or a release is recorded by the pool whatever it
            // answers (a late settle is still counted); nothing more to do.
            _ => {}
        }
    }

    /// A pool operation to apply while a response is read: a lease renewal
    /// when half the lease has passed. Ask after every input while
    /// [`AgentRun::is_reading`], apply what it returns and hand the result
    /// to [`AgentRun::handle_pool`].
    pub fn poll_pool(&mut self, now_ms: u64) -> Option<PoolOp> {
        let now_ms = self.clock(now_ms);
        if let Some(p) = self.pool_ops.front() {
            return Some(p.op.clone());
        }
        let Phase::Calling { reservation: Some(held), call, .. } = &mut self.phase else { return None };
        if !call.is_reading() && call.deadline().is_none() {
            return None;
        }
        if now_ms < held.renew_at_ms {
            return None;
        }
        held.renew_at_ms = now_ms.saturating_add(held.lease_ms / 2);
        let op = PoolOp::Extend { id: held.reservation.id, lease_ms: held.lease_ms, now_ms };
        self.pool_ops.push_back(PendingOp { op: op.clone() });
        Some(op)
    }

    /// The response's status and headers arrived.
    pub fn handle_head(&mut self, status: u16, headers: &Headers, now_ms: u64) -> ReadBody {
        let now_ms = self.clock(now_ms);
        match &mut self.phase {
            Phase::Calling { call, .. } => call.handle_head(status, headers, now_ms),
            _ => ReadBody::Whole,
        }
    }

    /// The whole body arrived.
    pub fn handle_body(&mut self, body: &[u8], now_ms: u64) {
        let now_ms = self.clock(now_ms);
        if let Phase::Calling { call, .. } = &mut self.phase {
            call.handle_body(body, now_ms);
        }
        self.after_attempt(now_ms);
    }

    /// A chunk of a streamed body arrived. Returns the stream events it
    /// completed (for display); when the attempt ends, its settle or release
    /// is the next action.
    pub fn handle_chunk(&mut self, bytes: &[u8], now_ms: u64) -> Vec<StreamEvent> {
        let now_ms = self.clock(now_ms);
        let events = match &mut self.phase {
            Phase::Calling { call, .. } => call.handle_chunk(bytes, now_ms),
            _ => Vec::new(),
        };
        if !self.is_reading() {
            self.after_attempt(now_ms);
        }
        events
    }

    /// The streamed body ended.
    pub fn handle_end(&mut self, now_ms: u64) -> Vec<StreamEvent> {
        let now_ms = self.clock(now_ms);
        let events = match &mut self.phase {
            Phase::Calling { call, .. } => call.handle_end(now_ms),
            _ => Vec::new(),
        };
        self.after_attempt(now_ms);
        events
    }

    /// The transport failed (see [`MessagesCall::handle_transport_error`]:
    /// a connection lost mid-stream is a cut stream).
    pub fn handle_transport_error(&mut self, failure: Failure, now_ms: u64) {
        let now_ms = self.clock(now_ms);
        if let Phase::Calling { call, .. } = &mut self.phase {
            call.handle_transport_error(failure, now_ms);
        }
        self.after_attempt(now_ms);
    }

    /// The connection failed, and the driver says where it sent the request
    /// and what the operating system said (see
    /// [`MessagesCall::handle_connection_error`]): a run that fails on it
    /// says both, never the URL's path or the key.
    pub fn handle_connection_error(&mut self, base_url: &str, detail: &str, now_ms: u64) {
        let now_ms = self.clock(now_ms);
        if let Phase::Calling { call, .. } = &mut self.phase {
            call.handle_connection_error(base_url, detail, now_ms);
        }
        self.after_attempt(now_ms);
    }

    /// Time passed with nothing read: past [`AgentRun::deadline`] the attempt
    /// times out (see [`MessagesCall::handle_timeout`]). Returns whether it
    /// did.
    pub fn handle_timeout(&mut self, now_ms: u64) -> bool {
        let now_ms = self.clock(now_ms);
        let timed_out = match &mut self.phase {
            Phase::Calling { call, .. } => call.handle_timeout(now_ms),
            _ => false,
        };
        if timed_out {
            self.after_attempt(now_ms);
        }
        timed_out
    }

    /// Whether the driver should keep reading the body.
    pub fn is_reading(&self) -> bool {
        matches!(&self.phase, Phase::Calling { call, .. } if call.is_reading())
    }

    /// While a request is out: the Unix time in ms by which the next input
    /// must arrive (see [`MessagesCall::deadline`]), or earlier, when the
    /// reservation's lease is due for renewal ([`AgentRun::poll_pool`]).
    /// Wait no longer than this for the next input; then call
    /// [`AgentRun::handle_timeout`] and [`AgentRun::poll_pool`].
    pub fn deadline(&self) -> Option<u64> {
        match &self.phase {
            Phase::Calling { call, reservation, .. } => {
                let d = call.deadline()?;
                Some(reservation.as_ref().map_or(d, |h| d.min(h.renew_at_ms)))
            }
            _ => None,
        }
    }

    /// The tools' results. Every call of the last [`AgentAction::CallTools`]
    /// needs one; a missing result becomes an `is_error` result, and results for
    /// IDs that were not asked for are ignored. Build each with
    /// [`AgentRun::tool_result`] from what the tool did.
    pub fn handle_tool_results(&mut self, results: Vec<ToolResult>) {
        let Phase::AwaitingTools { calls, immediate, order } = std::mem::replace(&mut self.phase, Phase::Ready) else {
            return;
        };
        let mut by_id: BTreeMap<String, ContentBlock> = immediate.into_iter().collect();
        let mut failed: Vec<String> = Vec::new();
        for r in results {
            if order.contains(&r.tool_use_id) && !by_id.contains_key(&r.tool_use_id) {
                // Only a call the driver was asked to run can fail in its tool.
                if r.failed && calls.iter().any(|c| c.id == r.tool_use_id) {
                    failed.push(r.tool_use_id.clone());
                }
                let block = ContentBlock::ToolResult(ToolResultBlock {
                    tool_use_id: r.tool_use_id.clone(),
                    content: Some(r.content),
                    is_error: r.is_error.then_some(true),
                    ..ToolResultBlock::default()
                });
                by_id.insert(r.tool_use_id, block);
            }
        }
        // The turn that asked for the calls records which of them failed, in
        // the calls' order.
        if let Some(turn) = self.turns.last_mut() {
            turn.tool_failures = calls
                .iter()
                .filter(|c| failed.contains(&c.id))
                .map(|c| ToolFailureRecord { call_id: c.id.clone(), tool: c.name.clone(), error: None })
                .collect();
        }
        let missing = self.config.texts.missing_result.clone();
        let blocks = order.iter().map(|id| by_id.remove(id).unwrap_or_else(|| ContentBlock::tool_result(id.clone(), missing.clone(), true))).collect();
        self.messages.push(MessageParam::user_blocks(blocks));
    }

    /// The `tool_result` for a call, from what its tool did: the words the
    /// model reads are the run's ([`AgentConfig::texts`]), and a returned
    /// value becomes content by one rule ([`ToolOutput`]).
    pub fn tool_result(&self, call: &ToolCall, output: ToolOutput) -> ToolResult {
        tool_result(&self.config.texts, call, output)
    }

    /// Ends the run now. A reservation held for a call in progress is settled
    /// at its worst case, flagged estimated (the request may have reached the
    /// model): keep asking [`AgentRun::next_action`] and apply the pool
    /// operation it returns until it says [`AgentAction::Done`].
    pub fn cancel(&mut self, now_ms: u64) {
        let now_ms = self.clock(now_ms);
        // A reservation is held only while an attempt is out: the request may
        // have reached the model, so it is settled at its worst case, flagged
        // estimated, never released for free.
        if let Phase::Calling { reservation: Some(h), .. } = &self.phase {
            let held = h.reservation;
            self.settle_estimated(held, MessagesCall::partial_message, now_ms);
        }
        // A reserve asked for and not yet answered: its answer is ignored.
        self.pool_ops.retain(|p| !matches!(p.op, PoolOp::Reserve { .. } | PoolOp::Extend { .. }));
        if !matches!(self.phase, Phase::Done) {
            self.finish(RunStatus::Cancelled);
        }
    }

    /// The outcome, once [`AgentAction::Done`] was returned.
    pub fn outcome(&self) -> Option<Outcome> {
        let status = self.status.clone()?;
        let mut usage = Usage::default();
        let mut total = Money::ZERO;
        let mut conversation = Money::ZERO;
        let mut per_tool: BTreeMap<String, Money> = BTreeMap::new();
        for t in &self.turns {
            total = total.saturating_add(t.cost.total);
            add_usage(&mut usage, &t.usage);
            conversation = conversation.saturating_add(t.attribution.conversation);
            for c in &t.attribution.tools {
                let e = per_tool.entry(c.tool.as_str().to_owned()).or_default();
                *e = e.saturating_add(c.cost);
            }
        }
        total = total.saturating_add(self.estimated);
        let mut tools: Vec<(String, Money)> = per_tool.into_iter().collect();
        tools.sort_by(|a, b| b.1.cmp(&a.1).then_with(|| a.0.cmp(&b.0)));
        Some(Outcome {
            status,
            agent_id: self.config.agent_id.clone(),
            final_text: self.last_message.as_ref().map(Message::text).unwrap_or_default(),
            final_message: self.last_message.clone(),
            turns: self.turns.clone(),
            total_cost: total,
            estimated_cost: self.estimated,
            usage,
            attribution: RunAttribution { conversation, tools },
            transcript: self.messages.clone(),
            call_error: self.call_error.clone(),
        })
    }

    fn finish(&mut self, status: RunStatus) {
        self.phase = Phase::Done;
        if self.status.is_none() {
            self.status = Some(status);
        }
    }

    fn start_turn(&mut self) -> Result<(), RunStatus> {
        if self.turns.len() >= self.config.max_turns as usize {
            return Err(RunStatus::MaxTurns { max_turns: self.config.max_turns });
        }
        let mut request = self.template.clone();
        request.messages = self.messages.clone();
        let options: CallOptions = CallOptions { jitter_seed: self.config.call.jitter_seed ^ (self.turns.len() as u64), ..self.config.call.clone() };
        // The run checked its tools and the model's capabilities once, when
        // it was made.
        let options = CallOptions { preflight: false, ..options };
        let call = MessagesCall::new(&self.builder, &request, options).map_err(|e| RunStatus::invalid(e.code(), &e.to_string()))?;
        let estimate = worst_case_with(&self.prices, &request, call.request().body.len(), self.config.estimate, &self.config.pricing())
            .map_err(|e| RunStatus::invalid(e.code(), &e.to_string()))?;
        self.phase = Phase::Calling { call: Box::new(call), request: Box::new(request), amount: estimate.cost, reservation: None };
        Ok(())
    }

    /// After an attempt ended (or a chunk was handled): settle a success,
    /// release a failure (as pool operations, the next actions).
    fn after_attempt(&mut self, now_ms: u64) {
        let Phase::Calling { call, reservation, .. } = &mut self.phase else { return };
        if call.is_reading() {
            return;
        }
        match call.last_attempt() {
            Some(crate::call::AttemptOutcome::Succeeded) => {
                let Some(Ok(completed)) = call.take_result() else { return };
                let Phase::Calling { request, reservation, .. } = std::mem::replace(&mut self.phase, Phase::Ready) else { return };
                self.settle(&request, reservation.map(|h| h.reservation), completed, now_ms);
            }
            Some(crate::call::AttemptOutcome::Failed { .. }) => {
                let Some(h) = reservation.take() else { return };
                if call.may_have_billed() {
                    self.settle_estimated(h.reservation, MessagesCall::observed_partial, now_ms);
                } else {
                    self.pool_ops.push_back(PendingOp { op: PoolOp::Release { id: h.reservation.id, now_ms } });
                }
            }
            None => {}
        }
    }

    /// Settles an attempt the API may have billed but whose usage is unknown
    /// at its reserved worst case, flagged `estimated`, with what was
    /// observed of it kept beside (never released for free). `observed`
    /// picks that message from the call (read in place: a message near the
    /// stream cap is not copied to settle it).
    fn settle_estimated(&mut self, reservation: Reservation, observed: fn(&MessagesCall) -> Option<&Message>, now_ms: u64) {
        let Phase::Calling { request, call, .. } = &self.phase else { return };
        let mut attribution = match observed(call) {
            Some(m) => AttributionInput::from_request_and_response(request, m),
            None => AttributionInput { input_bytes: crate::pool::attribution::json_len(request.as_ref()), ..AttributionInput::new(request.model.clone()) },
        };
        if let Some(id) = call.attempt_request_id() {
            attribution = attribution.with_request_id(id.to_owned());
        }
        attribution.estimated = true;
        let op = PoolOp::Settle { id: reservation.id, cost: reservation.amount, now_ms, attribution: Some(Box::new(attribution)) };
        self.pool_ops.push_back(PendingOp { op });
        self.spent = self.spent.saturating_add(reservation.amount);
        self.estimated = self.estimated.saturating_add(reservation.amount);
    }

    fn settle(&mut self, request: &MessageRequest, reservation: Option<Reservation>, completed: Completed, now_ms: u64) {
        let message = completed.message;
        let mut options = CostOptions::for_message(&message).with_request(&self.prices, request, &self.config.pricing());
        if let Some(geo) = &request.inference_geo {
            options = options.with_inference_geo(geo.clone());
        }
        let priced = cost(&self.prices, &message.model, &message.usage, &options);
        let reserved = reservation.as_ref().map_or(Money::ZERO, |r| r.amount);
        let breakdown = match priced {
            Ok(b) => b,
            // The response names a model we cannot price (a fallback, say):
            // settle the reserved worst case, which the pool already held.
            Err(_) => crate::pricing::CostBreakdown::unpriced(reserved),
        };
        let mut attribution = AttributionInput::from_request_and_response(request, &message).with_cost(&breakdown);
        if let Some(id) = &completed.request_id {
            attribution = attribution.with_request_id(id.clone());
        }
        let split = attribution.split(breakdown.total);
        if let Some(r) = &reservation {
            let op = PoolOp::Settle { id: r.id, cost: breakdown.total, now_ms, attribution: Some(Box::new(attribution)) };
            self.pool_ops.push_back(PendingOp { op });
        }
        self.spent = self.spent.saturating_add(breakdown.total);
        let issues = completed.tool_input_issues;
        let record = TurnRecord {
            request_id: completed.request_id,
            model: message.model.clone(),
            stop_reason: message.stop_reason.clone(),
            usage: message.usage.clone(),
            cost: breakdown,
            reserved,
            attempts: completed.attempts,
            attribution: split,
            tool_calls: message.tool_uses().map(|t| t.name.clone()).collect(),
            tool_failures: Vec::new(),
        };
        self.turns.push(record);
        self.messages.push(MessageParam { role: Role::Assistant, content: TextOrBlocks::Blocks(message.content.clone()) });
        let stop = message.stop_reason.clone();
        self.last_message = Some(message);
        match stop {
            Some(StopReason::ToolUse) => self.prepare_tools(&issues),
            Some(StopReason::PauseTurn) => self.phase = Phase::Ready,
            Some(StopReason::EndTurn) | Some(StopReason::StopSequence) | None => self.finish(RunStatus::Completed),
            Some(reason) => self.finish(RunStatus::Stopped { reason }),
        }
    }

    fn prepare_tools(&mut self, issues: &[crate::sse::ToolInputIssue]) {
        let Some(message) = &self.last_message else { return };
        let mut calls = Vec::new();
        let mut immediate = Vec::new();
        let mut order = Vec::new();
        for block in message.tool_uses() {
            order.push(block.id.clone());
            let issue = issues.iter().find(|i| i.id == block.id);
            let checked = match issue.map(|i| &i.kind) {
                Some(ToolInputIssueKind::Malformed { detail }) => Err(ContentBlock::tool_result(
                    block.id.clone(),
                    format!("The input for tool \"{}\" was not valid JSON ({detail}); nothing was run. Send the call again with valid JSON.", block.name),
                    true,
                )),
                truncated => self.tools.check_call_with(block, truncated.is_some()).map_err(|e| e.into_tool_result(block.id.clone())),
            };
            match checked {
                Ok(()) => calls.push(ToolCall { id: block.id.clone(), name: block.name.clone(), input: block.input.clone() }),
                Err(result) => immediate.push((block.id.clone(), result)),
            }
        }
        if order.is_empty() {
            // tool_use with no tool_use block: nothing to answer; the turn is over.
            self.finish(RunStatus::Completed);
        } else if calls.is_empty() {
            self.phase = Phase::AwaitingTools { calls, immediate, order };
            self.handle_tool_results(Vec::new());
        } else {
            self.phase = Phase::AwaitingTools { calls, immediate, order };
        }
    }
}

/// The `tool_result` for a call from what its tool did, worded by `texts`:
/// what [`AgentRun::tool_result`] does, for tools run outside a run (a
/// binding's toolbox).
pub fn tool_result(texts: &AgentTexts, call: &ToolCall, output: ToolOutput) -> ToolResult {
    match output {
        ToolOutput::Value(value) => ToolResult { tool_use_id: call.id.clone(), content: ToolOutput::content(value), is_error: false, failed: false },
        ToolOutput::Content(content) => ToolResult { tool_use_id: call.id.clone(), content, is_error: false, failed: false },
        ToolOutput::Failed(error) => ToolResult { failed: true, ..ToolResult::error(call.id.clone(), AgentTexts::fill(&texts.tool_failed, &call.name, &error)) },
        ToolOutput::Unknown => ToolResult::error(call.id.clone(), AgentTexts::fill(&texts.unknown_tool, &call.name, "")),
    }
}

fn add_usage(total: &mut Usage, u: &Usage) {
    total.input_tokens = total.input_tokens.saturating_add(u.input_tokens);
    total.output_tokens = total.output_tokens.saturating_add(u.output_tokens);
    let add = |a: Option<u64>, b: Option<u64>| match (a, b) {
        (None, None) => None,
        (a, b) => Some(a.unwrap_or(0).saturating_add(b.unwrap_or(0))),
    };
    total.cache_creation_input_tokens = add(total.cache_creation_input_tokens, u.cache_creation_input_tokens);
    total.cache_read_input_tokens = add(total.cache_read_input_tokens, u.cache_read_input_tokens);
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::pool::{LedgerKind, Pool, PoolConfig};
    use crate::request::RequestConfig;
    use crate::ApiKey;

    fn run_and_pool() -> (AgentRun, Pool) {
        let builder = RequestBuilder::new(RequestConfig::new(ApiKey::new("k"))).unwrap();
        let request = MessageRequest::new("claude-haiku-4-5", 100, "hi");
        let run = AgentRun::new(AgentConfig::new("a"), request, builder, Arc::new(PriceTable::builtin())).unwrap();
        let pool = Pool::new(PoolConfig::new(Money::from_nanos(1_000_000_000)), 0).unwrap();
        (run, pool)
    }

    /// Plays pool operations until the run asks for something else.
    fn pool_step(run: &mut AgentRun, pool: &mut Pool, now: u64) -> AgentAction {
        loop {
            match run.next_action(now) {
                AgentAction::Pool(op) => {
                    let r = pool.apply(&op);
                    run.handle_pool(r, now);
                }
                other => return other,
            }
        }
    }

    #[test]
    fn a_cancel_after_sending_settles_the_worst_case_flagged_estimated() {
        let (mut run, mut pool) = run_and_pool();
        assert!(matches!(pool_step(&mut run, &mut pool, 0), AgentAction::Send(_)));
        let held = pool.state().reserved();
        assert!(!held.is_zero());
        let _ = run.handle_head(200, &Headers::new(), 1);
        run.cancel(2);
        assert_eq!(pool_step(&mut run, &mut pool, 2), AgentAction::Done);
        assert_eq!(pool.state().reserved(), Money::ZERO);
        assert_eq!(pool.state().settled(), held);
        let entry = pool.poll_ledger().unwrap();
        assert_eq!(entry.kind, LedgerKind::Settle);
        assert!(entry.estimated);
        assert!(entry.to_json_line().contains("\"estimated\":true"));
        let outcome = run.outcome().unwrap();
        assert_eq!(outcome.status, RunStatus::Cancelled);
        assert_eq!(outcome.estimated_cost, held);
        assert_eq!(outcome.total_cost, held);
    }

    #[test]
    fn a_settle_is_asked_for_until_its_result_is_handed_back() {
        let (mut run, mut pool) = run_and_pool();
        let AgentAction::Pool(reserve) = run.next_action(0) else { panic!("no reserve") };
        // Asked again, the same operation: nothing is lost or doubled.
        assert_eq!(run.next_action(0), AgentAction::Pool(reserve.clone()));
        let r = pool.apply(&reserve);
        run.handle_pool(r, 0);
        assert!(matches!(run.next_action(0), AgentAction::Send(_)));
        let _ = run.handle_head(400, &Headers::new(), 1);
        run.handle_body(br#"{"type":"error","error":{"type":"invalid_request_error","message":"no"}}"#, 1);
        let AgentAction::Pool(release) = run.next_action(1) else { panic!("no release") };
        assert!(matches!(release, PoolOp::Release { .. }));
        assert_eq!(run.next_action(5), AgentAction::Pool(release.clone()));
        let r = pool.apply(&release);
        run.handle_pool(r, 5);
        assert_eq!(run.next_action(5), AgentAction::Done);
        let outcome = run.outcome().unwrap();
        assert_eq!(outcome.status.code(), Some("invalid_request_error"));
        assert_eq!(outcome.call_error.map(|e| e.code()), Some("invalid_request_error"));
    }

    /// Issue 10, item 13: a run whose call fails part-way through a stream
    /// holds the message so far once. The status, the call's error and every
    /// `outcome()` share it; before, the status held a copy of the error's
    /// and each outcome two more (near the stream cap, each a cap's worth).
    #[test]
    fn a_failed_stream_s_message_is_shared_by_the_status_the_error_and_each_outcome() {
        fn text_at(m: &Message) -> *const u8 {
            match m.content.first() {
                Some(ContentBlock::Text(t)) => t.text.as_ptr(),
                other => panic!("no text block: {other:?}"),
            }
        }
        let builder = RequestBuilder::new(RequestConfig::new(ApiKey::new("k"))).unwrap();
        let request = MessageRequest::new("claude-haiku-4-5", 100, "hi");
        let mut config = AgentConfig::new("a");
        config.call.stream = true;
        config.call.retry.max_retries = 0;
        let mut run = AgentRun::new(config, request, builder, Arc::new(PriceTable::builtin())).unwrap();
        let mut pool = Pool::new(PoolConfig::new(Money::from_nanos(1_000_000_000)), 0).unwrap();
        assert!(matches!(pool_step(&mut run, &mut pool, 0), AgentAction::Send(_)));
        let held = pool.state().reserved();
        let _ = run.handle_head(200, &Headers::new(), 1);
        let start = concat!(
            "data: {\"type\":\"message_start\",\"message\":{\"id\":\"m\",\"type\":\"message\",\"role\":\"assistant\",\"model\":\"claude-haiku-4-5\",\"content\":[],\"stop_reason\":null,\"usage\":{\"input_tokens\":1,\"output_tokens\":1}}}\n\n",
            "data: {\"type\":\"content_block_start\",\"index\":0,\"content_block\":{\"type\":\"text\",\"text\":\"\"}}\n\n",
            "data: {\"type\":\"content_block_delta\",\"index\":0,\"delta\":{\"type\":\"text_delta\",\"text\":\"so far\"}}\n\n",
        );
        let _ = run.handle_chunk(start.as_bytes(), 1);
        let _ = run.handle_chunk(b"data: {\"type\":\"content_block_delta\",\"ind", 1);
        let _ = run.handle_end(2);
        assert_eq!(pool_step(&mut run, &mut pool, 2), AgentAction::Done);
        // The cut attempt may have been billed: settled at its worst case.
        let entry = pool.poll_ledger().unwrap();
        assert!(entry.kind == LedgerKind::Settle && entry.estimated && entry.cost == held, "{entry:?}");
        let (first, second) = (run.outcome().unwrap(), run.outcome().unwrap());
        let RunStatus::Failed { code, partial: Some(partial), .. } = &first.status else { panic!("{:?}", first.status) };
        assert_eq!((code.as_str(), partial.text()), ("stream_incomplete", "so far".to_owned()));
        let at = text_at(partial);
        let error = first.call_error.as_ref().and_then(|e| e.partial.as_deref()).unwrap();
        assert_eq!(text_at(error), at, "the call's error and the status each hold a copy");
        let RunStatus::Failed { partial: Some(again), .. } = &second.status else { panic!("{:?}", second.status) };
        assert_eq!(text_at(again), at, "each outcome holds its own copy");
        assert_eq!(second.call_error.as_ref().and_then(|e| e.partial.as_deref()).map(text_at), Some(at));
        // The outcome's JSON still carries the message itself.
        let json = serde_json::to_value(&first).unwrap();
        assert_eq!((json["status"].as_str(), json["partial"]["content"][0]["text"].as_str()), (Some("failed"), Some("so far")));
    }
}
