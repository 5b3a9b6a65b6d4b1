//! `writ serve`: an HTTP decision point for Writ policies. It speaks OpenID AuthZEN 1.0
//! (`/access/v1/evaluation`, `/access/v1/evaluations`, `/.well-known/authzen-configuration`)
//! and a native JSON API (`/v1/decide`, `/v1/decide/batch`), reloads policies without a
//! restart, logs decisions, and exposes health and Prometheus metrics. `docs/serve.md` is
//! the guide; `docs/openapi/serve.yaml` describes the API.
//!
//! The crate is a library: the `writ` command runs it as `writ serve` ([`ServeArgs`],
//! [`run`]); tests and hosts start it in process with [`start`].
#![cfg_attr(test, allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, clippy::indexing_slicing))]

pub mod authzen;
pub mod config;
/// The decision log (its own crate, shared with `writ guard`).
pub use writ_decision_log as decision_log;
pub mod metrics;
mod server;
mod state;

pub use config::Config;
pub use server::{ReloadOutcome, Server, start};

use std::net::SocketAddr;
use std::path::PathBuf;
use std::process::ExitCode;

/// The arguments of `writ serve`. Flags override the config file.
#[derive(clap::Args, Debug, Clone, Default)]
pub struct ServeArgs {
    /// Policy files or directories (every `*.writ` below them). A directory holding an
    /// `entities.json` and no `--entities` uses that file as the entity store.
    pub paths: Vec<PathBuf>,
    /// The entity store, as a JSON array of entities (reloaded with the policies).
    #[arg(long)]
    pub entities: Option<PathBuf>,
    /// Where to listen [default: 127.0.0.1:8181].
    #[arg(long)]
    pub addr: Option<SocketAddr>,
    /// A TOML config file (see docs/serve.md).
    #[arg(long)]
    pub config: Option<PathBuf>,
    /// Answer AuthZEN requests with `{"decision": bool}` only.
    #[arg(long)]
    pub strict_authzen: bool,
    /// Do not watch the files (reload on SIGHUP or `POST /v1/admin/reload` only).
    #[arg(long)]
    pub no_watch: bool,
    /// Write the decision log (JSON lines) to this file.
    #[arg(long, value_name = "FILE")]
    pub decision_log: Option<PathBuf>,
    /// Which back end decides.
    #[arg(long, value_enum)]
    pub engine: Option<config::EngineKind>,
    /// Worker threads [default: one per core].
    #[arg(long)]
    pub workers: Option<usize>,
}

impl ServeArgs {
    /// The config these arguments describe: the config file (if any), then the flags.
    pub fn to_config(&self) -> Result<Config, String> {
        let mut c = match &self.config {
            Some(p) => Config::from_file(p)?,
            None => Config::default(),
        };
        if !self.paths.is_empty() {
            c.policies.clone_from(&self.paths);
        }
        if self.entities.is_some() {
            c.entities.clone_from(&self.entities);
        }
        if c.entities.is_none() {
            // `writ serve examples/authzen-todo` finds the example's entities.
            c.entities = c.policies.iter().map(|p| p.join("entities.json")).find(|p| p.is_file());
        }
        if let Some(a) = self.addr {
            c.addr = a;
        }
        if self.strict_authzen {
            c.authzen.strict = true;
        }
        if self.no_watch {
            c.watch = false;
        }
        if let Some(path) = &self.decision_log {
            let mut l = c.log.take().unwrap_or_default();
            l.path.clone_from(path);
            c.log = Some(l);
        }
        if let Some(e) = self.engine {
            c.engine = e;
        }
        if c.policies.is_empty() {
            return Err("no policies: give PATHS or `policies` in the config file".into());
        }
        Ok(c)
    }
}

/// Runs `writ serve` until SIGTERM or SIGINT (SIGHUP reloads). Prints
/// `writ serve: listening on http://ADDR` on stderr once it accepts connections.
pub fn run(args: ServeArgs) -> ExitCode {
    let config = match args.to_config() {
        Ok(c) => c,
        Err(e) => {
            eprintln!("error: {e}");
            return ExitCode::from(2);
        }
    };
    let mut builder = tokio::runtime::Builder::new_multi_thread();
    if let Some(n) = args.workers {
        builder.worker_threads(n.max(1));
    }
    let runtime = match builder.enable_all().build() {
        Ok(r) => r,
        Err(e) => {
            eprintln!("error: cannot start the runtime: {e}");
            return ExitCode::FAILURE;
        }
    };
    runtime.block_on(serve_until_signal(config))
}

async fn serve_until_signal(config: Config) -> ExitCode {
    let server = match start(config).await {
        Ok(s) => s,
        Err(report) => {
            eprint!("{report}");
            if !report.ends_with('\n') {
                eprintln!();
            }
            eprintln!("error: writ serve did not start");
            return ExitCode::FAILURE;
        }
    };
    eprintln!("writ serve: listening on http://{} (policy version {})", server.addr(), server.version());
    wait_for_stop(&server).await;
    eprintln!("writ serve: shutting down, finishing requests in flight");
    let drained = server.shutdown().await;
    eprintln!("writ serve: stopped");
    if drained { ExitCode::SUCCESS } else { ExitCode::FAILURE }
}

#[cfg(unix)]
async fn wait_for_stop(server: &Server) {
    use tokio::signal::unix::{SignalKind, signal};
    let (Ok(mut term), Ok(mut int), Ok(mut hup)) =
        (signal(SignalKind::terminate()), signal(SignalKind::interrupt()), signal(SignalKind::hangup()))
    else {
        let _ = tokio::signal::ctrl_c().await;
        return;
    };
    loop {
        tokio::select! {
            _ = term.recv() => return,
            _ = int.recv() => return,
            _ = hup.recv() => { server.reload().await; }
        }
    }
}

#[cfg(not(unix))]
async fn wait_for_stop(_server: &Server) {
    let _ = tokio::signal::ctrl_c().await;
}
