//! `RawRedisOps`: the core's sans-I/O Redis pool store
//! (`creditpool_core::redis`) for the Node `RedisPool` (`js/src/redis.js`).
//! The core builds every command (one script call per pool operation, the
//! stream reads) and decodes every reply; this file only converts: a command
//! goes out as an array of strings (a `Uint8Array` for an argument that is
//! not UTF-8), a reply comes in as the Node client hands it back (`null`,
//! numbers, strings, `Buffer`s, arrays, and `Error` objects for error replies
//! inside an array) and becomes the core's `RedisValue`. It decides nothing.

use creditpool_core::pool::{Alert, PoolConfig, PoolOp};
use creditpool_core::redis::{self as core, Built, Clock, JoinMode, RedisError, RedisValue, ScriptCall, ScriptMode};
use js_sys::{Array, Uint8Array};
use wasm_bindgen::prelude::*;
use wasm_bindgen::JsCast;

use crate::convert::{from_js, object, pairs_to_js, to_js, u64_from_js, u64_js};
use crate::errors;
use crate::pool::pool_error;

/// How deep a reply may nest: the pool's replies nest three levels (a stream
/// read: streams, entries, fields); anything deeper is refused, so that a
/// peer cannot make the conversion recurse without bound.
const MAX_DEPTH: usize = 16;

/// A `RedisError` as its typed JS error (the class the core maps its code
/// to); a configuration conflict carries `stored` and `given` (objects).
fn redis_error(e: &RedisError) -> JsValue {
    let msg = e.to_string();
    match e {
        RedisError::Config(pe) => pool_error(pe),
        RedisError::ConfigConflict { stored, given } => {
            let parse = |s: &str| js_sys::JSON::parse(s).unwrap_or(JsValue::NULL);
            errors::make(e.code(), e.code(), &msg, object(&[("stored", parse(stored)), ("given", parse(given))]))
        }
        RedisError::OutOfRange { field, .. } => {
            errors::make(e.code(), e.code(), &msg, object(&[("reason", JsValue::from_str(e.code())), ("details", JsValue::from_str(field))]))
        }
        _ => errors::make(e.code(), e.code(), &msg, object(&[("reason", JsValue::from_str(e.code()))])),
    }
}

fn script_mode(mode: &str) -> Result<ScriptMode, JsValue> {
    match mode {
        "function" => Ok(ScriptMode::Function),
        "eval" => Ok(ScriptMode::Eval),
        other => Err(errors::simple("invalid_argument", &format!("scriptMode: expected \"function\" or \"eval\", got {other:?}"))),
    }
}

/// A command as a JS array: each argument a string (they are all UTF-8: keys,
/// numbers, JSON, the script), or a `Uint8Array` should one not be.
fn command_js(argv: &[Vec<u8>]) -> JsValue {
    let out = Array::new_with_length(u32::try_from(argv.len()).unwrap_or(u32::MAX));
    for (i, a) in argv.iter().enumerate() {
        let v = match std::str::from_utf8(a) {
            Ok(s) => JsValue::from_str(s),
            Err(_) => Uint8Array::from(a.as_slice()).into(),
        };
        out.set(u32::try_from(i).unwrap_or(u32::MAX), v);
    }
    out.into()
}

/// A Node client's reply as the core's `RedisValue`.
fn value_from_js(v: &JsValue, depth: usize) -> Result<RedisValue, JsValue> {
    if depth > MAX_DEPTH {
        return Err(errors::simple("redis_reply", "a Redis reply nests deeper than any pool reply"));
    }
    if v.is_null() || v.is_undefined() {
        return Ok(RedisValue::Nil);
    }
    if let Some(s) = v.as_string() {
        return Ok(RedisValue::Bulk(s.into_bytes()));
    }
    if let Some(f) = v.as_f64() {
        if f.fract() == 0.0 && f.abs() <= 9_007_199_254_740_991.0 {
            return Ok(RedisValue::Int(f as i64));
        }
        return Ok(RedisValue::Bulk(f.to_string().into_bytes()));
    }
    if v.is_bigint() {
        return i64::try_from(v.clone())
            .map(RedisValue::Int)
            .map_err(|_| errors::simple("redis_reply", "a Redis integer reply beyond 64 bits"));
    }
    if let Some(b) = v.as_bool() {
        return Ok(RedisValue::Int(i64::from(b)));
    }
    if let Some(e) = v.dyn_ref::<js_sys::Error>() {
        return Ok(RedisValue::Error(String::from(e.message())));
    }
    // A Buffer is a Uint8Array.
    if let Some(a) = v.dyn_ref::<Uint8Array>() {
        return Ok(RedisValue::Bulk(a.to_vec()));
    }
    if let Some(a) = v.dyn_ref::<Array>() {
        let mut out = Vec::with_capacity(usize::try_from(a.length()).unwrap_or(0));
        for item in a.iter() {
            out.push(value_from_js(&item, depth + 1)?);
        }
        return Ok(RedisValue::Array(out));
    }
    Err(errors::simple("redis_reply", "a Redis reply of an unexpected type"))
}

/// An alert as JS: the core's JSON plus `kind` and `percent` (as the
/// in-memory `Pool` hands them), `payload` (the webhook payload), `body` (its
/// exact JSON text) and `idempotencyKey` (what a receiver deduplicates by).
fn alert_js(alert: &Alert) -> Result<JsValue, JsValue> {
    let fields = to_js(alert)?;
    let obj = js_sys::Object::from(fields);
    crate::convert::set(&obj, "kind", &JsValue::from_str(alert.kind.name()));
    crate::convert::set(&obj, "percent", &alert.kind.percent().map_or(JsValue::NULL, JsValue::from));
    crate::convert::set(&obj, "payload", &to_js(&alert.payload())?);
    crate::convert::set(&obj, "body", &JsValue::from_str(&String::from_utf8_lossy(&alert.webhook_body())));
    crate::convert::set(&obj, "idempotencyKey", &JsValue::from_str(&alert.idempotency_key()));
    Ok(obj.into())
}

fn config_from_js(config: JsValue) -> Result<Option<PoolConfig>, JsValue> {
    if config.is_null() || config.is_undefined() {
        return Ok(None);
    }
    from_js(config, "pool configuration", "invalid_config").map(Some)
}

/// One script call the core built: its command in either script mode.
#[wasm_bindgen(js_name = RawRedisCall)]
pub struct RawRedisCall {
    call: ScriptCall,
}

#[wasm_bindgen(js_class = RawRedisCall)]
impl RawRedisCall {
    /// The command to send: `FCALL creditpool_v2 ...` (`"function"`) or
    /// `EVALSHA <sha> ...` (`"eval"`).
    pub fn command(&self, mode: &str) -> Result<JsValue, JsValue> {
        Ok(command_js(&self.call.command(script_mode(mode)?)))
    }

    /// `EVAL <text> ...`: the resend after a `NOSCRIPT` in `"eval"` mode.
    #[wasm_bindgen(js_name = evalCommand)]
    pub fn eval_command(&self) -> JsValue {
        command_js(&self.call.eval_command())
    }

    /// The operation's name (`reserve`, `settle`, ..., `init`).
    #[wasm_bindgen(getter, js_name = opName)]
    pub fn op_name(&self) -> String {
        self.call.op_name().to_owned()
    }
}

/// The core's Redis pool operations for one pool
/// (`creditpool_core::redis::RedisPoolOps`).
#[wasm_bindgen(js_name = RawRedisOps)]
pub struct RawRedisOps {
    ops: core::RedisPoolOps,
}

#[wasm_bindgen(js_class = RawRedisOps)]
impl RawRedisOps {
    /// The operations of pool `name`; `clock` is `"server"` (Redis `TIME`,
    /// for a fleet) or `"given"` (each operation's `now_ms`, for tests).
    #[wasm_bindgen(constructor)]
    pub fn new(name: &str, clock: &str) -> Result<RawRedisOps, JsValue> {
        let clock = match clock {
            "server" => Clock::Server,
            "given" => Clock::Given,
            other => return Err(errors::simple("invalid_argument", &format!("clock: expected \"server\" or \"given\", got {other:?}"))),
        };
        Ok(RawRedisOps { ops: core::RedisPoolOps::new(name, clock).map_err(|e| redis_error(&e))? })
    }

    /// The pool's name.
    #[wasm_bindgen(getter)]
    pub fn name(&self) -> String {
        self.ops.keys().name().to_owned()
    }

    /// The call that creates or joins the pool: `mode` is `"join"` (create,
    /// or join with the same configuration), `"update"` (replace it) or
    /// `"read"` (join with the stored one; `config` null).
    pub fn join(&self, config: JsValue, mode: &str, now_ms: JsValue) -> Result<RawRedisCall, JsValue> {
        let config = config_from_js(config)?;
        let mode = match mode {
            "join" => JoinMode::Join,
            "update" => JoinMode::Update,
            "read" => JoinMode::Read,
            other => return Err(errors::simple("invalid_argument", &format!("join: expected \"join\", \"update\" or \"read\", got {other:?}"))),
        };
        let now = if now_ms.is_undefined() || now_ms.is_null() { 0 } else { u64_from_js(&now_ms, "createdAtMs")? };
        let call = self.ops.join(config.as_ref(), mode, now).map_err(|e| redis_error(&e))?;
        Ok(RawRedisCall { call })
    }

    /// The pool's configuration (the core's `PoolConfig` JSON) from the reply
    /// to `join`; throws `RedisConfigConflictError` (with `stored` and
    /// `given`) or `PoolStoreError` (`redis_pool_missing`).
    #[wasm_bindgen(js_name = decodeJoin)]
    pub fn decode_join(&self, reply: JsValue, given: JsValue) -> Result<JsValue, JsValue> {
        let given = config_from_js(given)?;
        let config = self.ops.decode_join(&value_from_js(&reply, 0)?, given.as_ref()).map_err(|e| redis_error(&e))?;
        to_js(&config)
    }

    /// Builds one operation (the core's `PoolOp` JSON): `{call}` (a
    /// `RawRedisCall` to send) or `{result}` (the core's `OpResult` JSON, when
    /// the answer needs no Redis).
    pub fn build(&self, op: JsValue, idempotency_key: Option<String>) -> Result<JsValue, JsValue> {
        let op: PoolOp = from_js(op, "pool operation", "invalid_argument")?;
        match self.ops.build(&op, idempotency_key.as_deref()).map_err(|e| redis_error(&e))? {
            Built::Done(r) => Ok(object(&[("result", to_js(&r)?)])),
            Built::Call(call) => Ok(object(&[("call", RawRedisCall { call }.into())])),
        }
    }

    /// The operation's result (the core's `OpResult` JSON) from the reply to
    /// its call.
    pub fn decode(&self, reply: JsValue) -> Result<JsValue, JsValue> {
        let r = self.ops.decode(&value_from_js(&reply, 0)?).map_err(|e| redis_error(&e))?;
        to_js(&r)
    }

    /// `XRANGE` of the ledger stream after stream ID `after` (`"-"`: from the start).
    #[wasm_bindgen(js_name = readLedger)]
    pub fn read_ledger(&self, after: &str, count: u32) -> JsValue {
        command_js(&self.ops.read_ledger(after, count as usize))
    }

    /// `XTRIM` of the ledger stream through stream ID `through` (the core
    /// checks the ID: `redis_invalid_stream_id`).
    #[wasm_bindgen(js_name = trimLedger)]
    pub fn trim_ledger(&self, through: &str) -> Result<JsValue, JsValue> {
        let cmd = self.ops.trim_ledger(through).map_err(|e| redis_error(&e))?;
        Ok(command_js(&cmd))
    }

    /// How many entries an `XTRIM` removed.
    #[wasm_bindgen(js_name = decodeTrimmed)]
    pub fn decode_trimmed(&self, reply: JsValue) -> Result<f64, JsValue> {
        let n = core::decode_trimmed(&value_from_js(&reply, 0)?).map_err(|e| redis_error(&e))?;
        Ok(n as f64)
    }

    /// `XRANGE` of the alert outbox after stream ID `after`.
    #[wasm_bindgen(js_name = rangeAlerts)]
    pub fn range_alerts(&self, after: &str, count: u32) -> JsValue {
        command_js(&self.ops.range_alerts(after, count as usize))
    }

    /// `XGROUP CREATE` of the outbox's consumer group.
    #[wasm_bindgen(js_name = createGroup)]
    pub fn create_group(&self, group: &str) -> JsValue {
        command_js(&self.ops.create_group(group))
    }

    /// `XREADGROUP` of new alerts for `consumer`.
    #[wasm_bindgen(js_name = readAlerts)]
    pub fn read_alerts(&self, group: &str, consumer: &str, count: u32) -> JsValue {
        command_js(&self.ops.read_alerts(group, consumer, count as usize))
    }

    /// `XAUTOCLAIM` of alerts another consumer left pending for `minIdleMs`.
    #[wasm_bindgen(js_name = claimAlerts)]
    pub fn claim_alerts(&self, group: &str, consumer: &str, min_idle_ms: JsValue, count: u32) -> Result<JsValue, JsValue> {
        let idle = u64_from_js(&min_idle_ms, "minIdleMs")?;
        Ok(command_js(&self.ops.claim_alerts(group, consumer, idle, count as usize)))
    }

    /// `XACK` of delivered alerts.
    pub fn ack(&self, group: &str, ids: Vec<String>) -> JsValue {
        command_js(&self.ops.ack(group, &ids))
    }

    /// Ledger entries with their stream IDs from a ledger read: `[[id,
    /// entry], ...]` (the file ledger's JSON).
    #[wasm_bindgen(js_name = decodeLedger)]
    pub fn decode_ledger(&self, reply: JsValue) -> Result<JsValue, JsValue> {
        let out = Array::new();
        for (id, entry) in core::decode_ledger(&value_from_js(&reply, 0)?).map_err(|e| redis_error(&e))? {
            let pair = Array::new();
            pair.push(&JsValue::from_str(&id));
            pair.push(&to_js(&entry)?);
            out.push(&pair);
        }
        Ok(out.into())
    }

    /// Alerts with their stream IDs from an outbox read: `[[id, alert], ...]`.
    /// With `secrets` (an array of strings), each alert also has
    /// `deliveries`: for each secret, the headers of a webhook delivery
    /// signed with it for an attempt at `nowMs` (as the in-memory pool's
    /// `pollAlert`).
    #[wasm_bindgen(js_name = decodeAlerts)]
    pub fn decode_alerts(&self, reply: JsValue, secrets: JsValue, now_ms: JsValue) -> Result<JsValue, JsValue> {
        let secrets: Vec<String> = if secrets.is_undefined() || secrets.is_null() { Vec::new() } else { from_js(secrets, "secrets", "invalid_argument")? };
        let now = if secrets.is_empty() { 0 } else { u64_from_js(&now_ms, "nowMs")? };
        let out = Array::new();
        for (id, alert) in core::decode_alerts(&value_from_js(&reply, 0)?).map_err(|e| redis_error(&e))? {
            let a = alert_js(&alert)?;
            if !secrets.is_empty() {
                let deliveries = Array::new();
                for s in &secrets {
                    deliveries.push(&pairs_to_js(&alert.webhook(s.as_bytes(), now).headers));
                }
                crate::convert::set(&js_sys::Object::from(a.clone()), "deliveries", &deliveries.into());
            }
            let pair = Array::new();
            pair.push(&JsValue::from_str(&id));
            pair.push(&a);
            out.push(&pair);
        }
        Ok(out.into())
    }
}

/// The command that loads the script (`FUNCTION LOAD REPLACE <library>` for
/// `"function"`, `SCRIPT LOAD <text>` for `"eval"`).
#[wasm_bindgen(js_name = redisLoadCommand)]
pub fn redis_load_command(mode: &str) -> Result<JsValue, JsValue> {
    Ok(command_js(&core::load_command(script_mode(mode)?)))
}

/// Whether an error reply means the server lost the script: load it, send again.
#[wasm_bindgen(js_name = redisIsReloadError)]
pub fn redis_is_reload_error(message: &str) -> bool {
    core::is_reload_error(message)
}

/// Whether an error reply to `FUNCTION LOAD` means the server has no Functions.
#[wasm_bindgen(js_name = redisIsFunctionsUnsupported)]
pub fn redis_is_functions_unsupported(message: &str) -> bool {
    core::is_functions_unsupported(message)
}

/// The idempotency key of a client's `seq`-th reserve.
#[wasm_bindgen(js_name = redisIdempotencyKey)]
pub fn redis_idempotency_key(client_id: &str, seq: JsValue) -> Result<String, JsValue> {
    Ok(core::idempotency_key(client_id, u64_from_js(&seq, "seq")?))
}

/// The core's constants for a Redis store: `{sendAttempts, alertGroup,
/// alertBatch, alertClaimIdleMs}`.
#[wasm_bindgen(js_name = redisConstants)]
pub fn redis_constants() -> JsValue {
    object(&[
        ("sendAttempts", JsValue::from(core::SEND_ATTEMPTS)),
        ("alertGroup", JsValue::from_str(core::ALERT_GROUP)),
        ("alertBatch", u64_js(core::ALERT_BATCH as u64)),
        ("alertClaimIdleMs", u64_js(core::ALERT_CLAIM_IDLE_MS)),
    ])
}
