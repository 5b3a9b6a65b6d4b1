//! Completion and signature help. Both work on text that does not parse (the usual state
//! of a line being typed): they read the token stream up to the cursor, find the item the
//! cursor is in (a rule, its target or a clause; the schema; an intent; a fn) and the
//! access chain before a `.`, and take names and types from the schema the checker built.

use crate::Server;
use crate::features::locate;
use crate::workspace::Checked;
use lsp_types::*;
use std::collections::BTreeMap;
use writ::unstable::ir::schema::Schema;
use writ::unstable::ir::{RecordTy, Ty, builtins};
use writ::unstable::sema::analysis::method_signature;
use writ::unstable::sema::stdlib;
use writ::unstable::syntax::FileId;
use writ::unstable::syntax::lexer::{self, Tok};

/// The reserved words (never valid as names).
pub const KEYWORDS: &[&str] = &[
    "schema", "entity", "enum", "action", "context", "intent", "import", "fn", "permit", "forbid", "escalate", "to",
    "on", "in", "is", "has", "like", "when", "unless", "because", "grant", "and", "or", "not", "if", "then", "else",
    "all", "any", "true", "false",
];

const BUILTIN_TYPE_NAMES: &[&str] = &["Bool", "Int", "String", "Duration", "Timestamp", "Ip", "Intent"];

const CONSTRUCTORS: &[(&str, &str, &str)] = &[
    (
        "timestamp",
        "timestamp(text: String) -> Timestamp",
        "An RFC 3339 timestamp, checked when the policy is compiled.",
    ),
    ("ip", "ip(text: String) -> Ip", "An IP address or CIDR range (v4 or v6), checked when the policy is compiled."),
    (
        "duration",
        "duration(text: String) -> Duration",
        "A duration such as `\"1h30m\"`, checked when the policy is compiled.",
    ),
];

type Token<'a> = (usize, Tok<'a>, usize);

fn is_word(t: &Tok<'_>) -> bool {
    matches!(t, Tok::Ident(_)) || t.is_keyword()
}

fn word<'a>(t: &Tok<'a>) -> Option<&'a str> {
    match t {
        Tok::Ident(s) => Some(s),
        other if other.is_keyword() => Some(other.text()),
        _ => None,
    }
}

/// Where the cursor is, as far as completion cares.
#[derive(Debug, PartialEq)]
enum Place {
    TopLevel,
    /// Inside `schema { }`: depth 1 is between members.
    Schema {
        depth: usize,
    },
    Intent,
    Import,
    Fn {
        start: usize,
    },
    Rule {
        start: usize,
    },
}

/// The token stream before the cursor and what it says.
struct Cursor<'a> {
    tokens: Vec<Token<'a>>,
    /// Index of the first token after the ones before the cursor (and the word being typed).
    end: usize,
    /// The word being typed: (start offset, text).
    prefix: Option<(usize, String)>,
}

impl<'a> Cursor<'a> {
    fn new(text: &'a str, offset: usize) -> Option<Cursor<'a>> {
        let lexed = lexer::lex(FileId(0), text);
        let tokens: Vec<Token<'a>> = lexed.tokens.into_iter().filter(|t| t.1 != Tok::Eof).collect();
        // Inside a string or a comment: nothing to complete.
        if tokens.iter().any(|(s, t, e)| matches!(t, Tok::Str(_)) && *s < offset && offset < *e) {
            return None;
        }
        let line_start = text.get(..offset).and_then(|t| t.rfind('\n')).map_or(0, |i| i + 1);
        if in_comment(text.get(line_start..offset).unwrap_or("")) {
            return None;
        }
        let mut end = tokens.iter().position(|(s, _, _)| *s >= offset).unwrap_or(tokens.len());
        let mut prefix = None;
        if let Some(i) = end.checked_sub(1) {
            if let Some((s, t, e)) = tokens.get(i) {
                if *s < offset && offset <= *e && is_word(t) {
                    prefix = Some((*s, text.get(*s..offset).unwrap_or("").to_string()));
                    end = i;
                } else if *s < offset && offset < *e {
                    // In the middle of a token that is not a word.
                    return None;
                }
            }
        }
        Some(Cursor { tokens, end, prefix })
    }

    fn before(&self) -> &[Token<'a>] {
        self.tokens.get(..self.end).unwrap_or(&[])
    }

    fn last(&self) -> Option<&Tok<'a>> {
        self.before().last().map(|t| &t.1)
    }

    /// The item the cursor is in.
    fn place(&self) -> Place {
        let mut place = Place::TopLevel;
        let mut depth = 0usize;
        let mut annotated = false;
        for (i, (_, t, _)) in self.before().iter().enumerate() {
            if depth == 0 {
                let top = matches!(place, Place::TopLevel | Place::Import);
                match t {
                    Tok::Semi => {
                        place = Place::TopLevel;
                        annotated = false;
                    }
                    Tok::Schema if top => place = Place::Schema { depth: 0 },
                    Tok::Intent if top => place = Place::Intent,
                    Tok::Import if top => place = Place::Import,
                    Tok::Fn if top => place = Place::Fn { start: i },
                    Tok::At if top => annotated = true,
                    Tok::Permit | Tok::Forbid | Tok::Escalate if top || annotated => {
                        place = Place::Rule { start: i };
                        annotated = false;
                    }
                    _ => {}
                }
            }
            match t {
                Tok::LBrace | Tok::LParen | Tok::LBracket => depth += 1,
                Tok::RBrace | Tok::RParen | Tok::RBracket => {
                    depth = depth.saturating_sub(1);
                    if depth == 0 && matches!(t, Tok::RBrace) && matches!(place, Place::Schema { .. } | Place::Intent) {
                        place = Place::TopLevel;
                    }
                }
                _ => {}
            }
        }
        if let Place::Schema { .. } = place {
            place = Place::Schema { depth };
        }
        place
    }
}

/// Whether the tokens end with an annotation (`@id("x")`, `@name`).
fn after_annotation(before: &[Token<'_>]) -> bool {
    let mut i = before.len();
    if matches!(before.last(), Some((_, Tok::RParen, _))) {
        match open_bracket(before.get(..i - 1).unwrap_or(&[])) {
            Some((k, _)) => i = k,
            None => return false,
        }
    }
    let tok = |j: Option<usize>| j.and_then(|j| before.get(j)).map(|t| &t.1);
    tok(i.checked_sub(1)).is_some_and(is_word) && matches!(tok(i.checked_sub(2)), Some(Tok::At))
}

fn in_comment(line: &str) -> bool {
    let mut in_str = false;
    let mut prev = ' ';
    for c in line.chars() {
        match c {
            '"' if prev != '\\' => in_str = !in_str,
            '/' if prev == '/' && !in_str => return true,
            _ => {}
        }
        prev = c;
    }
    false
}

/// A rule's target as written so far.
#[derive(Default, Debug)]
struct Target {
    principal: Option<String>,
    actions: Vec<String>,
    any_action: bool,
    resource: Option<String>,
    /// 0 principal, 1 actions, 2 resource, 3 clauses.
    phase: u8,
    /// The last clause keyword (`when`, `unless`, `because`, `grant`).
    clause: Option<&'static str>,
}

fn target(tokens: &[Token<'_>]) -> Target {
    let mut t = Target::default();
    let mut depth = 0usize;
    let mut first_word = true;
    for (_, tok, _) in tokens.iter().skip(1) {
        match tok {
            Tok::LBrace | Tok::LParen | Tok::LBracket if t.phase >= 3 => depth += 1,
            Tok::RBrace | Tok::RParen | Tok::RBracket if t.phase >= 3 => depth = depth.saturating_sub(1),
            _ => {}
        }
        if depth > 0 {
            continue;
        }
        match (t.phase, tok) {
            (0, Tok::To) => {
                t.phase = 1;
                first_word = true;
            }
            (0, Tok::Ident(n)) if first_word => {
                t.principal = Some(n.to_string());
                first_word = false;
            }
            (1, Tok::On) => {
                t.phase = 2;
                first_word = true;
            }
            (1, Tok::Star) => t.any_action = true,
            (1, Tok::Ident(n)) => t.actions.push(n.to_string()),
            (2, Tok::Ident(n)) if first_word => {
                t.resource = Some(n.to_string());
                first_word = false;
            }
            (_, Tok::When) => (t.phase, t.clause) = (3, Some("when")),
            (_, Tok::Unless) => (t.phase, t.clause) = (3, Some("unless")),
            (_, Tok::Because) => (t.phase, t.clause) = (3, Some("because")),
            (_, Tok::Grant) => (t.phase, t.clause) = (3, Some("grant")),
            _ => {}
        }
    }
    t
}

/// What names in a rule or fn stand for.
struct Env<'s> {
    schema: &'s Schema,
    principal: Vec<Ty>,
    resource: Vec<Ty>,
    context: Vec<RecordTy>,
    /// Fn parameters and quantifier variables, innermost last.
    locals: Vec<(String, Ty)>,
    in_rule: bool,
}

impl<'s> Env<'s> {
    fn empty(schema: &'s Schema) -> Env<'s> {
        Env { schema, principal: vec![], resource: vec![], context: vec![], locals: vec![], in_rule: false }
    }

    fn for_rule(schema: &'s Schema, t: &Target) -> Env<'s> {
        let actions: Vec<_> = if t.any_action || t.actions.is_empty() {
            schema.actions.iter().collect()
        } else {
            t.actions
                .iter()
                .flat_map(|n| match (schema.action_id(n), schema.group_id(n)) {
                    (Some(a), _) => vec![a],
                    (None, Some(g)) => schema.group(g).map(|g| g.actions.clone()).unwrap_or_default(),
                    _ => vec![],
                })
                .filter_map(|a| schema.action(a))
                .collect()
        };
        let side = |named: &Option<String>, principal: bool| -> Vec<Ty> {
            match named.as_deref().and_then(|n| schema.entity_id(n)) {
                Some(id) => vec![Ty::entity(id)],
                None => {
                    let mut ids: Vec<_> = actions
                        .iter()
                        .flat_map(|a| if principal { a.principals.clone() } else { a.resources.clone() })
                        .collect();
                    ids.sort();
                    ids.dedup();
                    ids.into_iter().map(Ty::entity).collect()
                }
            }
        };
        Env {
            schema,
            principal: side(&t.principal, true),
            resource: side(&t.resource, false),
            context: actions.iter().map(|a| (*a.context).clone()).collect(),
            locals: vec![],
            in_rule: true,
        }
    }

    fn named_type(&self, name: &str) -> Option<Ty> {
        Ty::builtin(name).or_else(|| match (self.schema.entity_id(name), self.schema.enum_id(name)) {
            (Some(e), _) => Some(Ty::entity(e)),
            (None, Some(e)) => Some(Ty::Enum(e)),
            _ => None,
        })
    }

    /// The type written as `text` (`Level`, `Set<Tool>`, `Int?`), if the schema knows it.
    fn type_of_text(&self, text: &str) -> Option<Ty> {
        let t = text.trim().trim_end_matches('?');
        match t.strip_prefix("Set<").and_then(|r| r.strip_suffix('>')) {
            Some(inner) => self.type_of_text(inner).map(|i| Ty::Set(Box::new(i))),
            None => self.named_type(t),
        }
    }

    /// The types a root name has.
    fn root(&self, name: &str) -> Vec<Ty> {
        if let Some((_, t)) = self.locals.iter().rev().find(|(n, _)| n == name) {
            return vec![t.clone()];
        }
        match name {
            "principal" if self.in_rule => self.principal.clone(),
            "resource" if self.in_rule => self.resource.clone(),
            "context" if self.in_rule => {
                self.context.iter().map(|r| Ty::Record(std::sync::Arc::new(r.clone()))).collect()
            }
            "on_behalf_of" if self.in_rule => {
                vec![Ty::Set(Box::new(self.principal.first().cloned().unwrap_or(Ty::Never)))]
            }
            "intent" => vec![Ty::Intent],
            "action" => vec![Ty::Action],
            _ => vec![],
        }
    }

    /// The fields of a value of these types: name → (type, optional, doc).
    fn fields(&self, tys: &[Ty]) -> BTreeMap<String, (String, bool, Option<String>)> {
        let mut out = BTreeMap::new();
        for t in tys {
            let recs: Vec<std::sync::Arc<RecordTy>> = match t {
                Ty::Entity(ids) => ids.iter().filter_map(|i| self.schema.entity(*i)).map(|e| e.attrs.clone()).collect(),
                Ty::Record(r) => vec![r.clone()],
                _ => vec![],
            };
            for r in recs {
                for f in &r.fields {
                    out.entry(f.name.clone()).or_insert((self.schema.ty_name(&f.ty), f.optional, f.doc.clone()));
                }
            }
        }
        out
    }

    /// The types of `root.a.b`.
    fn chain(&self, names: &[&str]) -> Vec<Ty> {
        let Some((root, rest)) = names.split_first() else { return vec![] };
        let mut tys = self.root(root);
        for n in rest {
            let mut next = Vec::new();
            for t in &tys {
                let recs: Vec<std::sync::Arc<RecordTy>> = match t {
                    Ty::Entity(ids) => {
                        ids.iter().filter_map(|i| self.schema.entity(*i)).map(|e| e.attrs.clone()).collect()
                    }
                    Ty::Record(r) => vec![r.clone()],
                    _ => vec![],
                };
                for r in recs {
                    if let Some((_, f)) = r.field(n) {
                        if !next.contains(&f.ty) {
                            next.push(f.ty.clone());
                        }
                    }
                }
            }
            tys = next;
        }
        tys
    }
}

/// The access chain ending just before token index `end` (`principal.owner` before a `.`).
fn chain_before<'a>(tokens: &[Token<'a>], end: usize) -> Vec<&'a str> {
    let mut names = Vec::new();
    let mut i = end;
    while let Some(w) = i.checked_sub(1).and_then(|j| tokens.get(j)).and_then(|(_, t, _)| word(t)) {
        names.push(w);
        match i.checked_sub(2).and_then(|k| tokens.get(k)) {
            Some((_, Tok::Dot, _)) => i -= 2,
            _ => break,
        }
    }
    names.reverse();
    names
}

/// Fn parameters (`fn f(a: Agent, n: Int)`) and quantifier variables (`all x in S:`) before
/// the cursor in the item starting at `start`.
fn locals(env: &mut Env<'_>, tokens: &[Token<'_>], start: usize, is_fn: bool) {
    let item = tokens.get(start..).unwrap_or(&[]);
    if is_fn {
        let mut i = 0;
        while let Some((_, t, _)) = item.get(i) {
            if matches!(t, Tok::RParen | Tok::Eq) {
                break;
            }
            if let (Some((_, Tok::Ident(n), _)), Some((_, Tok::Colon, _)), Some((_, ty, _))) =
                (item.get(i), item.get(i + 1), item.get(i + 2))
            {
                let mut t = word(ty).and_then(|w| env.named_type(w));
                if word(ty) == Some("Set") {
                    if let Some((_, inner, _)) = item.get(i + 4) {
                        t = word(inner).and_then(|w| env.named_type(w)).map(|x| Ty::Set(Box::new(x)));
                    }
                }
                if let Some(t) = t {
                    env.locals.push((n.to_string(), t));
                }
            }
            i += 1;
        }
    }
    for i in 0..item.len() {
        if let (Some((_, Tok::All | Tok::Any, _)), Some((_, Tok::Ident(x), _)), Some((_, Tok::In, _))) =
            (item.get(i), item.get(i + 1), item.get(i + 2))
        {
            let colon = (i + 3..item.len()).find(|k| matches!(item.get(*k), Some((_, Tok::Colon, _))));
            if let Some(c) = colon {
                let set = env.chain(&chain_before(item, c));
                if let Some(Ty::Set(elem)) = set.first() {
                    env.locals.push((x.to_string(), (**elem).clone()));
                }
            }
        }
    }
}

struct Items {
    items: Vec<CompletionItem>,
    snippets: bool,
}

impl Items {
    fn add(&mut self, label: &str, kind: CompletionItemKind, detail: Option<String>, doc: Option<&str>, rank: u8) {
        if self.items.iter().any(|i| i.label == label) {
            return;
        }
        self.items.push(CompletionItem {
            label: label.to_string(),
            kind: Some(kind),
            detail,
            documentation: doc.map(|d| {
                Documentation::MarkupContent(MarkupContent { kind: MarkupKind::Markdown, value: d.trim().to_string() })
            }),
            sort_text: Some(format!("{rank}{label}")),
            ..CompletionItem::default()
        });
    }

    /// A function: inserted with its parentheses (a snippet when the client takes them).
    fn function(&mut self, name: &str, signature: &str, doc: Option<&str>, params: usize, rank: u8) {
        self.add(name, CompletionItemKind::FUNCTION, Some(signature.to_string()), doc, rank);
        if let Some(item) = self.items.last_mut() {
            if self.snippets {
                item.insert_text = Some(if params == 0 { format!("{name}()") } else { format!("{name}($1)") });
                item.insert_text_format = Some(InsertTextFormat::SNIPPET);
            }
        }
    }

    fn keywords(&mut self, words: &[&str]) {
        for w in words {
            self.add(w, CompletionItemKind::KEYWORD, None, None, 9);
        }
    }

    fn entity_types(&mut self, schema: &Schema) {
        for e in &schema.entities {
            self.add(&e.name, CompletionItemKind::CLASS, Some(format!("entity {}", e.name)), e.doc.as_deref(), 1);
        }
    }

    fn actions(&mut self, schema: &Schema) {
        for a in &schema.actions {
            let names = |ids: &[writ::unstable::ir::schema::EntityTypeId]| {
                ids.iter().map(|i| schema.entity_name(*i)).collect::<Vec<_>>().join(" | ")
            };
            let detail = format!("action {}: {} -> {}", a.name, names(&a.principals), names(&a.resources));
            self.add(&a.name, CompletionItemKind::EVENT, Some(detail), a.doc.as_deref(), 1);
        }
        for g in &schema.groups {
            let acts: Vec<&str> = g.actions.iter().map(|a| schema.action_name(*a)).collect();
            self.add(&g.name, CompletionItemKind::ENUM, Some(format!("action group = [{}]", acts.join(", "))), None, 1);
        }
    }

    fn intents(&mut self, schema: &Schema, rank: u8) {
        for i in &schema.intents {
            self.add(
                &i.name,
                CompletionItemKind::INTERFACE,
                Some(format!("intent \"{}\"", i.description)),
                i.doc.as_deref(),
                rank,
            );
        }
    }

    fn enum_values(&mut self, schema: &Schema, only: Option<writ::unstable::ir::schema::EnumId>, rank: u8) {
        for (i, e) in schema.enums.iter().enumerate() {
            if only.is_some_and(|o| o.index() != i) {
                continue;
            }
            for v in &e.variants {
                self.add(v, CompletionItemKind::ENUM_MEMBER, Some(format!("{}.{v}", e.name)), e.doc.as_deref(), rank);
            }
        }
    }

    fn types(&mut self, schema: &Schema) {
        for t in BUILTIN_TYPE_NAMES {
            self.add(t, CompletionItemKind::STRUCT, Some("built-in type".into()), None, 2);
        }
        self.add("Set", CompletionItemKind::STRUCT, Some("Set<T>".into()), None, 2);
        self.entity_types(schema);
        for e in &schema.enums {
            self.add(&e.name, CompletionItemKind::ENUM, Some(format!("enum {}", e.name)), e.doc.as_deref(), 1);
        }
    }
}

/// The module aliases a file sees (read off its tokens, so that a file being edited needs
/// no parse): alias → the name of the module's file.
fn aliases(set: &Checked, file: FileId, tokens: &[Token<'_>]) -> Vec<(String, String)> {
    let mut out = Vec::new();
    for (i, (_, t, _)) in tokens.iter().enumerate() {
        if *t != Tok::Import {
            continue;
        }
        let rest = tokens.get(i + 1..).unwrap_or(&[]);
        match rest {
            [(_, Tok::Str(path), _), (_, Tok::Ident("as"), _), (_, Tok::Ident(alias), _), ..] => {
                let base = std::path::Path::new(set.sources.name(file))
                    .parent()
                    .map(std::path::Path::to_path_buf)
                    .unwrap_or_default();
                let full = writ::unstable::load::normalize(&base.join(path));
                out.push((alias.to_string(), full.display().to_string()));
            }
            [(_, Tok::Ident("std"), _), (_, Tok::Dot, _), (_, Tok::Ident(name), _), ..] => {
                out.push((name.to_string(), format!("<std>/{name}.writ")));
            }
            _ => {}
        }
    }
    out
}

pub fn completion(s: &Server, p: CompletionParams) -> Option<CompletionResponse> {
    let pp = p.text_document_position;
    let (set, file, offset) = locate(s, &pp.text_document.uri, pp.position)?;
    let text = set.sources.get(file)?.text.as_str();
    let cur = Cursor::new(text, offset)?;
    let schema = &set.analysis.schema;
    let mut out = Items { items: Vec::new(), snippets: s.snippets };
    let place = cur.place();
    let before = cur.before();
    let last = cur.last();
    let aliases = aliases(&set, file, &cur.tokens);

    // The environment of the rule or fn the cursor is in.
    let mut env = Env::empty(schema);
    let mut clause = None;
    let mut phase = 3;
    match place {
        Place::Rule { start } => {
            let t = target(before.get(start..).unwrap_or(&[]));
            env = Env::for_rule(schema, &t);
            locals(&mut env, before, start, false);
            clause = t.clause;
            phase = t.phase;
        }
        Place::Fn { start } => locals(&mut env, before, start, true),
        _ => {}
    }

    if last == Some(&Tok::Dot) {
        let chain = chain_before(before, before.len().saturating_sub(1));
        if let [one] = chain.as_slice() {
            if place == Place::Import && *one == "std" {
                for m in stdlib::names() {
                    out.add(m, CompletionItemKind::MODULE, Some(format!("std.{m}")), None, 1);
                }
                return Some(CompletionResponse::Array(out.items));
            }
            if env.locals.iter().all(|(n, _)| n != one) {
                if let Some(e) = schema.enum_id(one) {
                    out.enum_values(schema, Some(e), 0);
                    return Some(CompletionResponse::Array(out.items));
                }
                if let Some((_, module)) = aliases.iter().find(|(a, _)| a == one) {
                    for f in set.analysis.fns.iter().filter(|f| set.sources.name(f.span.file) == module) {
                        out.function(&f.name, &format!("fn {}", f.signature), f.doc.as_deref(), f.params.len(), 0);
                    }
                    return Some(CompletionResponse::Array(out.items));
                }
            }
        }
        let tys = env.chain(&chain);
        for (name, (ty, optional, doc)) in env.fields(&tys) {
            let q = if optional { "?" } else { "" };
            out.add(&name, CompletionItemKind::FIELD, Some(format!("{name}: {ty}{q}")), doc.as_deref(), 0);
        }
        for t in &tys {
            for m in builtins::method_names(t) {
                let sig = method_signature(t, m, schema).unwrap_or_default();
                let params = builtins::method(t, m).map_or(0, |(_, ps, _)| ps.len());
                out.function(m, &sig, None, params, 1);
                if let Some(item) = out.items.last_mut() {
                    item.kind = Some(CompletionItemKind::METHOD);
                }
            }
        }
        return Some(CompletionResponse::Array(out.items));
    }

    match place {
        Place::TopLevel => {
            if last == Some(&Tok::At) {
                out.add(
                    "id",
                    CompletionItemKind::KEYWORD,
                    Some("@id(\"…\"): the rule's name in decisions".into()),
                    None,
                    0,
                );
            } else if after_annotation(before) {
                // An annotation is followed by its rule.
                out.keywords(&["permit", "forbid", "escalate"]);
            } else {
                out.keywords(&["permit", "forbid", "escalate", "schema", "intent", "fn", "import"]);
            }
        }
        Place::Import => {
            out.add("std", CompletionItemKind::MODULE, Some("the standard library".into()), None, 0);
            for m in stdlib::names() {
                out.add(&format!("std.{m}"), CompletionItemKind::MODULE, None, None, 1);
            }
        }
        Place::Schema { depth } => match last {
            Some(Tok::Colon) => out.types(schema),
            Some(Tok::Lt) => out.types(schema),
            Some(Tok::Arrow | Tok::Pipe | Tok::In) => out.entity_types(schema),
            Some(Tok::Question) => {}
            _ if depth == 1 => out.keywords(&["entity", "enum", "context", "action"]),
            _ => {}
        },
        Place::Intent => {
            if before.iter().rev().take_while(|t| !matches!(t.1, Tok::LBrace | Tok::Comma)).any(|t| t.1 == Tok::On) {
                out.entity_types(schema);
            } else {
                out.actions(schema);
            }
        }
        Place::Rule { .. } if phase < 3 => match (phase, last) {
            (0, Some(Tok::Permit | Tok::Forbid | Tok::Escalate)) | (2, Some(Tok::On)) => {
                out.entity_types(schema);
                out.add("*", CompletionItemKind::KEYWORD, Some("any".into()), None, 2);
            }
            (0 | 2, Some(Tok::In)) => out.entity_types(schema),
            (1, Some(Tok::To | Tok::LBracket | Tok::Comma)) => {
                out.actions(schema);
                if last == Some(&Tok::To) {
                    out.add("*", CompletionItemKind::KEYWORD, Some("any".into()), None, 2);
                }
            }
            (0, _) => out.keywords(&["to", "in"]),
            (1, _) => out.keywords(&["on"]),
            _ => out.keywords(&["when", "unless", "because", "grant", "in"]),
        },
        Place::Rule { .. } | Place::Fn { .. } => {
            if clause == Some("because") {
                out.keywords(&["when", "unless", "grant"]);
                return Some(CompletionResponse::Array(out.items));
            }
            expression(&mut out, &env, before, &set, &aliases);
        }
    }
    Some(CompletionResponse::Array(out.items))
}

/// Completion where an expression may start (or continue).
fn expression(out: &mut Items, env: &Env<'_>, before: &[Token<'_>], set: &Checked, aliases: &[(String, String)]) {
    let schema = env.schema;
    let last = before.last().map(|t| &t.1);
    // After an operand: operators and the words that continue a clause.
    let after_operand = matches!(
        last,
        Some(
            Tok::Ident(_)
                | Tok::Int(_)
                | Tok::Str(_)
                | Tok::Duration(_)
                | Tok::True
                | Tok::False
                | Tok::RParen
                | Tok::RBracket
                | Tok::Context
                | Tok::Action
                | Tok::Intent
        )
    );
    if after_operand {
        out.keywords(&["and", "or", "in", "is", "has", "like", "when", "unless", "because", "grant", "then", "else"]);
        return;
    }
    if matches!(last, Some(Tok::Is)) {
        out.entity_types(schema);
        return;
    }
    if matches!(last, Some(Tok::Has)) {
        let chain = chain_before(before, before.len().saturating_sub(1));
        for (name, (ty, _, doc)) in env.fields(&env.chain(&chain)) {
            out.add(&name, CompletionItemKind::FIELD, Some(format!("{name}: {ty}")), doc.as_deref(), 0);
        }
        return;
    }
    // What the left operand of a comparison or `in [` says is expected.
    let mut expected: Vec<Ty> = Vec::new();
    let n = before.len();
    let op_at = match last {
        Some(Tok::EqEq | Tok::NotEq | Tok::Lt | Tok::Le | Tok::Gt | Tok::Ge | Tok::In) => Some(n - 1),
        Some(Tok::LBracket | Tok::Comma) => {
            // `x in [a, ` : the `in` before the open bracket.
            let mut depth = 0usize;
            let mut at = None;
            for k in (0..n).rev() {
                match before.get(k).map(|t| &t.1) {
                    Some(Tok::RBracket | Tok::RParen) => depth += 1,
                    Some(Tok::LBracket) if depth == 0 => {
                        if matches!(before.get(k.wrapping_sub(1)).map(|t| &t.1), Some(Tok::In | Tok::EqEq | Tok::NotEq))
                        {
                            at = Some(k - 1);
                        }
                        break;
                    }
                    Some(Tok::LBracket | Tok::LParen) => {
                        if depth == 0 {
                            break;
                        }
                        depth -= 1;
                    }
                    _ => {}
                }
            }
            at
        }
        _ => None,
    };
    // An argument of a call: the parameter's type.
    if op_at.is_none() && matches!(last, Some(Tok::LParen | Tok::Comma)) {
        if let Some((k, arg)) =
            open_bracket(before).filter(|(k, _)| matches!(before.get(*k), Some((_, Tok::LParen, _))))
        {
            let chain = chain_before(before, k);
            let param = callee(env, set, aliases, &chain).and_then(|c| c.params.into_iter().nth(arg as usize));
            if let Some((_, Some(t))) = param {
                expected.push(t);
            }
        }
    }
    if let Some(op) = op_at {
        let chain = chain_before(before, op);
        for t in env.chain(&chain) {
            let t = match t {
                Ty::Set(inner) => *inner,
                other => other,
            };
            if !expected.contains(&t) {
                expected.push(t);
            }
        }
    }
    for t in &expected {
        match t {
            Ty::Enum(e) => out.enum_values(schema, Some(*e), 0),
            Ty::Intent => {
                out.intents(schema, 0);
                out.add("none", CompletionItemKind::CONSTANT, Some("no intent declared".into()), None, 0);
            }
            Ty::Action => out.actions(schema),
            // `principal in ` (an ancestor), `resource == `: an entity reference `T::"id"`.
            Ty::Entity(_) => out.entity_types(schema),
            _ => {}
        }
    }
    for (name, t) in env.locals.iter().rev() {
        out.add(name, CompletionItemKind::VARIABLE, Some(schema.ty_name(t)), None, 1);
    }
    if env.in_rule {
        let show = |ts: &[Ty]| ts.iter().map(|t| schema.ty_name(t)).collect::<Vec<_>>().join(" | ");
        out.add("principal", CompletionItemKind::VARIABLE, Some(show(&env.principal)), Some("who asks"), 2);
        out.add("resource", CompletionItemKind::VARIABLE, Some(show(&env.resource)), Some("what is asked for"), 2);
        out.add("context", CompletionItemKind::VARIABLE, Some("the request's context".into()), None, 2);
        out.add("action", CompletionItemKind::VARIABLE, Some("Action".into()), None, 2);
        out.add(
            "intent",
            CompletionItemKind::VARIABLE,
            Some("Intent".into()),
            Some("the task intent the request declared (`none` if it declared none)"),
            2,
        );
        out.add("on_behalf_of", CompletionItemKind::VARIABLE, Some("the delegation chain".into()), None, 2);
    }
    for f in set.analysis.fns.iter().filter(|f| !f.std) {
        if !aliases.iter().any(|(_, m)| set.sources.name(f.span.file) == m) {
            out.function(&f.name, &format!("fn {}", f.signature), f.doc.as_deref(), f.params.len(), 3);
        }
    }
    for (alias, module) in aliases {
        out.add(
            alias,
            CompletionItemKind::MODULE,
            Some(format!("module {}", module.trim_start_matches("<std>/").trim_end_matches(".writ"))),
            None,
            3,
        );
    }
    for (name, sig, doc) in CONSTRUCTORS {
        out.function(name, sig, Some(doc), 1, 4);
    }
    if expected.is_empty() {
        out.enum_values(schema, None, 5);
        out.intents(schema, 5);
    }
    for e in &schema.enums {
        out.add(&e.name, CompletionItemKind::ENUM, Some(format!("enum {}", e.name)), e.doc.as_deref(), 6);
    }
    out.keywords(&["not", "if", "all", "any", "true", "false"]);
}

// ------------------------------------------------------------------ signature help

/// The innermost bracket still open at the end of `before`, and the commas after it at its
/// level: (its index, commas). `None` past the end of an item.
fn open_bracket(before: &[Token<'_>]) -> Option<(usize, u32)> {
    let mut depth = 0usize;
    let mut commas = 0u32;
    for k in (0..before.len()).rev() {
        match before.get(k).map(|t| &t.1) {
            Some(Tok::RParen | Tok::RBracket | Tok::RBrace) => depth += 1,
            Some(Tok::LParen | Tok::LBracket | Tok::LBrace) => {
                if depth == 0 {
                    return Some((k, commas));
                }
                depth -= 1;
            }
            Some(Tok::Comma) if depth == 0 => commas += 1,
            Some(Tok::Semi) => return None,
            _ => {}
        }
    }
    None
}

/// A function being called: its signature, its parameters (label and type, when known) and
/// its docs.
struct Callee {
    label: String,
    params: Vec<(String, Option<Ty>)>,
    doc: Option<String>,
}

/// The function called by `chain(`: a constructor, a fn of the workspace, a fn of an
/// imported module, or a built-in method of the receiver's type.
fn callee(env: &Env<'_>, set: &Checked, aliases: &[(String, String)], chain: &[&str]) -> Option<Callee> {
    let (name, recv) = chain.split_last()?;
    let schema = env.schema;
    let of_fn = |f: &writ::unstable::sema::analysis::FnSummary| Callee {
        label: f.signature.clone(),
        params: f.params.iter().map(|(n, t)| (format!("{n}: {t}"), env.type_of_text(t))).collect(),
        doc: f.doc.clone(),
    };
    if recv.is_empty() {
        if let Some((_, sig, doc)) = CONSTRUCTORS.iter().find(|(n, _, _)| n == name) {
            return Some(Callee {
                label: sig.to_string(),
                params: vec![("text: String".into(), Some(Ty::String))],
                doc: Some(doc.to_string()),
            });
        }
        return set.analysis.fns.iter().find(|f| f.name == *name && !f.std).map(of_fn);
    }
    if let Some((_, module)) =
        recv.first().filter(|_| recv.len() == 1).and_then(|a| aliases.iter().find(|(al, _)| al == a))
    {
        return set.analysis.fns.iter().find(|f| f.name == *name && set.sources.name(f.span.file) == module).map(of_fn);
    }
    // A built-in method on the receiver's type; the parameters named as its docs name them.
    let tys = env.chain(recv);
    let t = tys.iter().find(|t| builtins::method(t, name).is_some())?;
    let (_, ps, ret) = builtins::method(t, name)?;
    let full = method_signature(t, name, schema);
    let named: Vec<&str> = full
        .as_deref()
        .and_then(|d| d.split_once(&format!("{name}(")))
        .and_then(|(_, rest)| rest.split_once(')'))
        .map(|(inside, _)| inside.split(", ").filter_map(|p| p.split_once(':').map(|(n, _)| n.trim())).collect())
        .unwrap_or_default();
    let params: Vec<(String, Option<Ty>)> = ps
        .iter()
        .enumerate()
        .map(|(i, p)| {
            let n =
                named.get(i).filter(|_| named.len() == ps.len()).map_or_else(|| format!("arg{i}"), |n| n.to_string());
            (format!("{n}: {}", schema.ty_name(p)), Some(p.clone()))
        })
        .collect();
    let shown: Vec<&str> = params.iter().map(|(l, _)| l.as_str()).collect();
    let label = format!("{name}({}) -> {}", shown.join(", "), schema.ty_name(&ret));
    Some(Callee { label, params, doc: full })
}

pub fn signature_help(s: &Server, p: SignatureHelpParams) -> Option<SignatureHelp> {
    let pp = p.text_document_position_params;
    let (set, file, offset) = locate(s, &pp.text_document.uri, pp.position)?;
    let text = set.sources.get(file)?.text.as_str();
    let cur = Cursor::new(text, offset)?;
    let all = cur.before();
    // With the word being typed: it is an argument, not the function.
    let before = cur.tokens.get(..cur.end + usize::from(cur.prefix.is_some())).unwrap_or(all);
    // The innermost open parenthesis and the commas after it.
    let (open, commas) = open_bracket(before)?;
    if !matches!(before.get(open), Some((_, Tok::LParen, _))) {
        return None;
    }
    let chain = chain_before(before, open);
    let schema = &set.analysis.schema;
    let aliases = aliases(&set, file, &cur.tokens);
    let mut env = Env::empty(schema);
    if let Place::Rule { start } = cur.place() {
        env = Env::for_rule(schema, &target(all.get(start..).unwrap_or(&[])));
        locals(&mut env, all, start, false);
    } else if let Place::Fn { start } = cur.place() {
        locals(&mut env, all, start, true);
    }
    let c = callee(&env, &set, &aliases, &chain)?;
    let parameters = c
        .params
        .iter()
        .map(|(l, _)| ParameterInformation { label: ParameterLabel::Simple(l.clone()), documentation: None })
        .collect::<Vec<_>>();
    let n = c.params.len();
    let active = if n == 0 { None } else { Some(commas.min(u32::try_from(n - 1).unwrap_or(0))) };
    Some(SignatureHelp {
        signatures: vec![SignatureInformation {
            label: c.label,
            documentation: c.doc.map(|d| {
                Documentation::MarkupContent(MarkupContent { kind: MarkupKind::Markdown, value: d.trim().to_string() })
            }),
            parameters: Some(parameters),
            active_parameter: active,
        }],
        active_signature: Some(0),
        active_parameter: active,
    })
}
