#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, clippy::indexing_slicing)]
//! The JIT back end on the shipped examples: every request file of every example decides the
//! same on both back ends, natively. (The generated differential suite is `differential.rs`;
//! `writ test` also runs every example case on both back ends.)

use std::path::Path;
use writ::{Backend, Engine, PolicySet};

fn example_requests(dir: &Path) -> Vec<std::path::PathBuf> {
    let mut out = Vec::new();
    if dir.join("request.json").exists() {
        out.push(dir.join("request.json"));
    }
    if let Ok(rd) = std::fs::read_dir(dir.join("requests")) {
        for e in rd {
            let p = e.unwrap().path();
            if p.extension().is_some_and(|x| x == "json") {
                out.push(p);
            }
        }
    }
    out.sort();
    out
}

#[test]
fn every_example_request_decides_the_same_natively() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("examples");
    let mut dirs: Vec<_> =
        std::fs::read_dir(&root).unwrap().map(|e| e.unwrap().path()).filter(|p| p.is_dir()).collect();
    dirs.sort();
    let mut decided = 0;
    for dir in dirs {
        let policies = PolicySet::load(&dir).unwrap();
        let jit = Engine::compile(&policies).unwrap();
        assert_eq!(jit.backend(), Backend::Jit, "this machine is supported by Cranelift");
        let interp = Engine::interpreted(&policies);
        let ents = std::fs::read_to_string(dir.join("entities.json")).unwrap_or_else(|_| "[]".into());
        let (je, ie) = (jit.entities_from_json(&ents).unwrap(), interp.entities_from_json(&ents).unwrap());
        for req in example_requests(&dir) {
            let json = std::fs::read_to_string(&req).unwrap();
            let (a, b) = (jit.decide_json(&json, &je), interp.decide_json(&json, &ie));
            assert_eq!(a, b, "{}: back ends disagree", req.display());
            if let Ok(r) = jit.request_from_json(&json, &je) {
                assert!(jit.runs_native(&r), "{}: decided by the interpreter", req.display());
            }
            decided += 1;
        }
    }
    assert!(decided >= 30, "only {decided} example requests found");
}

#[test]
fn a_request_decoded_by_another_engine_falls_back_to_the_interpreter() {
    let src = r#"schema { entity Agent  entity Tool  action call: Agent -> Tool }
        @id("p") permit Agent to call on Tool;"#;
    let ps = PolicySet::from_sources(&[("p.writ", src)]).unwrap();
    let (a, b) = (Engine::compile(&ps).unwrap(), Engine::compile(&ps).unwrap());
    let ents = a.entities_from_json(r#"[{"type": "Agent", "id": "x"}, {"type": "Tool", "id": "t"}]"#).unwrap();
    let req = a
        .request_from_json(
            r#"{"principal": {"type": "Agent", "id": "x"}, "action": "call", "resource": {"type": "Tool", "id": "t"}}"#,
            &ents,
        )
        .unwrap();
    assert!(a.runs_native(&req));
    assert!(!b.runs_native(&req), "laid out for another compiled policy set");
    assert_eq!(a.decide(&req), b.decide(&req));
}
