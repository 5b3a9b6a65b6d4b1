#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, clippy::indexing_slicing)]
//! The formatter on the 1,000-rule set kept in `benches/data/gen-1000/` (13 files,
//! ≈ 250 KB). Results are recorded in BENCHMARKS.md ("Formatter"); the target is ≤ 20 ms.
//!
//! Run: `cargo bench --bench fmt`.
//!
//! * `format_source`: `writ::unstable::fmt::format_source` on every file (parse, lay out, print).
//! * `format_and_verify`: the same plus `writ::unstable::fmt::verify` (the output parsed again and
//!   compared with the input, comments included), which `writ fmt` runs before it writes.

use criterion::{BenchmarkId, Criterion, Throughput, criterion_group, criterion_main};
use std::hint::black_box;
use std::time::Duration;

/// The allocator of the `writ` binary (crates/writ-cli/src/main.rs): the figures are those
/// of the program users run.
#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

const DATA_DIR: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/benches/data/gen-1000");

fn files() -> Vec<String> {
    let mut paths: Vec<_> = std::fs::read_dir(DATA_DIR).unwrap().map(|e| e.unwrap().path()).collect();
    paths.sort();
    paths
        .iter()
        .filter(|p| p.extension().is_some_and(|x| x == "writ"))
        .map(|p| std::fs::read_to_string(p).unwrap())
        .collect()
}

fn fmt(c: &mut Criterion) {
    let files = files();
    let bytes: usize = files.iter().map(String::len).sum();
    // Every file formats, and formatting is stable: otherwise the numbers mean nothing.
    for text in &files {
        let out = writ::unstable::fmt::format_source(text).unwrap();
        writ::unstable::fmt::verify(text, &out).unwrap();
        assert_eq!(writ::unstable::fmt::format_source(&out).unwrap(), out);
    }
    let mut group = c.benchmark_group("fmt");
    group.throughput(Throughput::Bytes(bytes as u64));
    group.sample_size(50).measurement_time(Duration::from_secs(8));
    group.bench_with_input(BenchmarkId::new("format_source", "1000_rules"), &files, |b, files| {
        b.iter(|| files.iter().map(|t| writ::unstable::fmt::format_source(black_box(t)).unwrap().len()).sum::<usize>())
    });
    group.bench_with_input(BenchmarkId::new("format_and_verify", "1000_rules"), &files, |b, files| {
        b.iter(|| {
            files
                .iter()
                .map(|t| {
                    let out = writ::unstable::fmt::format_source(black_box(t)).unwrap();
                    writ::unstable::fmt::verify(t, &out).unwrap();
                    out.len()
                })
                .sum::<usize>()
        })
    });
    group.finish();
}

criterion_group!(benches, fmt);
criterion_main!(benches);
