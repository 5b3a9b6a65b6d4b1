//! What `writ guard` adds to a tool call: round trips of `tools/call` over stdio to the
//! scripted server (`tests/guard/echo_server.py`), directly and through the guard, and the
//! round trip of a call the guard denies itself; then the same over streamable HTTP
//! (`writ guard --listen … --upstream …`) in front of a minimal HTTP echo server in this
//! process (keep-alive, JSON answers), so the numbers are the guard's and not a server's.
//! Prints p50 and p99 per path.
//!
//! `cargo bench -p writ-cli --bench guard_overhead` (BENCHMARKS.md, "MCP guard").
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, clippy::indexing_slicing)]

use std::io::{BufRead, BufReader, Read, Write};
use std::net::{TcpListener, TcpStream};
use std::path::PathBuf;
use std::process::{Child, ChildStdin, ChildStdout, Command, Stdio};
use std::time::{Duration, Instant};

const WARMUP: usize = 200;
const CALLS: usize = 2_000;

struct Peer {
    child: Child,
    stdin: ChildStdin,
    stdout: BufReader<ChildStdout>,
}

impl Peer {
    fn start(mut cmd: Command) -> Peer {
        let mut child = cmd.stdin(Stdio::piped()).stdout(Stdio::piped()).spawn().unwrap();
        let stdin = child.stdin.take().unwrap();
        let stdout = BufReader::new(child.stdout.take().unwrap());
        Peer { child, stdin, stdout }
    }

    fn round_trip(&mut self, line: &str) -> Duration {
        let start = Instant::now();
        self.stdin.write_all(line.as_bytes()).unwrap();
        self.stdin.flush().unwrap();
        let mut answer = String::new();
        self.stdout.read_line(&mut answer).unwrap();
        let took = start.elapsed();
        assert!(answer.contains("\"result\""), "{answer}");
        took
    }

    fn measure(&mut self, tool: &str) -> Vec<Duration> {
        measure(tool, "\n", |line| self.round_trip(line))
    }
}

impl Drop for Peer {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// The sorted round-trip times of `CALLS` calls of `tool` (after `WARMUP` more), each
/// message ending with `end`.
fn measure(tool: &str, end: &str, mut round_trip: impl FnMut(&str) -> Duration) -> Vec<Duration> {
    let mut times = Vec::with_capacity(CALLS);
    for i in 0..WARMUP + CALLS {
        let message = format!(
            "{{\"jsonrpc\":\"2.0\",\"id\":{i},\"method\":\"tools/call\",\"params\":{{\"name\":\"{tool}\",\"arguments\":{{\"ticket_id\":\"T-{i}\"}}}}}}{end}"
        );
        let t = round_trip(&message);
        if i >= WARMUP {
            times.push(t);
        }
    }
    times.sort();
    times
}

fn pct(times: &[Duration], p: f64) -> f64 {
    let i = ((times.len() as f64 - 1.0) * p).round() as usize;
    times[i].as_secs_f64() * 1e6
}

/// A keep-alive HTTP/1.1 connection that POSTs JSON-RPC messages.
struct HttpPeer {
    reader: BufReader<TcpStream>,
    writer: TcpStream,
    path: String,
}

impl HttpPeer {
    fn connect(addr: &str, path: &str) -> HttpPeer {
        let s = TcpStream::connect(addr).unwrap();
        s.set_nodelay(true).unwrap();
        HttpPeer { reader: BufReader::new(s.try_clone().unwrap()), writer: s, path: path.into() }
    }

    fn round_trip(&mut self, body: &str) -> Duration {
        let start = Instant::now();
        write!(
            self.writer,
            "POST {} HTTP/1.1\r\nhost: 127.0.0.1\r\ncontent-type: application/json\r\naccept: application/json, text/event-stream\r\ncontent-length: {}\r\n\r\n{body}",
            self.path,
            body.len()
        )
        .unwrap();
        self.writer.flush().unwrap();
        let answer = read_http_body(&mut self.reader);
        let took = start.elapsed();
        assert!(answer.contains("\"result\""), "{answer}");
        took
    }

    fn measure(&mut self, tool: &str) -> Vec<Duration> {
        measure(tool, "", |body| self.round_trip(body))
    }
}

/// Reads one HTTP message's head and body (content-length or chunked); the body as text.
fn read_http_body(r: &mut impl BufRead) -> String {
    let mut length = None;
    let mut chunked = false;
    loop {
        let mut line = String::new();
        assert!(r.read_line(&mut line).unwrap() > 0, "connection closed");
        let l = line.trim_end().to_ascii_lowercase();
        if l.is_empty() {
            break;
        }
        if let Some(v) = l.strip_prefix("content-length:") {
            length = Some(v.trim().parse::<usize>().unwrap());
        }
        if l.starts_with("transfer-encoding:") && l.contains("chunked") {
            chunked = true;
        }
    }
    let mut body = Vec::new();
    if chunked {
        loop {
            let mut size = String::new();
            r.read_line(&mut size).unwrap();
            let n = usize::from_str_radix(size.trim(), 16).unwrap();
            let mut chunk = vec![0; n + 2];
            r.read_exact(&mut chunk).unwrap();
            if n == 0 {
                break;
            }
            body.extend_from_slice(&chunk[..n]);
        }
    } else {
        body.resize(length.unwrap_or(0), 0);
        r.read_exact(&mut body).unwrap();
    }
    String::from_utf8(body).unwrap()
}

/// A minimal MCP-over-HTTP upstream: every POST is answered with a JSON result echoing it.
fn echo_upstream() -> String {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = listener.local_addr().unwrap().to_string();
    std::thread::spawn(move || {
        for conn in listener.incoming() {
            let Ok(conn) = conn else { return };
            std::thread::spawn(move || {
                conn.set_nodelay(true).unwrap();
                let mut w = conn.try_clone().unwrap();
                let mut r = BufReader::new(conn);
                loop {
                    let mut length = 0;
                    let mut id = String::from("null");
                    loop {
                        let mut line = String::new();
                        if r.read_line(&mut line).unwrap_or(0) == 0 {
                            return;
                        }
                        let l = line.trim_end().to_ascii_lowercase();
                        if l.is_empty() {
                            break;
                        }
                        if let Some(v) = l.strip_prefix("content-length:") {
                            length = v.trim().parse().unwrap();
                        }
                    }
                    let mut body = vec![0; length];
                    if r.read_exact(&mut body).is_err() {
                        return;
                    }
                    if let Ok(v) = serde_json::from_slice::<serde_json::Value>(&body) {
                        id = v["id"].to_string();
                    }
                    let answer = format!(
                        "{{\"jsonrpc\":\"2.0\",\"id\":{id},\"result\":{{\"content\":[{{\"type\":\"text\",\"text\":\"ok\"}}]}}}}"
                    );
                    let head = format!(
                        "HTTP/1.1 200 OK\r\ncontent-type: application/json\r\ncontent-length: {}\r\n\r\n",
                        answer.len()
                    );
                    if w.write_all(head.as_bytes()).and_then(|()| w.write_all(answer.as_bytes())).is_err() {
                        return;
                    }
                }
            });
        }
    });
    addr
}

/// `writ guard --listen 127.0.0.1:0 --upstream …`, and the address it listens on.
fn http_guard(dir: &std::path::Path, upstream: &str) -> (Child, String) {
    let mut child = Command::new(env!("CARGO_BIN_EXE_writ"))
        .arg("guard")
        .arg("--policies")
        .arg(dir.join("policy.writ"))
        .arg("--entities")
        .arg(dir.join("entities.json"))
        .arg("--config")
        .arg(dir.join("guard.toml"))
        .args(["--listen", "127.0.0.1:0", "--upstream"])
        .arg(format!("http://{upstream}/mcp"))
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut line = String::new();
    BufReader::new(child.stderr.take().unwrap()).read_line(&mut line).unwrap();
    let addr = line.split("http://").nth(1).and_then(|s| s.split('/').next()).unwrap().to_string();
    (child, addr)
}

fn report(title: &str, direct: &[Duration], allowed: &[Duration], denied: &[Duration]) {
    println!("{title}");
    println!("{:<34} {:>10} {:>10}", "path", "p50 µs", "p99 µs");
    for (name, t) in [
        ("direct to the server", direct),
        ("through writ guard (allowed)", allowed),
        ("writ guard denies (no server)", denied),
    ] {
        println!("{name:<34} {:>10.1} {:>10.1}", pct(t, 0.5), pct(t, 0.99));
    }
    println!(
        "{:<34} {:>10.1} {:>10.1}",
        "added by the guard (allowed)",
        pct(allowed, 0.5) - pct(direct, 0.5),
        pct(allowed, 0.99) - pct(direct, 0.99)
    );
}

fn main() {
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/guard");
    let server = |cmd: &mut Command| {
        cmd.arg("python3").arg(dir.join("echo_server.py")).arg("/dev/null");
    };
    let mut direct = Command::new("python3");
    direct.arg(dir.join("echo_server.py")).arg("/dev/null");
    let mut guarded = Command::new(env!("CARGO_BIN_EXE_writ"));
    guarded
        .arg("guard")
        .arg("--policies")
        .arg(dir.join("policy.writ"))
        .arg("--entities")
        .arg(dir.join("entities.json"))
        .arg("--config")
        .arg(dir.join("guard.toml"))
        .arg("--");
    server(&mut guarded);
    let d = Peer::start(direct).measure("read_ticket");
    let mut g = Peer::start(guarded);
    let allowed = g.measure("read_ticket");
    let denied = g.measure("get_secret");
    drop(g);
    report(
        &format!("MCP guard: {CALLS} tools/call round trips per path over stdio (after {WARMUP} warm-up calls)"),
        &d,
        &allowed,
        &denied,
    );
    let upstream = echo_upstream();
    let d = HttpPeer::connect(&upstream, "/mcp").measure("read_ticket");
    let (mut guard, addr) = http_guard(&dir, &upstream);
    let mut g = HttpPeer::connect(&addr, "/mcp");
    let allowed = g.measure("read_ticket");
    let denied = g.measure("get_secret");
    let _ = guard.kill();
    let _ = guard.wait();
    println!();
    report(
        &format!(
            "MCP guard: {CALLS} tools/call round trips per path over streamable HTTP, one keep-alive connection, JSON answers (after {WARMUP} warm-up calls)"
        ),
        &d,
        &allowed,
        &denied,
    );
}
