//! Golden UI tests for the front end: every `.writ` file under `tests/ui/` is one case, and
//! so is every directory whose name ends in `.set` (all `.writ` files inside it form one
//! policy set). Adding a case needs no Rust code.
//!
//! A case starts with a header of `//@` comment lines (for a `.set`, in its alphabetically
//! first file):
//!
//! ```text
//! //@ expect: P0001 P0002      the multiset of codes produced (warnings too), or `ok`
//! //@ parse-only               only parse each file; without it, run `writ check`
//! //@ what: free text          anything else is a description
//! ```
//!
//! The codes are asserted here; the source text and both renderings of the diagnostics
//! (human, without colour, and JSON) are snapshotted together in
//! `tests/snapshots/ui__<dir>__<name>.snap`. After changing a case or a message, run
//! `INSTA_UPDATE=always cargo test --test ui` (or `cargo insta review`) and read the
//! changed snapshots before committing them.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, clippy::indexing_slicing)]

use std::fmt::Write as _;
use std::panic::{AssertUnwindSafe, catch_unwind};
use std::path::{Path, PathBuf};
use writ::diag::{self, Diagnostic};
use writ::unstable::syntax::SourceMap;

/// Where the cases live, relative to the crate root (the working directory of `cargo test`).
const UI_DIR: &str = "tests/ui";

/// One golden case: a single file, or a `.set` directory of files.
struct Case {
    /// The case path as written in reports: `tests/ui/syntax/x.writ` or `tests/ui/a/b.set`.
    path: PathBuf,
    /// The files of the case, sorted; the header is read from the first.
    files: Vec<PathBuf>,
}

/// What a case's header asks for.
#[derive(Debug, Default)]
struct Header {
    /// Sorted expected codes; `None` when the header has no `expect:` line.
    expect: Option<Vec<String>>,
    parse_only: bool,
    description: Vec<String>,
}

#[test]
fn ui() {
    // `cargo test` runs integration tests from the crate root already; this makes running
    // the test binary by hand work too. Paths stay relative so renderings are stable.
    std::env::set_current_dir(env!("CARGO_MANIFEST_DIR")).expect("cannot enter the crate root");
    let cases = collect_cases(Path::new(UI_DIR));
    assert!(!cases.is_empty(), "no UI cases found under {UI_DIR}/");

    let mut failures: Vec<String> = Vec::new();
    for case in &cases {
        if let Err(why) = run_case(case) {
            failures.push(format!("{}: {why}", slash(&case.path)));
        }
    }
    // A renamed or deleted case leaves its snapshot behind; nothing else would notice.
    let names: Vec<String> = cases.iter().map(|c| snapshot_name(&c.path)).collect();
    for snap in sorted_entries(Path::new("tests/snapshots")) {
        let file = snap.file_name().map(|f| f.to_string_lossy().into_owned()).unwrap_or_default();
        if let Some(name) = file.strip_prefix("ui__").and_then(|_| file.strip_suffix(".snap")) {
            if !names.iter().any(|n| n == name) {
                failures.push(format!("{}: no UI case has this snapshot any more; delete it", slash(&snap)));
            }
        }
    }
    assert!(
        failures.is_empty(),
        "{} of {} UI cases failed:\n\n{}\n",
        failures.len(),
        cases.len(),
        failures.join("\n\n")
    );
}

fn run_case(case: &Case) -> Result<(), String> {
    let first = case.files.first().ok_or("a `.set` directory with no `.writ` files in it")?;
    let header = parse_header(&read_lossy(first))?;
    let expected = header.expect.clone().ok_or_else(|| {
        format!(
            "no `//@ expect:` header in {}; add a first line `//@ expect: ok` (no diagnostics) or \
             `//@ expect: P0001 P0002 …` (the codes the case must produce)",
            slash(first)
        )
    })?;
    for other in case.files.iter().skip(1) {
        if parse_header(&read_lossy(other)).is_ok_and(|h| h.expect.is_some() || h.parse_only) {
            return Err(format!(
                "{} has a `//@` header, but only the alphabetically first file of a set ({}) is read",
                slash(other),
                slash(first)
            ));
        }
    }

    let (sources, diags) = if header.parse_only {
        parse_only(&case.files)
    } else {
        let (sources, _, diags) = writ::unstable::load::compile_paths(std::slice::from_ref(&case.path));
        (sources, diags)
    };

    let mut problems = Vec::new();
    let mut actual: Vec<String> = diags.iter().map(|d| d.code.as_str().to_string()).collect();
    actual.sort();
    if actual != expected {
        problems.push(format!(
            "expected codes [{}] but the {} produced [{}]:\n{}",
            show_codes(&expected),
            if header.parse_only { "parser" } else { "`writ check` pipeline" },
            show_codes(&actual),
            listing(&diags, &sources)
        ));
    }

    let snapshot = snapshot_text(&sources, &diags);
    let name = snapshot_name(&case.path);
    let mut settings = insta::Settings::clone_current();
    settings.set_snapshot_path("snapshots");
    settings.set_prepend_module_to_snapshot(false);
    settings.set_omit_expression(true);
    settings.set_input_file(&case.path);
    if !header.description.is_empty() {
        settings.set_description(header.description.join(" "));
    }
    let outcome = catch_unwind(AssertUnwindSafe(|| settings.bind(|| insta::assert_snapshot!(name.as_str(), snapshot))));
    if outcome.is_err() {
        let file = format!("tests/snapshots/{name}.snap");
        let state =
            if Path::new(&file).exists() { "does not match (see the diff printed above)" } else { "is missing" };
        problems.push(format!(
            "snapshot `{file}` {state}; if the change is intended, run \
             `INSTA_UPDATE=always cargo test --test ui`, read the snapshot, and commit it"
        ));
    }
    if problems.is_empty() { Ok(()) } else { Err(problems.join("\n")) }
}

/// Parses each file on its own, as `writ check` will before type-checking.
fn parse_only(files: &[PathBuf]) -> (SourceMap, Vec<Diagnostic>) {
    let mut sources = SourceMap::new();
    let mut diags = Vec::new();
    for path in files {
        let text = std::fs::read_to_string(path).unwrap_or_else(|e| panic!("cannot read {}: {e}", path.display()));
        let id = sources.add(slash(path), text);
        let text = &sources.get(id).expect("file just added").text;
        diags.extend(writ::unstable::syntax::parse_file(id, text).diagnostics);
    }
    diag::sort(&mut diags);
    (sources, diags)
}

/// Source text of every file, then the human rendering (trailing spaces trimmed), then the
/// JSON rendering.
fn snapshot_text(sources: &SourceMap, diags: &[Diagnostic]) -> String {
    let mut out = String::new();
    // The standard library's sources are not part of a case (and change on their own).
    for (_, file) in sources.files().filter(|(_, f)| !f.name.starts_with("<std>/")) {
        let _ = writeln!(out, "─── source: {} ───", file.name);
        out.push_str(&file.text);
        if file.text.is_empty() {
            out.push_str("(empty file)\n");
        } else if !file.text.ends_with('\n') {
            out.push_str("⏎ (no newline at end of file)\n");
        }
        out.push('\n');
    }
    out.push_str("─── human ───\n");
    if diags.is_empty() {
        out.push_str("(no diagnostics)\n");
    } else {
        // ariadne pads some lines with spaces; trailing whitespace would not survive editors.
        for line in diag::render::render(diags, sources, false).lines() {
            let _ = writeln!(out, "{}", line.trim_end());
        }
    }
    let _ = writeln!(out, "{}", diag::render::summary(diags));
    out.push_str("\n─── json ───\n");
    out.push_str(&diag::json::render(diags, sources));
    out.push('\n');
    out
}

/// `tests/ui/syntax/missing_on.writ` → `ui__syntax__missing_on`;
/// `tests/ui/sema/dup.set` → `ui__sema__dup.set`.
fn snapshot_name(case: &Path) -> String {
    let rel = case.strip_prefix("tests").unwrap_or(case);
    let rel = slash(rel);
    rel.strip_suffix(".writ").unwrap_or(&rel).replace('/', "__")
}

fn parse_header(text: &str) -> Result<Header, String> {
    let mut header = Header::default();
    for line in text.lines() {
        let Some(rest) = line.trim_start().strip_prefix("//@") else { break };
        let rest = rest.trim();
        if let Some(codes) = rest.strip_prefix("expect:") {
            if header.expect.is_some() {
                return Err("two `//@ expect:` lines; write every expected code on one line".into());
            }
            header.expect = Some(parse_expect(codes)?);
        } else if rest == "parse-only" {
            header.parse_only = true;
        } else if looks_like_directive(rest) {
            return Err(format!(
                "unknown header directive `//@ {rest}`; the directives are `expect: …` and `parse-only` \
                 (a description needs more than one word, or `what: …`)"
            ));
        } else {
            header.description.push(rest.strip_prefix("what:").unwrap_or(rest).trim().to_string());
        }
    }
    Ok(header)
}

/// A single dashed or underscored word such as `parse_only` or `parseonly-x`: a misspelt
/// directive rather than a description.
fn looks_like_directive(text: &str) -> bool {
    !text.is_empty()
        && !text.contains(char::is_whitespace)
        && text.contains(['-', '_'])
        && text.chars().all(|c| c.is_ascii_lowercase() || c == '-' || c == '_')
}

fn parse_expect(text: &str) -> Result<Vec<String>, String> {
    let words: Vec<&str> = text.split_whitespace().collect();
    if words == ["ok"] {
        return Ok(Vec::new());
    }
    if words.is_empty() || words.contains(&"ok") {
        return Err(format!("`//@ expect:{text}` must be `ok` alone or a list of codes such as `P0001 P0002`"));
    }
    let mut codes = Vec::new();
    for w in words {
        let code = diag::codes::lookup(w)
            .ok_or_else(|| format!("`{w}` in `//@ expect:` is not a diagnostic code (`writ explain` lists them)"))?;
        codes.push(code.as_str().to_string());
    }
    codes.sort();
    Ok(codes)
}

/// Every case under `dir`, in sorted path order.
fn collect_cases(dir: &Path) -> Vec<Case> {
    let mut cases = Vec::new();
    for entry in sorted_entries(dir) {
        if entry.is_dir() {
            if entry.extension().is_some_and(|e| e == "set") {
                let mut files = Vec::new();
                writ_files(&entry, &mut files);
                cases.push(Case { path: entry, files });
            } else {
                cases.extend(collect_cases(&entry));
            }
        } else if entry.extension().is_some_and(|e| e == "writ") {
            cases.push(Case { files: vec![entry.clone()], path: entry });
        }
    }
    cases
}

/// All `.writ` files below `dir`, in the order `writ check` reads them.
fn writ_files(dir: &Path, out: &mut Vec<PathBuf>) {
    for entry in sorted_entries(dir) {
        if entry.is_dir() {
            writ_files(&entry, out);
        } else if entry.extension().is_some_and(|e| e == "writ") {
            out.push(entry);
        }
    }
}

fn sorted_entries(dir: &Path) -> Vec<PathBuf> {
    let read = std::fs::read_dir(dir).unwrap_or_else(|e| panic!("cannot list {}: {e}", dir.display()));
    let mut entries: Vec<PathBuf> = read.map(|e| e.expect("cannot read a directory entry").path()).collect();
    entries.sort();
    entries
}

fn read_lossy(path: &Path) -> String {
    let bytes = std::fs::read(path).unwrap_or_else(|e| panic!("cannot read {}: {e}", path.display()));
    String::from_utf8_lossy(&bytes).into_owned()
}

/// A path with `/` separators, whatever the platform.
fn slash(path: &Path) -> String {
    path.to_string_lossy().replace('\\', "/")
}

fn show_codes(codes: &[String]) -> String {
    if codes.is_empty() { "ok".into() } else { codes.join(" ") }
}

fn listing(diags: &[Diagnostic], sources: &SourceMap) -> String {
    let mut s = String::new();
    for d in diags {
        let at = sources.get(d.primary.span.file).map(|f| f.line_col(d.primary.span.start));
        let (line, col) = at.map_or((0, 0), |lc| (lc.line + 1, lc.chars + 1));
        let _ = writeln!(s, "    {}:{line}:{col}: {} {}", sources.name(d.primary.span.file), d.code, d.message);
    }
    s
}
