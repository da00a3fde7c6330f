//! `Pool::restore_json`: arbitrary JSON as a pool snapshot; a pool it accepts
//! must then survive a round of operations.
//!
//! Input: `json [0x00 ops...]`. The JSON part is the snapshot (decoded lossily
//! if it is not UTF-8). A NUL cannot occur in JSON text, so what follows the
//! first NUL, if any, drives the operations: each is one selector byte and its
//! parameters (see [`step`]). Without a NUL, a fixed round runs: reserve,
//! settle with an attribution, reserve and release, extend, tick past the
//! lease and past the cycle, report and chart, snapshot and restore.
//!
//! Checks, besides "never panics" (overflow checks are on in fuzz builds):
//! * a pool restore accepts writes a snapshot that restores again, to the very
//!   same bytes (checked after the restore and after the operations): no
//!   sequence of operations leads a pool where its own snapshot is refused;
//! * every alert's webhook body is JSON; every ledger entry's line reads back.
#![no_main]

use creditpool_core::activity::Activity;
use creditpool_core::activity::parse_ledger_jsonl;
use creditpool_core::pool::{AgentPolicy, AttributionInput, OpResult, Pool, PoolOp};
use creditpool_core::Money;
use creditpool_fuzz::{text, Input};
use libfuzzer_sys::fuzz_target;
use serde_json::json;

/// The pool's snapshot restores, and writes the same bytes again.
fn check_snapshot(pool: &Pool, when: &str) {
    let first = pool.snapshot_json();
    let again = match Pool::restore_json(&first) {
        Ok(p) => p,
        Err(e) => panic!("{when}: the pool's own snapshot is refused: {e}\n{first}"),
    };
    let second = again.snapshot_json();
    assert_eq!(first, second, "{when}: a snapshot does not restore to the same bytes");
}

/// Polls alerts and ledger entries, checking what they write.
fn poll(pool: &mut Pool) {
    while let Some(alert) = pool.poll_event() {
        let body = alert.webhook_body();
        if let Err(e) = serde_json::from_slice::<serde_json::Value>(&body) {
            panic!("a webhook body is not JSON: {e}\n{}", String::from_utf8_lossy(&body));
        }
    }
    while let Some(entry) = pool.poll_ledger() {
        let back = parse_ledger_jsonl(&entry.to_json_line()).expect("a ledger line reads back");
        assert_eq!(back, vec![entry]);
    }
}

/// Operation parameters drawn from the fuzz input, near the pool's own values
/// most of the time.
struct Draw<'a> {
    input: Input<'a>,
    ids: Vec<u64>,
}

impl Draw<'_> {
    fn time(&mut self, pool: &Pool) -> u64 {
        let now = pool.state().last_now_ms();
        match self.input.u8() % 6 {
            0 => now,
            1 => now.saturating_add(u64::from(self.input.u8())),
            2 => now.saturating_add(u64::from(self.input.u32())),
            3 => now.saturating_sub(u64::from(self.input.u16())),
            4 => pool.state().cycle().end_ms.saturating_add(u64::from(self.input.u8())).saturating_sub(128),
            _ => self.input.u64(),
        }
    }

    fn money(&mut self, pool: &Pool) -> Money {
        let n = match self.input.u8() % 5 {
            0 => u64::from(self.input.u16()),
            1 => pool.state().available().nanos().saturating_add(u64::from(self.input.u8())).saturating_sub(128),
            2 => pool.state().limit().nanos() / u64::from(self.input.u8()).max(1),
            3 => u64::from(self.input.u32()),
            _ => self.input.u64(),
        };
        Money::from_nanos(n)
    }

    fn agent(&mut self, pool: &Pool) -> String {
        let agents = pool.state().agents();
        let i = usize::from(self.input.u8());
        match agents.get(i) {
            Some(a) => a.name.as_str().to_owned(),
            None => ["fuzz", "", "a", "b"][i % 4].to_owned(),
        }
    }

    fn id(&mut self, pool: &Pool) -> u64 {
        let b = self.input.u8();
        match self.ids.get(usize::from(b)) {
            Some(id) => *id,
            None => match b % 3 {
                0 => pool.state().next_reservation_id().saturating_sub(1),
                1 => u64::from(self.input.u8()),
                _ => self.input.u64(),
            },
        }
    }

    fn lease(&mut self) -> u64 {
        match self.input.u8() % 3 {
            0 => u64::from(self.input.u16()),
            1 => u64::from(self.input.u32()),
            _ => self.input.u64(),
        }
    }

    fn attribution(&mut self) -> Option<Box<AttributionInput>> {
        let b = self.input.u8();
        if b & 1 == 0 {
            return None;
        }
        let model = ["m", "claude-haiku-4-5", ""][usize::from(b / 2) % 3];
        let v = json!({
            "model": model,
            "input_cost": self.input.u32(),
            "output_cost": if b & 0x80 != 0 { self.input.u64() } else { u64::from(self.input.u16()) },
            "input_bytes": self.input.u16(),
            "output_bytes": self.input.u16(),
            "usage": {"input_tokens": self.input.u16(), "output_tokens": self.input.u16()},
            "tools": [
                {"tool": "t", "part": "definition", "bytes": self.input.u16()},
                {"tool": "t", "part": "use", "bytes": self.input.u8()},
                {"tool": "u", "part": "result", "bytes": if b & 0x40 != 0 { self.input.u64() } else { 7 }},
            ],
        });
        serde_json::from_value(v).ok().map(Box::new)
    }

    fn policy(&mut self) -> Option<AgentPolicy> {
        let b = self.input.u8();
        let mut v = json!({"weight": self.input.u8()});
        if b & 1 != 0 {
            v["cap"] = json!({"kind": "absolute", "amount": self.input.u32()});
        } else if b & 2 != 0 {
            v["cap"] = json!({"kind": "share", "basis_points": self.input.u16()});
        }
        if b & 4 != 0 {
            v["credits_per_minute"] = json!(self.input.u32());
        }
        if b & 8 != 0 {
            v["requests_per_minute"] = json!(self.input.u8());
        }
        serde_json::from_value(v).ok()
    }
}

/// One operation chosen by the next input byte.
fn step(pool: &mut Pool, d: &mut Draw<'_>) {
    let op = match d.input.u8() % 10 {
        0 | 1 => {
            let agent = d.agent(pool);
            let amount = d.money(pool);
            let now_ms = d.time(pool);
            let lease_ms = (d.input.u8() & 1 == 0).then(|| d.lease());
            PoolOp::Reserve { agent, amount, now_ms, lease_ms }
        }
        2 => {
            let id = d.id(pool);
            let cost = d.money(pool);
            let now_ms = d.time(pool);
            PoolOp::Settle { id, cost, now_ms, attribution: d.attribution() }
        }
        3 => PoolOp::Release { id: d.id(pool), now_ms: d.time(pool) },
        4 => PoolOp::Extend { id: d.id(pool), lease_ms: d.lease(), now_ms: d.time(pool) },
        5 => PoolOp::SetLimit { limit: d.money(pool), now_ms: d.time(pool) },
        6 => {
            let agent = d.agent(pool);
            match d.policy() {
                Some(policy) => PoolOp::SetAgent { agent, policy, now_ms: d.time(pool) },
                None => PoolOp::Tick { now_ms: d.time(pool) },
            }
        }
        7 => PoolOp::Tick { now_ms: d.time(pool) },
        8 => PoolOp::Report { now_ms: d.time(pool) },
        _ => PoolOp::SnapshotRestore,
    };
    apply(pool, &op, &mut d.ids);
}

fn apply(pool: &mut Pool, op: &PoolOp, ids: &mut Vec<u64>) {
    let result = pool.apply(op);
    match &result {
        OpResult::Reserved(r) => ids.push(r.id),
        OpResult::Report(report) => {
            let _ = serde_json::to_string(report).expect("a report serializes");
            if let PoolOp::Report { now_ms } = op {
                let _ = Activity::from_pool(pool, *now_ms).chart();
            }
        }
        _ => {}
    }
    let _ = serde_json::to_string(&result).expect("an operation's result serializes");
    poll(pool);
}

/// The fixed round, for inputs without operations.
fn fixed_round(pool: &mut Pool) {
    let mut ids = Vec::new();
    let st = pool.state();
    let now = st.last_now_ms();
    let agent = st.agents().first().map_or_else(|| "fuzz".to_owned(), |a| a.name.as_str().to_owned());
    let amount = Money::from_nanos((st.available().nanos() / 4).max(1));
    let end = st.cycle().end_ms;
    let lease = pool.config().lease_ms;
    let attribution = serde_json::from_value::<AttributionInput>(json!({
        "model": "m", "input_cost": 2000, "output_cost": 1500, "input_bytes": 1000, "output_bytes": 100,
        "tools": [{"tool": "t", "part": "definition", "bytes": 100}, {"tool": "t", "part": "use", "bytes": 10}],
    }))
    .ok()
    .map(Box::new);
    apply(pool, &PoolOp::Reserve { agent: agent.clone(), amount, now_ms: now, lease_ms: None }, &mut ids);
    let first = ids.first().copied().unwrap_or(1);
    apply(pool, &PoolOp::Settle { id: first, cost: Money::from_nanos(amount.nanos().saturating_add(1)), now_ms: now.saturating_add(1), attribution }, &mut ids);
    apply(pool, &PoolOp::Reserve { agent: agent.clone(), amount, now_ms: now.saturating_add(2), lease_ms: Some(10) }, &mut ids);
    let second = ids.get(1).copied().unwrap_or(2);
    apply(pool, &PoolOp::Extend { id: second, lease_ms: 20, now_ms: now.saturating_add(3) }, &mut ids);
    apply(pool, &PoolOp::Release { id: second, now_ms: now.saturating_add(4) }, &mut ids);
    apply(pool, &PoolOp::Reserve { agent, amount, now_ms: now.saturating_add(5), lease_ms: None }, &mut ids);
    apply(pool, &PoolOp::Tick { now_ms: now.saturating_add(lease).saturating_add(6) }, &mut ids);
    apply(pool, &PoolOp::Report { now_ms: now.saturating_add(lease).saturating_add(7) }, &mut ids);
    apply(pool, &PoolOp::Tick { now_ms: end.saturating_add(1) }, &mut ids);
    apply(pool, &PoolOp::Report { now_ms: end.saturating_add(2) }, &mut ids);
    apply(pool, &PoolOp::SnapshotRestore, &mut ids);
}

fuzz_target!(|data: &[u8]| {
    let (json_part, ops) = match data.iter().position(|b| *b == 0) {
        Some(i) => (&data[..i], Some(&data[i + 1..])),
        None => (data, None),
    };
    let mut pool = match Pool::restore_json(&text(json_part)) {
        Ok(p) => p,
        Err(e) => {
            let _ = e.to_string();
            return;
        }
    };
    check_snapshot(&pool, "after restore");
    poll(&mut pool);
    match ops {
        None => fixed_round(&mut pool),
        Some(ops) => {
            let mut d = Draw { input: Input::new(ops), ids: Vec::new() };
            for _ in 0..64 {
                if d.input.is_empty() {
                    break;
                }
                step(&mut pool, &mut d);
            }
        }
    }
    check_snapshot(&pool, "after the operations");
});
