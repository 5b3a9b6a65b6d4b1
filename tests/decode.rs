//! Host data (docs/host-data.md): every class of bad input gets an error naming the JSON path, and
//! `decide_json` turns it into a deny (`bad-request`) carrying that error. Entities files,
//! inline entities, and the hierarchy computed at load.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, clippy::indexing_slicing)]

use serde_json::{Value as Json, json};
use std::sync::mpsc;
use std::time::Duration;
use writ::DecisionError;
use writ::{Engine, EngineOptions, Entities, PolicySet, Verdict};

// ------------------------------------------------------------------------------ fixtures

const POLICY: &str = r#"
schema {
  enum Level { public, internal, confidential, secret }

  entity Team
  entity Human in Team { clearance: Level }
  entity Agent in Team { owner: Human, env: String, max_delegation: Int? }
  entity ToolGroup in ToolGroup
  entity Tool in ToolGroup { sensitivity: Level }

  context { now: Timestamp, risk: Int, source_ip: Ip, approved: Bool? }

  action call_tool: Agent | Human -> Tool {
    budget: Duration?,
    level: Level?,
    tags: Set<String>?,
    args: { query: String? }?,
    reviewer: Human?,
  }
}

intent triage_ticket "Read and comment on support tickets" {
  call_tool on ToolGroup::"ticketing"
}

@id("ok") permit * to * on * when resource.sensitivity <= internal;
@id("in-b") escalate * to * on Tool in ToolGroup::"b";
// An escalate asks only where a permit applies too: `in-b` probes membership in `b`.
permit * to * on Tool in ToolGroup::"b";
"#;

const ENTITIES: &str = r#"[
  {"type": "Team", "id": "support"},
  {"type": "Human", "id": "alice", "attrs": {"clearance": "secret"}, "parents": [{"type": "Team", "id": "support"}]},
  {"type": "Agent", "id": "bot", "attrs": {"owner": {"type": "Human", "id": "alice"}, "env": "prod"},
   "parents": [{"type": "Team", "id": "support"}]},
  {"type": "ToolGroup", "id": "ticketing"},
  {"type": "Tool", "id": "jira.comment", "attrs": {"sensitivity": "internal"},
   "parents": [{"type": "ToolGroup", "id": "ticketing"}]}
]"#;

fn engine() -> Engine {
    match PolicySet::from_sources(&[("policy.writ", POLICY)]) {
        Ok(p) => Engine::interpreted(&p),
        Err(e) => panic!("{}", e.render()),
    }
}

/// An engine that lets inline entities replace stored ones.
fn lenient_engine() -> Engine {
    let options = EngineOptions { allow_inline_override: true, ..Default::default() };
    match PolicySet::from_sources(&[("policy.writ", POLICY)]) {
        Ok(p) => Engine::interpreted_with(&p, options),
        Err(e) => panic!("{}", e.render()),
    }
}

fn store(engine: &Engine) -> Entities {
    engine.entities_from_json(ENTITIES).unwrap()
}

/// A valid request; rows patch it.
fn request() -> Json {
    json!({
        "principal": {"type": "Agent", "id": "bot"},
        "action": "call_tool",
        "resource": {"type": "Tool", "id": "jira.comment"},
        "context": {"now": "2026-11-23T10:15:00Z", "risk": 12, "source_ip": "10.1.2.3"}
    })
}

/// Patches `base`: objects merge key by key, `null` removes a key, anything else replaces.
fn merge(base: &mut Json, patch: Json) {
    match (base, patch) {
        (Json::Object(b), Json::Object(p)) => {
            for (k, v) in p {
                if v.is_null() {
                    b.remove(&k);
                } else {
                    merge(b.entry(k).or_insert(Json::Null), v);
                }
            }
        }
        (b, p) => *b = p,
    }
}

fn patched(patch: &str) -> String {
    let mut r = request();
    merge(&mut r, serde_json::from_str(patch).unwrap_or_else(|e| panic!("bad patch {patch}: {e}")));
    r.to_string()
}

/// Checks that `text` is rejected with exactly `error`, and that `decide_json` denies it as
/// a bad request carrying the same error. Returns a description of what went wrong.
fn rejected(engine: &Engine, entities: &Entities, text: &str, error: &str) -> Option<String> {
    let shown = if text.len() > 200 { format!("{}… ({} bytes)", &text[..200], text.len()) } else { text.to_string() };
    let got = match engine.request_from_json(text, entities) {
        Ok(_) => return Some(format!("{shown}\n  expect error {error}\n  got    a request")),
        Err(e) => e.to_string(),
    };
    if got != error {
        return Some(format!("{shown}\n  expect error {error}\n  got    error {got}"));
    }
    let d = engine.decide_json(text, entities);
    let reasons: Vec<(&str, &str)> = d.reasons.iter().map(|r| (&*r.rule, r.effect.as_str())).collect();
    let errors = vec![DecisionError { rule: "bad-request".into(), message: error.into() }];
    if d.decision != Verdict::Deny
        || reasons != [("bad-request", "deny")]
        || d.errors != errors
        || !d.obligations.is_empty()
    {
        return Some(format!("{shown}\n  decide_json gave {}", d.to_json()));
    }
    None
}

/// (request patch, expected error)
type Row<'a> = (&'a str, &'a str);

fn check_rejected(rows: &[Row<'_>]) {
    let engine = engine();
    let entities = store(&engine);
    let failures: Vec<String> =
        rows.iter().filter_map(|(patch, error)| rejected(&engine, &entities, &patched(patch), error)).collect();
    assert!(failures.is_empty(), "{} of {} rows failed:\n{}", failures.len(), rows.len(), failures.join("\n"));
}

/// Whole request texts (not patches), for input that is not a request-shaped object.
fn check_rejected_texts(rows: &[Row<'_>]) {
    let engine = engine();
    let entities = store(&engine);
    let failures: Vec<String> =
        rows.iter().filter_map(|(text, error)| rejected(&engine, &entities, text, error)).collect();
    assert!(failures.is_empty(), "{} of {} rows failed:\n{}", failures.len(), rows.len(), failures.join("\n"));
}

/// The decision for a patched request, in one line: `verdict [reasons]`.
fn decide(engine: &Engine, entities: &Entities, patch: &str) -> String {
    let d = engine.decide_json(&patched(patch), entities);
    let reasons: Vec<&str> = d.reasons.iter().map(|r| &*r.rule).collect();
    let mut s = format!("{} [{}]", d.decision.as_str(), reasons.join(", "));
    for e in &d.errors {
        s.push_str(&format!(" !{}", e.message));
    }
    s
}

// ------------------------------------------------------------------------------ requests

#[test]
fn the_valid_request_is_allowed() {
    let engine = engine();
    let entities = store(&engine);
    for patch in [
        "{}",
        r#"{"intent": "triage_ticket"}"#,
        r#"{"intent": "none"}"#,
        r#"{"intent": null, "on_behalf_of": [], "entities": []}"#,
        r#"{"context": {"approved": true, "budget": "1h30m", "level": "secret", "tags": ["a", "a"]}}"#,
        r#"{"context": {"args": {}}}"#,
        r#"{"context": {"args": {"query": "open P1"}}}"#,
        r#"{"context": {"approved": null, "args": {"query": null}}}"#,
        r#"{"context": {"risk": -9223372036854775808}}"#,
        r#"{"context": {"now": "2026-11-23T12:15:00.250+02:00", "source_ip": "2001:db8::1"}}"#,
        r#"{"context": {"source_ip": "::ffff:10.1.2.3"}}"#,
        r#"{"on_behalf_of": [{"type": "Human", "id": "alice"}, {"type": "Agent", "id": "bot"}]}"#,
        r#"{"principal": {"type": "Human", "id": "alice"}}"#,
        r#"{"context": {"reviewer": {"type": "Human", "id": "alice"}}}"#,
    ] {
        // Each principal of the chain is allowed by `ok` too, and listed.
        let want = if patch.contains(r#""on_behalf_of": [{"#) { "allow [ok, ok, ok]" } else { "allow [ok]" };
        assert_eq!(decide(&engine, &entities, patch), want, "{patch}");
    }
}

#[test]
fn context_values_of_the_wrong_type() {
    check_rejected(&[
        (r#"{"context": {"risk": "high"}}"#, r#"context.risk: expected Int, got "high""#),
        (r#"{"context": {"risk": 1.5}}"#, "context.risk: expected Int (a 64-bit integer), got 1.5"),
        (r#"{"context": {"risk": null}}"#, "context.risk: missing required field (Int)"),
        (r#"{"context": {"risk": true}}"#, "context.risk: expected Int, got true"),
        (r#"{"context": {"risk": [1]}}"#, "context.risk: expected Int, got an array"),
        (r#"{"context": {"approved": "yes"}}"#, r#"context.approved: expected Bool, got "yes""#),
        (
            r#"{"context": {"now": 1764000000}}"#,
            r#"context.now: expected a Timestamp like "2026-11-23T10:15:00Z", got 1764000000"#,
        ),
        (
            r#"{"context": {"source_ip": 167837187}}"#,
            r#"context.source_ip: expected an Ip like "10.1.2.3", got 167837187"#,
        ),
        (r#"{"context": {"budget": 900}}"#, r#"context.budget: expected a Duration like "15m", got 900"#),
        (r#"{"context": {"tags": "a"}}"#, r#"context.tags: expected Set<String> (an array), got "a""#),
        (r#"{"context": {"tags": ["a", 1]}}"#, "context.tags[1]: expected String, got 1"),
        (r#"{"context": {"args": "open"}}"#, r#"context.args: expected an object, got "open""#),
        (r#"{"context": {"args": {"query": 7}}}"#, "context.args.query: expected String, got 7"),
        (r#"{"context": "everything"}"#, r#"context: expected an object, got "everything""#),
    ]);
}

#[test]
fn context_fields_missing_or_unknown() {
    check_rejected(&[
        (r#"{"context": {"risk": null}}"#, "context.risk: missing required field (Int)"),
        (r#"{"context": {"now": null}}"#, "context.now: missing required field (Timestamp)"),
        (r#"{"context": null}"#, "context.now: missing required field (Timestamp)"),
        (r#"{"context": {"riks": 3}}"#, "context.riks: unknown field (did you mean `risk`?)"),
        (r#"{"context": {"weather": "fine"}}"#, "context.weather: unknown field"),
        (r#"{"context": {"args": {"qurey": "x"}}}"#, "context.args.qurey: unknown field (did you mean `query`?)"),
    ]);
}

#[test]
fn unknown_entities_types_actions_and_intents() {
    check_rejected(&[
        (r#"{"resource": {"id": "jira.comentt"}}"#, r#"resource: unknown entity Tool::"jira.comentt""#),
        (r#"{"principal": {"id": "bott"}}"#, r#"principal: unknown entity Agent::"bott""#),
        (r#"{"resource": {"type": "Tol"}}"#, "resource.type: unknown entity type `Tol` (did you mean `Tool`?)"),
        (r#"{"principal": {"type": "Robot"}}"#, "principal.type: unknown entity type `Robot`"),
        (r#"{"action": "call_tol"}"#, r#"action: unknown action "call_tol" (did you mean `call_tool`?)"#),
        (r#"{"action": "launch_missiles"}"#, r#"action: unknown action "launch_missiles""#),
        (r#"{"action": 3}"#, "action: expected an action name, got 3"),
        (r#"{"intent": "triage_tiket"}"#, r#"intent: unknown intent "triage_tiket" (did you mean `triage_ticket`?)"#),
        (r#"{"intent": "triage"}"#, r#"intent: unknown intent "triage""#),
        (r#"{"intent": "world_domination"}"#, r#"intent: unknown intent "world_domination""#),
        (r#"{"intent": 1}"#, "intent: expected an intent name, got 1"),
        (r#"{"on_behalf_of": [{"type": "Human", "id": "zed"}]}"#, r#"on_behalf_of[0]: unknown entity Human::"zed""#),
        (
            r#"{"context": {"reviewer": {"type": "Human", "id": "zed"}}}"#,
            r#"context.reviewer: unknown entity Human::"zed""#,
        ),
        (
            r#"{"context": {"reviewer": {"type": "Agent", "id": "bot"}}}"#,
            "context.reviewer.type: expected an entity of type Human, got `Agent`",
        ),
        (
            r#"{"context": {"reviewer": {"type": "Humam", "id": "alice"}}}"#,
            "context.reviewer.type: unknown entity type `Humam` (did you mean `Human`?)",
        ),
    ]);
}

#[test]
fn principals_resources_and_chains_of_the_wrong_type() {
    check_rejected(&[
        (
            r#"{"principal": {"type": "Tool", "id": "jira.comment"}}"#,
            "principal: `Tool` is not a principal type of action `call_tool` (expected Human | Agent)",
        ),
        (
            r#"{"resource": {"type": "Human", "id": "alice"}}"#,
            "resource: `Human` is not a resource type of action `call_tool` (expected Tool)",
        ),
        (
            r#"{"on_behalf_of": [{"type": "Human", "id": "alice"}, {"type": "Team", "id": "support"}]}"#,
            "on_behalf_of[1].type: `Team` cannot act for `call_tool` (expected Human | Agent)",
        ),
        (
            r#"{"on_behalf_of": {"type": "Human", "id": "alice"}}"#,
            "on_behalf_of: expected an array of entities, got an object",
        ),
        (
            r#"{"on_behalf_of": ["alice"]}"#,
            r#"on_behalf_of[0]: expected an entity reference {"type", "id"}, got "alice""#,
        ),
        (r#"{"principal": "bot"}"#, r#"principal: expected an entity reference {"type", "id"}, got "bot""#),
        (r#"{"principal": {"id": null}}"#, "principal: missing `id`"),
        (r#"{"principal": {"type": null}}"#, "principal: missing `type`"),
        (r#"{"principal": {"id": 7}}"#, "principal.id: expected a string, got 7"),
        (
            r#"{"principal": {"name": "bot"}}"#,
            "principal.name: unknown field in an entity reference (it has `type` and `id`)",
        ),
        (r#"{"principal": null}"#, "principal: missing"),
        (r#"{"resource": null}"#, "resource: missing"),
        (r#"{"action": null}"#, "action: missing"),
        (r#"{"contxt": {}}"#, "contxt: unknown field (did you mean `context`?)"),
    ]);
}

#[test]
fn malformed_timestamps_ips_durations_and_enums() {
    let ts = |s: &str| format!("context.now: `{s}` is not an RFC 3339 timestamp (like 2026-11-23T10:15:00Z)");
    check_rejected(&[
        (r#"{"context": {"now": "yesterday"}}"#, &ts("yesterday")),
        (r#"{"context": {"now": "2026-13-01T00:00:00Z"}}"#, &ts("2026-13-01T00:00:00Z")),
        (r#"{"context": {"now": "2026-02-29T00:00:00Z"}}"#, &ts("2026-02-29T00:00:00Z")),
        (r#"{"context": {"now": "2026-11-23T24:00:00Z"}}"#, &ts("2026-11-23T24:00:00Z")),
        (r#"{"context": {"now": "2026-11-23T10:15:00"}}"#, &ts("2026-11-23T10:15:00")),
        (r#"{"context": {"now": "2026-11-23"}}"#, &ts("2026-11-23")),
        (r#"{"context": {"source_ip": "10.1.2.300"}}"#, "context.source_ip: `10.1.2.300` is not an IP address"),
        (r#"{"context": {"source_ip": "localhost"}}"#, "context.source_ip: `localhost` is not an IP address"),
        // requests carry addresses, never ranges; no whitespace around them
        (
            r#"{"context": {"source_ip": "10.0.0.0/33"}}"#,
            "context.source_ip: `10.0.0.0/33` is a range; expected one IP address (no `/prefix`)",
        ),
        (
            r#"{"context": {"source_ip": "203.0.113.5/0"}}"#,
            "context.source_ip: `203.0.113.5/0` is a range; expected one IP address (no `/prefix`)",
        ),
        (r#"{"context": {"source_ip": " 10.1.2.3"}}"#, "context.source_ip: ` 10.1.2.3` is not an IP address"),
        (r#"{"context": {"source_ip": "::1 "}}"#, "context.source_ip: `::1 ` is not an IP address"),
        (
            r#"{"context": {"budget": "15 minutes"}}"#,
            r#"context.budget: expected a Duration like "15m", got "15 minutes": unknown unit: use `ms`, `s`, `m`, `h` or `d`"#,
        ),
        (
            r#"{"context": {"budget": "15"}}"#,
            r#"context.budget: expected a Duration like "15m", got "15": unknown unit: use `ms`, `s`, `m`, `h` or `d`"#,
        ),
        (
            r#"{"context": {"budget": ""}}"#,
            r#"context.budget: expected a Duration like "15m", got "": a duration needs at least one `NUMBER UNIT` part"#,
        ),
        (
            r#"{"context": {"level": "top"}}"#,
            r#"context.level: expected a `Level` (public, internal, confidential, secret), got "top""#,
        ),
        (
            r#"{"context": {"level": "Secret"}}"#,
            r#"context.level: expected a `Level` (public, internal, confidential, secret), got "Secret""#,
        ),
        (r#"{"context": {"level": 3}}"#, "context.level: expected Level, got 3"),
    ]);
}

#[test]
fn durations_are_rejected_with_the_parse_error() {
    // The duration message ends with the lexer's reason; only its start is fixed here.
    let engine = engine();
    let entities = store(&engine);
    for bad in ["15 minutes", "15", "", "m15", "15x", "1.5h"] {
        let text = patched(&json!({"context": {"budget": bad}}).to_string());
        let err = engine.request_from_json(&text, &entities).map(|_| ()).unwrap_err();
        assert_eq!(err.path, "context.budget", "{bad}");
        assert!(err.message.starts_with(&format!("expected a Duration like \"15m\", got {bad:?}")), "{bad}: {err}");
        let d = engine.decide_json(&text, &entities);
        assert_eq!(
            (d.decision, &*d.reasons[0].rule, d.errors[0].message.clone()),
            (Verdict::Deny, "bad-request", err.to_string())
        );
    }
}

#[test]
fn text_that_is_not_a_request() {
    check_rejected_texts(&[
        ("", "the request is not valid JSON (line 1, column 0): EOF while parsing a value at line 1 column 0"),
        (
            "{\"principal\": ",
            "the request is not valid JSON (line 1, column 14): EOF while parsing a value at line 1 column 14",
        ),
        ("not json", "the request is not valid JSON (line 1, column 2): expected ident at line 1 column 2"),
        ("{} {}", "the request is not valid JSON (line 1, column 4): trailing characters at line 1 column 4"),
        ("[1, 2]", "a request is a JSON object, got an array"),
        ("\"request\"", r#"a request is a JSON object, got "request""#),
        ("null", "a request is a JSON object, got null"),
        ("42", "a request is a JSON object, got 42"),
        ("{}", "action: missing"),
    ]);
}

#[test]
fn huge_integers() {
    // the literal as the host wrote it, not as serde_json would print it back
    let with_risk = |n: &str| patched("{}").replace("\"risk\":12", &format!("\"risk\":{n}"));
    let int = |n: &str| format!("context.risk: expected Int (a 64-bit integer), got {n}");
    check_rejected_texts(&[
        (&with_risk("9223372036854775808"), &int("9223372036854775808")),
        (&with_risk("18446744073709551615"), &int("18446744073709551615")),
        (&with_risk("-9223372036854775809"), &int("-9.223372036854776e+18")),
        (&with_risk("99999999999999999999"), &int("1e+20")),
        (&with_risk("1e3"), &int("1000.0")),
        (&with_risk("7.0"), &int("7.0")),
        // a number too big even for a double is bad JSON
        (
            &with_risk("1e999"),
            "the request is not valid JSON (line 1, column 74): number out of range at line 1 column 74",
        ),
    ]);
}

#[test]
fn every_prefix_and_byte_flip_of_a_request_is_decided_without_panicking() {
    let engine = engine();
    let entities = store(&engine);
    let text = patched(
        r#"{"intent": "triage_ticket", "on_behalf_of": [{"type": "Human", "id": "alice"}],
                          "context": {"budget": "1h", "level": "public", "tags": ["x"], "args": {"query": "q"}}}"#,
    );
    let mut inputs: Vec<String> = (0..text.len()).filter_map(|n| text.get(..n)).map(String::from).collect();
    for (i, _) in text.char_indices() {
        for c in ['"', '{', ']', '0', 'x', ':'] {
            let mut t = text.clone();
            t.replace_range(i..=i, &c.to_string());
            inputs.push(t);
        }
    }
    for input in &inputs {
        let d = engine.decide_json(input, &entities);
        match engine.request_from_json(input, &entities) {
            Ok(r) => assert_eq!(engine.decide(&r), d, "{input}"),
            Err(e) => {
                assert_eq!(d.decision, Verdict::Deny, "{input}");
                assert_eq!(d.errors, vec![DecisionError { rule: "bad-request".into(), message: e.to_string() }]);
            }
        }
    }
}

/// Runs `f` on a thread with a normal 2 MiB stack and fails (instead of hanging) after 20 s.
fn bounded<T: Send + 'static>(f: impl FnOnce() -> T + Send + 'static) -> T {
    let (tx, rx) = mpsc::channel();
    std::thread::Builder::new()
        .stack_size(2 << 20)
        .spawn(move || {
            let _ = tx.send(f());
        })
        .unwrap();
    rx.recv_timeout(Duration::from_secs(20)).expect("finished in time, without overflowing the stack")
}

#[test]
fn deeply_nested_json_is_rejected_cleanly() {
    let nested = |open: &str, close: &str, n: usize| format!("{}{}", open.repeat(n), close.repeat(n));
    let cases: Vec<(String, String)> = vec![
        (
            patched("{}").replace("\"risk\":12", &format!("\"risk\":12,\"tags\":{}", nested("[", "]", 10_000))),
            "the request is not valid JSON (line 1, column COL): recursion limit exceeded at line 1 column COL".into(),
        ),
        (
            patched("{}").replace("\"risk\":12", &format!("\"risk\":12,\"args\":{}", nested("{\"a\":", "}", 10_000))),
            "the request is not valid JSON (line 1, column COL): recursion limit exceeded at line 1 column COL".into(),
        ),
        (
            nested("[", "]", 100_000),
            "the request is not valid JSON (line 1, column 128): recursion limit exceeded at line 1 column 128".into(),
        ),
        // below serde_json's limit the schema rejects it at the first level that does not fit
        (
            patched("{}").replace("\"risk\":12", &format!("\"risk\":12,\"tags\":{}", nested("[", "]", 100))),
            "context.tags[0]: expected String, got an array".into(),
        ),
    ];
    // an entities file nested as deeply
    let deep_file = format!(r#"[{{"type": "Team", "id": "t", "attrs": {}}}]"#, nested("[", "]", 10_000));
    let got = bounded(move || engine().entities_from_json(&deep_file).map(|_| ()).unwrap_err().to_string());
    assert_eq!(
        got,
        "the entities file is not valid JSON (line 1, column 164): recursion limit exceeded at line 1 column 164"
    );
    for (text, error) in cases {
        let (got, decision) = bounded(move || {
            let engine = engine();
            let entities = store(&engine);
            let got = engine.request_from_json(&text, &entities).map(|_| ()).unwrap_err().to_string();
            (got, engine.decide_json(&text, &entities))
        });
        // the column depends on where the nesting starts; it is the same number twice
        let col = got.split("column ").nth(1).and_then(|s| s.split(')').next()).unwrap_or("").to_string();
        assert_eq!(got, error.replace("COL", &col), "{got}");
        assert_eq!(decision.decision, Verdict::Deny);
        assert_eq!(&*decision.reasons[0].rule, "bad-request");
        assert_eq!(decision.errors, vec![DecisionError { rule: "bad-request".into(), message: got }]);
    }
}

// ------------------------------------------------------------------------------ inline entities

#[test]
fn inline_entities_win_over_the_store() {
    let engine = lenient_engine();
    let entities = store(&engine);
    let inline = |e: Json| json!({ "entities": [e] }).to_string();
    let secret_tool = inline(json!({"type": "Tool", "id": "jira.comment", "attrs": {"sensitivity": "secret"}}));
    let with_b = json!({"entities": [
        {"type": "ToolGroup", "id": "b"},
        {"type": "Tool", "id": "jira.comment", "attrs": {"sensitivity": "secret"}, "parents": [{"type": "ToolGroup", "id": "b"}]}
    ]})
    .to_string();
    let new_agent = json!({"principal": {"type": "Agent", "id": "temp"}, "entities": [
        {"type": "Agent", "id": "temp", "attrs": {"owner": {"type": "Human", "id": "alice"}, "env": "ci"}}
    ]})
    .to_string();
    let rows: Vec<(&str, &str)> = vec![
        ("{}", "allow [ok]"),
        // the inline entity replaces the stored one: its attributes …
        (&secret_tool, "deny [no-permit]"),
        // … and its parents (`b` is only known inline)
        (&with_b, "escalate [in-b]"),
        // an entity only given inline can be the principal; its references reach the store
        (&new_agent, "allow [ok]"),
        // the store is unchanged for the next request
        ("{}", "allow [ok]"),
    ];
    let failures: Vec<String> = rows
        .iter()
        .filter_map(|(patch, expect)| {
            let got = decide(&engine, &entities, patch);
            (got != *expect).then(|| format!("{patch}\n  expect {expect}\n  got    {got}"))
        })
        .collect();
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

/// Parents are labels of the hierarchy and need not exist as entities (as in Cedar; see
/// docs/testing.md): a parent named only by reference still counts for `in`.
#[test]
fn parents_need_not_exist() {
    let engine = lenient_engine();
    let entities = store(&engine);
    let text = patched(
        &json!({"entities": [{"type": "Tool", "id": "jira.comment", "attrs": {"sensitivity": "secret"},
                              "parents": [{"type": "ToolGroup", "id": "b"}]}]})
        .to_string(),
    );
    assert_eq!(decide(&engine, &entities, &text), "escalate [in-b]");
}

#[test]
fn inline_parents_override_the_stored_hierarchy() {
    // The store says jira.comment ∈ ticketing; the request says ticketing ∈ b. Inline wins,
    // so for this request jira.comment ∈ b, transitively.
    let engine = lenient_engine();
    let entities = store(&engine);
    let both = json!({"entities": [
        {"type": "ToolGroup", "id": "b"},
        {"type": "ToolGroup", "id": "ticketing", "parents": [{"type": "ToolGroup", "id": "b"}]},
        {"type": "Tool", "id": "jira.comment", "attrs": {"sensitivity": "internal"},
         "parents": [{"type": "ToolGroup", "id": "ticketing"}]}
    ]})
    .to_string();
    assert_eq!(decide(&engine, &entities, &both), "escalate [in-b]");
    let group_only = json!({"entities": [
        {"type": "ToolGroup", "id": "b"},
        {"type": "ToolGroup", "id": "ticketing", "parents": [{"type": "ToolGroup", "id": "b"}]}
    ]})
    .to_string();
    assert_eq!(decide(&engine, &entities, &group_only), "escalate [in-b]");
}

#[test]
fn bad_inline_entities_are_bad_requests() {
    check_rejected(&[
        (
            r#"{"entities": [{"type": "Tool", "id": "jira.comment", "attrs": {"sensitivity": 3}}]}"#,
            "entities[0].attrs.sensitivity: expected Level, got 3",
        ),
        (
            r#"{"entities": [{"type": "Tool", "id": "x", "attrs": {"sensitivity": "public"}},
                             {"type": "Tool", "id": "x", "attrs": {"sensitivity": "public"}}]}"#,
            r#"entities[1]: entity Tool::"x" appears twice"#,
        ),
        (
            r#"{"entities": [{"type": "Agent", "id": "temp", "attrs": {"owner": {"type": "Human", "id": "zed"}, "env": "ci"}}]}"#,
            r#"entities[0].attrs.owner: unknown entity Human::"zed""#,
        ),
        (r#"{"entities": {"type": "Team", "id": "x"}}"#, "entities: expected an array of entities, got an object"),
    ]);
}

// ------------------------------------------------------------------------------ entities files

/// (entities JSON, expected error)
fn check_entities(rows: &[(&str, &str)]) {
    let engine = engine();
    let failures: Vec<String> = rows
        .iter()
        .filter_map(|(text, error)| match engine.entities_from_json(text) {
            Ok(_) => Some(format!("{text}\n  expect {error}\n  got    a store")),
            Err(e) if e.to_string() != *error => Some(format!("{text}\n  expect {error}\n  got    {e}")),
            Err(_) => None,
        })
        .collect();
    assert!(failures.is_empty(), "{} of {} rows failed:\n{}", failures.len(), rows.len(), failures.join("\n"));
}

#[test]
fn entities_file_errors() {
    check_entities(&[
        // attributes of the wrong type, unknown, missing
        (
            r#"[{"type": "Human", "id": "alice", "attrs": {"clearance": "topsecret"}}]"#,
            r#"[0].attrs.clearance: expected a `Level` (public, internal, confidential, secret), got "topsecret""#,
        ),
        (
            r#"[{"type": "Team", "id": "t"}, {"type": "Human", "id": "alice", "attrs": {"clearance": 3}}]"#,
            "[1].attrs.clearance: expected Level, got 3",
        ),
        (
            r#"[{"type": "Human", "id": "alice", "attrs": {"clearence": "secret"}}]"#,
            "[0].attrs.clearence: unknown field (did you mean `clearance`?)",
        ),
        (r#"[{"type": "Human", "id": "alice", "attrs": {}}]"#, "[0].attrs.clearance: missing required field (Level)"),
        (r#"[{"type": "Human", "id": "alice"}]"#, "[0].attrs.clearance: missing required field (Level)"),
        (r#"[{"type": "Human", "id": "alice", "attrs": []}]"#, "[0].attrs: expected an object, got an array"),
        (
            r#"[{"type": "Agent", "id": "bot",
                 "attrs": {"owner": {"type": "Human", "id": "alice"}, "env": "prod", "max_delegation": "two"}},
                {"type": "Human", "id": "alice", "attrs": {"clearance": "secret"}}]"#,
            r#"[0].attrs.max_delegation: expected Int, got "two""#,
        ),
        // parents the schema does not allow
        (
            r#"[{"type": "ToolGroup", "id": "g"},
                {"type": "Human", "id": "alice", "attrs": {"clearance": "secret"},
                 "parents": [{"type": "ToolGroup", "id": "g"}]}]"#,
            "[1].parents[0]: a `Human` cannot be in a `ToolGroup` (the schema allows: Team)",
        ),
        (
            r#"[{"type": "Team", "id": "t", "parents": [{"type": "Team", "id": "u"}]}]"#,
            "[0].parents[0]: a `Team` cannot be in a `Team` (the schema allows: none)",
        ),
        (
            r#"[{"type": "Team", "id": "t", "parents": {"type": "Team", "id": "u"}}]"#,
            "[0].parents: expected an array, got an object",
        ),
        // duplicates
        (r#"[{"type": "Team", "id": "t"}, {"type": "Team", "id": "t"}]"#, r#"[1]: entity Team::"t" appears twice"#),
        // references to unknown entities, of the wrong type
        (
            r#"[{"type": "Agent", "id": "bot", "attrs": {"owner": {"type": "Human", "id": "zed"}, "env": "prod"}}]"#,
            r#"[0].attrs.owner: unknown entity Human::"zed""#,
        ),
        (
            r#"[{"type": "Team", "id": "t"},
                {"type": "Agent", "id": "bot", "attrs": {"owner": {"type": "Team", "id": "t"}, "env": "prod"}}]"#,
            "[1].attrs.owner.type: expected an entity of type Human, got `Team`",
        ),
        // the shape of the file and of each entity
        (r#"{"type": "Team", "id": "t"}"#, "(entities): expected an array of entities, got an object"),
        (r#"["t"]"#, r#"[0]: expected an entity object, got "t""#),
        (r#"[{"type": "Humn", "id": "a"}]"#, "[0].type: unknown entity type `Humn` (did you mean `Human`?)"),
        (r#"[{"id": "a"}]"#, "[0]: missing `type`"),
        (r#"[{"type": "Team"}]"#, "[0]: missing `id`"),
        (
            r#"[{"type": "Team", "id": "t", "atrs": {}}]"#,
            "[0].atrs: unknown field in an entity (it has `type`, `id`, `attrs`, `parents`)",
        ),
        ("[", "the entities file is not valid JSON (line 1, column 1): EOF while parsing a list at line 1 column 1"),
    ]);
}

#[test]
fn in_follows_transitive_parents_computed_at_load() {
    // listed child first, so ancestors cannot be computed in one pass over the file
    let engine = engine();
    let entities = engine
        .entities_from_json(
            r#"[
  {"type": "Tool", "id": "t", "attrs": {"sensitivity": "secret"}, "parents": [{"type": "ToolGroup", "id": "c"}]},
  {"type": "ToolGroup", "id": "c", "parents": [{"type": "ToolGroup", "id": "x"}, {"type": "ToolGroup", "id": "c2"}]},
  {"type": "ToolGroup", "id": "c2", "parents": [{"type": "ToolGroup", "id": "b"}]},
  {"type": "ToolGroup", "id": "x"},
  {"type": "ToolGroup", "id": "b"},
  {"type": "Tool", "id": "u", "attrs": {"sensitivity": "secret"}, "parents": [{"type": "ToolGroup", "id": "x"}]},
  {"type": "Agent", "id": "bot", "attrs": {"owner": {"type": "Human", "id": "alice"}, "env": "prod"}},
  {"type": "Human", "id": "alice", "attrs": {"clearance": "secret"}}
]"#,
        )
        .unwrap();
    assert_eq!(decide(&engine, &entities, r#"{"resource": {"id": "t"}}"#), "escalate [in-b]");
    assert_eq!(decide(&engine, &entities, r#"{"resource": {"id": "u"}}"#), "deny [no-permit]");
}

#[test]
fn parent_cycles_do_not_hang() {
    let (t, u, v) = bounded(|| {
        let engine = lenient_engine();
        let entities = engine
            .entities_from_json(
                r#"[
  {"type": "ToolGroup", "id": "a", "parents": [{"type": "ToolGroup", "id": "b"}]},
  {"type": "ToolGroup", "id": "b", "parents": [{"type": "ToolGroup", "id": "a"}]},
  {"type": "ToolGroup", "id": "self", "parents": [{"type": "ToolGroup", "id": "self"}]},
  {"type": "Tool", "id": "t", "attrs": {"sensitivity": "secret"}, "parents": [{"type": "ToolGroup", "id": "a"}]},
  {"type": "Tool", "id": "u", "attrs": {"sensitivity": "secret"}, "parents": [{"type": "ToolGroup", "id": "self"}]},
  {"type": "Agent", "id": "bot", "attrs": {"owner": {"type": "Human", "id": "alice"}, "env": "prod"}},
  {"type": "Human", "id": "alice", "attrs": {"clearance": "secret"}}
]"#,
            )
            .unwrap();
        // a cycle given inline
        let inline = json!({"resource": {"id": "v"}, "entities": [
            {"type": "Tool", "id": "v", "attrs": {"sensitivity": "secret"}, "parents": [{"type": "ToolGroup", "id": "self"}]},
            {"type": "ToolGroup", "id": "self", "parents": [{"type": "ToolGroup", "id": "b"}]},
            {"type": "ToolGroup", "id": "b", "parents": [{"type": "ToolGroup", "id": "self"}]}
        ]})
        .to_string();
        (
            decide(&engine, &entities, r#"{"resource": {"id": "t"}}"#),
            decide(&engine, &entities, r#"{"resource": {"id": "u"}}"#),
            decide(&engine, &entities, &inline),
        )
    });
    assert_eq!(t, "escalate [in-b]");
    assert_eq!(u, "deny [no-permit]");
    assert_eq!(v, "escalate [in-b]");
}

// ------------------------------------------------------------------------------ duplicate keys

/// A key written twice is bad input wherever it is: the last one winning (as serde_json
/// reads it) would let a host that reads the first and Writ disagree about what was asked.
#[test]
fn duplicate_keys_in_requests_are_bad_requests() {
    let r = r#""principal": {"type": "Agent", "id": "bot"}, "action": "call_tool", "resource": {"type": "Tool", "id": "jira.comment"}"#;
    let ctx = r#""now": "2026-11-23T10:15:00Z", "risk": 12, "source_ip": "10.1.2.3""#;
    let dup = "duplicate key (a key may appear only once)";
    check_rejected_texts(&[
        (&format!(r#"{{{r}, "context": {{{ctx}}}, "action": "call_tool"}}"#), &format!("action: {dup}")),
        (&format!(r#"{{{r}, "context": {{{ctx}, "risk": 99}}}}"#), &format!("context.risk: {dup}")),
        (
            &format!(r#"{{{r}, "context": {{{ctx}, "approved": null, "approved": true}}}}"#),
            &format!("context.approved: {dup}"),
        ),
        (
            &format!(r#"{{{r}, "context": {{{ctx}, "args": {{"query": "a", "query": "b"}}}}}}"#),
            &format!("context.args.query: {dup}"),
        ),
        (
            &format!(r#"{{{r}, "context": {{{ctx}, "reviewer": {{"type": "Human", "id": "alice", "id": "bob"}}}}}}"#),
            &format!("context.reviewer.id: {dup}"),
        ),
        (
            &format!(
                r#"{{"principal": {{"type": "Agent", "id": "bot", "type": "Human"}}, "action": "call_tool",
                   "resource": {{"type": "Tool", "id": "jira.comment"}}, "context": {{{ctx}}}}}"#
            ),
            &format!("principal.type: {dup}"),
        ),
        (
            &format!(r#"{{{r}, "context": {{{ctx}}}, "entities": [{{"type": "Team", "id": "new", "id": "other"}}]}}"#),
            &format!("entities[0].id: {dup}"),
        ),
        (
            &format!(
                r#"{{{r}, "context": {{{ctx}}}, "entities": [{{"type": "Team", "id": "new", "parents": [], "parents": []}}]}}"#
            ),
            &format!("entities[0].parents: {dup}"),
        ),
    ]);
}

#[test]
fn duplicate_keys_in_entity_files_are_errors() {
    let dup = "duplicate key (a key may appear only once)";
    check_entities(&[
        (r#"[{"type": "Team", "id": "t", "id": "u"}]"#, &format!("[0].id: {dup}")),
        (
            r#"[{"type": "Human", "id": "alice", "attrs": {"clearance": "public", "clearance": "secret"}}]"#,
            &format!("[0].attrs.clearance: {dup}"),
        ),
        (
            r#"[{"type": "Human", "id": "a", "attrs": {"clearance": "secret"}},
                {"type": "Agent", "id": "bot", "attrs": {"owner": {"type": "Human", "id": "a", "id": "b"}, "env": "prod"}}]"#,
            &format!("[1].attrs.owner.id: {dup}"),
        ),
    ]);
}

/// An object with many members: duplicates are still found (by sorting, not pairwise).
#[test]
fn duplicate_keys_in_large_objects_are_found() {
    let mut members: Vec<String> = (0..40).map(|i| format!(r#""k{i}": {i}"#)).collect();
    members.push(r#""k7": 0"#.to_string());
    let text = format!(r#"[{{"type": "Team", "id": "t", "attrs": {{{}}}}}]"#, members.join(", "));
    let err = engine().entities_from_json(&text).unwrap_err().to_string();
    assert_eq!(err, "[0].attrs.k7: duplicate key (a key may appear only once)");
}

// ------------------------------------------------------------------------------ inline overrides

#[test]
fn inline_entities_cannot_replace_stored_ones_by_default() {
    let engine = engine();
    let entities = store(&engine);
    let msg = |i: usize, e: &str| {
        format!(
            "entities[{i}]: entity {e} is in the entity store; a request may add entities but not replace stored \
             ones (this engine does not allow inline overrides)"
        )
    };
    check_rejected_texts(&[
        (
            &patched(r#"{"entities": [{"type": "Tool", "id": "jira.comment", "attrs": {"sensitivity": "public"}}]}"#),
            &msg(0, r#"Tool::"jira.comment""#),
        ),
        (
            &patched(r#"{"entities": [{"type": "Team", "id": "new"}, {"type": "Team", "id": "support"}]}"#),
            &msg(1, r#"Team::"support""#),
        ),
    ]);
    // A parent the store names without holding it is a stored fact too (it has no parents).
    let labelled = engine
        .entities_from_json(&ENTITIES.replacen(
            '[',
            r#"[{"type": "ToolGroup", "id": "g", "parents": [{"type": "ToolGroup", "id": "label"}]},"#,
            1,
        ))
        .unwrap();
    let text = patched(
        r#"{"entities": [{"type": "ToolGroup", "id": "label", "parents": [{"type": "ToolGroup", "id": "b"}]}]}"#,
    );
    assert_eq!(
        engine.request_from_json(&text, &labelled).map(|_| ()).unwrap_err().to_string(),
        msg(0, r#"ToolGroup::"label""#)
    );
    // New entities are fine.
    let new = patched(r#"{"entities": [{"type": "Team", "id": "new"}, {"type": "ToolGroup", "id": "b"}]}"#);
    assert_eq!(decide(&engine, &entities, &new), "allow [ok]");
}

// ------------------------------------------------------------------------------ limits

#[test]
fn limits_are_enforced_with_the_json_path() {
    let policies = PolicySet::from_sources(&[("policy.writ", POLICY)]).unwrap();
    let limits = writ::Limits { max_set_len: 3, max_inline_entities: 2, max_request_bytes: 600, ..Default::default() };
    let engine = Engine::interpreted_with(&policies, EngineOptions { limits, ..Default::default() });
    let entities = store(&engine);
    let big = patched(&format!(r#"{{"context": {{"args": {{"query": "{}"}}}}}}"#, "q".repeat(600)));
    let too_big = format!("the request is {} bytes; the limit is 600", big.len());
    check_rejected_texts_with(
        &engine,
        &entities,
        &[
            (
                &patched(r#"{"context": {"tags": ["a", "b", "c", "d"]}}"#),
                "context.tags: a set of 4 items; the limit is 3",
            ),
            (
                &patched(
                    r#"{"entities": [{"type": "Team", "id": "x"}, {"type": "Team", "id": "y"}, {"type": "Team", "id": "z"}]}"#,
                ),
                "entities: 3 inline entities; the limit is 2",
            ),
            (&big, &too_big),
        ],
    );
    assert_eq!(decide(&engine, &entities, r#"{"context": {"tags": ["a", "b", "c"]}}"#), "allow [ok]");
}

fn check_rejected_texts_with(engine: &Engine, entities: &Entities, rows: &[(&str, &str)]) {
    let failures: Vec<String> = rows.iter().filter_map(|(t, e)| rejected(engine, entities, t, e)).collect();
    assert!(failures.is_empty(), "{} of {} rows failed:\n{}", failures.len(), rows.len(), failures.join("\n"));
}
