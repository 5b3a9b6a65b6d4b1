//! Embedding Writ in a host that runs for months: compile a policy set once, load the
//! entity store once, decide requests from as many threads as you like, update entities in
//! place, and swap in a new policy set while decisions run (docs/embedding.md).
//!
//! Run it from the repository root: `cargo run --release --example embed`.

use std::process::ExitCode;
use std::sync::{Arc, RwLock};
use writ::{CompileError, Decision, DecodeError, Engine, Entities, JitError, PolicySet, Verdict};

/// What the host serves from: an engine and the store laid out for it, swapped together.
struct Snapshot {
    engine: Engine,
    entities: Entities,
}

/// The running example's policies, schema and entities, shipped in `examples/spec/`.
const POLICIES: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/examples/spec");
const ENTITIES: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/examples/spec/entities.json");

/// The support bot comments on a ticket for alice, at `risk` (a JSON value from the host's
/// risk engine).
fn request(risk: &str) -> String {
    format!(
        r#"{{"principal": {{"type": "Agent", "id": "support-bot"}},
            "action": "call_tool",
            "resource": {{"type": "Tool", "id": "jira.comment"}},
            "intent": "triage_ticket",
            "context": {{"now": "2026-11-23T10:15:00Z", "risk": {risk}, "source_ip": "10.1.2.3",
                         "args": {{"query": "open P1 tickets"}}}},
            "on_behalf_of": [{{"type": "Human", "id": "alice"}}]}}"#
    )
}

/// Everything that can go wrong before the first decision, each with its own type.
#[derive(Debug, thiserror::Error)]
enum HostError {
    #[error("cannot read {0}: {1}")]
    Io(&'static str, std::io::Error),
    /// The policies do not check; the diagnostics say why.
    #[error("{}", .0.render())]
    Policies(#[from] CompileError),
    #[error(transparent)]
    Jit(#[from] JitError),
    /// Bad host data, with its JSON path (`context.risk: expected Int, got "high"`).
    #[error("bad host data: {0}")]
    Decode(#[from] DecodeError),
    #[error("a thread panicked while holding the snapshot lock")]
    Poisoned,
}

fn main() -> ExitCode {
    match run() {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {e}");
            ExitCode::FAILURE
        }
    }
}

fn run() -> Result<(), HostError> {
    // Once, at start-up (and again whenever the policies change).
    let policies = PolicySet::load(POLICIES)?;
    let engine = Engine::compile(&policies)?; // native code; `Engine::interpreted` for the reference
    let entities_json = std::fs::read_to_string(ENTITIES).map_err(|e| HostError::Io(ENTITIES, e))?;
    let mut entities = engine.entities_from_json(&entities_json)?;
    println!(
        "{} rules, back end {:?}, version {}\n",
        policies.rule_ids().count(),
        engine.backend(),
        policies.version()
    );

    // Per request: decode once, then decide. A decoding error is the host's to handle...
    let allowed = engine.request_from_json(&request("12"), &entities)?;
    show("risk 12", &engine.decide(&allowed));
    let denied = engine.request_from_json(&request("85"), &entities)?;
    show("risk 85", &engine.decide(&denied));
    // ...or `decide_json` decodes and decides in one step, and denies what it cannot decode.
    show("risk \"high\"", &engine.decide_json(&request(r#""high""#), &entities));

    // `Engine`, `Entities` and `Request` are `Send + Sync`: share them, no locks.
    let allowed_by_thread = std::thread::scope(|s| {
        let workers: Vec<_> = (0..4)
            .map(|_| s.spawn(|| (0..10_000).filter(|_| engine.decide(&allowed).decision == Verdict::Allow).count()))
            .collect();
        workers.into_iter().map(|w| w.join().unwrap_or(0)).collect::<Vec<_>>()
    });
    println!("4 threads × 10,000 decisions, allowed per thread: {allowed_by_thread:?}\n");

    // Entities change in place: the tool turns destructive; only that entity is redone.
    drop((allowed, denied)); // requests hold the store; without them the update copies nothing
    let tool = r#"{"type": "Tool", "id": "jira.comment", "attrs": {"sensitivity": "public", "destructive": true},
                   "parents": [{"type": "ToolGroup", "id": "ticketing"}]}"#;
    engine.upsert_entities_json(&mut entities, tool)?;
    show("risk 12, destructive tool", &engine.decide_json(&request("12"), &entities));

    // A policy push: build the new engine off to the side, then swap. Deciders clone the
    // `Arc` under the lock for a moment and decide outside it, so a decision in flight
    // finishes on the set it started with. The store is re-laid, not decoded again.
    let current = RwLock::new(Arc::new(Snapshot { engine, entities }));
    let next = Engine::compile(&PolicySet::load(POLICIES)?)?;
    let relaid = next.relay_entities(&current.read().map_err(|_| HostError::Poisoned)?.entities)?;
    *current.write().map_err(|_| HostError::Poisoned)? = Arc::new(Snapshot { engine: next, entities: relaid });
    let snap = current.read().map_err(|_| HostError::Poisoned)?.clone();
    let d = snap.engine.decide_json(&request("12"), &snap.entities);
    println!("after the swap: {} by {:?} (policy version {:?})", d.decision.as_str(), d.ran_on(), d.policy_version());
    Ok(())
}

/// What a host looks at: the verdict, why, what it must enforce, what went wrong.
fn show(what: &str, d: &Decision) {
    println!("{what}: {}", d.decision.as_str());
    for r in &d.reasons {
        println!(
            "  because {} ({}){}",
            r.rule,
            r.effect,
            r.message.as_ref().map_or(String::new(), |m| format!(": {m}"))
        );
    }
    for (key, value) in d.obligations.iter() {
        println!("  obligation {key} = {value}");
    }
    for e in &d.errors {
        println!("  error in {}: {}", e.rule, e.message);
    }
    println!();
}
