//! What the native code calls into: the per-decision context it reads, and the `extern "C"`
//! helpers for what is unreasonable in native code (entity lookups through the store and the
//! request's inline entities, hierarchy membership, globs, string methods, deep equality of
//! sets and records, building sets). Every helper computes exactly what the interpreter
//! computes, usually by calling the same function.
#![allow(unsafe_code)]

use super::words::{JitStore, Layer, Layers, set_words};
use crate::host::{EntityStore, Request};
use crate::ir::Ty;
use crate::ir::builtins::{self, Builtin};
use crate::ir::value::{EntityUid, Glob, Value};

/// Read by the native code at fixed offsets (see `codegen`); `#[repr(C)]`.
#[repr(C)]
pub(crate) struct Ctx {
    pub principal: u64,
    pub resource: u64,
    pub context: u64,
    pub obo: u64,
    pub intent: u64,
    pub action: u64,
    pub dep_consts: *const u64,
    /// The attribute words of `principal` and `resource`, or null if the entity is unknown.
    pub principal_attrs: *const u64,
    pub resource_attrs: *const u64,
    /// The entity a failed lookup was for (a `MissingEntity` error).
    pub err_entity: u64,
    /// Set by a helper that failed in a way the interpreter reports as an internal error.
    pub err_internal: u64,
    pub rt: *mut Rt<'static>,
    /// The policy set's rule index, for its decision function (see `dispatch`).
    pub index: *const super::dispatch::View,
}

const fn off(o: usize) -> i32 {
    o as i32
}
pub(crate) const OFF_PRINCIPAL: i32 = off(std::mem::offset_of!(Ctx, principal));
pub(crate) const OFF_RESOURCE: i32 = off(std::mem::offset_of!(Ctx, resource));
pub(crate) const OFF_CONTEXT: i32 = off(std::mem::offset_of!(Ctx, context));
pub(crate) const OFF_OBO: i32 = off(std::mem::offset_of!(Ctx, obo));
pub(crate) const OFF_INTENT: i32 = off(std::mem::offset_of!(Ctx, intent));
pub(crate) const OFF_ACTION: i32 = off(std::mem::offset_of!(Ctx, action));
pub(crate) const OFF_DEP: i32 = off(std::mem::offset_of!(Ctx, dep_consts));
pub(crate) const OFF_PRINCIPAL_ATTRS: i32 = off(std::mem::offset_of!(Ctx, principal_attrs));
pub(crate) const OFF_RESOURCE_ATTRS: i32 = off(std::mem::offset_of!(Ctx, resource_attrs));
pub(crate) const OFF_ERR_ENTITY: i32 = off(std::mem::offset_of!(Ctx, err_entity));
pub(crate) const OFF_ERR_INTERNAL: i32 = off(std::mem::offset_of!(Ctx, err_internal));
pub(crate) const OFF_INDEX: i32 = off(std::mem::offset_of!(Ctx, index));

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

/// # Safety
/// `ctx` is the live context of the current decision (the native code passes its argument).
unsafe fn rt<'a>(ctx: *mut Ctx) -> &'a mut Rt<'a> {
    // SAFETY: the decision driver points `rt` at an `Rt` that lives for the whole call of the
    // native function, and nothing else borrows it while a helper runs.
    unsafe { &mut *(*ctx).rt.cast::<Rt<'a>>() }
}

fn internal(ctx: *mut Ctx) -> u64 {
    // SAFETY: see `rt`.
    unsafe { (*ctx).err_internal = 1 };
    0
}

/// The attribute words of an entity, or null (and `err_entity` set) if it does not exist.
pub(crate) extern "C" fn h_ent_attrs(ctx: *mut Ctx, w: u64) -> *const u64 {
    // SAFETY: see `rt`.
    let rt = unsafe { rt(ctx) };
    match rt.rec(w) {
        Some(r) => r.attrs.as_ptr(),
        None => {
            // SAFETY: see `rt`.
            unsafe { (*ctx).err_entity = w };
            std::ptr::null()
        }
    }
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

pub(crate) extern "C" fn h_ent_in(ctx: *mut Ctx, a: u64, b: u64) -> u64 {
    // SAFETY: see `rt`.
    let rt = unsafe { rt(ctx) };
    u64::from(is_in(rt, a, b))
}

pub(crate) extern "C" fn h_ent_in_set(ctx: *mut Ctx, a: u64, set: u64) -> u64 {
    // SAFETY: see `rt`.
    let rt = unsafe { rt(ctx) };
    let Some(items) = set_words(set) else { return internal(ctx) };
    u64::from(items.iter().any(|b| is_in(rt, a, *b)))
}

/// Membership of a word in a set of words of a type whose words are canonical.
pub(crate) extern "C" fn h_set_has(set: u64, x: u64) -> u64 {
    u64::from(set_words(set).is_some_and(|items| items.contains(&x)))
}

fn ty<'a>(rt: &Rt<'a>, t: u64) -> Option<&'a Ty> {
    rt.types.get(usize::try_from(t).ok()?)
}

/// Equality of two words of type `t` by value (Ip, sets and records).
pub(crate) extern "C" fn h_eq_deep(ctx: *mut Ctx, a: u64, b: u64, t: u64) -> u64 {
    // SAFETY: see `rt`.
    let rt = unsafe { rt(ctx) };
    let Some(t) = ty(rt, t) else { return internal(ctx) };
    let layers = rt.layers();
    match (layers.decode(a, t), layers.decode(b, t)) {
        (Some(x), Some(y)) => u64::from(x == y),
        _ => internal(ctx),
    }
}

/// Membership by value: `t` is the element type.
pub(crate) extern "C" fn h_set_has_deep(ctx: *mut Ctx, set: u64, x: u64, t: u64) -> u64 {
    // SAFETY: see `rt`.
    let rt = unsafe { rt(ctx) };
    let Some(t) = ty(rt, t) else { return internal(ctx) };
    let layers = rt.layers();
    let (Some(items), Some(x)) = (set_words(set), layers.decode(x, t)) else { return internal(ctx) };
    for i in items {
        match layers.decode(*i, t) {
            Some(v) if v == x => return 1,
            Some(_) => {}
            None => return internal(ctx),
        }
    }
    0
}

/// Builds a set from `n` words at `ptr` (elements of type `t`): sorted in value order and
/// deduplicated, as `Value::set` does.
pub(crate) extern "C" fn h_make_set(ctx: *mut Ctx, ptr: *const u64, n: u64, t: u64) -> u64 {
    // SAFETY: see `rt`.
    let rt = unsafe { rt(ctx) };
    let Some(t) = ty(rt, t) else { return internal(ctx) };
    let Ok(n) = usize::try_from(n) else { return internal(ctx) };
    // SAFETY: the native code passes a stack slot holding `n` words.
    let words = unsafe { std::slice::from_raw_parts(ptr, n) };
    let mut layers = rt.layers();
    let mut vals = Vec::with_capacity(n);
    for w in words {
        match layers.decode(*w, t) {
            Some(v) => vals.push(v),
            None => return internal(ctx),
        }
    }
    layers.encode(&Value::set(vals))
}

/// Copies `n` field words at `ptr` into a record (every field present).
pub(crate) extern "C" fn h_make_record(ctx: *mut Ctx, ptr: *const u64, n: u64) -> u64 {
    // SAFETY: see `rt`.
    let rt = unsafe { rt(ctx) };
    let Ok(n) = usize::try_from(n) else { return internal(ctx) };
    // SAFETY: the native code passes a stack slot holding `n` words.
    let words = unsafe { std::slice::from_raw_parts(ptr, n) };
    let mut w = Vec::with_capacity(2 * n);
    for x in words {
        w.push(1);
        w.push(*x);
    }
    rt.layers().alloc(&w)
}

pub(crate) extern "C" fn h_like(ctx: *mut Ctx, s: u64, glob: u64) -> u64 {
    // SAFETY: see `rt`.
    let rt = unsafe { rt(ctx) };
    let g = usize::try_from(glob).ok().and_then(|g| rt.globs.get(g));
    let layers = rt.layers();
    match (layers.str_of(s), g) {
        (Some(s), Some(g)) => u64::from(g.matches(s)),
        _ => internal(ctx),
    }
}

pub(crate) extern "C" fn h_like_dyn(ctx: *mut Ctx, s: u64, p: u64) -> u64 {
    // SAFETY: see `rt`.
    let rt = unsafe { rt(ctx) };
    let layers = rt.layers();
    match (layers.str_of(s), layers.str_of(p)) {
        (Some(s), Some(p)) => u64::from(Glob::parse_lenient(p).matches(s)),
        _ => internal(ctx),
    }
}

/// String predicates and `len` without making strings: `op` is 0 starts_with, 1 ends_with,
/// 2 contains, 3 len.
pub(crate) extern "C" fn h_str(ctx: *mut Ctx, op: u64, a: u64, b: u64) -> u64 {
    // SAFETY: see `rt`.
    let rt = unsafe { rt(ctx) };
    let layers = rt.layers();
    let Some(x) = layers.str_of(a) else { return internal(ctx) };
    if op == 3 {
        return x.chars().count() as u64;
    }
    let Some(y) = layers.str_of(b) else { return internal(ctx) };
    u64::from(match op {
        0 => x.starts_with(y),
        1 => x.ends_with(y),
        _ => x.contains(y),
    })
}

/// Timestamp methods: `op` 0 hour, 1 minute, 2 weekday (`date()` is native code: it can
/// overflow, which is a status of its own).
pub(crate) extern "C" fn h_ts(op: u64, t: u64) -> u64 {
    let t = t as i64;
    (match op {
        0 => crate::ir::value::ts_hour(t),
        1 => crate::ir::value::ts_minute(t),
        _ => crate::ir::value::ts_weekday(t),
    }) as u64
}

/// IP methods: `op` 0 in_range(b), 1 is_loopback, 2 is_private, 3 is_v4.
pub(crate) extern "C" fn h_ip(ctx: *mut Ctx, op: u64, a: u64, b: u64) -> u64 {
    let Some(x) = super::words::ip_ref(a) else { return internal(ctx) };
    u64::from(match op {
        0 => match super::words::ip_ref(b) {
            Some(r) => x.in_range(*r),
            None => return internal(ctx),
        },
        1 => x.is_loopback(),
        2 => x.is_private(),
        _ => matches!(x, crate::ir::value::IpNet::V4 { .. }),
    })
}

/// Any other built-in: arguments decoded to values (types from the call site's entry in the
/// type table: a record of the argument types and the result type), the interpreter's
/// `builtins::eval`, the result encoded.
pub(crate) extern "C" fn h_builtin(ctx: *mut Ctx, b: u64, args: *const u64, n: u64, site: u64) -> u64 {
    // SAFETY: see `rt`.
    let rt = unsafe { rt(ctx) };
    let Some(Ty::Set(sig)) = ty(rt, site) else { return internal(ctx) };
    let Ty::Record(sig) = &**sig else { return internal(ctx) };
    let Some(b) = BUILTINS.get(usize::try_from(b).unwrap_or(usize::MAX)).copied() else { return internal(ctx) };
    let Ok(n) = usize::try_from(n) else { return internal(ctx) };
    // SAFETY: the native code passes a stack slot holding `n` words.
    let words = unsafe { std::slice::from_raw_parts(args, n) };
    let mut layers = rt.layers();
    let mut vals = Vec::with_capacity(n);
    for (w, f) in words.iter().zip(sig.fields.iter()) {
        match layers.decode(*w, &f.ty) {
            Some(v) => vals.push(v),
            None => return internal(ctx),
        }
    }
    match builtins::eval(b, &vals) {
        Ok(v) => layers.encode(&v),
        Err(_) => internal(ctx),
    }
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
