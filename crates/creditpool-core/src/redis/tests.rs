use super::*;
use crate::money::Money;
use crate::pool::{AgentPolicy, Cap, PoolError, Refusal};

fn bulk(s: &str) -> RedisValue {
    RedisValue::bulk(s)
}

#[test]
fn policies_round_trip_through_their_script_form() {
    let ps = [
        AgentPolicy::default(),
        AgentPolicy { cap: Some(Cap::Absolute { amount: Money::from_nanos(100) }), weight: 3, credits_per_minute: Some(Money::from_nanos(6000)), requests_per_minute: Some(5) },
        AgentPolicy { cap: Some(Cap::Share { basis_points: 2500 }), ..AgentPolicy::default() },
    ];
    for p in ps {
        let s = command::policy_string("x", &p).unwrap();
        assert_eq!(command::parse_policy(&s), Some(p));
    }
    let big = AgentPolicy { credits_per_minute: Some(Money::from_nanos(MAX_AMOUNT + 1)), ..AgentPolicy::default() };
    assert!(matches!(command::policy_string("agents.a", &big), Err(RedisError::OutOfRange { .. })));
}

#[test]
fn config_checks() {
    let mut c = PoolConfig::new(Money::from_nanos(1000));
    assert!(check_config(&c).is_ok());
    c.fair_share = Some(Default::default());
    assert_eq!(check_config(&c), Err(RedisError::FairShareUnsupported));
    assert_eq!(RedisError::FairShareUnsupported.code(), "fair_share_unsupported_on_redis");
    let c = PoolConfig::new(Money::from_nanos(MAX_AMOUNT + 1));
    assert!(matches!(check_config(&c), Err(RedisError::OutOfRange { .. })));
}

#[test]
fn commands_name_the_script_and_every_key() {
    let ops = RedisPoolOps::new("team", Clock::Given).unwrap();
    let op = PoolOp::Reserve { agent: "a".into(), amount: Money::from_nanos(5), now_ms: 7, lease_ms: None };
    let Built::Call(call) = ops.build(&op, Some("c1:1")).unwrap() else { panic!() };
    let cmd = call.command(ScriptMode::Function);
    assert_eq!(cmd[0], b"FCALL");
    assert_eq!(cmd[1], FUNCTION.as_bytes());
    assert_eq!(cmd[2], b"15");
    assert_eq!(cmd[3], b"cp:{team}:cfg");
    let args: Vec<String> = call.args().iter().map(|a| String::from_utf8(a.clone()).unwrap()).collect();
    assert_eq!(args, ["reserve", "7", "a", "\"a\"", "5", "", "c1:1"]);
    let e = call.command(ScriptMode::Eval);
    assert_eq!(e[0], b"EVALSHA");
    assert_eq!(e[1], eval_sha().as_bytes());
    // The server clock sends no time.
    let server = RedisPoolOps::new("team", Clock::Server).unwrap();
    let Built::Call(call) = server.build(&op, None).unwrap() else { panic!() };
    assert_eq!(call.args()[1], b"");
    assert_eq!(ops.build(&PoolOp::SnapshotRestore, None).unwrap(), Built::Done(OpResult::Restored));
    let big = PoolOp::Reserve { agent: "a".into(), amount: Money::from_nanos(MAX_AMOUNT + 1), now_ms: 7, lease_ms: None };
    assert!(matches!(ops.build(&big, None), Err(RedisError::OutOfRange { .. })));
}

#[test]
fn replies_decode_to_the_pools_results() {
    let ops = RedisPoolOps::new("team", Clock::Given).unwrap();
    let r = ops.decode(&RedisValue::Array(vec![bulk("refused"), bulk("rate_limited"), bulk("a"), bulk("requests"), RedisValue::Int(99)])).unwrap();
    assert_eq!(
        r,
        OpResult::Refused(Refusal::RateLimited { agent: crate::pool::Name::new("a"), which: crate::pool::RateLimitKind::Requests, retry_at_ms: 99 })
    );
    let r = ops.decode(&RedisValue::Array(vec![bulk("error"), bulk("unknown_reservation"), RedisValue::Int(9)])).unwrap();
    assert_eq!(r, OpResult::Error(PoolError::UnknownReservation { id: 9 }));
    let r = ops.decode(&RedisValue::Array(vec![bulk("ticked"), RedisValue::Int(1), RedisValue::Int(3), RedisValue::Int(4)])).unwrap();
    assert_eq!(r, OpResult::Ticked { expired: vec![3, 4], rolled_over: true });
    assert!(matches!(ops.decode(&RedisValue::Array(vec![bulk("error"), bulk("pool_missing")])), Err(RedisError::PoolMissing)));
    assert!(matches!(ops.decode(&RedisValue::Error("ERR x".into())), Err(RedisError::Reply { .. })));
    assert!(matches!(ops.decode(&RedisValue::Array(vec![bulk("reserved")])), Err(RedisError::Reply { .. })));
    assert!(matches!(ops.decode(&RedisValue::Int(3)), Err(RedisError::Reply { .. })));
}

#[test]
fn a_conflicting_configuration_is_a_typed_error() {
    let ops = RedisPoolOps::new("team", Clock::Given).unwrap();
    let given = PoolConfig::new(Money::from_nanos(1000));
    let stored = serde_json::to_string(&PoolConfig::new(Money::from_nanos(2000))).unwrap();
    let e = ops.decode_join(&RedisValue::Array(vec![bulk("conflict"), bulk(&stored)]), Some(&given)).unwrap_err();
    assert_eq!(e.code(), "redis_config_conflict");
    let ok = ops.decode_join(&RedisValue::Array(vec![bulk("joined"), bulk(&stored)]), None).unwrap();
    assert_eq!(ok.limit, Money::from_nanos(2000));
}

#[test]
fn thread_operations_declare_their_entry_and_the_index() {
    let ops = RedisPoolOps::new("fleet", Clock::Server).unwrap();
    let op = PoolOp::ThreadRecord { message_id: "msg_1".into(), input_tokens: 12, cache_write: true, cache_write_1h: false, may_overshoot: true, tools: None, now_ms: 5 };
    let Built::Call(call) = ops.build(&op, None).unwrap() else { panic!("a call") };
    assert_eq!(call.keys().len(), 17);
    assert_eq!(&call.keys()[15..], ["cp:{fleet}:thz", "cp:{fleet}:th:msg_1"]);
    let args: Vec<String> = call.args().iter().map(|a| String::from_utf8(a.clone()).unwrap()).collect();
    // The server's clock: the given time is not sent.
    assert_eq!(args, ["thread_record", "", "msg_1", "12,1,0,1", "300000", "4096"]);
    assert_eq!(call.command(ScriptMode::Function)[2], b"17".to_vec());
    let long = "m".repeat(crate::pool::MAX_THREAD_ID_BYTES + 1);
    let lookup = PoolOp::ThreadLookup { message_id: long, now_ms: 5 };
    assert_eq!(ops.build(&lookup, None).unwrap(), Built::Done(OpResult::NoThread { expired: false }));
    let reply = RedisValue::Array(vec![bulk("thread"), bulk("18446744073709551615"), RedisValue::Int(1), RedisValue::Int(0), RedisValue::Int(0), RedisValue::Int(300005)]);
    let r = ops.decode(&reply).unwrap();
    assert_eq!(r, OpResult::Thread(crate::pool::ThreadEntry { input_tokens: u64::MAX, cache_write: true, cache_write_1h: false, may_overshoot: false, tools: None, expires_at_ms: 300005 }));
    // The tools' facts travel as two more fields, and come back after a flag
    // (0: an entry recorded without them, read back as not known).
    let tools = crate::pool::ThreadTools { web_search_uses: 3, container_billed: true };
    let op = PoolOp::ThreadRecord { message_id: "msg_1".into(), input_tokens: 12, cache_write: false, cache_write_1h: false, may_overshoot: false, tools: Some(tools), now_ms: 5 };
    let Built::Call(call) = ops.build(&op, None).unwrap() else { panic!("a call") };
    assert_eq!(String::from_utf8(call.args()[3].clone()).unwrap(), "12,0,0,0,3,1");
    let entry = |known: i64| RedisValue::Array(vec![bulk("thread"), bulk("12"), RedisValue::Int(0), RedisValue::Int(0), RedisValue::Int(0), RedisValue::Int(300005), RedisValue::Int(known), bulk("3"), RedisValue::Int(1)]);
    let OpResult::Thread(e) = ops.decode(&entry(1)).unwrap() else { panic!("a thread") };
    assert_eq!(e.tools, Some(tools));
    let OpResult::Thread(e) = ops.decode(&entry(0)).unwrap() else { panic!("a thread") };
    assert_eq!(e.tools, None);
    assert_eq!(ops.decode(&RedisValue::Array(vec![bulk("no_thread"), RedisValue::Int(1)])).unwrap(), OpResult::NoThread { expired: true });
}

#[test]
fn trimming_the_ledger_removes_through_the_given_id() {
    let ops = RedisPoolOps::new("team", Clock::Given).unwrap();
    let text = |v: Vec<Vec<u8>>| v.into_iter().map(|p| String::from_utf8(p).unwrap()).collect::<Vec<_>>().join(" ");
    assert_eq!(text(ops.trim_ledger("1796455590583-4").unwrap()), "XTRIM cp:{team}:ledger MINID 1796455590583-5");
    assert_eq!(text(ops.trim_ledger(&format!("7-{}", u64::MAX)).unwrap()), "XTRIM cp:{team}:ledger MINID 8-0");
    for bad in ["", "-", "17", "17-", "-3", "1-2-3", "a-1", "+1-2", "1-2 ", &format!("{}-{}", u64::MAX, u64::MAX)] {
        let e = ops.trim_ledger(bad).unwrap_err();
        assert!(matches!(&e, RedisError::InvalidStreamId { .. }), "{bad:?}: {e:?}");
        assert_eq!(e.code(), "redis_invalid_stream_id");
    }
}
