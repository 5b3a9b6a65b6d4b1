//! The reference interpreter: walks the typed IR. Its results *are* the semantics; the JIT
//! must agree with it on every decision.

pub mod coverage;

use crate::decision::{
    Decision, DecisionError, EntityRef, Escalation, Explanation, NearMiss, Obligations, Reason, Reasons, Verdict,
    typed_value_to_json, value_to_json,
};
use crate::host::{EntityStore, Request};
use crate::ir::Effect;
use crate::ir::schema::{EntityConstraint, Schema};
use crate::ir::value::{EntityUid, Glob, Value};
use crate::ir::{self, ArithOp, Body, CmpOp, ExprKind as K, PolicySet, Quantifier, Rule, builtins};
use crate::syntax::span::SourceMap;
use smallvec::SmallVec;
use std::collections::BTreeMap;
use std::fmt;

/// Why evaluating a condition failed. After checking, only overflow and running out of the
/// evaluation budget (`Fuel`) can happen on valid input; the other variants guard invariants
/// and fail closed if one is ever broken.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum EvalError {
    Overflow(&'static str),
    MissingEntity(String),
    MissingValue(&'static str),
    Internal(&'static str),
    /// The decision's evaluation budget ([`crate::ir::DEFAULT_FUEL`]) ran out.
    Fuel,
}

impl fmt::Display for EvalError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            EvalError::Overflow(op) => write!(f, "integer overflow in `{op}`"),
            EvalError::MissingEntity(e) => write!(f, "unknown entity {e}"),
            EvalError::MissingValue(what) => write!(f, "{what} is absent"),
            EvalError::Internal(what) => write!(f, "internal error: {what}"),
            EvalError::Fuel => f.write_str("the decision's evaluation budget is exhausted"),
        }
    }
}

type R<T> = Result<T, EvalError>;

/// Evaluates expressions for one request and one principal (the request's, or a hop of
/// its delegation chain).
struct Eval<'a> {
    schema: &'a Schema,
    store: &'a EntityStore,
    req: &'a Request,
    principal: &'a EntityUid,
    locals: Vec<Value>,
    /// What is left of the decision's evaluation budget (see [`crate::ir::DEFAULT_FUEL`]).
    fuel: u64,
}

fn as_bool(v: Value) -> R<bool> {
    match v {
        Value::Bool(b) => Ok(b),
        _ => Err(EvalError::Internal("expected a Bool")),
    }
}

fn num(v: &Value) -> R<i64> {
    match v {
        Value::Int(n) | Value::Duration(n) | Value::Timestamp(n) => Ok(*n),
        _ => Err(EvalError::Internal("expected a number")),
    }
}

impl<'a> Eval<'a> {
    fn entity(&self, uid: &EntityUid) -> R<&'a crate::host::Entity> {
        self.req
            .entity(self.store, uid)
            .ok_or_else(|| EvalError::MissingEntity(format!("{}::{:?}", self.schema.entity_name(uid.ty), &*uid.id)))
    }

    fn is_in(&self, a: &EntityUid, b: &EntityUid) -> R<bool> {
        Ok(self.req.is_in(self.store, a, b))
    }

    /// Spends `n` units of the budget; running out empties it and is an error.
    fn charge(&mut self, n: usize) -> R<()> {
        match self.fuel.checked_sub(n as u64) {
            Some(left) => {
                self.fuel = left;
                Ok(())
            }
            None => {
                self.fuel = 0;
                Err(EvalError::Fuel)
            }
        }
    }

    fn eval(&mut self, e: &ir::Expr) -> R<Value> {
        Ok(match &e.kind {
            K::Lit(v) => v.clone(),
            K::Principal => Value::Entity(self.principal.clone()),
            K::Resource => Value::Entity(self.req.resource.clone()),
            K::Context => self.req.context.clone(),
            K::Action => Value::Action(self.req.action),
            K::Intent => Value::Intent(self.req.intent),
            K::OnBehalfOf => Value::set(self.req.on_behalf_of.iter().cloned().map(Value::Entity).collect()),
            K::Local(n) => self.locals.get(*n as usize).cloned().ok_or(EvalError::Internal("unbound local"))?,
            K::Let(n, v, body) => {
                let v = self.eval(v)?;
                let slot = self.locals.get_mut(*n as usize).ok_or(EvalError::Internal("unbound local"))?;
                *slot = v;
                self.eval(body)?
            }
            K::Attr(b, i) => match self.eval(b)? {
                Value::Entity(uid) => {
                    let ent = self.entity(&uid)?;
                    ent.attrs
                        .get(*i as usize)
                        .cloned()
                        .flatten()
                        .ok_or(EvalError::MissingValue("an optional attribute"))?
                }
                _ => return Err(EvalError::Internal("attribute of a non-entity")),
            },
            K::Field(b, i) => match self.eval(b)? {
                Value::Record(fields) => {
                    fields.get(*i as usize).cloned().flatten().ok_or(EvalError::MissingValue("an optional field"))?
                }
                _ => return Err(EvalError::Internal("field of a non-record")),
            },
            K::HasAttr(b, i) => match self.eval(b)? {
                Value::Entity(uid) => {
                    Value::Bool(self.entity(&uid)?.attrs.get(*i as usize).is_some_and(Option::is_some))
                }
                _ => return Err(EvalError::Internal("`has` on a non-entity")),
            },
            K::HasField(b, i) => match self.eval(b)? {
                Value::Record(fields) => Value::Bool(fields.get(*i as usize).is_some_and(Option::is_some)),
                _ => return Err(EvalError::Internal("`has` on a non-record")),
            },
            K::Set(es) => {
                let mut out = Vec::with_capacity(es.len());
                for x in es {
                    out.push(self.eval(x)?);
                }
                Value::set(out)
            }
            K::Record(es) => {
                let mut out = Vec::with_capacity(es.len());
                for x in es {
                    out.push(Some(self.eval(x)?));
                }
                Value::Record(out.into())
            }
            K::Not(x) => Value::Bool(!as_bool(self.eval(x)?)?),
            K::Neg(x) => match self.eval(x)? {
                Value::Int(n) => Value::Int(n.checked_neg().ok_or(EvalError::Overflow("-"))?),
                Value::Duration(n) => Value::Duration(n.checked_neg().ok_or(EvalError::Overflow("-"))?),
                _ => return Err(EvalError::Internal("negation of a non-number")),
            },
            K::And(es) => {
                for x in es {
                    if !as_bool(self.eval(x)?)? {
                        return Ok(Value::Bool(false));
                    }
                }
                Value::Bool(true)
            }
            K::Or(es) => {
                for x in es {
                    if as_bool(self.eval(x)?)? {
                        return Ok(Value::Bool(true));
                    }
                }
                Value::Bool(false)
            }
            K::If(c, a, b) => {
                if as_bool(self.eval(c)?)? {
                    self.eval(a)?
                } else {
                    self.eval(b)?
                }
            }
            K::Cmp(op, a, b) => {
                let (x, y) = (self.eval(a)?, self.eval(b)?);
                // Values of different kinds have no meaningful order or equality: the checker
                // never lets them meet, so meeting them is an internal error (fail closed).
                if !same_kind(&x, &y) {
                    return Err(EvalError::Internal(MIXED_KINDS));
                }
                if let (Value::Set(p), Value::Set(q)) = (&x, &y) {
                    self.charge(p.len() + q.len())?;
                }
                Value::Bool(match op {
                    CmpOp::Eq => x == y,
                    CmpOp::Ne => x != y,
                    CmpOp::Lt => x < y,
                    CmpOp::Le => x <= y,
                    CmpOp::Gt => x > y,
                    CmpOp::Ge => x >= y,
                })
            }
            K::Arith(op, a, b) => {
                let (x, y) = (self.eval(a)?, self.eval(b)?);
                let (p, q) = (num(&x)?, num(&y)?);
                let (r, sym) = match op {
                    ArithOp::Add => (p.checked_add(q), "+"),
                    ArithOp::Sub => (p.checked_sub(q), "-"),
                    ArithOp::Mul => (p.checked_mul(q), "*"),
                };
                let r = r.ok_or(EvalError::Overflow(sym))?;
                match e.ty {
                    ir::Ty::Int => Value::Int(r),
                    ir::Ty::Duration => Value::Duration(r),
                    _ => Value::Timestamp(r),
                }
            }
            K::InEntity(a, b) => match (self.eval(a)?, self.eval(b)?) {
                (Value::Entity(x), Value::Entity(y)) => Value::Bool(self.is_in(&x, &y)?),
                _ => return Err(EvalError::Internal("`in` on non-entities")),
            },
            K::InEntitySet(a, b) => match (self.eval(a)?, self.eval(b)?) {
                (Value::Entity(x), Value::Set(ys)) => {
                    self.charge(ys.len())?;
                    let mut found = false;
                    for y in ys.iter() {
                        if let Value::Entity(y) = y {
                            if self.is_in(&x, y)? {
                                found = true;
                                break;
                            }
                        }
                    }
                    Value::Bool(found)
                }
                _ => return Err(EvalError::Internal("`in` on non-entities")),
            },
            K::InSet(a, b) => match (self.eval(a)?, self.eval(b)?) {
                (x, Value::Set(ys)) => {
                    if !ir::constant_set(b) {
                        self.charge(ys.len())?;
                    }
                    Value::Bool(ys.binary_search(&x).is_ok())
                }
                _ => return Err(EvalError::Internal("`in` on a non-set")),
            },
            K::Is(x, t) => match self.eval(x)? {
                Value::Entity(uid) => Value::Bool(uid.ty == *t),
                _ => return Err(EvalError::Internal("`is` on a non-entity")),
            },
            K::Like(x, g) => match self.eval(x)? {
                Value::Str(s) => Value::Bool(g.matches(&s)),
                _ => return Err(EvalError::Internal("`like` on a non-string")),
            },
            K::LikeDynamic(x, p) => match (self.eval(x)?, self.eval(p)?) {
                (Value::Str(s), Value::Str(p)) => Value::Bool(Glob::parse_lenient(&p).matches(&s)),
                _ => return Err(EvalError::Internal("`like` on a non-string")),
            },
            K::Quant(q, slot, set, body) => {
                let Value::Set(items) = self.eval(set)? else {
                    return Err(EvalError::Internal("quantifier over a non-set"));
                };
                let want = matches!(q, Quantifier::Any);
                for item in items.iter() {
                    self.charge(1)?;
                    let s = self.locals.get_mut(*slot as usize).ok_or(EvalError::Internal("unbound local"))?;
                    *s = item.clone();
                    if as_bool(self.eval(body)?)? == want {
                        return Ok(Value::Bool(want));
                    }
                }
                Value::Bool(!want)
            }
            K::Call(b, args) => {
                let mut vals = Vec::with_capacity(args.len());
                for a in args {
                    vals.push(self.eval(a)?);
                }
                self.charge(scanned(*b, &vals))?;
                builtins::eval(*b, &vals).map_err(|e| match e {
                    builtins::BuiltinError::Overflow(op) => EvalError::Overflow(op),
                    builtins::BuiltinError::BadArguments => EvalError::Internal("bad arguments to a built-in"),
                })?
            }
        })
    }
}

/// The message of a comparison between values of different kinds (both back ends).
pub(crate) const MIXED_KINDS: &str = "comparison of values of different kinds";

/// Whether two values are of the same kind, down to the elements of sets and the fields of
/// records (sets are homogeneous: their first elements stand for all).
fn same_kind(x: &Value, y: &Value) -> bool {
    match (x, y) {
        (Value::Set(a), Value::Set(b)) => match (a.first(), b.first()) {
            (Some(a), Some(b)) => same_kind(a, b),
            _ => true,
        },
        (Value::Record(a), Value::Record(b)) => {
            a.len() == b.len()
                && a.iter().zip(b.iter()).all(|(a, b)| match (a, b) {
                    (Some(a), Some(b)) => same_kind(a, b),
                    _ => true,
                })
        }
        _ => std::mem::discriminant(x) == std::mem::discriminant(y),
    }
}

/// The fuel a set built-in costs: one unit per element of its set operands (whatever the
/// algorithm: the measure must not depend on the back end).
fn scanned(b: builtins::Builtin, args: &[Value]) -> usize {
    let len = |i: usize| match args.get(i) {
        Some(Value::Set(s)) => s.len(),
        _ => 0,
    };
    match b {
        builtins::Builtin::SetContains => len(0),
        builtins::Builtin::SetContainsAny | builtins::Builtin::SetContainsAll => len(0) + len(1),
        _ => 0,
    }
}

/// How a rule's clauses came out.
enum BodyResult {
    Applies,
    /// The clause at this index stopped it.
    Fails(usize),
    Error(EvalError),
}

/// The rules that applied to one principal (what a back end computes; the decision is then
/// assembled from outcomes by [`assemble`], the same code for both back ends).
/// Inline room for the usual handful, so computing an outcome does not allocate.
#[derive(Default)]
pub(crate) struct Outcome<'p> {
    pub forbids: SmallVec<[&'p Rule; 2]>,
    pub escalates: SmallVec<[&'p Rule; 2]>,
    pub permits: SmallVec<[(&'p Rule, Grant<'p>); 1]>,
    pub errors: Vec<DecisionError>,
}

impl<'p> Outcome<'p> {
    /// Adds a permit that applied with the grant it computed for this request (both back
    /// ends add computed grants through here, so they agree). A `ttl` that is not positive
    /// makes the permit fail closed: it does not apply, and the error is listed. (A
    /// constant one is a compile error, E0110, so a grant of literals needs no check.)
    pub(crate) fn permit_computed(&mut self, rule: &'p Rule, values: Vec<(&'p str, Value)>) {
        match values.iter().find(|(k, _)| *k == "ttl") {
            Some((_, Value::Duration(ms))) if *ms <= 0 => self.errors.push(DecisionError {
                rule: rule.id.clone(),
                message: format!(
                    "the granted `ttl` is `{}`; it must be positive",
                    crate::ir::value::format_duration(*ms)
                ),
            }),
            _ => self.permits.push((rule, Grant::Computed(values))),
        }
    }

    /// Fails closed on a broken invariant (a look-up that cannot miss missed): an error, and
    /// a forbid that applies, so the decision denies.
    pub(crate) fn fail_closed(&mut self, what: &'static str) {
        let rule = broken_rule();
        self.errors.push(DecisionError { rule: rule.id.clone(), message: EvalError::Internal(what).to_string() });
        self.forbids.push(rule);
    }
}

/// The forbid that stands for a broken invariant in an outcome (see [`Outcome::fail_closed`]).
fn broken_rule() -> &'static Rule {
    static BROKEN: std::sync::LazyLock<Rule> = std::sync::LazyLock::new(|| Rule {
        id: "internal-error".into(),
        effect: Effect::Forbid,
        message: Some("an internal error stopped the evaluation".into()),
        doc: None,
        principal: EntityConstraint::Any,
        resource: EntityConstraint::Any,
        actions: Vec::new(),
        bodies: Vec::new(),
        span: crate::syntax::span::Span::default(),
        file: "".into(),
        line: 0,
    });
    &BROKEN
}

/// The values a permit grants, by obligation name.
pub(crate) enum Grant<'p> {
    /// Every value a literal of the rule (`grant { ttl: 15m }`, or no grant at all): read
    /// from the IR, so an outcome neither computes nor copies them.
    Literal(&'p [(String, ir::Expr)]),
    /// Values computed for this request.
    Computed(Vec<(&'p str, Value)>),
}

impl<'p> Grant<'p> {
    /// Calls `f` with each key and value.
    fn each(&self, mut f: impl FnMut(&'p str, &Value)) {
        match self {
            Grant::Literal(entries) => {
                for (k, e) in entries.iter() {
                    if let K::Lit(v) = &e.kind {
                        f(k, v);
                    }
                }
            }
            Grant::Computed(values) => values.iter().for_each(|(k, v)| f(k, v)),
        }
    }
}

/// The interpreter over one checked policy set.
pub struct Interpreter<'p> {
    policy: &'p PolicySet,
    fuel: u64,
}

impl<'p> Interpreter<'p> {
    /// An interpreter with the default evaluation budget ([`crate::ir::DEFAULT_FUEL`]).
    #[cfg(test)]
    pub fn new(policy: &'p PolicySet) -> Self {
        Interpreter::with_fuel(policy, crate::ir::DEFAULT_FUEL)
    }

    /// An interpreter whose decisions may spend at most `fuel` units of evaluation (see
    /// [`crate::ir::DEFAULT_FUEL`] for what a unit is). A rule that runs out fails closed.
    ///
    /// ```
    /// let policies = writ::PolicySet::from_sources(&[(
    ///     "p.writ",
    ///     r#"schema { entity Agent  entity Tool  action call: Agent -> Tool { tags: Set<String> } }
    ///        @id("p") permit Agent to call on Tool when all t in context.tags: t != "x";"#,
    /// )]).map_err(|e| e.to_string())?;
    /// let engine = writ::Engine::interpreted(&policies);
    /// let entities = engine.entities_from_json(r#"[{"type": "Agent", "id": "a"}, {"type": "Tool", "id": "t"}]"#)?;
    /// let request = engine.request_from_json(
    ///     r#"{"principal": {"type": "Agent", "id": "a"}, "action": "call",
    ///         "resource": {"type": "Tool", "id": "t"}, "context": {"tags": ["a", "b", "c"]}}"#,
    ///     &entities,
    /// )?;
    /// // One unit per element the quantifier looks at: three are enough, two are not.
    /// let interp = writ::Engine::interpreted(&policies).with_fuel(3);
    /// assert_eq!(interp.decide(&request).decision, writ::Verdict::Allow);
    /// let starved = writ::Engine::interpreted(&policies).with_fuel(2);
    /// let d = starved.decide(&request);
    /// assert_eq!((d.decision, d.errors.len()), (writ::Verdict::Deny, 1));
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn with_fuel(policy: &'p PolicySet, fuel: u64) -> Self {
        Interpreter { policy, fuel }
    }

    /// Evaluates one expression (lowered for this request's shape, with `locals` locals)
    /// for the request's principal.
    pub(crate) fn evaluate(
        &self,
        e: &ir::Expr,
        locals: u32,
        req: &Request,
        store: &EntityStore,
    ) -> Result<Value, EvalError> {
        let mut ev = Eval {
            schema: &self.policy.schema,
            store,
            req,
            principal: &req.principal,
            locals: vec![Value::Bool(false); locals as usize],
            fuel: self.fuel,
        };
        ev.eval(e)
    }

    fn matches(&self, c: &EntityConstraint, uid: &EntityUid, req: &Request, store: &EntityStore) -> bool {
        let is_in = |a: &EntityUid, b: &EntityUid| req.is_in(store, a, b);
        match c {
            EntityConstraint::Any => true,
            EntityConstraint::Is(x) => uid == x,
            EntityConstraint::In(x) => is_in(uid, x),
            EntityConstraint::IsIn(x, y) => uid == x && is_in(uid, y),
        }
    }

    fn run_body(&self, body: &Body, ev: &mut Eval<'_>) -> BodyResult {
        ev.locals.clear();
        ev.locals.resize(body.locals as usize, Value::Bool(false));
        for (i, c) in body.clauses.iter().enumerate() {
            match ev.eval(&c.expr).and_then(as_bool) {
                Ok(v) if v == c.when => {}
                Ok(_) => return BodyResult::Fails(i),
                Err(e) => return BodyResult::Error(e),
            }
        }
        BodyResult::Applies
    }

    /// Every rule that applies to `principal` for this request. `fuel` is what is left of
    /// the decision's budget, spent and updated here.
    fn outcome(&self, req: &Request, store: &EntityStore, principal: &EntityUid, fuel: &mut u64) -> Outcome<'p> {
        let policy = self.policy;
        let mut out = Outcome::default();
        let mut ev = Eval { schema: &policy.schema, store, req, principal, locals: Vec::new(), fuel: *fuel };
        // The bodies that applied or failed, in rule order. The grants of the permits among
        // them are computed once every body has run, as the JIT does, so that both back ends
        // spend the budget in the same order.
        let mut hits: SmallVec<[(&'p Rule, &'p Body, Option<EvalError>); 4]> = SmallVec::new();
        for &(ri, bi) in policy.candidates(req.action, principal.ty, req.resource.ty) {
            let found = policy.rules.get(ri as usize).and_then(|r| Some((r, r.bodies.get(bi as usize)?)));
            let Some((rule, body)) = found else {
                out.fail_closed("the rule index names a rule that does not exist");
                continue;
            };
            if !self.matches(&rule.principal, principal, req, store)
                || !self.matches(&rule.resource, &req.resource, req, store)
            {
                continue;
            }
            match self.run_body(body, &mut ev) {
                BodyResult::Applies => hits.push((rule, body, None)),
                BodyResult::Fails(_) => {}
                BodyResult::Error(e) => hits.push((rule, body, Some(e))),
            }
        }
        for (rule, body, error) in hits {
            if let Some(e) = error {
                out.errors.push(DecisionError { rule: rule.id.clone(), message: e.to_string() });
                // Fail closed: an erroring forbid or escalate applies, a permit does not.
                if rule.effect == Effect::Permit {
                    continue;
                }
            }
            match rule.effect {
                Effect::Forbid => out.forbids.push(rule),
                Effect::Escalate => out.escalates.push(rule),
                Effect::Permit if body.constant_grant() => out.permits.push((rule, Grant::Literal(&body.grant))),
                Effect::Permit => {
                    ev.locals.clear();
                    ev.locals.resize(body.locals as usize, Value::Bool(false));
                    let mut grants = Vec::with_capacity(body.grant.len());
                    let mut failed = None;
                    for (k, e) in &body.grant {
                        match ev.eval(e) {
                            Ok(v) => grants.push((k.as_str(), v)),
                            Err(err) => {
                                failed = Some(err);
                                break;
                            }
                        }
                    }
                    match failed {
                        None => out.permit_computed(rule, grants),
                        Some(e) => out.errors.push(DecisionError { rule: rule.id.clone(), message: e.to_string() }),
                    }
                }
            }
        }
        *fuel = ev.fuel;
        out
    }

    /// Decides a decoded request (docs/decisions.md). With `explain`, a deny or escalate also lists
    /// the permits that came closest and what stopped them (source text from `sources`).
    pub fn decide(&self, req: &Request, store: &EntityStore, explain: Option<&SourceMap>) -> Decision {
        let asked = Asked { interp: self, req, store };
        // One budget for the whole decision: the principal's rules, then each hop's.
        let mut fuel = self.fuel;
        let mut outcome = |who: &EntityUid| self.outcome(req, store, who, &mut fuel);
        match explain {
            None => assemble(self.policy, &asked, &mut outcome, None),
            Some(src) => {
                let mut why = |who: &EntityUid, reasons: &[Reason]| self.explain(req, store, src, who, reasons);
                assemble(self.policy, &asked, &mut outcome, Some(&mut why))
            }
        }
    }
}

/// What the decision algorithm asks of a request, whatever form a back end keeps it in:
/// the interpreter a decoded [`Request`], the JIT machine words.
pub(crate) trait Ask {
    /// A principal: the request's, or a hop of its delegation chain.
    type Who;
    fn principal(&self) -> &Self::Who;
    /// The delegation chain (`on_behalf_of`), in order.
    fn chain(&self) -> &[Self::Who];
    fn action(&self) -> crate::ir::schema::ActionId;
    fn intent(&self) -> Option<crate::ir::schema::IntentId>;
    /// Whether the action on the resource is inside the envelope of intent `i`.
    fn within_intent(&self, i: crate::ir::schema::IntentId) -> bool;
    /// The type and id of a principal, to name it in a reason.
    fn name<'a>(&'a self, who: &'a Self::Who) -> (crate::ir::schema::EntityTypeId, &'a str);
}

/// The interpreter's view of a decoded request.
struct Asked<'a, 'p> {
    interp: &'a Interpreter<'p>,
    req: &'a Request,
    store: &'a EntityStore,
}

impl Ask for Asked<'_, '_> {
    type Who = EntityUid;
    fn principal(&self) -> &EntityUid {
        &self.req.principal
    }
    fn chain(&self) -> &[EntityUid] {
        &self.req.on_behalf_of
    }
    fn action(&self) -> crate::ir::schema::ActionId {
        self.req.action
    }
    fn intent(&self) -> Option<crate::ir::schema::IntentId> {
        self.req.intent
    }
    fn within_intent(&self, i: crate::ir::schema::IntentId) -> bool {
        self.interp.within_intent(self.req, self.store, i)
    }
    fn name<'a>(&'a self, who: &'a EntityUid) -> (crate::ir::schema::EntityTypeId, &'a str) {
        (who.ty, &who.id)
    }
}

/// Explains a deny or escalate for a principal, given the reasons of the decision.
pub(crate) type Explain<'e, W> = &'e mut dyn FnMut(&W, &[Reason]) -> Explanation;

/// The decision algorithm (docs/decisions.md) over the outcomes a back end computes for the
/// request's principal and each hop of its delegation chain, shared by both back ends.
/// Explanations always come from the interpreter (the reference semantics).
pub(crate) fn assemble<'p, A: Ask>(
    policy: &'p PolicySet,
    req: &A,
    outcome: &mut dyn FnMut(&A::Who) -> Outcome<'p>,
    mut explain: Option<Explain<'_, A::Who>>,
) -> Decision {
    let schema = &policy.schema;
    let top = outcome(req.principal());
    let mut errors = top.errors;
    let entity_ref = |who: &A::Who| {
        let (ty, id) = req.name(who);
        EntityRef { ty: schema.entity_name(ty).into(), id: id.to_string() }
    };
    let reason = |r: &Rule, hop: Option<&A::Who>| Reason {
        rule: r.id.clone(),
        effect: r.effect.into(),
        message: r.message.clone(),
        file: Some(r.file.clone()),
        line: Some(r.line),
        on_behalf_of: hop.map(entity_ref),
    };
    // `who`: the principal whose permits the explanation looks at (the request's, or the
    // hop of the delegation chain that was refused).
    let mut finish =
        |verdict: Verdict, reasons: Reasons, obligations: Obligations, errors: Vec<DecisionError>, who: &A::Who| {
            let explain = match (explain.as_mut(), verdict) {
                (Some(why), Verdict::Deny | Verdict::Escalate) => Some(Box::new(why(who, &reasons))),
                _ => None,
            };
            Decision { decision: verdict, reasons, obligations, errors, explain, policy_version: None, backend: None }
        };
    // 2. forbid
    if !top.forbids.is_empty() {
        let reasons = top.forbids.iter().map(|r| reason(r, None)).collect();
        return finish(Verdict::Deny, reasons, Obligations::default(), errors, req.principal());
    }
    // 3. intent envelope
    if let Some(i) = req.intent() {
        if !req.within_intent(i) {
            let name = schema.intent_name(i);
            let r = Reason::builtin(
                format!("outside-intent:{name}"),
                format!(
                    "`{}` on this resource is outside the declared intent `{name}`",
                    schema.action_name(req.action())
                ),
            );
            return finish(Verdict::Deny, Reasons::from_iter([r]), Obligations::default(), errors, req.principal());
        }
    }
    // 4. the delegation chain, each hop authorized afresh
    let chain = req.chain();
    if chain.len() > schema.max_delegation {
        let r = Reason::builtin(
            "delegation-too-long",
            format!(
                "the delegation chain has {} principals; at most {} are allowed",
                chain.len(),
                schema.max_delegation
            ),
        );
        return finish(Verdict::Deny, Reasons::from_iter([r]), Obligations::default(), errors, req.principal());
    }
    let mut hop_escalates = Reasons::default();
    // The permits that allowed each hop, and their grants merged as they come (both
    // matter only for an allow).
    let mut hop_permits = Reasons::default();
    let mut merged = Merge::default();
    for hop in chain {
        let o = outcome(hop);
        errors.extend(o.errors.iter().cloned());
        if !o.forbids.is_empty() {
            let reasons = o.forbids.iter().map(|r| reason(r, Some(hop))).collect();
            return finish(Verdict::Deny, reasons, Obligations::default(), errors, hop);
        }
        // Steps 5 and 7 for the hop: without a permit it is denied, whatever escalates
        // (a human's approval could not lead to allow).
        if o.permits.is_empty() {
            let on = entity_ref(hop);
            let mut r = Reason::builtin(
                "no-permit",
                format!("no permit applies to {}::{:?}, on whose behalf the request is made", on.ty, on.id),
            );
            r.on_behalf_of = Some(on);
            return finish(Verdict::Deny, Reasons::from_iter([r]), Obligations::default(), errors, hop);
        }
        hop_escalates.extend(o.escalates.iter().map(|r| reason(r, Some(hop))));
        hop_permits.extend(o.permits.iter().map(|(r, _)| reason(r, Some(hop))));
        merged.add(&o.permits);
    }
    // Every hop is now allowed or escalated. 5. escalate, only where a permit applies to
    // the principal (else step 7 denies: a human's approval could not lead to allow).
    if !top.permits.is_empty() {
        if !top.escalates.is_empty() || !hop_escalates.is_empty() {
            let mut reasons: Reasons = top.escalates.iter().map(|r| reason(r, None)).collect();
            reasons.append(hop_escalates);
            return finish(Verdict::Escalate, reasons, Obligations::default(), errors, req.principal());
        }
        // 6. permit: the principal's permits, then each hop's in chain order
        let mut reasons: Reasons = top.permits.iter().map(|(r, _)| reason(r, None)).collect();
        reasons.append(hop_permits);
        merged.add(&top.permits);
        return finish(Verdict::Allow, reasons, merged.finish(schema), errors, req.principal());
    }
    // 7. default deny
    finish(Verdict::Deny, Reasons::from_iter([Reason::no_permit()]), Obligations::default(), errors, req.principal())
}

impl<'p> Interpreter<'p> {
    fn within_intent(&self, req: &Request, store: &EntityStore, i: crate::ir::schema::IntentId) -> bool {
        let Some(intent) = self.policy.schema.intent(i) else { return false };
        intent.entries.iter().any(|e| {
            e.actions.contains(&req.action)
                && e.resource_types.as_ref().is_none_or(|ts| ts.contains(&req.resource.ty))
                && self.matches(&e.resource, &req.resource, req, store)
        })
    }

    /// Whether some permit could allow the request whatever its context (the static question
    /// behind [`crate::Engine::could_permit`]): no condition is evaluated. False only when
    /// every decision of this shape denies: the action on the resource lies outside the
    /// intent, the delegation chain is too long, or for the principal or a hop of the chain
    /// a forbid without conditions applies or no permit's target matches.
    pub(crate) fn could_permit(&self, req: &Request, store: &EntityStore) -> bool {
        let policy = self.policy;
        if req.intent.is_some_and(|i| !self.within_intent(req, store, i)) {
            return false;
        }
        if req.on_behalf_of.len() > policy.schema.max_delegation {
            return false;
        }
        std::iter::once(&req.principal).chain(&req.on_behalf_of).all(|who| {
            let mut permit = false;
            for &(ri, bi) in policy.candidates(req.action, who.ty, req.resource.ty) {
                let Some((rule, body)) =
                    policy.rules.get(ri as usize).and_then(|r| Some((r, r.bodies.get(bi as usize)?)))
                else {
                    // A broken index fails closed when deciding: so does the question.
                    return false;
                };
                if !self.matches(&rule.principal, who, req, store)
                    || !self.matches(&rule.resource, &req.resource, req, store)
                {
                    continue;
                }
                match rule.effect {
                    Effect::Forbid if body.clauses.is_empty() => return false,
                    Effect::Permit => permit = true,
                    Effect::Forbid | Effect::Escalate => {}
                }
            }
            permit
        })
    }

    /// The permits whose target matched but whose conditions failed, closest first.
    fn explain(
        &self,
        req: &Request,
        store: &EntityStore,
        sources: &SourceMap,
        who: &EntityUid,
        reasons: &[Reason],
    ) -> Explanation {
        let policy = self.policy;
        let schema = &policy.schema;
        let mut misses = Vec::new();
        // An explanation has a budget of its own.
        let mut ev = Eval { schema, store, req, principal: who, locals: Vec::new(), fuel: self.fuel };
        for &(ri, bi) in policy.candidates(req.action, who.ty, req.resource.ty) {
            let Some(rule) = policy.rules.get(ri as usize) else { continue };
            let Some(body) = rule.bodies.get(bi as usize) else { continue };
            if rule.effect != Effect::Permit {
                continue;
            }
            let mut miss = NearMiss {
                rule: rule.id.to_string(),
                file: Some(rule.file.to_string()),
                line: Some(rule.line),
                failed: String::new(),
                saw: BTreeMap::new(),
                clauses_passed: 0,
                passed: Vec::new(),
            };
            if !self.matches(&rule.principal, who, req, store) {
                miss.failed = "the principal is not the one the rule's target names".into();
            } else if !self.matches(&rule.resource, &req.resource, req, store) {
                miss.failed = "the resource is not the one the rule's target names".into();
            } else {
                match self.run_body(body, &mut ev) {
                    BodyResult::Applies => continue,
                    BodyResult::Error(e) => {
                        miss.failed = format!("evaluation failed: {e}");
                    }
                    BodyResult::Fails(i) => {
                        miss.clauses_passed = i;
                        if let Some(c) = body.clauses.get(i) {
                            let part = failing_part(&c.expr, c.when, &mut ev, sources);
                            let text = snippet(sources, part.expr);
                            miss.failed = if c.when { format!("when {text}") } else { format!("unless {text}") };
                            miss.saw = part.saw;
                            miss.passed = part.passed;
                        }
                    }
                }
            }
            misses.push(miss);
        }
        misses.sort_by(|a, b| b.clauses_passed.cmp(&a.clauses_passed).then(a.rule.cmp(&b.rule)));
        misses.truncate(3);
        // What would lift each escalation: its `unless` conditions.
        let mut escalations = Vec::new();
        for r in reasons.iter().filter(|r| r.effect == crate::decision::Effect::Escalate) {
            let Some(rule) = policy.rules.iter().find(|x| x.id == r.rule) else { continue };
            let lifted_by = unless_texts(rule, sources);
            if escalations.iter().any(|e: &Escalation| *e.rule == *rule.id) {
                continue;
            }
            escalations.push(Escalation {
                rule: rule.id.to_string(),
                file: Some(rule.file.to_string()),
                line: Some(rule.line),
                lifted_by,
            });
        }
        Explanation {
            principal: EntityRef { ty: schema.entity_name(who.ty).into(), id: who.id.to_string() },
            closest_permits: misses,
            escalations,
        }
    }
}

/// The source text of a rule's `unless` clauses (from any of its bodies).
fn unless_texts(rule: &Rule, sources: &SourceMap) -> Vec<String> {
    let mut out: Vec<String> = Vec::new();
    for b in &rule.bodies {
        for c in b.clauses.iter().filter(|c| !c.when) {
            let text = snippet(sources, &c.expr);
            if !out.contains(&text) {
                out.push(text);
            }
        }
    }
    out
}

/// An expression's source text, on one line.
fn snippet(sources: &SourceMap, e: &ir::Expr) -> String {
    sources.snippet(e.span).split_whitespace().collect::<Vec<_>>().join(" ")
}

/// The part of a failed clause that decided it.
struct FailingPart<'e> {
    expr: &'e ir::Expr,
    /// The values its operands had, and the arguments of the functions it is inside.
    saw: BTreeMap<String, serde_json::Value>,
    /// The conjuncts that held before it.
    passed: Vec<String>,
}

/// Narrows a failed clause to the conjunct (or disjunct) that decided it, through the
/// functions it calls (their arguments are shown with the values they had), and collects
/// the values its operands had.
fn failing_part<'e>(e: &'e ir::Expr, want: bool, ev: &mut Eval<'_>, sources: &SourceMap) -> FailingPart<'e> {
    // For a `when` (want = true) that failed, an `and` failed at its first false part; for
    // an `unless` (want = false) that held, an `or` held at its first true part.
    let mut saw = BTreeMap::new();
    let mut passed = Vec::new();
    let mut cur = e;
    for _ in 0..crate::ir::MAX_EXPLAIN_STEPS {
        let next = match (&cur.kind, want) {
            (K::And(es), true) => {
                let mut found = None;
                for x in es {
                    match ev.eval(x) {
                        Ok(Value::Bool(true)) => passed.push(snippet(sources, x)),
                        Ok(Value::Bool(false)) => {
                            found = Some(x);
                            break;
                        }
                        _ => break,
                    }
                }
                found
            }
            (K::Or(es), false) => es.iter().find(|x| matches!(ev.eval(x), Ok(Value::Bool(true)))),
            // An inlined function call: bind its argument, show it, look inside the body.
            (K::Let(n, v, body), _) => match ev.eval(v) {
                Ok(val) => {
                    if !matches!(v.kind, K::Lit(_)) {
                        saw.insert(snippet(sources, v), typed_value_to_json(ev.schema, &val, &v.ty));
                    }
                    match ev.locals.get_mut(*n as usize) {
                        Some(slot) => {
                            *slot = val;
                            Some(&**body)
                        }
                        None => None,
                    }
                }
                Err(_) => None,
            },
            _ => None,
        };
        match next {
            Some(n) => cur = n,
            None => break,
        }
    }
    let mut show = |x: &ir::Expr, ev: &mut Eval<'_>| {
        if matches!(x.kind, K::Lit(_)) {
            return;
        }
        if let Ok(v) = ev.eval(x) {
            saw.insert(snippet(sources, x), typed_value_to_json(ev.schema, &v, &x.ty));
        }
    };
    match &cur.kind {
        K::Cmp(_, a, b) | K::Arith(_, a, b) | K::InEntity(a, b) | K::InEntitySet(a, b) | K::InSet(a, b) => {
            show(a, ev);
            show(b, ev);
        }
        K::Not(x) | K::Is(x, _) | K::Like(x, _) | K::HasAttr(x, _) | K::HasField(x, _) => show(x, ev),
        K::Call(_, args) => args.iter().for_each(|a| show(a, ev)),
        _ => show(cur, ev),
    }
    FailingPart { expr: cur, saw, passed }
}

/// Obligations being merged (docs/decisions.md): the smallest `ttl`, every value of each other key.
/// Every `ttl` here is positive: a permit whose `ttl` is not did not apply
/// ([`Outcome::permit_computed`]; a constant one does not compile).
#[derive(Default)]
struct Merge<'p> {
    ttl: Option<i64>,
    /// Usually empty: a `BTreeMap` allocates only when something is inserted.
    others: BTreeMap<&'p str, Vec<Value>>,
}

impl<'p> Merge<'p> {
    fn add(&mut self, permits: &[(&'p Rule, Grant<'p>)]) {
        for (_, g) in permits {
            g.each(|k, v| match (k, v) {
                ("ttl", Value::Duration(d)) => self.ttl = Some(self.ttl.map_or(*d, |t| t.min(*d))),
                _ => self.others.entry(k).or_default().push(v.clone()),
            });
        }
    }

    fn finish(self, schema: &Schema) -> Obligations {
        let mut out = self.ttl.map_or_else(Obligations::default, Obligations::with_ttl);
        for (k, mut vs) in self.others {
            vs.sort();
            vs.dedup();
            out.insert(k, vs.iter().map(|v| value_to_json(schema, v)).collect());
        }
        out
    }
}
