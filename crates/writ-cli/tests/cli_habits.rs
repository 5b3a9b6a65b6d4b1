//! The command line as OPA and Cedar users expect it (issue 15): results on standard output,
//! diagnostics and errors on standard error, documented exit codes, `-` for standard input,
//! `--fail-on-deny`, `--color`/`NO_COLOR`; and `writ test` that cannot lie.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, clippy::indexing_slicing)]

mod common;

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};

fn writ(args: &[&str]) -> Output {
    writ_with(args, None, &[])
}

fn writ_with(args: &[&str], stdin: Option<&str>, env: &[(&str, &str)]) -> Output {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_writ"));
    cmd.args(args).current_dir(common::repo_root()).env_remove("NO_COLOR");
    for (k, v) in env {
        cmd.env(k, v);
    }
    cmd.stdin(if stdin.is_some() { Stdio::piped() } else { Stdio::null() });
    cmd.stdout(Stdio::piped()).stderr(Stdio::piped());
    let mut child = cmd.spawn().expect("cannot run the writ binary");
    if let Some(text) = stdin {
        child.stdin.take().unwrap().write_all(text.as_bytes()).unwrap();
    }
    child.wait_with_output().unwrap()
}

fn text(b: &[u8]) -> String {
    String::from_utf8_lossy(b).into_owned()
}

const EX: &str = "examples/spec";
const ENTITIES: &str = "examples/spec/entities.json";

fn eval(request: &str, extra: &[&str]) -> Output {
    let mut args = vec!["eval", EX, "--request", request, "--entities", ENTITIES];
    args.extend_from_slice(extra);
    writ(&args)
}

#[test]
fn eval_prints_the_decision_on_stdout_and_exits_0() {
    let o = eval("examples/spec/request.json", &[]);
    assert_eq!(o.status.code(), Some(0));
    let d: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    assert_eq!(d["decision"], "allow");
    assert!(o.stderr.is_empty(), "{}", text(&o.stderr));
}

#[test]
fn fail_on_deny_gives_3_for_deny_and_4_for_escalate() {
    let code = |req: &str| eval(req, &["--fail-on-deny"]).status.code();
    assert_eq!(code("examples/spec/request.json"), Some(0));
    assert_eq!(code("examples/spec/requests/high_risk.json"), Some(3));
    assert_eq!(code("examples/spec/requests/destructive.json"), Some(4));
    // A request that cannot be decoded is a deny too.
    assert_eq!(code("examples/spec/requests/bad_risk.json"), Some(3));
    // Without the flag, every decision exits 0.
    assert_eq!(eval("examples/spec/requests/destructive.json", &[]).status.code(), Some(0));
}

#[test]
fn a_dash_reads_the_request_from_stdin() {
    let json = std::fs::read_to_string(common::repo_root().join("examples/spec/request.json")).unwrap();
    let o = writ_with(&["eval", EX, "--request", "-", "--entities", ENTITIES], Some(&json), &[]);
    assert_eq!(o.status.code(), Some(0), "{}", text(&o.stderr));
    let d: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    assert_eq!(d["decision"], "allow");
}

#[test]
fn unreadable_or_malformed_input_exits_2_on_stderr() {
    let missing = eval("examples/spec/no-such.json", &[]);
    assert_eq!(missing.status.code(), Some(2));
    assert!(missing.stdout.is_empty());
    assert!(text(&missing.stderr).contains("cannot read `examples/spec/no-such.json`"), "{}", text(&missing.stderr));

    let dir = scratch("bad-entities");
    let bad = dir.join("entities.json");
    std::fs::write(&bad, r#"[{"type": "Human", "id": "bob", "attrs": {"clearance": "top"}}]"#).unwrap();
    let o = writ(&["eval", EX, "--request", "examples/spec/request.json", "--entities", bad.to_str().unwrap()]);
    assert_eq!(o.status.code(), Some(2), "malformed entities are an input error, not a deny");
    assert!(o.stdout.is_empty());
    let err = text(&o.stderr);
    assert!(err.contains("bad entities: [0].attrs.clearance"), "{err}");

    let explain = writ(&["explain", "Q9999"]);
    assert_eq!(explain.status.code(), Some(2));
    assert!(text(&explain.stderr).contains("unknown diagnostic code"));
    let usage = writ(&["eval", "--no-such-flag"]);
    assert_eq!(usage.status.code(), Some(2));
}

#[test]
fn broken_policies_exit_1_with_diagnostics_on_stderr() {
    let o = writ(&["eval", "tests/ui/syntax/three_broken_rules.writ", "--request", "examples/spec/request.json"]);
    assert_eq!(o.status.code(), Some(1));
    assert!(o.stdout.is_empty());
    assert!(text(&o.stderr).contains("the policies do not check"));
    let check = writ(&["check", "no/such/dir"]);
    assert_eq!(check.status.code(), Some(2), "an unreadable path is an input error");
}

#[test]
fn color_follows_the_flag_and_no_color() {
    let broken = "tests/ui/syntax/three_broken_rules.writ";
    let always = writ(&["check", "--color", "always", broken]);
    assert!(text(&always.stderr).contains("\u{1b}["), "--color always colours");
    let never = writ(&["check", "--color", "never", broken]);
    assert!(!text(&never.stderr).contains("\u{1b}["));
    // `auto` colours only a terminal, and never with NO_COLOR set.
    let auto = writ_with(&["check", broken], None, &[("NO_COLOR", "1")]);
    assert!(!text(&auto.stderr).contains("\u{1b}["));
    assert!(!writ_cli::ColorChoice::Auto.resolve(false));
    assert!(writ_cli::ColorChoice::Always.resolve(false));
}

fn scratch(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("writ-cli-{name}-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

/// A policy directory with the spec example's policies and entities and one test file.
fn suite(name: &str, test_file: &str) -> PathBuf {
    let dir = scratch(name);
    for f in std::fs::read_dir(common::repo_root().join(EX)).unwrap().flatten() {
        let p = f.path();
        if p.extension().is_some_and(|x| x == "writ") || p.file_name().is_some_and(|n| n == "entities.json") {
            std::fs::copy(&p, dir.join(p.file_name().unwrap())).unwrap();
        }
    }
    std::fs::create_dir_all(dir.join("requests")).unwrap();
    for r in ["request.json", "requests/destructive.json", "requests/bad_risk.json", "requests/high_risk.json"] {
        std::fs::copy(common::repo_root().join(EX).join(r), dir.join(r)).unwrap();
    }
    std::fs::write(dir.join("t.test.toml"), test_file).unwrap();
    dir
}

fn test_run(dir: &Path, extra: &[&str]) -> Output {
    let mut args = vec!["test", dir.to_str().unwrap()];
    args.extend_from_slice(extra);
    writ(&args)
}

#[test]
fn test_files_are_read_strictly() {
    let cases = [
        (
            "unknown-key",
            "entities = \"entities.json\"\n[[case]]\nname = \"a\"\nrequest = \"request.json\"\nexpct = \"allow\"\n",
            "unknown field `expct`",
        ),
        (
            "wrong-type",
            "entities = \"entities.json\"\n[[case]]\nname = \"a\"\nrequest = \"request.json\"\nexpect = \"allow\"\nreasons = \"agent-tools\"\n",
            "reasons",
        ),
        (
            "bad-verdict",
            "entities = \"entities.json\"\n[[case]]\nname = \"a\"\nrequest = \"request.json\"\nexpect = \"permit\"\n",
            "unknown variant `permit`",
        ),
        (
            "duplicate-name",
            "entities = \"entities.json\"\n[[case]]\nname = \"a\"\nrequest = \"request.json\"\nexpect = \"allow\"\n[[case]]\nname = \"a\"\nrequest = \"request.json\"\nexpect = \"allow\"\n",
            "two cases are named \"a\"",
        ),
        (
            "top-level-typo",
            "entitis = \"entities.json\"\n[[case]]\nname = \"a\"\nrequest = \"request.json\"\nexpect = \"allow\"\n",
            "unknown field `entitis`",
        ),
    ];
    for (name, file, want) in cases {
        let dir = suite(name, file);
        let o = test_run(&dir, &[]);
        let out = text(&o.stdout);
        assert_eq!(o.status.code(), Some(1), "{name}: {out}");
        assert!(out.contains("not a valid test file") || out.contains("two cases"), "{name}: {out}");
        assert!(out.contains(want), "{name}: expected {want:?} in\n{out}");
        if name != "duplicate-name" {
            assert!(out.contains("line "), "{name}: the error names its line\n{out}");
        }
    }
}

const GOOD: &str = r#"
entities = "entities.json"

[[case]]
name = "comment allowed, with a hop"
request = "request.json"
expect = "allow"
reasons = ["agent-tools", "humans-within-clearance"]
hops = [{ hop = 1, reasons = ["humans-within-clearance"] }]
obligations = { ttl = "15m" }
errors = false

[[case]]
name = "destructive escalates, explained"
request = "requests/destructive.json"
expect = "escalate"
explain = { escalations = ["destructive-needs-human"] }

[[case]]
name = "bad data names its path"
request = "requests/bad_risk.json"
expect = "deny"
errors = ["context.risk"]

[[case]]
name = "inline with a TOML datetime"
expect = "deny"
reasons = ["risk-ceiling"]
[case.request]
principal = { type = "Agent", id = "support-bot" }
action = "call_tool"
resource = { type = "Tool", id = "jira.comment" }
intent = "triage_ticket"
context = { now = 2026-11-23T10:15:00Z, risk = 90, source_ip = "10.1.2.3", args = {} }
on_behalf_of = [{ type = "Human", id = "alice" }]
"#;

#[test]
fn assertions_on_hops_errors_explain_and_toml_datetimes() {
    let dir = suite("good", GOOD);
    let o = test_run(&dir, &[]);
    assert_eq!(o.status.code(), Some(0), "{}", text(&o.stdout));
    assert!(text(&o.stdout).ends_with("4 passed, 0 failed\n"), "{}", text(&o.stdout));
    // The assertions can fail: a wrong hop, a wrong error text, a wrong explanation.
    for (from, to) in [
        ("hop = 1, reasons = [\"humans-within-clearance\"]", "hop = 1, reasons = [\"agent-tools\"]"),
        ("errors = [\"context.risk\"]", "errors = [\"context.nope\"]"),
        ("escalations = [\"destructive-needs-human\"]", "escalations = [\"other\"]"),
        ("hop = 1,", "hop = 2,"),
    ] {
        let dir = suite("bad-assert", &GOOD.replace(from, to));
        let o = test_run(&dir, &[]);
        assert_eq!(o.status.code(), Some(1), "{to}: {}", text(&o.stdout));
        assert!(text(&o.stdout).contains("3 passed, 1 failed"), "{to}: {}", text(&o.stdout));
    }
}

#[test]
fn a_test_file_alone_uses_its_directory_and_filter_selects_cases() {
    let dir = suite("alone", GOOD);
    let file = dir.join("t.test.toml");
    let o = writ(&["test", file.to_str().unwrap()]);
    assert_eq!(o.status.code(), Some(0), "{}{}", text(&o.stdout), text(&o.stderr));
    let o = writ(&["test", file.to_str().unwrap(), "--filter", "datetime"]);
    assert!(text(&o.stdout).ends_with("1 passed, 0 failed\n"), "{}", text(&o.stdout));
    let none = writ(&["test", file.to_str().unwrap(), "--filter", "no such case"]);
    assert_eq!(none.status.code(), Some(1));
    assert!(text(&none.stderr).contains("no test case matches"));
}

#[test]
fn test_reports_in_json_and_junit() {
    let dir = suite("formats", &GOOD.replace("expect = \"escalate\"", "expect = \"allow\""));
    let json = test_run(&dir, &["--format", "json"]);
    assert_eq!(json.status.code(), Some(1));
    let v: serde_json::Value = serde_json::from_slice(&json.stdout).unwrap();
    assert_eq!((v["passed"].as_u64(), v["failed"].as_u64()), (Some(3), Some(1)));
    let failed: Vec<&serde_json::Value> =
        v["cases"].as_array().unwrap().iter().filter(|c| c["passed"] == false).collect();
    assert_eq!(failed[0]["name"], "destructive escalates, explained");
    assert!(failed[0]["detail"].as_str().unwrap().starts_with("expected allow, got escalate"));

    let junit = text(&test_run(&dir, &["--format", "junit"]).stdout);
    assert!(junit.starts_with("<?xml"));
    assert!(junit.contains("<testsuites name=\"writ test\" tests=\"4\" failures=\"1\">"), "{junit}");
    assert_eq!(junit.matches("<testcase ").count(), 4);
    assert_eq!(junit.matches("<failure message=\"expected allow, got escalate").count(), 1, "{junit}");
}

#[test]
fn coverage_reports_rules_and_clauses_both_ways_in_text_json_and_lcov() {
    let dir = scratch("coverage");
    std::fs::write(
        dir.join("p.writ"),
        r#"schema { entity Agent { level: Int }  entity Tool  context { n: Int }  action call: Agent -> Tool }
@id("low") permit Agent to call on Tool when context.n < 10 and principal.level > 1;
@id("never") forbid Agent to call on Tool when context.n > 1000;
"#,
    )
    .unwrap();
    std::fs::write(
        dir.join("entities.json"),
        r#"[{"type": "Agent", "id": "a", "attrs": {"level": 3}}, {"type": "Tool", "id": "t"}]"#,
    )
    .unwrap();
    let case = |name: &str, n: i64, expect: &str| {
        format!(
            "[[case]]\nname = \"{name}\"\nexpect = \"{expect}\"\nrequest = {{ principal = {{ type = \"Agent\", id = \"a\" }}, action = \"call\", resource = {{ type = \"Tool\", id = \"t\" }}, context = {{ n = {n} }} }}\n"
        )
    };
    std::fs::write(
        dir.join("c.test.toml"),
        format!("entities = \"entities.json\"\n{}{}", case("small", 3, "allow"), case("big", 50, "deny")),
    )
    .unwrap();
    let lcov = dir.join("out.lcov");
    let o = writ(&["test", dir.to_str().unwrap(), "--coverage", "--lcov", lcov.to_str().unwrap()]);
    let out = text(&o.stdout);
    assert_eq!(o.status.code(), Some(0), "{out}{}", text(&o.stderr));
    assert!(out.contains("coverage: 1 of 2 rules applied; 1 of 2 clauses seen both true and false"), "{out}");
    assert!(out.contains("when context.n < 10 and principal.level > 1 (line 2): true 1, false 1"), "{out}");
    assert!(out.contains("!   when context.n > 1000 (line 3): true 0, false 2"), "{out}");
    assert!(out.contains("never applied: never ("), "{out}");

    let json = writ(&["test", dir.to_str().unwrap(), "--coverage", "--format", "json"]);
    let v: serde_json::Value = serde_json::from_slice(&json.stdout).unwrap();
    let cov = &v["coverage"];
    assert_eq!(cov["never_applied"], serde_json::json!(["never"]));
    assert_eq!(cov["rules"][0]["applied"], 1);
    assert_eq!(
        (cov["rules"][1]["clauses"][0]["true_count"].as_u64(), cov["rules"][1]["clauses"][0]["false_count"].as_u64()),
        (Some(0), Some(2))
    );

    let l = std::fs::read_to_string(&lcov).unwrap();
    assert!(l.starts_with("TN:writ\nSF:"), "{l}");
    assert!(l.contains("FNDA:1,low\n") && l.contains("FNDA:0,never\n"), "{l}");
    assert!(l.contains("BRDA:2,0,0,1\nBRDA:2,0,1,1\n") && l.contains("BRDA:3,1,0,0\nBRDA:3,1,1,2\n"), "{l}");
    assert!(l.trim_end().ends_with("end_of_record"));
}

#[test]
fn eval_expr_evaluates_an_expression_against_the_request() {
    let expr = |e: &str| eval("examples/spec/request.json", &["--expr", e, "--color", "never"]);
    let o = expr("principal.owner.clearance >= resource.sensitivity and context.risk < 50");
    assert_eq!(o.status.code(), Some(0), "{}", text(&o.stderr));
    assert_eq!(serde_json::from_slice::<serde_json::Value>(&o.stdout).unwrap(), serde_json::json!(true));
    let ctx: serde_json::Value = serde_json::from_slice(&expr("context").stdout).unwrap();
    assert_eq!(ctx["risk"], 12);
    assert_eq!(ctx["args"]["query"], "open P1 tickets");
    // The policy set's imports and fns are in scope.
    assert_eq!(
        serde_json::from_slice::<serde_json::Value>(&expr("time.business_hours(context.now)").stdout).unwrap(),
        true
    );
    // A typo is a diagnostic on stderr, exit 1.
    let typo = expr("principal.ownr");
    assert_eq!(typo.status.code(), Some(1));
    assert!(typo.stdout.is_empty());
    assert!(text(&typo.stderr).contains("did you mean `owner`?"), "{}", text(&typo.stderr));
    // An evaluation error too.
    let overflow = expr("9223372036854775807 + context.risk");
    assert_eq!(overflow.status.code(), Some(1));
    assert!(text(&overflow.stderr).contains("integer overflow"));
    // A request that cannot be decoded is an input error here.
    let bad = eval("examples/spec/requests/bad_risk.json", &["--expr", "context.risk"]);
    assert_eq!(bad.status.code(), Some(2));
    assert!(text(&bad.stderr).contains("context.risk"), "{}", text(&bad.stderr));
}
