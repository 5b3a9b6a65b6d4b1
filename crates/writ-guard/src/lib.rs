//! `writ guard`: runs an MCP server as a child process and stands between it and the MCP
//! client on stdio, deciding every tool call before it reaches the server (docs/guard.md).
//!
//! The relay ([`relay::Relay`]) is independent of processes: it reads lines from each side
//! and writes to the other, so it is tested without a child. [`run`] wires it to the real
//! standard input and output and to the child.
#![cfg_attr(test, allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, clippy::indexing_slicing))]

pub mod config;
pub mod decide;
pub mod relay;

use std::ffi::OsString;
use std::io::{BufRead, BufReader};
use std::path::PathBuf;
use std::process::{Child, Command, ExitCode, Stdio};
use std::sync::Arc;
use std::time::{Duration, Instant};

pub use config::Config;
pub use decide::{DecisionSink, GuardDecision, NoLog};

/// Exit codes of the guard itself (the child's code otherwise).
pub mod exit {
    /// The policies do not check.
    pub const FAILURE: u8 = 1;
    /// Bad usage or unreadable input: a missing file, a bad configuration, a server that
    /// cannot be started.
    pub const INPUT: u8 = 2;
}

/// How long the server may take to exit after its input closed before it is killed.
const GRACE: Duration = Duration::from_secs(5);

/// The longest line the guard reads from either side (a longer one is cut off and refused).
const MAX_LINE: usize = 64 << 20;

/// `writ guard`: the arguments.
#[derive(clap::Args, Debug, Clone)]
pub struct GuardArgs {
    /// Policy files or directories.
    #[arg(long, required = true, num_args = 1.., value_name = "PATHS")]
    pub policies: Vec<PathBuf>,
    /// The entity store, as a JSON array of entities.
    #[arg(long, value_name = "FILE")]
    pub entities: Option<PathBuf>,
    /// The guard's configuration (TOML): the agent, its intent, the request mapping
    /// (docs/guard.md).
    #[arg(long, value_name = "FILE")]
    pub config: Option<PathBuf>,
    /// The MCP server to run and guard, after `--`: `writ guard … -- python server.py`.
    #[arg(last = true, required = true, value_name = "SERVER_CMD")]
    pub server: Vec<OsString>,
}

/// Runs the guard until the server exits (its exit code) or the client closes its input.
pub fn run(args: GuardArgs) -> ExitCode {
    run_with(args, Arc::new(NoLog))
}

/// [`run`] with a decision log: `sink` sees every decision.
pub fn run_with(args: GuardArgs, sink: Arc<dyn DecisionSink>) -> ExitCode {
    let decider = match load(&args, sink) {
        Ok(d) => d,
        Err((message, code)) => {
            eprint!("writ guard: {message}");
            return ExitCode::from(code);
        }
    };
    let Some((program, rest)) = args.server.split_first() else {
        eprintln!("writ guard: no server command after `--`");
        return ExitCode::from(exit::INPUT);
    };
    let mut child = match Command::new(program)
        .args(rest)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit())
        .spawn()
    {
        Ok(c) => c,
        Err(e) => {
            eprintln!("writ guard: cannot start `{}`: {e}", program.to_string_lossy());
            return ExitCode::from(exit::INPUT);
        }
    };
    let (Some(child_in), Some(child_out)) = (child.stdin.take(), child.stdout.take()) else {
        let _ = child.kill();
        eprintln!("writ guard: no pipes to the server");
        return ExitCode::from(exit::INPUT);
    };
    let relay = Arc::new(relay::Relay::new(decider, Box::new(std::io::stdout()), Box::new(child_in)));
    let from_server = {
        let relay = relay.clone();
        std::thread::spawn(move || pump(BufReader::new(child_out), |l| relay.from_server(l), || false))
    };
    let client_done = Arc::new(std::sync::atomic::AtomicBool::new(false));
    {
        let relay = relay.clone();
        let done = client_done.clone();
        std::thread::spawn(move || {
            pump(BufReader::new(std::io::stdin()), |l| relay.from_client(l), || relay.client_gone());
            relay.close_server();
            done.store(true, std::sync::atomic::Ordering::SeqCst);
        });
    }
    let code = wait(&mut child, &relay, &client_done);
    // The server's last words (answers written before it exited) still reach the client.
    let _ = from_server.join();
    ExitCode::from(code)
}

/// Reads lines until the end (or `stop`), handing each to `line`.
fn pump(mut r: impl BufRead, mut line: impl FnMut(&[u8]), stop: impl Fn() -> bool) {
    let mut buf = Vec::new();
    loop {
        buf.clear();
        match std::io::Read::take(&mut r, MAX_LINE as u64).read_until(b'\n', &mut buf) {
            Ok(0) | Err(_) => return,
            Ok(_) => line(&buf),
        }
        if stop() {
            return;
        }
    }
}

/// Waits for the child; after the client is gone, gives it [`GRACE`] to exit, then kills it.
fn wait(child: &mut Child, relay: &relay::Relay, client_done: &std::sync::atomic::AtomicBool) -> u8 {
    let mut gone_since: Option<Instant> = None;
    loop {
        match child.try_wait() {
            Ok(Some(status)) => return status_code(status),
            Ok(None) => {}
            Err(_) => return exit::INPUT,
        }
        if gone_since.is_none() && (client_done.load(std::sync::atomic::Ordering::SeqCst) || relay.client_gone()) {
            relay.close_server();
            gone_since = Some(Instant::now());
        }
        if gone_since.is_some_and(|t| t.elapsed() > GRACE) {
            let _ = child.kill();
        }
        std::thread::sleep(Duration::from_millis(20));
    }
}

fn status_code(status: std::process::ExitStatus) -> u8 {
    if let Some(c) = status.code() {
        return u8::try_from(c & 0xff).unwrap_or(1);
    }
    #[cfg(unix)]
    {
        use std::os::unix::process::ExitStatusExt;
        if let Some(s) = status.signal() {
            return u8::try_from((128 + s) & 0xff).unwrap_or(1);
        }
    }
    1
}

/// Loads the policies, entities and configuration.
fn load(args: &GuardArgs, sink: Arc<dyn DecisionSink>) -> Result<decide::Decider, (String, u8)> {
    let read = |p: &PathBuf| {
        std::fs::read_to_string(p).map_err(|e| (format!("cannot read `{}`: {e}\n", p.display()), exit::INPUT))
    };
    let config = match &args.config {
        None => return Err(("a guard needs `--config FILE` naming the agent (`principal = { type = \"Agent\", id = \"…\" }`; docs/guard.md)\n".into(), exit::INPUT)),
        Some(p) => Config::from_toml(&read(p)?).map_err(|e| (format!("{}: {e}\n", p.display()), exit::INPUT))?,
    };
    let policies = writ::PolicySet::load_paths(&args.policies).map_err(|e| {
        let mut s = e.render();
        s.push_str("the policies do not check\n");
        (s, exit::FAILURE)
    })?;
    let engine = writ::Engine::compile_with(&policies, writ::EngineOptions::default())
        .map_err(|e| (format!("{e}\n"), exit::FAILURE))?;
    let entities = match &args.entities {
        None => engine.empty_entities(),
        Some(p) => engine
            .entities_from_json(&read(p)?)
            .map_err(|e| (format!("{}: bad entities: {e}\n", p.display()), exit::INPUT))?,
    };
    Ok(decide::Decider::new(engine, entities, config, sink))
}
