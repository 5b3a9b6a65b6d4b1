//! The `writ` command line. The edge of the system: it reads files, calls the library, and
//! renders diagnostics and decisions.
#![cfg_attr(test, allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, clippy::indexing_slicing))]

pub mod bench;
pub mod testrun;

use clap::{Parser, Subcommand, ValueEnum};
use std::io::IsTerminal;
use std::path::PathBuf;
use std::process::ExitCode;
use writ::SourceMap;
use writ::diag::{self, Diagnostic};
use writ::unstable::load;

#[derive(Parser, Debug)]
#[command(
    name = "writ",
    version,
    about = "Writ: runtime authorization policies for agents, service accounts and CI jobs"
)]
pub struct Cli {
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Subcommand, Debug)]
pub enum Command {
    /// Parse and check policy files; print diagnostics. Exit 1 when there are errors.
    Check {
        /// Files, or directories (every `*.writ` below them).
        #[arg(required = true)]
        paths: Vec<PathBuf>,
        /// `human` (terminal reports) or `json` (LSP-shaped diagnostics).
        #[arg(long, value_enum, default_value_t = Format::Human)]
        format: Format,
    },
    /// Decide one request and print the decision JSON (exit 0 whatever the decision).
    Eval {
        #[command(flatten)]
        input: RequestInput,
        /// Which back end decides.
        #[arg(long, value_enum, default_value_t = EngineKind::Jit)]
        engine: EngineKind,
        /// For a deny or escalate, list the permits that came closest and what stopped them.
        #[arg(long)]
        explain: bool,
        /// Let the request's inline entities replace entities of the store (by default such
        /// a request is bad input, denied).
        #[arg(long)]
        allow_inline_override: bool,
    },
    /// Measure compile time and ns per decision on both back ends (JIT and interpreter) for
    /// one request. Exit 1 if the back ends disagree on its decision.
    Bench {
        #[command(flatten)]
        input: RequestInput,
        /// Exactly N calls per timed batch (compilation: at most N) instead of scaling to `--time`.
        #[arg(long, value_name = "N", conflicts_with = "time", value_parser = clap::value_parser!(u64).range(1..))]
        iterations: Option<u64>,
        /// About SECS seconds per measurement (plus a warm-up); iterations are scaled to fit.
        #[arg(long, value_name = "SECS", default_value_t = bench::DEFAULT_SECONDS)]
        time: f64,
        /// `human` (a table) or `json` (for machines).
        #[arg(long, value_enum, default_value_t = Format::Human)]
        format: Format,
    },
    /// Run the policy test cases (`*.test.toml`) found under the paths.
    Test {
        /// Policy directories (their `*.writ` files are the policies, their `*.test.toml`
        /// files the tests).
        #[arg(required = true)]
        paths: Vec<PathBuf>,
        /// Let requests' inline entities replace entities of the store (by default such a
        /// request is bad input, denied).
        #[arg(long)]
        allow_inline_override: bool,
    },
    /// Print the long explanation of a diagnostic code, e.g. `writ explain P0001`.
    Explain {
        /// The code; omit it to list every code.
        code: Option<String>,
    },
    /// Run the language server (LSP 3.17) on stdin and stdout, for editors (docs/editors.md).
    Lsp,
}

/// The policies, request and entities of `eval` and `bench`.
#[derive(clap::Args, Debug)]
pub struct RequestInput {
    /// Policy files or directories.
    #[arg(required = true)]
    paths: Vec<PathBuf>,
    /// The request, as JSON (see docs/host-data.md).
    #[arg(long)]
    request: PathBuf,
    /// The entity store, as a JSON array of entities.
    #[arg(long)]
    entities: Option<PathBuf>,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub enum EngineKind {
    /// Native code (Cranelift); the interpreter where the machine is not supported.
    Jit,
    /// The reference interpreter.
    Interp,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub enum Format {
    Human,
    Json,
}

/// Runs the CLI with the process arguments.
pub fn main() -> ExitCode {
    let cli = Cli::parse();
    if let Command::Lsp = cli.command {
        // The server writes to stdout from its own thread: stdout must not be locked here.
        return writ_lsp::run_stdio();
    }
    let mut out = std::io::stdout().lock();
    run(cli.command, &mut out, std::io::stdout().is_terminal())
}

/// Runs one command, writing its output to `out`. Returns the process exit code.
pub fn run(command: Command, out: &mut dyn std::io::Write, color: bool) -> ExitCode {
    let (text, code) = match command {
        Command::Check { paths, format } => check(&paths, format, color),
        Command::Explain { code } => explain(code.as_deref()),
        Command::Lsp => (String::new(), writ_lsp::run_stdio()),
        Command::Eval { input: RequestInput { paths, request, entities }, engine, explain, allow_inline_override } => {
            let options = writ::EngineOptions { allow_inline_override, ..Default::default() };
            eval(&paths, &request, entities.as_deref(), engine, options, explain, color)
        }
        Command::Test { paths, allow_inline_override } => {
            test(&paths, writ::EngineOptions { allow_inline_override, ..Default::default() }, color)
        }
        Command::Bench { input: RequestInput { paths, request, entities }, iterations, time, format } => {
            let budget = iterations.map_or(bench::Budget::Seconds(time), bench::Budget::Iterations);
            bench::run(&bench::Options { paths, request, entities, budget, format }, color)
        }
    };
    if out.write_all(text.as_bytes()).is_err() {
        return ExitCode::from(2);
    }
    code
}

/// Reads, parses and checks every file; returns the sources (imported modules included)
/// and all diagnostics, sorted.
pub fn check_paths(paths: &[PathBuf]) -> (SourceMap, Vec<Diagnostic>) {
    let (sources, _, diags) = load::compile_paths(paths);
    (sources, diags)
}

fn check(paths: &[PathBuf], format: Format, color: bool) -> (String, ExitCode) {
    let (sources, diags) = check_paths(paths);
    let code = if diag::has_errors(&diags) { ExitCode::FAILURE } else { ExitCode::SUCCESS };
    let text = match format {
        Format::Json => format!("{}\n", diag::json::render(&diags, &sources)),
        Format::Human => {
            let files = sources.files().filter(|(_, f)| !f.name.starts_with("<std>")).count();
            let mut s = diag::render::render(&diags, &sources, color);
            let noun = if files == 1 { "file" } else { "files" };
            s.push_str(&format!("checked {files} {noun}: {}\n", diag::render::summary(&diags)));
            s
        }
    };
    (text, code)
}

/// Loads and checks the policies, or renders why they do not check.
fn load_policies(paths: &[PathBuf], color: bool) -> Result<writ::PolicySet, String> {
    writ::PolicySet::load_paths(paths).map_err(|e| {
        let mut s = diag::render::render(&e.diagnostics, &e.sources, color);
        s.push_str(&format!("the policies do not check: {}\n", diag::render::summary(&e.diagnostics)));
        s
    })
}

/// Compiles the policies for the back end, or renders why not.
fn engine_for(
    paths: &[PathBuf],
    kind: EngineKind,
    options: writ::EngineOptions,
    color: bool,
) -> Result<writ::Engine, String> {
    let p = load_policies(paths, color)?;
    match kind {
        EngineKind::Interp => Ok(writ::Engine::interpreted_with(&p, options)),
        EngineKind::Jit => writ::Engine::compile_with(&p, options).map_err(|e| format!("{e}\n")),
    }
}

fn eval(
    paths: &[PathBuf],
    request: &std::path::Path,
    entities: Option<&std::path::Path>,
    kind: EngineKind,
    options: writ::EngineOptions,
    explain: bool,
    color: bool,
) -> (String, ExitCode) {
    let engine = match engine_for(paths, kind, options, color) {
        Ok(e) => e,
        Err(s) => return (s, ExitCode::FAILURE),
    };
    let read =
        |p: &std::path::Path| std::fs::read_to_string(p).map_err(|e| format!("cannot read `{}`: {e}\n", p.display()));
    let req_text = match read(request) {
        Ok(t) => t,
        Err(s) => return (s, ExitCode::from(2)),
    };
    let store = match entities {
        None => Ok(engine.empty_entities()),
        Some(p) => match read(p) {
            Ok(t) => engine.entities_from_json(&t).map_err(|e| format!("entities: {e}")),
            Err(s) => return (s, ExitCode::from(2)),
        },
    };
    let decision = match store {
        Err(e) => writ::Decision::bad_request(e),
        Ok(store) => match engine.request_from_json(&req_text, &store) {
            Err(e) => writ::Decision::bad_request(e.to_string()),
            Ok(r) if explain => engine.decide_explained(&r),
            Ok(r) => engine.decide(&r),
        },
    };
    (format!("{}\n", decision.to_json()), ExitCode::SUCCESS)
}

fn test(paths: &[PathBuf], options: writ::EngineOptions, color: bool) -> (String, ExitCode) {
    let jit = match engine_for(&testrun::policy_paths(paths), EngineKind::Jit, options, color) {
        Ok(e) => e,
        Err(s) => return (s, ExitCode::FAILURE),
    };
    let reference = writ::Engine::interpreted_with(jit.policy(), options);
    let files = testrun::find_test_files(paths);
    if files.is_empty() {
        return ("no `*.test.toml` files found\n".into(), ExitCode::FAILURE);
    }
    let results = testrun::run(&[jit, reference], &files);
    let mut s = String::new();
    for r in &results {
        if r.passed {
            s.push_str(&format!("ok    {}: {}\n", r.file, r.name));
        } else {
            s.push_str(&format!("FAIL  {}: {}\n      {}\n", r.file, r.name, r.detail));
        }
    }
    let failed = results.iter().filter(|r| !r.passed).count();
    s.push_str(&format!("{} passed, {failed} failed\n", results.len() - failed));
    (s, if failed == 0 { ExitCode::SUCCESS } else { ExitCode::FAILURE })
}

fn explain(code: Option<&str>) -> (String, ExitCode) {
    match code {
        None => {
            let mut s = String::new();
            for c in diag::codes::ALL {
                s.push_str(&format!("{}  {:<8} {}\n", c.as_str(), c.severity().as_str(), c.title()));
            }
            (s, ExitCode::SUCCESS)
        }
        Some(name) => match diag::codes::lookup(name) {
            Some(c) => (
                format!("{} ({}): {}\n\n{}\n", c.as_str(), c.severity().as_str(), c.title(), c.explanation()),
                ExitCode::SUCCESS,
            ),
            None => (format!("unknown diagnostic code `{name}`; `writ explain` lists them all\n"), ExitCode::FAILURE),
        },
    }
}
