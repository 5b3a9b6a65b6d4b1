//! Issue 13, bounded cost of host data: loading an entity store whose parents form one deep
//! chain, and deciding a request that brings the deepest allowed chain of inline entities.
//! Before the hierarchy was computed per strongly connected component (and bounded), a
//! 10,000-deep chain took about 37 s and 1.4 GB to load and a 4,000-deep inline chain about
//! 5 s per request. Run: `cargo bench --bench hardening`.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, clippy::indexing_slicing)]

use criterion::{Criterion, criterion_group, criterion_main};
use std::hint::black_box;
use writ::{Engine, EngineOptions, Limits, PolicySet, Verdict};

const POLICY: &str = r#"
schema { entity G in G  entity Agent in G  entity Tool  action call: Agent -> Tool }
@id("top") permit Agent to call on Tool when principal in G::"g0";
"#;

/// `n` groups, `g{n-1}` ⊂ … ⊂ `g0` (child first), and an agent in the deepest.
fn chain(prefix: &str, agent: &str, n: usize, top_parent: &str) -> Vec<String> {
    let mut items: Vec<String> = (0..n)
        .rev()
        .map(|i| {
            let parent =
                if i == 0 { top_parent.to_string() } else { format!(r#"{{"type": "G", "id": "{prefix}{}"}}"#, i - 1) };
            format!(r#"{{"type": "G", "id": "{prefix}{i}", "parents": [{parent}]}}"#)
        })
        .collect();
    items.push(format!(
        r#"{{"type": "Agent", "id": "{agent}", "parents": [{{"type": "G", "id": "{prefix}{}"}}]}}"#,
        n - 1
    ));
    items
}

fn bench(c: &mut Criterion) {
    let policies = PolicySet::from_sources(&[("p.writ", POLICY)]).unwrap();
    let mut g = c.benchmark_group("hardening");
    g.sample_size(10);

    // A 10,000-deep chain: rejected at the default depth limit, as soon as the depth is known.
    let deep = {
        let mut items = chain("g", "a", 10_000, "");
        items.push(r#"{"type": "Tool", "id": "t"}"#.into());
        format!("[{}]", items.join(",\n"))
    };
    let interp = Engine::interpreted(&policies);
    assert!(interp.entities_from_json(&deep).is_err());
    g.bench_function("load 10,000-deep chain (rejected at the default limit)", |b| {
        b.iter(|| black_box(interp.entities_from_json(black_box(&deep)).is_err()))
    });

    // The same chain loaded under a limit raised to 10,000: the ancestors of a chain are
    // quadratic in its length (each entity lists all above it), the work per ancestor constant.
    let raised =
        EngineOptions { limits: Limits { max_hierarchy_depth: 10_000, ..Default::default() }, ..Default::default() };
    let interp_raised = Engine::interpreted_with(&policies, raised);
    g.bench_function("load 10,000-deep chain (limit raised to 10,000)", |b| {
        b.iter(|| black_box(interp_raised.entities_from_json(black_box(&deep)).unwrap().store().len()))
    });

    // The deepest chain the default limit allows, on both back ends.
    let depth = Limits::default().max_hierarchy_depth;
    let at_limit = {
        let mut items = chain("g", "a", depth, "");
        items.push(r#"{"type": "Tool", "id": "t"}"#.into());
        format!("[{}]", items.join(",\n"))
    };
    let jit = Engine::compile(&policies).unwrap();
    for (name, e) in [("interp", &interp), ("jit", &jit)] {
        g.bench_function(format!("{name}/load {depth}-deep chain (the default limit)"), |b| {
            b.iter(|| black_box(e.entities_from_json(black_box(&at_limit)).unwrap().store().len()))
        });
    }

    // A request bringing the deepest inline chain allowed (hanging under the stored `g0`).
    let stored = r#"[{"type": "G", "id": "g0"}, {"type": "Tool", "id": "t"}]"#;
    let inline = chain("h", "b", depth - 1, r#"{"type": "G", "id": "g0"}"#).join(",\n");
    let request = format!(
        r#"{{"principal": {{"type": "Agent", "id": "b"}}, "action": "call", "resource": {{"type": "Tool", "id": "t"}},
            "entities": [{inline}]}}"#
    );
    for (name, e) in [("interp", &interp), ("jit", &jit)] {
        let ents = e.entities_from_json(stored).unwrap();
        assert_eq!(e.decide_json(&request, &ents).decision, Verdict::Allow);
        g.bench_function(format!("{name}/decide with a {}-deep inline chain (the default limit)", depth - 1), |b| {
            b.iter(|| black_box(e.decide_json(black_box(&request), &ents)))
        });
    }
    g.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
