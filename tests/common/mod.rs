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

/// SplitMix64: tiny, seeded, good enough to spread test inputs.
pub struct Rng(pub u64);

impl Rng {
    pub fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    /// Uniform in `0..n` (0 when `n` is 0).
    pub fn below(&mut self, n: usize) -> usize {
        (self.next() % n.max(1) as u64) as usize
    }

    pub fn pick<'a, T>(&mut self, items: &'a [T]) -> &'a T {
        &items[self.below(items.len())]
    }
}

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
