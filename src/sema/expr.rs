//! Type-checks expressions and lowers them to the IR in one pass. Tracks `has` guards and
//! `is` narrowings flow-sensitively, resolves bare names by the type expected where they
//! stand, inlines `fn` calls, folds constants.

use super::{Checker, FnId, ScopeId};
use crate::diag::{Diagnostic, codes, did_you_mean};
use crate::ir::schema::{EntityTypeId, EnumId};
use crate::ir::value::{self, Glob, IpNet};
use crate::ir::{self, ArithOp, CmpOp, ExprKind as K, Quantifier, RecordTy, Ty, Value, builtins};
use crate::syntax::ast::{self, BinOp, ExprKind as A, UnOp};
use crate::syntax::span::Span;
use std::sync::Arc;

/// Built-in functions called by bare name.
pub(crate) const CONSTRUCTORS: &[&str] = &["timestamp", "ip", "duration"];

/// Caps on what inlining may produce, so hostile functions cannot exhaust memory or stack.
const MAX_IR_DEPTH: u32 = 400;
const MAX_IR_NODES: usize = 200_000;
const MAX_INLINE_DEPTH: usize = 32;
/// The most terms one `and` or `or` chain may have (E0218).
pub(crate) const MAX_CHAIN: usize = 10_000;
/// Names of the parts of a request, which no variable, parameter or import alias may take
/// (E0216).
pub(crate) const REQUEST_NAMES: &[&str] = &["principal", "resource", "action", "context", "intent", "on_behalf_of"];

/// E0216 when `name` is one of the [`REQUEST_NAMES`]; `what` says what it names.
pub(crate) fn reserved_name(name: &ast::Name, what: &str) -> Option<Diagnostic> {
    if !REQUEST_NAMES.contains(&name.node.as_str()) {
        return None;
    }
    Some(
        Diagnostic::new(
            codes::RESERVED_NAME,
            name.span,
            format!("{what} cannot be named `{}`: that is the request's `{}`", name.node, name.node),
        )
        .with_label_message("reserved name")
        .with_help("choose another name"),
    )
}

/// The request shape a rule body is checked against.
#[derive(Clone, Debug)]
pub(crate) struct Env {
    pub principal: EntityTypeId,
    pub resource: EntityTypeId,
    pub context: Arc<RecordTy>,
    /// The principal types of the action: what `on_behalf_of` may hold.
    pub on_behalf_of: Vec<EntityTypeId>,
}

#[derive(Clone, Debug)]
enum Binding {
    Local(u32, Ty),
    Const(ir::Expr),
}

/// What a `has` or `is` test established about an access path (see [`path_key`]).
#[derive(Clone, Debug, PartialEq)]
enum Fact {
    Has(PathKey, u32),
    Is(PathKey, EntityTypeId),
}

/// An access path: a root (principal, resource, context or a local) and then attribute and
/// field steps, as `(tag, number)` pairs from the root outwards.
type PathKey = Vec<(u8, u32)>;

const ROOT_PRINCIPAL: u8 = 0;
const ROOT_RESOURCE: u8 = 1;
const ROOT_CONTEXT: u8 = 2;
const ROOT_LOCAL: u8 = 3;
const STEP_ATTR: u8 = 4;
const STEP_FIELD: u8 = 5;

pub(crate) struct Lowerer<'c> {
    cx: &'c mut Checker,
    scope: ScopeId,
    env: Option<Env>,
    locals: Vec<(Arc<str>, Binding)>,
    next_local: u32,
    facts: Vec<Fact>,
    inline_stack: Vec<FnId>,
    /// Spans of the calls being inlined, outermost first.
    call_spans: Vec<Span>,
    depth: u32,
    nodes: usize,
    too_large: bool,
    /// In a rule, the `in` tests seen in this request shape: which could hold and which
    /// could not. An impossible `in` is only an error (E0104) when it is impossible in every
    /// shape the rule is checked in; elsewhere it is simply false there (`* to * on *` rules
    /// meet principal types that can be in a team and types that cannot).
    pub(crate) in_tests: InTests,
}

#[derive(Default, Debug)]
pub(crate) struct InTests {
    pub possible: Vec<Span>,
    /// Span of the test, a child type and an ancestor type it cannot descend to.
    pub impossible: Vec<(Span, EntityTypeId, EntityTypeId)>,
}

fn mk(kind: K, ty: Ty, span: Span) -> ir::Expr {
    ir::Expr { kind, ty, span }
}

fn lit(v: Value, ty: Ty, span: Span) -> ir::Expr {
    mk(K::Lit(v), ty, span)
}

fn error(span: Span) -> ir::Expr {
    mk(K::Lit(Value::Bool(false)), Ty::Error, span)
}

fn as_lit(e: &ir::Expr) -> Option<&Value> {
    match &e.kind {
        K::Lit(v) if !e.ty.is_error() => Some(v),
        _ => None,
    }
}

/// The access path of an expression, for `has`/`is` facts.
fn path_key(e: &ir::Expr) -> Option<PathKey> {
    let mut key = PathKey::new();
    push_path(e, &mut key).then_some(key)
}

fn push_path(e: &ir::Expr, key: &mut PathKey) -> bool {
    let step = match &e.kind {
        K::Principal => (ROOT_PRINCIPAL, 0),
        K::Resource => (ROOT_RESOURCE, 0),
        K::Context => (ROOT_CONTEXT, 0),
        K::Local(n) => (ROOT_LOCAL, *n),
        K::Attr(b, i) | K::Field(b, i) => {
            if !push_path(b, key) {
                return false;
            }
            (if matches!(e.kind, K::Attr(..)) { STEP_ATTR } else { STEP_FIELD }, *i)
        }
        _ => return false,
    };
    key.push(step);
    true
}

/// Is `key` the access path of `e`? (`path_key(e) == Some(key)`, without building it.)
fn is_path(key: &[(u8, u32)], e: &ir::Expr) -> bool {
    let Some((last, rest)) = key.split_last() else { return false };
    match &e.kind {
        K::Principal => rest.is_empty() && *last == (ROOT_PRINCIPAL, 0),
        K::Resource => rest.is_empty() && *last == (ROOT_RESOURCE, 0),
        K::Context => rest.is_empty() && *last == (ROOT_CONTEXT, 0),
        K::Local(n) => rest.is_empty() && *last == (ROOT_LOCAL, *n),
        K::Attr(b, i) => *last == (STEP_ATTR, *i) && is_path(rest, b),
        K::Field(b, i) => *last == (STEP_FIELD, *i) && is_path(rest, b),
        _ => false,
    }
}

/// Facts that hold when `e` evaluates to `positive`.
fn facts_of(e: &ir::Expr, positive: bool, out: &mut Vec<Fact>) {
    match &e.kind {
        K::HasAttr(b, i) | K::HasField(b, i) if positive => {
            if let Some(k) = path_key(b) {
                out.push(Fact::Has(k, *i));
            }
        }
        K::Is(b, t) if positive => {
            if let Some(k) = path_key(b) {
                out.push(Fact::Is(k, *t));
            }
        }
        K::And(es) if positive => es.iter().for_each(|x| facts_of(x, true, out)),
        K::Or(es) if !positive => es.iter().for_each(|x| facts_of(x, false, out)),
        K::Not(x) => facts_of(x, !positive, out),
        _ => {}
    }
}

fn is_bare(e: &ast::Expr) -> bool {
    matches!(e.kind, A::Var(_))
}

impl<'c> Lowerer<'c> {
    pub(crate) fn for_rule(cx: &'c mut Checker, scope: ScopeId, env: Env) -> Self {
        Lowerer {
            cx,
            scope,
            env: Some(env),
            locals: Vec::new(),
            next_local: 0,
            facts: Vec::new(),
            inline_stack: Vec::new(),
            call_spans: Vec::new(),
            depth: 0,
            nodes: 0,
            too_large: false,
            in_tests: InTests::default(),
        }
    }

    pub(crate) fn for_fn(cx: &'c mut Checker, f: FnId) -> Self {
        let scope = cx.fns.get(f).map_or(0, |f| f.scope);
        let mut lx = Lowerer {
            cx,
            scope,
            env: None,
            locals: Vec::new(),
            next_local: 0,
            facts: Vec::new(),
            inline_stack: vec![f],
            call_spans: Vec::new(),
            depth: 0,
            nodes: 0,
            too_large: false,
            in_tests: InTests::default(),
        };
        let params = lx.cx.fns.get(f).map(|f| f.params.clone());
        for (name, ty) in params.iter().flat_map(|p| p.iter()) {
            let slot = lx.alloc();
            lx.locals.push((name.clone(), Binding::Local(slot, ty.clone())));
        }
        lx
    }

    pub(crate) fn locals_used(&self) -> u32 {
        self.next_local
    }

    fn alloc(&mut self) -> u32 {
        self.next_local += 1;
        self.next_local - 1
    }

    fn err(&mut self, d: Diagnostic) {
        self.cx.err(d);
    }

    fn tyname(&self, t: &Ty) -> String {
        self.cx.schema.ty_name(t)
    }

    /// Reports E0101 unless `e` fits `want`.
    fn expect(&mut self, e: &ir::Expr, want: &Ty, what: &str) -> bool {
        if e.ty.fits(want) {
            return true;
        }
        let (found, wanted) = (self.tyname(&e.ty), self.tyname(want));
        self.err(
            Diagnostic::new(codes::TYPE_MISMATCH, e.span, format!("{what}: expected `{wanted}`, found `{found}`"))
                .with_label_message(format!("this is `{found}`")),
        );
        false
    }

    pub(crate) fn lower_fn_body(&mut self, f: FnId) -> Option<ir::Expr> {
        let (decl, ret) = {
            let info = self.cx.fns.get(f)?;
            (info.decl.clone(), info.ret.clone())
        };
        Some(self.lower(&decl.body, Some(&ret)))
    }

    /// A `when` (or `unless`) condition; its facts flow into the clauses after it.
    pub(crate) fn lower_clause(&mut self, e: &ast::Expr, when: bool) -> ir::Expr {
        let ir = self.lower(e, Some(&Ty::Bool));
        let word = if when { "a `when` condition" } else { "an `unless` condition" };
        self.expect(&ir, &Ty::Bool, word);
        let mut facts = Vec::new();
        facts_of(&ir, when, &mut facts);
        self.facts.extend(facts);
        ir
    }

    pub(crate) fn lower_grant(&mut self, e: &ast::Expr) -> Vec<(String, ir::Expr)> {
        let A::Record(fields) = &e.kind else {
            return Vec::new();
        };
        let mut out: Vec<(String, ir::Expr)> = Vec::with_capacity(fields.len());
        let mut seen: std::collections::HashMap<&str, Span> = std::collections::HashMap::new();
        for (name, value) in fields {
            if let Some(first) = seen.insert(&name.node, name.span) {
                self.err(
                    Diagnostic::new(codes::DUPLICATE, name.span, format!("`{}` is granted twice", name.node))
                        .with_label(first, "first here"),
                );
                continue;
            }
            let want = if name.node == "ttl" { Some(Ty::Duration) } else { None };
            let v = self.lower(value, want.as_ref());
            if let Some(w) = &want {
                if let (Ty::String, Some(Value::Str(text))) = (&v.ty, as_lit(&v)) {
                    if crate::literal::parse_duration(text).is_ok() {
                        self.err(
                            Diagnostic::new(
                                codes::TYPE_MISMATCH,
                                v.span,
                                "`ttl` is how long the grant lasts: expected `Duration`, found `String`",
                            )
                            .with_label_message("this is `String`")
                            .with_help(format!("write the duration without quotes: `{text}`")),
                        );
                        continue;
                    }
                }
                if self.expect(&v, w, "`ttl` is how long the grant lasts") {
                    self.check_ttl(&v);
                }
            } else if matches!(v.ty, Ty::Record(_)) {
                self.err(
                    Diagnostic::new(codes::TYPE_MISMATCH, v.span, "a grant value cannot be a record")
                        .with_label_message("use a string, number, duration, … or a set of them"),
                );
            }
            out.push((name.node.clone(), v));
        }
        out.sort_by(|a, b| a.0.cmp(&b.0));
        out
    }

    /// A constant `ttl` must be positive: a grant that lasts no time (or less) is a
    /// mistake, caught here; one computed at decision time makes its permit fail instead.
    fn check_ttl(&mut self, v: &ir::Expr) {
        if let Some(Value::Duration(ms)) = as_lit(v) {
            if *ms <= 0 {
                let shown = crate::ir::value::format_duration(*ms);
                self.err(
                    Diagnostic::new(
                        codes::TTL_NOT_POSITIVE,
                        v.span,
                        format!("`ttl` is `{shown}`: it must be positive"),
                    )
                    .with_label_message("a grant must last some time")
                    .with_help("grant a positive duration, such as `15m`"),
                );
            }
        }
    }

    // ---------------------------------------------------------------- expressions

    pub(crate) fn lower(&mut self, e: &ast::Expr, expected: Option<&Ty>) -> ir::Expr {
        self.depth += 1;
        self.nodes += 1;
        let out = if self.depth > MAX_IR_DEPTH || self.nodes > MAX_IR_NODES {
            if !self.too_large {
                self.too_large = true;
                let note = format!("the limits are {MAX_IR_NODES} nodes and a depth of {MAX_IR_DEPTH}");
                let d = match self.call_spans.first().copied() {
                    Some(at) => {
                        Diagnostic::new(codes::TOO_LARGE, at, "this expression is too large after inlining functions")
                            .with_label_message("inlining the functions called here exceeds the limit")
                    }
                    None => Diagnostic::new(codes::TOO_LARGE, e.span, "this condition is too large")
                        .with_label_message("the limit is exceeded here")
                        .with_help("split it into several `when` clauses"),
                };
                self.err(d.with_note(note));
            }
            error(e.span)
        } else {
            self.lower_inner(e, expected)
        };
        self.depth -= 1;
        if self.call_spans.is_empty() {
            let cx = &mut *self.cx;
            if let Some(a) = cx.analysis.as_deref_mut() {
                a.record(e, &out, &cx.schema);
            }
        }
        out
    }

    fn lower_inner(&mut self, e: &ast::Expr, expected: Option<&Ty>) -> ir::Expr {
        let span = e.span;
        match &e.kind {
            A::Error => error(span),
            A::Bool(b) => lit(Value::Bool(*b), Ty::Bool, span),
            A::Int(n) => lit(Value::Int(*n), Ty::Int, span),
            A::Str(s) => lit(Value::Str(Arc::from(s.as_str())), Ty::String, span),
            A::Duration(d) => lit(Value::Duration(*d), Ty::Duration, span),
            A::Var(name) => self.var(name, span, expected),
            A::Action => self.request_value(K::Action, Ty::Action, "action", span),
            A::Intent => self.request_value(K::Intent, Ty::Intent, "intent", span),
            A::Context => {
                let ty = self.env.as_ref().map(|env| Ty::Record(env.context.clone()));
                match ty {
                    Some(ty) => mk(K::Context, ty, span),
                    None => self.request_value(K::Context, Ty::Error, "context", span),
                }
            }
            A::EntityRef(r) => match self.cx.entity_type_ref(&r.ty) {
                Some(t) => {
                    lit(Value::Entity(ir::EntityUid { ty: t, id: Arc::from(r.id.node.as_str()) }), Ty::entity(t), span)
                }
                None => error(span),
            },
            A::Set(items) => self.set(items, span, expected),
            A::Record(fields) => self.record(fields, span),
            A::Field(base, name) => self.field(base, name, span),
            A::Method(base, name, args) => self.method(base, name, args, span),
            A::Call(name, args) => self.call(name, args, span),
            A::Unary(UnOp::Not, x) => {
                let x = self.lower(x, Some(&Ty::Bool));
                self.expect(&x, &Ty::Bool, "`not` needs a condition");
                match as_lit(&x) {
                    Some(Value::Bool(b)) => lit(Value::Bool(!b), Ty::Bool, span),
                    _ => mk(K::Not(Box::new(x)), Ty::Bool, span),
                }
            }
            A::Unary(UnOp::Neg, x) => {
                let x = self.lower(x, None);
                match (&x.ty, as_lit(&x)) {
                    (Ty::Int, Some(Value::Int(n))) => self.fold_int(n.checked_neg(), span, Ty::Int),
                    (Ty::Duration, Some(Value::Duration(n))) => self.fold_int(n.checked_neg(), span, Ty::Duration),
                    (Ty::Int | Ty::Duration | Ty::Error, _) => {
                        let ty = x.ty.clone();
                        mk(K::Neg(Box::new(x)), ty, span)
                    }
                    _ => {
                        let found = self.tyname(&x.ty);
                        self.err(
                            Diagnostic::new(codes::TYPE_MISMATCH, x.span, format!("cannot negate a `{found}`"))
                                .with_label_message("`-` needs an Int or a Duration"),
                        );
                        error(span)
                    }
                }
            }
            A::Binary(op, a, b) => self.binary(*op, a, b, span),
            A::And(es) | A::Or(es) => {
                let is_and = matches!(e.kind, A::And(_));
                if let Some(extra) = es.get(MAX_CHAIN) {
                    // Reported at the first term past the limit (the chain may be megabytes).
                    let word = if is_and { "and" } else { "or" };
                    self.err(
                        Diagnostic::new(
                            codes::TOO_MANY_TERMS,
                            extra.span,
                            format!("this `{word}` chain has {} terms; at most {MAX_CHAIN} are allowed", es.len()),
                        )
                        .with_label_message(format!("term {} of the chain", MAX_CHAIN + 1))
                        .with_help(
                            "split the condition into several `when` clauses or functions, or test membership in a set",
                        ),
                    );
                    return error(span);
                }
                let saved = self.facts.len();
                let mut out = Vec::new();
                for x in es {
                    let ir = self.lower(x, Some(&Ty::Bool));
                    self.expect(
                        &ir,
                        &Ty::Bool,
                        if is_and { "`and` joins conditions" } else { "`or` joins conditions" },
                    );
                    // A constant that decides the chain: what follows is never evaluated, so
                    // it is not checked either (`principal is Agent and principal.env …`
                    // for a Human principal).
                    let decided = ir.ty == Ty::Bool && as_lit(&ir) == Some(&Value::Bool(!is_and));
                    let neutral = ir.ty == Ty::Bool && as_lit(&ir) == Some(&Value::Bool(is_and));
                    if decided {
                        self.facts.truncate(saved);
                        if out.is_empty() {
                            return lit(Value::Bool(!is_and), Ty::Bool, span);
                        }
                        out.push(ir);
                        return mk(if is_and { K::And(out) } else { K::Or(out) }, Ty::Bool, span);
                    }
                    let mut f = Vec::new();
                    facts_of(&ir, is_and, &mut f);
                    self.facts.extend(f);
                    if !neutral {
                        out.push(ir);
                    }
                }
                self.facts.truncate(saved);
                match out.len() {
                    0 => lit(Value::Bool(is_and), Ty::Bool, span),
                    1 => out.pop().map_or_else(
                        || error(span),
                        |mut x| {
                            x.span = span;
                            x
                        },
                    ),
                    _ => mk(if is_and { K::And(out) } else { K::Or(out) }, Ty::Bool, span),
                }
            }
            A::If(c, a, b) => {
                let c = self.lower(c, Some(&Ty::Bool));
                self.expect(&c, &Ty::Bool, "an `if` condition");
                if c.ty == Ty::Bool {
                    if let Some(Value::Bool(k)) = as_lit(&c) {
                        // Only the branch taken is ever evaluated, so only it is checked.
                        let mut x = self.lower(if *k { a } else { b }, expected);
                        x.span = span;
                        return x;
                    }
                }
                let saved = self.facts.len();
                let mut f = Vec::new();
                facts_of(&c, true, &mut f);
                self.facts.extend(f);
                let a = self.lower(a, expected);
                self.facts.truncate(saved);
                let mut f = Vec::new();
                facts_of(&c, false, &mut f);
                self.facts.extend(f);
                let b = self.lower(b, expected.or(Some(&a.ty)));
                self.facts.truncate(saved);
                let ty = match a.ty.join(&b.ty) {
                    Some(t) => t,
                    None => {
                        let (ta, tb) = (self.tyname(&a.ty), self.tyname(&b.ty));
                        self.err(
                            Diagnostic::new(
                                codes::TYPE_MISMATCH,
                                b.span,
                                format!("`if` branches have different types: `{ta}` and `{tb}`"),
                            )
                            .with_label_message(format!("this is `{tb}`"))
                            .with_label(a.span, format!("this is `{ta}`")),
                        );
                        Ty::Error
                    }
                };
                mk(K::If(Box::new(c), Box::new(a), Box::new(b)), ty, span)
            }
            A::Is(x, t, parent) => {
                let x = self.lower(x, None);
                let Some(t) = self.cx.entity_type_ref(t) else { return error(span) };
                let xt = match &x.ty {
                    Ty::Entity(ts) => ts.clone(),
                    Ty::Error => return error(span),
                    other => {
                        let found = self.tyname(other);
                        self.err(
                            Diagnostic::new(
                                codes::TYPE_MISMATCH,
                                x.span,
                                format!("`is` tests an entity's type, but this is `{found}`"),
                            )
                            .with_label_message("not an entity"),
                        );
                        return error(span);
                    }
                };
                let test = if xt == [t] {
                    lit(Value::Bool(true), Ty::Bool, span)
                } else if !xt.contains(&t) {
                    lit(Value::Bool(false), Ty::Bool, span)
                } else {
                    mk(K::Is(Box::new(x.clone()), t), Ty::Bool, span)
                };
                match parent {
                    None => test,
                    Some(p) => {
                        let p = self.lower(p, None);
                        let narrowed = mk(x.kind.clone(), Ty::entity(t), x.span);
                        let inn = self.in_entity(narrowed, p, span);
                        mk(K::And(vec![test, inn]), Ty::Bool, span)
                    }
                }
            }
            A::Has(x, attr) => {
                let x = self.lower(x, None);
                let rec = match &x.ty {
                    Ty::Error => return error(span),
                    Ty::Entity(ts) => {
                        let [t] = ts.as_slice() else {
                            self.union_access(&x, ts, &attr.node);
                            return error(span);
                        };
                        self.cx.schema.entity(*t).map(|e| e.attrs.clone()).unwrap_or_default()
                    }
                    Ty::Record(r) => r.clone(),
                    other => {
                        let found = self.tyname(other);
                        self.err(
                            Diagnostic::new(
                                codes::TYPE_MISMATCH,
                                x.span,
                                format!("`has` tests an entity or record, but this is `{found}`"),
                            )
                            .with_label_message("has no attributes"),
                        );
                        return error(span);
                    }
                };
                match rec.field(&attr.node) {
                    // A required attribute is always there.
                    Some((_, f)) if !f.optional => lit(Value::Bool(true), Ty::Bool, span),
                    Some((i, _)) => {
                        let entity = matches!(x.ty, Ty::Entity(_));
                        mk(
                            if entity { K::HasAttr(Box::new(x), i) } else { K::HasField(Box::new(x), i) },
                            Ty::Bool,
                            span,
                        )
                    }
                    // Declared elsewhere (another entity type, another action's context):
                    // absent here, for this request shape.
                    None if self.cx.attribute_declared(&attr.node) => lit(Value::Bool(false), Ty::Bool, span),
                    None => {
                        self.lookup(&rec, attr, &x.ty);
                        error(span)
                    }
                }
            }
            A::Like(x, pat) => {
                let x = self.lower(x, Some(&Ty::String));
                self.expect(&x, &Ty::String, "`like` matches strings");
                let p = self.lower(pat, Some(&Ty::String));
                self.expect(&p, &Ty::String, "a `like` pattern is a string");
                match as_lit(&p) {
                    Some(Value::Str(s)) => match Glob::parse(s) {
                        Ok(g) => match as_lit(&x) {
                            Some(Value::Str(t)) => lit(Value::Bool(g.matches(t)), Ty::Bool, span),
                            _ => mk(K::Like(Box::new(x), g), Ty::Bool, span),
                        },
                        Err(why) => {
                            self.err(
                                Diagnostic::new(
                                    codes::INVALID_CONSTANT,
                                    p.span,
                                    format!("invalid glob pattern: {why}"),
                                )
                                .with_label_message("bad pattern"),
                            );
                            error(span)
                        }
                    },
                    _ => mk(K::LikeDynamic(Box::new(x), Box::new(p)), Ty::Bool, span),
                }
            }
            A::Quant(q, x, set, body) => {
                let s = self.lower(set, None);
                let is_all = *q == ast::Quantifier::All;
                let elem = match &s.ty {
                    Ty::Set(t) => (**t).clone(),
                    Ty::Error => Ty::Error,
                    other => {
                        let found = self.tyname(other);
                        let word = if is_all { "all" } else { "any" };
                        self.err(
                            Diagnostic::new(
                                codes::TYPE_MISMATCH,
                                s.span,
                                format!("`{word}` ranges over a set, but this is `{found}`"),
                            )
                            .with_label_message("not a set"),
                        );
                        Ty::Error
                    }
                };
                if let Some(d) = reserved_name(x, "a quantifier variable") {
                    self.err(d);
                }
                // Over a small constant set, try each element as a constant: if every
                // instance folds, so does the quantifier.
                if let Some(Value::Set(items)) = as_lit(&s).cloned() {
                    if items.len() <= 16 {
                        if let Some(v) = self.unroll(x, &items, &elem, body, is_all, s.span) {
                            return lit(Value::Bool(v), Ty::Bool, span);
                        }
                    }
                }
                let slot = self.alloc();
                self.locals.push((Arc::from(x.node.as_str()), Binding::Local(slot, elem)));
                let b = self.lower(body, Some(&Ty::Bool));
                self.locals.pop();
                self.expect(&b, &Ty::Bool, "a quantifier's body is a condition");
                let q = if is_all { Quantifier::All } else { Quantifier::Any };
                mk(K::Quant(q, slot, Box::new(s), Box::new(b)), Ty::Bool, span)
            }
        }
    }

    /// Folds a quantifier over constant elements when the body folds for each of them.
    fn unroll(
        &mut self,
        x: &ast::Name,
        items: &[Value],
        elem: &Ty,
        body: &ast::Expr,
        is_all: bool,
        at: Span,
    ) -> Option<bool> {
        let saved_diags = self.cx.diags.len();
        let mut result = Some(is_all);
        let name: Arc<str> = Arc::from(x.node.as_str());
        for item in items {
            self.locals.push((name.clone(), Binding::Const(lit(item.clone(), elem.clone(), at))));
            let b = self.lower(body, Some(&Ty::Bool));
            self.locals.pop();
            match (b.ty == Ty::Bool, as_lit(&b)) {
                (true, Some(Value::Bool(v))) if *v != is_all => result = result.map(|_| !is_all),
                (true, Some(Value::Bool(_))) => {}
                _ => result = None,
            }
        }
        // The general lowering below (or the empty set's) reports the body's errors once.
        self.cx.diags.truncate(saved_diags);
        if items.is_empty() {
            let slot = self.alloc();
            self.locals.push((name, Binding::Local(slot, elem.clone())));
            let b = self.lower(body, Some(&Ty::Bool));
            self.locals.pop();
            self.expect(&b, &Ty::Bool, "a quantifier's body is a condition");
            return if b.ty.is_error() { None } else { result };
        }
        result
    }

    fn union_access(&mut self, x: &ir::Expr, ts: &[EntityTypeId], attr: &str) {
        let names: Vec<&str> = ts.iter().map(|t| self.cx.schema.entity_name(*t)).collect();
        let first = names.first().copied().unwrap_or("T").to_string();
        self.err(
            Diagnostic::new(
                codes::TYPE_MISMATCH,
                x.span,
                format!("`.{attr}` on a value that may be any of {}", names.join(", ")),
            )
            .with_label_message("narrow its type first")
            .with_help(format!("test the type first: `x is {first} and x.{attr} …`")),
        );
    }

    fn request_value(&mut self, kind: K, ty: Ty, name: &str, span: Span) -> ir::Expr {
        if self.env.is_some() {
            return mk(kind, ty, span);
        }
        self.err(
            Diagnostic::new(codes::MISPLACED_VALUE, span, format!("`{name}` is not available in a function"))
                .with_label_message("functions see only their parameters")
                .with_help(format!("pass `{name}` (or the part you need) as an argument")),
        );
        error(span)
    }

    /// Looks up an attribute or field; reports unknown names. Returns (index, optional).
    fn lookup(&mut self, rec: &RecordTy, name: &ast::Name, owner: &Ty) -> Option<(u32, bool)> {
        if let Some((i, f)) = rec.field(&name.node) {
            return Some((i, f.optional));
        }
        let owner = self.tyname(owner);
        let what = if matches!(self.env.as_ref(), Some(env) if *env.context == *rec) {
            "the context".to_string()
        } else {
            format!("`{owner}`")
        };
        let mut d =
            Diagnostic::new(codes::UNKNOWN_ATTRIBUTE, name.span, format!("{what} has no attribute `{}`", name.node))
                .with_label_message("unknown attribute");
        if let Some(s) = did_you_mean(&name.node, rec.names()) {
            d = d.with_help(format!("did you mean `{s}`?"));
        } else if !rec.fields.is_empty() {
            let names: Vec<&str> = rec.names().collect();
            d = d.with_note(format!("it has {}", names.join(", ")));
        }
        self.err(d);
        None
    }

    fn guarded(&self, base: &ir::Expr, idx: u32) -> bool {
        self.facts.iter().any(|f| matches!(f, Fact::Has(k, i) if *i == idx && is_path(k, base)))
    }

    fn unguarded(&mut self, base: &ir::Expr, name: &ast::Name, span: Span) {
        let help = match self.describe(base) {
            Some(src) => format!("test it first: `{src} has {n} and {src}.{n} …`", n = name.node),
            None => format!("test it first with `has {}`", name.node),
        };
        self.err(
            Diagnostic::new(codes::UNGUARDED_OPTIONAL, span, format!("`{}` is optional and may be absent", name.node))
                .with_label_message("read without a `has` guard")
                .with_help(help),
        );
    }

    /// The source-like path of an access (`context.args`), for messages.
    fn describe(&self, e: &ir::Expr) -> Option<String> {
        match &e.kind {
            K::Principal => Some("principal".into()),
            K::Resource => Some("resource".into()),
            K::Context => Some("context".into()),
            K::Local(n) => self.locals.iter().rev().find_map(|(name, b)| match b {
                Binding::Local(slot, _) if slot == n => Some(name.to_string()),
                _ => None,
            }),
            K::Attr(b, i) => {
                let name = match &b.ty {
                    Ty::Entity(ts) => ts
                        .first()
                        .and_then(|t| self.cx.schema.entity(*t))
                        .and_then(|e| e.attrs.fields.get(*i as usize))
                        .map(|f| f.name.clone()),
                    _ => None,
                }?;
                Some(format!("{}.{name}", self.describe(b)?))
            }
            K::Field(b, i) => {
                let name = match &b.ty {
                    Ty::Record(r) => r.fields.get(*i as usize).map(|f| f.name.clone()),
                    _ => None,
                }?;
                Some(format!("{}.{name}", self.describe(b)?))
            }
            _ => None,
        }
    }

    fn var(&mut self, name: &str, span: Span, expected: Option<&Ty>) -> ir::Expr {
        match name {
            "principal" | "resource" | "on_behalf_of" => {
                if let Some(b) = self.local(name) {
                    return self.binding(b, span);
                }
                let Some(env) = &self.env else {
                    return self.request_value(K::Principal, Ty::Error, name, span);
                };
                return match name {
                    "principal" => mk(K::Principal, Ty::entity(env.principal), span),
                    "resource" => mk(K::Resource, Ty::entity(env.resource), span),
                    _ => {
                        let elem =
                            if env.on_behalf_of.is_empty() { Ty::Never } else { Ty::Entity(env.on_behalf_of.clone()) };
                        mk(K::OnBehalfOf, Ty::Set(Box::new(elem)), span)
                    }
                };
            }
            _ => {}
        }
        if let Some(b) = self.local(name) {
            return self.binding(b, span);
        }
        let schema = &self.cx.schema;
        // By expected type.
        match expected {
            Some(Ty::Enum(e)) => {
                if let Some(v) = self.variant(*e, name) {
                    return lit(Value::Enum(*e, v), Ty::Enum(*e), span);
                }
            }
            Some(Ty::Intent) => {
                if name == "none" {
                    return lit(Value::Intent(None), Ty::Intent, span);
                }
                if let Some(i) = schema.intent_id(name) {
                    return lit(Value::Intent(Some(i)), Ty::Intent, span);
                }
            }
            Some(Ty::Action) => {
                if let Some(a) = schema.action_id(name) {
                    return lit(Value::Action(a), Ty::Action, span);
                }
            }
            _ => {}
        }
        // Unique by name.
        let mut found: Vec<(ir::Expr, String)> = Vec::new();
        for (ei, en) in schema.enums.iter().enumerate() {
            if let Some(v) = en.variants.iter().position(|v| v == name) {
                let e = EnumId(u32::try_from(ei).unwrap_or(u32::MAX));
                found.push((
                    lit(Value::Enum(e, u32::try_from(v).unwrap_or(0)), Ty::Enum(e), span),
                    format!("`{}.{name}`", en.name),
                ));
            }
        }
        if name == "none" {
            found.push((lit(Value::Intent(None), Ty::Intent, span), "the intent `none`".into()));
        }
        if let Some(i) = schema.intent_id(name) {
            found.push((lit(Value::Intent(Some(i)), Ty::Intent, span), format!("the intent `{name}`")));
        }
        if let Some(a) = schema.action_id(name) {
            found.push((lit(Value::Action(a), Ty::Action, span), format!("the action `{name}`")));
        }
        if let Some(g) = schema.group_id(name) {
            let acts: Vec<Value> =
                schema.group(g).map(|g| g.actions.iter().map(|a| Value::Action(*a)).collect()).unwrap_or_default();
            found.push((
                lit(Value::set(acts), Ty::Set(Box::new(Ty::Action)), span),
                format!("the action group `{name}`"),
            ));
        }
        match found.len() {
            1 => return found.pop().map(|f| f.0).unwrap_or_else(|| error(span)),
            0 => {}
            _ => {
                let what: Vec<String> = found.into_iter().map(|f| f.1).collect();
                self.err(
                    Diagnostic::new(codes::AMBIGUOUS, span, format!("`{name}` is ambiguous"))
                        .with_label_message("could mean several things")
                        .with_note(format!("it could be {}", what.join(" or ")))
                        .with_help("qualify it, e.g. `Level.internal`"),
                );
                return error(span);
            }
        }
        if schema.entity_id(name).is_some() || schema.enum_id(name).is_some() {
            let help = match schema.enum_id(name).and_then(|e| schema.enum_(e)) {
                Some(en) => format!("write a value, like `{name}.{}`", en.variants.first().map_or("x", String::as_str)),
                None => format!("write an entity, like `{name}::\"id\"`, or test a type with `is {name}`"),
            };
            self.err(
                Diagnostic::new(codes::MISPLACED_VALUE, span, format!("`{name}` is a type, not a value"))
                    .with_label_message("a type")
                    .with_help(help),
            );
            return error(span);
        }
        if self.cx.scopes.get(self.scope).is_some_and(|s| s.modules.contains_key(name)) {
            self.err(
                Diagnostic::new(codes::MISPLACED_VALUE, span, format!("`{name}` is a module, not a value"))
                    .with_help(format!("call one of its functions: `{name}.f(…)`")),
            );
            return error(span);
        }
        // Unknown: suggest among everything a bare name could be.
        let mut cands: Vec<String> = self.locals.iter().map(|(n, _)| n.to_string()).collect();
        if self.env.is_some() {
            cands.extend(["principal", "resource", "on_behalf_of"].map(String::from));
        }
        let en_vals: Vec<String> = match expected {
            Some(Ty::Enum(e)) => schema.enum_(*e).map(|en| en.variants.clone()).unwrap_or_default(),
            _ => schema.enums.iter().flat_map(|e| e.variants.iter().cloned()).collect(),
        };
        cands.extend(en_vals);
        cands.extend(schema.intents.iter().map(|i| i.name.clone()));
        cands.extend(schema.actions.iter().map(|a| a.name.clone()));
        let (code, msg) = match expected {
            Some(Ty::Enum(e)) => {
                (codes::UNKNOWN_ENUM_VALUE, format!("`{}` has no value `{name}`", schema.enum_name(*e)))
            }
            Some(Ty::Intent) => (codes::UNKNOWN_INTENT, format!("unknown intent `{name}`")),
            _ => (codes::UNKNOWN_NAME, format!("unknown name `{name}`")),
        };
        let mut d = Diagnostic::new(code, span, msg).with_label_message("not in scope");
        if let Some(s) = did_you_mean(name, cands.iter().map(String::as_str)) {
            d = d.with_help(format!("did you mean `{s}`?"));
        } else if let Some(Ty::Enum(e)) = expected {
            if let Some(en) = schema.enum_(*e) {
                d = d.with_note(format!("`{}` has {}", en.name, en.variants.join(", ")));
            }
        }
        self.err(d);
        error(span)
    }

    fn variant(&self, e: EnumId, name: &str) -> Option<u32> {
        let en = self.cx.schema.enum_(e)?;
        en.variants.iter().position(|v| v == name).and_then(|i| u32::try_from(i).ok())
    }

    fn local(&self, name: &str) -> Option<Binding> {
        self.locals.iter().rev().find(|(n, _)| **n == *name).map(|(_, b)| b.clone())
    }

    fn binding(&self, b: Binding, span: Span) -> ir::Expr {
        match b {
            Binding::Const(e) => ir::Expr { span, ..e },
            Binding::Local(slot, ty) => {
                let narrowed = self.facts.iter().rev().find_map(|f| match f {
                    Fact::Is(k, t) if k.as_slice() == [(ROOT_LOCAL, slot)] => Some(*t),
                    _ => None,
                });
                let ty = match (narrowed, &ty) {
                    (Some(t), Ty::Entity(ts)) if ts.contains(&t) => Ty::entity(t),
                    _ => ty,
                };
                mk(K::Local(slot), ty, span)
            }
        }
    }

    fn set(&mut self, items: &[ast::Expr], span: Span, expected: Option<&Ty>) -> ir::Expr {
        let mut want = match expected {
            Some(Ty::Set(t)) => Some((**t).clone()),
            _ => None,
        };
        let mut out = Vec::new();
        let mut elem = Ty::Never;
        for x in items {
            let ir = self.lower(x, want.as_ref());
            match elem.join(&ir.ty) {
                Some(t) => elem = t,
                None => {
                    let (a, b) = (self.tyname(&elem), self.tyname(&ir.ty));
                    self.err(
                        Diagnostic::new(
                            codes::TYPE_MISMATCH,
                            ir.span,
                            format!("set elements must share one type: `{a}` and `{b}`"),
                        )
                        .with_label_message(format!("this is `{b}`")),
                    );
                    elem = Ty::Error;
                }
            }
            if want.is_none() && !matches!(elem, Ty::Never | Ty::Error) {
                want = Some(elem.clone());
            }
            out.push(ir);
        }
        let ty = Ty::Set(Box::new(elem));
        if out.iter().all(|x| as_lit(x).is_some()) {
            let vals: Vec<Value> = out.iter().filter_map(as_lit).cloned().collect();
            return lit(Value::set(vals), ty, span);
        }
        mk(K::Set(out), ty, span)
    }

    fn record(&mut self, fields: &[(ast::Name, ast::Expr)], span: Span) -> ir::Expr {
        let mut seen: std::collections::HashMap<&str, Span> = std::collections::HashMap::new();
        let mut lowered: Vec<(String, ir::Expr)> = Vec::new();
        for (name, value) in fields {
            if let Some(first) = seen.insert(&name.node, name.span) {
                self.err(
                    Diagnostic::new(codes::DUPLICATE, name.span, format!("field `{}` appears twice", name.node))
                        .with_label(first, "first here"),
                );
                continue;
            }
            let v = self.lower(value, None);
            lowered.push((name.node.clone(), v));
        }
        lowered.sort_by(|a, b| a.0.cmp(&b.0));
        let rty = RecordTy::new(
            lowered
                .iter()
                .map(|(n, v)| ir::FieldTy { name: n.clone(), ty: v.ty.clone(), optional: false, doc: None })
                .collect(),
        );
        let exprs: Vec<ir::Expr> = lowered.into_iter().map(|(_, v)| v).collect();
        let ty = Ty::Record(Arc::new(rty));
        if exprs.iter().all(|x| as_lit(x).is_some()) {
            let vals: Vec<Option<Value>> = exprs.iter().map(|x| as_lit(x).cloned()).collect();
            return lit(Value::Record(vals.into()), ty, span);
        }
        mk(K::Record(exprs), ty, span)
    }

    fn field(&mut self, base: &ast::Expr, name: &ast::Name, span: Span) -> ir::Expr {
        // `Level.internal`
        if let A::Var(v) = &base.kind {
            if self.local(v).is_none() {
                if let Some(e) = self.cx.schema.enum_id(v) {
                    return match self.variant(e, &name.node) {
                        Some(i) => lit(Value::Enum(e, i), Ty::Enum(e), span),
                        None => {
                            let en = self.cx.schema.enum_(e).map(|en| en.variants.clone()).unwrap_or_default();
                            let mut d = Diagnostic::new(
                                codes::UNKNOWN_ENUM_VALUE,
                                name.span,
                                format!("`{v}` has no value `{}`", name.node),
                            )
                            .with_label_message("unknown value");
                            if let Some(s) = did_you_mean(&name.node, en.iter().map(String::as_str)) {
                                d = d.with_help(format!("did you mean `{s}`?"));
                            } else {
                                d = d.with_note(format!("`{v}` has {}", en.join(", ")));
                            }
                            self.err(d);
                            error(span)
                        }
                    };
                }
                if self.cx.scopes.get(self.scope).is_some_and(|s| s.modules.contains_key(v)) {
                    self.err(
                        Diagnostic::new(
                            codes::MISPLACED_VALUE,
                            span,
                            format!("`{v}.{}` is a function: call it", name.node),
                        )
                        .with_help(format!("`{v}.{}(…)`", name.node)),
                    );
                    return error(span);
                }
            }
        }
        let b = self.lower(base, None);
        match &b.ty {
            Ty::Error => error(span),
            Ty::Entity(ts) => {
                let [t] = ts.as_slice() else {
                    self.union_access(&b, ts, &name.node);
                    return error(span);
                };
                let attrs = self.cx.schema.entity(*t).map(|e| e.attrs.clone()).unwrap_or_default();
                let Some((i, optional)) = self.lookup(&attrs, name, &b.ty) else { return error(span) };
                if optional && !self.guarded(&b, i) {
                    self.unguarded(&b, name, span);
                }
                let ty = attrs.fields.get(i as usize).map_or(Ty::Error, |f| f.ty.clone());
                mk(K::Attr(Box::new(b), i), ty, span)
            }
            Ty::Record(r) => {
                let r = r.clone();
                let Some((i, optional)) = self.lookup(&r, name, &b.ty) else { return error(span) };
                if optional && !self.guarded(&b, i) {
                    self.unguarded(&b, name, span);
                }
                let ty = r.fields.get(i as usize).map_or(Ty::Error, |f| f.ty.clone());
                if let Some(Value::Record(vals)) = as_lit(&b) {
                    if let Some(Some(v)) = vals.get(i as usize) {
                        return lit(v.clone(), ty, span);
                    }
                }
                mk(K::Field(Box::new(b), i), ty, span)
            }
            other => {
                let found = self.tyname(other);
                let mut d = Diagnostic::new(codes::TYPE_MISMATCH, b.span, format!("`{found}` has no attributes"))
                    .with_label_message(format!("this is `{found}`"));
                if builtins::method(other, &name.node).is_some() {
                    d = d.with_help(format!("`{}` is a method: call it with `.{}()`", name.node, name.node));
                }
                self.err(d);
                error(span)
            }
        }
    }

    fn method(&mut self, base: &ast::Expr, name: &ast::Name, args: &[ast::Expr], span: Span) -> ir::Expr {
        if let A::Var(m) = &base.kind {
            if self.local(m).is_none() {
                let module = self.cx.scopes.get(self.scope).and_then(|s| s.modules.get(m)).copied();
                if let Some(mid) = module {
                    self.cx.used_modules.insert(mid);
                    if self.cx.modules.get(mid).is_some_and(|md| md.broken) {
                        // The import was reported; check the arguments only.
                        for a in args {
                            self.lower(a, None);
                        }
                        return error(span);
                    }
                    let f = self.cx.modules.get(mid).and_then(|md| md.fns.get(&name.node)).copied();
                    self.note_use(base.span, m, Some(mid), f.map(|f| (name.span, f)));
                    return match f {
                        Some(f) => self.inline(f, args, span),
                        None => {
                            let names: Vec<String> =
                                self.cx.modules.get(mid).map(|md| md.fns.keys().cloned().collect()).unwrap_or_default();
                            let mut d = Diagnostic::new(
                                codes::UNKNOWN_FUNCTION,
                                name.span,
                                format!("module `{m}` has no function `{}`", name.node),
                            )
                            .with_label_message("unknown function");
                            if let Some(s) = did_you_mean(&name.node, names.iter().map(String::as_str)) {
                                d = d.with_help(format!("did you mean `{m}.{s}`?"));
                            } else if !names.is_empty() {
                                let mut names = names;
                                names.sort();
                                d = d.with_note(format!("it has {}", names.join(", ")));
                            }
                            self.err(d);
                            error(span)
                        }
                    };
                }
            }
        }
        let recv = self.lower(base, None);
        if recv.ty.is_error() {
            args.iter().for_each(|a| {
                self.lower(a, None);
            });
            return error(span);
        }
        let Some((b, params, ret)) = builtins::method(&recv.ty, &name.node) else {
            let found = self.tyname(&recv.ty);
            let names = builtins::method_names(&recv.ty);
            let mut d =
                Diagnostic::new(codes::UNKNOWN_FUNCTION, name.span, format!("`{found}` has no method `{}`", name.node))
                    .with_label_message("unknown method");
            if let Some(s) = did_you_mean(&name.node, names.iter().copied()) {
                d = d.with_help(format!("did you mean `{s}`?"));
            } else if !names.is_empty() {
                d = d.with_note(format!("`{found}` has {}", names.join(", ")));
            }
            self.err(d);
            return error(span);
        };
        if args.len() != params.len() {
            self.arity(name, params.len(), args.len(), span);
            return error(span);
        }
        let mut lowered = vec![recv];
        for (a, p) in args.iter().zip(params.iter()) {
            let x = self.lower(a, Some(p));
            if !x.ty.fits(p) {
                self.expect(&x, p, &format!("argument of `.{}`", name.node));
            }
            lowered.push(x);
        }
        if lowered.iter().all(|x| as_lit(x).is_some()) {
            let vals: Vec<Value> = lowered.iter().filter_map(as_lit).cloned().collect();
            if let Ok(v) = builtins::eval(b, &vals) {
                return lit(v, ret, span);
            }
        }
        mk(K::Call(b, lowered), ret, span)
    }

    /// For the analysis: a module alias used at `at` (its import) and the `fn` a call names.
    fn note_use(&mut self, at: Span, alias: &str, module: Option<usize>, call: Option<(Span, FnId)>) {
        if !self.call_spans.is_empty() {
            return;
        }
        let scope = self.scope;
        let cx = &mut *self.cx;
        let Some(a) = cx.analysis.as_deref_mut() else { return };
        if let Some(mid) = module {
            let import = cx.imports.iter().find(|(s, n, _, m)| *s == scope && n == alias && *m == mid);
            if let Some((_, _, span, _)) = import {
                a.uses.push((at, super::analysis::Def::Module { alias: alias.to_string(), import: *span }));
            }
        }
        if let Some((span, f)) = call {
            a.uses.push((span, super::analysis::Def::Fn(f)));
        }
    }

    fn arity(&mut self, name: &ast::Name, want: usize, got: usize, span: Span) {
        let plural = |n: usize| if n == 1 { "argument" } else { "arguments" };
        self.err(
            Diagnostic::new(
                codes::WRONG_ARITY,
                span,
                format!("`{}` takes {want} {}, but got {got}", name.node, plural(want)),
            )
            .with_label_message(format!("{got} {}", plural(got))),
        );
    }

    fn call(&mut self, name: &ast::Name, args: &[ast::Expr], span: Span) -> ir::Expr {
        if CONSTRUCTORS.contains(&name.node.as_str()) {
            let [arg] = args else {
                self.arity(name, 1, args.len(), span);
                return error(span);
            };
            let a = self.lower(arg, Some(&Ty::String));
            let Some(Value::Str(text)) = as_lit(&a).cloned() else {
                if !a.ty.is_error() {
                    self.err(
                        Diagnostic::new(codes::NOT_CONSTANT, a.span, format!("`{}` takes a string literal", name.node))
                            .with_label_message("not a constant string")
                            .with_help("the value is checked when the policy is compiled"),
                    );
                }
                return error(span);
            };
            let parsed = match name.node.as_str() {
                "timestamp" => value::parse_timestamp(&text).map(|t| (Value::Timestamp(t), Ty::Timestamp)),
                "ip" => IpNet::parse(&text).map(|i| (Value::Ip(i), Ty::Ip)),
                _ => crate::literal::parse_duration(&text)
                    .map(|d| (Value::Duration(d), Ty::Duration))
                    .map_err(|e| format!("`{text}` is not a duration: {e}")),
            };
            return match parsed {
                Ok((v, t)) => lit(v, t, span),
                Err(why) => {
                    self.err(
                        Diagnostic::new(codes::INVALID_CONSTANT, a.span, why).with_label_message("invalid constant"),
                    );
                    error(span)
                }
            };
        }
        let f = self.cx.scopes.get(self.scope).and_then(|s| s.fns.get(&name.node)).copied();
        if let Some(f) = f {
            self.note_use(name.span, &name.node, None, Some((name.span, f)));
        }
        match f {
            Some(f) => self.inline(f, args, span),
            None => {
                let mut names: Vec<String> = CONSTRUCTORS.iter().map(|s| s.to_string()).collect();
                if let Some(s) = self.cx.scopes.get(self.scope) {
                    names.extend(s.fns.keys().cloned());
                }
                let mut d =
                    Diagnostic::new(codes::UNKNOWN_FUNCTION, name.span, format!("unknown function `{}`", name.node))
                        .with_label_message("not declared");
                if let Some(s) = did_you_mean(&name.node, names.iter().map(String::as_str)) {
                    d = d.with_help(format!("did you mean `{s}`?"));
                }
                for a in args {
                    self.lower(a, None);
                }
                self.err(d);
                error(span)
            }
        }
    }

    /// Inlines a call: arguments are checked against the parameter types and bound once
    /// (constants are substituted), then the body is lowered in the function's own scope.
    fn inline(&mut self, f: FnId, args: &[ast::Expr], span: Span) -> ir::Expr {
        self.cx.used_fns.insert(f);
        let Some(info) = self.cx.fns.get(f) else { return error(span) };
        // `Arc`s: the declaration (with its body) and the parameters are shared, not copied.
        let (params, ret, decl, scope, recursive) =
            (info.params.clone(), info.ret.clone(), info.decl.clone(), info.scope, info.recursive);
        if args.len() != params.len() {
            self.arity(&decl.name, params.len(), args.len(), span);
            return error(span);
        }
        let mut lowered = Vec::with_capacity(args.len());
        for (a, (pname, pty)) in args.iter().zip(params.iter()) {
            let x = self.lower(a, Some(pty));
            if !x.ty.fits(pty) {
                self.expect(&x, pty, &format!("argument `{pname}` of `{}`", decl.name.node));
            }
            lowered.push(x);
        }
        if recursive || self.inline_stack.contains(&f) {
            return error(span);
        }
        if self.inline_stack.len() >= MAX_INLINE_DEPTH {
            if !self.too_large {
                self.too_large = true;
                let at = self.call_spans.first().copied().unwrap_or(span);
                self.err(
                    Diagnostic::new(codes::TOO_LARGE, at, "functions call each other too deeply")
                        .with_label_message("inlining stops inside this call"),
                );
            }
            return error(span);
        }
        self.cx.used_fns.insert(f);
        let saved_scope = std::mem::replace(&mut self.scope, scope);
        let saved_env = self.env.take();
        let saved_locals = std::mem::take(&mut self.locals);
        let saved_facts = std::mem::take(&mut self.facts);
        let mut lets = Vec::new();
        for ((pname, pty), arg) in params.iter().zip(lowered) {
            if as_lit(&arg).is_some() {
                self.locals.push((pname.clone(), Binding::Const(ir::Expr { ty: pty.clone(), ..arg })));
            } else {
                let slot = self.alloc();
                self.locals.push((pname.clone(), Binding::Local(slot, pty.clone())));
                lets.push((slot, arg));
            }
        }
        self.inline_stack.push(f);
        self.call_spans.push(span);
        let mut out = self.lower(&decl.body, Some(&ret));
        self.call_spans.pop();
        self.inline_stack.pop();
        self.scope = saved_scope;
        self.env = saved_env;
        self.locals = saved_locals;
        self.facts = saved_facts;
        out.span = span;
        if !out.ty.is_error() {
            out.ty = ret;
        }
        for (slot, arg) in lets.into_iter().rev() {
            let ty = out.ty.clone();
            out = mk(K::Let(slot, Box::new(arg), Box::new(out)), ty, span);
        }
        out
    }

    fn fold_int(&mut self, v: Option<i64>, span: Span, ty: Ty) -> ir::Expr {
        match v {
            Some(n) => lit(if ty == Ty::Duration { Value::Duration(n) } else { Value::Int(n) }, ty, span),
            None => {
                self.err(
                    Diagnostic::new(codes::CONSTANT_OVERFLOW, span, "this constant overflows 64 bits")
                        .with_label_message("overflow"),
                );
                error(span)
            }
        }
    }

    /// Lowers two operands so a bare name on either side resolves by the other's type.
    fn pair(&mut self, a: &ast::Expr, b: &ast::Expr) -> (ir::Expr, ir::Expr) {
        let bare = |lx: &Self, e: &ast::Expr| {
            is_bare(e)
                && matches!(&e.kind, A::Var(n) if lx.local(n).is_none() && !matches!(n.as_str(), "principal" | "resource" | "on_behalf_of"))
        };
        if bare(self, a) && !bare(self, b) {
            let rb = self.lower(b, None);
            let ra = self.lower(a, Some(&rb.ty));
            (ra, rb)
        } else {
            let ra = self.lower(a, None);
            let rb = self.lower(b, Some(&ra.ty));
            (ra, rb)
        }
    }

    fn binary(&mut self, op: BinOp, a: &ast::Expr, b: &ast::Expr, span: Span) -> ir::Expr {
        match op {
            BinOp::Eq | BinOp::Ne | BinOp::Lt | BinOp::Le | BinOp::Gt | BinOp::Ge => {
                let (x, y) = self.pair(a, b);
                if x.ty.is_error() || y.ty.is_error() {
                    return error(span);
                }
                let cmp = match op {
                    BinOp::Eq => CmpOp::Eq,
                    BinOp::Ne => CmpOp::Ne,
                    BinOp::Lt => CmpOp::Lt,
                    BinOp::Le => CmpOp::Le,
                    BinOp::Gt => CmpOp::Gt,
                    _ => CmpOp::Ge,
                };
                let ordered = !matches!(cmp, CmpOp::Eq | CmpOp::Ne);
                let ok = match x.ty.join(&y.ty) {
                    Some(t) => !ordered || t.is_ordered(),
                    None => false,
                };
                if !ok {
                    let (tx, ty) = (self.tyname(&x.ty), self.tyname(&y.ty));
                    let mut d = Diagnostic::new(
                        codes::INCOMPARABLE,
                        span,
                        format!("cannot compare `{tx}` with `{ty}` using `{}`", op.as_str()),
                    )
                    .with_label_message("incomparable")
                    .with_label(x.span, format!("this is `{tx}`"))
                    .with_label(y.span, format!("this is `{ty}`"));
                    if ordered && x.ty == y.ty {
                        d = d.with_note("only Int, Duration, Timestamp and enum values are ordered");
                    }
                    for (en, other) in [(&x, &y), (&y, &x)] {
                        if let (Ty::Enum(e), Some(Value::Str(text))) = (&en.ty, as_lit(other)) {
                            if self.variant(*e, text).is_some() {
                                let ename = self.cx.schema.enum_name(*e).to_string();
                                d = d.with_help(format!("`{text}` is a value of `{ename}`: write it without quotes"));
                            }
                        }
                    }
                    self.err(d);
                    return error(span);
                }
                if let (Some(va), Some(vb)) = (as_lit(&x), as_lit(&y)) {
                    let r = match cmp {
                        CmpOp::Eq => va == vb,
                        CmpOp::Ne => va != vb,
                        CmpOp::Lt => va < vb,
                        CmpOp::Le => va <= vb,
                        CmpOp::Gt => va > vb,
                        CmpOp::Ge => va >= vb,
                    };
                    return lit(Value::Bool(r), Ty::Bool, span);
                }
                mk(K::Cmp(cmp, Box::new(x), Box::new(y)), Ty::Bool, span)
            }
            BinOp::In => {
                let x = self.lower(a, None);
                let want = match &x.ty {
                    Ty::Entity(_) => None,
                    t => Some(Ty::Set(Box::new(t.clone()))),
                };
                let y = self.lower(b, want.as_ref());
                if x.ty.is_error() || y.ty.is_error() {
                    return error(span);
                }
                match (&x.ty, &y.ty) {
                    (Ty::Entity(_), Ty::Entity(_)) => self.in_entity(x, y, span),
                    (Ty::Entity(xs), Ty::Set(inner)) if matches!(**inner, Ty::Entity(_) | Ty::Never) => {
                        if let Ty::Entity(ys) = &**inner {
                            let possible = xs.iter().any(|c| ys.iter().any(|p| self.cx.schema.may_descend(*c, *p)));
                            if !possible {
                                return self.impossible_in(&xs.clone(), &ys.clone(), span);
                            }
                            self.in_tests.possible.push(span);
                        }
                        mk(K::InEntitySet(Box::new(x), Box::new(y)), Ty::Bool, span)
                    }
                    (t, Ty::Set(inner)) if t.fits(inner) || inner.fits(t) => {
                        if let (Some(v), Some(Value::Set(s))) = (as_lit(&x), as_lit(&y)) {
                            return lit(Value::Bool(s.binary_search(v).is_ok()), Ty::Bool, span);
                        }
                        mk(K::InSet(Box::new(x), Box::new(y)), Ty::Bool, span)
                    }
                    (tx, ty) => {
                        let (nx, ny) = (self.tyname(tx), self.tyname(ty));
                        self.err(
                            Diagnostic::new(codes::TYPE_MISMATCH, span, format!("`{nx} in {ny}` is not a valid test"))
                                .with_label_message("`in` needs an entity and an entity (or set of entities), or a value and a set of such values")
                                .with_label(y.span, format!("this is `{ny}`")),
                        );
                        error(span)
                    }
                }
            }
            BinOp::Add | BinOp::Sub | BinOp::Mul => {
                let x = self.lower(a, None);
                let y = self.lower(b, None);
                if x.ty.is_error() || y.ty.is_error() {
                    return error(span);
                }
                use Ty::{Duration as D, Int as I, Timestamp as T};
                let result = match (op, &x.ty, &y.ty) {
                    (_, I, I) => Some(I),
                    (BinOp::Add | BinOp::Sub, D, D) => Some(D),
                    (BinOp::Add | BinOp::Sub, T, D) => Some(T),
                    (BinOp::Add, D, T) => Some(T),
                    (BinOp::Sub, T, T) => Some(D),
                    (BinOp::Mul, D, I) | (BinOp::Mul, I, D) => Some(D),
                    _ => None,
                };
                let Some(ty) = result else {
                    let (nx, ny) = (self.tyname(&x.ty), self.tyname(&y.ty));
                    self.err(
                        Diagnostic::new(codes::TYPE_MISMATCH, span, format!("cannot apply `{}` to `{nx}` and `{ny}`", op.as_str()))
                            .with_label_message("no such arithmetic")
                            .with_note("arithmetic works on Int, Duration ± Duration, Timestamp ± Duration, Timestamp - Timestamp, Duration * Int"),
                    );
                    return error(span);
                };
                let aop = match op {
                    BinOp::Add => ArithOp::Add,
                    BinOp::Sub => ArithOp::Sub,
                    _ => ArithOp::Mul,
                };
                if let (Some(va), Some(vb)) = (as_lit(&x), as_lit(&y)) {
                    let n = |v: &Value| match v {
                        Value::Int(n) | Value::Duration(n) | Value::Timestamp(n) => *n,
                        _ => 0,
                    };
                    let (p, q) = (n(va), n(vb));
                    let r = match aop {
                        ArithOp::Add => p.checked_add(q),
                        ArithOp::Sub => p.checked_sub(q),
                        ArithOp::Mul => p.checked_mul(q),
                    };
                    return match r {
                        Some(r) => lit(
                            match ty {
                                I => Value::Int(r),
                                D => Value::Duration(r),
                                _ => Value::Timestamp(r),
                            },
                            ty,
                            span,
                        ),
                        None => self.fold_int(None, span, ty),
                    };
                }
                mk(K::Arith(aop, Box::new(x), Box::new(y)), ty, span)
            }
        }
    }

    /// An `in` whose left side can never descend from its right side. In a function body it is
    /// an error now; in a rule it is false in this request shape, and the rule's checker
    /// reports it if no shape could make it hold.
    fn impossible_in(&mut self, xs: &[EntityTypeId], ys: &[EntityTypeId], span: Span) -> ir::Expr {
        let (Some(x), Some(y)) = (xs.first(), ys.first()) else { return error(span) };
        if self.env.is_some() {
            self.in_tests.impossible.push((span, *x, *y));
            lit(Value::Bool(false), Ty::Bool, span)
        } else {
            self.cx.check_descent(*x, *y, span);
            error(span)
        }
    }

    fn in_entity(&mut self, x: ir::Expr, y: ir::Expr, span: Span) -> ir::Expr {
        match (&x.ty, &y.ty) {
            (Ty::Entity(xs), Ty::Entity(ys)) => {
                let possible = xs.iter().any(|c| ys.iter().any(|p| self.cx.schema.may_descend(*c, *p)));
                if !possible {
                    return self.impossible_in(&xs.clone(), &ys.clone(), span);
                }
                self.in_tests.possible.push(span);
                mk(K::InEntity(Box::new(x), Box::new(y)), Ty::Bool, span)
            }
            (Ty::Error, _) | (_, Ty::Error) => error(span),
            (_, other) => {
                let n = self.tyname(other);
                self.err(
                    Diagnostic::new(codes::TYPE_MISMATCH, y.span, format!("expected an entity, found `{n}`"))
                        .with_label_message("not an entity"),
                );
                error(span)
            }
        }
    }
}
