//! Property tests of the pool: random interleavings of several agents'
//! reserve, settle, release, expiry (time passing), limit changes and rollovers.
//!
//! Each property runs 10,000 cases of up to 23 operations.

use creditpool_core::pool::{
    AgentPolicy, AlertKind, BurnRateConfig, Cap, CycleSpec, FairShareConfig, LedgerEntry, LedgerKind, OpResult, Pool, PoolConfig, PoolOp,
};
use creditpool_core::Money;
use proptest::prelude::*;
use std::collections::{BTreeMap, HashMap};

const LIMIT: u64 = 1_000;
const CYCLE_MS: u64 = 10_000;
const AGENTS: [&str; 3] = ["a", "b", "c"];

/// An operation before it is bound to concrete reservation IDs and times.
#[derive(Clone, Debug)]
enum Step {
    Reserve { agent: usize, amount: u64, lease: Option<u64>, dt: u64 },
    /// Settle the `pick`-th open (or recently closed) reservation at `pct` % of
    /// its amount.
    Settle { pick: usize, pct: u64, dt: u64 },
    Release { pick: usize, dt: u64 },
    /// Settle or release a raw ID (often unknown or already closed).
    Raw { id: u64, settle: bool },
    Tick { dt: u64 },
    /// Set the limit to `limit`, or (raise only) raise it by `limit`.
    SetLimit { limit: u64, raise_only: bool },
    Rollover,
}

fn step(overrun_and_lowering: bool) -> impl Strategy<Value = Step> {
    let max_pct: u64 = if overrun_and_lowering { 160 } else { 100 };
    prop_oneof![
        4 => (0..AGENTS.len(), 0..=600u64, prop::option::weighted(0.2, 1..3_000u64), 0..300u64)
            .prop_map(|(agent, amount, lease, dt)| Step::Reserve { agent, amount, lease, dt }),
        3 => (0..8usize, 0..=max_pct, 0..300u64).prop_map(|(pick, pct, dt)| Step::Settle { pick, pct, dt }),
        1 => (0..8usize, 0..300u64).prop_map(|(pick, dt)| Step::Release { pick, dt }),
        1 => (0..30u64, any::<bool>()).prop_map(move |(id, settle)| Step::Raw { id, settle: settle && overrun_and_lowering }),
        1 => (0..2_500u64).prop_map(|dt| Step::Tick { dt }),
        1 => (0..=2_000u64).prop_map(move |limit| Step::SetLimit { limit, raise_only: !overrun_and_lowering }),
        1 => Just(Step::Rollover),
    ]
}

fn config() -> impl Strategy<Value = PoolConfig> {
    (any::<bool>(), any::<bool>(), prop::option::of(50..800u64), prop::option::of(100..2_000u64), prop::option::of(1..6u32), prop::option::of(0..100u32))
        .prop_map(|(on_committed, burn, cap, cpm, rpm, fair)| {
            let mut c = PoolConfig::new(Money::from_nanos(LIMIT));
            c.cycle = CycleSpec::Fixed { start_ms: 0, length_ms: CYCLE_MS };
            c.lease_ms = 1_000;
            c.late_settle_window_ms = 2_000;
            c.alerts.on_committed = on_committed;
            c.alerts.burn_rate = burn.then_some(BurnRateConfig { min_elapsed_ms: 500 });
            c.agents.insert("a".into(), AgentPolicy { cap: cap.map(|n| Cap::Absolute { amount: Money::from_nanos(n) }), ..AgentPolicy::default() });
            c.agents.insert(
                "b".into(),
                AgentPolicy { weight: 3, credits_per_minute: cpm.map(Money::from_nanos), requests_per_minute: rpm, ..AgentPolicy::default() },
            );
            c.default_agent.cap = Some(Cap::Share { basis_points: 6_000 });
            c.fair_share = fair.map(|p| FairShareConfig { when_committed_pct: p, active_window_ms: 1_500 });
            c
        })
}

/// Binds steps to operations as they run: picks refer to reservations granted so far.
struct Driver {
    pool: Pool,
    now: u64,
    granted: Vec<(u64, u64)>,
}

impl Driver {
    fn new(config: PoolConfig) -> Driver {
        Driver { pool: Pool::new(config, 0).unwrap(), now: 0, granted: Vec::new() }
    }

    fn op(&mut self, s: &Step) -> PoolOp {
        let pick = |granted: &[(u64, u64)], i: usize| granted.get(granted.len().saturating_sub(1 + i % 8)).copied().unwrap_or((1, 0));
        match *s {
            Step::Reserve { agent, amount, lease, dt } => {
                self.now += dt;
                PoolOp::Reserve { agent: AGENTS[agent].into(), amount: Money::from_nanos(amount), now_ms: self.now, lease_ms: lease }
            }
            Step::Settle { pick: i, pct, dt } => {
                self.now += dt;
                let (id, amount) = pick(&self.granted, i);
                PoolOp::Settle { id, cost: Money::from_nanos(amount * pct / 100), now_ms: self.now, attribution: None }
            }
            Step::Release { pick: i, dt } => {
                self.now += dt;
                PoolOp::Release { id: pick(&self.granted, i).0, now_ms: self.now }
            }
            Step::Raw { id, settle: true } => PoolOp::Settle { id, cost: Money::from_nanos(7), now_ms: self.now, attribution: None },
            Step::Raw { id, settle: false } => PoolOp::Release { id, now_ms: self.now },
            Step::Tick { dt } => {
                self.now += dt;
                PoolOp::Tick { now_ms: self.now }
            }
            Step::SetLimit { limit, raise_only } => {
                let base = if raise_only { self.pool.state().limit().nanos() } else { 0 };
                PoolOp::SetLimit { limit: Money::from_nanos(base + limit), now_ms: self.now }
            }
            Step::Rollover => {
                self.now = (self.now / CYCLE_MS + 1) * CYCLE_MS;
                PoolOp::Tick { now_ms: self.now }
            }
        }
    }

    fn run(&mut self, s: &Step) -> (PoolOp, OpResult) {
        let op = self.op(s);
        let r = self.pool.apply(&op);
        if let OpResult::Reserved(res) = &r {
            self.granted.push((res.id, res.amount.nanos()));
        }
        (op, r)
    }
}

/// Reserved equals the sum of the open reservations, overall and per agent.
fn check_consistency(p: &Pool) -> Result<(), TestCaseError> {
    let s = p.state();
    let open = s.open_reservations();
    let total: u64 = open.iter().map(|(_, o)| o.amount.nanos()).sum();
    prop_assert_eq!(total, s.reserved().nanos());
    let mut per_agent: HashMap<u32, u64> = HashMap::new();
    for (_, o) in &open {
        *per_agent.entry(o.agent).or_default() += o.amount.nanos();
    }
    for (i, a) in s.agents().iter().enumerate() {
        prop_assert_eq!(per_agent.get(&(i as u32)).copied().unwrap_or(0), a.reserved.nanos(), "agent {}", a.name);
    }
    let settled: u64 = s.agents().iter().map(|a| a.settled.nanos()).sum();
    prop_assert_eq!(settled, s.settled().nanos());
    Ok(())
}

fn overrun_of(r: &OpResult) -> u64 {
    match r {
        OpResult::Settled(s) => s.overrun.nanos(),
        _ => 0,
    }
}

fn cfg() -> ProptestConfig {
    // XorShift: the default ChaCha generator dominates the run time of an
    // unoptimized test build.
    ProptestConfig { failure_persistence: None, rng_algorithm: prop::test_runner::RngAlgorithm::XorShift, ..ProptestConfig::with_cases(10_000) }
}

proptest! {
    #![proptest_config(cfg())]

    /// Settled plus open reservations never exceed the limit, when settles stay
    /// within their reservations and the limit is never lowered.
    #[test]
    fn no_overshoot(mut config in config(), steps in prop::collection::vec(step(false), 1..24)) {
        // A settle after expiry is recorded as spend beyond any reservation;
        // without a late window it is a duplicate instead.
        config.late_settle_window_ms = 0;
        let mut d = Driver::new(config);
        for s in &steps {
            let (_, r) = d.run(s);
            let st = d.pool.state();
            prop_assert!(st.committed() <= st.limit(), "committed {} > limit {} after {:?} -> {:?}", st.committed(), st.limit(), s, r);
            prop_assert_eq!(st.overrun(), Money::ZERO);
            check_consistency(&d.pool)?;
        }
    }

    /// With overruns and a lowered limit, what is committed beyond the limit only
    /// grows by what settles overran; a granted reservation always fits.
    #[test]
    fn excess_only_from_overruns(config in config(), steps in prop::collection::vec(step(true), 1..24)) {
        let mut d = Driver::new(config);
        for s in &steps {
            let before = d.pool.state().committed();
            let (_, r) = d.run(s);
            let st = d.pool.state();
            let excess = st.committed().saturating_sub(st.limit()).nanos();
            let allowed = before.saturating_sub(st.limit()).nanos() + overrun_of(&r);
            prop_assert!(excess <= allowed, "excess {} > {} after {:?} -> {:?}", excess, allowed, s, r);
            if matches!(r, OpResult::Reserved(_)) {
                prop_assert!(st.committed() <= st.limit());
            }
            check_consistency(&d.pool)?;
        }
    }

    /// Each threshold fires at most once per cycle, in ascending order, only when
    /// reached, and always once reached.
    #[test]
    fn thresholds_once_per_cycle_in_order(config in config(), steps in prop::collection::vec(step(true), 1..24)) {
        let thresholds = config.alerts.thresholds_pct.clone();
        let mut d = Driver::new(config);
        let mut fired: BTreeMap<(u64, &str), Vec<u32>> = BTreeMap::new();
        for s in &steps {
            d.run(s);
            while let Some(a) = d.pool.poll_event() {
                // The current cycle's, or the one that just closed: a lease
                // that ended before the cycle did counts its worst case
                // there, and a threshold it crosses fires for that cycle.
                let now = d.pool.state().cycle();
                prop_assert!(a.cycle == now || a.cycle.end_ms <= now.start_ms, "{:?} in {:?}", a.cycle, now);
                let basis = match a.kind {
                    AlertKind::Threshold { percent } => { prop_assert!(u128::from(a.settled.nanos()) * 100 >= u128::from(percent) * u128::from(a.limit.nanos())); Some(("settled", percent)) }
                    AlertKind::CommittedThreshold { percent } => {
                        let c = u128::from(a.settled.nanos() + a.reserved.nanos());
                        prop_assert!(c * 100 >= u128::from(percent) * u128::from(a.limit.nanos()));
                        Some(("committed", percent))
                    }
                    AlertKind::ProjectedExhaustion { at_ms } => { prop_assert!(at_ms < a.cycle.end_ms); None }
                };
                let (key, pct) = basis.unwrap_or(("projection", 0));
                let list = fired.entry((a.cycle.start_ms, key)).or_default();
                if key == "projection" {
                    prop_assert!(list.is_empty(), "second projection in a cycle");
                } else {
                    prop_assert!(thresholds.contains(&pct));
                    prop_assert!(list.last().is_none_or(|l| *l < pct), "{} after {:?}", pct, list);
                }
                list.push(pct);
            }
            // Completeness: every threshold that settled spend reaches has fired.
            let st = d.pool.state();
            let reached = thresholds.iter().take_while(|p| !st.settled().is_zero() && u128::from(st.settled().nanos()) * 100 >= u128::from(**p) * u128::from(st.limit().nanos())).count();
            let n = fired.get(&(st.cycle().start_ms, "settled")).map_or(0, Vec::len);
            prop_assert!(n >= reached, "{} reached, {} fired", reached, n);
            prop_assert_eq!(n, st.fired().settled as usize);
        }
    }

    /// The ledger's costs add up to the settled spend, per cycle and overall;
    /// sequence numbers have no gaps; a reservation closes once (an expiry may be
    /// followed by one late settle).
    #[test]
    fn ledger_sums_to_settled(config in config(), steps in prop::collection::vec(step(true), 1..24)) {
        let mut d = Driver::new(config);
        let mut ledger: Vec<LedgerEntry> = Vec::new();
        for s in &steps {
            d.run(s);
            ledger.extend(std::iter::from_fn(|| d.pool.poll_ledger()));
            let st = d.pool.state();
            let this_cycle: u64 = ledger.iter().filter(|e| e.cycle_start_ms == st.cycle().start_ms).map(|e| e.cost.nanos()).sum();
            prop_assert_eq!(this_cycle, st.settled().nanos());
        }
        for (i, e) in ledger.iter().enumerate() {
            prop_assert_eq!(e.seq, i as u64 + 1);
            // A release counts nothing; an expiry counts its worst case.
            prop_assert_eq!(e.cost.is_zero() || e.kind != LedgerKind::Release, true);
            if e.kind == LedgerKind::Expire {
                prop_assert!(e.estimated && e.cost == e.reserved && e.refunded.is_zero(), "{:?}", e);
            }
        }
        let mut closes: HashMap<u64, Vec<(LedgerKind, bool)>> = HashMap::new();
        for e in &ledger {
            closes.entry(e.reservation_id).or_default().push((e.kind, e.late));
        }
        for (id, c) in &closes {
            let ok = matches!(c.as_slice(), [(_, false)] | [(LedgerKind::Expire, false), (LedgerKind::Settle, true)]);
            prop_assert!(ok, "reservation {} closed as {:?}", id, c);
        }
        let history: u64 = d.pool.report(d.now).history.iter().map(|h| h.settled.nanos()).sum();
        let total: u64 = ledger.iter().map(|e| e.cost.nanos()).sum();
        prop_assert_eq!(total, history + d.pool.state().settled().nanos());
    }

    /// A settle is never dropped and never counts less than its cost: the
    /// expiry of a reservation whose lease ended counted its amount (the
    /// worst case); a settle within the late window adds what its cost
    /// exceeds that amount by, as overrun, and keeps its cost as
    /// `observed_cost`; settled plus reserved never exceeds the limit plus
    /// the recorded overrun.
    #[test]
    fn settles_after_expiry_are_counted_as_overrun(config in config(), steps in prop::collection::vec(step(false), 1..24)) {
        let window = config.late_settle_window_ms;
        let mut d = Driver::new(config);
        let mut expired_at: HashMap<u64, u64> = HashMap::new();
        let mut estimate: HashMap<u64, Money> = HashMap::new();
        let mut closed: std::collections::HashSet<u64> = std::collections::HashSet::new();
        for s in &steps {
            let was_closed = closed.clone();
            let (op, r) = d.run(s);
            let mut cycle_changed = false;
            let cycle_start = d.pool.state().cycle().start_ms;
            let entries: Vec<LedgerEntry> = std::iter::from_fn(|| d.pool.poll_ledger()).collect();
            for e in entries {
                match e.kind {
                    LedgerKind::Expire => {
                        expired_at.insert(e.reservation_id, e.at_ms);
                        estimate.insert(e.reservation_id, e.cost);
                    }
                    _ => {
                        if e.late {
                            prop_assert_eq!(e.observed_cost.map(|c| c.saturating_sub(e.reserved)), Some(e.cost));
                        }
                        closed.insert(e.reservation_id);
                    }
                }
                cycle_changed |= e.cycle_start_ms != cycle_start;
            }
            if let PoolOp::Release { id, .. } = op {
                // A release after expiry closes the reservation too.
                closed.insert(id);
            }
            if let PoolOp::Settle { id, cost, now_ms, .. } = op {
                let late = expired_at.get(&id).is_some_and(|t| now_ms < t + window) && !was_closed.contains(&id);
                if late && !cycle_changed {
                    let est = estimate.get(&id).copied().unwrap_or(Money::ZERO);
                    let excess = cost.saturating_sub(est);
                    let counted = matches!(r, OpResult::Settled(st) if st.late && st.reserved == est && st.cost == excess && st.overrun == excess);
                    prop_assert!(counted, "a late settle of {} was not counted: {:?}", id, r);
                }
            }
            let st = d.pool.state();
            prop_assert!(st.committed() <= st.limit().saturating_add(st.overrun()), "committed {} > limit {} + overrun {}", st.committed(), st.limit(), st.overrun());
        }
    }

    /// Repeating a settle or a release answers `duplicate` and changes nothing.
    #[test]
    fn settle_and_release_are_idempotent(config in config(), steps in prop::collection::vec(step(true), 1..24)) {
        let mut d = Driver::new(config);
        for s in &steps {
            let (op, r) = d.run(s);
            let repeatable = matches!(op, PoolOp::Settle { .. } | PoolOp::Release { .. }) && !matches!(r, OpResult::Error(_));
            if repeatable {
                let _ = std::iter::from_fn(|| d.pool.poll_event()).count();
                let _ = std::iter::from_fn(|| d.pool.poll_ledger()).count();
                let state = d.pool.state().clone();
                let report = d.pool.report(d.now);
                let again = d.pool.apply(&op);
                prop_assert!(matches!(again, OpResult::Duplicate { .. }), "{:?} repeated gave {:?}", op, again);
                prop_assert_eq!(&state, d.pool.state());
                prop_assert_eq!(report, d.pool.report(d.now));
                prop_assert!(d.pool.poll_event().is_none());
                prop_assert!(d.pool.poll_ledger().is_none());
            }
        }
    }

    /// Snapshot, restore, then the same operations: the same results, alerts,
    /// ledger and final state as the original.
    #[test]
    fn restore_behaves_identically(config in config(), steps in prop::collection::vec(step(true), 1..24), cut in 0..24usize) {
        let mut d = Driver::new(config);
        let cut = cut.min(steps.len());
        for s in &steps[..cut] {
            d.run(s);
        }
        let json = d.pool.snapshot_json();
        let mut twin = Driver { pool: Pool::restore_json(&json).unwrap(), now: d.now, granted: d.granted.clone() };
        prop_assert_eq!(&twin.pool.snapshot_json(), &json);
        for s in &steps[cut..] {
            let (_, a) = d.run(s);
            let (_, b) = twin.run(s);
            prop_assert_eq!(a, b);
            prop_assert_eq!(std::iter::from_fn(|| d.pool.poll_event()).collect::<Vec<_>>(), std::iter::from_fn(|| twin.pool.poll_event()).collect::<Vec<_>>());
            prop_assert_eq!(std::iter::from_fn(|| d.pool.poll_ledger()).collect::<Vec<_>>(), std::iter::from_fn(|| twin.pool.poll_ledger()).collect::<Vec<_>>());
        }
        prop_assert_eq!(d.pool.snapshot_json(), twin.pool.snapshot_json());
    }
}
