//! Writes the generated scenarios under `scenarios/gen-N/`.
//!
//! `cargo run -p writ-compare --bin gen` rewrites the kept sizes (10, 100, 1,000 rules);
//! `-- --all` also writes the 10,000-rule set (not kept in git; the benchmark generates it
//! in memory, byte for byte the same).
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, clippy::indexing_slicing)]

use writ_compare::generate;
use writ_compare::scenario::{GENERATED_SIZES, KEPT_SIZES, scenarios_dir};

fn main() {
    let all = std::env::args().any(|a| a == "--all");
    let sizes = if all { GENERATED_SIZES } else { KEPT_SIZES };
    for &n in sizes {
        let sc = generate::scenario(n);
        let dir = scenarios_dir().join(generate::name(n));
        sc.write(&dir).unwrap_or_else(|e| panic!("{e}"));
        println!("{}: {} rules, {} cases", dir.display(), n, sc.cases.len());
        for note in &sc.notes {
            println!("  {note}");
        }
    }
}
