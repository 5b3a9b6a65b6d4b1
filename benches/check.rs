#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, clippy::indexing_slicing)]
//! Checker benchmark: name resolution, type checking per request shape, the warnings
//! (including the shadowed-permit analysis) and lowering to the typed IR, of the generated
//! 1,000-rule policy set (`benches/gen/mod.rs`, kept on disk under `benches/data/gen-1000/`)
//! against its schema of 50 actions. `sema::check` parses as part of loading, so the timed
//! figure is parse + check; `cargo bench --bench frontend` gives the parse share alone.
//! Results are recorded in BENCHMARKS.md.
//!
//! Run: `cargo bench --bench check`. Other set sizes (to see how the cost grows):
//! `WRIT_CHECK_SIZES=500,2000,5000,20000 cargo bench --bench check`.
//!
//! The group `check_limits` times two hostile shapes that used to take quadratic time:
//! rendering 8,000 diagnostics for a terminal (and, for comparison, as JSON), and checking a
//! rule whose condition is one `and` of 100,000 terms (rejected at the chain limit, E0218):
//! `cargo bench --bench check -- --measurement-time 3 check_limits`.

#[path = "gen/mod.rs"]
mod policygen;

use criterion::{BenchmarkId, Criterion, criterion_group, criterion_main};
use std::hint::black_box;
use std::time::Duration;
use writ::diag::Severity;
use writ::unstable::sema::{self, NoFiles};
use writ::unstable::syntax::SourceMap;

fn check_all(files: &[(String, String)]) -> sema::Checked {
    let mut sources = SourceMap::new();
    let ids: Vec<_> = files.iter().map(|(n, t)| sources.add(n.clone(), t.clone())).collect();
    sema::check(&mut sources, &ids, &mut NoFiles)
}

fn bench(c: &mut Criterion) {
    let mut g = c.benchmark_group("check");
    // The default sizes, or a comma-separated list in WRIT_CHECK_SIZES.
    let sizes: Vec<usize> = match std::env::var("WRIT_CHECK_SIZES") {
        Ok(list) => list.split(',').map(|n| n.trim().parse().expect("WRIT_CHECK_SIZES: numbers")).collect(),
        Err(_) => vec![1_000, 10_000],
    };
    for n in sizes {
        let files = policygen::policy_set(n);
        // The set must check clean: timing a run that stops at the first errors would flatter us.
        let checked = check_all(&files);
        let errors: Vec<_> =
            checked.diagnostics.iter().filter(|d| d.severity == Severity::Error).map(|d| d.message.clone()).collect();
        assert!(errors.is_empty(), "the generated {n}-rule set does not check: {errors:#?}");
        let policy = checked.policy.expect("a set without errors lowers to IR");
        assert_eq!(policy.rules.len(), n, "every rule lowers");
        eprintln!("check/{n}_rules: {} warnings", checked.diagnostics.len());

        if n >= 10_000 {
            g.sample_size(10).measurement_time(Duration::from_secs(20));
        } else {
            g.sample_size(30).measurement_time(Duration::from_secs(10));
        }
        g.bench_with_input(BenchmarkId::new("parse_check_lower", format!("{n}_rules")), &files, |b, files| {
            b.iter(|| black_box(check_all(black_box(files))))
        });
    }
    g.finish();
}

/// The running example's (`examples/spec`) schema and `rules` as one file.
fn with_schema(rules: String) -> Vec<(String, String)> {
    vec![("limits.writ".to_string(), format!("{}\n{rules}", include_str!("../examples/spec/schema.writ")))]
}

fn bench_limits(c: &mut Criterion) {
    let mut g = c.benchmark_group("check_limits");
    g.sample_size(10);

    // 8,000 rules, each reading an attribute that does not exist: 8,000 errors, one a line.
    let files = with_schema(
        (0..8_000).map(|i| format!("permit Agent to call_tool on Tool when resource.nope{i} == 1;\n")).collect(),
    );
    let mut sources = SourceMap::new();
    let ids: Vec<_> = files.iter().map(|(n, t)| sources.add(n.clone(), t.clone())).collect();
    let checked = sema::check(&mut sources, &ids, &mut NoFiles);
    assert_eq!(checked.diagnostics.len(), 8_000, "one error per rule");
    let diags = checked.diagnostics;
    g.bench_function("render_8000_errors_human", |b| {
        b.iter(|| black_box(writ::diag::render::render(black_box(&diags), &sources, false)))
    });
    g.bench_function("render_8000_errors_json", |b| {
        b.iter(|| black_box(writ::diag::json::render(black_box(&diags), &sources)))
    });

    // One rule, one `when`, an `and` of 100,000 comparisons.
    let terms: Vec<String> = (0..100_000).map(|i| format!("context.risk != {i}")).collect();
    let files = with_schema(format!("permit Agent to call_tool on Tool when {};\n", terms.join(" and ")));
    let checked = check_all(&files);
    assert!(checked.policy.is_none(), "the chain is past the limit");
    eprintln!(
        "check_limits/check_100000_conjunct_and: {:?}",
        checked.diagnostics.iter().map(|d| d.code.as_str()).collect::<Vec<_>>()
    );
    g.bench_function("check_100000_conjunct_and", |b| b.iter(|| black_box(check_all(black_box(&files)))));
    g.finish();
}

criterion_group!(benches, bench, bench_limits);
criterion_main!(benches);
