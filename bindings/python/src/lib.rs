//! The native module `creditpool._creditpool`: conversion, error mapping and
//! naming over `creditpool-core`, nothing else. Every rule (request building,
//! parsing, SSE accumulation, retry decisions, pricing, tool validation, the
//! credit pool, the agent loop) is a call into the core. Values cross as plain
//! Python data (dict, list, str, int, float, bool, None; bodies as bytes);
//! money as int nano-USD.
//!
//! No Rust panic crosses into Python: every entry point runs inside
//! [`errors::guard`], which turns one into `InternalError`.

mod activity;
mod agent;
mod call;
mod convert;
mod errors;
mod lazy;
mod meter;
mod money;
mod outbox;
mod partial_json;
mod pool;
mod pyser;
mod pricing;
mod redis;
mod request;
mod response;
mod retry;
mod stream;
mod tools;

use pyo3::prelude::*;

/// The native module.
#[pymodule]
fn _creditpool(m: &Bound<'_, PyModule>) -> PyResult<()> {
    errors::register(m)?;
    m.add_function(wrap_pyfunction!(errors::class_for_code, m)?)?;
    m.add_function(wrap_pyfunction!(errors::error_codes, m)?)?;
    m.add_function(wrap_pyfunction!(errors::error_classes, m)?)?;
    m.add("__version__", env!("CARGO_PKG_VERSION"))?;
    m.add("PRICES_AS_OF", creditpool_core::pricing::PriceTable::builtin().as_of().to_owned())?;
    m.add_function(wrap_pyfunction!(request::check_request_params, m)?)?;
    m.add_class::<request::RequestBuilder>()?;
    m.add_class::<call::MessagesCall>()?;
    m.add_class::<lazy::LazyMessage>()?;
    m.add("DEFAULT_IDLE_TIMEOUT_MS", call::DEFAULT_IDLE_TIMEOUT_MS)?;
    m.add_function(wrap_pyfunction!(call::default_call_options, m)?)?;
    m.add_function(wrap_pyfunction!(call::default_webhook_options, m)?)?;
    m.add_class::<retry::RetryPolicy>()?;
    m.add_class::<stream::MessageStream>()?;
    m.add_class::<stream::SseDecoder>()?;
    m.add_class::<tools::ToolSet>()?;
    m.add_class::<pricing::PriceTable>()?;
    m.add_class::<pool::Pool>()?;
    m.add_class::<pool::PoolFastPath>()?;
    m.add_class::<pool::ReservationView>()?;
    m.add_class::<pool::SettlementView>()?;
    m.add_class::<outbox::Outbox>()?;
    m.add_function(wrap_pyfunction!(outbox::applies_while_unwritten, m)?)?;
    m.add("DELIVERIES_FILE", creditpool_core::pool::outbox::DELIVERIES_FILE)?;
    m.add("MAX_QUEUED_DELIVERIES", creditpool_core::pool::outbox::MAX_QUEUED_DELIVERIES)?;
    m.add_class::<agent::AgentRun>()?;
    m.add_class::<meter::Meter>()?;
    m.add_class::<meter::ThreadBook>()?;
    m.add_function(wrap_pyfunction!(meter::meter_applies, m)?)?;
    m.add("MIN_PYTHON_SDK", creditpool_core::meter::MIN_PYTHON_SDK)?;
    m.add("MIN_TS_SDK", creditpool_core::meter::MIN_TS_SDK)?;
    m.add_function(wrap_pyfunction!(pool::webhook_delivery, m)?)?;
    m.add_function(wrap_pyfunction!(pool::check_ledger, m)?)?;
    m.add_function(wrap_pyfunction!(pool::recover_pool, m)?)?;
    m.add_function(wrap_pyfunction!(pool::snapshot_marker_line, m)?)?;
    m.add("JOURNAL_FILE", creditpool_core::pool::recovery::JOURNAL_FILE)?;
    m.add("DEFAULT_SNAPSHOT_EVERY_OPS", creditpool_core::pool::recovery::DEFAULT_SNAPSHOT_EVERY_OPS)?;
    m.add("DEFAULT_SNAPSHOT_EVERY_MS", creditpool_core::pool::recovery::DEFAULT_SNAPSHOT_EVERY_MS)?;
    m.add_function(wrap_pyfunction!(pool::check_webhook_endpoint, m)?)?;
    m.add_function(wrap_pyfunction!(pool::url_origin, m)?)?;
    m.add_function(wrap_pyfunction!(pool::verify_webhook_signature, m)?)?;
    m.add("WEBHOOK_SIGNATURE_HEADER", pool::WEBHOOK_HEADERS.0)?;
    m.add("WEBHOOK_TIMESTAMP_HEADER", pool::WEBHOOK_HEADERS.1)?;
    m.add("WEBHOOK_IDEMPOTENCY_KEY_HEADER", pool::WEBHOOK_HEADERS.2)?;
    m.add("WEBHOOK_CONCURRENCY", creditpool_core::pool::webhook::DEFAULT_DELIVERY_CONCURRENCY)?;
    m.add_function(wrap_pyfunction!(request::normalize_request, m)?)?;
    m.add_function(wrap_pyfunction!(request::json_round_trip, m)?)?;
    m.add_function(wrap_pyfunction!(request::resolve_base_url, m)?)?;
    m.add("DEFAULT_BASE_URL", creditpool_core::request::DEFAULT_BASE_URL)?;
    m.add("API_KEY_ENV", creditpool_core::request::API_KEY_ENV)?;
    m.add("BASE_URL_ENV", creditpool_core::request::BASE_URL_ENV)?;
    m.add_function(wrap_pyfunction!(response::parse_message, m)?)?;
    m.add_function(wrap_pyfunction!(response::parse_count_tokens, m)?)?;
    m.add_function(wrap_pyfunction!(response::rate_limit_info, m)?)?;
    m.add_function(wrap_pyfunction!(partial_json::parse_partial_json, m)?)?;
    m.add_function(wrap_pyfunction!(tools::check_tool, m)?)?;
    m.add_function(wrap_pyfunction!(tools::check_tools, m)?)?;
    m.add_function(wrap_pyfunction!(tools::tool_result_content, m)?)?;
    m.add_function(wrap_pyfunction!(tools::tool_result, m)?)?;
    m.add_function(wrap_pyfunction!(pricing::check_capabilities, m)?)?;
    m.add_function(wrap_pyfunction!(money::usd_decimal_string, m)?)?;
    m.add_function(wrap_pyfunction!(money::format_usd, m)?)?;
    m.add_function(wrap_pyfunction!(money::dollars_string, m)?)?;
    m.add_function(wrap_pyfunction!(money::money_rule, m)?)?;
    m.add_function(wrap_pyfunction!(money::pool_config_amounts, m)?)?;
    m.add_function(wrap_pyfunction!(activity::parse_ledger_jsonl, m)?)?;
    m.add_function(wrap_pyfunction!(activity::activity_from_ledger, m)?)?;
    m.add_function(wrap_pyfunction!(activity::activity_from_report, m)?)?;
    m.add_function(wrap_pyfunction!(activity::activity_from_pool, m)?)?;
    m.add_function(wrap_pyfunction!(activity::activity_chart, m)?)?;
    m.add_function(wrap_pyfunction!(activity::standalone_html, m)?)?;
    m.add("VEGA_LITE_VERSION", activity::VERSIONS.0)?;
    m.add("VEGA_VERSION", activity::VERSIONS.1)?;
    m.add("VEGA_EMBED_VERSION", activity::VERSIONS.2)?;
    redis::register(m)?;
    Ok(())
}
