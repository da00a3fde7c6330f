//! `POST /v1/messages` and `POST /v1/messages/count_tokens`.
//!
//! A request is checked (key, version, body), then answered from, in order: an
//! injected fault, the first scenario step that fits, or the rule model. The
//! answer is rendered as JSON or as an SSE stream, with the step's delays,
//! cut and mid-stream error applied, and its usage is logged.

use crate::api_error::{default_message, ApiFailure};
use crate::faults::Fault;
use crate::reply::{self, Reply};
use crate::scenario::{Answer, ScriptedError, ScriptedStreamError, Step};
use crate::server::{now_ms, set, RequestId, Shared};
use crate::stream;
use crate::usage_log::{Outcome, UsageEntry};
use crate::validate::{self, Endpoint, Valid};
use crate::{auth, threads, tokens};
use axum::body::Body;
use axum::extract::State;
use axum::http::{HeaderMap, HeaderName, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Extension;
use bytes::Bytes;
use creditpool_core::api::Usage;
use creditpool_core::error::ApiErrorKind;
use serde_json::Value;
use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::{mpsc, watch};

/// The largest request body accepted (the API's own cap, 32 MiB).
pub(crate) const MAX_BODY_BYTES: usize = 32 * 1024 * 1024;

/// Where a body is cut.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum CutAt {
    /// After this many bytes.
    Bytes(usize),
    /// Halfway (an injected fault).
    Half,
}

/// What to answer and how.
#[derive(Debug)]
struct Plan {
    answer: Answer,
    delay: Duration,
    event_delay: Duration,
    cut: Option<CutAt>,
    /// A stream's single long pause after its first delta (an idle stall).
    stall: Option<Duration>,
    stream_error: Option<ScriptedStreamError>,
    headers: BTreeMap<String, String>,
}

impl Plan {
    fn from_step(step: Step) -> Plan {
        Plan {
            answer: step.answer(),
            delay: Duration::from_millis(step.delay_ms),
            event_delay: Duration::from_millis(step.event_delay_ms),
            cut: step.cut_after_bytes.map(CutAt::Bytes),
            stall: None,
            stream_error: step.stream_error,
            headers: step.headers,
        }
    }

    fn from_fault(fault: Fault, retry_after: u64, stall: Duration) -> Plan {
        let error = |status: u16, retry: bool| {
            Answer::Error(ScriptedError { status, kind: None, message: None, retry_after: retry.then_some(retry_after), headers: BTreeMap::new() })
        };
        let mut plan = Plan { answer: Answer::Rule, delay: Duration::ZERO, event_delay: Duration::ZERO, cut: None, stall: None, stream_error: None, headers: BTreeMap::new() };
        match fault {
            Fault::RateLimit => plan.answer = error(429, true),
            Fault::Overloaded => plan.answer = error(529, true),
            Fault::ServerError => plan.answer = error(500, false),
            Fault::Cut => plan.cut = Some(CutAt::Half),
            Fault::StreamError => {
                plan.stream_error = Some(ScriptedStreamError { after_deltas: 1, kind: "overloaded_error".to_owned(), message: None });
            }
            Fault::Stall => plan.stall = Some(stall),
        }
        plan
    }

    fn rule() -> Plan {
        Plan::from_step(Step::default())
    }
}

/// A request that passed the checks, read for its message thread.
struct Admitted {
    valid: Valid,
    /// The bytes the request is billed on: its body, or for a thread
    /// continue the whole conversation as one body.
    billed_len: usize,
    /// The body as sent.
    body_len: usize,
    /// The body the reply was built from (for a continue, the whole thread).
    resolved: Vec<u8>,
    role: threads::Role,
}

/// Checks the key and the version header, and reads the body (for
/// `/v1/messages`, resolving its message thread: a continue is checked and
/// answered as its whole conversation).
async fn admit(shared: &Shared, headers: &HeaderMap, body: Body, endpoint: Endpoint) -> Result<Admitted, ApiFailure> {
    auth::check(headers, &shared.keys)?;
    validate::check_version(headers)?;
    let bytes = axum::body::to_bytes(body, MAX_BODY_BYTES)
        .await
        .map_err(|_| ApiFailure::new(413, format!("Request exceeds the maximum allowed number of bytes ({MAX_BODY_BYTES}).")))?;
    let pool_field = {
        let inner = shared.lock();
        (!shared.reject_pool_selector && !inner.reject_pool_field).then(|| inner.pool_field.clone())
    };
    let (resolved, role) = if endpoint == Endpoint::Messages {
        // The thread is looked up only once the body is known to be a request.
        validate::check_known_fields_of(&bytes, pool_field.as_deref())?;
        let mut inner = shared.lock();
        let now = inner.sim_now_ms();
        let r = inner.threads.resolve(&bytes, now)?;
        (r.body, r.role)
    } else {
        (bytes.to_vec(), threads::Role::None)
    };
    let valid = validate::check_body(&resolved, endpoint, pool_field.as_deref())?;
    let billed_len = if matches!(role, threads::Role::Continue(_)) { resolved.len() } else { bytes.len() };
    Ok(Admitted { valid, billed_len, body_len: bytes.len(), resolved, role })
}

/// The pool selector's value, and the header that echoes it.
fn pool_value(shared: &Shared, valid: &Valid) -> Option<Value> {
    let field = shared.lock().pool_field.clone();
    valid.raw.get(&field).cloned()
}

fn echo_pool(headers: &mut HeaderMap, pool: Option<&Value>) {
    let text = match pool {
        Some(Value::String(s)) => s.clone(),
        Some(other) => other.to_string(),
        None => return,
    };
    set(headers, "x-creditpool-credit-pool", &text);
}

/// `POST /v1/messages/count_tokens`.
pub(crate) async fn post_count_tokens(State(shared): State<Arc<Shared>>, Extension(rid): Extension<RequestId>, headers: HeaderMap, body: Body) -> Response {
    let (valid, body_len) = match admit(&shared, &headers, body, Endpoint::CountTokens).await {
        Ok(a) => (a.valid, a.body_len),
        Err(f) => return f.into_response(&rid.id),
    };
    let n = tokens::input_tokens(&valid.request, body_len);
    let mut response = (StatusCode::OK, [("content-type", "application/json")], serde_json::json!({"input_tokens": n}).to_string()).into_response();
    echo_pool(response.headers_mut(), pool_value(&shared, &valid).as_ref());
    response
}

/// `POST /v1/messages`.
pub(crate) async fn post_messages(State(shared): State<Arc<Shared>>, Extension(rid): Extension<RequestId>, headers: HeaderMap, body: Body) -> Response {
    let Admitted { valid, billed_len, body_len, resolved, role } = match admit(&shared, &headers, body, Endpoint::Messages).await {
        Ok(a) => a,
        Err(f) => return f.into_response(&rid.id),
    };
    // The thread's time to live runs from its last request.
    let expires_at_ms = {
        let mut inner = shared.lock();
        inner.record_request(&rid.id, &valid.raw, body_len);
        inner.sim_now_ms().saturating_add(shared.thread_ttl_ms)
    };
    let pool = pool_value(&shared, &valid);
    let request = &valid.request;
    let user_id = request.metadata.as_ref().and_then(|m| m.user_id.clone());
    let plan = {
        let mut inner = shared.lock();
        let (retry_after, stall) = (inner.fault_retry_after, inner.fault_stall);
        match inner.faults.draw() {
            Some(fault) => Plan::from_fault(fault, retry_after, stall),
            None => inner.script.take(&request.model, user_id.as_deref()).map(Plan::from_step).unwrap_or_else(Plan::rule),
        }
    };
    // A request that does not stream stalls before its answer.
    let delay = plan.delay + if request.stream == Some(true) { Duration::ZERO } else { plan.stall.unwrap_or_default() };
    if !delay.is_zero() {
        let mut stopping = shared.stopping.clone();
        tokio::select! {
            () = tokio::time::sleep(delay) => {}
            () = stopped(&mut stopping) => {}
        }
    }
    let streamed = request.stream == Some(true);
    let scripted = match plan.answer.clone() {
        Answer::Error(e) => return error_response(e, &plan.headers, &rid.id),
        Answer::Message(m) => Some(*m),
        Answer::Rule => None,
    };
    if let (Some(se), false) = (&plan.stream_error, streamed) {
        // A request that does not stream cannot fail mid-stream: it gets the HTTP error.
        let kind = ApiErrorKind::from_type(&se.kind);
        let error = ScriptedError { status: status_of(&kind), kind: Some(se.kind.clone()), message: se.message.clone(), retry_after: None, headers: BTreeMap::new() };
        return error_response(error, &plan.headers, &rid.id);
    }
    let reply = reply::build(request, billed_len, scripted, rid.seq);
    // A thread keeps the whole reply (the API holds all of it or none).
    shared.lock().threads.store(&role, &resolved, &reply.message.id, serde_json::to_value(&reply.message.content).unwrap_or_default(), expires_at_ms);
    let full = reply.message.usage.clone();
    let (chunks, outputs): (Vec<Bytes>, Vec<u64>) = if streamed {
        stream_chunks(&reply, plan.stream_error.as_ref(), &rid.id).into_iter().unzip()
    } else {
        (vec![json_body(&reply)], vec![full.output_tokens])
    };
    let total: usize = chunks.iter().map(Bytes::len).sum();
    let cut = plan.cut.map(|c| match c {
        CutAt::Bytes(n) => n,
        CutAt::Half => total / 2,
    });
    let cut = cut.filter(|n| *n < total);
    // A stall goes after the first delta (after the first event if there is none).
    let stall = plan.stall.filter(|_| streamed).map(|d| {
        let first_delta = stream_first_delta(&reply).unwrap_or(0);
        (first_delta + 1, d)
    });
    let entry = UsageEntry {
        request_id: rid.id.clone(),
        model: reply.message.model.clone(),
        stream: streamed,
        usage: full.clone(),
        billed: full.clone(),
        credit_pool: pool.clone(),
        user_id,
        status: 200,
        outcome: Outcome::Complete,
        body_bytes: body_len as u64,
        max_tokens: request.max_tokens,
        message_id: Some(reply.message.id.clone()),
        thread: role.name().map(str::to_owned),
        thread_bytes: matches!(role, threads::Role::Continue(_)).then_some(billed_len as u64),
    };
    let stream_error = streamed && plan.stream_error.is_some();
    let paced = streamed && (cut.is_some() || !plan.event_delay.is_zero() || stall.is_some());
    let body = if paced {
        // Logged when the body ends, with what was generated by then.
        shared.lock().open_responses += 1;
        let epoch = shared.lock().epoch;
        let ending = Ending::new(shared.clone(), entry, outputs, stream_error, epoch);
        paced_body(chunks, plan.event_delay, stall, cut, shared.stopping.clone(), ending)
    } else {
        let mut entry = entry;
        entry.outcome = if cut.is_some() {
            Outcome::Cut
        } else if stream_error {
            Outcome::StreamError
        } else {
            Outcome::Complete
        };
        // A JSON body is generated whole before it is sent: it bills all of it.
        entry.billed.output_tokens = outputs.last().copied().unwrap_or(0);
        log_usage(&shared, entry, None);
        match cut {
            Some(n) => paced_body(chunks, Duration::ZERO, None, Some(n), shared.stopping.clone(), Ending::none()),
            None => Body::from(chunks.concat()),
        }
    };
    let content_type = if streamed { "text/event-stream; charset=utf-8" } else { "application/json" };
    let mut response = (StatusCode::OK, [("content-type", content_type)], body).into_response();
    if streamed {
        set(response.headers_mut(), "cache-control", "no-cache");
    }
    echo_pool(response.headers_mut(), pool.as_ref());
    add_headers(response.headers_mut(), &plan.headers);
    response
}

fn json_body(reply: &Reply) -> Bytes {
    Bytes::from(serde_json::to_vec(&reply.message).unwrap_or_default())
}

/// Records a usage entry (and counts its tokens in the rate window). An entry
/// of a response that began before the last `POST /_sim/reset` (`epoch` is
/// not the current one) goes to the usage log file only.
fn log_usage(shared: &Shared, entry: UsageEntry, epoch: Option<u64>) {
    let mut inner = shared.lock();
    if epoch.is_some_and(|e| e != inner.epoch) {
        if let Err(e) = inner.usage.append_to_file(&entry) {
            use std::io::Write;
            let _ = writeln!(std::io::stderr(), "creditpool-sim: usage log: {e}");
        }
        return;
    }
    let used = entry.billed.input_tokens + entry.billed.output_tokens;
    inner.window.count_tokens(used, now_ms());
    // A usage log that cannot be written is reported on stderr once per
    // failure; the response still goes out.
    if let Err(e) = inner.usage.append(entry) {
        use std::io::Write;
        let _ = writeln!(std::io::stderr(), "creditpool-sim: usage log: {e}");
    }
}

/// How a paced body logs its usage when it ends.
struct Ending {
    shared: Option<Arc<Shared>>,
    entry: Option<UsageEntry>,
    /// The output tokens generated once each chunk is.
    outputs: Vec<u64>,
    stream_error: bool,
    /// The simulator's reset count when the response began.
    epoch: u64,
}

impl Ending {
    fn new(shared: Arc<Shared>, entry: UsageEntry, outputs: Vec<u64>, stream_error: bool, epoch: u64) -> Ending {
        Ending { shared: Some(shared), entry: Some(entry), outputs, stream_error, epoch }
    }

    /// An ending that logs nothing (the entry was logged already).
    fn none() -> Ending {
        Ending { shared: None, entry: None, outputs: Vec::new(), stream_error: false, epoch: 0 }
    }

    /// Logs the entry: `generated` chunks were produced (the last one perhaps
    /// in part), and the body ended as `outcome`.
    fn finish(mut self, generated: usize, outcome: Outcome) {
        let (Some(shared), Some(mut entry)) = (self.shared.take(), self.entry.take()) else { return };
        let complete = outcome == Outcome::Complete;
        entry.outcome = if complete && self.stream_error { Outcome::StreamError } else { outcome };
        if !complete || self.stream_error {
            entry.billed.output_tokens = generated.checked_sub(1).and_then(|i| self.outputs.get(i)).copied().unwrap_or(0);
            if generated == 0 {
                entry.billed = Usage::default();
            }
        }
        log_usage(&shared, entry, Some(self.epoch));
        let mut inner = shared.lock();
        inner.open_responses = inner.open_responses.saturating_sub(1);
    }
}

impl Drop for Ending {
    /// A body task that ends without saying how (a panic, the runtime shutting
    /// down) still logs: as abandoned after everything it could have generated.
    fn drop(&mut self) {
        if self.entry.is_some() {
            let n = self.outputs.len();
            let ending = Ending { shared: self.shared.take(), entry: self.entry.take(), outputs: std::mem::take(&mut self.outputs), stream_error: self.stream_error, epoch: self.epoch };
            ending.finish(n, Outcome::Abandoned);
        }
    }
}

/// The index of the first `content_block_delta` among a reply's events.
fn stream_first_delta(reply: &Reply) -> Option<usize> {
    stream::events(reply).iter().position(|e| e.is_delta)
}

/// The stream's events, ending early with an `error` event when scripted,
/// each with the output tokens generated once it is: 1 with `message_start`
/// (as it reports), the full count with `message_delta`, and in between the
/// share of the deltas produced (rounded up).
fn stream_chunks(reply: &Reply, stream_error: Option<&ScriptedStreamError>, request_id: &str) -> Vec<(Bytes, u64)> {
    let events = stream::events(reply);
    let full = reply.message.usage.output_tokens;
    let total_deltas = events.iter().filter(|e| e.is_delta).count() as u64;
    let mut out = Vec::new();
    let mut deltas = 0usize;
    let mut reached_end = false;
    for (i, event) in events.into_iter().enumerate() {
        // `message_start` always goes out; the error comes after `after_deltas`
        // deltas, and before `message_delta` at the latest.
        if let Some(se) = stream_error {
            if i > 0 && (event.is_message_delta || deltas >= se.after_deltas) {
                break;
            }
        }
        deltas += usize::from(event.is_delta);
        reached_end |= event.is_message_delta;
        let output = if reached_end || total_deltas == 0 && i > 0 {
            full
        } else if total_deltas == 0 || deltas == 0 {
            full.min(1)
        } else {
            (full * deltas as u64).div_ceil(total_deltas).max(full.min(1))
        };
        out.push((event.bytes, output));
    }
    if let Some(se) = stream_error {
        let message = se.message.clone().unwrap_or_else(|| default_message(&se.kind).to_owned());
        let last = out.last().map(|(_, o)| *o).unwrap_or(0);
        out.push((stream::error_event(&se.kind, &message, request_id), last));
    }
    out
}

/// A body that sends `chunks` with `event_delay` between them (and the stall
/// `(index, pause)` before chunk `index`), closes the connection after `cut`
/// bytes, and tells `ending` how it ended and how many chunks it produced.
fn paced_body(chunks: Vec<Bytes>, event_delay: Duration, stall: Option<(usize, Duration)>, cut: Option<usize>, mut stopping: watch::Receiver<bool>, ending: Ending) -> Body {
    // Capacity 1: a client that went away is noticed at the next event.
    let (tx, rx) = mpsc::channel::<Result<Bytes, std::io::Error>>(1);
    tokio::spawn(async move {
        let mut sent = 0usize;
        let count = chunks.len();
        for (i, chunk) in chunks.into_iter().enumerate() {
            let mut pause = if i > 0 { event_delay } else { Duration::ZERO };
            if let Some((at, d)) = stall {
                if at == i {
                    pause += d;
                }
            }
            if !pause.is_zero() {
                tokio::select! {
                    () = tokio::time::sleep(pause) => {}
                    () = tx.closed() => {
                        ending.finish(i, Outcome::Abandoned);
                        return;
                    }
                    () = stopped(&mut stopping) => {
                        let _ = tx.send(Err(std::io::Error::other("the simulator is stopping"))).await;
                        ending.finish(i, Outcome::Cut);
                        return;
                    }
                }
            }
            if let Some(limit) = cut {
                let room = limit.saturating_sub(sent);
                if chunk.len() > room {
                    if room > 0 && tx.send(Ok(chunk.slice(..room))).await.is_err() {
                        ending.finish(i + 1, Outcome::Abandoned);
                        return;
                    }
                    // Let the prefix reach the socket before the connection is dropped.
                    tokio::time::sleep(Duration::from_millis(50)).await;
                    let _ = tx.send(Err(std::io::Error::other("stream cut by the simulator"))).await;
                    ending.finish(i + usize::from(room > 0), Outcome::Cut);
                    return;
                }
            }
            sent += chunk.len();
            if tx.send(Ok(chunk)).await.is_err() {
                ending.finish(i + 1, Outcome::Abandoned);
                return;
            }
        }
        // Every chunk was produced; the body is complete once the server took
        // the last one (it drops the body when the client went away).
        let outcome = if tx.reserve().await.is_ok() { Outcome::Complete } else { Outcome::Abandoned };
        ending.finish(count, outcome);
    });
    Body::from_stream(futures_util::stream::unfold(rx, |mut rx| async move { rx.recv().await.map(|item| (item, rx)) }))
}

/// Resolves once the simulator is stopping.
async fn stopped(stopping: &mut watch::Receiver<bool>) {
    let _ = stopping.wait_for(|s| *s).await;
}

/// The HTTP status that goes with an error type.
fn status_of(kind: &ApiErrorKind) -> u16 {
    match kind {
        ApiErrorKind::InvalidRequest => 400,
        ApiErrorKind::Authentication => 401,
        ApiErrorKind::Billing => 402,
        ApiErrorKind::Permission => 403,
        ApiErrorKind::NotFound => 404,
        ApiErrorKind::Conflict => 409,
        ApiErrorKind::RequestTooLarge => 413,
        ApiErrorKind::RateLimit => 429,
        ApiErrorKind::Timeout => 504,
        ApiErrorKind::Overloaded => 529,
        _ => 500,
    }
}

fn error_response(e: ScriptedError, step_headers: &BTreeMap<String, String>, request_id: &str) -> Response {
    let mut failure = ApiFailure::new(e.status, "");
    if let Some(kind) = e.kind {
        failure.kind = kind;
    }
    failure.message = e.message.unwrap_or_else(|| default_message(&failure.kind).to_owned());
    if let Some(secs) = e.retry_after {
        failure.headers.push(("retry-after".to_owned(), secs.to_string()));
    }
    failure.headers.extend(e.headers);
    failure.headers.extend(step_headers.iter().map(|(k, v)| (k.clone(), v.clone())));
    failure.into_response(request_id)
}

fn add_headers(headers: &mut HeaderMap, extra: &BTreeMap<String, String>) {
    for (name, value) in extra {
        if let (Ok(n), Ok(v)) = (HeaderName::try_from(name.as_str()), HeaderValue::try_from(value.as_str())) {
            headers.insert(n, v);
        }
    }
}
