//! The wall clock and sleeping: the only place this crate reads time.
//!
//! The core takes time as Unix milliseconds; this crate reads it from
//! [`std::time::SystemTime`] and sleeps with tokio.

use std::time::{Duration, SystemTime, UNIX_EPOCH};

/// The current Unix time in milliseconds (0 if the clock is before 1970).
pub fn now_ms() -> u64 {
    SystemTime::now().duration_since(UNIX_EPOCH).map_or(0, |d| u64::try_from(d.as_millis()).unwrap_or(u64::MAX))
}

/// How long until a Unix time in ms (zero if it has passed).
pub(crate) fn until(unix_ms: u64) -> Duration {
    Duration::from_millis(unix_ms.saturating_sub(now_ms()))
}

/// Sleeps until a Unix time in ms.
pub(crate) async fn sleep_until_ms(unix_ms: u64) {
    let d = until(unix_ms);
    if !d.is_zero() {
        tokio::time::sleep(d).await;
    }
}

/// A seed for backoff jitter, different for every call in this process.
pub(crate) fn fresh_seed() -> u64 {
    use std::sync::atomic::{AtomicU64, Ordering};
    static COUNTER: AtomicU64 = AtomicU64::new(0);
    let n = COUNTER.fetch_add(1, Ordering::Relaxed);
    let nanos = SystemTime::now().duration_since(UNIX_EPOCH).map_or(0, |d| d.subsec_nanos());
    (u64::from(nanos) << 20) ^ n.wrapping_mul(0x9E37_79B9_7F4A_7C15)
}
