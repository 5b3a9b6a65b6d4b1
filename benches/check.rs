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

#[path = "gen/mod.rs"]
mod policygen;

use criterion::{BenchmarkId, Criterion, criterion_group, criterion_main};
use std::hint::black_box;
use std::time::Duration;
use writ::diag::Severity;
use writ::sema::{self, NoFiles};
use writ::syntax::SourceMap;

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

criterion_group!(benches, bench);
criterion_main!(benches);
