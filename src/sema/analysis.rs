//! What the checker learned about the source, for editors (the language server): the type
//! of each expression, what each name in an expression resolved to, the functions, and the
//! schema as built. Filled only when asked ([`super::check_with_analysis`]); ordinary
//! checking records nothing.
//!
//! Names that the syntax alone resolves (entity types, actions in targets, intents by their
//! declarations) are left to the tool; what needs the checker's knowledge is here: a bare
//! name read as an enum value, an intent or an action by the type expected where it
//! stands; an attribute or context field read through the type of its receiver; a call of a
//! `fn` through the scope and the imports of the file.

use crate::ir::schema::Schema;
use crate::ir::{self, ExprKind as K, Ty, Value, builtins};
use crate::syntax::ast::{self, ExprKind as A};
use crate::syntax::span::{FileId, Span};
use std::collections::HashMap;

/// What a name in an expression denotes.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Def {
    /// A value of an enum (`internal`, `Level.internal`).
    EnumValue {
        ty: String,
        value: String,
    },
    /// An enum type named in `Level.internal`.
    Enum(String),
    Intent(String),
    Action(String),
    Group(String),
    /// An attribute of an entity type, then the fields of records inside it.
    Attr {
        entity: String,
        path: Vec<String>,
    },
    /// A context field of the request, then the fields of records inside it.
    Context {
        path: Vec<String>,
    },
    /// A `fn` (an index into [`Analysis::fns`]).
    Fn(usize),
    /// A module alias: its name and the span of the import that brings it in.
    Module {
        alias: String,
        import: Span,
    },
    /// A built-in method: its signature and description.
    Method(String),
}

/// A function as the checker declared it.
#[derive(Clone, Debug)]
pub struct FnSummary {
    pub name: String,
    /// The span of its name in its declaration.
    pub span: Span,
    /// `name(a: T, b: U) -> R`
    pub signature: String,
    pub params: Vec<(String, String)>,
    pub doc: Option<String>,
    /// Declared in the standard library.
    pub std: bool,
}

/// The side output of checking, for editors.
#[derive(Debug, Default)]
pub struct Analysis {
    /// The type an expression had, by its span (in the first request shape it was checked
    /// for); see [`Analysis::types_at`].
    pub types: HashMap<Span, Ty>,
    /// Other types the same expressions had in other request shapes (rare: `principal` in a
    /// rule for several principal types).
    pub more_types: Vec<(Span, Ty)>,
    /// Each name resolved in an expression: its span and what it denotes.
    pub uses: Vec<(Span, Def)>,
    pub fns: Vec<FnSummary>,
    /// Import statements: alias and the span of the import.
    pub imports: Vec<(String, Span)>,
    /// The schema as built (also when the policy set has errors).
    pub schema: Schema,
    /// The syntax tree of every file the checker parsed without a diagnostic (the policy
    /// files, the modules they import): editors need them too, and parsing again costs what
    /// the checker's own parse did; an unchanged file's tree can be handed to the next
    /// check ([`super::check_with_analysis_reusing`]).
    pub trees: HashMap<FileId, std::sync::Arc<ast::File>>,
}

impl Analysis {
    /// Every type the expression at `span` had.
    pub fn types_at(&self, span: Span) -> Vec<&Ty> {
        let first = self.types.get(&span);
        first.into_iter().chain(self.more_types.iter().filter(|(s, _)| *s == span).map(|(_, t)| t)).collect()
    }

    /// Called by the checker for each expression it lowered (outside inlined bodies).
    pub(crate) fn record(&mut self, e: &ast::Expr, out: &ir::Expr, schema: &Schema) {
        if !out.ty.is_error() {
            match self.types.entry(e.span) {
                std::collections::hash_map::Entry::Vacant(v) => {
                    v.insert(out.ty.clone());
                }
                std::collections::hash_map::Entry::Occupied(o) => {
                    if *o.get() != out.ty && !self.more_types.iter().any(|(s, t)| *s == e.span && *t == out.ty) {
                        self.more_types.push((e.span, out.ty.clone()));
                    }
                }
            }
        }
        match (&e.kind, &out.kind) {
            (A::Var(name), K::Lit(v)) => {
                let def = match v {
                    Value::Enum(en, _) => {
                        Some(Def::EnumValue { ty: schema.enum_name(*en).into(), value: name.clone() })
                    }
                    Value::Intent(Some(_)) => Some(Def::Intent(name.clone())),
                    Value::Action(_) => Some(Def::Action(name.clone())),
                    Value::Set(_) if schema.group_id(name).is_some() => Some(Def::Group(name.clone())),
                    _ => None,
                };
                if let Some(def) = def {
                    self.uses.push((e.span, def));
                }
            }
            (A::Field(base, name), K::Lit(Value::Enum(en, _))) if matches!(base.kind, A::Var(_)) => {
                let ty = schema.enum_name(*en).to_string();
                self.uses.push((base.span, Def::Enum(ty.clone())));
                self.uses.push((name.span, Def::EnumValue { ty, value: name.node.clone() }));
            }
            (A::Field(_, name), K::Attr(b, _) | K::Field(b, _))
            | (A::Has(_, name), K::HasAttr(b, _) | K::HasField(b, _)) => {
                if let Some(def) = access(b, &name.node, schema) {
                    self.uses.push((name.span, def));
                }
            }
            (A::Method(base, name, _), _) => {
                let recv = self.types.get(&base.span).cloned();
                if let Some(sig) = recv.and_then(|t| method_signature(&t, &name.node, schema)) {
                    self.uses.push((name.span, Def::Method(sig)));
                }
            }
            _ => {}
        }
    }
}

/// What `.name` on `base` reads.
fn access(base: &ir::Expr, name: &str, schema: &Schema) -> Option<Def> {
    match &base.ty {
        Ty::Entity(ts) => {
            let [t] = ts.as_slice() else { return None };
            Some(Def::Attr { entity: schema.entity_name(*t).to_string(), path: vec![name.to_string()] })
        }
        Ty::Record(_) => {
            let mut path = record_path(base, schema)?;
            path_push(&mut path, name);
            Some(path)
        }
        _ => None,
    }
}

/// The access path of a record-typed expression: the context, or an attribute (and fields).
fn record_path(e: &ir::Expr, schema: &Schema) -> Option<Def> {
    match &e.kind {
        K::Context => Some(Def::Context { path: Vec::new() }),
        K::Attr(b, i) | K::Field(b, i) => {
            let field = match &b.ty {
                Ty::Entity(ts) => ts
                    .first()
                    .and_then(|t| schema.entity(*t))
                    .and_then(|en| en.attrs.fields.get(*i as usize))
                    .map(|f| f.name.clone()),
                Ty::Record(r) => r.fields.get(*i as usize).map(|f| f.name.clone()),
                _ => None,
            }?;
            access(b, &field, schema)
        }
        _ => None,
    }
}

fn path_push(def: &mut Def, name: &str) {
    if let Def::Attr { path, .. } | Def::Context { path } = def {
        path.push(name.to_string());
    }
}

/// `s.starts_with(prefix: String) -> Bool` and its description, for a built-in method.
pub fn method_signature(recv: &Ty, name: &str, schema: &Schema) -> Option<String> {
    let (_, params, ret) = builtins::method(recv, name)?;
    let doc = builtins::method_docs()
        .filter(|d| d.split_once('.').is_some_and(|(_, rest)| rest.starts_with(&format!("{name}("))))
        .find(|d| {
            let r = d.chars().next().unwrap_or(' ');
            matches!(
                (r, recv),
                ('s', Ty::String) | ('S', Ty::Set(_)) | ('t', Ty::Timestamp) | ('a', Ty::Ip) | ('d', Ty::Duration)
            )
        });
    match doc {
        Some(d) => Some(d.to_string()),
        None => {
            let ps: Vec<String> = params.iter().map(|p| schema.ty_name(p)).collect();
            Some(format!("{name}({}) -> {}", ps.join(", "), schema.ty_name(&ret)))
        }
    }
}
