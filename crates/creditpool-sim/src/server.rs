//! The HTTP server: binding, routes, the headers every response carries
//! (`request-id`, CORS, rate limits, `x-creditpool-simulator`), the
//! simulator-only control endpoints, and clean shutdown.

use crate::api_error::ApiFailure;
use crate::faults::Faults;
use crate::messages;
use crate::ratelimit::RateWindow;
use crate::scenario::{Scenario, Script};
use crate::threads::{Threads, DEFAULT_THREAD_TTL_MS};
use crate::usage_log::UsageLog;
use crate::{Config, SimError, DEFAULT_POOL_FIELD};
use axum::body::Body;
use axum::extract::{Request, State};
use axum::http::{HeaderMap, HeaderValue, Method, StatusCode};
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Extension, Router};
use std::future::Future;
use std::net::{Ipv4Addr, SocketAddr};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::{Duration, SystemTime, UNIX_EPOCH};
use tokio::net::TcpListener;
use tokio::sync::watch;

/// How long open responses get to finish once the simulator is told to stop.
const GRACE: Duration = Duration::from_secs(3);

/// Request headers a browser page may send (CORS).
const ALLOW_HEADERS: &str = "x-api-key, anthropic-version, anthropic-beta, content-type, anthropic-dangerous-direct-browser-access, authorization";

/// Response headers a browser page may read (CORS).
const EXPOSE_HEADERS: &str = "request-id, retry-after, retry-after-ms, x-should-retry, \
anthropic-ratelimit-requests-limit, anthropic-ratelimit-requests-remaining, anthropic-ratelimit-requests-reset, \
anthropic-ratelimit-tokens-limit, anthropic-ratelimit-tokens-remaining, anthropic-ratelimit-tokens-reset, \
x-creditpool-credit-pool, x-creditpool-simulator";

/// The request ID the middleware gave a request.
#[derive(Clone, Debug)]
pub(crate) struct RequestId {
    /// `req_sim_000001`, ...
    pub id: String,
    /// The number in it, which also numbers message and tool IDs.
    pub seq: u64,
}

/// State shared by every request.
#[derive(Debug)]
pub(crate) struct Shared {
    /// Accepted keys (empty: any non-empty key).
    pub keys: Vec<String>,
    initial: Option<Scenario>,
    cli_fault_rate: f64,
    cli_seed: u64,
    /// `--reject-pool-selector`: the pool selector field is refused too.
    pub reject_pool_selector: bool,
    /// How long a message thread lives after its last request, ms.
    pub thread_ttl_ms: u64,
    inner: Mutex<Inner>,
    /// Becomes `true` when the simulator stops; open streams end then.
    pub stopping: watch::Receiver<bool>,
}

/// State that changes with each request.
#[derive(Debug)]
pub(crate) struct Inner {
    seq: u64,
    /// How many times `POST /_sim/reset` ran: a response still being sent
    /// across a reset logs its usage to the file only, never into the
    /// in-memory log of the test that came after it.
    pub epoch: u64,
    /// The scenario being played.
    pub script: Script,
    /// The fault generator.
    pub faults: Faults,
    /// `retry-after` of injected 429s and 529s.
    pub fault_retry_after: u64,
    /// How long an injected stall lasts.
    pub fault_stall: Duration,
    /// Responses whose body is still being sent: their usage is logged when they end.
    pub open_responses: u64,
    /// The pool selector field.
    pub pool_field: String,
    /// Whether the scenario asks to refuse the pool selector field too.
    pub reject_pool_field: bool,
    /// The usage reported so far.
    pub usage: UsageLog,
    /// The rate-limit window.
    pub window: RateWindow,
    /// The message threads held.
    pub threads: Threads,
    /// How far `POST /_sim/clock` moved the simulator's clock ahead of the
    /// system's, ms.
    pub clock_offset_ms: u64,
    /// The bodies of the last [`RECORDED_REQUESTS`] `/v1/messages` requests
    /// that passed the checks (`GET /_sim/requests`), oldest first.
    pub requests: std::collections::VecDeque<serde_json::Value>,
}

/// How many request bodies `GET /_sim/requests` keeps (the oldest go first).
pub(crate) const RECORDED_REQUESTS: usize = 32;
/// A body larger than this is recorded by its size only (memory stays bounded).
pub(crate) const RECORDED_BODY_BYTES: usize = 1 << 20;

impl Inner {
    /// The simulator's clock (threads expire on it): Unix ms, moved ahead by
    /// `POST /_sim/clock`.
    pub fn sim_now_ms(&self) -> u64 {
        now_ms().saturating_add(self.clock_offset_ms)
    }

    /// Keeps a checked `/v1/messages` body for `GET /_sim/requests`.
    pub fn record_request(&mut self, request_id: &str, body: &serde_json::Map<String, serde_json::Value>, body_bytes: usize) {
        if self.requests.len() >= RECORDED_REQUESTS {
            self.requests.pop_front();
        }
        let body = if body_bytes <= RECORDED_BODY_BYTES { serde_json::Value::Object(body.clone()) } else { serde_json::Value::Null };
        self.requests.push_back(serde_json::json!({"request_id": request_id, "body_bytes": body_bytes, "body": body}));
    }

    fn load(&mut self, scenario: Option<&Scenario>, cli_fault_rate: f64, cli_seed: u64) {
        self.script = scenario.map(Script::new).unwrap_or_default();
        let rate = scenario.and_then(|s| s.fault_rate).unwrap_or(cli_fault_rate);
        let seed = scenario.and_then(|s| s.seed).unwrap_or(cli_seed);
        self.faults = Faults::new(rate, seed).with_kinds(scenario.and_then(|s| s.fault_kinds.as_deref()).unwrap_or_default());
        self.fault_stall = Duration::from_millis(scenario.and_then(|s| s.fault_stall_ms).unwrap_or(1000));
        self.fault_retry_after = scenario.and_then(|s| s.fault_retry_after).unwrap_or(1);
        self.pool_field = scenario.and_then(|s| s.pool_field.clone()).unwrap_or_else(|| DEFAULT_POOL_FIELD.to_owned());
        self.reject_pool_field = scenario.is_some_and(|s| s.reject_pool_field);
    }
}

impl Shared {
    /// The changing state. A panic elsewhere never poisons it for good.
    pub fn lock(&self) -> MutexGuard<'_, Inner> {
        self.inner.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
    }
}

/// Unix milliseconds now (the simulator is a binary and may read the clock).
pub(crate) fn now_ms() -> u64 {
    SystemTime::now().duration_since(UNIX_EPOCH).map(|d| d.as_millis() as u64).unwrap_or(0)
}

/// A bound simulator, not yet serving.
#[derive(Debug)]
pub struct Simulator {
    listener: TcpListener,
    addr: SocketAddr,
    shared: Arc<Shared>,
    stop: watch::Sender<bool>,
}

impl Simulator {
    /// Binds 127.0.0.1 on the configured port (0: a free one) and opens the
    /// usage log.
    pub async fn bind(config: Config) -> Result<Simulator, SimError> {
        let addr = SocketAddr::from((Ipv4Addr::LOCALHOST, config.port));
        let listener = TcpListener::bind(addr).await.map_err(|source| SimError::Bind { addr, source })?;
        let addr = listener.local_addr().map_err(|source| SimError::Bind { addr, source })?;
        let usage = match &config.usage_log {
            Some(path) => UsageLog::with_file(path).map_err(|source| SimError::UsageLog { path: path.clone(), source })?,
            None => UsageLog::default(),
        };
        let (stop, stopping) = watch::channel(false);
        let mut inner = Inner {
            seq: 0,
            epoch: 0,
            script: Script::default(),
            faults: Faults::new(0.0, 0),
            fault_retry_after: 1,
            fault_stall: Duration::from_millis(1000),
            open_responses: 0,
            pool_field: DEFAULT_POOL_FIELD.to_owned(),
            reject_pool_field: false,
            usage,
            window: RateWindow::default(),
            threads: Threads::default(),
            clock_offset_ms: 0,
            requests: std::collections::VecDeque::new(),
        };
        inner.load(config.scenario.as_ref(), config.fault_rate, config.seed);
        let shared = Shared {
            keys: config.keys,
            initial: config.scenario,
            cli_fault_rate: config.fault_rate,
            cli_seed: config.seed,
            reject_pool_selector: config.reject_pool_selector,
            thread_ttl_ms: config.thread_ttl_ms.unwrap_or(DEFAULT_THREAD_TTL_MS),
            inner: Mutex::new(inner),
            stopping,
        };
        Ok(Simulator { listener, addr, shared: Arc::new(shared), stop })
    }

    /// The bound address.
    pub fn local_addr(&self) -> SocketAddr {
        self.addr
    }

    /// `http://127.0.0.1:PORT`.
    pub fn url(&self) -> String {
        format!("http://{}", self.addr)
    }

    /// Serves until `shutdown` resolves, then lets open responses finish for
    /// a few seconds (streams are ended at once) and returns.
    pub async fn serve(self, shutdown: impl Future<Output = ()> + Send + 'static) -> Result<(), SimError> {
        let Simulator { listener, shared, stop, .. } = self;
        let app = router(shared);
        let mut graceful = stop.subscribe();
        let mut deadline = stop.subscribe();
        tokio::spawn(async move {
            shutdown.await;
            stop.send_replace(true);
        });
        let server = axum::serve(listener, app).with_graceful_shutdown(async move {
            let _ = graceful.wait_for(|s| *s).await;
        });
        tokio::select! {
            r = server => r.map_err(|source| SimError::Server { source }),
            () = async move {
                let _ = deadline.wait_for(|s| *s).await;
                tokio::time::sleep(GRACE).await;
            } => Ok(()),
        }
    }
}

/// A simulator serving on a thread of its own, for tests: stops when
/// [`Running::stop`] is called or when it is dropped.
#[derive(Debug)]
pub struct Running {
    addr: SocketAddr,
    stop: Option<tokio::sync::oneshot::Sender<()>>,
    thread: Option<std::thread::JoinHandle<Result<(), SimError>>>,
}

impl Running {
    /// The bound address.
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// The bound port.
    pub fn port(&self) -> u16 {
        self.addr.port()
    }

    /// `http://127.0.0.1:PORT`.
    pub fn url(&self) -> String {
        format!("http://{}", self.addr)
    }

    /// Stops the simulator and waits for its thread.
    pub fn stop(mut self) {
        self.shut_down();
    }

    fn shut_down(&mut self) {
        if let Some(tx) = self.stop.take() {
            let _ = tx.send(());
        }
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}

impl Drop for Running {
    fn drop(&mut self) {
        self.shut_down();
    }
}

/// Starts a simulator on a thread of its own (with its own async runtime) and
/// returns once it listens.
pub fn start(config: Config) -> Result<Running, SimError> {
    let (ready_tx, ready_rx) = std::sync::mpsc::channel::<Result<SocketAddr, SimError>>();
    let (stop_tx, stop_rx) = tokio::sync::oneshot::channel::<()>();
    let thread = std::thread::Builder::new()
        .name("creditpool-sim".into())
        .spawn(move || -> Result<(), SimError> {
            let runtime = tokio::runtime::Builder::new_multi_thread().worker_threads(2).enable_all().build().map_err(|source| SimError::Server { source })?;
            runtime.block_on(async move {
                let sim = match Simulator::bind(config).await {
                    Ok(sim) => sim,
                    Err(e) => {
                        let _ = ready_tx.send(Err(e));
                        return Ok(());
                    }
                };
                let _ = ready_tx.send(Ok(sim.local_addr()));
                sim.serve(async move {
                    let _ = stop_rx.await;
                })
                .await
            })
        })
        .map_err(|source| SimError::Server { source })?;
    match ready_rx.recv() {
        Ok(Ok(addr)) => Ok(Running { addr, stop: Some(stop_tx), thread: Some(thread) }),
        Ok(Err(e)) => {
            let _ = thread.join();
            Err(e)
        }
        Err(_) => match thread.join() {
            Ok(Err(e)) => Err(e),
            _ => Err(SimError::Server { source: std::io::Error::other("the simulator thread ended before listening") }),
        },
    }
}

fn router(shared: Arc<Shared>) -> Router {
    Router::new()
        .route("/v1/messages", post(messages::post_messages).fallback(method_not_allowed))
        .route("/v1/messages/count_tokens", post(messages::post_count_tokens).fallback(method_not_allowed))
        .route("/_sim/usage", get(get_usage).fallback(method_not_allowed))
        .route("/_sim/requests", get(get_requests).fallback(method_not_allowed))
        .route("/_sim/scenario", post(post_scenario).get(get_scenario).fallback(method_not_allowed))
        .route("/_sim/reset", post(post_reset).fallback(method_not_allowed))
        .route("/_sim/clock", post(post_clock).get(get_clock).fallback(method_not_allowed))
        .fallback(not_found)
        .layer(middleware::from_fn_with_state(shared.clone(), common_headers))
        .with_state(shared)
}

/// Gives every request its ID, answers CORS preflight, and adds the headers
/// every response carries.
async fn common_headers(State(shared): State<Arc<Shared>>, mut request: Request, next: Next) -> Response {
    let control = request.uri().path().starts_with("/_sim/");
    let preflight = request.method() == Method::OPTIONS;
    let rid = if preflight {
        RequestId { id: "req_sim_preflight".to_owned(), seq: 0 }
    } else if control {
        RequestId { id: "req_sim_control".to_owned(), seq: 0 }
    } else {
        let mut inner = shared.lock();
        inner.seq += 1;
        inner.window.count_request(now_ms());
        RequestId { id: format!("req_sim_{:06}", inner.seq), seq: inner.seq }
    };
    let mut response = if preflight {
        preflight_response(request.headers())
    } else {
        request.extensions_mut().insert(rid.clone());
        next.run(request).await
    };
    let rate_headers = shared.lock().window.headers(now_ms());
    let headers = response.headers_mut();
    set(headers, "request-id", &rid.id);
    set(headers, "access-control-allow-origin", "*");
    set(headers, "access-control-expose-headers", EXPOSE_HEADERS);
    set(headers, "x-creditpool-simulator", "true");
    for (name, value) in rate_headers {
        if !headers.contains_key(name) {
            set(headers, name, &value);
        }
    }
    response
}

fn preflight_response(request_headers: &HeaderMap) -> Response {
    let mut allow = ALLOW_HEADERS.to_owned();
    if let Some(asked) = request_headers.get("access-control-request-headers").and_then(|v| v.to_str().ok()) {
        for h in asked.split(',').map(|h| h.trim().to_ascii_lowercase()).filter(|h| !h.is_empty()) {
            if !allow.split(", ").any(|a| a == h) {
                allow.push_str(", ");
                allow.push_str(&h);
            }
        }
    }
    let mut response = StatusCode::NO_CONTENT.into_response();
    let headers = response.headers_mut();
    set(headers, "access-control-allow-methods", "GET, POST, OPTIONS");
    set(headers, "access-control-allow-headers", &allow);
    set(headers, "access-control-max-age", "600");
    response
}

/// Sets a header, skipping values that are not valid header text.
pub(crate) fn set(headers: &mut HeaderMap, name: &'static str, value: &str) {
    if let Ok(v) = HeaderValue::from_str(value) {
        headers.insert(name, v);
    }
}

async fn not_found(Extension(rid): Extension<RequestId>, request: Request) -> Response {
    ApiFailure::new(404, format!("Not found: {} {}", request.method(), request.uri().path())).into_response(&rid.id)
}

async fn method_not_allowed(Extension(rid): Extension<RequestId>, request: Request) -> Response {
    let mut f = ApiFailure::new(405, format!("Method {} is not allowed on {}", request.method(), request.uri().path()));
    f.kind = "invalid_request_error".to_owned();
    f.into_response(&rid.id)
}

fn json_response(status: StatusCode, value: &serde_json::Value) -> Response {
    (status, [("content-type", "application/json")], value.to_string()).into_response()
}

/// How long `GET /_sim/usage` waits for responses still being sent.
const USAGE_WAIT: Duration = Duration::from_secs(5);

/// `GET /_sim/usage`: the usage log so far, as a JSON array. A streamed
/// response is logged when its body ends; the call first waits (up to 5 s)
/// for the responses still being sent, and the header `x-creditpool-sim-open`
/// counts those still open after that (0 when the log is whole).
async fn get_usage(State(shared): State<Arc<Shared>>) -> Response {
    let deadline = tokio::time::Instant::now() + USAGE_WAIT;
    while shared.lock().open_responses > 0 && tokio::time::Instant::now() < deadline {
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    let (entries, open) = {
        let inner = shared.lock();
        (serde_json::to_value(inner.usage.entries()).unwrap_or_default(), inner.open_responses)
    };
    let mut response = json_response(StatusCode::OK, &entries);
    set(response.headers_mut(), "x-creditpool-sim-open", &open.to_string());
    response
}

/// `GET /_sim/requests`: the last [`RECORDED_REQUESTS`] `/v1/messages`
/// bodies that passed the checks, oldest first, as `[{"request_id",
/// "body_bytes", "body"}]` (`body` is null above [`RECORDED_BODY_BYTES`]):
/// what a client really sent, for tests.
async fn get_requests(State(shared): State<Arc<Shared>>) -> Response {
    let requests: Vec<serde_json::Value> = shared.lock().requests.iter().cloned().collect();
    json_response(StatusCode::OK, &serde_json::Value::Array(requests))
}

/// `POST /_sim/scenario`: replaces the scenario (played from its first step).
async fn post_scenario(State(shared): State<Arc<Shared>>, Extension(rid): Extension<RequestId>, body: Body) -> Response {
    let bytes = match axum::body::to_bytes(body, messages::MAX_BODY_BYTES).await {
        Ok(b) => b,
        Err(_) => return ApiFailure::new(413, "scenario too large").into_response(&rid.id),
    };
    let text = String::from_utf8_lossy(&bytes);
    match Scenario::from_json(&text, "request body") {
        Ok(scenario) => {
            let mut inner = shared.lock();
            inner.load(Some(&scenario), shared.cli_fault_rate, shared.cli_seed);
            json_response(StatusCode::OK, &serde_json::json!({"steps": scenario.steps.len(), "remaining": inner.script.remaining()}))
        }
        Err(e) => ApiFailure::invalid(e.to_string()).into_response(&rid.id),
    }
}

/// `GET /_sim/scenario`: how many requests the script can still answer.
async fn get_scenario(State(shared): State<Arc<Shared>>) -> Response {
    json_response(StatusCode::OK, &serde_json::json!({"remaining": shared.lock().script.remaining()}))
}

/// `POST /_sim/clock` with `{"advance_ms": N}`: moves the simulator's clock
/// (on which message threads expire) N ms ahead. Answers `{"now_ms",
/// "thread_ttl_ms", "threads"}`, as `GET /_sim/clock` does.
async fn post_clock(State(shared): State<Arc<Shared>>, Extension(rid): Extension<RequestId>, body: Body) -> Response {
    let bytes = axum::body::to_bytes(body, 4096).await.unwrap_or_default();
    let advance = serde_json::from_slice::<serde_json::Value>(&bytes).ok().and_then(|v| v.get("advance_ms").and_then(serde_json::Value::as_u64));
    let Some(advance) = advance else {
        return ApiFailure::invalid("advance_ms: a non-negative integer is required").into_response(&rid.id);
    };
    {
        let mut inner = shared.lock();
        inner.clock_offset_ms = inner.clock_offset_ms.saturating_add(advance);
    }
    get_clock(State(shared)).await
}

/// `GET /_sim/clock`: the simulator's clock, the threads' time to live and
/// how many threads are held.
async fn get_clock(State(shared): State<Arc<Shared>>) -> Response {
    let inner = shared.lock();
    json_response(StatusCode::OK, &serde_json::json!({"now_ms": inner.sim_now_ms(), "thread_ttl_ms": shared.thread_ttl_ms, "threads": inner.threads.len()}))
}

/// `POST /_sim/reset`: back to the state at start: the command line's
/// scenario from its first step, request IDs from 1, faults reseeded, the
/// in-memory usage log empty (the usage log file keeps its lines; a response
/// still being sent logs to the file only when it ends), no
/// message threads, the clock back to the system's.
async fn post_reset(State(shared): State<Arc<Shared>>) -> Response {
    let mut inner = shared.lock();
    inner.seq = 0;
    inner.epoch += 1;
    inner.threads.clear();
    inner.clock_offset_ms = 0;
    inner.load(shared.initial.as_ref(), shared.cli_fault_rate, shared.cli_seed);
    inner.usage.clear();
    inner.requests.clear();
    inner.window = RateWindow::default();
    json_response(StatusCode::OK, &serde_json::json!({"ok": true}))
}
