#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, clippy::indexing_slicing)]
//! Front-end benchmarks: lexing, and lexing + parsing, of generated realistic policy sets
//! (`benches/gen/mod.rs`) of 1,000 and 10,000 rules. Results are recorded in BENCHMARKS.md.
//!
//! Run: `cargo bench --bench frontend`.
//!
//! The 1,000-rule set is also kept on disk under `benches/data/gen-1000/` so it can be
//! inspected or fed to `writ check`; the benchmark asserts that it still matches the
//! generator. After changing the generator, rewrite it with
//! `WRIT_BENCH_REGEN=1 cargo bench --bench frontend -- --test`.

#[path = "gen/mod.rs"]
mod policygen;

use criterion::{BenchmarkId, Criterion, Throughput, criterion_group, criterion_main};
use std::hint::black_box;
use std::path::Path;
use std::time::Duration;
use writ::unstable::syntax::{FileId, Parsed, SourceMap, lexer, parse_file};

type Files = Vec<(String, String)>;

/// The generated 1,000-rule set kept on disk.
const DATA_DIR: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/benches/data/gen-1000");

/// Parses every file once and stops the benchmark if anything produced a diagnostic: a
/// broken generator would otherwise make us time error recovery.
fn assert_clean(files: &Files) {
    let mut sources = SourceMap::new();
    let mut problems = Vec::new();
    for (name, text) in files {
        let id = sources.add(name.clone(), text.clone());
        for d in parse_file(id, text).diagnostics {
            let snippet = sources.snippet(d.primary.span);
            let line = sources.get(id).map(|f| f.line_col(d.primary.span.start).line + 1).unwrap_or(0);
            problems.push(format!("{name}:{line}: {} ({}) at `{snippet}`", d.message, d.code.as_str()));
        }
    }
    assert!(problems.is_empty(), "the generated policy set does not parse cleanly:\n{}", problems.join("\n"));
}

/// Keeps `benches/data/gen-1000/` equal to the generator's output.
fn sync_data(files: &Files) {
    let dir = Path::new(DATA_DIR);
    if std::env::var_os("WRIT_BENCH_REGEN").is_some() {
        if dir.exists() {
            std::fs::remove_dir_all(dir).unwrap();
        }
        std::fs::create_dir_all(dir).unwrap();
        for (name, text) in files {
            std::fs::write(dir.join(name), text).unwrap();
        }
        eprintln!("wrote {} files to {DATA_DIR}", files.len());
        return;
    }
    let mut on_disk: Vec<String> = match std::fs::read_dir(dir) {
        Ok(entries) => entries.map(|e| e.unwrap().file_name().to_string_lossy().into_owned()).collect(),
        Err(_) => return, // no snapshot kept: nothing to compare
    };
    on_disk.sort();
    let mut expected: Vec<String> = files.iter().map(|(n, _)| n.clone()).collect();
    expected.sort();
    let stale = on_disk != expected
        || files.iter().any(|(name, text)| std::fs::read_to_string(dir.join(name)).ok().as_deref() != Some(text));
    assert!(!stale, "{DATA_DIR} is out of date with benches/gen/mod.rs; rerun with WRIT_BENCH_REGEN=1");
}

fn lex_all(files: &Files) -> usize {
    let mut tokens = 0;
    for (i, (_, text)) in files.iter().enumerate() {
        let lexed = lexer::lex(FileId(i as u32), black_box(text));
        tokens += lexed.tokens.len();
    }
    tokens
}

fn parse_all(files: &Files) -> Vec<Parsed> {
    files.iter().enumerate().map(|(i, (_, text))| parse_file(FileId(i as u32), black_box(text))).collect()
}

fn frontend(c: &mut Criterion) {
    let mut group = c.benchmark_group("frontend");
    for n in [1_000usize, 10_000] {
        let files = policygen::policy_set(n);
        assert_clean(&files);
        if n == 1_000 {
            sync_data(&files);
        }
        let bytes: usize = files.iter().map(|(_, t)| t.len()).sum();
        let rules: usize = parse_all(&files)
            .iter()
            .map(|p| p.file.items.iter().filter(|i| matches!(i, writ::unstable::syntax::ast::Item::Rule(_))).count())
            .sum();
        assert_eq!(rules, n, "every generated rule should parse as a rule");
        eprintln!("frontend/{n}_rules: {} files, {bytes} bytes, {} tokens", files.len(), lex_all(&files));

        group.throughput(Throughput::Bytes(bytes as u64));
        if n >= 10_000 {
            group.sample_size(20).measurement_time(Duration::from_secs(10));
        } else {
            group.sample_size(100).measurement_time(Duration::from_secs(5));
        }
        let size = format!("{n}_rules");
        group.bench_with_input(BenchmarkId::new("lex", &size), &files, |b, files| b.iter(|| lex_all(files)));
        // Includes building and freeing the trees (what a `writ check` run pays).
        group.bench_with_input(BenchmarkId::new("lex_parse", &size), &files, |b, files| b.iter(|| parse_all(files)));
        // The same, with the trees freed outside the timed loop.
        group.bench_with_input(BenchmarkId::new("lex_parse_nodrop", &size), &files, |b, files| {
            b.iter_with_large_drop(|| parse_all(files))
        });
    }
    group.finish();
}

criterion_group!(benches, frontend);
criterion_main!(benches);
