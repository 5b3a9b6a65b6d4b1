//! Differential tests (ARCHITECTURE.md, the back ends): the reference interpreter and the engine `Engine::compile`
//! returns (the Cranelift JIT) must agree on every decision — verdict, reasons in order,
//! obligations and errors — and on every decoding error.
//!
//! * `generated_policy_sets_agree` runs the seeded generator of `tests/gen/mod.rs`: a few
//!   hundred well-typed policy sets with an entity store and 25 requests each (some
//!   deliberately malformed), over 10,000 decisions in all, through `decide` on decoded
//!   requests and through `decide_json` on the raw text. It also checks that the generated
//!   sets pass the checker and that the decisions are not trivial (each verdict at least 5%,
//!   some evaluation errors).
//! * `regression_cases` replays the cases kept under `tests/differential/regressions/`.
//!
//! Environment:
//! * `WRIT_DIFF_SEED=N` runs only seed N and prints its case.
//! * `WRIT_DIFF_CASES=N` runs N generated policy sets (default 450).
//! * `WRIT_DIFF_DUMP=DIR` (with `WRIT_DIFF_SEED`) writes the case to DIR in the regression
//!   format, ready to be kept under `tests/differential/regressions/`.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, clippy::indexing_slicing)]

#[path = "gen/mod.rs"]
mod generator;

use generator::{Case, Config, generate, generate_with};
use std::path::{Path, PathBuf};
use std::time::Instant;
use writ::Decision;
use writ::{Engine, PolicySet, Verdict};

/// The first seed of the default run; case `i` uses `BASE_SEED + i`.
const BASE_SEED: u64 = 0x5752_4954_0000;
const DEFAULT_CASES: usize = 450;
const REQUESTS_PER_CASE: usize = 25;
/// Detailed reports printed at most (every mismatch is counted).
const MAX_REPORTS: usize = 5;

#[derive(Default, Debug)]
struct Stats {
    sets: usize,
    sets_with_warnings: usize,
    rules: usize,
    decisions: usize,
    allow: usize,
    deny: usize,
    escalate: usize,
    with_errors: usize,
    bad_requests: usize,
    /// Why the denies were denied: a forbid, no permit, outside the intent, the delegation
    /// chain (too long, or a hop refused).
    deny_forbid: usize,
    deny_no_permit: usize,
    deny_intent: usize,
    deny_chain: usize,
    /// Requests `decide_json` decoded on the JIT's fast path (straight from the text).
    fast_json: usize,
    /// Decisions with a small evaluation budget (`Case::fuel`), and those that ran out.
    small_fuel: usize,
    out_of_fuel: usize,
}

impl Stats {
    fn add(&mut self, o: &Stats) {
        self.sets += o.sets;
        self.sets_with_warnings += o.sets_with_warnings;
        self.rules += o.rules;
        self.decisions += o.decisions;
        self.fast_json += o.fast_json;
        self.allow += o.allow;
        self.deny += o.deny;
        self.escalate += o.escalate;
        self.with_errors += o.with_errors;
        self.bad_requests += o.bad_requests;
        self.deny_forbid += o.deny_forbid;
        self.deny_no_permit += o.deny_no_permit;
        self.deny_intent += o.deny_intent;
        self.deny_chain += o.deny_chain;
        self.small_fuel += o.small_fuel;
        self.out_of_fuel += o.out_of_fuel;
    }

    fn pct(&self, n: usize) -> f64 {
        100.0 * n as f64 / self.decisions.max(1) as f64
    }
}

#[derive(Default)]
struct Failures {
    count: usize,
    reports: Vec<String>,
}

impl Failures {
    fn add(&mut self, report: String) {
        self.count += 1;
        if self.reports.len() < MAX_REPORTS {
            self.reports.push(report);
        }
    }
}

fn pretty(d: &Decision) -> String {
    serde_json::to_string_pretty(d).unwrap_or_else(|e| format!("(cannot serialize: {e})"))
}

fn pretty_json(text: &str) -> String {
    match serde_json::from_str::<serde_json::Value>(text) {
        Ok(v) => serde_json::to_string_pretty(&v).unwrap_or_else(|_| text.to_string()),
        Err(_) => format!("{text}    (not valid JSON)"),
    }
}

fn reproduce(case: &Case) -> String {
    if case.seed == 0 {
        "replay: cargo test --test differential regression_cases".into()
    } else {
        format!("reproduce: WRIT_DIFF_SEED={} cargo test --test differential generated -- --nocapture", case.seed)
    }
}

fn mismatch(case: &Case, what: &str, request: &str, interp: &str, jit: &str) -> String {
    format!(
        "==== MISMATCH ({what}) — seed {seed}\n{repro}\n---- policy\n{policy}\n---- entities\n{entities}\n\
         ---- request\n{request}\n---- interpreter\n{interp}\n---- compiled engine\n{jit}\n",
        seed = case.seed,
        repro = reproduce(case),
        policy = case.policy_text(),
        entities = case.entities,
        request = pretty_json(request),
    )
}

/// Runs one case through both engines; every disagreement goes into `failures`.
/// The message of a caught panic.
fn panic_message(p: &(dyn std::any::Any + Send)) -> String {
    p.downcast_ref::<&str>().map(|s| s.to_string()).or_else(|| p.downcast_ref::<String>().cloned()).unwrap_or_default()
}

/// Runs `f`; a panic (never allowed in the checker or an engine) becomes an `Err`.
fn no_panic<T>(f: impl FnOnce() -> T) -> Result<T, String> {
    std::panic::catch_unwind(std::panic::AssertUnwindSafe(f)).map_err(|p| panic_message(&*p))
}

fn run_case(case: &Case, stats: &mut Stats, failures: &mut Failures) {
    let checked = match no_panic(|| PolicySet::from_sources(&case.sources())) {
        Ok(c) => c,
        Err(msg) => {
            failures.add(format!(
                "==== PANIC in the checker (seed {}): {msg}\n{}\n---- policy\n{}",
                case.seed,
                reproduce(case),
                case.policy_text()
            ));
            return;
        }
    };
    let policies = match checked {
        Ok(p) => p,
        Err(e) => {
            failures.add(format!(
                "==== GENERATOR BUG: the policy set of seed {} does not check\n{}\n{}\n---- policy\n{}",
                case.seed,
                reproduce(case),
                e.render(),
                case.policy_text()
            ));
            return;
        }
    };
    stats.sets += 1;
    stats.rules += policies.ir().rules.len();
    if !policies.warnings().is_empty() {
        stats.sets_with_warnings += 1;
    }
    // Generated requests replace stored entities inline: both back ends must agree on the
    // overlay's semantics too.
    let options = writ::EngineOptions { allow_inline_override: true, ..Default::default() };
    let mut interp = Engine::interpreted_with(&policies, options);
    let compiled = match no_panic(|| Engine::compile_with(&policies, options)) {
        Ok(c) => c,
        Err(msg) => {
            failures.add(format!(
                "==== PANIC in Engine::compile (seed {}): {msg}\n{}\n---- policy\n{}",
                case.seed,
                reproduce(case),
                case.policy_text()
            ));
            return;
        }
    };
    let mut jit = match compiled {
        Ok(e) => e,
        Err(e) => {
            failures.add(format!(
                "==== Engine::compile failed on a checked policy set (seed {})\n{}\n{}\n---- policy\n{}",
                case.seed,
                reproduce(case),
                e,
                case.policy_text()
            ));
            return;
        }
    };
    if let Some(fuel) = case.fuel {
        interp = interp.with_fuel(fuel);
        jit = jit.with_fuel(fuel);
    }
    let decoded = no_panic(|| (interp.entities_from_json(&case.entities), jit.entities_from_json(&case.entities)));
    let Ok(decoded) = decoded.map_err(|msg| {
        failures.add(format!(
            "==== PANIC decoding the entity store (seed {}): {msg}\n{}\n---- entities\n{}",
            case.seed,
            reproduce(case),
            case.entities
        ))
    }) else {
        return;
    };
    let (ei, ej) = match decoded {
        (Ok(a), Ok(b)) => (a, b),
        (a, b) => {
            let show = |r: &Result<writ::Entities, writ::DecodeError>| match r {
                Ok(_) => "decoded".to_string(),
                Err(e) => format!("error: {e}"),
            };
            failures.add(format!(
                "==== the entity store of seed {} did not decode in both engines (a generator bug if both \
                 failed)\n{}\n---- policy\n{}\n---- entities\n{}\n---- interpreter: {}\n---- compiled engine: {}",
                case.seed,
                reproduce(case),
                case.policy_text(),
                case.entities,
                show(&a),
                show(&b)
            ));
            return;
        }
    };
    for text in &case.requests {
        let run = no_panic(|| {
            let mut one = Stats::default();
            let mut found = Failures::default();
            run_request(case, text, (&interp, &jit), (&ei, &ej), &mut one, &mut found);
            (one, found)
        });
        match run {
            Ok((one, found)) => {
                stats.add(&one);
                failures.count += found.count;
                for r in found.reports {
                    if failures.reports.len() < MAX_REPORTS {
                        failures.reports.push(r);
                    }
                }
            }
            Err(msg) => failures.add(mismatch(case, &format!("PANIC: {msg}"), text, "(panicked)", "(panicked)")),
        }
    }
}

/// Decodes and decides one request with both engines.
fn run_request(
    case: &Case,
    text: &str,
    (interp, jit): (&Engine, &Engine),
    (ei, ej): (&writ::Entities, &writ::Entities),
    stats: &mut Stats,
    failures: &mut Failures,
) {
    {
        let direct = match (interp.request_from_json(text, ei), jit.request_from_json(text, ej)) {
            (Ok(ri), Ok(rj)) => {
                assert!(jit.runs_native(&rj), "seed {}: the JIT engine did not run native code", case.seed);
                let (di, dj) = (interp.decide(&ri), jit.decide(&rj));
                if di != dj {
                    failures.add(mismatch(case, "decide", text, &pretty(&di), &pretty(&dj)));
                }
                stats.decisions += 1;
                match di.decision {
                    Verdict::Allow => stats.allow += 1,
                    Verdict::Deny => {
                        stats.deny += 1;
                        match di.reasons.first() {
                            Some(r) if r.on_behalf_of.is_some() || &*r.rule == "delegation-too-long" => {
                                stats.deny_chain += 1
                            }
                            Some(r) if r.effect == "forbid" => stats.deny_forbid += 1,
                            Some(r) if r.rule.starts_with("outside-intent:") => stats.deny_intent += 1,
                            _ => stats.deny_no_permit += 1,
                        }
                    }
                    Verdict::Escalate => stats.escalate += 1,
                }
                if !di.errors.is_empty() {
                    stats.with_errors += 1;
                }
                if case.fuel.is_some() {
                    stats.small_fuel += 1;
                    if di.errors.iter().any(|e| e.message.contains("budget is exhausted")) {
                        stats.out_of_fuel += 1;
                    }
                }
                Some(di)
            }
            (Err(a), Err(b)) => {
                if a.to_string() != b.to_string() {
                    failures.add(mismatch(case, "decoding error", text, &a.to_string(), &b.to_string()));
                }
                stats.bad_requests += 1;
                None
            }
            (a, b) => {
                let show = |r: Result<writ::Request, writ::DecodeError>| match r {
                    Ok(_) => "decoded".to_string(),
                    Err(e) => format!("decoding error: {e}"),
                };
                failures.add(mismatch(case, "one engine decodes, the other does not", text, &show(a), &show(b)));
                None
            }
        };
        if jit.decides_json_natively(text, ej) {
            stats.fast_json += 1;
        }
        let (ji, jj) = (interp.decide_json(text, ei), jit.decide_json(text, ej));
        if ji != jj {
            failures.add(mismatch(case, "decide_json", text, &pretty(&ji), &pretty(&jj)));
        }
        match direct {
            Some(d) if d != ji => {
                failures.add(mismatch(case, "decide_json differs from decide", text, &pretty(&ji), &pretty(&d)));
            }
            None if ji.decision != Verdict::Deny => {
                failures.add(mismatch(case, "an undecodable request was not denied", text, &pretty(&ji), &pretty(&jj)));
            }
            _ => {}
        }
    }
}

fn env_usize(name: &str) -> Option<u64> {
    std::env::var(name).ok().and_then(|v| v.trim().parse().ok())
}

fn report(stats: &Stats, elapsed: f64) {
    eprintln!(
        "differential: {} policy sets ({} rules, {} with warnings), {} decisions in {elapsed:.1}s: \
         allow {} ({:.1}%), deny {} ({:.1}%: forbid {}, no permit {}, outside intent {}, delegation chain {}), \
         escalate {} ({:.1}%), with errors {} ({:.1}%); {} undecodable requests; {} decided from JSON on the \
         fast path; {} with a small budget, {} of them ran out",
        stats.sets,
        stats.rules,
        stats.sets_with_warnings,
        stats.decisions,
        stats.allow,
        stats.pct(stats.allow),
        stats.deny,
        stats.pct(stats.deny),
        stats.deny_forbid,
        stats.deny_no_permit,
        stats.deny_intent,
        stats.deny_chain,
        stats.escalate,
        stats.pct(stats.escalate),
        stats.with_errors,
        stats.pct(stats.with_errors),
        stats.bad_requests,
        stats.fast_json,
        stats.small_fuel,
        stats.out_of_fuel,
    );
}

fn fail_if_any(failures: &Failures) {
    if failures.count > 0 {
        for r in &failures.reports {
            eprintln!("{r}");
        }
        panic!(
            "{} disagreement(s) or generator bug(s); the first {} are printed above",
            failures.count,
            failures.reports.len()
        );
    }
}

#[test]
fn generated_policy_sets_agree() {
    let start = Instant::now();
    let mut stats = Stats::default();
    let mut failures = Failures::default();
    let cfg = Config { requests: REQUESTS_PER_CASE, ..Config::default() };
    if let Some(seed) = env_usize("WRIT_DIFF_SEED") {
        let case = generate_with(seed, &cfg);
        eprintln!("---- seed {seed}\n{}\n---- entities\n{}", case.policy_text(), case.entities);
        for (i, r) in case.requests.iter().enumerate() {
            eprintln!("---- request {i}\n{r}");
        }
        if let Ok(dir) = std::env::var("WRIT_DIFF_DUMP") {
            dump(&case, Path::new(&dir));
        }
        run_case(&case, &mut stats, &mut failures);
        report(&stats, start.elapsed().as_secs_f64());
        fail_if_any(&failures);
        return;
    }
    let cases = env_usize("WRIT_DIFF_CASES").map_or(DEFAULT_CASES, |n| n as usize);
    let verbose = std::env::var_os("WRIT_DIFF_VERBOSE").is_some();
    // Two workers (the machine has two cores); worker w takes the cases i with i % 2 == w.
    let workers = std::thread::available_parallelism().map_or(1, |n| n.get()).min(2);
    let results: Vec<(Stats, Failures)> = std::thread::scope(|scope| {
        let handles: Vec<_> = (0..workers)
            .map(|w| {
                let cfg = cfg.clone();
                scope.spawn(move || {
                    let mut stats = Stats::default();
                    let mut failures = Failures::default();
                    for i in (w..cases).step_by(workers) {
                        let case = generate_with(BASE_SEED + i as u64, &cfg);
                        let mut one = Stats::default();
                        run_case(&case, &mut one, &mut failures);
                        if verbose {
                            eprintln!(
                                "seed {}: {} files, {} rules, allow {} deny {} escalate {} errors {} bad {}",
                                case.seed,
                                case.files.len(),
                                one.rules,
                                one.allow,
                                one.deny,
                                one.escalate,
                                one.with_errors,
                                one.bad_requests
                            );
                        }
                        stats.add(&one);
                    }
                    (stats, failures)
                })
            })
            .collect();
        handles.into_iter().map(|h| h.join().expect("a worker panicked")).collect()
    });
    for (s, f) in results {
        stats.add(&s);
        failures.count += f.count;
        failures.reports.extend(f.reports);
    }
    failures.reports.truncate(MAX_REPORTS);
    report(&stats, start.elapsed().as_secs_f64());
    fail_if_any(&failures);
    if cases >= DEFAULT_CASES {
        assert!(stats.decisions >= 10_000, "too few decisions: {stats:?}");
    }
    if cases >= 50 {
        // The suite must not silently become trivial.
        for (name, n) in [("allow", stats.allow), ("deny", stats.deny), ("escalate", stats.escalate)] {
            assert!(stats.pct(n) >= 5.0, "only {:.1}% {name} decisions: {stats:?}", stats.pct(n));
        }
        assert!(stats.with_errors > 0, "no decision had an evaluation error: {stats:?}");
        assert!(stats.bad_requests > 0, "no malformed request was generated: {stats:?}");
        // Running out of fuel is compared between the back ends, and not always.
        assert!(stats.out_of_fuel > 0, "no decision ran out of fuel: {stats:?}");
        assert!(stats.out_of_fuel < stats.small_fuel, "every small budget ran out: {stats:?}");
        // The JIT's fast JSON decoder must see most well-formed requests, or `decide_json`
        // compares only the ordinary decoder.
        assert!(
            stats.pct(stats.fast_json) >= 50.0,
            "only {:.1}% decided on the fast path: {stats:?}",
            stats.pct(stats.fast_json)
        );
    }
}

#[test]
fn generator_is_deterministic() {
    let cfg = Config { requests: 5, ..Config::default() };
    for seed in [0, 1, 42, BASE_SEED, u64::MAX] {
        assert_eq!(generate_with(seed, &cfg), generate_with(seed, &cfg), "seed {seed}");
    }
    assert_ne!(generate(1).files, generate(2).files);
    assert_ne!(generate(1).entities, generate(3).entities);
}

// ------------------------------------------------------------------------------ regressions

fn regressions_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/differential/regressions")
}

fn files_with_ext(dir: &Path, ext: &str, out: &mut Vec<PathBuf>) {
    let Ok(rd) = std::fs::read_dir(dir) else { return };
    let mut entries: Vec<PathBuf> = rd.flatten().map(|e| e.path()).collect();
    entries.sort();
    for p in entries {
        if p.is_dir() {
            files_with_ext(&p, ext, out);
        } else if p.extension().is_some_and(|e| e == ext) {
            out.push(p);
        }
    }
}

/// Reads a regression case directory: `*.writ` (any depth, except under `requests/`),
/// `entities.json`, `requests/*.json`.
fn load_regression(dir: &Path) -> Case {
    let mut writ = Vec::new();
    files_with_ext(dir, "writ", &mut writ);
    let files = writ
        .iter()
        .map(|p| {
            let name = p.strip_prefix(dir).unwrap().to_string_lossy().replace('\\', "/");
            (name, std::fs::read_to_string(p).unwrap())
        })
        .collect();
    let entities = std::fs::read_to_string(dir.join("entities.json")).unwrap_or_else(|_| "[]".into());
    let mut reqs = Vec::new();
    files_with_ext(&dir.join("requests"), "json", &mut reqs);
    let requests = reqs.iter().map(|p| std::fs::read_to_string(p).unwrap()).collect();
    // An optional `fuel` file holds the evaluation budget (`Case::fuel`).
    let fuel = std::fs::read_to_string(dir.join("fuel")).ok().and_then(|s| s.trim().parse().ok());
    Case { seed: 0, files, entities, requests, fuel }
}

/// Writes a case in the regression format (see `tests/differential/regressions/README.md`).
fn dump(case: &Case, dir: &Path) {
    for (name, text) in &case.files {
        let p = dir.join(name);
        std::fs::create_dir_all(p.parent().unwrap()).unwrap();
        std::fs::write(p, text).unwrap();
    }
    std::fs::write(dir.join("entities.json"), &case.entities).unwrap();
    std::fs::create_dir_all(dir.join("requests")).unwrap();
    for (i, r) in case.requests.iter().enumerate() {
        std::fs::write(dir.join("requests").join(format!("{i:03}.json")), pretty_json_or_raw(r)).unwrap();
    }
    if let Some(fuel) = case.fuel {
        std::fs::write(dir.join("fuel"), format!("{fuel}\n")).unwrap();
    }
    eprintln!("wrote seed {} to {}", case.seed, dir.display());
}

fn pretty_json_or_raw(text: &str) -> String {
    match serde_json::from_str::<serde_json::Value>(text) {
        Ok(v) => serde_json::to_string_pretty(&v).unwrap_or_else(|_| text.to_string()),
        Err(_) => text.to_string(),
    }
}

#[test]
fn regression_cases() {
    let mut dirs: Vec<PathBuf> =
        std::fs::read_dir(regressions_dir()).unwrap().flatten().map(|e| e.path()).filter(|p| p.is_dir()).collect();
    dirs.sort();
    assert!(!dirs.is_empty(), "no regression cases under {}", regressions_dir().display());
    let mut stats = Stats::default();
    let mut failures = Failures::default();
    for dir in &dirs {
        let case = load_regression(dir);
        assert!(!case.files.is_empty() && !case.requests.is_empty(), "{}: no policy or no requests", dir.display());
        let before = failures.count;
        run_case(&case, &mut stats, &mut failures);
        if failures.count > before {
            eprintln!("regression case {} failed", dir.display());
        }
    }
    report(&stats, 0.0);
    fail_if_any(&failures);
}

/// Every expression form of docs/language.md, every built-in method and standard library module, and
/// the declarations around them appear in the generated policy sets (so a change to the
/// generator cannot quietly drop one), and the host data has its edge values.
#[test]
fn generator_covers_the_language() {
    let cfg = Config { requests: 25, ..Config::default() };
    let cases: Vec<Case> = (0..300).map(|i| generate_with(BASE_SEED + i, &cfg)).collect();
    let policy: String = cases.iter().map(Case::policy_text).collect();
    let data: String =
        cases.iter().flat_map(|c| std::iter::once(&c.entities).chain(c.requests.iter())).cloned().collect();
    let policy_needles = [
        // declarations
        "entity ",
        " in ",
        "enum ",
        "context {",
        "action ",
        "action group ",
        "intent ",
        "?,",
        "Set<",
        "{ ",
        "@max_delegation(",
        "fn f",
        "import std.time",
        "import std.net",
        "import std.identity",
        // rules and targets
        "permit ",
        "forbid ",
        "escalate ",
        "@id(",
        "///",
        " to * on ",
        "* to ",
        "::\"",
        " when ",
        " unless ",
        "because ",
        "grant { ttl: ",
        "audit: ",
        "on_behalf_of",
        // expressions
        " and ",
        " or ",
        "(not ",
        "(if ",
        " then ",
        " else ",
        " == ",
        " != ",
        " < ",
        " <= ",
        " > ",
        " >= ",
        " + ",
        " - ",
        " * ",
        "(-",
        " in [",
        " in on_behalf_of",
        " is ",
        " has ",
        " like ",
        "(all ",
        "(any ",
        "intent ==",
        "intent in [",
        "action ==",
        "action in ",
        "none",
        "9223372036854775807",
        "timestamp(\"",
        "ip(\"",
        "duration(\"",
        "1h30m",
        "106751991167d",
        "[]",
        "{a: ",
        "f0(",
        "f1(",
        // methods
        ".starts_with(",
        ".ends_with(",
        ".contains(",
        ".len()",
        ".lower()",
        ".upper()",
        ".strip_prefix(",
        ".strip_suffix(",
        ".before(",
        ".after(",
        ".segment(",
        ".contains_any(",
        ".contains_all(",
        ".is_empty()",
        ".hour()",
        ".minute()",
        ".weekday()",
        ".date()",
        ".in_range(",
        ".is_loopback()",
        ".is_private()",
        ".is_v4()",
        ".millis()",
        ".seconds()",
        ".minutes()",
        ".hours()",
        // standard library
        "time.business_hours(",
        "time.hours_between(",
        "time.is_weekday(",
        "time.is_weekend(",
        "time.within(",
        "time.age(",
        "time.fresh(",
        "net.is_private(",
        "net.is_loopback(",
        "net.is_internal(",
        "net.in_any_range(",
        "net.outside_ranges(",
        "identity.is_spiffe(",
        "identity.trust_domain(",
        "identity.path(",
        "identity.segment(",
        "identity.namespace(",
        "identity.service_account(",
        "identity.matches(",
        "identity.in_trust_domain(",
    ];
    let missing: Vec<&str> = policy_needles.iter().copied().filter(|n| !policy.contains(n)).collect();
    assert!(missing.is_empty(), "never generated: {missing:?}");
    let data_needles = [
        "9223372036854775807",
        "-9223372036854775808",
        "\"\"",
        "ünïcödé",
        "日本語",
        "::1",
        "2001:db8::",
        "::ffff:10.1.2.3",
        "1969-12-31T23:59:59Z",
        "2026-11-28",
        "+01:00",
        ".999Z",
        "106751991167d",
        "\"on_behalf_of\":[]",
        "\"intent\":\"none\"",
        "\"entities\":",
        "inline-1",
        "null",
        "[]",
    ];
    let missing: Vec<&str> = data_needles.iter().copied().filter(|n| !data.contains(n)).collect();
    assert!(missing.is_empty(), "never generated in host data: {missing:?}");
}

// ------------------------------------------------------------------------- fixed bugs

/// Bug found by the generator (seed 96010929180227), fixed: `.date()` of a timestamp less
/// than a day after the earliest representable one overflowed in `ir::value::ts_date` and
/// panicked. It is now an overflow error (`date()`) on both back ends, so the rule fails
/// closed, and the checker leaves the constant unfolded instead of panicking.
#[test]
fn date_of_the_earliest_timestamps_fails_closed() {
    let schema = "schema { entity A  entity B  context { t: Timestamp, d: Duration }  action x: A -> B }";
    let rule =
        r#"@id("date") permit A to x on B when (context.t - context.d).date() == timestamp("1970-01-01T00:00:00Z");"#;
    let policies = PolicySet::from_sources(&[("schema.writ", schema), ("rules.writ", rule)]).unwrap();
    let request = r#"{"principal": {"type": "A", "id": "a"}, "action": "x", "resource": {"type": "B", "id": "b"},
                      "context": {"t": "1969-12-31T23:59:59Z", "d": "106751991167d"}}"#;
    let mut decisions = Vec::new();
    for engine in [Engine::interpreted(&policies), Engine::compile(&policies).unwrap()] {
        let entities = engine.entities_from_json(r#"[{"type": "A", "id": "a"}, {"type": "B", "id": "b"}]"#).unwrap();
        let d = no_panic(|| engine.decide_json(request, &entities)).expect("the engine panicked");
        assert_eq!(d.decision, Verdict::Deny, "{}", pretty(&d));
        assert!(!d.errors.is_empty(), "the overflow is not reported: {}", pretty(&d));
        decisions.push(d);
    }
    assert_eq!(decisions[0], decisions[1]);
    // The same expression on constants: the checker folds it.
    let folded = r#"permit A to x on B when (timestamp("1969-12-31T23:59:59Z") - 106751991167d).date() == timestamp("1970-01-01T00:00:00Z");"#;
    let checked = no_panic(|| PolicySet::from_sources(&[("schema.writ", schema), ("rules.writ", folded)]).is_ok());
    assert!(checked.is_ok(), "the checker panicked: {checked:?}");
}
