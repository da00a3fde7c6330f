//! Unit tests of the pool's rules. (The conformance vectors, property tests and
//! the stress test live in `tests/`.)

use super::*;
use crate::money::Money;

fn m(n: u64) -> Money {
    Money::from_nanos(n)
}

fn pool(limit: u64) -> Pool {
    let mut c = PoolConfig::new(m(limit));
    c.cycle = CycleSpec::Fixed { start_ms: 0, length_ms: 1_000_000 };
    c.lease_ms = 1_000;
    Pool::new(c, 0).unwrap()
}

fn settled(o: SettleOutcome) -> Settlement {
    match o {
        SettleOutcome::Settled(s) => s,
        SettleOutcome::Duplicate { id } => panic!("duplicate {id}"),
    }
}

fn drain_events(p: &mut Pool) -> Vec<AlertKind> {
    std::iter::from_fn(|| p.poll_event()).map(|a| a.kind).collect()
}

fn drain_ledger(p: &mut Pool) -> Vec<LedgerEntry> {
    std::iter::from_fn(|| p.poll_ledger()).collect()
}

#[test]
fn reserve_settle_release_keep_totals() {
    let mut p = pool(1_000);
    let a = p.reserve("a", m(600), 10).unwrap();
    assert_eq!(a, Reservation { id: 1, amount: m(600), expires_at_ms: 1_010 });
    assert_eq!(p.reserve("b", m(401), 11), Err(Refusal::PoolExhausted { requested: m(401), available: m(400) }));
    let b = p.reserve("b", m(400), 12).unwrap();
    assert_eq!(b.id, 2);
    assert_eq!(p.state().committed(), m(1_000));
    let s = settled(p.settle(1, m(250), None, 20).unwrap());
    assert_eq!((s.reserved, s.cost, s.refunded, s.overrun, s.late), (m(600), m(250), m(350), Money::ZERO, false));
    assert_eq!(p.state().settled(), m(250));
    assert_eq!(p.state().reserved(), m(400));
    assert_eq!(p.release(2, 21).unwrap(), ReleaseOutcome::Released(Released { id: 2, amount: m(400), ledger_seq: 2 }));
    assert_eq!(p.state().available(), m(750));
    let l = drain_ledger(&mut p);
    assert_eq!(l.iter().map(|e| (e.seq, e.kind, e.cost)).collect::<Vec<_>>(), vec![(1, LedgerKind::Settle, m(250)), (2, LedgerKind::Release, Money::ZERO)]);
    assert_eq!(l[0].agent, "a");
}

#[test]
fn settle_and_release_are_idempotent() {
    let mut p = pool(1_000);
    p.reserve("a", m(100), 0).unwrap();
    p.reserve("a", m(100), 0).unwrap();
    settled(p.settle(1, m(50), None, 1).unwrap());
    let before = p.snapshot_json();
    assert_eq!(p.settle(1, m(50), None, 1).unwrap(), SettleOutcome::Duplicate { id: 1 });
    assert_eq!(p.release(1, 1).unwrap(), ReleaseOutcome::Duplicate { id: 1 });
    p.release(2, 1).unwrap();
    assert_eq!(p.settle(2, m(10), None, 1).unwrap(), SettleOutcome::Duplicate { id: 2 });
    assert_eq!(p.settle(3, m(10), None, 1), Err(PoolError::UnknownReservation { id: 3 }));
    assert_eq!(p.release(0, 1), Err(PoolError::UnknownReservation { id: 0 }));
    let _ = drain_ledger(&mut p);
    // Only the release of 2 changed anything after the first snapshot.
    assert_eq!(p.state().settled(), m(50));
    assert_ne!(before, p.snapshot_json());
}

#[test]
fn overrun_is_recorded_and_flagged() {
    let mut p = pool(1_000);
    p.reserve("a", m(100), 0).unwrap();
    let s = settled(p.settle(1, m(130), None, 1).unwrap());
    assert_eq!((s.refunded, s.overrun), (Money::ZERO, m(30)));
    assert_eq!(p.state().overrun(), m(30));
    assert_eq!(drain_ledger(&mut p)[0].overrun, m(30));
}

#[test]
fn leases_expire_and_late_settles_still_count() {
    let mut p = pool(1_000);
    p.reserve("a", m(300), 0).unwrap();
    p.reserve_with_lease("b", m(200), 5_000, 0).unwrap();
    assert_eq!(p.next_deadline_ms(), 1_000);
    assert_eq!(p.tick(999).unwrap(), Tick { expired: vec![], rolled_over: false });
    assert_eq!(p.tick(1_000).unwrap(), Tick { expired: vec![1], rolled_over: false });
    assert_eq!(p.state().reserved(), m(200));
    assert_eq!(p.next_deadline_ms(), 5_000);
    // The expiry counts the worst case as spent, flagged estimated: the
    // request may have been billed.
    assert_eq!(p.state().settled(), m(300));
    let l = drain_ledger(&mut p);
    assert_eq!((l[0].kind, l[0].at_ms, l[0].cost, l[0].refunded, l[0].estimated), (LedgerKind::Expire, 1_000, m(300), Money::ZERO, true));
    // Late settle below the estimate: nothing more counted, the cost kept.
    let s = settled(p.settle(1, m(120), None, 1_500).unwrap());
    assert!(s.late);
    assert_eq!((s.reserved, s.cost, s.overrun), (m(300), Money::ZERO, Money::ZERO));
    assert_eq!(p.state().settled(), m(300));
    assert_eq!(drain_ledger(&mut p)[0].observed_cost, Some(m(120)));
    assert_eq!(p.settle(1, m(120), None, 1_500).unwrap(), SettleOutcome::Duplicate { id: 1 });
    // Lazy expiry on another call; after the late window, a settle is a duplicate.
    p.reserve("a", m(1), 5_000).unwrap();
    assert_eq!(p.state().open_count(), 1);
    let horizon = 5_000 + DEFAULT_LATE_SETTLE_WINDOW_MS;
    p.advance_clock(horizon);
    assert_eq!(p.settle(2, m(1), None, horizon).unwrap(), SettleOutcome::Duplicate { id: 2 });
}

/// A reservation that expired under the earlier rule (restored from a
/// snapshot without `counted`: its amount went back to the pool) still counts
/// its late settle in full, as an overrun.
#[test]
fn an_expiry_restored_from_an_old_snapshot_counts_its_late_settle_in_full() {
    let mut p = pool(1_000);
    p.reserve("a", m(300), 0).unwrap();
    p.tick(1_000).unwrap();
    let mut snap = serde_json::to_value(p.snapshot()).unwrap();
    // As written before the rule: no "counted", the amount not in settled,
    // the expire entry pending with cost 0.
    let e = &mut snap["state"]["expired"][0];
    assert_eq!(e["counted"], serde_json::json!(true));
    e.as_object_mut().unwrap().remove("counted");
    snap["state"]["settled"] = serde_json::json!(0);
    snap["state"]["agents"][0]["settled"] = serde_json::json!(0);
    for e in snap["pending_ledger"].as_array_mut().unwrap() {
        e["cost"] = serde_json::json!(0);
        e["refunded"] = serde_json::json!(300);
        e.as_object_mut().unwrap().remove("estimated");
    }
    let snap: crate::pool::PoolSnapshot = serde_json::from_value(snap).unwrap();
    let mut q = Pool::restore(snap).unwrap();
    assert_eq!(q.state().settled(), Money::ZERO);
    let s = settled(q.settle(1, m(120), None, 1_500).unwrap());
    assert_eq!((s.reserved, s.cost, s.overrun, s.late), (Money::ZERO, m(120), m(120), true));
    assert_eq!(q.state().settled(), m(120));
}

#[test]
fn time_never_goes_back() {
    let mut p = pool(1_000);
    p.reserve("a", m(1), 2_000).unwrap();
    let r = p.reserve("a", m(1), 500).unwrap();
    assert_eq!(r.expires_at_ms, 3_000);
    assert_eq!(p.state().last_now_ms(), 2_000);
}

#[test]
fn thresholds_fire_once_in_order_and_rearm_at_rollover() {
    let mut p = pool(1_000);
    p.reserve("a", m(1_000), 0).unwrap();
    p.settle(1, m(499), None, 1).unwrap();
    assert!(drain_events(&mut p).is_empty());
    p.reserve("a", m(400), 2).unwrap();
    p.settle(2, m(400), None, 3).unwrap();
    assert_eq!(drain_events(&mut p), vec![AlertKind::Threshold { percent: 50 }, AlertKind::Threshold { percent: 75 }]);
    p.set_limit(m(2_000), 4).unwrap();
    assert!(drain_events(&mut p).is_empty());
    p.set_limit(m(899), 5).unwrap();
    assert_eq!(drain_events(&mut p), vec![AlertKind::Threshold { percent: 90 }, AlertKind::Threshold { percent: 100 }]);
    p.set_limit(m(10), 6).unwrap();
    assert!(drain_events(&mut p).is_empty());
    // Lowered below spend: new reservations are refused, nothing is lost.
    assert!(matches!(p.reserve("a", m(1), 7), Err(Refusal::PoolExhausted { available, .. }) if available.is_zero()));
    assert_eq!(p.state().settled(), m(899));
    // A new cycle: spend resets, thresholds re-arm, history keeps the old one.
    p.set_limit(m(1_500), 8).unwrap();
    p.reserve("a", m(500), 999_999).unwrap();
    let t = p.tick(1_000_000).unwrap();
    assert!(t.rolled_over);
    assert_eq!(p.state().settled(), Money::ZERO);
    assert_eq!(p.state().reserved(), m(500));
    p.settle(3, m(800), None, 1_000_001).unwrap();
    assert_eq!(drain_events(&mut p), vec![AlertKind::Threshold { percent: 50 }]);
    let r = p.report(1_000_002);
    assert_eq!(r.history.len(), 1);
    assert_eq!((r.history[0].settled, r.history[0].start_ms, r.history[0].end_ms), (m(899), 0, 1_000_000));
    assert_eq!(r.cycle, CycleBounds { start_ms: 1_000_000, end_ms: 2_000_000 });
}

#[test]
fn committed_thresholds_and_projection() {
    let mut c = PoolConfig::new(m(1_000));
    c.cycle = CycleSpec::Fixed { start_ms: 0, length_ms: 10_000 };
    c.alerts.on_committed = true;
    c.alerts.burn_rate = Some(BurnRateConfig { min_elapsed_ms: 1_000 });
    let mut p = Pool::new(c, 0).unwrap();
    p.reserve("a", m(800), 100).unwrap();
    assert_eq!(drain_events(&mut p), vec![AlertKind::CommittedThreshold { percent: 50 }, AlertKind::CommittedThreshold { percent: 75 }]);
    p.settle(1, m(100), None, 500).unwrap();
    // Too early for a projection.
    assert!(drain_events(&mut p).is_empty());
    p.reserve("a", m(200), 2_000).unwrap();
    p.settle(2, m(200), None, 2_000).unwrap();
    // 300 in 2 s: 700 more take 4.67 s, before the end at 10 s.
    assert_eq!(drain_events(&mut p), vec![AlertKind::ProjectedExhaustion { at_ms: 6_666 }]);
    p.reserve("a", m(10), 3_000).unwrap();
    p.settle(3, m(10), None, 3_000).unwrap();
    assert!(drain_events(&mut p).is_empty());
}

#[test]
fn agent_caps() {
    let mut c = PoolConfig::new(m(1_000));
    c.agents.insert("abs".into(), AgentPolicy { cap: Some(Cap::Absolute { amount: m(100) }), ..AgentPolicy::default() });
    c.default_agent.cap = Some(Cap::Share { basis_points: 2_000 });
    c.allow_unknown_agents = Some(true);
    let mut p = Pool::new(c, 0).unwrap();
    p.reserve("abs", m(60), 0).unwrap();
    p.settle(1, m(30), None, 0).unwrap();
    p.reserve("abs", m(70), 0).unwrap();
    let r = p.reserve("abs", m(1), 0).unwrap_err();
    assert_eq!(r, Refusal::AgentCap { agent: Name::new("abs"), cap: m(100), spent: m(30), reserved: m(70), requested: m(1) });
    assert_eq!(r.reason(), "agent_cap");
    p.reserve("other", m(200), 0).unwrap();
    assert!(matches!(p.reserve("other", m(1), 0), Err(Refusal::AgentCap { cap, .. }) if cap == m(200)));
    p.set_limit(m(2_000), 0).unwrap();
    p.reserve("other", m(200), 0).unwrap();
}

#[test]
fn unknown_agents_can_be_refused() {
    let mut c = PoolConfig::new(m(1_000));
    c.allow_unknown_agents = Some(false);
    c.agents.insert("known".into(), AgentPolicy::default());
    let mut p = Pool::new(c, 0).unwrap();
    assert_eq!(p.reserve("stranger", m(1), 0), Err(Refusal::unknown_agent("stranger", ["known"])));
    p.reserve("known", m(1), 0).unwrap();
    p.set_agent_policy("stranger", AgentPolicy::default(), 0).unwrap();
    p.reserve("stranger", m(1), 0).unwrap();
    assert_eq!(p.state().agents().len(), 2);
}

#[test]
fn rate_limits_wait_and_refunds_return_credit() {
    let mut c = PoolConfig::new(m(1_000_000));
    c.default_agent.credits_per_minute = Some(m(600));
    c.agents.insert("rpm".into(), AgentPolicy { requests_per_minute: Some(2), ..AgentPolicy::default() });
    c.allow_unknown_agents = Some(true);
    let mut p = Pool::new(c, 0).unwrap();
    p.reserve("a", m(500), 0).unwrap();
    let r = p.reserve("a", m(200), 0).unwrap_err();
    // 600 per minute: 100 more fit after 10 s.
    assert_eq!(r, Refusal::RateLimited { agent: Name::new("a"), which: RateLimitKind::Credits, retry_at_ms: 10_000 });
    assert_eq!(r.retry_at_ms(), Some(10_000));
    // Settling at 150 returns 350 to the bucket.
    p.settle(1, m(150), None, 0).unwrap();
    p.reserve("a", m(200), 0).unwrap();
    p.reserve("rpm", m(1), 0).unwrap();
    p.reserve("rpm", m(1), 0).unwrap();
    let r = p.reserve("rpm", m(1), 1).unwrap_err();
    assert_eq!(r, Refusal::RateLimited { agent: Name::new("rpm"), which: RateLimitKind::Requests, retry_at_ms: 30_000 });
    p.reserve("rpm", m(1), 30_000).unwrap();
    assert_eq!(p.report(30_000).agents.iter().find(|a| a.agent == "rpm").map(|a| a.refusals), Some(1));
}

#[test]
fn fair_share_when_nearly_spent() {
    let mut c = PoolConfig::new(m(1_000));
    c.fair_share = Some(FairShareConfig { when_committed_pct: 50, active_window_ms: 60_000 });
    c.agents.insert("big".into(), AgentPolicy { weight: 3, ..AgentPolicy::default() });
    c.allow_unknown_agents = Some(true);
    let mut p = Pool::new(c, 0).unwrap();
    // Below 50 % committed: no shares.
    p.reserve("small", m(400), 0).unwrap();
    p.settle(1, m(400), None, 0).unwrap();
    // 600 remain; "small" (weight 1) and "big" (weight 3) are active.
    p.reserve("big", m(10), 0).unwrap();
    let r = p.reserve("small", m(151), 1).unwrap_err();
    assert_eq!(r, Refusal::FairShare { agent: Name::new("small"), share: m(150), held: Money::ZERO, requested: m(151), active_agents: 2 });
    p.reserve("small", m(150), 1).unwrap();
    p.release(3, 2).unwrap();
    // "small" still counts as active (it reserved within the window).
    assert!(matches!(p.reserve("big", m(441), 2), Err(Refusal::FairShare { share, held, .. }) if share == m(450) && held == m(10)));
    p.reserve("big", m(440), 2).unwrap();
    p.settle(4, m(0), None, 3).unwrap();
    // Once "small" is idle past the window and holds nothing, "big" may take the rest.
    assert!(matches!(p.reserve("big", m(591), 70_000), Err(Refusal::PoolExhausted { .. })));
    p.reserve("big", m(590), 70_000).unwrap();
}

#[test]
fn expiry_queue_stays_bounded() {
    let mut p = pool(u64::MAX);
    for i in 0..10_000u64 {
        let r = p.reserve("a", m(1), i).unwrap();
        p.settle(r.id, m(1), None, i).unwrap();
        let _ = p.poll_ledger();
    }
    assert!(p.expiry.len() <= 2 * p.state().open_count() + 64 + 1);
}

#[test]
fn attribution_reaches_ledger_and_report() {
    let mut p = pool(1_000_000);
    let input = AttributionInput {
        model: "claude-haiku-4-5".into(),
        request_id: Some("req_1".into()),
        input_cost: m(600),
        output_cost: m(400),
        input_bytes: 1_000,
        output_bytes: 100,
        tools: vec![
            ToolShare { tool: "search".into(), part: ToolPart::Definition, bytes: 100 },
            ToolShare { tool: "calc".into(), part: ToolPart::Definition, bytes: 300 },
            ToolShare { tool: "calc".into(), part: ToolPart::Use, bytes: 50 },
        ],
        ..AttributionInput::default()
    };
    p.reserve_with_lease("a", m(2_000), 4_000_000, 0).unwrap();
    p.settle(1, m(1_000), Some(&input), 3_600_000).unwrap();
    let e = p.poll_ledger().unwrap();
    assert_eq!(e.model.as_deref(), Some("claude-haiku-4-5"));
    assert_eq!(e.request_id.as_deref(), Some("req_1"));
    let split = e.attribution.unwrap();
    assert_eq!(split.conversation, m(360 + 200));
    assert_eq!(split.tools.iter().map(|t| t.cost).collect::<Vec<_>>(), vec![m(60), m(180), m(200)]);
    let r = p.report(3_600_001);
    assert_eq!(r.tools.iter().map(|t| (t.tool.as_str(), t.total)).collect::<Vec<_>>(), vec![("calc", m(380)), ("search", m(60))]);
    assert_eq!(r.definition_overhead[0].tool, "calc");
    assert_eq!(r.models[0].stats.cost, m(1_000));
    assert_eq!(r.top.agents[0].name, "a");
    assert_eq!(r.series, vec![report::Bucket { start_ms: 3_000_000, cost: m(1_000), requests: 1 }]);
}

#[test]
fn snapshot_restores_exactly() {
    let mut p = pool(10_000);
    p.reserve("a", m(3_000), 0).unwrap();
    p.reserve("b", m(3_000), 1).unwrap();
    p.settle(1, m(5_500), Some(&AttributionInput::new("m")), 2).unwrap();
    p.reserve("c", m(100), 3).unwrap();
    let json = p.snapshot_json();
    let mut q = Pool::restore_json(&json).unwrap();
    assert_eq!(q.snapshot_json(), json);
    for pool in [&mut p, &mut q] {
        pool.tick(1_001).unwrap();
    }
    assert_eq!(p.snapshot_json(), q.snapshot_json());
    assert_eq!(drain_ledger(&mut p), drain_ledger(&mut q));
    assert_eq!(drain_events(&mut p), drain_events(&mut q));
}

#[test]
fn restore_refuses_bad_snapshots() {
    let mut p = pool(10_000);
    p.reserve("a", m(3_000), 0).unwrap();
    let mut v: serde_json::Value = serde_json::from_str(&p.snapshot_json()).unwrap();
    v["version"] = 2.into();
    assert_eq!(Pool::restore_json(&v.to_string()).unwrap_err(), PoolError::UnsupportedSnapshotVersion { version: 2 });
    v["version"] = 1.into();
    v["state"]["reserved"] = 1.into();
    assert!(matches!(Pool::restore_json(&v.to_string()), Err(PoolError::InvalidSnapshot { .. })));
    v["state"]["reserved"] = 3_000.into();
    v["state"]["open"][0]["id"] = 7.into();
    assert!(matches!(Pool::restore_json(&v.to_string()), Err(PoolError::InvalidSnapshot { .. })));
    assert!(matches!(Pool::restore_json("[1]"), Err(PoolError::InvalidSnapshot { .. })));
}

#[test]
fn invalid_config_is_refused() {
    let mut c = PoolConfig::new(m(1));
    c.lease_ms = 0;
    assert!(matches!(Pool::new(c, 0), Err(PoolError::InvalidConfig { .. })));
    let mut p = pool(1);
    let bad = AgentPolicy { weight: 0, ..AgentPolicy::default() };
    assert!(matches!(p.set_agent_policy("a", bad, 0), Err(PoolError::InvalidConfig { .. })));
}

#[test]
fn agent_ids_skip_the_name_lookup() {
    let mut c = PoolConfig::new(m(1_000));
    c.allow_unknown_agents = Some(false);
    c.agents.insert("known".into(), AgentPolicy::default());
    let mut p = Pool::new(c, 0).unwrap();
    let id = p.agent_id("known").unwrap();
    assert_eq!(id.index(), 0);
    assert_eq!(p.agent_id("stranger"), Err(Refusal::unknown_agent("stranger", ["known"])));
    let r = p.reserve_for(id, m(10), 5).unwrap();
    assert_eq!(p.state().open_reservation(r.id).map(|o| o.agent), Some(0));
    let mut q = Pool::restore(p.snapshot()).unwrap();
    assert!(q.reserve_for(id, m(10), 6).is_ok());
    assert!(matches!(q.reserve_for(AgentId(7), m(1), 6), Err(Refusal::UnknownAgent { .. })));
}

#[test]
fn wake_up_bound_never_skips_an_expiry() {
    let mut p = pool(1_000);
    p.reserve_with_lease("a", m(100), 50, 0).unwrap();
    p.reserve("a", m(100), 0).unwrap();
    p.settle(2, m(1), None, 1).unwrap();
    // The earliest heap entry now belongs to a live reservation at 50.
    assert_eq!(p.tick(49).unwrap().expired, Vec::<u64>::new());
    assert_eq!(p.tick(50).unwrap().expired, vec![1]);
    p.reserve("a", m(100), 60).unwrap();
    assert_eq!(p.tick(1_060).unwrap().expired, vec![3]);
}

fn extended(o: ExtendOutcome) -> Reservation {
    match o {
        ExtendOutcome::Extended(r) => r,
        ExtendOutcome::Closed { id } => panic!("closed {id}"),
    }
}

#[test]
fn extend_keeps_a_reservation_alive_and_its_settle_on_time() {
    let mut p = pool(1_000);
    p.reserve("a", m(300), 0).unwrap();
    // Renewed at 900 for 1 000 ms: the lease now ends at 1 900, not 1 000.
    assert_eq!(extended(p.extend(1, 1_000, 900).unwrap()), Reservation { id: 1, amount: m(300), expires_at_ms: 1_900 });
    assert_eq!(p.state().open_reservation(1).map(|o| o.expires_at_ms), Some(1_900));
    assert_eq!(p.tick(1_000).unwrap().expired, Vec::<u64>::new());
    assert_eq!(p.state().reserved(), m(300));
    let s = settled(p.settle(1, m(250), None, 1_500).unwrap());
    assert_eq!((s.reserved, s.refunded, s.late), (m(300), m(50), false));
    assert_eq!(drain_ledger(&mut p).iter().map(|e| e.kind).collect::<Vec<_>>(), vec![LedgerKind::Settle]);
    // Closed now: an extend answers Closed and changes nothing.
    let before = p.snapshot_json();
    assert_eq!(p.extend(1, 1_000, 1_500).unwrap(), ExtendOutcome::Closed { id: 1 });
    assert_eq!(p.snapshot_json(), before);
}

#[test]
fn extend_never_shortens_a_lease() {
    let mut p = pool(1_000);
    p.reserve_with_lease("a", m(1), 5_000, 0).unwrap();
    assert_eq!(extended(p.extend(1, 100, 10).unwrap()).expires_at_ms, 5_000);
    // A zero lease counts as 1 ms.
    assert_eq!(extended(p.extend(1, 0, 5_000 - 1).unwrap()).expires_at_ms, 5_000);
    assert_eq!(extended(p.extend(1, 0, 5_000 - 1).unwrap()).expires_at_ms, 5_000);
    assert_eq!(p.expiry.len(), 1);
    assert_eq!(p.tick(5_000).unwrap().expired, vec![1]);
}

#[test]
fn extend_after_expiry_is_closed_and_the_settle_late() {
    let mut p = pool(1_000);
    p.reserve("a", m(300), 0).unwrap();
    // The lease ended at 1 000: it expires before the extend looks.
    assert_eq!(p.extend(1, 1_000, 1_000).unwrap(), ExtendOutcome::Closed { id: 1 });
    assert_eq!(p.state().reserved(), Money::ZERO);
    assert_eq!(drain_ledger(&mut p).iter().map(|e| (e.kind, e.at_ms)).collect::<Vec<_>>(), vec![(LedgerKind::Expire, 1_000)]);
    let s = settled(p.settle(1, m(420), None, 1_200).unwrap());
    assert!(s.late);
    // 300 counted at expiry; the 120 beyond it is added as an overrun.
    assert_eq!((s.reserved, s.cost, s.overrun), (m(300), m(120), m(120)));
    assert_eq!((p.state().settled(), p.state().overrun()), (m(420), m(120)));
    // Released reservations are closed too.
    p.reserve("a", m(1), 1_300).unwrap();
    p.release(2, 1_301).unwrap();
    assert_eq!(p.extend(2, 1_000, 1_302).unwrap(), ExtendOutcome::Closed { id: 2 });
}

#[test]
fn extend_of_an_unknown_reservation_errors() {
    let mut p = pool(1_000);
    assert_eq!(p.extend(1, 1_000, 0), Err(PoolError::UnknownReservation { id: 1 }));
    p.reserve("a", m(1), 0).unwrap();
    assert_eq!(p.extend(0, 1_000, 0), Err(PoolError::UnknownReservation { id: 0 }));
    assert_eq!(p.extend(2, 1_000, 0), Err(PoolError::UnknownReservation { id: 2 }));
    // Long after the late-settle window, a known ID is still Closed, not unknown.
    let later = 1_000 + DEFAULT_LATE_SETTLE_WINDOW_MS;
    p.advance_clock(later);
    assert_eq!(p.extend(1, 1_000, later).unwrap(), ExtendOutcome::Closed { id: 1 });
}

#[test]
fn an_extended_lease_expires_at_its_new_end() {
    let mut p = pool(1_000);
    p.reserve("a", m(100), 0).unwrap();
    p.reserve("a", m(200), 10).unwrap();
    extended(p.extend(1, 2_000, 500).unwrap());
    // The stale entry of 1 at 1 000 neither expires it nor sets the deadline.
    assert_eq!(p.next_deadline_ms(), 1_010);
    assert_eq!(p.tick(1_000).unwrap().expired, Vec::<u64>::new());
    assert_eq!(p.tick(1_010).unwrap().expired, vec![2]);
    assert_eq!(p.next_deadline_ms(), 2_500);
    assert_eq!(p.tick(2_499).unwrap().expired, Vec::<u64>::new());
    assert_eq!(p.tick(2_500).unwrap().expired, vec![1]);
    let l = drain_ledger(&mut p);
    assert_eq!(l.iter().map(|e| (e.kind, e.reservation_id, e.at_ms)).collect::<Vec<_>>(), vec![(LedgerKind::Expire, 2, 1_010), (LedgerKind::Expire, 1, 2_500)]);
    assert_eq!(p.state().reserved(), Money::ZERO);
}

#[test]
fn repeated_extends_keep_the_expiry_queue_bounded() {
    let mut p = pool(u64::MAX);
    p.reserve("a", m(1), 0).unwrap();
    for t in 0..10_000u64 {
        extended(p.extend(1, 1_000, t).unwrap());
    }
    assert!(p.expiry.len() <= 2 * p.state().open_count() + 64 + 1);
    assert_eq!(p.tick(9_999 + 999).unwrap().expired, Vec::<u64>::new());
    assert_eq!(p.tick(9_999 + 1_000).unwrap().expired, vec![1]);
}

#[test]
fn snapshot_keeps_extended_leases() {
    let mut p = pool(1_000);
    p.reserve("a", m(100), 0).unwrap();
    p.reserve("a", m(100), 0).unwrap();
    extended(p.extend(1, 5_000, 100).unwrap());
    let json = p.snapshot_json();
    let mut q = Pool::restore_json(&json).unwrap();
    assert_eq!(q.snapshot_json(), json);
    assert_eq!(q.state().open_reservation(1).map(|o| o.expires_at_ms), Some(5_100));
    for pool in [&mut p, &mut q] {
        assert_eq!(pool.tick(1_000).unwrap().expired, vec![2]);
        assert_eq!(pool.next_deadline_ms(), 5_100);
        assert_eq!(pool.tick(5_100).unwrap().expired, vec![1]);
    }
    assert_eq!(p.snapshot_json(), q.snapshot_json());
    assert_eq!(drain_ledger(&mut p), drain_ledger(&mut q));
}

#[test]
fn extend_through_apply() {
    let mut p = pool(1_000);
    let op = |v: serde_json::Value| serde_json::from_value::<PoolOp>(v).unwrap();
    let res = |r: OpResult| serde_json::to_value(r).unwrap();
    let ext = op(serde_json::json!({"op": "extend", "id": 1, "lease_ms": 2_000, "now_ms": 500}));
    assert_eq!(ext, PoolOp::Extend { id: 1, lease_ms: 2_000, now_ms: 500 });
    assert_eq!(serde_json::to_value(&ext).unwrap(), serde_json::json!({"op": "extend", "id": 1, "lease_ms": 2_000, "now_ms": 500}));
    assert!(serde_json::from_value::<PoolOp>(serde_json::json!({"op": "extend", "id": 1, "now_ms": 500})).is_err());
    assert_eq!(res(p.apply(&ext)), serde_json::json!({"result": "error", "error": "unknown_reservation", "id": 1}));
    p.apply(&op(serde_json::json!({"op": "reserve", "agent": "a", "amount": 300, "now_ms": 0})));
    assert_eq!(res(p.apply(&ext)), serde_json::json!({"result": "extended", "id": 1, "amount": 300, "expires_at_ms": 2_500}));
    p.apply(&op(serde_json::json!({"op": "release", "id": 1, "now_ms": 600})));
    assert_eq!(res(p.apply(&ext)), serde_json::json!({"result": "closed", "id": 1}));
}

/// A snapshot of a pool with some history, as JSON to corrupt.
fn snapshot_value() -> serde_json::Value {
    let mut p = pool(10_000);
    let a = p.reserve("a", m(100), 10).unwrap();
    let _ = p.reserve("b", m(200), 20).unwrap();
    let _ = p.settle(a.id, m(40), None, 30).unwrap();
    serde_json::from_str(&p.snapshot_json()).unwrap()
}

fn refused(v: &serde_json::Value) -> String {
    match Pool::restore_json(&v.to_string()) {
        Err(PoolError::InvalidSnapshot { reason }) => reason,
        other => panic!("restored: {other:?}"),
    }
}

#[test]
fn restore_refuses_a_corrupted_snapshot_field_by_field() {
    assert!(Pool::restore_json(&snapshot_value().to_string()).is_ok());
    type Corrupt = Box<dyn Fn(&mut serde_json::Value)>;
    let cases: Vec<(&str, Corrupt)> = vec![
        ("next_reservation_id", Box::new(|v| v["state"]["next_reservation_id"] = u64::MAX.into())),
        ("next_reservation_id", Box::new(|v| v["state"]["next_reservation_id"] = 0.into())),
        ("state.cycle", Box::new(|v| v["state"]["cycle"]["end_ms"] = 999_999.into())),
        ("last_now_ms", Box::new(|v| v["state"]["last_now_ms"] = 5_000_000.into())),
        ("state.settled", Box::new(|v| v["state"]["settled"] = 41.into())),
        ("impossible times", Box::new(|v| v["state"]["open"][0]["created_at_ms"] = 999.into())),
        ("pending_ledger", Box::new(|v| v["pending_ledger"][0]["seq"] = 7.into())),
        ("pending_ledger", Box::new(|v| v["state"]["next_ledger_seq"] = 9.into())),
        ("reserved after", Box::new(|v| v["state"]["agents"][0]["last_reserve_ms"] = 500.into())),
    ];
    for (needle, corrupt) in cases {
        let mut v = snapshot_value();
        corrupt(&mut v);
        let reason = refused(&v);
        assert!(reason.contains(needle), "{needle}: {reason}");
    }
}

#[test]
fn a_report_never_moves_time_whatever_now_it_is_given() {
    let mut p = pool(1_000);
    let r = p.reserve("a", m(300), 10).unwrap();
    let before = p.snapshot_json();
    let report = p.report(1 << 62);
    assert_eq!(report.reserved, m(300));
    assert_eq!(p.snapshot_json(), before, "a report changed the pool");
    // The in-flight settle still counts in this cycle.
    let s = settled(p.settle(r.id, m(250), None, 20).unwrap());
    assert!(!s.late);
    assert_eq!(p.state().settled(), m(250));
}

/// Issue 10, item 3: one far-future timestamp used to roll the pool into a
/// cycle millions of years ahead, return the budget, and turn the in-flight
/// settle into `Duplicate`. Now it is a typed error and changes nothing.
#[test]
fn far_future_time_is_a_clock_jump_not_a_rollover() {
    let mut p = Pool::new(PoolConfig::new(m(1_000)), 1_000).unwrap();
    let r = p.reserve("a", m(600), 2_000).unwrap();
    let before = p.state().clone();
    for t in [1u64 << 62, u64::MAX, 2_000 + 365 * 24 * 3_600 * 1_000, 2_000 + DEFAULT_MAX_CLOCK_JUMP_MS + 1] {
        let e = p.tick(t).unwrap_err();
        assert_eq!(e, PoolError::ClockJump { now_ms: t, last_now_ms: 2_000, max_clock_jump_ms: DEFAULT_MAX_CLOCK_JUMP_MS });
        assert!(e.to_string().contains("advance_clock"), "{e}");
        assert_eq!(p.set_limit(m(5), t), Err(e.clone()));
        assert_eq!(p.extend(r.id, 1_000, t), Err(e.clone()));
        assert_eq!(p.set_agent_policy("a", AgentPolicy::default(), t), Err(e.clone()));
        assert_eq!(p.apply(&PoolOp::Reserve { agent: "a".into(), amount: m(1), now_ms: t, lease_ms: None }), OpResult::Error(e));
        assert_eq!(p.state(), &before);
    }
    // A settle at a wild time is still recorded (at the latest time seen),
    // against the open reservation, and does not move the clock.
    let s = p.settle(r.id, m(500), None, 1 << 62).unwrap();
    assert!(matches!(s, SettleOutcome::Settled(Settlement { late: false, .. })), "{s:?}");
    assert_eq!(p.state().settled(), m(500));
    assert_eq!(p.state().last_now_ms(), 2_000);
    assert_eq!(p.poll_ledger().map(|e| e.at_ms), Some(2_000));
    // A long weekend of idle is within the allowance.
    let weekend = 2_000 + 4 * 24 * 3_600 * 1_000 + 12 * 3_600 * 1_000;
    assert!(p.tick(weekend).is_ok());
    assert_eq!(p.state().last_now_ms(), weekend);
}

/// A snapshot restored after a pause longer than the allowance says how to
/// resume; `advance_clock` accepts the jump on purpose (and rolls over).
#[test]
fn restore_after_long_idle_resumes_with_advance_clock() {
    let mut config = PoolConfig::new(m(1_000));
    config.max_clock_jump_ms = 10_000;
    config.cycle = CycleSpec::Fixed { start_ms: 0, length_ms: 100_000 };
    let mut p = Pool::new(config, 0).unwrap();
    p.reserve("a", m(300), 10).unwrap();
    p.settle(1, m(300), None, 20).unwrap();
    let mut q = Pool::restore(p.snapshot()).unwrap();
    let later = 250_000;
    let e = q.apply(&PoolOp::Reserve { agent: "a".into(), amount: m(1), now_ms: later, lease_ms: None });
    let OpResult::Error(e @ PoolError::ClockJump { .. }) = e else { panic!("{e:?}") };
    assert!(e.to_string().contains("advance_clock(250000)"), "{e}");
    assert_eq!(e.code(), "clock_jump");
    let t = q.advance_clock(later);
    assert!(t.rolled_over);
    assert_eq!(q.state().cycle().start_ms, 200_000);
    assert_eq!(q.state().settled(), Money::ZERO);
    assert!(q.reserve("a", m(900), later + 1).is_ok());
    // The allowance is configurable and validated.
    let mut bad = PoolConfig::new(m(1));
    bad.max_clock_jump_ms = 0;
    assert!(matches!(Pool::new(bad, 0), Err(PoolError::InvalidConfig { reason }) if reason.contains("max_clock_jump_ms")));
}

/// Issue 10 item 4: a host peeks entries, writes them, then acks; an entry
/// whose write failed stays in the pool and in its snapshot.
#[test]
fn peeked_ledger_entries_and_alerts_stay_until_acked() {
    let mut p = pool(1_000);
    let a = p.reserve("a", m(600), 1).unwrap();
    let b = p.reserve("a", m(100), 1).unwrap();
    settled(p.settle(a.id, m(600), None, 2).unwrap());
    settled(p.settle(b.id, m(50), None, 3).unwrap());
    let seqs: Vec<u64> = p.peek_ledger().map(|e| e.seq).collect();
    assert_eq!(seqs, vec![1, 2]);
    // The write failed: nothing acked, the snapshot still holds both.
    let snap = p.snapshot();
    assert_eq!(snap.pending_ledger.iter().map(|e| e.seq).collect::<Vec<_>>(), vec![1, 2]);
    // Only the first was written.
    assert_eq!(p.ack_ledger(1), 1);
    assert_eq!(p.peek_ledger().map(|e| e.seq).collect::<Vec<_>>(), vec![2]);
    assert_eq!(p.snapshot().pending_ledger.len(), 1);
    assert_eq!(p.ack_ledger(1), 0, "acking again removes nothing");
    assert_eq!(p.ack_ledger(u64::MAX), 1);
    assert_eq!(p.peek_ledger().len(), 0);
    // Alerts: the same, by count.
    let n = p.peek_events().len();
    assert!(n >= 1);
    assert_eq!(p.snapshot().pending_events.len(), n);
    assert_eq!(p.ack_events(1), 1);
    assert_eq!(p.peek_events().len(), n - 1);
    assert_eq!(p.ack_events(usize::MAX), n - 1);
    assert!(p.poll_event().is_none());
}

#[test]
fn a_pool_that_names_its_agents_refuses_a_misspelled_one() {
    let mut c = PoolConfig::new(m(1_000));
    c.agents.insert("researcher".into(), AgentPolicy { cap: Some(Cap::Absolute { amount: m(10) }), ..AgentPolicy::default() });
    c.agents.insert("writer".into(), AgentPolicy::default());
    let mut p = Pool::new(c.clone(), 0).unwrap();
    assert_eq!(p.config().allow_unknown_agents, Some(false));
    let r = p.reserve("reseacher", m(500), 0).unwrap_err();
    assert_eq!(
        r,
        Refusal::UnknownAgent { agent: Name::new("reseacher"), known: vec![Name::new("researcher"), Name::new("writer")], suggestion: Some(Name::new("researcher")) }
    );
    assert_eq!(
        r.to_string(),
        "unknown agent \"reseacher\": did you mean \"researcher\"? (the pool's agents: \"researcher\", \"writer\"; agents it does not name are refused unless unknown agents are allowed)"
    );
    assert!(p.state().agent("reseacher").is_none(), "a refused name leaves no trace");
    // The choice survives a snapshot, whatever the default later becomes.
    let mut q = Pool::restore(p.snapshot()).unwrap();
    assert!(matches!(q.reserve("reseacher", m(1), 1), Err(Refusal::UnknownAgent { .. })));

    // Allowing unknown agents is explicit, under their own policy and cap.
    let open = c.allow_unknown_agents_with(AgentPolicy { cap: Some(Cap::Absolute { amount: m(20) }), ..AgentPolicy::default() });
    let mut p = Pool::new(open, 0).unwrap();
    p.reserve("reseacher", m(20), 0).unwrap();
    assert!(matches!(p.reserve("reseacher", m(1), 0), Err(Refusal::AgentCap { .. })));

    // A pool that names no agent allows every agent, as before.
    let mut p = Pool::new(PoolConfig::new(m(1_000)), 0).unwrap();
    assert_eq!(p.config().allow_unknown_agents, Some(true));
    p.reserve("anyone", m(1), 0).unwrap();
}
