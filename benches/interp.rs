//! Interpreter decisions for the shipped examples: on a decoded request, and from JSON
//! (decode + decide). The baseline the JIT must beat. Run: `cargo bench --bench interp`.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, clippy::indexing_slicing)]

use criterion::{Criterion, criterion_group, criterion_main};
use std::hint::black_box;
use std::path::Path;

/// (name, example directory, request file)
const SCENARIOS: &[(&str, &str, &str)] = &[
    ("spec-agent-tool-call", "examples/spec", "request.json"),
    ("support-agent-comment", "examples/support-agent", "requests/comment.json"),
    ("ci-secret-read-in-window", "examples/ci-secrets", "requests/read_in_window.json"),
    ("delegation-chain-of-4", "examples/delegation", "requests/chain_of_4.json"),
    ("anomaly-normal", "examples/anomaly", "requests/normal.json"),
    ("human-approval-export-approved", "examples/human-approval", "requests/export_customers_approved.json"),
];

fn bench(c: &mut Criterion) {
    let mut g = c.benchmark_group("interp");
    for (name, dir, req) in SCENARIOS {
        let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join(dir);
        let policies = writ::PolicySet::load(&dir).expect("example checks");
        let engine = writ::Engine::interpreted(&policies);
        let entities = engine.entities_from_json(&std::fs::read_to_string(dir.join("entities.json")).unwrap()).unwrap();
        let json = std::fs::read_to_string(dir.join(req)).unwrap();
        let request = engine.request_from_json(&json, &entities).unwrap();
        // Every scenario is an allow: the path that evaluates the most (all steps of docs/decisions.md).
        let expected = engine.decide(&request);
        assert_eq!(expected.decision, writ::Verdict::Allow, "{name} should allow: {expected:?}");
        g.bench_function(format!("{name}/decide"), |b| b.iter(|| black_box(engine.decide(black_box(&request)))));
        g.bench_function(format!("{name}/json+decide"), |b| {
            b.iter(|| black_box(engine.decide_json(black_box(&json), &entities)))
        });
        g.bench_function(format!("{name}/decode"), |b| {
            b.iter(|| black_box(engine.request_from_json(black_box(&json), &entities).unwrap()))
        });
    }
    g.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
