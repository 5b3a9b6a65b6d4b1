//! What the native code calls into: the per-decision context it reads, and the `extern "C"`
//! helpers for what is unreasonable in native code (entity lookups through the store and the
//! request's inline entities, hierarchy membership, globs, string methods, deep equality of
//! sets and records, building sets). Every helper computes exactly what the interpreter
//! computes, usually by calling the same function.
//!
//! The helpers take raw pointers from the native code, so they are `unsafe extern "C" fn`s
//! whose safety contract is what the generated code guarantees (`codegen`). Each body runs
//! under [`guarded`]: a panic is caught there — unwinding out of an `extern "C"` function
//! would abort the host — and fails the rule closed with an error status.
#![allow(unsafe_code)]

use super::codegen::Status;
use super::words::{JitStore, Layer, Layers, set_words};
use crate::host::{EntityStore, Request};
use crate::ir::Ty;
use crate::ir::builtins::{self, Builtin};
use crate::ir::value::{EntityUid, Glob, Value};
use std::marker::PhantomData;
use std::panic::{AssertUnwindSafe, catch_unwind};

/// Read by the native code at fixed offsets (see `codegen`); `#[repr(C)]`. Made only by
/// [`Ctx::new`] from live borrows of the decision's layouts and index (`'a`); the pointer
/// to the helpers' state is set by `native` right before each call of native code.
#[repr(C)]
pub(crate) struct Ctx<'a> {
    principal: u64,
    resource: u64,
    context: u64,
    obo: u64,
    intent: u64,
    action: u64,
    dep_consts: *const u64,
    /// The attribute words of `principal` and `resource`, or null if the entity is unknown.
    principal_attrs: *const u64,
    resource_attrs: *const u64,
    /// The entity a failed lookup was for (a `MissingEntity` error).
    pub err_entity: u64,
    /// Set by a helper that failed, to the status the rule then reports (`Status::INTERNAL`,
    /// `Status::PANIC`); 0 when none did.
    pub err_internal: u64,
    /// What is left of the decision's evaluation budget (`ir::DEFAULT_FUEL`); the native
    /// code spends it.
    pub fuel: u64,
    rt: *mut Rt<'static>,
    /// The policy set's rule index, for its decision function (see `dispatch`).
    index: *const super::dispatch::View,
    _borrows: PhantomData<&'a super::words::Frame>,
}

impl<'a> Ctx<'a> {
    /// The context of a decision for `principal` (the request's, or a hop of its chain).
    pub(crate) fn new(rt: &Rt<'a>, principal: u64, index: &'a super::dispatch::View, fuel: u64) -> Ctx<'a> {
        let frame = rt.frame;
        Ctx {
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
            fuel,
            rt: std::ptr::null_mut(),
            index,
            _borrows: PhantomData,
        }
    }

    /// Points the context at the helpers' state `rt` and returns the pointer to give the
    /// native code: derived afresh from live borrows right before each native call.
    pub(crate) fn bind(&mut self, rt: &mut Rt<'_>) -> *mut Ctx<'a> {
        self.rt = std::ptr::from_mut(rt).cast::<Rt<'static>>();
        std::ptr::from_mut(self)
    }
}

const fn off(o: usize) -> i32 {
    o as i32
}
pub(crate) const OFF_PRINCIPAL: i32 = off(std::mem::offset_of!(Ctx<'static>, principal));
pub(crate) const OFF_RESOURCE: i32 = off(std::mem::offset_of!(Ctx<'static>, resource));
pub(crate) const OFF_CONTEXT: i32 = off(std::mem::offset_of!(Ctx<'static>, context));
pub(crate) const OFF_OBO: i32 = off(std::mem::offset_of!(Ctx<'static>, obo));
pub(crate) const OFF_INTENT: i32 = off(std::mem::offset_of!(Ctx<'static>, intent));
pub(crate) const OFF_ACTION: i32 = off(std::mem::offset_of!(Ctx<'static>, action));
pub(crate) const OFF_DEP: i32 = off(std::mem::offset_of!(Ctx<'static>, dep_consts));
pub(crate) const OFF_PRINCIPAL_ATTRS: i32 = off(std::mem::offset_of!(Ctx<'static>, principal_attrs));
pub(crate) const OFF_RESOURCE_ATTRS: i32 = off(std::mem::offset_of!(Ctx<'static>, resource_attrs));
pub(crate) const OFF_ERR_ENTITY: i32 = off(std::mem::offset_of!(Ctx<'static>, err_entity));
pub(crate) const OFF_ERR_INTERNAL: i32 = off(std::mem::offset_of!(Ctx<'static>, err_internal));
pub(crate) const OFF_FUEL: i32 = off(std::mem::offset_of!(Ctx<'static>, fuel));
pub(crate) const OFF_INDEX: i32 = off(std::mem::offset_of!(Ctx<'static>, index));

/// Everything the helpers need for one decision.
pub(crate) struct Rt<'a> {
    pub consts: &'a Layer,
    pub store: &'a JitStore,
    pub frame: &'a super::words::Frame,
    /// The decoded request and its store, when the request has them (see `word_in`).
    pub host: Option<(&'a Request, &'a EntityStore)>,
    pub globs: &'a [Glob],
    pub types: &'a [Ty],
    /// Strings, sets and records made while deciding (made when first needed: most
    /// decisions need none).
    pub scratch: Option<Layer>,
    /// What is left of the decision's evaluation budget between native calls.
    pub fuel: u64,
}

impl Rt<'_> {
    pub fn layers(&mut self) -> Layers<'_> {
        let top = self.scratch.get_or_insert_with(|| Layer::new(u64::MAX / 2, super::words::NUMBER_MASK / 2));
        Layers { lower: [Some(self.consts), Some(&self.store.layer), Some(&self.frame.layer)], top }
    }

    /// The attribute words of entity `w`, or null if there is no such entity.
    pub fn attrs_ptr(&self, w: u64) -> *const u64 {
        self.rec(w).map_or(std::ptr::null(), |r| r.attrs.as_ptr())
    }

    fn rec(&self, w: u64) -> Option<&super::words::EntRec> {
        if !self.frame.inline.is_empty() {
            if let Some(r) = self.frame.inline.get(&w) {
                return Some(r);
            }
        }
        self.store.rec(w)
    }
}

#[cfg(test)]
thread_local! {
    /// Test hook: the next helper called on this thread panics (see `jit::tests`).
    pub(crate) static PANIC_NEXT: std::cell::Cell<bool> = const { std::cell::Cell::new(false) };
}

/// A helper's failure: the status its rule then reports (`Status::INTERNAL`, ...).
type Fail = i64;
const INTERNAL: Fail = Status::INTERNAL;

/// Runs a helper's body on the decision's helper state. A failure is recorded in the context
/// (`err_internal`; the native code checks it after the call) and the helper returns
/// `failed`. A panic (a bug) is caught here — unwinding out of an `extern "C"` function
/// would abort the process — and fails the rule closed the same way, as `Status::PANIC`.
///
/// # Safety
/// `ctx` is the live context the native code was called with, bound by `Ctx::bind` to an
/// `Rt` that lives for the whole call of the native function and that nothing else borrows
/// while a helper runs.
unsafe fn guarded<T>(ctx: *mut Ctx<'_>, failed: T, body: impl FnOnce(&mut Rt<'_>) -> Result<T, Fail>) -> T {
    // SAFETY: the function's contract: `ctx` is live and its `rt` points at the decision's
    // `Rt`, borrowed by nothing else until this helper returns.
    let rt = unsafe { &mut *(*ctx).rt.cast::<Rt<'_>>() };
    let run = AssertUnwindSafe(|| {
        #[cfg(test)]
        if PANIC_NEXT.with(|p| p.replace(false)) {
            panic!("a panic injected into a helper");
        }
        body(&mut *rt)
    });
    let status = match catch_unwind(run) {
        Ok(Ok(v)) => return v,
        Ok(Err(code)) => code,
        Err(_) => {
            // The panic may have left the scratch layer half-updated (a string without its
            // index entry): start it afresh. No word of it is live: the body that called
            // this helper leaves right after it (`codegen`'s `check_internal`), and other
            // bodies and Rust keep none across calls.
            rt.scratch = None;
            Status::PANIC
        }
    };
    // SAFETY: as above; the borrow of `rt` has ended.
    unsafe { (*ctx).err_internal = status as u64 };
    failed
}

// Every helper below has the same contract.
//
// # Safety
// `ctx` is the live context the native code was called with (see [`guarded`]); every word
// argument is a word of the type the generated code says (`codegen`), so a set, record, Ip or
// string word points into a layer of the decision; `ptr`/`args` point at `n` words on the
// native code's stack.

/// The attribute words of an entity, or null (and `err_entity` set) if it does not exist.
///
/// # Safety
/// See the contract above.
pub(crate) unsafe extern "C" fn h_ent_attrs(ctx: *mut Ctx<'_>, w: u64) -> *const u64 {
    let body = |rt: &mut Rt<'_>| Ok(rt.rec(w).map_or(std::ptr::null(), |r| r.attrs.as_ptr()));
    // SAFETY: the helpers' contract.
    let p = unsafe { guarded(ctx, std::ptr::null(), body) };
    if p.is_null() {
        // SAFETY: the helpers' contract; no helper state is borrowed any more.
        unsafe { (*ctx).err_entity = w };
    }
    p
}

/// `a in b` on entity words: equal, or `b` is an ancestor of `a`. Without inline entities
/// the store's precomputed ancestors answer; inline entities may change the hierarchy, so
/// then it is walked exactly as the interpreter walks it, through the decoded request
/// (`host`; a frame with inline entities always has one).
pub(crate) fn word_in<'l>(
    store: &JitStore,
    frame: &super::words::Frame,
    host: Option<(&Request, &EntityStore)>,
    uid_of: impl Fn(u64) -> Option<&'l EntityUid>,
    a: u64,
    b: u64,
) -> bool {
    if a == b {
        return true;
    }
    if frame.inline.is_empty() {
        return store.rec(a).is_some_and(|r| r.ancestors.binary_search(&b).is_ok());
    }
    match (host, uid_of(a), uid_of(b)) {
        (Some((req, hstore)), Some(x), Some(y)) => req.is_in(hstore, x, y),
        _ => false,
    }
}

fn is_in(rt: &mut Rt<'_>, a: u64, b: u64) -> bool {
    let (store, frame, host) = (rt.store, rt.frame, rt.host);
    let layers = rt.layers();
    word_in(store, frame, host, |w| layers.uid_of(w), a, b)
}

/// # Safety
/// See the contract above.
pub(crate) unsafe extern "C" fn h_ent_in(ctx: *mut Ctx<'_>, a: u64, b: u64) -> u64 {
    let body = |rt: &mut Rt<'_>| Ok(u64::from(is_in(rt, a, b)));
    // SAFETY: the helpers' contract.
    unsafe { guarded(ctx, 0, body) }
}

/// # Safety
/// See the contract above.
pub(crate) unsafe extern "C" fn h_ent_in_set(ctx: *mut Ctx<'_>, a: u64, set: u64) -> u64 {
    let body = |rt: &mut Rt<'_>| {
        // SAFETY: `set` is a set word (the helpers' contract).
        let items = unsafe { set_words(set) }.ok_or(INTERNAL)?;
        Ok(u64::from(items.iter().any(|b| is_in(rt, a, *b))))
    };
    // SAFETY: the helpers' contract.
    unsafe { guarded(ctx, 0, body) }
}

/// Membership of a word in a set of words of a type whose words are canonical.
///
/// # Safety
/// See the contract above.
pub(crate) unsafe extern "C" fn h_set_has(ctx: *mut Ctx<'_>, set: u64, x: u64) -> u64 {
    let body = |_: &mut Rt<'_>| {
        // SAFETY: `set` is a set word (the helpers' contract).
        let items = unsafe { set_words(set) }.ok_or(INTERNAL)?;
        Ok(u64::from(items.contains(&x)))
    };
    // SAFETY: the helpers' contract.
    unsafe { guarded(ctx, 0, body) }
}

fn ty<'a>(rt: &Rt<'a>, t: u64) -> Option<&'a Ty> {
    rt.types.get(usize::try_from(t).ok()?)
}

/// Equality of two words of type `t` by value (Ip, sets and records). Values of different
/// kinds are an internal error, as in the interpreter (they cannot meet after checking).
///
/// # Safety
/// See the contract above.
pub(crate) unsafe extern "C" fn h_eq_deep(ctx: *mut Ctx<'_>, a: u64, b: u64, t: u64) -> u64 {
    let body = |rt: &mut Rt<'_>| {
        let t = ty(rt, t).ok_or(INTERNAL)?;
        let layers = rt.layers();
        // SAFETY: `a` and `b` are words of type `t` (the helpers' contract).
        let (x, y) = unsafe { (layers.decode(a, t), layers.decode(b, t)) };
        let (x, y) = (x.ok_or(INTERNAL)?, y.ok_or(INTERNAL)?);
        if std::mem::discriminant(&x) != std::mem::discriminant(&y) {
            return Err(Status::MIXED_KINDS);
        }
        Ok(u64::from(x == y))
    };
    // SAFETY: the helpers' contract.
    unsafe { guarded(ctx, 0, body) }
}

/// Membership by value: `t` is the element type.
///
/// # Safety
/// See the contract above.
pub(crate) unsafe extern "C" fn h_set_has_deep(ctx: *mut Ctx<'_>, set: u64, x: u64, t: u64) -> u64 {
    let body = |rt: &mut Rt<'_>| {
        let t = ty(rt, t).ok_or(INTERNAL)?;
        let layers = rt.layers();
        // SAFETY: `set` is a set of words of type `t`, `x` a word of type `t` (the helpers'
        // contract).
        let (items, x) = unsafe { (set_words(set), layers.decode(x, t)) };
        let (items, x) = (items.ok_or(INTERNAL)?, x.ok_or(INTERNAL)?);
        for i in items {
            // SAFETY: as above.
            if unsafe { layers.decode(*i, t) }.ok_or(INTERNAL)? == x {
                return Ok(1);
            }
        }
        Ok(0)
    };
    // SAFETY: the helpers' contract.
    unsafe { guarded(ctx, 0, body) }
}

/// Builds a set from `n` words at `ptr` (elements of type `t`): sorted in value order and
/// deduplicated, as `Value::set` does.
///
/// # Safety
/// See the contract above.
pub(crate) unsafe extern "C" fn h_make_set(ctx: *mut Ctx<'_>, ptr: *const u64, n: u64, t: u64) -> u64 {
    let body = |rt: &mut Rt<'_>| {
        let t = ty(rt, t).ok_or(INTERNAL)?;
        let n = usize::try_from(n).map_err(|_| INTERNAL)?;
        // SAFETY: the native code passes a stack slot holding `n` words (the contract).
        let words = unsafe { std::slice::from_raw_parts(ptr, n) };
        let mut layers = rt.layers();
        let mut vals = Vec::with_capacity(n);
        for w in words {
            // SAFETY: the words are of type `t` (the helpers' contract).
            vals.push(unsafe { layers.decode(*w, t) }.ok_or(INTERNAL)?);
        }
        Ok(layers.encode(&Value::set(vals)))
    };
    // SAFETY: the helpers' contract.
    unsafe { guarded(ctx, 0, body) }
}

/// Copies `n` field words at `ptr` into a record (every field present).
///
/// # Safety
/// See the contract above.
pub(crate) unsafe extern "C" fn h_make_record(ctx: *mut Ctx<'_>, ptr: *const u64, n: u64) -> u64 {
    let body = |rt: &mut Rt<'_>| {
        let n = usize::try_from(n).map_err(|_| INTERNAL)?;
        // SAFETY: the native code passes a stack slot holding `n` words (the contract).
        let words = unsafe { std::slice::from_raw_parts(ptr, n) };
        let mut w = Vec::with_capacity(2 * n);
        for x in words {
            w.push(1);
            w.push(*x);
        }
        Ok(rt.layers().alloc(&w))
    };
    // SAFETY: the helpers' contract.
    unsafe { guarded(ctx, 0, body) }
}

/// # Safety
/// See the contract above.
pub(crate) unsafe extern "C" fn h_like(ctx: *mut Ctx<'_>, s: u64, glob: u64) -> u64 {
    let body = |rt: &mut Rt<'_>| {
        let g = usize::try_from(glob).ok().and_then(|g| rt.globs.get(g)).ok_or(INTERNAL)?;
        let layers = rt.layers();
        Ok(u64::from(g.matches(layers.str_of(s).ok_or(INTERNAL)?)))
    };
    // SAFETY: the helpers' contract.
    unsafe { guarded(ctx, 0, body) }
}

/// # Safety
/// See the contract above.
pub(crate) unsafe extern "C" fn h_like_dyn(ctx: *mut Ctx<'_>, s: u64, p: u64) -> u64 {
    let body = |rt: &mut Rt<'_>| {
        let layers = rt.layers();
        let (s, p) = (layers.str_of(s).ok_or(INTERNAL)?, layers.str_of(p).ok_or(INTERNAL)?);
        Ok(u64::from(Glob::parse_lenient(p).matches(s)))
    };
    // SAFETY: the helpers' contract.
    unsafe { guarded(ctx, 0, body) }
}

/// String predicates and `len` without making strings: `op` is 0 starts_with, 1 ends_with,
/// 2 contains, 3 len.
///
/// # Safety
/// See the contract above.
pub(crate) unsafe extern "C" fn h_str(ctx: *mut Ctx<'_>, op: u64, a: u64, b: u64) -> u64 {
    let body = |rt: &mut Rt<'_>| {
        let layers = rt.layers();
        let x = layers.str_of(a).ok_or(INTERNAL)?;
        if op == 3 {
            return Ok(x.chars().count() as u64);
        }
        let y = layers.str_of(b).ok_or(INTERNAL)?;
        Ok(u64::from(match op {
            0 => x.starts_with(y),
            1 => x.ends_with(y),
            _ => x.contains(y),
        }))
    };
    // SAFETY: the helpers' contract.
    unsafe { guarded(ctx, 0, body) }
}

/// Timestamp methods: `op` 0 hour, 1 minute, 2 weekday (`date()` is native code: it can
/// overflow, which is a status of its own).
///
/// # Safety
/// See the contract above.
pub(crate) unsafe extern "C" fn h_ts(ctx: *mut Ctx<'_>, op: u64, t: u64) -> u64 {
    let body = |_: &mut Rt<'_>| {
        let t = t as i64;
        Ok((match op {
            0 => crate::ir::value::ts_hour(t),
            1 => crate::ir::value::ts_minute(t),
            _ => crate::ir::value::ts_weekday(t),
        }) as u64)
    };
    // SAFETY: the helpers' contract.
    unsafe { guarded(ctx, 0, body) }
}

/// IP methods: `op` 0 in_range(b), 1 is_loopback, 2 is_private, 3 is_v4.
///
/// # Safety
/// See the contract above.
pub(crate) unsafe extern "C" fn h_ip(ctx: *mut Ctx<'_>, op: u64, a: u64, b: u64) -> u64 {
    let body = |_: &mut Rt<'_>| {
        // SAFETY: `a` is an Ip word (the helpers' contract).
        let x = unsafe { super::words::ip_ref(a) }.ok_or(INTERNAL)?;
        Ok(u64::from(match op {
            // SAFETY: for `in_range`, `b` is an Ip word too.
            0 => x.in_range(*unsafe { super::words::ip_ref(b) }.ok_or(INTERNAL)?),
            1 => x.is_loopback(),
            2 => x.is_private(),
            _ => matches!(x, crate::ir::value::IpNet::V4 { .. }),
        }))
    };
    // SAFETY: the helpers' contract.
    unsafe { guarded(ctx, 0, body) }
}

/// Any other built-in: arguments decoded to values (types from the call site's entry in the
/// type table: a record of the argument types and the result type), the interpreter's
/// `builtins::eval`, the result encoded.
///
/// # Safety
/// See the contract above.
pub(crate) unsafe extern "C" fn h_builtin(ctx: *mut Ctx<'_>, b: u64, args: *const u64, n: u64, site: u64) -> u64 {
    let body = |rt: &mut Rt<'_>| {
        let Some(Ty::Set(sig)) = ty(rt, site) else { return Err(INTERNAL) };
        let Ty::Record(sig) = &**sig else { return Err(INTERNAL) };
        let b = usize::try_from(b).ok().and_then(|b| BUILTINS.get(b)).copied().ok_or(INTERNAL)?;
        let n = usize::try_from(n).map_err(|_| INTERNAL)?;
        // SAFETY: the native code passes a stack slot holding `n` words (the contract).
        let words = unsafe { std::slice::from_raw_parts(args, n) };
        let mut layers = rt.layers();
        let mut vals = Vec::with_capacity(n);
        for (w, f) in words.iter().zip(sig.fields.iter()) {
            // SAFETY: the arguments are words of the call site's argument types.
            vals.push(unsafe { layers.decode(*w, &f.ty) }.ok_or(INTERNAL)?);
        }
        builtins::eval(b, &vals).map(|v| layers.encode(&v)).map_err(|_| INTERNAL)
    };
    // SAFETY: the helpers' contract.
    unsafe { guarded(ctx, 0, body) }
}

/// Built-ins by code (the index the native code passes to `h_builtin`).
pub(crate) const BUILTINS: &[Builtin] = &[
    Builtin::StrStartsWith,
    Builtin::StrEndsWith,
    Builtin::StrContains,
    Builtin::StrLen,
    Builtin::StrLower,
    Builtin::StrUpper,
    Builtin::StrStripPrefix,
    Builtin::StrStripSuffix,
    Builtin::StrBefore,
    Builtin::StrAfter,
    Builtin::StrSegment,
    Builtin::SetContains,
    Builtin::SetContainsAny,
    Builtin::SetContainsAll,
    Builtin::SetLen,
    Builtin::SetIsEmpty,
    Builtin::TsHour,
    Builtin::TsMinute,
    Builtin::TsWeekday,
    Builtin::TsDate,
    Builtin::IpInRange,
    Builtin::IpIsLoopback,
    Builtin::IpIsPrivate,
    Builtin::IpIsV4,
    Builtin::DurMillis,
    Builtin::DurSeconds,
    Builtin::DurMinutes,
    Builtin::DurHours,
];

/// The helpers by symbol name, for the JIT builder.
pub(crate) fn symbols() -> Vec<(&'static str, *const u8)> {
    vec![
        ("writ_ent_attrs", h_ent_attrs as *const u8),
        ("writ_ent_in", h_ent_in as *const u8),
        ("writ_ent_in_set", h_ent_in_set as *const u8),
        ("writ_set_has", h_set_has as *const u8),
        ("writ_eq_deep", h_eq_deep as *const u8),
        ("writ_set_has_deep", h_set_has_deep as *const u8),
        ("writ_make_set", h_make_set as *const u8),
        ("writ_make_record", h_make_record as *const u8),
        ("writ_like", h_like as *const u8),
        ("writ_like_dyn", h_like_dyn as *const u8),
        ("writ_str", h_str as *const u8),
        ("writ_ts", h_ts as *const u8),
        ("writ_ip", h_ip as *const u8),
        ("writ_builtin", h_builtin as *const u8),
    ]
}
