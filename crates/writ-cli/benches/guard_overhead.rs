//! What `writ guard` adds to a tool call: round trips of `tools/call` over stdio to the
//! scripted server (`tests/guard/echo_server.py`), directly and through the guard, and the
//! round trip of a call the guard denies itself. Prints p50 and p99 per path.
//!
//! `cargo bench -p writ-cli --bench guard_overhead` (BENCHMARKS.md, "MCP guard").
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, clippy::indexing_slicing)]

use std::io::{BufRead, BufReader, Write};
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
        let mut times = Vec::with_capacity(CALLS);
        for i in 0..WARMUP + CALLS {
            let line = format!(
                "{{\"jsonrpc\":\"2.0\",\"id\":{i},\"method\":\"tools/call\",\"params\":{{\"name\":\"{tool}\",\"arguments\":{{\"ticket_id\":\"T-{i}\"}}}}}}\n"
            );
            let t = self.round_trip(&line);
            if i >= WARMUP {
                times.push(t);
            }
        }
        times.sort();
        times
    }
}

impl Drop for Peer {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn pct(times: &[Duration], p: f64) -> f64 {
    let i = ((times.len() as f64 - 1.0) * p).round() as usize;
    times[i].as_secs_f64() * 1e6
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
    println!("MCP guard: {CALLS} tools/call round trips per path over stdio (after {WARMUP} warm-up calls)");
    println!("{:<34} {:>10} {:>10}", "path", "p50 µs", "p99 µs");
    for (name, t) in [
        ("direct to the server", &d),
        ("through writ guard (allowed)", &allowed),
        ("writ guard denies (no server)", &denied),
    ] {
        println!("{name:<34} {:>10.1} {:>10.1}", pct(t, 0.5), pct(t, 0.99));
    }
    println!(
        "{:<34} {:>10.1} {:>10.1}",
        "added by the guard (allowed)",
        pct(&allowed, 0.5) - pct(&d, 0.5),
        pct(&allowed, 0.99) - pct(&d, 0.99)
    );
}
