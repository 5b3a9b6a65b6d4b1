#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, clippy::indexing_slicing)]
//! The speed targets of the JIT (issue 5), each next to what it is measured against:
//!
//! * `targets/spec/…`: the agent tool-call of the running example (`examples/spec`) decided by the JIT, and by a
//!   hand-written Rust function that implements the same five rules on the same decoded
//!   request and builds the same `Decision` (asserted equal on every request of
//!   `examples/spec` before timing). Target: JIT ≤ 2× the hand-written function.
//! * `targets/four_of_1000/…`: a request that exactly 4 rules of the generated 1,000-rule set
//!   can apply to (one dispatch key with 4 candidates), against a policy set made of just those
//!   4 rules (same schema, intents and functions). Target: ≤ 2×.
//!
//! Run: `cargo bench --bench targets`.

#[path = "gen/mod.rs"]
mod policygen;

use criterion::{Criterion, criterion_group, criterion_main};
use serde_json::{Value as Json, json};
use std::collections::BTreeMap;
use std::hint::black_box;
use std::path::Path;
use std::sync::Arc;
use writ::unstable::host::{EntityStore, Request as HostRequest};
use writ::unstable::ir::schema::{ActionId, EntityTypeId, IntentId, Schema};
use writ::unstable::ir::types::{RecordTy, Ty};
use writ::unstable::ir::value::{EntityUid, Value};
use writ::{Decision, Engine, Obligations, PolicySet, Reasons, Verdict};
use writ::{EntityRef, Reason};

// ---------------------------------------------------------------------------------------
// The running example (`examples/spec`) by hand.

/// Everything the hand-written function looks up once, as a host would when it compiles
/// its rules in by hand: ids, attribute slots, the reasons it can give.
struct Spec {
    call_tool: ActionId,
    agent: EntityTypeId,
    human: EntityTypeId,
    tool: EntityTypeId,
    /// Attribute slots (attributes are stored sorted by name).
    tool_sensitivity: usize,
    tool_destructive: usize,
    human_clearance: usize,
    /// Context slots of `call_tool`.
    ctx_now: usize,
    ctx_risk: usize,
    ctx_approved: usize,
    internal: u32,
    triage: IntentId,
    ticketing: EntityUid,
    agent_tools: Reason,
    risk_ceiling: Reason,
    destructive: Reason,
    humans: Reason,
}

fn slot(r: &RecordTy, name: &str) -> usize {
    r.field(name).unwrap().0 as usize
}

impl Spec {
    fn new(schema: &Schema, policies: &PolicySet) -> Spec {
        let call_tool = schema.action_id("call_tool").unwrap();
        let [agent, human, tool, group] = ["Agent", "Human", "Tool", "ToolGroup"].map(|n| schema.entity_id(n).unwrap());
        let attrs = |t: EntityTypeId| schema.entity(t).unwrap().attrs.clone();
        let ctx = schema.action(call_tool).unwrap().context.clone();
        let reason = |id: &str| {
            let r = policies.ir().rules.iter().find(|r| &*r.id == id).unwrap();
            Reason {
                rule: r.id.clone(),
                effect: r.effect.into(),
                message: r.message.clone(),
                file: Some(r.file.clone()),
                line: Some(r.line),
                on_behalf_of: None,
            }
        };
        let level = schema.enum_id("Level").unwrap();
        Spec {
            call_tool,
            agent,
            human,
            tool,
            tool_sensitivity: slot(&attrs(tool), "sensitivity"),
            tool_destructive: slot(&attrs(tool), "destructive"),
            human_clearance: slot(&attrs(human), "clearance"),
            ctx_now: slot(&ctx, "now"),
            ctx_risk: slot(&ctx, "risk"),
            ctx_approved: slot(&ctx, "approved"),
            internal: schema.enum_(level).unwrap().variants.iter().position(|v| v == "internal").unwrap() as u32,
            triage: schema.intent_id("triage_ticket").unwrap(),
            ticketing: EntityUid { ty: group, id: Arc::from("ticketing") },
            agent_tools: reason("agent-tools"),
            risk_ceiling: reason("risk-ceiling"),
            destructive: reason("destructive-needs-human"),
            humans: reason("humans-within-clearance"),
        }
    }
}

fn field(ctx: &Value, i: usize) -> Option<&Value> {
    match ctx {
        Value::Record(fs) => fs.get(i).and_then(Option::as_ref),
        _ => None,
    }
}

fn int(v: Option<&Value>) -> Option<i64> {
    match v {
        Some(Value::Int(n)) => Some(*n),
        _ => None,
    }
}

fn level(v: Option<&Value>) -> Option<u32> {
    match v {
        Some(Value::Enum(_, i)) => Some(*i),
        _ => None,
    }
}

/// What the five rules of `examples/spec` say about one principal of the request: (forbid,
/// escalate, permit). Only the `call_tool` rules can apply to a `call_tool` request; the
/// `read_secret` permit never can, so it is not written out (the decision is the same).
fn rules_for(s: &Spec, req: &HostRequest, store: &EntityStore, who: &EntityUid) -> (bool, bool, bool) {
    let risk = int(field(&req.context, s.ctx_risk)).unwrap_or(0);
    let forbid = risk >= 80;
    if req.action != s.call_tool || req.resource.ty != s.tool {
        return (forbid, false, false);
    }
    let tool = req.entity(store, &req.resource);
    let attr = |i: usize| tool.and_then(|e| e.attrs.get(i)).and_then(Option::as_ref);
    if who.ty == s.agent {
        let destructive = matches!(attr(s.tool_destructive), Some(Value::Bool(true)));
        let approved = matches!(field(&req.context, s.ctx_approved), Some(Value::Bool(true)));
        let escalate = destructive && !approved;
        let business = match field(&req.context, s.ctx_now) {
            Some(Value::Timestamp(t)) => {
                let (d, h) = (writ::unstable::ir::value::ts_weekday(*t), writ::unstable::ir::value::ts_hour(*t));
                d <= 5 && (9..17).contains(&h)
            }
            _ => false,
        };
        let permit = level(attr(s.tool_sensitivity)).is_some_and(|l| l <= s.internal) && risk < 50 && business;
        (forbid, escalate, permit)
    } else if who.ty == s.human {
        let clearance = req.entity(store, who).and_then(|e| e.attrs.get(s.human_clearance)).and_then(Option::as_ref);
        let permit = matches!((level(attr(s.tool_sensitivity)), level(clearance)), (Some(a), Some(b)) if a <= b);
        (forbid, false, permit)
    } else {
        (forbid, false, false)
    }
}

/// The decision algorithm (docs/decisions.md), by hand, for this policy set.
fn spec_by_hand(s: &Spec, schema: &Schema, req: &HostRequest, store: &EntityStore) -> Decision {
    let done = |decision, reasons: Reasons| Decision {
        decision,
        reasons,
        obligations: Obligations::default(),
        errors: Vec::new(),
        explain: None,
        policy_version: None,
        backend: None,
    };
    let (forbid, escalate, permit) = rules_for(s, req, store, &req.principal);
    if forbid {
        return done(Verdict::Deny, Reasons::from_iter([s.risk_ceiling.clone()]));
    }
    if let Some(i) = req.intent {
        let within = i == s.triage
            && req.action == s.call_tool
            && req.entity(store, &req.resource).is_some_and(|e| e.is_in(&s.ticketing));
        if !within {
            let name = schema.intent_name(i);
            let r = Reason::builtin(
                format!("outside-intent:{name}"),
                format!(
                    "`{}` on this resource is outside the declared intent `{name}`",
                    schema.action_name(req.action)
                ),
            );
            return done(Verdict::Deny, Reasons::from_iter([r]));
        }
    }
    let mut hop_escalates = Reasons::default();
    let mut hop_permits = Reasons::default();
    for hop in &req.on_behalf_of {
        let (f, e, p) = rules_for(s, req, store, hop);
        let on_behalf_of = || Some(EntityRef { ty: schema.entity_name(hop.ty).into(), id: hop.id.to_string() });
        if f {
            return done(
                Verdict::Deny,
                Reasons::from_iter([Reason { on_behalf_of: on_behalf_of(), ..s.risk_ceiling.clone() }]),
            );
        }
        // An escalate asks only where a permit applies: a hop without one is denied.
        if !p {
            let name = schema.entity_name(hop.ty);
            let mut r = Reason::builtin(
                "no-permit",
                format!("no permit applies to {name}::{:?}, on whose behalf the request is made", &*hop.id),
            );
            r.on_behalf_of = on_behalf_of();
            return done(Verdict::Deny, Reasons::from_iter([r]));
        }
        if e {
            hop_escalates.push(Reason { on_behalf_of: on_behalf_of(), ..s.destructive.clone() });
        } else {
            let permit = if hop.ty == s.agent { &s.agent_tools } else { &s.humans };
            hop_permits.push(Reason { on_behalf_of: on_behalf_of(), ..permit.clone() });
        }
    }
    if permit {
        if escalate || !hop_escalates.is_empty() {
            let mut reasons = if escalate { Reasons::from_iter([s.destructive.clone()]) } else { Reasons::default() };
            reasons.append(hop_escalates);
            return done(Verdict::Escalate, reasons);
        }
        let mut reasons =
            Reasons::from_iter([if req.principal.ty == s.agent { &s.agent_tools } else { &s.humans }.clone()]);
        reasons.append(hop_permits);
        let mut d = done(Verdict::Allow, reasons);
        if req.principal.ty == s.agent || req.on_behalf_of.iter().any(|h| h.ty == s.agent) {
            d.obligations = Obligations::with_ttl(15 * 60_000);
        }
        return d;
    }
    done(Verdict::Deny, Reasons::from_iter([Reason::no_permit()]))
}

fn spec(c: &mut Criterion) {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("examples/spec");
    let policies = PolicySet::load(&dir).unwrap();
    let engine = Engine::compile(&policies).unwrap();
    let schema = &policies.ir().schema;
    let by_hand = Spec::new(schema, &policies);
    let entities = engine.entities_from_json(&std::fs::read_to_string(dir.join("entities.json")).unwrap()).unwrap();
    // The hand-written function must be the same policy: same decision on every request
    // that the example ships that decodes (and that its rules cover).
    let mut files = vec![dir.join("request.json")];
    files.extend(std::fs::read_dir(dir.join("requests")).unwrap().map(|e| e.unwrap().path()));
    let mut compared = 0;
    for f in &files {
        let Ok(r) = engine.request_from_json(&std::fs::read_to_string(f).unwrap(), &entities) else { continue };
        if r.host().action != by_hand.call_tool {
            continue;
        }
        let want = writ::Decision { policy_version: None, ..engine.decide(&r) };
        assert!(engine.runs_native(&r));
        assert_eq!(spec_by_hand(&by_hand, schema, r.host(), entities.store()), want, "{}", f.display());
        compared += 1;
    }
    assert!(compared >= 6, "only {compared} requests compared");
    let request = engine.request_from_json(&std::fs::read_to_string(&files[0]).unwrap(), &entities).unwrap();
    assert_eq!(engine.decide(&request).decision, Verdict::Allow);
    let mut g = c.benchmark_group("targets");
    g.bench_function("spec/jit/decide", |b| b.iter(|| black_box(engine.decide(black_box(&request)))));
    g.bench_function("spec/hand-written/decide", |b| {
        b.iter(|| black_box(spec_by_hand(&by_hand, schema, black_box(request.host()), entities.store())))
    });
    g.finish();
}

// ---------------------------------------------------------------------------------------
// 4 candidate rules of 1,000 against a 4-rule policy set.

/// A JSON value of type `ty` (any valid one), creating the entities it refers to.
fn sample(schema: &Schema, ty: &Ty, ents: &mut BTreeMap<(u32, String), Json>, depth: usize) -> Json {
    match ty {
        Ty::Bool => json!(true),
        Ty::Int => json!(1),
        Ty::String => json!("x"),
        Ty::Duration => json!("1m"),
        Ty::Timestamp => json!("2026-11-23T10:15:00Z"),
        Ty::Ip => json!("10.1.2.3"),
        Ty::Set(_) | Ty::Never => json!([]),
        Ty::Record(r) => record(schema, r, ents, depth),
        Ty::Entity(ts) => {
            let t = ts[0];
            entity(schema, t, "e", ents, depth);
            json!({"type": schema.entity_name(t), "id": "e"})
        }
        Ty::Enum(e) => json!(schema.enum_(*e).unwrap().variants[0]),
        Ty::Intent | Ty::Action | Ty::Error => Json::Null,
    }
}

fn record(schema: &Schema, r: &RecordTy, ents: &mut BTreeMap<(u32, String), Json>, depth: usize) -> Json {
    let fields =
        r.fields.iter().filter(|f| !f.optional).map(|f| (f.name.clone(), sample(schema, &f.ty, ents, depth + 1)));
    Json::Object(fields.collect())
}

fn entity(schema: &Schema, t: EntityTypeId, id: &str, ents: &mut BTreeMap<(u32, String), Json>, depth: usize) {
    let key = (t.0, id.to_string());
    if ents.contains_key(&key) || depth > 8 {
        return;
    }
    ents.insert(key.clone(), Json::Null);
    let attrs = record(schema, &schema.entity(t).unwrap().attrs, ents, depth + 1);
    ents.insert(key, json!({"type": schema.entity_name(t), "id": id, "attrs": attrs}));
}

/// 1,000 rules over the 50 actions and 40 intents of the generated schema: rule `k` names
/// action `k mod 50` and starts with a test of one of 5 intents for that action, so each
/// (action, intent) pair has 4 rules (60 % permits, 25 % forbids, 15 % escalates).
/// (The general generated set of `benches/gen` cannot serve here: its `*` targets and action
/// groups leave 27 or more candidate rules for every request.)
fn spread_rules(n: usize) -> Vec<String> {
    (0..n)
        .map(|k| {
            let action = k % 50;
            let intent = policygen::intent_name((action + 7 * ((k / 50) % 5)) % 40);
            let effect = match k % 20 {
                0..12 => "permit",
                12..17 => "forbid",
                _ => "escalate",
            };
            let threshold = 20 + (k * 37) % 70;
            format!(
                "@id(\"s-{k:04}\")\n{effect} * to act_{action:02} on *\n  when intent == {intent}\n   and context.risk < {threshold}\n   and context.session like \"s-*\";\n"
            )
        })
        .collect()
}

fn four_of_1000(c: &mut Criterion) {
    let rules = spread_rules(1000);
    let set = |rules: &[String]| {
        let files = [
            ("schema.writ".to_string(), policygen::schema()),
            ("intents.writ".to_string(), policygen::intents(40)),
            ("rules.writ".to_string(), rules.join("\n")),
        ];
        let pairs: Vec<(&str, &str)> = files.iter().map(|(a, b)| (a.as_str(), b.as_str())).collect();
        PolicySet::from_sources(&pairs).unwrap()
    };
    let big = set(&rules);
    let schema = &big.ir().schema;
    // act_00 (Agent | Human -> Tool) with intent 0: rules 0, 250, 500 and 750.
    let four_rules: Vec<String> = rules.iter().step_by(250).cloned().collect();
    let four = set(&four_rules);
    let action = schema.action_id("act_00").unwrap();
    let (pt, rt) = (schema.entity_id("Agent").unwrap(), schema.entity_id("Tool").unwrap());
    let mut ents = BTreeMap::new();
    entity(schema, pt, "p", &mut ents, 0);
    entity(schema, rt, "r", &mut ents, 0);
    let mut ctx = record(schema, &schema.action(action).unwrap().context, &mut ents, 0);
    ctx["session"] = json!("s-1");
    ctx["risk"] = json!(30);
    let entities_json = serde_json::to_string(&ents.values().collect::<Vec<_>>()).unwrap();
    let request_json = json!({
        "principal": {"type": "Agent", "id": "p"},
        "action": "act_00",
        "resource": {"type": "Tool", "id": "r"},
        "intent": policygen::intent_name(0),
        "context": ctx,
    })
    .to_string();
    let mut g = c.benchmark_group("targets");
    let mut decisions = Vec::new();
    for (label, set) in [("1000_rules", &big), ("4_rules", &four)] {
        let engine = Engine::compile(set).unwrap();
        let entities = engine.entities_from_json(&entities_json).unwrap();
        let request = engine.request_from_json(&request_json, &entities).unwrap();
        assert!(engine.runs_native(&request));
        let visited = engine.candidate_rules(&request);
        assert_eq!(visited.iter().map(|r| &**r).collect::<Vec<_>>(), ["s-0000", "s-0250", "s-0500", "s-0750"]);
        decisions.push(engine.decide(&request));
        g.bench_function(format!("four_of_1000/{label}/decide"), |b| {
            b.iter(|| black_box(engine.decide(black_box(&request))))
        });
    }
    // Both sets give the same answer for it (the rules that can apply are the same).
    assert_eq!(decisions[0].decision, decisions[1].decision);
    assert_eq!(
        decisions[0].reasons.iter().map(|r| &r.rule).collect::<Vec<_>>(),
        decisions[1].reasons.iter().map(|r| &r.rule).collect::<Vec<_>>()
    );
    g.finish();
}

criterion_group!(benches, spec, four_of_1000);
criterion_main!(benches);
