//! Property tests of the pool's clock (issue 10, item 3): clock spikes (a
//! wild or far-ahead `now_ms`), clocks stepping back, and legitimate long
//! jumps accepted with `advance_clock`, with reservations open throughout.
//!
//! Properties: a spike is refused with `clock_jump` and changes nothing
//! (no rollover, no expiry, the clock does not move); a settle is never lost
//! (every first settle of a reservation is `settled`, whatever its time);
//! settled never passes the limit plus the recorded overrun; the settles'
//! costs in the ledger add up to what was posted.

use creditpool_core::pool::{CycleSpec, LedgerKind, OpResult, Pool, PoolConfig, PoolError, PoolOp};
use creditpool_core::Money;
use proptest::prelude::*;
use std::collections::BTreeSet;

const LIMIT: u64 = 1_000;
const CYCLE_MS: u64 = 100_000;
const JUMP_MS: u64 = 50_000;

#[derive(Clone, Debug)]
enum Step {
    Reserve { amount: u64, dt: u64 },
    /// Settle the `pick`-th reservation granted so far at `pct` % of its
    /// amount, at a normal time or (`spike`) a wild one.
    Settle { pick: usize, pct: u64, dt: u64, spike: Option<u64> },
    Release { pick: usize, dt: u64 },
    Tick { dt: u64 },
    /// An operation at a time far beyond the allowance: refused.
    Spike { at: u64, kind: u8 },
    /// The clock steps back.
    Back { by: u64 },
    /// A legitimate long jump, accepted on purpose.
    Advance { by: u64 },
}

fn spike_time() -> impl Strategy<Value = u64> {
    prop_oneof![Just(1u64 << 62), Just(u64::MAX), Just(365 * 24 * 3_600 * 1_000), (JUMP_MS + 1)..(10 * CYCLE_MS)]
}

fn step() -> impl Strategy<Value = Step> {
    prop_oneof![
        4 => (0..=400u64, 0..3_000u64).prop_map(|(amount, dt)| Step::Reserve { amount, dt }),
        4 => (0..8usize, 0..=150u64, 0..3_000u64, prop::option::weighted(0.3, spike_time()))
            .prop_map(|(pick, pct, dt, spike)| Step::Settle { pick, pct, dt, spike }),
        1 => (0..8usize, 0..3_000u64).prop_map(|(pick, dt)| Step::Release { pick, dt }),
        1 => (0..40_000u64).prop_map(|dt| Step::Tick { dt }),
        3 => (spike_time(), 0..5u8).prop_map(|(at, kind)| Step::Spike { at, kind }),
        1 => (0..100_000u64).prop_map(|by| Step::Back { by }),
        1 => (0..(3 * CYCLE_MS)).prop_map(|by| Step::Advance { by }),
    ]
}

fn config() -> PoolConfig {
    let mut c = PoolConfig::new(Money::from_nanos(LIMIT));
    c.cycle = CycleSpec::Fixed { start_ms: 0, length_ms: CYCLE_MS };
    c.lease_ms = 20_000;
    c.late_settle_window_ms = u64::MAX / 4;
    c.max_clock_jump_ms = JUMP_MS;
    c
}

fn cfg() -> ProptestConfig {
    ProptestConfig { failure_persistence: None, rng_algorithm: prop::test_runner::RngAlgorithm::XorShift, ..ProptestConfig::with_cases(3_000) }
}

proptest! {
    #![proptest_config(cfg())]

    #[test]
    fn clock_spikes_lose_nothing(steps in prop::collection::vec(step(), 1..40)) {
        let mut pool = Pool::new(config(), 0).unwrap();
        let mut now = 0u64;
        let mut granted: Vec<(u64, u64)> = Vec::new();
        let mut closed: BTreeSet<u64> = BTreeSet::new();
        let mut posted: u64 = 0;
        let mut ledger_settled: u64 = 0;
        let mut ledger_counted: u64 = 0;
        for s in &steps {
            let before = pool.state().clone();
            let pick = |i: usize| granted.get(granted.len().saturating_sub(1 + i % 8)).copied();
            let (op, spike) = match *s {
                Step::Reserve { amount, dt } => {
                    now += dt;
                    (PoolOp::Reserve { agent: "a".into(), amount: Money::from_nanos(amount), now_ms: now, lease_ms: None }, false)
                }
                Step::Settle { pick: i, pct, dt, spike } => {
                    let Some((id, amount)) = pick(i) else { continue };
                    let at = match spike {
                        Some(t) => t.max(pool.state().last_now_ms().saturating_add(JUMP_MS + 1)),
                        None => {
                            now += dt;
                            now
                        }
                    };
                    (PoolOp::Settle { id, cost: Money::from_nanos(amount * pct / 100), now_ms: at, attribution: None }, false)
                }
                Step::Release { pick: i, dt } => {
                    let Some((id, _)) = pick(i) else { continue };
                    now += dt;
                    (PoolOp::Release { id, now_ms: now }, false)
                }
                Step::Tick { dt } => {
                    now += dt;
                    (PoolOp::Tick { now_ms: now }, false)
                }
                Step::Spike { at, kind } => {
                    let at = at.max(pool.state().last_now_ms().saturating_add(JUMP_MS + 1));
                    let id = granted.last().map_or(1, |g| g.0);
                    let op = match kind {
                        0 => PoolOp::Tick { now_ms: at },
                        1 => PoolOp::Reserve { agent: "a".into(), amount: Money::from_nanos(1), now_ms: at, lease_ms: None },
                        2 => PoolOp::Extend { id, lease_ms: 1_000, now_ms: at },
                        3 => PoolOp::SetLimit { limit: Money::from_nanos(5), now_ms: at },
                        _ => PoolOp::SetAgent { agent: "a".into(), policy: Default::default(), now_ms: at },
                    };
                    (op, true)
                }
                Step::Back { by } => {
                    now = now.saturating_sub(by);
                    (PoolOp::Tick { now_ms: now }, false)
                }
                Step::Advance { by } => {
                    now = now.max(pool.state().last_now_ms()) + by;
                    (PoolOp::AdvanceClock { now_ms: now }, false)
                }
            };
            // A normal step never lags the pool's clock by design of the test:
            // keep `now` within the allowance of what the pool saw.
            let r = pool.apply(&op);
            if spike {
                // A spike is refused and changes nothing (a settle is not a spike).
                let refused = matches!(&r, OpResult::Error(PoolError::ClockJump { .. }));
                prop_assert!(refused || matches!(op, PoolOp::Extend { .. }) && matches!(r, OpResult::Error(PoolError::UnknownReservation { .. })), "{:?} -> {:?}", op, r);
                prop_assert_eq!(pool.state(), &before);
            }
            match (&op, &r) {
                (_, OpResult::Reserved(res)) => granted.push((res.id, res.amount.nanos())),
                (PoolOp::Settle { id, cost, .. }, r) => {
                    if closed.insert(*id) {
                        // The first close of a reservation is always a settle:
                        // never `duplicate`, whatever the time said.
                        prop_assert!(matches!(r, OpResult::Settled(_)), "settle of {} answered {:?}", id, r);
                        posted += cost.nanos();
                    } else {
                        prop_assert!(matches!(r, OpResult::Duplicate { .. }), "{:?}", r);
                    }
                    // A settle at a spiked time does not move the clock either.
                    prop_assert!(pool.state().last_now_ms() <= before.last_now_ms().saturating_add(JUMP_MS));
                }
                (PoolOp::Release { id, .. }, r) => {
                    // A release after the lease expired answers `duplicate`
                    // (the expiry already returned the amount) and closes it.
                    prop_assert!(matches!(r, OpResult::Released(_) | OpResult::Duplicate { .. }), "{:?}", r);
                    closed.insert(*id);
                }
                _ => {}
            }
            while let Some(e) = pool.poll_ledger() {
                if e.kind == LedgerKind::Settle {
                    // A late settle after an expiry that counted its worst
                    // case adds only the excess; the cost it was given is
                    // `observed_cost`.
                    ledger_settled += e.observed_cost.unwrap_or(e.cost).nanos();
                }
                ledger_counted += e.cost.nanos();
            }
            while pool.poll_event().is_some() {}
            let st = pool.state();
            prop_assert!(st.settled().nanos() <= LIMIT + st.overrun().nanos(), "settled {} overrun {}", st.settled(), st.overrun());
            prop_assert!(st.committed().nanos() <= LIMIT + st.overrun().nanos());
            now = now.max(st.last_now_ms().saturating_sub(JUMP_MS / 2));
        }
        prop_assert_eq!(ledger_settled, posted);
        // Never less than was posted: expiries count their worst case.
        prop_assert!(ledger_counted >= posted, "counted {} < posted {}", ledger_counted, posted);
    }
}
