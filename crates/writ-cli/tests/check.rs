//! `writ check` through the real binary.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, clippy::indexing_slicing)]

mod common;

/// The acceptance test of the front end, through the real binary: `writ check` on a file
/// with three broken rules and one good rule prints three errors, in both formats, and
/// exits 1; a clean file exits 0.
#[test]
fn check_binary_reports_three_broken_rules_and_exits_1() {
    let writ = |args: &[&str]| {
        std::process::Command::new(env!("CARGO_BIN_EXE_writ"))
            .args(args)
            .current_dir(common::repo_root())
            .output()
            .expect("cannot run the writ binary")
    };
    let broken = "tests/ui/syntax/three_broken_rules.writ";

    let human = writ(&["check", broken]);
    // The report is diagnostics: standard error; nothing on standard output.
    let stderr = String::from_utf8_lossy(&human.stderr);
    assert_eq!(human.status.code(), Some(1), "human output:\n{stderr}");
    assert!(human.stdout.is_empty());
    assert_eq!(stderr.matches("] Error: ").count(), 3, "human output:\n{stderr}");
    assert!(stderr.ends_with("checked 1 file: 3 errors, 0 warnings\n"), "human output:\n{stderr}");

    let json = writ(&["check", "--format", "json", broken]);
    assert_eq!(json.status.code(), Some(1));
    let value: serde_json::Value = serde_json::from_slice(&json.stdout).expect("`--format json` prints JSON");
    let items = value.as_array().expect("a JSON array of diagnostics");
    let codes: Vec<&str> = items.iter().filter_map(|d| d["code"].as_str()).collect();
    assert_eq!(codes, ["P0001", "P0001", "P0002"]);
    let lines: Vec<u64> = items.iter().filter_map(|d| d["range"]["start"]["line"].as_u64()).collect();
    // Zero-based lines of the three broken rules. The unexpected end of file is reported
    // at the very end of the text, past the final newline (line 52), while the human report
    // shows it at the end of line 51, the last line of the rule that lacks its `;`.
    assert!(matches!(lines.as_slice(), [38, 47, 51 | 52]), "lines {lines:?}");
    assert!(items.iter().all(|d| d["file"] == broken && d["severity"] == "error"));

    let clean = writ(&["check", "tests/ui/syntax/ok_full_pipeline.writ"]);
    assert_eq!(clean.status.code(), Some(0), "{}", String::from_utf8_lossy(&clean.stderr));
}
