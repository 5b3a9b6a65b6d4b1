//! The `writ` command line. The edge of the system: it reads files, calls the library, and
//! renders diagnostics and decisions.
#![cfg_attr(test, allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, clippy::indexing_slicing))]

pub mod bench;
pub mod fmt;
pub mod testrun;

use clap::{Parser, Subcommand, ValueEnum};
use std::io::{IsTerminal, Write};
use std::path::PathBuf;
use std::process::ExitCode;
use writ::SourceMap;
use writ::diag::{self, Diagnostic};
use writ::unstable::load;

/// Exit codes, the same for every command (docs/cli.md).
pub mod exit {
    /// Success: the policies check, the tests pass, a decision was printed.
    pub const OK: u8 = 0;
    /// The policies do not check, a test failed, `fmt --check` would change a file.
    pub const FAILURE: u8 = 1;
    /// Bad usage or unreadable input: a flag, a missing or unreadable file, malformed
    /// entities.
    pub const INPUT: u8 = 2;
    /// `eval --fail-on-deny`: the decision is deny.
    pub const DENY: u8 = 3;
    /// `eval --fail-on-deny`: the decision is escalate.
    pub const ESCALATE: u8 = 4;
}

#[derive(Parser, Debug)]
#[command(
    name = "writ",
    version,
    about = "Writ: runtime authorization policies for agents, service accounts and CI jobs",
    after_help = "Results go to standard output, diagnostics and errors to standard error.\n\
                  Exit codes: 0 success, 1 policy errors or test failures, 2 bad usage or unreadable input,\n\
                  3 and 4 a deny and an escalate with `eval --fail-on-deny`. docs/cli.md has the details."
)]
pub struct Cli {
    /// Colour in terminal reports: `auto` (when standard error is a terminal and `NO_COLOR`
    /// is not set), `always` or `never`.
    #[arg(long, value_enum, default_value_t = ColorChoice::Auto, global = true)]
    pub color: ColorChoice,
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub enum ColorChoice {
    Auto,
    Always,
    Never,
}

impl ColorChoice {
    /// Whether to colour a report written to a terminal (`is_terminal`), honouring
    /// `NO_COLOR` (https://no-color.org) for `auto`.
    pub fn resolve(self, is_terminal: bool) -> bool {
        match self {
            ColorChoice::Always => true,
            ColorChoice::Never => false,
            ColorChoice::Auto => is_terminal && std::env::var_os("NO_COLOR").is_none_or(|v| v.is_empty()),
        }
    }
}

#[derive(Subcommand, Debug)]
pub enum Command {
    /// Parse and check policy files; print diagnostics (to standard error, or the JSON to
    /// standard output with `--format json`). Exit 1 when there are errors.
    Check {
        /// Files, or directories (every `*.writ` below them).
        #[arg(required = true)]
        paths: Vec<PathBuf>,
        /// `human` (terminal reports) or `json` (LSP-shaped diagnostics).
        #[arg(long, value_enum, default_value_t = Format::Human)]
        format: Format,
    },
    /// Decide one request and print the decision JSON (exit 0 whatever the decision, unless
    /// `--fail-on-deny`).
    Eval {
        #[command(flatten)]
        input: RequestInput,
        /// Which back end decides.
        #[arg(long, value_enum, default_value_t = EngineKind::Jit)]
        engine: EngineKind,
        /// For a deny or escalate, list the permits that came closest and what stopped them.
        #[arg(long)]
        explain: bool,
        /// Exit 3 when the decision is deny and 4 when it is escalate (for scripts).
        #[arg(long)]
        fail_on_deny: bool,
        /// Instead of deciding, evaluate this expression against the request (as a rule's
        /// condition would see it) and print its value as JSON, e.g.
        /// `--expr 'principal.owner.clearance >= resource.sensitivity'`.
        #[arg(long, value_name = "EXPR", conflicts_with_all = ["explain", "fail_on_deny"])]
        expr: Option<String>,
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
    /// Run the policy test cases (`*.test.toml`). A directory gives its policies (`*.writ`)
    /// and its test files; a test file alone runs against the policies of its directory.
    Test {
        /// Policy directories, or `*.test.toml` files.
        #[arg(required = true)]
        paths: Vec<PathBuf>,
        /// Run only the cases whose name (or file) contains this text.
        #[arg(long, value_name = "TEXT")]
        filter: Option<String>,
        /// `human` (a line per case), `json` (one report) or `junit` (JUnit XML, for CI).
        #[arg(long, value_enum, default_value_t = TestFormat::Human)]
        format: TestFormat,
        /// Also report which rules applied and which `when`/`unless` conditions the cases
        /// made both true and false (after the results; in the JSON report, `coverage`).
        #[arg(long)]
        coverage: bool,
        /// Write the coverage as LCOV to FILE (for editors and CI coverage tools).
        #[arg(long, value_name = "FILE")]
        lcov: Option<PathBuf>,
        /// Let requests' inline entities replace entities of the store (by default such a
        /// request is bad input, denied).
        #[arg(long)]
        allow_inline_override: bool,
    },
    /// Format policy files in place, in the one canonical layout (`-`: standard input to
    /// standard output). Exit 1 on syntax errors (the file is left as it is), or with
    /// `--check` when a file would change.
    Fmt {
        /// Files, directories (every `*.writ` below them), or `-`.
        #[arg(required = true)]
        paths: Vec<PathBuf>,
        /// Write nothing; name the files that would change.
        #[arg(long)]
        check: bool,
    },
    /// Serve decisions over HTTP: OpenID AuthZEN 1.0 and a native JSON API (docs/serve.md).
    Serve(writ_serve::ServeArgs),
    /// Run an MCP server (after `--`) and decide every tool call the client makes before it
    /// reaches the server (docs/guard.md).
    Guard(writ_guard::GuardArgs),
    /// Print the long explanation of a diagnostic code, e.g. `writ explain P0001`.
    Explain {
        /// The code; omit it to list every code.
        code: Option<String>,
    },
    /// Run the language server (LSP 3.17) on stdin and stdout, for editors (docs/editors.md).
    Lsp {
        /// Accepted and ignored: stdio is the only transport (many clients pass it).
        #[arg(long, hide = true)]
        stdio: bool,
    },
}

/// The policies, request and entities of `eval` and `bench`.
#[derive(clap::Args, Debug)]
pub struct RequestInput {
    /// Policy files or directories.
    #[arg(required = true)]
    paths: Vec<PathBuf>,
    /// The request, as JSON (docs/host-data.md); `-` reads it from standard input.
    #[arg(long)]
    request: PathBuf,
    /// The entity store, as a JSON array of entities.
    #[arg(long)]
    entities: Option<PathBuf>,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub enum EngineKind {
    /// Native code (Cranelift); the interpreter where the JIT cannot compile.
    Jit,
    /// The reference interpreter.
    Interp,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub enum Format {
    Human,
    Json,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub enum TestFormat {
    Human,
    Json,
    Junit,
}

/// What a command printed, and how it ended.
#[derive(Debug, Default)]
pub struct Output {
    /// Results: decisions, test reports, JSON.
    pub stdout: String,
    /// Diagnostics and errors.
    pub stderr: String,
    /// The exit code ([`exit`]).
    pub code: u8,
}

impl Output {
    fn out(stdout: String, code: u8) -> Output {
        Output { stdout, stderr: String::new(), code }
    }

    fn err(stderr: String, code: u8) -> Output {
        Output { stdout: String::new(), stderr, code }
    }
}

/// Runs the CLI with the process arguments.
pub fn main() -> ExitCode {
    let cli = Cli::parse();
    let color = cli.color.resolve(std::io::stderr().is_terminal());
    // Servers own the process's streams and signals, and run until told to stop; the guard
    // owns the real standard input and output for as long as its MCP server runs.
    let command = match cli.command {
        Command::Serve(args) => return writ_serve::run(args),
        Command::Guard(args) => return writ_guard::run(args),
        // The language server writes to stdout from its own thread.
        Command::Lsp { .. } => return writ_lsp::run_stdio(),
        other => other,
    };
    let o = run(command, color);
    let wrote_out = std::io::stdout().lock().write_all(o.stdout.as_bytes()).and_then(|()| std::io::stdout().flush());
    let _ = std::io::stderr().lock().write_all(o.stderr.as_bytes());
    if wrote_out.is_err() {
        return ExitCode::from(exit::INPUT);
    }
    ExitCode::from(o.code)
}

/// Runs one command. `color`: whether reports for a terminal are coloured.
pub fn run(command: Command, color: bool) -> Output {
    match command {
        Command::Check { paths, format } => check(&paths, format, color),
        Command::Explain { code } => explain(code.as_deref()),
        Command::Fmt { paths, check } => {
            let o = fmt::run(&paths, check, &mut std::io::stdin().lock(), color);
            Output { stdout: o.stdout, stderr: o.stderr, code: o.code }
        }
        Command::Lsp { .. } => {
            Output::err("`writ lsp` speaks on standard input and output; run it as a command\n".into(), exit::INPUT)
        }
        Command::Serve(_) => {
            Output::err("`writ serve` runs as a process of its own (`writ_cli::main`)\n".into(), exit::INPUT)
        }
        Command::Guard(_) => {
            Output::err("`writ guard` relays standard input and output; run it as a command\n".into(), exit::INPUT)
        }
        Command::Eval {
            input: RequestInput { paths, request, entities },
            engine,
            explain,
            fail_on_deny,
            expr,
            allow_inline_override,
        } => {
            let options = writ::EngineOptions { allow_inline_override, ..Default::default() };
            let e = Eval { engine, options, explain, fail_on_deny, expr, color };
            eval(&paths, &request, entities.as_deref(), &e)
        }
        Command::Test { paths, filter, format, coverage, lcov, allow_inline_override } => {
            let options = writ::EngineOptions { allow_inline_override, ..Default::default() };
            let t = TestRun { filter: filter.as_deref(), format, coverage, lcov: lcov.as_deref() };
            test(&paths, &t, options, color)
        }
        Command::Bench { input: RequestInput { paths, request, entities }, iterations, time, format } => {
            let budget = iterations.map_or(bench::Budget::Seconds(time), bench::Budget::Iterations);
            match bench::run(&bench::Options { paths, request, entities, budget, format }, color) {
                Ok(text) => Output::out(text, exit::OK),
                Err((text, code)) => Output::err(text, code),
            }
        }
    }
}

/// Reads, parses and checks every file; returns the sources (imported modules included)
/// and all diagnostics, sorted.
pub fn check_paths(paths: &[PathBuf]) -> (SourceMap, Vec<Diagnostic>) {
    let (sources, _, diags) = load::compile_paths(paths);
    (sources, diags)
}

fn check(paths: &[PathBuf], format: Format, color: bool) -> Output {
    let (sources, diags) = check_paths(paths);
    let unreadable = diags.iter().any(|d| d.code == writ::diag::codes::CANNOT_READ);
    let code = if unreadable {
        exit::INPUT
    } else if diag::has_errors(&diags) {
        exit::FAILURE
    } else {
        exit::OK
    };
    match format {
        Format::Json => Output::out(format!("{}\n", diag::json::render(&diags, &sources)), code),
        Format::Human => {
            let files = sources.files().filter(|(_, f)| !f.name.starts_with("<std>")).count();
            let mut s = diag::render::render(&diags, &sources, color);
            let noun = if files == 1 { "file" } else { "files" };
            s.push_str(&format!("checked {files} {noun}: {}\n", diag::render::summary(&diags)));
            Output::err(s, code)
        }
    }
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
    let backend = match kind {
        EngineKind::Interp => writ::BackendChoice::Interpreter,
        EngineKind::Jit => writ::BackendChoice::Auto,
    };
    writ::Engine::compile_with(&p, writ::EngineOptions { backend, ..options }).map_err(|e| format!("{e}\n"))
}

/// How `eval` decides and reports.
struct Eval {
    engine: EngineKind,
    options: writ::EngineOptions,
    explain: bool,
    fail_on_deny: bool,
    expr: Option<String>,
    color: bool,
}

/// Reads a file, or standard input for `-`.
fn read_input(p: &std::path::Path) -> Result<String, String> {
    if p.as_os_str() == "-" {
        let mut s = String::new();
        std::io::Read::read_to_string(&mut std::io::stdin().lock(), &mut s)
            .map_err(|e| format!("cannot read standard input: {e}\n"))?;
        return Ok(s);
    }
    std::fs::read_to_string(p).map_err(|e| format!("cannot read `{}`: {e}\n", p.display()))
}

fn eval(paths: &[PathBuf], request: &std::path::Path, entities: Option<&std::path::Path>, e: &Eval) -> Output {
    // Unreadable input first: it is a usage error whatever the policies say.
    let req_text = match read_input(request) {
        Ok(t) => t,
        Err(s) => return Output::err(s, exit::INPUT),
    };
    let ent_text = match entities.map(read_input).transpose() {
        Ok(t) => t,
        Err(s) => return Output::err(s, exit::INPUT),
    };
    let engine = match engine_for(paths, e.engine, e.options, e.color) {
        Ok(engine) => engine,
        Err(s) => return Output::err(s, exit::FAILURE),
    };
    let store = match &ent_text {
        None => engine.empty_entities(),
        Some(t) => match engine.entities_from_json(t) {
            Ok(store) => store,
            Err(err) => {
                let file = entities.map_or(String::new(), |p| p.display().to_string());
                return Output::err(format!("{file}: bad entities: {err}\n"), exit::INPUT);
            }
        },
    };
    if let Some(expr) = &e.expr {
        let request = match engine.request_from_json(&req_text, &store) {
            Ok(r) => r,
            Err(err) => return Output::err(format!("the request: {err}\n"), exit::INPUT),
        };
        return match engine.evaluate(expr, &request) {
            Ok(v) => Output::out(format!("{}\n", serde_json::to_string_pretty(&v).unwrap_or_default()), exit::OK),
            Err(writ::ExpressionError::Invalid(err)) => {
                Output::err(diag::render::render(&err.diagnostics, &err.sources, e.color), exit::FAILURE)
            }
            Err(err) => Output::err(format!("{err}\n"), exit::FAILURE),
        };
    }
    let decision = match engine.request_from_json(&req_text, &store) {
        Err(err) => writ::Decision::bad_request(err.to_string()),
        Ok(r) if e.explain => engine.decide_explained(&r),
        Ok(r) => engine.decide(&r),
    };
    let code = match decision.decision {
        writ::Verdict::Deny if e.fail_on_deny => exit::DENY,
        writ::Verdict::Escalate if e.fail_on_deny => exit::ESCALATE,
        _ => exit::OK,
    };
    Output::out(format!("{}\n", decision.to_json()), code)
}

/// How `writ test` runs and reports.
struct TestRun<'a> {
    filter: Option<&'a str>,
    format: TestFormat,
    coverage: bool,
    lcov: Option<&'a std::path::Path>,
}

fn test(paths: &[PathBuf], t: &TestRun<'_>, options: writ::EngineOptions, color: bool) -> Output {
    let files = testrun::find_test_files(paths);
    if files.is_empty() {
        return Output::err("no `*.test.toml` files found\n".into(), exit::INPUT);
    }
    let policy_paths = testrun::policy_paths(paths);
    let jit = match engine_for(&policy_paths, EngineKind::Jit, options, color) {
        Ok(e) => e,
        Err(s) => return Output::err(s, exit::FAILURE),
    };
    let reference = writ::Engine::interpreted_with(jit.policy(), options);
    let measure = t.coverage || t.lcov.is_some();
    let mut coverage = reference.coverage();
    let results =
        testrun::run_with(&[jit, reference], &files, t.filter, if measure { Some(&mut coverage) } else { None });
    let failed = results.iter().filter(|r| !r.passed).count();
    let mut code = if failed == 0 { exit::OK } else { exit::FAILURE };
    let mut out = match t.format {
        TestFormat::Human => testrun::human(&results),
        TestFormat::Json => testrun::json(&results),
        TestFormat::Junit => testrun::junit(&results),
    };
    let mut err = String::new();
    if t.coverage {
        match t.format {
            TestFormat::Human => out.push_str(&coverage.to_text()),
            TestFormat::Json => {
                let mut v: serde_json::Value = serde_json::from_str(&out).unwrap_or(serde_json::Value::Null);
                if let serde_json::Value::Object(o) = &mut v {
                    o.insert("coverage".into(), coverage.to_json());
                }
                out = format!("{}\n", serde_json::to_string_pretty(&v).unwrap_or_default());
            }
            // The XML stays JUnit; the coverage goes to standard error.
            TestFormat::Junit => err.push_str(&coverage.to_text()),
        }
    }
    if let Some(path) = t.lcov {
        if let Err(e) = std::fs::write(path, coverage.to_lcov()) {
            err.push_str(&format!("cannot write `{}`: {e}\n", path.display()));
            code = exit::INPUT;
        }
    }
    if t.filter.is_some() && results.is_empty() {
        err.push_str("no test case matches the filter\n");
        code = exit::FAILURE;
    }
    Output { stdout: out, stderr: err, code }
}

fn explain(code: Option<&str>) -> Output {
    match code {
        None => {
            let mut s = String::new();
            for c in diag::codes::ALL {
                s.push_str(&format!("{}  {:<8} {}\n", c.as_str(), c.severity().as_str(), c.title()));
            }
            Output::out(s, exit::OK)
        }
        Some(name) => match diag::codes::lookup(name) {
            Some(c) => Output::out(
                format!("{} ({}): {}\n\n{}\n", c.as_str(), c.severity().as_str(), c.title(), c.explanation()),
                exit::OK,
            ),
            None => {
                Output::err(format!("unknown diagnostic code `{name}`; `writ explain` lists them all\n"), exit::INPUT)
            }
        },
    }
}
