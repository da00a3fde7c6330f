//! Issue 13 item 11 (Rust): reopening a pool kept in a directory with a
//! different configuration keeps the pool's own (a restart never changes a
//! running pool) and says what was not applied, in the core's words, instead
//! of dropping it in silence.

use creditpool::{Money, PoolConfig, SharedPool};

fn dir() -> std::path::PathBuf {
    let d = std::env::temp_dir().join(format!("creditpool-restore-notice-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&d);
    d
}

#[test]
fn a_changed_limit_on_reopening_is_kept_out_and_said() {
    let d = dir();
    let five = PoolConfig::new(Money::from_nanos(5_000_000_000));
    let pool = SharedPool::open_dir(&d, five.clone()).unwrap();
    assert_eq!(pool.restore_notice(), None, "a new pool applies its configuration");
    drop(pool);

    // The same configuration again: nothing to say.
    let pool = SharedPool::open_dir(&d, five).unwrap();
    assert_eq!(pool.restore_notice(), None);
    drop(pool);

    // A different limit: the pool keeps $5 and says so.
    let pool = SharedPool::open_dir(&d, PoolConfig::new(Money::from_nanos(10_000_000_000))).unwrap();
    assert_eq!(pool.with(|p| p.state().limit()), Money::from_nanos(5_000_000_000));
    let notice = pool.restore_notice().expect("the changed limit is said");
    assert!(notice.contains("not applied: limit"), "{notice}");
    assert!(notice.contains("$5.00") && notice.contains("$10.00") && notice.contains("set_limit"), "{notice}");
    drop(pool);
    let _ = std::fs::remove_dir_all(&d);
}
