//! The guard as a streamable-HTTP proxy (`writ guard --listen ADDR --upstream URL`): it
//! serves the MCP streamable-HTTP transport on a loopback address and forwards to an MCP
//! server's HTTP endpoint, deciding exactly as the stdio relay does ([`relay::authorize`],
//! [`relay::answered`], [`relay::filter_tools`]).
//!
//! * `POST`: one JSON-RPC message. A call the guard decides is answered by the guard
//!   (`application/json`) on deny, forwarded with `_meta.writ` on allow; on escalate the
//!   guard answers with an event stream whose first event is its `elicitation/create`
//!   request, waits for the client's answer (a `POST` the guard consumes with `202`), then
//!   sends the denial or the server's answer to the call on that same stream. The answer
//!   of the server to `tools/list` is filtered, as JSON or as an event stream. Everything
//!   else goes to the server as the client sent it, and the server's answer back as it
//!   came (streamed).
//! * `GET` (the server's stream) and `DELETE` (end of session): forwarded.
//!
//! Headers that matter to the transport (`Mcp-Session-Id`, `Mcp-Protocol-Version`,
//! `Last-Event-ID`, `Accept`, `Content-Type`, `Authorization`) pass both ways. Whether a
//! client declared elicitation is remembered per session (`Mcp-Session-Id` of the server's
//! answer to `initialize`).

use crate::decide::Decider;
use crate::relay::{self, Pending, Step};
use axum::body::{Body, Bytes};
use axum::http::{HeaderMap, HeaderValue, Method, Request, Response, StatusCode, Uri, header};
use http_body_util::{BodyExt, Full};
use hyper_util::client::legacy::Client;
use hyper_util::client::legacy::connect::HttpConnector;
use hyper_util::rt::TokioExecutor;
use serde_json::Value;
use std::collections::HashMap;
use std::convert::Infallible;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::time::Duration;
use tokio::sync::{mpsc, oneshot};

/// The largest message body the guard reads from the client (and answer it filters).
const MAX_BODY: usize = 64 << 20;

/// How long a call waits for the human's answer before it is denied.
const ASK_TIMEOUT: Duration = Duration::from_secs(600);

/// Request headers forwarded to the server.
const REQUEST_HEADERS: &[&str] =
    &["accept", "content-type", "mcp-session-id", "mcp-protocol-version", "last-event-id", "authorization"];

/// Response headers not copied from the server's answer (hop by hop, or recomputed).
const HOP: &[&str] = &["connection", "keep-alive", "transfer-encoding", "content-length", "upgrade"];

const SESSION: &str = "mcp-session-id";

/// A call waiting for the human, by the guard's request id.
struct Waiter {
    call: Option<Value>,
    session: String,
    answer: oneshot::Sender<Value>,
}

/// The proxy's state.
pub struct Proxy {
    decider: Decider,
    upstream: Uri,
    client: Client<HttpConnector, Full<Bytes>>,
    /// Whether the client of a session declared `elicitation` (`""`: no session id).
    sessions: Mutex<HashMap<String, bool>>,
    waiting: Mutex<HashMap<String, Waiter>>,
    next: AtomicU64,
}

fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(PoisonError::into_inner)
}

/// Checks the upstream URL: `http://` on a loopback host, with a path.
pub fn upstream_uri(url: &str) -> Result<Uri, String> {
    let uri: Uri = url.parse().map_err(|e| format!("`{url}` is not a URL: {e}"))?;
    if uri.scheme_str() != Some("http") {
        return Err(format!("`{url}`: the upstream must be an `http://` URL"));
    }
    let host = uri.host().unwrap_or_default().trim_start_matches('[').trim_end_matches(']');
    let loopback = host == "localhost" || host.parse::<std::net::IpAddr>().is_ok_and(|ip| ip.is_loopback());
    if !loopback {
        return Err(format!("`{url}`: the upstream must be on a loopback address (127.0.0.1, ::1, localhost)"));
    }
    Ok(uri)
}

/// Whether an `Origin` header names a loopback origin (browsers on other sites are refused).
fn loopback_origin(origin: &HeaderValue) -> bool {
    let Ok(o) = origin.to_str() else { return false };
    let Ok(uri) = o.parse::<Uri>() else { return false };
    let host = uri.host().unwrap_or_default().trim_start_matches('[').trim_end_matches(']');
    host == "localhost" || host.parse::<std::net::IpAddr>().is_ok_and(|ip| ip.is_loopback())
}

/// Serves until `stop` resolves; returns what it resolved to.
pub async fn serve(
    decider: Decider,
    upstream: Uri,
    listener: tokio::net::TcpListener,
    stop: impl std::future::Future<Output = u8> + Send,
) -> std::io::Result<u8> {
    // Small messages both ways: without TCP_NODELAY, Nagle's algorithm and delayed ACKs
    // hold some answers for 40 ms.
    let mut connector = HttpConnector::new();
    connector.set_nodelay(true);
    let proxy = Arc::new(Proxy {
        decider,
        upstream,
        client: Client::builder(TokioExecutor::new()).build(connector),
        sessions: Mutex::new(HashMap::new()),
        waiting: Mutex::new(HashMap::new()),
        next: AtomicU64::new(0),
    });
    let app = axum::Router::new().fallback(handle).with_state(proxy);
    let listener = axum::serve::ListenerExt::tap_io(listener, |tcp| {
        let _ = tcp.set_nodelay(true);
    });
    tokio::select! {
        r = axum::serve(listener, app) => r.map(|()| 0),
        code = stop => Ok(code),
    }
}

/// The address a listener is bound to, as the guard announces it.
pub fn announce(addr: SocketAddr, upstream: &Uri) -> String {
    format!("writ guard: listening on http://{addr}{}, guarding {upstream}", upstream.path())
}

async fn handle(axum::extract::State(p): axum::extract::State<Arc<Proxy>>, req: Request<Body>) -> Response<Body> {
    if req.uri().path() != p.upstream.path() {
        return plain(StatusCode::NOT_FOUND, format!("writ guard: the MCP endpoint is `{}`", p.upstream.path()));
    }
    if req.headers().get(header::ORIGIN).is_some_and(|o| !loopback_origin(o)) {
        return plain(StatusCode::FORBIDDEN, "writ guard: requests from other origins are refused".into());
    }
    match *req.method() {
        Method::POST => p.post(req).await,
        Method::GET | Method::DELETE => {
            let session = header_text(req.headers(), SESSION);
            if req.method() == Method::DELETE {
                lock(&p.sessions).remove(&session);
            }
            let (parts, _) = req.into_parts();
            p.forward(parts.method, &parts.headers, Bytes::new(), None).await
        }
        _ => {
            let mut r = plain(StatusCode::METHOD_NOT_ALLOWED, "writ guard: use POST, GET or DELETE".into());
            r.headers_mut().insert(header::ALLOW, HeaderValue::from_static("GET, POST, DELETE"));
            r
        }
    }
}

fn header_text(h: &HeaderMap, name: &str) -> String {
    h.get(name).and_then(|v| v.to_str().ok()).unwrap_or_default().to_string()
}

fn plain(status: StatusCode, text: String) -> Response<Body> {
    let mut r = Response::new(Body::from(text));
    *r.status_mut() = status;
    r.headers_mut().insert(header::CONTENT_TYPE, HeaderValue::from_static("text/plain; charset=utf-8"));
    r
}

fn json_answer(status: StatusCode, v: &Value) -> Response<Body> {
    let mut r = Response::new(Body::from(v.to_string()));
    *r.status_mut() = status;
    r.headers_mut().insert(header::CONTENT_TYPE, HeaderValue::from_static("application/json"));
    r
}

fn accepted() -> Response<Body> {
    let mut r = Response::new(Body::empty());
    *r.status_mut() = StatusCode::ACCEPTED;
    r
}

/// One server-sent event carrying a JSON-RPC message.
fn sse_event(v: &Value) -> Bytes {
    Bytes::from(format!("event: message\ndata: {v}\n\n"))
}

/// A streamed body fed by a channel.
fn channel_body(rx: mpsc::Receiver<Bytes>) -> Body {
    Body::from_stream(futures_util::stream::unfold(rx, |mut rx| async move {
        rx.recv().await.map(|b| (Ok::<Bytes, Infallible>(b), rx))
    }))
}

/// What to do with the server's answer.
enum Filter {
    /// The answer to `tools/list` with this id: leave out the tools no permit could allow.
    Tools(Value),
    /// The answer to `initialize`: remember whether the client declared elicitation.
    Initialize(bool),
}

impl Proxy {
    async fn post(self: &Arc<Self>, req: Request<Body>) -> Response<Body> {
        let (parts, body) = req.into_parts();
        let bytes = match axum::body::to_bytes(body, MAX_BODY).await {
            Ok(b) => b,
            Err(e) => {
                let m = format!("writ guard: the body cannot be read (at most {MAX_BODY} bytes): {e}");
                return json_answer(
                    StatusCode::BAD_REQUEST,
                    &relay::error_answer(&Value::Null, relay::PARSE_ERROR, &m, None),
                );
            }
        };
        let msg = match relay::strict_parse(&bytes) {
            Ok(v) => v,
            Err(e) => {
                let m = format!("writ guard: not one JSON-RPC message: {e}");
                return json_answer(
                    StatusCode::BAD_REQUEST,
                    &relay::error_answer(&Value::Null, relay::PARSE_ERROR, &m, None),
                );
            }
        };
        let Value::Object(o) = &msg else {
            let what =
                if msg.is_array() { "a batch (the guard takes one message per request)" } else { "not an object" };
            let m = format!("writ guard: invalid request: {what}");
            return json_answer(
                StatusCode::BAD_REQUEST,
                &relay::error_answer(&Value::Null, relay::INVALID_REQUEST, &m, None),
            );
        };
        let id = o.get("id").cloned();
        let session = header_text(&parts.headers, SESSION);
        let method = match o.get("method") {
            Some(Value::String(m)) => m.clone(),
            None => {
                // A response: to the guard's elicitation (consumed), or to the server's request.
                let key = id.as_ref().map(Value::to_string).unwrap_or_default();
                let waiter = {
                    let mut w = lock(&self.waiting);
                    if w.get(&key).is_some_and(|x| x.session == session) { w.remove(&key) } else { None }
                };
                if let Some(w) = waiter {
                    let _ = w.answer.send(msg);
                    return accepted();
                }
                return self.forward(Method::POST, &parts.headers, bytes, None).await;
            }
            Some(_) => {
                let m = "writ guard: `method` is not a string";
                return json_answer(
                    StatusCode::BAD_REQUEST,
                    &relay::error_answer(&id.unwrap_or(Value::Null), relay::INVALID_REQUEST, m, None),
                );
            }
        };
        if let Some(kind) = relay::kind_of(&self.decider, &method) {
            let elicitation = lock(&self.sessions).get(&session).copied().unwrap_or(false);
            let step = relay::authorize(&self.decider, kind, msg, elicitation, || {
                relay::guard_request_id(self.next.fetch_add(1, Ordering::Relaxed) + 1)
            });
            return self.step(step, parts.headers, session).await;
        }
        let config = &self.decider.config;
        let filter = match (method.as_str(), &id) {
            ("notifications/cancelled", None) => {
                // A call waiting for a human is given up: dropping its waiter denies it.
                if let Some(rid) = msg.pointer("/params/requestId") {
                    lock(&self.waiting).retain(|_, w| !(w.session == session && w.call.as_ref() == Some(rid)));
                }
                None
            }
            ("initialize", _) => {
                Some(Filter::Initialize(msg.pointer("/params/capabilities/elicitation").is_some_and(Value::is_object)))
            }
            ("tools/list", Some(id)) if config.filter_tools_list => Some(Filter::Tools(id.clone())),
            (m, Some(id)) if !relay::KNOWN.contains(&m) && config.unknown_methods == crate::config::Unknown::Refuse => {
                let m = format!("writ guard: the method `{m}` is refused by configuration");
                return json_answer(StatusCode::OK, &relay::error_answer(id, relay::METHOD_NOT_FOUND, &m, None));
            }
            _ => None,
        };
        self.forward(Method::POST, &parts.headers, bytes, filter).await
    }

    /// Does what the decision says, for the `POST` of the call.
    async fn step(self: &Arc<Self>, step: Step, headers: HeaderMap, session: String) -> Response<Body> {
        match step {
            Step::Forward(m) => self.forward(Method::POST, &headers, Bytes::from(m.to_string()), None).await,
            Step::Answer(v) => json_answer(StatusCode::OK, &v),
            Step::Drop => accepted(),
            Step::Ask(request, pending) => {
                let key = request.get("id").map(Value::to_string).unwrap_or_default();
                let (answer, answered) = oneshot::channel();
                lock(&self.waiting).insert(key.clone(), Waiter { call: pending.call_id().cloned(), session, answer });
                let (out, rx) = mpsc::channel(16);
                let _ = out.try_send(sse_event(&request));
                let me = self.clone();
                tokio::spawn(async move { me.ask(*pending, answered, out, headers, key).await });
                let mut r = Response::new(channel_body(rx));
                r.headers_mut().insert(header::CONTENT_TYPE, HeaderValue::from_static("text/event-stream"));
                r.headers_mut().insert(header::CACHE_CONTROL, HeaderValue::from_static("no-cache"));
                r
            }
        }
    }

    /// Waits for the human's answer to the guard's elicitation, then answers the call on
    /// the stream `out`: the denial, or the server's answer to the allowed call.
    async fn ask(
        self: Arc<Self>,
        pending: Pending,
        answered: oneshot::Receiver<Value>,
        out: mpsc::Sender<Bytes>,
        headers: HeaderMap,
        key: String,
    ) {
        let answer = tokio::select! {
            a = answered => a.ok(),
            () = out.closed() => {
                // The client went away: nobody to answer, nothing forwarded.
                lock(&self.waiting).remove(&key);
                return;
            }
            () = tokio::time::sleep(ASK_TIMEOUT) => None,
        };
        lock(&self.waiting).remove(&key);
        let step = match answer {
            Some(a) => relay::answered(&self.decider, pending, &a),
            None => relay::unanswered(
                &pending,
                "no answer from the human (the call was cancelled or the approval timed out)",
            ),
        };
        match step {
            Step::Forward(m) => {
                let call = m.get("id").cloned().unwrap_or(Value::Null);
                let r = self.forward(Method::POST, &headers, Bytes::from(m.to_string()), None).await;
                relay_answer(r, &call, &out).await;
            }
            Step::Answer(v) => {
                let _ = out.send(sse_event(&v)).await;
            }
            Step::Drop | Step::Ask(..) => {}
        }
    }

    /// Sends a message to the server and hands back its answer (filtered as asked).
    async fn forward(
        self: &Arc<Self>,
        method: Method,
        headers: &HeaderMap,
        body: Bytes,
        filter: Option<Filter>,
    ) -> Response<Body> {
        let mut b = Request::builder().method(method).uri(self.upstream.clone());
        for h in REQUEST_HEADERS {
            if let Some(v) = headers.get(*h) {
                b = b.header(*h, v);
            }
        }
        let req = match b.body(Full::new(body)) {
            Ok(r) => r,
            Err(e) => return plain(StatusCode::BAD_REQUEST, format!("writ guard: bad request headers: {e}")),
        };
        let resp = match self.client.request(req).await {
            Ok(r) => r,
            Err(e) => {
                let m = format!("writ guard: the MCP server at `{}` cannot be reached: {e}", self.upstream);
                return json_answer(StatusCode::BAD_GATEWAY, &relay::error_answer(&Value::Null, -32603, &m, None));
            }
        };
        let (parts, incoming) = resp.into_parts();
        let mut out = Response::new(Body::empty());
        *out.status_mut() = parts.status;
        for (k, v) in &parts.headers {
            if !HOP.contains(&k.as_str()) {
                out.headers_mut().append(k.clone(), v.clone());
            }
        }
        let is_sse = header_text(&parts.headers, "content-type").starts_with("text/event-stream");
        match filter {
            None => *out.body_mut() = Body::new(incoming),
            Some(Filter::Initialize(declared)) => {
                if parts.status.is_success() {
                    lock(&self.sessions).insert(header_text(&parts.headers, SESSION), declared);
                }
                *out.body_mut() = Body::new(incoming);
            }
            Some(Filter::Tools(id)) if is_sse => {
                let (tx, rx) = mpsc::channel(16);
                let me = self.clone();
                tokio::spawn(async move { me.filter_stream(incoming, id, tx).await });
                *out.body_mut() = channel_body(rx);
            }
            Some(Filter::Tools(id)) => {
                let bytes = match http_body_util::Limited::new(incoming, MAX_BODY).collect().await {
                    Ok(c) => c.to_bytes(),
                    Err(e) => {
                        let m = format!("writ guard: the server's answer cannot be read: {e}");
                        return json_answer(StatusCode::BAD_GATEWAY, &relay::error_answer(&id, -32603, &m, None));
                    }
                };
                *out.body_mut() = Body::from(self.filter_message(&bytes, &id).unwrap_or(bytes));
            }
        }
        out
    }

    /// The server's answer to `tools/list` (JSON text) filtered, when it is one.
    fn filter_message(&self, bytes: &[u8], id: &Value) -> Option<Bytes> {
        let mut v: Value = serde_json::from_slice(bytes).ok()?;
        if v.get("id") != Some(id) || v.get("method").is_some() || !relay::filter_tools(&self.decider, &mut v) {
            return None;
        }
        Some(Bytes::from(v.to_string()))
    }

    /// Filters the answer to `tools/list` in an event stream, event by event.
    async fn filter_stream(self: Arc<Self>, mut body: hyper::body::Incoming, id: Value, out: mpsc::Sender<Bytes>) {
        let mut buf: Vec<u8> = Vec::new();
        while let Some(frame) = body.frame().await {
            let Ok(frame) = frame else { break };
            let Ok(data) = frame.into_data() else { continue };
            buf.extend_from_slice(&data);
            while let Some(end) = event_end(&buf) {
                let event: Vec<u8> = buf.drain(..end).collect();
                if out.send(self.filter_event(event, &id)).await.is_err() {
                    return;
                }
            }
        }
        if !buf.is_empty() {
            let _ = out.send(Bytes::from(buf)).await;
        }
    }

    /// One event (with its blank line), filtered if it carries the answer to `tools/list`.
    fn filter_event(&self, event: Vec<u8>, id: &Value) -> Bytes {
        let Ok(text) = std::str::from_utf8(&event) else { return Bytes::from(event) };
        let data: Vec<&str> =
            text.lines().filter_map(|l| l.strip_prefix("data:")).map(|d| d.strip_prefix(' ').unwrap_or(d)).collect();
        let Some(filtered) = self.filter_message(data.join("\n").as_bytes(), id) else {
            return Bytes::from(event);
        };
        let mut s = String::new();
        for l in text.lines().filter(|l| !l.is_empty() && !l.starts_with("data:")) {
            s.push_str(l);
            s.push('\n');
        }
        s.push_str("data: ");
        s.push_str(&String::from_utf8_lossy(&filtered));
        s.push_str("\n\n");
        Bytes::from(s)
    }
}

/// Where the first event of a stream ends (after its blank line).
fn event_end(buf: &[u8]) -> Option<usize> {
    let lf = buf.windows(2).position(|w| w == b"\n\n").map(|i| i + 2);
    let crlf = buf.windows(4).position(|w| w == b"\r\n\r\n").map(|i| i + 4);
    match (lf, crlf) {
        (Some(a), Some(b)) => Some(a.min(b)),
        (a, b) => a.or(b),
    }
}

/// Puts the server's answer to an approved call on the call's event stream: its events as
/// they come, or its JSON answer as one event, or an error naming what went wrong.
async fn relay_answer(r: Response<Body>, call: &Value, out: &mpsc::Sender<Bytes>) {
    let ct = header_text(r.headers(), "content-type");
    let status = r.status();
    let mut body = r.into_body();
    if status.is_success() && ct.starts_with("text/event-stream") {
        while let Some(frame) = body.frame().await {
            let Ok(frame) = frame else { break };
            if let Ok(data) = frame.into_data() {
                if out.send(data).await.is_err() {
                    return;
                }
            }
        }
        return;
    }
    let bytes = http_body_util::Limited::new(body, MAX_BODY).collect().await.map(|c| c.to_bytes()).unwrap_or_default();
    let answer = match serde_json::from_slice::<Value>(&bytes) {
        Ok(v) if ct.starts_with("application/json") && v.is_object() => v,
        _ => relay::error_answer(
            call,
            -32603,
            &format!("writ guard: the MCP server answered the approved call with {status}"),
            None,
        ),
    };
    let _ = out.send(sse_event(&answer)).await;
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn upstreams_are_loopback_http() {
        assert!(upstream_uri("http://127.0.0.1:8000/mcp").is_ok());
        assert!(upstream_uri("http://localhost:8000/mcp").is_ok());
        assert!(upstream_uri("http://[::1]:8000/mcp").is_ok());
        assert!(upstream_uri("https://127.0.0.1:8000/mcp").unwrap_err().contains("http://"));
        assert!(upstream_uri("http://10.0.0.1:8000/mcp").unwrap_err().contains("loopback"));
        assert!(upstream_uri("http://example.com/mcp").unwrap_err().contains("loopback"));
        assert!(loopback_origin(&HeaderValue::from_static("http://localhost:3000")));
        assert!(!loopback_origin(&HeaderValue::from_static("https://evil.example")));
    }

    #[test]
    fn events_end_at_blank_lines() {
        assert_eq!(event_end(b"data: 1\n\ndata: 2\n\n"), Some(9));
        assert_eq!(event_end(b"data: 1\r\n\r\n"), Some(11));
        assert_eq!(event_end(b"data: 1\n"), None);
    }
}
