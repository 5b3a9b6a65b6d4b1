//! `writ lsp` in a real editor: Neovim, headless, opens `examples/` with the server attached
//! (`lsp_neovim.lua`), edits the buffer, and reads back the diagnostics, a hover, a
//! completion list, where go to definition took it, and a buffer formatted by the server.
//! Neovim is Debian's `neovim` package (`scripts/install-neovim.sh`). Without `nvim` the test
//! says so and passes, except under CI (`CI` set), where it fails.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, clippy::indexing_slicing)]

mod lsp_client;

use std::path::PathBuf;
use std::process::Command;

#[test]
fn neovim_shows_diagnostics_hover_completion_definition_and_formatting_from_writ_lsp() {
    if Command::new("nvim").arg("--version").output().is_err() {
        assert!(std::env::var_os("CI").is_none(), "nvim is missing: run scripts/install-neovim.sh");
        eprintln!("skipped: nvim is not installed (scripts/install-neovim.sh installs it)");
        return;
    }
    // The repository's `examples/` is the workspace folder, as a user would open it (every
    // example a policy set of its own); the buffer is edited, never written.
    let examples = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../examples").canonicalize().unwrap();
    let spec = examples.join("spec");
    let files: Vec<(String, String)> = ["schema.writ", "agents.writ", "humans.writ"]
        .iter()
        .map(|f| (f.to_string(), std::fs::read_to_string(spec.join(f)).unwrap()))
        .collect();
    // Where Neovim writes its state and the script its result.
    let dir = lsp_client::workspace("neovim", &[]);
    let out = dir.join("result.json");
    // A badly laid out copy of an example (every indentation gone, spaces doubled), outside
    // the workspace folder; and what `writ fmt` makes of it.
    let messy: String = files[2]
        .1
        .lines()
        .map(|l| {
            let l = l.trim_start();
            if l.starts_with("//") { l.to_string() } else { l.replace(" to ", "  to  ").replace(" on ", "   on ") }
        })
        .collect::<Vec<_>>()
        .join("\n")
        + "\n";
    let messy_dir = lsp_client::workspace("neovim-fmt", &[("humans.writ", &messy)]);
    let mut fmt = Command::new(env!("CARGO_BIN_EXE_writ"))
        .args(["fmt", "-"])
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    std::io::Write::write_all(fmt.stdin.as_mut().unwrap(), messy.as_bytes()).unwrap();
    let fmt = fmt.wait_with_output().unwrap();
    assert!(fmt.status.success());
    let want = String::from_utf8(fmt.stdout).unwrap();
    assert_ne!(want, messy, "the copy is badly laid out");
    let status = Command::new("nvim")
        .args(["--headless", "--clean", "-n", "-u", "NONE", "-i", "NONE", "-c"])
        .arg(format!("luafile {}", PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/lsp_neovim.lua").display()))
        .env("WRIT_ROOT", &examples)
        .env("WRIT_FILE", spec.join("agents.writ"))
        .env("WRIT_OUT", &out)
        .env("WRIT_MESSY", messy_dir.join("humans.writ"))
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
    // Go to definition went to `risk` in the schema's context.
    let schema = &files[0].1;
    let at = schema.find("risk:").unwrap();
    let line = schema[..at].matches('\n').count();
    let col = at - schema[..at].rfind('\n').map_or(0, |i| i + 1);
    let def = &v["definition"];
    assert_eq!(def["file"], spec.join("schema.writ").to_str().unwrap(), "{v}");
    assert_eq!((def["line"].as_u64(), def["col"].as_u64()), (Some(line as u64), Some(col as u64)), "{v}");
    // The formatted buffer is exactly what `writ fmt` writes.
    assert_eq!(v["formatted"].as_str(), Some(want.as_str()), "{v}");
}
