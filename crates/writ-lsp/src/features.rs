//! The requests: hover, definition, references, symbols, completion, signature help, quick
//! fixes, rename; and diagnostics in LSP's shape.

use crate::index::{Binder, Decl, Kind, Occurrence, Sym};
use crate::workspace::Checked;
use crate::{Failure, Server, assets, complete};
use lsp_types::request::{self as req, Request as _};
use lsp_types::*;
use serde::Serialize;
use serde::de::DeserializeOwned;
use serde_json::Value;
use std::collections::HashMap;
use std::sync::Arc;
use writ::diag::Severity;
use writ::unstable::syntax::{FileId, Span};

type Answer = Result<Value, Failure>;

fn params<P: DeserializeOwned>(v: Value) -> Result<P, Failure> {
    serde_json::from_value(v).map_err(Failure::Params)
}

fn ok<R: Serialize>(r: R) -> Answer {
    Ok(serde_json::to_value(r).unwrap_or(Value::Null))
}

pub fn handle(s: &mut Server, method: &str, p: Value) -> Answer {
    match method {
        req::HoverRequest::METHOD => ok(hover(s, params(p)?)),
        req::GotoDefinition::METHOD => ok(definition(s, params(p)?)),
        req::References::METHOD => ok(references(s, params(p)?)),
        req::DocumentSymbolRequest::METHOD => ok(document_symbols(s, params(p)?)),
        req::WorkspaceSymbolRequest::METHOD => ok(workspace_symbols(s, params(p)?)),
        req::Completion::METHOD => ok(complete::completion(s, params(p)?)),
        req::SignatureHelpRequest::METHOD => ok(complete::signature_help(s, params(p)?)),
        req::CodeActionRequest::METHOD => ok(code_actions(s, params(p)?)),
        req::PrepareRenameRequest::METHOD => ok(prepare_rename(s, params(p)?)),
        req::Rename::METHOD => ok(rename(s, params(p)?)?),
        req::Formatting::METHOD => ok(format_document(s, params(p)?)),
        req::RangeFormatting::METHOD => ok(format_range(s, params(p)?)),
        _ => Err(Failure::Unknown),
    }
}

/// `textDocument/formatting`: the whole document in the canonical layout (`writ fmt`), as
/// one edit; `null` for a document that does not parse (it is left as it is).
fn format_document(s: &Server, p: DocumentFormattingParams) -> Option<Vec<TextEdit>> {
    let doc = s.ws.docs.get(&crate::workspace::uri_key(&p.text_document.uri))?;
    let out = writ::unstable::fmt::format_source(&doc.text).ok()?;
    if out == doc.text {
        return Some(Vec::new());
    }
    Some(vec![TextEdit { range: doc.lines.range(&doc.text, 0, doc.text.len(), s.enc), new_text: out }])
}

/// `textDocument/rangeFormatting`: the smallest run of whole top-level items covering the
/// range, in the canonical layout; `null` for a document that does not parse.
fn format_range(s: &Server, p: DocumentRangeFormattingParams) -> Option<Vec<TextEdit>> {
    let doc = s.ws.docs.get(&crate::workspace::uri_key(&p.text_document.uri))?;
    let start = doc.lines.offset(&doc.text, p.range.start, s.enc);
    let end = doc.lines.offset(&doc.text, p.range.end, s.enc).max(start);
    let edits = writ::unstable::fmt::format_range(&doc.text, start..end).ok()?;
    Some(
        edits
            .into_iter()
            .map(|e| TextEdit {
                range: doc.lines.range(&doc.text, e.range.start, e.range.end, s.enc),
                new_text: e.new_text,
            })
            .collect(),
    )
}

/// The set holding a document, the file and the byte offset of a position in it.
pub fn locate(s: &Server, uri: &Uri, pos: Position) -> Option<(Arc<Checked>, FileId, usize)> {
    let (set, file) = s.ws.set_of(uri)?;
    let (text, lines) = set.lines(file)?;
    let offset = lines.offset(text, pos, s.enc);
    Some((set, file, offset))
}

// ------------------------------------------------------------------ diagnostics

/// Diagnostic `i` of a set, in LSP's shape.
pub fn diagnostic(s: &Server, set: &Checked, i: usize) -> Option<Diagnostic> {
    let d = set.diagnostics.get(i)?;
    let range = set.range(d.primary.span, s.enc)?;
    let mut message = d.message.clone();
    if !d.primary.message.is_empty() {
        message.push_str(&format!(" ({})", d.primary.message));
    }
    for n in &d.notes {
        message.push_str(&format!("\nnote: {n}"));
    }
    if let Some(h) = &d.help {
        message.push_str(&format!("\nhelp: {h}"));
    }
    let related: Vec<DiagnosticRelatedInformation> = d
        .labels
        .iter()
        .filter_map(|l| {
            Some(DiagnosticRelatedInformation { location: set.location(l.span, s.enc)?, message: l.message.clone() })
        })
        .collect();
    if !s.related {
        // The client shows no related information: the labels go into the message.
        for l in &d.labels {
            let line = set.sources.get(l.span.file).map_or(0, |f| f.line(l.span.start) + 1);
            message.push_str(&format!("\n{}:{line}: {}", set.sources.name(l.span.file), l.message));
        }
    }
    let related = if s.related { related } else { Vec::new() };
    let code = d.code.as_str();
    Some(Diagnostic {
        range,
        severity: Some(match d.severity {
            Severity::Error => DiagnosticSeverity::ERROR,
            Severity::Warning => DiagnosticSeverity::WARNING,
            Severity::Info => DiagnosticSeverity::INFORMATION,
        }),
        code: Some(NumberOrString::String(code.to_string())),
        code_description: assets::explain_uri(code).map(|href| CodeDescription { href }),
        source: Some("writ".into()),
        message,
        related_information: if related.is_empty() { None } else { Some(related) },
        tags: None,
        data: d.help.as_ref().map(|h| serde_json::json!({ "help": h })),
    })
}

// ------------------------------------------------------------------ hover

fn code_block(text: &str) -> String {
    format!("```writ\n{text}\n```")
}

/// The types an expression had at an offset (the innermost expression).
fn type_at(set: &Checked, file: FileId, offset: u32) -> Option<(Span, String)> {
    let span = set
        .analysis
        .types
        .keys()
        .filter(|sp| sp.file == file && sp.start <= offset && offset <= sp.end)
        .min_by_key(|sp| sp.end - sp.start)?;
    let names: Vec<String> = set.analysis.types_at(*span).into_iter().map(|t| set.analysis.schema.ty_name(t)).collect();
    Some((*span, names.join(" | ")))
}

fn describe(set: &Checked, sym: &Sym) -> Option<String> {
    let ix = set.index();
    if let Sym::Local(span) = sym {
        return describe_local(set, *span);
    }
    if let Sym::Fn(span) = sym {
        let f = set.analysis.fns.iter().find(|f| f.span == *span)?;
        let mut out = code_block(&format!("fn {}", f.signature));
        if let Some(doc) = &f.doc {
            out.push_str(&format!("\n\n{}", doc.trim()));
        }
        return Some(out);
    }
    let decls: Vec<&Decl> = ix.decls_of(sym).collect();
    let first = decls.first()?;
    let detail = match (sym, first.kind) {
        (Sym::Attr(owner, path), _) => format!("{owner}.{}: {}", path.join("."), type_of_decl(&first.detail)),
        (Sym::Context(path), _) => {
            let owners: Vec<&str> = decls.iter().filter_map(|d| d.container.as_deref()).collect();
            let of = if owners.iter().all(|o| *o == "context") {
                String::new()
            } else {
                format!("  // of {}", owners.join(", "))
            };
            format!("context.{}: {}{of}", path.join("."), type_of_decl(&first.detail))
        }
        (Sym::EnumValue(..), _) => first.detail.clone(),
        (Sym::Module(_), _) => {
            let fns: Vec<String> = set
                .analysis
                .fns
                .iter()
                .filter(|f| {
                    set.sources.name(f.span.file).ends_with(&format!("/{}.writ", first.name))
                        || is_module_of(set, first, f.span.file)
                })
                .map(|f| format!("fn {}", f.signature))
                .collect();
            let mut d = first.detail.clone();
            if !fns.is_empty() {
                d.push_str(&format!("\n\n{}", fns.join("\n")));
            }
            d
        }
        _ => first.detail.clone(),
    };
    let mut out = code_block(&detail);
    if let Sym::Rule(_) = sym {
        out.push_str(&format!("\n\n{}", rule_summary(set, first)));
    }
    if let Sym::EnumValue(ty, _) = sym {
        if let Some(en) = ix.decls_of(&Sym::Type(ty.clone())).next() {
            out.push_str(&format!("\n\nA value of `{}`: {}", ty, en.detail));
        }
    }
    for d in &decls {
        if let Some(doc) = &d.doc {
            out.push_str(&format!("\n\n{}", doc.trim()));
            break;
        }
    }
    Some(out)
}

/// A fn parameter (its type as declared) or a quantifier variable (the element type of
/// the set it ranges over, as checked).
fn describe_local(set: &Checked, span: Span) -> Option<String> {
    let ix = set.index();
    let l = ix.local(span)?;
    let schema = &set.analysis.schema;
    let (ty, what) = match &l.binder {
        Binder::Param { of, ty } => (ty.clone(), format!("A parameter of `{of}`.")),
        Binder::Quant { all, set: over } => {
            let mut tys: Vec<String> = Vec::new();
            for t in set.analysis.types_at(*over) {
                if let writ::unstable::ir::Ty::Set(inner) = t {
                    let name = schema.ty_name(inner);
                    if !tys.contains(&name) {
                        tys.push(name);
                    }
                }
            }
            if tys.is_empty() {
                // The set did not check: the type its uses had, if any.
                for o in ix.references(&Sym::Local(span)).filter(|o| !o.decl) {
                    for t in set.analysis.types_at(o.span) {
                        let name = schema.ty_name(t);
                        if !tys.contains(&name) {
                            tys.push(name);
                        }
                    }
                }
            }
            let word = if *all { "all" } else { "any" };
            (tys.join(" | "), format!("Bound by `{word} {} in …`: each element of the set in turn.", l.name))
        }
    };
    let shown = if ty.is_empty() { l.name.clone() } else { format!("{}: {ty}", l.name) };
    Some(format!("{}\n\n{what}", code_block(&shown)))
}

/// Whether a module import refers to file `file` (a path import).
fn is_module_of(set: &Checked, import: &Decl, file: FileId) -> bool {
    import.detail.starts_with("import \"")
        && set.sources.name(file).ends_with(import.detail.split('"').nth(1).unwrap_or("\u{0}").trim_start_matches("./"))
}

/// The type part of `name: Type?` as declared.
fn type_of_decl(detail: &str) -> String {
    detail.split_once(':').map_or(detail, |(_, t)| t).trim().to_string()
}

fn rule_summary(set: &Checked, d: &Decl) -> String {
    let effect = d.effect.map(|e| set.sources.snippet(e));
    let line = set.sources.get(d.full.file).map_or(0, |f| f.line(d.full.start) + 1);
    format!("{} rule, {}:{line}", effect.unwrap_or("a"), set.sources.name(d.full.file))
}

fn hover(s: &Server, p: HoverParams) -> Option<Hover> {
    let pp = p.text_document_position_params;
    let (set, file, offset) = locate(s, &pp.text_document.uri, pp.position)?;
    let offset = u32::try_from(offset).ok()?;
    let ix = set.index();
    let (text, span) = if let Some(o) = ix.at(file, offset) {
        let mut text = describe(&set, &o.sym).unwrap_or_default();
        if !o.decl {
            if let Some((tspan, ty)) = type_at(&set, file, offset) {
                if tspan.end >= o.span.end && tspan.start <= o.span.start && !text.contains(&format!(": {ty}")) {
                    text = format!("{}\n\n{text}", code_block(&format!("(type) {ty}")));
                }
            }
        }
        (text, o.span)
    } else if let Some((span, sig)) =
        ix.methods.iter().find(|(sp, _)| sp.file == file && sp.start <= offset && offset <= sp.end)
    {
        (code_block(sig), *span)
    } else if let Some((span, ty)) = type_at(&set, file, offset) {
        let what = set.sources.snippet(span);
        let shown =
            if what.len() <= 60 && !what.contains('\n') { format!("{what}: {ty}") } else { format!("(type) {ty}") };
        (code_block(&shown), span)
    } else if let Some((span, text)) = keyword_hover(&set, file, offset) {
        (text, span)
    } else {
        return None;
    };
    if text.is_empty() {
        return None;
    }
    Some(Hover {
        contents: HoverContents::Markup(MarkupContent { kind: MarkupKind::Markdown, value: text }),
        range: set.range(span, s.enc),
    })
}

/// Hover on a rule's effect keyword: its id, effect and target.
fn keyword_hover(set: &Checked, file: FileId, offset: u32) -> Option<(Span, String)> {
    let ix = set.index();
    let d = ix.decls.iter().find(|d| {
        d.kind == Kind::Rule && d.effect.is_some_and(|e| e.file == file && e.start <= offset && offset <= e.end)
    })?;
    let mut out = code_block(&d.detail);
    out.push_str(&format!("\n\n{}", rule_summary(set, d)));
    if let Some(doc) = &d.doc {
        out.push_str(&format!("\n\n{}", doc.trim()));
    }
    Some((d.effect?, out))
}

// ------------------------------------------------------------------ definition, references

fn sym_at(s: &Server, uri: &Uri, pos: Position) -> Option<(Arc<Checked>, Occurrence)> {
    let (set, file, offset) = locate(s, uri, pos)?;
    let o = set.index().at(file, u32::try_from(offset).ok()?)?.clone();
    Some((set, o))
}

fn definition(s: &Server, p: GotoDefinitionParams) -> Option<GotoDefinitionResponse> {
    let pp = p.text_document_position_params;
    let (set, o) = sym_at(s, &pp.text_document.uri, pp.position)?;
    let ix = set.index();
    let mut locs: Vec<Location> = ix.decls_of(&o.sym).filter_map(|d| set.location(d.span, s.enc)).collect();
    if locs.is_empty() {
        match &o.sym {
            // A function of the standard library: its declaration in the library's source.
            // A bound variable: where it is bound.
            Sym::Fn(span) | Sym::Local(span) => locs.extend(set.location(*span, s.enc)),
            _ => {}
        }
    }
    if locs.is_empty() { None } else { Some(GotoDefinitionResponse::Array(locs)) }
}

fn references(s: &Server, p: ReferenceParams) -> Option<Vec<Location>> {
    let pp = p.text_document_position;
    let (set, o) = sym_at(s, &pp.text_document.uri, pp.position)?;
    let with_decl = p.context.include_declaration;
    let mut spans: Vec<Span> =
        set.index().references(&o.sym).filter(|r| with_decl || !r.decl).map(|r| r.span).collect();
    spans.sort_by_key(|sp| (sp.file, sp.start));
    spans.dedup();
    Some(spans.into_iter().filter_map(|sp| set.location(sp, s.enc)).collect())
}

// ------------------------------------------------------------------ symbols

fn symbol_kind(k: Kind) -> SymbolKind {
    match k {
        Kind::Entity => SymbolKind::CLASS,
        Kind::Enum => SymbolKind::ENUM,
        Kind::EnumValue => SymbolKind::ENUM_MEMBER,
        Kind::Attribute => SymbolKind::FIELD,
        Kind::ContextField => SymbolKind::PROPERTY,
        Kind::Action => SymbolKind::EVENT,
        Kind::Group => SymbolKind::ARRAY,
        Kind::Intent => SymbolKind::INTERFACE,
        Kind::Fn => SymbolKind::FUNCTION,
        Kind::Module => SymbolKind::MODULE,
        Kind::Rule => SymbolKind::KEY,
        Kind::Schema => SymbolKind::NAMESPACE,
    }
}

#[allow(deprecated)]
fn document_symbols(s: &Server, p: DocumentSymbolParams) -> Option<DocumentSymbolResponse> {
    let (set, file) = s.ws.set_of(&p.text_document.uri)?;
    let ix = set.index();
    let in_file: Vec<(usize, &Decl)> = ix.decls.iter().enumerate().filter(|(_, d)| d.span.file == file).collect();
    let make = |d: &Decl| -> Option<DocumentSymbol> {
        let full = set.range(d.full.to(d.span), s.enc)?;
        let sel = set.range(d.span, s.enc)?;
        Some(DocumentSymbol {
            name: if d.name.is_empty() { "rule".into() } else { d.name.clone() },
            detail: Some(d.detail.clone()),
            kind: symbol_kind(d.kind),
            tags: None,
            deprecated: None,
            range: full,
            selection_range: sel,
            children: None,
        })
    };
    let mut top: Vec<DocumentSymbol> = Vec::new();
    let mut slot: HashMap<usize, usize> = HashMap::new();
    for (i, d) in &in_file {
        if d.parent.is_none() {
            if let Some(sym) = make(d) {
                slot.insert(*i, top.len());
                top.push(sym);
            }
        }
    }
    for (_, d) in &in_file {
        let Some(parent) = d.parent else { continue };
        let (Some(&at), Some(sym)) = (slot.get(&parent), make(d)) else { continue };
        if let Some(t) = top.get_mut(at) {
            t.children.get_or_insert_with(Vec::new).push(sym);
        }
    }
    Some(DocumentSymbolResponse::Nested(top))
}

#[allow(deprecated)]
fn workspace_symbols(s: &Server, p: WorkspaceSymbolParams) -> Option<WorkspaceSymbolResponse> {
    let q = p.query.to_lowercase();
    let mut out = Vec::new();
    let mut seen = std::collections::HashSet::new();
    for set in s.ws.sets() {
        for d in &set.index().decls {
            if d.name.is_empty() || !fuzzy(&q, &d.name.to_lowercase()) {
                continue;
            }
            let Some(location) = set.location(d.span, s.enc) else { continue };
            if !seen.insert((
                location.uri.as_str().to_string(),
                location.range.start.line,
                location.range.start.character,
            )) {
                continue;
            }
            out.push(SymbolInformation {
                name: d.name.clone(),
                kind: symbol_kind(d.kind),
                tags: None,
                deprecated: None,
                location,
                container_name: d.container.clone(),
            });
            if out.len() >= 1000 {
                return Some(WorkspaceSymbolResponse::Flat(out));
            }
        }
    }
    Some(WorkspaceSymbolResponse::Flat(out))
}

/// The query's characters appear in the name in order.
fn fuzzy(q: &str, name: &str) -> bool {
    let mut it = name.chars();
    q.chars().all(|c| it.any(|n| n == c))
}

// ------------------------------------------------------------------ quick fixes

/// The suggestion of a "did you mean `x`?" help.
fn suggestion(help: &str) -> Option<&str> {
    let rest = help.strip_prefix("did you mean `")?;
    rest.strip_suffix("`?")
}

/// Where in the text under a diagnostic the suggestion goes: (offset in `written`, the
/// name there, its replacement). The diagnostic is under the misspelt name (then `@` of an
/// annotation and `module.` of a call are left out of the suggestion), or under a larger
/// piece (`import std.tme`), where the dotted name with as many parts as the suggestion is
/// replaced.
fn replacement<'a>(written: &'a str, sugg: &'a str) -> Option<(u32, &'a str, &'a str)> {
    let is_name = |t: &str| !t.is_empty() && t.chars().all(|c| c.is_ascii_alphanumeric() || c == '_');
    let mut new = sugg.trim_start_matches('@');
    if is_name(written) {
        if let Some((_, last)) = new.rsplit_once('.') {
            new = last;
        }
        return is_name(new).then_some((0, written, new));
    }
    // The runs of name characters and dots in the text, last first.
    let parts = new.split('.').count();
    let mut runs: Vec<(usize, &str)> = Vec::new();
    let mut start = None;
    for (i, c) in written.char_indices().chain(std::iter::once((written.len(), ' '))) {
        let part = c.is_ascii_alphanumeric() || c == '_' || c == '.';
        match (part, start) {
            (true, None) => start = Some(i),
            (false, Some(s0)) => {
                runs.push((s0, written.get(s0..i).unwrap_or("")));
                start = None;
            }
            _ => {}
        }
    }
    let (at, name) = runs
        .into_iter()
        .rev()
        .find(|(_, r)| r.split('.').count() == parts && r.split('.').all(is_name) && *r != new)?;
    Some((u32::try_from(at).ok()?, name, new))
}

// `WorkspaceEdit::changes` is keyed by `Uri`, which clippy takes for mutable (it caches).
#[allow(clippy::mutable_key_type)]
fn code_actions(s: &Server, p: CodeActionParams) -> Option<CodeActionResponse> {
    let uri = p.text_document.uri;
    let (set, file) = s.ws.set_of(&uri)?;
    let (text, lines) = set.lines(file)?;
    let start = lines.offset(text, p.range.start, s.enc);
    let end = lines.offset(text, p.range.end, s.enc);
    let mut out = Vec::new();
    for (i, d) in set.diagnostics.iter().enumerate() {
        let sp = d.primary.span;
        if sp.file != file || (sp.end as usize) < start || (sp.start as usize) > end {
            continue;
        }
        let Some(sugg) = d.help.as_deref().and_then(suggestion) else { continue };
        let written = set.sources.snippet(sp);
        let Some((at, written, new)) = replacement(written, sugg) else { continue };
        let len = u32::try_from(written.len()).unwrap_or(0);
        let start = sp.start.saturating_add(at);
        let sp = Span { file: sp.file, start, end: start.saturating_add(len) };
        let Some(range) = set.range(sp, s.enc) else { continue };
        let edit = TextEdit { range, new_text: new.to_string() };
        let diag = diagnostic(s, &set, i);
        out.push(CodeActionOrCommand::CodeAction(CodeAction {
            title: format!("Replace `{written}` with `{new}`"),
            kind: Some(CodeActionKind::QUICKFIX),
            diagnostics: diag.map(|d| vec![d]),
            edit: Some(WorkspaceEdit {
                changes: Some(HashMap::from([(uri.clone(), vec![edit])])),
                ..WorkspaceEdit::default()
            }),
            command: None,
            is_preferred: Some(true),
            disabled: None,
            data: None,
        }));
    }
    Some(out)
}

// ------------------------------------------------------------------ rename

/// The span to edit for an occurrence: a rule id's text inside its quotes.
fn edit_span(o: &Occurrence) -> Span {
    match o.sym {
        Sym::Rule(_) if o.span.end >= o.span.start + 2 => {
            Span { file: o.span.file, start: o.span.start + 1, end: o.span.end - 1 }
        }
        _ => o.span,
    }
}

fn renamable(set: &Checked, sym: &Sym) -> bool {
    match sym {
        Sym::Intent(_) => true,
        Sym::Rule(id) => !id.is_empty(),
        // Functions of the standard library are not the user's to rename.
        Sym::Fn(span) => set.analysis.fns.iter().any(|f| f.span == *span && !f.std),
        _ => false,
    }
}

fn prepare_rename(s: &Server, p: TextDocumentPositionParams) -> Option<PrepareRenameResponse> {
    let (set, o) = sym_at(s, &p.text_document.uri, p.position)?;
    if !renamable(&set, &o.sym) {
        return None;
    }
    let span = edit_span(&o);
    Some(PrepareRenameResponse::RangeWithPlaceholder {
        range: set.range(span, s.enc)?,
        placeholder: set.sources.snippet(span).to_string(),
    })
}

#[allow(clippy::mutable_key_type)]
fn rename(s: &Server, p: RenameParams) -> Result<Option<WorkspaceEdit>, Failure> {
    let pp = p.text_document_position;
    let Some((set, o)) = sym_at(s, &pp.text_document.uri, pp.position) else { return Ok(None) };
    if !renamable(&set, &o.sym) {
        return Err(Failure::Invalid("only functions, intents and rule ids can be renamed".into()));
    }
    let new = p.new_name;
    let new_text = match o.sym {
        Sym::Rule(_) => {
            if new.is_empty() || new.chars().any(|c| c.is_control()) {
                return Err(Failure::Invalid(format!("`{new}` is not a valid rule id")));
            }
            new.replace('\\', "\\\\").replace('"', "\\\"")
        }
        _ => {
            let mut cs = new.chars();
            let ident = cs.next().is_some_and(|c| c.is_ascii_alphabetic() || c == '_')
                && cs.all(|c| c.is_ascii_alphanumeric() || c == '_');
            if !ident || complete::KEYWORDS.contains(&new.as_str()) || new == "none" {
                return Err(Failure::Invalid(format!("`{new}` is not a valid name")));
            }
            new.clone()
        }
    };
    let mut changes: HashMap<Uri, Vec<TextEdit>> = HashMap::new();
    let mut seen = std::collections::HashSet::new();
    for r in set.index().references(&o.sym) {
        let span = edit_span(r);
        if !seen.insert((span.file, span.start)) {
            continue;
        }
        let (Some(uri), Some(range)) = (set.uris.get(&span.file), set.range(span, s.enc)) else { continue };
        changes.entry(uri.clone()).or_default().push(TextEdit { range, new_text: new_text.clone() });
    }
    Ok(Some(WorkspaceEdit { changes: Some(changes), ..WorkspaceEdit::default() }))
}
