//! The core's pool activity (`creditpool_core::activity`): the activity data
//! of a report, a pool or a ledger, its Vega-Lite v5 dashboard spec and the
//! standalone page that draws it. Values cross as the core's JSON: the
//! `Activity` and the spec as dicts, ledger entries as dicts (or JSON Lines
//! text), options as the core's strict `ActivityOptions` dict.

use crate::convert::{de_from_py, from_py, ser_to_py, to_py};
use crate::errors::{guard, invalid_options, obj, raise};
use crate::pool::Pool;
use creditpool_core::activity::{self, Activity, ActivityOptions, RefusalEvent, VegaScripts};
use creditpool_core::pool::{LedgerEntry, Report};
use pyo3::prelude::*;
use pyo3::types::PyList;

fn options_from_py(py: Python<'_>, options: Option<&Bound<'_, PyAny>>) -> PyResult<ActivityOptions> {
    match options {
        Some(o) if !o.is_none() => de_from_py(o)?.map_err(|e| invalid_options(py, "activity options", &e)),
        _ => Ok(ActivityOptions::default()),
    }
}

fn entries_from_py(py: Python<'_>, entries: &Bound<'_, PyAny>) -> PyResult<Vec<LedgerEntry>> {
    let mut out = Vec::new();
    for (i, item) in entries.try_iter()?.enumerate() {
        let e: LedgerEntry = de_from_py(&item?)?.map_err(|e| invalid_options(py, &format!("ledger entry {i}"), &e))?;
        out.push(e);
    }
    Ok(out)
}

fn activity_from_py(py: Python<'_>, activity: &Bound<'_, PyAny>) -> PyResult<Activity> {
    de_from_py(activity)?.map_err(|e| invalid_options(py, "activity", &e))
}

/// Every ledger entry of a JSON Lines text (blank lines skipped), as dicts.
/// A line that is not a ledger entry raises `InvalidOptionsError` (`what`
/// `ledger`, `line` its number from 1).
#[pyfunction]
pub fn parse_ledger_jsonl<'py>(py: Python<'py>, text: &str) -> PyResult<Bound<'py, PyList>> {
    guard(py, || {
        let entries = py.detach(|| activity::parse_ledger_jsonl(text)).map_err(|e| {
            raise(py, "invalid_options", &format!("invalid ledger: {e}"), &[("what", obj(py, "ledger")), ("line", obj(py, e.line))])
        })?;
        let out = PyList::empty(py);
        for e in &entries {
            out.append(ser_to_py(py, e)?)?;
        }
        Ok(out)
    })
}

/// The activity of a ledger (`Activity::from_ledger_with_refusals`): entries
/// as dicts (in any order), `options` the core's `ActivityOptions` dict,
/// `refusals` the driver's `{"at_ms", "agent", "reason"}` dicts.
#[pyfunction]
#[pyo3(signature = (entries, options = None, refusals = None))]
pub fn activity_from_ledger<'py>(py: Python<'py>, entries: &Bound<'py, PyAny>, options: Option<&Bound<'py, PyAny>>, refusals: Option<&Bound<'py, PyAny>>) -> PyResult<Bound<'py, PyAny>> {
    guard(py, || {
        let entries = entries_from_py(py, entries)?;
        let options = options_from_py(py, options)?;
        let refusals: Vec<RefusalEvent> = match refusals {
            Some(r) if !r.is_none() => de_from_py(r)?.map_err(|e| invalid_options(py, "refusals", &e))?,
            _ => Vec::new(),
        };
        let activity = Activity::from_ledger_with_refusals(&entries, &refusals, &options);
        ser_to_py(py, &activity)
    })
}

/// The activity of a report (the core's report dict, as `Pool.report`
/// returns it): `Activity::from_report`.
#[pyfunction]
#[pyo3(signature = (report, options = None))]
pub fn activity_from_report<'py>(py: Python<'py>, report: &Bound<'py, PyAny>, options: Option<&Bound<'py, PyAny>>) -> PyResult<Bound<'py, PyAny>> {
    guard(py, || {
        let report: Report = de_from_py(report)?.map_err(|e| invalid_options(py, "report", &e))?;
        let options = options_from_py(py, options)?;
        ser_to_py(py, &Activity::from_report(&report, &options))
    })
}

/// The activity of a pool now, with its own thresholds: `Activity::from_pool`.
#[pyfunction]
pub fn activity_from_pool<'py>(py: Python<'py>, pool: &Pool, now_ms: u64) -> PyResult<Bound<'py, PyAny>> {
    guard(py, || {
        let activity = Activity::from_pool(&pool.lock(), now_ms);
        ser_to_py(py, &activity)
    })
}

/// The dashboard of an activity (a dict from the `activity_from_*`
/// functions) as one Vega-Lite v5 specification: `Activity::chart`.
#[pyfunction]
pub fn activity_chart<'py>(py: Python<'py>, activity: &Bound<'py, PyAny>) -> PyResult<Bound<'py, PyAny>> {
    guard(py, || {
        let activity = activity_from_py(py, activity)?;
        to_py(py, &activity.chart())
    })
}

/// A standalone HTML page drawing `spec` (`activity::standalone_html`):
/// `scripts` `None` loads the pinned Vega bundles from jsDelivr; a
/// `(vega, vega_lite, vega_embed)` tuple of the bundles' text inlines them
/// (the page then opens offline).
#[pyfunction]
#[pyo3(signature = (spec, title, scripts = None))]
pub fn standalone_html(py: Python<'_>, spec: &Bound<'_, PyAny>, title: &str, scripts: Option<(String, String, String)>) -> PyResult<String> {
    guard(py, || {
        let spec = from_py(spec)?;
        let page = match &scripts {
            Some((vega, vega_lite, vega_embed)) => activity::standalone_html(&spec, title, &VegaScripts::Inline { vega, vega_lite, vega_embed }),
            None => activity::standalone_html(&spec, title, &VegaScripts::Cdn),
        };
        Ok(page)
    })
}

/// The pinned versions: `(vega_lite, vega, vega_embed)`.
pub const VERSIONS: (&str, &str, &str) = (activity::VEGA_LITE_VERSION, activity::VEGA_VERSION, activity::VEGA_EMBED_VERSION);
