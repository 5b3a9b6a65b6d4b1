//! Decision equality: every engine (Writ compile and interpreted, Cedar, regorus), prepared
//! and end to end from JSON, gives every case of every scenario the expected decision.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, clippy::indexing_slicing)]

use writ_compare::agree::{Engines, check};
use writ_compare::generate;
use writ_compare::scenario::{KEPT_SIZES, Scenario, scenarios_dir};

fn agree(sc: &Scenario) {
    let mut engines = Engines::new(sc).unwrap_or_else(|e| panic!("{e}"));
    let n = check(sc, &mut engines).unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(n, sc.cases.len() * 8, "{}: every case on every engine and path", sc.name);
}

#[test]
fn agent_tool_call() {
    agree(&Scenario::hand_written("agent-tool-call").unwrap());
}

#[test]
fn ci_secret_read() {
    agree(&Scenario::hand_written("ci-secret-read").unwrap());
}

#[test]
fn generated_10() {
    agree(&generate::scenario(10));
}

#[test]
fn generated_100() {
    agree(&generate::scenario(100));
}

#[test]
fn generated_1000() {
    agree(&generate::scenario(1_000));
}

/// The 10,000-rule set takes a while in a debug build: `cargo test -p writ-compare --release
/// -- --ignored` (the benchmark checks it too, before timing).
#[test]
#[ignore]
fn generated_10000() {
    agree(&generate::scenario(10_000));
}

/// The kept files are what the generator writes (rewrite them with
/// `cargo run -p writ-compare --bin gen`).
#[test]
fn kept_files_match_the_generator() {
    for &n in KEPT_SIZES {
        let sc = generate::scenario(n);
        let dir = scenarios_dir().join(generate::name(n));
        let on_disk =
            Scenario::load(&dir).unwrap_or_else(|e| panic!("{e} (run `cargo run -p writ-compare --bin gen`)"));
        assert!(
            on_disk == sc,
            "{} differs from the generator: run `cargo run -p writ-compare --bin gen`",
            dir.display()
        );
    }
}
