//! [`SharedPool`]: one credit pool shared by many tasks, with its outputs
//! (alerts, the ledger) delivered to callbacks, webhooks and a file.
//!
//! The rules are the core's [`Pool`]'s. This type only puts it behind a lock
//! (held for one core call at a time, never across an `.await`) and, after each
//! call, drains the pool's alerts and ledger entries:
//!
//! * alerts go to every [`on_alert`](SharedPool::on_alert) callback and every
//!   [`webhook`](SharedPool::webhook) (POSTed in the background with the
//!   core's signed payload, retried by the core's retry policy; at most
//!   [`DEFAULT_DELIVERY_CONCURRENCY`] deliveries run at once, the rest wait in
//!   alert order, and every attempt has its own timeout, so a silent endpoint
//!   holds one slot, never the queue); an alert stays in the pool until every
//!   webhook delivered it or gave up (the core's
//!   [`Outbox`]), at most
//!   [`MAX_QUEUED_DELIVERIES`] are queued at once, and a pool kept in a
//!   directory records each outcome, so a crash loses no alert;
//! * ledger entries go to every [`on_ledger`](SharedPool::on_ledger) callback
//!   and, if set, to a JSON Lines file ([`ledger_file`](SharedPool::ledger_file)),
//!   in order.
//!
//! Callbacks run outside the pool's lock, so a callback may use the pool (raise
//! the limit at 90 %, say).
//!
//! A `SharedPool` is a [`PoolStore`](crate::PoolStore): agents apply their
//! pool operations (reserve, settle, release, lease renewals) to it, and the
//! outputs above follow each one.
//!
//! ```no_run
//! # async fn demo() -> Result<(), creditpool::Error> {
//! use creditpool::{Money, PoolConfig, SharedPool};
//! use creditpool::pool::Webhook;
//!
//! let pool = SharedPool::new(PoolConfig::new(Money::from_usd(5).unwrap_or(Money::ZERO)))?;
//! pool.on_alert(|alert| println!("{}", alert.text()));
//! pool.webhook(Webhook::new("https://hooks.example.com/creditpool", "signing-secret")?);
//! pool.ledger_file("ledger.jsonl")?;
//! // ... run agents on the pool ...
//! println!("{} spent", pool.report().settled);
//! // Deliver what is queued, waiting at most 10 s; false if some was not.
//! if !pool.close(std::time::Duration::from_secs(10)).await {
//!     eprintln!("some alerts were not delivered");
//! }
//! # Ok(()) }
//! ```

use crate::drive::{drive_call, Io};
use crate::error::Error;
use crate::time::{fresh_seed, now_ms};
use crate::transport::Transport;
use creditpool_core::call::{CallOptions, MessagesCall};
use creditpool_core::money::Money;
use creditpool_core::pool::outbox::{webhook_id, DeliveryRecord, Dispatch, Outbox};
use creditpool_core::pool::{AgentPolicy, Alert, LedgerEntry, OpResult, Pool, PoolConfig, PoolOp, PoolSnapshot, Report, WebhookDelivery};
use creditpool_core::retry::RetryPolicy;
use std::collections::VecDeque;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, OnceLock, PoisonError, Weak};
use std::time::Duration;

/// How many webhook deliveries a pool runs at once (the core's constant).
pub use creditpool_core::pool::webhook::DEFAULT_DELIVERY_CONCURRENCY;
/// The most deliveries queued or under way at once (the core's constant);
/// later alerts wait in the pool, and in its snapshot, until some end.
pub use creditpool_core::pool::outbox::MAX_QUEUED_DELIVERIES;

type AlertFn = Arc<dyn Fn(&Alert) + Send + Sync>;
type LedgerFn = Arc<dyn Fn(&LedgerEntry) + Send + Sync>;
type ErrorFn = Arc<dyn Fn(&Error) + Send + Sync>;

/// A credit pool shared between tasks. Cheap to clone; clones share the pool.
#[derive(Clone)]
pub struct SharedPool {
    inner: Arc<Inner>,
}

struct Inner {
    pool: Mutex<Pool>,
    outputs: Mutex<Outputs>,
    peak: AtomicU64,
    deliveries: Arc<Deliveries>,
}

/// The webhook deliveries of a pool: a queue in alert order and at most
/// [`DEFAULT_DELIVERY_CONCURRENCY`] workers taking from it.
#[derive(Default)]
struct Deliveries {
    state: Mutex<DeliveryState>,
    /// Woken when a worker stops (the queue may be idle).
    idle: tokio::sync::Notify,
}

#[derive(Default)]
struct DeliveryState {
    queue: VecDeque<Job>,
    workers: usize,
    closed: bool,
}

/// One alert for one webhook.
struct Job {
    webhook: Arc<Webhook>,
    delivery: WebhookDelivery,
    key: String,
    on_error: Vec<ErrorFn>,
    /// The pool, told when the delivery ends (its outbox records it).
    pool: Weak<Inner>,
}

impl Job {
    /// Drops the delivery without an outcome: its alert stays pending in the
    /// pool (and its snapshot), delivered after a restart.
    fn fail(&self, reason: &str) {
        if let Some(inner) = self.pool.upgrade() {
            lock(&inner.outputs).outbox.dropped();
        }
        let e = Error::Webhook { host: self.webhook.host(), idempotency_key: self.key.clone(), attempts: 0, reason: reason.into() };
        self.on_error.iter().for_each(|f| f(&e));
    }
}

impl Deliveries {
    fn is_idle(&self) -> bool {
        let s = lock(&self.state);
        s.queue.is_empty() && s.workers == 0
    }

    /// Returns when nothing is queued or under way.
    async fn wait_idle(&self) {
        loop {
            let mut notified = std::pin::pin!(self.idle.notified());
            // Registered before the check, so a worker stopping in between wakes it.
            notified.as_mut().enable();
            if self.is_idle() {
                return;
            }
            notified.await;
        }
    }

    /// Takes jobs from the queue until it is empty. The guard gives the slot
    /// back however the worker ends (done, a panicking callback, runtime shutdown).
    async fn work(self: Arc<Self>) {
        struct Slot(Arc<Deliveries>, bool);
        impl Drop for Slot {
            fn drop(&mut self) {
                if !self.1 {
                    lock(&self.0.state).workers -= 1;
                }
                self.0.idle.notify_waiters();
            }
        }
        let mut slot = Slot(self, false);
        loop {
            let job = {
                let mut state = lock(&slot.0.state);
                match state.queue.pop_front() {
                    Some(job) => job,
                    None => {
                        // Under the same lock as the empty queue was seen, so
                        // a job queued now finds a free slot and a worker.
                        state.workers -= 1;
                        slot.1 = true;
                        return;
                    }
                }
            };
            let result = job.webhook.post(&job.delivery, job.key.clone()).await;
            let delivered = result.is_ok();
            if let Err(e) = result {
                job.on_error.iter().for_each(|f| f(&e));
            }
            if let Some(inner) = job.pool.upgrade() {
                SharedPool { inner }.delivery_ended(&job.key, &job.webhook.id, delivered);
            }
        }
    }
}

#[derive(Default)]
struct Outputs {
    on_alert: Vec<AlertFn>,
    on_ledger: Vec<LedgerFn>,
    on_error: Vec<ErrorFn>,
    webhooks: Vec<Arc<Webhook>>,
    ledger_file: Option<(PathBuf, std::fs::File)>,
    /// The directory the pool is kept in ([`SharedPool::open_dir`]).
    dir: Option<crate::persist::Directory>,
    /// Which alerts were handed out and which webhooks have an outcome for
    /// each: the core's rule of when an alert leaves the pool.
    outbox: Outbox,
    /// What a pool restored by [`SharedPool::open_dir`] did not apply of the
    /// configuration it was opened with.
    restore_notice: Option<String>,
}

fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(PoisonError::into_inner)
}

impl std::fmt::Debug for SharedPool {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let pool = lock(&self.inner.pool);
        f.debug_struct("SharedPool").field("state", pool.state()).finish_non_exhaustive()
    }
}

impl SharedPool {
    /// A pool with this configuration, its first cycle the current one.
    pub fn new(config: PoolConfig) -> Result<SharedPool, Error> {
        Ok(SharedPool::from_pool(Pool::new(config, now_ms())?))
    }

    /// Shares an existing pool (one restored from a snapshot, say).
    pub fn from_pool(pool: Pool) -> SharedPool {
        let peak = pool.state().committed().nanos();
        SharedPool {
            inner: Arc::new(Inner {
                pool: Mutex::new(pool),
                outputs: Mutex::new(Outputs::default()),
                peak: AtomicU64::new(peak),
                deliveries: Arc::new(Deliveries::default()),
            }),
        }
    }

    /// Restores a pool from a snapshot's JSON.
    pub fn restore_json(json: &str) -> Result<SharedPool, Error> {
        Ok(SharedPool::from_pool(Pool::restore_json(json)?))
    }

    /// A pool kept in a directory (`snapshot.json`, `ledger.jsonl`, `lock`;
    /// the same format as the Python package's, so either language can reopen
    /// it): restored from its snapshot and checked against its ledger by the
    /// core's rule, or new with `config` when the directory is empty (a
    /// restored pool keeps its own configuration). After every operation the
    /// snapshot is replaced atomically and the new ledger entries appended and
    /// synced; a write that fails is answered as `Err` by
    /// [`try_with`](SharedPool::try_with), [`try_apply_op`](SharedPool::try_apply_op)
    /// and the [`PoolStore`](crate::PoolStore) agents use (reported to
    /// [`on_error`](SharedPool::on_error) by [`with`](SharedPool::with)), and
    /// tried again before any newer snapshot, so a crash loses nothing; until
    /// it succeeds, only settles and releases are applied (the core's
    /// [`PoolOp::applies_while_unwritten`]). Pending alerts are kept and
    /// delivered again after a crash ([`webhook`](SharedPool::webhook)). The
    /// directory is locked for this pool's life: another pool opening it gets
    /// [`Error::Store`].
    ///
    /// A restored pool keeps its own configuration; where `config` differs
    /// (a changed limit, say), the core's words for what was not applied are
    /// logged as a `tracing` warning (target `creditpool::pool`) and kept in
    /// [`restore_notice`](SharedPool::restore_notice): change a running pool
    /// on purpose with `set_limit` or `set_agent_policy`.
    pub fn open_dir(path: impl AsRef<Path>, config: PoolConfig) -> Result<SharedPool, Error> {
        let given = serde_json::to_value(&config).map_err(|e| Error::Store { reason: format!("the pool configuration cannot be written as JSON: {e}") })?;
        let (dir, pool) = crate::persist::Directory::open(path.as_ref(), config, now_ms())?;
        // Only words: a comparison the core cannot make never stops a pool from opening.
        let restore_notice = pool.config().ignored_on_restore(pool.state().limit(), &given).unwrap_or_else(|e| Some(format!("the restored pool keeps its own configuration; the one given could not be compared: {e}")));
        if let Some(words) = &restore_notice {
            tracing::warn!(target: "creditpool::pool", directory = %path.as_ref().display(), "{words}");
        }
        let mut outbox = Outbox::new();
        let records = dir.read_records()?;
        for r in &records {
            outbox.restore(r);
        }
        // The records of alerts acknowledged before the crash go.
        let kept = outbox.compact(&pool);
        if kept.len() != records.len() {
            dir.rewrite_records(&kept)?;
        }
        let shared = SharedPool::from_pool(pool);
        {
            let mut out = lock(&shared.inner.outputs);
            out.dir = Some(dir);
            out.outbox = outbox;
            out.restore_notice = restore_notice;
        }
        // The snapshot's pending entries the file lacks go there now; its
        // pending alerts wait for the webhooks to be added, and go with the
        // first operation (or flush, or close).
        let errors = shared.persist_and_deliver(|_| (), true, false).1;
        match errors.into_iter().next() {
            Some(e) => Err(e),
            None => Ok(shared),
        }
    }

    /// For a pool restored by [`open_dir`](SharedPool::open_dir): the
    /// settings it was opened with that differ from its own and were not
    /// applied, in the core's words (`None` when they agree, or for a new
    /// pool).
    pub fn restore_notice(&self) -> Option<String> {
        lock(&self.inner.outputs).restore_notice.clone()
    }

    /// Runs `f` on the pool under its lock, then delivers the alerts and ledger
    /// entries it produced (and, for a pool kept in a directory, writes them).
    /// Keep `f` short: every task waits for the lock.
    ///
    /// A write to the pool's directory that fails goes to
    /// [`on_error`](SharedPool::on_error) only; [`try_with`](SharedPool::try_with)
    /// answers it to the caller instead.
    pub fn with<R>(&self, f: impl FnOnce(&mut Pool) -> R) -> R {
        let (result, errors) = self.persist_and_deliver(f, true, true);
        self.report_errors(&errors);
        result
    }

    /// `with` for a pool whose writes must not fail unseen: `Err` when the
    /// pool's directory could not be written. By the core's rule
    /// ([`PoolOp::applies_while_unwritten`]): while an earlier write is
    /// still failing, `f` is not run (the write is tried again first, and
    /// its error answered); when the write after `f` fails, `f`'s change
    /// stays in the pool, its ledger entries pending (in memory and in
    /// every later snapshot) until a write succeeds, and the error is
    /// answered. Nothing is lost and nothing is half-written.
    pub fn try_with<R>(&self, f: impl FnOnce(&mut Pool) -> R) -> Result<R, Error> {
        self.write_pending()?;
        let (result, errors) = self.persist_and_deliver(f, true, true);
        errors.into_iter().next().map_or(Ok(result), Err)
    }

    /// Applies one pool operation, answering a failed write as `Err` (see
    /// [`try_with`](SharedPool::try_with)); a settle or a release is applied
    /// even while writes fail (the core's rule: spend is never dropped), and
    /// the write's error answered with it.
    pub fn try_apply_op(&self, op: &PoolOp) -> Result<OpResult, Error> {
        if !op.applies_while_unwritten() {
            self.write_pending()?;
        }
        let (result, errors) = self.persist_and_deliver(|p| p.apply(op), true, true);
        errors.into_iter().next().map_or(Ok(result), Err)
    }

    /// After a failed write, writes the pool again (its snapshot, then the
    /// ledger entries still pending); `Err` if that fails too.
    fn write_pending(&self) -> Result<(), Error> {
        let failed = lock(&self.inner.outputs).dir.as_ref().is_some_and(crate::persist::Directory::failed);
        if !failed {
            return Ok(());
        }
        let (_, errors) = self.persist_and_deliver(|_| (), true, true);
        errors.into_iter().next().map_or(Ok(()), Err)
    }

    /// `with` for a read: nothing is written to the pool's directory.
    fn read<R>(&self, f: impl FnOnce(&mut Pool) -> R) -> R {
        let (result, errors) = self.persist_and_deliver(f, false, true);
        self.report_errors(&errors);
        result
    }

    fn report_errors(&self, errors: &[Error]) {
        if errors.is_empty() {
            return;
        }
        let on_error = lock(&self.inner.outputs).on_error.clone();
        for e in errors {
            for f in &on_error {
                f(e);
            }
        }
    }

    /// Runs `f`, writes the pool (when `write`), then hands out the ledger
    /// entries and (when `dispatch`) the alerts the outbox lets go.
    fn persist_and_deliver<R>(&self, f: impl FnOnce(&mut Pool) -> R, write: bool, dispatch: bool) -> (R, Vec<Error>) {
        let mut pool = lock(&self.inner.pool);
        let result = f(&mut pool);
        self.inner.peak.fetch_max(pool.state().committed().nanos(), Ordering::Relaxed);
        let mut errors = Vec::new();
        // The snapshot is written before the pending outputs leave the pool,
        // so that it still lists them if the ledger write below fails.
        let mut out = lock(&self.inner.outputs);
        if write {
            if let Some(dir) = out.dir.as_mut() {
                if let Err(e) = dir.write_snapshot(&pool.snapshot_json()) {
                    errors.push(e);
                }
            }
        }
        // Alerts stay in the pool until every webhook has an outcome for
        // them (the core's outbox): a crash before delivery loses none.
        let alerts = if dispatch { out.outbox.take(&pool) } else { Vec::new() };
        out.outbox.ack(&mut pool);
        // Write, then acknowledge: a ledger entry leaves the pool (and its
        // snapshot's `pending_ledger`) only once the directory's ledger holds
        // it; after a failed write it stays, and is written first next time.
        let mut entries: Vec<LedgerEntry> = pool.peek_ledger().cloned().collect();
        if let (Some(dir), false) = (out.dir.as_mut(), entries.is_empty()) {
            if let Err(e) = dir.append(entries.clone()) {
                errors.push(e);
                entries.clear();
            }
        }
        if let Some(last) = entries.last() {
            pool.ack_ledger(last.seq);
        }
        if alerts.is_empty() && entries.is_empty() {
            return (result, errors);
        }
        // Keep the outputs' lock past the pool's, so that ledger lines reach
        // the files in the pool's order.
        drop(pool);
        if let Some((path, file)) = out.ledger_file.as_mut() {
            for e in &entries {
                if let Err(err) = file.write_all(e.to_json_line().as_bytes()) {
                    errors.push(Error::io(path.clone(), &err));
                }
            }
        }
        let on_alert = out.on_alert.clone();
        let on_ledger = out.on_ledger.clone();
        let on_error = out.on_error.clone();
        let webhooks = out.webhooks.clone();
        drop(out);
        for e in &entries {
            for f in &on_ledger {
                f(e);
            }
        }
        self.hand_out(&alerts, &on_alert, &webhooks, &on_error);
        (result, errors)
    }

    /// Gives alerts to the callbacks and queues their deliveries.
    fn hand_out(&self, alerts: &[Dispatch], on_alert: &[AlertFn], webhooks: &[Arc<Webhook>], on_error: &[ErrorFn]) {
        for d in alerts {
            for f in on_alert {
                f(&d.alert);
            }
            for w in webhooks.iter().filter(|w| d.webhooks.contains(&w.id)) {
                self.deliver(Arc::clone(w), &d.alert, on_error);
            }
        }
    }

    /// A delivery ended (delivered, or given up by the core's retry rule):
    /// its record is written (synced) first, then the outbox lets go of the
    /// alerts every webhook is done with, and hands out those that waited.
    fn delivery_ended(&self, key: &str, webhook: &str, delivered: bool) {
        let mut errors = Vec::new();
        let mut pool = lock(&self.inner.pool);
        let mut out = lock(&self.inner.outputs);
        let record = DeliveryRecord { idempotency_key: key.to_owned(), webhook: webhook.to_owned(), delivered };
        match out.dir.as_ref().map_or(Ok(()), |d| d.record(&record)) {
            Ok(()) => out.outbox.finished(key, webhook),
            // Not recorded: the alert stays pending, delivered again after a restart.
            Err(e) => {
                out.outbox.dropped();
                errors.push(e);
            }
        }
        out.outbox.ack(&mut pool);
        let alerts = out.outbox.take(&pool);
        drop(pool);
        let (on_alert, webhooks, on_error) = (out.on_alert.clone(), out.webhooks.clone(), out.on_error.clone());
        drop(out);
        self.report_errors(&errors);
        self.hand_out(&alerts, &on_alert, &webhooks, &on_error);
    }

    /// Applies one pool operation ([`Pool::apply`]) and delivers its outputs:
    /// what the [`PoolStore`](crate::PoolStore) implementation does, without
    /// the future.
    pub fn apply_op(&self, op: &PoolOp) -> OpResult {
        self.with(|p| p.apply(op))
    }

    /// Calls `f` with every alert (a threshold reached, a projection), in order.
    pub fn on_alert(&self, f: impl Fn(&Alert) + Send + Sync + 'static) -> &Self {
        lock(&self.inner.outputs).on_alert.push(Arc::new(f));
        self
    }

    /// Calls `f` with every ledger entry (settle, release, expiry).
    pub fn on_ledger(&self, f: impl Fn(&LedgerEntry) + Send + Sync + 'static) -> &Self {
        lock(&self.inner.outputs).on_ledger.push(Arc::new(f));
        self
    }

    /// Calls `f` when a webhook cannot be delivered or the ledger file cannot be
    /// written.
    pub fn on_error(&self, f: impl Fn(&Error) + Send + Sync + 'static) -> &Self {
        lock(&self.inner.outputs).on_error.push(Arc::new(f));
        self
    }

    /// POSTs every alert to a webhook.
    ///
    /// An alert leaves the pool (and its snapshot) only once every webhook
    /// has delivered it or given up by the core's retry rule; for a pool
    /// kept in a directory, which webhooks did is recorded (synced) in its
    /// `deliveries.jsonl`, and after a crash the pending alerts go again, to
    /// the webhooks without a record, with the same idempotency key
    /// (at-least-once: receivers drop repeats by key). Add the webhooks
    /// before the first operation after [`open_dir`](SharedPool::open_dir):
    /// restored alerts go with it.
    pub fn webhook(&self, webhook: Webhook) -> &Self {
        let mut out = lock(&self.inner.outputs);
        out.outbox.add_webhook(&webhook.id);
        out.webhooks.push(Arc::new(webhook));
        self
    }

    /// Appends every ledger entry to this JSON Lines file (created if missing).
    pub fn ledger_file(&self, path: impl AsRef<Path>) -> Result<&Self, Error> {
        let path = path.as_ref();
        let file = std::fs::OpenOptions::new().create(true).append(true).open(path).map_err(|e| Error::io(path, &e))?;
        lock(&self.inner.outputs).ledger_file = Some((path.to_path_buf(), file));
        Ok(self)
    }

    /// Waits until no webhook delivery is queued or under way. It ends: every
    /// attempt has its timeout and a delivery a bounded number of retries
    /// ([`Webhook`]); [`flush_within`](SharedPool::flush_within) and
    /// [`close`](SharedPool::close) bound the wait.
    pub async fn flush(&self) {
        self.read(|_| ());
        self.inner.deliveries.wait_idle().await;
    }

    /// Waits at most `deadline` until no webhook delivery is queued or under
    /// way: true if they all ended (delivered, or given up and reported to
    /// [`on_error`](SharedPool::on_error)), false if the deadline came first
    /// (the deliveries go on in the background).
    pub async fn flush_within(&self, deadline: Duration) -> bool {
        self.read(|_| ());
        tokio::time::timeout(deadline, self.inner.deliveries.wait_idle()).await.is_ok()
    }

    /// Stops webhook deliveries: alerts from now on are not POSTed (each is
    /// reported to [`on_error`](SharedPool::on_error)), and what is queued or
    /// under way is given at most `deadline` to end. True if every delivery
    /// ended in time; false if the deadline came first: the deliveries not
    /// started yet are dropped and reported to `on_error`, those under way
    /// are left to their own timeouts in the background. The pool itself
    /// stays usable (callbacks, the ledger file, the directory).
    pub async fn close(&self, deadline: Duration) -> bool {
        // Restored alerts waiting for the first operation go now.
        self.read(|_| ());
        lock(&self.inner.deliveries.state).closed = true;
        if self.flush_within(deadline).await {
            return true;
        }
        let dropped: Vec<Job> = lock(&self.inner.deliveries.state).queue.drain(..).collect();
        for job in &dropped {
            job.fail("not delivered before close's deadline");
        }
        false
    }

    /// The report for the current cycle.
    pub fn report(&self) -> Report {
        self.read(|p| p.report(now_ms()))
    }

    /// A snapshot of the whole pool (versioned JSON with `serde_json`).
    pub fn snapshot(&self) -> PoolSnapshot {
        self.read(|p| p.snapshot())
    }

    /// Changes the limit ("start small, scale up"); thresholds the new limit
    /// puts behind the spend fire now. Fails with the core's `ClockJump` when
    /// the system clock is further ahead of the pool's latest time than
    /// `max_clock_jump_ms` ([`SharedPool::advance_clock`] resumes).
    pub fn set_limit(&self, limit: Money) -> Result<(), Error> {
        Ok(self.with(|p| p.set_limit(limit, now_ms()))?)
    }

    /// Sets an agent's policy (cap, weight, rate limits).
    pub fn set_agent_policy(&self, agent: &str, policy: AgentPolicy) -> Result<(), Error> {
        Ok(self.with(|p| p.set_agent_policy(agent, policy, now_ms()))?)
    }

    /// Expires due leases and rolls the cycle over; call now and then when no
    /// agent runs, to see expiries and alerts sooner. Fails with the core's
    /// `ClockJump` (and changes nothing) when the system clock is further
    /// ahead of the pool's latest time than `max_clock_jump_ms`.
    pub fn tick(&self) -> Result<(), Error> {
        self.with(|p| p.tick(now_ms()))?;
        Ok(())
    }

    /// Accepts the system clock however far ahead of the pool's latest time
    /// (a pool idle longer than `max_clock_jump_ms`, a snapshot restored after
    /// a long pause), then ticks: the explicit resume after a `ClockJump`.
    pub fn advance_clock(&self) {
        self.with(|p| {
            p.advance_clock(now_ms());
        });
    }

    /// The most that was ever committed (settled plus reserved) at once, as seen
    /// after each operation through this handle: never above the limit.
    pub fn peak_committed(&self) -> Money {
        Money::from_nanos(self.inner.peak.load(Ordering::Relaxed))
    }

    fn deliver(&self, webhook: Arc<Webhook>, alert: &Alert, on_error: &[ErrorFn]) {
        // Signed again by the call at each attempt, with that attempt's time.
        let delivery = alert.webhook(&webhook.secret, now_ms());
        let key = alert.idempotency_key();
        let job = Job { webhook, delivery, key, on_error: on_error.to_vec(), pool: Arc::downgrade(&self.inner) };
        let Ok(runtime) = tokio::runtime::Handle::try_current() else {
            return job.fail("no tokio runtime to deliver from");
        };
        let mut state = lock(&self.inner.deliveries.state);
        if state.closed {
            drop(state);
            return job.fail("the pool's webhook deliveries are closed");
        }
        // In alert order; a new worker only while fewer than the bound run.
        state.queue.push_back(job);
        if state.workers < DEFAULT_DELIVERY_CONCURRENCY {
            state.workers += 1;
            drop(state);
            runtime.spawn(Arc::clone(&self.inner.deliveries).work());
        }
    }
}

/// Where alerts are POSTed, and the secret that signs them.
///
/// Each delivery carries the core's payload and headers
/// ([`Alert::webhook`]): `x-creditpool-timestamp` (the attempt's own time,
/// Unix seconds), `x-creditpool-signature` (HMAC-SHA256 of `timestamp.body`,
/// made afresh for every attempt) and `x-creditpool-idempotency-key`. A failed
/// delivery (no connection, 408, 409, 429, 5xx) is retried by the core's
/// webhook call ([`CallOptions::webhook`]: 3 retries, honouring `retry-after`,
/// 10 s for an answer); other statuses give up at once.
pub struct Webhook {
    url: String,
    /// The core's [`webhook_id`] of the URL: its name in delivery records.
    id: String,
    secret: Vec<u8>,
    transport: OnceLock<Arc<dyn Transport>>,
    /// The core's webhook call options (retries, timeout, body cap).
    options: CallOptions,
}

impl std::fmt::Debug for Webhook {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Webhook").field("host", &self.host()).finish_non_exhaustive()
    }
}

impl Webhook {
    /// A webhook to `url`, signed with `secret`. An empty secret, or a URL
    /// that is not `http`/`https` with a host, is an [`Error::Config`] (the
    /// core's rule, [`check_endpoint`](creditpool_core::pool::check_endpoint));
    /// only the URL's origin ever appears in an error or a `Debug`.
    pub fn new(url: impl Into<String>, secret: impl AsRef<[u8]>) -> Result<Webhook, Error> {
        let url = url.into();
        creditpool_core::pool::check_endpoint(&url, secret.as_ref()).map_err(|e| Error::Config { reason: e.to_string() })?;
        Ok(Webhook { id: webhook_id(&url), url, secret: secret.as_ref().to_vec(), transport: OnceLock::new(), options: CallOptions::webhook() })
    }

    /// The transport to POST with (default: the `reqwest` transport).
    pub fn transport(mut self, transport: impl Transport) -> Webhook {
        self.transport = OnceLock::from(Arc::new(transport) as Arc<dyn Transport>);
        self
    }

    /// The retry policy of a delivery.
    pub fn retry_policy(mut self, policy: RetryPolicy) -> Webhook {
        self.options.retry = policy;
        self
    }

    /// The longest wait for one attempt's response.
    pub fn timeout(mut self, timeout: Duration) -> Webhook {
        self.options.read_timeout_ms = u64::try_from(timeout.as_millis()).unwrap_or(u64::MAX);
        self
    }

    /// The receiver's origin, for messages (the URL's path may hold a token).
    fn host(&self) -> String {
        creditpool_core::pool::url_origin(&self.url)
    }

    /// Delivers one alert through the core's call machine
    /// ([`MessagesCall::signed_webhook`]): the core decides timeouts, retries,
    /// each attempt's signature and what the receiver's answer means; this
    /// only sends and sleeps.
    async fn post(&self, delivery: &WebhookDelivery, key: String) -> Result<(), Error> {
        let transport = match self.transport.get() {
            Some(t) => Arc::clone(t),
            None => {
                let t = crate::client::default_transport(Duration::from_millis(self.options.read_timeout_ms))?;
                Arc::clone(self.transport.get_or_init(|| t))
            }
        };
        let options = CallOptions { jitter_seed: fresh_seed(), ..self.options.clone() };
        let max_body_bytes = options.max_body_bytes;
        let mut call = MessagesCall::signed_webhook(delivery, &self.secret, options);
        let io = Io { transport: &*transport, base_url: &self.url, max_body_bytes, store: None };
        match drive_call(&io, &mut call, &mut |_| {}).await? {
            Ok(_) => Ok(()),
            Err(e) => Err(Error::Webhook { host: self.host(), idempotency_key: key, attempts: e.attempts, reason: e.error.to_string() }),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn webhook_errors_name_the_host_only() {
        let w = Webhook::new("https://user:pw@hooks.example.com/services/T000/B000/XXXX?x=1", "s").unwrap();
        assert_eq!(w.host(), "https://hooks.example.com");
        assert!(!format!("{w:?}").contains("XXXX"));
        assert_eq!(Webhook::new("http://127.0.0.1:9/hook", "s").unwrap().host(), "http://127.0.0.1:9");
        assert!(matches!(Webhook::new("http://127.0.0.1:9/hook", ""), Err(Error::Config { .. })));
        let bad = Webhook::new("ftp://files.example.com/TOKEN", "s").unwrap_err();
        assert_eq!(bad.code(), "invalid_options");
        assert!(!bad.to_string().contains("TOKEN"), "{bad}");
    }

    #[test]
    fn callbacks_see_alerts_and_ledger_and_peak_is_tracked() {
        let pool = SharedPool::new(PoolConfig::new(Money::from_nanos(1_000))).unwrap();
        let alerts = Arc::new(Mutex::new(Vec::new()));
        let ledger = Arc::new(Mutex::new(Vec::new()));
        let a = Arc::clone(&alerts);
        let l = Arc::clone(&ledger);
        pool.on_alert(move |x| a.lock().unwrap().push(x.kind)).on_ledger(move |e| l.lock().unwrap().push(e.kind));
        let r = pool.with(|p| p.reserve("a", Money::from_nanos(800), now_ms())).unwrap();
        assert_eq!(pool.peak_committed(), Money::from_nanos(800));
        pool.with(|p| p.settle(r.id, Money::from_nanos(760), None, now_ms())).unwrap();
        let kinds: Vec<u32> = alerts.lock().unwrap().iter().filter_map(|k| k.percent()).collect();
        assert_eq!(kinds, vec![50, 75]);
        assert_eq!(ledger.lock().unwrap().len(), 1);
        assert_eq!(pool.report().settled, Money::from_nanos(760));
    }

    #[test]
    fn a_callback_may_use_the_pool() {
        let pool = SharedPool::new(PoolConfig::new(Money::from_nanos(100))).unwrap();
        let handle = pool.clone();
        pool.on_alert(move |_| handle.set_limit(Money::from_nanos(1_000)).unwrap());
        let r = pool.with(|p| p.reserve("a", Money::from_nanos(60), now_ms())).unwrap();
        pool.with(|p| p.settle(r.id, Money::from_nanos(60), None, now_ms())).unwrap();
        assert_eq!(pool.with(|p| p.state().limit()), Money::from_nanos(1_000));
    }

    #[test]
    fn ledger_file_gets_json_lines() {
        let dir = std::env::temp_dir().join(format!("creditpool-ledger-{}-{}", std::process::id(), fresh_seed()));
        let pool = SharedPool::new(PoolConfig::new(Money::from_nanos(1_000))).unwrap();
        pool.ledger_file(&dir).unwrap();
        let r = pool.with(|p| p.reserve("a", Money::from_nanos(10), now_ms())).unwrap();
        pool.with(|p| p.release(r.id, now_ms())).unwrap();
        let text = std::fs::read_to_string(&dir).unwrap();
        let _ = std::fs::remove_file(&dir);
        let entry: LedgerEntry = serde_json::from_str(text.trim()).unwrap();
        assert_eq!(entry.reservation_id, r.id);
    }
}
