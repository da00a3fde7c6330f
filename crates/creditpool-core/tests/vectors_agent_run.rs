//! Runs the `agent_run` vectors: an `AgentRun` driven through scripted
//! responses and tool results against a pool.
mod common;

use creditpool_core::agent::{AgentAction, AgentConfig, AgentRun, ToolCall, ToolOutput, ToolResult};
use creditpool_core::api::MessageRequest;
use creditpool_core::call::ReadBody;
use creditpool_core::http::Headers;
use creditpool_core::retry::Failure;
use creditpool_core::pool::{Pool, PoolConfig, PoolOp};
use creditpool_core::pricing::PriceTable;
use creditpool_core::request::{RequestBuilder, RequestConfig};
use creditpool_core::ApiKey;
use serde_json::{json, Value};
use std::sync::Arc;

/// An agent run with its pool store, driven like a call.
struct WithPool<'a> {
    run: &'a mut AgentRun,
    pool: &'a mut Pool,
    ops: &'a mut Vec<Value>,
}

impl WithPool<'_> {
    /// Applies what the run asks of the pool while it reads.
    fn pool_ops(&mut self, now: u64) {
        while let Some(op) = self.run.poll_pool(now) {
            self.ops.push(op_name(&op));
            let result = self.pool.apply(&op);
            self.run.handle_pool(result, now);
        }
    }
}

fn op_name(op: &PoolOp) -> Value {
    serde_json::to_value(op).ok().and_then(|v| v.get("op").cloned()).unwrap_or(Value::Null)
}

impl common::Driven for WithPool<'_> {
    fn head(&mut self, status: u16, headers: &Headers, now: u64) -> ReadBody {
        self.run.handle_head(status, headers, now)
    }
    fn body(&mut self, body: &[u8], now: u64) {
        self.run.handle_body(body, now)
    }
    fn chunk(&mut self, bytes: &[u8], now: u64) {
        let _ = self.run.handle_chunk(bytes, now);
        self.pool_ops(now);
    }
    fn end(&mut self, now: u64) {
        let _ = self.run.handle_end(now);
    }
    fn transport_error(&mut self, failure: Failure, now: u64) {
        self.run.handle_transport_error(failure, now)
    }
    fn reading(&self) -> bool {
        self.run.is_reading()
    }
    fn deadline(&self) -> Option<u64> {
        self.run.deadline()
    }
    fn timeout(&mut self, now: u64) {
        let _ = self.run.handle_timeout(now);
        self.pool_ops(now);
    }
}

/// A scripted tool result: a `ToolResult`, or `{"tool_use_id", "output":
/// ToolOutput}` that the run words itself.
fn tool_result(agent: &AgentRun, calls: &[ToolCall], v: &Value) -> Result<ToolResult, String> {
    let Some(output) = v.get("output") else {
        return serde_json::from_value(v.clone()).map_err(|e| e.to_string());
    };
    let output: ToolOutput = serde_json::from_value(output.clone()).map_err(|e| format!("output: {e}"))?;
    let id = v["tool_use_id"].as_str().unwrap_or_default();
    let call = calls.iter().find(|c| c.id == id).ok_or_else(|| format!("no call {id}"))?;
    Ok(agent.tool_result(call, output))
}

fn run(input: &Value) -> Result<Value, String> {
    let start = input["start_ms"].as_u64().ok_or("start_ms")?;
    let pool_config: PoolConfig = serde_json::from_value(input["pool"].clone()).map_err(|e| format!("pool: {e}"))?;
    let mut pool = Pool::new(pool_config, start).map_err(|e| e.to_string())?;
    let config: AgentConfig = serde_json::from_value(input["config"].clone()).map_err(|e| format!("config: {e}"))?;
    let request: MessageRequest = serde_json::from_value(input["request"].clone()).map_err(|e| format!("request: {e}"))?;
    let builder = RequestBuilder::new(RequestConfig::new(ApiKey::new(input["api_key"].as_str().unwrap_or("k")))).map_err(|e| e.to_string())?;
    let mut agent = AgentRun::new(config, request, builder, Arc::new(PriceTable::builtin())).map_err(|e| e.to_string())?;
    let mut responses = input["responses"].as_array().ok_or("responses")?.iter();
    let mut tool_results = input["tool_results"].as_array().ok_or("tool_results")?.iter();
    let mut now = start;
    let mut actions = Vec::new();
    let mut ops = Vec::new();
    let early = input["early_wake_ms"].as_u64().unwrap_or(0);
    for _ in 0..200 {
        match agent.next_action(now) {
            AgentAction::Pool(op) => {
                ops.push(op_name(&op));
                let result = pool.apply(&op);
                agent.handle_pool(result, now);
            }
            AgentAction::Send(_) => {
                actions.push(json!({"send": true}));
                let a = responses.next().ok_or("the run sent more requests than scripted")?;
                common::play_attempt(&mut WithPool { run: &mut agent, pool: &mut pool, ops: &mut ops }, a, &mut now)?;
            }
            AgentAction::CallTools(calls) => {
                actions.push(json!({"call_tools": calls}));
                let scripted = tool_results.next().ok_or("more tool calls than scripted")?.as_array().cloned().unwrap_or_default();
                let results = scripted.iter().map(|v| tool_result(&agent, &calls, v)).collect::<Result<Vec<_>, _>>()?;
                agent.handle_tool_results(results);
            }
            AgentAction::Wait { until_ms, reason, retry } => {
                let mut a = json!({"wait_until": until_ms, "reason": reason});
                if let Some(n) = retry {
                    a["retry"] = json!({"attempt": n.attempt, "delay_ms": n.delay_ms, "code": n.code});
                }
                actions.push(a);
                // A sleep may wake a little early; the run's clock makes up for it.
                now = until_ms.saturating_sub(early).max(now);
            }
            AgentAction::Done => break,
        }
    }
    let outcome = agent.outcome().ok_or("no outcome")?;
    let mut ledger = Vec::new();
    while let Some(e) = pool.poll_ledger() {
        ledger.push(e);
    }
    let transcript = serde_json::to_value(&outcome.transcript).map_err(|e| e.to_string())?;
    let errors: Vec<Value> = transcript
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|m| m["content"].as_array())
        .flatten()
        .filter(|b| b["type"] == "tool_result" && b["is_error"] == true)
        .cloned()
        .collect();
    Ok(json!({
        "actions": actions,
        "pool_ops": ops,
        "outcome": serde_json::to_value(&outcome).map_err(|e| e.to_string())?,
        "turn_count": outcome.turns.len(),
        "pool": {"settled": pool.state().settled(), "reserved": pool.state().reserved()},
        "ledger": ledger.len(),
        "ledger_kinds": ledger.iter().map(|e| serde_json::to_value(e.kind).unwrap()).collect::<Vec<_>>(),
        "ledger_request_ids": ledger.iter().map(|e| e.request_id.clone()).collect::<Vec<_>>(),
        "transcript": transcript,
        "tool_result_errors": errors,
    }))
}

fn check(actual: &Value, expected: &Value) -> Result<(), String> {
    for (key, want) in expected.as_object().ok_or("expected is not an object")? {
        match key.as_str() {
            "outcome" | "pool" => {
                if let Some(d) = common::json_subset_diff(key, &actual[key], want) {
                    return Err(d);
                }
            }
            "transcript_tail" => {
                let t = actual["transcript"].as_array().ok_or("no transcript")?;
                let n = want.as_array().map_or(0, Vec::len);
                let tail = Value::Array(t[t.len().saturating_sub(n)..].to_vec());
                if let Some(d) = common::json_diff("transcript_tail", &tail, want) {
                    return Err(d);
                }
            }
            "tool_result_errors" => {
                let got = actual["tool_result_errors"].as_array().ok_or("no errors")?;
                for w in want.as_array().into_iter().flatten() {
                    let hit = got.iter().find(|g| g["tool_use_id"] == w["tool_use_id"]).ok_or_else(|| format!("no is_error result for {}", w["tool_use_id"]))?;
                    let text = serde_json::to_string(&hit["content"]).unwrap_or_default();
                    let needle = w["contains"].as_str().unwrap_or_default();
                    if !text.contains(needle) {
                        return Err(format!("is_error result {text} does not contain {needle:?}"));
                    }
                }
            }
            _ => {
                if let Some(d) = common::json_diff(key, &actual[key], want) {
                    return Err(d);
                }
            }
        }
    }
    Ok(())
}

#[test]
fn agent_run_vectors() {
    common::run_kind("agent_run", |case| check(&run(&case.input)?, &case.expected));
}
