//! The typed decision IR: what the checker produces and both back ends consume.
//!
//! Names are resolved (entity types, attributes, actions, enum values and intents are ids or
//! indices), every node carries its type and span, `fn`s are inlined (arguments bound once
//! with `Let`), constants are folded and validated (timestamps, IPs, globs are parsed), and
//! rules are specialised per request shape: a rule gets one [`Body`] for each (principal
//! type, resource type, action context shape) its target admits. [`PolicySet::index`]
//! lists, for each (action, principal type, resource type), exactly the bodies that can
//! apply.

pub mod builtins;
pub mod schema;
pub mod types;
pub mod value;

use crate::syntax::span::Span;
pub use builtins::Builtin;
use schema::{ActionId, EntityConstraint, EntityTypeId, Schema};
use std::collections::HashMap;
use std::sync::Arc;
pub use types::{FieldTy, RecordTy, Ty};
pub use value::{EntityUid, Glob, IpNet, Value};

/// The evaluation budget of one decision, in units of *fuel*, unless the engine is given
/// another ([`crate::Engine::with_fuel`]). Both back ends spend fuel alike, so they run out
/// at the same point of the same rule:
///
/// * one unit each time a quantifier (`all`, `any`) evaluates its body;
/// * one unit per element of each set operand of `in` (on sets), `==` and `!=` between sets,
///   and the set methods `contains`, `contains_any`, `contains_all` — charged before the
///   operation, whatever it then looks at. A set written in the policy itself as the right
///   operand of `in` (`intent in [triage, audit]`) costs nothing: its size is bounded by the
///   policy, and the JIT skips a body whose first test is such an `intent in` without
///   running it (see [`constant_set`]).
///
/// Rules are evaluated in rule order (for the principal, then each hop of the delegation
/// chain), and a permit's grant after every rule body. An operation that needs more than
/// is left empties the budget and fails its rule closed (docs/decisions.md: an erroring forbid or
/// escalate applies, a permit does not); the error is listed in the decision. The default is
/// generous: ordinary decisions spend a few units, and a million units take milliseconds.
pub const DEFAULT_FUEL: u64 = 1_000_000;

/// Whether a set operand is written in the policy (a folded set constant, or a set of
/// literals): `in` over it costs no fuel in either back end.
pub(crate) fn constant_set(e: &Expr) -> bool {
    match &e.kind {
        ExprKind::Lit(Value::Set(_)) => true,
        ExprKind::Set(items) => items.iter().all(|x| matches!(x.kind, ExprKind::Lit(_))),
        _ => false,
    }
}

/// A typed expression.
#[derive(Clone, Debug, PartialEq)]
pub struct Expr {
    pub kind: ExprKind,
    pub ty: Ty,
    pub span: Span,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum CmpOp {
    Eq,
    Ne,
    Lt,
    Le,
    Gt,
    Ge,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum ArithOp {
    Add,
    Sub,
    Mul,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Quantifier {
    All,
    Any,
}

#[derive(Clone, Debug, PartialEq)]
pub enum ExprKind {
    Lit(Value),
    Principal,
    Resource,
    /// The request's context record (the action's context shape).
    Context,
    Action,
    Intent,
    /// The delegation chain, a set of entities.
    OnBehalfOf,
    /// A local: a quantifier variable or an inlined function's parameter.
    Local(u32),
    /// `let local = value in body` (from inlining a `fn` call: arguments are evaluated once).
    Let(u32, Box<Expr>, Box<Expr>),
    /// Attribute of an entity (the base has a single entity type): index into its attrs.
    Attr(Box<Expr>, u32),
    /// Field of a record: index into the record type's (sorted) fields.
    Field(Box<Expr>, u32),
    /// `e has a` for an entity attribute / a record field (index as above).
    HasAttr(Box<Expr>, u32),
    HasField(Box<Expr>, u32),
    Set(Vec<Expr>),
    /// A record literal: one expression per field of its type, in field order.
    Record(Vec<Expr>),
    Not(Box<Expr>),
    Neg(Box<Expr>),
    And(Vec<Expr>),
    Or(Vec<Expr>),
    If(Box<Expr>, Box<Expr>, Box<Expr>),
    /// Comparison; ordering operators only on Int, Duration, Timestamp and enums.
    Cmp(CmpOp, Box<Expr>, Box<Expr>),
    /// Checked arithmetic: Int ± * Int, Duration ± Duration, Timestamp ± Duration,
    /// Timestamp - Timestamp, Duration * Int.
    Arith(ArithOp, Box<Expr>, Box<Expr>),
    /// `entity in entity` (membership, transitive, equality counts).
    InEntity(Box<Expr>, Box<Expr>),
    /// `entity in set-of-entities`: member of any of them.
    InEntitySet(Box<Expr>, Box<Expr>),
    /// `value in set`: plain set membership.
    InSet(Box<Expr>, Box<Expr>),
    /// `e is T`.
    Is(Box<Expr>, EntityTypeId),
    /// `e like "constant glob"`.
    Like(Box<Expr>, Glob),
    /// `e like pattern` where the pattern is only known at run time.
    LikeDynamic(Box<Expr>, Box<Expr>),
    /// `all x in S: body` / `any …`, `x` bound to the local.
    Quant(Quantifier, u32, Box<Expr>, Box<Expr>),
    /// A built-in function or method.
    Call(Builtin, Vec<Expr>),
}

impl Expr {
    /// Calls `f` on each direct child.
    pub fn for_each_child<'a>(&'a self, mut f: impl FnMut(&'a Expr)) {
        match &self.kind {
            ExprKind::Lit(_)
            | ExprKind::Principal
            | ExprKind::Resource
            | ExprKind::Context
            | ExprKind::Action
            | ExprKind::Intent
            | ExprKind::OnBehalfOf
            | ExprKind::Local(_) => {}
            ExprKind::Attr(e, _)
            | ExprKind::Field(e, _)
            | ExprKind::HasAttr(e, _)
            | ExprKind::HasField(e, _)
            | ExprKind::Not(e)
            | ExprKind::Neg(e)
            | ExprKind::Is(e, _)
            | ExprKind::Like(e, _) => f(e),
            ExprKind::Set(es) | ExprKind::Record(es) | ExprKind::And(es) | ExprKind::Or(es) | ExprKind::Call(_, es) => {
                es.iter().for_each(f)
            }
            ExprKind::Let(_, a, b)
            | ExprKind::Cmp(_, a, b)
            | ExprKind::Arith(_, a, b)
            | ExprKind::InEntity(a, b)
            | ExprKind::InEntitySet(a, b)
            | ExprKind::InSet(a, b)
            | ExprKind::LikeDynamic(a, b)
            | ExprKind::Quant(_, _, a, b) => {
                f(a);
                f(b);
            }
            ExprKind::If(a, b, c) => {
                f(a);
                f(b);
                f(c);
            }
        }
    }

    /// Number of nodes.
    pub fn size(&self) -> usize {
        let mut n = 1;
        self.for_each_child(|c| n += c.size());
        n
    }

    /// The value of a constant condition (not of an error node).
    pub fn as_bool(&self) -> Option<bool> {
        match self.kind {
            ExprKind::Lit(Value::Bool(b)) if self.ty == Ty::Bool => Some(b),
            _ => None,
        }
    }
}

/// One `when` or `unless` clause, evaluated in the order written.
#[derive(Clone, Debug, PartialEq)]
pub struct Clause {
    /// `true` for `when`, `false` for `unless`.
    pub when: bool,
    pub expr: Expr,
}

/// A rule specialised to one request shape.
#[derive(Clone, Debug, PartialEq)]
pub struct Body {
    pub principal_type: EntityTypeId,
    pub resource_type: EntityTypeId,
    /// The actions (of the rule's) whose context shape this body was checked against.
    pub actions: Vec<ActionId>,
    pub clauses: Vec<Clause>,
    /// `grant { … }`: key and value expression, keys sorted.
    pub grant: Vec<(String, Expr)>,
    /// How many locals evaluation needs.
    pub locals: u32,
}

impl Body {
    /// Whether every value of the grant is a literal (the usual `grant { ttl: 15m }`): the
    /// back ends then read the values from here instead of computing them.
    pub fn constant_grant(&self) -> bool {
        self.grant.iter().all(|(_, e)| matches!(e.kind, ExprKind::Lit(_)))
    }
}

/// How many steps an explanation takes to narrow a failed clause (through `and`s, `or`s
/// and inlined calls), at most: the IR is at most 400 deep, so this is never the limit.
pub const MAX_EXPLAIN_STEPS: usize = 1_000;

/// What a rule does when it applies. The surface syntax has its own (`syntax::ast::Effect`);
/// the checker maps it here, so the back ends know nothing of the syntax.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Effect {
    Permit,
    Forbid,
    Escalate,
}

impl Effect {
    pub fn as_str(self) -> &'static str {
        match self {
            Effect::Permit => "permit",
            Effect::Forbid => "forbid",
            Effect::Escalate => "escalate",
        }
    }
}

/// A rule after checking.
#[derive(Clone, Debug, PartialEq)]
pub struct Rule {
    /// `@id("…")`, or `FILE:LINE` when the rule has none.
    pub id: Arc<str>,
    pub effect: Effect,
    pub message: Option<Arc<str>>,
    pub doc: Option<String>,
    pub principal: EntityConstraint,
    pub resource: EntityConstraint,
    pub actions: Vec<ActionId>,
    pub bodies: Vec<Body>,
    pub span: Span,
    pub file: Arc<str>,
    /// One-based line of the rule's first token.
    pub line: u32,
}

/// A checked policy set: the schema, the rules and the rule index.
#[derive(Clone, Debug, Default)]
pub struct PolicySet {
    pub schema: Schema,
    pub rules: Vec<Rule>,
    /// (action, principal type, resource type) → (rule, body) pairs that can apply, in rule
    /// order.
    pub index: HashMap<(ActionId, EntityTypeId, EntityTypeId), Vec<(u32, u32)>>,
}

impl PolicySet {
    /// Builds the rule index from the rules' bodies.
    pub fn build_index(&mut self) {
        self.index.clear();
        for (ri, rule) in self.rules.iter().enumerate() {
            for (bi, body) in rule.bodies.iter().enumerate() {
                for a in &body.actions {
                    self.index
                        .entry((*a, body.principal_type, body.resource_type))
                        .or_default()
                        .push((u32::try_from(ri).unwrap_or(u32::MAX), u32::try_from(bi).unwrap_or(u32::MAX)));
                }
            }
        }
    }

    /// The (rule, body) pairs that can apply to a request of this shape.
    pub fn candidates(&self, action: ActionId, principal: EntityTypeId, resource: EntityTypeId) -> &[(u32, u32)] {
        self.index.get(&(action, principal, resource)).map_or(&[], Vec::as_slice)
    }

    /// Every string constant in the rules, for interning by a back end.
    pub fn string_constants(&self) -> Vec<&str> {
        fn walk<'a>(e: &'a Expr, out: &mut Vec<&'a str>) {
            match &e.kind {
                ExprKind::Lit(v) => value_strings(v, out),
                ExprKind::Like(_, g) => out.extend(g.pieces.iter().map(String::as_str)),
                _ => {}
            }
            e.for_each_child(|c| walk(c, out));
        }
        fn value_strings<'a>(v: &'a Value, out: &mut Vec<&'a str>) {
            match v {
                Value::Str(s) => out.push(s),
                Value::Entity(u) => out.push(&u.id),
                Value::Set(items) => items.iter().for_each(|i| value_strings(i, out)),
                Value::Record(fields) => fields.iter().flatten().for_each(|i| value_strings(i, out)),
                _ => {}
            }
        }
        let mut out = Vec::new();
        for r in &self.rules {
            for b in &r.bodies {
                b.clauses.iter().for_each(|c| walk(&c.expr, &mut out));
                b.grant.iter().for_each(|(_, e)| walk(e, &mut out));
            }
        }
        out.sort_unstable();
        out.dedup();
        out
    }
}
