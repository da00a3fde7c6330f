//! Message threads (beta `message-threads-2026-08-12`), as the official SDKs'
//! tool runners use them.
//!
//! * A request with `"thread": {"type": "create"}` is answered as usual, and
//!   the simulator keeps the conversation (its `system`, `tools`, messages and
//!   the reply) under the reply's `id`.
//! * A request with `"thread": {"type": "continue", "previous_message_id":
//!   "msg_..."}` carries only the new messages (a `system` or `tools` is a
//!   400: the thread keeps those of its create). It is answered as the whole
//!   conversation (the stored one plus the new messages) would be, and billed
//!   so: its input tokens are those of the whole thread. The thread then
//!   continues from the new reply; the previous message cannot be continued
//!   again.
//! * A thread expires [`DEFAULT_THREAD_TTL_MS`] (5 minutes) after its last
//!   request, on the simulator's clock (`POST /_sim/clock` moves it forward;
//!   `--thread-ttl-ms` shortens the time to live). A continue of an unknown
//!   or expired thread answers 404 `not_found_error` with `error.details.
//!   error_code: "thread_not_found"`, after which the SDKs replay the whole
//!   conversation with a new create.
//! * At most [`MAX_THREADS`] threads are kept; past it the oldest goes.

use crate::api_error::ApiFailure;
use serde_json::{Map, Value};
use std::collections::{BTreeMap, HashMap};

/// How long a thread lives after its last request: 5 minutes.
pub const DEFAULT_THREAD_TTL_MS: u64 = 5 * 60 * 1000;

/// The most threads the simulator keeps.
pub const MAX_THREADS: usize = 10_000;

/// A stored conversation.
#[derive(Clone, Debug)]
pub(crate) struct Stored {
    system: Option<Value>,
    tools: Option<Value>,
    messages: Vec<Value>,
    expires_at_ms: u64,
}

/// The threads the simulator holds, by the `id` of each one's latest reply.
#[derive(Debug, Default)]
pub(crate) struct Threads {
    stored: HashMap<String, (u64, Stored)>,
    order: BTreeMap<u64, String>,
    next: u64,
}

/// What a request does on a thread.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) enum Role {
    /// Not on a thread.
    None,
    /// `create`.
    Create,
    /// `continue` from this message.
    Continue(String),
}

impl Role {
    /// The name logged in the usage log.
    pub fn name(&self) -> Option<&'static str> {
        match self {
            Role::None => None,
            Role::Create => Some("create"),
            Role::Continue(_) => Some("continue"),
        }
    }
}

/// A request read for its thread: the body to answer (for a continue, the
/// whole conversation as one request, without `thread`), and its role.
#[derive(Debug)]
pub(crate) struct Resolved {
    /// The body the reply is built from and billed on.
    pub body: Vec<u8>,
    /// The part the request plays.
    pub role: Role,
}

/// The 404 a continue of an unknown or expired thread gets.
fn not_found(previous: &str) -> ApiFailure {
    let mut f = ApiFailure::new(404, format!("No thread state was found for previous_message_id `{previous}`: it expired, was already continued, or never existed. Replay the full conversation with `thread: {{\"type\": \"create\"}}`."));
    f.kind = "not_found_error".to_owned();
    f.details = Some(serde_json::json!({"error_code": "thread_not_found"}));
    f
}

impl Threads {
    fn remove(&mut self, id: &str) -> Option<Stored> {
        let (seq, stored) = self.stored.remove(id)?;
        self.order.remove(&seq);
        Some(stored)
    }

    /// Forgets every thread.
    pub fn clear(&mut self) {
        *self = Threads::default();
    }

    /// Reads `body` for its thread at `now_ms` (the simulator's clock). A
    /// request off threads and a create are answered as sent (without the
    /// `thread` field); a continue as its whole conversation. Errors are the
    /// API's 400 and 404.
    pub fn resolve(&mut self, body: &[u8], now_ms: u64) -> Result<Resolved, ApiFailure> {
        let Ok(Value::Object(mut raw)) = serde_json::from_slice::<Value>(body) else {
            return Ok(Resolved { body: body.to_vec(), role: Role::None });
        };
        let Some(thread) = raw.remove("thread") else {
            return Ok(Resolved { body: body.to_vec(), role: Role::None });
        };
        let kind = thread.get("type").and_then(Value::as_str);
        match kind {
            Some("create") => Ok(Resolved { body: serde_json::to_vec(&raw).unwrap_or_default(), role: Role::Create }),
            Some("continue") => {
                let Some(previous) = thread.get("previous_message_id").and_then(Value::as_str) else {
                    return Err(ApiFailure::invalid("thread.previous_message_id: Field required"));
                };
                for field in ["system", "tools"] {
                    if raw.contains_key(field) {
                        return Err(ApiFailure::invalid(format!("{field}: cannot be set on a thread continue request; the thread keeps the `{field}` of its create")));
                    }
                }
                let stored = match self.stored.get(previous) {
                    Some((_, s)) if now_ms < s.expires_at_ms => s.clone(),
                    Some(_) => {
                        self.remove(previous);
                        return Err(not_found(previous));
                    }
                    None => return Err(not_found(previous)),
                };
                let new = match raw.remove("messages") {
                    Some(Value::Array(m)) => m,
                    Some(_) => return Err(ApiFailure::invalid("messages: Input should be a valid list")),
                    None => Vec::new(),
                };
                let mut messages = stored.messages;
                messages.extend(new);
                raw.insert("messages".to_owned(), Value::Array(messages));
                if let Some(s) = stored.system {
                    raw.insert("system".to_owned(), s);
                }
                if let Some(t) = stored.tools {
                    raw.insert("tools".to_owned(), t);
                }
                Ok(Resolved { body: serde_json::to_vec(&raw).unwrap_or_default(), role: Role::Continue(previous.to_owned()) })
            }
            _ => Err(ApiFailure::invalid("thread.type: Input should be 'create' or 'continue'")),
        }
    }

    /// Keeps the conversation of `body` (the whole one, as [`Threads::resolve`]
    /// gave it) with `reply` under `reply_id`, until `expires_at_ms`. A
    /// continue's previous message is used up.
    pub fn store(&mut self, role: &Role, body: &[u8], reply_id: &str, reply_content: Value, expires_at_ms: u64) {
        if let Role::Continue(previous) = role {
            self.remove(previous);
        }
        if *role == Role::None {
            return;
        }
        let Ok(Value::Object(mut raw)) = serde_json::from_slice::<Value>(body) else { return };
        let mut messages = match raw.remove("messages") {
            Some(Value::Array(m)) => m,
            _ => Vec::new(),
        };
        let mut reply = Map::new();
        reply.insert("role".to_owned(), Value::from("assistant"));
        reply.insert("content".to_owned(), reply_content);
        messages.push(Value::Object(reply));
        let stored = Stored { system: raw.remove("system"), tools: raw.remove("tools"), messages, expires_at_ms };
        self.remove(reply_id);
        let seq = self.next;
        self.next += 1;
        self.stored.insert(reply_id.to_owned(), (seq, stored));
        self.order.insert(seq, reply_id.to_owned());
        while self.stored.len() > MAX_THREADS {
            let Some((_, oldest)) = self.order.pop_first() else { break };
            self.stored.remove(&oldest);
        }
    }

    /// How many threads are held.
    pub fn len(&self) -> usize {
        self.stored.len()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn continue_rebuilds_the_whole_conversation() {
        let mut t = Threads::default();
        let create = json!({"model": "m", "max_tokens": 5, "system": "s", "tools": [{"name": "x"}], "messages": [{"role": "user", "content": "a"}], "thread": {"type": "create"}});
        let r = t.resolve(create.to_string().as_bytes(), 0).unwrap();
        assert_eq!(r.role, Role::Create);
        t.store(&r.role, &r.body, "msg_1", json!([{"type": "text", "text": "b"}]), 100);
        let cont = json!({"model": "m", "max_tokens": 5, "messages": [{"role": "user", "content": "c"}], "thread": {"type": "continue", "previous_message_id": "msg_1"}});
        let r = t.resolve(cont.to_string().as_bytes(), 99).unwrap();
        let v: Value = serde_json::from_slice(&r.body).unwrap();
        assert_eq!(v["system"], "s");
        assert_eq!(v["messages"].as_array().unwrap().len(), 3);
        assert!(v.get("thread").is_none());
        // Expired at 100.
        let e = t.resolve(cont.to_string().as_bytes(), 100).unwrap_err();
        assert_eq!(e.status, 404);
    }
}
