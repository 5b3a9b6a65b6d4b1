//! Diagnostics without noise (issue 15): no warning that only follows from an error, and a
//! code of its own for a `grant` that has no effect; explanations show the conjuncts that
//! held and the arguments of the functions a failed condition calls.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, clippy::indexing_slicing)]

use writ::unstable::sema::{NoFiles, check};
use writ::unstable::syntax::SourceMap;

/// The codes of a one-file policy set's diagnostics, sorted.
fn codes(src: &str) -> Vec<String> {
    let mut sources = SourceMap::new();
    let f = sources.add("p.writ", src);
    let checked = check(&mut sources, &[f], &mut NoFiles);
    let mut c: Vec<String> = checked.diagnostics.iter().map(|d| d.code.as_str().to_string()).collect();
    c.sort();
    c
}

const SCHEMA: &str =
    "schema { entity Agent  entity Tool  context { ip: Ip, now: Timestamp, n: Int }  action call: Agent -> Tool }\n";

#[test]
fn no_unused_import_after_a_missing_schema() {
    assert_eq!(codes("import std.time\npermit Agent to call on Tool when time.is_weekday(context.now);"), ["E0205"]);
    // With the schema, the same import is used: nothing to say.
    assert!(
        codes(&format!(
            "{SCHEMA}import std.time\n@id(\"p\") permit Agent to call on Tool when time.is_weekday(context.now);"
        ))
        .is_empty()
    );
    // And an import that is really unused is still reported.
    assert_eq!(codes(&format!("{SCHEMA}import std.time\n@id(\"p\") permit Agent to call on Tool;")), ["W0005"]);
}

#[test]
fn no_unused_fn_after_calls_too_deep() {
    let mut src = String::from(SCHEMA);
    src.push_str("fn f0(x: Int) -> Bool = x > 0;\n");
    for i in 1..40 {
        src.push_str(&format!("fn f{i}(x: Int) -> Bool = f{}(x + 1);\n", i - 1));
    }
    src.push_str("@id(\"p\") permit Agent to call on Tool when f39(context.n);\n");
    let c = codes(&src);
    assert!(c.iter().all(|c| c == "E0209"), "{c:?}");
    // A really unused fn in a set without errors is still reported.
    assert_eq!(
        codes(&format!("{SCHEMA}fn g(x: Int) -> Bool = x > 0;\n@id(\"p\") permit Agent to call on Tool;")),
        ["W0004"]
    );
}

#[test]
fn no_constant_condition_after_a_bad_literal() {
    // The bad escape and the bad literals are errors; the conditions they make constant are not
    // warned about.
    for clause in [
        r#"when "x" like "\q*""#,
        r#"unless context.ip == ip("300.1.1.1")"#,
        r#"when context.now > timestamp("2026-13-45")"#,
        r#"when context.ip.in_range(ip("10.0.0.0/33"))"#,
    ] {
        let c = codes(&format!("{SCHEMA}@id(\"p\") permit Agent to call on Tool {clause};"));
        assert!(!c.iter().any(|c| c.starts_with('W')), "{clause}: {c:?}");
        assert!(c.iter().any(|c| c.starts_with('E') || c.starts_with('P')), "{clause}: {c:?}");
    }
    // A constant condition of the author's own is still one.
    assert_eq!(codes(&format!("{SCHEMA}@id(\"p\") permit Agent to call on Tool when 1 > 2;")), ["W0002"]);
}

#[test]
fn a_grant_on_a_forbid_or_escalate_has_its_own_code() {
    for effect in ["forbid", "escalate"] {
        let c = codes(&format!(
            "{SCHEMA}@id(\"r\") {effect} Agent to call on Tool when context.n > 1 grant {{ ttl: 5m }};"
        ));
        assert_eq!(c, ["W0007"], "{effect}");
    }
    assert_eq!(writ::diag::codes::lookup("W0007").map(|c| c.severity()), Some(writ::Severity::Warning));
}

#[test]
fn explanations_show_the_conjuncts_that_held_and_fn_arguments() {
    let src = format!(
        "{}\nfn high(x: Int) -> Bool = x > 5;\n@id(\"p\") permit Agent to call on Tool when context.n > 0 and principal.level > 1 and high(context.n);",
        SCHEMA.replace("entity Agent ", "entity Agent { level: Int } ")
    );
    let policies = writ::PolicySet::from_sources(&[("p.writ", &src)]).unwrap_or_else(|e| panic!("{}", e.render()));
    let engine = writ::Engine::interpreted(&policies);
    let entities = engine
        .entities_from_json(r#"[{"type": "Agent", "id": "a", "attrs": {"level": 3}}, {"type": "Tool", "id": "t"}]"#)
        .unwrap();
    let req = engine
        .request_from_json(
            r#"{"principal": {"type": "Agent", "id": "a"}, "action": "call", "resource": {"type": "Tool", "id": "t"},
                "context": {"ip": "10.0.0.1", "now": "2026-11-23T10:00:00Z", "n": 2}}"#,
            &entities,
        )
        .unwrap();
    let d = engine.decide_explained(&req);
    let miss = &d.explain.unwrap().closest_permits[0];
    assert_eq!(miss.passed, ["context.n > 0", "principal.level > 1"]);
    assert!(miss.failed.contains("high(context.n)"), "{}", miss.failed);
    assert_eq!(miss.saw.get("context.n"), Some(&serde_json::json!(2)), "{:?}", miss.saw);
    assert_eq!(miss.saw.get("x"), Some(&serde_json::json!(2)), "the parameter inside the fn: {:?}", miss.saw);
}
