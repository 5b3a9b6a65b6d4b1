//! Every example under `examples/` that has a `*.test.toml` suite: its policies check
//! without warnings, it has at least six cases, and every case passes — through the library
//! API, the way `writ test examples/NAME` runs them.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, clippy::indexing_slicing)]

use std::path::{Path, PathBuf};
use writ::cli::testrun;

/// The examples the repository promises; each must exist and have a suite.
const EXPECTED: &[&str] = &["anomaly", "ci-secrets", "delegation", "human-approval", "spec", "support-agent"];

const MIN_CASES: usize = 6;

fn examples_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("examples")
}

/// The example directories that hold at least one `*.test.toml`, sorted by name.
fn example_suites() -> Vec<(String, PathBuf, Vec<PathBuf>)> {
    let mut dirs: Vec<PathBuf> = std::fs::read_dir(examples_dir())
        .expect("examples/ is readable")
        .flatten()
        .map(|e| e.path())
        .filter(|p| p.is_dir())
        .collect();
    dirs.sort();
    dirs.into_iter()
        .filter_map(|dir| {
            let files = testrun::find_test_files(std::slice::from_ref(&dir));
            let name = dir.file_name()?.to_string_lossy().into_owned();
            (!files.is_empty()).then_some((name, dir, files))
        })
        .collect()
}

#[test]
fn every_example_suite_passes() {
    let suites = example_suites();
    let names: Vec<&str> = suites.iter().map(|(n, _, _)| n.as_str()).collect();
    for want in EXPECTED {
        assert!(names.contains(want), "examples/{want}/ has no `*.test.toml` suite (found: {names:?})");
    }

    let mut problems = Vec::new();
    let mut total = 0;
    for (name, dir, files) in &suites {
        let policies = match writ::PolicySet::load(dir) {
            Ok(p) => p,
            Err(e) => {
                problems.push(format!("examples/{name}: the policies do not check:\n{}", e.render()));
                continue;
            }
        };
        if !policies.warnings().is_empty() {
            problems.push(format!(
                "examples/{name}: the policies have warnings:\n{}",
                writ::diag::render::render(policies.warnings(), policies.sources(), false)
            ));
        }
        // Both back ends: the expectations are checked on the JIT's decisions and the
        // interpreter must decide every case identically.
        let jit = writ::Engine::compile(&policies).expect("the JIT compiles every example");
        assert_eq!(jit.backend(), writ::Backend::Jit);
        let engines = [jit, writ::Engine::interpreted(&policies)];
        let results = testrun::run(&engines, files);
        total += results.len();
        if results.len() < MIN_CASES {
            problems.push(format!("examples/{name}: {} cases, at least {MIN_CASES} expected", results.len()));
        }
        for r in results.iter().filter(|r| !r.passed) {
            let file = Path::new(&r.file);
            let file = file.strip_prefix(env!("CARGO_MANIFEST_DIR")).unwrap_or(file).display();
            problems.push(format!("FAIL {file}: {}\n      {}", r.name, r.detail));
        }
    }
    assert!(problems.is_empty(), "{} problem(s) in {total} example cases:\n{}", problems.len(), problems.join("\n"));
}
