//! No edit sequence crashes or wedges `writ lsp`: thousands of random character insertions
//! and deletions at random offsets in every shipped `.writ` file (the examples and the
//! standard library), each sent as an incremental change, with requests of every kind in
//! between. The server answers every request (a result, or an error other than an internal
//! one), stays alive, and its copy of each document matches the client's at the end (the
//! diagnostics of the edited text equal those of the same text opened afresh).
//!
//! The seed is fixed; `WRIT_LSP_SEED=N` replays another sequence.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, clippy::indexing_slicing)]

mod lsp_client;

use lsp_client::{Client, uri_of};
use serde_json::{Value, json};
use std::path::{Path, PathBuf};

/// Edits per file (18 files: about 3,000 edits).
const EDITS_PER_FILE: usize = 170;
/// A request after every this many edits.
const REQUEST_EVERY: usize = 4;

struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        // xorshift64*
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }
    fn below(&mut self, n: usize) -> usize {
        (self.next() % (n.max(1) as u64)) as usize
    }
}

const INSERTS: &[&str] = &[
    "a",
    "x",
    "_",
    "0",
    "9",
    " ",
    "\n",
    ".",
    ",",
    ";",
    ":",
    "(",
    ")",
    "{",
    "}",
    "[",
    "]",
    "\"",
    "\\",
    "/",
    "*",
    "<",
    "=",
    "!",
    "@",
    "é",
    "😀",
    "\t",
    "permit ",
    "when ",
    " and ",
    "resource.",
    "context.",
    "principal.",
    "::",
    "\"x\"",
    "//",
    "/*",
    " in ",
    "->",
    "|",
    "?",
    "@id(\"",
    "schema {",
    "intent ",
    "fn f(",
    "import ",
    "all x in ",
    "time.",
];

const REQUESTS: &[&str] = &[
    "textDocument/hover",
    "textDocument/completion",
    "textDocument/definition",
    "textDocument/references",
    "textDocument/signatureHelp",
    "textDocument/documentSymbol",
    "textDocument/codeAction",
    "textDocument/prepareRename",
    "textDocument/rename",
    "workspace/symbol",
];

fn shipped_files(root: &Path) -> Vec<PathBuf> {
    fn walk(d: &Path, out: &mut Vec<PathBuf>) {
        let mut entries: Vec<_> = std::fs::read_dir(d).unwrap().flatten().map(|e| e.path()).collect();
        entries.sort();
        for p in entries {
            if p.is_dir() {
                walk(&p, out);
            } else if p.extension().is_some_and(|x| x == "writ") {
                out.push(p);
            }
        }
    }
    let mut out = Vec::new();
    walk(&root.join("examples"), &mut out);
    walk(&root.join("stdlib"), &mut out);
    out
}

/// The LSP position (UTF-16) of a byte offset.
fn position(text: &str, offset: usize) -> Value {
    let before = &text[..offset];
    let line = before.matches('\n').count();
    let col = before.rsplit('\n').next().unwrap().encode_utf16().count();
    json!({ "line": line, "character": col })
}

fn boundary(text: &str, mut i: usize) -> usize {
    i = i.min(text.len());
    while !text.is_char_boundary(i) {
        i -= 1;
    }
    i
}

fn diagnostics_summary(ds: &[Value]) -> Vec<String> {
    let mut v: Vec<String> = ds.iter().map(|d| format!("{} {} {}", d["code"], d["range"], d["message"])).collect();
    v.sort();
    v
}

#[test]
fn thousands_of_random_edits_never_crash_or_wedge_the_server() {
    let root = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../..").canonicalize().unwrap();
    let seed = std::env::var("WRIT_LSP_SEED").ok().and_then(|s| s.parse().ok()).unwrap_or(0x5EED_1234_u64);
    let mut rng = Rng(seed | 1);
    let files = shipped_files(&root);
    assert!(files.len() >= 15, "{files:?}");
    let (mut c, _) = Client::start(&root.join("examples"), false);
    let mut total = 0;
    let mut answered = 0;
    for path in &files {
        let uri = uri_of(path);
        let mut text = std::fs::read_to_string(path).unwrap();
        c.open(&uri, &text);
        let mut version = 1;
        for i in 0..EDITS_PER_FILE {
            let at = boundary(&text, rng.below(text.len() + 1));
            let (range, new) = if rng.below(3) == 0 && at < text.len() {
                // Delete 1 to 4 characters.
                let n = 1 + rng.below(4);
                let end = text[at..].char_indices().nth(n).map_or(text.len(), |(j, _)| at + j);
                ((at, end), String::new())
            } else {
                ((at, at), INSERTS[rng.below(INSERTS.len())].to_string())
            };
            let r = json!({ "start": position(&text, range.0), "end": position(&text, range.1) });
            text.replace_range(range.0..range.1, &new);
            version += 1;
            total += 1;
            c.change(&uri, version, json!([{ "range": r, "text": new }]));
            if i % REQUEST_EVERY == REQUEST_EVERY - 1 {
                let method = REQUESTS[rng.below(REQUESTS.len())];
                let p = position(&text, boundary(&text, rng.below(text.len() + 1)));
                let params = match method {
                    "workspace/symbol" => json!({ "query": "a" }),
                    "textDocument/documentSymbol" => json!({ "textDocument": { "uri": uri } }),
                    "textDocument/references" => {
                        json!({ "textDocument": { "uri": uri }, "position": p, "context": { "includeDeclaration": true } })
                    }
                    "textDocument/codeAction" => {
                        json!({ "textDocument": { "uri": uri }, "range": { "start": p, "end": p }, "context": { "diagnostics": [] } })
                    }
                    "textDocument/rename" => {
                        json!({ "textDocument": { "uri": uri }, "position": p, "newName": "renamed" })
                    }
                    _ => json!({ "textDocument": { "uri": uri }, "position": p }),
                };
                let id = c.send_request(method, params);
                let resp = c.response(id);
                let code = resp["error"]["code"].as_i64();
                assert!(code != Some(-32603), "{method} failed inside the server: {resp}");
                assert!(resp.get("result").is_some() || code.is_some(), "{resp}");
                answered += 1;
            }
        }
        // The server's text is the client's: the diagnostics of the edited document equal
        // those of the same text opened afresh.
        let edited = c.diagnostics_until(&uri, |_| true);
        let mut edited = edited;
        while c.last["version"] != json!(version) {
            edited = c.diagnostics_until(&uri, |_| true);
        }
        c.notify("textDocument/didClose", json!({ "textDocument": { "uri": uri } }));
        c.notify(
            "textDocument/didOpen",
            json!({ "textDocument": { "uri": uri, "languageId": "writ", "version": version + 1, "text": text } }),
        );
        let mut fresh = c.diagnostics_until(&uri, |_| true);
        while c.last["version"] != json!(version + 1) {
            fresh = c.diagnostics_until(&uri, |_| true);
        }
        assert_eq!(diagnostics_summary(&edited), diagnostics_summary(&fresh), "{}", path.display());
        c.notify("textDocument/didClose", json!({ "textDocument": { "uri": uri } }));
        assert!(c.alive(), "the server died editing {}", path.display());
    }
    assert!(total >= 3000, "{total} edits");
    assert!(answered >= 700, "{answered} requests");
    assert_eq!(c.finish(), Some(0));
}
