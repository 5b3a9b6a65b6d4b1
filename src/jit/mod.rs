//! The Cranelift back end (SPEC §9): the whole policy set as one native decision function.
//!
//! `compile` lowers every rule body of the typed IR to native code (see `codegen`) behind one
//! entry function that dispatches on action, principal type and resource type. Requests are
//! first laid out as machine words (see `words`): strings interned to ids, entities numbered,
//! ancestry precomputed. The SPEC §7 algorithm that turns the rules that applied into a
//! decision is shared with the interpreter (`interp::assemble`), so the two back ends differ
//! only in how they evaluate rules, and the differential tests compare exactly that.
//!
//! Every Cranelift call of the crate is in this folder.
#![allow(unsafe_code)]

mod codegen;
mod decode;
mod runtime;
mod words;

use crate::decision::{Decision, DecisionError};
use crate::host::{EntityStore, Request};
use crate::interp::{Ask, EvalError, Grant, Outcome, assemble};
use crate::ir::schema::{ActionId, EntityConstraint, EntityTypeId, IntentId};
use crate::ir::value::{EntityUid, Glob, Value};
use crate::ir::{Body, CmpOp, Expr, ExprKind, PolicySet, Ty};
use crate::syntax::ast::Effect;
use codegen::{Status, Tables};
use cranelift_codegen::settings::{self, Configurable};
use cranelift_jit::{JITBuilder, JITModule};
use std::collections::HashMap;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

pub use words::{Frame, JitStore};

/// Why the policy set could not be compiled to native code. [`crate::Engine::compile`]
/// handles `Unsupported` itself (it returns an interpreting engine); `Codegen` is a bug.
///
/// ```
/// let e = writ::JitError::Unsupported("riscv32".into());
/// assert_eq!(e.to_string(), "native code generation is not supported on this machine: riscv32");
/// ```
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum JitError {
    /// Cranelift does not support this machine: use the interpreter.
    #[error("native code generation is not supported on this machine: {0}")]
    Unsupported(String),
    /// Code generation failed (a bug: please report it).
    #[error("native code generation failed: {0}")]
    Codegen(String),
}

type BodyFn = unsafe extern "C" fn(*mut runtime::Ctx) -> i64;
type GrantFn = unsafe extern "C" fn(*mut runtime::Ctx, *mut u64) -> i64;

/// The executable memory of a compiled policy set.
struct Code(Option<JITModule>);

impl Drop for Code {
    fn drop(&mut self) {
        if let Some(m) = self.0.take() {
            // SAFETY: the functions of this module are only called through the `Compiled`
            // that owns this `Code`, which is being dropped: no pointer into it survives.
            unsafe { m.free_memory() };
        }
    }
}

// SAFETY: after `finalize_definitions` the module's memory is read-only executable code and
// immutable data; nothing mutates it until `free_memory` in `Drop`. The generated functions
// only read their arguments and call thread-safe helpers.
unsafe impl Send for Code {}
// SAFETY: as above.
unsafe impl Sync for Code {}

impl std::fmt::Debug for Code {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Code")
    }
}

/// A rule body that can apply to requests of one dispatch key.
#[derive(Debug, Clone, Copy)]
struct Candidate {
    /// The native function that checks the rule's target and the body's clauses (0: the
    /// body always applies, see `codegen::always_applies`).
    body: usize,
    /// The native function that computes the body's grant (0: the body has none).
    grant: usize,
    rule: u32,
    index: u32,
}

impl Candidate {
    fn order(&self) -> (u32, u32) {
        (self.rule, self.index)
    }
}

/// The candidates of one dispatch key: those that can apply whatever the intent, and those
/// whose first test is on the intent (see [`intent_guard`]), by intent.
#[derive(Debug, Clone, Copy, Default)]
struct Slot {
    general: (u32, u32),
    /// Range of `Dispatch::by_intent`.
    specific: (u32, u32),
}

/// Rule indexing: (action, principal type, resource type), then the intent → the candidate
/// rule bodies, in rule order.
#[derive(Debug)]
struct Dispatch {
    types: u64,
    /// Key → 1 + index of its slot (0: no candidates); a dense table when the key space is
    /// small, else a map.
    dense: Vec<u32>,
    sparse: HashMap<u64, u32>,
    slots: Vec<Slot>,
    /// (intent word, range of `candidates`), sorted by intent within each slot.
    by_intent: Vec<(u64, u32, u32)>,
    candidates: Vec<Candidate>,
}

fn range<T>(items: &[T], (start, len): (u32, u32)) -> &[T] {
    items.get(start as usize..start as usize + len as usize).unwrap_or(&[])
}

impl Dispatch {
    const DENSE_MAX: u64 = 1 << 16;

    fn key(&self, action: u64, principal: u64, resource: u64) -> u64 {
        let (pt, rt) = (principal >> words::TYPE_SHIFT, resource >> words::TYPE_SHIFT);
        action.wrapping_mul(self.types).wrapping_add(pt).wrapping_mul(self.types).wrapping_add(rt)
    }

    /// The candidates for a request, in rule order.
    fn candidates(&self, action: u64, principal: u64, resource: u64, intent: u64) -> Merge<'_> {
        let key = self.key(action, principal, resource);
        let slot = if self.dense.is_empty() {
            self.sparse.get(&key).copied()
        } else {
            usize::try_from(key).ok().and_then(|k| self.dense.get(k)).copied()
        };
        let Some(slot) = slot.and_then(|i| i.checked_sub(1)).and_then(|i| self.slots.get(i as usize)) else {
            return Merge { a: &[], b: &[] };
        };
        let specific = range(&self.by_intent, slot.specific);
        let b = match specific.binary_search_by_key(&intent, |e| e.0) {
            Ok(i) => specific.get(i).map_or(&[][..], |e| range(&self.candidates, (e.1, e.2))),
            Err(_) => &[],
        };
        Merge { a: range(&self.candidates, slot.general), b }
    }
}

/// Two lists of candidates in rule order, merged.
struct Merge<'a> {
    a: &'a [Candidate],
    b: &'a [Candidate],
}

impl<'a> Iterator for Merge<'a> {
    type Item = &'a Candidate;

    fn next(&mut self) -> Option<&'a Candidate> {
        let take_a = match (self.a.first(), self.b.first()) {
            (Some(x), Some(y)) => x.order() <= y.order(),
            (Some(_), None) => true,
            (None, _) => false,
        };
        let list = if take_a { &mut self.a } else { &mut self.b };
        let (first, rest) = list.split_first()?;
        *list = rest;
        Some(first)
    }
}

/// The intents under which a body can apply or fail, when its first test is on the intent:
/// `when intent == X and …` or `when intent in [X, Y] and …` (after the target, which cannot
/// fail). Evaluation starts with that test and stops when it is false, so for any other
/// intent the body neither applies nor reports an error, exactly as if it had run.
fn intent_guard(body: &Body) -> Option<Vec<u64>> {
    let first = body.clauses.first()?;
    if !first.when {
        return None;
    }
    let mut e = &first.expr;
    while let ExprKind::And(v) = &e.kind {
        e = v.first()?;
    }
    let word = |v: &Value| match v {
        Value::Intent(i) => Some(i.map_or(words::NONE_INTENT, |i| u64::from(i.0))),
        _ => None,
    };
    let lit = |e: &Expr| match &e.kind {
        ExprKind::Lit(v) => word(v),
        _ => None,
    };
    let mut intents: Vec<u64> = match &e.kind {
        ExprKind::Cmp(CmpOp::Eq, a, b) => match (&a.kind, &b.kind) {
            (ExprKind::Intent, _) => vec![lit(b)?],
            (_, ExprKind::Intent) => vec![lit(a)?],
            _ => return None,
        },
        ExprKind::InSet(a, b) if matches!(a.kind, ExprKind::Intent) => match &b.kind {
            ExprKind::Lit(Value::Set(items)) => items.iter().map(word).collect::<Option<_>>()?,
            ExprKind::Set(items) => items.iter().map(lit).collect::<Option<_>>()?,
            _ => return None,
        },
        _ => return None,
    };
    intents.sort_unstable();
    intents.dedup();
    Some(intents)
}

thread_local! {
    /// One frame's storage per thread, reused by [`Compiled::decode_json`].
    static SPARE: std::cell::Cell<Option<Box<Frame>>> = const { std::cell::Cell::new(None) };
}

/// A request laid out from JSON in this thread's reused frame; dropping it gives the frame
/// back for the next request.
pub struct Spare(Option<Box<Frame>>);

impl Drop for Spare {
    fn drop(&mut self) {
        let frame = self.0.take();
        let _ = SPARE.try_with(|s| s.set(frame));
    }
}

/// A policy set compiled to native code.
#[derive(Debug)]
pub struct Compiled {
    id: u64,
    policy: Arc<PolicySet>,
    _code: Code,
    dispatch: Dispatch,
    consts: words::ConstTables,
    globs: Vec<Glob>,
    types: Vec<Ty>,
    /// The intents' envelopes, by intent id.
    envelopes: Vec<Vec<EnvEntry>>,
}

static NEXT_ID: AtomicU64 = AtomicU64::new(1);

/// Compiles a checked policy set.
pub fn compile(policy: Arc<PolicySet>) -> Result<Compiled, JitError> {
    let mut flags = settings::builder();
    let set = |f: &mut settings::Builder, k: &str, v: &str| f.set(k, v).map_err(|e| JitError::Codegen(e.to_string()));
    set(&mut flags, "is_pic", "false")?;
    set(&mut flags, "use_colocated_libcalls", "false")?;
    // Compile time is part of the product (a policy push recompiles): the functions are
    // small and call helpers, so the fast register allocator and no mid-end optimization cost
    // little at run time (BENCHMARKS.md). The verifier runs in debug builds (the tests).
    set(&mut flags, "opt_level", "none")?;
    set(&mut flags, "regalloc_algorithm", "single_pass")?;
    set(&mut flags, "enable_verifier", if cfg!(debug_assertions) { "true" } else { "false" })?;
    let isa = cranelift_native::builder()
        .map_err(|e| JitError::Unsupported(e.to_string()))?
        .finish(settings::Flags::new(flags))
        .map_err(|e| JitError::Unsupported(e.to_string()))?;
    let mut builder = JITBuilder::with_isa(isa, cranelift_module::default_libcall_names());
    for (name, ptr) in runtime::symbols() {
        builder.symbol(name, ptr);
    }
    let mut module = JITModule::new(builder);
    let mut tables = Tables::new();
    // Intern every string constant first, so ids are stable whatever order code is generated.
    for s in policy.string_constants() {
        tables.consts.intern(s);
    }
    let generated = codegen::generate(&mut module, &policy, &mut tables).map_err(|e| JitError::Codegen(e.0))?;
    module.finalize_definitions().map_err(|e| JitError::Codegen(e.to_string()))?;
    let dispatch = dispatch(&policy, &module, &generated)?;
    let envelopes = envelopes(&policy, &mut tables.consts);
    Ok(Compiled {
        id: NEXT_ID.fetch_add(1, Ordering::Relaxed),
        policy,
        _code: Code(Some(module)),
        dispatch,
        consts: tables.consts,
        globs: tables.globs,
        types: tables.types,
        envelopes,
    })
}

/// The dispatch table over the finalized functions.
fn dispatch(policy: &PolicySet, module: &JITModule, generated: &codegen::Generated) -> Result<Dispatch, JitError> {
    let types = policy.schema.entities.len().max(1) as u64;
    let space = (policy.schema.actions.len().max(1) as u64).saturating_mul(types).saturating_mul(types);
    let mut keys: Vec<_> = policy.index.iter().collect();
    keys.sort_by_key(|(k, _)| **k);
    let mut d = Dispatch {
        types,
        dense: Vec::new(),
        sparse: HashMap::new(),
        slots: Vec::new(),
        by_intent: Vec::new(),
        candidates: Vec::new(),
    };
    if space <= Dispatch::DENSE_MAX {
        d.dense = vec![0; space as usize];
    }
    let too_many = |_| JitError::Codegen("too many candidate rules".into());
    let n32 = |n: usize| u32::try_from(n).map_err(too_many);
    for ((a, pt, rt), cands) in keys {
        let mut general = Vec::new();
        let mut specific: Vec<(u64, Candidate)> = Vec::new();
        for &(rule, index) in cands {
            let (r, b) = policy
                .rules
                .get(rule as usize)
                .and_then(|r| Some((r, r.bodies.get(index as usize)?)))
                .ok_or_else(|| JitError::Codegen("missing rule body".into()))?;
            let body = match generated.bodies.get(&(rule, index)) {
                Some(f) => module.get_finalized_function(*f) as usize,
                None if codegen::always_applies(r, b) => 0,
                None => return Err(JitError::Codegen("missing body code".into())),
            };
            let grant = generated.grants.get(&(rule, index)).map_or(0, |g| module.get_finalized_function(*g) as usize);
            let c = Candidate { body, grant, rule, index };
            let guard = intent_guard(b);
            match guard {
                Some(intents) => specific.extend(intents.into_iter().map(|i| (i, c))),
                None => general.push(c),
            }
        }
        // Sorted by intent, and within an intent in rule order (a stable sort keeps it).
        specific.sort_by_key(|(i, _)| *i);
        let slot_start = n32(d.by_intent.len())?;
        let general_range = (n32(d.candidates.len())?, n32(general.len())?);
        d.candidates.extend(general);
        for group in specific.chunk_by(|x, y| x.0 == y.0) {
            let Some((intent, _)) = group.first() else { continue };
            d.by_intent.push((*intent, n32(d.candidates.len())?, n32(group.len())?));
            d.candidates.extend(group.iter().map(|(_, c)| *c));
        }
        d.slots.push(Slot { general: general_range, specific: (slot_start, n32(d.by_intent.len())? - slot_start) });
        let slot = n32(d.slots.len())?;
        let key = d.key(u64::from(a.0), u64::from(pt.0) << words::TYPE_SHIFT, u64::from(rt.0) << words::TYPE_SHIFT);
        if d.dense.is_empty() {
            d.sparse.insert(key, slot);
        } else {
            match usize::try_from(key).ok().and_then(|k| d.dense.get_mut(k)) {
                Some(s) => *s = slot,
                None => return Err(JitError::Codegen("dispatch key out of range".into())),
            }
        }
    }
    Ok(d)
}

impl Compiled {
    /// Lays out an entity store for this policy set (done once per store).
    pub fn store(&self, store: &EntityStore) -> JitStore {
        JitStore::build(self.id, &self.consts, store)
    }

    /// Lays out a request (done once per request).
    pub fn frame(&self, store: &JitStore, req: &Request) -> Frame {
        Frame::build(self.id, &self.consts, store, req)
    }

    /// Whether a store and frame were laid out for this compiled policy set.
    pub fn owns(&self, store: &JitStore, frame: &Frame) -> bool {
        store.policy_id == self.id && frame.policy_id == self.id && frame.store_ptr == store as *const JitStore as usize
    }

    /// The rules (indices, in rule order, once per body) whose code a decision runs for the
    /// request's principal: the dispatch on action, principal and resource type and intent.
    pub fn candidate_rules(&self, frame: &Frame) -> impl Iterator<Item = u32> + '_ {
        self.dispatch.candidates(frame.action, frame.principal, frame.resource, frame.intent).map(|c| c.rule)
    }

    /// Lays out a request straight from its JSON text, or `None` when the text is not in
    /// the common shape the fast decoder takes (see `decode`): the caller then decodes it
    /// the ordinary way, which also reports errors. The frame's storage is kept per thread
    /// (the [`Spare`] gives it back when dropped), so laying out a request this way does
    /// not allocate. Decide it with [`Compiled::decide_spare`]; the decision is built in
    /// place, not moved out of an `Option`.
    #[inline]
    pub fn decode_json(&self, text: &str, store: &JitStore) -> Option<Spare> {
        if store.policy_id != self.id {
            return None;
        }
        let mut frame =
            SPARE.try_with(std::cell::Cell::take).ok().flatten().unwrap_or_else(|| Box::new(Frame::empty()));
        frame.reset(self.id, store);
        let mut spare = Spare(Some(frame));
        decode::request(self, store, text, spare.0.as_deref_mut()?)?;
        Some(spare)
    }

    /// Decides a request laid out by [`Compiled::decode_json`].
    #[inline]
    pub fn decide_spare(&self, store: &JitStore, spare: &Spare) -> Decision {
        match spare.0.as_deref() {
            Some(frame) => self.decide_frame(None, store, frame),
            None => Decision::bad_request("internal: no request layout"),
        }
    }

    /// Whether [`Compiled::decode_json`] decodes this text itself.
    pub fn decodes_json(&self, text: &str, store: &JitStore) -> bool {
        let mut frame = Frame::empty();
        frame.reset(self.id, store);
        store.policy_id == self.id && decode::request(self, store, text, &mut frame).is_some()
    }

    /// Decides a request laid out by [`Compiled::frame`].
    pub fn decide(&self, req: &Request, hstore: &EntityStore, store: &JitStore, frame: &Frame) -> Decision {
        self.decide_frame(Some((req, hstore)), store, frame)
    }

    /// Decides a laid-out request. `host` is the decoded request and its store, needed only
    /// when the request has inline entities (membership then walks the hierarchy as the
    /// interpreter does).
    #[inline]
    pub(crate) fn decide_frame(
        &self,
        host: Option<(&Request, &EntityStore)>,
        store: &JitStore,
        frame: &Frame,
    ) -> Decision {
        let mut rt = runtime::Rt {
            consts: &self.consts.layer,
            store,
            frame,
            host,
            globs: &self.globs,
            types: &self.types,
            scratch: None,
        };
        let asked = Asked { compiled: self, store, frame, host };
        assemble(&self.policy, &asked, &mut |who| self.outcome(&mut rt, *who), None)
    }

    fn outcome<'p>(&'p self, rt: &mut runtime::Rt<'_>, principal: u64) -> Outcome<'p> {
        let frame = rt.frame;
        let mut ctx = runtime::Ctx {
            principal,
            resource: frame.resource,
            context: frame.context,
            obo: frame.obo_set,
            intent: frame.intent,
            action: frame.action,
            dep_consts: rt.store.dep_consts.as_ptr(),
            principal_attrs: rt.attrs_ptr(principal),
            resource_attrs: rt.attrs_ptr(frame.resource),
            err_entity: 0,
            err_internal: 0,
            rt: (rt as *mut runtime::Rt<'_>).cast(),
        };
        let mut o = Outcome::default();
        for c in self.dispatch.candidates(frame.action, principal, frame.resource, frame.intent) {
            ctx.err_internal = 0;
            let status = if c.body == 0 {
                Status::APPLIES
            } else {
                // SAFETY: `c.body` is a finalized function of `self._code`, alive as long as
                // `self`, with the `BodyFn` signature; `ctx` points at a live context whose
                // `rt` and `dep_consts` outlive the call.
                unsafe {
                    let f: BodyFn = std::mem::transmute::<usize, BodyFn>(c.body);
                    f(&mut ctx)
                }
            };
            if status == Status::FAILS {
                continue;
            }
            let Some(rule) = self.policy.rules.get(c.rule as usize) else { continue };
            if status != Status::APPLIES {
                o.errors
                    .push(DecisionError { rule: rule.id.clone(), message: self.message(rt, status, ctx.err_entity) });
                if rule.effect == Effect::Permit {
                    continue;
                }
            }
            match rule.effect {
                Effect::Forbid => o.forbids.push(rule),
                Effect::Escalate => o.escalates.push(rule),
                Effect::Permit => {
                    let grant = rule.bodies.get(c.index as usize).map(|b| b.grant.as_slice()).unwrap_or(&[]);
                    if grant.is_empty() {
                        o.permits.push((rule, Grant::new()));
                        continue;
                    }
                    if c.grant == 0 {
                        // No code: a grant of constants (see `codegen::constant_grant`).
                        let mut values = Grant::new();
                        for (k, e) in grant {
                            if let ExprKind::Lit(v) = &e.kind {
                                values.push((k.as_str(), v.clone()));
                            }
                        }
                        if values.len() == grant.len() {
                            o.permits.push((rule, values));
                        } else {
                            let message = internal("missing grant code");
                            o.errors.push(DecisionError { rule: rule.id.clone(), message });
                        }
                        continue;
                    }
                    let mut small = [0u64; 8];
                    let mut large = Vec::new();
                    let words = match small.get_mut(..grant.len()) {
                        Some(w) => w,
                        None => {
                            large.resize(grant.len(), 0);
                            &mut large[..]
                        }
                    };
                    ctx.err_internal = 0;
                    // SAFETY: as for the body; `words` has one slot per grant entry.
                    let status = unsafe {
                        let f: GrantFn = std::mem::transmute::<usize, GrantFn>(c.grant);
                        f(&mut ctx, words.as_mut_ptr())
                    };
                    if status != Status::APPLIES {
                        o.errors.push(DecisionError {
                            rule: rule.id.clone(),
                            message: self.message(rt, status, ctx.err_entity),
                        });
                        continue;
                    }
                    let layers = rt.layers();
                    let mut values = Grant::with_capacity(grant.len());
                    for ((k, e), w) in grant.iter().zip(words.iter()) {
                        match layers.decode(*w, &e.ty) {
                            Some(v) => values.push((k.as_str(), v)),
                            None => break,
                        }
                    }
                    if values.len() == grant.len() {
                        o.permits.push((rule, values));
                    } else {
                        o.errors.push(DecisionError { rule: rule.id.clone(), message: internal("bad grant value") });
                    }
                }
            }
        }
        o
    }

    fn message(&self, rt: &mut runtime::Rt<'_>, status: i64, entity: u64) -> String {
        let e = match status {
            Status::OVERFLOW_ADD => EvalError::Overflow("+"),
            Status::OVERFLOW_SUB => EvalError::Overflow("-"),
            Status::OVERFLOW_MUL => EvalError::Overflow("*"),
            Status::OVERFLOW_DATE => EvalError::Overflow("date()"),
            Status::MISSING_ATTR => EvalError::MissingValue("an optional attribute"),
            Status::MISSING_FIELD => EvalError::MissingValue("an optional field"),
            Status::MISSING_ENTITY => match rt.layers().uid_of(entity) {
                Some(u) => EvalError::MissingEntity(format!("{}::{:?}", self.policy.schema.entity_name(u.ty), &*u.id)),
                None => EvalError::Internal("unknown entity number"),
            },
            _ => EvalError::Internal("bad arguments to a built-in"),
        };
        e.to_string()
    }
}

fn internal(what: &'static str) -> String {
    EvalError::Internal(what).to_string()
}

/// An intent envelope entry on words (see `Compiled::envelopes`).
#[derive(Debug)]
struct EnvEntry {
    actions: Vec<ActionId>,
    /// `None`: any resource type.
    types: Option<Vec<u64>>,
    resource: EnvMatch,
}

/// [`EntityConstraint`] with its entities as indices into `JitStore::env_words`.
#[derive(Debug, Clone, Copy)]
enum EnvMatch {
    Any,
    Is(usize),
    In(usize),
    IsIn(usize, usize),
}

/// The envelopes of the schema's intents, by intent id.
fn envelopes(policy: &PolicySet, consts: &mut words::ConstTables) -> Vec<Vec<EnvEntry>> {
    let mut word = |u: &EntityUid| consts.envelope_uid(u);
    policy
        .schema
        .intents
        .iter()
        .map(|i| {
            i.entries
                .iter()
                .map(|e| EnvEntry {
                    actions: e.actions.clone(),
                    types: e.resource_types.as_ref().map(|ts| ts.iter().map(|t| u64::from(t.0)).collect()),
                    resource: match &e.resource {
                        EntityConstraint::Any => EnvMatch::Any,
                        EntityConstraint::Is(x) => EnvMatch::Is(word(x)),
                        EntityConstraint::In(x) => EnvMatch::In(word(x)),
                        EntityConstraint::IsIn(x, y) => EnvMatch::IsIn(word(x), word(y)),
                    },
                })
                .collect()
        })
        .collect()
}

/// The JIT's view of a request for the decision algorithm: principals are entity words.
struct Asked<'a> {
    compiled: &'a Compiled,
    store: &'a JitStore,
    frame: &'a Frame,
    host: Option<(&'a Request, &'a EntityStore)>,
}

impl Asked<'_> {
    fn uid_of(&self, w: u64) -> Option<&EntityUid> {
        self.frame.layer.uid_of(w).or_else(|| self.store.layer.uid_of(w))
    }
}

impl Ask for Asked<'_> {
    type Who = u64;
    fn principal(&self) -> &u64 {
        &self.frame.principal
    }
    fn chain(&self) -> &[u64] {
        &self.frame.obo
    }
    fn action(&self) -> ActionId {
        self.frame.action_id
    }
    fn intent(&self) -> Option<IntentId> {
        self.frame.intent_id
    }
    fn within_intent(&self, i: IntentId) -> bool {
        let Some(entries) = self.compiled.envelopes.get(i.0 as usize) else { return false };
        let (frame, store) = (self.frame, self.store);
        let r = frame.resource;
        let env = |i: usize| store.env_words.get(i).copied();
        let is_in =
            |b: Option<u64>| b.is_some_and(|b| runtime::word_in(store, frame, self.host, |w| self.uid_of(w), r, b));
        entries.iter().any(|e| {
            e.actions.contains(&frame.action_id)
                && e.types.as_ref().is_none_or(|ts| ts.contains(&(r >> words::TYPE_SHIFT)))
                && match e.resource {
                    EnvMatch::Any => true,
                    EnvMatch::Is(x) => env(x) == Some(r),
                    EnvMatch::In(x) => is_in(env(x)),
                    EnvMatch::IsIn(x, y) => env(x) == Some(r) && is_in(env(y)),
                }
        })
    }
    fn name<'a>(&'a self, who: &'a u64) -> (EntityTypeId, &'a str) {
        match self.uid_of(*who) {
            Some(u) => (u.ty, &u.id),
            None => (EntityTypeId(u32::try_from(who >> words::TYPE_SHIFT).unwrap_or(0)), "?"),
        }
    }
}
