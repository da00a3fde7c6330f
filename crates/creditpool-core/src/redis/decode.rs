//! The reply decoder: the script's answer as the [`OpResult`] the in-memory
//! pool gives, and a report rebuilt through the core's own report code.

use super::command::parse_policy;
use super::value::{bad, pairs, RedisValue};
use super::RedisError;
use crate::money::Money;
use crate::pool::gcra::GcraState;
use crate::pool::report::{AgentActivity, Bucket, CycleSummary, ModelStats, ToolStats};
use crate::pool::snapshot::{ExpiredSnapshot, NamedActivity, NamedModelStats, NamedToolStats, OpenSnapshot, StateSnapshot, StatsSnapshot};
use crate::pool::state::{AgentCounters, FiredAlerts};
use crate::pool::{
    CycleBounds, Name, OpResult, Pool, PoolConfig, PoolError, PoolSnapshot, RateLimitKind, Refusal, Released, Reservation, Settlement,
    SNAPSHOT_VERSION,
};
use std::collections::{BTreeMap, HashMap};

fn item(v: &[RedisValue], i: usize) -> Result<&RedisValue, RedisError> {
    v.get(i).ok_or_else(|| bad(format!("reply too short: no item {i}")))
}

fn u(v: &[RedisValue], i: usize) -> Result<u64, RedisError> {
    item(v, i)?.as_u64()
}

fn m(v: &[RedisValue], i: usize) -> Result<Money, RedisError> {
    Ok(Money::from_nanos(u(v, i)?))
}

fn t(v: &[RedisValue], i: usize) -> Result<String, RedisError> {
    item(v, i)?.as_text()
}

/// Decodes the reply to an operation.
pub(crate) fn op_result(reply: &RedisValue) -> Result<OpResult, RedisError> {
    if let RedisValue::Error(e) = reply {
        return Err(bad(format!("error reply: {e}")));
    }
    let v = reply.as_array()?;
    let tag = t(v, 0)?;
    Ok(match tag.as_str() {
        "reserved" => OpResult::Reserved(Reservation { id: u(v, 1)?, amount: m(v, 2)?, expires_at_ms: u(v, 3)? }),
        "refused" => OpResult::Refused(refusal(v)?),
        "settled" => OpResult::Settled(Settlement {
            id: u(v, 1)?,
            reserved: m(v, 2)?,
            cost: m(v, 3)?,
            refunded: m(v, 4)?,
            overrun: m(v, 5)?,
            late: u(v, 6)? != 0,
            ledger_seq: u(v, 7)?,
        }),
        "released" => OpResult::Released(Released { id: u(v, 1)?, amount: m(v, 2)?, ledger_seq: u(v, 3)? }),
        "duplicate" => OpResult::Duplicate { id: u(v, 1)? },
        "extended" => OpResult::Extended(Reservation { id: u(v, 1)?, amount: m(v, 2)?, expires_at_ms: u(v, 3)? }),
        "closed" => OpResult::Closed { id: u(v, 1)? },
        "ok" => OpResult::Ok,
        "ticked" => OpResult::Ticked {
            rolled_over: u(v, 1)? != 0,
            expired: v.iter().skip(2).map(RedisValue::as_u64).collect::<Result<_, _>>()?,
        },
        "error" => match t(v, 1)?.as_str() {
            "unknown_reservation" => OpResult::Error(PoolError::UnknownReservation { id: u(v, 2)? }),
            "clock_jump" => OpResult::Error(PoolError::ClockJump { now_ms: u(v, 2)?, last_now_ms: u(v, 3)?, max_clock_jump_ms: u(v, 4)? }),
            "pool_missing" => return Err(RedisError::PoolMissing),
            other => return Err(bad(format!("unknown error {other:?}"))),
        },
        "report" => OpResult::Report(Box::new(report(v)?)),
        "thread" => OpResult::Thread(crate::pool::ThreadEntry {
            input_tokens: u(v, 1)?,
            cache_write: u(v, 2)? != 0,
            cache_write_1h: u(v, 3)? != 0,
            may_overshoot: u(v, 4)? != 0,
            // Items 6 to 8: whether the entry holds its tools' facts (an
            // entry written without them does not), the web searches, the
            // container billing.
            tools: match v.get(6) {
                Some(_) if u(v, 6)? != 0 => Some(crate::pool::ThreadTools { web_search_uses: u(v, 7)?, container_billed: u(v, 8)? != 0 }),
                _ => None,
            },
            expires_at_ms: u(v, 5)?,
        }),
        "no_thread" => OpResult::NoThread { expired: u(v, 1)? != 0 },
        other => return Err(bad(format!("unknown reply {other:?}"))),
    })
}

fn refusal(v: &[RedisValue]) -> Result<Refusal, RedisError> {
    Ok(match t(v, 1)?.as_str() {
        "pool_exhausted" => Refusal::PoolExhausted { requested: m(v, 2)?, available: m(v, 3)? },
        "agent_cap" => Refusal::AgentCap { agent: Name::new(&t(v, 2)?), cap: m(v, 3)?, spent: m(v, 4)?, reserved: m(v, 5)?, requested: m(v, 6)? },
        "rate_limited" => Refusal::RateLimited {
            agent: Name::new(&t(v, 2)?),
            which: if t(v, 3)? == "requests" { RateLimitKind::Requests } else { RateLimitKind::Credits },
            retry_at_ms: u(v, 4)?,
        },
        "unknown_agent" => {
            let known: Vec<String> = (3..v.len()).map(|i| t(v, i)).collect::<Result<_, _>>()?;
            Refusal::unknown_agent(&t(v, 2)?, known.iter().map(String::as_str))
        }
        other => return Err(bad(format!("unknown refusal {other:?}"))),
    })
}

fn num(map: &HashMap<String, String>, k: &str) -> Result<u64, RedisError> {
    match map.get(k) {
        None => Ok(0),
        Some(s) => s.parse().map_err(|_| bad(format!("field {k} is not an integer: {s:?}"))),
    }
}

fn parse_u64(s: &str) -> Result<u64, RedisError> {
    s.parse().map_err(|_| bad(format!("not an integer: {s:?}")))
}

/// Rebuilds the pool as a snapshot from the script's dump, and answers with
/// the core's own [`Pool::report`], so that a Redis pool reports exactly as
/// an in-memory one.
fn report(v: &[RedisValue]) -> Result<crate::pool::Report, RedisError> {
    let at = u(v, 1)?;
    let mut config: PoolConfig = serde_json::from_str(&t(v, 2)?).map_err(|e| bad(format!("stored configuration: {e}")))?;
    let st: HashMap<String, String> = pairs(item(v, 3)?)?.into_iter().collect();
    let ag: HashMap<String, String> = pairs(item(v, 4)?)?.into_iter().collect();
    let mut agents_policy = BTreeMap::new();
    for (name, p) in pairs(item(v, 5)?)? {
        let policy = parse_policy(&p).ok_or_else(|| bad(format!("policy of {name:?}: {p:?}")))?;
        agents_policy.insert(name, policy);
    }
    config.agents = agents_policy;
    config.limit = Money::from_nanos(num(&st, "limit")?);
    let count = num(&ag, "cnt")?;
    let mut agents = Vec::new();
    let mut activity = Vec::new();
    let mut names = Vec::new();
    for i in 0..count {
        let name = Name::new(ag.get(&format!("n:{i}")).map_or("", String::as_str));
        let f = |k: &str| num(&ag, &format!("{i}:{k}"));
        agents.push(AgentCounters {
            name: name.clone(),
            settled: Money::from_nanos(f("s")?),
            reserved: Money::from_nanos(f("r")?),
            last_reserve_ms: ag.get(&format!("{i}:lr")).map(|s| parse_u64(s)).transpose()?,
            credits: GcraState { tat_ms: f("ct")?, tat_rem: f("cr")? },
            requests: GcraState { tat_ms: f("qt")?, tat_rem: f("qr")? },
        });
        activity.push(NamedActivity { agent: name.clone(), activity: AgentActivity { requests: f("req")?, refusals: f("ref")? } });
        names.push(name);
    }
    let agent_name = |i: &str| -> Result<Name, RedisError> {
        let i: usize = i.parse().map_err(|_| bad("agent index"))?;
        names.get(i).cloned().ok_or_else(|| bad("agent index out of range"))
    };
    let mut open = Vec::new();
    for (id, rec) in pairs(item(v, 10)?)? {
        let f: Vec<&str> = rec.splitn(5, ':').collect();
        let [a, amount, created, expires, _key] = f.as_slice() else { return Err(bad("open reservation record")) };
        open.push(OpenSnapshot {
            id: parse_u64(&id)?,
            agent: agent_name(a)?,
            amount: Money::from_nanos(parse_u64(amount)?),
            created_at_ms: parse_u64(created)?,
            expires_at_ms: parse_u64(expires)?,
        });
    }
    open.sort_by_key(|o| o.id);
    let mut expired = Vec::new();
    for (id, rec) in pairs(item(v, 11)?)? {
        let f: Vec<&str> = rec.split(':').collect();
        // "agent:amount:expired_at", then ":1" when the expiry counted the
        // amount (records written before that rule lack it).
        let (a, amount, at, counted) = match f.as_slice() {
            [a, amount, at] => (a, amount, at, false),
            [a, amount, at, c] => (a, amount, at, *c == "1"),
            _ => return Err(bad("expired reservation record")),
        };
        expired.push(ExpiredSnapshot { id: parse_u64(&id)?, agent: agent_name(a)?, amount: Money::from_nanos(parse_u64(amount)?), expired_at_ms: parse_u64(at)?, counted });
    }
    expired.sort_by_key(|e| (e.expired_at_ms, e.id));
    let mut models: BTreeMap<String, ModelStats> = BTreeMap::new();
    for (k, val) in pairs(item(v, 6)?)? {
        let Some((p, name)) = k.split_once(':') else { continue };
        let n = parse_u64(&val)?;
        let s = models.entry(name.to_owned()).or_default();
        match p {
            "c" => s.cost = Money::from_nanos(n),
            "n" => s.requests = n,
            "ti" => s.tokens.input = n,
            "to" => s.tokens.output = n,
            "t5" => s.tokens.cache_write_5m = n,
            "t1" => s.tokens.cache_write_1h = n,
            "tr" => s.tokens.cache_read = n,
            "tw" => s.tokens.web_search_requests = n,
            _ => {}
        }
    }
    let mut tools: BTreeMap<String, ToolStats> = BTreeMap::new();
    for (k, val) in pairs(item(v, 7)?)? {
        let Some((p, name)) = k.split_once(':') else { continue };
        let n = parse_u64(&val)?;
        let s = tools.entry(name.to_owned()).or_default();
        match p {
            "d" => s.definition = Money::from_nanos(n),
            "u" => s.uses = Money::from_nanos(n),
            "r" => s.result = Money::from_nanos(n),
            "dn" => s.definition_requests = n,
            _ => {}
        }
    }
    let mut series: BTreeMap<u64, Bucket> = BTreeMap::new();
    for (k, val) in pairs(item(v, 8)?)? {
        let Some((p, start)) = k.split_once(':') else { continue };
        let start = parse_u64(start)?;
        let n = parse_u64(&val)?;
        let b = series.entry(start).or_insert(Bucket { start_ms: start, cost: Money::ZERO, requests: 0 });
        match p {
            "c" => b.cost = Money::from_nanos(n),
            "n" => b.requests = n,
            _ => {}
        }
    }
    let mut history = Vec::new();
    for h in item(v, 9)?.as_array()? {
        let mut c: CycleSummary = serde_json::from_str(&h.as_text()?).map_err(|e| bad(format!("history: {e}")))?;
        c.agents.sort_by(|a, b| b.cost.cmp(&a.cost).then_with(|| a.name.cmp(&b.name)));
        history.push(c);
    }
    let snap = PoolSnapshot {
        version: SNAPSHOT_VERSION,
        config,
        state: StateSnapshot {
            limit: Money::from_nanos(num(&st, "limit")?),
            cycle: CycleBounds { start_ms: num(&st, "cs")?, end_ms: num(&st, "ce")? },
            settled: Money::from_nanos(num(&st, "settled")?),
            reserved: Money::from_nanos(num(&st, "reserved")?),
            overrun: Money::from_nanos(num(&st, "overrun")?),
            next_reservation_id: num(&st, "next_id")?,
            next_ledger_seq: num(&st, "next_seq")?,
            last_now_ms: num(&st, "last_now")?,
            open,
            expired,
            agents,
            fired: FiredAlerts {
                settled: u32::try_from(num(&st, "fs")?).unwrap_or(u32::MAX),
                committed: u32::try_from(num(&st, "fc")?).unwrap_or(u32::MAX),
                projection: num(&st, "fp")? != 0,
            },
        },
        stats: StatsSnapshot {
            models: models.into_iter().map(|(n, stats)| NamedModelStats { model: Name::new(&n), stats }).collect(),
            tools: tools.into_iter().map(|(n, stats)| NamedToolStats { tool: Name::new(&n), stats }).collect(),
            agents: activity,
            conversation: Money::from_nanos(num(&st, "conv")?),
            requests: num(&st, "requests")?,
            series: series.into_values().collect(),
            history,
        },
        pending_events: Vec::new(),
        pending_ledger: Vec::new(),
    };
    let pool = Pool::restore(snap).map_err(|e| bad(format!("the pool's state in Redis is inconsistent: {e}")))?;
    Ok(pool.report(at))
}
