//! `Pool`: the core's credit pool behind a mutex, so that threads can share
//! one; and the webhook form of its alerts.
//!
//! Every rule is the core's (`creditpool_core::pool`): reservations, settles,
//! refusals, alerts, the ledger, reports, snapshots. Values cross as plain
//! data: money as int nano-USD, times as int Unix ms, results and entries as
//! the core's JSON. A refusal is raised as its `PoolRefusedError` subclass, a
//! misuse as its `PoolError` subclass.

use crate::convert::{de_from_py, from_py, ser_to_py, to_py};
use crate::errors::{guard, invalid_options, pool_error, refusal_error};
use creditpool_core::pool::{webhook, Alert, AgentPolicy, AttributionInput, OpResult, Pool as CorePool, PoolConfig, PoolOp, ReleaseOutcome, SettleOutcome};
use creditpool_core::Money;
use pyo3::prelude::*;
use pyo3::types::{PyBytes, PyDict, PyList, PyTuple};
use std::sync::{Mutex, MutexGuard};

/// A credit pool (see `creditpool_core::pool`), safe to share between
/// threads: each call holds the pool's lock only for the core's own work.
#[pyclass(module = "creditpool._creditpool", frozen)]
pub struct Pool {
    inner: Mutex<CorePool>,
}

impl Pool {
    /// The core pool, locked. The core does not panic (and `guard` would
    /// report it), so a poisoned lock still holds a consistent pool.
    pub fn lock(&self) -> MutexGuard<'_, CorePool> {
        self.inner.lock().unwrap_or_else(|e| e.into_inner())
    }

    fn from_core(pool: CorePool) -> Pool {
        Pool { inner: Mutex::new(pool) }
    }
}

fn money(nanos: u64) -> Money {
    Money::from_nanos(nanos)
}

fn attribution_from_py(py: Python<'_>, obj: Option<&Bound<'_, PyAny>>) -> PyResult<Option<AttributionInput>> {
    match obj {
        Some(a) if !a.is_none() => Ok(Some(de_from_py(a)?.map_err(|e| invalid_options(py, "attribution", &e))?)),
        _ => Ok(None),
    }
}

/// An alert as a dict: the core's JSON of the alert (`pool_id`, `alert`,
/// `percent` or `at_ms`, `occurred_at_ms`, `cycle`, `limit`, `settled`,
/// `reserved`) plus `payload`, the webhook body as a dict.
pub(crate) fn alert_to_py<'py>(py: Python<'py>, alert: &Alert) -> PyResult<Bound<'py, PyAny>> {
    let mut json = serde_json::to_value(alert).map_err(|e| invalid_options(py, "alert", &e.to_string()))?;
    if let Some(map) = json.as_object_mut() {
        let payload = serde_json::to_value(alert.payload()).map_err(|e| invalid_options(py, "alert", &e.to_string()))?;
        map.insert("payload".to_owned(), payload);
    }
    to_py(py, &json)
}

#[pymethods]
impl Pool {
    /// A pool from a configuration dict (the core's `PoolConfig`; unknown
    /// fields are an error), its first cycle the one containing `now_ms`.
    #[new]
    fn new(py: Python<'_>, config: &Bound<'_, PyAny>, now_ms: u64) -> PyResult<Pool> {
        guard(py, || {
            // The core reads it, naming a wrong field by its path in plain words.
            let config = PoolConfig::from_json_value(&crate::convert::from_py(config)?).map_err(|e| match e {
                creditpool_core::pool::PoolError::InvalidConfig { reason } => invalid_options(py, "pool configuration", &reason),
                other => pool_error(py, &other),
            })?;
            let pool = CorePool::new(config, now_ms).map_err(|e| pool_error(py, &e))?;
            Ok(Pool::from_core(pool))
        })
    }

    /// A pool restored from snapshot JSON (`snapshot_json`); raises
    /// `PoolSnapshotError` for a malformed, inconsistent or newer snapshot.
    #[staticmethod]
    fn restore_json(py: Python<'_>, json: &str) -> PyResult<Pool> {
        guard(py, || {
            let pool = py.detach(|| CorePool::restore_json(json)).map_err(|e| pool_error(py, &e))?;
            Ok(Pool::from_core(pool))
        })
    }

    /// For a restored pool given its settings again (`config`: the fields the
    /// caller passed): the core's words for those that differ from the
    /// pool's own, which it keeps, or `None`.
    fn ignored_on_restore(&self, py: Python<'_>, config: &Bound<'_, PyAny>) -> PyResult<Option<String>> {
        guard(py, || {
            let given = crate::convert::from_py(config)?;
            let pool = self.lock();
            pool.config().ignored_on_restore(pool.state().limit(), &given).map_err(|e| match e {
                creditpool_core::pool::PoolError::InvalidConfig { reason } => invalid_options(py, "pool configuration", &reason),
                other => pool_error(py, &other),
            })
        })
    }

    /// The whole pool as versioned snapshot JSON (undelivered alerts and
    /// ledger entries included).
    fn snapshot_json(&self, py: Python<'_>) -> PyResult<String> {
        guard(py, || Ok(py.detach(|| self.lock().snapshot_json())))
    }

    /// The configuration as a dict (with policy changes applied).
    fn config<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyAny>> {
        guard(py, || {
            let config = self.lock().config().clone();
            ser_to_py(py, &config)
        })
    }

    /// Reserves `amount` for `agent`: `{"id", "amount", "expires_at_ms"}`, or
    /// the refusal raised. `lease_ms` overrides the configured lease. Raises
    /// `ClockJumpError` for a `now_ms` beyond the pool's `max_clock_jump_ms`.
    #[pyo3(signature = (agent, amount, now_ms, lease_ms = None))]
    fn reserve<'py>(&self, py: Python<'py>, agent: &str, amount: u64, now_ms: u64, lease_ms: Option<u64>) -> PyResult<Bound<'py, PyAny>> {
        guard(py, || {
            let r = {
                let mut pool = self.lock();
                pool.check_clock(now_ms).map_err(|e| pool_error(py, &e))?;
                match lease_ms {
                    Some(l) => pool.reserve_with_lease(agent, money(amount), l, now_ms),
                    None => pool.reserve(agent, money(amount), now_ms),
                }
            };
            match r {
                Ok(r) => ser_to_py(py, &r),
                Err(refusal) => Err(refusal_error(py, &refusal)),
            }
        })
    }

    /// Posts the actual cost of reservation `id`, with `attribution` (the
    /// core's `AttributionInput` dict) for the split and the ledger:
    /// `{"result": "settled", "id", "reserved", "cost", "refunded", "overrun",
    /// "late", "ledger_seq"}` or `{"result": "duplicate", "id"}`. Raises
    /// `UnknownReservationError`.
    #[pyo3(signature = (id, cost, now_ms, attribution = None))]
    fn settle<'py>(&self, py: Python<'py>, id: u64, cost: u64, now_ms: u64, attribution: Option<&Bound<'py, PyAny>>) -> PyResult<Bound<'py, PyAny>> {
        guard(py, || {
            let attribution = attribution_from_py(py, attribution)?;
            let r = self.lock().settle(id, money(cost), attribution.as_ref(), now_ms);
            let result = match r {
                Ok(SettleOutcome::Settled(s)) => OpResult::Settled(s),
                Ok(SettleOutcome::Duplicate { id }) => OpResult::Duplicate { id },
                Err(e) => return Err(pool_error(py, &e)),
            };
            ser_to_py(py, &result)
        })
    }

    /// Voids reservation `id`: `{"result": "released", "id", "amount",
    /// "ledger_seq"}` or `{"result": "duplicate", "id"}`. Raises
    /// `UnknownReservationError`.
    fn release<'py>(&self, py: Python<'py>, id: u64, now_ms: u64) -> PyResult<Bound<'py, PyAny>> {
        guard(py, || {
            let r = self.lock().release(id, now_ms);
            let result = match r {
                Ok(ReleaseOutcome::Released(r)) => OpResult::Released(r),
                Ok(ReleaseOutcome::Duplicate { id }) => OpResult::Duplicate { id },
                Err(e) => return Err(pool_error(py, &e)),
            };
            ser_to_py(py, &result)
        })
    }

    /// Expires due leases and rolls the cycle over: `{"expired": [ids],
    /// "rolled_over": bool}`. Raises `ClockJumpError` for a `now_ms` beyond
    /// the pool's `max_clock_jump_ms` (nothing changes).
    fn tick<'py>(&self, py: Python<'py>, now_ms: u64) -> PyResult<Bound<'py, PyDict>> {
        guard(py, || {
            let t = self.lock().tick(now_ms).map_err(|e| pool_error(py, &e))?;
            let d = PyDict::new(py);
            d.set_item("expired", PyList::new(py, t.expired)?)?;
            d.set_item("rolled_over", t.rolled_over)?;
            Ok(d)
        })
    }

    /// Accepts `now_ms` however far ahead of the latest time the pool saw
    /// (the resume path after a pause longer than `max_clock_jump_ms`), then
    /// ticks: `{"expired": [ids], "rolled_over": bool}`.
    fn advance_clock<'py>(&self, py: Python<'py>, now_ms: u64) -> PyResult<Bound<'py, PyDict>> {
        guard(py, || {
            let t = self.lock().advance_clock(now_ms);
            let d = PyDict::new(py);
            d.set_item("expired", PyList::new(py, t.expired)?)?;
            d.set_item("rolled_over", t.rolled_over)?;
            Ok(d)
        })
    }

    /// Changes the limit (nano-USD). Raises `ClockJumpError` for a `now_ms`
    /// beyond the pool's `max_clock_jump_ms`.
    fn set_limit(&self, py: Python<'_>, limit: u64, now_ms: u64) -> PyResult<()> {
        guard(py, || self.lock().set_limit(money(limit), now_ms).map_err(|e| pool_error(py, &e)))
    }

    /// Sets an agent's policy (the core's `AgentPolicy` dict), adding the
    /// agent if new. Raises `PoolConfigError` for an invalid policy.
    fn set_agent_policy(&self, py: Python<'_>, agent: &str, policy: &Bound<'_, PyAny>, now_ms: u64) -> PyResult<()> {
        guard(py, || {
            let policy: AgentPolicy = de_from_py(policy)?.map_err(|e| invalid_options(py, "agent policy", &e))?;
            self.lock().set_agent_policy(agent, policy, now_ms).map_err(|e| pool_error(py, &e))
        })
    }

    /// The report for the current cycle, as the core's JSON.
    fn report<'py>(&self, py: Python<'py>, now_ms: u64) -> PyResult<Bound<'py, PyAny>> {
        guard(py, || {
            let report = self.lock().report(now_ms);
            ser_to_py(py, &report)
        })
    }

    /// When the pool next has something to do without input (a lease end or
    /// the cycle's end), Unix ms.
    fn next_deadline_ms(&self, py: Python<'_>) -> PyResult<u64> {
        guard(py, || Ok(self.lock().next_deadline_ms()))
    }

    /// The shared state's totals: `{"limit", "settled", "reserved",
    /// "available", "overrun", "cycle": {"start_ms", "end_ms"}, "open"}`.
    fn totals<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyAny>> {
        guard(py, || {
            let pool = self.lock();
            let s = pool.state();
            let v = serde_json::json!({
                "limit": s.limit(),
                "settled": s.settled(),
                "reserved": s.reserved(),
                "available": s.available(),
                "overrun": s.overrun(),
                "cycle": s.cycle(),
                "open": s.open_count(),
            });
            drop(pool);
            to_py(py, &v)
        })
    }

    /// A cheap marker of the state's progress, `(next_reservation_id,
    /// next_ledger_seq)`: it changes whenever a reservation is made or closed
    /// (settled, released, expired), so a caller can tell whether an
    /// operation changed anything worth persisting.
    fn marker(&self, py: Python<'_>) -> PyResult<(u64, u64)> {
        guard(py, || {
            let pool = self.lock();
            let s = pool.state();
            Ok((s.next_reservation_id(), s.next_ledger_seq()))
        })
    }

    /// Every alert queued since the last call, oldest first (see
    /// `alert_to_py`: the alert's JSON plus its webhook `payload`).
    fn poll_events<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyList>> {
        guard(py, || {
            let alerts: Vec<Alert> = {
                let mut pool = self.lock();
                std::iter::from_fn(|| pool.poll_event()).collect()
            };
            let out = PyList::empty(py);
            for a in &alerts {
                out.append(alert_to_py(py, a)?)?;
            }
            Ok(out)
        })
    }

    /// Every ledger entry queued since the last call, oldest first, as
    /// `(line, entry)`: the core's JSON Lines line (ending in a newline) and
    /// the entry as a dict.
    fn poll_ledger<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyList>> {
        guard(py, || {
            let entries: Vec<_> = {
                let mut pool = self.lock();
                std::iter::from_fn(|| pool.poll_ledger()).collect()
            };
            let out = PyList::empty(py);
            for e in &entries {
                let line = e.to_json_line();
                let pair = PyTuple::new(py, [pyo3::types::PyString::new(py, &line).into_any(), ser_to_py(py, e)?])?;
                out.append(pair)?;
            }
            Ok(out)
        })
    }

    /// The ledger entries not yet acknowledged, oldest first, as `(line,
    /// entry)` like `poll_ledger`, left in the pool (and in its snapshot's
    /// `pending_ledger`): write them, then `ack_ledger(last_seq)`.
    fn peek_ledger<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyList>> {
        guard(py, || {
            let entries: Vec<_> = self.lock().peek_ledger().cloned().collect();
            let out = PyList::empty(py);
            for e in &entries {
                let line = e.to_json_line();
                let pair = PyTuple::new(py, [pyo3::types::PyString::new(py, &line).into_any(), ser_to_py(py, e)?])?;
                out.append(pair)?;
            }
            Ok(out)
        })
    }

    /// Acknowledges the ledger entries up to `seq` (inclusive) as written:
    /// they leave the pool. Returns how many left.
    fn ack_ledger(&self, py: Python<'_>, seq: u64) -> PyResult<usize> {
        guard(py, || Ok(self.lock().ack_ledger(seq)))
    }

    /// Applies one operation of the core's JSON interface (`PoolOp`, tagged
    /// by `"op"`) and returns its `OpResult` (tagged by `"result"`). Alerts
    /// and ledger entries are queued as usual.
    fn apply<'py>(&self, py: Python<'py>, op: &Bound<'py, PyAny>) -> PyResult<Bound<'py, PyAny>> {
        guard(py, || {
            let op: PoolOp = de_from_py(op)?.map_err(|e| invalid_options(py, "pool operation", &e))?;
            let result = self.lock().apply(&op);
            ser_to_py(py, &result)
        })
    }

    fn __repr__(&self) -> String {
        let pool = self.lock();
        let s = pool.state();
        format!("Pool(pool_id={:?}, limit={}, settled={}, reserved={})", pool.config().pool_id, s.limit(), s.settled(), s.reserved())
    }
}

fn alert_from_py(py: Python<'_>, alert: &Bound<'_, PyAny>) -> PyResult<Alert> {
    let mut json = from_py(alert)?;
    if let Some(map) = json.as_object_mut() {
        map.remove("payload");
    }
    serde_json::from_value(json).map_err(|e| invalid_options(py, "alert", &e.to_string()))
}

/// The webhook for an alert (a dict from `Pool.poll_events`), signed with
/// `secret` for a delivery attempt at `now_ms` (the timestamp header is the
/// attempt's time, the signature the HMAC of `t.body`): `{"body": bytes,
/// "headers": [(name, value)]}`. POST the body exactly as given;
/// `MessagesCall.webhook(delivery, options, secret)` signs each retry afresh.
#[pyfunction]
pub fn webhook_delivery<'py>(py: Python<'py>, alert: &Bound<'py, PyAny>, secret: &[u8], now_ms: u64) -> PyResult<Bound<'py, PyDict>> {
    guard(py, || {
        let delivery = alert_from_py(py, alert)?.webhook(secret, now_ms);
        let d = PyDict::new(py);
        d.set_item("body", PyBytes::new(py, &delivery.body))?;
        let headers = PyList::empty(py);
        for (k, v) in &delivery.headers {
            headers.append(PyTuple::new(py, [k.as_str(), v.as_str()])?)?;
        }
        d.set_item("headers", headers)?;
        Ok(d)
    })
}

/// Checks a pool directory's ledger file (its entries, in file order, as
/// dicts) against the pool's snapshot (its JSON), by the core's one rule
/// (`pool::check_ledger`: no gap, not newer than the snapshot, the current
/// cycle's settled agrees). Returns the last `seq` the file holds; raises
/// `PoolSnapshotError` when they disagree.
#[pyfunction]
pub fn check_ledger<'py>(py: Python<'py>, snapshot_json: &str, entries: &Bound<'py, PyAny>) -> PyResult<u64> {
    guard(py, || {
        let snapshot: creditpool_core::pool::PoolSnapshot =
            serde_json::from_str(snapshot_json).map_err(|e| pool_error(py, &creditpool_core::pool::PoolError::InvalidSnapshot { reason: e.to_string() }))?;
        let entries: Vec<creditpool_core::pool::LedgerEntry> = de_from_py(entries)?.map_err(|e| pool_error(py, &creditpool_core::pool::PoolError::InvalidSnapshot { reason: format!("ledger: {e}") }))?;
        creditpool_core::pool::check_ledger(&snapshot, &entries).map(|j| j.last_seq_in_file).map_err(|e| pool_error(py, &e))
    })
}

/// Checks a webhook endpoint by the core's rule (`pool::check_endpoint`: a
/// non-empty secret, an http or https URL with a host) and returns its
/// origin, all that may ever be shown of it; raises `InvalidOptionsError`.
#[pyfunction]
pub fn check_webhook_endpoint(py: Python<'_>, url: &str, secret: &[u8]) -> PyResult<String> {
    guard(py, || creditpool_core::pool::check_endpoint(url, secret).map_err(|e| invalid_options(py, "webhook", &e.to_string())))
}

/// `scheme://host[:port]` of a URL (the core's `pool::url_origin`).
#[pyfunction]
pub fn url_origin(url: &str) -> String {
    creditpool_core::pool::url_origin(url)
}

/// A receiver's check of a delivery (the core's `verify_delivery`): the
/// signature is the HMAC-SHA256 of `timestamp.body` keyed with the secret
/// (compared in constant time) and the timestamp header is within
/// `tolerance_s` (default the core's 300 s) of `now_ms` (default the system
/// clock).
#[pyfunction]
#[pyo3(signature = (secret, body, signature, timestamp, now_ms = None, tolerance_s = None))]
pub fn verify_webhook_signature(py: Python<'_>, secret: &[u8], body: &[u8], signature: &str, timestamp: &str, now_ms: Option<u64>, tolerance_s: Option<u64>) -> PyResult<bool> {
    let now_ms = now_ms.unwrap_or_else(|| std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map_or(0, |d| u64::try_from(d.as_millis()).unwrap_or(u64::MAX)));
    guard(py, || Ok(webhook::verify_delivery(secret, body, signature, timestamp, now_ms, tolerance_s.unwrap_or(webhook::DEFAULT_TOLERANCE_S))))
}

/// The webhook signature header names: `(signature, timestamp, idempotency key)`.
pub const WEBHOOK_HEADERS: (&str, &str, &str) = (webhook::SIGNATURE_HEADER, webhook::TIMESTAMP_HEADER, webhook::IDEMPOTENCY_KEY_HEADER);
