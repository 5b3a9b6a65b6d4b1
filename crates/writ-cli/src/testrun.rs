//! `writ test`: policy test cases — requests with their expected decisions — kept beside the
//! policies in `*.test.toml` files. docs/testing.md describes the format:
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
//! hops = [{ hop = 1, reasons = ["humans-within-clearance"] }]  # optional: a hop's reasons
//! errors = ["context.risk"]             # optional: true/false, or texts the errors contain
//! explain = { closest = "agent-tools" } # optional: what `--explain` shows
//! ```
//!
//! A test file is read strictly: an unknown key, a duplicate key or case name, a value of the
//! wrong type is an error of the file (named with its line and column), never a case that
//! silently passes. TOML datetimes are written into requests as RFC 3339 strings.

use serde::Deserialize;
use serde_json::Value as Json;
use std::collections::HashSet;
use std::path::{Path, PathBuf};
use writ::{Decision, Engine, EngineOptions, Entities, Verdict};

/// The result of one test case.
#[derive(Clone, Debug)]
pub struct CaseResult {
    pub file: String,
    pub name: String,
    pub passed: bool,
    /// Why it failed (empty when it passed).
    pub detail: String,
}

/// A test file.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct TestFile {
    entities: Option<Source>,
    #[serde(default)]
    allow_inline_override: bool,
    #[serde(rename = "case")]
    cases: Vec<Case>,
}

/// A JSON document given as a file name (relative to the test file) or written inline.
#[derive(Debug, Deserialize)]
#[serde(untagged)]
enum Source {
    File(String),
    Inline(toml::Value),
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct Case {
    name: String,
    request: Source,
    entities: Option<Source>,
    expect: Expect,
    reasons: Option<Vec<String>>,
    obligations: Option<toml::Table>,
    errors: Option<Errors>,
    hops: Option<Vec<Hop>>,
    explain: Option<ExplainSpec>,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
enum Expect {
    Allow,
    Deny,
    Escalate,
}

impl Expect {
    fn verdict(self) -> Verdict {
        match self {
            Expect::Allow => Verdict::Allow,
            Expect::Deny => Verdict::Deny,
            Expect::Escalate => Verdict::Escalate,
        }
    }
}

/// `errors = true | false`, or texts that some error message must contain.
#[derive(Debug, Deserialize)]
#[serde(untagged)]
enum Errors {
    Any(bool),
    Containing(Vec<String>),
}

/// The reasons given for one hop of the delegation chain (1 is the first `on_behalf_of`).
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct Hop {
    hop: usize,
    reasons: Vec<String>,
}

/// What the explanation of a deny or escalate shows.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct ExplainSpec {
    /// The permit that came closest.
    closest: Option<String>,
    /// Text that its failed clause contains.
    failed: Option<String>,
    /// The escalate rules that applied.
    escalations: Option<Vec<String>>,
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

/// The policy paths of a `writ test` command line: the directories and `*.writ` files
/// given, and for a test file given alone, its directory (once).
pub fn policy_paths(paths: &[PathBuf]) -> Vec<PathBuf> {
    let mut out: Vec<PathBuf> = paths.iter().filter(|p| !p.to_string_lossy().ends_with(".toml")).cloned().collect();
    for p in paths.iter().filter(|p| p.to_string_lossy().ends_with(".toml")) {
        let dir = p.parent().filter(|d| !d.as_os_str().is_empty()).unwrap_or_else(|| Path::new("."));
        let covered = out.iter().any(|q| q.is_dir() && same_or_below(dir, q));
        if !covered {
            out.push(dir.to_path_buf());
        }
    }
    out
}

fn same_or_below(dir: &Path, root: &Path) -> bool {
    match (std::fs::canonicalize(dir), std::fs::canonicalize(root)) {
        (Ok(d), Ok(r)) => d.starts_with(r),
        _ => dir == root,
    }
}

/// Runs every case of every test file against the engines: the first engine's decision is
/// checked against the expectations, and every other engine must decide exactly the same
/// (`writ test` passes the JIT and the interpreter, so every test is also a differential test).
pub fn run(engines: &[Engine], files: &[PathBuf]) -> Vec<CaseResult> {
    run_with(engines, files, None, None)
}

/// [`run`], only for the cases whose name or file contains `filter`, recording in
/// `coverage` what the cases' requests exercise of the policy set (by the first engine).
pub fn run_with(
    engines: &[Engine],
    files: &[PathBuf],
    filter: Option<&str>,
    mut coverage: Option<&mut writ::Coverage>,
) -> Vec<CaseResult> {
    let mut out = Vec::new();
    for f in files {
        run_file(engines, f, filter, coverage.as_deref_mut(), &mut out);
    }
    out
}

fn fail(file: &str, name: &str, detail: String) -> CaseResult {
    CaseResult { file: file.to_string(), name: name.to_string(), passed: false, detail }
}

fn run_file(
    engines: &[Engine],
    path: &Path,
    filter: Option<&str>,
    mut coverage: Option<&mut writ::Coverage>,
    out: &mut Vec<CaseResult>,
) {
    let fname = path.display().to_string();
    let text = match std::fs::read_to_string(path) {
        Ok(t) => t,
        Err(e) => return out.push(fail(&fname, "(file)", format!("cannot read: {e}"))),
    };
    let doc: TestFile = match toml::from_str(&text) {
        Ok(d) => d,
        Err(e) => {
            let msg = e.to_string().trim_end().replace('\n', "\n      ");
            return out.push(fail(&fname, "(file)", format!("not a valid test file: {msg}")));
        }
    };
    let mut names = HashSet::new();
    for c in &doc.cases {
        if !names.insert(c.name.as_str()) {
            return out.push(fail(&fname, "(file)", format!("two cases are named {:?}; names must be unique", c.name)));
        }
    }
    if doc.cases.is_empty() {
        return out.push(fail(&fname, "(file)", "no `[[case]]` tables".into()));
    }
    let base = path.parent().unwrap_or_else(|| Path::new("."));
    let overriding: Vec<Engine>;
    let engines = if doc.allow_inline_override {
        overriding = engines
            .iter()
            .map(|e| e.with_options(EngineOptions { allow_inline_override: true, ..*e.options() }))
            .collect();
        &overriding
    } else {
        engines
    };
    let default_entities: Vec<Result<Entities, String>> = engines
        .iter()
        .map(|engine| match &doc.entities {
            None => Ok(engine.empty_entities()),
            Some(v) => load_entities(engine, base, v),
        })
        .collect();
    for case in &doc.cases {
        if filter.is_some_and(|f| !case.name.contains(f) && !fname.contains(f)) {
            continue;
        }
        if let (Some(cov), Some(engine), Some(Ok(default))) =
            (coverage.as_deref_mut(), engines.first(), default_entities.first())
        {
            cover_case(engine, base, case, default, cov);
        }
        out.push(match run_case(engines, base, case, &default_entities) {
            Ok(()) => CaseResult { file: fname.clone(), name: case.name.clone(), passed: true, detail: String::new() },
            Err(detail) => fail(&fname, &case.name, detail),
        });
    }
}

/// A TOML value as JSON: datetimes become their RFC 3339 text (the form Writ reads for a
/// `Timestamp`), everything else maps one to one.
fn to_json(v: &toml::Value) -> Json {
    match v {
        toml::Value::String(s) => Json::String(s.clone()),
        toml::Value::Integer(n) => Json::from(*n),
        toml::Value::Float(f) => serde_json::Number::from_f64(*f).map_or(Json::Null, Json::Number),
        toml::Value::Boolean(b) => Json::Bool(*b),
        toml::Value::Datetime(d) => Json::String(d.to_string()),
        toml::Value::Array(items) => Json::Array(items.iter().map(to_json).collect()),
        toml::Value::Table(t) => Json::Object(t.iter().map(|(k, v)| (k.clone(), to_json(v))).collect()),
    }
}

/// The text of a JSON document given by a file name or inline.
fn source_text(base: &Path, src: &Source, what: &str) -> Result<String, String> {
    match src {
        Source::File(file) => {
            std::fs::read_to_string(base.join(file)).map_err(|e| format!("cannot read {what} `{file}`: {e}"))
        }
        Source::Inline(v) => Ok(to_json(v).to_string()),
    }
}

fn load_entities(engine: &Engine, base: &Path, src: &Source) -> Result<Entities, String> {
    if let Source::Inline(v) = src {
        if !v.is_array() {
            return Err("`entities` is a file name or an array of entities".into());
        }
    }
    let text = source_text(base, src, "entities")?;
    engine.entities_from_json(&text).map_err(|e| format!("bad entities: {e}"))
}

/// Records what a case's request exercises (a request that cannot be decoded exercises
/// nothing).
fn cover_case(engine: &Engine, base: &Path, case: &Case, default: &Entities, cov: &mut writ::Coverage) {
    let Ok(request) = source_text(base, &case.request, "request") else { return };
    let own;
    let entities = match &case.entities {
        Some(v) => match load_entities(engine, base, v) {
            Ok(e) => {
                own = e;
                &own
            }
            Err(_) => return,
        },
        None => default,
    };
    if let Ok(r) = engine.request_from_json(&request, entities) {
        engine.cover(&r, cov);
    }
}

fn run_case(
    engines: &[Engine],
    base: &Path,
    case: &Case,
    default_entities: &[Result<Entities, String>],
) -> Result<(), String> {
    if let Source::Inline(v) = &case.request {
        if !v.is_table() {
            return Err("`request` is a JSON file name or an inline table".into());
        }
    }
    let request = source_text(base, &case.request, "request")?;
    let mut decisions = Vec::with_capacity(engines.len());
    let mut stores = Vec::with_capacity(engines.len());
    for (engine, default) in engines.iter().zip(default_entities) {
        let entities = match &case.entities {
            Some(v) => load_entities(engine, base, v)?,
            None => default.clone()?,
        };
        decisions.push(engine.decide_json(&request, &entities));
        stores.push(entities);
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
    let reason_ids: Vec<&str> = decision.reasons.iter().map(|r| &*r.rule).collect();
    let summary = || {
        let mut s = format!("reasons: [{}]", reason_ids.join(", "));
        if !decision.errors.is_empty() {
            let errs: Vec<String> = decision.errors.iter().map(|e| format!("{}: {}", e.rule, e.message)).collect();
            s.push_str(&format!("; errors: {}", errs.join("; ")));
        }
        s
    };
    let want = case.expect.verdict();
    if decision.decision != want {
        return Err(format!("expected {}, got {} ({})", want.as_str(), decision.decision.as_str(), summary()));
    }
    if let Some(want) = &case.reasons {
        // Compared as sets: a rule that applied to the principal and to a hop of the
        // delegation chain is listed twice in the decision, once per principal.
        same_ids("reasons", want, reason_ids.iter().copied())?;
    }
    if let Some(hops) = &case.hops {
        check_hops(hops, &request, decision)?;
    }
    if let Some(want) = &case.obligations {
        for (k, v) in want {
            let v = to_json(v);
            match decision.obligations.get(k) {
                Some(have) if have == v => {}
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
    match &case.errors {
        None => {}
        Some(Errors::Any(want)) if *want == decision.errors.is_empty() => {
            return Err(format!("expected {} errors, {}", if *want { "some" } else { "no" }, summary()));
        }
        Some(Errors::Any(_)) => {}
        Some(Errors::Containing(texts)) => {
            for t in texts {
                if !decision.errors.iter().any(|e| e.message.contains(t.as_str()) || e.rule.contains(t.as_str())) {
                    return Err(format!("expected an error containing {t:?}, {}", summary()));
                }
            }
        }
    }
    if let (Some(spec), Some(engine), Some(entities)) = (&case.explain, engines.first(), stores.first()) {
        check_explain(spec, engine, &request, entities)?;
    }
    Ok(())
}

fn same_ids<'a>(what: &str, want: &[String], have: impl Iterator<Item = &'a str>) -> Result<(), String> {
    let mut want: Vec<&str> = want.iter().map(String::as_str).collect();
    let mut have: Vec<&str> = have.collect();
    want.sort_unstable();
    want.dedup();
    have.sort_unstable();
    have.dedup();
    if want != have {
        return Err(format!("expected {what} [{}], got [{}]", want.join(", "), have.join(", ")));
    }
    Ok(())
}

/// The reasons given on behalf of the `hop`-th entity of the request's `on_behalf_of`.
fn check_hops(hops: &[Hop], request: &str, decision: &Decision) -> Result<(), String> {
    let req: Json = serde_json::from_str(request).map_err(|e| format!("`hops`: the request is not JSON: {e}"))?;
    let chain = req.get("on_behalf_of").and_then(Json::as_array).map_or(&[][..], Vec::as_slice);
    for h in hops {
        let Some(entity) = h.hop.checked_sub(1).and_then(|i| chain.get(i)) else {
            return Err(format!("`hops`: the request has no hop {} (its chain has {})", h.hop, chain.len()));
        };
        let (ty, id) = (entity.get("type").and_then(Json::as_str), entity.get("id").and_then(Json::as_str));
        let of_hop = decision
            .reasons
            .iter()
            .filter(|r| r.on_behalf_of.as_ref().is_some_and(|e| Some(e.ty.as_str()) == ty && Some(e.id.as_str()) == id))
            .map(|r| &*r.rule);
        same_ids(&format!("reasons for hop {}", h.hop), &h.reasons, of_hop)?;
    }
    Ok(())
}

fn check_explain(spec: &ExplainSpec, engine: &Engine, request: &str, entities: &Entities) -> Result<(), String> {
    let r = engine.request_from_json(request, entities).map_err(|e| format!("`explain`: {e}"))?;
    let d = engine.decide_explained(&r);
    let Some(x) = d.explain.as_deref() else {
        return Err(format!("`explain`: a {} decision has no explanation", d.decision.as_str()));
    };
    let closest = x.closest_permits.first();
    if let Some(want) = &spec.closest {
        let have = closest.map_or("(none)", |c| c.rule.as_str());
        if have != want {
            return Err(format!("`explain`: expected the closest permit {want:?}, got {have:?}"));
        }
    }
    if let Some(want) = &spec.failed {
        let have = closest.map_or("", |c| c.failed.as_str());
        if !have.contains(want.as_str()) {
            return Err(format!("`explain`: expected the failed clause to contain {want:?}, got {have:?}"));
        }
    }
    if let Some(want) = &spec.escalations {
        same_ids("escalations", want, x.escalations.iter().map(|e| e.rule.as_str()))?;
    }
    Ok(())
}

/// One line per case and a summary.
pub fn human(results: &[CaseResult]) -> String {
    let mut s = String::new();
    for r in results {
        if r.passed {
            s.push_str(&format!("ok    {}: {}\n", r.file, r.name));
        } else {
            s.push_str(&format!("FAIL  {}: {}\n      {}\n", r.file, r.name, r.detail));
        }
    }
    let failed = results.iter().filter(|r| !r.passed).count();
    s.push_str(&format!("{} passed, {failed} failed\n", results.len() - failed));
    s
}

/// `{"passed": N, "failed": N, "cases": [{"file", "name", "passed", "detail"?}]}`.
pub fn json(results: &[CaseResult]) -> String {
    let failed = results.iter().filter(|r| !r.passed).count();
    let cases: Vec<Json> = results
        .iter()
        .map(|r| {
            let mut c = serde_json::Map::new();
            c.insert("file".into(), Json::String(r.file.clone()));
            c.insert("name".into(), Json::String(r.name.clone()));
            c.insert("passed".into(), Json::Bool(r.passed));
            if !r.passed {
                c.insert("detail".into(), Json::String(r.detail.clone()));
            }
            Json::Object(c)
        })
        .collect();
    let v = serde_json::json!({"passed": results.len() - failed, "failed": failed, "cases": cases});
    format!("{}\n", serde_json::to_string_pretty(&v).unwrap_or_default())
}

/// JUnit XML: one `<testsuite>` per test file, one `<testcase>` per case.
pub fn junit(results: &[CaseResult]) -> String {
    let mut files: Vec<&str> = Vec::new();
    for r in results {
        if !files.contains(&r.file.as_str()) {
            files.push(&r.file);
        }
    }
    let failed = results.iter().filter(|r| !r.passed).count();
    let mut s = String::from("<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n");
    s.push_str(&format!("<testsuites name=\"writ test\" tests=\"{}\" failures=\"{failed}\">\n", results.len()));
    for f in files {
        let cases: Vec<&CaseResult> = results.iter().filter(|r| r.file == f).collect();
        let fails = cases.iter().filter(|r| !r.passed).count();
        s.push_str(&format!(
            "  <testsuite name=\"{}\" tests=\"{}\" failures=\"{fails}\">\n",
            xml_escape(f),
            cases.len()
        ));
        for c in cases {
            let head = format!("    <testcase name=\"{}\" classname=\"{}\"", xml_escape(&c.name), xml_escape(f));
            if c.passed {
                s.push_str(&format!("{head}/>\n"));
            } else {
                let first = c.detail.lines().next().unwrap_or("");
                s.push_str(&format!(
                    "{head}>\n      <failure message=\"{}\">{}</failure>\n    </testcase>\n",
                    xml_escape(first),
                    xml_escape(&c.detail)
                ));
            }
        }
        s.push_str("  </testsuite>\n");
    }
    s.push_str("</testsuites>\n");
    s
}

fn xml_escape(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&apos;"),
            // Characters XML 1.0 cannot hold at all.
            c if (c as u32) < 0x20 && !matches!(c, '\t' | '\n' | '\r') => out.push('\u{FFFD}'),
            c => out.push(c),
        }
    }
    out
}
