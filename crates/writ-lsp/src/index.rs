//! The symbols of a policy set: every declaration and every use of a name, from the syntax
//! trees (names the syntax alone resolves: entity types, actions in targets, intent and
//! fn declarations, rule ids, fn parameters and quantifier variables with their uses, by
//! scope) and from the checker's analysis (names resolved by type:
//! attributes, context fields, enum values, intents and actions in expressions, calls).

use std::collections::HashSet;
use writ::unstable::sema::analysis::{Analysis, Def};
use writ::unstable::syntax::ast::{
    self, ActionScope, AttrDecl, Expr, ExprKind, Item, SchemaMember, Scope, Type, TypeKind,
};
use writ::unstable::syntax::{self, FileId, SourceMap, Span};

/// Names of the built-in types (never symbols of the workspace).
pub const BUILTIN_TYPES: &[&str] = &["Bool", "Int", "String", "Duration", "Timestamp", "Ip", "Set", "Intent"];

/// What a name denotes, independent of where it is written.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub enum Sym {
    /// An entity type or an enum.
    Type(String),
    EnumValue(String, String),
    /// An attribute of an entity type, then fields of records inside it.
    Attr(String, Vec<String>),
    /// A context field (common or of an action), then fields of records inside it.
    Context(Vec<String>),
    Action(String),
    Group(String),
    Intent(String),
    /// A fn, by the span of the name in its declaration.
    Fn(Span),
    /// A module alias, by the span of its import.
    Module(Span),
    /// A rule, by its `@id`.
    Rule(String),
    /// A fn parameter or a quantifier variable, by the span of its name where it is bound.
    Local(Span),
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Kind {
    Entity,
    Enum,
    EnumValue,
    Attribute,
    ContextField,
    Action,
    Group,
    Intent,
    Fn,
    Module,
    Rule,
    Schema,
}

/// One place a symbol is named.
#[derive(Clone, Debug)]
pub struct Occurrence {
    pub span: Span,
    pub sym: Sym,
    pub decl: bool,
}

/// A fn parameter or a quantifier variable (not a symbol of the file: only its uses).
#[derive(Clone, Debug)]
pub struct Local {
    pub name: String,
    /// The name where it is bound.
    pub span: Span,
    pub binder: Binder,
}

#[derive(Clone, Debug)]
pub enum Binder {
    /// A parameter of a fn (its name), with its type as written.
    Param { of: String, ty: String },
    /// `all x in S` / `any x in S`: the quantifier and the span of `S`.
    Quant { all: bool, set: Span },
}

/// A declaration.
#[derive(Clone, Debug)]
pub struct Decl {
    pub sym: Sym,
    pub kind: Kind,
    pub name: String,
    /// The name's span.
    pub span: Span,
    /// The whole declaration's span.
    pub full: Span,
    pub doc: Option<String>,
    /// How it is written (a signature, a type).
    pub detail: String,
    /// What it belongs to (an entity, an action, a rule's file).
    pub container: Option<String>,
    /// Index of the parent declaration (for document symbols).
    pub parent: Option<usize>,
    /// For a rule: the span of its effect keyword.
    pub effect: Option<Span>,
}

#[derive(Default, Debug)]
pub struct Index {
    pub occurrences: Vec<Occurrence>,
    pub decls: Vec<Decl>,
    /// Built-in method calls: the method name's span and its signature.
    pub methods: Vec<(Span, String)>,
    /// Fn parameters and quantifier variables.
    pub locals: Vec<Local>,
}

impl Index {
    pub fn build(sources: &SourceMap, analysis: &Analysis) -> Index {
        let mut ix = Index::default();
        // The checker's trees; a file it did not parse (unreadable, not UTF-8) is parsed here.
        let parsed: Vec<ast::File> = sources
            .files()
            .filter(|(id, _)| !analysis.trees.contains_key(id))
            .map(|(id, f)| syntax::parse_file(id, &f.text).file)
            .collect();
        let mut more = parsed.iter();
        let trees: Vec<(FileId, &ast::File)> = sources
            .files()
            .filter_map(|(id, _)| analysis.trees.get(&id).map(|t| &**t).or_else(|| more.next()).map(|t| (id, t)))
            .collect();
        // Action and group names, to tell them apart in target lists.
        let mut groups = HashSet::new();
        for (_, t) in &trees {
            for item in &t.items {
                if let Item::Schema(s) = item {
                    for m in &s.members {
                        if let SchemaMember::ActionGroup(g) = m {
                            groups.insert(g.name.node.clone());
                        }
                    }
                }
            }
        }
        let mut b = Builder { ix: &mut ix, sources, groups: &groups };
        for (_, t) in &trees {
            for item in &t.items {
                b.item(item);
            }
        }
        // A bound variable is never anything else (the checker looks names up in the local
        // scope first), though a variable bound to a constant (`all l in [public, internal]`
        // is unrolled) reads as the constant's name in the analysis.
        let bound: HashSet<Span> =
            ix.occurrences.iter().filter(|o| matches!(o.sym, Sym::Local(_))).map(|o| o.span).collect();
        for (span, def) in &analysis.uses {
            if bound.contains(span) {
                continue;
            }
            let sym = match def {
                Def::EnumValue { ty, value } => Sym::EnumValue(ty.clone(), value.clone()),
                Def::Enum(t) => Sym::Type(t.clone()),
                Def::Intent(n) => Sym::Intent(n.clone()),
                Def::Action(n) => Sym::Action(n.clone()),
                Def::Group(n) => Sym::Group(n.clone()),
                Def::Attr { entity, path } => Sym::Attr(entity.clone(), path.clone()),
                Def::Context { path } => Sym::Context(path.clone()),
                Def::Fn(i) => match analysis.fns.get(*i) {
                    Some(f) => Sym::Fn(f.span),
                    None => continue,
                },
                Def::Module { import, .. } => Sym::Module(*import),
                Def::Method(sig) => {
                    ix.methods.push((*span, sig.clone()));
                    continue;
                }
            };
            ix.occurrences.push(Occurrence { span: *span, sym, decl: false });
        }
        // One occurrence per (span, symbol): rules checked for several request shapes
        // report their names once per shape.
        let mut seen = HashSet::new();
        ix.occurrences.retain(|o| seen.insert((o.span, o.sym.clone())));
        ix
    }

    /// The occurrence at a byte offset of a file (the innermost).
    pub fn at(&self, file: FileId, offset: u32) -> Option<&Occurrence> {
        self.occurrences
            .iter()
            .filter(|o| o.span.file == file && o.span.start <= offset && offset <= o.span.end)
            .min_by_key(|o| o.span.end - o.span.start)
    }

    pub fn decls_of<'a>(&'a self, sym: &'a Sym) -> impl Iterator<Item = &'a Decl> + 'a {
        self.decls.iter().filter(move |d| d.sym == *sym)
    }

    pub fn references<'a>(&'a self, sym: &'a Sym) -> impl Iterator<Item = &'a Occurrence> + 'a {
        self.occurrences.iter().filter(move |o| o.sym == *sym)
    }

    /// The variable bound at `span`.
    pub fn local(&self, span: Span) -> Option<&Local> {
        self.locals.iter().find(|l| l.span == span)
    }
}

struct Builder<'a> {
    ix: &'a mut Index,
    sources: &'a SourceMap,
    groups: &'a HashSet<String>,
}

impl Builder<'_> {
    fn occ(&mut self, span: Span, sym: Sym) {
        self.ix.occurrences.push(Occurrence { span, sym, decl: false });
    }

    #[allow(clippy::too_many_arguments)]
    fn decl(
        &mut self,
        sym: Sym,
        kind: Kind,
        name: &ast::Name,
        full: Span,
        doc: Option<&String>,
        detail: String,
        container: Option<String>,
        parent: Option<usize>,
    ) -> usize {
        self.ix.occurrences.push(Occurrence { span: name.span, sym: sym.clone(), decl: true });
        self.ix.decls.push(Decl {
            sym,
            kind,
            name: name.node.clone(),
            span: name.span,
            full,
            doc: doc.cloned(),
            detail,
            container,
            parent,
            effect: None,
        });
        self.ix.decls.len() - 1
    }

    /// The text of a span on one line, whitespace collapsed, cut before `{` or `=`.
    fn header(&self, span: Span) -> String {
        let text = self.sources.snippet(span);
        let cut = text.find(['{', '=']).unwrap_or(text.len());
        let head = text.get(..cut).unwrap_or(text);
        head.split_whitespace().collect::<Vec<_>>().join(" ")
    }

    fn snippet(&self, span: Span) -> String {
        self.sources.snippet(span).split_whitespace().collect::<Vec<_>>().join(" ")
    }

    fn item(&mut self, item: &Item) {
        match item {
            Item::Import(imp) => {
                let (name, detail) = match &imp.kind {
                    ast::ImportKind::Module(path) => {
                        let full: Vec<&str> = path.iter().map(|n| n.node.as_str()).collect();
                        (path.last().cloned(), format!("import {}", full.join(".")))
                    }
                    ast::ImportKind::File { path, alias } => {
                        (Some(alias.clone()), format!("import \"{}\" as {}", path.node, alias.node))
                    }
                };
                if let Some(name) = name {
                    self.decl(Sym::Module(imp.span), Kind::Module, &name, imp.span, None, detail, None, None);
                }
            }
            Item::Schema(s) => {
                for m in &s.members {
                    self.member(m);
                }
            }
            Item::Intent(i) => {
                let detail = format!("intent {} \"{}\"", i.name.node, i.description.node);
                self.decl(
                    Sym::Intent(i.name.node.clone()),
                    Kind::Intent,
                    &i.name,
                    i.span,
                    i.doc.as_ref(),
                    detail,
                    None,
                    None,
                );
                for e in &i.entries {
                    self.actions(&e.actions);
                    self.scope(&e.resource);
                }
            }
            Item::Fn(f) => {
                let detail = format!("fn {}", self.header(f.span));
                self.decl(Sym::Fn(f.name.span), Kind::Fn, &f.name, f.span, f.doc.as_ref(), detail, None, None);
                let mut params = Vec::new();
                for p in &f.params {
                    self.ty(&p.ty);
                    let ty = self.snippet(p.ty.span);
                    params.push(self.bind(&p.name, Binder::Param { of: f.name.node.clone(), ty }));
                }
                self.ty(&f.ret);
                self.expr(&f.body, params);
            }
            Item::Rule(r) => {
                let head = self.snippet(r.effect.span.to(r.resource.span));
                if let Some(id) = r.id() {
                    let name = ast::Name::new(id.node.clone(), id.span);
                    let detail = format!("@id(\"{}\") {head}", id.node);
                    let i = self.decl(
                        Sym::Rule(id.node.clone()),
                        Kind::Rule,
                        &name,
                        r.span,
                        r.doc.as_ref(),
                        detail,
                        None,
                        None,
                    );
                    if let Some(d) = self.ix.decls.get_mut(i) {
                        d.effect = Some(r.effect.span);
                    }
                } else {
                    // A rule without an id is still a symbol of its file, named by its target.
                    self.ix.decls.push(Decl {
                        sym: Sym::Rule(String::new()),
                        kind: Kind::Rule,
                        name: head.clone(),
                        span: r.effect.span,
                        full: r.span,
                        doc: r.doc.clone(),
                        detail: head,
                        container: None,
                        parent: None,
                        effect: Some(r.effect.span),
                    });
                }
                self.scope(&r.principal.node);
                self.actions(&r.actions.node);
                self.scope(&r.resource.node);
                for c in &r.clauses {
                    match c {
                        ast::Clause::When(e) | ast::Clause::Unless(e) | ast::Clause::Grant(e) => {
                            self.expr(e, Vec::new())
                        }
                        ast::Clause::Because(_) => {}
                    }
                }
            }
            Item::Error(_) => {}
        }
    }

    fn member(&mut self, m: &SchemaMember) {
        match m {
            SchemaMember::Enum(e) => {
                let detail = format!(
                    "enum {} {{ {} }}",
                    e.name.node,
                    e.variants.iter().map(|v| v.node.as_str()).collect::<Vec<_>>().join(", ")
                );
                let p = self.decl(
                    Sym::Type(e.name.node.clone()),
                    Kind::Enum,
                    &e.name,
                    e.span,
                    e.doc.as_ref(),
                    detail,
                    None,
                    None,
                );
                for v in &e.variants {
                    let sym = Sym::EnumValue(e.name.node.clone(), v.node.clone());
                    let detail = format!("{}.{}", e.name.node, v.node);
                    self.decl(sym, Kind::EnumValue, v, v.span, None, detail, Some(e.name.node.clone()), Some(p));
                }
            }
            SchemaMember::Entity(e) => {
                let detail = self.header(e.span);
                let p = self.decl(
                    Sym::Type(e.name.node.clone()),
                    Kind::Entity,
                    &e.name,
                    e.span,
                    e.doc.as_ref(),
                    detail,
                    None,
                    None,
                );
                for parent in &e.parents {
                    self.occ(parent.span, Sym::Type(parent.node.clone()));
                }
                let owner = e.name.node.clone();
                self.attrs(
                    &e.attrs,
                    &mut |n| Sym::Attr(owner.clone(), n),
                    Kind::Attribute,
                    Some(e.name.node.clone()),
                    Some(p),
                    &[],
                );
            }
            SchemaMember::Context(c) => {
                self.attrs(&c.fields, &mut Sym::Context, Kind::ContextField, Some("context".into()), None, &[]);
            }
            SchemaMember::Action(a) => {
                let detail = self.header(a.span).trim_end_matches(';').trim().to_string();
                let p = self.decl(
                    Sym::Action(a.name.node.clone()),
                    Kind::Action,
                    &a.name,
                    a.span,
                    a.doc.as_ref(),
                    detail,
                    None,
                    None,
                );
                for t in a.principals.iter().chain(&a.resources) {
                    self.occ(t.span, Sym::Type(t.node.clone()));
                }
                self.attrs(&a.context, &mut Sym::Context, Kind::ContextField, Some(a.name.node.clone()), Some(p), &[]);
            }
            SchemaMember::ActionGroup(g) => {
                let detail = self.snippet(g.span).trim_end_matches(';').trim().to_string();
                self.decl(
                    Sym::Group(g.name.node.clone()),
                    Kind::Group,
                    &g.name,
                    g.span,
                    g.doc.as_ref(),
                    detail,
                    None,
                    None,
                );
                for a in &g.actions {
                    self.occ(a.span, Sym::Action(a.node.clone()));
                }
            }
            SchemaMember::Setting(_) | SchemaMember::Error(_) => {}
        }
    }

    /// Attribute declarations (and the records nested in their types).
    fn attrs(
        &mut self,
        attrs: &[AttrDecl],
        sym: &mut dyn FnMut(Vec<String>) -> Sym,
        kind: Kind,
        container: Option<String>,
        parent: Option<usize>,
        prefix: &[String],
    ) {
        for a in attrs {
            let mut path = prefix.to_vec();
            path.push(a.name.node.clone());
            let detail = self.snippet(a.span).trim_end_matches(',').to_string();
            self.decl(sym(path.clone()), kind, &a.name, a.span, a.doc.as_ref(), detail, container.clone(), parent);
            self.ty(&a.ty);
            if let TypeKind::Record(inner) = &a.ty.kind {
                self.attrs(inner, sym, kind, container.clone(), parent, &path);
            }
        }
    }

    fn ty(&mut self, t: &Type) {
        match &t.kind {
            TypeKind::Named(n) => {
                if !BUILTIN_TYPES.contains(&n.node.as_str()) {
                    self.occ(n.span, Sym::Type(n.node.clone()));
                }
            }
            TypeKind::Generic(_, args) => args.iter().for_each(|a| self.ty(a)),
            TypeKind::Record(attrs) => attrs.iter().for_each(|a| self.ty(&a.ty)),
            TypeKind::Error => {}
        }
    }

    fn scope(&mut self, s: &Scope) {
        match s {
            Scope::Any => {}
            Scope::Type(n) => self.occ(n.span, Sym::Type(n.node.clone())),
            Scope::Entity(e) => self.occ(e.ty.span, Sym::Type(e.ty.node.clone())),
            Scope::TypeIn(n, e) => {
                self.occ(n.span, Sym::Type(n.node.clone()));
                self.occ(e.ty.span, Sym::Type(e.ty.node.clone()));
            }
            Scope::EntityIn(a, e) => {
                self.occ(a.ty.span, Sym::Type(a.ty.node.clone()));
                self.occ(e.ty.span, Sym::Type(e.ty.node.clone()));
            }
        }
    }

    fn actions(&mut self, a: &ActionScope) {
        let names: Vec<&ast::Name> = match a {
            ActionScope::Any => Vec::new(),
            ActionScope::One(n) => vec![n],
            ActionScope::List(ns) => ns.iter().collect(),
        };
        for n in names {
            let sym =
                if self.groups.contains(&n.node) { Sym::Group(n.node.clone()) } else { Sym::Action(n.node.clone()) };
            self.occ(n.span, sym);
        }
    }

    /// A variable bound at `name`: its occurrence, and the frame entry for its scope.
    fn bind(&mut self, name: &ast::Name, binder: Binder) -> (String, Span) {
        self.ix.occurrences.push(Occurrence { span: name.span, sym: Sym::Local(name.span), decl: true });
        self.ix.locals.push(Local { name: name.node.clone(), span: name.span, binder });
        (name.node.clone(), name.span)
    }

    /// Type names written in expressions (`is T`, `T::"id"`) and the uses of bound
    /// variables (`params` are the fn's); the rest comes from the checker. Iterative:
    /// expressions may be deep.
    fn expr(&mut self, e: &Expr, params: Vec<(String, Span)>) {
        // Scopes as a tree of frames: each frame binds one name and points to the frame
        // around it. The checker looks a bare name up innermost first, before anything else.
        let mut frames: Vec<((String, Span), Option<usize>)> = Vec::new();
        let mut top = None;
        for p in params {
            frames.push((p, top));
            top = Some(frames.len() - 1);
        }
        let mut stack = vec![(e, top)];
        while let Some((e, scope)) = stack.pop() {
            match &e.kind {
                ExprKind::EntityRef(r) => self.occ(r.ty.span, Sym::Type(r.ty.node.clone())),
                ExprKind::Is(_, n, _) => self.occ(n.span, Sym::Type(n.node.clone())),
                ExprKind::Var(name) => {
                    let mut at = scope;
                    while let Some(((n, span), up)) = at.and_then(|i| frames.get(i)) {
                        if n == name {
                            let span = *span;
                            self.occ(e.span, Sym::Local(span));
                            break;
                        }
                        at = *up;
                    }
                }
                ExprKind::Quant(q, x, set, body) => {
                    let binder = self.bind(x, Binder::Quant { all: *q == ast::Quantifier::All, set: set.span });
                    frames.push((binder, scope));
                    stack.push((body, Some(frames.len() - 1)));
                    stack.push((set, scope));
                    continue;
                }
                _ => {}
            }
            e.kind.for_each_child(|c| stack.push((c, scope)));
        }
    }
}
