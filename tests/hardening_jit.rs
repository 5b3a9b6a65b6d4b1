//! Hardening of evaluation (issue 13, items 8 and 9): the per-decision evaluation budget
//! (`writ::DEFAULT_FUEL`) in both back ends, and the JIT's stack probes. The tests that need
//! the crate's insides (a panic injected into a helper, hand-made IR) are in `src/jit/tests.rs`.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, clippy::indexing_slicing)]

use writ::Decision;
use writ::{Engine, PolicySet, Verdict};

const OUT_OF_FUEL: &str = "the decision's evaluation budget is exhausted";

const SCHEMA: &str = r#"schema {
  entity Human
  entity Agent
  entity Tool
  action call: Agent | Human -> Tool { tags: Set<String>, n: Int }
}
"#;
const ENTITIES: &str = r#"[{"type": "Agent", "id": "a"}, {"type": "Human", "id": "h"}, {"type": "Tool", "id": "t"}]"#;

fn policies(rules: &str) -> PolicySet {
    let text = format!("{SCHEMA}{rules}");
    PolicySet::from_sources(&[("t.writ", text.as_str())]).unwrap_or_else(|e| panic!("{}", e.render()))
}

fn request(tags: &[&str], chain: bool) -> String {
    let tags: Vec<String> = tags.iter().map(|t| format!("{t:?}")).collect();
    let obo = if chain { r#", "on_behalf_of": [{"type": "Human", "id": "h"}]"# } else { "" };
    format!(
        r#"{{"principal": {{"type": "Agent", "id": "a"}}, "action": "call", "resource": {{"type": "Tool", "id": "t"}},
            "context": {{"tags": [{}], "n": 1}}{obo}}}"#,
        tags.join(", ")
    )
}

/// Decides `json` with both back ends and budget `fuel`; they must agree (on `decide` and on
/// `decide_json`). Returns the decision.
fn decide(p: &PolicySet, json: &str, fuel: u64) -> Decision {
    let interp = Engine::interpreted(p).with_fuel(fuel);
    let jit = Engine::compile(p).unwrap().with_fuel(fuel);
    assert_eq!(jit.backend(), writ::Backend::Jit);
    let (ei, ej) = (interp.entities_from_json(ENTITIES).unwrap(), jit.entities_from_json(ENTITIES).unwrap());
    let (ri, rj) = (interp.request_from_json(json, &ei).unwrap(), jit.request_from_json(json, &ej).unwrap());
    assert!(jit.runs_native(&rj));
    let d = interp.decide(&ri);
    assert_eq!(d, jit.decide(&rj), "fuel {fuel}: the back ends disagree on {json}");
    assert_eq!(d, jit.decide_json(json, &ej), "fuel {fuel}: decide_json (JIT) on {json}");
    assert_eq!(d, interp.decide_json(json, &ei), "fuel {fuel}: decide_json (interpreter) on {json}");
    d
}

fn summary(d: &Decision) -> (Verdict, Vec<String>, Vec<(String, String)>) {
    let reasons = d.reasons.iter().map(|r| r.rule.to_string()).collect();
    let errors = d.errors.iter().map(|e| (e.rule.to_string(), e.message.clone())).collect();
    (d.decision, reasons, errors)
}

fn out_of_fuel(rule: &str) -> (String, String) {
    (rule.to_string(), OUT_OF_FUEL.to_string())
}

/// The shape of the issue: a nested quantifier over a 30,000-element request set, 9 × 10⁸
/// body evaluations (58 s on the interpreter before the budget). With the default budget it
/// runs out after a million units, and the forbid fails closed.
#[test]
fn a_nested_quantifier_over_30000_elements_fails_closed_quickly() {
    let p = policies(
        r#"@id("allow-calls") permit Agent to call on Tool;
           @id("distinct-tags") forbid Agent to call on Tool
             unless all a in context.tags: all b in context.tags: a == b or a != b;"#,
    );
    let names: Vec<String> = (0..30_000).map(|i| format!("tag-{i}")).collect();
    let json = request(&names.iter().map(String::as_str).collect::<Vec<_>>(), false);
    // By default a request set holds at most 10,000 items: this one is refused when decoded.
    let strict = Engine::interpreted(&p);
    let err = strict.request_from_json(&json, &strict.entities_from_json(ENTITIES).unwrap()).unwrap_err();
    assert!(err.to_string().starts_with("context.tags: "), "{err}");
    // A host that raises the limit gets the budget as its bound.
    let limits = writ::Limits { max_set_len: 30_000, ..Default::default() };
    let options = writ::EngineOptions { limits, ..Default::default() };
    for engine in [Engine::interpreted_with(&p, options), Engine::compile_with(&p, options).unwrap()] {
        let entities = engine.entities_from_json(ENTITIES).unwrap();
        let req = engine.request_from_json(&json, &entities).unwrap();
        let d = engine.decide(&req);
        assert_eq!(
            summary(&d),
            (Verdict::Deny, vec!["distinct-tags".to_string()], vec![out_of_fuel("distinct-tags")]),
            "{:?}",
            engine.backend()
        );
        // With enough fuel the same request is allowed (and, on the JIT, quickly: 9 × 10⁸ steps
        // would not be).
        if engine.backend() == writ::Backend::Jit {
            let small = request(&["a", "b", "c"], false);
            assert_eq!(engine.decide_json(&small, &entities).decision, Verdict::Allow);
        }
    }
}

/// An effect that runs out of fuel fails closed like any evaluation error: a forbid or an
/// escalate applies, a permit does not; the error is listed.
#[test]
fn running_out_of_fuel_fails_closed() {
    let tags = ["a", "b", "c"];
    let permit = r#"@id("p") permit Agent to call on Tool when all t in context.tags: t != "z";"#;
    let p = policies(permit);
    assert_eq!(summary(&decide(&p, &request(&tags, false), 3)), (Verdict::Allow, vec!["p".into()], vec![]));
    assert_eq!(
        summary(&decide(&p, &request(&tags, false), 2)),
        (Verdict::Deny, vec!["no-permit".into()], vec![out_of_fuel("p")])
    );
    let p = policies(&format!(r#"{permit} @id("f") forbid Agent to call on Tool when "z" in context.tags;"#));
    // `in` on a set costs one unit per element: 3 for the permit, 3 for the forbid.
    assert_eq!(summary(&decide(&p, &request(&tags, false), 6)).0, Verdict::Allow);
    assert_eq!(
        summary(&decide(&p, &request(&tags, false), 5)),
        (Verdict::Deny, vec!["f".into()], vec![out_of_fuel("f")])
    );
    let p = policies(&format!(r#"{permit} @id("e") escalate Agent to call on Tool when context.tags.contains("z");"#));
    assert_eq!(summary(&decide(&p, &request(&tags, false), 6)).0, Verdict::Allow);
    assert_eq!(
        summary(&decide(&p, &request(&tags, false), 5)),
        (Verdict::Escalate, vec!["e".into()], vec![out_of_fuel("e")])
    );
    // Nothing to evaluate, nothing to spend: a budget of zero decides rules without
    // quantifiers or set scans.
    let p = policies(r#"@id("p") permit Agent to call on Tool when context.n == 1;"#);
    assert_eq!(summary(&decide(&p, &request(&tags, false), 0)), (Verdict::Allow, vec!["p".into()], vec![]));
}

/// One budget per decision: the principal's rules spend first, then each hop's.
#[test]
fn the_budget_is_shared_by_the_principal_and_the_delegation_chain() {
    let p = policies(
        r#"@id("agents") permit Agent to call on Tool when all t in context.tags: t != "z";
           @id("humans") permit Human to call on Tool when all t in context.tags: t != "q";"#,
    );
    let json = request(&["a", "b", "c"], true);
    // An allow lists the permits of the principal, then those of each hop.
    assert_eq!(summary(&decide(&p, &json, 6)), (Verdict::Allow, vec!["agents".into(), "humans".into()], vec![]));
    let d = decide(&p, &json, 5);
    assert_eq!((d.decision, summary(&d).2), (Verdict::Deny, vec![out_of_fuel("humans")]));
    assert!(d.reasons[0].on_behalf_of.is_some(), "{d:?}");
}

/// A permit's grant is computed after every rule body, in both back ends: here the forbid's
/// body spends 2 of 4 units first, and the grant (3 units) runs out.
#[test]
fn grants_spend_fuel_after_every_rule_body() {
    let p = policies(
        r#"@id("p") permit Agent to call on Tool
             grant { audit: if all t in context.tags: t != "z" then "clean" else "dirty" };
           @id("f") forbid Agent to call on Tool when all t in context.tags: t == "a";"#,
    );
    let json = request(&["a", "b", "c"], false);
    assert_eq!(summary(&decide(&p, &json, 5)), (Verdict::Allow, vec!["p".into()], vec![]));
    assert_eq!(summary(&decide(&p, &json, 4)), (Verdict::Deny, vec!["no-permit".into()], vec![out_of_fuel("p")]));
}

/// Every budget from 0 up: both back ends run out at the same point, and more fuel never
/// gives fewer rules the chance to run.
#[test]
fn both_back_ends_run_out_at_the_same_point() {
    let p = policies(
        r#"@id("scan") permit Agent to call on Tool
             when context.tags.contains_any(["b", "x"]) and context.tags != ["q"]
             grant { audit: if any t in context.tags: t == "c" then "c" else "no c" };
           @id("x") forbid * to call on Tool when any t in context.tags: t == "x";
           @id("e") escalate Agent to call on Tool when context.tags.contains_all(["a", "z"]);
           @id("h") permit Human to call on Tool when all t in context.tags: t in ["a", "b", "c", "d"];"#,
    );
    for (tags, chain) in [(&["a", "b", "c"][..], false), (&["a", "b", "c", "d"][..], true), (&["x", "z"][..], true)] {
        let json = request(tags, chain);
        let full = decide(&p, &json, writ::DEFAULT_FUEL);
        assert!(full.errors.is_empty(), "{full:?}");
        let mut ran_out_at = None;
        for fuel in 0..80 {
            let d = decide(&p, &json, fuel);
            if d.errors.is_empty() {
                assert_eq!(d, full, "fuel {fuel} is enough: the decision is the unlimited one");
                ran_out_at.get_or_insert(fuel);
            } else {
                assert!(ran_out_at.is_none(), "fuel {fuel} ran out after {ran_out_at:?} did not");
                assert!(d.errors.iter().all(|e| e.message == OUT_OF_FUEL), "{d:?}");
            }
        }
        assert!(ran_out_at.is_some_and(|f| f > 0), "{tags:?}: {ran_out_at:?}");
    }
}

// ------------------------------------------------------------------------------ stack probes

/// A rule body whose native frame is far larger than a guard page: a set literal of many
/// elements that are only known at run time is built on the stack.
fn big_frame_policy() -> PolicySet {
    // 40,000 elements: a 320 KB stack slot (the elements are one local, so it compiles fast).
    let elems = vec!["t"; 40_000].join(", ");
    policies(&format!(r#"@id("big") permit Agent to call on Tool when all t in context.tags: t in [{elems}];"#))
}

/// Decides the big-frame policy on a thread with `stack` bytes of stack.
fn decide_big_frame_on(stack: usize) -> Verdict {
    let p = big_frame_policy();
    let engine = Engine::compile(&p).unwrap();
    let entities = engine.entities_from_json(ENTITIES).unwrap();
    let req = engine.request_from_json(&request(&["a"], false), &entities).unwrap();
    assert!(engine.runs_native(&req));
    std::thread::scope(|s| {
        std::thread::Builder::new().stack_size(stack).spawn_scoped(s, || engine.decide(&req).decision).unwrap().join()
    })
    .unwrap()
}

#[test]
fn a_large_native_frame_decides_on_a_large_enough_stack() {
    assert_eq!(decide_big_frame_on(16 << 20), Verdict::Allow);
}

/// Run by `a_large_native_frame_on_a_small_stack_overflows_cleanly` in a child process.
#[test]
fn stack_probe_child() {
    if std::env::var_os("WRIT_STACK_PROBE_CHILD").is_some() {
        decide_big_frame_on(256 << 10);
    }
}

/// With stack probes the native code touches every page of a large frame on the way down,
/// so a frame larger than what is left of the stack hits the guard page and Rust reports a
/// stack overflow (and aborts) instead of the code writing past the guard into whatever
/// memory lies below.
#[test]
fn a_large_native_frame_on_a_small_stack_overflows_cleanly() {
    let out = std::process::Command::new(std::env::current_exe().unwrap())
        .args(["stack_probe_child", "--exact", "--nocapture", "--test-threads=1"])
        .env("WRIT_STACK_PROBE_CHILD", "1")
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success(), "the child decided on a 256 KiB stack: {stderr}");
    assert!(stderr.contains("has overflowed its stack"), "not a clean stack overflow: {:?}\n{stderr}", out.status);
}

/// A set written in the policy costs no fuel as the right operand of `in`: the JIT skips a
/// body whose first test is `intent in [..]` for another intent without running it, so
/// charging the interpreter for that test made the two disagree once the budget was spent
/// (differential seed 96010929176592).
#[test]
fn in_over_a_set_written_in_the_policy_costs_nothing() {
    let schema = SCHEMA.replace("action call:", "action read: Agent -> Tool\n  action call:");
    let text = format!(
        r#"{schema}
        intent triage "Triage" {{ call on Tool }}
        intent audit "Audit" {{ call on Tool }}
        @id("guarded") permit Agent to call on Tool when intent in [audit, none];
        @id("plain") permit Agent to call on Tool when context.n in [1, 2, 3];"#
    );
    let p = PolicySet::from_sources(&[("t.writ", text.as_str())]).unwrap_or_else(|e| panic!("{}", e.render()));
    let json = request(&[], false).replace(r#""action": "call","#, r#""action": "call", "intent": "triage","#);
    assert_eq!(summary(&decide(&p, &json, 0)), (Verdict::Allow, vec!["plain".into()], vec![]));
}
