//! Writ against Cedar and Rego (regorus), in one run: `benches/compare/run.sh`, or
//! `cargo bench -p writ-compare --bench compare`.
//!
//! For every scenario (the agent tool call of the running example, `examples/spec`; the
//! CI secret read; generated sets of 10 to 10,000 rules) and each timed request (an allow and a deny), criterion group
//! `<scenario>` holds:
//!
//! * `prepared/<engine>/<request>`: a decision on a request decoded beforehand: Writ
//!   `engine.decide(&request)` (`Engine::compile`, labelled with the back end it returned,
//!   and `Engine::interpreted`), Cedar `Authorizer::is_authorized` on pre-built `Request`s
//!   (one per principal of the delegation chain), regorus `eval_rule` with the input set;
//! * `json/<engine>/<request>`: end to end from the request JSON string, each engine's own
//!   parsing and request construction included (see `src/engines.rs`).
//!
//! Before anything is timed, every engine must give every case of the scenario its
//! expected decision, or the run stops.
//!
//! `WRIT_COMPARE_ONLY=agent-tool-call,gen-10` restricts the run to some scenarios.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, clippy::indexing_slicing)]

use criterion::{BenchmarkId, Criterion, criterion_group, criterion_main};
use std::hint::black_box;
use std::time::Duration;
use writ_compare::agree::{Engines, check};
use writ_compare::engines::RegoSide;
use writ_compare::generate;
use writ_compare::scenario::{GENERATED_SIZES, HAND_WRITTEN, Scenario};

fn wanted(name: &str) -> bool {
    match std::env::var("WRIT_COMPARE_ONLY") {
        Ok(only) => only.split(',').any(|s| s.trim() == name),
        Err(_) => true,
    }
}

fn scenarios() -> Vec<Scenario> {
    let mut out = Vec::new();
    for name in HAND_WRITTEN {
        if wanted(name) {
            out.push(Scenario::hand_written(name).unwrap_or_else(|e| panic!("{e}")));
        }
    }
    for &n in GENERATED_SIZES {
        if wanted(&generate::name(n)) {
            out.push(generate::scenario(n));
        }
    }
    out
}

fn bench(c: &mut Criterion) {
    for sc in scenarios() {
        let mut engines = Engines::new(&sc).unwrap_or_else(|e| panic!("{e}"));
        let compared = check(&sc, &mut engines).unwrap_or_else(|e| panic!("{e}"));
        eprintln!("{}: {} cases, {compared} decisions compared, all agree", sc.name, sc.cases.len());

        let mut g = c.benchmark_group(sc.name.as_str());
        let rules = sc.rule_count();
        if rules >= 10_000 {
            g.sample_size(10).warm_up_time(Duration::from_secs(1)).measurement_time(Duration::from_secs(3));
        } else if rules >= 1_000 {
            g.sample_size(30).warm_up_time(Duration::from_secs(1)).measurement_time(Duration::from_secs(2));
        } else {
            g.sample_size(50).warm_up_time(Duration::from_secs(1)).measurement_time(Duration::from_secs(2));
        }
        let Engines { writ, cedar, mut rego } = engines;
        for (label, case) in &sc.bench {
            let json = sc.case(case).map(|c| c.request.clone()).unwrap_or_else(|| panic!("no case {case}"));
            let label = label.as_str();

            for w in &writ {
                let request = w.prepare(&json).unwrap_or_else(|e| panic!("{e}"));
                g.bench_function(BenchmarkId::new(format!("prepared/{}", w.label()), label), |b| {
                    b.iter(|| black_box(w.decide(black_box(&request))))
                });
            }
            let request = cedar.prepare(&json).unwrap_or_else(|e| panic!("{e}"));
            g.bench_function(BenchmarkId::new("prepared/cedar", label), |b| {
                b.iter(|| black_box(cedar.decide(black_box(&request))))
            });
            rego.set_input(RegoSide::parse_input(&json).unwrap_or_else(|e| panic!("{e}")));
            g.bench_function(BenchmarkId::new("prepared/regorus", label), |b| b.iter(|| black_box(rego.decide())));

            for w in &writ {
                g.bench_function(BenchmarkId::new(format!("json/{}", w.label()), label), |b| {
                    b.iter(|| black_box(w.decide_json(black_box(&json))))
                });
            }
            g.bench_function(BenchmarkId::new("json/cedar", label), |b| {
                b.iter(|| black_box(cedar.decide_json(black_box(&json))))
            });
            g.bench_function(BenchmarkId::new("json/regorus", label), |b| {
                b.iter(|| black_box(rego.decide_json(black_box(&json))))
            });
        }
        g.finish();
    }
}

criterion_group!(benches, bench);
criterion_main!(benches);
