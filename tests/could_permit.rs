//! `Engine::could_permit`: the static question "could any context be allowed?" is false only
//! where every decision of that shape denies.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, clippy::indexing_slicing)]

use serde_json::json;

const POLICY: &str = r#"
schema {
  entity Human
  entity Agent
  entity Group
  entity Tool in Group { level: Int }
  context { risk: Int, approved: Bool? }
  action call: Agent | Human -> Tool
  action read: Agent -> Tool
}
intent triage "Triage" { call on Group::"tickets" }

@id("agents") permit Agent to call on Tool when context.risk < 50;
@id("alice") permit Human::"alice" to call on Tool in Group::"tickets";
@id("wipe") forbid * to call on Tool::"wipe";
@id("group") forbid Agent to call on Tool in Group::"banned";
@id("high") forbid Agent to call on Tool when resource.level > 3;
@id("ask") escalate Agent to read on Tool unless context has approved and context.approved;
"#;

const ENTITIES: &str = r#"[
  {"type": "Agent", "id": "bot"}, {"type": "Human", "id": "alice"}, {"type": "Human", "id": "bob"},
  {"type": "Tool", "id": "t", "attrs": {"level": 1}, "parents": [{"type": "Group", "id": "tickets"}]},
  {"type": "Tool", "id": "high", "attrs": {"level": 9}, "parents": [{"type": "Group", "id": "tickets"}]},
  {"type": "Tool", "id": "wipe", "attrs": {"level": 1}, "parents": [{"type": "Group", "id": "tickets"}]},
  {"type": "Tool", "id": "b", "attrs": {"level": 1}, "parents": [{"type": "Group", "id": "banned"}]},
  {"type": "Tool", "id": "free", "attrs": {"level": 1}}
]"#;

fn engines() -> Vec<writ::Engine> {
    let p = writ::PolicySet::from_sources(&[("p.writ", POLICY)]).map_err(|e| e.to_string()).unwrap();
    vec![writ::Engine::compile(&p).unwrap(), writ::Engine::interpreted(&p)]
}

#[test]
fn false_only_where_every_context_is_denied() {
    for engine in engines() {
        let entities = engine.entities_from_json(ENTITIES).unwrap();
        let tools = ["t", "high", "wipe", "b", "free", "missing"];
        let chains: [&[(&str, &str)]; 4] = [&[], &[("Human", "alice")], &[("Human", "bob")], &[("Human", "alice"); 5]];
        for action in ["call", "read", "nope"] {
            for tool in tools {
                for intent in [None, Some("triage"), Some("unknown")] {
                    for chain in chains {
                        let could =
                            engine.could_permit(("Agent", "bot"), action, ("Tool", tool), intent, chain, &entities);
                        // Whatever the context: no request of this shape may be allowed or
                        // escalated where the answer is false.
                        for risk in [0, 49, 50, 100] {
                            for approved in [None, Some(true), Some(false)] {
                                let mut ctx = json!({"risk": risk});
                                if let Some(a) = approved {
                                    ctx["approved"] = json!(a);
                                }
                                let mut r = json!({"principal": {"type": "Agent", "id": "bot"}, "action": action,
                                                   "resource": {"type": "Tool", "id": tool}, "context": ctx,
                                                   "on_behalf_of": chain.iter().map(|(t, i)| json!({"type": t, "id": i})).collect::<Vec<_>>()});
                                if let Some(i) = intent {
                                    r["intent"] = json!(i);
                                }
                                let d = match engine.request_from_value(&r, &entities) {
                                    Ok(req) => engine.decide(&req),
                                    Err(e) => writ::Decision::bad_request(e.to_string()),
                                };
                                if !could {
                                    assert_eq!(d.decision, writ::Verdict::Deny, "{r}: {}", d.to_json());
                                }
                            }
                        }
                    }
                }
            }
        }
        let could = |tool: &str, intent: Option<&str>, chain: &[(&str, &str)]| {
            engine.could_permit(("Agent", "bot"), "call", ("Tool", tool), intent, chain, &entities)
        };
        // Conditions are not evaluated: a permit under a context condition, or a forbid
        // under an attribute condition, leaves the answer open.
        assert!(could("t", Some("triage"), &[]));
        assert!(could("high", None, &[]));
        // Decided by the targets alone.
        assert!(!could("wipe", None, &[]));
        assert!(!could("b", None, &[]));
        assert!(!could("free", Some("triage"), &[]));
        assert!(could("free", None, &[]));
        // Each hop of the chain needs a permit of its own.
        assert!(could("t", None, &[("Human", "alice")]));
        assert!(!could("t", None, &[("Human", "bob")]));
        assert!(!could("free", None, &[("Human", "alice")]));
        assert!(!could("t", None, &[("Human", "alice"); 5]));
        // Bad input: nothing can be allowed.
        assert!(!could("missing", None, &[]));
        assert!(!could("t", Some("unknown"), &[]));
        assert!(!engine.could_permit(("Agent", "bot"), "nope", ("Tool", "t"), None, &[], &entities));
        assert!(!engine.could_permit(("Robot", "bot"), "call", ("Tool", "t"), None, &[], &entities));
        // An escalate without a permit can never lead to allow.
        assert!(!engine.could_permit(("Agent", "bot"), "read", ("Tool", "t"), None, &[], &entities));
    }
}
