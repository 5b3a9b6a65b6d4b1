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
