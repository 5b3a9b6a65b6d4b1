#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, clippy::indexing_slicing)]
//! JIT benchmarks: decisions for the shipped examples on both back ends (decoded request,
//! and JSON → decision), and compile time (parse + check + native code) of the generated
//! 1,000- and 10,000-rule sets. Run: `cargo bench --bench jit`.

#[path = "gen/mod.rs"]
mod policygen;

use criterion::{BenchmarkId, Criterion, criterion_group, criterion_main};
use std::hint::black_box;
use std::path::Path;
use std::time::Duration;
use writ::{Backend, Engine, PolicySet};

const SCENARIOS: &[(&str, &str, &str)] = &[
    ("spec-agent-tool-call", "examples/spec", "request.json"),
    ("ci-secret-read-in-window", "examples/ci-secrets", "requests/read_in_window.json"),
    ("delegation-chain-of-4", "examples/delegation", "requests/chain_of_4.json"),
];

fn decide(c: &mut Criterion) {
    let mut g = c.benchmark_group("jit");
    for (name, dir, req) in SCENARIOS {
        let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join(dir);
        let policies = PolicySet::load(&dir).expect("example checks");
        let json = std::fs::read_to_string(dir.join(req)).unwrap();
        let ents = std::fs::read_to_string(dir.join("entities.json")).unwrap();
        let jit = Engine::compile(&policies).unwrap();
        assert_eq!(jit.backend(), Backend::Jit);
        let interp = Engine::interpreted(&policies);
        for (label, engine) in [("jit", &jit), ("interp", &interp)] {
            let entities = engine.entities_from_json(&ents).unwrap();
            let request = engine.request_from_json(&json, &entities).unwrap();
            assert_eq!(engine.decide(&request).decision, writ::Verdict::Allow, "{name}");
            g.bench_function(format!("{name}/{label}/decide"), |b| {
                b.iter(|| black_box(engine.decide(black_box(&request))))
            });
            g.bench_function(format!("{name}/{label}/json+decide"), |b| {
                b.iter(|| black_box(engine.decide_json(black_box(&json), &entities)))
            });
        }
    }
    g.finish();
}

fn compile(c: &mut Criterion) {
    let mut g = c.benchmark_group("jit_compile");
    for n in [1_000usize, 10_000] {
        let files = policygen::policy_set(n);
        let pairs: Vec<(&str, &str)> = files.iter().map(|(a, b)| (a.as_str(), b.as_str())).collect();
        if n >= 10_000 {
            g.sample_size(10).measurement_time(Duration::from_secs(20));
        } else {
            g.sample_size(20).measurement_time(Duration::from_secs(10));
        }
        let ps = PolicySet::from_sources(&pairs).expect("the generated set checks");
        g.bench_with_input(BenchmarkId::new("codegen_only", n), &ps, |b, ps| {
            b.iter(|| black_box(Engine::compile(ps).unwrap()))
        });
        g.bench_with_input(BenchmarkId::new("parse_check_codegen", n), &pairs, |b, pairs| {
            b.iter(|| black_box(Engine::compile(&PolicySet::from_sources(pairs).unwrap()).unwrap()))
        });
    }
    g.finish();
}

criterion_group!(benches, decide, compile);
criterion_main!(benches);
