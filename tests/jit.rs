#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, clippy::indexing_slicing)]

//! The JIT back end on the shipped examples: every request file of every example decides the
//! same on both back ends, natively. (The generated differential suite is `differential.rs`;
//! `writ test` also runs every example case on both back ends.)

#[path = "common/mod.rs"]
mod common;

use std::path::Path;
use writ::{Backend, Engine, PolicySet};

#[test]
fn every_example_request_decides_the_same_natively() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("examples");
    let mut dirs: Vec<_> =
        std::fs::read_dir(&root).unwrap().map(|e| e.unwrap().path()).filter(|p| p.is_dir()).collect();
    dirs.sort();
    let mut decided = 0;
    for dir in dirs {
        let policies = PolicySet::load(&dir).unwrap();
        let jit = Engine::compile(&policies).unwrap();
        assert_eq!(jit.backend(), Backend::Jit, "this machine is supported by Cranelift");
        let interp = Engine::interpreted(&policies);
        let ents = std::fs::read_to_string(dir.join("entities.json")).unwrap_or_else(|_| "[]".into());
        let (je, ie) = (jit.entities_from_json(&ents).unwrap(), interp.entities_from_json(&ents).unwrap());
        for req in common::example_requests(&dir) {
            let json = std::fs::read_to_string(&req).unwrap();
            let (a, b) = (jit.decide_json(&json, &je), interp.decide_json(&json, &ie));
            assert_eq!(a, b, "{}: back ends disagree", req.display());
            if let Ok(r) = jit.request_from_json(&json, &je) {
                assert!(jit.runs_native(&r), "{}: decided by the interpreter", req.display());
            }
            decided += 1;
        }
    }
    assert!(decided >= 30, "only {decided} example requests found");
}

#[test]
fn a_request_decoded_by_another_engine_falls_back_to_the_interpreter() {
    let src = r#"schema { entity Agent  entity Tool  action call: Agent -> Tool }
        @id("p") permit Agent to call on Tool;"#;
    let ps = PolicySet::from_sources(&[("p.writ", src)]).unwrap();
    let (a, b) = (Engine::compile(&ps).unwrap(), Engine::compile(&ps).unwrap());
    let ents = a.entities_from_json(r#"[{"type": "Agent", "id": "x"}, {"type": "Tool", "id": "t"}]"#).unwrap();
    let req = a
        .request_from_json(
            r#"{"principal": {"type": "Agent", "id": "x"}, "action": "call", "resource": {"type": "Tool", "id": "t"}}"#,
            &ents,
        )
        .unwrap();
    assert!(a.runs_native(&req));
    assert!(!b.runs_native(&req), "laid out for another compiled policy set");
    assert_eq!(a.decide(&req), b.decide(&req));
}

/// The rule index also dispatches on the intent, for rule bodies whose first test is on it;
/// a body whose intent test comes later still runs for every intent (it may fail first), and
/// both back ends agree on every intent.
#[test]
fn the_index_narrows_by_intent_only_where_the_intent_is_tested_first() {
    let src = r#"schema {
          entity Agent  entity Tool
          context { n: Int }
          action call: Agent -> Tool
        }
        intent triage "Triage" { call on Tool }
        intent deploy "Deploy" { call on Tool }
        @id("only-triage") permit Agent to call on Tool when intent == triage and context.n < 10;
        @id("triage-or-deploy") escalate Agent to call on Tool when intent in [triage, deploy];
        @id("no-intent") permit Agent to call on Tool when intent == none;
        // The intent test is not first: an overflow fails this forbid closed whatever the intent.
        @id("late-test") forbid Agent to call on Tool when context.n * 1000000000000 > 5 and intent == deploy;
        @id("any") permit Agent to call on Tool unless intent == deploy;"#;
    let ps = PolicySet::from_sources(&[("p.writ", src)]).unwrap();
    let jit = Engine::compile(&ps).unwrap();
    let interp = Engine::interpreted(&ps);
    let ents = r#"[{"type": "Agent", "id": "a"}, {"type": "Tool", "id": "t"}]"#;
    let (je, ie) = (jit.entities_from_json(ents).unwrap(), interp.entities_from_json(ents).unwrap());
    let cases: [(&str, &[&str]); 3] = [
        (r#""intent": "triage","#, &["only-triage", "triage-or-deploy", "late-test", "any"]),
        (r#""intent": "deploy","#, &["triage-or-deploy", "late-test", "any"]),
        ("", &["no-intent", "late-test", "any"]),
    ];
    for (intent, visited) in cases {
        for n in ["1", "50", "9223372036854775807"] {
            let json = format!(
                r#"{{"principal": {{"type": "Agent", "id": "a"}}, "action": "call", {intent}
                    "resource": {{"type": "Tool", "id": "t"}}, "context": {{"n": {n}}}}}"#
            );
            let r = jit.request_from_json(&json, &je).unwrap();
            assert!(jit.runs_native(&r));
            let names: Vec<String> = jit.candidate_rules(&r).iter().map(|s| s.to_string()).collect();
            assert_eq!(names, visited, "{intent}");
            let (a, b) = (jit.decide(&r), interp.decide_json(&json, &ie));
            assert_eq!(a, b, "{intent} n={n}");
            if n.len() > 5 {
                assert!(a.errors.iter().any(|e| &*e.rule == "late-test"), "{a:?}");
            }
        }
    }
}

/// A slot with more candidates than the decision function's buffer on the stack holds (32):
/// the buffer kept per thread takes over. Many rules apply, fail, err or are skipped by
/// intent, interleaved, so the hits, their order and the errors are all checked against the
/// interpreter; reasons come in rule order.
#[test]
fn a_slot_with_many_candidates_decides_as_the_interpreter() {
    let mut src = String::from(
        r#"schema {
          entity Agent  entity Tool
          context { n: Int }
          action call: Agent -> Tool
        }
        intent triage "Triage" { call on Tool }
        "#,
    );
    for k in 0..70 {
        let rule = match k % 5 {
            0 => {
                format!("@id(\"p{k}\") permit Agent to call on Tool when context.n > {k} grant {{ ttl: {}m }};", k + 1)
            }
            1 => format!("@id(\"f{k}\") forbid Agent to call on Tool when context.n == {k};"),
            2 => format!("@id(\"e{k}\") escalate Agent to call on Tool when context.n * 1000000000000 > {k};"),
            3 => format!("@id(\"t{k}\") permit Agent to call on Tool when intent == triage and context.n < {k};"),
            _ => format!(
                "@id(\"q{k}\") permit * to call on * when context.n + {k} > 60 grant {{ n: context.n, tag: \"t{}\" }};",
                k % 3
            ),
        };
        src.push_str(&rule);
        src.push('\n');
    }
    let ps = PolicySet::from_sources(&[("p.writ", &src)]).unwrap();
    let jit = Engine::compile(&ps).unwrap();
    let interp = Engine::interpreted(&ps);
    let ents = r#"[{"type": "Agent", "id": "a"}, {"type": "Tool", "id": "t"}]"#;
    let (je, ie) = (jit.entities_from_json(ents).unwrap(), interp.entities_from_json(ents).unwrap());
    let mut reasons_seen = 0;
    for intent in [r#""intent": "triage","#, ""] {
        for n in ["0", "1", "6", "30", "65", "100", "-5", "9223372036854775807"] {
            let json = format!(
                r#"{{"principal": {{"type": "Agent", "id": "a"}}, "action": "call", {intent}
                    "resource": {{"type": "Tool", "id": "t"}}, "context": {{"n": {n}}}}}"#
            );
            let r = jit.request_from_json(&json, &je).unwrap();
            assert!(jit.runs_native(&r));
            assert!(jit.candidate_rules(&r).len() > 32, "{}", jit.candidate_rules(&r).len());
            let (a, b) = (jit.decide(&r), interp.decide_json(&json, &ie));
            assert_eq!(a, b, "{intent} n={n}");
            assert_eq!(jit.decide_json(&json, &je), b, "{intent} n={n}");
            reasons_seen = reasons_seen.max(a.reasons.len());
        }
    }
    assert!(reasons_seen > 5, "only {reasons_seen} reasons at most");
}
