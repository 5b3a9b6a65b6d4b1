//! `writ guard --listen … --upstream …` with the real binary, a scripted upstream in this
//! process (a small HTTP/1.1 server that records every message and answers as JSON or as an
//! event stream) and a raw HTTP client: what the client gets, what reaches the server, which
//! headers pass.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, clippy::indexing_slicing)]

use serde_json::{Value, json};
use std::io::{BufRead, BufReader, Read, Write};
use std::net::{TcpListener, TcpStream};
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::Duration;

fn dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/guard")
}

/// One request the upstream received: method, headers (lowercased names), body.
type Received = (String, Vec<(String, String)>, String);

/// What the upstream received.
type Seen = Arc<Mutex<Vec<Received>>>;

/// The scripted upstream: `initialize` gets a session id; with `sse`, requests are answered
/// as event streams; `tools/list` lists the test's tools; anything else with an id is
/// echoed as a result.
fn upstream(sse: bool) -> (String, Seen) {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = listener.local_addr().unwrap().to_string();
    let seen: Seen = Arc::default();
    let record = seen.clone();
    std::thread::spawn(move || {
        for conn in listener.incoming() {
            let Ok(conn) = conn else { return };
            let record = record.clone();
            std::thread::spawn(move || serve_one(conn, sse, &record));
        }
    });
    (addr, seen)
}

fn serve_one(conn: TcpStream, sse: bool, record: &Seen) {
    let mut w = conn.try_clone().unwrap();
    let mut r = BufReader::new(conn);
    loop {
        let Some((method, headers, body)) = read_request(&mut r) else { return };
        record.lock().unwrap().push((method.clone(), headers, body.clone()));
        let msg: Value = serde_json::from_str(&body).unwrap_or(Value::Null);
        let (status, ctype, answer, extra) = if method != "POST" {
            (200, "application/json", "{}".to_string(), String::new())
        } else if msg.get("id").is_none() || msg.get("method").is_none() {
            (202, "application/json", String::new(), String::new())
        } else {
            let result = match msg["method"].as_str().unwrap() {
                "initialize" => {
                    json!({"protocolVersion": "2025-06-18", "capabilities": {"tools": {}}, "serverInfo": {"name": "up", "version": "1"}})
                }
                "tools/list" => json!({"tools": [{"name": "read_ticket"}, {"name": "exec"}, {"name": "get_secret"}]}),
                _ => json!({"content": [{"type": "text", "text": msg["params"].to_string()}]}),
            };
            let a = json!({"jsonrpc": "2.0", "id": msg["id"], "result": result}).to_string();
            let extra =
                if msg["method"] == "initialize" { "mcp-session-id: s-42\r\n".to_string() } else { String::new() };
            if sse {
                (200, "text/event-stream", format!("event: message\r\nid: e1\r\ndata: {a}\r\n\r\n"), extra)
            } else {
                (200, "application/json", a, extra)
            }
        };
        let head =
            format!("HTTP/1.1 {status} X\r\ncontent-type: {ctype}\r\n{extra}content-length: {}\r\n\r\n", answer.len());
        if w.write_all(head.as_bytes()).and_then(|()| w.write_all(answer.as_bytes())).is_err() {
            return;
        }
    }
}

fn read_request(r: &mut impl BufRead) -> Option<Received> {
    let mut first = String::new();
    if r.read_line(&mut first).ok()? == 0 {
        return None;
    }
    let method = first.split(' ').next()?.to_string();
    let mut headers = Vec::new();
    let mut length = 0;
    loop {
        let mut line = String::new();
        r.read_line(&mut line).ok()?;
        let line = line.trim_end();
        if line.is_empty() {
            break;
        }
        let (k, v) = line.split_once(':')?;
        let (k, v) = (k.trim().to_ascii_lowercase(), v.trim().to_string());
        if k == "content-length" {
            length = v.parse().ok()?;
        }
        headers.push((k, v));
    }
    let mut body = vec![0; length];
    r.read_exact(&mut body).ok()?;
    Some((method, headers, String::from_utf8(body).ok()?))
}

/// The guard, the address it listens on, its configuration file.
struct Guard(Child, String, PathBuf);

impl Drop for Guard {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
        let _ = std::fs::remove_file(&self.2);
    }
}

fn guard(upstream: &str, config: &str) -> Guard {
    let cfg = std::env::temp_dir().join(format!(
        "writ-guard-http-{}-{}.toml",
        std::process::id(),
        upstream.replace(':', "-")
    ));
    std::fs::write(&cfg, config).unwrap();
    let mut child = Command::new(env!("CARGO_BIN_EXE_writ"))
        .arg("guard")
        .arg("--policies")
        .arg(dir().join("policy.writ"))
        .arg("--entities")
        .arg(dir().join("entities.json"))
        .arg("--config")
        .arg(&cfg)
        .args(["--listen", "127.0.0.1:0", "--upstream"])
        .arg(format!("http://{upstream}/mcp"))
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut line = String::new();
    BufReader::new(child.stderr.take().unwrap()).read_line(&mut line).unwrap();
    let addr = line.split("http://").nth(1).and_then(|s| s.split('/').next()).expect(&line).to_string();
    Guard(child, addr, cfg)
}

const CONFIG: &str =
    "principal = { type = \"Agent\", id = \"bot\" }\non_behalf_of = [{ type = \"Human\", id = \"alice\" }]\n";

/// An answer: status, headers (lowercased names), and a reader of the body.
struct Answer {
    status: u16,
    headers: Vec<(String, String)>,
    body: BufReader<TcpStream>,
    chunked: bool,
    length: usize,
}

impl Answer {
    fn header(&self, name: &str) -> Option<&str> {
        self.headers.iter().find(|(k, _)| k == name).map(|(_, v)| v.as_str())
    }

    /// The next piece of the body (a chunk, or the whole body), `None` at the end.
    fn next_piece(&mut self) -> Option<String> {
        if !self.chunked {
            if self.length == 0 {
                return None;
            }
            let mut b = vec![0; std::mem::take(&mut self.length)];
            self.body.read_exact(&mut b).unwrap();
            return Some(String::from_utf8(b).unwrap());
        }
        let mut size = String::new();
        self.body.read_line(&mut size).unwrap();
        let n = usize::from_str_radix(size.trim(), 16).unwrap();
        let mut chunk = vec![0; n + 2];
        self.body.read_exact(&mut chunk).unwrap();
        chunk.truncate(n);
        (n > 0).then(|| String::from_utf8(chunk).unwrap())
    }

    fn text(mut self) -> String {
        let mut s = String::new();
        while let Some(p) = self.next_piece() {
            s.push_str(&p);
        }
        s
    }

    fn json(self) -> Value {
        let t = self.text();
        serde_json::from_str(&t).unwrap_or_else(|e| panic!("not JSON: {t}: {e}"))
    }

    /// The JSON-RPC messages of an event stream, up to `n` of them.
    fn events(&mut self, n: usize) -> Vec<Value> {
        let mut out = Vec::new();
        let mut buf = String::new();
        while out.len() < n {
            let Some(p) = self.next_piece() else { break };
            buf.push_str(&p.replace("\r\n", "\n"));
            while let Some(end) = buf.find("\n\n") {
                let event: String = buf.drain(..end + 2).collect();
                let data: Vec<&str> = event.lines().filter_map(|l| l.strip_prefix("data:")).map(str::trim).collect();
                if !data.is_empty() {
                    out.push(serde_json::from_str(&data.join("\n")).unwrap());
                }
            }
        }
        out
    }
}

fn request(addr: &str, method: &str, body: &str, headers: &[(&str, &str)]) -> Answer {
    let s = TcpStream::connect(addr).unwrap();
    s.set_read_timeout(Some(Duration::from_secs(60))).unwrap();
    let mut w = s.try_clone().unwrap();
    let mut head = format!(
        "{method} /mcp HTTP/1.1\r\nhost: {addr}\r\nconnection: close\r\ncontent-type: application/json\r\naccept: application/json, text/event-stream\r\ncontent-length: {}\r\n",
        body.len()
    );
    for (k, v) in headers {
        head.push_str(&format!("{k}: {v}\r\n"));
    }
    head.push_str("\r\n");
    w.write_all(head.as_bytes()).unwrap();
    w.write_all(body.as_bytes()).unwrap();
    let mut r = BufReader::new(s);
    let mut status = String::new();
    r.read_line(&mut status).unwrap();
    let status = status.split(' ').nth(1).unwrap().parse().unwrap();
    let mut headers = Vec::new();
    loop {
        let mut line = String::new();
        r.read_line(&mut line).unwrap();
        let line = line.trim_end();
        if line.is_empty() {
            break;
        }
        let (k, v) = line.split_once(':').unwrap();
        headers.push((k.trim().to_ascii_lowercase(), v.trim().to_string()));
    }
    let find = |n: &str| headers.iter().find(|(k, _)| k == n).map(|(_, v)| v.clone());
    let chunked = find("transfer-encoding").is_some_and(|v| v.contains("chunked"));
    let length = find("content-length").map_or(0, |v| v.parse().unwrap());
    Answer { status, headers, body: r, chunked, length }
}

fn post(addr: &str, msg: &Value, session: Option<&str>) -> Answer {
    let h: Vec<(&str, &str)> = session.map(|s| ("mcp-session-id", s)).into_iter().collect();
    request(addr, "POST", &msg.to_string(), &h)
}

fn call(id: Value, tool: &str, args: Value) -> Value {
    json!({"jsonrpc": "2.0", "id": id, "method": "tools/call", "params": {"name": tool, "arguments": args}})
}

fn init(addr: &str, elicitation: bool) -> String {
    let caps = if elicitation { json!({"elicitation": {}}) } else { json!({}) };
    let a = post(
        addr,
        &json!({"jsonrpc": "2.0", "id": 0, "method": "initialize", "params": {"protocolVersion": "2025-06-18", "capabilities": caps, "clientInfo": {"name": "t", "version": "1"}}}),
        None,
    );
    assert_eq!(a.status, 200);
    let s = a.header("mcp-session-id").unwrap().to_string();
    a.text();
    s
}

/// The answer to a request, whether JSON or an event stream.
fn answer(mut a: Answer) -> Value {
    if a.header("content-type").is_some_and(|c| c.starts_with("text/event-stream")) {
        return a.events(1).pop().unwrap();
    }
    a.json()
}

fn calls_seen(seen: &Seen) -> Vec<Value> {
    seen.lock()
        .unwrap()
        .iter()
        .filter_map(|(_, _, b)| serde_json::from_str::<Value>(b).ok())
        .filter(|m| m["method"] == "tools/call")
        .collect()
}

#[test]
fn decisions_over_http_json_and_event_streams() {
    for sse in [false, true] {
        let (up, seen) = upstream(sse);
        let g = guard(&up, CONFIG);
        let session = init(&g.1, false);
        assert_eq!(session, "s-42");
        // Allowed: forwarded with the decision, the session and protocol headers passed.
        let a = answer(post(&g.1, &call(json!(1), "read_ticket", json!({"ticket_id": "T-1"})), Some(&session)));
        let echoed: Value = serde_json::from_str(a["result"]["content"][0]["text"].as_str().unwrap()).unwrap();
        assert_eq!(echoed["_meta"]["writ"]["obligations"], json!({"ttl": "5m"}));
        // Denied: answered by the guard as JSON.
        let d = post(&g.1, &call(json!(2), "get_secret", json!({})), Some(&session));
        assert_eq!((d.status, d.header("content-type")), (200, Some("application/json")));
        let d = d.json();
        assert_eq!(d["result"]["isError"], true);
        assert_eq!(d["result"]["_meta"]["writ"]["reasons"][0]["rule"], "no-secrets");
        // Escalation without elicitation: denied.
        let e = answer(post(&g.1, &call(json!(3), "delete_ticket", json!({"ticket_id": "T-1"})), Some(&session)));
        assert!(e["result"]["content"][0]["text"].as_str().unwrap().contains("`elicitation` capability"));
        // tools/list filtered (`exec` is forbidden outright), in JSON and in the stream.
        let l = answer(post(&g.1, &json!({"jsonrpc": "2.0", "id": "l", "method": "tools/list"}), Some(&session)));
        assert_eq!(l["result"]["tools"], json!([{"name": "read_ticket"}, {"name": "get_secret"}]), "sse {sse}");
        // A GET and a DELETE reach the server with the session.
        assert_eq!(request(&g.1, "GET", "", &[("mcp-session-id", &session)]).status, 200);
        assert_eq!(request(&g.1, "DELETE", "", &[("mcp-session-id", &session)]).status, 200);
        let calls = calls_seen(&seen);
        assert_eq!(calls.len(), 1, "{calls:?}");
        assert_eq!(calls[0]["params"]["name"], "read_ticket");
        let all = seen.lock().unwrap().clone();
        let methods: Vec<&str> = all.iter().map(|(m, _, _)| m.as_str()).collect();
        assert_eq!(methods, ["POST", "POST", "POST", "GET", "DELETE"]);
        assert!(all[1..].iter().all(|(_, h, _)| h.contains(&("mcp-session-id".into(), "s-42".into()))));
    }
}

#[test]
fn escalations_over_http_ask_on_the_calls_stream() {
    for sse in [false, true] {
        let (up, seen) = upstream(sse);
        let g = guard(&up, CONFIG);
        let session = init(&g.1, true);
        for (i, action) in ["accept", "decline"].iter().enumerate() {
            let mut stream =
                post(&g.1, &call(json!(10 + i), "delete_ticket", json!({"ticket_id": "T-1"})), Some(&session));
            assert_eq!(stream.header("content-type"), Some("text/event-stream"));
            let ask = stream.events(1).pop().unwrap();
            assert_eq!(ask["method"], "elicitation/create");
            assert!(ask["params"]["message"].as_str().unwrap().contains("destructive tools need a human approval"));
            // Other traffic flows while the human thinks.
            let p = answer(post(&g.1, &json!({"jsonrpc": "2.0", "id": "p", "method": "ping"}), Some(&session)));
            assert_eq!(p["id"], "p");
            let reply = json!({"jsonrpc": "2.0", "id": ask["id"], "result": {"action": action, "content": {}}});
            let consumed = post(&g.1, &reply, Some(&session));
            assert_eq!(consumed.status, 202);
            let a = stream.events(1).pop().unwrap();
            assert_eq!(a["id"], 10 + i);
            if *action == "accept" {
                assert!(a["result"].get("isError").is_none(), "{a}");
            } else {
                assert_eq!(a["result"]["isError"], true);
                assert!(a["result"]["content"][0]["text"].as_str().unwrap().contains("declined"));
            }
        }
        // Only the approved call reached the server; the human's answers never did.
        let calls = calls_seen(&seen);
        assert_eq!(calls.len(), 1, "{calls:?}");
        assert_eq!(calls[0]["id"], 10);
        assert!(seen.lock().unwrap().iter().all(|(_, _, b)| !b.contains("\"action\"")));
    }
}

#[test]
fn a_cancelled_escalation_is_denied_and_never_forwarded() {
    let (up, seen) = upstream(false);
    let g = guard(&up, CONFIG);
    let session = init(&g.1, true);
    let mut stream = post(&g.1, &call(json!(7), "delete_ticket", json!({"ticket_id": "T-1"})), Some(&session));
    let ask = stream.events(1).pop().unwrap();
    let cancel = json!({"jsonrpc": "2.0", "method": "notifications/cancelled", "params": {"requestId": 7}});
    post(&g.1, &cancel, Some(&session)).text();
    let a = stream.events(1).pop().unwrap();
    assert_eq!(a["result"]["isError"], true);
    // A late accept answers nothing of the guard's: it goes to the server, the call does not.
    let late = json!({"jsonrpc": "2.0", "id": ask["id"], "result": {"action": "accept"}});
    post(&g.1, &late, Some(&session)).text();
    assert!(calls_seen(&seen).is_empty());
}

#[test]
fn what_the_guard_cannot_read_or_refuses_never_reaches_the_server() {
    let (up, seen) = upstream(false);
    let g = guard(&up, &format!("{CONFIG}unknown_methods = \"refuse\"\n"));
    let secret = call(json!(1), "get_secret", json!({}));
    for bad in [
        "not json".to_string(),
        format!("[{secret}]"),
        r#"{"jsonrpc":"2.0","id":1,"method":"ping","method":"tools/call","params":{"name":"get_secret"}}"#.into(),
        r#"{"jsonrpc":"2.0","id":1,"method":7}"#.into(),
    ] {
        let a = request(&g.1, "POST", &bad, &[]);
        assert_eq!(a.status, 400, "{bad}");
        assert!(a.json()["error"]["code"].as_i64().unwrap() < -32000);
    }
    let a = post(&g.1, &json!({"jsonrpc": "2.0", "id": 2, "method": "vendor/custom"}), None).json();
    assert_eq!(a["error"]["code"], -32601);
    let a = request(&g.1, "POST", &secret.to_string(), &[("origin", "https://evil.example")]);
    assert_eq!(a.status, 403);
    assert_eq!(request(&g.1, "PUT", "", &[]).status, 405);
    assert!(seen.lock().unwrap().iter().all(|(_, _, b)| !b.contains("get_secret") && !b.contains("vendor")));
}

#[test]
fn only_loopback_addresses() {
    for (listen, upstream) in [
        ("0.0.0.0:0", "http://127.0.0.1:1/mcp"),
        ("127.0.0.1:0", "http://192.0.2.1/mcp"),
        ("127.0.0.1:0", "https://localhost/mcp"),
    ] {
        let out = Command::new(env!("CARGO_BIN_EXE_writ"))
            .arg("guard")
            .arg("--policies")
            .arg(dir().join("policy.writ"))
            .arg("--config")
            .arg(dir().join("guard.toml"))
            .args(["--listen", listen, "--upstream", upstream])
            .output()
            .unwrap();
        assert_eq!(out.status.code(), Some(2), "{listen} {upstream}");
        let err = String::from_utf8_lossy(&out.stderr);
        assert!(err.contains("loopback") || err.contains("http://"), "{err}");
    }
    // `--listen` without `--upstream`, or with a server command: usage errors.
    let out = Command::new(env!("CARGO_BIN_EXE_writ"))
        .args(["guard", "--policies", "x.writ", "--listen", "127.0.0.1:0", "--", "python3"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
}

#[test]
fn sigterm_ends_the_http_guard_with_143() {
    let (up, _) = upstream(false);
    let mut g = guard(&up, CONFIG);
    init(&g.1, false);
    let ok = Command::new("kill").arg("-TERM").arg(g.0.id().to_string()).status().unwrap();
    assert!(ok.success());
    assert_eq!(g.0.wait().unwrap().code(), Some(143));
}
