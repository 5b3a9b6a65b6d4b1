//! The surface syntax tree. Every node carries a byte span; equality ignores spans (and
//! the bookkeeping depth), so trees compare by meaning.

use crate::syntax::span::{Span, Spanned};

/// The deepest an expression or type may nest (see diagnostic P0008).
pub const MAX_DEPTH: u32 = 256;

pub type Name = Spanned<String>;

/// One parsed file.
#[derive(Clone, Debug, PartialEq, Default)]
pub struct File {
    pub items: Vec<Item>,
}

#[derive(Clone, Debug, PartialEq)]
pub enum Item {
    Import(Import),
    Schema(Schema),
    Intent(IntentDecl),
    Fn(Box<FnDecl>),
    Rule(Box<Rule>),
    /// Text that did not parse; its diagnostic has been reported.
    Error(Span),
}

impl Item {
    pub fn span(&self) -> Span {
        match self {
            Item::Import(i) => i.span,
            Item::Schema(s) => s.span,
            Item::Intent(i) => i.span,
            Item::Fn(f) => f.span,
            Item::Rule(r) => r.span,
            Item::Error(s) => *s,
        }
    }
}

#[derive(Clone, Debug, PartialEq)]
pub enum ImportKind {
    /// `import std.time` — every dotted segment, `std` included.
    Module(Vec<Name>),
    /// `import "./helpers.writ" as helpers`.
    File { path: Spanned<String>, alias: Name },
}

#[derive(Clone, Debug, PartialEq)]
pub struct Import {
    pub kind: ImportKind,
    pub span: Span,
}

#[derive(Clone, Debug, PartialEq)]
pub struct Schema {
    pub doc: Option<String>,
    pub members: Vec<SchemaMember>,
    pub span: Span,
}

#[derive(Clone, Debug, PartialEq)]
pub enum SchemaMember {
    Enum(EnumDecl),
    Entity(EntityDecl),
    Context(ContextDecl),
    Action(ActionDecl),
    ActionGroup(ActionGroupDecl),
    /// `@max_delegation(4)`: a setting of the schema.
    Setting(Setting),
    Error(Span),
}

#[derive(Clone, Debug, PartialEq)]
pub struct Setting {
    pub name: Name,
    pub value: Spanned<i64>,
    pub span: Span,
}

#[derive(Clone, Debug, PartialEq)]
pub struct EnumDecl {
    pub doc: Option<String>,
    pub name: Name,
    pub variants: Vec<Name>,
    pub span: Span,
}

#[derive(Clone, Debug, PartialEq)]
pub struct EntityDecl {
    pub doc: Option<String>,
    pub name: Name,
    pub parents: Vec<Name>,
    pub attrs: Vec<AttrDecl>,
    pub span: Span,
}

/// `name: Type` or `name: Type?` in an entity, context, action or record type.
#[derive(Clone, Debug, PartialEq)]
pub struct AttrDecl {
    pub doc: Option<String>,
    pub name: Name,
    pub ty: Type,
    pub optional: bool,
    pub span: Span,
}

#[derive(Clone, Debug, PartialEq)]
pub struct ContextDecl {
    pub fields: Vec<AttrDecl>,
    pub span: Span,
}

#[derive(Clone, Debug, PartialEq)]
pub struct ActionDecl {
    pub doc: Option<String>,
    pub name: Name,
    pub principals: Vec<Name>,
    pub resources: Vec<Name>,
    pub context: Vec<AttrDecl>,
    pub span: Span,
}

#[derive(Clone, Debug, PartialEq)]
pub struct ActionGroupDecl {
    pub doc: Option<String>,
    pub name: Name,
    pub actions: Vec<Name>,
    pub span: Span,
}

/// A type as written.
#[derive(Clone, Debug)]
pub struct Type {
    pub kind: TypeKind,
    pub span: Span,
    pub depth: u32,
}

impl PartialEq for Type {
    fn eq(&self, other: &Self) -> bool {
        self.kind == other.kind
    }
}

#[derive(Clone, Debug, PartialEq)]
pub enum TypeKind {
    /// `Bool`, `Int`, an entity or enum name, …
    Named(Name),
    /// `Set<T>`
    Generic(Name, Vec<Type>),
    /// `{ a: T, b: U? }`
    Record(Vec<AttrDecl>),
    Error,
}

#[derive(Clone, Debug, PartialEq)]
pub struct IntentDecl {
    pub doc: Option<String>,
    pub name: Name,
    pub description: Spanned<String>,
    pub entries: Vec<IntentEntry>,
    pub span: Span,
}

/// `ACTIONS on RESOURCE_SCOPE` inside an intent.
#[derive(Clone, Debug, PartialEq)]
pub struct IntentEntry {
    pub actions: ActionScope,
    pub resource: Scope,
    pub span: Span,
}

#[derive(Clone, Debug, PartialEq)]
pub struct FnDecl {
    pub doc: Option<String>,
    pub name: Name,
    pub params: Vec<Param>,
    pub ret: Type,
    pub body: Expr,
    pub span: Span,
}

#[derive(Clone, Debug, PartialEq)]
pub struct Param {
    pub name: Name,
    pub ty: Type,
}

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

#[derive(Clone, Debug, PartialEq)]
pub struct Annotation {
    pub name: Name,
    pub value: Spanned<String>,
    pub span: Span,
}

#[derive(Clone, Debug, PartialEq)]
pub struct Rule {
    pub doc: Option<String>,
    pub annotations: Vec<Annotation>,
    pub effect: Spanned<Effect>,
    pub principal: Spanned<Scope>,
    pub actions: Spanned<ActionScope>,
    pub resource: Spanned<Scope>,
    pub clauses: Vec<Clause>,
    pub span: Span,
}

impl Rule {
    /// The value of `@id("…")`, if present.
    pub fn id(&self) -> Option<&Spanned<String>> {
        self.annotations.iter().find(|a| a.name.node == "id").map(|a| &a.value)
    }
}

/// `Type::"id"`
#[derive(Clone, Debug, PartialEq)]
pub struct EntityRef {
    pub ty: Name,
    pub id: Spanned<String>,
}

/// The principal or resource part of a rule target, or the resource scope of an intent.
#[derive(Clone, Debug, PartialEq)]
pub enum Scope {
    /// `*`
    Any,
    /// `Agent`
    Type(Name),
    /// `Agent::"bot"`
    Entity(EntityRef),
    /// `Agent in Team::"support"`
    TypeIn(Name, EntityRef),
    /// `Agent::"bot" in Team::"support"`
    EntityIn(EntityRef, EntityRef),
}

#[derive(Clone, Debug, PartialEq)]
pub enum ActionScope {
    /// `*`
    Any,
    /// An action or action group name.
    One(Name),
    /// `[a, b]`
    List(Vec<Name>),
}

#[derive(Clone, Debug, PartialEq)]
pub enum Clause {
    When(Expr),
    Unless(Expr),
    Because(Spanned<String>),
    Grant(Expr),
}

/// An expression. `depth` is the nesting depth below and including this node.
#[derive(Clone, Debug)]
pub struct Expr {
    pub kind: ExprKind,
    pub span: Span,
    pub depth: u32,
}

impl PartialEq for Expr {
    fn eq(&self, other: &Self) -> bool {
        self.kind == other.kind
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum BinOp {
    Eq,
    Ne,
    Lt,
    Le,
    Gt,
    Ge,
    In,
    Add,
    Sub,
    Mul,
}

impl BinOp {
    pub fn as_str(self) -> &'static str {
        match self {
            BinOp::Eq => "==",
            BinOp::Ne => "!=",
            BinOp::Lt => "<",
            BinOp::Le => "<=",
            BinOp::Gt => ">",
            BinOp::Ge => ">=",
            BinOp::In => "in",
            BinOp::Add => "+",
            BinOp::Sub => "-",
            BinOp::Mul => "*",
        }
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum UnOp {
    Not,
    Neg,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Quantifier {
    All,
    Any,
}

#[derive(Clone, Debug, PartialEq)]
pub enum ExprKind {
    Bool(bool),
    Int(i64),
    Str(String),
    /// Milliseconds.
    Duration(i64),
    /// A bare identifier: `principal`, `resource`, `on_behalf_of`, a bound variable, a bare
    /// enum value or intent name, a module name. The checker decides which.
    Var(String),
    /// The keywords usable as values.
    Action,
    Context,
    Intent,
    EntityRef(EntityRef),
    Set(Vec<Expr>),
    Record(Vec<(Name, Expr)>),
    /// `e.f`
    Field(Box<Expr>, Name),
    /// `e.m(args)`, including `module.f(args)`.
    Method(Box<Expr>, Name, Vec<Expr>),
    /// `f(args)`: a local `fn`, or a constructor like `timestamp("…")`.
    Call(Name, Vec<Expr>),
    Unary(UnOp, Box<Expr>),
    Binary(BinOp, Box<Expr>, Box<Expr>),
    /// Flattened `a and b and c` (short-circuits left to right).
    And(Vec<Expr>),
    /// Flattened `a or b or c`.
    Or(Vec<Expr>),
    /// `e is Type` or `e is Type in e2`.
    Is(Box<Expr>, Name, Option<Box<Expr>>),
    /// `e has attr`
    Has(Box<Expr>, Name),
    /// `e like "glob"`
    Like(Box<Expr>, Box<Expr>),
    If(Box<Expr>, Box<Expr>, Box<Expr>),
    /// `all x in S: body` / `any x in S: body`
    Quant(Quantifier, Name, Box<Expr>, Box<Expr>),
    /// Did not parse; its diagnostic has been reported.
    Error,
}

impl ExprKind {
    /// Calls `f` on each direct child, left to right.
    pub fn for_each_child<'a>(&'a self, mut f: impl FnMut(&'a Expr)) {
        match self {
            ExprKind::Bool(_)
            | ExprKind::Int(_)
            | ExprKind::Str(_)
            | ExprKind::Duration(_)
            | ExprKind::Var(_)
            | ExprKind::Action
            | ExprKind::Context
            | ExprKind::Intent
            | ExprKind::EntityRef(_)
            | ExprKind::Error => {}
            ExprKind::Set(es) | ExprKind::And(es) | ExprKind::Or(es) | ExprKind::Call(_, es) => es.iter().for_each(f),
            ExprKind::Record(fs) => fs.iter().for_each(|(_, e)| f(e)),
            ExprKind::Field(e, _) | ExprKind::Unary(_, e) | ExprKind::Has(e, _) => f(e),
            ExprKind::Method(e, _, args) => {
                f(e);
                args.iter().for_each(f);
            }
            ExprKind::Binary(_, a, b) | ExprKind::Like(a, b) | ExprKind::Quant(_, _, a, b) => {
                f(a);
                f(b);
            }
            ExprKind::Is(e, _, parent) => {
                f(e);
                if let Some(p) = parent {
                    f(p);
                }
            }
            ExprKind::If(a, b, c) => {
                f(a);
                f(b);
                f(c);
            }
        }
    }

    /// The direct children, for walkers that do not care about the node kind.
    pub fn children(&self) -> Vec<&Expr> {
        let mut out = Vec::new();
        self.for_each_child(|c| out.push(c));
        out
    }
}
