//! The `writ` command line. The edge of the system: it reads files, calls the library, and
//! renders diagnostics and decisions.

use crate::diag::{self, Diagnostic};
use crate::load;
use crate::sema;
use crate::syntax::SourceMap;
use clap::{Parser, Subcommand, ValueEnum};
use std::io::IsTerminal;
use std::path::PathBuf;
use std::process::ExitCode;

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
    /// Print the long explanation of a diagnostic code, e.g. `writ explain P0001`.
    Explain {
        /// The code; omit it to list every code.
        code: Option<String>,
    },
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub enum Format {
    Human,
    Json,
}

/// Runs the CLI with the process arguments.
pub fn main() -> ExitCode {
    let cli = Cli::parse();
    let mut out = std::io::stdout().lock();
    run(cli.command, &mut out, std::io::stdout().is_terminal())
}

/// Runs one command, writing its output to `out`. Returns the process exit code.
pub fn run(command: Command, out: &mut dyn std::io::Write, color: bool) -> ExitCode {
    let (text, code) = match command {
        Command::Check { paths, format } => check(&paths, format, color),
        Command::Explain { code } => explain(code.as_deref()),
    };
    if out.write_all(text.as_bytes()).is_err() {
        return ExitCode::from(2);
    }
    code
}

/// Reads, parses and checks every file; returns the sources (imported modules included)
/// and all diagnostics, sorted.
pub fn check_paths(paths: &[PathBuf]) -> (SourceMap, Vec<Diagnostic>) {
    let (sources, _, diags) = compile_paths(paths);
    (sources, diags)
}

/// Reads and checks a policy set; the IR is there when there are no errors.
pub fn compile_paths(paths: &[PathBuf]) -> (SourceMap, Option<crate::ir::PolicySet>, Vec<Diagnostic>) {
    let loaded = load::load_paths(paths);
    let files: Vec<_> = loaded.sources.files().map(|(id, _)| id).filter(|id| loaded.is_readable(*id)).collect();
    let mut diags = loaded.diagnostics;
    let mut sources = loaded.sources;
    let checked = sema::check(&mut sources, &files, &mut load::FsResolver);
    diags.extend(checked.diagnostics);
    diag::sort(&mut diags);
    let policy = if diag::has_errors(&diags) { None } else { checked.policy };
    (sources, policy, diags)
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
