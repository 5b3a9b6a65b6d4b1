//! The checker: resolves names across a policy set, builds the schema, type-checks every
//! rule once per request shape its target admits, and lowers it to the typed IR.
//!
//! The checker never evaluates a decision and knows nothing of the back ends; it reads no
//! files itself — imports by path go through a [`Resolver`] the caller provides.

pub mod analysis;
mod expr;
pub mod stdlib;

use crate::diag::{Diagnostic, codes, did_you_mean};
use crate::ir::schema::{
    Action, ActionGroup, ActionId, EntityConstraint, EntityType, EntityTypeId, EnumType, Intent, IntentEntry, Schema,
};
use crate::ir::{self, Body, Clause, EntityUid, FieldTy, PolicySet, RecordTy, Ty};
use crate::syntax::ast::{self, Effect, Item, SchemaMember};
use crate::syntax::span::{FileId, SourceMap, Span, Spanned};
use std::collections::{BTreeMap, HashMap, HashSet};
use std::sync::Arc;

/// Reads the file a path import names. Implemented at the edge (see `load.rs`).
pub trait Resolver {
    /// `from` is the name of the importing file; returns the imported file's display name
    /// and text.
    fn read(&mut self, from: &str, path: &str) -> Result<(String, Vec<u8>), ImportError>;
}

/// Why a path import was not read; the text says why, for the label under the path.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum ImportError {
    /// The file cannot be read (E0007).
    Unreadable(String),
    /// The path leads outside the policy root, so it was not read (E0217).
    OutsideRoot(String),
}

impl From<String> for ImportError {
    fn from(why: String) -> ImportError {
        ImportError::Unreadable(why)
    }
}

/// A resolver for contexts without a file system: every path import fails.
pub struct NoFiles;

impl Resolver for NoFiles {
    fn read(&mut self, _from: &str, path: &str) -> Result<(String, Vec<u8>), ImportError> {
        Err(ImportError::Unreadable(format!("cannot import `{path}`: file imports are not available here")))
    }
}

/// The result of checking: the IR when there are no errors, and every diagnostic.
#[derive(Debug)]
pub struct Checked {
    pub policy: Option<PolicySet>,
    pub diagnostics: Vec<Diagnostic>,
}

pub(crate) type FnId = usize;
type ModuleId = usize;
type ScopeId = usize;

/// What names a piece of code sees: functions by bare name and modules by alias.
#[derive(Default, Debug)]
pub(crate) struct Scope {
    pub fns: HashMap<String, FnId>,
    pub modules: HashMap<String, ModuleId>,
}

#[derive(Debug)]
pub(crate) struct FnInfo {
    /// Shared, so inlining a call does not copy the body.
    pub decl: Arc<ast::FnDecl>,
    /// Where the body resolves names.
    pub scope: ScopeId,
    pub params: Arc<[(Arc<str>, Ty)]>,
    pub ret: Ty,
    /// Declared in the standard library (never warned about as unused).
    pub std: bool,
    pub recursive: bool,
}

#[derive(Debug)]
pub(crate) struct Module {
    pub fns: HashMap<String, FnId>,
    pub std: bool,
    /// The import failed (and was reported): calls through it are errors already.
    pub broken: bool,
}

struct Unit {
    file: FileId,
    ast: Arc<ast::File>,
    /// Its parse reported nothing (a tree an editor may hand back: [`Reuse`]).
    clean: bool,
    /// `None` for a policy file, the module's id for a module.
    module: Option<ModuleId>,
    scope: ScopeId,
}

/// Parses and checks a policy set: `files` are its files (already in `sources`); imported
/// modules are added to `sources` as they are found.
pub fn check(sources: &mut SourceMap, files: &[FileId], resolver: &mut dyn Resolver) -> Checked {
    check_inner(sources, files, resolver, None, &|_, _, _| None).0
}

/// [`check`], also recording what editors need to know ([`analysis::Analysis`]).
pub fn check_with_analysis(
    sources: &mut SourceMap,
    files: &[FileId],
    resolver: &mut dyn Resolver,
) -> (Checked, analysis::Analysis) {
    check_with_analysis_reusing(sources, files, resolver, &|_, _, _| None)
}

/// Syntax trees an editor kept from an earlier check ([`analysis::Analysis::trees`]), by
/// file id, name and text: a tree it returns must be what parsing exactly that text as that
/// file id gives, with no diagnostics (the trees of `Analysis::trees` of a check of the
/// same file, same id and same text are).
pub type Reuse<'a> = dyn Fn(FileId, &str, &str) -> Option<Arc<ast::File>> + 'a;

/// [`check_with_analysis`], taking the trees of unchanged policy files from `reuse`
/// instead of parsing them again.
pub fn check_with_analysis_reusing(
    sources: &mut SourceMap,
    files: &[FileId],
    resolver: &mut dyn Resolver,
    reuse: &Reuse<'_>,
) -> (Checked, analysis::Analysis) {
    let (checked, analysis) = check_inner(sources, files, resolver, Some(Box::default()), reuse);
    (checked, analysis.map(|a| *a).unwrap_or_default())
}

fn check_inner(
    sources: &mut SourceMap,
    files: &[FileId],
    resolver: &mut dyn Resolver,
    analysis: Option<Box<analysis::Analysis>>,
    reuse: &Reuse<'_>,
) -> (Checked, Option<Box<analysis::Analysis>>) {
    let mut cx = Checker { analysis, ..Checker::default() };
    cx.load(sources, files, resolver, reuse);
    let sources: &SourceMap = sources;
    cx.build_schema(sources);
    cx.declare_fns();
    cx.check_fns();
    let rules = cx.check_rules(sources);
    cx.warn_unused();
    let mut diags = std::mem::take(&mut cx.diags);
    dedup(&mut diags);
    let mut analysis = cx.finish_analysis();
    if let Some(a) = analysis.as_mut() {
        a.trees = std::mem::take(&mut cx.units).into_iter().filter(|u| u.clean).map(|u| (u.file, u.ast)).collect();
    }
    let policy = if crate::diag::has_errors(&diags) {
        None
    } else {
        let mut p = PolicySet { schema: cx.schema, rules, index: HashMap::new() };
        p.build_index();
        Some(p)
    };
    (Checked { policy, diagnostics: diags }, analysis)
}

/// Checks a policy set and returns the lowered body of its parameterless function `name`:
/// functions inlined, constants folded. With constant arguments a call to a standard library
/// function folds to its value, which is how the library's doc examples are tested.
pub fn lower_function(
    sources: &mut SourceMap,
    files: &[FileId],
    resolver: &mut dyn Resolver,
    name: &str,
) -> (Option<ir::Expr>, Vec<Diagnostic>) {
    let mut cx = Checker::default();
    cx.load(sources, files, resolver, &|_, _, _| None);
    cx.build_schema(sources);
    cx.declare_fns();
    cx.check_fns();
    let id = cx.fns.iter().position(|f| f.decl.name.node == name && f.params.is_empty() && !f.std);
    let body = id.and_then(|id| expr::Lowerer::for_fn(&mut cx, id).lower_fn_body(id));
    let mut diags = std::mem::take(&mut cx.diags);
    dedup(&mut diags);
    let ok = !crate::diag::has_errors(&diags);
    (body.filter(|_| ok), diags)
}

/// Checks a policy set and lowers one expression against it (`writ eval --expr`), as a
/// condition of a rule over one request shape would be lowered — but of any type: the
/// names of the first policy file (its imports, the fns of the set) are in scope, and
/// `principal`, `resource`, `context` and `on_behalf_of` have the types of the principal
/// type, resource type and action given by name. The expression is the text of the file
/// `expr` (already in `sources`). Returns the IR and how many locals evaluating it needs.
pub fn lower_expr(
    sources: &mut SourceMap,
    files: &[FileId],
    resolver: &mut dyn Resolver,
    expr: FileId,
    shape: (&str, &str, &str),
) -> (Option<(ir::Expr, u32)>, Vec<Diagnostic>) {
    let mut cx = Checker::default();
    cx.load(sources, files, resolver, &|_, _, _| None);
    cx.build_schema(sources);
    cx.declare_fns();
    cx.check_fns();
    let text = sources.get(expr).map(|f| f.text.clone()).unwrap_or_default();
    let (parsed, parse_diags) = crate::syntax::parse_expr(expr, &text);
    cx.diags.extend(parse_diags);
    let at = Span::new(expr, 0, text.len());
    let (p, r, a) = (cx.schema.entity_id(shape.0), cx.schema.entity_id(shape.1), cx.schema.action_id(shape.2));
    let scope = cx.units.iter().find(|u| u.module.is_none()).map(|u| u.scope);
    let env = match (p, r, a) {
        (Some(p), Some(r), Some(a)) => {
            let class = cx.action_shapes.get(a.index()).copied().unwrap_or(usize::MAX);
            cx.shape_classes.get(class).cloned().map(|(ctx, obo)| expr::Env {
                principal: p,
                resource: r,
                context: ctx,
                on_behalf_of: obo,
            })
        }
        _ => None,
    };
    let lowered = match (parsed, env, scope) {
        (Some(e), Some(env), Some(scope)) => {
            let mut lx = expr::Lowerer::for_rule(&mut cx, scope, env);
            let ir = lx.lower(&e, None);
            let locals = lx.locals_used();
            Some((ir, locals))
        }
        (_, None, _) => {
            cx.err(Diagnostic::new(
                codes::UNKNOWN_NAME,
                at,
                format!("the request's action `{}` or its entity types are not in the schema", shape.2),
            ));
            None
        }
        _ => None,
    };
    let mut diags = std::mem::take(&mut cx.diags);
    dedup(&mut diags);
    let ok = !crate::diag::has_errors(&diags);
    (lowered.filter(|_| ok), diags)
}

fn dedup(diags: &mut Vec<Diagnostic>) {
    crate::diag::sort(diags);
    let mut seen = HashSet::new();
    diags.retain(|d| seen.insert((d.code, d.primary.span, d.message.clone())));
}

#[derive(Default)]
pub(crate) struct Checker {
    pub diags: Vec<Diagnostic>,
    pub schema: Schema,
    pub fns: Vec<FnInfo>,
    pub scopes: Vec<Scope>,
    pub modules: Vec<Module>,
    units: Vec<Unit>,
    /// Common context fields.
    context: Vec<FieldTy>,
    /// Which fns were inlined into a rule (directly or through other fns).
    pub used_fns: HashSet<FnId>,
    /// Modules some rule or fn referred to (even in a call with errors).
    pub used_modules: HashSet<ModuleId>,
    /// Import statements: (scope, alias, span, module) — while loading, the first field is
    /// the importing unit.
    imports: Vec<(ScopeId, String, Span, ModuleId)>,
    had_schema: bool,
    /// For each action, the class of request shapes it belongs to (actions with equal
    /// context shapes and principal types share one), and each class's context and
    /// principal types: computed once with the schema, so that checking a rule compares
    /// class numbers instead of record types.
    action_shapes: Vec<usize>,
    shape_classes: Vec<(Arc<RecordTy>, Vec<EntityTypeId>)>,
    /// What editors need to know, recorded only when asked for.
    pub analysis: Option<Box<analysis::Analysis>>,
}

impl Checker {
    pub fn err(&mut self, d: Diagnostic) {
        self.diags.push(d);
    }

    /// Completes the analysis (if one is recorded) with the functions, imports and schema.
    fn finish_analysis(&mut self) -> Option<Box<analysis::Analysis>> {
        let mut a = self.analysis.take()?;
        a.fns = self
            .fns
            .iter()
            .map(|f| {
                let params: Vec<(String, String)> =
                    f.params.iter().map(|(n, t)| (n.to_string(), self.schema.ty_name(t))).collect();
                let shown: Vec<String> = params.iter().map(|(n, t)| format!("{n}: {t}")).collect();
                analysis::FnSummary {
                    name: f.decl.name.node.clone(),
                    span: f.decl.name.span,
                    signature: format!("{}({}) -> {}", f.decl.name.node, shown.join(", "), self.schema.ty_name(&f.ret)),
                    params,
                    doc: f.decl.doc.clone(),
                    std: f.std,
                }
            })
            .collect();
        a.imports = self.imports.iter().map(|(_, alias, span, _)| (alias.clone(), *span)).collect();
        a.schema = self.schema.clone();
        Some(a)
    }

    // ------------------------------------------------------------------ loading

    fn load(&mut self, sources: &mut SourceMap, files: &[FileId], resolver: &mut dyn Resolver, reuse: &Reuse<'_>) {
        let global = self.new_scope();
        let mut module_keys: HashMap<String, ModuleId> = HashMap::new();
        let mut policy_units: HashMap<String, usize> = HashMap::new();
        for &file in files {
            let (name, text) = sources.get(file).map_or(("", ""), |f| (f.name.as_str(), f.text.as_str()));
            let (ast, clean) = match reuse(file, name, text) {
                Some(tree) => (tree, true),
                None => {
                    let parsed = crate::syntax::parse_file(file, text);
                    let clean = parsed.diagnostics.is_empty();
                    self.diags.extend(parsed.diagnostics);
                    (Arc::new(parsed.file), clean)
                }
            };
            policy_units.insert(name.to_string(), self.units.len());
            self.units.push(Unit { file, ast, clean, module: None, scope: global });
        }
        // Resolve imports over a work list: units appended as modules are found are
        // processed in turn. A policy file that another file imports by path becomes a
        // module (it is loaded once, under one name).
        let mut edges: Vec<(usize, ModuleId, Span)> = Vec::new();
        let mut i = 0;
        while let Some(unit) = self.units.get(i) {
            let imports: Vec<ast::Import> = unit
                .ast
                .items
                .iter()
                .filter_map(|it| if let Item::Import(imp) = it { Some(imp.clone()) } else { None })
                .collect();
            let file = unit.file;
            if !imports.is_empty() && unit.scope == global {
                // A file with imports gets its own scope for the aliases (fns are shared later).
                let s = self.new_scope();
                if let Some(u) = self.units.get_mut(i) {
                    u.scope = s;
                }
            }
            for imp in imports {
                let Some((key, alias, display, text)) = self.resolve_import(&imp, sources, file, resolver) else {
                    // Reported; the alias names a module with nothing in it, so that calls
                    // through it do not report again.
                    let alias = match &imp.kind {
                        ast::ImportKind::Module(path) => path.last().map(|n| n.node.clone()),
                        ast::ImportKind::File { alias, .. } => Some(alias.node.clone()),
                    };
                    let scope = self.units.get(i).map_or(global, |u| u.scope);
                    if let Some(alias) = alias {
                        let id = self.modules.len();
                        self.modules.push(Module { fns: HashMap::new(), std: false, broken: true });
                        if let Some(s) = self.scopes.get_mut(scope) {
                            s.modules.entry(alias).or_insert(id);
                        }
                    }
                    continue;
                };
                let id = match module_keys.get(&key) {
                    Some(&id) => id,
                    None => {
                        let id = self.modules.len();
                        self.modules.push(Module { fns: HashMap::new(), std: key.starts_with("std."), broken: false });
                        module_keys.insert(key.clone(), id);
                        if let Some(&j) = policy_units.get(&key) {
                            self.make_module(j, id, global);
                        } else {
                            let (mfile, bad_utf8) = crate::syntax::add_source(sources, display, text);
                            let readable = bad_utf8.is_none();
                            self.diags.extend(bad_utf8);
                            let parsed = if readable {
                                crate::syntax::parse_file(mfile, sources.get(mfile).map_or("", |f| f.text.as_str()))
                            } else {
                                crate::syntax::Parsed { file: ast::File::default(), diagnostics: vec![] }
                            };
                            let clean = parsed.diagnostics.is_empty();
                            self.diags.extend(parsed.diagnostics);
                            let mscope = self.new_scope();
                            self.units.push(Unit {
                                file: mfile,
                                ast: Arc::new(parsed.file),
                                clean,
                                module: Some(id),
                                scope: mscope,
                            });
                        }
                        id
                    }
                };
                let scope = self.units.get(i).map_or(global, |u| u.scope);
                if let Some(s) = self.scopes.get_mut(scope) {
                    if s.modules.insert(alias.clone(), id).is_some() {
                        self.diags.push(
                            Diagnostic::new(
                                codes::DUPLICATE,
                                imp.span,
                                format!("a module is already imported as `{alias}`"),
                            )
                            .with_label_message("second import under this name")
                            .with_help("give one of them another name with `as`"),
                        );
                    }
                }
                self.imports.push((i, alias, imp.span, id));
                edges.push((i, id, imp.span));
            }
            i += 1;
        }
        self.find_import_cycles(&edges);
        // Modules hold functions (and imports) only.
        let mut misplaced = Vec::new();
        for u in self.units.iter().filter(|u| u.module.is_some()) {
            for item in &u.ast.items {
                let what = match item {
                    Item::Rule(_) => "a rule",
                    Item::Schema(_) => "a schema",
                    Item::Intent(_) => "an intent",
                    _ => continue,
                };
                misplaced.push(
                    Diagnostic::new(codes::NOT_IN_MODULE, item.span(), format!("{what} in a module file"))
                        .with_label_message("modules may only declare functions and imports")
                        .with_help("move it to a policy file, or stop importing this file as a module"),
                );
            }
        }
        self.diags.extend(misplaced);
        // Import spans are recorded per unit; turn them into per-scope entries.
        let imports = std::mem::take(&mut self.imports);
        self.imports =
            imports.into_iter().map(|(u, a, s, m)| (self.units.get(u).map_or(global, |u| u.scope), a, s, m)).collect();
    }

    /// Turns policy unit `j` into module `id`, giving it a scope of its own.
    fn make_module(&mut self, j: usize, id: ModuleId, global: ScopeId) {
        let old = self.units.get(j).map_or(global, |u| u.scope);
        let new = self.new_scope();
        if old != global {
            let aliases = self.scopes.get(old).map(|s| s.modules.clone()).unwrap_or_default();
            if let Some(s) = self.scopes.get_mut(new) {
                s.modules = aliases;
            }
        }
        if let Some(u) = self.units.get_mut(j) {
            u.module = Some(id);
            u.scope = new;
        }
    }

    /// Finds `(key, alias, display name, bytes)` of an import; reports what it cannot find.
    fn resolve_import(
        &mut self,
        imp: &ast::Import,
        sources: &SourceMap,
        file: FileId,
        resolver: &mut dyn Resolver,
    ) -> Option<(String, String, String, Vec<u8>)> {
        match &imp.kind {
            ast::ImportKind::Module(path) => {
                let names: Vec<&str> = path.iter().map(|n| n.node.as_str()).collect();
                let alias = names.last().copied().unwrap_or("").to_string();
                let std_name = match names.as_slice() {
                    ["std", name] => Some(*name),
                    _ => None,
                };
                match std_name.and_then(stdlib::source) {
                    Some(src) => Some((
                        format!("std.{alias}"),
                        alias.clone(),
                        format!("<std>/{alias}.writ"),
                        src.as_bytes().to_vec(),
                    )),
                    None => {
                        let avail: Vec<String> = stdlib::names().map(|n| format!("std.{n}")).collect();
                        let joined = names.join(".");
                        let mut d =
                            Diagnostic::new(codes::UNKNOWN_MODULE, imp.span, format!("unknown module `{joined}`"))
                                .with_label_message("no such standard library module");
                        if let Some(s) = did_you_mean(&joined, avail.iter().map(String::as_str)) {
                            d = d.with_help(format!("did you mean `{s}`?"));
                        } else {
                            d = d.with_note(format!("the standard library has {}", avail.join(", ")));
                        }
                        self.err(d);
                        None
                    }
                }
            }
            ast::ImportKind::File { path, alias } => {
                if let Some(d) = expr::reserved_name(alias, "an import alias") {
                    self.err(d);
                }
                let from = sources.name(file).to_string();
                match resolver.read(&from, &path.node) {
                    Ok((name, bytes)) => Some((name.clone(), alias.node.clone(), name, bytes)),
                    Err(ImportError::Unreadable(why)) => {
                        self.err(
                            Diagnostic::new(codes::UNKNOWN_MODULE, path.span, format!("cannot import `{}`", path.node))
                                .with_label_message(why),
                        );
                        None
                    }
                    Err(ImportError::OutsideRoot(why)) => {
                        self.err(
                            Diagnostic::new(
                                codes::IMPORT_OUTSIDE_ROOT,
                                path.span,
                                format!("cannot import `{}`: it is outside the policy root", path.node),
                            )
                            .with_label_message(why)
                            .with_note(
                                "the policy root is the directory being loaded, or the directory of the file given",
                            )
                            .with_help("keep modules inside the policy root and import them by a relative path"),
                        );
                        None
                    }
                }
            }
        }
    }

    /// E0204 for each cycle in the module import graph (once per cycle).
    fn find_import_cycles(&mut self, edges: &[(usize, ModuleId, Span)]) {
        let n = self.modules.len();
        let module_of = |u: usize| self.units.get(u).and_then(|u| u.module);
        let mut adj: Vec<Vec<(ModuleId, Span)>> = vec![Vec::new(); n];
        for (u, to, span) in edges {
            if let Some(from) = module_of(*u) {
                if let Some(a) = adj.get_mut(from) {
                    a.push((*to, *span));
                }
            }
        }
        let mut colour = vec![0u8; n];
        let mut reported = Vec::new();
        for start in 0..n {
            if colour.get(start).copied() != Some(0) {
                continue;
            }
            let mut stack: Vec<(ModuleId, usize)> = vec![(start, 0)];
            if let Some(c) = colour.get_mut(start) {
                *c = 1;
            }
            while let Some(&mut (node, ref mut next)) = stack.last_mut() {
                let succ = adj.get(node).and_then(|a| a.get(*next)).copied();
                *next += 1;
                match succ {
                    Some((t, span)) => match colour.get(t).copied() {
                        Some(0) => {
                            if let Some(c) = colour.get_mut(t) {
                                *c = 1;
                            }
                            stack.push((t, 0));
                        }
                        Some(1) => reported.push(span),
                        _ => {}
                    },
                    None => {
                        if let Some(c) = colour.get_mut(node) {
                            *c = 2;
                        }
                        stack.pop();
                    }
                }
            }
        }
        for span in reported {
            self.err(
                Diagnostic::new(codes::IMPORT_CYCLE, span, "import cycle")
                    .with_label_message("this import leads back to a module that imports this file")
                    .with_help("move the shared functions into a third module that both import"),
            );
        }
    }

    fn new_scope(&mut self) -> ScopeId {
        self.scopes.push(Scope::default());
        self.scopes.len() - 1
    }

    // ------------------------------------------------------------------ schema

    fn build_schema(&mut self, sources: &SourceMap) {
        let mut schema = Schema::new();
        let mut entity_decls: Vec<ast::EntityDecl> = Vec::new();
        let mut action_decls: Vec<ast::ActionDecl> = Vec::new();
        let mut group_decls: Vec<ast::ActionGroupDecl> = Vec::new();
        let mut context_decls: Vec<ast::AttrDecl> = Vec::new();
        let mut settings: Vec<ast::Setting> = Vec::new();
        let mut type_spans: HashMap<String, Span> = HashMap::new();
        let mut action_spans: HashMap<String, Span> = HashMap::new();
        let units = std::mem::take(&mut self.units);
        for unit in units.iter().filter(|u| u.module.is_none()) {
            for item in &unit.ast.items {
                let Item::Schema(s) = item else { continue };
                self.had_schema = true;
                for m in &s.members {
                    match m {
                        SchemaMember::Enum(e) => {
                            if self.declare_name(&mut type_spans, &e.name, "type") {
                                let mut seen = HashMap::new();
                                for v in &e.variants {
                                    self.declare_name(&mut seen, v, "value");
                                }
                                schema.add_enum(EnumType {
                                    name: e.name.node.clone(),
                                    doc: e.doc.clone(),
                                    variants: dedup_names(&e.variants),
                                });
                            }
                        }
                        SchemaMember::Entity(e) => {
                            if self.declare_name(&mut type_spans, &e.name, "type") {
                                schema.add_entity(EntityType {
                                    name: e.name.node.clone(),
                                    doc: e.doc.clone(),
                                    parents: vec![],
                                    attrs: Arc::new(RecordTy::default()),
                                    ancestor_types: vec![],
                                });
                                entity_decls.push(e.clone());
                            }
                        }
                        SchemaMember::Context(c) => context_decls.extend(c.fields.iter().cloned()),
                        SchemaMember::Action(a) => {
                            if self.declare_name(&mut action_spans, &a.name, "action") {
                                action_decls.push(a.clone());
                            }
                        }
                        SchemaMember::ActionGroup(g) => {
                            if self.declare_name(&mut action_spans, &g.name, "action") {
                                group_decls.push(g.clone());
                            }
                        }
                        SchemaMember::Setting(set) => settings.push(set.clone()),
                        SchemaMember::Error(_) => {}
                    }
                }
            }
        }
        self.schema = schema;
        let mut seen_settings: HashMap<String, Span> = HashMap::new();
        for set in &settings {
            if !self.declare_name(&mut seen_settings, &set.name, "setting") {
                continue;
            }
            match set.name.node.as_str() {
                "max_delegation" => match usize::try_from(set.value.node) {
                    Ok(n) if n <= MAX_DELEGATION_LIMIT => self.schema.max_delegation = n,
                    _ => self.err(
                        Diagnostic::new(
                            codes::INVALID_CONSTANT,
                            set.value.span,
                            "`max_delegation` must be between 0 and 64",
                        )
                        .with_label_message("out of range"),
                    ),
                },
                other => {
                    let mut d = Diagnostic::new(
                        codes::UNKNOWN_SETTING,
                        set.name.span,
                        format!("unknown schema setting `{other}`"),
                    )
                    .with_label_message("not a setting");
                    d = match did_you_mean(other, SETTINGS.iter().copied()) {
                        Some(s) => d.with_help(format!("did you mean `{s}`?")),
                        None => d.with_note(format!("the settings are {}", SETTINGS.join(", "))),
                    };
                    self.err(d);
                }
            }
        }
        // Attributes and parents, now that every type name is known.
        for e in &entity_decls {
            let Some(id) = self.schema.entity_id(&e.name.node) else { continue };
            let parents: Vec<EntityTypeId> = e.parents.iter().filter_map(|p| self.entity_type_ref(p)).collect();
            let attrs = self.record_type(&e.attrs, &[]);
            if let Some(ent) = self.schema.entities.get_mut(id.index()) {
                ent.parents = parents;
                ent.attrs = Arc::new(attrs);
            }
        }
        self.schema.compute_ancestor_types();
        let common = self.record_type(&context_decls, &[]);
        self.context = common.fields.clone();
        for a in &action_decls {
            let principals = self.entity_type_list(&a.principals);
            let resources = self.entity_type_list(&a.resources);
            let context = Arc::new(self.record_type(&a.context, &context_decls));
            self.schema.add_action(Action {
                name: a.name.node.clone(),
                doc: a.doc.clone(),
                principals,
                resources,
                context,
            });
        }
        for act in &self.schema.actions {
            let class = match self.shape_classes.iter().position(|(c, p)| **c == *act.context && *p == act.principals) {
                Some(i) => i,
                None => {
                    self.shape_classes.push((act.context.clone(), act.principals.clone()));
                    self.shape_classes.len() - 1
                }
            };
            self.action_shapes.push(class);
        }
        for g in &group_decls {
            let mut actions = Vec::new();
            for n in &g.actions {
                match self.schema.action_id(&n.node) {
                    Some(id) => actions.push(id),
                    None => self.unknown_action(n),
                }
            }
            self.schema.add_group(ActionGroup { name: g.name.node.clone(), actions });
        }
        // Intents.
        let mut intent_spans: HashMap<String, Span> = HashMap::new();
        for unit in units.iter().filter(|u| u.module.is_none()) {
            for item in &unit.ast.items {
                let Item::Intent(i) = item else { continue };
                if i.name.node == "none" {
                    self.err(
                        Diagnostic::new(
                            codes::DUPLICATE,
                            i.name.span,
                            "`none` is the value of requests without an intent",
                        )
                        .with_label_message("reserved intent name"),
                    );
                    continue;
                }
                if !self.declare_name(&mut intent_spans, &i.name, "intent") {
                    continue;
                }
                let entries = i.entries.iter().map(|e| self.intent_entry(e)).collect();
                self.schema.add_intent(Intent {
                    name: i.name.node.clone(),
                    description: i.description.node.clone(),
                    doc: i.doc.clone(),
                    entries,
                });
            }
        }
        if !self.had_schema
            && units.iter().any(|u| u.module.is_none() && u.ast.items.iter().any(|i| matches!(i, Item::Rule(_))))
        {
            let span = units
                .iter()
                .flat_map(|u| u.ast.items.iter())
                .find(|i| matches!(i, Item::Rule(_)))
                .map(Item::span)
                .unwrap_or_default();
            self.err(
                Diagnostic::new(codes::NO_SCHEMA, span, "the policy set has no schema")
                    .with_label_message("this rule cannot be checked without one")
                    .with_help("add a `schema { … }` block declaring entities and actions (see `writ explain E0205`)"),
            );
        }
        let _ = sources;
        self.units = units;
    }

    /// Records a declared name; reports a duplicate (and returns false) if it was seen.
    fn declare_name(&mut self, seen: &mut HashMap<String, Span>, name: &ast::Name, what: &str) -> bool {
        if what == "type" && BUILTIN_TYPES.contains(&name.node.as_str()) {
            self.err(
                Diagnostic::new(codes::DUPLICATE, name.span, format!("`{}` is a built-in type", name.node))
                    .with_label_message("choose another name"),
            );
            return false;
        }
        if let Some(first) = seen.get(&name.node) {
            let first = *first;
            self.err(
                Diagnostic::new(codes::DUPLICATE, name.span, format!("{what} `{}` is declared twice", name.node))
                    .with_label_message("second declaration")
                    .with_label(first, "first declared here"),
            );
            return false;
        }
        seen.insert(name.node.clone(), name.span);
        true
    }

    fn entity_type_list(&mut self, names: &[ast::Name]) -> Vec<EntityTypeId> {
        let mut v: Vec<EntityTypeId> = names.iter().filter_map(|n| self.entity_type_ref(n)).collect();
        v.sort();
        v.dedup();
        v
    }

    pub(crate) fn entity_type_ref(&mut self, n: &ast::Name) -> Option<EntityTypeId> {
        if let Some(id) = self.schema.entity_id(&n.node) {
            return Some(id);
        }
        let mut d = Diagnostic::new(codes::UNKNOWN_TYPE, n.span, format!("unknown entity type `{}`", n.node));
        if self.schema.enum_id(&n.node).is_some() {
            d = Diagnostic::new(codes::UNKNOWN_TYPE, n.span, format!("`{}` is an enum, not an entity type", n.node))
                .with_label_message("not an entity type");
        } else if BUILTIN_TYPES.contains(&n.node.as_str()) {
            d = Diagnostic::new(
                codes::UNKNOWN_TYPE,
                n.span,
                format!("`{}` is a built-in type, not an entity type", n.node),
            )
            .with_label_message("not an entity type");
        } else {
            d = d.with_label_message("not declared in the schema");
            let names: Vec<&str> = self.schema.entities.iter().map(|e| e.name.as_str()).collect();
            if let Some(s) = did_you_mean(&n.node, names) {
                d = d.with_help(format!("did you mean `{s}`?"));
            }
        }
        self.err(d);
        None
    }

    /// A record type from attribute declarations; `outer` are fields it must not redeclare.
    fn record_type(&mut self, attrs: &[ast::AttrDecl], outer: &[ast::AttrDecl]) -> RecordTy {
        let mut seen: HashMap<String, Span> = outer.iter().map(|a| (a.name.node.clone(), a.name.span)).collect();
        let mut fields = Vec::new();
        for a in outer.iter().chain(attrs.iter()) {
            let is_outer = outer.iter().any(|o| std::ptr::eq(o, a));
            if !is_outer && !self.declare_name(&mut seen, &a.name, "attribute") {
                continue;
            }
            let ty = self.resolve_type(&a.ty);
            fields.push(FieldTy { name: a.name.node.clone(), ty, optional: a.optional, doc: a.doc.clone() });
        }
        RecordTy::new(fields)
    }

    pub(crate) fn resolve_type(&mut self, t: &ast::Type) -> Ty {
        match &t.kind {
            ast::TypeKind::Error => Ty::Error,
            ast::TypeKind::Record(attrs) => Ty::Record(Arc::new(self.record_type(attrs, &[]))),
            ast::TypeKind::Generic(n, args) => {
                if n.node != "Set" {
                    self.err(
                        Diagnostic::new(codes::UNKNOWN_TYPE, n.span, format!("`{}` takes no type arguments", n.node))
                            .with_help("the only generic type is `Set<T>`"),
                    );
                    return Ty::Error;
                }
                match args.as_slice() {
                    [one] => Ty::Set(Box::new(self.resolve_type(one))),
                    _ => {
                        self.err(Diagnostic::new(codes::WRONG_ARITY, t.span, "`Set` takes exactly one type argument"));
                        Ty::Error
                    }
                }
            }
            ast::TypeKind::Named(n) => match (Ty::builtin(&n.node), n.node.as_str()) {
                (Some(t), _) => t,
                (None, "Set") => {
                    self.err(
                        Diagnostic::new(codes::WRONG_ARITY, n.span, "`Set` needs an element type")
                            .with_help("write `Set<String>`, `Set<Agent>`, …"),
                    );
                    Ty::Error
                }
                (None, name) => {
                    if let Some(id) = self.schema.entity_id(name) {
                        Ty::entity(id)
                    } else if let Some(id) = self.schema.enum_id(name) {
                        Ty::Enum(id)
                    } else {
                        let mut all: Vec<&str> = BUILTIN_TYPES.to_vec();
                        all.extend(self.schema.entities.iter().map(|e| e.name.as_str()));
                        all.extend(self.schema.enums.iter().map(|e| e.name.as_str()));
                        let mut d = Diagnostic::new(codes::UNKNOWN_TYPE, n.span, format!("unknown type `{name}`"))
                            .with_label_message("not a built-in type nor declared in the schema");
                        if let Some(s) = did_you_mean(name, all) {
                            d = d.with_help(format!("did you mean `{s}`?"));
                        }
                        self.err(d);
                        Ty::Error
                    }
                }
            },
        }
    }

    fn unknown_action(&mut self, n: &ast::Name) {
        let mut names: Vec<&str> = self.schema.actions.iter().map(|a| a.name.as_str()).collect();
        names.extend(self.schema.groups.iter().map(|g| g.name.as_str()));
        let mut d = Diagnostic::new(codes::UNKNOWN_ACTION, n.span, format!("unknown action `{}`", n.node))
            .with_label_message("not declared in the schema");
        if let Some(s) = did_you_mean(&n.node, names) {
            d = d.with_help(format!("did you mean `{s}`?"));
        }
        self.err(d);
    }

    /// Resolves an action scope to sorted action ids.
    fn action_scope(&mut self, a: &ast::ActionScope) -> Vec<ActionId> {
        let mut out = Vec::new();
        let one = |cx: &mut Checker, n: &ast::Name, out: &mut Vec<ActionId>| {
            if let Some(id) = cx.schema.action_id(&n.node) {
                out.push(id);
            } else if let Some(g) = cx.schema.group_id(&n.node) {
                out.extend(cx.schema.group(g).map(|g| g.actions.clone()).unwrap_or_default());
            } else {
                cx.unknown_action(n);
            }
        };
        match a {
            ast::ActionScope::Any => out.extend(self.schema.action_ids()),
            ast::ActionScope::One(n) => one(self, n, &mut out),
            ast::ActionScope::List(ns) => ns.iter().for_each(|n| one(self, n, &mut out)),
        }
        out.sort();
        out.dedup();
        out
    }

    fn entity_uid(&mut self, e: &ast::EntityRef) -> Option<EntityUid> {
        let ty = self.entity_type_ref(&e.ty)?;
        Some(EntityUid { ty, id: Arc::from(e.id.node.as_str()) })
    }

    /// A target scope: the entity types it admits (None = all) and the constraint beyond type.
    fn scope(&mut self, s: &ast::Scope, intent_entry: bool) -> (Option<Vec<EntityTypeId>>, EntityConstraint, bool) {
        match s {
            ast::Scope::Any => (None, EntityConstraint::Any, true),
            ast::Scope::Type(n) => match self.entity_type_ref(n) {
                Some(t) => (Some(vec![t]), EntityConstraint::Any, true),
                None => (Some(vec![]), EntityConstraint::Any, false),
            },
            ast::Scope::Entity(e) => match self.entity_uid(e) {
                Some(uid) if intent_entry => {
                    // In an intent, `Group::"x"` means "x or anything in it".
                    let types: Vec<EntityTypeId> =
                        self.schema.entity_ids().filter(|t| self.schema.may_descend(*t, uid.ty)).collect();
                    (Some(types), EntityConstraint::In(uid), true)
                }
                Some(uid) => (Some(vec![uid.ty]), EntityConstraint::Is(uid), true),
                None => (Some(vec![]), EntityConstraint::Any, false),
            },
            ast::Scope::TypeIn(n, e) => {
                let t = self.entity_type_ref(n);
                let uid = self.entity_uid(e);
                match (t, uid) {
                    (Some(t), Some(uid)) => {
                        self.check_descent(t, uid.ty, n.span.to(e.id.span));
                        (Some(vec![t]), EntityConstraint::In(uid), true)
                    }
                    _ => (Some(vec![]), EntityConstraint::Any, false),
                }
            }
            ast::Scope::EntityIn(a, e) => {
                let a_uid = self.entity_uid(a);
                let uid = self.entity_uid(e);
                match (a_uid, uid) {
                    (Some(a_uid), Some(uid)) => {
                        self.check_descent(a_uid.ty, uid.ty, a.ty.span.to(e.id.span));
                        (Some(vec![a_uid.ty]), EntityConstraint::IsIn(a_uid, uid), true)
                    }
                    _ => (Some(vec![]), EntityConstraint::Any, false),
                }
            }
        }
    }

    /// Is `name` an attribute of some entity type or a context field of some action?
    pub(crate) fn attribute_declared(&self, name: &str) -> bool {
        self.schema.entities.iter().any(|e| e.attrs.field(name).is_some())
            || self.schema.actions.iter().any(|a| a.context.field(name).is_some())
    }

    pub(crate) fn check_descent(&mut self, child: EntityTypeId, ancestor: EntityTypeId, span: Span) -> bool {
        if self.schema.may_descend(child, ancestor) {
            return true;
        }
        let (c, a) = (self.schema.entity_name(child).to_string(), self.schema.entity_name(ancestor).to_string());
        self.err(
            Diagnostic::new(
                codes::IMPOSSIBLE_IN,
                span,
                format!("{} `{c}` can never be in {} `{a}`", article(&c), article(&a)),
            )
            .with_label_message("always false")
            .with_note(format!("the schema declares no chain of `entity … in …` from `{c}` to `{a}`")),
        );
        false
    }

    fn intent_entry(&mut self, e: &ast::IntentEntry) -> IntentEntry {
        let actions = self.action_scope(&e.actions);
        let (resource_types, resource, _) = self.scope(&e.resource, true);
        IntentEntry { actions, resource_types, resource }
    }

    // ------------------------------------------------------------------ functions

    fn declare_fns(&mut self) {
        let global_fns: HashMap<String, FnId> = HashMap::new();
        let mut global_seen: HashMap<String, Span> = HashMap::new();
        let mut module_seen: Vec<HashMap<String, Span>> = (0..self.modules.len()).map(|_| HashMap::new()).collect();
        let units = std::mem::take(&mut self.units);
        let mut global = global_fns;
        for unit in &units {
            for item in &unit.ast.items {
                let Item::Fn(f) = item else { continue };
                if expr::CONSTRUCTORS.contains(&f.name.node.as_str()) {
                    self.err(
                        Diagnostic::new(
                            codes::DUPLICATE,
                            f.name.span,
                            format!("`{}` is a built-in function", f.name.node),
                        )
                        .with_label_message("choose another name"),
                    );
                    continue;
                }
                let seen = match unit.module {
                    None => &mut global_seen,
                    Some(m) => match module_seen.get_mut(m) {
                        Some(s) => s,
                        None => continue,
                    },
                };
                if !self.declare_name(seen, &f.name, "function") {
                    continue;
                }
                let mut pseen = HashMap::new();
                let mut params = Vec::new();
                for p in &f.params {
                    if let Some(d) = expr::reserved_name(&p.name, "a function parameter") {
                        self.err(d);
                    }
                    self.declare_name(&mut pseen, &p.name, "parameter");
                    let ty = self.resolve_type(&p.ty);
                    params.push((Arc::from(p.name.node.as_str()), ty));
                }
                let ret = self.resolve_type(&f.ret);
                let id = self.fns.len();
                let std = unit.module.and_then(|m| self.modules.get(m)).is_some_and(|m| m.std);
                self.fns.push(FnInfo {
                    decl: Arc::new((**f).clone()),
                    scope: unit.scope,
                    params: params.into(),
                    ret,
                    std,
                    recursive: false,
                });
                match unit.module {
                    None => {
                        global.insert(f.name.node.clone(), id);
                    }
                    Some(m) => {
                        if let Some(module) = self.modules.get_mut(m) {
                            module.fns.insert(f.name.node.clone(), id);
                        }
                        if let Some(s) = self.scopes.get_mut(unit.scope) {
                            s.fns.insert(f.name.node.clone(), id);
                        }
                    }
                }
            }
        }
        // Policy files all see the global functions.
        let policy_scopes: HashSet<ScopeId> = units.iter().filter(|u| u.module.is_none()).map(|u| u.scope).collect();
        for s in policy_scopes {
            if let Some(scope) = self.scopes.get_mut(s) {
                scope.fns.extend(global.iter().map(|(k, v)| (k.clone(), *v)));
            }
        }
        self.units = units;
        self.find_recursion();
    }

    /// Finds call cycles among fns and reports each fn on a cycle once.
    fn find_recursion(&mut self) {
        let n = self.fns.len();
        let mut edges: Vec<Vec<(FnId, Span)>> = vec![Vec::new(); n];
        for (i, f) in self.fns.iter().enumerate() {
            let scope = self.scopes.get(f.scope);
            let mut calls = Vec::new();
            collect_calls(&f.decl.body, scope, &self.modules, &mut calls);
            if let Some(e) = edges.get_mut(i) {
                *e = calls;
            }
        }
        // Iterative DFS with colours; a back edge closes a cycle.
        let mut colour = vec![0u8; n];
        let mut on_cycle = vec![false; n];
        for start in 0..n {
            if colour.get(start).copied() != Some(0) {
                continue;
            }
            let mut stack: Vec<(FnId, usize)> = vec![(start, 0)];
            if let Some(c) = colour.get_mut(start) {
                *c = 1;
            }
            while let Some(&mut (node, ref mut next)) = stack.last_mut() {
                let succ = edges.get(node).and_then(|e| e.get(*next)).map(|(t, _)| *t);
                *next += 1;
                match succ {
                    Some(t) => match colour.get(t).copied() {
                        Some(0) => {
                            if let Some(c) = colour.get_mut(t) {
                                *c = 1;
                            }
                            stack.push((t, 0));
                        }
                        Some(1) => {
                            // cycle: every fn on the stack from t up
                            let mut mark = false;
                            for (f, _) in stack.iter() {
                                if *f == t {
                                    mark = true;
                                }
                                if mark {
                                    if let Some(c) = on_cycle.get_mut(*f) {
                                        *c = true;
                                    }
                                }
                            }
                        }
                        _ => {}
                    },
                    None => {
                        if let Some(c) = colour.get_mut(node) {
                            *c = 2;
                        }
                        stack.pop();
                    }
                }
            }
        }
        for (i, cyc) in on_cycle.iter().enumerate() {
            if !*cyc {
                continue;
            }
            let Some(f) = self.fns.get_mut(i) else { continue };
            f.recursive = true;
            let name = f.decl.name.clone();
            let call = edges
                .get(i)
                .and_then(|e| e.iter().find(|(t, _)| on_cycle.get(*t).copied().unwrap_or(false)))
                .map(|c| c.1);
            let mut d = Diagnostic::new(codes::RECURSION, name.span, format!("function `{}` is recursive", name.node))
                .with_label_message("calls itself, directly or through other functions")
                .with_note("functions are inlined, so they may not recurse");
            if let Some(span) = call {
                d = d.with_label(span, "the call that closes the cycle");
            }
            self.err(d);
        }
    }

    fn check_fns(&mut self) {
        for id in 0..self.fns.len() {
            let Some(f) = self.fns.get(id) else { continue };
            if f.recursive {
                continue;
            }
            let (ret, ret_span) = (f.ret.clone(), f.decl.ret.span);
            let mut lx = expr::Lowerer::for_fn(self, id);
            let body = lx.lower_fn_body(id);
            if let Some(body) = body {
                if !body.ty.fits(&ret) {
                    let (found, want) = (self.schema.ty_name(&body.ty), self.schema.ty_name(&ret));
                    self.err(
                        Diagnostic::new(
                            codes::TYPE_MISMATCH,
                            body.span,
                            format!("the function returns `{found}`, but is declared to return `{want}`"),
                        )
                        .with_label_message(format!("this is `{found}`"))
                        .with_label(ret_span, "declared here"),
                    );
                }
            }
        }
        // Checking bodies marks calls between fns as used; only rules count.
        self.used_fns.clear();
    }

    // ------------------------------------------------------------------ rules

    fn check_rules(&mut self, sources: &SourceMap) -> Vec<ir::Rule> {
        if !self.had_schema {
            // E0205 is reported; checking rules against nothing would only cascade.
            return Vec::new();
        }
        let units = std::mem::take(&mut self.units);
        let count = units
            .iter()
            .filter(|u| u.module.is_none())
            .map(|u| u.ast.items.iter().filter(|i| matches!(i, Item::Rule(_))).count())
            .sum();
        // The checked rules and, side by side, the syntax they came from (borrowed from
        // `units`, which stays alive until the warnings below are done).
        let mut rules = Vec::with_capacity(count);
        let mut asts: Vec<&ast::Rule> = Vec::with_capacity(count);
        // The rules of a file share one copy of its name.
        let mut file_name: Option<(FileId, Arc<str>)> = None;
        for unit in units.iter().filter(|u| u.module.is_none()) {
            for item in &unit.ast.items {
                let Item::Rule(r) = item else { continue };
                let file = match &file_name {
                    Some((id, name)) if *id == r.span.file => name.clone(),
                    _ => {
                        let name: Arc<str> = Arc::from(sources.name(r.span.file));
                        file_name = Some((r.span.file, name.clone()));
                        name
                    }
                };
                if let Some(rule) = self.check_rule(r, unit.scope, sources, file) {
                    rules.push(rule);
                    asts.push(&**r);
                }
            }
        }
        // Rule ids must be unique (diagnostics are sorted by position later, so reporting
        // them after checking every rule changes nothing in the output).
        let mut ids: HashMap<&str, Span> = HashMap::with_capacity(rules.len());
        let mut duplicates = Vec::new();
        for (rule, r) in rules.iter().zip(&asts) {
            let span = r.id().map_or(r.span, |i| i.span);
            match ids.get(&*rule.id) {
                Some(first) => duplicates.push(
                    Diagnostic::new(codes::DUPLICATE_RULE_ID, span, format!("rule id `{}` is used twice", rule.id))
                        .with_label_message("second use")
                        .with_label(*first, "first used here"),
                ),
                None => {
                    ids.insert(&rule.id, span);
                }
            }
        }
        drop(ids);
        self.diags.extend(duplicates);
        self.warn_overridden(&rules, &asts);
        drop(asts);
        self.units = units;
        rules
    }

    fn check_rule(&mut self, r: &ast::Rule, scope: ScopeId, sources: &SourceMap, file: Arc<str>) -> Option<ir::Rule> {
        let mut seen_ann: HashMap<&str, Span> = HashMap::new();
        for a in &r.annotations {
            if let Some(first) = seen_ann.insert(&a.name.node, a.span) {
                self.err(
                    Diagnostic::new(
                        codes::INVALID_ANNOTATION,
                        a.span,
                        format!("annotation `@{}` appears twice", a.name.node),
                    )
                    .with_label_message("second one")
                    .with_label(first, "first here"),
                );
                continue;
            }
            if ANNOTATIONS.contains(&a.name.node.as_str()) {
                continue;
            }
            let mut d = Diagnostic::new(
                codes::UNKNOWN_ANNOTATION,
                a.name.span,
                format!("unknown annotation `@{}`", a.name.node),
            )
            .with_label_message("ignored");
            d = match did_you_mean(&a.name.node, ANNOTATIONS.iter().copied()) {
                Some(s) => d.with_help(format!("did you mean `@{s}`?")),
                None => d.with_note("the only rule annotation is `@id(\"…\")`; write notes in a `///` doc comment"),
            };
            self.err(d);
        }
        if let Some(id) = r.id() {
            if let Some(d) = rule_id_problem(id) {
                self.err(d);
            }
        }
        let (ptypes, principal, pok) = self.scope(&r.principal.node, false);
        let actions = self.action_scope(&r.actions.node);
        let (rtypes, resource, rok) = self.scope(&r.resource.node, false);
        let line = sources.get(r.span.file).map_or(0, |f| f.line(r.span.start) + 1);
        let id: Arc<str> = r.id().map_or_else(|| Arc::from(format!("{file}:{line}")), |i| Arc::from(i.node.as_str()));
        // The last `because` counts.
        let message: Option<Arc<str>> = r.clauses.iter().rev().find_map(|c| match c {
            ast::Clause::Because(m) => Some(Arc::from(m.node.as_str())),
            _ => None,
        });
        // Request shapes: group actions whose context and principal set agree.
        let mut shapes: BTreeMap<(EntityTypeId, EntityTypeId, usize), Vec<ActionId>> = BTreeMap::new();
        // The shape classes met, numbered in the order of the rule's actions.
        let mut shape_keys: Vec<usize> = Vec::new();
        for &a in &actions {
            let Some(act) = self.schema.action(a) else { continue };
            let class = self.action_shapes.get(a.index()).copied().unwrap_or(usize::MAX);
            let shape = match shape_keys.iter().position(|c| *c == class) {
                Some(i) => i,
                None => {
                    shape_keys.push(class);
                    shape_keys.len() - 1
                }
            };
            for &p in &act.principals {
                if !ptypes.as_ref().is_none_or(|ts| ts.contains(&p)) {
                    continue;
                }
                for &res in &act.resources {
                    if !rtypes.as_ref().is_none_or(|ts| ts.contains(&res)) {
                        continue;
                    }
                    shapes.entry((p, res, shape)).or_default().push(a);
                }
            }
        }
        if shapes.is_empty() && pok && rok && !actions.is_empty() && self.had_schema {
            self.err(
                Diagnostic::new(
                    codes::NEVER_MATCHES,
                    r.principal.span.to(r.resource.span),
                    "this rule can never apply",
                )
                .with_label_message("no declared action takes this principal and resource")
                .with_note(self.describe_actions(&actions)),
            );
        }
        let mut bodies = Vec::new();
        // Per clause (by position), the constant value it had in every shape checked so far:
        // `None` once it was not constant (or differed) somewhere.
        let mut constant: Vec<Option<Option<bool>>> = Vec::new();
        let mut in_tests = expr::InTests::default();
        for ((p, res, shape), acts) in shapes {
            let Some((ctx, obo)) = shape_keys.get(shape).and_then(|c| self.shape_classes.get(*c)).cloned() else {
                continue;
            };
            let env = expr::Env { principal: p, resource: res, context: ctx, on_behalf_of: obo };
            let mut lx = expr::Lowerer::for_rule(self, scope, env);
            let mut clauses = Vec::new();
            let mut grant = Vec::new();
            let mut never = false;
            let mut index = 0;
            for c in &r.clauses {
                match c {
                    ast::Clause::When(e) | ast::Clause::Unless(e) => {
                        let when = matches!(c, ast::Clause::When(_));
                        let ir = lx.lower_clause(e, when);
                        let k = ir.as_bool();
                        match constant.get_mut(index) {
                            None => constant.push(Some(k)),
                            Some(slot) => {
                                if *slot != Some(k) {
                                    *slot = Some(None);
                                }
                            }
                        }
                        index += 1;
                        match k {
                            // Always holds in this shape: nothing to evaluate.
                            Some(v) if v == when => {}
                            // Never holds in this shape: the clauses after it are never
                            // evaluated (nor checked), and the rule never applies here.
                            Some(_) => {
                                never = true;
                                break;
                            }
                            None => clauses.push(Clause { when, expr: ir }),
                        }
                    }
                    ast::Clause::Grant(e) => grant = lx.lower_grant(e),
                    ast::Clause::Because(_) => {}
                }
            }
            let locals = lx.locals_used();
            let seen = std::mem::take(&mut lx.in_tests);
            in_tests.possible.extend(seen.possible);
            in_tests.impossible.extend(seen.impossible);
            if !never {
                bodies.push(Body { principal_type: p, resource_type: res, actions: acts, clauses, grant, locals });
            }
        }
        // E0104 only for an `in` that no request shape of the rule could make true.
        let mut reported = HashSet::new();
        for (span, child, ancestor) in in_tests.impossible {
            if !in_tests.possible.contains(&span) && reported.insert(span) {
                self.check_descent(child, ancestor, span);
            }
        }
        let clause_spans: Vec<(bool, Span)> = r
            .clauses
            .iter()
            .filter_map(|c| match c {
                ast::Clause::When(e) => Some((true, e.span)),
                ast::Clause::Unless(e) => Some((false, e.span)),
                _ => None,
            })
            .collect();
        for (k, (when, span)) in constant.iter().zip(clause_spans) {
            // Warn only when the clause is the same constant for every request shape, and not
            // because of an error inside it (an `in` already reported, a bad literal, an
            // invalid escape: the constant is then the error's stand-in, not the author's).
            let within = |s: &Span| s.file == span.file && span.start <= s.start && s.end <= span.end;
            let inner_error =
                reported.iter().any(within) || self.diags.iter().any(|d| d.is_error() && within(&d.primary.span));
            if let (Some(Some(b)), false) = (k, inner_error) {
                let word = if when { "when" } else { "unless" };
                let effect =
                    if *b == when { "this clause never changes anything" } else { "so the rule never applies" };
                self.err(
                    Diagnostic::new(codes::CONSTANT_CONDITION, span, format!("this `{word}` condition is always {b}"))
                        .with_label_message(effect),
                );
            }
        }
        if r.effect.node != Effect::Permit {
            if let Some(ast::Clause::Grant(g)) = r.clauses.iter().find(|c| matches!(c, ast::Clause::Grant(_))) {
                self.err(
                    Diagnostic::new(
                        codes::GRANT_WITHOUT_EFFECT,
                        g.span,
                        format!("`grant` on a {} rule has no effect", r.effect.node.as_str()),
                    )
                    .with_label_message("obligations come only from the permits that allow a request"),
                );
            }
        }
        Some(ir::Rule {
            id,
            effect: lower_effect(r.effect.node),
            message,
            doc: r.doc.clone(),
            principal,
            resource,
            actions,
            bodies,
            span: r.span,
            file,
            line,
        })
    }

    fn describe_actions(&self, actions: &[ActionId]) -> String {
        let parts: Vec<String> = actions
            .iter()
            .take(3)
            .filter_map(|a| self.schema.action(*a))
            .map(|a| {
                let names = |ts: &[EntityTypeId]| {
                    ts.iter().map(|t| self.schema.entity_name(*t)).collect::<Vec<_>>().join(" | ")
                };
                format!("`{}: {} -> {}`", a.name, names(&a.principals), names(&a.resources))
            })
            .collect();
        let more = if actions.len() > 3 { ", …" } else { "" };
        format!("the schema declares {}{more}", parts.join(", "))
    }

    /// W0003: a permit whose every request an unconditional forbid already denies.
    ///
    /// A forbid overrides a permit when its principal and resource scopes cover the permit's
    /// ([`covering_scopes`]) and its actions include all of the permit's. The forbids are
    /// indexed by (principal scope, resource scope, action), so each permit looks only at the
    /// forbids filed under the few scopes that cover its own and under its first action,
    /// instead of at every forbid; the warning names the first such forbid in source order.
    fn warn_overridden(&mut self, rules: &[ir::Rule], asts: &[&ast::Rule]) {
        let unconditional =
            |a: &ast::Rule| !a.clauses.iter().any(|c| matches!(c, ast::Clause::When(_) | ast::Clause::Unless(_)));
        let mut forbids: HashMap<(ScopeKey<'_>, ScopeKey<'_>, ActionId), Vec<usize>> = HashMap::new();
        for (i, (r, a)) in rules.iter().zip(asts).enumerate() {
            if r.effect == ir::Effect::Forbid && unconditional(a) {
                let key = (ScopeKey::of(&a.principal.node), ScopeKey::of(&a.resource.node));
                for &act in &r.actions {
                    forbids.entry((key.0, key.1, act)).or_default().push(i);
                }
            }
        }
        if forbids.is_empty() {
            return;
        }
        let mut warnings = Vec::new();
        for (p, pa) in rules.iter().zip(asts).filter(|(r, _)| r.effect == ir::Effect::Permit) {
            let Some(&first_action) = p.actions.first() else { continue };
            let mut found: Option<usize> = None;
            for fp in covering_scopes(&pa.principal.node).into_iter().flatten() {
                for fr in covering_scopes(&pa.resource.node).into_iter().flatten() {
                    let Some(candidates) = forbids.get(&(fp, fr, first_action)) else { continue };
                    // Candidates are in source order: the first that also has every other
                    // action of the permit is this bucket's answer.
                    let hit = candidates
                        .iter()
                        .copied()
                        .take_while(|&i| found.is_none_or(|f| i < f))
                        .find(|&i| rules.get(i).is_some_and(|f| p.actions.iter().all(|a| f.actions.contains(a))));
                    if hit.is_some() {
                        found = hit;
                    }
                }
            }
            let Some(fa) = found.and_then(|i| asts.get(i)) else { continue };
            warnings.push(
                Diagnostic::new(
                    codes::OVERRIDDEN_PERMIT,
                    pa.effect.span,
                    format!("permit `{}` can never allow anything", p.id),
                )
                .with_label_message("every request it matches is denied")
                .with_label(fa.span, "by this unconditional forbid"),
            );
        }
        self.diags.extend(warnings);
    }

    fn warn_unused(&mut self) {
        // A fn is used if a rule inlined it, or a used fn calls it (inlining may have stopped
        // short of it: calls too deep, E0209); fns used only by unused fns are unused too.
        // Without a schema (E0205) no rule was checked, so nothing is known to be unused.
        if self.diags.iter().any(|d| d.code == codes::NO_SCHEMA) {
            return;
        }
        let mut stack: Vec<FnId> = self.used_fns.iter().copied().collect();
        while let Some(f) = stack.pop() {
            let Some(info) = self.fns.get(f) else { continue };
            let mut calls = Vec::new();
            collect_calls(&info.decl.body, self.scopes.get(info.scope), &self.modules, &mut calls);
            for (g, _) in calls {
                if self.used_fns.insert(g) {
                    stack.push(g);
                }
            }
        }
        let mut warnings = Vec::new();
        for (i, f) in self.fns.iter().enumerate() {
            if !f.std && !f.recursive && !self.used_fns.contains(&i) {
                warnings.push(
                    Diagnostic::new(
                        codes::UNUSED_FN,
                        f.decl.name.span,
                        format!("function `{}` is never used", f.decl.name.node),
                    )
                    .with_label_message("no rule calls it"),
                );
            }
        }
        for (_, alias, span, m) in &self.imports {
            let used = self.used_modules.contains(m)
                || self.modules.get(*m).is_some_and(|m| m.fns.values().any(|f| self.used_fns.contains(f)));
            if !used {
                warnings.push(
                    Diagnostic::new(
                        codes::UNUSED_IMPORT,
                        *span,
                        format!("module `{alias}` is imported but never used"),
                    )
                    .with_label_message("no rule calls any of its functions"),
                );
            }
        }
        self.diags.extend(warnings);
    }
}

/// The annotations a rule may carry (others are W0006).
const ANNOTATIONS: &[&str] = &["id"];

/// Rule ids that name built-in steps of a decision (`Reason::builtin` in `interp/` and
/// `decision.rs`): a rule may not take them, compared ignoring ASCII case (E0214).
/// `tests/checker.rs` checks that every built-in reason in the sources is covered.
pub const RESERVED_RULE_IDS: &[&str] =
    &["bad-request", "no-permit", "delegation-too-long", "outside-intent", "internal-error"];

/// Prefixes of built-in reasons that carry a name (`outside-intent:NAME`) (E0214).
pub const RESERVED_RULE_ID_PREFIXES: &[&str] = &["outside-intent:"];

/// Invisible characters that change how text reads without showing: zero-width spaces and
/// joiners, bidirectional marks, embeddings, overrides and isolates, word joiners and
/// invisible operators, the byte-order mark, the soft hyphen.
fn invisible(c: char) -> bool {
    matches!(c, '\u{00AD}' | '\u{034F}' | '\u{061C}' | '\u{115F}' | '\u{1160}' | '\u{17B4}' | '\u{17B5}'
        | '\u{180B}'..='\u{180F}' | '\u{200B}'..='\u{200F}' | '\u{202A}'..='\u{202E}' | '\u{2060}'..='\u{206F}'
        | '\u{3164}' | '\u{FE00}'..='\u{FE0F}' | '\u{FEFF}' | '\u{FFA0}' | '\u{FFF0}'..='\u{FFFB}'
        | '\u{E0000}'..='\u{E0FFF}')
}

/// Why `@id("…")` cannot name a rule (E0214, E0215), if it cannot.
fn rule_id_problem(id: &Spanned<String>) -> Option<Diagnostic> {
    let text = id.node.as_str();
    let shown = text.escape_debug().to_string();
    if text.is_empty() {
        return Some(
            Diagnostic::new(codes::INVALID_RULE_ID, id.span, "a rule id cannot be empty")
                .with_label_message("empty id")
                .with_help(
                    "name the rule, e.g. `@id(\"agent-tools\")`, or leave `@id` out to have it named `FILE:LINE`",
                ),
        );
    }
    let bad = text.chars().find(|c| c.is_whitespace() || c.is_control() || invisible(*c));
    if let Some(c) = bad {
        let what = if c.is_whitespace() {
            "whitespace"
        } else if c.is_control() {
            "a control character"
        } else {
            "an invisible character"
        };
        return Some(
            Diagnostic::new(
                codes::INVALID_RULE_ID,
                id.span,
                format!("rule id `{shown}` contains {what} (U+{:04X})", u32::from(c)),
            )
            .with_label_message("not allowed in a rule id")
            .with_help("use letters, digits and punctuation such as `-`, `_`, `.`, `/`"),
        );
    }
    let lower = text.to_ascii_lowercase();
    let builtin = RESERVED_RULE_IDS
        .iter()
        .find(|r| **r == lower)
        .map(|r| r.to_string())
        .or_else(|| RESERVED_RULE_ID_PREFIXES.iter().find(|p| lower.starts_with(**p)).map(|p| format!("{p}…")));
    if let Some(b) = builtin {
        return Some(
            Diagnostic::new(codes::RESERVED_RULE_ID, id.span, format!("rule id `{shown}` is reserved"))
                .with_label_message(format!("decisions use `{b}` for a built-in reason"))
                .with_help("choose another id"),
        );
    }
    let default_like = text.rsplit_once(':').is_some_and(|(file, line)| {
        file.ends_with(".writ") && !line.is_empty() && line.bytes().all(|b| b.is_ascii_digit())
    });
    if default_like {
        return Some(
            Diagnostic::new(codes::RESERVED_RULE_ID, id.span, format!("rule id `{shown}` is reserved"))
                .with_label_message("rules without an `@id` are named `FILE:LINE`")
                .with_help("choose an id that does not look like a file position"),
        );
    }
    None
}

/// Schema settings (`@NAME(INTEGER)` inside `schema { }`).
const SETTINGS: &[&str] = &["max_delegation"];
/// The largest `max_delegation` a schema may set.
const MAX_DELEGATION_LIMIT: usize = 64;

/// "a" or "an", by the word's first letter.
/// "a" or "an" before a type name, by how it is said: "an Agent", "a User" (a `U` followed by
/// one consonant and a vowel sounds like "you": User, Unit, Usage; "an Update", "an Upper").
fn article(word: &str) -> &'static str {
    let vowel = |c: char| "aeiouAEIOU".contains(c);
    let mut cs = word.chars();
    match (cs.next(), cs.next(), cs.next()) {
        (Some('U' | 'u'), Some(b), Some(c)) if !vowel(b) && vowel(c) => "a",
        (Some(a), _, _) if vowel(a) => "an",
        _ => "a",
    }
}

const BUILTIN_TYPES: &[&str] = &["Bool", "Int", "String", "Duration", "Timestamp", "Ip", "Set", "Intent"];

fn dedup_names(names: &[ast::Name]) -> Vec<String> {
    let mut out: Vec<String> = Vec::new();
    for n in names {
        if !out.contains(&n.node) {
            out.push(n.node.clone());
        }
    }
    out
}

/// The fns an expression calls (by the names visible in `scope`), with the call spans.
fn collect_calls(e: &ast::Expr, scope: Option<&Scope>, modules: &[Module], out: &mut Vec<(FnId, Span)>) {
    match &e.kind {
        ast::ExprKind::Call(name, _) => {
            if let Some(f) = scope.and_then(|s| s.fns.get(&name.node)) {
                out.push((*f, e.span));
            }
        }
        ast::ExprKind::Method(base, name, _) => {
            if let ast::ExprKind::Var(m) = &base.kind {
                if let Some(f) = scope
                    .and_then(|s| s.modules.get(m))
                    .and_then(|m| modules.get(*m))
                    .and_then(|m| m.fns.get(&name.node))
                {
                    out.push((*f, e.span));
                }
            }
        }
        _ => {}
    }
    e.kind.for_each_child(|c| collect_calls(c, scope, modules, out));
}

/// A target scope as written, by name (spans ignored), for indexing the W0003 analysis.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
enum ScopeKey<'a> {
    Any,
    Type(&'a str),
    Entity(&'a str, &'a str),
    TypeIn(&'a str, &'a str, &'a str),
    EntityIn(&'a str, &'a str, &'a str, &'a str),
}

impl<'a> ScopeKey<'a> {
    fn of(s: &'a ast::Scope) -> ScopeKey<'a> {
        match s {
            ast::Scope::Any => ScopeKey::Any,
            ast::Scope::Type(t) => ScopeKey::Type(&t.node),
            ast::Scope::Entity(e) => ScopeKey::Entity(&e.ty.node, &e.id.node),
            ast::Scope::TypeIn(t, e) => ScopeKey::TypeIn(&t.node, &e.ty.node, &e.id.node),
            ast::Scope::EntityIn(a, e) => ScopeKey::EntityIn(&a.ty.node, &a.id.node, &e.ty.node, &e.id.node),
        }
    }
}

/// The scopes a forbid may have to cover a permit's scope `ps` (for W0003): `*`; the scope
/// itself; and a bare type for an entity of that type or a `Type in …` of that type.
fn covering_scopes(ps: &ast::Scope) -> [Option<ScopeKey<'_>>; 3] {
    let own = ScopeKey::of(ps);
    match ps {
        ast::Scope::Any => [Some(ScopeKey::Any), None, None],
        ast::Scope::Type(_) | ast::Scope::EntityIn(..) => [Some(ScopeKey::Any), Some(own), None],
        ast::Scope::Entity(e) => [Some(ScopeKey::Any), Some(own), Some(ScopeKey::Type(&e.ty.node))],
        ast::Scope::TypeIn(t, _) => [Some(ScopeKey::Any), Some(own), Some(ScopeKey::Type(&t.node))],
    }
}

/// The IR's effect of a surface effect.
fn lower_effect(e: Effect) -> ir::Effect {
    match e {
        Effect::Permit => ir::Effect::Permit,
        Effect::Forbid => ir::Effect::Forbid,
        Effect::Escalate => ir::Effect::Escalate,
    }
}

#[cfg(test)]
mod article_tests {
    use super::article;

    #[test]
    fn articles_follow_the_sound() {
        for (w, a) in [("Agent", "an"), ("User", "a"), ("Unit", "a"), ("Update", "an"), ("Doc", "a"), ("Org", "an")] {
            assert_eq!(article(w), a, "{w}");
        }
    }
}
