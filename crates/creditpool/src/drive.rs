//! Performing one attempt: the I/O half of the core's `Send` action.
//!
//! [`perform`] sends a request, feeds the head, the body or the stream's chunks
//! to a state machine ([`Machine`]: a `MessagesCall`, or an `AgentRun` with the
//! pool), and reports a connection failure or a timeout to it. It decides
//! nothing: how to read the body is the machine's answer to the head, how long
//! a stream may stall is its [`Machine::deadline`], and what a failure means is
//! the machine's business.

use crate::time::{now_ms, until};
use crate::transport::{BodyStream, Transport, TransportError};
use creditpool_core::api::StreamEvent;
use creditpool_core::call::{MessagesCall, ReadBody};
use creditpool_core::http::{Headers, HttpRequest};
use creditpool_core::retry::{Failure, TimeoutPhase};
use futures_util::StreamExt;
use std::time::Duration;

/// The inputs of a state machine that makes HTTP attempts.
pub(crate) trait Machine {
    fn handle_head(&mut self, status: u16, headers: &Headers, now_ms: u64) -> ReadBody;
    fn handle_body(&mut self, body: &[u8], now_ms: u64);
    fn handle_chunk(&mut self, bytes: &[u8], now_ms: u64) -> Vec<StreamEvent>;
    fn handle_end(&mut self, now_ms: u64) -> Vec<StreamEvent>;
    fn handle_transport_error(&mut self, failure: Failure, now_ms: u64);
    fn is_reading(&self) -> bool;
    fn deadline(&self) -> Option<u64>;
}

impl Machine for MessagesCall {
    fn handle_head(&mut self, status: u16, headers: &Headers, now_ms: u64) -> ReadBody {
        MessagesCall::handle_head(self, status, headers, now_ms)
    }
    fn handle_body(&mut self, body: &[u8], now_ms: u64) {
        MessagesCall::handle_body(self, body, now_ms);
    }
    fn handle_chunk(&mut self, bytes: &[u8], now_ms: u64) -> Vec<StreamEvent> {
        MessagesCall::handle_chunk(self, bytes, now_ms)
    }
    fn handle_end(&mut self, now_ms: u64) -> Vec<StreamEvent> {
        MessagesCall::handle_end(self, now_ms)
    }
    fn handle_transport_error(&mut self, failure: Failure, now_ms: u64) {
        MessagesCall::handle_transport_error(self, failure, now_ms);
    }
    fn is_reading(&self) -> bool {
        MessagesCall::is_reading(self)
    }
    fn deadline(&self) -> Option<u64> {
        MessagesCall::deadline(self)
    }
}

/// Where and how to send.
pub(crate) struct Io<'a> {
    pub transport: &'a dyn Transport,
    pub base_url: &'a str,
    /// The longest wait for the response head, and then for a whole body.
    pub read_timeout: Duration,
    /// The most body bytes read into memory (the core refuses a larger body).
    pub max_body_bytes: usize,
}

/// Sends `http` and feeds what comes back to `machine`. Stream events go to
/// `on_events` as they complete.
pub(crate) async fn perform<M: Machine + ?Sized>(io: &Io<'_>, machine: &mut M, http: HttpRequest, on_events: &mut (dyn FnMut(Vec<StreamEvent>) + Send)) {
    let sent = tokio::time::timeout(io.read_timeout, io.transport.send(io.base_url, http)).await;
    let response = match sent {
        Err(_) => return machine.handle_transport_error(Failure::Timeout { phase: TimeoutPhase::Read }, now_ms()),
        Ok(Err(e)) => return machine.handle_transport_error(e.to_failure(), now_ms()),
        Ok(Ok(r)) => r,
    };
    let mut body = response.body;
    match machine.handle_head(response.status, &response.headers, now_ms()) {
        ReadBody::Whole => match tokio::time::timeout(io.read_timeout, read_whole(&mut body, io.max_body_bytes)).await {
            Err(_) => machine.handle_transport_error(Failure::Timeout { phase: TimeoutPhase::Read }, now_ms()),
            Ok(Err(e)) => machine.handle_transport_error(e.to_failure(), now_ms()),
            Ok(Ok(bytes)) => machine.handle_body(&bytes, now_ms()),
        },
        ReadBody::Chunks => {
            while machine.is_reading() {
                let wait = machine.deadline().map_or(io.read_timeout, until);
                match tokio::time::timeout(wait, body.next()).await {
                    Err(_) => {
                        machine.handle_transport_error(Failure::Timeout { phase: TimeoutPhase::Idle }, now_ms());
                        break;
                    }
                    Ok(Some(Ok(bytes))) => {
                        let events = machine.handle_chunk(&bytes, now_ms());
                        if !events.is_empty() {
                            on_events(events);
                        }
                    }
                    Ok(Some(Err(e))) => {
                        machine.handle_transport_error(e.to_failure(), now_ms());
                        break;
                    }
                    Ok(None) => {
                        let events = machine.handle_end(now_ms());
                        if !events.is_empty() {
                            on_events(events);
                        }
                        break;
                    }
                }
            }
        }
    }
}

/// Reads a whole body, stopping one byte past `cap` (the core then reports it
/// as too large) so that memory stays bounded.
async fn read_whole(body: &mut BodyStream, cap: usize) -> Result<Vec<u8>, TransportError> {
    let mut out = Vec::new();
    while let Some(chunk) = body.next().await {
        let chunk = chunk?;
        let room = cap.saturating_add(1).saturating_sub(out.len());
        out.extend_from_slice(chunk.get(..room.min(chunk.len())).unwrap_or_default());
        if out.len() > cap {
            break;
        }
    }
    Ok(out)
}
