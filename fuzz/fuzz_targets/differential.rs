//! Fuzz bytes seed the generator of `tests/gen/mod.rs` (the one `tests/differential.rs` runs
//! inside `cargo test`); the interpreter and the compiled engine must agree on every
//! decision of the generated policy set, and the generated set must check.
#![no_main]

#[path = "../../tests/gen/mod.rs"]
mod generator;

use libfuzzer_sys::fuzz_target;
use writ::{Engine, PolicySet};

fuzz_target!(|data: &[u8]| {
    // The first 8 bytes are the seed; the next ones size the case.
    let mut seed = [0u8; 8];
    for (s, b) in seed.iter_mut().zip(data.iter()) {
        *s = *b;
    }
    let seed = u64::from_le_bytes(seed);
    let byte = |i: usize| data.get(i).copied().unwrap_or(0) as usize;
    let cfg = generator::Config {
        requests: 1 + byte(8) % 32,
        max_rules: 1 + byte(9) % 25,
        malformed_percent: byte(10) % 20,
        ..generator::Config::default()
    };
    let case = generator::generate_with(seed, &cfg);
    let policies = PolicySet::from_sources(&case.sources()).unwrap_or_else(|e| {
        panic!("generator bug: seed {seed} does not check\n{}\n{}", e.render(), case.policy_text())
    });
    let interp = Engine::interpreted(&policies);
    let compiled = Engine::compile(&policies).unwrap_or_else(|e| panic!("Engine::compile failed: {e}"));
    let ei = interp.entities_from_json(&case.entities).unwrap_or_else(|e| panic!("generator bug: entities: {e}"));
    let ec = compiled.entities_from_json(&case.entities).unwrap_or_else(|e| panic!("entities (compiled): {e}"));
    for text in &case.requests {
        let (a, b) = (interp.request_from_json(text, &ei), compiled.request_from_json(text, &ec));
        match (a, b) {
            (Ok(ra), Ok(rb)) => {
                let (da, db) = (interp.decide(&ra), compiled.decide(&rb));
                assert!(
                    da == db,
                    "seed {seed}: the engines disagree\n{}\n---- entities\n{}\n---- request\n{text}\n---- interpreter\n{}\n---- compiled\n{}",
                    case.policy_text(),
                    case.entities,
                    serde_json::to_string_pretty(&da).unwrap_or_default(),
                    serde_json::to_string_pretty(&db).unwrap_or_default()
                );
            }
            (Err(ea), Err(eb)) => assert_eq!(ea.to_string(), eb.to_string(), "seed {seed}: request {text}"),
            (a, b) => {
                panic!("seed {seed}: one engine decodes {text}, the other does not: {:?} / {:?}", a.err(), b.err())
            }
        }
        let (ja, jb) = (interp.decide_json(text, &ei), compiled.decide_json(text, &ec));
        assert!(ja == jb, "seed {seed}: decide_json disagrees on {text}");
    }
});
