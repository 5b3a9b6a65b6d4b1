//! The server's message handling, over an in-memory connection so that the order in which
//! messages arrive is exact: everything is queued before the server reads any of it, so it
//! all arrives in one batch.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, clippy::indexing_slicing)]

use lsp_server::{Connection, Message, Notification, Request, RequestId};
use serde_json::{Value, json};
use std::process::ExitCode;

fn req(id: i32, method: &str, params: Value) -> Message {
    Message::Request(Request { id: RequestId::from(id), method: method.into(), params })
}

fn note(method: &str, params: Value) -> Message {
    Message::Notification(Notification { method: method.into(), params })
}

/// Queues `msgs`, runs the server until the client side stops, and returns what it sent
/// and its exit code.
fn session(msgs: Vec<Message>) -> (Vec<Message>, ExitCode) {
    let (server, client) = Connection::memory();
    for m in msgs {
        client.sender.send(m).unwrap();
    }
    let handle = std::thread::spawn(move || writ_lsp::run(&server));
    let code = handle.join().unwrap();
    (client.receiver.try_iter().collect(), code)
}

fn response(out: &[Message], id: i32) -> Value {
    out.iter()
        .find_map(|m| match m {
            Message::Response(r) if r.id == RequestId::from(id) => Some(serde_json::to_value(r).unwrap()),
            _ => None,
        })
        .unwrap_or_else(|| panic!("no response to {id}"))
}

const DOC: &str = "file:///nowhere/policy.writ";
const TEXT: &str = "schema {\n  entity User { age: Int }\n  action view: User -> User\n}\npermit User to view on User when principal.age > 1;\n";

fn init() -> Vec<Message> {
    vec![
        req(1, "initialize", json!({ "processId": null, "rootUri": null, "capabilities": {} })),
        note("initialized", json!({})),
        note(
            "textDocument/didOpen",
            json!({ "textDocument": { "uri": DOC, "languageId": "writ", "version": 1, "text": TEXT } }),
        ),
    ]
}

fn at(line: u32, character: u32) -> Value {
    json!({ "textDocument": { "uri": DOC }, "position": { "line": line, "character": character } })
}

#[test]
fn cancelled_and_superseded_requests_and_stale_changes() {
    let mut msgs = init();
    msgs.extend([
        // Cancelled by the client before the server got to it.
        req(2, "textDocument/hover", at(4, 44)),
        note("$/cancelRequest", json!({ "id": 2 })),
        // A completion, then the text changes and the client asks again: the first is
        // superseded.
        req(3, "textDocument/completion", at(4, 43)),
        note(
            "textDocument/didChange",
            json!({ "textDocument": { "uri": DOC, "version": 2 }, "contentChanges": [
                { "range": { "start": { "line": 4, "character": 33 }, "end": { "line": 4, "character": 33 } }, "text": "  " }
            ] }),
        ),
        req(4, "textDocument/completion", at(4, 45)),
        // A change older than the text held is dropped.
        note(
            "textDocument/didChange",
            json!({ "textDocument": { "uri": DOC, "version": 1 }, "contentChanges": [{ "text": "garbage" }] }),
        ),
        req(5, "textDocument/hover", at(4, 46)),
        // A request of the same kind without a change in between is not superseded.
        req(6, "textDocument/hover", at(4, 46)),
        req(7, "shutdown", Value::Null),
        note("exit", Value::Null),
    ]);
    let (out, code) = session(msgs);
    assert_eq!(code, ExitCode::SUCCESS);
    assert_eq!(response(&out, 1)["result"]["capabilities"]["positionEncoding"], "utf-16");
    assert_eq!(response(&out, 2)["error"]["code"], -32800, "cancelled");
    assert_eq!(response(&out, 3)["error"]["code"], -32801, "superseded");
    let items = response(&out, 4)["result"].clone();
    assert!(items.as_array().unwrap().iter().any(|i| i["label"] == "age"), "{items}");
    // The hover reads the text of version 2 (the stale change was dropped).
    for id in [5, 6] {
        let h = response(&out, id);
        assert!(h["result"]["contents"]["value"].as_str().unwrap().contains("User.age: Int"), "{h}");
    }
    // The diagnostics pushed are for the latest version only (one check for the batch).
    let versions: Vec<Value> = out
        .iter()
        .filter_map(|m| match m {
            Message::Notification(n) if n.method == "textDocument/publishDiagnostics" => {
                Some(n.params["version"].clone())
            }
            _ => None,
        })
        .collect();
    assert!(versions.iter().all(|v| *v == json!(2) || v.is_null()), "{versions:?}");
    assert_eq!(response(&out, 7)["result"], Value::Null);
}

#[test]
fn requests_before_initialize_are_refused_and_unknown_methods_reported() {
    let mut msgs = vec![req(9, "textDocument/hover", at(0, 0))];
    msgs.extend(init());
    msgs.extend([
        req(2, "writ/unknown", json!({})),
        req(3, "textDocument/hover", json!({ "nonsense": true })),
        // A position past the end of the document: clamped, no failure.
        req(4, "textDocument/hover", at(400, 9000)),
        req(5, "textDocument/definition", at(4, 9000)),
        note("exit", Value::Null),
    ]);
    let (out, code) = session(msgs);
    assert_eq!(code, ExitCode::FAILURE, "exit without shutdown");
    assert_eq!(response(&out, 9)["error"]["code"], -32002);
    assert_eq!(response(&out, 2)["error"]["code"], -32601);
    assert_eq!(response(&out, 3)["error"]["code"], -32602);
    assert!(response(&out, 4).get("error").is_none());
    assert!(response(&out, 5).get("error").is_none());
}

#[test]
fn a_document_outside_every_folder_is_checked_alone_and_closing_it_clears_its_diagnostics() {
    let mut msgs = init();
    msgs.push(note(
        "textDocument/didChange",
        json!({ "textDocument": { "uri": DOC, "version": 2 }, "contentChanges": [{ "text": TEXT.replace("age > 1", "agee > 1") }] }),
    ));
    let (server, client) = Connection::memory();
    for m in msgs {
        client.sender.send(m).unwrap();
    }
    let handle = std::thread::spawn(move || writ_lsp::run(&server));
    let diags = |client: &Connection| loop {
        match client.receiver.recv().unwrap() {
            Message::Notification(n) if n.method == "textDocument/publishDiagnostics" => return n.params,
            _ => {}
        }
    };
    let d = diags(&client);
    assert_eq!(d["uri"], DOC);
    assert_eq!(d["diagnostics"][0]["code"], "E0002", "{d}");
    client.sender.send(note("textDocument/didClose", json!({ "textDocument": { "uri": DOC } }))).unwrap();
    let d = diags(&client);
    assert_eq!(d["diagnostics"], json!([]), "{d}");
    client.sender.send(req(2, "shutdown", Value::Null)).unwrap();
    client.sender.send(note("exit", Value::Null)).unwrap();
    assert_eq!(handle.join().unwrap(), ExitCode::SUCCESS);
}

/// Runs one batch about `text` (opened as `DOC`): the requests in order, then shutdown.
fn ask(text: &str, requests: Vec<(&str, Value)>) -> Vec<Value> {
    let mut msgs = vec![
        req(1, "initialize", json!({ "processId": null, "rootUri": null, "capabilities": {} })),
        note("initialized", json!({})),
        note(
            "textDocument/didOpen",
            json!({ "textDocument": { "uri": DOC, "languageId": "writ", "version": 1, "text": text } }),
        ),
    ];
    let n = requests.len();
    for (i, (m, p)) in requests.into_iter().enumerate() {
        msgs.push(req(100 + i as i32, m, p));
    }
    msgs.push(req(99, "shutdown", Value::Null));
    msgs.push(note("exit", Value::Null));
    let (out, code) = session(msgs);
    assert_eq!(code, ExitCode::SUCCESS);
    (0..n).map(|i| response(&out, 100 + i as i32)["result"].clone()).collect()
}

/// The position of the `nth` occurrence of `needle`, plus `delta` characters (ASCII text).
fn pos_of(text: &str, needle: &str, nth: usize, delta: usize) -> Value {
    let at = text.match_indices(needle).nth(nth).unwrap().0 + delta;
    let line = text[..at].matches('\n').count();
    let col = at - text[..at].rfind('\n').map_or(0, |i| i + 1);
    json!({ "textDocument": { "uri": DOC }, "position": { "line": line, "character": col } })
}

fn refs_of(text: &str, needle: &str, nth: usize, delta: usize, with_decl: bool) -> (&'static str, Value) {
    let mut p = pos_of(text, needle, nth, delta);
    p["context"] = json!({ "includeDeclaration": with_decl });
    ("textDocument/references", p)
}

fn starts(v: &Value) -> Vec<(u64, u64)> {
    let mut out: Vec<(u64, u64)> = v
        .as_array()
        .unwrap()
        .iter()
        .map(|l| (l["range"]["start"]["line"].as_u64().unwrap(), l["range"]["start"]["character"].as_u64().unwrap()))
        .collect();
    out.sort();
    out
}

fn start_of(text: &str, needle: &str, nth: usize, delta: usize) -> (u64, u64) {
    let p = pos_of(text, needle, nth, delta)["position"].clone();
    (p["line"].as_u64().unwrap(), p["character"].as_u64().unwrap())
}

const LOCALS: &str = "schema {
  enum Level { low, high }
  entity User { level: Level, age: Int, friends: Set<User> }
  action view: User -> User
}
/// Old enough.
fn adult(u: User, min: Int) -> Bool = u.age >= min and (all f in u.friends: f.age >= min);
permit User to view on User
  when any f in principal.friends: f.level == high and (all f in f.friends: f.age > 1)
   and (any l in [low, high]: l == resource.level) and adult(principal, 18);
";

#[test]
fn fn_parameters_and_quantifier_variables_have_definitions_references_and_types() {
    let t = LOCALS;
    let out = ask(
        t,
        vec![
            // `min` used in the body: goes to the parameter.
            ("textDocument/definition", pos_of(t, "min)", 0, 1)),
            refs_of(t, "min: Int", 0, 1, true),
            refs_of(t, "min: Int", 0, 1, false),
            ("textDocument/hover", pos_of(t, "u.age", 0, 0)),
            ("textDocument/hover", pos_of(t, "min: Int", 0, 0)),
            // The quantifier variable in the fn: its binder, its type from the set.
            ("textDocument/definition", pos_of(t, "f.age >= min", 0, 0)),
            ("textDocument/hover", pos_of(t, "all f in u", 0, 4)),
            // Shadowing: the inner `all f in f.friends` binds a new `f`; its set reads the
            // outer one.
            ("textDocument/definition", pos_of(t, "f.friends:", 0, 0)),
            ("textDocument/definition", pos_of(t, "f.age > 1", 0, 0)),
            refs_of(t, "any f in", 0, 4, true),
            // A variable over constants (unrolled by the checker) is the variable, not the
            // enum value it stands for.
            ("textDocument/definition", pos_of(t, "l == resource", 0, 0)),
            ("textDocument/hover", pos_of(t, "l == resource", 0, 0)),
            refs_of(t, "any l in", 0, 4, false),
        ],
    );
    let def = |v: &Value| starts(v);
    let min_decl = start_of(t, "min: Int", 0, 0);
    assert_eq!(def(&out[0]), vec![min_decl]);
    assert_eq!(starts(&out[1]), vec![min_decl, start_of(t, "min and", 0, 0), start_of(t, "min)", 0, 0)]);
    assert_eq!(starts(&out[2]), vec![start_of(t, "min and", 0, 0), start_of(t, "min)", 0, 0)]);
    let h = out[3]["contents"]["value"].as_str().unwrap();
    assert!(h.contains("u: User") && h.contains("parameter of `adult`"), "{h}");
    let h = out[4]["contents"]["value"].as_str().unwrap();
    assert!(h.contains("min: Int"), "{h}");
    assert_eq!(def(&out[5]), vec![start_of(t, "all f in u", 0, 4)]);
    let h = out[6]["contents"]["value"].as_str().unwrap();
    assert!(h.contains("f: User") && h.contains("all f in"), "{h}");
    assert_eq!(def(&out[7]), vec![start_of(t, "any f in", 0, 4)]);
    assert_eq!(def(&out[8]), vec![start_of(t, "all f in f", 0, 4)]);
    // The outer `f` of the rule: bound, read in `f.level` and in the inner quantifier's
    // set, not in the inner body (another `f`) nor in the fn.
    assert_eq!(
        starts(&out[9]),
        vec![start_of(t, "any f in", 0, 4), start_of(t, "f.level", 0, 0), start_of(t, "f.friends:", 0, 0)]
    );
    assert_eq!(def(&out[10]), vec![start_of(t, "any l in", 0, 4)]);
    let h = out[11]["contents"]["value"].as_str().unwrap();
    assert!(h.contains("l: Level") && !h.contains("Level.l"), "{h}");
    assert_eq!(starts(&out[12]), vec![start_of(t, "l == resource", 0, 0)]);
}
