//! Helpers shared by integration tests (each test binary includes this file with
//! `#[path = "common/mod.rs"] mod common;` and uses what it needs).
#![allow(dead_code)]

use std::path::{Path, PathBuf};

/// The request files of a shipped example: `request.json` and `requests/*.json`, sorted.
pub fn example_requests(dir: &Path) -> Vec<PathBuf> {
    let mut out = Vec::new();
    if dir.join("request.json").exists() {
        out.push(dir.join("request.json"));
    }
    if let Ok(rd) = std::fs::read_dir(dir.join("requests")) {
        for e in rd {
            let p = e.unwrap().path();
            if p.extension().is_some_and(|x| x == "json") {
                out.push(p);
            }
        }
    }
    out.sort();
    out
}

/// The seeded random numbers of every test harness.
pub mod rng;

/// Every ordering of `0..n`.
pub fn permutations(n: usize) -> Vec<Vec<usize>> {
    if n == 0 {
        return vec![Vec::new()];
    }
    let mut out = Vec::new();
    for p in permutations(n - 1) {
        for i in 0..=p.len() {
            let mut q = p.clone();
            q.insert(i, n - 1);
            out.push(q);
        }
    }
    out
}
