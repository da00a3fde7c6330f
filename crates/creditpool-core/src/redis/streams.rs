//! The pool's two streams: the ledger (one JSON entry per settle, release and
//! expiry, the same entry as the file ledger) and the alerts' outbox, read
//! through a consumer group so that each alert is delivered by one worker at
//! a time, at least once (with [`Alert::idempotency_key`] for the receiver),
//! and redelivered by another worker when the first dies before its `XACK`.
//!
//! The core builds the commands and reads their replies; a binding sends
//! them. Delivery loop for one worker:
//!
//! 1. once: [`RedisPoolOps::create_group`] (an existing group is fine: ignore
//!    a `BUSYGROUP` error);
//! 2. [`RedisPoolOps::claim_alerts`] (alerts whose worker died, idle longer
//!    than the given time), then [`RedisPoolOps::read_alerts`] (new ones);
//!    decode both with [`decode_alerts`];
//! 3. deliver each alert (callback, webhook), then [`RedisPoolOps::ack`] it.

use super::value::{bad, RedisValue};
use super::{RedisError, RedisPoolOps};
use crate::money::Money;
use crate::pool::{Alert, AlertKind, CycleBounds, LedgerEntry, Name};
use std::collections::HashMap;

/// The consumer group that delivers a pool's alerts, unless the caller names
/// another.
pub const ALERT_GROUP: &str = "creditpool-alerts";

/// How long an alert may stay taken but unacknowledged before another
/// consumer claims it (its worker is presumed dead): longer than a webhook
/// delivery with all its retries.
pub const ALERT_CLAIM_IDLE_MS: u64 = 5 * 60 * 1_000;

/// How many alerts a consumer takes at once.
pub const ALERT_BATCH: usize = 16;

fn cmd(parts: &[&str]) -> Vec<Vec<u8>> {
    parts.iter().map(|p| p.as_bytes().to_vec()).collect()
}

impl RedisPoolOps {
    /// `XRANGE <ledger> (<after> + COUNT <count>`: ledger entries after stream
    /// ID `after` (`"-"` for the first); decode with [`decode_ledger`].
    pub fn read_ledger(&self, after: &str, count: usize) -> Vec<Vec<u8>> {
        let start = if after == "-" { "-".to_owned() } else { format!("({after}") };
        cmd(&["XRANGE", self.keys().ledger(), &start, "+", "COUNT", &count.to_string()])
    }

    /// `XRANGE <outbox> (<after> + COUNT <count>`: alerts after stream ID
    /// `after`, without a consumer group (for inspection and tests).
    pub fn range_alerts(&self, after: &str, count: usize) -> Vec<Vec<u8>> {
        let start = if after == "-" { "-".to_owned() } else { format!("({after}") };
        cmd(&["XRANGE", self.keys().outbox(), &start, "+", "COUNT", &count.to_string()])
    }

    /// `XGROUP CREATE <outbox> <group> 0 MKSTREAM`.
    pub fn create_group(&self, group: &str) -> Vec<Vec<u8>> {
        cmd(&["XGROUP", "CREATE", self.keys().outbox(), group, "0", "MKSTREAM"])
    }

    /// `XREADGROUP GROUP <group> <consumer> COUNT <count> STREAMS <outbox> >`:
    /// alerts never delivered to the group.
    pub fn read_alerts(&self, group: &str, consumer: &str, count: usize) -> Vec<Vec<u8>> {
        cmd(&["XREADGROUP", "GROUP", group, consumer, "COUNT", &count.to_string(), "STREAMS", self.keys().outbox(), ">"])
    }

    /// `XAUTOCLAIM <outbox> <group> <consumer> <min_idle_ms> 0 COUNT <count>`:
    /// alerts another consumer took and has not acknowledged for
    /// `min_idle_ms` (its worker died), now this consumer's.
    pub fn claim_alerts(&self, group: &str, consumer: &str, min_idle_ms: u64, count: usize) -> Vec<Vec<u8>> {
        cmd(&["XAUTOCLAIM", self.keys().outbox(), group, consumer, &min_idle_ms.to_string(), "0", "COUNT", &count.to_string()])
    }

    /// `XTRIM <ledger> MINID <the ID after through>`: removes the ledger
    /// entries up to and including stream ID `through` (the ID of the last
    /// entry the caller has archived), so that the stream, which grows by one
    /// entry per settle, release and expiry, stays bounded. The entries are
    /// the pool's record: archive them first (the pool's totals do not
    /// depend on them). The reply is the number of entries removed. An ID
    /// that is not `<ms>-<seq>` is [`RedisError::InvalidStreamId`].
    pub fn trim_ledger(&self, through: &str) -> Result<Vec<Vec<u8>>, RedisError> {
        let bad = || RedisError::InvalidStreamId { id: through.chars().take(64).collect() };
        let (ms, seq) = through.split_once('-').ok_or_else(bad)?;
        let digits = |s: &str| !s.is_empty() && s.bytes().all(|b| b.is_ascii_digit());
        if !digits(ms) || !digits(seq) {
            return Err(bad());
        }
        let (ms, seq): (u64, u64) = (ms.parse().map_err(|_| bad())?, seq.parse().map_err(|_| bad())?);
        let next = match seq.checked_add(1) {
            Some(s) => format!("{ms}-{s}"),
            None => format!("{}-0", ms.checked_add(1).ok_or_else(bad)?),
        };
        Ok(cmd(&["XTRIM", self.keys().ledger(), "MINID", &next]))
    }

    /// `XACK <outbox> <group> <id>...`: these alerts are delivered.
    pub fn ack(&self, group: &str, ids: &[String]) -> Vec<Vec<u8>> {
        let mut v = cmd(&["XACK", self.keys().outbox(), group]);
        v.extend(ids.iter().map(|i| i.as_bytes().to_vec()));
        v
    }
}

/// The reply of [`RedisPoolOps::trim_ledger`]: how many entries went.
pub fn decode_trimmed(reply: &RedisValue) -> Result<u64, RedisError> {
    match reply {
        RedisValue::Int(n) if *n >= 0 => Ok(*n as u64),
        other => Err(bad(format!("XTRIM answered {other:?}, not a count"))),
    }
}

/// A stream entry: its ID and its fields.
type Entry = (String, HashMap<String, String>);

/// The entries of an `XRANGE` reply, an `XREADGROUP` reply (`[[stream,
/// entries]]`) or an `XAUTOCLAIM` reply (`[next, entries, deleted]`), as
/// (stream ID, fields).
fn entries(reply: &RedisValue) -> Result<Vec<Entry>, RedisError> {
    let items = reply.as_array()?;
    // XAUTOCLAIM: [next-id (string), entries (array), deleted (array)].
    if let Some(RedisValue::Bulk(_) | RedisValue::Status(_)) = items.first() {
        if let Some(list @ RedisValue::Array(_)) = items.get(1) {
            return entries(list);
        }
    }
    let mut out = Vec::new();
    for e in items {
        let pair = e.as_array()?;
        match pair {
            // An XREADGROUP stream: [name, entries] (entries are arrays; an
            // entry's fields are strings, and an entry has at least one).
            [RedisValue::Bulk(_), RedisValue::Array(list)] if list.first().is_none_or(|x| matches!(x, RedisValue::Array(_))) => {
                out.extend(entries(&RedisValue::Array(list.clone()))?);
            }
            [id, fields] => {
                let id = id.as_text()?;
                // A deleted entry comes back with nil fields: skip it.
                if matches!(fields, RedisValue::Nil) {
                    continue;
                }
                let f = super::value::pairs(fields)?.into_iter().collect();
                out.push((id, f));
            }
            _ => return Err(bad("a stream entry is not [id, fields]")),
        }
    }
    Ok(out)
}

/// Ledger entries (with their stream IDs) from an `XRANGE` reply.
pub fn decode_ledger(reply: &RedisValue) -> Result<Vec<(String, LedgerEntry)>, RedisError> {
    entries(reply)?
        .into_iter()
        .map(|(id, f)| {
            let json = f.get("entry").ok_or_else(|| bad("a ledger entry without its \"entry\" field"))?;
            let e: LedgerEntry = serde_json::from_str(json).map_err(|e| bad(format!("ledger entry {id}: {e}")))?;
            Ok((id, e))
        })
        .collect()
}

/// Alerts (with their stream IDs) from an `XRANGE`, `XREADGROUP` or
/// `XAUTOCLAIM` reply on the outbox.
pub fn decode_alerts(reply: &RedisValue) -> Result<Vec<(String, Alert)>, RedisError> {
    entries(reply)?.into_iter().map(|(id, f)| Ok((id.clone(), alert(&id, &f)?))).collect()
}

fn alert(id: &str, f: &HashMap<String, String>) -> Result<Alert, RedisError> {
    let n = |k: &str| -> Result<u64, RedisError> {
        f.get(k).ok_or_else(|| bad(format!("alert {id}: no field {k}")))?.parse().map_err(|_| bad(format!("alert {id}: field {k}")))
    };
    let kind = match f.get("alert").map(String::as_str) {
        Some("threshold") => AlertKind::Threshold { percent: u32::try_from(n("percent")?).unwrap_or(u32::MAX) },
        Some("committed_threshold") => AlertKind::CommittedThreshold { percent: u32::try_from(n("percent")?).unwrap_or(u32::MAX) },
        Some("projected_exhaustion") => AlertKind::ProjectedExhaustion { at_ms: n("at_ms")? },
        other => return Err(bad(format!("alert {id}: unknown kind {other:?}"))),
    };
    Ok(Alert {
        pool_id: Name::new(f.get("pool_id").map_or("", String::as_str)),
        kind,
        occurred_at_ms: n("occurred_at_ms")?,
        cycle: CycleBounds { start_ms: n("cycle_start_ms")?, end_ms: n("cycle_end_ms")? },
        limit: Money::from_nanos(n("limit")?),
        settled: Money::from_nanos(n("settled")?),
        reserved: Money::from_nanos(n("reserved")?),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn b(s: &str) -> RedisValue {
        RedisValue::bulk(s)
    }

    fn alert_fields() -> RedisValue {
        let f = [
            ("pool_id", "p"), ("alert", "threshold"), ("percent", "50"), ("occurred_at_ms", "5"), ("cycle_start_ms", "0"),
            ("cycle_end_ms", "10"), ("limit", "100"), ("settled", "50"), ("reserved", "0"),
        ];
        RedisValue::Array(f.iter().flat_map(|(k, v)| [b(k), b(v)]).collect())
    }

    #[test]
    fn every_reading_command_decodes() {
        let entry = RedisValue::Array(vec![b("1-0"), alert_fields()]);
        let xrange = RedisValue::Array(vec![entry.clone()]);
        let xreadgroup = RedisValue::Array(vec![RedisValue::Array(vec![b("cp:{p}:outbox"), RedisValue::Array(vec![entry.clone()])])]);
        let xautoclaim = RedisValue::Array(vec![b("0-0"), RedisValue::Array(vec![entry]), RedisValue::Array(vec![])]);
        for reply in [xrange, xreadgroup, xautoclaim] {
            let a = decode_alerts(&reply).unwrap();
            assert_eq!(a.len(), 1);
            assert_eq!(a[0].0, "1-0");
            assert_eq!(a[0].1.idempotency_key(), "p:0:threshold:50");
        }
        assert!(decode_alerts(&RedisValue::Nil).unwrap().is_empty());
        let empty_claim = RedisValue::Array(vec![b("0-0"), RedisValue::Array(vec![]), RedisValue::Array(vec![])]);
        assert!(decode_alerts(&empty_claim).unwrap().is_empty());
        let bad = RedisValue::Array(vec![RedisValue::Array(vec![b("1-0"), RedisValue::Array(vec![b("alert"), b("boom")])])]);
        assert!(decode_alerts(&bad).is_err());
        assert!(decode_ledger(&RedisValue::Array(vec![RedisValue::Array(vec![b("1-0"), RedisValue::Array(vec![b("entry"), b("{")])])])).is_err());
    }
}
