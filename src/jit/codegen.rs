//! Lowers the typed IR to Cranelift: one function per rule body (its clauses), one per
//! permit body with a `grant`, and one entry function for the whole policy set that
//! dispatches on (action, principal type, resource type), checks each candidate rule's
//! target and calls its body, and writes the outcome of every rule that applied or failed.
//!
//! A body returns a status: 0 the rule does not apply, 1 it applies, ≥ 2 an evaluation error
//! (see [`Status`]). Values are all 64-bit words (see `words`).

use super::runtime::{self as rtm, BUILTINS};
use super::words::{ConstTables, ConstWord, TYPE_SHIFT};
use crate::ir::schema::EntityConstraint;
use crate::ir::value::{Glob, Value};
use crate::ir::{self, ArithOp, Builtin, CmpOp, ExprKind as K, FieldTy, PolicySet, Quantifier, RecordTy, Ty};
use cranelift_codegen::Context;
use cranelift_codegen::control::ControlPlane;
use cranelift_codegen::ir::Function;
use cranelift_codegen::ir::condcodes::IntCC;
use cranelift_codegen::ir::types::I64;
use cranelift_codegen::ir::{
    AbiParam, Block, BlockArg, ExtFuncData, ExternalName, FuncRef, InstBuilder, MemFlagsData, Signature, StackSlotData,
    StackSlotKind, UserExternalName, UserFuncName, Value as CV,
};
use cranelift_codegen::isa::TargetIsa;
use cranelift_frontend::{FunctionBuilder, FunctionBuilderContext, Variable};
use cranelift_jit::JITModule;
use cranelift_module::{FuncId, Linkage, Module, ModuleReloc};
use std::collections::HashMap;
use std::sync::Mutex;

/// Evaluation statuses; the numbering is shared with the decision driver.
pub(crate) struct Status;

impl Status {
    pub const FAILS: i64 = 0;
    pub const APPLIES: i64 = 1;
    pub const OVERFLOW_ADD: i64 = 2;
    pub const OVERFLOW_SUB: i64 = 3;
    pub const OVERFLOW_MUL: i64 = 4;
    pub const MISSING_ATTR: i64 = 5;
    pub const MISSING_FIELD: i64 = 6;
    pub const MISSING_ENTITY: i64 = 7;
    pub const INTERNAL: i64 = 8;
    pub const OVERFLOW_DATE: i64 = 9;
    /// The decision's evaluation budget ran out (`ir::DEFAULT_FUEL`).
    pub const FUEL: i64 = 10;
    /// A helper panicked (caught: the rule fails closed).
    pub const PANIC: i64 = 11;
    /// A comparison between values of different kinds.
    pub const MIXED_KINDS: i64 = 12;
}

/// Leave blocks that report a missing principal or resource entity: they record which
/// entity before returning `MISSING_ENTITY` (never returned as such).
const MISSING_PRINCIPAL: i64 = -1;
const MISSING_RESOURCE: i64 = -2;

#[derive(Debug)]
pub(crate) struct CodegenError(pub String);

/// Tables the generated code refers to by index.
pub(crate) struct Tables {
    pub consts: ConstTables,
    pub globs: Vec<Glob>,
    pub types: Vec<Ty>,
}

impl Tables {
    pub fn new() -> Tables {
        Tables { consts: ConstTables::new(), globs: Vec::new(), types: Vec::new() }
    }

    fn ty(&mut self, t: &Ty) -> i64 {
        let i = match self.types.iter().position(|x| x == t) {
            Some(i) => i,
            None => {
                self.types.push(t.clone());
                self.types.len() - 1
            }
        };
        i as i64
    }
}

/// The ids of the generated functions.
pub(crate) struct Generated {
    /// `(rule, body)` → the function that checks the rule's target and the body's clauses;
    /// none for a body that [`always_applies`].
    pub bodies: HashMap<(u32, u32), FuncId>,
    /// `(rule, body)` → the function that computes the grant of a permit body that has one.
    pub grants: HashMap<(u32, u32), FuncId>,
    /// The policy set's decision function (see `dispatch`).
    pub decide: FuncId,
}

fn sig(module: &JITModule, params: usize) -> Signature {
    let mut s = module.make_signature();
    for _ in 0..params {
        s.params.push(AbiParam::new(I64));
    }
    s.returns.push(AbiParam::new(I64));
    s
}

const HELPERS: &[(&str, usize)] = &[
    ("writ_ent_attrs", 2),
    ("writ_ent_in", 3),
    ("writ_ent_in_set", 3),
    ("writ_set_has", 3),
    ("writ_eq_deep", 4),
    ("writ_set_has_deep", 4),
    ("writ_make_set", 4),
    ("writ_make_record", 3),
    ("writ_like", 3),
    ("writ_like_dyn", 3),
    ("writ_str", 4),
    ("writ_ts", 3),
    ("writ_ip", 4),
    ("writ_builtin", 5),
];

fn canonical(t: &Ty) -> bool {
    matches!(
        t,
        Ty::Bool
            | Ty::Int
            | Ty::String
            | Ty::Duration
            | Ty::Timestamp
            | Ty::Entity(_)
            | Ty::Enum(_)
            | Ty::Intent
            | Ty::Action
            | Ty::Never
    )
}

/// Whether values of types `a` and `b` are of the same kind (as `interp::same_kind` asks of
/// values); `Never` and `Error` fit any.
fn same_kind(a: &Ty, b: &Ty) -> bool {
    match (a, b) {
        (Ty::Never | Ty::Error, _) | (_, Ty::Never | Ty::Error) => true,
        (Ty::Set(x), Ty::Set(y)) => same_kind(x, y),
        (Ty::Record(x), Ty::Record(y)) => {
            x.fields.len() == y.fields.len()
                && x.fields.iter().zip(y.fields.iter()).all(|(f, g)| same_kind(&f.ty, &g.ty))
        }
        _ => std::mem::discriminant(a) == std::mem::discriminant(b),
    }
}

/// The signed comparison of an ordering operator (words of Int, Duration, Timestamp and
/// enum values compare as signed integers).
fn ordering(op: CmpOp) -> IntCC {
    match op {
        CmpOp::Lt => IntCC::SignedLessThan,
        CmpOp::Le => IntCC::SignedLessThanOrEqual,
        CmpOp::Gt => IntCC::SignedGreaterThan,
        _ => IntCC::SignedGreaterThanOrEqual,
    }
}

fn err<E: std::fmt::Display>(e: E) -> CodegenError {
    CodegenError(e.to_string())
}

/// The `extern "C"` helpers, declared in the module.
struct Helpers(HashMap<&'static str, (FuncId, Signature)>);

impl Helpers {
    /// Imports helper `name` into `func` (what `Module::declare_func_in_func` does, without
    /// the module, so that threads can build functions).
    fn import(&self, name: &str, func: &mut Function) -> Result<FuncRef, CodegenError> {
        let (id, sig) = self.0.get(name).ok_or_else(|| CodegenError(format!("no helper {name}")))?;
        let signature = func.import_signature(sig.clone());
        let user = func.declare_imported_user_function(UserExternalName { namespace: 0, index: id.as_u32() });
        Ok(func.import_function(ExtFuncData {
            name: ExternalName::user(user),
            signature,
            colocated: false,
            patchable: false,
        }))
    }
}

/// One function to generate: a rule body's test, or a permit body's grant.
struct Job<'p> {
    id: FuncId,
    grant: bool,
    rule: &'p ir::Rule,
    body: &'p ir::Body,
}

/// Generates every function of the policy set into `module`. The functions are declared
/// here, in rule order; then each thread (one per core, see [`threads`]) builds and compiles
/// its share of them, reusing one Cranelift context; the module receives the machine code
/// in declaration order. The tables (`tables`) are shared under a lock, so the indices they
/// hand out depend on scheduling; the code that uses them does not.
pub(crate) fn generate(
    module: &mut JITModule,
    policy: &PolicySet,
    tables: &mut Tables,
    max_threads: usize,
) -> Result<Generated, CodegenError> {
    if module.target_config().pointer_type() != I64 {
        return Err(CodegenError("the JIT needs a 64-bit target".into()));
    }
    let mut helpers = HashMap::new();
    for (name, n) in HELPERS {
        let s = sig(module, *n);
        let id = module.declare_function(name, Linkage::Import, &s).map_err(err)?;
        helpers.insert(*name, (id, s));
    }
    let helpers = Helpers(helpers);
    let (sig1, sig2) = (sig(module, 1), sig(module, 2));
    let mut jobs = Vec::new();
    let mut bodies = HashMap::new();
    let mut grants = HashMap::new();
    for (ri, rule) in policy.rules.iter().enumerate() {
        for (bi, body) in rule.bodies.iter().enumerate() {
            let key = (u32::try_from(ri).map_err(err)?, u32::try_from(bi).map_err(err)?);
            // No code for a body that always applies: the driver knows (see `always_applies`).
            if !always_applies(rule, body) {
                let id = module.declare_anonymous_function(&sig1).map_err(err)?;
                jobs.push(Job { id, grant: false, rule, body });
                bodies.insert(key, id);
            }
            if rule.effect == crate::ir::Effect::Permit && !body.grant.is_empty() && !body.constant_grant() {
                let id = module.declare_anonymous_function(&sig2).map_err(err)?;
                jobs.push(Job { id, grant: true, rule, body });
                grants.insert(key, id);
            }
        }
    }
    let n = threads(jobs.len(), max_threads);
    let mut shares: Vec<Vec<Job<'_>>> = (0..n).map(|_| Vec::new()).collect();
    for (i, job) in jobs.into_iter().enumerate() {
        if let Some(s) = shares.get_mut(i % n) {
            s.push(job);
        }
    }
    let shared = Mutex::new(std::mem::replace(tables, Tables::new()));
    let isa = module.isa();
    let work = |share: Vec<Job<'_>>| compile_share(isa, &helpers, &shared, (&sig1, &sig2), share);
    let results: Vec<Result<Vec<Object>, CodegenError>> = if n == 1 {
        shares.into_iter().map(work).collect()
    } else {
        std::thread::scope(|s| {
            let handles: Vec<_> = shares.into_iter().map(|share| s.spawn(move || work(share))).collect();
            handles
                .into_iter()
                .map(|h| h.join().unwrap_or_else(|_| Err(CodegenError("a code generation thread panicked".into()))))
                .collect()
        })
    };
    *tables = shared.into_inner().unwrap_or_else(std::sync::PoisonError::into_inner);
    let mut objects = Vec::new();
    for r in results {
        objects.extend(r?);
    }
    objects.sort_by_key(|o| o.id.as_u32());
    for o in objects {
        module.define_function_bytes(o.id, o.align, &o.bytes, &o.relocs).map_err(err)?;
    }
    let decide = super::dispatch::generate(module, &sig1)?;
    Ok(Generated { bodies, grants, decide })
}

/// Builds and compiles one thread's share of the functions.
fn compile_share(
    isa: &dyn TargetIsa,
    helpers: &Helpers,
    tables: &Mutex<Tables>,
    (sig1, sig2): (&Signature, &Signature),
    share: Vec<Job<'_>>,
) -> Result<Vec<Object>, CodegenError> {
    let config = isa.frontend_config();
    let mut fctx = FunctionBuilderContext::new();
    let mut ctx = Context::new();
    let mut out = Vec::with_capacity(share.len());
    for job in share {
        ctx.clear();
        ctx.func.name = UserFuncName::user(0, job.id.as_u32());
        ctx.func.signature = if job.grant { sig2.clone() } else { sig1.clone() };
        let mut g = Gen::new(helpers, tables, &mut ctx.func, &mut fctx, job.body.locals);
        if job.grant {
            let out = g.param(1);
            for (i, (_, e)) in job.body.grant.iter().enumerate() {
                let v = g.expr(e)?;
                g.b.ins().store(MemFlagsData::trusted(), v, out, i32::try_from(8 * i).map_err(err)?);
            }
            let one = g.b.ins().iconst(I64, Status::APPLIES);
            g.b.ins().return_(&[one]);
        } else {
            // The target first: dispatch has already matched the principal and resource
            // types; what is left is `==`, `in` and `is … in`.
            let fails = g.b.create_block();
            let p = g.load_ctx(rtm::OFF_PRINCIPAL);
            g.constraint(&job.rule.principal, p, fails)?;
            let r = g.load_ctx(rtm::OFF_RESOURCE);
            g.constraint(&job.rule.resource, r, fails)?;
            for c in &job.body.clauses {
                let next = g.b.create_block();
                if c.when {
                    g.cond(&c.expr, next, fails)?;
                } else {
                    g.cond(&c.expr, fails, next)?;
                }
                g.b.switch_to_block(next);
            }
            let one = g.b.ins().iconst(I64, Status::APPLIES);
            g.b.ins().return_(&[one]);
            g.b.switch_to_block(fails);
            let z = g.b.ins().iconst(I64, Status::FAILS);
            g.b.ins().return_(&[z]);
        }
        g.finish(config);
        ctx.compile(isa, &mut ControlPlane::default()).map_err(|e| CodegenError(format!("{:?}", e.inner)))?;
        let code = ctx.compiled_code().ok_or_else(|| CodegenError("no compiled code".into()))?;
        let align = u64::from(code.buffer.alignment);
        let bytes = code.code_buffer().to_vec();
        let relocs: Vec<ModuleReloc> =
            code.buffer.relocs().iter().map(|r| ModuleReloc::from_mach_reloc(r, &ctx.func, job.id)).collect();
        out.push(Object { id: job.id, align, bytes, relocs });
    }
    Ok(out)
}

/// A body with no clauses whose rule's target names no entity (`permit Agent to act on *`):
/// once dispatch has matched the types it applies, so it gets no native function.
pub(crate) fn always_applies(rule: &ir::Rule, body: &ir::Body) -> bool {
    body.clauses.is_empty() && rule.principal == EntityConstraint::Any && rule.resource == EntityConstraint::Any
}

/// Machine code for one function, ready for the module.
struct Object {
    id: FuncId,
    align: u64,
    bytes: Vec<u8>,
    relocs: Vec<ModuleReloc>,
}

/// How many threads compile `n` functions: at most `limit` (0: one per core), at most one
/// per 64 functions, at most 16.
fn threads(n: usize, limit: usize) -> usize {
    let cores = std::thread::available_parallelism().map(std::num::NonZeroUsize::get).unwrap_or(1);
    let limit = if limit == 0 { cores } else { limit };
    limit.min(n / 64).clamp(1, 16)
}

struct Gen<'a, 'f> {
    b: FunctionBuilder<'f>,
    helpers: &'a Helpers,
    refs: HashMap<&'static str, FuncRef>,
    tables: &'a Mutex<Tables>,
    ctx: CV,
    locals: Vec<Variable>,
    errs: Vec<(i64, Block)>,
    /// Where a failed helper leaves to: returns the status it recorded (its parameter).
    failed_helper: Option<Block>,
    entry: Block,
}

impl<'a, 'f> Gen<'a, 'f> {
    fn new(
        helpers: &'a Helpers,
        tables: &'a Mutex<Tables>,
        func: &'f mut cranelift_codegen::ir::Function,
        fctx: &'f mut FunctionBuilderContext,
        locals: u32,
    ) -> Self {
        let mut b = FunctionBuilder::new(func, fctx);
        let entry = b.create_block();
        b.append_block_params_for_function_params(entry);
        b.switch_to_block(entry);
        let ctx = b.block_params(entry).first().copied().unwrap_or_else(|| b.ins().iconst(I64, 0));
        let locals = (0..locals).map(|_| b.declare_var(I64)).collect::<Vec<_>>();
        let mut g =
            Gen { b, helpers, refs: HashMap::new(), tables, ctx, locals, errs: Vec::new(), failed_helper: None, entry };
        // Locals read before any write (impossible after checking) read zero.
        for v in g.locals.clone() {
            let z = g.b.ins().iconst(I64, 0);
            g.b.def_var(v, z);
        }
        g
    }

    /// The tables, shared by the threads that generate code (a poisoned lock is still
    /// usable: the tables only grow).
    fn tables(&self) -> std::sync::MutexGuard<'a, Tables> {
        self.tables.lock().unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    fn param(&mut self, i: usize) -> CV {
        let v = self.b.block_params(self.entry).get(i).copied();
        v.unwrap_or_else(|| self.b.ins().iconst(I64, 0))
    }

    fn finish(mut self, config: cranelift_codegen::isa::TargetFrontendConfig) {
        for (code, blk) in std::mem::take(&mut self.errs) {
            self.b.switch_to_block(blk);
            let code = match code {
                MISSING_PRINCIPAL | MISSING_RESOURCE => {
                    let off = if code == MISSING_PRINCIPAL { rtm::OFF_PRINCIPAL } else { rtm::OFF_RESOURCE };
                    let w = self.load_ctx(off);
                    let ctx = self.ctx;
                    self.b.ins().store(MemFlagsData::trusted(), w, ctx, rtm::OFF_ERR_ENTITY);
                    Status::MISSING_ENTITY
                }
                Status::FUEL => {
                    // Running out empties the budget: every later charge fails too.
                    let (zero, ctx) = (self.iconst(0), self.ctx);
                    self.b.ins().store(MemFlagsData::trusted(), zero, ctx, rtm::OFF_FUEL);
                    Status::FUEL
                }
                c => c,
            };
            let c = self.b.ins().iconst(I64, code);
            self.b.ins().return_(&[c]);
        }
        if let Some(blk) = self.failed_helper.take() {
            self.b.switch_to_block(blk);
            if let Some(status) = self.b.block_params(blk).first().copied() {
                self.b.ins().return_(&[status]);
            }
        }
        self.b.seal_all_blocks();
        self.b.finalize(config);
    }

    fn load_ctx(&mut self, off: i32) -> CV {
        self.b.ins().load(I64, MemFlagsData::trusted(), self.ctx, off)
    }

    fn result(&mut self, inst: cranelift_codegen::ir::Inst) -> Result<CV, CodegenError> {
        self.b.inst_results(inst).first().copied().ok_or_else(|| CodegenError("call without a result".into()))
    }

    fn call(&mut self, name: &'static str, args: &[CV]) -> Result<CV, CodegenError> {
        let fref = match self.refs.get(name) {
            Some(f) => *f,
            None => {
                let f = self.helpers.import(name, self.b.func)?;
                self.refs.insert(name, f);
                f
            }
        };
        let inst = self.b.ins().call(fref, args);
        self.result(inst)
    }

    fn err_block(&mut self, code: i64) -> Block {
        if let Some((_, b)) = self.errs.iter().find(|(c, _)| *c == code) {
            return *b;
        }
        let b = self.b.create_block();
        self.errs.push((code, b));
        b
    }

    /// Leaves with `code` when `cond` is non-zero.
    fn fail_if(&mut self, cond: CV, code: i64) {
        let e = self.err_block(code);
        let cont = self.b.create_block();
        self.b.ins().brif(cond, e, &[], cont, &[]);
        self.b.switch_to_block(cont);
    }

    /// After a helper call: leave with the status it recorded if it failed (an internal
    /// error, a caught panic).
    fn check_internal(&mut self) {
        let f = self.load_ctx(rtm::OFF_ERR_INTERNAL);
        let failed = match self.failed_helper {
            Some(b) => b,
            None => {
                let b = self.b.create_block();
                self.b.append_block_param(b, I64);
                self.failed_helper = Some(b);
                b
            }
        };
        let cont = self.b.create_block();
        self.b.ins().brif(f, failed, &[BlockArg::Value(f)], cont, &[]);
        self.b.switch_to_block(cont);
    }

    /// Calls helper `name` and leaves with its status if it failed.
    fn call_checked(&mut self, name: &'static str, args: &[CV]) -> Result<CV, CodegenError> {
        let r = self.call(name, args)?;
        self.check_internal();
        Ok(r)
    }

    /// Spends `n` units of the decision's budget (`ir::DEFAULT_FUEL`), or leaves with
    /// `Status::FUEL` (which empties it) if fewer are left; as `Eval::charge` does.
    fn charge(&mut self, n: CV) {
        let fuel = self.load_ctx(rtm::OFF_FUEL);
        let short = self.b.ins().icmp(IntCC::UnsignedLessThan, fuel, n);
        self.fail_if(short, Status::FUEL);
        let left = self.b.ins().isub(fuel, n);
        let ctx = self.ctx;
        self.b.ins().store(MemFlagsData::trusted(), left, ctx, rtm::OFF_FUEL);
    }

    /// The length of the set word `s` (`[len, items…]`).
    fn set_len(&mut self, s: CV) -> CV {
        self.b.ins().load(I64, MemFlagsData::trusted(), s, 0)
    }

    /// Leaves with `Status::MIXED_KINDS` if `a` and `b` have types of different kinds (down to
    /// set elements and record fields): the checker never lets them meet, and the
    /// interpreter fails closed on them too.
    fn same_kinds(&mut self, a: &Ty, b: &Ty) {
        if !same_kind(a, b) {
            let yes = self.iconst(1);
            self.fail_if(yes, Status::MIXED_KINDS);
        }
    }

    fn iconst(&mut self, v: i64) -> CV {
        self.b.ins().iconst(I64, v)
    }

    fn bool_of(&mut self, c: CV) -> CV {
        self.b.ins().uextend(I64, c)
    }

    fn constant(&mut self, v: &Value) -> CV {
        let word = self.tables().consts.constant(v);
        match word {
            ConstWord::Word(w) => self.iconst(w as i64),
            ConstWord::Dep(i) => {
                let base = self.load_ctx(rtm::OFF_DEP);
                self.b.ins().load(I64, MemFlagsData::trusted(), base, (8 * i) as i32)
            }
        }
    }

    /// Evaluates the Boolean `e` as control flow: jumps to `t` if it holds, to `f` if not
    /// (or leaves with an error status), with the same short-circuit order as `expr`.
    fn cond(&mut self, e: &ir::Expr, t: Block, f: Block) -> Result<(), CodegenError> {
        match &e.kind {
            K::And(es) | K::Or(es) => {
                let is_and = matches!(e.kind, K::And(_));
                let Some((last, init)) = es.split_last() else {
                    self.b.ins().jump(if is_and { t } else { f }, &[]);
                    return Ok(());
                };
                for x in init {
                    let next = self.b.create_block();
                    if is_and {
                        self.cond(x, next, f)?;
                    } else {
                        self.cond(x, t, next)?;
                    }
                    self.b.switch_to_block(next);
                }
                self.cond(last, t, f)
            }
            K::Not(x) => self.cond(x, f, t),
            K::Lit(Value::Bool(v)) => {
                self.b.ins().jump(if *v { t } else { f }, &[]);
                Ok(())
            }
            K::If(c, a, b) => {
                let (then, els) = (self.b.create_block(), self.b.create_block());
                self.cond(c, then, els)?;
                self.b.switch_to_block(then);
                self.cond(a, t, f)?;
                self.b.switch_to_block(els);
                self.cond(b, t, f)
            }
            K::Cmp(op @ (CmpOp::Lt | CmpOp::Le | CmpOp::Gt | CmpOp::Ge), a, b) => {
                let x = self.expr(a)?;
                let y = self.expr(b)?;
                self.same_kinds(&a.ty, &b.ty);
                let c = self.b.ins().icmp(ordering(*op), x, y);
                self.b.ins().brif(c, t, &[], f, &[]);
                Ok(())
            }
            _ => {
                let v = self.expr(e)?;
                self.b.ins().brif(v, t, &[], f, &[]);
                Ok(())
            }
        }
    }

    /// Jumps to `skip` unless the entity word `w` satisfies the target constraint.
    fn constraint(&mut self, c: &EntityConstraint, w: CV, skip: Block) -> Result<(), CodegenError> {
        let test = match c {
            EntityConstraint::Any => return Ok(()),
            EntityConstraint::Is(x) => {
                let x = self.constant(&Value::Entity(x.clone()));
                let eq = self.b.ins().icmp(IntCC::Equal, w, x);
                self.bool_of(eq)
            }
            EntityConstraint::In(x) => {
                let x = self.constant(&Value::Entity(x.clone()));
                let ctx = self.ctx;
                self.call_checked("writ_ent_in", &[ctx, w, x])?
            }
            EntityConstraint::IsIn(x, y) => {
                let x = self.constant(&Value::Entity(x.clone()));
                let eq = self.b.ins().icmp(IntCC::Equal, w, x);
                let next = self.b.create_block();
                self.b.ins().brif(eq, next, &[], skip, &[]);
                self.b.switch_to_block(next);
                let y = self.constant(&Value::Entity(y.clone()));
                let ctx = self.ctx;
                self.call_checked("writ_ent_in", &[ctx, w, y])?
            }
        };
        let next = self.b.create_block();
        self.b.ins().brif(test, next, &[], skip, &[]);
        self.b.switch_to_block(next);
        Ok(())
    }

    /// Attribute words of the entity `e` evaluates to; leaves with MISSING_ENTITY if there is
    /// none. The principal's and the resource's were looked up by the driver (`Ctx`).
    fn attrs_of(&mut self, e: &ir::Expr) -> Result<CV, CodegenError> {
        let (off, code) = match &e.kind {
            K::Principal => (rtm::OFF_PRINCIPAL_ATTRS, MISSING_PRINCIPAL),
            K::Resource => (rtm::OFF_RESOURCE_ATTRS, MISSING_RESOURCE),
            _ => {
                let w = self.expr(e)?;
                return self.attrs(w);
            }
        };
        let p = self.load_ctx(off);
        let null = self.b.ins().icmp_imm_s(IntCC::Equal, p, 0);
        self.fail_if(null, code);
        Ok(p)
    }

    /// Attribute words of the entity `w`; leaves with MISSING_ENTITY if there is none.
    fn attrs(&mut self, w: CV) -> Result<CV, CodegenError> {
        let ctx = self.ctx;
        let p = self.call_checked("writ_ent_attrs", &[ctx, w])?;
        let null = self.b.ins().icmp_imm_s(IntCC::Equal, p, 0);
        self.fail_if(null, Status::MISSING_ENTITY);
        Ok(p)
    }

    /// The value of slot `i` of a record layout at `p`; leaves with `missing` if absent.
    fn slot(&mut self, p: CV, i: u32, missing: i64) -> CV {
        let off = 16 * i as i32;
        let present = self.b.ins().load(I64, MemFlagsData::trusted(), p, off);
        let absent = self.b.ins().icmp_imm_s(IntCC::Equal, present, 0);
        self.fail_if(absent, missing);
        self.b.ins().load(I64, MemFlagsData::trusted(), p, off + 8)
    }

    fn present(&mut self, p: CV, i: u32) -> CV {
        let present = self.b.ins().load(I64, MemFlagsData::trusted(), p, 16 * i as i32);
        let c = self.b.ins().icmp_imm_s(IntCC::NotEqual, present, 0);
        self.bool_of(c)
    }

    /// Stores words in a fresh stack slot; returns its address.
    fn spill(&mut self, vals: &[CV]) -> CV {
        let size = u32::try_from(8 * vals.len().max(1)).unwrap_or(8);
        let ss = self.b.create_sized_stack_slot(StackSlotData::new(StackSlotKind::ExplicitSlot, size, 3));
        for (i, v) in vals.iter().enumerate() {
            self.b.ins().stack_store(I64, *v, ss, (8 * i) as i32);
        }
        self.b.ins().stack_addr(I64, ss, 0)
    }

    fn eq(&mut self, a: CV, b: CV, t: &Ty) -> Result<CV, CodegenError> {
        if canonical(t) {
            let c = self.b.ins().icmp(IntCC::Equal, a, b);
            return Ok(self.bool_of(c));
        }
        let ti = self.tables().ty(t);
        let ti = self.iconst(ti);
        let ctx = self.ctx;
        let r = self.call("writ_eq_deep", &[ctx, a, b, ti])?;
        self.check_internal();
        Ok(r)
    }

    /// Whether `set` holds `x`; `charged`: the set's length is charged to the fuel (not for
    /// a set written in the policy, [`crate::ir::constant_set`]).
    fn set_has(&mut self, set: CV, x: CV, elem: &Ty, charged: bool) -> Result<CV, CodegenError> {
        if charged {
            let n = self.set_len(set);
            self.charge(n);
        }
        if canonical(elem) {
            let ctx = self.ctx;
            return self.call_checked("writ_set_has", &[ctx, set, x]);
        }
        let ti = self.tables().ty(elem);
        let ti = self.iconst(ti);
        let ctx = self.ctx;
        let r = self.call("writ_set_has_deep", &[ctx, set, x, ti])?;
        self.check_internal();
        Ok(r)
    }

    fn expr(&mut self, e: &ir::Expr) -> Result<CV, CodegenError> {
        Ok(match &e.kind {
            K::Lit(v) => self.constant(v),
            K::Principal => self.load_ctx(rtm::OFF_PRINCIPAL),
            K::Resource => self.load_ctx(rtm::OFF_RESOURCE),
            K::Context => self.load_ctx(rtm::OFF_CONTEXT),
            K::Action => self.load_ctx(rtm::OFF_ACTION),
            K::Intent => self.load_ctx(rtm::OFF_INTENT),
            K::OnBehalfOf => self.load_ctx(rtm::OFF_OBO),
            K::Local(n) => {
                let v = *self.locals.get(*n as usize).ok_or_else(|| CodegenError("unbound local".into()))?;
                self.b.use_var(v)
            }
            K::Let(n, v, body) => {
                let x = self.expr(v)?;
                let var = *self.locals.get(*n as usize).ok_or_else(|| CodegenError("unbound local".into()))?;
                self.b.def_var(var, x);
                self.expr(body)?
            }
            K::Attr(b, i) => {
                let p = self.attrs_of(b)?;
                self.slot(p, *i, Status::MISSING_ATTR)
            }
            K::Field(b, i) => {
                let p = self.expr(b)?;
                self.slot(p, *i, Status::MISSING_FIELD)
            }
            K::HasAttr(b, i) => {
                let p = self.attrs_of(b)?;
                self.present(p, *i)
            }
            K::HasField(b, i) => {
                let p = self.expr(b)?;
                self.present(p, *i)
            }
            K::Set(es) => {
                let mut vals = Vec::with_capacity(es.len());
                for x in es {
                    vals.push(self.expr(x)?);
                }
                let elem = match &e.ty {
                    Ty::Set(t) => (**t).clone(),
                    _ => Ty::Never,
                };
                let addr = self.spill(&vals);
                let n = self.iconst(vals.len() as i64);
                let ti = self.tables().ty(&elem);
                let ti = self.iconst(ti);
                let ctx = self.ctx;
                let r = self.call("writ_make_set", &[ctx, addr, n, ti])?;
                self.check_internal();
                r
            }
            K::Record(es) => {
                let mut vals = Vec::with_capacity(es.len());
                for x in es {
                    vals.push(self.expr(x)?);
                }
                let addr = self.spill(&vals);
                let n = self.iconst(vals.len() as i64);
                let ctx = self.ctx;
                self.call_checked("writ_make_record", &[ctx, addr, n])?
            }
            K::Not(x) => {
                let v = self.expr(x)?;
                self.b.ins().bxor_imm_u(v, 1)
            }
            K::Neg(x) => {
                let v = self.expr(x)?;
                let min = self.b.ins().icmp_imm_s(IntCC::Equal, v, i64::MIN);
                self.fail_if(min, Status::OVERFLOW_SUB);
                self.b.ins().ineg(v)
            }
            K::And(es) | K::Or(es) => {
                let is_and = matches!(e.kind, K::And(_));
                let done = self.b.create_block();
                self.b.append_block_param(done, I64);
                for x in es {
                    let v = self.expr(x)?;
                    let next = self.b.create_block();
                    let short = self.iconst(i64::from(!is_and));
                    let args = [BlockArg::Value(short)];
                    if is_and {
                        self.b.ins().brif(v, next, &[], done, &args);
                    } else {
                        self.b.ins().brif(v, done, &args, next, &[]);
                    }
                    self.b.switch_to_block(next);
                }
                let all = self.iconst(i64::from(is_and));
                self.b.ins().jump(done, &[BlockArg::Value(all)]);
                self.b.switch_to_block(done);
                self.block_param(done)?
            }
            K::If(c, a, b) => {
                let cv = self.expr(c)?;
                let then = self.b.create_block();
                let els = self.b.create_block();
                let done = self.b.create_block();
                self.b.append_block_param(done, I64);
                self.b.ins().brif(cv, then, &[], els, &[]);
                self.b.switch_to_block(then);
                let av = self.expr(a)?;
                self.b.ins().jump(done, &[BlockArg::Value(av)]);
                self.b.switch_to_block(els);
                let bv = self.expr(b)?;
                self.b.ins().jump(done, &[BlockArg::Value(bv)]);
                self.b.switch_to_block(done);
                self.block_param(done)?
            }
            K::Cmp(op, a, b) => {
                let x = self.expr(a)?;
                let y = self.expr(b)?;
                self.same_kinds(&a.ty, &b.ty);
                let t = a.ty.join(&b.ty).unwrap_or_else(|| a.ty.clone());
                if matches!(t, Ty::Set(_)) {
                    let (m, n) = (self.set_len(x), self.set_len(y));
                    let both = self.b.ins().iadd(m, n);
                    self.charge(both);
                }
                match op {
                    CmpOp::Eq => self.eq(x, y, &t)?,
                    CmpOp::Ne => {
                        let v = self.eq(x, y, &t)?;
                        self.b.ins().bxor_imm_u(v, 1)
                    }
                    _ => {
                        let c = self.b.ins().icmp(ordering(*op), x, y);
                        self.bool_of(c)
                    }
                }
            }
            K::Arith(op, a, b) => {
                let x = self.expr(a)?;
                let y = self.expr(b)?;
                let (r, of, code) = match op {
                    ArithOp::Add => {
                        let (r, of) = self.b.ins().sadd_overflow(x, y);
                        (r, of, Status::OVERFLOW_ADD)
                    }
                    ArithOp::Sub => {
                        let (r, of) = self.b.ins().ssub_overflow(x, y);
                        (r, of, Status::OVERFLOW_SUB)
                    }
                    ArithOp::Mul => {
                        let (r, of) = self.b.ins().smul_overflow(x, y);
                        (r, of, Status::OVERFLOW_MUL)
                    }
                };
                self.fail_if(of, code);
                r
            }
            K::InEntity(a, b) => {
                let x = self.expr(a)?;
                let y = self.expr(b)?;
                let ctx = self.ctx;
                self.call_checked("writ_ent_in", &[ctx, x, y])?
            }
            K::InEntitySet(a, b) => {
                let x = self.expr(a)?;
                let y = self.expr(b)?;
                let n = self.set_len(y);
                self.charge(n);
                let ctx = self.ctx;
                let r = self.call("writ_ent_in_set", &[ctx, x, y])?;
                self.check_internal();
                r
            }
            K::InSet(a, b) => {
                let x = self.expr(a)?;
                let y = self.expr(b)?;
                let elem = match &b.ty {
                    Ty::Set(t) if **t != Ty::Never => (**t).clone(),
                    _ => a.ty.clone(),
                };
                self.set_has(y, x, &elem, !crate::ir::constant_set(b))?
            }
            K::Is(x, t) => {
                let v = self.expr(x)?;
                let ty = self.b.ins().ushr_imm_u(v, i64::from(TYPE_SHIFT));
                let c = self.b.ins().icmp_imm_s(IntCC::Equal, ty, i64::from(t.0));
                self.bool_of(c)
            }
            K::Like(x, g) => {
                let v = self.expr(x)?;
                let gi = {
                    let mut t = self.tables();
                    match t.globs.iter().position(|h| h == g) {
                        Some(i) => i,
                        None => {
                            t.globs.push(g.clone());
                            t.globs.len() - 1
                        }
                    }
                };
                let gi = self.iconst(gi as i64);
                let ctx = self.ctx;
                let r = self.call("writ_like", &[ctx, v, gi])?;
                self.check_internal();
                r
            }
            K::LikeDynamic(x, p) => {
                let v = self.expr(x)?;
                let pv = self.expr(p)?;
                let ctx = self.ctx;
                let r = self.call("writ_like_dyn", &[ctx, v, pv])?;
                self.check_internal();
                r
            }
            K::Quant(q, slot, set, body) => {
                let s = self.expr(set)?;
                let var = *self.locals.get(*slot as usize).ok_or_else(|| CodegenError("unbound local".into()))?;
                let want = i64::from(matches!(q, Quantifier::Any));
                let len = self.b.ins().load(I64, MemFlagsData::trusted(), s, 0);
                let head = self.b.create_block();
                let step = self.b.create_block();
                let done = self.b.create_block();
                self.b.append_block_param(head, I64);
                self.b.append_block_param(done, I64);
                let zero = self.iconst(0);
                self.b.ins().jump(head, &[BlockArg::Value(zero)]);
                self.b.switch_to_block(head);
                let i = self.block_param(head)?;
                let end = self.b.ins().icmp(IntCC::SignedGreaterThanOrEqual, i, len);
                let exhausted = self.iconst(1 - want);
                self.b.ins().brif(end, done, &[BlockArg::Value(exhausted)], step, &[]);
                self.b.switch_to_block(step);
                let one = self.iconst(1);
                self.charge(one);
                let off = self.b.ins().ishl_imm_u(i, 3);
                let addr = self.b.ins().iadd(s, off);
                let item = self.b.ins().load(I64, MemFlagsData::trusted(), addr, 8);
                self.b.def_var(var, item);
                let r = self.expr(body)?;
                let hit = self.b.ins().icmp_imm_s(IntCC::Equal, r, want);
                let next = self.b.create_block();
                let decided = self.iconst(want);
                self.b.ins().brif(hit, done, &[BlockArg::Value(decided)], next, &[]);
                self.b.switch_to_block(next);
                let i1 = self.b.ins().iadd_imm_s(i, 1);
                self.b.ins().jump(head, &[BlockArg::Value(i1)]);
                self.b.switch_to_block(done);
                self.block_param(done)?
            }
            K::Call(b, args) => self.builtin(*b, args)?,
        })
    }

    fn block_param(&mut self, b: Block) -> Result<CV, CodegenError> {
        self.b.block_params(b).first().copied().ok_or_else(|| CodegenError("block without a parameter".into()))
    }

    fn builtin(&mut self, b: Builtin, args: &[ir::Expr]) -> Result<CV, CodegenError> {
        let mut vals = Vec::with_capacity(args.len());
        for a in args {
            vals.push(self.expr(a)?);
        }
        let arg = |i: usize| vals.get(i).copied().ok_or_else(|| CodegenError("missing argument".into()));
        let ctx = self.ctx;
        use Builtin::*;
        Ok(match b {
            StrStartsWith | StrEndsWith | StrContains | StrLen => {
                let op = match b {
                    StrStartsWith => 0,
                    StrEndsWith => 1,
                    StrContains => 2,
                    _ => 3,
                };
                let op = self.iconst(op);
                let x = arg(0)?;
                let y = if b == StrLen { x } else { arg(1)? };
                let r = self.call("writ_str", &[ctx, op, x, y])?;
                self.check_internal();
                r
            }
            SetContains => {
                let elem = match args.first().map(|a| &a.ty) {
                    Some(Ty::Set(t)) if **t != Ty::Never => (**t).clone(),
                    _ => args.get(1).map_or(Ty::Never, |a| a.ty.clone()),
                };
                let (s, x) = (arg(0)?, arg(1)?);
                self.set_has(s, x, &elem, true)?
            }
            SetLen => self.b.ins().load(I64, MemFlagsData::trusted(), arg(0)?, 0),
            SetIsEmpty => {
                let n = self.b.ins().load(I64, MemFlagsData::trusted(), arg(0)?, 0);
                let c = self.b.ins().icmp_imm_s(IntCC::Equal, n, 0);
                self.bool_of(c)
            }
            TsDate => {
                // Midnight of the day: floor(t / day) * day, which overflows for the first
                // partial day of the range (as `value::ts_date` says).
                const DAY: i64 = 86_400_000;
                let t = arg(0)?;
                let q = self.b.ins().sdiv_imm_s(t, DAY);
                let r = self.b.ins().srem_imm_s(t, DAY);
                let neg = self.b.ins().icmp_imm_s(IntCC::SignedLessThan, r, 0);
                let q1 = self.b.ins().iadd_imm_s(q, -1);
                let q = self.b.ins().select(neg, q1, q);
                let day = self.iconst(DAY);
                let (m, of) = self.b.ins().smul_overflow(q, day);
                self.fail_if(of, Status::OVERFLOW_DATE);
                m
            }
            TsHour | TsMinute | TsWeekday => {
                let op = match b {
                    TsHour => 0,
                    TsMinute => 1,
                    _ => 2,
                };
                let op = self.iconst(op);
                self.call_checked("writ_ts", &[ctx, op, arg(0)?])?
            }
            IpInRange | IpIsLoopback | IpIsPrivate | IpIsV4 => {
                let op = match b {
                    IpInRange => 0,
                    IpIsLoopback => 1,
                    IpIsPrivate => 2,
                    _ => 3,
                };
                let op = self.iconst(op);
                let x = arg(0)?;
                let y = if b == IpInRange { arg(1)? } else { x };
                let r = self.call("writ_ip", &[ctx, op, x, y])?;
                self.check_internal();
                r
            }
            DurMillis => arg(0)?,
            DurSeconds | DurMinutes | DurHours => {
                let d = match b {
                    DurSeconds => 1000,
                    DurMinutes => 60_000,
                    _ => 3_600_000,
                };
                self.b.ins().sdiv_imm_s(arg(0)?, d)
            }
            _ => {
                // Strings made at run time and set-to-set tests: the interpreter's code.
                let code =
                    BUILTINS.iter().position(|x| *x == b).ok_or_else(|| CodegenError("unknown builtin".into()))?;
                let fields: Vec<FieldTy> = args
                    .iter()
                    .enumerate()
                    .map(|(i, a)| FieldTy { name: format!("a{i:02}"), ty: a.ty.clone(), optional: false, doc: None })
                    .collect();
                let site = Ty::Set(Box::new(Ty::Record(std::sync::Arc::new(RecordTy::new(fields)))));
                let site = self.tables().ty(&site);
                if matches!(b, SetContainsAny | SetContainsAll) {
                    let (m, n) = (arg(0)?, arg(1)?);
                    let (m, n) = (self.set_len(m), self.set_len(n));
                    let both = self.b.ins().iadd(m, n);
                    self.charge(both);
                }
                let addr = self.spill(&vals);
                let code = self.iconst(code as i64);
                let n = self.iconst(vals.len() as i64);
                let site = self.iconst(site);
                let r = self.call("writ_builtin", &[ctx, code, addr, n, site])?;
                self.check_internal();
                r
            }
        })
    }
}
