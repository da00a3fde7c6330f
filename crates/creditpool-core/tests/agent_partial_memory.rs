//! Issue 10, item 13 (agent runs): a run whose model call fails part-way
//! through a stream holds the message so far once. Settling the attempt
//! (estimated, at its worst case) reads the message in place, the run's
//! status shares it with the call's error, and each `outcome()` shares it
//! too; cancelling a run mid-stream does not copy it either.
//!
//! Measured by the process's peak resident memory (`VmHWM`, reset through
//! `/proc/self/clear_refs`; the crate forbids the `unsafe` a counting
//! allocator would need): a step that copied the message would raise the
//! peak by the message's size. A control step that does copy it shows the
//! gauge sees a copy. The only test of this binary, so no other test
//! allocates meanwhile. Memory, not timing, is asserted.
#![cfg(target_os = "linux")]

use creditpool_core::agent::{AgentAction, AgentConfig, AgentRun, RunStatus};
use creditpool_core::api::{Message, MessageRequest};
use creditpool_core::http::Headers;
use creditpool_core::pool::{Pool, PoolConfig};
use creditpool_core::pricing::PriceTable;
use creditpool_core::request::{RequestBuilder, RequestConfig};
use creditpool_core::{ApiKey, Money};
use std::sync::Arc;

const MIB: u64 = 1024 * 1024;
/// The message a stream carries before it fails: 32 deltas of 1 MiB.
const DELTAS: usize = 32;
const PARTIAL: u64 = DELTAS as u64 * MIB;
/// What a step that copies no message may add to the peak (the reservation,
/// the settle, the outcome's small parts, allocator pages).
const SLACK: u64 = 8 * MIB;

fn status_kib(field: &str) -> u64 {
    let status = std::fs::read_to_string("/proc/self/status").unwrap();
    let line = status.lines().find_map(|l| l.strip_prefix(field)).unwrap_or_else(|| panic!("no {field} in /proc/self/status"));
    line.trim().trim_end_matches("kB").trim().parse().unwrap()
}

/// How far `step` raises the peak resident memory above what was resident
/// before it.
fn peak_rise<T>(step: impl FnOnce() -> T) -> (T, u64) {
    std::fs::write("/proc/self/clear_refs", "5").expect("reset the peak RSS (/proc/self/clear_refs)");
    let before = status_kib("VmRSS:");
    let value = step();
    let peak = status_kib("VmHWM:");
    (value, peak.saturating_sub(before) * 1024)
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

/// A streaming run (no retries) and a pool, with a stream under way whose
/// message holds `PARTIAL` bytes of text.
fn run_mid_stream() -> (AgentRun, Pool) {
    let builder = RequestBuilder::new(RequestConfig::new(ApiKey::new("k"))).unwrap();
    let mut config = AgentConfig::new("a");
    config.call.stream = true;
    config.call.retry.max_retries = 0;
    let request = MessageRequest::new("claude-haiku-4-5", 100, "hi");
    let mut run = AgentRun::new(config, request, builder, Arc::new(PriceTable::builtin())).unwrap();
    let mut pool = Pool::new(PoolConfig::new(Money::from_nanos(1_000_000_000)), 0).unwrap();
    assert!(matches!(pool_step(&mut run, &mut pool, 0), AgentAction::Send(_)));
    let _ = run.handle_head(200, &Headers::new(), 1);
    let start = concat!(
        "data: {\"type\":\"message_start\",\"message\":{\"id\":\"m\",\"type\":\"message\",\"role\":\"assistant\",\"model\":\"claude-haiku-4-5\",\"content\":[],\"stop_reason\":null,\"usage\":{\"input_tokens\":1,\"output_tokens\":1}}}\n\n",
        "data: {\"type\":\"content_block_start\",\"index\":0,\"content_block\":{\"type\":\"text\",\"text\":\"\"}}\n\n",
    );
    let _ = run.handle_chunk(start.as_bytes(), 1);
    let delta = format!("data: {{\"type\":\"content_block_delta\",\"index\":0,\"delta\":{{\"type\":\"text_delta\",\"text\":\"{}\"}}}}\n\n", "x".repeat(MIB as usize));
    for _ in 0..DELTAS {
        let _ = run.handle_chunk(delta.as_bytes(), 1);
    }
    assert!(run.is_reading());
    (run, pool)
}

fn partial(status: &RunStatus) -> &Message {
    match status {
        RunStatus::Failed { partial: Some(p), .. } => p,
        other => panic!("not a failed stream: {other:?}"),
    }
}

#[test]
fn a_failed_or_cancelled_stream_s_message_is_not_copied_by_the_run() {
    // A cut stream: the attempt is settled at its worst case (the message
    // observed beside it), the run fails, and two outcomes are taken.
    let (mut run, mut pool) = run_mid_stream();
    let (outcomes, cut_rise) = peak_rise(|| {
        let _ = run.handle_chunk(b"data: {\"type\":\"content_block_delta\",\"ind", 2);
        let _ = run.handle_end(2);
        assert_eq!(pool_step(&mut run, &mut pool, 2), AgentAction::Done);
        (run.outcome().unwrap(), run.outcome().unwrap())
    });
    assert!(pool.poll_ledger().is_some_and(|e| e.estimated), "the cut attempt is settled, flagged estimated");
    assert_eq!(outcomes.0.status.code(), Some("stream_incomplete"));
    assert_eq!(partial(&outcomes.1.status).text().len() as u64, PARTIAL);
    // The control: a copy of the message does show.
    let (copy, copy_rise) = peak_rise(|| partial(&outcomes.0.status).clone());
    drop((copy, outcomes, run));

    // A cancel mid-stream: the held reservation is settled at its worst
    // case with the message so far observed beside it, read in place.
    let (mut run, mut pool) = run_mid_stream();
    let ((), cancel_rise) = peak_rise(|| {
        run.cancel(2);
        assert_eq!(pool_step(&mut run, &mut pool, 2), AgentAction::Done);
    });
    assert!(pool.poll_ledger().is_some_and(|e| e.estimated), "the cancelled attempt is settled, flagged estimated");
    assert_eq!(run.outcome().map(|o| o.status), Some(RunStatus::Cancelled));

    // All measured before any is judged, so that a failure shows each.
    let report = format!("peak rises: cut + settle + two outcomes {} MiB, cancel {} MiB, a copy {} MiB (the message: {} MiB)", cut_rise / MIB, cancel_rise / MIB, copy_rise / MIB, PARTIAL / MIB);
    assert!(copy_rise >= PARTIAL * 3 / 4, "the gauge misses a copy; {report}");
    assert!(cut_rise < SLACK, "a cut stream's message was copied; {report}");
    assert!(cancel_rise < SLACK, "a cancelled stream's message was copied; {report}");
}
