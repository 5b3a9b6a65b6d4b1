//! Any bytes as an entity store for the example in `examples/spec/`: decoding never
//! panics and never takes unbounded time; a store that decodes is decoded the same by both
//! engines, and every shipped request of the example then gets the same decision from both.
#![no_main]

#[path = "shared/spec.rs"]
mod spec;

use libfuzzer_sys::fuzz_target;
use std::sync::OnceLock;
use writ::Engine;

struct Fixture {
    interp: Engine,
    compiled: Engine,
    requests: Vec<&'static str>,
}

fn fixture() -> &'static Fixture {
    static FIXTURE: OnceLock<Fixture> = OnceLock::new();
    FIXTURE.get_or_init(|| {
        let (interp, compiled) = spec::engines();
        let requests = vec![
            include_str!("../../examples/spec/request.json"),
            include_str!("../../examples/spec/requests/destructive.json"),
            include_str!("../../examples/spec/requests/read_secret.json"),
            include_str!("../../examples/spec/requests/for_uncleared_human.json"),
            include_str!("../../examples/spec/requests/unknown_tool.json"),
        ];
        Fixture { interp, compiled, requests }
    })
}

fuzz_target!(|data: &[u8]| {
    let f = fixture();
    let text = String::from_utf8_lossy(data);
    let x = f.interp.entities_from_json(&text);
    let y = f.compiled.entities_from_json(&text);
    match (x, y) {
        (Ok(ei), Ok(ec)) => {
            for r in &f.requests {
                let a = f.interp.decide_json(r, &ei);
                let b = f.compiled.decide_json(r, &ec);
                assert_eq!(a, b, "the engines disagree on request {r} with entity store {text:?}");
            }
        }
        (Err(a), Err(b)) => assert_eq!(a.to_string(), b.to_string(), "different errors for {text:?}"),
        (a, b) => panic!(
            "one engine decodes the store, the other does not: {:?} / {:?} for {text:?}",
            a.err().map(|e| e.to_string()),
            b.err().map(|e| e.to_string())
        ),
    }
});
