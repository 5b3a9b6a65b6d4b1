//! A language-server client for the tests: starts the real `writ lsp` binary and speaks
//! JSON-RPC over its stdio exactly as an editor does (`Content-Length` framing), and writes
//! the workspaces the tests open.
#![allow(dead_code)]

use serde_json::{Value, json};
use std::io::{BufRead, BufReader, Read, Write};
use std::path::{Path, PathBuf};
use std::process::{Child, ChildStdin, Command, Stdio};
use std::sync::mpsc::{Receiver, RecvTimeoutError, channel};
use std::time::Duration;

/// How long a test waits for one message before it gives up (a hang guard, not a timing).
const PATIENCE: Duration = Duration::from_secs(120);

pub struct Client {
    child: Child,
    stdin: ChildStdin,
    rx: Receiver<Value>,
    next: i64,
    /// Notifications and server requests received while waiting for something else.
    pub inbox: Vec<Value>,
    /// The params of the last diagnostics [`Client::diagnostics_until`] returned.
    pub last: Value,
}

/// Client capabilities as an editor sends them (trimmed from VS Code's and Neovim's).
pub fn client_capabilities(utf8: bool) -> Value {
    let encodings = if utf8 { json!(["utf-8", "utf-16"]) } else { json!(["utf-16"]) };
    json!({
        "general": { "positionEncodings": encodings },
        "workspace": {
            "workspaceFolders": true,
            "symbol": { "dynamicRegistration": false },
            "didChangeWatchedFiles": { "dynamicRegistration": true },
            "applyEdit": true
        },
        "textDocument": {
            "synchronization": { "dynamicRegistration": false, "didSave": true, "willSave": false },
            "publishDiagnostics": { "relatedInformation": true, "versionSupport": true, "codeDescriptionSupport": true, "dataSupport": true },
            "hover": { "contentFormat": ["markdown", "plaintext"] },
            "completion": { "completionItem": { "snippetSupport": false, "documentationFormat": ["markdown"] }, "contextSupport": true },
            "signatureHelp": { "signatureInformation": { "parameterInformation": { "labelOffsetSupport": true } } },
            "definition": { "linkSupport": true },
            "references": {},
            "documentSymbol": { "hierarchicalDocumentSymbolSupport": true },
            "codeAction": { "codeActionLiteralSupport": { "codeActionKind": { "valueSet": ["quickfix"] } } },
            "rename": { "prepareSupport": true }
        }
    })
}

impl Client {
    /// Starts `writ lsp` and initializes it with the folder as the workspace.
    pub fn start(folder: &Path, utf8: bool) -> (Client, Value) {
        let mut child = Command::new(env!("CARGO_BIN_EXE_writ"))
            .arg("lsp")
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .expect("cannot start `writ lsp`");
        let stdin = child.stdin.take().unwrap();
        let stdout = child.stdout.take().unwrap();
        let (tx, rx) = channel();
        std::thread::spawn(move || {
            let mut r = BufReader::new(stdout);
            loop {
                let mut len = None;
                loop {
                    let mut line = String::new();
                    if r.read_line(&mut line).unwrap_or(0) == 0 {
                        return;
                    }
                    let line = line.trim_end();
                    if line.is_empty() {
                        break;
                    }
                    if let Some(v) = line.strip_prefix("Content-Length: ") {
                        len = v.parse::<usize>().ok();
                    }
                }
                let mut body = vec![0; len.expect("a Content-Length header")];
                if r.read_exact(&mut body).is_err() {
                    return;
                }
                let v: Value = serde_json::from_slice(&body).expect("the server sends JSON");
                if tx.send(v).is_err() {
                    return;
                }
            }
        });
        let mut c = Client { child, stdin, rx, next: 0, inbox: Vec::new(), last: Value::Null };
        let uri = uri_of(folder);
        let init = c.request(
            "initialize",
            json!({
                "processId": std::process::id(),
                "clientInfo": { "name": "writ-tests", "version": "1" },
                "rootUri": uri,
                "capabilities": client_capabilities(utf8),
                "workspaceFolders": [{ "uri": uri, "name": "policies" }],
                "trace": "off"
            }),
        );
        c.notify("initialized", json!({}));
        (c, init)
    }

    pub fn send(&mut self, msg: &Value) {
        let body = serde_json::to_vec(msg).unwrap();
        let mut framed = format!("Content-Length: {}\r\n\r\n", body.len()).into_bytes();
        framed.extend(body);
        self.stdin.write_all(&framed).expect("the server reads its stdin");
        self.stdin.flush().unwrap();
    }

    /// Sends several messages in one write (they reach the server together).
    pub fn send_all(&mut self, msgs: &[Value]) {
        let mut framed = Vec::new();
        for msg in msgs {
            let body = serde_json::to_vec(msg).unwrap();
            framed.extend(format!("Content-Length: {}\r\n\r\n", body.len()).into_bytes());
            framed.extend(body);
        }
        self.stdin.write_all(&framed).expect("the server reads its stdin");
        self.stdin.flush().unwrap();
    }

    pub fn notify(&mut self, method: &str, params: Value) {
        self.send(&json!({ "jsonrpc": "2.0", "method": method, "params": params }));
    }

    /// Sends a request and returns its id (the answer is read with [`Client::response`]).
    pub fn send_request(&mut self, method: &str, params: Value) -> i64 {
        self.next += 1;
        let id = self.next;
        self.send(&json!({ "jsonrpc": "2.0", "id": id, "method": method, "params": params }));
        id
    }

    fn recv(&mut self) -> Value {
        match self.rx.recv_timeout(PATIENCE) {
            Ok(v) => v,
            Err(RecvTimeoutError::Timeout) => panic!("the server sent nothing for {PATIENCE:?}"),
            Err(RecvTimeoutError::Disconnected) => panic!("the server closed its output (did it die?)"),
        }
    }

    /// The whole response message to request `id`.
    pub fn response(&mut self, id: i64) -> Value {
        loop {
            let v = self.recv();
            if v.get("id") == Some(&json!(id)) && v.get("method").is_none() {
                return v;
            }
            if v.get("method").is_some() && v.get("id").is_some() {
                // A request of the server (registerCapability): answer it.
                let reply = json!({ "jsonrpc": "2.0", "id": v["id"], "result": null });
                self.send(&reply);
            }
            self.inbox.push(v);
        }
    }

    /// Sends a request and returns its `result` (panics on an error response).
    pub fn request(&mut self, method: &str, params: Value) -> Value {
        let id = self.send_request(method, params);
        let r = self.response(id);
        assert!(r.get("error").is_none(), "`{method}` failed: {r}");
        r["result"].clone()
    }

    /// Waits for the diagnostics pushed for `uri` that satisfy `ok` (earlier ones are
    /// skipped); returns them.
    pub fn diagnostics_until(&mut self, uri: &str, ok: impl Fn(&[Value]) -> bool) -> Vec<Value> {
        let mut i = 0;
        loop {
            while i < self.inbox.len() {
                let v = &self.inbox[i];
                if v["method"] == "textDocument/publishDiagnostics" && v["params"]["uri"] == uri {
                    let ds = v["params"]["diagnostics"].as_array().cloned().unwrap_or_default();
                    if ok(&ds) {
                        self.last = v["params"].clone();
                        self.inbox.drain(..=i);
                        return ds;
                    }
                }
                i += 1;
            }
            let v = self.recv();
            self.inbox.push(v);
        }
    }

    pub fn open(&mut self, uri: &str, text: &str) {
        self.notify(
            "textDocument/didOpen",
            json!({ "textDocument": { "uri": uri, "languageId": "writ", "version": 1, "text": text } }),
        );
    }

    pub fn change(&mut self, uri: &str, version: i64, changes: Value) {
        self.notify(
            "textDocument/didChange",
            json!({ "textDocument": { "uri": uri, "version": version }, "contentChanges": changes }),
        );
    }

    /// `shutdown` then `exit`; returns the exit code.
    pub fn finish(mut self) -> Option<i32> {
        let r = self.request("shutdown", Value::Null);
        assert_eq!(r, Value::Null);
        self.notify("exit", Value::Null);
        self.wait()
    }

    pub fn wait(mut self) -> Option<i32> {
        drop(self.stdin);
        self.child.wait().ok().and_then(|s| s.code())
    }

    /// Whether the server process is still running.
    pub fn alive(&mut self) -> bool {
        matches!(self.child.try_wait(), Ok(None))
    }
}

/// The `file:` URI of a path.
pub fn uri_of(p: &Path) -> String {
    let mut s = String::from("file://");
    for b in p.to_str().unwrap().bytes() {
        if b.is_ascii_alphanumeric() || b"-._~/".contains(&b) {
            s.push(char::from(b));
        } else {
            s.push_str(&format!("%{b:02X}"));
        }
    }
    s
}

/// A fresh directory for one test, with these files.
pub fn workspace(name: &str, files: &[(&str, &str)]) -> PathBuf {
    let dir = PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join("lsp").join(name);
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    for (f, text) in files {
        let p = dir.join(f);
        std::fs::create_dir_all(p.parent().unwrap()).unwrap();
        std::fs::write(p, text).unwrap();
    }
    dir.canonicalize().unwrap()
}

/// The LSP position (line, UTF-16 character) of the `nth` occurrence of `needle` in `text`,
/// plus `delta` characters.
pub fn pos(text: &str, needle: &str, nth: usize, delta: usize) -> Value {
    let at = text.match_indices(needle).nth(nth).unwrap_or_else(|| panic!("`{needle}` #{nth} not in the text")).0;
    let before = &text[..at];
    let line = before.matches('\n').count();
    let col = before.rsplit('\n').next().unwrap().encode_utf16().count() + delta;
    json!({ "line": line, "character": col })
}

/// A test policy set: a schema with docs, a helper fn in another file, rules that use
/// attributes, context fields, enum values, an intent, a group, a fn and the standard
/// library.
pub const SCHEMA: &str = r#"/// The schema of the test workspace.
schema {
  /// How sensitive data is.
  enum Level { public, internal, secret }
  /// A person.
  entity Human { clearance: Level }
  entity Team
  /// A workload acting for people.
  entity Agent in Team {
    /// Who answers for the agent.
    owner: Human,
    env: String,
    tags: Set<String>,
    max_hops: Int?,
  }
  entity Tool { sensitivity: Level, destructive: Bool }
  context {
    /// The risk score of the session, 0..100.
    risk: Int,
    now: Timestamp,
  }
  /// Calls a tool.
  action call_tool: Agent | Human -> Tool { args: { query: String? } }
  action read_tool: Agent -> Tool
  action group tools = [call_tool, read_tool]
}

/// Triage support tickets.
intent triage "Read and comment on tickets" {
  call_tool on Tool
}
"#;

pub const HELPERS: &str = r#"/// True when the level is at most internal.
fn low(l: Level) -> Bool = l <= internal;
"#;

pub const RULES: &str = r#"import std.time

/// Agents use low tools in office hours.
@id("agent-tools")
permit Agent to call_tool on Tool
  when low(resource.sensitivity)
   and context.risk < 50
   and time.business_hours(context.now)
   and intent == triage
  grant { ttl: 15m };

@id("no-secrets")
forbid * to tools on Tool
  when resource.sensitivity == secret;
"#;

pub fn standard_workspace(name: &str) -> PathBuf {
    workspace(name, &[("schema.writ", SCHEMA), ("helpers.writ", HELPERS), ("rules.writ", RULES)])
}
