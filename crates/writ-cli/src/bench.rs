//! `writ bench`: what one decision costs on each back end, for one request, measured through
//! the public embedding API only (`Engine::compile`, `Engine::interpreted`,
//! `request_from_json`, `decide`, `decide_json`).
//!
//! Every figure is wall-clock time per call: a warm-up that also picks the iteration count,
//! then [`BATCHES`] timed batches of the same count; the median batch is reported, with the
//! fastest and slowest in the JSON output. Each call's result is dropped inside the timed
//! loop, so a figure includes freeing what the call allocated.

use super::Format;
use serde::Serialize;
use std::hint::black_box;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};
use writ::{Backend, Decision, Engine, Entities, PolicySet};

/// Timed batches per measurement; the median of them is the figure.
pub const BATCHES: usize = 5;

/// Time one measurement aims at by default, over all its batches (seconds).
pub const DEFAULT_SECONDS: f64 = 0.3;

/// No batch runs more iterations than this, whatever the timer says.
const MAX_ITERATIONS: u64 = 1 << 32;

/// How long to measure.
#[derive(Clone, Copy, Debug, PartialEq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Budget {
    /// About this many seconds per measurement; iterations per batch scaled to fit.
    Seconds(f64),
    /// Exactly this many iterations per batch (compilation: at most this many, fewer when
    /// one batch would take longer than the default time allows).
    Iterations(u64),
}

/// What `writ bench` was asked to do.
#[derive(Clone, Debug)]
pub struct Options {
    pub paths: Vec<PathBuf>,
    pub request: PathBuf,
    pub entities: Option<PathBuf>,
    pub budget: Budget,
    pub format: Format,
}

/// One measured step: time per call (to 0.1 ns) of the median, fastest and slowest of
/// `batches` batches of `iterations` calls each.
#[derive(Clone, Copy, Debug, PartialEq, Serialize)]
pub struct Sample {
    pub median_ns: f64,
    pub min_ns: f64,
    pub max_ns: f64,
    pub batches: usize,
    pub iterations: u64,
}

/// The figures of one back end.
#[derive(Clone, Debug)]
struct Row {
    /// `jit` or `interp`: what was asked for.
    name: &'static str,
    /// What actually ran (`Engine::compile` falls back to the interpreter where Cranelift
    /// does not support the machine).
    backend: Backend,
    /// Whether `decide` ran native code for the decoded request.
    native: bool,
    decision: Decision,
    compile: Sample,
    decode: Sample,
    decide: Sample,
    decide_json: Sample,
}

/// Runs `writ bench`: the report (or the error) and the exit code.
/// The report (standard output), or what went wrong (standard error) and the exit code.
pub fn run(opts: &Options, color: bool) -> Result<String, (String, u8)> {
    bench(opts, color)
}

fn read(p: &Path) -> Result<String, (String, u8)> {
    std::fs::read_to_string(p).map_err(|e| (format!("cannot read `{}`: {e}\n", p.display()), super::exit::INPUT))
}

fn fail(text: String) -> (String, u8) {
    (text, super::exit::FAILURE)
}

fn bench(opts: &Options, color: bool) -> Result<String, (String, u8)> {
    if let Budget::Seconds(s) = opts.budget {
        if !(s.is_finite() && s > 0.0) {
            return Err((format!("--time must be a positive number of seconds, not {s}\n"), super::exit::INPUT));
        }
    }
    let req_text = read(&opts.request)?;
    let ent_text = match &opts.entities {
        Some(p) => Some(read(p)?),
        None => None,
    };

    let started = Instant::now();
    let policies = super::load_policies(&opts.paths, color).map_err(fail)?;
    let load_check = started.elapsed();

    let jit = Engine::compile(&policies).map_err(|e| fail(format!("{e}\n")))?;
    let interp = Engine::interpreted(&policies);

    // Each engine decodes the store itself: a JIT engine lays it out for its native code
    // (without `--entities`, an empty store laid out by the engine).
    let store = |engine: &Engine| -> Result<Entities, (String, u8)> {
        let (Some(json), Some(file)) = (ent_text.as_deref(), opts.entities.as_deref()) else {
            return Ok(engine.empty_entities());
        };
        engine
            .entities_from_json(json)
            .map_err(|e| (format!("cannot decode the entities in `{}`: {e}\n", file.display()), super::exit::INPUT))
    };
    let decode = |engine: &Engine, entities: &Entities| {
        engine.request_from_json(&req_text, entities).map_err(|e| {
            (format!("cannot decode the request in `{}`: {e}\n", opts.request.display()), super::exit::INPUT)
        })
    };
    let jit_entities = store(&jit)?;
    let interp_entities = store(&interp)?;
    let jit_request = decode(&jit, &jit_entities)?;
    let interp_request = decode(&interp, &interp_entities)?;

    // The back ends must agree before their speeds mean anything.
    let decisions = [
        ("jit decide", jit.decide(&jit_request)),
        ("jit decide_json", jit.decide_json(&req_text, &jit_entities)),
        ("interp decide", interp.decide(&interp_request)),
        ("interp decide_json", interp.decide_json(&req_text, &interp_entities)),
    ];
    let decision = agreed(&decisions).map_err(fail)?;

    let per_call = match opts.budget {
        Budget::Seconds(s) => Plan::scaled(s),
        Budget::Iterations(n) => Plan::fixed(n),
    };
    // Compiling can take milliseconds: never more than the default time per batch.
    let compile_plan = match opts.budget {
        Budget::Seconds(s) => Plan::scaled(s),
        Budget::Iterations(n) => Plan { cap: n, ..Plan::scaled(DEFAULT_SECONDS) },
    };

    let mut rows = Vec::new();
    for (name, engine, entities, request, compile) in [
        ("jit", &jit, &jit_entities, &jit_request, true),
        ("interp", &interp, &interp_entities, &interp_request, false),
    ] {
        let compile = if compile {
            measure(compile_plan, || Engine::compile(black_box(&policies)))
        } else {
            measure(compile_plan, || Engine::interpreted(black_box(&policies)))
        };
        rows.push(Row {
            name,
            backend: engine.backend(),
            native: engine.runs_native(request),
            decision: decision.clone(),
            compile,
            decode: measure(per_call, || engine.request_from_json(black_box(&req_text), entities)),
            decide: measure(per_call, || engine.decide(black_box(request))),
            decide_json: measure(per_call, || engine.decide_json(black_box(&req_text), entities)),
        });
    }

    let report = Report { opts, policies: &policies, load_check, decision: &decision, rows: &rows };
    Ok(match opts.format {
        Format::Human => report.human(),
        Format::Json => report.json(),
    })
}

/// The decision every entry gave, or a report of how they differ.
fn agreed(decisions: &[(&str, Decision)]) -> Result<Decision, String> {
    let Some((_, first)) = decisions.first() else {
        return Err("no decisions to compare\n".into());
    };
    if decisions.iter().all(|(_, d)| d == first) {
        return Ok(first.clone());
    }
    let mut s = String::from("the back ends disagree on this request (a bug: please report it):\n");
    for (name, d) in decisions {
        s.push_str(&format!("{name}: {}\n{}\n", d.decision.as_str(), d.to_json()));
    }
    Err(s)
}

/// How many iterations a batch runs: enough to last `batch_secs`, at most `cap`.
#[derive(Clone, Copy, Debug)]
struct Plan {
    batch_secs: f64,
    cap: u64,
}

impl Plan {
    fn scaled(total_secs: f64) -> Plan {
        Plan { batch_secs: total_secs / BATCHES as f64, cap: MAX_ITERATIONS }
    }

    fn fixed(n: u64) -> Plan {
        Plan { batch_secs: f64::INFINITY, cap: n.max(1) }
    }
}

fn time_batch<T>(n: u64, f: &mut impl FnMut() -> T) -> Duration {
    let start = Instant::now();
    for _ in 0..n {
        black_box(f());
    }
    start.elapsed()
}

/// Warms up while finding the iteration count (doubling until a run lasts a quarter of a
/// batch or reaches the cap), then times [`BATCHES`] batches.
fn measure<T>(plan: Plan, mut f: impl FnMut() -> T) -> Sample {
    let mut n: u64 = 1;
    let per_call = loop {
        let t = time_batch(n, &mut f).as_secs_f64();
        if n >= plan.cap || t >= plan.batch_secs / 4.0 {
            break t / n as f64;
        }
        n = n.saturating_mul(2).min(plan.cap);
    };
    // `as` saturates: an infinite or huge quotient becomes the cap.
    let iterations = ((plan.batch_secs / per_call).floor() as u64).clamp(1, plan.cap);
    let mut ns: Vec<f64> =
        (0..BATCHES).map(|_| time_batch(iterations, &mut f).as_secs_f64() * 1e9 / iterations as f64).collect();
    ns.sort_by(f64::total_cmp);
    let at = |i: usize| round(ns.get(i).copied().unwrap_or(f64::NAN));
    Sample {
        median_ns: at(ns.len() / 2),
        min_ns: at(0),
        max_ns: at(ns.len().saturating_sub(1)),
        batches: ns.len(),
        iterations,
    }
}

struct Report<'a> {
    opts: &'a Options,
    policies: &'a PolicySet,
    load_check: Duration,
    decision: &'a Decision,
    rows: &'a [Row],
}

/// The steps, in table order: label, what it calls, and its sample.
fn steps(row: &Row) -> [(&'static str, &'static str, Sample); 4] {
    [
        ("compile", "Engine::compile / Engine::interpreted", row.compile),
        ("decode", "request_from_json", row.decode),
        ("decide", "decide(&Request)", row.decide),
        ("JSON → decision", "decide_json", row.decide_json),
    ]
}

fn backend_name(b: Backend) -> &'static str {
    match b {
        Backend::Jit => "jit",
        Backend::Interpreter => "interpreter",
    }
}

impl Report<'_> {
    fn paths(&self) -> String {
        self.opts.paths.iter().map(|p| p.display().to_string()).collect::<Vec<_>>().join(" ")
    }

    fn files(&self) -> usize {
        self.policies.sources().files().filter(|(_, f)| !f.name.starts_with("<std>")).count()
    }

    fn human(&self) -> String {
        let mut s = String::new();
        let files = self.files();
        let rules = self.policies.ir().rules.len();
        s.push_str(&format!(
            "policies: {} ({files} {}, {rules} {}), loaded and checked in {}\n",
            self.paths(),
            if files == 1 { "file" } else { "files" },
            if rules == 1 { "rule" } else { "rules" },
            duration(self.load_check.as_secs_f64() * 1e9),
        ));
        s.push_str(&format!("request:  {}\n", self.opts.request.display()));
        if let Some(e) = &self.opts.entities {
            s.push_str(&format!("entities: {}\n", e.display()));
        }
        s.push('\n');

        let header: Vec<String> = self
            .rows
            .iter()
            .map(|r| match (r.name, r.native) {
                ("jit", true) => "jit (native)".to_string(),
                ("jit", false) => "jit (interpreted!)".to_string(),
                (name, _) => name.to_string(),
            })
            .collect();
        let width = header.iter().map(|h| h.len()).max().unwrap_or(0).max(12) + 2;
        let line = |label: &str, cells: Vec<String>| {
            let mut l = format!("{label:<18}");
            for c in cells {
                l.push_str(&format!("{c:>width$}"));
            }
            l.push('\n');
            l
        };
        s.push_str(&line("time per call", header));
        s.push_str(&line("decision", self.rows.iter().map(|r| r.decision.decision.as_str().to_string()).collect()));
        for i in 0..4 {
            let cells = self.rows.iter().map(|r| steps(r).get(i).map_or(String::new(), |st| duration(st.2.median_ns)));
            let label = self.rows.first().and_then(|r| steps(r).get(i).map(|st| st.0)).unwrap_or("");
            s.push_str(&line(label, cells.collect()));
        }

        s.push_str(&format!("\neach figure is the median of {BATCHES} batches of N calls, after a warm-up:\n"));
        for i in 0..4 {
            let cells = self.rows.iter().map(|r| steps(r).get(i).map_or(String::new(), |st| count(st.2.iterations)));
            let label = self.rows.first().and_then(|r| steps(r).get(i).map(|st| st.0)).unwrap_or("");
            s.push_str(&line(&format!("N {label}"), cells.collect()));
        }
        let verdicts: Vec<String> =
            self.rows.iter().map(|r| format!("{} {}", r.name, r.decision.decision.as_str())).collect();
        s.push_str(&format!("\nthe back ends agree: {}\n", verdicts.join(", ")));
        if self.rows.iter().any(|r| r.name == "jit" && !r.native) {
            s.push_str("note: the `jit` column ran the interpreter: Cranelift does not support this machine\n");
        }
        s
    }

    fn json(&self) -> String {
        let backends = self
            .rows
            .iter()
            .map(|r| JsonBackend {
                engine: r.name,
                backend: backend_name(r.backend),
                native: r.native,
                decision: r.decision.decision.as_str(),
                compile: r.compile,
                decode: r.decode,
                decide: r.decide,
                decide_json: r.decide_json,
            })
            .collect();
        let report = JsonReport {
            policies: self.opts.paths.iter().map(|p| p.display().to_string()).collect(),
            files: self.files(),
            rules: self.policies.ir().rules.len(),
            request: self.opts.request.display().to_string(),
            entities: self.opts.entities.as_ref().map(|p| p.display().to_string()),
            budget: self.opts.budget,
            load_check_ns: round(self.load_check.as_secs_f64() * 1e9),
            agree: true,
            decision: self.decision,
            backends,
        };
        match serde_json::to_string_pretty(&report) {
            Ok(s) => format!("{s}\n"),
            Err(e) => format!("{{\"error\": \"{e}\"}}\n"),
        }
    }
}

/// `--format json`: the whole report.
#[derive(Serialize)]
struct JsonReport<'a> {
    policies: Vec<String>,
    files: usize,
    rules: usize,
    request: String,
    entities: Option<String>,
    budget: Budget,
    load_check_ns: f64,
    /// Always true: when the back ends disagree there is no report, only the error.
    agree: bool,
    decision: &'a Decision,
    backends: Vec<JsonBackend>,
}

#[derive(Serialize)]
struct JsonBackend {
    engine: &'static str,
    backend: &'static str,
    native: bool,
    decision: &'static str,
    compile: Sample,
    decode: Sample,
    decide: Sample,
    decide_json: Sample,
}

/// Nanoseconds to one decimal place (JSON).
fn round(ns: f64) -> f64 {
    (ns * 10.0).round() / 10.0
}

/// A time for people: three significant digits and a unit.
pub fn duration(ns: f64) -> String {
    let (v, unit) = if ns < 1e3 {
        (ns, "ns")
    } else if ns < 1e6 {
        (ns / 1e3, "µs")
    } else if ns < 1e9 {
        (ns / 1e6, "ms")
    } else {
        (ns / 1e9, "s")
    };
    let digits = if v >= 100.0 {
        0
    } else if v >= 10.0 {
        1
    } else {
        2
    };
    format!("{v:.digits$} {unit}")
}

/// A count with thousands separators: `1,250,000`.
pub fn count(n: u64) -> String {
    let digits = n.to_string();
    let mut s = String::new();
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i) % 3 == 0 {
            s.push(',');
        }
        s.push(c);
    }
    s
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations_and_counts_read_well() {
        assert_eq!(duration(12.345), "12.3 ns");
        assert_eq!(duration(180.0), "180 ns");
        assert_eq!(duration(1520.0), "1.52 µs");
        assert_eq!(duration(4_210_000.0), "4.21 ms");
        assert_eq!(duration(2.5e9), "2.50 s");
        assert_eq!(count(7), "7");
        assert_eq!(count(1000), "1,000");
        assert_eq!(count(1_250_000), "1,250,000");
    }

    #[test]
    fn a_fixed_plan_runs_exactly_n_per_batch() {
        let mut calls = 0u64;
        let s = measure(Plan::fixed(10), || calls += 1);
        assert_eq!((s.batches, s.iterations), (BATCHES, 10));
        // Warm-up 1 + 2 + 4 + 8 + 10, then the batches.
        assert_eq!(calls, 25 + 10 * BATCHES as u64);
        assert!(s.min_ns <= s.median_ns && s.median_ns <= s.max_ns);
    }

    #[test]
    fn disagreeing_decisions_are_reported_with_each_verdict() {
        let deny = Decision::bad_request("x");
        let mut allow = deny.clone();
        allow.decision = writ::Verdict::Allow;
        assert!(agreed(&[("a", deny.clone()), ("b", deny.clone())]).is_ok());
        let e = agreed(&[("jit decide", allow), ("interp decide", deny)]).unwrap_err();
        assert!(e.contains("disagree") && e.contains("jit decide: allow") && e.contains("interp decide: deny"), "{e}");
    }
}
