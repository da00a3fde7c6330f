//! Issue 10 item 15 (Rust): webhook deliveries run with timeouts and bounded
//! concurrency, and `close` / `flush_within` take a deadline. The receivers
//! are local TCP servers started here: one that accepts and never answers,
//! one that answers 200, one that counts the requests it holds at once.

use creditpool::core::pool::webhook::DEFAULT_DELIVERY_CONCURRENCY;
use creditpool::core::retry::RetryPolicy;
use creditpool::pool::Webhook;
use creditpool::{Money, PoolConfig, SharedPool};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::{mpsc, watch};

/// Reads one HTTP request (head and `content-length` body); its body.
async fn read_request(socket: &mut TcpStream) -> Option<Vec<u8>> {
    let mut buf = Vec::new();
    let mut chunk = [0u8; 4096];
    loop {
        if let Some(end) = buf.windows(4).position(|w| w == b"\r\n\r\n") {
            let head = String::from_utf8_lossy(&buf[..end]).to_ascii_lowercase();
            let len = head.lines().find_map(|l| l.strip_prefix("content-length:").map(|v| v.trim().parse::<usize>().unwrap_or(0))).unwrap_or(0);
            while buf.len() < end + 4 + len {
                let n = socket.read(&mut chunk).await.ok()?;
                if n == 0 {
                    return None;
                }
                buf.extend_from_slice(&chunk[..n]);
            }
            return Some(buf[end + 4..end + 4 + len].to_vec());
        }
        let n = socket.read(&mut chunk).await.ok()?;
        if n == 0 {
            return None;
        }
        buf.extend_from_slice(&chunk[..n]);
    }
}

async fn answer_200(socket: &mut TcpStream) {
    let _ = socket.write_all(b"HTTP/1.1 200 OK\r\ncontent-length: 2\r\nconnection: close\r\n\r\n{}").await;
    let _ = socket.shutdown().await;
}

/// Accepts connections and never answers (keeps them open); sends a unit per
/// connection accepted.
async fn silent_server() -> (String, mpsc::UnboundedReceiver<()>) {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}/hook", listener.local_addr().unwrap());
    let (tx, rx) = mpsc::unbounded_channel();
    tokio::spawn(async move {
        let mut held = Vec::new();
        while let Ok((socket, _)) = listener.accept().await {
            held.push(socket);
            let _ = tx.send(());
        }
    });
    (url, rx)
}

/// Answers every request 200; sends each body received.
async fn answering_server() -> (String, mpsc::UnboundedReceiver<Vec<u8>>) {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}/hook", listener.local_addr().unwrap());
    let (tx, rx) = mpsc::unbounded_channel();
    tokio::spawn(async move {
        while let Ok((mut socket, _)) = listener.accept().await {
            let tx = tx.clone();
            tokio::spawn(async move {
                if let Some(body) = read_request(&mut socket).await {
                    let _ = tx.send(body);
                    answer_200(&mut socket).await;
                }
            });
        }
    });
    (url, rx)
}

/// One alert (the 50 % threshold) out of a fresh pool.
fn raise_one_alert(pool: &SharedPool) {
    let now = creditpool::time::now_ms();
    let r = pool.with(|p| p.reserve("a", Money::from_nanos(600), now)).unwrap();
    pool.with(|p| p.settle(r.id, Money::from_nanos(500), None, now)).unwrap();
}

fn errors_of(pool: &SharedPool) -> Arc<Mutex<Vec<String>>> {
    let errors = Arc::new(Mutex::new(Vec::new()));
    let e = Arc::clone(&errors);
    pool.on_error(move |err| e.lock().unwrap().push(err.to_string()));
    errors
}

/// A receiver that accepts and never answers holds its own delivery only:
/// another webhook's delivery of the same alert arrives, and `close` returns
/// false at its deadline instead of waiting for the silent one. Alerts after
/// `close` are reported, not POSTed.
#[tokio::test]
async fn a_silent_endpoint_blocks_neither_another_webhook_nor_close() {
    let (silent_url, mut accepted) = silent_server().await;
    let (good_url, mut received) = answering_server().await;
    let pool = SharedPool::new(PoolConfig::new(Money::from_nanos(1_000))).unwrap();
    let errors = errors_of(&pool);
    // Its attempt waits far longer than the test: only close's deadline ends the wait.
    pool.webhook(Webhook::new(silent_url, "s").unwrap().timeout(Duration::from_secs(3_600)).retry_policy(RetryPolicy { max_retries: 0, ..RetryPolicy::default() }));
    pool.webhook(Webhook::new(good_url, "s").unwrap());
    raise_one_alert(&pool);

    accepted.recv().await.expect("the silent endpoint got its connection");
    let body = received.recv().await.expect("the other webhook got the alert");
    assert!(String::from_utf8_lossy(&body).contains("\"percent\":50"));

    assert!(!pool.flush_within(Duration::from_millis(200)).await, "the silent delivery is still under way");
    assert!(!pool.close(Duration::from_millis(200)).await, "close gives up at its deadline");

    // Closed: the next alert (75 %) is reported to on_error, not delivered.
    let now = creditpool::time::now_ms();
    let r = pool.with(|p| p.reserve("a", Money::from_nanos(300), now)).unwrap();
    pool.with(|p| p.settle(r.id, Money::from_nanos(300), None, now)).unwrap();
    let errors = errors.lock().unwrap().clone();
    assert_eq!(errors.len(), 2, "one 75 % alert for each webhook: {errors:?}");
    assert!(errors.iter().all(|e| e.contains("closed")), "{errors:?}");
    assert!(received.try_recv().is_err(), "nothing POSTed after close");
}

/// `close` returns true once every delivery ended (here: delivered).
#[tokio::test]
async fn close_returns_true_when_everything_was_delivered() {
    let (good_url, mut received) = answering_server().await;
    let pool = SharedPool::new(PoolConfig::new(Money::from_nanos(1_000))).unwrap();
    let errors = errors_of(&pool);
    pool.webhook(Webhook::new(good_url, "s").unwrap());
    raise_one_alert(&pool);
    assert!(pool.close(Duration::from_secs(600)).await);
    assert!(received.try_recv().is_ok(), "delivered before close returned");
    assert!(errors.lock().unwrap().is_empty());
}

/// More deliveries than the bound: the receiver never holds more than
/// `DEFAULT_DELIVERY_CONCURRENCY` requests at once, and does hold that many
/// (the deliveries run side by side, not one by one); all are delivered.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn deliveries_never_run_more_than_the_bound_at_once() {
    let bound = DEFAULT_DELIVERY_CONCURRENCY;
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}/hook", listener.local_addr().unwrap());
    let in_flight = Arc::new(AtomicUsize::new(0));
    let peak = Arc::new(AtomicUsize::new(0));
    let served = Arc::new(AtomicUsize::new(0));
    // Set once `bound` requests were held at once; a request is answered only
    // after that (or a long fallback) and after a pause, so that deliveries
    // over the bound, if they were started, would overlap.
    let (reached_tx, reached_rx) = watch::channel(false);
    let reached_tx = Arc::new(reached_tx);
    {
        let (in_flight, peak, served) = (Arc::clone(&in_flight), Arc::clone(&peak), Arc::clone(&served));
        tokio::spawn(async move {
            while let Ok((mut socket, _)) = listener.accept().await {
                let (in_flight, peak, served) = (Arc::clone(&in_flight), Arc::clone(&peak), Arc::clone(&served));
                let (reached_tx, mut reached_rx) = (Arc::clone(&reached_tx), reached_rx.clone());
                tokio::spawn(async move {
                    if read_request(&mut socket).await.is_none() {
                        return;
                    }
                    let now = in_flight.fetch_add(1, Ordering::SeqCst) + 1;
                    peak.fetch_max(now, Ordering::SeqCst);
                    if now >= bound {
                        let _ = reached_tx.send(true);
                    }
                    let _ = tokio::time::timeout(Duration::from_secs(30), reached_rx.wait_for(|r| *r)).await;
                    tokio::time::sleep(Duration::from_millis(200)).await;
                    in_flight.fetch_sub(1, Ordering::SeqCst);
                    served.fetch_add(1, Ordering::SeqCst);
                    answer_200(&mut socket).await;
                });
            }
        });
    }
    let pool = SharedPool::new(PoolConfig::new(Money::from_nanos(1_000))).unwrap();
    let errors = errors_of(&pool);
    let hooks = bound * 2 + 2;
    for _ in 0..hooks {
        pool.webhook(Webhook::new(url.clone(), "s").unwrap());
    }
    raise_one_alert(&pool);
    assert!(pool.flush_within(Duration::from_secs(600)).await);
    assert!(errors.lock().unwrap().is_empty(), "{:?}", errors.lock().unwrap());
    assert_eq!(served.load(Ordering::SeqCst), hooks, "every delivery was made");
    assert_eq!(peak.load(Ordering::SeqCst), bound, "at most {bound} at once, and that many side by side");
}

/// An attempt's timeout ends a delivery to a receiver that never answers: it
/// is given up and reported to `on_error`, and the queue is idle again. (A
/// guard: the per-attempt timeout predates item 15.)
#[tokio::test]
async fn a_silent_endpoint_is_given_up_at_its_timeout_and_reported() {
    let (silent_url, mut accepted) = silent_server().await;
    let pool = SharedPool::new(PoolConfig::new(Money::from_nanos(1_000))).unwrap();
    let errors = errors_of(&pool);
    pool.webhook(Webhook::new(silent_url, "s").unwrap().timeout(Duration::from_millis(100)).retry_policy(RetryPolicy { max_retries: 0, ..RetryPolicy::default() }));
    raise_one_alert(&pool);
    assert!(pool.flush_within(Duration::from_secs(600)).await, "the attempt's timeout ended the delivery");
    assert!(accepted.try_recv().is_ok(), "the receiver got the connection");
    let errors = errors.lock().unwrap().clone();
    assert_eq!(errors.len(), 1, "{errors:?}");
    assert!(errors[0].contains("127.0.0.1"), "{errors:?}");
}
