//! `RedisOps`: the core's sans-I/O Redis pool store (`creditpool_core::redis`)
//! for Python. The core builds every command (one script call per pool
//! operation, the stream reads) and decodes every reply; this file only
//! converts redis-py's replies to the core's `RedisValue` and the core's
//! commands to lists of bytes. `creditpool._redis.RedisPool` sends them.

use crate::convert::{de_from_py, ser_to_py, to_py};
use crate::errors::{guard, invalid_options, obj, pool_error, raise};
use creditpool_core::pool::{Alert, PoolConfig, PoolOp};
use creditpool_core::redis::{self as core, Built, Clock, JoinMode, RedisError, RedisValue, ScriptCall, ScriptMode};
use pyo3::exceptions::PyBaseException;
use pyo3::prelude::*;
use pyo3::types::{PyBool, PyBytes, PyDict, PyFloat, PyInt, PyList, PyString, PyTuple};

/// A `RedisError` as its typed Python error (the class the core maps its code
/// to); a configuration conflict carries `stored` and `given` (dicts).
fn redis_error(py: Python<'_>, e: &RedisError) -> PyErr {
    let msg = e.to_string();
    match e {
        RedisError::Config(pe) => pool_error(py, pe),
        RedisError::ConfigConflict { stored, given } => {
            let parse = |s: &str| serde_json::from_str::<serde_json::Value>(s).ok().and_then(|v| to_py(py, &v).ok()).unwrap_or_else(|| py.None().into_bound(py));
            raise(py, e.code(), &msg, &[("stored", parse(stored)), ("given", parse(given))])
        }
        RedisError::OutOfRange { field, .. } => raise(py, e.code(), &msg, &[("reason", obj(py, e.code())), ("details", obj(py, field.as_str()))]),
        RedisError::FairShareUnsupported | RedisError::InvalidPoolName { .. } | RedisError::Unsupported { .. } => {
            raise(py, e.code(), &msg, &[("reason", obj(py, e.code()))])
        }
        _ => raise(py, e.code(), &msg, &[]),
    }
}

fn script_mode(py: Python<'_>, mode: &str) -> PyResult<ScriptMode> {
    match mode {
        "function" => Ok(ScriptMode::Function),
        "eval" => Ok(ScriptMode::Eval),
        other => Err(invalid_options(py, "script_mode", &format!("expected \"function\" or \"eval\", got {other:?}"))),
    }
}

fn command_to_py<'py>(py: Python<'py>, argv: &[Vec<u8>]) -> PyResult<Bound<'py, PyList>> {
    PyList::new(py, argv.iter().map(|a| PyBytes::new(py, a)))
}

/// A redis-py reply as the core's `RedisValue`: None, int (bool), bytes
/// (str, float), list (tuple; a dict as its flattened pairs) and an exception
/// object (an error reply inside an array) as its text. Depth is bounded by
/// what redis-py parsed.
fn value_from_py(obj: &Bound<'_, PyAny>) -> PyResult<RedisValue> {
    if obj.is_none() {
        return Ok(RedisValue::Nil);
    }
    if let Ok(b) = obj.cast::<PyBool>() {
        return Ok(RedisValue::Int(i64::from(b.is_true())));
    }
    if obj.cast::<PyInt>().is_ok() {
        return Ok(RedisValue::Int(obj.extract()?));
    }
    if let Ok(b) = obj.cast::<PyBytes>() {
        return Ok(RedisValue::Bulk(b.as_bytes().to_vec()));
    }
    if let Ok(s) = obj.cast::<PyString>() {
        return Ok(RedisValue::Bulk(s.to_str()?.as_bytes().to_vec()));
    }
    if obj.cast::<PyFloat>().is_ok() {
        return Ok(RedisValue::Bulk(obj.str()?.to_str()?.as_bytes().to_vec()));
    }
    if let Ok(d) = obj.cast::<PyDict>() {
        let mut v = Vec::with_capacity(d.len() * 2);
        for (k, x) in d.iter() {
            v.push(value_from_py(&k)?);
            v.push(value_from_py(&x)?);
        }
        return Ok(RedisValue::Array(v));
    }
    if obj.is_instance_of::<PyBaseException>() {
        return Ok(RedisValue::Error(obj.str()?.to_str()?.to_owned()));
    }
    if obj.cast::<PyList>().is_ok() || obj.cast::<PyTuple>().is_ok() {
        let mut v = Vec::new();
        for item in obj.try_iter()? {
            v.push(value_from_py(&item?)?);
        }
        return Ok(RedisValue::Array(v));
    }
    Err(invalid_options(obj.py(), "redis reply", &format!("unexpected reply type {}", obj.get_type().name()?)))
}

/// An alert as a dict: the core's JSON plus `payload`, the webhook body.
fn alert_to_py<'py>(py: Python<'py>, alert: &Alert) -> PyResult<Bound<'py, PyAny>> {
    let mut json = serde_json::to_value(alert).map_err(|e| invalid_options(py, "alert", &e.to_string()))?;
    if let Some(map) = json.as_object_mut() {
        let payload = serde_json::to_value(alert.payload()).map_err(|e| invalid_options(py, "alert", &e.to_string()))?;
        map.insert("payload".to_owned(), payload);
    }
    to_py(py, &json)
}

/// One script call the core built: its command in either script mode.
#[pyclass(module = "creditpool._creditpool", frozen)]
pub struct RedisCall {
    call: ScriptCall,
}

#[pymethods]
impl RedisCall {
    /// The command to send: `FCALL creditpool_v2 ...` (`"function"`) or
    /// `EVALSHA <sha> ...` (`"eval"`), as a list of bytes.
    fn command<'py>(&self, py: Python<'py>, mode: &str) -> PyResult<Bound<'py, PyList>> {
        let mode = script_mode(py, mode)?;
        command_to_py(py, &self.call.command(mode))
    }

    /// `EVAL <text> ...`: the resend after a `NOSCRIPT` in `"eval"` mode.
    fn eval_command<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyList>> {
        command_to_py(py, &self.call.eval_command())
    }

    /// The operation's name (`reserve`, `settle`, ..., `init`).
    #[getter]
    fn op_name(&self) -> String {
        self.call.op_name().to_owned()
    }

    fn __repr__(&self) -> String {
        format!("RedisCall(op_name={:?})", self.call.op_name())
    }
}

/// The core's Redis pool operations for one pool (`creditpool_core::redis::RedisPoolOps`).
#[pyclass(module = "creditpool._creditpool", frozen)]
pub struct RedisOps {
    ops: core::RedisPoolOps,
}

#[pymethods]
impl RedisOps {
    /// The operations of pool `name`; `clock` is `"server"` (Redis `TIME`,
    /// for a fleet) or `"given"` (each operation's `now_ms`, for tests).
    #[new]
    #[pyo3(signature = (name, clock = "server"))]
    fn new(py: Python<'_>, name: &str, clock: &str) -> PyResult<RedisOps> {
        guard(py, || {
            let clock = match clock {
                "server" => Clock::Server,
                "given" => Clock::Given,
                other => return Err(invalid_options(py, "clock", &format!("expected \"server\" or \"given\", got {other:?}"))),
            };
            Ok(RedisOps { ops: core::RedisPoolOps::new(name, clock).map_err(|e| redis_error(py, &e))? })
        })
    }

    /// The pool's name.
    #[getter]
    fn name(&self) -> String {
        self.ops.keys().name().to_owned()
    }

    /// The call that creates or joins the pool: `mode` is `"join"` (create,
    /// or join with the same configuration), `"update"` (replace it) or
    /// `"read"` (join with the stored one; `config` None).
    #[pyo3(signature = (config, mode, now_ms = 0))]
    fn join(&self, py: Python<'_>, config: Option<&Bound<'_, PyAny>>, mode: &str, now_ms: u64) -> PyResult<RedisCall> {
        guard(py, || {
            let config = config_from_py(py, config)?;
            let mode = match mode {
                "join" => JoinMode::Join,
                "update" => JoinMode::Update,
                "read" => JoinMode::Read,
                other => return Err(invalid_options(py, "join", &format!("expected \"join\", \"update\" or \"read\", got {other:?}"))),
            };
            let call = self.ops.join(config.as_ref(), mode, now_ms).map_err(|e| redis_error(py, &e))?;
            Ok(RedisCall { call })
        })
    }

    /// The pool's configuration (a dict) from the reply to `join`; raises
    /// `RedisConfigConflictError` (with `stored` and `given`) or
    /// `PoolStoreError` (`redis_pool_missing`).
    #[pyo3(signature = (reply, given = None))]
    fn decode_join<'py>(&self, py: Python<'py>, reply: &Bound<'py, PyAny>, given: Option<&Bound<'py, PyAny>>) -> PyResult<Bound<'py, PyAny>> {
        guard(py, || {
            let given = config_from_py(py, given)?;
            let config = self.ops.decode_join(&value_from_py(reply)?, given.as_ref()).map_err(|e| redis_error(py, &e))?;
            ser_to_py(py, &config)
        })
    }

    /// Builds one operation (the core's `PoolOp` as a dict): a `RedisCall`
    /// to send, or the result (a dict) when the answer needs no Redis.
    #[pyo3(signature = (op, idempotency_key = None))]
    fn build<'py>(&self, py: Python<'py>, op: &Bound<'py, PyAny>, idempotency_key: Option<&str>) -> PyResult<Bound<'py, PyAny>> {
        guard(py, || {
            let op: PoolOp = de_from_py(op)?.map_err(|e| invalid_options(py, "pool operation", &e))?;
            match self.ops.build(&op, idempotency_key).map_err(|e| redis_error(py, &e))? {
                Built::Done(r) => ser_to_py(py, &r),
                Built::Call(call) => Ok(Bound::new(py, RedisCall { call })?.into_any()),
            }
        })
    }

    /// The operation's result (the core's `OpResult` as a dict) from the
    /// reply to its call.
    fn decode<'py>(&self, py: Python<'py>, reply: &Bound<'py, PyAny>) -> PyResult<Bound<'py, PyAny>> {
        guard(py, || {
            let r = self.ops.decode(&value_from_py(reply)?).map_err(|e| redis_error(py, &e))?;
            ser_to_py(py, &r)
        })
    }

    /// `XRANGE` of the ledger stream after stream ID `after` (`"-"`: from the start).
    fn read_ledger<'py>(&self, py: Python<'py>, after: &str, count: usize) -> PyResult<Bound<'py, PyList>> {
        command_to_py(py, &self.ops.read_ledger(after, count))
    }

    /// `XTRIM` of the ledger stream through stream ID `through` (the core
    /// checks the ID: `InvalidOptionsError`, `redis_invalid_stream_id`).
    fn trim_ledger<'py>(&self, py: Python<'py>, through: &str) -> PyResult<Bound<'py, PyList>> {
        let cmd = self.ops.trim_ledger(through).map_err(|e| redis_error(py, &e))?;
        command_to_py(py, &cmd)
    }

    /// How many entries an `XTRIM` removed.
    fn decode_trimmed(&self, py: Python<'_>, reply: &Bound<'_, PyAny>) -> PyResult<u64> {
        guard(py, || core::decode_trimmed(&value_from_py(reply)?).map_err(|e| redis_error(py, &e)))
    }

    /// `XRANGE` of the alert outbox after stream ID `after`.
    fn range_alerts<'py>(&self, py: Python<'py>, after: &str, count: usize) -> PyResult<Bound<'py, PyList>> {
        command_to_py(py, &self.ops.range_alerts(after, count))
    }

    /// `XGROUP CREATE` of the outbox's consumer group.
    fn create_group<'py>(&self, py: Python<'py>, group: &str) -> PyResult<Bound<'py, PyList>> {
        command_to_py(py, &self.ops.create_group(group))
    }

    /// `XREADGROUP` of new alerts for `consumer`.
    fn read_alerts<'py>(&self, py: Python<'py>, group: &str, consumer: &str, count: usize) -> PyResult<Bound<'py, PyList>> {
        command_to_py(py, &self.ops.read_alerts(group, consumer, count))
    }

    /// `XAUTOCLAIM` of alerts another consumer left pending for `min_idle_ms`.
    fn claim_alerts<'py>(&self, py: Python<'py>, group: &str, consumer: &str, min_idle_ms: u64, count: usize) -> PyResult<Bound<'py, PyList>> {
        command_to_py(py, &self.ops.claim_alerts(group, consumer, min_idle_ms, count))
    }

    /// `XACK` of delivered alerts.
    fn ack<'py>(&self, py: Python<'py>, group: &str, ids: Vec<String>) -> PyResult<Bound<'py, PyList>> {
        command_to_py(py, &self.ops.ack(group, &ids))
    }

    /// Ledger entries (dicts) with their stream IDs from a ledger read.
    fn decode_ledger<'py>(&self, py: Python<'py>, reply: &Bound<'py, PyAny>) -> PyResult<Bound<'py, PyList>> {
        guard(py, || {
            let out = PyList::empty(py);
            for (id, entry) in core::decode_ledger(&value_from_py(reply)?).map_err(|e| redis_error(py, &e))? {
                out.append(PyTuple::new(py, [obj(py, id), ser_to_py(py, &entry)?])?)?;
            }
            Ok(out)
        })
    }

    /// Alerts (dicts, with their webhook `payload`) with their stream IDs
    /// from an outbox read.
    fn decode_alerts<'py>(&self, py: Python<'py>, reply: &Bound<'py, PyAny>) -> PyResult<Bound<'py, PyList>> {
        guard(py, || {
            let out = PyList::empty(py);
            for (id, alert) in core::decode_alerts(&value_from_py(reply)?).map_err(|e| redis_error(py, &e))? {
                out.append(PyTuple::new(py, [obj(py, id), alert_to_py(py, &alert)?])?)?;
            }
            Ok(out)
        })
    }

    fn __repr__(&self) -> String {
        format!("RedisOps(name={:?})", self.ops.keys().name())
    }
}

fn config_from_py(py: Python<'_>, config: Option<&Bound<'_, PyAny>>) -> PyResult<Option<PoolConfig>> {
    match config {
        Some(c) if !c.is_none() => Ok(Some(de_from_py(c)?.map_err(|e| invalid_options(py, "pool config", &e))?)),
        _ => Ok(None),
    }
}

/// The command that loads the script (`FUNCTION LOAD REPLACE <library>` for
/// `"function"`, `SCRIPT LOAD <text>` for `"eval"`).
#[pyfunction]
pub fn redis_load_command<'py>(py: Python<'py>, mode: &str) -> PyResult<Bound<'py, PyList>> {
    command_to_py(py, &core::load_command(script_mode(py, mode)?))
}

/// Whether an error reply means the server lost the script: load it, send again.
#[pyfunction]
pub fn redis_is_reload_error(message: &str) -> bool {
    core::is_reload_error(message)
}

/// Whether an error reply to `FUNCTION LOAD` means the server has no Functions.
#[pyfunction]
pub fn redis_is_functions_unsupported(message: &str) -> bool {
    core::is_functions_unsupported(message)
}

/// The idempotency key of a client's `seq`-th reserve.
#[pyfunction]
pub fn redis_idempotency_key(client_id: &str, seq: u64) -> String {
    core::idempotency_key(client_id, seq)
}

/// Adds the classes, functions and constants to the module.
pub fn register(m: &Bound<'_, PyModule>) -> PyResult<()> {
    m.add_class::<RedisOps>()?;
    m.add_class::<RedisCall>()?;
    m.add_function(wrap_pyfunction!(redis_load_command, m)?)?;
    m.add_function(wrap_pyfunction!(redis_is_reload_error, m)?)?;
    m.add_function(wrap_pyfunction!(redis_is_functions_unsupported, m)?)?;
    m.add_function(wrap_pyfunction!(redis_idempotency_key, m)?)?;
    m.add("REDIS_SEND_ATTEMPTS", core::SEND_ATTEMPTS)?;
    m.add("REDIS_ALERT_GROUP", core::ALERT_GROUP)?;
    m.add("REDIS_ALERT_BATCH", core::ALERT_BATCH)?;
    m.add("REDIS_ALERT_CLAIM_IDLE_MS", core::ALERT_CLAIM_IDLE_MS)?;
    Ok(())
}
