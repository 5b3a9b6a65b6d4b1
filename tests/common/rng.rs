//! SplitMix64 (Steele, Lea, Flood 2014): tiny, seeded, good enough to spread test inputs and
//! generated policies. One copy for every harness — `tests/common`, the differential
//! generator `tests/gen` (also built by `fuzz/`), the benchmark generator `benches/gen` and
//! `benches/compare` — each including this file with `#[path]`; a harness adds what only it
//! needs in an `impl Rng` of its own.

#[derive(Clone, Debug)]
pub struct Rng(pub u64);

impl Rng {
    pub fn next_u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    /// Uniform in `0..n` (0 when `n` is 0).
    pub fn below(&mut self, n: usize) -> usize {
        (self.next_u64() % n.max(1) as u64) as usize
    }

    /// True with the given probability, in percent.
    pub fn chance(&mut self, percent: usize) -> bool {
        self.below(100) < percent
    }

    /// One item; `items` must not be empty.
    #[allow(clippy::indexing_slicing, reason = "test data generation: an empty list is a bug in the harness")]
    pub fn pick<'a, T>(&mut self, items: &'a [T]) -> &'a T {
        &items[self.below(items.len())]
    }

    /// Up to `k` distinct items, in their original order.
    #[allow(clippy::indexing_slicing, reason = "the indices are a permutation of `0..items.len()`")]
    pub fn subset<T: Clone>(&mut self, items: &[T], k: usize) -> Vec<T> {
        let mut idx: Vec<usize> = (0..items.len()).collect();
        for i in 0..idx.len() {
            let j = i + self.below(idx.len() - i);
            idx.swap(i, j);
        }
        idx.truncate(k);
        idx.sort_unstable();
        idx.into_iter().map(|i| items[i].clone()).collect()
    }
}
