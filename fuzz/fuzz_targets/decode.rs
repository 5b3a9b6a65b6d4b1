//! Any bytes as a request (and as an entity store) for the running example (`examples/spec`): decoding never
//! panics, every request gets a decision, an undecodable one is denied, and the interpreter
//! and the compiled engine agree.
#![no_main]

#[path = "shared/spec.rs"]
mod spec;

use libfuzzer_sys::fuzz_target;
use std::sync::OnceLock;
use writ::{Engine, Entities, Verdict};

struct Fixture {
    interp: Engine,
    compiled: Engine,
    entities_interp: Entities,
    entities_compiled: Entities,
}

fn fixture() -> &'static Fixture {
    static FIXTURE: OnceLock<Fixture> = OnceLock::new();
    FIXTURE.get_or_init(|| {
        let (interp, compiled) = spec::engines();
        let store = include_str!("../../examples/spec/entities.json");
        let entities_interp = interp.entities_from_json(store).unwrap_or_else(|e| panic!("entities: {e}"));
        let entities_compiled = compiled.entities_from_json(store).unwrap_or_else(|e| panic!("entities: {e}"));
        Fixture { interp, compiled, entities_interp, entities_compiled }
    })
}

fuzz_target!(|data: &[u8]| {
    let f = fixture();
    let text = String::from_utf8_lossy(data);
    let a = f.interp.decide_json(&text, &f.entities_interp);
    let b = f.compiled.decide_json(&text, &f.entities_compiled);
    assert_eq!(a, b, "the engines disagree on request {text:?}");
    if f.interp.request_from_json(&text, &f.entities_interp).is_err() {
        assert_eq!(a.decision, Verdict::Deny, "an undecodable request was not denied: {text:?}");
    }
    // The same bytes as an entity store: decoded or refused, never a panic, same answer.
    let x = f.interp.entities_from_json(&text).map(|_| ()).map_err(|e| e.to_string());
    let y = f.compiled.entities_from_json(&text).map(|_| ()).map_err(|e| e.to_string());
    assert_eq!(x, y, "the engines disagree on entity store {text:?}");
});
