//! The typed embedding API (issue 14, item 4): decode errors with a kind and a JSON path,
//! the policy set's version on every decision, reason effects as an enum, and requests
//! from `serde_json::Value` and from a builder. On both back ends.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, clippy::indexing_slicing)]

use serde_json::{Value as Json, json};
use writ::{DecodeError, DecodeErrorKind as K, Engine, EngineOptions, Entities, Limits, PolicySet};

const POLICY: &str = r#"
schema {
  enum Level { public, internal, secret }

  entity Team
  entity Human in Team { clearance: Level }
  entity Agent in Team { owner: Human, env: String }
  entity ToolGroup in ToolGroup
  entity Tool in ToolGroup { sensitivity: Level }

  context { risk: Int, since: Duration? }

  action call_tool: Agent | Human -> Tool { tags: Set<String>?, reviewer: Human? }
  action read: Human -> Team
}

intent triage_ticket "Read and comment on support tickets" {
  call_tool on ToolGroup::"ticketing"
}

@id("ok") permit * to call_tool on * when resource.sensitivity <= internal;
@id("no-secret") forbid * to call_tool on * when resource.sensitivity == secret;
@id("risky") escalate * to call_tool on * when context.risk > 50;
"#;

const ENTITIES: &str = r#"[
  {"type": "Team", "id": "support"},
  {"type": "Human", "id": "alice", "attrs": {"clearance": "secret"}, "parents": [{"type": "Team", "id": "support"}]},
  {"type": "Agent", "id": "bot", "attrs": {"owner": {"type": "Human", "id": "alice"}, "env": "prod"},
   "parents": [{"type": "Team", "id": "support"}]},
  {"type": "ToolGroup", "id": "ticketing"},
  {"type": "Tool", "id": "jira", "attrs": {"sensitivity": "internal"},
   "parents": [{"type": "ToolGroup", "id": "ticketing"}]},
  {"type": "Tool", "id": "vault", "attrs": {"sensitivity": "secret"}}
]"#;

fn policies() -> PolicySet {
    PolicySet::from_sources(&[("policy.writ", POLICY)]).unwrap_or_else(|e| panic!("{}", e.render()))
}

/// The interpreter and the JIT, each with `options`.
fn engines_with(options: EngineOptions) -> Vec<Engine> {
    let p = policies();
    vec![Engine::interpreted_with(&p, options), Engine::compile_with(&p, options).unwrap()]
}

fn engines() -> Vec<Engine> {
    engines_with(EngineOptions::default())
}

fn base() -> Json {
    json!({
        "principal": {"type": "Agent", "id": "bot"},
        "action": "call_tool",
        "resource": {"type": "Tool", "id": "jira"},
        "intent": "triage_ticket",
        "context": {"risk": 10}
    })
}

/// `base()` with `f` applied.
fn req(f: impl FnOnce(&mut Json)) -> String {
    let mut v = base();
    f(&mut v);
    v.to_string()
}

fn request_err(engine: &Engine, entities: &Entities, text: &str) -> DecodeError {
    match engine.request_from_json(text, entities) {
        Ok(_) => panic!("decoded: {text}"),
        Err(e) => e,
    }
}

fn request_cases() -> Vec<(String, K, &'static str)> {
    vec![
        ("{\"principal\": ".to_string(), K::MalformedJson, ""),
        ("[1]".to_string(), K::WrongType, ""),
        (req(|v| drop(v.as_object_mut().unwrap().remove("principal"))), K::MissingField, "principal"),
        (req(|v| drop(v.as_object_mut().unwrap().remove("action"))), K::MissingField, "action"),
        (req(|v| v["context"] = json!({})), K::MissingField, "context.risk"),
        (req(|v| v["principal"] = json!({"type": "Agent"})), K::MissingField, "principal"),
        (req(|v| v["contxt"] = json!({})), K::UnknownField, "contxt"),
        (req(|v| v["context"]["colour"] = json!(1)), K::UnknownField, "context.colour"),
        (req(|v| v["resource"]["name"] = json!("x")), K::UnknownField, "resource.name"),
        (req(|v| v["context"]["risk"] = json!("high")), K::WrongType, "context.risk"),
        (req(|v| v["action"] = json!(7)), K::WrongType, "action"),
        (req(|v| v["context"]["tags"] = json!("a")), K::WrongType, "context.tags"),
        (
            req(|v| v["context"]["reviewer"] = json!({"type": "Agent", "id": "bot"})),
            K::WrongType,
            "context.reviewer.type",
        ),
        (req(|v| v["resource"] = json!({"type": "Team", "id": "support"})), K::WrongType, "resource"),
        (req(|v| v["context"]["since"] = json!("15 parsecs")), K::InvalidValue, "context.since"),
        (
            r#"{"principal": {"type": "Agent", "id": "bot"}, "principal": {"type": "Agent", "id": "bot"}}"#.to_string(),
            K::DuplicateKey,
            "principal",
        ),
        (req(|v| v["principal"]["id"] = json!("nobody")), K::UnknownEntity, "principal"),
        (
            req(|v| v["context"]["reviewer"] = json!({"type": "Human", "id": "bob"})),
            K::UnknownEntity,
            "context.reviewer",
        ),
        (req(|v| v["principal"]["type"] = json!("Robot")), K::UnknownType, "principal.type"),
        (req(|v| v["action"] = json!("call_toll")), K::UnknownAction, "action"),
        (req(|v| v["intent"] = json!("triage")), K::UnknownIntent, "intent"),
        (
            req(|v| v["entities"] = json!([{"type": "Tool", "id": "jira", "attrs": {"sensitivity": "public"}}])),
            K::InlineOverride,
            "entities[0]",
        ),
        (
            req(|v| {
                v["entities"] = json!([{"type": "Tool", "id": "t1", "attrs": {"sensitivity": "public"}},
                                       {"type": "Tool", "id": "t1", "attrs": {"sensitivity": "public"}}])
            }),
            K::DuplicateEntity,
            "entities[1]",
        ),
        (req(|v| v["context"]["tags"] = json!(["a", "b", "c", "d"])), K::Limit, "context.tags"),
    ]
}

/// A set limit of 3, for the `Limit` case.
fn small_sets() -> EngineOptions {
    EngineOptions { limits: Limits { max_set_len: 3, ..Limits::DEFAULT }, ..Default::default() }
}

#[test]
fn request_errors_have_a_kind_and_a_path() {
    let cases = request_cases();
    for engine in engines_with(small_sets()) {
        let entities = engine.entities_from_json(ENTITIES).unwrap();
        assert!(engine.request_from_json(&base().to_string(), &entities).is_ok());
        for (text, kind, path) in &cases {
            let e = request_err(&engine, &entities, text);
            assert_eq!((e.kind(), e.path()), (*kind, *path), "{:?}: {text} gave `{e}`", engine.backend());
            // Display is unchanged: `path: message`.
            let shown = if path.is_empty() { e.message().to_string() } else { format!("{path}: {}", e.message()) };
            assert_eq!(e.to_string(), shown);
        }
    }
}

#[test]
fn request_size_and_schema_errors_have_kinds() {
    let options = EngineOptions { limits: Limits { max_request_bytes: 64, ..Limits::DEFAULT }, ..Default::default() };
    for engine in engines_with(options) {
        let entities = engine.entities_from_json(ENTITIES).unwrap();
        let e = request_err(&engine, &entities, &base().to_string());
        assert_eq!((e.kind(), e.path()), (K::Limit, ""));
    }
    let other = PolicySet::from_sources(&[("o.writ", "schema { entity A  entity T  action go: A -> T }")]).unwrap();
    for engine in engines() {
        let foreign = Engine::interpreted(&other).entities_from_json("[]").unwrap();
        let e = request_err(&engine, &foreign, &base().to_string());
        assert_eq!((e.kind(), e.path()), (K::StaleSchema, ""));
    }
}

const ENTITY_CASES: &[(&str, K, &str)] = &[
    ("[{", K::MalformedJson, ""),
    (r#"{"type": "Team"}"#, K::WrongType, "(entities)"),
    ("[7]", K::WrongType, "[0]"),
    (r#"[{"type": "Team", "id": "a", "colour": 1}]"#, K::UnknownField, "[0].colour"),
    (r#"[{"type": "Human", "id": "a", "attrs": {"clearance": "top"}}]"#, K::InvalidValue, "[0].attrs.clearance"),
    (r#"[{"type": "Human", "id": "a"}]"#, K::MissingField, "[0].attrs.clearance"),
    (r#"[{"type": "Team", "id": "a", "id": "b"}]"#, K::DuplicateKey, "[0].id"),
    (r#"[{"type": "Team", "id": "a"}, {"type": "Team", "id": "a"}]"#, K::DuplicateEntity, "[1]"),
    (
        r#"[{"type": "Agent", "id": "b", "attrs": {"owner": {"type": "Human", "id": "x"}, "env": "e"}}]"#,
        K::UnknownEntity,
        "[0].attrs.owner",
    ),
    (r#"[{"type": "Robot", "id": "a"}]"#, K::UnknownType, "[0].type"),
    (r#"[{"type": "Team", "id": "a", "parents": [{"type": "Team", "id": "b"}]}]"#, K::WrongType, "[0].parents[0]"),
    (
        r#"[{"type": "ToolGroup", "id": "a", "parents": [{"type": "ToolGroup", "id": "b"}]},
                {"type": "ToolGroup", "id": "b", "parents": [{"type": "ToolGroup", "id": "c"}]}]"#,
        K::Limit,
        "[0]",
    ),
];

fn shallow() -> EngineOptions {
    EngineOptions { limits: Limits { max_hierarchy_depth: 1, ..Limits::DEFAULT }, ..Default::default() }
}

#[test]
fn entity_errors_have_a_kind_and_a_path() {
    for engine in engines_with(shallow()) {
        for (text, kind, path) in ENTITY_CASES {
            let e = match engine.entities_from_json(text) {
                Ok(_) => panic!("decoded: {text}"),
                Err(e) => e,
            };
            assert_eq!((e.kind(), e.path()), (*kind, *path), "{:?}: {text} gave `{e}`", engine.backend());
        }
    }
}

// ------------------------------------------------------------------------------ versions

#[test]
fn every_decision_carries_the_policy_version() {
    let p = policies();
    let version = p.version().to_string();
    assert_eq!(version.len(), 32);
    assert!(version.chars().all(|c| c.is_ascii_hexdigit()));
    for engine in engines() {
        let entities = engine.entities_from_json(ENTITIES).unwrap();
        let text = base().to_string();
        let r = engine.request_from_json(&text, &entities).unwrap();
        let decisions = [
            engine.decide(&r),
            engine.decide_explained(&r),
            engine.decide_json(&text, &entities),
            engine.decide_json("{not json", &entities),
            engine.decide_json(&req(|v| v["context"]["risk"] = json!("x")), &entities),
        ];
        for d in &decisions {
            assert_eq!(d.policy_version(), Some(version.as_str()), "{:?}: {d:?}", engine.backend());
            let v: Json = serde_json::from_str(&d.to_json_versioned()).unwrap();
            assert_eq!(v["policy_version"], json!(version));
            // The decision JSON (docs/decisions.md) is unchanged.
            let plain: Json = serde_json::from_str(&d.to_json()).unwrap();
            assert!(plain.get("policy_version").is_none());
        }
        // A request decoded by an engine of another schema is a bad request, versioned too.
        let other = PolicySet::from_sources(&[("o.writ", "schema { entity A  entity T  action go: A -> T }")]).unwrap();
        let stale = Engine::interpreted(&other);
        let ents = stale.entities_from_json(r#"[{"type": "A", "id": "a"}, {"type": "T", "id": "t"}]"#).unwrap();
        let foreign = stale
            .request_from_json(
                r#"{"principal": {"type": "A", "id": "a"}, "action": "go", "resource": {"type": "T", "id": "t"}}"#,
                &ents,
            )
            .unwrap();
        assert_eq!(engine.decide(&foreign).policy_version(), Some(version.as_str()));
        assert_ne!(other.version(), version);
    }
}

#[test]
fn the_version_is_a_content_hash_of_the_sources_in_any_order() {
    let schema = ("schema.writ", "schema { entity A  entity T  action go: A -> T }");
    let rules = ("rules.writ", "@id(\"p\") permit A to go on T;");
    let a = PolicySet::from_sources(&[schema, rules]).unwrap();
    let b = PolicySet::from_sources(&[rules, schema]).unwrap();
    assert_eq!(a.version(), b.version());
    // Another text, another name: another version.
    let c = PolicySet::from_sources(&[schema, ("rules.writ", "@id(\"q\") permit A to go on T;")]).unwrap();
    let d = PolicySet::from_sources(&[schema, ("other.writ", rules.1)]).unwrap();
    assert_ne!(a.version(), c.version());
    assert_ne!(a.version(), d.version());
    // The stdlib modules imported count too; the same files loaded twice give one version.
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("examples/spec");
    let x = PolicySet::load(&dir).unwrap();
    let y = PolicySet::load(&dir).unwrap();
    assert_eq!(x.version(), y.version());
    let own = std::fs::read_dir(&dir)
        .unwrap()
        .filter(|e| e.as_ref().unwrap().path().extension().is_some_and(|x| x == "writ"));
    assert!(x.sources().files().count() > own.count(), "the spec example imports a stdlib module");
}

// ------------------------------------------------------------------------------ effects

#[test]
fn reason_effects_are_an_enum_written_as_before() {
    use writ::Effect;
    for engine in engines() {
        let entities = engine.entities_from_json(ENTITIES).unwrap();
        let cases = [
            (base().to_string(), "ok", Effect::Permit),
            (req(|v| v["resource"]["id"] = json!("vault")), "no-secret", Effect::Forbid),
            (req(|v| v["context"]["risk"] = json!(90)), "risky", Effect::Escalate),
            (
                req(|v| {
                    v["action"] = json!("read");
                    v["principal"] = json!({"type": "Human", "id": "alice"});
                    v["resource"] = json!({"type": "Team", "id": "support"});
                    v["intent"] = json!("none");
                }),
                "no-permit",
                Effect::Deny,
            ),
            ("{not json".to_string(), "bad-request", Effect::Deny),
        ];
        for (text, rule, effect) in cases {
            let d = engine.decide_json(&text, &entities);
            let r = d.reasons.iter().find(|r| &*r.rule == rule).unwrap_or_else(|| panic!("{rule}: {d:?}"));
            assert_eq!(r.effect, effect, "{:?} {rule}", engine.backend());
            let v: Json = serde_json::from_str(&d.to_json()).unwrap();
            let shown = v["reasons"].as_array().unwrap().iter().find(|x| x["rule"] == rule).unwrap();
            assert_eq!(shown["effect"], json!(effect.as_str()));
        }
    }
    assert_eq!(
        [Effect::Permit, Effect::Forbid, Effect::Escalate, Effect::Deny].map(Effect::as_str),
        ["permit", "forbid", "escalate", "deny"]
    );
}

// ------------------------------------------------------------------------------ values

#[test]
fn values_decode_as_their_text_does() {
    for engine in engines_with(small_sets()) {
        let entities = engine.entities_from_json(ENTITIES).unwrap();
        let from_value = engine.entities_from_value(&serde_json::from_str(ENTITIES).unwrap()).unwrap();
        assert_eq!(from_value.store().len(), entities.store().len());
        let good = base();
        let r = engine.request_from_value(&good, &from_value).unwrap();
        assert_eq!(engine.decide(&r), engine.decide_json(&good.to_string(), &entities));
        assert_eq!(engine.runs_native(&r), engine.backend() == writ::Backend::Jit);
        let mut compared = 0;
        for (text, kind, path) in request_cases() {
            // Text that is not JSON, or repeats a key, has no `Value`.
            let Ok(value) = serde_json::from_str::<Json>(&text) else { continue };
            if kind == K::DuplicateKey {
                continue;
            }
            let e = engine.request_from_value(&value, &entities).unwrap_err();
            assert_eq!(e, request_err(&engine, &entities, &text), "{text}");
            assert_eq!((e.kind(), e.path()), (kind, path));
            compared += 1;
        }
        assert!(compared >= 20, "{compared}");
    }
    for engine in engines_with(shallow()) {
        for (text, kind, path) in ENTITY_CASES {
            let Ok(value) = serde_json::from_str::<Json>(text) else { continue };
            if *kind == K::DuplicateKey {
                continue;
            }
            let e = engine.entities_from_value(&value).err().unwrap_or_else(|| panic!("decoded: {text}"));
            assert_eq!((e.kind(), e.path()), (*kind, *path), "{text}");
            assert_eq!(Some(e), engine.entities_from_json(text).err());
        }
    }
}

#[test]
fn values_nested_deeper_than_text_may_be_are_refused() {
    let mut v = json!(1);
    for _ in 0..1_000 {
        v = json!([v]);
    }
    for engine in engines() {
        let entities = engine.entities_from_json(ENTITIES).unwrap();
        let mut r = base();
        r["context"]["tags"] = v.clone();
        let e = engine.request_from_value(&r, &entities).unwrap_err();
        assert_eq!((e.kind(), e.path()), (K::Limit, ""));
        assert_eq!(engine.entities_from_value(&v).unwrap_err().kind(), K::Limit);
    }
}

#[test]
fn the_builder_builds_what_the_json_says() {
    use writ::RequestBuilder;
    for engine in engines() {
        let entities = engine.entities_from_json(ENTITIES).unwrap();
        let built = RequestBuilder::new()
            .principal("Agent", "bot")
            .action("call_tool")
            .resource("Tool", "jira")
            .intent("triage_ticket")
            .context("risk", json!(10))
            .build(&engine, &entities)
            .unwrap();
        assert_eq!(engine.decide(&built), engine.decide_json(&base().to_string(), &entities));
        assert_eq!(engine.decide(&built).decision, writ::Verdict::Allow);
        let full = RequestBuilder::new()
            .principal("Agent", "bot")
            .action("call_tool")
            .resource("Tool", "new")
            .context("risk", json!(90))
            .context("tags", json!(["x"]))
            .context("reviewer", json!({"type": "Human", "id": "alice"}))
            .on_behalf_of("Human", "alice")
            .entity(json!({"type": "Tool", "id": "new", "attrs": {"sensitivity": "public"}}));
        let r = full.build(&engine, &entities).unwrap();
        assert_eq!(r.host().on_behalf_of.len(), 1);
        assert_eq!(engine.decide(&r), engine.decide_json(&full.to_json().to_string(), &entities));
        assert_eq!(engine.decide(&r).decision, writ::Verdict::Escalate);
        // Errors name the JSON path the same request as text would.
        let e = RequestBuilder::new()
            .principal("Agent", "bot")
            .action("call_tool")
            .resource("Tool", "jira")
            .context("risk", json!("high"))
            .build(&engine, &entities)
            .unwrap_err();
        assert_eq!((e.kind(), e.path()), (K::WrongType, "context.risk"));
        let e =
            RequestBuilder::new().action("call_tool").resource("Tool", "jira").build(&engine, &entities).unwrap_err();
        assert_eq!((e.kind(), e.path()), (K::MissingField, "principal"));
        let e = RequestBuilder::new()
            .principal("Agent", "bot")
            .action("call_tool")
            .resource("Tool", "jira")
            .intent("triage")
            .context("risk", json!(1))
            .build(&engine, &entities)
            .unwrap_err();
        assert_eq!((e.kind(), e.path()), (K::UnknownIntent, "intent"));
    }
}
