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
use crate::outbox::Outbox;
use creditpool_core::pool::outbox::Outbox as CoreOutbox;
use creditpool_core::pool::recovery;
use creditpool_core::pool::{webhook, Alert, Reservation as CoreReservation, AgentPolicy, AttributionInput, LedgerEntry, OpResult, Pool as CorePool, PoolConfig, PoolOp, ReleaseOutcome, SettleOutcome};
use creditpool_core::Money;
use pyo3::prelude::*;
use pyo3::types::{PyBytes, PyDict, PyList, PyString, PyTuple, PyType};
use std::collections::VecDeque;
use std::ops::{Deref, DerefMut};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};

/// A credit pool (see `creditpool_core::pool`), safe to share between
/// threads: each call holds the pool's lock only for the core's own work.
///
/// A host (the Python `Pool`) may turn on *host mode* ([`Pool::host`]): then
/// every operation, under the same lock, also does the bookkeeping the host
/// would otherwise do with several calls: the ledger entries it made go to a
/// bounded window (an in-memory pool) or, for a pool kept in a directory, are
/// written as JSON Lines into a buffer with the operation's journal line
/// (the core's `PoolOp` JSON, `recovery::op_line`) for the host to write
/// ([`Pool::pending_writes`], then [`Pool::written`], which acknowledges them);
/// and new alerts raise a flag ([`Pool::alerts_ready`]) so that the host asks
/// the outbox only when there is something to hand out.
#[pyclass(module = "creditpool._creditpool", frozen)]
pub struct Pool {
    inner: Mutex<Inner>,
    alerts_ready: AtomicBool,
}

struct Inner {
    pool: CorePool,
    host: Option<Host>,
}

/// Host mode's bookkeeping (see [`Pool`]).
struct Host {
    /// The latest entries handed out, at most `window_cap`.
    window: VecDeque<LedgerEntry>,
    window_cap: usize,
    /// A pool kept in a directory: entries wait until written; ops are journaled.
    journal: bool,
    journal_buf: String,
    /// Journal lines ever put in the buffer (an operation's position).
    journal_ops: u64,
    ledger_buf: String,
    /// The last `seq` put in `ledger_buf`.
    ledger_seq: u64,
    outbox: Option<Arc<Mutex<CoreOutbox>>>,
}

/// The locked pool (dereferences to the core pool).
pub struct PoolGuard<'a>(MutexGuard<'a, Inner>);

impl Deref for PoolGuard<'_> {
    type Target = CorePool;
    fn deref(&self) -> &CorePool {
        &self.0.pool
    }
}

impl DerefMut for PoolGuard<'_> {
    fn deref_mut(&mut self) -> &mut CorePool {
        &mut self.0.pool
    }
}

impl Pool {
    /// The core pool, locked. The core does not panic (and `guard` would
    /// report it), so a poisoned lock still holds a consistent pool.
    pub fn lock(&self) -> PoolGuard<'_> {
        PoolGuard(self.lock_inner())
    }

    fn lock_inner(&self) -> MutexGuard<'_, Inner> {
        self.inner.lock().unwrap_or_else(|e| e.into_inner())
    }

    fn from_core(pool: CorePool) -> Pool {
        Pool { inner: Mutex::new(Inner { pool, host: None }), alerts_ready: AtomicBool::new(false) }
    }

    /// Runs one operation under the lock and, in host mode, its bookkeeping
    /// (`op` builds its journal line, only when journaled).
    fn run<R>(&self, op: impl FnOnce() -> PoolOp, f: impl FnOnce(&mut CorePool) -> R) -> R {
        let mut inner = self.lock_inner();
        let events = inner.pool.peek_events().len();
        let r = f(&mut inner.pool);
        let Inner { pool, host } = &mut *inner;
        if let Some(host) = host {
            if host.journal {
                host.journal_buf.push_str(&recovery::op_line(&op()));
                host.journal_ops += 1;
            }
            host.settle_ledger(pool);
        }
        if pool.peek_events().len() > events {
            self.alerts_ready.store(true, Ordering::Release);
        }
        r
    }
}

impl Pool {
    /// `reserve`'s work: the reservation, or the refusal raised.
    fn reserve_core(&self, py: Python<'_>, agent: &str, amount: u64, now_ms: u64, lease_ms: Option<u64>) -> PyResult<CoreReservation> {
        // What `PoolOp::Reserve` does (`Pool::apply`), as replay does it.
        let op = || PoolOp::Reserve { agent: agent.to_owned(), amount: money(amount), now_ms, lease_ms };
        let r = self.run(op, |pool| {
            pool.check_clock(now_ms).map_err(Err)?;
            match lease_ms {
                Some(l) => pool.reserve_with_lease(agent, money(amount), l, now_ms),
                None => pool.reserve(agent, money(amount), now_ms),
            }
            .map_err(Ok)
        });
        match r {
            Ok(r) => Ok(r),
            Err(Ok(refusal)) => Err(refusal_error(py, &refusal)),
            Err(Err(e)) => Err(pool_error(py, &e)),
        }
    }

    /// `settle`'s work: its outcome, or the error raised.
    fn settle_core(&self, py: Python<'_>, id: u64, cost: u64, now_ms: u64, attribution: Option<AttributionInput>) -> PyResult<SettleOutcome> {
        let op = || PoolOp::Settle { id, cost: money(cost), now_ms, attribution: attribution.clone().map(Box::new) };
        self.run(op, |pool| pool.settle(id, money(cost), attribution.as_ref(), now_ms)).map_err(|e| pool_error(py, &e))
    }
}

impl Host {
    /// After an operation: an in-memory pool's entries go to the window; a
    /// directory's are written into the buffer (they leave the pool once
    /// the host wrote them: `written`).
    fn settle_ledger(&mut self, pool: &mut CorePool) {
        if self.journal {
            // Entries are numbered without gaps: skip those already in the
            // buffer without looking at them (a long failing write keeps many).
            let first = pool.peek_ledger().next().map_or(0, |e| e.seq);
            let skip = usize::try_from(self.ledger_seq.saturating_add(1).saturating_sub(first)).unwrap_or(usize::MAX);
            for e in pool.peek_ledger().skip(skip) {
                if e.seq > self.ledger_seq {
                    self.ledger_buf.push_str(&e.to_json_line());
                    self.ledger_seq = e.seq;
                }
            }
        } else {
            while let Some(e) = pool.poll_ledger() {
                self.keep(e);
            }
        }
    }

    fn keep(&mut self, e: LedgerEntry) {
        if self.window_cap == 0 {
            return;
        }
        if self.window.len() == self.window_cap {
            self.window.pop_front();
        }
        self.window.push_back(e);
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

/// A reservation as its JSON dict (`id`, `amount`, `expires_at_ms`), built
/// directly: the hot path of every reserve (`test_pool.py` checks it equals
/// the serde form).
fn reservation_to_py<'py>(py: Python<'py>, r: &creditpool_core::pool::Reservation) -> PyResult<Bound<'py, PyDict>> {
    let d = PyDict::new(py);
    d.set_item(pyo3::intern!(py, "id"), r.id)?;
    d.set_item(pyo3::intern!(py, "amount"), r.amount.nanos())?;
    d.set_item(pyo3::intern!(py, "expires_at_ms"), r.expires_at_ms)?;
    Ok(d)
}

/// A posted settle as `OpResult::Settled`'s JSON dict, built directly (see
/// `reservation_to_py`; `test_pool.py` compares it with the serde form, so a
/// field the core adds is caught there).
fn settlement_to_py<'py>(py: Python<'py>, s: &creditpool_core::pool::Settlement) -> PyResult<Bound<'py, PyAny>> {
    let creditpool_core::pool::Settlement { id, reserved, cost, refunded, overrun, late, ledger_seq, .. } = *s;
    let d = PyDict::new(py);
    d.set_item(pyo3::intern!(py, "result"), pyo3::intern!(py, "settled"))?;
    d.set_item(pyo3::intern!(py, "id"), id)?;
    d.set_item(pyo3::intern!(py, "reserved"), reserved.nanos())?;
    d.set_item(pyo3::intern!(py, "cost"), cost.nanos())?;
    d.set_item(pyo3::intern!(py, "refunded"), refunded.nanos())?;
    d.set_item(pyo3::intern!(py, "overrun"), overrun.nanos())?;
    d.set_item(pyo3::intern!(py, "late"), late)?;
    d.set_item(pyo3::intern!(py, "ledger_seq"), ledger_seq)?;
    Ok(d.into_any())
}

/// A settle's outcome as `OpResult`'s JSON dict (`settlement_to_py`, or
/// `{"result": "duplicate", "id"}`).
fn settle_outcome_to_py<'py>(py: Python<'py>, s: &SettleOutcome) -> PyResult<Bound<'py, PyAny>> {
    match *s {
        SettleOutcome::Settled(ref s) => settlement_to_py(py, s),
        SettleOutcome::Duplicate { id } => ser_to_py(py, &OpResult::Duplicate { id }),
    }
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
        guard(py, || Ok(reservation_to_py(py, &self.reserve_core(py, agent, amount, now_ms, lease_ms)?)?.into_any()))
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
            settle_outcome_to_py(py, &self.settle_core(py, id, cost, now_ms, attribution)?)
        })
    }

    /// Voids reservation `id`: `{"result": "released", "id", "amount",
    /// "ledger_seq"}` or `{"result": "duplicate", "id"}`. Raises
    /// `UnknownReservationError`.
    fn release<'py>(&self, py: Python<'py>, id: u64, now_ms: u64) -> PyResult<Bound<'py, PyAny>> {
        guard(py, || {
            let r = self.run(|| PoolOp::Release { id, now_ms }, |pool| pool.release(id, now_ms));
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
            let t = self.run(|| PoolOp::Tick { now_ms }, |pool| pool.tick(now_ms)).map_err(|e| pool_error(py, &e))?;
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
            let t = self.run(|| PoolOp::AdvanceClock { now_ms }, |pool| pool.advance_clock(now_ms));
            let d = PyDict::new(py);
            d.set_item("expired", PyList::new(py, t.expired)?)?;
            d.set_item("rolled_over", t.rolled_over)?;
            Ok(d)
        })
    }

    /// Changes the limit (nano-USD). Raises `ClockJumpError` for a `now_ms`
    /// beyond the pool's `max_clock_jump_ms`.
    fn set_limit(&self, py: Python<'_>, limit: u64, now_ms: u64) -> PyResult<()> {
        guard(py, || self.run(|| PoolOp::SetLimit { limit: money(limit), now_ms }, |pool| pool.set_limit(money(limit), now_ms)).map_err(|e| pool_error(py, &e)))
    }

    /// Sets an agent's policy (the core's `AgentPolicy` dict), adding the
    /// agent if new. Raises `PoolConfigError` for an invalid policy.
    fn set_agent_policy(&self, py: Python<'_>, agent: &str, policy: &Bound<'_, PyAny>, now_ms: u64) -> PyResult<()> {
        guard(py, || {
            let policy: AgentPolicy = de_from_py(policy)?.map_err(|e| invalid_options(py, "agent policy", &e))?;
            let op = || PoolOp::SetAgent { agent: agent.to_owned(), policy: policy.clone(), now_ms };
            self.run(op, |pool| pool.set_agent_policy(agent, policy.clone(), now_ms)).map_err(|e| pool_error(py, &e))
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
            let result = if recovery::is_journaled(&op) { self.run(|| op.clone(), |pool| pool.apply(&op)) } else { self.lock().apply(&op) };
            ser_to_py(py, &result)
        })
    }

    /// Turns on host mode (see the class documentation): `window` ledger
    /// entries kept for `ledger_window()`; `journal` for a pool kept in a
    /// directory (operations journaled, entries written before they leave
    /// the pool: the entries pending now are put in the buffer first);
    /// `outbox` the alert outbox `take_alerts` hands out through. In host
    /// mode the ledger is the host mode's: `poll_ledger`, `peek_ledger` and
    /// `ack_ledger` are for pools without it.
    #[pyo3(signature = (window, journal, outbox = None))]
    fn host(&self, py: Python<'_>, window: usize, journal: bool, outbox: Option<&Outbox>) -> PyResult<()> {
        guard(py, || {
            let mut inner = self.lock_inner();
            let Inner { pool, host } = &mut *inner;
            let mut h = Host {
                window: VecDeque::new(),
                window_cap: window,
                journal,
                journal_buf: String::new(),
                journal_ops: 0,
                ledger_buf: String::new(),
                ledger_seq: 0,
                outbox: outbox.map(Outbox::shared),
            };
            h.settle_ledger(pool);
            *host = Some(h);
            if pool.peek_events().len() > 0 {
                self.alerts_ready.store(true, Ordering::Release);
            }
            Ok(())
        })
    }

    /// Whether an operation queued alerts since the last `take_alerts`.
    #[getter]
    fn alerts_ready(&self) -> bool {
        self.alerts_ready.load(Ordering::Acquire)
    }

    /// Host mode: the alerts the outbox hands out now, oldest first, as
    /// `(alert, key, [webhook ids])` (`Outbox.take`), then acknowledges
    /// those every webhook is done with (`Outbox.ack`); clears
    /// `alerts_ready`.
    fn take_alerts<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyList>> {
        guard(py, || {
            self.alerts_ready.store(false, Ordering::Release);
            let dispatches = {
                let mut inner = self.lock_inner();
                let Inner { pool, host } = &mut *inner;
                match host.as_ref().and_then(|h| h.outbox.as_ref()) {
                    Some(outbox) => {
                        let mut outbox = outbox.lock().unwrap_or_else(|e| e.into_inner());
                        let d = outbox.take(pool);
                        outbox.ack(pool);
                        d
                    }
                    None => Vec::new(),
                }
            };
            crate::outbox::dispatches_to_py(py, &dispatches)
        })
    }

    /// Host mode, a pool kept in a directory: what waits to be written, as
    /// `(journal bytes, ledger bytes, journal_ops, last seq)`: append the
    /// journal bytes, then the ledger bytes, then call `written`.
    fn pending_writes<'py>(&self, py: Python<'py>) -> PyResult<(Bound<'py, PyBytes>, Bound<'py, PyBytes>, u64, u64)> {
        guard(py, || {
            let inner = self.lock_inner();
            let h = inner.host.as_ref().ok_or_else(|| invalid_options(py, "pool", "not in host mode"))?;
            Ok((PyBytes::new(py, h.journal_buf.as_bytes()), PyBytes::new(py, h.ledger_buf.as_bytes()), h.journal_ops, h.ledger_seq))
        })
    }

    /// The first `journal_len` bytes of the journal buffer and `ledger_len`
    /// of the ledger buffer are written: they leave the buffers, and the
    /// entries up to `seq` leave the pool (into the window).
    fn written(&self, py: Python<'_>, journal_len: usize, ledger_len: usize, seq: u64) -> PyResult<()> {
        guard(py, || {
            let mut inner = self.lock_inner();
            let Inner { pool, host } = &mut *inner;
            let h = host.as_mut().ok_or_else(|| invalid_options(py, "pool", "not in host mode"))?;
            h.journal_buf.drain(..journal_len.min(h.journal_buf.len()));
            h.ledger_buf.drain(..ledger_len.min(h.ledger_buf.len()));
            while pool.peek_ledger().next().is_some_and(|e| e.seq <= seq) {
                if let Some(e) = pool.poll_ledger() {
                    h.keep(e);
                }
            }
            Ok(())
        })
    }

    /// Host mode: journal lines put in the buffer so far (the position of
    /// the latest operation; an operation is written once `journal_ops` at
    /// the last `pending_writes` reached it).
    #[getter]
    fn journal_ops(&self) -> u64 {
        self.lock_inner().host.as_ref().map_or(0, |h| h.journal_ops)
    }

    /// Host mode: the latest ledger entries handed out (at most the window),
    /// oldest first, as dicts.
    fn ledger_window<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyList>> {
        guard(py, || {
            let entries: Vec<LedgerEntry> = self.lock_inner().host.as_ref().map(|h| h.window.iter().cloned().collect()).unwrap_or_default();
            let out = PyList::empty(py);
            for e in &entries {
                out.append(ser_to_py(py, e)?)?;
            }
            Ok(out)
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

/// Rebuilds a pool kept in a directory (the core's `recovery::recover`):
/// its snapshot's JSON, its journal's bytes (empty without one) and its
/// ledger file's entries (dicts, in file order). Returns `(pool, replayed,
/// journal_len, last_seq_in_file)`: cut the journal to `journal_len` bytes,
/// acknowledge the entries up to `last_seq_in_file` (the file holds them) and
/// append the rest. Raises `PoolSnapshotError` when they disagree.
#[pyfunction]
pub fn recover_pool<'py>(py: Python<'py>, snapshot_json: &str, journal: &[u8], entries: &Bound<'py, PyAny>) -> PyResult<(Pool, usize, usize, u64)> {
    guard(py, || {
        let entries: Vec<LedgerEntry> = de_from_py(entries)?.map_err(|e| pool_error(py, &creditpool_core::pool::PoolError::InvalidSnapshot { reason: format!("ledger: {e}") }))?;
        let r = py.detach(|| recovery::recover(snapshot_json, journal, &entries)).map_err(|e| pool_error(py, &e))?;
        Ok((Pool::from_core(r.pool), r.replayed, r.journal_len, r.ledger.last_seq_in_file))
    })
}

/// The journal's marker line for a snapshot (its JSON as written): the
/// core's `recovery::snapshot_marker_line`.
#[pyfunction]
pub fn snapshot_marker_line(snapshot_json: &str) -> String {
    recovery::snapshot_marker_line(snapshot_json)
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

/// A granted reservation: `creditpool.Reservation` (settle or release it
/// before `expires_at_ms`). The core's `Reservation`, its fields read on
/// access; `to_dict()` its JSON (`{"id", "amount", "expires_at_ms"}`, int
/// nano-USD), `r["field"]`, `"field" in r` and `r.get(field)` as on the
/// other views. `Reservation(data)` makes one from that JSON.
#[pyclass(module = "creditpool._creditpool", name = "Reservation", frozen)]
pub struct ReservationView(CoreReservation);

/// A settle: `creditpool.Settlement` (the cost posted, or `duplicate` when
/// the reservation was already closed and nothing changed). The core's
/// `SettleOutcome`, its fields read on access; `to_dict()` its JSON (the
/// core's `OpResult`: `{"result": "settled", "id", "reserved", "cost",
/// "refunded", "overrun", "late", "ledger_seq"}` or `{"result":
/// "duplicate", "id"}`). `Settlement(data)` makes one from that JSON.
#[pyclass(module = "creditpool._creditpool", name = "Settlement", frozen)]
pub struct SettlementView(SettleOutcome);

/// A field of a view's JSON, as an int from 0 to 2**64 - 1.
fn json_u64(py: Python<'_>, data: &Bound<'_, PyAny>, what: &str, key: &str) -> PyResult<u64> {
    data.get_item(key).and_then(|v| v.extract::<u64>()).map_err(|_| invalid_options(py, what, &format!("`{key}` must be a whole number from 0 to 2**64 - 1")))
}

fn view_get<'py>(dict: &Bound<'py, PyDict>, key: &Bound<'py, PyAny>, default: Option<Bound<'py, PyAny>>) -> PyResult<Bound<'py, PyAny>> {
    Ok(match dict.get_item(key)? {
        Some(v) => v,
        None => default.unwrap_or_else(|| dict.py().None().into_bound(dict.py())),
    })
}

#[pymethods]
impl ReservationView {
    #[new]
    fn new(py: Python<'_>, data: &Bound<'_, PyAny>) -> PyResult<ReservationView> {
        let what = "Reservation";
        Ok(ReservationView(CoreReservation { id: json_u64(py, data, what, "id")?, amount: money(json_u64(py, data, what, "amount")?), expires_at_ms: json_u64(py, data, what, "expires_at_ms")? }))
    }

    /// The reservation's ID (its idempotency key).
    #[getter]
    fn id(&self) -> u64 {
        self.0.id
    }

    /// The amount held (`Money`).
    #[getter]
    fn amount<'py>(&self, py: Python<'py>) -> Bound<'py, PyAny> {
        crate::money::py_money(py, self.0.amount)
    }

    /// When the lease ends, Unix ms.
    #[getter]
    fn expires_at_ms(&self) -> u64 {
        self.0.expires_at_ms
    }

    /// The JSON object (a new dict).
    fn to_dict<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyDict>> {
        reservation_to_py(py, &self.0)
    }

    fn __getitem__<'py>(&self, py: Python<'py>, key: &Bound<'py, PyAny>) -> PyResult<Bound<'py, PyAny>> {
        self.to_dict(py)?.as_any().get_item(key)
    }

    fn __contains__(&self, py: Python<'_>, key: &Bound<'_, PyAny>) -> PyResult<bool> {
        self.to_dict(py)?.contains(key)
    }

    /// A field by its JSON name, or `default`.
    #[pyo3(signature = (key, default = None))]
    fn get<'py>(&self, py: Python<'py>, key: &Bound<'py, PyAny>, default: Option<Bound<'py, PyAny>>) -> PyResult<Bound<'py, PyAny>> {
        view_get(&self.to_dict(py)?, key, default)
    }

    fn __eq__(&self, other: &Bound<'_, PyAny>) -> bool {
        other.cast::<ReservationView>().is_ok_and(|o| o.get().0 == self.0)
    }

    fn __hash__(slf: &Bound<'_, Self>) -> isize {
        slf.as_ptr() as isize
    }

    fn __repr__(&self, py: Python<'_>) -> PyResult<String> {
        Ok(format!("Reservation({})", self.to_dict(py)?.repr()?))
    }

    /// Pickles (and copies) as `Reservation(to_dict())`.
    fn __reduce__<'py>(slf: &Bound<'py, Self>) -> PyResult<(Bound<'py, PyType>, (Bound<'py, PyAny>,))> {
        Ok((slf.get_type(), (slf.get().to_dict(slf.py())?.into_any(),)))
    }
}

#[pymethods]
impl SettlementView {
    #[new]
    fn new(py: Python<'_>, data: &Bound<'_, PyAny>) -> PyResult<SettlementView> {
        let what = "Settlement";
        let result: String = data.get_item("result").and_then(|v| v.extract()).unwrap_or_default();
        let id = json_u64(py, data, what, "id")?;
        Ok(SettlementView(match result.as_str() {
            "duplicate" => SettleOutcome::Duplicate { id },
            "settled" => SettleOutcome::Settled(creditpool_core::pool::Settlement {
                id,
                reserved: money(json_u64(py, data, what, "reserved")?),
                cost: money(json_u64(py, data, what, "cost")?),
                refunded: money(json_u64(py, data, what, "refunded")?),
                overrun: money(json_u64(py, data, what, "overrun")?),
                late: data.get_item("late").and_then(|v| v.extract()).map_err(|_| invalid_options(py, what, "`late` must be a bool"))?,
                ledger_seq: json_u64(py, data, what, "ledger_seq")?,
            }),
            _ => return Err(invalid_options(py, what, "`result` must be \"settled\" or \"duplicate\"")),
        }))
    }

    /// Whether the reservation was already closed (nothing changed).
    #[getter]
    fn duplicate(&self) -> bool {
        matches!(self.0, SettleOutcome::Duplicate { .. })
    }

    /// The reservation's ID.
    #[getter]
    fn id(&self) -> u64 {
        match self.0 {
            SettleOutcome::Settled(s) => s.id,
            SettleOutcome::Duplicate { id } => id,
        }
    }

    /// The cost counted (`Money`; zero for a duplicate).
    #[getter]
    fn cost<'py>(&self, py: Python<'py>) -> Bound<'py, PyAny> {
        crate::money::py_money(py, self.settled().map_or(Money::ZERO, |s| s.cost))
    }

    /// What went back to the pool (`Money`).
    #[getter]
    fn refunded<'py>(&self, py: Python<'py>) -> Bound<'py, PyAny> {
        crate::money::py_money(py, self.settled().map_or(Money::ZERO, |s| s.refunded))
    }

    /// What the cost exceeded the reservation by (`Money`).
    #[getter]
    fn overrun<'py>(&self, py: Python<'py>) -> Bound<'py, PyAny> {
        crate::money::py_money(py, self.settled().map_or(Money::ZERO, |s| s.overrun))
    }

    /// Whether the reservation had expired before the settle.
    #[getter]
    fn late(&self) -> bool {
        self.settled().is_some_and(|s| s.late)
    }

    /// The JSON object (a new dict).
    fn to_dict<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyAny>> {
        settle_outcome_to_py(py, &self.0)
    }

    fn __getitem__<'py>(&self, py: Python<'py>, key: &Bound<'py, PyAny>) -> PyResult<Bound<'py, PyAny>> {
        self.to_dict(py)?.get_item(key)
    }

    fn __contains__(&self, py: Python<'_>, key: &Bound<'_, PyAny>) -> PyResult<bool> {
        self.to_dict(py)?.contains(key)
    }

    /// A field by its JSON name, or `default`.
    #[pyo3(signature = (key, default = None))]
    fn get<'py>(&self, py: Python<'py>, key: &Bound<'py, PyAny>, default: Option<Bound<'py, PyAny>>) -> PyResult<Bound<'py, PyAny>> {
        view_get(self.to_dict(py)?.cast::<PyDict>()?, key, default)
    }

    fn __eq__(&self, other: &Bound<'_, PyAny>) -> bool {
        other.cast::<SettlementView>().is_ok_and(|o| o.get().0 == self.0)
    }

    fn __hash__(slf: &Bound<'_, Self>) -> isize {
        slf.as_ptr() as isize
    }

    fn __repr__(&self, py: Python<'_>) -> PyResult<String> {
        Ok(format!("Settlement({})", self.to_dict(py)?.repr()?))
    }

    /// Pickles (and copies) as `Settlement(to_dict())`.
    fn __reduce__<'py>(slf: &Bound<'py, Self>) -> PyResult<(Bound<'py, PyType>, (Bound<'py, PyAny>,))> {
        Ok((slf.get_type(), (slf.get().to_dict(slf.py())?.into_any(),)))
    }
}

impl SettlementView {
    fn settled(&self) -> Option<&creditpool_core::pool::Settlement> {
        match &self.0 {
            SettleOutcome::Settled(s) => Some(s),
            SettleOutcome::Duplicate { .. } => None,
        }
    }
}

/// The hot path of an in-memory Python `Pool` (no directory, the system
/// clock, `reserve` and `settle` not overridden): `Pool.__init__` installs
/// this object's `reserve` and `settle` as the pool's own, so that a call
/// goes straight to the native pool, with no Python frame. It decides
/// nothing: a call it does not take as it is (a `now_ms`, an amount that is
/// not a `Money`, a reservation that is neither a `Reservation` nor an int,
/// an attribution that is not a dict, a pool closed or in a child after
/// `fork()`: `disable`) goes to the Python method (`Pool.reserve`,
/// `Pool.settle`), which checks it and raises as always. After each
/// operation the pool's alerts are handed out (`Pool._hand_out_alerts`)
/// when it queued any, as the Python method does.
#[pyclass(module = "creditpool._creditpool", frozen)]
pub struct PoolFastPath {
    native: Py<Pool>,
    /// The Python `Pool` (which holds this object: the cycle is the
    /// collector's, through `__traverse__` and the pool's `__dict__`).
    owner: Py<PyAny>,
    money: Py<PyType>,
    slow_reserve: Py<PyAny>,
    slow_settle: Py<PyAny>,
    live: AtomicBool,
}

/// `time.time_ns() // 1_000_000` (the Python `Pool`'s default clock).
fn system_now_ms() -> Option<u64> {
    std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).ok().and_then(|d| u64::try_from(d.as_millis()).ok())
}

/// A whole number from 0 to 2**64 - 1 given as an exact `int` (no `bool`).
fn exact_u64(v: &Bound<'_, PyAny>) -> Option<u64> {
    if v.is_exact_instance_of::<pyo3::types::PyInt>() {
        v.extract::<u64>().ok()
    } else {
        None
    }
}

impl PoolFastPath {
    fn owner<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyAny>> {
        Ok(self.owner.bind(py).clone())
    }

    /// A `Money`'s nano-USD (valid by construction), or `None` for anything else.
    fn money_nanos(&self, py: Python<'_>, v: &Bound<'_, PyAny>) -> Option<u64> {
        if v.is_exact_instance(self.money.bind(py)) {
            v.getattr(pyo3::intern!(py, "_nanos")).ok().as_ref().and_then(exact_u64)
        } else {
            None
        }
    }

    /// The ID of a `Reservation` or of an int, or `None` for anything else.
    fn reservation_id(v: &Bound<'_, PyAny>) -> Option<u64> {
        match v.cast_exact::<ReservationView>() {
            Ok(r) => Some(r.get().0.id),
            Err(_) => exact_u64(v),
        }
    }

    /// After an operation: the alerts it queued go to the Python `Pool`.
    fn hand_out(&self, py: Python<'_>, owner: &Bound<'_, PyAny>) -> PyResult<()> {
        if self.native.get().alerts_ready.load(Ordering::Acquire) {
            owner.call_method0(pyo3::intern!(py, "_hand_out_alerts"))?;
        }
        Ok(())
    }

    fn slow<'py>(py: Python<'py>, method: &Py<PyAny>, args: (Bound<'py, PyAny>, &Bound<'py, PyAny>, &Bound<'py, PyAny>), kwargs: [(&Bound<'py, PyString>, Option<&Bound<'py, PyAny>>); 2]) -> PyResult<Bound<'py, PyAny>> {
        let kw = PyDict::new(py);
        for (k, v) in kwargs {
            kw.set_item(k, v)?;
        }
        method.bind(py).call(args, Some(&kw))
    }
}

#[pymethods]
impl PoolFastPath {
    /// The hot path of the Python `Pool` `owner` over its native pool:
    /// `money` is the class `Money`; `slow_reserve` and `slow_settle` the
    /// Python methods (`Pool.reserve`, `Pool.settle`) for every other call.
    #[new]
    fn new(native: Py<Pool>, owner: &Bound<'_, PyAny>, money: Py<PyType>, slow_reserve: Py<PyAny>, slow_settle: Py<PyAny>) -> PyResult<PoolFastPath> {
        Ok(PoolFastPath { native, owner: owner.clone().unbind(), money, slow_reserve, slow_settle, live: AtomicBool::new(true) })
    }

    fn __traverse__(&self, visit: pyo3::gc::PyVisit<'_>) -> Result<(), pyo3::PyTraverseError> {
        visit.call(&self.native)?;
        visit.call(&self.owner)?;
        visit.call(&self.money)?;
        visit.call(&self.slow_reserve)?;
        visit.call(&self.slow_settle)
    }

    /// Sends every call to the Python methods from now on (the pool is
    /// closed, or this is a child after `fork()`).
    fn disable(&self) {
        self.live.store(false, Ordering::Release);
    }

    /// `Pool.reserve`.
    #[pyo3(signature = (agent, amount, *, lease_ms = None, now_ms = None))]
    fn reserve<'py>(&self, py: Python<'py>, agent: &Bound<'py, PyAny>, amount: &Bound<'py, PyAny>, lease_ms: Option<&Bound<'py, PyAny>>, now_ms: Option<&Bound<'py, PyAny>>) -> PyResult<Bound<'py, PyAny>> {
        let owner = self.owner(py)?;
        let lease = match lease_ms {
            None => Some(None),
            Some(l) => exact_u64(l).map(Some),
        };
        let name = agent.cast::<PyString>().ok().and_then(|s| s.to_str().ok());
        let taken = if self.live.load(Ordering::Acquire) && now_ms.is_none() { name.zip(self.money_nanos(py, amount)).zip(lease).zip(system_now_ms()) } else { None };
        let Some((((name, nanos), lease), now)) = taken else {
            return Self::slow(py, &self.slow_reserve, (owner, agent, amount), [(pyo3::intern!(py, "lease_ms"), lease_ms), (pyo3::intern!(py, "now_ms"), now_ms)]);
        };
        let r = guard(py, || self.native.get().reserve_core(py, name, nanos, now, lease));
        self.hand_out(py, &owner)?;
        Ok(Bound::new(py, ReservationView(r?))?.into_any())
    }

    /// `Pool.settle`.
    #[pyo3(signature = (reservation, cost, *, attribution = None, now_ms = None))]
    fn settle<'py>(&self, py: Python<'py>, reservation: &Bound<'py, PyAny>, cost: &Bound<'py, PyAny>, attribution: Option<&Bound<'py, PyAny>>, now_ms: Option<&Bound<'py, PyAny>>) -> PyResult<Bound<'py, PyAny>> {
        let owner = self.owner(py)?;
        let attr_ok = attribution.is_none_or(|a| a.is_exact_instance_of::<PyDict>());
        let taken = if self.live.load(Ordering::Acquire) && now_ms.is_none() && attr_ok {
            Self::reservation_id(reservation).zip(self.money_nanos(py, cost)).zip(system_now_ms())
        } else {
            None
        };
        let Some(((id, nanos), now)) = taken else {
            return Self::slow(py, &self.slow_settle, (owner, reservation, cost), [(pyo3::intern!(py, "attribution"), attribution), (pyo3::intern!(py, "now_ms"), now_ms)]);
        };
        let r = guard(py, || {
            let attribution = attribution_from_py(py, attribution)?;
            self.native.get().settle_core(py, id, nanos, now, attribution)
        });
        self.hand_out(py, &owner)?;
        Ok(Bound::new(py, SettlementView(r?))?.into_any())
    }
}
