//! How the `parse` fuzz target reads its bytes, shared with `tests/robustness.rs`, which
//! replays the target's reproducers exactly as the target ran them.

/// The text (invalid UTF-8 replaced) split at NUL bytes into up to four policy files, so
/// schemas and rules split over files are exercised too.
pub fn policy_files(text: &str) -> Vec<(&'static str, &str)> {
    const NAMES: [&str; 4] = ["a.writ", "b.writ", "c/d.writ", "e.writ"];
    NAMES.iter().copied().zip(text.splitn(NAMES.len(), '\0')).collect()
}
