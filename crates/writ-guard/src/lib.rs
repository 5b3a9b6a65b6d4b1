//! `writ guard`: runs an MCP server as a child process and stands between it and the MCP
//! client on stdio, deciding every tool call before it reaches the server (docs/guard.md).
//!
//! The relay ([`relay::Relay`]) is independent of processes: it reads lines from each side
//! and writes to the other, so it is tested without a child. [`run`] wires it to the real
//! standard input and output and to the child.
#![cfg_attr(test, allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, clippy::indexing_slicing))]

pub mod config;
pub mod decide;
pub mod http;
pub mod relay;

use std::ffi::OsString;
use std::io::{BufRead, BufReader};
use std::path::PathBuf;
use std::process::{Child, Command, ExitCode, Stdio};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::time::{Duration, Instant};

pub use config::Config;
pub use decide::{DecisionSink, GuardDecision, LogSink, NoLog};

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
    /// Write every decision to this JSON-lines file (the decision log of `writ serve`);
    /// overrides `path` of the configuration's `[decision_log]` table.
    #[arg(long, value_name = "FILE")]
    pub decision_log: Option<PathBuf>,
    /// Serve the MCP streamable-HTTP transport on this loopback address (`127.0.0.1:8080`,
    /// port 0 for any) and guard the server at `--upstream`, instead of running a server on
    /// stdio.
    #[arg(long, value_name = "ADDR", requires = "upstream", conflicts_with = "server")]
    pub listen: Option<std::net::SocketAddr>,
    /// With `--listen`: the MCP server's streamable-HTTP endpoint on a loopback address
    /// (`http://127.0.0.1:8000/mcp`); the guard serves the same path.
    #[arg(long, value_name = "URL", requires = "listen")]
    pub upstream: Option<String>,
    /// The MCP server to run and guard, after `--`: `writ guard … -- python server.py`.
    #[arg(last = true, required_unless_present = "listen", value_name = "SERVER_CMD")]
    pub server: Vec<OsString>,
}

/// Runs the guard until the server exits (its exit code), the client closes its input, or
/// `SIGTERM`/`SIGINT` ends it (128 + the signal). Decisions go to the decision log when
/// `--decision-log` or the configuration's `[decision_log]` asks for one.
pub fn run(args: GuardArgs) -> ExitCode {
    let config = match read_config(&args) {
        Ok(c) => c,
        Err((message, code)) => return fail(&message, code),
    };
    let sink: Arc<dyn DecisionSink> = match open_log(&args, &config) {
        Ok(Some(log)) => Arc::new(LogSink(log)),
        Ok(None) => Arc::new(NoLog),
        Err((message, code)) => return fail(&message, code),
    };
    run_loaded(args, config, sink)
}

/// [`run`] with a decision log of the host's: `sink` sees every decision (the configured
/// log is not opened).
pub fn run_with(args: GuardArgs, sink: Arc<dyn DecisionSink>) -> ExitCode {
    match read_config(&args) {
        Ok(c) => run_loaded(args, c, sink),
        Err((message, code)) => fail(&message, code),
    }
}

fn fail(message: &str, code: u8) -> ExitCode {
    eprint!("writ guard: {message}");
    ExitCode::from(code)
}

/// The decision log the arguments and the configuration ask for.
fn open_log(args: &GuardArgs, config: &Config) -> Result<Option<writ_decision_log::DecisionLog>, (String, u8)> {
    let log = match (&args.decision_log, &config.decision_log) {
        (None, None) => return Ok(None),
        (Some(p), None) => writ_decision_log::LogConfig::new(p.clone()),
        (p, Some(table)) => {
            let mut c = table.to_log_config();
            if let Some(p) = p {
                c.path = p.clone();
            }
            c
        }
    };
    writ_decision_log::DecisionLog::open(log.clone())
        .map(Some)
        .map_err(|e| (format!("cannot open the decision log `{}`: {e}\n", log.path.display()), exit::INPUT))
}

fn run_loaded(args: GuardArgs, config: Config, sink: Arc<dyn DecisionSink>) -> ExitCode {
    let code = match (&args.listen, &args.upstream) {
        (Some(listen), Some(upstream)) => run_http(&args, *listen, upstream, config, sink.clone()),
        _ => run_stdio(&args, config, sink.clone()),
    };
    sink.flush();
    ExitCode::from(code)
}

fn run_stdio(args: &GuardArgs, config: Config, sink: Arc<dyn DecisionSink>) -> u8 {
    let signal = Arc::new(AtomicUsize::new(0));
    for s in [signal_hook::consts::SIGTERM, signal_hook::consts::SIGINT] {
        if let Err(e) = signal_hook::flag::register_usize(s, signal.clone(), s as usize) {
            eprintln!("writ guard: cannot handle signal {s}: {e}");
            return exit::INPUT;
        }
    }
    let decider = match load(args, config, sink) {
        Ok(d) => d,
        Err((message, code)) => {
            eprint!("writ guard: {message}");
            return code;
        }
    };
    let Some((program, rest)) = args.server.split_first() else {
        eprintln!("writ guard: no server command after `--`");
        return exit::INPUT;
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
            return exit::INPUT;
        }
    };
    let (Some(child_in), Some(child_out)) = (child.stdin.take(), child.stdout.take()) else {
        let _ = child.kill();
        eprintln!("writ guard: no pipes to the server");
        return exit::INPUT;
    };
    let relay = Arc::new(relay::Relay::new(decider, Box::new(std::io::stdout()), Box::new(child_in)));
    let from_server = {
        let relay = relay.clone();
        std::thread::spawn(move || pump(BufReader::new(child_out), |l| relay.from_server(l), || false))
    };
    let client_done = Arc::new(AtomicBool::new(false));
    {
        let relay = relay.clone();
        let done = client_done.clone();
        std::thread::spawn(move || {
            pump(BufReader::new(std::io::stdin()), |l| relay.from_client(l), || relay.client_gone());
            relay.close_server();
            done.store(true, Ordering::SeqCst);
        });
    }
    match wait(&mut child, &relay, &client_done, &signal) {
        Ended::Server(code) => {
            // The server's last words (answers written before it exited) still reach the client.
            let _ = from_server.join();
            code
        }
        Ended::Signal(s) => u8::try_from((128 + s) & 0xff).unwrap_or(1),
    }
}

/// How the guard ended.
enum Ended {
    /// The server exited with this code.
    Server(u8),
    /// A signal ended the guard (the server was terminated).
    Signal(usize),
}

/// The guard as a streamable-HTTP proxy ([`http`]) until `SIGTERM` or `SIGINT`.
fn run_http(
    args: &GuardArgs,
    listen: std::net::SocketAddr,
    upstream: &str,
    config: Config,
    sink: Arc<dyn DecisionSink>,
) -> u8 {
    if !listen.ip().is_loopback() {
        eprintln!("writ guard: `--listen {listen}`: the guard listens on loopback addresses only");
        return exit::INPUT;
    }
    let upstream = match http::upstream_uri(upstream) {
        Ok(u) => u,
        Err(e) => {
            eprintln!("writ guard: --upstream {e}");
            return exit::INPUT;
        }
    };
    let decider = match load(args, config, sink) {
        Ok(d) => d,
        Err((message, code)) => {
            eprint!("writ guard: {message}");
            return code;
        }
    };
    let rt = match tokio::runtime::Builder::new_multi_thread().worker_threads(2).enable_all().build() {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("writ guard: cannot start the runtime: {e}");
            return exit::INPUT;
        }
    };
    let code = rt.block_on(async move {
        use tokio::signal::unix::{SignalKind, signal};
        let (Ok(mut term), Ok(mut int)) = (signal(SignalKind::terminate()), signal(SignalKind::interrupt())) else {
            eprintln!("writ guard: cannot handle signals");
            return exit::INPUT;
        };
        let listener = match tokio::net::TcpListener::bind(listen).await {
            Ok(l) => l,
            Err(e) => {
                eprintln!("writ guard: cannot listen on `{listen}`: {e}");
                return exit::INPUT;
            }
        };
        let bound = listener.local_addr().unwrap_or(listen);
        eprintln!("{}", http::announce(bound, &upstream));
        let stop = async move {
            tokio::select! {
                _ = term.recv() => 128 + 15,
                _ = int.recv() => 128 + 2,
            }
        };
        match http::serve(decider, upstream, listener, stop).await {
            Ok(code) => code,
            Err(e) => {
                eprintln!("writ guard: {e}");
                exit::INPUT
            }
        }
    });
    // Streams still open (a client's GET) are cut.
    rt.shutdown_timeout(Duration::from_secs(1));
    code
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
/// On `SIGTERM` or `SIGINT`, terminates it the same way and reports the signal.
fn wait(child: &mut Child, relay: &relay::Relay, client_done: &AtomicBool, signal: &AtomicUsize) -> Ended {
    let mut gone_since: Option<Instant> = None;
    loop {
        match child.try_wait() {
            Ok(Some(status)) => return Ended::Server(status_code(status)),
            Ok(None) => {}
            Err(_) => return Ended::Server(exit::INPUT),
        }
        let s = signal.load(Ordering::SeqCst);
        if s != 0 {
            terminate(child);
            return Ended::Signal(s);
        }
        if gone_since.is_none() && (client_done.load(Ordering::SeqCst) || relay.client_gone()) {
            relay.close_server();
            gone_since = Some(Instant::now());
        }
        if gone_since.is_some_and(|t| t.elapsed() > GRACE) {
            let _ = child.kill();
        }
        std::thread::sleep(Duration::from_millis(20));
    }
}

/// Sends the server `SIGTERM`, waits up to [`GRACE`] for it to exit, then kills it.
fn terminate(child: &mut Child) {
    if sigterm(child.id()) {
        let start = Instant::now();
        while start.elapsed() < GRACE {
            if !matches!(child.try_wait(), Ok(None)) {
                return;
            }
            std::thread::sleep(Duration::from_millis(20));
        }
    }
    let _ = child.kill();
    let _ = child.wait();
}

/// `kill(pid, SIGTERM)`; whether the signal was sent.
#[allow(unsafe_code)]
fn sigterm(pid: u32) -> bool {
    let Ok(pid) = libc::pid_t::try_from(pid) else { return false };
    // SAFETY: `kill` takes two integers and touches no memory of this process; `pid` is the
    // id of our own child, not yet reaped (so not reused).
    unsafe { libc::kill(pid, libc::SIGTERM) == 0 }
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

/// Reads the configuration file.
fn read_config(args: &GuardArgs) -> Result<Config, (String, u8)> {
    match &args.config {
        None => Err(("a guard needs `--config FILE` naming the agent (`principal = { type = \"Agent\", id = \"…\" }`; docs/guard.md)\n".into(), exit::INPUT)),
        Some(p) => Config::from_file(p).map_err(|e| (format!("{e}\n"), exit::INPUT)),
    }
}

/// Loads the policies and entities.
fn load(args: &GuardArgs, config: Config, sink: Arc<dyn DecisionSink>) -> Result<decide::Decider, (String, u8)> {
    let read = |p: &PathBuf| {
        std::fs::read_to_string(p).map_err(|e| (format!("cannot read `{}`: {e}\n", p.display()), exit::INPUT))
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
