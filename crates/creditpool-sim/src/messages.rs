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
use crate::{auth, tokens};
use axum::body::Body;
use axum::extract::State;
use axum::http::{HeaderMap, HeaderName, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Extension;
use bytes::Bytes;
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
            stream_error: step.stream_error,
            headers: step.headers,
        }
    }

    fn from_fault(fault: Fault, retry_after: u64) -> Plan {
        let error = |status: u16, retry: bool| {
            Answer::Error(ScriptedError { status, kind: None, message: None, retry_after: retry.then_some(retry_after), headers: BTreeMap::new() })
        };
        let (answer, cut) = match fault {
            Fault::RateLimit => (error(429, true), None),
            Fault::Overloaded => (error(529, true), None),
            Fault::ServerError => (error(500, false), None),
            Fault::Cut => (Answer::Rule, Some(CutAt::Half)),
        };
        Plan { answer, delay: Duration::ZERO, event_delay: Duration::ZERO, cut, stream_error: None, headers: BTreeMap::new() }
    }

    fn rule() -> Plan {
        Plan::from_step(Step::default())
    }
}

/// Checks the key and the version header, and reads the body.
async fn admit(shared: &Shared, headers: &HeaderMap, body: Body, endpoint: Endpoint) -> Result<(Valid, usize), ApiFailure> {
    auth::check(headers, &shared.keys)?;
    validate::check_version(headers)?;
    let bytes = axum::body::to_bytes(body, MAX_BODY_BYTES)
        .await
        .map_err(|_| ApiFailure::new(413, format!("Request exceeds the maximum allowed number of bytes ({MAX_BODY_BYTES}).")))?;
    let valid = validate::check_body(&bytes, endpoint)?;
    Ok((valid, bytes.len()))
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
        Ok(v) => v,
        Err(f) => return f.into_response(&rid.id),
    };
    let n = tokens::input_tokens(&valid.request, body_len);
    let mut response = (StatusCode::OK, [("content-type", "application/json")], serde_json::json!({"input_tokens": n}).to_string()).into_response();
    echo_pool(response.headers_mut(), pool_value(&shared, &valid).as_ref());
    response
}

/// `POST /v1/messages`.
pub(crate) async fn post_messages(State(shared): State<Arc<Shared>>, Extension(rid): Extension<RequestId>, headers: HeaderMap, body: Body) -> Response {
    let (valid, body_len) = match admit(&shared, &headers, body, Endpoint::Messages).await {
        Ok(v) => v,
        Err(f) => return f.into_response(&rid.id),
    };
    let pool = pool_value(&shared, &valid);
    let request = &valid.request;
    let user_id = request.metadata.as_ref().and_then(|m| m.user_id.clone());
    let plan = {
        let mut inner = shared.lock();
        let retry_after = inner.fault_retry_after;
        match inner.faults.draw() {
            Some(fault) => Plan::from_fault(fault, retry_after),
            None => inner.script.take(&request.model, user_id.as_deref()).map(Plan::from_step).unwrap_or_else(Plan::rule),
        }
    };
    if !plan.delay.is_zero() {
        let mut stopping = shared.stopping.clone();
        tokio::select! {
            () = tokio::time::sleep(plan.delay) => {}
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
    let reply = reply::build(request, body_len, scripted, rid.seq);
    let chunks = if streamed { stream_chunks(&reply, plan.stream_error.as_ref(), &rid.id) } else { vec![json_body(&reply)] };
    let total: usize = chunks.iter().map(Bytes::len).sum();
    let cut = plan.cut.map(|c| match c {
        CutAt::Bytes(n) => n,
        CutAt::Half => total / 2,
    });
    let outcome = match cut {
        Some(n) if n < total => Outcome::Cut,
        _ if streamed && plan.stream_error.is_some() => Outcome::StreamError,
        _ => Outcome::Complete,
    };
    let entry = UsageEntry {
        request_id: rid.id.clone(),
        model: reply.message.model.clone(),
        stream: streamed,
        usage: reply.message.usage.clone(),
        credit_pool: pool.clone(),
        user_id,
        status: 200,
        outcome,
        body_bytes: body_len as u64,
        max_tokens: request.max_tokens,
    };
    {
        let mut inner = shared.lock();
        let used = entry.usage.input_tokens + entry.usage.output_tokens;
        inner.window.count_tokens(used, now_ms());
        // A usage log that cannot be written is reported on stderr once per
        // failure; the response still goes out.
        if let Err(e) = inner.usage.append(entry) {
            use std::io::Write;
            let _ = writeln!(std::io::stderr(), "creditpool-sim: usage log: {e}");
        }
    }
    let body = if cut.is_none() && (plan.event_delay.is_zero() || !streamed) {
        Body::from(chunks.concat())
    } else {
        paced_body(chunks, if streamed { plan.event_delay } else { Duration::ZERO }, cut, shared.stopping.clone())
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

/// The stream's events, ending early with an `error` event when scripted.
fn stream_chunks(reply: &Reply, stream_error: Option<&ScriptedStreamError>, request_id: &str) -> Vec<Bytes> {
    let events = stream::events(reply);
    let Some(se) = stream_error else { return events.into_iter().map(|e| e.bytes).collect() };
    let mut out = Vec::new();
    let mut deltas = 0;
    for (i, event) in events.into_iter().enumerate() {
        // `message_start` always goes out; the error comes after `after_deltas`
        // deltas, and before `message_delta` at the latest.
        if i > 0 && (event.is_message_delta || deltas >= se.after_deltas) {
            break;
        }
        deltas += usize::from(event.is_delta);
        out.push(event.bytes);
    }
    let message = se.message.clone().unwrap_or_else(|| default_message(&se.kind).to_owned());
    out.push(stream::error_event(&se.kind, &message, request_id));
    out
}

/// A body that sends `chunks` with `event_delay` between them and, with `cut`,
/// closes the connection after that many bytes.
fn paced_body(chunks: Vec<Bytes>, event_delay: Duration, cut: Option<usize>, mut stopping: watch::Receiver<bool>) -> Body {
    let (tx, rx) = mpsc::channel::<Result<Bytes, std::io::Error>>(4);
    tokio::spawn(async move {
        let mut sent = 0usize;
        for (i, chunk) in chunks.into_iter().enumerate() {
            if i > 0 && !event_delay.is_zero() {
                tokio::select! {
                    () = tokio::time::sleep(event_delay) => {}
                    () = stopped(&mut stopping) => {
                        let _ = tx.send(Err(std::io::Error::other("the simulator is stopping"))).await;
                        return;
                    }
                }
            }
            if let Some(limit) = cut {
                let room = limit.saturating_sub(sent);
                if chunk.len() > room {
                    if room > 0 && tx.send(Ok(chunk.slice(..room))).await.is_err() {
                        return;
                    }
                    // Let the prefix reach the socket before the connection is dropped.
                    tokio::time::sleep(Duration::from_millis(50)).await;
                    let _ = tx.send(Err(std::io::Error::other("stream cut by the simulator"))).await;
                    return;
                }
            }
            sent += chunk.len();
            if tx.send(Ok(chunk)).await.is_err() {
                return;
            }
        }
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
