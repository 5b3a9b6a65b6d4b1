//! `writ test`: policy test cases — requests with their expected decisions — kept beside the
//! policies in `*.test.toml` files. Format (docs/testing.md has the full description):
//!
//! ```toml
//! entities = "entities.json"            # default entities for every case (optional)
//! allow_inline_override = true          # requests may replace stored entities (optional)
//!
//! [[case]]
//! name = "support bot comments on a ticket"
//! request = "requests/comment.json"     # a JSON file, relative to this file…
//! expect = "allow"                      # allow | deny | escalate
//! reasons = ["agent-tools"]             # optional: exactly these rule ids
//! obligations = { ttl = "15m" }         # optional: these obligations, with these values
//!
//! [[case]]
//! name = "…or the request inline"
//! expect = "deny"
//! request = { principal = { type = "Agent", id = "support-bot" }, action = "call_tool", … }
//! ```

use serde_json::Value as Json;
use std::path::{Path, PathBuf};
use writ::{Engine, EngineOptions, Entities};

/// The result of one test case.
#[derive(Clone, Debug)]
pub struct CaseResult {
    pub file: String,
    pub name: String,
    pub passed: bool,
    /// Why it failed (empty when it passed).
    pub detail: String,
}

/// Finds every `*.test.toml` under the paths (files named directly count too).
pub fn find_test_files(paths: &[PathBuf]) -> Vec<PathBuf> {
    fn walk(dir: &Path, depth: usize, out: &mut Vec<PathBuf>) {
        if depth > 64 {
            return;
        }
        let Ok(entries) = std::fs::read_dir(dir) else { return };
        let mut entries: Vec<_> = entries.flatten().collect();
        entries.sort_by_key(|e| e.file_name());
        for e in entries {
            let p = e.path();
            match e.file_type() {
                Ok(t) if t.is_dir() => walk(&p, depth + 1, out),
                Ok(_) if p.to_string_lossy().ends_with(".test.toml") => out.push(p),
                _ => {}
            }
        }
    }
    let mut out = Vec::new();
    for p in paths {
        if p.is_dir() {
            walk(p, 0, &mut out);
        } else if p.to_string_lossy().ends_with(".toml") {
            out.push(p.clone());
        }
    }
    out
}

/// The `*.writ` paths among `paths` (test files are not policies).
pub fn policy_paths(paths: &[PathBuf]) -> Vec<PathBuf> {
    paths.iter().filter(|p| !p.to_string_lossy().ends_with(".toml")).cloned().collect()
}

/// Runs every case of every test file against the engines: the first engine's decision is
/// checked against the expectations, and every other engine must decide exactly the same
/// (`writ test` passes the JIT and the interpreter, so every test is also a differential test).
pub fn run(engines: &[Engine], files: &[PathBuf]) -> Vec<CaseResult> {
    let mut out = Vec::new();
    for f in files {
        run_file(engines, f, &mut out);
    }
    out
}

fn fail(file: &str, name: &str, detail: String) -> CaseResult {
    CaseResult { file: file.to_string(), name: name.to_string(), passed: false, detail }
}

fn run_file(engines: &[Engine], path: &Path, out: &mut Vec<CaseResult>) {
    let fname = path.display().to_string();
    let text = match std::fs::read_to_string(path) {
        Ok(t) => t,
        Err(e) => return out.push(fail(&fname, "(file)", format!("cannot read: {e}"))),
    };
    let doc: Json = match toml::from_str(&text) {
        Ok(d) => d,
        Err(e) => return out.push(fail(&fname, "(file)", format!("not a valid test file: {e}"))),
    };
    let base = path.parent().unwrap_or_else(|| Path::new("."));
    let overriding: Vec<Engine>;
    let engines = match doc.get("allow_inline_override") {
        None | Some(Json::Bool(false)) => engines,
        Some(Json::Bool(true)) => {
            overriding = engines
                .iter()
                .map(|e| e.with_options(EngineOptions { allow_inline_override: true, ..*e.options() }))
                .collect();
            &overriding
        }
        Some(_) => return out.push(fail(&fname, "(file)", "`allow_inline_override` is true or false".into())),
    };
    let default_entities: Vec<Result<Entities, String>> = engines
        .iter()
        .map(|engine| match doc.get("entities") {
            None => Ok(engine.empty_entities()),
            Some(v) => load_entities(engine, base, v),
        })
        .collect();
    let Some(Json::Array(cases)) = doc.get("case") else {
        return out.push(fail(&fname, "(file)", "no `[[case]]` tables".into()));
    };
    for (i, case) in cases.iter().enumerate() {
        let name = case.get("name").and_then(Json::as_str).map_or_else(|| format!("case {}", i + 1), String::from);
        out.push(match run_case(engines, base, case, &default_entities) {
            Ok(()) => CaseResult { file: fname.clone(), name, passed: true, detail: String::new() },
            Err(detail) => fail(&fname, &name, detail),
        });
    }
}

fn load_entities(engine: &Engine, base: &Path, v: &Json) -> Result<Entities, String> {
    let text = match v {
        Json::String(file) => {
            std::fs::read_to_string(base.join(file)).map_err(|e| format!("cannot read entities `{file}`: {e}"))?
        }
        Json::Array(_) => v.to_string(),
        _ => return Err("`entities` is a file name or an array of entities".into()),
    };
    engine.entities_from_json(&text).map_err(|e| format!("bad entities: {e}"))
}

fn run_case(
    engines: &[Engine],
    base: &Path,
    case: &Json,
    default_entities: &[Result<Entities, String>],
) -> Result<(), String> {
    let request = match case.get("request") {
        Some(Json::String(file)) => {
            std::fs::read_to_string(base.join(file)).map_err(|e| format!("cannot read request `{file}`: {e}"))?
        }
        Some(v @ Json::Object(_)) => v.to_string(),
        _ => return Err("`request` is a JSON file name or an inline table".into()),
    };
    let expect =
        case.get("expect").and_then(Json::as_str).ok_or("`expect` must be \"allow\", \"deny\" or \"escalate\"")?;
    if !matches!(expect, "allow" | "deny" | "escalate") {
        return Err(format!("`expect` must be \"allow\", \"deny\" or \"escalate\", not {expect:?}"));
    }
    let mut decisions = Vec::with_capacity(engines.len());
    for (engine, default) in engines.iter().zip(default_entities) {
        let entities = match case.get("entities") {
            Some(v) => load_entities(engine, base, v)?,
            None => default.clone()?,
        };
        decisions.push(engine.decide_json(&request, &entities));
    }
    let Some(decision) = decisions.first() else { return Err("no engine to run".into()) };
    for (engine, other) in engines.iter().zip(&decisions).skip(1) {
        if other != decision {
            return Err(format!(
                "the back ends disagree: {:?} decided {}, {:?} decided {}",
                engines.first().map(Engine::backend),
                decision.to_json(),
                engine.backend(),
                other.to_json()
            ));
        }
    }
    let got = decision.decision.as_str();
    let reason_ids: Vec<&str> = decision.reasons.iter().map(|r| &*r.rule).collect();
    let summary = || {
        let mut s = format!("reasons: [{}]", reason_ids.join(", "));
        if !decision.errors.is_empty() {
            let errs: Vec<String> = decision.errors.iter().map(|e| format!("{}: {}", e.rule, e.message)).collect();
            s.push_str(&format!("; errors: {}", errs.join("; ")));
        }
        s
    };
    if got != expect {
        return Err(format!("expected {expect}, got {got} ({})", summary()));
    }
    if let Some(want) = case.get("reasons") {
        let Json::Array(want) = want else { return Err("`reasons` is a list of rule ids".into()) };
        let mut want: Vec<&str> = want.iter().filter_map(Json::as_str).collect();
        let mut have = reason_ids.clone();
        // Compared as sets: a rule that applied to the principal and to a hop of the
        // delegation chain is listed twice in the decision, once per principal.
        want.sort_unstable();
        want.dedup();
        have.sort_unstable();
        have.dedup();
        if want != have {
            return Err(format!("expected reasons [{}], got [{}]", want.join(", "), have.join(", ")));
        }
    }
    if let Some(want) = case.get("obligations") {
        let Json::Object(want) = want else { return Err("`obligations` is a table".into()) };
        for (k, v) in want {
            match decision.obligations.get(k) {
                Some(have) if have == *v => {}
                Some(have) => return Err(format!("obligation `{k}`: expected {v}, got {have}")),
                None => {
                    return Err(format!(
                        "obligation `{k}` missing (got {})",
                        serde_json::to_string(&decision.obligations).unwrap_or_default()
                    ));
                }
            }
        }
    }
    if let Some(Json::Bool(want_errors)) = case.get("errors") {
        if *want_errors == decision.errors.is_empty() {
            return Err(format!("expected {} errors, {}", if *want_errors { "some" } else { "no" }, summary()));
        }
    }
    Ok(())
}
