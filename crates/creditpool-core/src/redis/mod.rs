//! The Redis pool store, sans I/O: the key layout, the server-side script, a
//! command builder that turns each [`PoolOp`] into one script invocation, and
//! a reply decoder that turns the script's answer into the same [`OpResult`]
//! as the in-memory [`Pool`](crate::pool::Pool). A binding connects with its
//! language's Redis client, sends what [`RedisPoolOps`] builds and hands the
//! replies back ([`RedisValue`]); it decides nothing. See `docs/REDIS.md`.
//!
//! ```text
//! let ops = RedisPoolOps::new("fleet", Clock::Server)?;
//! // join (once): create the pool, or join it with the same configuration
//! let call = ops.join(Some(&config), JoinMode::Join, now_ms)?;
//! let config = ops.decode_join(&send(call.command(mode))?, Some(&config))?;
//! // each operation
//! match ops.build(&op, Some(&ops_key))? {
//!     Built::Done(result) => result,
//!     Built::Call(call) => {
//!         let mut reply = send(call.command(mode));
//!         if is_reload_error(&reply) { send(load_command(mode)); reply = send(call.command(mode)) }
//!         ops.decode(&reply)?
//!     }
//! }
//! ```
//!
//! # Guarantees
//!
//! * Each operation is one script run: atomic on the server, with the pool's
//!   rules (limit, caps, GCRA rate limits with refunds, refusals in the same
//!   order, unknown agents, leases and expiry, the late-settle window, cycles,
//!   thresholds once per cycle, the burn-rate projection) ported from
//!   [`crate::pool`].
//! * Exact integers: amounts up to [`MAX_AMOUNT`] nano-USD (2^53 - 1, about
//!   9 million USD; the script's Lua numbers are exact up to there, and
//!   products are computed with limbs); larger amounts are refused here with
//!   [`RedisError::OutOfRange`].
//! * Idempotency: a reserve carries a client-chosen key ([`idempotency_key`])
//!   so that a reserve retried after a lost answer returns the reservation
//!   already made; settle and release are idempotent by reservation ID.
//! * Fair share is refused at configuration
//!   ([`RedisError::FairShareUnsupported`], with the reason).

mod command;
mod decode;
mod keys;
mod script;
mod streams;
mod value;

pub use command::{load_command, Built, CallKind, Clock, JoinMode, ScriptCall, ScriptMode};
pub use keys::{PoolKeys, KEY_PARTS, MAX_NAME_BYTES};
pub use script::{eval_script, eval_sha, function_library, is_functions_unsupported, is_reload_error, FUNCTION, SOURCE};
pub use streams::{decode_alerts, decode_ledger, decode_trimmed, ALERT_BATCH, ALERT_CLAIM_IDLE_MS, ALERT_GROUP};
pub use value::RedisValue;

use crate::pool::{OpResult, PoolConfig, PoolOp};

/// How many times in all a binding sends an operation whose connection
/// failed before it gives up (every operation is idempotent, a reserve by its
/// idempotency key, so a resend never counts twice).
pub const SEND_ATTEMPTS: u32 = 3;

/// The largest amount (and time, and counter) a Redis pool holds exactly:
/// 2^53 - 1 nano-USD, about 9,007,199 USD.
pub const MAX_AMOUNT: u64 = (1 << 53) - 1;

/// What can go wrong with a Redis pool, beyond the pool's own answers.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum RedisError {
    /// The pool exists with another configuration than the one brought.
    #[error("the Redis pool exists with another configuration; join it without one (read it), bring the same one, or ask for an explicit update. stored: {stored}; given: {given}")]
    ConfigConflict {
        /// The pool's configuration (JSON).
        stored: String,
        /// The configuration brought (JSON).
        given: String,
    },
    /// The configuration is invalid for any pool (the core's own check).
    #[error(transparent)]
    Config(crate::pool::PoolError),
    /// Fair share cannot run on Redis.
    #[error(
        "fair_share is not supported on a Redis pool: a fair-share check weighs every active agent's demand on every reservation, \
         which inside one atomic script means scanning all of the pool's agents on each reserve and blocking the server while it runs; \
         use agent caps (absolute or a share of the limit) and rate limits instead"
    )]
    FairShareUnsupported,
    /// A value beyond what the script holds exactly.
    #[error("{field} is {value}, above the largest value a Redis pool holds exactly ({max}, 2^53 - 1)", max = MAX_AMOUNT)]
    OutOfRange {
        /// The field.
        field: String,
        /// Its value.
        value: u64,
    },
    /// A pool name that cannot be a key's hash tag.
    #[error("invalid Redis pool name {name:?}: it {reason}")]
    InvalidPoolName {
        /// The name (at most 64 characters of it).
        name: String,
        /// What is wrong.
        reason: String,
    },
    /// The pool does not exist in Redis (joined without a configuration, or
    /// deleted).
    #[error("the Redis pool does not exist: create it by joining with a configuration")]
    PoolMissing,
    /// The operation has no Redis form.
    #[error("operation {op} is not supported on a Redis pool")]
    Unsupported {
        /// The operation.
        op: String,
    },
    /// A stream ID given by the caller that is not `<ms>-<seq>` (as Redis
    /// writes them: `1796455590583-0`).
    #[error("{id:?} is not a Redis stream ID (<milliseconds>-<sequence>, as the ledger's entries carry them)")]
    InvalidStreamId {
        /// The ID given (at most 64 characters of it).
        id: String,
    },
    /// A reply that does not have the expected shape (a script of another
    /// version, a key changed by hand).
    #[error("unexpected Redis reply: {reason}")]
    Reply {
        /// What was wrong.
        reason: String,
    },
}

impl RedisError {
    /// The stable error code: `redis_config_conflict`,
    /// `fair_share_unsupported_on_redis`, `redis_out_of_range`,
    /// `redis_invalid_pool_name`, `redis_pool_missing`, `redis_unsupported`,
    /// `redis_invalid_stream_id` or `redis_reply`.
    pub fn code(&self) -> &'static str {
        match self {
            RedisError::ConfigConflict { .. } => "redis_config_conflict",
            RedisError::Config(e) => e.code(),
            RedisError::FairShareUnsupported => "fair_share_unsupported_on_redis",
            RedisError::OutOfRange { .. } => "redis_out_of_range",
            RedisError::InvalidPoolName { .. } => "redis_invalid_pool_name",
            RedisError::PoolMissing => "redis_pool_missing",
            RedisError::Unsupported { .. } => "redis_unsupported",
            RedisError::InvalidStreamId { .. } => "redis_invalid_stream_id",
            RedisError::Reply { .. } => "redis_reply",
        }
    }
}

/// Checks a configuration for a Redis pool: valid for the core, no fair
/// share, values within [`MAX_AMOUNT`].
pub fn check_config(c: &PoolConfig) -> Result<(), RedisError> {
    if c.fair_share.is_some() {
        return Err(RedisError::FairShareUnsupported);
    }
    command::checked("limit", c.limit)?;
    command::policy_string("default_agent", &c.default_agent)?;
    for (name, p) in &c.agents {
        command::policy_string(&format!("agents.{name}"), p)?;
    }
    Ok(())
}

/// The idempotency key of a client's `seq`-th reserve: `<client_id>:<seq>`.
/// A binding draws `client_id` at random once per connection (randomness is
/// an input) and counts `seq`; a reserve retried after a lost answer reuses
/// its key, and the script answers with the reservation already made.
pub fn idempotency_key(client_id: &str, seq: u64) -> String {
    format!("{client_id}:{seq}")
}

/// The sans-I/O Redis pool: builds commands for one pool and decodes their
/// replies (see the module documentation).
#[derive(Clone, Debug)]
pub struct RedisPoolOps {
    keys: PoolKeys,
    clock: Clock,
}

impl RedisPoolOps {
    /// The operations of pool `name` (see [`PoolKeys::new`] for what a name
    /// may hold), on `clock`.
    pub fn new(name: &str, clock: Clock) -> Result<RedisPoolOps, RedisError> {
        Ok(RedisPoolOps { keys: PoolKeys::new(name)?, clock })
    }

    /// The pool's keys.
    pub fn keys(&self) -> &PoolKeys {
        &self.keys
    }

    /// The clock the script reads.
    pub fn clock(&self) -> Clock {
        self.clock
    }

    /// The call that creates the pool with `config`, or joins it. With
    /// `config` `None` the mode is [`JoinMode::Read`]. `now_ms` is the
    /// creation time in [`Clock::Given`] (the server's time otherwise). The
    /// configuration is checked first ([`check_config`]).
    pub fn join(&self, config: Option<&PoolConfig>, mode: JoinMode, now_ms: u64) -> Result<ScriptCall, RedisError> {
        if let Some(c) = config {
            c.validate().map_err(|reason| RedisError::Config(crate::pool::PoolError::InvalidConfig { reason }))?;
        }
        command::Builder { keys: &self.keys, clock: self.clock }.init(config, mode, now_ms)
    }

    /// The pool's configuration from the reply to [`RedisPoolOps::join`];
    /// [`RedisError::ConfigConflict`] when it differs from `given` (in
    /// [`JoinMode::Join`]), [`RedisError::PoolMissing`] when reading a pool
    /// that does not exist.
    pub fn decode_join(&self, reply: &RedisValue, given: Option<&PoolConfig>) -> Result<PoolConfig, RedisError> {
        let v = reply.as_array()?;
        let tag = v.first().ok_or_else(|| value::bad("empty reply"))?.as_text()?;
        let json = || -> Result<String, RedisError> { v.get(1).ok_or_else(|| value::bad("no configuration in the reply"))?.as_text() };
        match tag.as_str() {
            "created" | "joined" | "updated" => {
                serde_json::from_str(&json()?).map_err(|e| value::bad(format!("stored configuration: {e}")))
            }
            "conflict" => Err(RedisError::ConfigConflict {
                stored: json()?,
                given: given.and_then(|g| serde_json::to_string(g).ok()).unwrap_or_default(),
            }),
            "missing" => Err(RedisError::PoolMissing),
            "error" => Err(RedisError::PoolMissing),
            other => Err(value::bad(format!("unknown reply {other:?}"))),
        }
    }

    /// Builds one operation. A reserve should carry an
    /// [`idempotency_key`]; other operations ignore it.
    pub fn build(&self, op: &PoolOp, idempotency_key: Option<&str>) -> Result<Built, RedisError> {
        command::Builder { keys: &self.keys, clock: self.clock }.op(op, idempotency_key)
    }

    /// Decodes the reply to an operation's call.
    pub fn decode(&self, reply: &RedisValue) -> Result<OpResult, RedisError> {
        decode::op_result(reply)
    }
}

#[cfg(test)]
mod tests;
