//! Issue 14, live updates: one upsert into a 100,000-entity store, on both back ends (the
//! JIT engine also lays the entity out again for its native code). Target ≤ 50 µs.
//! Run: `cargo bench --bench live`.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, clippy::indexing_slicing)]

use criterion::{Criterion, criterion_group, criterion_main};
use serde_json::{Value, json};
use writ::{Engine, PolicySet};

const POLICY: &str = r#"
schema {
  entity Team in Team
  entity Agent in Team { level: Int, env: String }
  entity Tool in Team { risky: Bool }
  action call: Agent -> Tool
}
@id("team") permit Agent to call on Tool when principal in Team::"t0" and not resource.risky;
@id("level") permit Agent to call on Tool when principal.level > 5;
"#;

/// 100 teams under `t0`, 89,900 agents and 10,000 tools spread over them: 100,000 entities.
fn store() -> Value {
    let mut items = vec![json!({"type": "Team", "id": "t0"})];
    for t in 1..100 {
        items.push(json!({"type": "Team", "id": format!("t{t}"), "parents": [{"type": "Team", "id": "t0"}]}));
    }
    for a in 0..89_900 {
        items.push(json!({"type": "Agent", "id": format!("a{a}"), "attrs": {"level": a % 10, "env": "prod"},
                          "parents": [{"type": "Team", "id": format!("t{}", a % 100)}]}));
    }
    for t in 0..10_000 {
        items.push(json!({"type": "Tool", "id": format!("tool{t}"), "attrs": {"risky": t % 7 == 0},
                          "parents": [{"type": "Team", "id": format!("t{}", t % 100)}]}));
    }
    Value::Array(items)
}

fn bench(c: &mut Criterion) {
    let policies = PolicySet::from_sources(&[("p.writ", POLICY)]).unwrap();
    let all = store();
    let mut g = c.benchmark_group("live");
    for (name, engine) in [("jit", Engine::compile(&policies).unwrap()), ("interp", Engine::interpreted(&policies))] {
        let mut entities = engine.entities_from_value(&all).unwrap();
        assert_eq!(entities.len(), 100_000);
        // An attribute change (the usual update) …
        let attrs =
            [5, 6].map(|l| json!({"type": "Agent", "id": "a4242", "attrs": {"level": l, "env": "prod"}, "parents": [{"type": "Team", "id": "t42"}]}));
        let mut i = 0;
        g.bench_function(format!("upsert-attrs/{name}"), |b| {
            b.iter(|| {
                i += 1;
                engine.upsert_entities(&mut entities, &attrs[i % 2]).unwrap();
            })
        });
        // … and a move to another team (the entity's ancestors are recomputed).
        let moves =
            [41, 42].map(|t| json!({"type": "Agent", "id": "a4242", "attrs": {"level": 5, "env": "prod"}, "parents": [{"type": "Team", "id": format!("t{t}")}]}));
        g.bench_function(format!("upsert-parents/{name}"), |b| {
            b.iter(|| {
                i += 1;
                engine.upsert_entities(&mut entities, &moves[i % 2]).unwrap();
            })
        });
        // A new entity and its removal, in one iteration.
        let fresh = json!({"type": "Tool", "id": "new-tool", "attrs": {"risky": false}, "parents": [{"type": "Team", "id": "t1"}]});
        g.bench_function(format!("insert+remove/{name}"), |b| {
            b.iter(|| {
                engine.upsert_entities(&mut entities, &fresh).unwrap();
                assert!(engine.remove_entity(&mut entities, "Tool", "new-tool").unwrap());
            })
        });
        // The decision still comes out right after all that.
        let req = json!({"principal": {"type": "Agent", "id": "a4242"}, "action": "call", "resource": {"type": "Tool", "id": "tool1"}});
        assert!(engine.decide(&engine.request_from_value(&req, &entities).unwrap()).is_allowed());
    }
    g.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
