//! The Cranelift back end (ARCHITECTURE.md): the whole policy set as one native decision function.
//!
//! `compile` lowers every rule body of the typed IR to native code (see `codegen`) behind one
//! entry function that dispatches on action, principal type and resource type. Requests are
//! first laid out as machine words (see `words`): strings interned to ids, entities numbered,
//! ancestry precomputed. The decision algorithm (docs/decisions.md) that turns the rules that applied into a
//! decision is shared with the interpreter (`interp::assemble`), so the two back ends differ
//! only in how they evaluate rules, and the differential tests compare exactly that.
//!
//! Every Cranelift call of the crate is in this folder. `unsafe` is allowed only in the
//! files that need it, each saying why at its top: `native` (calling the generated code),
//! `runtime` (the helpers it calls) and `words` (reading words through pointers).

mod codegen;
mod decode;
mod dispatch;
mod native;
mod runtime;
#[cfg(test)]
mod tests;
mod words;

use crate::decision::{Decision, DecisionError};
use crate::host::{Changes, EntityStore, Request};
use crate::interp::{Ask, EvalError, Grant, Outcome, assemble};
use crate::ir::Effect;
use crate::ir::schema::{ActionId, EntityConstraint, EntityTypeId, IntentId};
use crate::ir::value::{EntityUid, Glob, Value};
use crate::ir::{Body, CmpOp, Expr, ExprKind, PolicySet, Ty};
use codegen::{Status, Tables};
use cranelift_codegen::settings::{self, Configurable};
use cranelift_jit::{JITBuilder, JITModule};
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

/// Hits a [`native::DecideFn`] call can write into a buffer on the stack; policy sets whose largest
/// slot has more candidates use a buffer kept per thread.
const STACK_HITS: usize = 32;

thread_local! {
    /// The hit buffer of [`native::DecideFn`] calls for large policy sets, kept per thread.
    static HITS: std::cell::Cell<Vec<dispatch::Hit>> = const { std::cell::Cell::new(Vec::new()) };
}

/// What Rust needs of a candidate once the native code reports it (parallel to
/// `dispatch::Index::candidates`).
#[derive(Debug, Clone, Copy)]
struct Candidate {
    /// The native function that computes the body's grant (none for a body without a grant
    /// or with a grant of constants).
    grant: Option<native::GrantFn>,
    rule: u32,
    index: u32,
}

/// The rule index (read by the native decision function) and the candidates' details.
#[derive(Debug)]
struct Dispatch {
    index: dispatch::Index,
    candidates: Vec<Candidate>,
    /// The policy set's decision function.
    decide: native::DecideFn,
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
    _code: native::Code,
    dispatch: Dispatch,
    consts: words::ConstTables,
    globs: Vec<Glob>,
    types: Vec<Ty>,
    /// The intents' envelopes, by intent id.
    envelopes: Vec<Vec<EnvEntry>>,
}

static NEXT_ID: AtomicU64 = AtomicU64::new(1);

/// Compiles a checked policy set, on at most `threads` threads (0: one per core).
pub fn compile(policy: Arc<PolicySet>, threads: usize) -> Result<Compiled, JitError> {
    // Compile time is part of the product (a policy push recompiles): the functions are
    // small and call helpers, so the fast register allocator and no mid-end optimization cost
    // little at run time (BENCHMARKS.md).
    let flags = flags(&[("opt_level", "none"), ("regalloc_algorithm", "single_pass")])
        .map_err(|e| JitError::Codegen(e.to_string()))?;
    let isa = cranelift_native::builder()
        .map_err(|e| JitError::Unsupported(e.to_string()))?
        .finish(flags)
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
    let generated =
        codegen::generate(&mut module, &policy, &mut tables, threads).map_err(|e| JitError::Codegen(e.0))?;
    module.finalize_definitions().map_err(|e| JitError::Codegen(e.to_string()))?;
    let dispatch = dispatch(&policy, &module, &generated);
    let code = native::Code::new(module);
    let dispatch = dispatch?;
    let envelopes = envelopes(&policy, &mut tables.consts);
    Ok(Compiled {
        id: NEXT_ID.fetch_add(1, Ordering::Relaxed),
        policy,
        _code: code,
        dispatch,
        consts: tables.consts,
        globs: tables.globs,
        types: tables.types,
        envelopes,
    })
}

/// The Cranelift flags of every function the JIT generates: `extra` over the common ones.
///
/// Stack probes are on, inline: a rule body's frame grows with the policy (a set literal of
/// 10,000 elements is 80 KB of stack), and a frame larger than the guard page could
/// otherwise step over it into other memory; probed, it touches every page on the way
/// down, so an overflow hits the guard page and stops the process cleanly instead of
/// corrupting memory. The verifier runs in debug builds (the tests).
pub(crate) fn flags(extra: &[(&str, &str)]) -> Result<settings::Flags, settings::SetError> {
    let mut flags = settings::builder();
    let verify = if cfg!(debug_assertions) { "true" } else { "false" };
    let common = [
        ("is_pic", "false"),
        ("use_colocated_libcalls", "false"),
        ("enable_probestack", "true"),
        ("probestack_strategy", "inline"),
        ("enable_verifier", verify),
    ];
    for (k, v) in common.iter().chain(extra) {
        flags.set(k, v)?;
    }
    Ok(settings::Flags::new(flags))
}

/// The rule index over the finalized functions.
fn dispatch(policy: &PolicySet, module: &JITModule, generated: &codegen::Generated) -> Result<Dispatch, JitError> {
    let types = policy.schema.entities.len().max(1) as u64;
    let mut index = dispatch::Index::new(types);
    let mut details = Vec::new();
    let too_many = |_| JitError::Codegen("too many candidate rules".into());
    let n32 = |n: usize| u32::try_from(n).map_err(too_many);
    let mut keys: Vec<_> = policy
        .index
        .iter()
        .map(|(&(a, pt, rt), c)| {
            let key = dispatch::Index::key(
                types,
                u64::from(a.0),
                u64::from(pt.0) << words::TYPE_SHIFT,
                u64::from(rt.0) << words::TYPE_SHIFT,
            );
            (key, c)
        })
        .collect();
    keys.sort_by_key(|(k, _)| *k);
    if keys.windows(2).any(|w| matches!(w, [x, y] if x.0 == y.0)) {
        return Err(JitError::Codegen("two dispatch keys collide".into()));
    }
    for (key, cands) in keys {
        let mut general = Vec::new();
        let mut specific: Vec<(u64, (dispatch::NativeCandidate, Candidate))> = Vec::new();
        for &(rule, index) in cands {
            let (r, b) = policy
                .rules
                .get(rule as usize)
                .and_then(|r| Some((r, r.bodies.get(index as usize)?)))
                .ok_or_else(|| JitError::Codegen("missing rule body".into()))?;
            let body = match generated.bodies.get(&(rule, index)) {
                Some(f) => module.get_finalized_function(*f) as u64,
                None if codegen::always_applies(r, b) => 0,
                None => return Err(JitError::Codegen("missing body code".into())),
            };
            let grant = match generated.grants.get(&(rule, index)) {
                Some(g) => Some(native::GrantFn::new(module, *g, b.grant.len())?),
                None => None,
            };
            let c = (
                dispatch::NativeCandidate { body, order: u64::from(rule) << 32 | u64::from(index) },
                Candidate { grant, rule, index },
            );
            match intent_guard(b) {
                Some(intents) => specific.extend(intents.into_iter().map(|i| (i, c))),
                None => general.push(c),
            }
        }
        // Sorted by intent, and within an intent in rule order (a stable sort keeps it).
        specific.sort_by_key(|(i, _)| *i);
        let mut slot = dispatch::Slot {
            general_start: n32(index.candidates.len())?,
            general_len: n32(general.len())?,
            intents_start: n32(index.intents.len())?,
            intents_len: 0,
        };
        for (native, c) in general {
            index.candidates.push(native);
            details.push(c);
        }
        for group in specific.chunk_by(|x, y| x.0 == y.0) {
            let Some((intent, _)) = group.first() else { continue };
            let start = n32(index.candidates.len())?;
            index.intents.push(dispatch::ByIntent { intent: *intent, start, len: n32(group.len())? });
            for (_, (native, c)) in group {
                index.candidates.push(*native);
                details.push(*c);
            }
        }
        slot.intents_len = n32(index.intents.len())? - slot.intents_start;
        index.keys.push(key);
        index.slots.push(slot);
    }
    index.seal();
    let decide = native::DecideFn::new(module, generated.decide, index.max_hits)?;
    Ok(Dispatch { index, candidates: details, decide })
}

impl Compiled {
    /// Lays out an entity store for this policy set (done once per store).
    pub fn store(&self, store: &EntityStore) -> JitStore {
        JitStore::build(self.id, &self.consts, store)
    }

    /// Updates a store laid out for this policy set after the entity store changed, or
    /// lays it out anew when it was laid out for another, or updates have worn it.
    pub fn update_store(&self, laid: &mut JitStore, store: &EntityStore, changes: &Changes) {
        if laid.policy_id == self.id && !laid.worn() {
            laid.update(&self.consts, store, changes);
        } else {
            *laid = self.store(store);
        }
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
        self.dispatch.index.candidates(frame.action, frame.principal, frame.resource, frame.intent).into_iter()
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

    /// Decides a request laid out by [`Compiled::decode_json`], with an evaluation budget
    /// of `fuel` units ([`crate::ir::DEFAULT_FUEL`]).
    #[inline]
    pub fn decide_spare(&self, store: &JitStore, spare: &Spare, fuel: u64) -> Decision {
        match spare.0.as_deref() {
            Some(frame) => self.decide_frame(None, store, frame, fuel),
            None => Decision::bad_request("internal: no request layout"),
        }
    }

    /// Whether [`Compiled::decode_json`] decodes this text itself.
    pub fn decodes_json(&self, text: &str, store: &JitStore) -> bool {
        self.decode_json(text, store).is_some()
    }

    /// Decides a request laid out by [`Compiled::frame`], with an evaluation budget of `fuel`
    /// units ([`crate::ir::DEFAULT_FUEL`]; the interpreter's is
    /// [`crate::interp::Interpreter::with_fuel`]). Both back ends spend fuel alike, so they run
    /// out at the same point.
    pub fn decide(&self, req: &Request, hstore: &EntityStore, store: &JitStore, frame: &Frame, fuel: u64) -> Decision {
        self.decide_frame(Some((req, hstore)), store, frame, fuel)
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
        fuel: u64,
    ) -> Decision {
        // The native code trusts the words it reads: never run it on layouts made for another
        // policy set or store.
        if !self.owns(store, frame) {
            return Decision::bad_request("internal: the request was laid out for another engine");
        }
        let mut rt = runtime::Rt {
            consts: &self.consts.layer,
            store,
            frame,
            host,
            globs: &self.globs,
            types: &self.types,
            scratch: None,
            fuel,
        };
        let asked = Asked { compiled: self, store, frame, host };
        assemble(&self.policy, &asked, &mut |who| self.outcome(&mut rt, *who), None)
    }

    fn outcome<'p>(&'p self, rt: &mut runtime::Rt<'_>, principal: u64) -> Outcome<'p> {
        let mut ctx = runtime::Ctx::new(rt, principal, self.dispatch.index.view(), rt.fuel);
        let mut o = Outcome::default();
        // The hit buffer: on the stack for the usual policy set, else kept per thread; either
        // way deciding does not allocate it.
        let max = self.dispatch.index.max_hits;
        let mut stack = [dispatch::Hit::default(); STACK_HITS];
        let mut heap = Vec::new();
        let hits: &mut [dispatch::Hit] = if max <= STACK_HITS {
            &mut stack
        } else {
            heap = HITS.try_with(std::cell::Cell::take).unwrap_or_default();
            if heap.len() < max {
                heap.resize(max, dispatch::Hit::default());
            }
            &mut heap
        };
        let Some(hits) = self.dispatch.decide.run(&mut ctx, rt, hits) else {
            o.fail_closed("the decision function reported more hits than it has room for");
            return o;
        };
        for hit in hits.iter() {
            let status = i64::from(hit.status);
            if status == Status::FAILS {
                continue;
            }
            let Some((c, rule)) = self
                .dispatch
                .candidates
                .get(hit.candidate as usize)
                .and_then(|c| Some((c, self.policy.rules.get(c.rule as usize)?)))
            else {
                o.fail_closed("the decision function reported a rule that does not exist");
                continue;
            };
            if status != Status::APPLIES {
                o.errors
                    .push(DecisionError { rule: rule.id.clone(), message: self.message(rt, status, hit.err_entity) });
                if rule.effect == Effect::Permit {
                    continue;
                }
            }
            match rule.effect {
                Effect::Forbid => o.forbids.push(rule),
                Effect::Escalate => o.escalates.push(rule),
                Effect::Permit => {
                    let body = rule.bodies.get(c.index as usize);
                    let Some(grant) = c.grant else {
                        // No code: no grant, or a grant of constants (`Body::constant_grant`).
                        match body {
                            Some(b) if b.constant_grant() => o.permits.push((rule, Grant::Literal(&b.grant))),
                            _ => {
                                let message = internal("missing grant code");
                                o.errors.push(DecisionError { rule: rule.id.clone(), message });
                            }
                        }
                        continue;
                    };
                    let entries = body.map(|b| b.grant.as_slice()).unwrap_or(&[]);
                    match grant.run(&mut ctx, rt, entries) {
                        Ok(values) => o.permit_computed(rule, values),
                        Err(status) => o.errors.push(DecisionError {
                            rule: rule.id.clone(),
                            message: self.message(rt, status, ctx.err_entity),
                        }),
                    }
                }
            }
        }
        rt.fuel = ctx.fuel;
        if !heap.is_empty() {
            let _ = HITS.try_with(|h| h.set(heap));
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
            Status::FUEL => EvalError::Fuel,
            Status::PANIC => EvalError::Internal("a helper of the native code panicked"),
            Status::MIXED_KINDS => EvalError::Internal(crate::interp::MIXED_KINDS),
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
