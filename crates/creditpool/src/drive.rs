//! Playing one attempt: the I/O half of the core's `Send` action.
//!
//! [`perform`] sends a request and feeds what comes back to a state machine
//! ([`Machine`]: a `MessagesCall`, or an `AgentRun`): the head, then the whole
//! body or the stream's chunks. It waits for each input no longer than the
//! machine's [`Machine::deadline`] and then reports the time passing with
//! [`Machine::handle_timeout`]; it reports a transport failure as the
//! transport saw it ([`TransportError::to_failure`]: `Failure::Connection` for
//! a reset or a connection closed early). It decides nothing: how to read the
//! body is the machine's answer to the head, what a timeout or a failure means
//! (a connection lost mid-stream is a cut stream) is the machine's business,
//! and so is the lease renewal it asks for while a request is out
//! ([`Machine::poll_pool`], applied to the [`PoolStore`] given in [`Io`]).
//!
//! The one thing it bounds itself is memory: a whole body is read up to one
//! byte past the machine's size cap (the core then refuses it as too large),
//! and after handing out a chunk's stream events it yields before reading
//! the next chunk, so that a consumer that queues them (`MessageStream`)
//! holds one chunk's events at a time (backpressure: the body is not read
//! while the consumer has not taken them).

use crate::error::Error;
use crate::store::PoolStore;
use crate::time::{now_ms, until};
use crate::transport::{BodyStream, Transport, TransportError};
use creditpool_core::agent::AgentRun;
use creditpool_core::api::StreamEvent;
use creditpool_core::call::{MessagesCall, ReadBody};
use creditpool_core::http::{Headers, HttpRequest};
use creditpool_core::pool::{OpResult, PoolOp};
use creditpool_core::retry::Failure;
use futures_util::StreamExt;
use std::future::Future;
use std::time::Duration;

/// The inputs of a state machine that makes HTTP attempts.
pub(crate) trait Machine {
    fn handle_head(&mut self, status: u16, headers: &Headers, now_ms: u64) -> ReadBody;
    fn handle_body(&mut self, body: &[u8], now_ms: u64);
    fn handle_chunk(&mut self, bytes: &[u8], now_ms: u64) -> Vec<StreamEvent>;
    fn handle_end(&mut self, now_ms: u64) -> Vec<StreamEvent>;
    fn handle_transport_error(&mut self, failure: Failure, now_ms: u64);
    /// The connection could not be made: where the request went and what the
    /// operating system said (the core keeps the words, origin only).
    fn handle_connection_error(&mut self, base_url: &str, detail: &str, now_ms: u64);
    /// Time passed with nothing read; returns whether the attempt timed out.
    fn handle_timeout(&mut self, now_ms: u64) -> bool;
    fn is_reading(&self) -> bool;
    /// By when the next input must arrive (or something else is due).
    fn deadline(&self) -> Option<u64>;
    /// A pool operation the machine wants applied while a request is out (an
    /// `AgentRun`'s lease renewal); asked after every input.
    fn poll_pool(&mut self, _now_ms: u64) -> Option<PoolOp> {
        None
    }
    /// The result of the operation [`Machine::poll_pool`] returned.
    fn handle_pool(&mut self, _result: OpResult, _now_ms: u64) {}
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
    fn handle_connection_error(&mut self, base_url: &str, detail: &str, now_ms: u64) {
        MessagesCall::handle_connection_error(self, base_url, detail, now_ms);
    }
    fn handle_timeout(&mut self, now_ms: u64) -> bool {
        MessagesCall::handle_timeout(self, now_ms)
    }
    fn is_reading(&self) -> bool {
        MessagesCall::is_reading(self)
    }
    fn deadline(&self) -> Option<u64> {
        MessagesCall::deadline(self)
    }
}

impl Machine for AgentRun {
    fn handle_head(&mut self, status: u16, headers: &Headers, now_ms: u64) -> ReadBody {
        AgentRun::handle_head(self, status, headers, now_ms)
    }
    fn handle_body(&mut self, body: &[u8], now_ms: u64) {
        AgentRun::handle_body(self, body, now_ms);
    }
    fn handle_chunk(&mut self, bytes: &[u8], now_ms: u64) -> Vec<StreamEvent> {
        AgentRun::handle_chunk(self, bytes, now_ms)
    }
    fn handle_end(&mut self, now_ms: u64) -> Vec<StreamEvent> {
        AgentRun::handle_end(self, now_ms)
    }
    fn handle_transport_error(&mut self, failure: Failure, now_ms: u64) {
        AgentRun::handle_transport_error(self, failure, now_ms);
    }
    fn handle_connection_error(&mut self, base_url: &str, detail: &str, now_ms: u64) {
        AgentRun::handle_connection_error(self, base_url, detail, now_ms);
    }
    fn handle_timeout(&mut self, now_ms: u64) -> bool {
        AgentRun::handle_timeout(self, now_ms)
    }
    fn is_reading(&self) -> bool {
        AgentRun::is_reading(self)
    }
    fn deadline(&self) -> Option<u64> {
        AgentRun::deadline(self)
    }
    fn poll_pool(&mut self, now_ms: u64) -> Option<PoolOp> {
        AgentRun::poll_pool(self, now_ms)
    }
    fn handle_pool(&mut self, result: OpResult, now_ms: u64) {
        AgentRun::handle_pool(self, result, now_ms);
    }
}

/// Where and how to send.
pub(crate) struct Io<'a> {
    pub transport: &'a dyn Transport,
    pub base_url: &'a str,
    /// The most body bytes read into memory (the core refuses a larger body).
    pub max_body_bytes: usize,
    /// Where the machine's pool operations go (an agent's); `None` for a call
    /// that draws on no pool.
    pub store: Option<&'a dyn PoolStore>,
}

/// What happened to a wait bounded by the machine's deadline.
enum Waited<T> {
    /// The awaited thing arrived.
    Ready(T),
    /// The deadline passed first.
    Deadline,
}

/// Awaits `fut` until `deadline` (Unix ms; `None`: no bound).
async fn wait_until<F: Future + Unpin>(deadline: Option<u64>, fut: &mut F) -> Waited<F::Output> {
    match deadline {
        None => Waited::Ready(fut.await),
        // At least a millisecond: a deadline that has just passed on the
        // wall clock is reported, not spun on.
        Some(d) => match tokio::time::timeout(until(d).max(Duration::from_millis(1)), fut).await {
            Ok(out) => Waited::Ready(out),
            Err(_) => Waited::Deadline,
        },
    }
}

/// Applies every pool operation the machine asks for now.
async fn pump_pool<M: Machine + ?Sized>(io: &Io<'_>, machine: &mut M) -> Result<(), Error> {
    let Some(store) = io.store else { return Ok(()) };
    while let Some(op) = machine.poll_pool(now_ms()) {
        let result = store.apply(op).await?;
        machine.handle_pool(result, now_ms());
    }
    Ok(())
}

/// The deadline passed: tell the machine, then apply what it asks of the pool.
/// Returns whether the attempt timed out.
async fn deadline_passed<M: Machine + ?Sized>(io: &Io<'_>, machine: &mut M) -> Result<bool, Error> {
    let timed_out = machine.handle_timeout(now_ms());
    pump_pool(io, machine).await?;
    Ok(timed_out)
}

/// Sends `http` and feeds what comes back to `machine`. Stream events go to
/// `on_events` as they complete. `Err` only when the pool store failed.
pub(crate) async fn perform<M: Machine + ?Sized>(
    io: &Io<'_>,
    machine: &mut M,
    http: HttpRequest,
    on_events: &mut (dyn FnMut(Vec<StreamEvent>) + Send),
) -> Result<(), Error> {
    let mut sending = io.transport.send(io.base_url, http);
    let response = loop {
        match wait_until(machine.deadline(), &mut sending).await {
            Waited::Ready(Ok(r)) => break r,
            Waited::Ready(Err(e)) => {
                match &e {
                    // The connection was never made: the core keeps where
                    // the request went and why, for the error it ends with.
                    TransportError::Connect { message } => machine.handle_connection_error(io.base_url, message, now_ms()),
                    _ => machine.handle_transport_error(e.to_failure(), now_ms()),
                }
                return pump_pool(io, machine).await;
            }
            Waited::Deadline => {
                if deadline_passed(io, machine).await? {
                    return Ok(());
                }
            }
        }
    };
    drop(sending);
    let mut body = response.body;
    let how = machine.handle_head(response.status, &response.headers, now_ms());
    pump_pool(io, machine).await?;
    match how {
        ReadBody::Whole => {
            let mut reading = Box::pin(read_whole(&mut body, io.max_body_bytes));
            loop {
                match wait_until(machine.deadline(), &mut reading).await {
                    Waited::Ready(Ok(bytes)) => {
                        machine.handle_body(&bytes, now_ms());
                        break;
                    }
                    Waited::Ready(Err(e)) => {
                        machine.handle_transport_error(e.to_failure(), now_ms());
                        break;
                    }
                    Waited::Deadline => {
                        if deadline_passed(io, machine).await? {
                            break;
                        }
                    }
                }
            }
            pump_pool(io, machine).await?;
        }
        ReadBody::Chunks => {
            while machine.is_reading() {
                match wait_until(machine.deadline(), &mut body.next()).await {
                    Waited::Ready(Some(Ok(bytes))) => {
                        let events = machine.handle_chunk(&bytes, now_ms());
                        if !events.is_empty() {
                            on_events(events);
                            // Let the consumer take them before the next chunk
                            // is read: a `MessageStream` polls its driver only
                            // once its queue is empty, so what waits there is
                            // one chunk's events, however fast the server sends.
                            tokio::task::yield_now().await;
                        }
                    }
                    Waited::Ready(Some(Err(e))) => machine.handle_transport_error(e.to_failure(), now_ms()),
                    Waited::Ready(None) => {
                        let events = machine.handle_end(now_ms());
                        if !events.is_empty() {
                            on_events(events);
                        }
                    }
                    Waited::Deadline => {
                        machine.handle_timeout(now_ms());
                    }
                }
                pump_pool(io, machine).await?;
            }
        }
    }
    Ok(())
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

/// Drives any call to its end (a message, a token count, a webhook delivery):
/// sends when the core says, sleeps when it says, hands stream events and
/// retry notices to `on_item`, and returns what the core made of it.
pub(crate) async fn drive_call(
    io: &Io<'_>,
    call: &mut MessagesCall,
    on_item: &mut (dyn FnMut(crate::stream::StreamItem) + Send),
) -> Result<Result<creditpool_core::call::CallOutput, creditpool_core::call::CallError>, Error> {
    use crate::stream::StreamItem;
    use creditpool_core::call::CallAction;
    loop {
        match call.next_action(now_ms()) {
            CallAction::Send(http) => {
                perform(io, call, http, &mut |events| events.into_iter().for_each(|e| on_item(StreamItem::Event(e)))).await?;
            }
            CallAction::Wait { until_ms, retry } => {
                if let Some(notice) = retry {
                    on_item(StreamItem::Retry(notice));
                }
                crate::time::sleep_until_ms(until_ms).await;
            }
            CallAction::Done => break,
        }
    }
    call.take_output().ok_or(Error::NoResult)
}
