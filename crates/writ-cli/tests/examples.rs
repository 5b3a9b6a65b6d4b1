//! Every example under `examples/` that has a `*.test.toml` suite: its policies check
//! without warnings, it has at least six cases, and every case passes — through the library
//! API, the way `writ test examples/NAME` runs them. And the running example of
//! `docs/decisions.md` decides as that page says.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, clippy::indexing_slicing)]

mod common;

use std::path::{Path, PathBuf};
use writ_cli::testrun;

/// The examples the repository promises; each must exist and have a suite.
const EXPECTED: &[&str] = &["anomaly", "ci-secrets", "delegation", "human-approval", "spec", "support-agent"];

const MIN_CASES: usize = 6;

fn examples_dir() -> PathBuf {
    common::repo_root().join("examples")
}

/// The example directories that hold at least one `*.test.toml`, sorted by name.
fn example_suites() -> Vec<(String, PathBuf, Vec<PathBuf>)> {
    let mut dirs: Vec<PathBuf> = std::fs::read_dir(examples_dir())
        .expect("examples/ is readable")
        .flatten()
        .map(|e| e.path())
        .filter(|p| p.is_dir())
        .collect();
    dirs.sort();
    dirs.into_iter()
        .filter_map(|dir| {
            let files = testrun::find_test_files(std::slice::from_ref(&dir));
            let name = dir.file_name()?.to_string_lossy().into_owned();
            (!files.is_empty()).then_some((name, dir, files))
        })
        .collect()
}

#[test]
fn every_example_suite_passes() {
    let suites = example_suites();
    let names: Vec<&str> = suites.iter().map(|(n, _, _)| n.as_str()).collect();
    for want in EXPECTED {
        assert!(names.contains(want), "examples/{want}/ has no `*.test.toml` suite (found: {names:?})");
    }

    let mut problems = Vec::new();
    let mut total = 0;
    for (name, dir, files) in &suites {
        let policies = match writ::PolicySet::load(dir) {
            Ok(p) => p,
            Err(e) => {
                problems.push(format!("examples/{name}: the policies do not check:\n{}", e.render()));
                continue;
            }
        };
        if !policies.warnings().is_empty() {
            problems.push(format!(
                "examples/{name}: the policies have warnings:\n{}",
                writ::diag::render::render(policies.warnings(), policies.sources(), false)
            ));
        }
        // Both back ends: the expectations are checked on the JIT's decisions and the
        // interpreter must decide every case identically.
        let jit = writ::Engine::compile(&policies).expect("the JIT compiles every example");
        assert_eq!(jit.backend(), writ::Backend::Jit);
        let engines = [jit, writ::Engine::interpreted(&policies)];
        let results = testrun::run(&engines, files);
        total += results.len();
        if results.len() < MIN_CASES {
            problems.push(format!("examples/{name}: {} cases, at least {MIN_CASES} expected", results.len()));
        }
        for r in results.iter().filter(|r| !r.passed) {
            let file = Path::new(&r.file);
            let file = file.strip_prefix(common::repo_root()).unwrap_or(file).display();
            problems.push(format!("FAIL {file}: {}\n      {}", r.name, r.detail));
        }
    }
    assert!(problems.is_empty(), "{} problem(s) in {total} example cases:\n{}", problems.len(), problems.join("\n"));
}

/// The running example of `docs/decisions.md` checks, and decides as the page says, on both
/// back ends (the page's policy is read from the page itself).
#[test]
fn the_decisions_page_is_true() {
    let page = std::fs::read_to_string(common::repo_root().join("docs/decisions.md")).unwrap();
    let start = page.find("```writ\n").expect("a writ block") + "```writ\n".len();
    let policy = &page[start..start + page[start..].find("```").unwrap()];
    let policies =
        writ::PolicySet::from_sources(&[("rules.writ", policy)]).unwrap_or_else(|e| panic!("{}", e.render()));
    assert!(policies.warnings().is_empty());
    let entities = r#"[
      {"type": "Agent", "id": "bot", "attrs": {"clearance": "confidential"}},
      {"type": "Human", "id": "ann", "attrs": {"clearance": "internal"}},
      {"type": "Human", "id": "pat", "attrs": {"clearance": "public"}},
      {"type": "Doc", "id": "plan", "attrs": {"sensitivity": "internal"}},
      {"type": "Doc", "id": "ledger", "attrs": {"sensitivity": "confidential"}}
    ]"#;
    // (principal, action, resource, chain, context, expected `verdict [reasons] {obligations} !errors`)
    let cases = [
        ("Agent bot", "delete", "plan", "", r#""lease": "10m""#, "escalate [delete-asks]"),
        (
            "Agent bot",
            "delete",
            "plan",
            "",
            r#""lease": "10m", "approved": true"#,
            r#"allow [agents-delete] {"ttl":"10m"}"#,
        ),
        ("Agent bot", "delete", "plan", "ann", r#""lease": "10m""#, "escalate [delete-asks, delete-asks@ann]"),
        ("Agent bot", "delete", "plan", "pat", r#""lease": "10m""#, "deny [no-permit@pat]"),
        ("Human pat", "delete", "plan", "", r#""lease": "10m""#, "deny [no-permit]"),
        ("Agent bot", "delete", "ledger", "", r#""lease": "10m""#, "deny [keep-confidential]"),
        (
            "Agent bot",
            "delete",
            "plan",
            "",
            r#""lease": "0s", "approved": true"#,
            "deny [no-permit] !agents-delete: the granted `ttl` is `0s`; it must be positive",
        ),
        (
            "Agent bot",
            "read",
            "plan",
            "ann",
            r#""lease": "10m""#,
            r#"allow [agents-read, humans-read@ann] {"audit":["agent read","read for a person"],"ttl":"5m"}"#,
        ),
        ("Agent bot", "read", "ledger", "ann", r#""lease": "10m""#, "deny [no-permit@ann]"),
    ];
    let engines = [writ::Engine::compile(&policies).unwrap(), writ::Engine::interpreted(&policies)];
    for (who, action, doc, chain, context, expect) in cases {
        let (ty, id) = who.split_once(' ').unwrap();
        let chain = if chain.is_empty() {
            String::new()
        } else {
            format!(r#", "on_behalf_of": [{{"type": "Human", "id": "{chain}"}}]"#)
        };
        let request = format!(
            r#"{{"principal": {{"type": "{ty}", "id": "{id}"}}, "action": "{action}",
                "resource": {{"type": "Doc", "id": "{doc}"}}, "context": {{{context}}}{chain}}}"#
        );
        for engine in &engines {
            let d = engine.decide_json(&request, &engine.entities_from_json(entities).unwrap());
            let reasons: Vec<String> = d
                .reasons
                .iter()
                .map(|r| match &r.on_behalf_of {
                    Some(e) => format!("{}@{}", r.rule, e.id),
                    None => r.rule.to_string(),
                })
                .collect();
            let mut got = format!("{} [{}]", d.decision.as_str(), reasons.join(", "));
            if !d.obligations.is_empty() {
                got.push_str(&format!(" {}", serde_json::to_string(&d.obligations).unwrap()));
            }
            for e in &d.errors {
                got.push_str(&format!(" !{}: {}", e.rule, e.message));
            }
            assert_eq!(got, expect, "{request}");
        }
    }
    // `--explain` of a deny where an escalate applied: the closest permits
    let engine = &engines[1];
    let entities = engine.entities_from_json(entities).unwrap();
    let request = r#"{"principal": {"type": "Human", "id": "pat"}, "action": "delete",
                      "resource": {"type": "Doc", "id": "plan"}, "context": {"lease": "10m"}}"#;
    let d = engine.decide_explained(&engine.request_from_json(request, &entities).unwrap());
    let explain = d.explain.expect("a deny is explained");
    assert_eq!(explain.closest_permits.len(), 1);
    assert_eq!(explain.closest_permits[0].rule, "humans-delete");
    assert_eq!(explain.closest_permits[0].failed, "when principal.clearance >= internal");
    assert!(explain.escalations.is_empty());
}
