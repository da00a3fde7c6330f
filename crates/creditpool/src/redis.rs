//! [`RedisPool`]: a pool shared by processes, machines and languages through
//! Redis (or Redis Cluster), behind the `redis` feature.
//!
//! ```no_run
//! # async fn run() -> Result<(), creditpool::Error> {
//! use creditpool::redis::RedisPool;
//! use creditpool::{Money, PoolConfig};
//!
//! let pool = RedisPool::connect("redis://127.0.0.1:6379/0", "fleet", PoolConfig::new(Money::from_usd(100).unwrap())).await?;
//! // `pool` is a `PoolStore`: agents take it as they take a `SharedPool`.
//! # Ok(()) }
//! ```
//!
//! Everything but the sending lives in the core
//! ([`creditpool_core::redis`]): the keys, the script, each operation's
//! command and the decoding of its reply. This file connects with the `redis`
//! crate (tokio), sends what the core builds, reloads the script when the
//! server has lost it, and resends a command whose connection failed (every
//! operation is idempotent: a reserve carries its idempotency key). See
//! `docs/REDIS.md`.

use crate::error::Error;
use crate::store::PoolStore;
use crate::transport::BoxFuture;
use creditpool_core::pool::{Alert, LedgerEntry, OpResult, PoolConfig, PoolOp};
use creditpool_core::redis::{
    decode_alerts, decode_ledger, decode_trimmed, idempotency_key, ALERT_BATCH, ALERT_CLAIM_IDLE_MS, ALERT_GROUP, is_functions_unsupported, is_reload_error, load_command, Built, Clock, JoinMode, RedisPoolOps, RedisValue, ScriptCall,
    ScriptMode, SEND_ATTEMPTS,
};
use std::hash::{BuildHasher, Hasher};
use std::sync::atomic::{AtomicU64, Ordering};

pub use creditpool_core::redis::{Clock as RedisClock, JoinMode as RedisJoin, ScriptMode as RedisScriptMode};

/// How to connect ([`RedisPool::connect_with`]).
#[derive(Clone, Debug)]
pub struct RedisOptions {
    /// Whose clock the script reads: the server's (the default; the only
    /// right one for a fleet) or the one each operation carries (tests).
    pub clock: Clock,
    /// FCALL on a Functions library, or EVALSHA. `None`: Functions on a
    /// single server that has them (Redis 7), else EVALSHA; EVALSHA on a
    /// cluster.
    pub mode: Option<ScriptMode>,
    /// Create/join (the default), update the configuration explicitly, or
    /// read it (join without a configuration).
    pub join: JoinMode,
    /// The URLs are the seed nodes of a Redis Cluster.
    pub cluster: bool,
    /// The creation time in the given-clock mode.
    pub created_at_ms: u64,
}

impl Default for RedisOptions {
    fn default() -> RedisOptions {
        RedisOptions { clock: Clock::Server, mode: None, join: JoinMode::Join, cluster: false, created_at_ms: 0 }
    }
}

#[derive(Clone)]
enum Conn {
    Single(::redis::aio::ConnectionManager),
    Cluster(::redis::cluster_async::ClusterConnection),
}

/// A reply, or why none came.
enum Sent {
    Reply(RedisValue),
    /// The server answered with an error (its code and message).
    ServerError(String),
    /// The connection failed: the command may or may not have run.
    Connection(String),
}

fn value(v: ::redis::Value) -> RedisValue {
    use ::redis::Value as V;
    match v {
        V::Nil => RedisValue::Nil,
        V::Int(i) => RedisValue::Int(i),
        V::BulkString(b) => RedisValue::Bulk(b),
        V::Array(a) | V::Set(a) => RedisValue::Array(a.into_iter().map(value).collect()),
        V::Map(kv) => RedisValue::Array(kv.into_iter().flat_map(|(k, v)| [value(k), value(v)]).collect()),
        V::SimpleString(s) => RedisValue::Status(s),
        V::Okay => RedisValue::Status("OK".to_owned()),
        V::Double(d) => RedisValue::Bulk(d.to_string().into_bytes()),
        V::Boolean(b) => RedisValue::Int(i64::from(b)),
        V::VerbatimString { text, .. } => RedisValue::Bulk(text.into_bytes()),
        V::ServerError(e) => RedisValue::Error(format!("{} {}", e.code(), e.details().unwrap_or(""))),
        _ => RedisValue::Nil,
    }
}

impl Conn {
    async fn send(&self, argv: &[Vec<u8>]) -> Sent {
        let mut cmd = ::redis::Cmd::new();
        for a in argv {
            cmd.arg(a.as_slice());
        }
        let r: Result<::redis::Value, ::redis::RedisError> = match self {
            Conn::Single(m) => cmd.query_async(&mut m.clone()).await,
            Conn::Cluster(c) => cmd.query_async(&mut c.clone()).await,
        };
        match r {
            Ok(::redis::Value::ServerError(e)) => Sent::ServerError(format!("{} {}", e.code(), e.details().unwrap_or(""))),
            Ok(v) => Sent::Reply(value(v)),
            Err(e) if e.is_io_error() || e.is_connection_dropped() || e.is_timeout() || e.is_connection_refusal() => Sent::Connection(e.to_string()),
            Err(e) => match (e.code(), e.detail()) {
                (Some(code), detail) => Sent::ServerError(format!("{code} {}", detail.unwrap_or(""))),
                (None, _) => Sent::ServerError(e.to_string()),
            },
        }
    }
}

fn store_error(reason: impl Into<String>) -> Error {
    Error::Store { reason: reason.into() }
}

/// A pool that lives in Redis (see the module documentation). Cheap to
/// share: wrap it in an `Arc` for many agents.
pub struct RedisPool {
    conn: Conn,
    ops: RedisPoolOps,
    mode: ScriptMode,
    config: PoolConfig,
    client_id: String,
    seq: AtomicU64,
}

impl std::fmt::Debug for RedisPool {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RedisPool").field("pool", &self.ops.keys().name()).field("mode", &self.mode).finish_non_exhaustive()
    }
}

impl RedisPool {
    /// Connects to the Redis server at `url` and creates pool `name` with
    /// `config`, or joins it if it exists with the same configuration (a
    /// different one is a `redis_config_conflict` error: use
    /// [`RedisPool::connect_with`] with [`JoinMode::Update`] to replace it,
    /// or [`RedisPool::join`] to take the pool's own).
    pub async fn connect(url: &str, name: &str, config: PoolConfig) -> Result<RedisPool, Error> {
        RedisPool::connect_with(&[url], name, Some(config), RedisOptions::default()).await
    }

    /// Joins the existing pool `name` with the configuration stored with it.
    pub async fn join(url: &str, name: &str) -> Result<RedisPool, Error> {
        RedisPool::connect_with(&[url], name, None, RedisOptions { join: JoinMode::Read, ..RedisOptions::default() }).await
    }

    /// Connects to a Redis Cluster (seed node URLs) and creates or joins
    /// pool `name`, as [`RedisPool::connect`].
    pub async fn connect_cluster(nodes: &[&str], name: &str, config: PoolConfig) -> Result<RedisPool, Error> {
        RedisPool::connect_with(nodes, name, Some(config), RedisOptions { cluster: true, ..RedisOptions::default() }).await
    }

    /// Connects with every option (see [`RedisOptions`]).
    pub async fn connect_with(urls: &[&str], name: &str, config: Option<PoolConfig>, options: RedisOptions) -> Result<RedisPool, Error> {
        let ops = RedisPoolOps::new(name, options.clock)?;
        let conn = if options.cluster {
            let client = ::redis::cluster::ClusterClient::new(urls.to_vec()).map_err(|e| store_error(e.to_string()))?;
            Conn::Cluster(client.get_async_connection().await.map_err(|e| store_error(e.to_string()))?)
        } else {
            let url = urls.first().ok_or_else(|| Error::Config { reason: "no Redis URL".to_owned() })?;
            let client = ::redis::Client::open(*url).map_err(|e| store_error(e.to_string()))?;
            Conn::Single(client.get_connection_manager().await.map_err(|e| store_error(e.to_string()))?)
        };
        let mode = match options.mode {
            Some(m) => m,
            None if options.cluster => ScriptMode::Eval,
            // Functions where the server has them (loaded now, so that the
            // first operation needs no reload); EVALSHA otherwise.
            None => match conn.send(&load_command(ScriptMode::Function)).await {
                Sent::ServerError(e) if is_functions_unsupported(&e) => ScriptMode::Eval,
                Sent::Reply(_) | Sent::ServerError(_) => ScriptMode::Function,
                Sent::Connection(e) => return Err(store_error(e)),
            },
        };
        let mut pool = RedisPool { conn, ops, mode, config: PoolConfig::new(creditpool_core::Money::ZERO), client_id: client_id(), seq: AtomicU64::new(0) };
        let join_mode = if config.is_none() { JoinMode::Read } else { options.join };
        let call = pool.ops.join(config.as_ref(), join_mode, options.created_at_ms)?;
        let reply = pool.call(&call).await?;
        pool.config = pool.ops.decode_join(&reply, config.as_ref())?;
        Ok(pool)
    }

    /// The pool's configuration, as stored with it when this process joined.
    pub fn config(&self) -> &PoolConfig {
        &self.config
    }

    /// The core's command builder for this pool (its keys, clock, streams).
    pub fn ops(&self) -> &RedisPoolOps {
        &self.ops
    }

    /// FCALL or EVALSHA.
    pub fn mode(&self) -> ScriptMode {
        self.mode
    }

    /// Sends a script call: reloads the script when the server lost it, and
    /// resends when the connection failed (up to the core's
    /// [`SEND_ATTEMPTS`]).
    async fn call(&self, call: &ScriptCall) -> Result<RedisValue, Error> {
        let mut last = String::new();
        let mut reloaded = false;
        let mut attempt = 0;
        while attempt < SEND_ATTEMPTS {
            attempt += 1;
            match self.conn.send(&call.command(self.mode)).await {
                Sent::Reply(v) => return Ok(v),
                Sent::ServerError(e) if is_reload_error(&e) && !reloaded => {
                    reloaded = true;
                    attempt -= 1;
                    match self.mode {
                        // EVAL runs the call and caches the script on the
                        // node that owns the pool's slot.
                        ScriptMode::Eval => match self.conn.send(&call.eval_command()).await {
                            Sent::Reply(v) => return Ok(v),
                            Sent::ServerError(e) => return Err(store_error(e)),
                            Sent::Connection(e) => last = e,
                        },
                        ScriptMode::Function => match self.conn.send(&load_command(ScriptMode::Function)).await {
                            Sent::Reply(_) => {}
                            Sent::ServerError(e) => return Err(store_error(e)),
                            Sent::Connection(e) => last = e,
                        },
                    }
                }
                Sent::ServerError(e) => return Err(store_error(e)),
                Sent::Connection(e) => last = e,
            }
        }
        Err(store_error(format!("Redis unreachable after {SEND_ATTEMPTS} attempts: {last}")))
    }

    /// Applies `op` with an explicit reserve idempotency key (a reserve
    /// repeated with the same key answers the reservation already made).
    /// [`PoolStore::apply`] draws a fresh key for each reserve.
    pub async fn apply_keyed(&self, op: &PoolOp, key: Option<&str>) -> Result<OpResult, Error> {
        match self.ops.build(op, key)? {
            Built::Done(r) => Ok(r),
            Built::Call(call) => {
                let reply = self.call(&call).await?;
                Ok(self.ops.decode(&reply)?)
            }
        }
    }

    /// A fresh reserve idempotency key for this connection.
    pub fn next_key(&self) -> String {
        idempotency_key(&self.client_id, self.seq.fetch_add(1, Ordering::Relaxed) + 1)
    }

    /// Sends any command (inspection, tests): its reply.
    pub async fn command(&self, argv: &[Vec<u8>]) -> Result<RedisValue, Error> {
        match self.conn.send(argv).await {
            Sent::Reply(v) => Ok(v),
            Sent::ServerError(e) | Sent::Connection(e) => Err(store_error(e)),
        }
    }

    /// Ledger entries after stream ID `after` (`"-"` for the first), at most
    /// `count`, with their stream IDs.
    pub async fn ledger(&self, after: &str, count: usize) -> Result<Vec<(String, LedgerEntry)>, Error> {
        let reply = self.command(&self.ops.read_ledger(after, count)).await?;
        Ok(decode_ledger(&reply)?)
    }

    /// Removes the ledger entries up to and including stream ID `through`
    /// (the last one you have archived: the stream is the pool's record and
    /// grows by one entry per settle, release and expiry); answers how many
    /// went. A malformed ID is an error with code `redis_invalid_stream_id`.
    pub async fn trim_ledger(&self, through: &str) -> Result<u64, Error> {
        let reply = self.command(&self.ops.trim_ledger(through)?).await?;
        Ok(decode_trimmed(&reply)?)
    }

    /// Alerts in the outbox after stream ID `after`, without a consumer group
    /// (inspection).
    pub async fn alerts_after(&self, after: &str, count: usize) -> Result<Vec<(String, Alert)>, Error> {
        let reply = self.command(&self.ops.range_alerts(after, count)).await?;
        Ok(decode_alerts(&reply)?)
    }

    /// Alerts for consumer `consumer` of group `group` to deliver: first those
    /// another consumer took and left unacknowledged for `min_idle_ms` (it
    /// died), then new ones. Deliver each, then [`RedisPool::ack`] it: an
    /// alert is delivered at least once (receivers deduplicate by
    /// [`Alert::idempotency_key`]).
    pub async fn next_alerts(&self, group: &str, consumer: &str, min_idle_ms: u64, count: usize) -> Result<Vec<(String, Alert)>, Error> {
        match self.conn.send(&self.ops.create_group(group)).await {
            Sent::Reply(_) => {}
            Sent::ServerError(e) if e.starts_with("BUSYGROUP") => {}
            Sent::ServerError(e) | Sent::Connection(e) => return Err(store_error(e)),
        }
        let mut out = decode_alerts(&self.command(&self.ops.claim_alerts(group, consumer, min_idle_ms, count)).await?)?;
        if out.len() < count {
            let fresh = self.command(&self.ops.read_alerts(group, consumer, count - out.len())).await?;
            out.extend(decode_alerts(&fresh)?);
        }
        Ok(out)
    }

    /// One round of alert delivery for consumer `consumer` of the core's
    /// group ([`ALERT_GROUP`]): takes up to [`ALERT_BATCH`] alerts (first
    /// those another consumer left unacknowledged for
    /// [`ALERT_CLAIM_IDLE_MS`], then new ones), hands each to `deliver`, and
    /// acknowledges those it delivered (`Ok`). An alert whose delivery failed
    /// stays pending and is retried after the idle time, by this consumer or
    /// another. Returns how many were delivered. Call it in a loop, from as
    /// many workers as you like.
    pub async fn deliver_alerts<F, Fut>(&self, consumer: &str, mut deliver: F) -> Result<usize, Error>
    where
        F: FnMut(Alert) -> Fut,
        Fut: std::future::Future<Output = Result<(), Error>>,
    {
        let batch = self.next_alerts(ALERT_GROUP, consumer, ALERT_CLAIM_IDLE_MS, ALERT_BATCH).await?;
        let mut done = Vec::new();
        for (id, alert) in batch {
            if deliver(alert).await.is_ok() {
                done.push(id);
            }
        }
        self.ack(ALERT_GROUP, &done).await?;
        Ok(done.len())
    }

    /// Acknowledges delivered alerts.
    pub async fn ack(&self, group: &str, ids: &[String]) -> Result<(), Error> {
        if !ids.is_empty() {
            self.command(&self.ops.ack(group, ids)).await?;
        }
        Ok(())
    }
}

impl crate::pool::SharedPool {
    /// The one-line spelling of [`RedisPool::connect`]: a pool shared by
    /// processes, machines and languages through the Redis server at `url`
    /// (created with `config`, or joined if it exists with the same one).
    /// Agents take it as they take a `SharedPool`.
    ///
    /// ```no_run
    /// # async fn run() -> Result<(), creditpool::Error> {
    /// use creditpool::{Money, PoolConfig, SharedPool};
    /// let pool = SharedPool::connect("redis://127.0.0.1:6379/0", "fleet", PoolConfig::new(Money::from_usd(100).unwrap())).await?;
    /// # drop(pool); Ok(()) }
    /// ```
    pub async fn connect(url: &str, name: &str, config: PoolConfig) -> Result<RedisPool, Error> {
        RedisPool::connect(url, name, config).await
    }
}

impl PoolStore for RedisPool {
    /// Applies the operation with one script run. A reserve gets a fresh
    /// idempotency key, kept across the resends of its command.
    fn apply(&self, op: PoolOp) -> BoxFuture<'_, Result<OpResult, Error>> {
        Box::pin(async move {
            let key = matches!(op, PoolOp::Reserve { .. }).then(|| self.next_key());
            self.apply_keyed(&op, key.as_deref()).await
        })
    }
}

/// A random ID for this connection's idempotency keys (randomness is the
/// binding's input: the process's random hasher seed, the process ID and the
/// time).
fn client_id() -> String {
    let mut h = std::collections::hash_map::RandomState::new().build_hasher();
    h.write_u32(std::process::id());
    if let Ok(d) = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH) {
        h.write_u128(d.as_nanos());
    }
    format!("{:016x}", h.finish())
}
