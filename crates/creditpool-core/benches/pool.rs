//! Reserve+settle pairs per second: single-threaded, and 8 threads sharing one
//! pool behind a mutex. Each pair also drains the ledger entry it produced, as a
//! real caller would. Figures go to `benches/RESULTS.md`.
#![allow(missing_docs)]

use creditpool_core::pool::{AttributionInput, Pool, PoolConfig};
use creditpool_core::Money;
use criterion::{black_box, criterion_group, criterion_main, Criterion, Throughput};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

/// 2026-11-25, a plain day in a monthly cycle.
const T0: u64 = 1_795_570_181_123;

fn pool() -> Pool {
    Pool::new(PoolConfig::new(Money::MAX), T0).unwrap()
}

fn pair(p: &mut Pool, agent: &str, now: u64, attribution: Option<&AttributionInput>) {
    let r = p.reserve(agent, Money::from_nanos(90_000_000), now).unwrap();
    p.settle(r.id, Money::from_nanos(41_250_000), attribution, now).unwrap();
    while let Some(e) = p.poll_ledger() {
        black_box(e);
    }
    while let Some(e) = p.poll_event() {
        black_box(e);
    }
}

fn bench(c: &mut Criterion) {
    let mut g = c.benchmark_group("pool");
    g.throughput(Throughput::Elements(1));
    g.measurement_time(Duration::from_secs(5));

    let attribution = AttributionInput::new("claude-sonnet-4-5");
    g.bench_function("reserve_settle/1_thread", |b| {
        let mut p = pool();
        let mut now = T0;
        b.iter(|| {
            now += 1;
            pair(&mut p, "agent-1", now, Some(&attribution));
        });
    });

    g.bench_function("reserve_settle/1_thread_mutex", |b| {
        let p = Mutex::new(pool());
        let mut now = T0;
        b.iter(|| {
            now += 1;
            pair(&mut p.lock().unwrap(), "agent-1", now, Some(&attribution));
        });
    });

    g.bench_function("reserve_settle/8_threads_mutex", |b| {
        b.iter_custom(|iters| {
            let p = Arc::new(Mutex::new(pool()));
            let per_thread = iters.div_ceil(8);
            let start = Instant::now();
            let handles: Vec<_> = (0..8)
                .map(|t| {
                    let p = Arc::clone(&p);
                    let agent = format!("agent-{t}");
                    std::thread::spawn(move || {
                        let attribution = AttributionInput::new("claude-sonnet-4-5");
                        for i in 0..per_thread {
                            pair(&mut p.lock().unwrap(), &agent, T0 + i, Some(&attribution));
                        }
                    })
                })
                .collect();
            for h in handles {
                h.join().unwrap();
            }
            start.elapsed()
        });
    });
    g.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
