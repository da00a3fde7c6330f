//! The command builder: each [`PoolOp`] as one invocation of the pool's
//! script (`FCALL` or `EVALSHA`/`EVAL`), with its arguments.

use super::keys::PoolKeys;
use super::script::{eval_script, eval_sha, function_library, FUNCTION};
use super::{RedisError, MAX_AMOUNT};
use crate::money::Money;
use crate::pool::{AgentPolicy, Cap, CycleSpec, Name, OpResult, PoolConfig, PoolOp, TokenCounts, ToolPart};

/// Whose clock the script reads.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Clock {
    /// The Redis server's `TIME`: one clock for the whole fleet, so that
    /// workers with skewed clocks cannot stretch a lease, a rate limit or a
    /// cycle. The `now_ms` inside an operation is ignored.
    #[default]
    Server,
    /// The `now_ms` each operation carries (never earlier than the latest
    /// seen). For tests that replay a scenario deterministically (the
    /// `pool_scenario` vectors); a fleet must not use it.
    Given,
}

/// How a binding sends the script.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ScriptMode {
    /// `FCALL creditpool_v2 ...` on a Redis 7 Functions library
    /// (`FUNCTION LOAD`: persisted and replicated).
    #[default]
    Function,
    /// `EVALSHA <sha> ...`, with `EVAL` of the text after a `NOSCRIPT` (the
    /// script then stays cached). The choice for Redis Cluster: `EVAL` is
    /// routed by its keys, so the script loads itself on the node that owns
    /// the pool's slot.
    Eval,
}

/// How a process joins a pool.
#[derive(Clone, Copy, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum JoinMode {
    /// Create the pool with this configuration, or join it if it exists with
    /// the same one; a different one is [`RedisError::ConfigConflict`].
    Join,
    /// Create the pool, or replace its configuration (limit, policies,
    /// alerts...): the explicit update.
    Update,
    /// Join an existing pool with its stored configuration.
    Read,
}

/// What the script is asked to do (to decode its reply).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum CallKind {
    /// Create or join the pool.
    Init,
    /// A [`PoolOp`].
    Op,
}

/// One script invocation: the arguments (`ARGV`) and the pool's keys. Build
/// the command for a client with [`ScriptCall::command`].
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ScriptCall {
    keys: Vec<String>,
    args: Vec<Vec<u8>>,
    kind: CallKind,
}

impl ScriptCall {
    /// The operation's name (`ARGV[1]`): `reserve`, `settle`, ..., `init`.
    pub fn op_name(&self) -> &str {
        self.args.first().and_then(|a| std::str::from_utf8(a).ok()).unwrap_or("")
    }

    /// Init or an operation.
    pub fn kind(&self) -> CallKind {
        self.kind
    }

    /// The keys (all of the pool's, in the script's order).
    pub fn keys(&self) -> &[String] {
        &self.keys
    }

    /// The arguments (`ARGV`).
    pub fn args(&self) -> &[Vec<u8>] {
        &self.args
    }

    fn with(&self, head: &[&[u8]]) -> Vec<Vec<u8>> {
        let mut v: Vec<Vec<u8>> = head.iter().map(|h| h.to_vec()).collect();
        v.push(self.keys.len().to_string().into_bytes());
        v.extend(self.keys.iter().map(|k| k.clone().into_bytes()));
        v.extend(self.args.iter().cloned());
        v
    }

    /// The whole command, ready to send: `FCALL creditpool_v2 15 keys.. args..`
    /// or `EVALSHA <sha> 15 keys.. args..`.
    pub fn command(&self, mode: ScriptMode) -> Vec<Vec<u8>> {
        match mode {
            ScriptMode::Function => self.with(&[b"FCALL", FUNCTION.as_bytes()]),
            ScriptMode::Eval => self.with(&[b"EVALSHA", eval_sha().as_bytes()]),
        }
    }

    /// `EVAL <text> 15 keys.. args..`: the reload after a `NOSCRIPT` in
    /// [`ScriptMode::Eval`] (it caches the script as a side effect).
    pub fn eval_command(&self) -> Vec<Vec<u8>> {
        self.with(&[b"EVAL", eval_script().as_bytes()])
    }
}

/// The command that loads the script: `FUNCTION LOAD REPLACE <library>` or
/// `SCRIPT LOAD <text>` (whose answer is [`super::eval_sha`]).
pub fn load_command(mode: ScriptMode) -> Vec<Vec<u8>> {
    match mode {
        ScriptMode::Function => vec![b"FUNCTION".to_vec(), b"LOAD".to_vec(), b"REPLACE".to_vec(), function_library().as_bytes().to_vec()],
        ScriptMode::Eval => vec![b"SCRIPT".to_vec(), b"LOAD".to_vec(), eval_script().as_bytes().to_vec()],
    }
}

/// The outcome of building an operation.
#[derive(Clone, Debug, PartialEq)]
pub enum Built {
    /// Send this call, then decode its reply with [`super::RedisPoolOps::decode`].
    Call(ScriptCall),
    /// The answer is known without Redis (an invalid policy, a
    /// `snapshot_restore`, which a store that is its own snapshot answers at
    /// once): hand it back as the operation's result.
    Done(OpResult),
}

pub(crate) fn checked(field: &str, m: Money) -> Result<String, RedisError> {
    if m.nanos() > MAX_AMOUNT {
        return Err(RedisError::OutOfRange { field: field.to_owned(), value: m.nanos() });
    }
    Ok(m.nanos().to_string())
}

fn checked_u64(field: &str, v: u64) -> Result<String, RedisError> {
    if v > MAX_AMOUNT {
        return Err(RedisError::OutOfRange { field: field.to_owned(), value: v });
    }
    Ok(v.to_string())
}

/// An agent policy as the script reads it: `capkind,capvalue,weight,cpm,rpm`.
pub(crate) fn policy_string(field: &str, p: &AgentPolicy) -> Result<String, RedisError> {
    let (kind, value) = match p.cap {
        None => ("", String::new()),
        Some(Cap::Absolute { amount }) => ("a", checked(&format!("{field}.cap.amount"), amount)?),
        Some(Cap::Share { basis_points }) => ("s", basis_points.to_string()),
    };
    let cpm = match p.credits_per_minute {
        Some(m) => checked(&format!("{field}.credits_per_minute"), m)?,
        None => String::new(),
    };
    let rpm = p.requests_per_minute.map(|r| r.to_string()).unwrap_or_default();
    Ok(format!("{kind},{value},{},{cpm},{rpm}", p.weight))
}

/// The inverse of [`policy_string`].
pub(crate) fn parse_policy(s: &str) -> Option<AgentPolicy> {
    let f: Vec<&str> = s.split(',').collect();
    let [kind, value, weight, cpm, rpm] = f.as_slice() else { return None };
    let cap = match *kind {
        "" => None,
        "a" => Some(Cap::Absolute { amount: Money::from_nanos(value.parse().ok()?) }),
        "s" => Some(Cap::Share { basis_points: value.parse().ok()? }),
        _ => return None,
    };
    let opt = |s: &str| if s.is_empty() { Ok(None) } else { s.parse::<u64>().map(Some) };
    Some(AgentPolicy {
        cap,
        weight: weight.parse().ok()?,
        credits_per_minute: opt(cpm).ok()?.map(Money::from_nanos),
        requests_per_minute: opt(rpm).ok()?.map(|r| u32::try_from(r).unwrap_or(u32::MAX)),
    })
}

fn json_name(name: &str) -> String {
    serde_json::to_string(&Name::new(name)).unwrap_or_else(|_| "\"\"".to_owned())
}

fn part_letter(p: ToolPart) -> &'static str {
    match p {
        ToolPart::Definition => "d",
        ToolPart::Use => "u",
        ToolPart::Result => "r",
    }
}

pub(crate) struct Builder<'a> {
    pub(crate) keys: &'a PoolKeys,
    pub(crate) clock: Clock,
}

impl Builder<'_> {
    fn call(&self, op: &str, now_ms: Option<u64>, rest: Vec<String>) -> ScriptCall {
        let now = match (self.clock, now_ms) {
            (Clock::Given, Some(n)) => n.to_string(),
            _ => String::new(),
        };
        let mut args = vec![op.as_bytes().to_vec(), now.into_bytes()];
        args.extend(rest.into_iter().map(String::into_bytes));
        ScriptCall { keys: self.keys.all().to_vec(), args, kind: if op == "init" { CallKind::Init } else { CallKind::Op } }
    }

    pub(crate) fn init(&self, config: Option<&PoolConfig>, mode: JoinMode, now_ms: u64) -> Result<ScriptCall, RedisError> {
        let mode_s = match mode {
            JoinMode::Join => "join",
            JoinMode::Update => "update",
            JoinMode::Read => "read",
        };
        let Some(c) = config else {
            return Ok(self.call("init", Some(now_ms), vec!["read".to_owned()]));
        };
        super::check_config(c)?;
        let thr: Vec<String> = c.alerts.thresholds_pct.iter().map(u32::to_string).collect();
        let cyc = match c.cycle {
            CycleSpec::Monthly { anchor_day } => format!("m:{anchor_day}"),
            CycleSpec::Fixed { start_ms, length_ms } => {
                format!("f:{}:{}", checked_u64("cycle.start_ms", start_ms)?, checked_u64("cycle.length_ms", length_ms)?)
            }
        };
        let json = serde_json::to_string(c).map_err(|e| RedisError::Reply { reason: e.to_string() })?;
        let mut rest = vec![
            mode_s.to_owned(),
            json,
            c.pool_id.clone(),
            checked_u64("lease_ms", c.lease_ms)?,
            checked_u64("late_settle_window_ms", c.late_settle_window_ms)?,
            thr.join(","),
            if c.alerts.on_committed { "1" } else { "0" }.to_owned(),
            c.alerts.burn_rate.map(|b| b.min_elapsed_ms.to_string()).unwrap_or_default(),
            if c.allows_unknown_agents() { "1" } else { "0" }.to_owned(),
            cyc,
            checked_u64("report_bucket_ms", c.report_bucket_ms)?,
            policy_string("default_agent", &c.default_agent)?,
            checked("limit", c.limit)?,
            checked_u64("max_clock_jump_ms", c.max_clock_jump_ms)?,
        ];
        for (name, p) in &c.agents {
            rest.push(name.clone());
            rest.push(json_name(name));
            rest.push(policy_string(&format!("agents.{name}"), p)?);
        }
        Ok(self.call("init", Some(now_ms), rest))
    }

    pub(crate) fn op(&self, op: &PoolOp, idempotency_key: Option<&str>) -> Result<Built, RedisError> {
        let call = match op {
            PoolOp::Reserve { agent, amount, now_ms, lease_ms } => self.call(
                "reserve",
                Some(*now_ms),
                vec![
                    agent.clone(),
                    json_name(agent),
                    checked("amount", *amount)?,
                    match lease_ms {
                        Some(l) => checked_u64("lease_ms", *l)?,
                        None => String::new(),
                    },
                    idempotency_key.unwrap_or("").to_owned(),
                ],
            ),
            PoolOp::Settle { id, cost, now_ms, attribution } => {
                let mut rest = vec![id.to_string(), checked("cost", *cost)?];
                let a = attribution.as_deref();
                rest.push(if a.is_some_and(|a| a.estimated) { "1" } else { "0" }.to_owned());
                let mut tail = String::new();
                let mut stats = Vec::new();
                if let Some(a) = a {
                    let model = Name::new(&a.model);
                    let tokens = TokenCounts::from_usage(&a.usage);
                    let (conversation, amounts) = a.split_amounts(*cost);
                    let j = |v: &dyn erased::Json| v.json();
                    tail.push_str(&format!(",\"model\":{}", j(&model)));
                    if let Some(r) = &a.request_id {
                        tail.push_str(&format!(",\"request_id\":{}", j(r)));
                    }
                    if let Some(m) = &a.message_id {
                        tail.push_str(&format!(",\"message_id\":{}", j(m)));
                    }
                    tail.push_str(&format!(",\"tokens\":{}", j(&tokens)));
                    tail.push_str(&format!(",\"attribution\":{}", j(&a.split(*cost))));
                    stats.push(a.model.clone());
                    stats.push(
                        [tokens.input, tokens.output, tokens.cache_write_5m, tokens.cache_write_1h, tokens.cache_read, tokens.web_search_requests]
                            .iter()
                            .map(|t| checked_u64("usage", *t))
                            .collect::<Result<Vec<_>, _>>()?
                            .join(","),
                    );
                    stats.push(conversation.nanos().to_string());
                    for (share, amount) in a.tools.iter().zip(amounts) {
                        stats.push(share.tool.clone());
                        stats.push(part_letter(share.part).to_owned());
                        stats.push(amount.nanos().to_string());
                    }
                } else {
                    stats.extend([String::new(), String::new(), "0".to_owned()]);
                }
                rest.push(tail);
                rest.extend(stats);
                self.call("settle", Some(*now_ms), rest)
            }
            PoolOp::Release { id, now_ms } => self.call("release", Some(*now_ms), vec![id.to_string()]),
            PoolOp::Extend { id, lease_ms, now_ms } => self.call("extend", Some(*now_ms), vec![id.to_string(), checked_u64("lease_ms", *lease_ms)?]),
            PoolOp::SetLimit { limit, now_ms } => self.call("set_limit", Some(*now_ms), vec![checked("limit", *limit)?]),
            PoolOp::SetAgent { agent, policy, now_ms } => {
                if let Err(e) = policy.validate() {
                    return Ok(Built::Done(OpResult::Error(crate::pool::PoolError::InvalidConfig { reason: format!("agents.{agent}.{e}") })));
                }
                self.call("set_agent", Some(*now_ms), vec![agent.clone(), json_name(agent), policy_string(&format!("agents.{agent}"), policy)?])
            }
            PoolOp::Tick { now_ms } => self.call("tick", Some(*now_ms), vec![]),
            PoolOp::AdvanceClock { now_ms } => self.call("advance_clock", Some(*now_ms), vec![]),
            PoolOp::Report { now_ms } => self.call("report", Some(*now_ms), vec![]),
            // The pool in Redis is its own snapshot: restoring it changes nothing.
            PoolOp::SnapshotRestore => return Ok(Built::Done(OpResult::Restored)),
            // The book of message threads: one entry key and the index (see
            // `thread_record` in the script).
            PoolOp::ThreadRecord { message_id, input_tokens, cache_write, cache_write_1h, may_overshoot, tools, now_ms } => {
                if message_id.is_empty() || message_id.len() > crate::pool::MAX_THREAD_ID_BYTES {
                    return Ok(Built::Done(OpResult::NoThread { expired: false }));
                }
                let flag = |b: &bool| if *b { "1" } else { "0" };
                let mut entry = format!("{input_tokens},{},{},{}", flag(cache_write), flag(cache_write_1h), flag(may_overshoot));
                // The tools' facts, when known, as two more fields (an entry
                // without them reads back as not known).
                if let Some(t) = tools {
                    entry.push_str(&format!(",{},{}", t.web_search_uses, flag(&t.container_billed)));
                }
                let rest = vec![message_id.clone(), entry, crate::pool::THREAD_TTL_MS.to_string(), crate::pool::DEFAULT_MAX_THREADS.to_string()];
                let mut call = self.call("thread_record", Some(*now_ms), rest);
                call.keys = self.keys.with_thread(message_id);
                call
            }
            PoolOp::ThreadLookup { message_id, now_ms } => {
                if message_id.is_empty() || message_id.len() > crate::pool::MAX_THREAD_ID_BYTES {
                    return Ok(Built::Done(OpResult::NoThread { expired: false }));
                }
                let mut call = self.call("thread_lookup", Some(*now_ms), vec![message_id.clone()]);
                call.keys = self.keys.with_thread(message_id);
                call
            }
            #[allow(unreachable_patterns)]
            _ => return Err(RedisError::Unsupported { op: format!("{op:?}").chars().take(40).collect() }),
        };
        Ok(Built::Call(call))
    }
}

/// Serializes a value to JSON text (never fails for the pool's types).
mod erased {
    pub(super) trait Json {
        fn json(&self) -> String;
    }
    impl<T: serde::Serialize> Json for T {
        fn json(&self) -> String {
            serde_json::to_string(self).unwrap_or_default()
        }
    }
}
