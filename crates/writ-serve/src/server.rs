//! The HTTP server: routes, thin handlers (decode, call the mapping and the engine, encode),
//! the guard layer (bearer tokens, concurrency, time limit, `X-Request-ID`), hot reload.

use arc_swap::ArcSwap;
use axum::Router;
use axum::body::{Body, Bytes};
use axum::extract::{Request, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::middleware::{self, Next};
use axum::response::Response;
use axum::routing::{get, post};
use serde::Serialize;
use serde_json::{Value, json};
use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};
use tokio::sync::Semaphore;
use writ::{Decision, Verdict};

use crate::authzen::{self, Batch, BodyError, Evaluation, FieldError};
use crate::config::Config;
use crate::decision_log::{DecisionLog, Record, RequestData};
use crate::metrics::Metrics;
use crate::state::{self, Failure, Snapshot};

/// What every handler shares.
pub(crate) struct Shared {
    config: Config,
    current: ArcSwap<Snapshot>,
    failure: Mutex<Option<Failure>>,
    reload_lock: tokio::sync::Mutex<()>,
    metrics: Metrics,
    log: Option<DecisionLog>,
    tokens: Vec<Vec<u8>>,
    busy: Arc<Semaphore>,
    ids: Ids,
    draining: AtomicBool,
}

/// Decision ids: a per-process random prefix and a counter (unique across replicas).
struct Ids {
    prefix: String,
    next: AtomicU64,
}

impl Ids {
    fn new() -> Ids {
        use std::hash::{BuildHasher, Hasher};
        let mut h = std::collections::hash_map::RandomState::new().build_hasher();
        h.write_u128(std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap_or_default().as_nanos());
        h.write_u32(std::process::id());
        Ids { prefix: format!("{:016x}", h.finish()), next: AtomicU64::new(1) }
    }

    fn next(&self) -> String {
        format!("{}-{:x}", self.prefix, self.next.fetch_add(1, Ordering::Relaxed))
    }
}

/// What a reload did.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum ReloadOutcome {
    /// A new set (or new entities) is serving, with this version.
    Swapped(String),
    /// The files had not changed.
    Unchanged(String),
    /// The new files do not load; the old set keeps serving. The message says why.
    Failed(String),
}

impl Shared {
    /// Loads the files again off the request path and swaps the new set in, or keeps the
    /// old one and records why not. One reload at a time.
    pub(crate) async fn reload(self: &Arc<Self>) -> ReloadOutcome {
        let _one = self.reload_lock.lock().await;
        let me = self.clone();
        let loaded = tokio::task::spawn_blocking(move || state::load(&me.config)).await;
        let loaded = loaded.unwrap_or_else(|e| Err(failure_of(format!("the reload stopped: {e}"))));
        match loaded {
            Ok(snapshot) => {
                let old = self.current.load();
                if snapshot.version == old.version && snapshot.entities_digest == old.entities_digest {
                    self.set_failure(None);
                    return ReloadOutcome::Unchanged(old.version.to_string());
                }
                let version = snapshot.version.to_string();
                self.current.store(Arc::new(snapshot));
                self.set_failure(None);
                self.metrics.reloads_ok.fetch_add(1, Ordering::Relaxed);
                eprintln!("writ serve: reloaded, serving version {version}");
                ReloadOutcome::Swapped(version)
            }
            Err(f) => {
                self.metrics.reloads_failed.fetch_add(1, Ordering::Relaxed);
                let serving = self.current.load().version.to_string();
                eprint!("writ serve: reload failed, still serving version {serving}:\n{}", f.report);
                let message = f.message.clone();
                self.set_failure(Some(f));
                ReloadOutcome::Failed(message)
            }
        }
    }

    fn set_failure(&self, f: Option<Failure>) {
        if let Ok(mut g) = self.failure.lock() {
            *g = f;
        }
    }

    fn authorized(&self, headers: &HeaderMap) -> bool {
        if self.tokens.is_empty() {
            return true;
        }
        let given = headers
            .get(header::AUTHORIZATION)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.strip_prefix("Bearer ").or_else(|| v.strip_prefix("bearer ")))
            .map(str::trim)
            .unwrap_or_default()
            .as_bytes();
        // Every token is compared, each in constant time (a length mismatch answers at once:
        // only lengths can leak).
        let mut ok = subtle::Choice::from(0u8);
        for t in &self.tokens {
            ok |= subtle::ConstantTimeEq::ct_eq(t.as_slice(), given);
        }
        bool::from(ok) && !given.is_empty()
    }

    fn log(&self, id: &str, source: &'static str, request: RequestData, d: &Decision, start: Instant) {
        if let Some(log) = &self.log {
            log.record(Record::new(id, source, request, d.clone(), start.elapsed()));
        }
    }
}

fn failure_of(message: String) -> Failure {
    Failure {
        at: crate::decision_log::rfc3339(std::time::SystemTime::now()),
        report: format!("{message}\n"),
        message,
        diagnostics: Value::Array(Vec::new()),
    }
}

/// A running server (in this process).
pub struct Server {
    addr: SocketAddr,
    shared: Arc<Shared>,
    stop: Option<tokio::sync::oneshot::Sender<()>>,
    task: tokio::task::JoinHandle<std::io::Result<()>>,
    _watcher: Option<notify::RecommendedWatcher>,
}

impl Server {
    /// The address it listens on.
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// Reloads the policies and entities now (what `SIGHUP` and `POST /v1/admin/reload` do).
    pub async fn reload(&self) -> ReloadOutcome {
        self.shared.reload().await
    }

    /// The version of the policy set serving now.
    pub fn version(&self) -> String {
        self.shared.current.load().version.to_string()
    }

    /// Stops accepting connections, lets requests in flight finish (up to the configured
    /// grace time), then writes out the decision log. Returns whether everything drained.
    pub async fn shutdown(mut self) -> bool {
        self.shared.draining.store(true, Ordering::SeqCst);
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        let grace = Duration::from_millis(self.shared.config.limits.shutdown_grace_ms);
        let drained = matches!(tokio::time::timeout(grace, &mut self.task).await, Ok(Ok(Ok(()))));
        if !drained {
            self.task.abort();
        }
        drop(self._watcher.take());
        let shared = self.shared.clone();
        let _ = tokio::task::spawn_blocking(move || {
            if let Some(log) = &shared.log {
                log.flush();
            }
        })
        .await;
        drained
    }
}

/// Loads the policies, binds the address and starts serving. Errors are rendered text.
pub async fn start(config: Config) -> Result<Server, String> {
    let c = config.clone();
    let snapshot = tokio::task::spawn_blocking(move || state::load(&c))
        .await
        .map_err(|e| format!("loading stopped: {e}"))?
        .map_err(|f| f.report)?;
    let tokens = load_tokens(&config)?;
    let log = match &config.log {
        None => None,
        Some(l) => Some(
            DecisionLog::open(l.to_log_config())
                .map_err(|e| format!("the decision log `{}` cannot be opened: {e}", l.path.display()))?,
        ),
    };
    let listener = tokio::net::TcpListener::bind(config.addr)
        .await
        .map_err(|e| format!("cannot listen on {}: {e}", config.addr))?;
    let addr = listener.local_addr().map_err(|e| e.to_string())?;
    let shared = Arc::new(Shared {
        busy: Arc::new(Semaphore::new(config.limits.max_concurrent.max(1))),
        config,
        current: ArcSwap::from_pointee(snapshot),
        failure: Mutex::new(None),
        reload_lock: tokio::sync::Mutex::new(()),
        metrics: Metrics::default(),
        log,
        tokens,
        ids: Ids::new(),
        draining: AtomicBool::new(false),
    });
    let watcher = if shared.config.watch { Some(watch(shared.clone())?) } else { None };
    let app = router(shared.clone());
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let listener = axum::serve::ListenerExt::tap_io(listener, |s: &mut tokio::net::TcpStream| {
        let _ = s.set_nodelay(true);
    });
    let task = tokio::spawn(async move {
        axum::serve(listener, app)
            .with_graceful_shutdown(async move {
                let _ = stopped.await;
            })
            .await
    });
    Ok(Server { addr, shared, stop: Some(stop), task, _watcher: watcher })
}

fn load_tokens(config: &Config) -> Result<Vec<Vec<u8>>, String> {
    let mut tokens = Vec::new();
    if let Some(f) = &config.auth.tokens_file {
        let text = std::fs::read_to_string(f).map_err(|e| format!("the tokens file `{}`: {e}", f.display()))?;
        tokens.extend(
            text.lines().map(str::trim).filter(|l| !l.is_empty() && !l.starts_with('#')).map(|l| l.as_bytes().to_vec()),
        );
    }
    if let Some(var) = &config.auth.tokens_env {
        let value = std::env::var(var).map_err(|_| format!("the environment variable `{var}` holds no tokens"))?;
        tokens.extend(value.split([',', ' ', '\n', '\t']).filter(|t| !t.is_empty()).map(|t| t.as_bytes().to_vec()));
    }
    if (config.auth.tokens_file.is_some() || config.auth.tokens_env.is_some()) && tokens.is_empty() {
        return Err("bearer tokens are configured but none was found".into());
    }
    Ok(tokens)
}

/// Watches the policy paths and the entities file; a change reloads (after 50 ms of quiet,
/// so that an editor's save or a checkout counts once).
fn watch(shared: Arc<Shared>) -> Result<notify::RecommendedWatcher, String> {
    use notify::{RecursiveMode, Watcher};
    let (tx, mut rx) = tokio::sync::mpsc::unbounded_channel::<()>();
    let mut targets: Vec<(PathBuf, bool)> = Vec::new();
    for p in shared.config.policies.iter().chain(shared.config.entities.iter()) {
        let p = std::fs::canonicalize(p).unwrap_or_else(|_| p.clone());
        targets.push((p.clone(), p.is_dir()));
    }
    let log_path = shared.config.log.as_ref().map(|l| l.path.clone());
    let relevant = targets.clone();
    let mut watcher = notify::recommended_watcher(move |res: notify::Result<notify::Event>| {
        let Ok(ev) = res else { return };
        if matches!(ev.kind, notify::EventKind::Access(_)) {
            return;
        }
        let hit = ev.paths.iter().any(|p| {
            log_path.as_ref().is_none_or(|l| !p.ends_with(l))
                && relevant.iter().any(|(t, dir)| if *dir { p.starts_with(t) } else { p == t })
        });
        if hit {
            let _ = tx.send(());
        }
    })
    .map_err(|e| format!("cannot watch the policy files: {e}"))?;
    for (t, dir) in &targets {
        let (what, mode) = if *dir {
            (t.clone(), RecursiveMode::Recursive)
        } else {
            (t.parent().map(PathBuf::from).unwrap_or_else(|| t.clone()), RecursiveMode::NonRecursive)
        };
        watcher.watch(&what, mode).map_err(|e| format!("cannot watch `{}`: {e}", what.display()))?;
    }
    tokio::spawn(async move {
        while rx.recv().await.is_some() {
            tokio::time::sleep(Duration::from_millis(50)).await;
            while rx.try_recv().is_ok() {}
            shared.reload().await;
        }
    });
    Ok(watcher)
}

pub(crate) fn router(shared: Arc<Shared>) -> Router {
    Router::new()
        .route("/access/v1/evaluation", post(authzen_evaluation))
        .route("/access/v1/evaluations", post(authzen_evaluations))
        .route("/.well-known/authzen-configuration", get(well_known))
        .route("/v1/decide", post(decide))
        .route("/v1/decide/batch", post(decide_batch))
        .route("/v1/policies", get(policies))
        .route("/v1/admin/reload", post(admin_reload))
        .route("/healthz", get(healthz))
        .route("/readyz", get(readyz))
        .route("/metrics", get(metrics))
        .fallback(not_found)
        .layer(middleware::from_fn_with_state(shared.clone(), guard))
        .with_state(shared)
}

/// Bearer tokens, the concurrency limit (429), the time limit (503), `X-Request-ID`.
async fn guard(State(s): State<Arc<Shared>>, req: Request, next: Next) -> Response {
    let request_id = req.headers().get("x-request-id").cloned();
    let path = req.uri().path();
    let open = matches!(path, "/healthz" | "/readyz");
    // Metrics are read past the limits (and do not count themselves in flight).
    let unlimited = path == "/metrics";
    let mut response = if open {
        next.run(req).await
    } else if !s.authorized(req.headers()) {
        s.metrics.rejected_auth.fetch_add(1, Ordering::Relaxed);
        let mut r = error(StatusCode::UNAUTHORIZED, "", "a valid bearer token is required");
        r.headers_mut().insert(header::WWW_AUTHENTICATE, HeaderValue::from_static("Bearer"));
        r
    } else if unlimited {
        next.run(req).await
    } else {
        match s.busy.clone().try_acquire_owned() {
            Err(_) => {
                s.metrics.rejected_busy.fetch_add(1, Ordering::Relaxed);
                let mut r = error(StatusCode::TOO_MANY_REQUESTS, "", "too many requests in flight; retry shortly");
                r.headers_mut().insert(header::RETRY_AFTER, HeaderValue::from_static("1"));
                r
            }
            Ok(permit) => {
                s.metrics.in_flight.fetch_add(1, Ordering::Relaxed);
                let timed = tokio::time::timeout(s.config.limits.request_timeout(), next.run(req)).await;
                s.metrics.in_flight.fetch_sub(1, Ordering::Relaxed);
                drop(permit);
                timed.unwrap_or_else(|_| {
                    s.metrics.rejected_timeout.fetch_add(1, Ordering::Relaxed);
                    error(StatusCode::SERVICE_UNAVAILABLE, "", "the request took longer than the time limit")
                })
            }
        }
    };
    if let Some(id) = request_id {
        response.headers_mut().insert("x-request-id", id);
    }
    response
}

fn json_response(status: StatusCode, body: Vec<u8>) -> Response {
    let mut r = Response::new(Body::from(body));
    *r.status_mut() = status;
    r.headers_mut().insert(header::CONTENT_TYPE, HeaderValue::from_static("application/json"));
    r
}

fn json_value(status: StatusCode, v: &Value) -> Response {
    json_response(status, serde_json::to_vec(v).unwrap_or_else(|_| b"{}".to_vec()))
}

/// An error answer: `{"error": message, "field"?, "status"}`.
fn error(status: StatusCode, field: &str, message: &str) -> Response {
    let mut v = serde_json::Map::new();
    v.insert("error".into(), Value::String(message.to_string()));
    if !field.is_empty() {
        v.insert("field".into(), Value::String(field.to_string()));
    }
    v.insert("status".into(), Value::from(status.as_u16()));
    json_value(status, &Value::Object(v))
}

fn field_error(s: &Shared, f: &FieldError) -> Response {
    s.metrics.bad_requests.fetch_add(1, Ordering::Relaxed);
    error(StatusCode::BAD_REQUEST, &f.field, &f.to_string())
}

/// The body of a JSON request: a JSON content type, at most the size limit.
#[allow(clippy::result_large_err)]
async fn read_body(s: &Shared, headers: &HeaderMap, body: Body) -> Result<Bytes, Response> {
    let ct = headers.get(header::CONTENT_TYPE).and_then(|v| v.to_str().ok());
    let essence = ct.map(|c| c.split(';').next().unwrap_or_default().trim().to_ascii_lowercase());
    let is_json = essence.as_deref().is_some_and(|e| e == "application/json" || e.ends_with("+json"));
    if !is_json {
        s.metrics.bad_requests.fetch_add(1, Ordering::Relaxed);
        let got = ct.map_or("none".to_string(), |c| format!("`{c}`"));
        return Err(error(
            StatusCode::BAD_REQUEST,
            "content-type",
            &format!("content-type: expected `application/json`, got {got}"),
        ));
    }
    let max = s.config.limits.max_body_bytes;
    let too_large = || {
        s.metrics.rejected_body.fetch_add(1, Ordering::Relaxed);
        error(StatusCode::PAYLOAD_TOO_LARGE, "", &format!("the body is larger than {max} bytes"))
    };
    let declared =
        headers.get(header::CONTENT_LENGTH).and_then(|v| v.to_str().ok()).and_then(|v| v.parse::<u64>().ok());
    if declared.is_some_and(|n| n > max as u64) {
        return Err(too_large());
    }
    match axum::body::to_bytes(body, max).await {
        Ok(b) => Ok(b),
        Err(e) => {
            let limit = std::error::Error::source(&e).is_some_and(|s| s.to_string().contains("length limit"));
            if limit || declared.is_none() {
                Err(too_large())
            } else {
                Err(error(StatusCode::BAD_REQUEST, "", &format!("the body could not be read: {e}")))
            }
        }
    }
}

/// A JSON body read ([`read_body`]) and parsed; a syntax error is a 400 naming line and
/// column.
#[allow(clippy::result_large_err)]
async fn json_body(s: &Shared, headers: &HeaderMap, body: Body) -> Result<Value, Response> {
    let bytes = read_body(s, headers, body).await?;
    serde_json::from_slice(&bytes).map_err(|e| {
        field_error(s, &FieldError { field: String::new(), message: format!("the body is not valid JSON: {e}") })
    })
}

/// Decides one AuthZEN evaluation on a snapshot.
fn evaluate(s: &Shared, snap: &Snapshot, e: &Evaluation, id: &str, start: Instant) -> (Value, bool) {
    let decision = match authzen::to_writ(e, &snap.mapping, &snap.store) {
        Err(f) => versioned(Decision::bad_request(f.to_string()), snap),
        Ok(m) => {
            let engine = if m.overrides { &snap.override_engine } else { &snap.engine };
            // As text, the request takes the engine's fastest path (the JIT decodes JSON
            // text straight to machine words); a decoding error is renamed to AuthZEN terms.
            let mut d = match serde_json::to_string(&m.request) {
                Ok(text) => engine.decide_json(&text, &snap.entities),
                Err(err) => versioned(Decision::bad_request(err.to_string()), snap),
            };
            for err in d.errors.iter_mut().filter(|e| &*e.rule == "bad-request") {
                err.message = m.authzen_error(&err.message);
            }
            if s.log.is_some() {
                s.log(id, "authzen", RequestData::Json(evaluation_json(e)), &d, start);
            }
            s.metrics.decision(d.decision);
            return (authzen::answer(&d, id, s.config.authzen.strict), d.decision == Verdict::Allow);
        }
    };
    if s.log.is_some() {
        s.log(id, "authzen", RequestData::Json(evaluation_json(e)), &decision, start);
    }
    s.metrics.decision(decision.decision);
    (authzen::answer(&decision, id, s.config.authzen.strict), false)
}

fn evaluation_json(e: &Evaluation) -> Value {
    json!({"subject": e.subject, "action": e.action, "resource": e.resource, "context": e.context})
}

fn versioned(mut d: Decision, snap: &Snapshot) -> Decision {
    d.policy_version = Some(snap.version.clone());
    d
}

async fn authzen_evaluation(State(s): State<Arc<Shared>>, headers: HeaderMap, body: Body) -> Response {
    let start = Instant::now();
    let value = match json_body(&s, &headers, body).await {
        Ok(v) => v,
        Err(r) => return r,
    };
    let e = match authzen::parse_evaluation(&value) {
        Ok(e) => e,
        Err(f) => return field_error(&s, &f),
    };
    let snap = s.current.load_full();
    let (answer, _) = evaluate(&s, &snap, &e, &s.ids.next(), start);
    s.metrics.latency(start.elapsed());
    json_value(StatusCode::OK, &answer)
}

async fn authzen_evaluations(State(s): State<Arc<Shared>>, headers: HeaderMap, body: Body) -> Response {
    let start = Instant::now();
    let value = match json_body(&s, &headers, body).await {
        Ok(v) => v,
        Err(r) => return r,
    };
    let batch = match authzen::parse_evaluations(&value, s.config.limits.max_batch) {
        Ok(b) => b,
        Err(BodyError::Field(f)) => return field_error(&s, &f),
        Err(BodyError::TooMany { count, max }) => {
            s.metrics.rejected_body.fetch_add(1, Ordering::Relaxed);
            return error(
                StatusCode::PAYLOAD_TOO_LARGE,
                "evaluations",
                &format!("evaluations: {count} entries, more than the limit of {max}"),
            );
        }
    };
    // One snapshot for the whole batch: every entry decides on the same policy version.
    let snap = s.current.load_full();
    let answer = match batch {
        Batch::Single(e) => evaluate(&s, &snap, &e, &s.ids.next(), start).0,
        Batch::Many { entries, semantic } => {
            let mut out = Vec::with_capacity(entries.len());
            for entry in &entries {
                let id = s.ids.next();
                let (answer, allowed) = match entry {
                    Ok(e) => evaluate(&s, &snap, e, &id, start),
                    Err(f) => {
                        let d = versioned(Decision::bad_request(f.to_string()), &snap);
                        s.metrics.decision(d.decision);
                        s.log(&id, "authzen", RequestData::Json(json!({"error": f.to_string()})), &d, start);
                        (authzen::error_answer(f, s.config.authzen.strict), false)
                    }
                };
                out.push(answer);
                if semantic.stops_after(allowed) {
                    break;
                }
            }
            json!({ "evaluations": out })
        }
    };
    s.metrics.latency(start.elapsed());
    json_value(StatusCode::OK, &answer)
}

async fn well_known(State(s): State<Arc<Shared>>, headers: HeaderMap) -> Response {
    let base = match &s.config.authzen.base_url {
        Some(b) => b.trim_end_matches('/').to_string(),
        None => {
            let host = headers.get(header::HOST).and_then(|h| h.to_str().ok()).unwrap_or("localhost");
            format!("http://{host}")
        }
    };
    json_value(
        StatusCode::OK,
        &json!({
            "policy_decision_point": base,
            "access_evaluation_endpoint": format!("{base}/access/v1/evaluation"),
            "access_evaluations_endpoint": format!("{base}/access/v1/evaluations"),
        }),
    )
}

/// A native decision as JSON: the decision of docs/decisions.md with `id` and `policy_version`.
#[derive(Serialize)]
struct Native<'a> {
    id: &'a str,
    policy_version: Option<&'a str>,
    #[serde(flatten)]
    decision: &'a Decision,
}

async fn decide(State(s): State<Arc<Shared>>, headers: HeaderMap, body: Body) -> Response {
    let start = Instant::now();
    let bytes = match read_body(&s, &headers, body).await {
        Ok(b) => b,
        Err(r) => return r,
    };
    let text = match std::str::from_utf8(&bytes) {
        Ok(t) => t,
        Err(e) => {
            return field_error(
                &s,
                &FieldError { field: String::new(), message: format!("the body is not UTF-8: {e}") },
            );
        }
    };
    if let Err(e) = serde_json::from_str::<serde::de::IgnoredAny>(text) {
        return field_error(
            &s,
            &FieldError { field: String::new(), message: format!("the body is not valid JSON: {e}") },
        );
    }
    let snap = s.current.load_full();
    let d = snap.engine.decide_json(text, &snap.entities);
    let id = s.ids.next();
    s.metrics.decision(d.decision);
    let out = serde_json::to_vec(&Native { id: &id, policy_version: d.policy_version(), decision: &d });
    if s.log.is_some() {
        s.log(&id, "native", RequestData::Text(text.to_string()), &d, start);
    }
    s.metrics.latency(start.elapsed());
    json_response(StatusCode::OK, out.unwrap_or_else(|_| b"{\"decision\":\"deny\"}".to_vec()))
}

#[derive(serde::Deserialize)]
struct BatchIn<'a> {
    #[serde(borrow)]
    requests: Option<Vec<&'a serde_json::value::RawValue>>,
}

#[derive(Serialize)]
struct BatchOut<'a> {
    id: &'a str,
    policy_version: &'a str,
    decisions: Vec<Decision>,
}

async fn decide_batch(State(s): State<Arc<Shared>>, headers: HeaderMap, body: Body) -> Response {
    let start = Instant::now();
    let bytes = match read_body(&s, &headers, body).await {
        Ok(b) => b,
        Err(r) => return r,
    };
    let parsed: BatchIn<'_> = match serde_json::from_slice(&bytes) {
        Ok(b) => b,
        Err(e) => {
            let message = if e.is_data() {
                format!("expected an object with `requests` (an array of requests): {e}")
            } else {
                format!("the body is not valid JSON: {e}")
            };
            return field_error(&s, &FieldError { field: String::new(), message });
        }
    };
    let Some(requests) = parsed.requests else {
        return field_error(
            &s,
            &FieldError { field: "requests".into(), message: "missing (an array of requests)".into() },
        );
    };
    let max = s.config.limits.max_batch;
    if requests.len() > max {
        s.metrics.rejected_body.fetch_add(1, Ordering::Relaxed);
        return error(
            StatusCode::PAYLOAD_TOO_LARGE,
            "requests",
            &format!("requests: {} entries, more than the limit of {max}", requests.len()),
        );
    }
    let snap = s.current.load_full();
    let id = s.ids.next();
    let decisions: Vec<Decision> = requests
        .iter()
        .enumerate()
        .map(|(i, r)| {
            let d = snap.engine.decide_json(r.get(), &snap.entities);
            s.metrics.decision(d.decision);
            if s.log.is_some() {
                s.log(&format!("{id}.{i}"), "native", RequestData::Text(r.get().to_string()), &d, start);
            }
            d
        })
        .collect();
    let out = serde_json::to_vec(&BatchOut { id: &id, policy_version: &snap.version, decisions });
    s.metrics.latency(start.elapsed());
    json_response(StatusCode::OK, out.unwrap_or_else(|_| b"{}".to_vec()))
}

async fn policies(State(s): State<Arc<Shared>>) -> Response {
    let snap = s.current.load_full();
    let failure = s.failure.lock().ok().and_then(|g| g.clone());
    let failed = failure.map(|f| json!({"at": f.at, "message": f.message, "diagnostics": f.diagnostics}));
    json_value(
        StatusCode::OK,
        &json!({
            "version": &*snap.version,
            "loaded_at": snap.loaded_at,
            "files": snap.files,
            "rules": snap.rules,
            "warnings": snap.warnings,
            "entities": snap.entity_count,
            "backend": match snap.engine.backend() { writ::Backend::Jit => "jit", writ::Backend::Interpreter => "interp" },
            "failed_reload": failed,
        }),
    )
}

async fn admin_reload(State(s): State<Arc<Shared>>) -> Response {
    // A task of its own: a request that times out must not cancel the swap half-way.
    let reloading = s.clone();
    let outcome = tokio::spawn(async move { reloading.reload().await })
        .await
        .unwrap_or_else(|e| ReloadOutcome::Failed(format!("the reload stopped: {e}")));
    match outcome {
        ReloadOutcome::Swapped(v) => {
            json_value(StatusCode::OK, &json!({"reloaded": true, "changed": true, "version": v}))
        }
        ReloadOutcome::Unchanged(v) => {
            json_value(StatusCode::OK, &json!({"reloaded": true, "changed": false, "version": v}))
        }
        ReloadOutcome::Failed(message) => {
            let diagnostics =
                s.failure.lock().ok().and_then(|g| g.as_ref().map(|f| f.diagnostics.clone())).unwrap_or(Value::Null);
            json_value(
                StatusCode::UNPROCESSABLE_ENTITY,
                &json!({"reloaded": false, "error": message, "diagnostics": diagnostics,
                        "version": &*s.current.load().version}),
            )
        }
    }
}

async fn healthz() -> Response {
    json_value(StatusCode::OK, &json!({"status": "ok"}))
}

async fn readyz(State(s): State<Arc<Shared>>) -> Response {
    if s.draining.load(Ordering::SeqCst) {
        return json_value(StatusCode::SERVICE_UNAVAILABLE, &json!({"status": "draining"}));
    }
    json_value(StatusCode::OK, &json!({"status": "ready", "version": &*s.current.load().version}))
}

async fn metrics(State(s): State<Arc<Shared>>) -> Response {
    let log = s.log.as_ref().map(|l| (l.written(), l.dropped()));
    let text = s.metrics.render(&s.current.load().version, log);
    let mut r = Response::new(Body::from(text));
    r.headers_mut().insert(header::CONTENT_TYPE, HeaderValue::from_static("text/plain; version=0.0.4"));
    r
}

async fn not_found() -> Response {
    error(StatusCode::NOT_FOUND, "", "no such endpoint")
}
