//! Shared by the CLI's integration tests.
#![allow(dead_code)]

use std::path::PathBuf;

/// The repository root: the examples, `tests/ui` and `docs/` live there.
pub fn repo_root() -> PathBuf {
    let crate_dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR"));
    crate_dir.parent().and_then(|p| p.parent()).map_or_else(|| crate_dir.to_path_buf(), std::path::Path::to_path_buf)
}
