//! The evaluation budget (`writ::DEFAULT_FUEL`) on the shape that motivated it: a nested
//! quantifier over a 30,000-element request set (`all a in S: all b in S: …`, 9 × 10⁸ body
//! evaluations unbounded, 58 s on the interpreter before the budget). With the default budget
//! the rule runs out after a million units and fails closed (deny, one error); this measures
//! how long that takes on each back end, decoding excluded. Run: `cargo bench --bench fuel`.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, clippy::indexing_slicing)]

use criterion::{Criterion, criterion_group, criterion_main};
use std::hint::black_box;
use std::time::Duration;

const POLICY: &str = r#"
schema {
  entity Agent
  entity Tool
  action call: Agent -> Tool { tags: Set<String> }
}
@id("allow-calls") permit Agent to call on Tool;
@id("distinct-tags") forbid Agent to call on Tool
  unless all a in context.tags: all b in context.tags: a == b or a != b;
"#;

const ELEMENTS: usize = 30_000;

fn request() -> String {
    let tags: Vec<String> = (0..ELEMENTS).map(|i| format!("\"tag-{i}\"")).collect();
    format!(
        r#"{{"principal": {{"type": "Agent", "id": "a"}}, "action": "call",
            "resource": {{"type": "Tool", "id": "t"}}, "context": {{"tags": [{}]}}}}"#,
        tags.join(",")
    )
}

fn bench(c: &mut Criterion) {
    let policies = writ::PolicySet::from_sources(&[("fuel.writ", POLICY)]).expect("the policy checks");
    let json = request();
    let mut g = c.benchmark_group("fuel");
    g.sample_size(10).measurement_time(Duration::from_secs(10));
    // A 30,000-item set is over the default set limit (10,000): the host raises it, and the
    // budget is what bounds the decision.
    let limits = writ::Limits { max_set_len: ELEMENTS, ..Default::default() };
    let options = writ::EngineOptions { limits, ..Default::default() };
    let engines = [
        ("interp", writ::Engine::interpreted_with(&policies, options)),
        ("jit", writ::Engine::compile_with(&policies, options).unwrap()),
    ];
    for (name, engine) in engines {
        let entities =
            engine.entities_from_json(r#"[{"type": "Agent", "id": "a"}, {"type": "Tool", "id": "t"}]"#).unwrap();
        let request = engine.request_from_json(&json, &entities).unwrap();
        let d = engine.decide(&request);
        assert_eq!(d.decision, writ::Verdict::Deny, "{name}: {d:?}");
        assert_eq!(d.errors.len(), 1, "{name}: {d:?}");
        g.bench_function(format!("nested-quantifier-30000/{name}"), |b| {
            b.iter(|| black_box(engine.decide(black_box(&request))))
        });
    }
    g.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
