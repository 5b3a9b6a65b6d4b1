//! The generated code as Rust sees it: the module that owns its memory, and typed pointers
//! to the two kinds of function Rust calls (the policy set's decision function and the
//! permit bodies' grant functions), with the calls themselves. The rule bodies are called
//! only by the decision function.
//!
//! `unsafe` here: freeing the module's memory, the module's `Send`/`Sync`, turning a
//! finalized function's address into a typed function pointer (after checking the signature
//! it was declared with), and calling it.
#![allow(unsafe_code)]

use super::JitError;
use super::codegen::Status;
use super::dispatch::Hit;
use super::runtime::{Ctx, Rt};
use crate::ir::{Expr, Value};
use cranelift_codegen::ir::types::I64;
use cranelift_jit::JITModule;
use cranelift_module::{FuncId, Module};

/// The executable memory of a compiled policy set.
pub(crate) struct Code(Option<JITModule>);

impl Code {
    pub(crate) fn new(module: JITModule) -> Code {
        Code(Some(module))
    }
}

impl Drop for Code {
    fn drop(&mut self) {
        if let Some(m) = self.0.take() {
            // SAFETY: the functions of this module are only called through the `Compiled`
            // that owns this `Code`, which is being dropped: no call is running, and the
            // function pointers (`DecideFn`, `GrantFn`) are dropped with it.
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

/// The address of finalized function `id` of `module`, after checking that it was declared
/// with `params` i64 parameters and one i64 result (the signatures `codegen` and `dispatch`
/// give every function).
fn address(module: &JITModule, id: FuncId, params: usize) -> Result<*const u8, JitError> {
    let sig = &module.declarations().get_function_decl(id).signature;
    let words = |ps: &[cranelift_codegen::ir::AbiParam]| ps.iter().all(|p| p.value_type == I64);
    if sig.params.len() != params || sig.returns.len() != 1 || !words(&sig.params) || !words(&sig.returns) {
        return Err(JitError::Codegen("a generated function has an unexpected signature".into()));
    }
    Ok(module.get_finalized_function(id))
}

type RawDecide = unsafe extern "C" fn(*mut Ctx<'_>, *mut Hit) -> u64;
type RawGrant = unsafe extern "C" fn(*mut Ctx<'_>, *mut u64) -> i64;

/// The policy set's decision function (see `dispatch`).
#[derive(Clone, Copy, Debug)]
pub(crate) struct DecideFn {
    f: RawDecide,
    /// The most hits one call writes.
    max_hits: usize,
}

impl DecideFn {
    /// The decision function `id` of a finalized `module`, which is kept alive (in a [`Code`])
    /// as long as the result; `max_hits` is the most hits one call writes.
    pub(crate) fn new(module: &JITModule, id: FuncId, max_hits: usize) -> Result<DecideFn, JitError> {
        let p = address(module, id, 2)?;
        // SAFETY: `p` is the entry of a finalized function declared (checked above) as
        // `fn(i64, i64) -> i64` with the platform's C calling convention: pointers and `u64`
        // are i64 words on the 64-bit targets the JIT supports (`codegen::generate`).
        let f = unsafe { std::mem::transmute::<*const u8, RawDecide>(p) };
        Ok(DecideFn { f, max_hits })
    }

    /// Runs the rule bodies that can apply to the request in `ctx`; the hits they wrote, or
    /// `None` if `hits` is too small or the count returned is out of range.
    pub(crate) fn run<'h>(&self, ctx: &mut Ctx<'_>, rt: &mut Rt<'_>, hits: &'h mut [Hit]) -> Option<&'h [Hit]> {
        if hits.len() < self.max_hits {
            return None;
        }
        let cx = ctx.bind(rt);
        // SAFETY: `f` is the decision function of the live module (see `new`). `cx` was just
        // derived from live borrows: a context made by `Ctx::new` from the decision's layouts
        // and this policy set's index (the words it reads), bound to `rt`, which is not used
        // until the call returns. `hits` has room for `max_hits`, the most the call writes.
        let n = unsafe { (self.f)(cx, hits.as_mut_ptr()) };
        hits.get(..usize::try_from(n).ok()?)
    }
}

/// A permit body's grant function: it writes one word per entry of the grant.
#[derive(Clone, Copy, Debug)]
pub(crate) struct GrantFn {
    f: RawGrant,
    entries: usize,
}

impl GrantFn {
    /// Grant function `id` of a finalized `module` (kept alive as long as the result) for a
    /// grant of `entries` entries.
    pub(crate) fn new(module: &JITModule, id: FuncId, entries: usize) -> Result<GrantFn, JitError> {
        let p = address(module, id, 2)?;
        // SAFETY: as for `DecideFn::new`: a finalized `fn(i64, i64) -> i64`.
        let f = unsafe { std::mem::transmute::<*const u8, RawGrant>(p) };
        Ok(GrantFn { f, entries })
    }

    /// Computes the grant `grant` (the body's, whose function this is): its values, or the
    /// status of the error that stopped it.
    pub(crate) fn run<'p>(
        &self,
        ctx: &mut Ctx<'_>,
        rt: &mut Rt<'_>,
        grant: &'p [(String, Expr)],
    ) -> Result<Vec<(&'p str, Value)>, i64> {
        if grant.len() != self.entries {
            return Err(Status::INTERNAL);
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
        let cx = ctx.bind(rt);
        // SAFETY: as for `DecideFn::run`; `words` has one slot per grant entry, the most the
        // function writes.
        let status = unsafe { (self.f)(cx, words.as_mut_ptr()) };
        if status != Status::APPLIES {
            return Err(status);
        }
        let layers = rt.layers();
        let mut values = Vec::with_capacity(grant.len());
        for ((k, e), w) in grant.iter().zip(words.iter()) {
            // SAFETY: the grant function wrote a word of each entry's type, laid out in the
            // decision's layers.
            let v = unsafe { layers.decode(*w, &e.ty) }.ok_or(Status::INTERNAL)?;
            values.push((k.as_str(), v));
        }
        Ok(values)
    }
}
