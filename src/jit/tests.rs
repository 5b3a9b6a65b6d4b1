//! Hardening tests that need the crate's insides: a panic injected into a helper, hand-made
//! IR that the checker would never produce, the Cranelift flags.

use crate::decision::Decision;
use crate::host::{EntityStore, Request};
use crate::interp::Interpreter;
use crate::ir::{self, CmpOp, Expr, ExprKind, PolicySet, Ty, Value};
use crate::{Engine, Verdict};
use std::sync::Arc;

const SCHEMA: &str = r#"schema {
  entity Agent
  entity Tool
  action call: Agent -> Tool { name: String, n: Int, tags: Set<String> }
}
"#;
const ENTITIES: &str = r#"[{"type": "Agent", "id": "a"}, {"type": "Tool", "id": "t"}]"#;
const REQUEST: &str = r#"{"principal": {"type": "Agent", "id": "a"}, "action": "call",
  "resource": {"type": "Tool", "id": "t"}, "context": {"name": "xyz", "n": 1, "tags": ["a", "b"]}}"#;

fn checked(rules: &str) -> crate::PolicySet {
    let text = format!("{SCHEMA}{rules}");
    match crate::PolicySet::from_sources(&[("t.writ", text.as_str())]) {
        Ok(p) => p,
        Err(e) => panic!("{}", e.render()),
    }
}

/// Decides `REQUEST` on `policy` (any IR) with both back ends.
fn both(policy: PolicySet) -> (Decision, Decision) {
    let store = EntityStore::from_json(&policy.schema, ENTITIES).unwrap();
    let req = Request::from_json(&policy.schema, REQUEST, &store).unwrap();
    let interp = Interpreter::new(&policy).decide(&req, &store, None);
    let policy = Arc::new(policy);
    let compiled = super::compile(policy, 0).unwrap();
    let jstore = compiled.store(&store);
    let frame = compiled.frame(&jstore, &req);
    let jit = compiled.decide(&req, &store, &jstore, &frame, ir::DEFAULT_FUEL);
    (interp, jit)
}

#[test]
fn a_panic_in_a_helper_fails_the_rule_closed_instead_of_aborting() {
    let policies = checked(
        r#"@id("p") permit Agent to call on Tool;
           @id("f") forbid Agent to call on Tool when context.name like "q*";"#,
    );
    let engine = Engine::compile(&policies).unwrap();
    assert_eq!(engine.backend(), crate::Backend::Jit);
    let entities = engine.entities_from_json(ENTITIES).unwrap();
    let request = engine.request_from_json(REQUEST, &entities).unwrap();
    assert!(engine.runs_native(&request));
    assert_eq!(engine.decide(&request).decision, Verdict::Allow);
    super::runtime::PANIC_NEXT.with(|p| p.set(true));
    let d = engine.decide(&request);
    assert!(!super::runtime::PANIC_NEXT.with(std::cell::Cell::get), "the injected panic happened");
    assert_eq!(d.decision, Verdict::Deny, "{d:?}");
    assert_eq!(d.errors.len(), 1);
    assert_eq!(&*d.errors[0].rule, "f");
    assert_eq!(d.errors[0].message, "internal error: a helper of the native code panicked");
    // A permit whose helper panics does not apply.
    let policies = checked(r#"@id("p") permit Agent to call on Tool when context.name like "x*";"#);
    let engine = Engine::compile(&policies).unwrap();
    let entities = engine.entities_from_json(ENTITIES).unwrap();
    let request = engine.request_from_json(REQUEST, &entities).unwrap();
    assert_eq!(engine.decide(&request).decision, Verdict::Allow);
    super::runtime::PANIC_NEXT.with(|p| p.set(true));
    let d = engine.decide(&request);
    assert_eq!((d.decision, d.errors.len()), (Verdict::Deny, 1), "{d:?}");
    // And the next decision is fine again.
    assert_eq!(engine.decide(&request).decision, Verdict::Allow);
}

/// Replaces the first clause of the rule `id` by `when expr`.
fn with_clause(mut policy: PolicySet, id: &str, expr: Expr) -> PolicySet {
    let rule = policy.rules.iter_mut().find(|r| &*r.id == id).unwrap();
    for b in &mut rule.bodies {
        b.clauses[0].expr = expr.clone();
    }
    policy
}

fn lit(v: Value, ty: Ty) -> Expr {
    Expr { kind: ExprKind::Lit(v), ty, span: Default::default() }
}

fn cmp(op: CmpOp, a: Expr, b: Expr) -> Expr {
    Expr { kind: ExprKind::Cmp(op, Box::new(a), Box::new(b)), ty: Ty::Bool, span: Default::default() }
}

#[test]
fn comparing_values_of_different_kinds_fails_closed_in_both_back_ends() {
    let base = checked(
        r#"@id("p") permit Agent to call on Tool;
           @id("f") forbid Agent to call on Tool when context.n == 2;"#,
    );
    let int = || lit(Value::Int(1), Ty::Int);
    let string = || lit(Value::Str("1".into()), Ty::String);
    let set = |v: Value, t: Ty| lit(Value::set(vec![v]), Ty::Set(Box::new(t)));
    let cases = [
        cmp(CmpOp::Eq, int(), string()),
        cmp(CmpOp::Ne, int(), string()),
        cmp(CmpOp::Lt, int(), string()),
        cmp(CmpOp::Eq, set(Value::Int(1), Ty::Int), set(Value::Str("1".into()), Ty::String)),
    ];
    for expr in cases {
        let (interp, jit) = both(with_clause(base.ir().clone(), "f", expr.clone()));
        assert_eq!(interp, jit, "{expr:?}");
        assert_eq!(interp.decision, Verdict::Deny, "{expr:?}: {interp:?}");
        assert_eq!(interp.errors.len(), 1);
        assert_eq!(interp.errors[0].message, "internal error: comparison of values of different kinds");
    }
    // In a permit, the comparison fails and the permit does not apply.
    let base = checked(r#"@id("p") permit Agent to call on Tool when context.n == 1;"#);
    let (interp, jit) = both(with_clause(base.ir().clone(), "p", cmp(CmpOp::Eq, int(), string())));
    assert_eq!(interp, jit);
    assert_eq!((interp.decision, interp.errors.len()), (Verdict::Deny, 1));
}

#[test]
fn an_index_entry_without_its_rule_fails_closed() {
    let policies = checked(r#"@id("p") permit Agent to call on Tool;"#);
    let mut policy = policies.ir().clone();
    for c in policy.index.values_mut() {
        c.push((99, 0));
    }
    let store = EntityStore::from_json(&policy.schema, ENTITIES).unwrap();
    let req = Request::from_json(&policy.schema, REQUEST, &store).unwrap();
    let d = Interpreter::new(&policy).decide(&req, &store, None);
    assert_eq!(d.decision, Verdict::Deny, "{d:?}");
    assert_eq!(&*d.errors[0].rule, "internal-error");
    // The JIT refuses to compile such an index at all.
    assert!(super::compile(Arc::new(policy), 1).is_err());
}

#[test]
fn every_generated_function_has_inline_stack_probes() {
    use cranelift_codegen::settings::ProbestackStrategy;
    for extra in [&[][..], &[("opt_level", "speed"), ("regalloc_algorithm", "backtracking")][..]] {
        let flags = super::flags(extra).unwrap();
        assert!(flags.enable_probestack());
        assert_eq!(flags.probestack_strategy(), ProbestackStrategy::Inline);
    }
}
