//! Rule indexing, in native code: one generated function per policy set finds the rule bodies
//! that can apply to a request — by action, principal type and resource type, then by intent —
//! calls each in rule order, and writes down the ones that did not fail ([`Hit`]s). Rust then
//! only turns hits into an outcome.
//!
//! The function reads the index from tables ([`Index`]): its code does not grow with the
//! policy set (a generated set of 10,000 rules has 45,000 candidate bodies over its dispatch
//! keys; a call site for each would cost more compile time than the rest of the JIT).
//!
//! * `keys`: the dispatch keys, `(action × types + principal type) × types + resource type`,
//!   sorted; `slots` runs parallel to it. The function binary-searches the key.
//! * a slot: the candidates that can apply whatever the intent (`general`), and a range of
//!   `intents`: (intent word, candidates) pairs sorted by intent, for bodies whose first test
//!   is on the intent (see `intent_guard` in the parent module). The function binary-searches
//!   the request's intent there.
//! * the two candidate lists are merged in rule order as they are visited.

use super::codegen::{CodegenError, Status};
use super::runtime as rtm;
use super::words::TYPE_SHIFT;
use cranelift_codegen::control::ControlPlane;
use cranelift_codegen::ir::condcodes::IntCC;
use cranelift_codegen::ir::types::I64;
use cranelift_codegen::ir::{
    AbiParam, Block, BlockArg, InstBuilder, MemFlagsData, Signature, UserFuncName, Value as CV,
};
use cranelift_codegen::isa::TargetIsa;
use cranelift_frontend::{FunctionBuilder, FunctionBuilderContext};
use cranelift_jit::JITModule;
use cranelift_module::{FuncId, Module};
use std::mem::offset_of;

/// A rule body that can apply to requests of one dispatch key, as the native code reads it.
#[repr(C)]
#[derive(Debug, Clone, Copy)]
pub(crate) struct NativeCandidate {
    /// The body's function (0: the body always applies, see `codegen::always_applies`).
    pub body: u64,
    /// `rule << 32 | body index`: rule order.
    pub order: u64,
}

/// The candidates of one dispatch key (offsets and lengths in `Index::candidates` and
/// `Index::intents`).
#[repr(C)]
#[derive(Debug, Clone, Copy, Default)]
pub(crate) struct Slot {
    pub general_start: u32,
    pub general_len: u32,
    pub intents_start: u32,
    pub intents_len: u32,
}

/// The candidates of a slot for one intent.
#[repr(C)]
#[derive(Debug, Clone, Copy)]
pub(crate) struct ByIntent {
    pub intent: u64,
    pub start: u32,
    pub len: u32,
}

/// A candidate that applied or failed with an error, written by the native function.
#[repr(C)]
#[derive(Debug, Clone, Copy, Default)]
pub(crate) struct Hit {
    /// Index in `Index::candidates`.
    pub candidate: u32,
    pub status: u32,
    /// `Ctx::err_entity` right after the body ran (for a missing-entity error).
    pub err_entity: u64,
}

/// Where the tables are, for the native function (read through `Ctx::index`). Addresses of
/// the heap buffers of an [`Index`]'s vectors, which are never changed after it is built.
#[repr(C)]
#[derive(Debug, Default)]
pub(crate) struct View {
    keys: u64,
    slots: u64,
    n_slots: u64,
    types: u64,
    intents: u64,
    candidates: u64,
}

const fn off(o: usize) -> i32 {
    o as i32
}

/// The index of a compiled policy set.
#[derive(Debug, Default)]
pub(crate) struct Index {
    pub types: u64,
    pub keys: Vec<u64>,
    pub slots: Vec<Slot>,
    pub intents: Vec<ByIntent>,
    pub candidates: Vec<NativeCandidate>,
    /// The most hits one call can write: the size of the buffer it is given.
    pub max_hits: usize,
    view: View,
}

impl Index {
    pub(crate) fn new(types: u64) -> Index {
        Index { types, ..Index::default() }
    }

    pub(crate) fn key(types: u64, action: u64, principal: u64, resource: u64) -> u64 {
        let (pt, rt) = (principal >> TYPE_SHIFT, resource >> TYPE_SHIFT);
        action.wrapping_mul(types).wrapping_add(pt).wrapping_mul(types).wrapping_add(rt)
    }

    /// Fixes the table addresses the native function reads; the vectors must not change
    /// afterwards.
    pub(crate) fn seal(&mut self) {
        self.max_hits = self
            .slots
            .iter()
            .map(|s| {
                let intents = self.intents.get(s.intents_start as usize..(s.intents_start + s.intents_len) as usize);
                s.general_len as usize + intents.unwrap_or(&[]).iter().map(|e| e.len as usize).max().unwrap_or(0)
            })
            .max()
            .unwrap_or(0);
        self.view = View {
            keys: self.keys.as_ptr() as u64,
            slots: self.slots.as_ptr() as u64,
            n_slots: self.keys.len().min(self.slots.len()) as u64,
            types: self.types,
            intents: self.intents.as_ptr() as u64,
            candidates: self.candidates.as_ptr() as u64,
        };
    }

    /// What `Ctx::index` points at.
    pub(crate) fn view(&self) -> &View {
        &self.view
    }

    /// The candidates for a request, in rule order (what the native function visits; for
    /// introspection, [`super::Compiled::candidate_rules`]).
    pub(crate) fn candidates(&self, action: u64, principal: u64, resource: u64, intent: u64) -> Vec<u32> {
        let key = Index::key(self.types, action, principal, resource);
        let Some(slot) = self.keys.binary_search(&key).ok().and_then(|i| self.slots.get(i)) else {
            return Vec::new();
        };
        let range = |start: u32, len: u32| self.candidates.get(start as usize..(start + len) as usize).unwrap_or(&[]);
        let general = range(slot.general_start, slot.general_len);
        let groups = self
            .intents
            .get(slot.intents_start as usize..(slot.intents_start + slot.intents_len) as usize)
            .unwrap_or(&[]);
        let specific = match groups.binary_search_by_key(&intent, |e| e.intent) {
            Ok(i) => groups.get(i).map_or(&[][..], |e| range(e.start, e.len)),
            Err(_) => &[],
        };
        let mut all: Vec<&NativeCandidate> = general.iter().chain(specific).collect();
        all.sort_by_key(|c| c.order);
        all.iter().map(|c| (c.order >> 32) as u32).collect()
    }
}

const V_KEYS: i32 = off(offset_of!(View, keys));
const V_SLOTS: i32 = off(offset_of!(View, slots));
const V_N_SLOTS: i32 = off(offset_of!(View, n_slots));
const V_TYPES: i32 = off(offset_of!(View, types));
const V_INTENTS: i32 = off(offset_of!(View, intents));
const V_CANDIDATES: i32 = off(offset_of!(View, candidates));
const C_ORDER: i32 = off(offset_of!(NativeCandidate, order));
const C_BODY: i32 = off(offset_of!(NativeCandidate, body));
const S_GENERAL_START: i32 = off(offset_of!(Slot, general_start));
const S_GENERAL_LEN: i32 = off(offset_of!(Slot, general_len));
const S_INTENTS_START: i32 = off(offset_of!(Slot, intents_start));
const S_INTENTS_LEN: i32 = off(offset_of!(Slot, intents_len));
const I_INTENT: i32 = off(offset_of!(ByIntent, intent));
const I_START: i32 = off(offset_of!(ByIntent, start));
const I_LEN: i32 = off(offset_of!(ByIntent, len));
const H_CANDIDATE: i32 = off(offset_of!(Hit, candidate));
const H_STATUS: i32 = off(offset_of!(Hit, status));
const H_ERR_ENTITY: i32 = off(offset_of!(Hit, err_entity));

// The native code scales indices by shifts.
const _: () = assert!(size_of::<NativeCandidate>() == 16 && size_of::<Slot>() == 16);
const _: () = assert!(size_of::<ByIntent>() == 16 && size_of::<Hit>() == 16);

/// Declares and defines the policy set's decision function:
/// `fn(ctx: *mut Ctx, hits: *mut Hit) -> u64` (the number of hits written). `body_sig` is
/// the signature of the rule bodies' functions.
///
/// The rule bodies are many and compiled for compile time (no optimization, the single-pass
/// register allocator); this one function is the loop every decision runs, so it is compiled
/// with optimization and the backtracking allocator, which costs well under a millisecond.
pub(crate) fn generate(module: &mut JITModule, body_sig: &Signature) -> Result<FuncId, CodegenError> {
    let err = |e: cranelift_module::ModuleError| CodegenError(e.to_string());
    let mut sig = module.make_signature();
    sig.params.extend([AbiParam::new(I64), AbiParam::new(I64)]);
    sig.returns.push(AbiParam::new(I64));
    let id = module.declare_anonymous_function(&sig).map_err(err)?;
    let mut ctx = module.make_context();
    ctx.func.signature = sig;
    ctx.func.name = UserFuncName::user(0, id.as_u32());
    let mut fctx = FunctionBuilderContext::new();
    let config = module.isa().frontend_config();
    build(FunctionBuilder::new(&mut ctx.func, &mut fctx), body_sig.clone(), config)?;
    let isa = optimizing_isa()?;
    ctx.compile(&*isa, &mut ControlPlane::default()).map_err(|e| CodegenError(format!("{:?}", e.inner)))?;
    let code = ctx.compiled_code().ok_or_else(|| CodegenError("dispatch: no compiled code".into()))?;
    if !code.buffer.relocs().is_empty() {
        return Err(CodegenError("dispatch: unexpected relocations".into()));
    }
    let (align, bytes) = (u64::from(code.buffer.alignment), code.code_buffer().to_vec());
    module.define_function_bytes(id, align, &bytes, &[]).map_err(err)?;
    Ok(id)
}

/// The host's ISA with optimization and the backtracking register allocator.
fn optimizing_isa() -> Result<std::sync::Arc<dyn TargetIsa>, CodegenError> {
    let flags = super::flags(&[("opt_level", "speed"), ("regalloc_algorithm", "backtracking")])
        .map_err(|e| CodegenError(e.to_string()))?;
    cranelift_native::builder()
        .map_err(|e| CodegenError(e.to_string()))?
        .finish(flags)
        .map_err(|e| CodegenError(e.to_string()))
}

/// A block with `n` i64 parameters.
fn block(b: &mut FunctionBuilder<'_>, n: usize) -> Block {
    let blk = b.create_block();
    for _ in 0..n {
        b.append_block_param(blk, I64);
    }
    blk
}

fn params<const N: usize>(b: &FunctionBuilder<'_>, blk: Block) -> Result<[CV; N], CodegenError> {
    b.block_params(blk).try_into().map_err(|_| CodegenError("dispatch: block parameters".into()))
}

fn args<const N: usize>(v: [CV; N]) -> [BlockArg; N] {
    v.map(BlockArg::Value)
}

/// Entries of `1 << shift` bytes from `base`, each with a `u64` key at offset `field`.
struct Table {
    base: CV,
    shift: i64,
    field: i32,
}

/// Emits a binary search for the first of the `n` entries of `t` whose key is not below
/// `needle`, and switches to a block where its index (`n` if none) is the returned value.
fn lower_bound(b: &mut FunctionBuilder<'_>, t: Table, n: CV, needle: CV) -> Result<CV, CodegenError> {
    let (search, halve, found) = (block(b, 2), block(b, 2), block(b, 1));
    let zero = b.ins().iconst(I64, 0);
    b.ins().jump(search, &args([zero, n]));
    b.switch_to_block(search);
    let [lo, hi] = params(b, search)?;
    let more = b.ins().icmp(IntCC::UnsignedLessThan, lo, hi);
    b.ins().brif(more, halve, &args([lo, hi]), found, &args([lo]));
    b.switch_to_block(halve);
    let [lo, hi] = params(b, halve)?;
    let mid = b.ins().iadd(lo, hi);
    let mid = b.ins().ushr_imm_u(mid, 1);
    let at = b.ins().ishl_imm_u(mid, t.shift);
    let at = b.ins().iadd(t.base, at);
    let k = b.ins().load(I64, MemFlagsData::trusted(), at, t.field);
    let below = b.ins().icmp(IntCC::UnsignedLessThan, k, needle);
    let next = b.ins().iadd_imm_u(mid, 1);
    let lo = b.ins().select(below, next, lo);
    let hi = b.ins().select(below, hi, mid);
    b.ins().jump(search, &args([lo, hi]));
    b.switch_to_block(found);
    let [i] = params(b, found)?;
    Ok(i)
}

fn build(
    mut b: FunctionBuilder<'_>,
    body_sig: Signature,
    config: cranelift_codegen::isa::TargetFrontendConfig,
) -> Result<(), CodegenError> {
    let f = MemFlagsData::trusted();
    let body_sig = b.import_signature(body_sig);
    let entry = b.create_block();
    b.append_block_params_for_function_params(entry);
    b.switch_to_block(entry);
    let [cx, hits] = params(&b, entry)?;
    let view = b.ins().load(I64, f, cx, rtm::OFF_INDEX);
    let action = b.ins().load(I64, f, cx, rtm::OFF_ACTION);
    let principal = b.ins().load(I64, f, cx, rtm::OFF_PRINCIPAL);
    let resource = b.ins().load(I64, f, cx, rtm::OFF_RESOURCE);
    let types = b.ins().load(I64, f, view, V_TYPES);
    let pt = b.ins().ushr_imm_u(principal, i64::from(TYPE_SHIFT));
    let rt = b.ins().ushr_imm_u(resource, i64::from(TYPE_SHIFT));
    let key = b.ins().imul(action, types);
    let key = b.ins().iadd(key, pt);
    let key = b.ins().imul(key, types);
    let key = b.ins().iadd(key, rt);
    let keys = b.ins().load(I64, f, view, V_KEYS);
    let n_slots = b.ins().load(I64, f, view, V_N_SLOTS);
    let zero = b.ins().iconst(I64, 0);
    let nothing = b.create_block();

    // The first key not below `key`, by binary search; the slot if it is `key`.
    let (check, slot) = (block(&mut b, 1), block(&mut b, 1));
    let i = lower_bound(&mut b, Table { base: keys, shift: 3, field: 0 }, n_slots, key)?;
    let inside = b.ins().icmp(IntCC::UnsignedLessThan, i, n_slots);
    b.ins().brif(inside, check, &args([i]), nothing, &[]);
    b.switch_to_block(check);
    let [i] = params(&b, check)?;
    let at = b.ins().ishl_imm_u(i, 3);
    let at = b.ins().iadd(keys, at);
    let k = b.ins().load(I64, f, at, 0);
    let same = b.ins().icmp(IntCC::Equal, k, key);
    b.ins().brif(same, slot, &args([i]), nothing, &[]);

    // The slot; the request's intent among its intent groups, the same way.
    b.switch_to_block(slot);
    let [i] = params(&b, slot)?;
    let slots = b.ins().load(I64, f, view, V_SLOTS);
    let at = b.ins().ishl_imm_u(i, 4);
    let s = b.ins().iadd(slots, at);
    let general_start = b.ins().uload32(f, s, S_GENERAL_START);
    let general_len = b.ins().uload32(f, s, S_GENERAL_LEN);
    let intents_start = b.ins().uload32(f, s, S_INTENTS_START);
    let intents_len = b.ins().uload32(f, s, S_INTENTS_LEN);
    let intent = b.ins().load(I64, f, cx, rtm::OFF_INTENT);
    let intents = b.ins().load(I64, f, view, V_INTENTS);
    let at = b.ins().ishl_imm_u(intents_start, 4);
    let groups = b.ins().iadd(intents, at);
    let (icheck, merge) = (block(&mut b, 1), block(&mut b, 2));
    let j = lower_bound(&mut b, Table { base: groups, shift: 4, field: I_INTENT }, intents_len, intent)?;
    let inside = b.ins().icmp(IntCC::UnsignedLessThan, j, intents_len);
    b.ins().brif(inside, icheck, &args([j]), merge, &args([zero, zero]));
    b.switch_to_block(icheck);
    let [j] = params(&b, icheck)?;
    let at = b.ins().ishl_imm_u(j, 4);
    let e = b.ins().iadd(groups, at);
    let w = b.ins().load(I64, f, e, I_INTENT);
    let start = b.ins().uload32(f, e, I_START);
    let len = b.ins().uload32(f, e, I_LEN);
    let same = b.ins().icmp(IntCC::Equal, w, intent);
    b.ins().brif(same, merge, &args([start, len]), merge, &args([zero, zero]));

    // Both lists, merged in rule order: each body called, each hit written down.
    b.switch_to_block(merge);
    let [specific_start, specific_len] = params(&b, merge)?;
    let candidates = b.ins().load(I64, f, view, V_CANDIDATES);
    let span = |b: &mut FunctionBuilder<'_>, start: CV, len: CV| {
        let at = b.ins().ishl_imm_u(start, 4);
        let first = b.ins().iadd(candidates, at);
        let size = b.ins().ishl_imm_u(len, 4);
        let end = b.ins().iadd(first, size);
        (first, end)
    };
    let (a0, a_end) = span(&mut b, general_start, general_len);
    let (b0, b_end) = span(&mut b, specific_start, specific_len);
    let (lp, has_a, no_a, both, visit, call, record, write, done) = (
        block(&mut b, 3),
        block(&mut b, 3),
        block(&mut b, 3),
        block(&mut b, 3),
        block(&mut b, 4),
        block(&mut b, 4),
        block(&mut b, 5),
        block(&mut b, 5),
        block(&mut b, 1),
    );
    b.ins().jump(lp, &args([a0, b0, zero]));
    b.switch_to_block(lp);
    let [a, bb, n] = params(&b, lp)?;
    let a_left = b.ins().icmp(IntCC::UnsignedLessThan, a, a_end);
    b.ins().brif(a_left, has_a, &args([a, bb, n]), no_a, &args([a, bb, n]));
    b.switch_to_block(no_a);
    let [a, bb, n] = params(&b, no_a)?;
    let b_left = b.ins().icmp(IntCC::UnsignedLessThan, bb, b_end);
    let b_next = b.ins().iadd_imm_u(bb, 16);
    b.ins().brif(b_left, visit, &args([bb, a, b_next, n]), done, &args([n]));
    b.switch_to_block(has_a);
    let [a, bb, n] = params(&b, has_a)?;
    let b_left = b.ins().icmp(IntCC::UnsignedLessThan, bb, b_end);
    let a_next = b.ins().iadd_imm_u(a, 16);
    b.ins().brif(b_left, both, &args([a, bb, n]), visit, &args([a, a_next, bb, n]));
    b.switch_to_block(both);
    let [a, bb, n] = params(&b, both)?;
    let order_a = b.ins().load(I64, f, a, C_ORDER);
    let order_b = b.ins().load(I64, f, bb, C_ORDER);
    let a_first = b.ins().icmp(IntCC::UnsignedLessThanOrEqual, order_a, order_b);
    let a_next = b.ins().iadd_imm_u(a, 16);
    let b_next = b.ins().iadd_imm_u(bb, 16);
    b.ins().brif(a_first, visit, &args([a, a_next, bb, n]), visit, &args([bb, a, b_next, n]));

    // One candidate `c`; `a` and `bb` are already past it.
    b.switch_to_block(visit);
    let [c, a, bb, n] = params(&b, visit)?;
    b.ins().store(f, zero, cx, rtm::OFF_ERR_INTERNAL);
    let body = b.ins().load(I64, f, c, C_BODY);
    let applies = b.ins().iconst(I64, Status::APPLIES);
    b.ins().brif(body, call, &args([c, a, bb, n]), record, &args([c, a, bb, n, applies]));
    b.switch_to_block(call);
    let [c, a, bb, n] = params(&b, call)?;
    let body = b.ins().load(I64, f, c, C_BODY);
    let inst = b.ins().call_indirect(body_sig, body, &[cx]);
    let status = b.inst_results(inst).first().copied().ok_or_else(|| CodegenError("dispatch: no status".into()))?;
    b.ins().jump(record, &args([c, a, bb, n, status]));
    b.switch_to_block(record);
    let [c, a, bb, n, status] = params(&b, record)?;
    // `Status::FAILS` is 0: nothing to write down.
    b.ins().brif(status, write, &args([c, a, bb, n, status]), lp, &args([a, bb, n]));
    b.switch_to_block(write);
    let [c, a, bb, n, status] = params(&b, write)?;
    let at = b.ins().ishl_imm_u(n, 4);
    let h = b.ins().iadd(hits, at);
    let index = b.ins().isub(c, candidates);
    let index = b.ins().ushr_imm_u(index, 4);
    b.ins().istore32(f, index, h, H_CANDIDATE);
    b.ins().istore32(f, status, h, H_STATUS);
    let err_entity = b.ins().load(I64, f, cx, rtm::OFF_ERR_ENTITY);
    b.ins().store(f, err_entity, h, H_ERR_ENTITY);
    let n = b.ins().iadd_imm_u(n, 1);
    b.ins().jump(lp, &args([a, bb, n]));
    b.switch_to_block(done);
    let [n] = params(&b, done)?;
    b.ins().return_(&[n]);
    b.switch_to_block(nothing);
    b.ins().return_(&[zero]);
    b.seal_all_blocks();
    b.finalize(config);
    Ok(())
}
