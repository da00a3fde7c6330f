//! The alert outbox: when an alert may leave the pool, and what a host
//! delivers, for webhooks that survive a crash.
//!
//! An alert stays in the pool (and in every snapshot of it, as
//! `pending_events`) until the outbox acknowledges it, and the outbox
//! acknowledges an alert only once **every** webhook configured when it was
//! handed out has an outcome for it: delivered (2xx), or given up by the
//! core's retry rule (the webhook call ended with an error). Alerts leave in
//! order: a later alert already delivered waits for an earlier one.
//!
//! The host's part:
//!
//! 1. [`Outbox::add_webhook`] for each webhook, by its [`webhook_id`] (a
//!    digest of the URL, so the record never holds the URL, which may be the
//!    credential);
//! 2. after each pool operation, [`Outbox::take`]: the alerts to hand out
//!    now (to callbacks) with the webhooks each still owes; at most
//!    [`MAX_QUEUED_DELIVERIES`] deliveries are out at once, the rest wait in
//!    the pool (memory stays bounded however long an endpoint is down);
//! 3. when a delivery ends (delivered or given up), write a
//!    [`DeliveryRecord`] durably (a pool kept in a directory appends it to
//!    [`DELIVERIES_FILE`]), then [`Outbox::finished`], then
//!    [`Outbox::ack`] (which acknowledges the finished alerts to the pool);
//! 4. on restart, [`Outbox::restore`] each record read back, then
//!    [`Outbox::compact`] to learn which to keep: the restored pool's pending
//!    alerts are handed out again, to the webhooks without a record only,
//!    with the same idempotency key (at-least-once: a crash between a
//!    delivery and its record repeats it; receivers drop repeats by key).
//!
//! A delivery dropped without an outcome (a pool closed before it ran) is
//! not recorded: its alert stays pending and goes out after a restart.

use super::alerts::Alert;
use super::Pool;
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use std::collections::{BTreeMap, BTreeSet};

/// The most webhook deliveries a pool has handed out and not yet seen end;
/// further alerts wait in the pool (and its snapshot) until some end.
pub const MAX_QUEUED_DELIVERIES: usize = 256;

/// The file of a pool's directory that records which webhooks have an
/// outcome for each pending alert (JSON Lines of [`DeliveryRecord`]).
pub const DELIVERIES_FILE: &str = "deliveries.jsonl";

/// One line of [`DELIVERIES_FILE`]: this webhook has an outcome for this
/// alert (delivered, or given up).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct DeliveryRecord {
    /// The alert's idempotency key.
    pub idempotency_key: String,
    /// The webhook's [`webhook_id`].
    pub webhook: String,
    /// Whether it was delivered (false: given up by the retry rule).
    pub delivered: bool,
}

impl DeliveryRecord {
    /// The record as one JSON Lines line (ending in a newline).
    pub fn to_json_line(&self) -> String {
        let mut s = serde_json::to_string(self).unwrap_or_default();
        s.push('\n');
        s
    }
}

/// A webhook's stable identity in delivery records: `wh_` and the first 16
/// hex digits of the SHA-256 of its URL (the URL itself never appears).
pub fn webhook_id(url: &str) -> String {
    let digest = Sha256::digest(url.as_bytes());
    let mut s = String::from("wh_");
    for b in digest.iter().take(8) {
        s.push_str(&format!("{b:02x}"));
    }
    s
}

/// One alert to hand out: to the callbacks, and to these webhooks.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Dispatch {
    /// The alert.
    pub alert: Alert,
    /// Its idempotency key.
    pub key: String,
    /// The webhooks (by [`webhook_id`]) that still owe it a delivery.
    pub webhooks: Vec<String>,
}

/// Which alerts have been handed out and which webhooks have an outcome for
/// each (see the module documentation).
#[derive(Clone, Debug, Default)]
pub struct Outbox {
    webhooks: Vec<String>,
    /// How many of the pool's leading pending alerts were handed out.
    handed: usize,
    /// Per idempotency key, the webhooks with an outcome.
    done: BTreeMap<String, BTreeSet<String>>,
    /// Deliveries handed out and not yet finished.
    in_flight: usize,
}

impl Outbox {
    /// An outbox with no webhook.
    pub fn new() -> Outbox {
        Outbox::default()
    }

    /// Adds a webhook (by [`webhook_id`]); alerts handed out from now on owe
    /// it a delivery. Adding one twice changes nothing.
    pub fn add_webhook(&mut self, id: &str) {
        if !self.webhooks.iter().any(|w| w == id) {
            self.webhooks.push(id.to_owned());
        }
    }

    /// A record read back from the durable log (no delivery was out for it
    /// in this process).
    pub fn restore(&mut self, record: &DeliveryRecord) {
        self.done.entry(record.idempotency_key.clone()).or_default().insert(record.webhook.clone());
    }

    /// The records worth keeping after a restart: those of alerts still
    /// pending in `pool` (the rest were acknowledged before the crash).
    pub fn compact(&mut self, pool: &Pool) -> Vec<DeliveryRecord> {
        let pending: BTreeSet<String> = pool.peek_events().map(Alert::idempotency_key).collect();
        self.done.retain(|k, _| pending.contains(k));
        self.done
            .iter()
            .flat_map(|(k, ws)| ws.iter().map(|w| DeliveryRecord { idempotency_key: k.clone(), webhook: w.clone(), delivered: true }))
            .collect()
    }

    /// The alerts of `pool` to hand out now, oldest first, each with the
    /// webhooks that still owe it a delivery. An alert whose deliveries would
    /// take the deliveries out past [`MAX_QUEUED_DELIVERIES`] waits (unless
    /// none is out, so that every alert goes eventually).
    pub fn take(&mut self, pool: &Pool) -> Vec<Dispatch> {
        let mut out = Vec::new();
        for alert in pool.peek_events().skip(self.handed) {
            let key = alert.idempotency_key();
            let done = self.done.get(&key);
            let webhooks: Vec<String> = self.webhooks.iter().filter(|w| done.is_none_or(|d| !d.contains(*w))).cloned().collect();
            if self.in_flight > 0 && self.in_flight + webhooks.len() > MAX_QUEUED_DELIVERIES {
                break;
            }
            self.in_flight += webhooks.len();
            self.handed += 1;
            out.push(Dispatch { alert: alert.clone(), key, webhooks });
        }
        out
    }

    /// A delivery handed out by [`take`](Outbox::take) ended (delivered or
    /// given up) and its record is written.
    pub fn finished(&mut self, key: &str, webhook: &str) {
        self.in_flight = self.in_flight.saturating_sub(1);
        self.done.entry(key.to_owned()).or_default().insert(webhook.to_owned());
    }

    /// A delivery handed out was dropped without an outcome (the pool is
    /// closing): its alert stays pending.
    pub fn dropped(&mut self) {
        self.in_flight = self.in_flight.saturating_sub(1);
    }

    /// Deliveries handed out and not yet ended.
    pub fn in_flight(&self) -> usize {
        self.in_flight
    }

    /// Acknowledges to `pool` the leading alerts that every webhook has an
    /// outcome for; answers how many left the pool.
    pub fn ack(&mut self, pool: &mut Pool) -> usize {
        let mut n = 0;
        for alert in pool.peek_events().take(self.handed) {
            let key = alert.idempotency_key();
            let done = self.done.get(&key);
            if !self.webhooks.iter().all(|w| done.is_some_and(|d| d.contains(w))) {
                break;
            }
            n += 1;
        }
        let keys: Vec<String> = pool.peek_events().take(n).map(Alert::idempotency_key).collect();
        let acked = pool.ack_events(n);
        self.handed -= acked;
        for k in keys {
            // A later pending alert with the same key keeps its records.
            if !pool.peek_events().any(|a| a.idempotency_key() == k) {
                self.done.remove(&k);
            }
        }
        acked
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::money::Money;
    use crate::pool::PoolConfig;

    fn pool_with_alerts() -> Pool {
        let mut p = Pool::new(PoolConfig::new(Money::from_nanos(1_000)), 1_000).unwrap();
        let r = p.reserve("a", Money::from_nanos(800), 1_000).unwrap();
        p.settle(r.id, Money::from_nanos(800), None, 1_001).unwrap();
        p
    }

    #[test]
    fn an_alert_leaves_only_when_every_webhook_has_an_outcome() {
        let mut p = pool_with_alerts();
        let n = p.peek_events().count();
        assert!(n >= 2);
        let mut o = Outbox::new();
        let (a, b) = (webhook_id("https://a.example/x"), webhook_id("https://b.example/y"));
        assert!(!a.contains("example"));
        o.add_webhook(&a);
        o.add_webhook(&b);
        let d = o.take(&p);
        assert_eq!(d.len(), n);
        assert!(d.iter().all(|x| x.webhooks == vec![a.clone(), b.clone()]));
        assert_eq!(o.take(&p).len(), 0, "handed out once");
        assert_eq!(o.in_flight(), 2 * n);
        // The second alert done everywhere, the first only at `a`: nothing leaves.
        o.finished(&d[1].key, &a);
        o.finished(&d[1].key, &b);
        o.finished(&d[0].key, &a);
        assert_eq!(o.ack(&mut p), 0);
        assert_eq!(p.snapshot().pending_events.len(), n);
        o.finished(&d[0].key, &b);
        assert_eq!(o.ack(&mut p), 2);
        assert_eq!(p.peek_events().count(), n - 2);
    }

    #[test]
    fn a_restart_hands_out_again_only_to_the_webhooks_without_a_record() {
        let p = pool_with_alerts();
        let snapshot = p.snapshot_json();
        let (a, b) = (webhook_id("https://a.example/x"), webhook_id("https://b.example/y"));
        let key = p.peek_events().next().unwrap().idempotency_key();
        let mut restored = Pool::restore_json(&snapshot).unwrap();
        let mut o = Outbox::new();
        o.add_webhook(&a);
        o.add_webhook(&b);
        o.restore(&DeliveryRecord { idempotency_key: key.clone(), webhook: a.clone(), delivered: true });
        o.restore(&DeliveryRecord { idempotency_key: "gone:0:threshold:1".into(), webhook: a.clone(), delivered: true });
        let kept = o.compact(&restored);
        assert_eq!(kept.len(), 1, "records of acknowledged alerts go");
        let d = o.take(&restored);
        assert_eq!(d[0].key, key, "the same idempotency key");
        assert_eq!(d[0].webhooks, vec![b.clone()]);
        assert_eq!(d[1].webhooks, vec![a.clone(), b.clone()]);
        o.finished(&key, &b);
        assert_eq!(o.ack(&mut restored), 1);
    }

    #[test]
    fn deliveries_out_are_capped_and_the_rest_wait_in_the_pool() {
        let mut p = pool_with_alerts();
        let n = p.peek_events().count();
        let mut o = Outbox::new();
        for i in 0..MAX_QUEUED_DELIVERIES {
            o.add_webhook(&webhook_id(&format!("https://h{i}.example/")));
        }
        // Each alert owes MAX deliveries: one goes out, the others wait.
        let first = o.take(&p);
        assert_eq!(first.len(), 1);
        assert_eq!(o.in_flight(), MAX_QUEUED_DELIVERIES);
        assert!(o.take(&p).is_empty());
        for w in first[0].webhooks.clone() {
            o.finished(&first[0].key, &w);
        }
        assert_eq!(o.ack(&mut p), 1);
        assert_eq!(o.take(&p).len(), 1);
        assert_eq!(p.peek_events().count(), n - 1);
    }

    #[test]
    fn without_webhooks_an_alert_leaves_once_handed_out() {
        let mut p = pool_with_alerts();
        let mut o = Outbox::new();
        let n = o.take(&p).len();
        assert_eq!(o.ack(&mut p), n);
        assert_eq!(p.peek_events().count(), 0);
    }
}
