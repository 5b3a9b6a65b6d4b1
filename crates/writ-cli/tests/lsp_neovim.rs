//! `writ lsp` in a real editor: Neovim, headless, opens an example with the server attached
//! (`lsp_neovim.lua`), edits the buffer, and reads back the diagnostics, a hover and a
//! completion list. Neovim is Debian's `neovim` package (`scripts/install-neovim.sh`). Without
//! `nvim` the test says so and passes, except under CI (`CI` set), where it fails.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, clippy::indexing_slicing)]

mod lsp_client;

use std::path::PathBuf;
use std::process::Command;

#[test]
fn neovim_shows_diagnostics_hover_and_completion_from_writ_lsp() {
    if Command::new("nvim").arg("--version").output().is_err() {
        assert!(std::env::var_os("CI").is_none(), "nvim is missing: run scripts/install-neovim.sh");
        eprintln!("skipped: nvim is not installed (scripts/install-neovim.sh installs it)");
        return;
    }
    let repo = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../..");
    let files: Vec<(String, String)> = ["schema.writ", "agents.writ", "humans.writ"]
        .iter()
        .map(|f| (f.to_string(), std::fs::read_to_string(repo.join("examples/spec").join(f)).unwrap()))
        .collect();
    let refs: Vec<(&str, &str)> = files.iter().map(|(a, b)| (a.as_str(), b.as_str())).collect();
    let dir = lsp_client::workspace("neovim", &refs);
    let out = dir.join("result.json");
    let status = Command::new("nvim")
        .args(["--headless", "--clean", "-n", "-u", "NONE", "-i", "NONE", "-c"])
        .arg(format!("luafile {}", PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/lsp_neovim.lua").display()))
        .env("WRIT_ROOT", &dir)
        .env("WRIT_FILE", dir.join("agents.writ"))
        .env("WRIT_OUT", &out)
        .env("WRIT_BIN", env!("CARGO_BIN_EXE_writ"))
        .env("XDG_STATE_HOME", dir.join("state"))
        .env("XDG_DATA_HOME", dir.join("data"))
        .stdin(std::process::Stdio::null())
        .status()
        .expect("cannot run nvim");
    assert!(status.success(), "nvim: {status}");
    let text = std::fs::read_to_string(&out).expect("the Lua script writes its result");
    let v: serde_json::Value = serde_json::from_str(&text).unwrap();
    assert_eq!(v["errors"], serde_json::json!([]), "{v}");
    let diags = v["diagnostics"].as_array().unwrap();
    assert!(!diags.is_empty(), "{v}");
    let d = diags.iter().find(|d| d["code"] == "E0002").unwrap_or_else(|| panic!("{v}"));
    assert!(d["message"].as_str().unwrap().contains("has no attribute `sensitivty`"), "{v}");
    assert_eq!(d["lnum"], 5, "{v}");
    let hover = v["hover"].as_str().unwrap_or_else(|| panic!("no hover: {v}"));
    assert!(hover.contains("context.risk: Int"), "{v}");
    let labels: Vec<&str> = v["completion"].as_array().unwrap().iter().map(|l| l.as_str().unwrap()).collect();
    assert_eq!(labels, vec!["destructive", "sensitivity"], "{v}");
}
