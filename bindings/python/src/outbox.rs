//! `Outbox`: the core's rule of when an alert leaves a pool
//! (`creditpool_core::pool::outbox`): an alert stays pending in the pool (and
//! its snapshot) until every webhook delivered it or gave up; the host
//! records each outcome durably, and after a restart the pending alerts go
//! again to the webhooks without a record, with the same idempotency key.

use crate::errors::guard;
use crate::pool::{alert_to_py, Pool};
use creditpool_core::pool::outbox::{self, DeliveryRecord, Dispatch, Outbox as CoreOutbox};
use pyo3::prelude::*;
use pyo3::types::{PyList, PyTuple};
use std::sync::{Arc, Mutex};

/// The alert outbox of one pool (see the module documentation).
#[pyclass(module = "creditpool._creditpool", frozen)]
pub struct Outbox {
    inner: Arc<Mutex<CoreOutbox>>,
}

impl Outbox {
    fn lock(&self) -> std::sync::MutexGuard<'_, CoreOutbox> {
        self.inner.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// The outbox itself, for a pool in host mode (`Pool.host`). Lock order:
    /// the pool, then the outbox.
    pub(crate) fn shared(&self) -> Arc<Mutex<CoreOutbox>> {
        Arc::clone(&self.inner)
    }
}

/// Dispatches as `[(alert, key, [webhook ids])]`.
pub(crate) fn dispatches_to_py<'py>(py: Python<'py>, dispatches: &[Dispatch]) -> PyResult<Bound<'py, PyList>> {
    let out = PyList::empty(py);
    for d in dispatches {
        let hooks = PyList::new(py, &d.webhooks)?;
        out.append(PyTuple::new(py, [alert_to_py(py, &d.alert)?, d.key.clone().into_pyobject(py)?.into_any(), hooks.into_any()])?)?;
    }
    Ok(out)
}

#[pymethods]
impl Outbox {
    #[new]
    fn new() -> Outbox {
        Outbox { inner: Arc::new(Mutex::new(CoreOutbox::new())) }
    }

    /// A webhook's name in delivery records (`wh_` and 16 hex digits of the
    /// SHA-256 of its URL; never the URL).
    #[staticmethod]
    fn webhook_id(url: &str) -> String {
        outbox::webhook_id(url)
    }

    /// Adds a webhook by its `webhook_id`.
    fn add_webhook(&self, py: Python<'_>, id: &str) -> PyResult<()> {
        guard(py, || {
            self.lock().add_webhook(id);
            Ok(())
        })
    }

    /// A record read back from `deliveries.jsonl` (`idempotency_key`, `webhook`).
    fn restore(&self, py: Python<'_>, key: &str, webhook: &str) -> PyResult<()> {
        guard(py, || {
            self.lock().restore(&DeliveryRecord { idempotency_key: key.to_owned(), webhook: webhook.to_owned(), delivered: true });
            Ok(())
        })
    }

    /// The records worth keeping after a restart, as JSON Lines lines.
    fn compact(&self, py: Python<'_>, pool: &Pool) -> PyResult<Vec<String>> {
        guard(py, || {
            let p = pool.lock();
            Ok(self.lock().compact(&p).iter().map(DeliveryRecord::to_json_line).collect())
        })
    }

    /// The alerts to hand out now, oldest first, as `(alert, key,
    /// [webhook ids])` (at most `MAX_QUEUED_DELIVERIES` deliveries out).
    fn take<'py>(&self, py: Python<'py>, pool: &Pool) -> PyResult<Bound<'py, PyList>> {
        guard(py, || {
            let dispatches = {
                let p = pool.lock();
                self.lock().take(&p)
            };
            dispatches_to_py(py, &dispatches)
        })
    }

    /// A delivery ended (delivered or given up) and its record is written.
    fn finished(&self, py: Python<'_>, key: &str, webhook: &str) -> PyResult<()> {
        guard(py, || {
            self.lock().finished(key, webhook);
            Ok(())
        })
    }

    /// A delivery handed out was dropped without an outcome.
    fn dropped(&self, py: Python<'_>) -> PyResult<()> {
        guard(py, || {
            self.lock().dropped();
            Ok(())
        })
    }

    /// Acknowledges to `pool` the leading alerts every webhook is done
    /// with; returns how many left the pool.
    fn ack(&self, py: Python<'_>, pool: &Pool) -> PyResult<usize> {
        guard(py, || {
            let mut p = pool.lock();
            Ok(self.lock().ack(&mut p))
        })
    }

    /// A delivery record as its JSON Lines line.
    #[staticmethod]
    fn record_line(key: &str, webhook: &str, delivered: bool) -> String {
        DeliveryRecord { idempotency_key: key.to_owned(), webhook: webhook.to_owned(), delivered }.to_json_line()
    }
}

/// Whether an operation (by its `PoolOp` tag: `"settle"`, `"reserve"`, ...)
/// is applied while the pool's files cannot be written: the core's rule
/// (`PoolOp::applies_while_unwritten`: settles and releases are, nothing
/// else is).
#[pyfunction]
pub fn applies_while_unwritten(op: &str) -> bool {
    use creditpool_core::pool::PoolOp;
    use creditpool_core::Money;
    let op = match op {
        "settle" => PoolOp::Settle { id: 0, cost: Money::ZERO, now_ms: 0, attribution: None },
        "release" => PoolOp::Release { id: 0, now_ms: 0 },
        "reserve" => PoolOp::Reserve { agent: String::new(), amount: Money::ZERO, now_ms: 0, lease_ms: None },
        "extend" => PoolOp::Extend { id: 0, lease_ms: 1, now_ms: 0 },
        _ => PoolOp::Tick { now_ms: 0 },
    };
    op.applies_while_unwritten()
}
