//! Differential property test: random sequences of pool operations (reserve,
//! settle with and without attribution, release, extend, limit and policy
//! changes, ticks, clock jumps and steps back, reports) applied to the
//! core's in-memory pool and to a Redis pool side by side (given-clock
//! mode): every result, every alert and every ledger entry must be the same.

mod redis_common;

use creditpool::core::pool::{LedgerEntry, OpResult, Pool, PoolConfig, PoolOp};
use creditpool::redis::{RedisClock, RedisOptions, RedisPool};
use proptest::prelude::*;
use proptest::test_runner::{Config, TestCaseError, TestRunner};
use redis_common::{unique, RedisServer};
use serde_json::{json, Value};

fn policy() -> impl Strategy<Value = Value> {
    prop_oneof![
        Just(json!({})),
        (1u64..2_000).prop_map(|a| json!({"cap": {"kind": "absolute", "amount": a}})),
        (1u32..10_000).prop_map(|bp| json!({"cap": {"kind": "share", "basis_points": bp}})),
        (1u64..3_000, 1u32..4).prop_map(|(c, r)| json!({"credits_per_minute": c, "requests_per_minute": r})),
        (1u64..2_000).prop_map(|c| json!({"credits_per_minute": c, "weight": 2})),
    ]
}

fn config() -> impl Strategy<Value = Value> {
    (100u64..5_000, 200u64..5_000, 3_000u64..40_000, any::<bool>(), proptest::option::of(0u64..3_000), policy(), policy(), any::<bool>(), 0u64..8_000, any::<bool>())
        .prop_map(|(limit, lease, len, on_committed, burn, pa, pb, unknown, late, custom_thresholds)| {
            let mut alerts = json!({"on_committed": on_committed});
            if let Some(b) = burn {
                alerts["burn_rate"] = json!({"min_elapsed_ms": b});
            }
            if custom_thresholds {
                alerts["thresholds_pct"] = json!([10, 30, 60, 100, 150]);
            }
            json!({
                "limit": limit, "lease_ms": lease, "late_settle_window_ms": late,
                "cycle": {"kind": "fixed", "start_ms": 0, "length_ms": len},
                "alerts": alerts, "agents": {"a": pa, "b": pb}, "allow_unknown_agents": unknown,
                "max_clock_jump_ms": 50_000, "report_bucket_ms": 1_000
            })
        })
}

fn attribution() -> impl Strategy<Value = Option<Value>> {
    proptest::option::of((0u64..500, 0u64..500, 1u64..2_000, 0u64..800, 0u64..400, any::<bool>(), 0u64..100).prop_map(
        |(ic, oc, ib, tb, rb, est, tokens)| {
            json!({
                "model": if est { "m-2" } else { "m-1" }, "request_id": "req_1",
                "usage": {"input_tokens": tokens, "output_tokens": tokens / 2, "cache_read_input_tokens": 3},
                "input_cost": ic, "output_cost": oc, "input_bytes": ib, "output_bytes": 300, "estimated": est,
                "tools": [{"tool": "search", "part": "definition", "bytes": tb}, {"tool": "calc", "part": "result", "bytes": rb}, {"tool": "search", "part": "use", "bytes": 50}]
            })
        },
    ))
}

/// One operation, without its time (added in sequence).
fn op() -> impl Strategy<Value = Value> {
    let agent = prop_oneof![Just("a"), Just("b"), Just("c"), Just("d")];
    prop_oneof![
        8 => (agent.clone(), 0u64..1_500, proptest::option::of(1u64..6_000)).prop_map(|(a, amount, lease)| {
            let mut o = json!({"op": "reserve", "agent": a, "amount": amount});
            if let Some(l) = lease { o["lease_ms"] = json!(l); }
            o
        }),
        5 => (0u64..9, 0u64..1_500, attribution()).prop_map(|(id, cost, at)| {
            let mut o = json!({"op": "settle", "id": id, "cost": cost});
            if let Some(a) = at { o["attribution"] = a; }
            o
        }),
        2 => (0u64..9).prop_map(|id| json!({"op": "release", "id": id})),
        2 => (0u64..9, 1u64..8_000).prop_map(|(id, l)| json!({"op": "extend", "id": id, "lease_ms": l})),
        1 => (0u64..6_000).prop_map(|l| json!({"op": "set_limit", "limit": l})),
        1 => (agent, policy()).prop_map(|(a, p)| json!({"op": "set_agent", "agent": a, "policy": p})),
        2 => Just(json!({"op": "tick"})),
        2 => Just(json!({"op": "advance_clock"})),
        1 => Just(json!({"op": "report"})),
        1 => Just(json!({"op": "snapshot_restore"})),
    ]
}

/// Steps of time: mostly forward, sometimes back, rarely a jump beyond the
/// clock-jump allowance.
fn step() -> impl Strategy<Value = i64> {
    prop_oneof![60 => 0i64..2_500, 6 => -2_000i64..0, 1 => Just(60_000i64)]
}

fn ops() -> impl Strategy<Value = Vec<PoolOp>> {
    proptest::collection::vec((op(), step()), 1..60).prop_map(|v| {
        let mut now: i64 = 0;
        v.into_iter()
            .map(|(mut o, dt)| {
                now = (now + dt).max(0);
                if o["op"] != "snapshot_restore" {
                    o["now_ms"] = json!(now);
                }
                serde_json::from_value(o).expect("a valid op")
            })
            .collect()
    })
}

/// Scales a case to production magnitudes: amounts, costs, limits, caps and
/// rates times `k` (nano-USD in the billions: products of amounts, rates and
/// 60000 ms pass 2^53 and exercise the script's exact limb arithmetic), times
/// from today's Unix milliseconds, monthly cycles.
fn scale(v: &mut Value, k: u64, t0: u64) {
    match v {
        Value::Object(m) => {
            for (key, val) in m.iter_mut() {
                match (key.as_str(), val.as_u64()) {
                    ("limit" | "amount" | "cost" | "credits_per_minute" | "input_cost" | "output_cost", Some(n)) => {
                        // Times k, plus a pseudo-random part below k, so that values are not round.
                        let noise = if k > 1 { n.wrapping_mul(982_451_653) % k } else { 0 };
                        *val = json!(n.saturating_mul(k).saturating_add(noise).min(creditpool::core::redis::MAX_AMOUNT))
                    }
                    ("now_ms", Some(n)) => *val = json!(n + t0),
                    _ => scale(val, k, t0),
                }
            }
            if m.contains_key("cycle") {
                m.insert("cycle".into(), json!({"kind": "monthly", "anchor_day": 31}));
            }
        }
        Value::Array(a) => a.iter_mut().for_each(|x| scale(x, k, t0)),
        _ => {}
    }
}

#[test]
fn random_operations_give_the_same_results_in_memory_and_on_redis() {
    differential(1, 0);
}

#[test]
fn the_same_near_the_largest_exact_amounts() {
    // Amounts up to 2^53 - 1: share caps (limit x basis points), thresholds
    // (amount x 100) and GCRA costs pass 2^53 and need the exact arithmetic.
    differential(1_000_000_000_000, 1_795_996_800_000 - 40_000);
}

#[test]
fn the_same_at_production_magnitudes() {
    // 2026-11-30: a monthly cycle anchored on the 31st rolls over on the 30th.
    differential(1_000_000_000, 1_795_996_800_000 - 40_000);
}

fn differential(k: u64, t0: u64) {
    let server = RedisServer::start();
    let url = server.url();
    let rt = tokio::runtime::Builder::new_multi_thread().worker_threads(2).enable_all().build().unwrap();
    let seen = std::sync::Mutex::new(std::collections::BTreeMap::<String, u64>::new());
    let mut runner = TestRunner::new(Config { cases: 64, failure_persistence: None, ..Config::default() });
    let result = runner.run(&(config(), ops()), |(mut config, ops)| {
        let mut ops_json = serde_json::to_value(&ops).unwrap();
        if k != 1 || t0 != 0 {
            scale(&mut config, k, t0);
            scale(&mut ops_json, k, t0);
        }
        let ops: Vec<PoolOp> = serde_json::from_value(ops_json).expect("valid ops");
        let config: PoolConfig = serde_json::from_value(config).expect("a valid config");
        let mut mem = Pool::new(config.clone(), t0).expect("pool");
        rt.block_on(async {
            let options = RedisOptions { clock: RedisClock::Given, created_at_ms: t0, ..RedisOptions::default() };
            let redis = RedisPool::connect_with(&[url.as_str()], &unique("diff"), Some(config), options).await.map_err(|e| TestCaseError::fail(e.to_string()))?;
            let (mut mem_ledger, mut mem_alerts) = (Vec::<LedgerEntry>::new(), Vec::new());
            for (i, op) in ops.iter().enumerate() {
                let op = &recent(op, mem.state().next_reservation_id());
                let want = mem.apply(op);
                while let Some(e) = mem.poll_ledger() {
                    mem_ledger.push(e);
                }
                while let Some(a) = mem.poll_event() {
                    mem_alerts.push(a);
                }
                let got: OpResult = redis.apply_keyed(op, None).await.map_err(|e| TestCaseError::fail(format!("op {i}: {e}")))?;
                prop_assert_eq!(&got, &want, "op {} {:?}", i, op);
                *seen.lock().unwrap().entry(tag(&got)).or_insert(0) += 1;
            }
            let ledger: Vec<LedgerEntry> = redis.ledger("-", 100_000).await.map_err(|e| TestCaseError::fail(e.to_string()))?.into_iter().map(|(_, e)| e).collect();
            prop_assert_eq!(ledger, mem_ledger);
            let alerts: Vec<_> = redis.alerts_after("-", 100_000).await.map_err(|e| TestCaseError::fail(e.to_string()))?.into_iter().map(|(_, a)| a).collect();
            prop_assert_eq!(alerts, mem_alerts);
            Ok(())
        })
    });
    if let Err(e) = result {
        panic!("{e}");
    }
    // The cases reach every kind of answer (else the comparison proves little).
    let seen = seen.into_inner().unwrap();
    for t in ["reserved", "refused:pool_exhausted", "refused:agent_cap", "refused:rate_limited", "settled", "settled:late", "released", "duplicate", "extended", "closed", "ticked:rolled_over", "report", "error:clock_jump"] {
        assert!(seen.contains_key(t), "no {t} among {seen:?}");
    }
}

/// Points most settles, releases and extends at one of the three latest
/// reservations (IDs 1 to 7 as drawn), keeping 0 and 8 (never or not yet
/// made).
fn recent(op: &PoolOp, next_id: u64) -> PoolOp {
    let mut op = op.clone();
    let pick = |id: &mut u64| {
        if (1..8).contains(id) {
            *id = next_id.saturating_sub(1 + *id % 3).max(1);
        }
    };
    match &mut op {
        PoolOp::Settle { id, .. } | PoolOp::Release { id, .. } | PoolOp::Extend { id, .. } => pick(id),
        _ => {}
    }
    op
}

/// A result's kind, for the coverage check.
fn tag(r: &OpResult) -> String {
    let v = serde_json::to_value(r).unwrap();
    let kind = v["result"].as_str().unwrap_or("").to_owned();
    match r {
        OpResult::Refused(f) => format!("refused:{}", f.reason()),
        OpResult::Settled(s) if s.late => "settled:late".to_owned(),
        OpResult::Ticked { rolled_over: true, .. } => "ticked:rolled_over".to_owned(),
        OpResult::Error(e) => format!("error:{}", e.code()),
        _ => kind,
    }
}

/// Values where double-precision arithmetic gives the wrong answer (found by
/// search): a share cap of `limit x 7365 / 10000` whose exact floor is one
/// below the rounded one, and a 100 % threshold that `settled x 100 >= 100 x
/// limit` in doubles would fire one nano-USD early. The script must agree
/// with the in-memory pool's exact integers.
#[test]
fn exact_arithmetic_where_doubles_round_wrong() {
    let server = RedisServer::start();
    let rt = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
    let cases = [
        (
            json!({"limit": 8_966_079_744_306_057u64, "agents": {"a": {"cap": {"kind": "share", "basis_points": 7365}}}}),
            vec![json!({"op": "reserve", "agent": "a", "amount": 6_603_517_731_681_411u64, "now_ms": 1}), json!({"op": "reserve", "agent": "a", "amount": 6_603_517_731_681_410u64, "now_ms": 2}), json!({"op": "report", "now_ms": 3})],
            0,
        ),
        (
            json!({"limit": 8_975_615_448_233_251u64, "alerts": {"thresholds_pct": [100]}}),
            vec![json!({"op": "reserve", "agent": "a", "amount": 8_975_615_448_233_250u64, "now_ms": 1}), json!({"op": "settle", "id": 1, "cost": 8_975_615_448_233_250u64, "now_ms": 2}), json!({"op": "set_limit", "limit": 8_975_615_448_233_250u64, "now_ms": 3})],
            1,
        ),
    ];
    rt.block_on(async {
        for (config, ops, n_alerts) in cases {
            let config: PoolConfig = serde_json::from_value(config).unwrap();
            let mut mem = Pool::new(config.clone(), 0).unwrap();
            let options = RedisOptions { clock: RedisClock::Given, ..RedisOptions::default() };
            let redis = RedisPool::connect_with(&[server.url().as_str()], &unique("exact"), Some(config), options).await.unwrap();
            let mut mem_alerts = Vec::new();
            for op in ops {
                let op: PoolOp = serde_json::from_value(op).unwrap();
                let want = mem.apply(&op);
                while let Some(a) = mem.poll_event() {
                    mem_alerts.push(a);
                }
                assert_eq!(redis.apply_keyed(&op, None).await.unwrap(), want, "{op:?}");
            }
            let alerts: Vec<_> = redis.alerts_after("-", 10).await.unwrap().into_iter().map(|(_, a)| a).collect();
            assert_eq!(alerts, mem_alerts);
            assert_eq!(alerts.len(), n_alerts, "the 100 % threshold fires once, at the limit change");
        }
    });
}
