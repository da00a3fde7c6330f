//! [`PoolStore`]: where an agent's pool operations go.
//!
//! The core's agent run holds no pool: it asks for pool operations
//! ([`PoolOp`]: `reserve` before each attempt, `settle` or `release` after it,
//! `extend` to renew a lease while a response is read) and reads their
//! answers ([`OpResult`]) as inputs. A pool store is anything that applies
//! them. [`SharedPool`] is the in-memory one (the core's
//! [`Pool::apply`](creditpool_core::pool::Pool::apply) behind a lock, with its
//! alerts, ledger and webhooks delivered after each operation); a pool shared
//! between processes (through Redis, say) is another implementation of the
//! same trait.
//!
//! # Writing a store
//!
//! * Apply the operation exactly as the core's `Pool::apply` would, and answer
//!   with its result: a refusal is `Ok(OpResult::Refused(..))`, a settle of a
//!   reservation already closed `Ok(OpResult::Duplicate { .. })`, an extend of
//!   one already closed `Ok(OpResult::Closed { .. })`, a misuse
//!   `Ok(OpResult::Error(..))`. The run reads every one of these.
//! * Return `Err` only when the operation could not be applied at all (the
//!   store is unreachable). The run then ends with that error; a reservation
//!   it held is closed as the run's cancellation asks, on a best-effort
//!   basis, and otherwise expires with its lease.
//! * An operation may be applied twice (a retry after a lost answer, the
//!   cancellation of a dropped run): `settle` and `release` must be
//!   idempotent by reservation ID (the core's pool answers `duplicate`).
//! * The `now_ms` inside an operation is the agent's clock; a store shared
//!   between hosts may use its own clock instead, as long as it never goes
//!   back.
//!
//! ```
//! use creditpool::{Error, PoolStore, SharedPool};
//! use creditpool::core::pool::{OpResult, PoolOp};
//! use creditpool::transport::BoxFuture;
//! use std::sync::atomic::{AtomicU64, Ordering};
//! use std::sync::Arc;
//!
//! /// A store that counts the operations it passes on to a shared pool.
//! struct Counting {
//!     pool: SharedPool,
//!     ops: Arc<AtomicU64>,
//! }
//!
//! impl PoolStore for Counting {
//!     fn apply(&self, op: PoolOp) -> BoxFuture<'_, Result<OpResult, Error>> {
//!         self.ops.fetch_add(1, Ordering::Relaxed);
//!         self.pool.apply(op)
//!     }
//! }
//! ```

use crate::error::Error;
use crate::pool::SharedPool;
use crate::transport::BoxFuture;
use creditpool_core::pool::{OpResult, PoolOp};
use std::sync::Arc;

/// Applies pool operations for agents: the seam between an agent's run and
/// the books it draws on. See the [module documentation](crate::store) for
/// what an implementation must do.
///
/// The future may borrow the store; it must be `Send`, so that an agent's
/// run can be spawned.
pub trait PoolStore: Send + Sync + 'static {
    /// Applies `op` and answers with its result, or `Err` when it could not be
    /// applied at all.
    fn apply(&self, op: PoolOp) -> BoxFuture<'_, Result<OpResult, Error>>;
}

impl PoolStore for SharedPool {
    /// Applies the operation to the in-memory pool under its lock (the answer
    /// is ready at once), then delivers the alerts and ledger entries it
    /// produced, as [`SharedPool::try_apply_op`] does: a write to the pool's
    /// directory or ledger file that fails is the operation's `Err` (the
    /// run ends with it), never a silent gap.
    fn apply(&self, op: PoolOp) -> BoxFuture<'_, Result<OpResult, Error>> {
        let result = self.try_apply_op(&op);
        Box::pin(std::future::ready(result))
    }
}

impl<S: PoolStore + ?Sized> PoolStore for Arc<S> {
    fn apply(&self, op: PoolOp) -> BoxFuture<'_, Result<OpResult, Error>> {
        (**self).apply(op)
    }
}

impl<S: PoolStore + ?Sized> PoolStore for Box<S> {
    fn apply(&self, op: PoolOp) -> BoxFuture<'_, Result<OpResult, Error>> {
        (**self).apply(op)
    }
}
