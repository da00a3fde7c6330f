//! `RawOutbox`: the core's rule of when an alert leaves a pool
//! (`creditpool_core::pool::outbox`), for the JS `Pool`'s webhook
//! deliveries: an alert stays pending in the pool until every webhook
//! delivered it or gave up, and at most `MAX_QUEUED_DELIVERIES` deliveries
//! are handed out and not yet ended; later alerts wait in the pool (memory
//! stays bounded however long an endpoint is down).

use creditpool_core::pool::outbox::{self, Outbox};
use wasm_bindgen::prelude::*;

use crate::convert::{from_js, object, pairs_to_js, to_js, u64_from_js};
use crate::pool::RawPool;

/// The alert outbox of one pool (see the module documentation).
#[wasm_bindgen]
pub struct RawOutbox(Outbox);

impl Default for RawOutbox {
    fn default() -> RawOutbox {
        RawOutbox::new()
    }
}

#[wasm_bindgen]
impl RawOutbox {
    /// An outbox with no webhook.
    #[wasm_bindgen(constructor)]
    pub fn new() -> RawOutbox {
        RawOutbox(Outbox::new())
    }

    /// A webhook's name in the outbox (`wh_` and 16 hex digits of the
    /// SHA-256 of its URL; never the URL).
    #[wasm_bindgen(js_name = webhookId)]
    pub fn webhook_id(url: &str) -> String {
        outbox::webhook_id(url)
    }

    /// The most deliveries handed out and not yet ended (the core's
    /// `MAX_QUEUED_DELIVERIES`).
    #[wasm_bindgen(js_name = maxQueuedDeliveries)]
    pub fn max_queued_deliveries() -> u32 {
        u32::try_from(outbox::MAX_QUEUED_DELIVERIES).unwrap_or(u32::MAX)
    }

    /// Adds a webhook by its `webhookId`; alerts handed out from now on owe
    /// it a delivery.
    #[wasm_bindgen(js_name = addWebhook)]
    pub fn add_webhook(&mut self, id: &str) {
        self.0.add_webhook(id);
    }

    /// The alerts of `pool` to hand out now, oldest first: `[{kind, percent,
    /// payload, body, key, webhooks, deliveries}]`, `webhooks` the ids that
    /// still owe it a delivery, `deliveries` for each of `secrets` (the
    /// pool's webhooks' secrets, in order) the headers of a delivery signed
    /// for an attempt at `now_ms` (as `RawPool.pollAlert`). An alert whose
    /// deliveries would take those out past `maxQueuedDeliveries` waits.
    pub fn take(&mut self, pool: &RawPool, secrets: JsValue, now_ms: JsValue) -> Result<JsValue, JsValue> {
        let now = u64_from_js(&now_ms, "nowMs")?;
        let secrets: Vec<String> = if secrets.is_undefined() || secrets.is_null() { Vec::new() } else { from_js(secrets, "secrets", "invalid_argument")? };
        let out = js_sys::Array::new();
        for d in self.0.take(&pool.0) {
            let alert = &d.alert;
            let body = alert.webhook_body();
            let deliveries = js_sys::Array::new();
            for s in &secrets {
                deliveries.push(&pairs_to_js(&alert.webhook(s.as_bytes(), now).headers));
            }
            let webhooks = js_sys::Array::new();
            for w in &d.webhooks {
                webhooks.push(&JsValue::from_str(w));
            }
            out.push(&object(&[
                ("kind", JsValue::from_str(alert.kind.name())),
                ("percent", alert.kind.percent().map_or(JsValue::NULL, JsValue::from)),
                ("payload", to_js(&alert.payload())?),
                ("body", JsValue::from_str(&String::from_utf8_lossy(&body))),
                ("key", JsValue::from_str(&d.key)),
                ("webhooks", webhooks.into()),
                ("deliveries", deliveries.into()),
            ]));
        }
        Ok(out.into())
    }

    /// A delivery handed out by `take` ended (delivered, or given up by the
    /// core's retry rule).
    pub fn finished(&mut self, key: &str, webhook: &str) {
        self.0.finished(key, webhook);
    }

    /// A delivery handed out was dropped without an outcome (the pool is
    /// closing): its alert stays pending.
    pub fn dropped(&mut self) {
        self.0.dropped();
    }

    /// Acknowledges to `pool` the leading alerts every webhook is done with;
    /// returns how many left the pool.
    pub fn ack(&mut self, pool: &mut RawPool) -> u32 {
        u32::try_from(self.0.ack(&mut pool.0)).unwrap_or(u32::MAX)
    }

    /// Deliveries handed out and not yet ended.
    #[wasm_bindgen(getter, js_name = inFlight)]
    pub fn in_flight(&self) -> u32 {
        u32::try_from(self.0.in_flight()).unwrap_or(u32::MAX)
    }
}
