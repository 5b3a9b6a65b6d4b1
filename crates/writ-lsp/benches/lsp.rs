//! The language server with the generated 1,000-rule set (`benches/data/gen-1000`, 13 files)
//! open as its workspace, driven over an in-memory connection exactly as a client drives it:
//!
//! * `edit_to_diagnostics`: a one-character edit in a rule file (a space inserted, then
//!   removed, in turns) until the server has checked the whole set again and pushed its
//!   diagnostics (measured up to the answer to a request sent right after the change, which
//!   the server answers once the batch's diagnostics are out). Target ≤ 50 ms.
//! * `hover`, `completion` (after `resource.`), `definition`: one request and its answer,
//!   on a checked set. Target ≤ 10 ms.
//! * `hover_after_edit`: an edit and then a hover (the first request after a check also
//!   builds the set's symbol index).
//!
//! * `check/plain` and `check/with_analysis`: the checker alone on the same set, without and
//!   with the side output the server asks for (what the analysis costs).
//!
//! It also prints the server's memory: the resident size of this process before the server
//! starts, with the workspace loaded, and at its peak.
//!
//! Run: `cargo bench -p writ-lsp --bench lsp`. Results are recorded in BENCHMARKS.md.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, clippy::indexing_slicing)]

use criterion::{Criterion, criterion_group, criterion_main};
use lsp_server::{Connection, Message, Notification, Request, RequestId};
use serde_json::{Value, json};
use std::path::PathBuf;
use std::time::Duration;

/// The allocator of the `writ` binary (crates/writ-cli/src/main.rs): the figures are those
/// of the program users run.
#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

struct Session {
    client: Connection,
    next: i32,
    version: i32,
    uri: String,
    text: String,
}

impl Session {
    fn request(&mut self, method: &str, params: Value) -> Value {
        self.next += 1;
        let id = RequestId::from(self.next);
        self.client.sender.send(Message::Request(Request { id: id.clone(), method: method.into(), params })).unwrap();
        loop {
            match self.client.receiver.recv().unwrap() {
                Message::Response(r) if r.id == id => return r.result.unwrap_or(Value::Null),
                _ => {}
            }
        }
    }

    fn notify(&self, method: &str, params: Value) {
        self.client.sender.send(Message::Notification(Notification { method: method.into(), params })).unwrap();
    }

    /// Inserts a space at `at` (line, character), or removes it again: every call changes
    /// the text.
    fn edit(&mut self, line: u32, character: u32) {
        self.version += 1;
        let inserted = self.version % 2 == 0;
        let start = json!({ "line": line, "character": character });
        let end = json!({ "line": line, "character": character + u32::from(!inserted) });
        let text = if inserted { " " } else { "" };
        self.notify(
            "textDocument/didChange",
            json!({ "textDocument": { "uri": self.uri, "version": self.version },
                    "contentChanges": [{ "range": { "start": start, "end": end }, "text": text }] }),
        );
    }

    fn pos(&self, needle: &str, delta: u32) -> (u32, u32) {
        let at = self.text.find(needle).unwrap();
        let before = &self.text[..at];
        let line = before.matches('\n').count() as u32;
        let col = before.rsplit('\n').next().unwrap().len() as u32 + delta;
        (line, col)
    }
}

fn rss_kib(field: &str) -> u64 {
    let status = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
    status
        .lines()
        .find(|l| l.starts_with(field))
        .and_then(|l| l.split_whitespace().nth(1))
        .and_then(|n| n.parse().ok())
        .unwrap_or(0)
}

fn start() -> Session {
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../benches/data/gen-1000").canonicalize().unwrap();
    let (server, client) = Connection::memory();
    std::thread::spawn(move || writ_lsp::run(&server));
    let folder = format!("file://{}", dir.display());
    let path = dir.join("rules_000.writ");
    let text = std::fs::read_to_string(&path).unwrap();
    let mut s = Session { client, next: 0, version: 1, uri: format!("file://{}", path.display()), text };
    s.request(
        "initialize",
        json!({ "processId": null, "rootUri": folder, "capabilities": {},
                "workspaceFolders": [{ "uri": folder, "name": "gen-1000" }] }),
    );
    s.notify("initialized", json!({}));
    s.notify(
        "textDocument/didOpen",
        json!({ "textDocument": { "uri": s.uri, "languageId": "writ", "version": 1, "text": s.text } }),
    );
    // Answered once the workspace is checked.
    s.request("writ/ping", Value::Null);
    s
}

fn check(c: &mut Criterion) {
    use writ::unstable::sema::{self, NoFiles};
    use writ::unstable::syntax::SourceMap;
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../benches/data/gen-1000");
    let mut files: Vec<(String, String)> = std::fs::read_dir(&dir)
        .unwrap()
        .flatten()
        .map(|e| (e.path().display().to_string(), std::fs::read_to_string(e.path()).unwrap()))
        .collect();
    files.sort();
    let load = || {
        let mut sources = SourceMap::new();
        let ids: Vec<_> = files.iter().map(|(n, t)| sources.add(n.clone(), t.clone())).collect();
        (sources, ids)
    };
    let mut g = c.benchmark_group("check");
    g.bench_function("plain/1000_rules", |b| {
        b.iter(|| {
            let (mut sources, ids) = load();
            sema::check(&mut sources, &ids, &mut NoFiles)
        })
    });
    g.bench_function("with_analysis/1000_rules", |b| {
        b.iter(|| {
            let (mut sources, ids) = load();
            sema::check_with_analysis(&mut sources, &ids, &mut NoFiles)
        })
    });
    g.finish();
}

fn bench(c: &mut Criterion) {
    let before = rss_kib("VmRSS:");
    let mut s = start();
    let (hl, hc) = s.pos("principal.workload like", 12);
    s.request(
        "textDocument/hover",
        json!({ "textDocument": { "uri": s.uri }, "position": { "line": hl, "character": hc } }),
    );
    let loaded = rss_kib("VmRSS:");
    eprintln!(
        "memory: {before} KiB before the server, {loaded} KiB with the 1,000-rule workspace checked and indexed (+{} KiB)",
        loaded.saturating_sub(before)
    );
    // The edit: a space before `principal` in the first rule's `when` clause.
    let (el, ec) = s.pos("when principal.workload", 5);
    let (cl, cc) = s.pos("and principal.labels", 14);

    let mut g = c.benchmark_group("lsp");
    g.measurement_time(Duration::from_secs(8));
    g.bench_function("edit_to_diagnostics/1000_rules", |b| {
        b.iter(|| {
            s.edit(el, ec);
            s.request("writ/ping", Value::Null)
        })
    });
    // Leave the text as it was (an even number of edits).
    if s.version % 2 == 0 {
        s.edit(el, ec);
    }
    s.request("writ/ping", Value::Null);
    let hover = json!({ "textDocument": { "uri": s.uri }, "position": { "line": hl, "character": hc } });
    g.bench_function("hover/1000_rules", |b| b.iter(|| s.request("textDocument/hover", hover.clone())));
    let complete = json!({ "textDocument": { "uri": s.uri }, "position": { "line": cl, "character": cc } });
    let items = s.request("textDocument/completion", complete.clone());
    assert!(items.as_array().is_some_and(|a| a.iter().any(|i| i["label"] == "labels")), "{items}");
    g.bench_function("completion/1000_rules", |b| b.iter(|| s.request("textDocument/completion", complete.clone())));
    g.bench_function("definition/1000_rules", |b| b.iter(|| s.request("textDocument/definition", hover.clone())));
    g.bench_function("hover_after_edit/1000_rules", |b| {
        b.iter(|| {
            s.edit(el, ec);
            s.request("textDocument/hover", hover.clone())
        })
    });
    g.finish();
    eprintln!("memory: peak {} KiB, now {} KiB", rss_kib("VmHWM:"), rss_kib("VmRSS:"));
}

criterion_group!(benches, bench, check);
criterion_main!(benches);
