//! The Writ language server (`writ lsp`): LSP 3.17 over stdio, on `lsp-server`.
//!
//! One thread does the work. Messages are taken in batches (everything that has arrived):
//! the notifications of a batch are applied in order (so a burst of `didChange`s is
//! checked once, at its latest version: work for stale versions is never started), then
//! the folders that changed are checked again and their diagnostics pushed, then the
//! requests of the batch are answered (what arrives meanwhile is the next batch). A request
//! that a `$/cancelRequest` cancels before it is answered (also one that arrives while the
//! batch is checked or answered) is answered with `RequestCancelled`; a request that a later
//! request of the same kind about a newer text of the same document supersedes, with
//! `ContentModified` (the client asks again). A handler that fails (it should not) answers
//! `InternalError` and the server goes on.
//!
//! The crate has no binary: the `writ` command runs [`run_stdio`] for `writ lsp`.
#![cfg_attr(test, allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, clippy::indexing_slicing))]

mod assets;
mod complete;
mod features;
mod index;
mod text;
mod workspace;

pub use text::Encoding;

use lsp_server::{Connection, ErrorCode, Message, Notification, Request, RequestId, Response};
use lsp_types::notification::{self as notif, Notification as _};
use lsp_types::request::{self as req, Request as _};
use lsp_types::{InitializeParams, PositionEncodingKind, PublishDiagnosticsParams, ServerCapabilities, Uri};
use serde_json::Value;
use std::collections::HashMap;
use std::process::ExitCode;
use text::{LineIndex, uri_to_path};
use workspace::{Doc, Workspace, uri_key};

/// Runs the server on stdin/stdout until the client says `exit`. The exit code is 0 after
/// `shutdown` then `exit`, 1 otherwise (as LSP asks).
pub fn run_stdio() -> ExitCode {
    let (conn, io) = Connection::stdio();
    let code = run(&conn);
    drop(conn);
    let _ = io.join();
    code
}

/// Runs the server over any connection (the tests and benchmarks use an in-memory one).
pub fn run(conn: &Connection) -> ExitCode {
    let Some(mut server) = initialize(conn) else { return ExitCode::FAILURE };
    server.main_loop(conn)
}

/// The server's state.
pub struct Server {
    pub ws: Workspace,
    pub enc: Encoding,
    shutdown: bool,
    /// The client can take `relatedInformation`, `codeDescription`, versions.
    pub related: bool,
    pub snippets: bool,
    watch: bool,
    outgoing: i32,
}

fn capabilities(enc: Encoding) -> ServerCapabilities {
    use lsp_types::*;
    ServerCapabilities {
        position_encoding: Some(match enc {
            Encoding::Utf8 => PositionEncodingKind::UTF8,
            Encoding::Utf16 => PositionEncodingKind::UTF16,
        }),
        text_document_sync: Some(TextDocumentSyncCapability::Options(TextDocumentSyncOptions {
            open_close: Some(true),
            change: Some(TextDocumentSyncKind::INCREMENTAL),
            will_save: None,
            will_save_wait_until: None,
            save: Some(TextDocumentSyncSaveOptions::Supported(true)),
        })),
        hover_provider: Some(HoverProviderCapability::Simple(true)),
        document_formatting_provider: Some(OneOf::Left(true)),
        document_range_formatting_provider: Some(OneOf::Left(true)),
        completion_provider: Some(CompletionOptions {
            trigger_characters: Some(vec![".".into(), ":".into(), "@".into()]),
            resolve_provider: Some(false),
            ..CompletionOptions::default()
        }),
        signature_help_provider: Some(SignatureHelpOptions {
            trigger_characters: Some(vec!["(".into(), ",".into()]),
            retrigger_characters: None,
            work_done_progress_options: WorkDoneProgressOptions::default(),
        }),
        definition_provider: Some(OneOf::Left(true)),
        references_provider: Some(OneOf::Left(true)),
        document_symbol_provider: Some(OneOf::Left(true)),
        workspace_symbol_provider: Some(OneOf::Left(true)),
        code_action_provider: Some(CodeActionProviderCapability::Options(CodeActionOptions {
            code_action_kinds: Some(vec![CodeActionKind::QUICKFIX]),
            work_done_progress_options: WorkDoneProgressOptions::default(),
            resolve_provider: Some(false),
        })),
        rename_provider: Some(OneOf::Right(RenameOptions {
            prepare_provider: Some(true),
            work_done_progress_options: WorkDoneProgressOptions::default(),
        })),
        workspace: Some(WorkspaceServerCapabilities {
            workspace_folders: Some(WorkspaceFoldersServerCapabilities {
                supported: Some(true),
                change_notifications: Some(OneOf::Left(true)),
            }),
            file_operations: None,
        }),
        ..ServerCapabilities::default()
    }
}

/// Waits for `initialize`, answers it, and waits for `initialized`. Requests before
/// `initialize` are answered `ServerNotInitialized`; `exit` ends the server.
fn initialize(conn: &Connection) -> Option<Server> {
    loop {
        match conn.receiver.recv().ok()? {
            Message::Request(r) if r.method == req::Initialize::METHOD => {
                let params: InitializeParams = match serde_json::from_value(r.params.clone()) {
                    Ok(p) => p,
                    Err(e) => {
                        send(
                            conn,
                            Response::new_err(
                                r.id,
                                ErrorCode::InvalidParams as i32,
                                format!("invalid `initialize` params: {e}"),
                            ),
                        );
                        continue;
                    }
                };
                let server = Server::new(&params, &r.params);
                let result = serde_json::json!({
                    "capabilities": capabilities(server.enc),
                    "serverInfo": { "name": "writ-lsp", "version": env!("CARGO_PKG_VERSION") },
                });
                send(conn, Response::new_ok(r.id, result));
                return Some(server);
            }
            Message::Request(r) => send(
                conn,
                Response::new_err(
                    r.id,
                    ErrorCode::ServerNotInitialized as i32,
                    "the server is not initialized yet".into(),
                ),
            ),
            Message::Notification(n) if n.method == notif::Exit::METHOD => return None,
            _ => {}
        }
    }
}

fn send(conn: &Connection, msg: impl Into<Message>) {
    // The client went away: the main loop sees the closed channel and stops.
    let _ = conn.sender.send(msg.into());
}

/// A request waiting for the end of its batch.
struct Pending {
    req: Request,
    /// The document it is about, if any.
    doc: Option<String>,
    /// How many changes of that document this batch had applied when it arrived.
    generation: u32,
    cancelled: bool,
    superseded: bool,
}

impl Server {
    fn new(params: &InitializeParams, raw: &Value) -> Server {
        let caps = &params.capabilities;
        let utf8 = caps
            .general
            .as_ref()
            .and_then(|g| g.position_encodings.as_ref())
            .is_some_and(|e| e.contains(&PositionEncodingKind::UTF8));
        let mut ws = Workspace::default();
        let mut any = false;
        for f in params.workspace_folders.iter().flatten() {
            if let Some(p) = uri_to_path(&f.uri) {
                ws.add_folder(p);
                any = true;
            }
        }
        if !any {
            // `rootUri` and `rootPath` are deprecated, but older clients send only these.
            let root = raw
                .get("rootUri")
                .and_then(Value::as_str)
                .and_then(|u| u.parse::<Uri>().ok())
                .and_then(|u| uri_to_path(&u))
                .or_else(|| raw.get("rootPath").and_then(Value::as_str).map(std::path::PathBuf::from));
            if let Some(p) = root.filter(|p| p.is_absolute()) {
                ws.add_folder(p);
            }
        }
        let td = caps.text_document.as_ref();
        Server {
            ws,
            enc: if utf8 { Encoding::Utf8 } else { Encoding::Utf16 },
            shutdown: false,
            related: td
                .and_then(|t| t.publish_diagnostics.as_ref())
                .and_then(|p| p.related_information)
                .unwrap_or(false),
            snippets: td
                .and_then(|t| t.completion.as_ref())
                .and_then(|c| c.completion_item.as_ref())
                .and_then(|i| i.snippet_support)
                .unwrap_or(false),
            watch: caps
                .workspace
                .as_ref()
                .and_then(|w| w.did_change_watched_files.as_ref())
                .and_then(|d| d.dynamic_registration)
                .unwrap_or(false),
            outgoing: 0,
        }
    }

    fn main_loop(&mut self, conn: &Connection) -> ExitCode {
        // Messages that arrived while a batch was being answered: the next batch.
        let mut carried: Vec<Message> = Vec::new();
        loop {
            let mut batch = std::mem::take(&mut carried);
            if batch.is_empty() {
                let Ok(first) = conn.receiver.recv() else { return ExitCode::FAILURE };
                batch.push(first);
            }
            batch.extend(conn.receiver.try_iter());
            let mut pending: Vec<Pending> = Vec::new();
            // Changes seen so far in this batch, per document.
            let mut changes: HashMap<String, u32> = HashMap::new();
            // `exit` ends the server once what came before it is answered.
            let mut exit = false;
            for msg in batch {
                match msg {
                    Message::Request(r) => {
                        let doc = r.params.pointer("/textDocument/uri").and_then(Value::as_str).map(str::to_string);
                        let generation = doc.as_ref().and_then(|d| changes.get(d)).copied().unwrap_or(0);
                        // A newer request of the same kind about a newer text of the same
                        // document supersedes an older one still waiting.
                        if doc.is_some() {
                            for p in pending
                                .iter_mut()
                                .filter(|p| p.req.method == r.method && p.doc == doc && p.generation != generation)
                            {
                                p.superseded = true;
                            }
                        }
                        pending.push(Pending { req: r, doc, generation, cancelled: false, superseded: false });
                    }
                    Message::Notification(n) => {
                        if n.method == notif::Exit::METHOD {
                            exit = true;
                            break;
                        }
                        if n.method == notif::Cancel::METHOD {
                            let id = n.params.get("id").cloned();
                            for p in pending.iter_mut() {
                                if id
                                    .as_ref()
                                    .is_some_and(|id| serde_json::to_value(&p.req.id).ok().as_ref() == Some(id))
                                {
                                    p.cancelled = true;
                                }
                            }
                            continue;
                        }
                        if let Some(changed) = self.notification(conn, n) {
                            *changes.entry(changed).or_default() += 1;
                        }
                    }
                    Message::Response(_) => {}
                }
            }
            if !self.shutdown {
                self.publish(conn);
            }
            let mut pending = std::collections::VecDeque::from(pending);
            while !pending.is_empty() {
                // A cancellation that arrived while the batch was checked or answered still
                // counts; whatever else arrived waits for the next batch.
                carried.extend(conn.receiver.try_iter());
                carried.retain(|m| {
                    let Message::Notification(n) = m else { return true };
                    if n.method != notif::Cancel::METHOD {
                        return true;
                    }
                    let id = n.params.get("id");
                    let hit = pending
                        .iter_mut()
                        .find(|p| id.is_some() && serde_json::to_value(&p.req.id).ok().as_ref() == id);
                    match hit {
                        Some(p) => {
                            p.cancelled = true;
                            false
                        }
                        None => true,
                    }
                });
                let Some(p) = pending.pop_front() else { break };
                let id = p.req.id.clone();
                let resp = if p.cancelled {
                    Response::new_err(id, ErrorCode::RequestCanceled as i32, "cancelled".into())
                } else if p.superseded {
                    Response::new_err(
                        id,
                        ErrorCode::ContentModified as i32,
                        "superseded by a request about a newer text".into(),
                    )
                } else {
                    self.request(p.req)
                };
                send(conn, resp);
            }
            if exit {
                return if self.shutdown { ExitCode::SUCCESS } else { ExitCode::FAILURE };
            }
        }
    }

    /// Checks what changed and pushes diagnostics.
    fn publish(&mut self, conn: &Connection) {
        if !self.ws.is_dirty() {
            return;
        }
        for p in self.ws.refresh() {
            let diagnostics = p.diagnostics.iter().filter_map(|(set, i)| features::diagnostic(self, set, *i)).collect();
            let params = PublishDiagnosticsParams { uri: p.uri, diagnostics, version: p.version };
            send(conn, Notification::new(notif::PublishDiagnostics::METHOD.into(), params));
        }
    }

    /// Applies a notification; returns the key of the document it changed, if any.
    fn notification(&mut self, conn: &Connection, n: Notification) -> Option<String> {
        use lsp_types::*;
        match n.method.as_str() {
            notif::Initialized::METHOD => {
                if self.watch {
                    self.outgoing += 1;
                    let reg = Registration {
                        id: "writ-watch".into(),
                        method: notif::DidChangeWatchedFiles::METHOD.into(),
                        register_options: serde_json::to_value(DidChangeWatchedFilesRegistrationOptions {
                            watchers: vec![FileSystemWatcher {
                                glob_pattern: GlobPattern::String("**/*.writ".into()),
                                kind: None,
                            }],
                        })
                        .ok(),
                    };
                    let params = RegistrationParams { registrations: vec![reg] };
                    send(
                        conn,
                        Request::new(RequestId::from(self.outgoing), req::RegisterCapability::METHOD.into(), params),
                    );
                }
                self.ws.touch_all();
                None
            }
            notif::DidOpenTextDocument::METHOD => {
                let p: DidOpenTextDocumentParams = serde_json::from_value(n.params).ok()?;
                let key = uri_key(&p.text_document.uri);
                let doc = Doc {
                    lines: LineIndex::new(&p.text_document.text),
                    uri: p.text_document.uri.clone(),
                    text: p.text_document.text,
                    version: p.text_document.version,
                };
                self.ws.docs.insert(key.clone(), doc);
                self.ws.touch(&p.text_document.uri);
                Some(key)
            }
            notif::DidChangeTextDocument::METHOD => {
                let p: DidChangeTextDocumentParams = serde_json::from_value(n.params).ok()?;
                let key = uri_key(&p.text_document.uri);
                let enc = self.enc;
                let doc = self.ws.docs.get_mut(&key)?;
                // A change for an older version than the one held is stale: dropped.
                if p.text_document.version < doc.version {
                    return None;
                }
                for c in p.content_changes {
                    text::apply_change(&mut doc.text, c.range, &c.text, enc);
                }
                doc.version = p.text_document.version;
                doc.lines = LineIndex::new(&doc.text);
                self.ws.touch(&p.text_document.uri);
                Some(key)
            }
            notif::DidCloseTextDocument::METHOD => {
                let p: DidCloseTextDocumentParams = serde_json::from_value(n.params).ok()?;
                let key = uri_key(&p.text_document.uri);
                self.ws.docs.remove(&key);
                self.ws.touch(&p.text_document.uri);
                Some(key)
            }
            notif::DidSaveTextDocument::METHOD => {
                let p: DidSaveTextDocumentParams = serde_json::from_value(n.params).ok()?;
                self.ws.touch(&p.text_document.uri);
                None
            }
            notif::DidChangeWatchedFiles::METHOD => {
                self.ws.touch_all();
                None
            }
            notif::DidChangeWorkspaceFolders::METHOD => {
                let p: DidChangeWorkspaceFoldersParams = serde_json::from_value(n.params).ok()?;
                for f in p.event.removed {
                    if let Some(path) = uri_to_path(&f.uri) {
                        for uri in self.ws.remove_folder(&path) {
                            let params = PublishDiagnosticsParams { uri, diagnostics: vec![], version: None };
                            send(conn, Notification::new(notif::PublishDiagnostics::METHOD.into(), params));
                        }
                    }
                }
                for f in p.event.added {
                    if let Some(path) = uri_to_path(&f.uri) {
                        self.ws.add_folder(path);
                    }
                }
                self.ws.touch_all();
                None
            }
            _ => None,
        }
    }

    fn request(&mut self, r: Request) -> Response {
        let id = r.id.clone();
        if self.shutdown {
            return Response::new_err(id, ErrorCode::InvalidRequest as i32, "the server is shutting down".into());
        }
        if r.method == req::Shutdown::METHOD {
            self.shutdown = true;
            return Response::new_ok(id, ());
        }
        let method = r.method.clone();
        let out =
            std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| features::handle(self, &r.method, r.params)));
        match out {
            Ok(Ok(v)) => Response { id, result: Some(v), error: None },
            Ok(Err(Failure::Params(e))) => {
                Response::new_err(id, ErrorCode::InvalidParams as i32, format!("invalid params for `{method}`: {e}"))
            }
            Ok(Err(Failure::Unknown)) => {
                Response::new_err(id, ErrorCode::MethodNotFound as i32, format!("unknown method `{method}`"))
            }
            Ok(Err(Failure::Invalid(e))) => Response::new_err(id, ErrorCode::RequestFailed as i32, e),
            Err(_) => Response::new_err(id, ErrorCode::InternalError as i32, format!("internal error in `{method}`")),
        }
    }
}

/// Why a request got no result.
pub enum Failure {
    Params(serde_json::Error),
    Unknown,
    /// A request that cannot be carried out (a rename to an invalid name, …).
    Invalid(String),
}
