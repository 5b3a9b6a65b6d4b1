//! `writ bench` through the built binary: both back ends measured, the JSON report's shape,
//! and bad input (missing or undecodable files, broken policies) refused with the file named.
//! Runs with `--iterations` small, so each test takes well under a second.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, clippy::indexing_slicing)]

mod common;

use std::process::Output;

const EXAMPLE: &str = "examples/spec";
const REQUEST: &str = "examples/spec/request.json";
const ENTITIES: &str = "examples/spec/entities.json";

fn writ(args: &[&str]) -> Output {
    std::process::Command::new(env!("CARGO_BIN_EXE_writ"))
        .args(args)
        .current_dir(common::repo_root())
        .output()
        .expect("cannot run the writ binary")
}

/// Stdout and stderr together (errors are reported on stdout, clap's on stderr).
fn text(o: &Output) -> String {
    format!("{}{}", String::from_utf8_lossy(&o.stdout), String::from_utf8_lossy(&o.stderr))
}

fn bench(extra: &[&str]) -> Output {
    let mut args = vec!["bench", EXAMPLE, "--request", REQUEST, "--entities", ENTITIES, "--iterations", "20"];
    args.extend_from_slice(extra);
    writ(&args)
}

#[test]
fn the_table_shows_both_back_ends_their_verdicts_and_times() {
    let o = bench(&[]);
    let out = text(&o);
    assert!(o.status.success(), "{out}");
    for want in ["jit", "interp", "compile", "decode", "decide", "JSON → decision", "median of 5 batches of N"] {
        assert!(out.contains(want), "no `{want}` in:\n{out}");
    }
    let decision = out.lines().find(|l| l.starts_with("decision")).expect("a decision row");
    assert_eq!(decision.split_whitespace().collect::<Vec<_>>(), ["decision", "allow", "allow"], "{out}");
    assert!(out.contains("the back ends agree: jit allow, interp allow"), "{out}");
    // Every timing row has a number with a unit in each column.
    for step in ["compile", "decode", "decide", "JSON → decision"] {
        let row = out.lines().find(|l| l.starts_with(step)).unwrap_or_else(|| panic!("no `{step}` row:\n{out}"));
        let units = row.matches(" ns").count() + row.matches(" µs").count() + row.matches(" ms").count();
        assert_eq!(units, 2, "row `{row}`");
        assert!(row.chars().any(|c| c.is_ascii_digit()), "row `{row}`");
    }
    // `--iterations 20`: every per-request step ran batches of exactly 20.
    let n_decide = out.lines().find(|l| l.starts_with("N decide")).expect("an N row");
    assert_eq!(n_decide.split_whitespace().collect::<Vec<_>>(), ["N", "decide", "20", "20"], "{out}");
}

#[test]
fn the_json_report_has_every_field() {
    let o = bench(&["--format", "json"]);
    assert!(o.status.success(), "{}", text(&o));
    let v: serde_json::Value = serde_json::from_slice(&o.stdout).expect("bench --format json prints JSON");
    assert_eq!(v["policies"], serde_json::json!([EXAMPLE]));
    assert_eq!(v["request"], REQUEST);
    assert_eq!(v["entities"], ENTITIES);
    assert_eq!(v["budget"], serde_json::json!({"iterations": 20}));
    assert_eq!(v["agree"], true);
    assert_eq!(v["decision"]["decision"], "allow");
    assert_eq!(v["decision"]["reasons"][0]["rule"], "agent-tools");
    assert!(v["rules"].as_u64().unwrap() > 0 && v["files"].as_u64().unwrap() > 0);
    assert!(v["load_check_ns"].as_f64().unwrap() > 0.0);

    let backends = v["backends"].as_array().expect("a list of back ends");
    let engines: Vec<&str> = backends.iter().map(|b| b["engine"].as_str().unwrap()).collect();
    assert_eq!(engines, ["jit", "interp"]);
    for b in backends {
        assert_eq!(b["decision"], "allow");
        assert!(b["native"].is_boolean() && b["backend"].is_string(), "{b}");
        for step in ["compile", "decode", "decide", "decide_json"] {
            let s = &b[step];
            let (min, median, max) =
                (s["min_ns"].as_f64().unwrap(), s["median_ns"].as_f64().unwrap(), s["max_ns"].as_f64().unwrap());
            assert!(0.0 < min && min <= median && median <= max, "{step}: {s}");
            assert_eq!(s["batches"], 5, "{step}: {s}");
            let n = s["iterations"].as_u64().unwrap();
            assert!((1..=20).contains(&n), "{step}: {s}");
            if step != "compile" {
                assert_eq!(n, 20, "{step}: {s}");
            }
        }
    }
    assert_eq!(backends[1]["backend"], "interpreter");
}

#[test]
fn a_short_time_budget_works_without_iterations() {
    let o =
        writ(&["bench", EXAMPLE, "--request", REQUEST, "--entities", ENTITIES, "--time", "0.01", "--format", "json"]);
    assert!(o.status.success(), "{}", text(&o));
    let v: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    assert_eq!(v["budget"], serde_json::json!({"seconds": 0.01}));
    assert!(v["backends"][0]["decide"]["iterations"].as_u64().unwrap() >= 1);
}

#[test]
fn a_missing_request_file_is_named() {
    let o = writ(&["bench", EXAMPLE, "--request", "examples/spec/no-such-request.json", "--iterations", "1"]);
    assert!(!o.status.success());
    let out = text(&o);
    assert!(out.contains("cannot read `examples/spec/no-such-request.json`"), "{out}");
    assert!(!out.contains("panicked"), "{out}");
}

#[test]
fn a_missing_entities_file_is_named() {
    let o = writ(&["bench", EXAMPLE, "--request", REQUEST, "--entities", "nope/entities.json", "--iterations", "1"]);
    assert!(!o.status.success());
    assert!(text(&o).contains("cannot read `nope/entities.json`"), "{}", text(&o));
}

#[test]
fn a_malformed_request_is_refused_with_its_file_and_json_path() {
    let bad = "examples/spec/requests/bad_risk.json";
    let o = writ(&["bench", EXAMPLE, "--request", bad, "--entities", ENTITIES, "--iterations", "1"]);
    assert_eq!(o.status.code(), Some(2), "bad input: {}", text(&o));
    let out = text(&o);
    assert!(out.contains(&format!("cannot decode the request in `{bad}`")), "{out}");
    assert!(out.contains("context.risk: expected Int"), "{out}");
}

#[test]
fn a_request_that_is_not_json_is_refused() {
    let dir = std::env::temp_dir().join(format!("writ-cli-bench-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let file = dir.join("garbage.json");
    std::fs::write(&file, "{ not json").unwrap();
    let path = file.to_str().unwrap();
    let o = writ(&["bench", EXAMPLE, "--request", path, "--entities", ENTITIES, "--iterations", "1"]);
    let _ = std::fs::remove_dir_all(&dir);
    assert_eq!(o.status.code(), Some(2), "{}", text(&o));
    assert!(text(&o).contains(&format!("cannot decode the request in `{path}`")), "{}", text(&o));
}

#[test]
fn policies_that_do_not_check_are_rendered_and_refused() {
    let broken = "tests/ui/syntax/three_broken_rules.writ";
    let o = writ(&["bench", broken, "--request", REQUEST, "--iterations", "1"]);
    assert_eq!(o.status.code(), Some(1), "{}", text(&o));
    let out = text(&o);
    assert!(out.contains(broken) && out.contains("the policies do not check"), "{out}");
}

#[test]
fn iterations_and_time_are_exclusive() {
    let o = writ(&["bench", EXAMPLE, "--request", REQUEST, "--iterations", "3", "--time", "1"]);
    assert_eq!(o.status.code(), Some(2), "{}", text(&o));
    let o = writ(&["bench", EXAMPLE, "--request", REQUEST, "--time", "0"]);
    assert_eq!(o.status.code(), Some(2), "{}", text(&o));
    assert!(text(&o).contains("--time must be a positive number"), "{}", text(&o));
}
