//! `RawPool`: `creditpool_core::pool::Pool`, the credit pool, for the JS
//! package's `Pool` (which adds the clock, alert callbacks, webhook delivery
//! and the Node ledger file).
//!
//! Every operation is one core call; alerts and ledger entries queue in the
//! core and are drained with `pollAlert` and `pollLedger` after each call.
//! Money goes in as `bigint` or a safe integer of nano-USD and comes out as
//! `{nanos, usd}`, except in `apply` and `report`, which return the core's
//! JSON unchanged (amounts as integer nano-USD numbers).

use creditpool_core::activity::{Activity, ActivityOptions};
use creditpool_core::pool::{self, AgentPolicy, AttributionInput, PoolConfig, PoolError, PoolOp, Refusal, ReleaseOutcome, SettleOutcome};
use creditpool_core::Money;
use js_sys::{Object, Reflect};
use wasm_bindgen::prelude::*;
use wasm_bindgen::JsCast;

use crate::convert::{from_js, money, object, pairs_to_js, set, to_js, u64_from_js, u64_js};
use crate::errors;

/// A refusal as an Error with the fields Python's has: `reason` (and `type`)
/// is the refusal's reason (`pool_exhausted`, `agent_cap`, `rate_limited`,
/// `fair_share`, `unknown_agent`), `details` the core's refusal JSON
/// (integer nano-USD), and the refusal's fields (money as `{nanos, usd}`)
/// with, for a rate limit, `retryAtMs` (Unix ms; also under its deprecated
/// name `retryAt`).
pub(crate) fn refusal_error(r: &Refusal) -> JsValue {
    let fields = to_js(r).unwrap_or(JsValue::UNDEFINED);
    if let Some(obj) = fields.dyn_ref::<Object>() {
        set(obj, "details", &to_js(r).unwrap_or(JsValue::NULL));
        let monies: Vec<(&str, Money)> = match r {
            Refusal::PoolExhausted { requested, available } => vec![("requested", *requested), ("available", *available)],
            Refusal::AgentCap { cap, spent, reserved, requested, .. } => {
                vec![("cap", *cap), ("spent", *spent), ("reserved", *reserved), ("requested", *requested)]
            }
            Refusal::FairShare { share, held, requested, .. } => vec![("share", *share), ("held", *held), ("requested", *requested)],
            _ => Vec::new(),
        };
        for (k, m) in monies {
            set(obj, k, &money(m));
        }
        if let Some(t) = r.retry_at_ms() {
            set(obj, "retryAtMs", &u64_js(t));
            // Deprecated name of `retryAtMs` (also Unix ms).
            set(obj, "retryAt", &u64_js(t));
        }
    }
    let message = match r {
        Refusal::UnknownAgent { .. } => format!(
            "{r}. In JS: `new Pool({{ ..., allow_unknown_agents: true, default_agent: {{ cap: ... }} }})` lets other agents reserve under their own policy."
        ),
        _ => r.to_string(),
    };
    errors::make(r.code(), r.reason(), &message, fields)
}

/// A pool error as an Error: `type` is the core's tag
/// (`unknown_reservation`, `invalid_config`, `invalid_snapshot`,
/// `unsupported_snapshot_version`) with its fields.
pub(crate) fn pool_error(e: &PoolError) -> JsValue {
    let fields = to_js(e).unwrap_or(JsValue::UNDEFINED);
    let kind = Reflect::get(&fields, &JsValue::from_str("error")).ok().and_then(|v| v.as_string()).unwrap_or_else(|| "pool_error".to_owned());
    if let Some(obj) = fields.dyn_ref::<Object>() {
        let _ = Reflect::delete_property(obj, &JsValue::from_str("error"));
    }
    errors::make(e.code(), &kind, &e.to_string(), fields)
}

/// Money from JS: a `bigint` or a non-negative safe integer of nano-USD.
fn money_from_js(value: &JsValue, what: &str) -> Result<Money, JsValue> {
    u64_from_js(value, what).map(Money::from_nanos)
}

/// The credit pool.
/// How many webhook deliveries run at once by default (the core's
/// `DEFAULT_DELIVERY_CONCURRENCY`).
#[wasm_bindgen(js_name = webhookConcurrency)]
pub fn webhook_concurrency() -> u32 {
    u32::try_from(pool::webhook::DEFAULT_DELIVERY_CONCURRENCY).unwrap_or(u32::MAX)
}

#[wasm_bindgen(js_name = RawPool)]
pub struct RawPool(pub(crate) pool::Pool);

#[wasm_bindgen(js_class = RawPool)]
impl RawPool {
    /// A pool from the core's `PoolConfig` JSON, its cycle starting at `nowMs`.
    #[wasm_bindgen(constructor)]
    pub fn new(config: JsValue, now_ms: JsValue) -> Result<RawPool, JsValue> {
        // The core reads it, naming a wrong field by its path in plain words.
        let config: serde_json::Value = from_js(config, "pool configuration", "invalid_config")?;
        let config = PoolConfig::from_json_value(&config).map_err(|e| pool_error(&e))?;
        let now = u64_from_js(&now_ms, "nowMs")?;
        pool::Pool::new(config, now).map(RawPool).map_err(|e| pool_error(&e))
    }

    /// A pool restored from `snapshot()` text.
    pub fn restore(snapshot: &str) -> Result<RawPool, JsValue> {
        pool::Pool::restore_json(snapshot).map(RawPool).map_err(|e| pool_error(&e))
    }

    /// The pool's state as versioned JSON text.
    pub fn snapshot(&self) -> String {
        self.0.snapshot_json()
    }

    /// One operation as the core's `PoolOp` JSON; the core's `OpResult` JSON.
    pub fn apply(&mut self, op: JsValue) -> Result<JsValue, JsValue> {
        let op: PoolOp = from_js(op, "pool operation", "invalid_argument")?;
        to_js(&self.0.apply(&op))
    }

    /// Reserves `amount` for `agent`: `{id, amount, expiresAtMs}`, or throws
    /// the refusal.
    pub fn reserve(&mut self, agent: &str, amount: JsValue, now_ms: JsValue, lease_ms: JsValue) -> Result<JsValue, JsValue> {
        let amount = money_from_js(&amount, "amount")?;
        let now = u64_from_js(&now_ms, "nowMs")?;
        self.0.check_clock(now).map_err(|e| pool_error(&e))?;
        let r = if lease_ms.is_undefined() || lease_ms.is_null() {
            self.0.reserve(agent, amount, now)
        } else {
            self.0.reserve_with_lease(agent, amount, u64_from_js(&lease_ms, "leaseMs")?, now)
        };
        let r = r.map_err(|e| refusal_error(&e))?;
        Ok(object(&[("id", u64_js(r.id)), ("amount", money(r.amount)), ("expiresAtMs", u64_js(r.expires_at_ms))]))
    }

    /// Posts the actual `cost` of reservation `id`, with the core's
    /// `AttributionInput` JSON (or null): `{id, reserved, cost, refunded,
    /// overrun, late, ledgerSeq, duplicate: false}`, or `{id, duplicate:
    /// true}`.
    pub fn settle(&mut self, id: JsValue, cost: JsValue, attribution: JsValue, now_ms: JsValue) -> Result<JsValue, JsValue> {
        let id = u64_from_js(&id, "id")?;
        let cost = money_from_js(&cost, "cost")?;
        let attribution: Option<AttributionInput> =
            if attribution.is_undefined() || attribution.is_null() { None } else { Some(from_js(attribution, "attribution", "invalid_argument")?) };
        let now = u64_from_js(&now_ms, "nowMs")?;
        match self.0.settle(id, cost, attribution.as_ref(), now).map_err(|e| pool_error(&e))? {
            SettleOutcome::Settled(s) => Ok(object(&[
                ("id", u64_js(s.id)),
                ("duplicate", JsValue::FALSE),
                ("reserved", money(s.reserved)),
                ("cost", money(s.cost)),
                ("refunded", money(s.refunded)),
                ("overrun", money(s.overrun)),
                ("late", JsValue::from_bool(s.late)),
                ("ledgerSeq", u64_js(s.ledger_seq)),
            ])),
            SettleOutcome::Duplicate { id } => Ok(object(&[("id", u64_js(id)), ("duplicate", JsValue::TRUE)])),
        }
    }

    /// Voids reservation `id`: `{id, amount, ledgerSeq, duplicate: false}` or
    /// `{id, duplicate: true}`.
    pub fn release(&mut self, id: JsValue, now_ms: JsValue) -> Result<JsValue, JsValue> {
        let id = u64_from_js(&id, "id")?;
        let now = u64_from_js(&now_ms, "nowMs")?;
        match self.0.release(id, now).map_err(|e| pool_error(&e))? {
            ReleaseOutcome::Released(r) => Ok(object(&[
                ("id", u64_js(r.id)),
                ("duplicate", JsValue::FALSE),
                ("amount", money(r.amount)),
                ("ledgerSeq", u64_js(r.ledger_seq)),
            ])),
            ReleaseOutcome::Duplicate { id } => Ok(object(&[("id", u64_js(id)), ("duplicate", JsValue::TRUE)])),
        }
    }

    /// Expires due leases and rolls the cycle over: `{expired, rolledOver}`.
    /// Throws `ClockJumpError` for a `nowMs` beyond the pool's
    /// `max_clock_jump_ms` (nothing changes).
    pub fn tick(&mut self, now_ms: JsValue) -> Result<JsValue, JsValue> {
        let now = u64_from_js(&now_ms, "nowMs")?;
        let t = self.0.tick(now).map_err(|e| pool_error(&e))?;
        Ok(object(&[("expired", to_js(&t.expired)?), ("rolledOver", JsValue::from_bool(t.rolled_over))]))
    }

    /// Accepts `nowMs` however far ahead of the latest time the pool saw (the
    /// resume path after a pause longer than `max_clock_jump_ms`), then
    /// ticks: `{expired, rolledOver}`.
    #[wasm_bindgen(js_name = advanceClock)]
    pub fn advance_clock(&mut self, now_ms: JsValue) -> Result<JsValue, JsValue> {
        let now = u64_from_js(&now_ms, "nowMs")?;
        let t = self.0.advance_clock(now);
        Ok(object(&[("expired", to_js(&t.expired)?), ("rolledOver", JsValue::from_bool(t.rolled_over))]))
    }

    /// Changes the limit.
    #[wasm_bindgen(js_name = setLimit)]
    pub fn set_limit(&mut self, limit: JsValue, now_ms: JsValue) -> Result<(), JsValue> {
        let limit = money_from_js(&limit, "limit")?;
        let now = u64_from_js(&now_ms, "nowMs")?;
        self.0.set_limit(limit, now).map_err(|e| pool_error(&e))
    }

    /// Sets an agent's policy (the core's `AgentPolicy` JSON).
    #[wasm_bindgen(js_name = setAgentPolicy)]
    pub fn set_agent_policy(&mut self, agent: &str, policy: JsValue, now_ms: JsValue) -> Result<(), JsValue> {
        let policy: AgentPolicy = from_js(policy, "agent policy", "invalid_config")?;
        let now = u64_from_js(&now_ms, "nowMs")?;
        self.0.set_agent_policy(agent, policy, now).map_err(|e| pool_error(&e))
    }

    /// The next alert, or null: `{kind, percent, payload, body, deliveries}`.
    /// `payload` is the webhook payload and `body` its exact JSON text;
    /// `deliveries` holds, for each of `secrets` (an array of strings), the
    /// headers of a webhook delivery signed with it for an attempt at `now_ms`
    /// (`[[name, value], ...]`, with the timestamp (the attempt's time), the
    /// HMAC-SHA256 signature of `t.body` and the idempotency key; a webhook
    /// call given the secret signs each attempt afresh).
    #[wasm_bindgen(js_name = pollAlert)]
    pub fn poll_alert(&mut self, secrets: JsValue, now_ms: JsValue) -> Result<JsValue, JsValue> {
        let now = u64_from_js(&now_ms, "nowMs")?;
        let secrets: Vec<String> = if secrets.is_undefined() || secrets.is_null() { Vec::new() } else { from_js(secrets, "secrets", "invalid_argument")? };
        let Some(alert) = self.0.poll_event() else { return Ok(JsValue::NULL) };
        let body = alert.webhook_body();
        let deliveries = js_sys::Array::new();
        for s in &secrets {
            deliveries.push(&pairs_to_js(&alert.webhook(s.as_bytes(), now).headers));
        }
        Ok(object(&[
            ("kind", JsValue::from_str(alert.kind.name())),
            ("percent", alert.kind.percent().map_or(JsValue::NULL, JsValue::from)),
            ("payload", to_js(&alert.payload())?),
            ("body", JsValue::from_str(&String::from_utf8_lossy(&body))),
            ("deliveries", deliveries.into()),
        ]))
    }

    /// The next ledger entry, or null: `{entry, line}`, the core's JSON and
    /// its JSON Lines text (one line, with its newline).
    #[wasm_bindgen(js_name = pollLedger)]
    pub fn poll_ledger(&mut self) -> Result<JsValue, JsValue> {
        let Some(entry) = self.0.poll_ledger() else { return Ok(JsValue::NULL) };
        Ok(object(&[("entry", to_js(&entry)?), ("line", JsValue::from_str(&entry.to_json_line()))]))
    }

    /// When the pool next has something to do without input (Unix ms).
    #[wasm_bindgen(js_name = nextDeadlineMs)]
    pub fn next_deadline_ms(&mut self) -> JsValue {
        u64_js(self.0.next_deadline_ms())
    }

    /// The report for the current cycle (the core's `Report` JSON).
    pub fn report(&mut self, now_ms: JsValue) -> Result<JsValue, JsValue> {
        let now = u64_from_js(&now_ms, "nowMs")?;
        to_js(&self.0.report(now))
    }

    /// The pool's activity dashboard now, with its own thresholds
    /// (`Activity::from_pool(..).chart()`): a Vega-Lite v5 specification.
    pub fn chart(&mut self, now_ms: JsValue) -> Result<JsValue, JsValue> {
        let now = u64_from_js(&now_ms, "nowMs")?;
        crate::activity::spec_js(&Activity::from_pool(&self.0, now).chart())
    }

    /// The dashboard of a report this pool made (the core's `Report` JSON,
    /// as `report` returns it), with the pool's thresholds and the report's
    /// limit: `Activity::from_report(..).chart()`, as `Activity::from_pool`.
    #[wasm_bindgen(js_name = reportChart)]
    pub fn report_chart(&self, report: JsValue) -> Result<JsValue, JsValue> {
        let report: pool::Report = from_js(report, "report", "invalid_argument")?;
        crate::activity::spec_js(&Activity::from_report(&report, &ActivityOptions::for_report_of(self.0.config())).chart())
    }

    /// `{limit, settled, reserved, overrun}` now, as money.
    pub fn usage(&self) -> JsValue {
        let s = self.0.state();
        object(&[("limit", money(s.limit())), ("settled", money(s.settled())), ("reserved", money(s.reserved())), ("overrun", money(s.overrun()))])
    }
}

/// Checks a webhook endpoint by the core's rule (`pool::check_endpoint`: a
/// non-empty secret, an http or https URL with a host) and returns its origin,
/// all that may be shown of it; throws `InvalidOptionsError` otherwise.
#[wasm_bindgen(js_name = checkWebhookEndpoint)]
pub fn check_webhook_endpoint(url: &str, secret: &str) -> Result<String, JsValue> {
    pool::check_endpoint(url, secret.as_bytes()).map_err(|e| errors::make(e.code(), "invalid_options", &e.to_string(), JsValue::UNDEFINED))
}

/// Checks a ledger file's text (JSON Lines) against the pool's snapshot by
/// the core's one rule (`pool::check_ledger`: no gap and no repeat, not
/// newer than the pool): a fresh pool needs an empty file, a restored one the
/// file its ledger went to. Returns the last `seq` the file holds (entries up
/// to it are not appended again); throws `PoolSnapshotError` otherwise.
#[wasm_bindgen(js_name = checkLedgerFile)]
pub fn check_ledger_file(snapshot_json: &str, text: &str) -> Result<JsValue, JsValue> {
    let invalid = |reason: String| pool_error(&PoolError::InvalidSnapshot { reason });
    let snapshot: pool::PoolSnapshot = serde_json::from_str(snapshot_json).map_err(|e| invalid(e.to_string()))?;
    let mut entries = Vec::new();
    for (i, line) in text.lines().enumerate().filter(|(_, l)| !l.trim().is_empty()) {
        let entry: pool::LedgerEntry = serde_json::from_str(line).map_err(|e| invalid(format!("line {} of the ledger file: {e}", i + 1)))?;
        entries.push(entry);
    }
    pool::check_ledger(&snapshot, &entries).map(|j| u64_js(j.last_seq_in_file)).map_err(|e| pool_error(&e))
}

/// `scheme://host[:port]` of a URL (the core's `pool::url_origin`).
#[wasm_bindgen(js_name = urlOrigin)]
pub fn url_origin(url: &str) -> String {
    pool::url_origin(url)
}
