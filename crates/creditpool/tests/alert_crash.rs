//! Issue 10 item 15 (Rust): alerts survive a crash before their delivery.
//!
//! A child process (this test binary run again with `CREDITPOOL_ALERT_DIR`
//! set, on the test `alerter_child`) keeps a pool in a directory with two
//! webhooks, `/a` and `/b`, on a local receiver started here, and crosses
//! two thresholds. The receiver answers `/a` (200) and holds `/b`'s requests
//! without answering; once `/a` has every alert and `/b` is waiting, the
//! child is killed with SIGKILL. The directory is reopened here with the
//! same webhooks: the receiver now answers `/b`, and must see each alert
//! exactly once per webhook (by idempotency key, the same key as before the
//! crash); `/a` must not get them again, and a third opening sends nothing.
#![cfg(unix)]
#![allow(clippy::print_stdout)]

use creditpool::pool::Webhook;
use creditpool::{Money, PoolConfig, SharedPool};
use std::collections::BTreeMap;
use std::io::{BufRead, BufReader, Write};
use std::path::PathBuf;
use std::process::{Command, Stdio};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};

const DIR_ENV: &str = "CREDITPOOL_ALERT_DIR";
const URL_ENV: &str = "CREDITPOOL_ALERT_URL";

fn config() -> PoolConfig {
    let mut c = PoolConfig::new(Money::from_nanos(1_000));
    c.alerts.thresholds_pct = vec![50, 75];
    c.alerts.on_committed = false;
    c.alerts.burn_rate = None;
    c
}

fn hooks(pool: &SharedPool, base: &str) {
    pool.webhook(Webhook::new(format!("{base}/a"), "secret-a").unwrap());
    pool.webhook(Webhook::new(format!("{base}/b"), "secret-b").unwrap());
}

/// The child: crosses 50 % and 75 %, prints `alerted`, then waits to be killed.
#[test]
fn alerter_child() {
    let Some(dir) = std::env::var_os(DIR_ENV) else { return };
    let base = std::env::var(URL_ENV).unwrap();
    let rt = tokio::runtime::Builder::new_multi_thread().enable_all().build().unwrap();
    rt.block_on(async move {
        let pool = SharedPool::open_dir(PathBuf::from(dir), config()).expect("open the directory");
        hooks(&pool, &base);
        let now = creditpool::time::now_ms();
        let r = pool.try_with(|p| p.reserve("a", Money::from_nanos(800), now)).unwrap().unwrap();
        pool.try_with(|p| p.settle(r.id, Money::from_nanos(800), None, now)).unwrap().unwrap();
        let mut out = std::io::stdout().lock();
        writeln!(out, "alerted").unwrap();
        out.flush().unwrap();
        drop(out);
        tokio::time::sleep(Duration::from_secs(600)).await;
    });
}

/// Per path, the idempotency keys of the requests answered 200, and of those
/// held unanswered.
#[derive(Default)]
struct Seen {
    delivered: BTreeMap<String, Vec<String>>,
    held: BTreeMap<String, Vec<String>>,
}

/// Reads one request: its path and idempotency-key header.
async fn read_request(socket: &mut TcpStream) -> Option<(String, String)> {
    let mut buf = Vec::new();
    let mut chunk = [0u8; 4096];
    loop {
        if let Some(end) = buf.windows(4).position(|w| w == b"\r\n\r\n") {
            let head = String::from_utf8_lossy(&buf[..end]).to_string();
            let len = head.lines().find_map(|l| l.to_ascii_lowercase().strip_prefix("content-length:").map(|v| v.trim().parse::<usize>().unwrap_or(0))).unwrap_or(0);
            while buf.len() < end + 4 + len {
                let n = socket.read(&mut chunk).await.ok()?;
                if n == 0 {
                    return None;
                }
                buf.extend_from_slice(&chunk[..n]);
            }
            let path = head.split(' ').nth(1)?.to_owned();
            let key = head.lines().find_map(|l| l.to_ascii_lowercase().strip_prefix("x-creditpool-idempotency-key:").map(|v| v.trim().to_owned()))?;
            return Some((path, key));
        }
        let n = socket.read(&mut chunk).await.ok()?;
        if n == 0 {
            return None;
        }
        buf.extend_from_slice(&chunk[..n]);
    }
}

/// Answers `/a` always and `/b` once `answer_b` is set; holds the rest.
async fn receiver(answer_b: Arc<AtomicBool>, seen: Arc<Mutex<Seen>>) -> String {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let base = format!("http://{}", listener.local_addr().unwrap());
    tokio::spawn(async move {
        let held = Arc::new(Mutex::new(Vec::new()));
        while let Ok((mut socket, _)) = listener.accept().await {
            let (answer_b, seen, held) = (Arc::clone(&answer_b), Arc::clone(&seen), Arc::clone(&held));
            tokio::spawn(async move {
                let Some((path, key)) = read_request(&mut socket).await else { return };
                if path == "/a" || answer_b.load(Ordering::SeqCst) {
                    seen.lock().unwrap().delivered.entry(path).or_default().push(key);
                    let _ = socket.write_all(b"HTTP/1.1 200 OK\r\ncontent-length: 2\r\nconnection: close\r\n\r\n{}").await;
                    let _ = socket.shutdown().await;
                } else {
                    seen.lock().unwrap().held.entry(path).or_default().push(key);
                    held.lock().unwrap().push(socket);
                }
            });
        }
    });
    base
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn alerts_pending_at_a_kill_9_are_delivered_once_after_restart() {
    if std::env::var_os(DIR_ENV).is_some() {
        return;
    }
    let dir = std::env::temp_dir().join(format!("creditpool-alert-crash-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    let answer_b = Arc::new(AtomicBool::new(false));
    let seen = Arc::new(Mutex::new(Seen::default()));
    let base = receiver(Arc::clone(&answer_b), Arc::clone(&seen)).await;

    let mut child = Command::new(std::env::current_exe().unwrap())
        .args(["--exact", "alerter_child", "--nocapture", "--test-threads=1"])
        .env(DIR_ENV, &dir)
        .env(URL_ENV, &base)
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit())
        .spawn()
        .unwrap();
    let stdout = child.stdout.take().unwrap();
    let alerted = tokio::task::spawn_blocking(move || BufReader::new(stdout).lines().map_while(Result::ok).any(|l| l.ends_with("alerted"))).await.unwrap();
    assert!(alerted, "the child ended before alerting");
    // Wait until /a has both alerts, the child has recorded both outcomes (a
    // delivery answered but not yet recorded at the kill goes again after the
    // restart, with the same key: at-least-once), and /b holds both (no
    // timing: poll the receiver and the record).
    let recorded = |dir: &std::path::Path| std::fs::read_to_string(dir.join("deliveries.jsonl")).map_or(0, |t| t.lines().count());
    loop {
        {
            let s = seen.lock().unwrap();
            let n = |m: &BTreeMap<String, Vec<String>>, p: &str| m.get(p).map_or(0, Vec::len);
            if n(&s.delivered, "/a") == 2 && n(&s.held, "/b") >= 2 && recorded(&dir) >= 2 {
                break;
            }
        }
        assert!(child.try_wait().unwrap().is_none(), "the child died");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    child.kill().unwrap(); // SIGKILL, between the alert and its delivery to /b
    assert!(!child.wait().unwrap().success());
    let records = std::fs::read_to_string(dir.join("deliveries.jsonl")).unwrap();
    assert!(!records.contains("127.0.0.1") && !records.contains("/a"), "the record holds no URL: {records}");

    // Restart: /b now answers.
    answer_b.store(true, Ordering::SeqCst);
    let pool = SharedPool::open_dir(&dir, config()).unwrap();
    assert_eq!(pool.snapshot().pending_events.len(), 2, "both alerts were still pending");
    hooks(&pool, &base);
    assert!(pool.close(Duration::from_secs(60)).await, "the pending alerts were not delivered");
    assert_eq!(pool.snapshot().pending_events.len(), 0, "delivered alerts leave the pool");
    drop(pool);
    // A third opening: nothing is pending, nothing goes again.
    let pool = SharedPool::open_dir(&dir, config()).unwrap();
    hooks(&pool, &base);
    assert!(pool.close(Duration::from_secs(60)).await);
    drop(pool);

    let s = seen.lock().unwrap();
    let a = s.delivered.get("/a").cloned().unwrap_or_default();
    let b = s.delivered.get("/b").cloned().unwrap_or_default();
    let mut held_b = s.held.get("/b").cloned().unwrap_or_default();
    held_b.sort();
    held_b.dedup();
    let mut sorted_a = a.clone();
    sorted_a.sort();
    sorted_a.dedup();
    assert_eq!(sorted_a.len(), 2);
    assert_eq!(a.len(), 2, "/a got an alert twice: {a:?}");
    let mut sorted_b = b.clone();
    sorted_b.sort();
    assert_eq!(sorted_b, held_b, "/b got each pending alert once, with the key it had before the crash");
    assert_eq!(sorted_b, sorted_a);
    let _ = std::fs::remove_dir_all(&dir);
}
