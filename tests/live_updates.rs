//! Live updates of a long-running host (issue 14): entities upserted and removed in place
//! decide exactly as a store decoded afresh from the same entities, on both back ends; a
//! store is re-laid for a new engine; and policy sets swap under concurrent decisions with
//! no decision made by a mix of two sets.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, clippy::indexing_slicing)]

#[path = "common/mod.rs"]
mod common;

use common::rng::Rng;
use serde_json::{Value, json};
use std::collections::BTreeMap;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, RwLock};
use writ::{Backend, Decision, DecodeErrorKind, Engine, Entities, PolicySet};

const POLICY: &str = r#"
schema {
  entity Group in Group
  entity Agent in Group { level: Int, boss: Agent? }
  entity Tool in Group { risky: Bool }
  action call: Agent -> Tool
}
@id("g0-tools") permit Agent to call on Tool when principal in Group::"g0" and resource in Group::"g1";
@id("high") permit Agent to call on Tool when principal.level > 5;
@id("risky") forbid Agent to call on Tool when resource.risky and not (principal in Group::"g2");
@id("bossed") escalate Agent to call on Tool when principal has boss and principal.boss in Group::"g3";
"#;

const GROUPS: usize = 6;
const AGENTS: usize = 6;
const TOOLS: usize = 4;

fn group(i: usize) -> Value {
    json!({"type": "Group", "id": format!("g{i}")})
}

/// A random entity of the universe: groups point at groups (cycles allowed), agents and
/// tools at groups; an agent's boss is another agent that the store holds.
fn random_entity(rng: &mut Rng, held: &BTreeMap<(String, String), Value>) -> Value {
    let parents = |rng: &mut Rng| -> Vec<Value> { (0..rng.below(3)).map(|_| group(rng.below(GROUPS))).collect() };
    match rng.below(3) {
        0 => json!({"type": "Group", "id": format!("g{}", rng.below(GROUPS)), "parents": parents(rng)}),
        1 => {
            let mut attrs = json!({"level": rng.below(10)});
            let agents: Vec<&(String, String)> = held.keys().filter(|(t, _)| t == "Agent").collect();
            if rng.chance(50) && !agents.is_empty() {
                attrs["boss"] = json!({"type": "Agent", "id": rng.pick(&agents).1});
            }
            json!({"type": "Agent", "id": format!("a{}", rng.below(AGENTS)), "attrs": attrs, "parents": parents(rng)})
        }
        _ => {
            json!({"type": "Tool", "id": format!("t{}", rng.below(TOOLS)), "attrs": {"risky": rng.chance(50)}, "parents": parents(rng)})
        }
    }
}

fn key(e: &Value) -> (String, String) {
    (e["type"].as_str().unwrap().to_string(), e["id"].as_str().unwrap().to_string())
}

/// Every decision of every agent on every tool the store holds.
fn decisions(engine: &Engine, entities: &Entities, held: &BTreeMap<(String, String), Value>) -> Vec<Decision> {
    let mut out = Vec::new();
    for a in held.keys().filter(|(t, _)| t == "Agent") {
        for t in held.keys().filter(|(t, _)| t == "Tool") {
            let req = json!({"principal": {"type": "Agent", "id": a.1}, "action": "call", "resource": {"type": "Tool", "id": t.1}});
            out.push(match engine.request_from_value(&req, entities) {
                Ok(r) => engine.decide(&r),
                Err(e) => Decision::bad_request(e.to_string()),
            });
        }
    }
    out
}

/// Random upserts (single and batched) and removals on a live store, each followed by the
/// decisions of every request compared with a store decoded from scratch, on both back ends.
#[test]
fn upserts_and_removals_decide_as_a_fresh_store() {
    let policies = PolicySet::from_sources(&[("p.writ", POLICY)]).unwrap();
    let jit = Engine::compile(&policies).unwrap();
    assert_eq!(jit.backend(), Backend::Jit);
    let interp = Engine::interpreted(&policies);
    let mut rng = Rng(0x11fe);
    let mut steps = 0;
    for round in 0..40 {
        let mut held: BTreeMap<(String, String), Value> = BTreeMap::new();
        let mut live = [jit.empty_entities(), interp.empty_entities()];
        for _ in 0..30 {
            // An update of one or a few entities, or a removal.
            if rng.chance(20) && !held.is_empty() {
                let keys: Vec<(String, String)> = held.keys().cloned().collect();
                let k = rng.pick(&keys).clone();
                let referenced =
                    held.values().any(|e| e["attrs"]["boss"]["id"].as_str() == Some(k.1.as_str()) && k.0 == "Agent");
                for (engine, entities) in [&jit, &interp].into_iter().zip(live.iter_mut()) {
                    let r = engine.remove_entity(entities, &k.0, &k.1);
                    if referenced {
                        assert!(r.is_err(), "round {round}: removing referenced {k:?} must fail");
                    } else {
                        assert!(r.unwrap(), "round {round}: {k:?} was held");
                    }
                }
                if !referenced {
                    held.remove(&k);
                }
            } else {
                let n = 1 + rng.below(3);
                let mut batch: BTreeMap<(String, String), Value> = BTreeMap::new();
                for _ in 0..n {
                    let e = random_entity(&mut rng, &held);
                    batch.insert(key(&e), e);
                }
                let value = Value::Array(batch.values().cloned().collect());
                let results: Vec<bool> = [&jit, &interp]
                    .into_iter()
                    .zip(live.iter_mut())
                    .map(|(engine, entities)| engine.upsert_entities(entities, &value).is_ok())
                    .collect();
                assert_eq!(results[0], results[1], "round {round}: the back ends disagree on {value}");
                if results[0] {
                    held.extend(batch);
                }
            }
            steps += 1;
            let all = Value::Array(held.values().cloned().collect());
            for (engine, entities) in [&jit, &interp].into_iter().zip(live.iter()) {
                let fresh = engine.entities_from_value(&all).unwrap_or_else(|e| panic!("round {round}: {e}\n{all}"));
                assert_eq!(entities.len(), fresh.len());
                let (a, b) = (decisions(engine, entities, &held), decisions(engine, &fresh, &held));
                assert_eq!(a, b, "round {round}: the live store decides otherwise than a fresh one\n{all}");
            }
            assert_eq!(decisions(&jit, &live[0], &held), decisions(&interp, &live[1], &held), "round {round}");
        }
    }
    assert_eq!(steps, 40 * 30);
}

/// An update that would break the store changes nothing: an unknown reference, a hierarchy
/// past the depth limit, a duplicate in one batch.
#[test]
fn a_failed_update_changes_nothing() {
    let policies = PolicySet::from_sources(&[("p.writ", POLICY)]).unwrap();
    for engine in [Engine::compile(&policies).unwrap(), Engine::interpreted(&policies)] {
        let mut entities = engine
            .entities_from_value(&json!([
                {"type": "Group", "id": "g0"},
                {"type": "Agent", "id": "a", "attrs": {"level": 1}, "parents": [group(0)]},
                {"type": "Tool", "id": "t", "attrs": {"risky": false}, "parents": [group(1)]}
            ]))
            .unwrap();
        let before = decisions(
            &engine,
            &entities,
            &[(("Agent".into(), "a".into()), json!(null)), (("Tool".into(), "t".into()), json!(null))].into(),
        );
        let err = engine
            .upsert_entities(&mut entities, &json!([{"type": "Agent", "id": "b", "attrs": {"level": 9, "boss": {"type": "Agent", "id": "nobody"}}}]))
            .unwrap_err();
        assert_eq!((err.kind(), err.path()), (DecodeErrorKind::UnknownEntity, "[0].attrs.boss"));
        let err = engine
            .upsert_entities(&mut entities, &json!([{"type": "Tool", "id": "t", "attrs": {"risky": true}}, {"type": "Tool", "id": "t", "attrs": {"risky": true}}]))
            .unwrap_err();
        assert_eq!((err.kind(), err.path()), (DecodeErrorKind::DuplicateEntity, "[1]"));
        let strict = engine.with_options(writ::EngineOptions {
            limits: writ::Limits { max_hierarchy_depth: 2, ..Default::default() },
            ..Default::default()
        });
        let chain = json!([
            {"type": "Group", "id": "g3", "parents": [group(2)]},
            {"type": "Group", "id": "g2", "parents": [group(1)]},
            {"type": "Group", "id": "g1", "parents": [group(0)]}
        ]);
        let err = strict.upsert_entities(&mut entities, &chain).unwrap_err();
        assert_eq!(err.kind(), DecodeErrorKind::Limit, "{err}");
        assert_eq!(entities.len(), 3);
        let after = decisions(
            &engine,
            &entities,
            &[(("Agent".into(), "a".into()), json!(null)), (("Tool".into(), "t".into()), json!(null))].into(),
        );
        assert_eq!(before, after);
    }
}

/// A removed parent stays a label of its children's hierarchy, its own ancestors leave.
#[test]
fn removing_a_parent_keeps_it_as_a_label() {
    let policies = PolicySet::from_sources(&[("p.writ", POLICY)]).unwrap();
    for engine in [Engine::compile(&policies).unwrap(), Engine::interpreted(&policies)] {
        let mut entities = engine
            .entities_from_value(&json!([
                {"type": "Group", "id": "g5", "parents": [group(0)]},
                {"type": "Agent", "id": "a", "attrs": {"level": 1}, "parents": [group(5)]},
                {"type": "Tool", "id": "t", "attrs": {"risky": false}, "parents": [group(1)]}
            ]))
            .unwrap();
        let req = json!({"principal": {"type": "Agent", "id": "a"}, "action": "call", "resource": {"type": "Tool", "id": "t"}});
        let decide = |entities: &Entities| engine.decide(&engine.request_from_value(&req, entities).unwrap());
        assert!(decide(&entities).is_allowed(), "a is in g0 through g5");
        assert!(engine.remove_entity(&mut entities, "Group", "g5").unwrap());
        assert!(!decide(&entities).is_allowed(), "g5 no longer says it is in g0");
        // Put it back under g0: allowed again.
        engine.upsert_entities(&mut entities, &json!({"type": "Group", "id": "g5", "parents": [group(0)]})).unwrap();
        assert!(decide(&entities).is_allowed());
        let err = engine.remove_entity(&mut entities, "Robot", "r").unwrap_err();
        assert_eq!(err.kind(), DecodeErrorKind::UnknownType);
    }
}

/// Updating a store that a request still holds copies it: the request decides on what it
/// was decoded against.
#[test]
fn a_request_keeps_the_store_it_was_decoded_against() {
    let policies = PolicySet::from_sources(&[("p.writ", POLICY)]).unwrap();
    for engine in [Engine::compile(&policies).unwrap(), Engine::interpreted(&policies)] {
        let mut entities = engine
            .entities_from_value(&json!([
                {"type": "Agent", "id": "a", "attrs": {"level": 9}},
                {"type": "Tool", "id": "t", "attrs": {"risky": false}}
            ]))
            .unwrap();
        let req = json!({"principal": {"type": "Agent", "id": "a"}, "action": "call", "resource": {"type": "Tool", "id": "t"}});
        let old = engine.request_from_value(&req, &entities).unwrap();
        engine.upsert_entities(&mut entities, &json!({"type": "Agent", "id": "a", "attrs": {"level": 1}})).unwrap();
        assert!(engine.decide(&old).is_allowed(), "the old request still sees level 9");
        assert_eq!(engine.runs_native(&old), engine.backend() == Backend::Jit);
        let new = engine.request_from_value(&req, &entities).unwrap();
        assert!(!engine.decide(&new).is_allowed(), "a new one sees level 1");
        assert_eq!(engine.runs_native(&new), engine.backend() == Backend::Jit);
    }
}

/// A store decoded by one engine is re-laid for a new engine of the same schema (natively
/// decided) and refused by an engine of another schema.
#[test]
fn a_store_is_relaid_for_a_new_engine() {
    let a = PolicySet::from_sources(&[("p.writ", POLICY)]).unwrap();
    let old = Engine::compile(&a).unwrap();
    let entities =
        old.entities_from_value(&json!([{"type": "Agent", "id": "a", "attrs": {"level": 9}}, {"type": "Tool", "id": "t", "attrs": {"risky": false}}])).unwrap();
    let new = Engine::compile(&a).unwrap();
    let req =
        json!({"principal": {"type": "Agent", "id": "a"}, "action": "call", "resource": {"type": "Tool", "id": "t"}});
    let before = new.request_from_value(&req, &entities).unwrap();
    assert!(!new.runs_native(&before), "laid out for the old engine");
    let relaid = new.relay_entities(&entities).unwrap();
    let after = new.request_from_value(&req, &relaid).unwrap();
    assert!(new.runs_native(&after));
    assert_eq!(new.decide(&before), new.decide(&after));
    let other =
        PolicySet::from_sources(&[("p.writ", &POLICY.replace("level: Int", "level: Int, team: String?"))]).unwrap();
    let err = Engine::compile(&other).unwrap().relay_entities(&entities).unwrap_err();
    assert_eq!(err.kind(), DecodeErrorKind::StaleSchema);
}

/// What a host holds and swaps: one engine with its store, made together.
struct Snapshot {
    engine: Engine,
    entities: Entities,
}

const SET_A: &str = r#"
schema { entity Agent  entity Tool  action call: Agent -> Tool }
@id("a-allow") permit Agent to call on Tool;
@id("a-audit") permit Agent to call on Tool when principal == Agent::"x";
"#;
const SET_B: &str = r#"
schema { entity Agent  entity Tool  action call: Agent -> Tool }
@id("b-allow") permit Agent to call on Tool;
@id("b-block") forbid Agent to call on Tool when principal == Agent::"x";
"#;

/// The swap pattern of docs/embedding.md: the current snapshot behind an
/// `RwLock<Arc<Snapshot>>`; a decision clones the `Arc` (a moment under the lock) and decides
/// outside it, so a swap never waits for decisions and a decision in flight finishes on the
/// set it started with. 1,000 swaps while two threads decide: every decision is wholly one
/// set's — its verdict and reasons are that set's answer, and it names that set's version.
#[test]
fn policy_sets_swap_under_concurrent_decisions() {
    let sets: Vec<Arc<Snapshot>> = [SET_A, SET_B]
        .iter()
        .map(|src| {
            let p = PolicySet::from_sources(&[("p.writ", src)]).unwrap();
            let engine = Engine::compile(&p).unwrap();
            let entities = engine
                .entities_from_value(&json!([{"type": "Agent", "id": "x"}, {"type": "Tool", "id": "t"}]))
                .unwrap();
            Arc::new(Snapshot { engine, entities })
        })
        .collect();
    let (va, vb) = (sets[0].engine.policy().version().to_string(), sets[1].engine.policy().version().to_string());
    assert_ne!(va, vb);
    let current = Arc::new(RwLock::new(sets[0].clone()));
    let done = Arc::new(AtomicBool::new(false));
    let decided = Arc::new(AtomicUsize::new(0));
    let req =
        r#"{"principal": {"type": "Agent", "id": "x"}, "action": "call", "resource": {"type": "Tool", "id": "t"}}"#;
    let deciders: Vec<_> = (0..2)
        .map(|_| {
            let (current, done, decided) = (current.clone(), done.clone(), decided.clone());
            let (va, vb) = (va.clone(), vb.clone());
            std::thread::spawn(move || {
                let mut seen = [0usize; 2];
                while !done.load(Ordering::Acquire) {
                    let snap = current.read().unwrap().clone();
                    let d = snap.engine.decide_json(req, &snap.entities);
                    let rules: Vec<&str> = d.reasons.iter().map(|r| &*r.rule).collect();
                    let v = d.policy_version().unwrap();
                    if v == va {
                        assert!(d.is_allowed() && rules == ["a-allow", "a-audit"], "set A decided {rules:?}");
                        seen[0] += 1;
                    } else {
                        assert_eq!(v, vb);
                        assert!(!d.is_allowed() && rules == ["b-block"], "set B decided {rules:?}");
                        seen[1] += 1;
                    }
                    decided.fetch_add(1, Ordering::Relaxed);
                }
                seen
            })
        })
        .collect();
    for i in 0..1000 {
        *current.write().unwrap() = sets[(i + 1) % 2].clone();
        // Let the deciders run between swaps (a bounded wait, never a timing assertion).
        let target = decided.load(Ordering::Relaxed) + 2;
        let mut spins = 0;
        while decided.load(Ordering::Relaxed) < target && spins < 100_000 {
            std::thread::yield_now();
            spins += 1;
        }
    }
    done.store(true, Ordering::Release);
    let seen: Vec<[usize; 2]> = deciders.into_iter().map(|t| t.join().unwrap()).collect();
    let total: usize = seen.iter().map(|s| s[0] + s[1]).sum();
    assert!(total >= 2, "the deciders decided");
    assert!(seen.iter().map(|s| s[0]).sum::<usize>() > 0 && seen.iter().map(|s| s[1]).sum::<usize>() > 0, "{seen:?}");
}

/// Updates that leave old words in the JIT's arenas (sets, here) wear the layout until it is
/// laid out anew; decisions stay right across that point (20,000 updates of an 8-element set
/// are well past it).
#[test]
fn many_updates_of_set_attributes_stay_right() {
    let src = r#"
schema { entity Agent { tags: Set<String> }  entity Tool  action call: Agent -> Tool }
@id("tagged") permit Agent to call on Tool when principal.tags.contains("ok");
"#;
    let policies = PolicySet::from_sources(&[("p.writ", src)]).unwrap();
    let engine = Engine::compile(&policies).unwrap();
    let mut entities = engine
        .entities_from_value(&json!([{"type": "Agent", "id": "a", "attrs": {"tags": []}}, {"type": "Tool", "id": "t"}]))
        .unwrap();
    let req =
        r#"{"principal": {"type": "Agent", "id": "a"}, "action": "call", "resource": {"type": "Tool", "id": "t"}}"#;
    for i in 0..20_000 {
        let ok = i % 3 == 0;
        let mut tags: Vec<String> = (0..7).map(|k| format!("t{}", (i + k) % 50)).collect();
        if ok {
            tags.push("ok".into());
        }
        engine.upsert_entities(&mut entities, &json!({"type": "Agent", "id": "a", "attrs": {"tags": tags}})).unwrap();
        if i % 97 == 0 || i >= 19_990 {
            let d = engine.decide_json(req, &entities);
            assert_eq!((d.is_allowed(), d.ran_on()), (ok, Some(Backend::Jit)), "update {i}");
        }
    }
}
