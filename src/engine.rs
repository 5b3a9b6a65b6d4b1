//! The embedding API (docs/embedding.md): compile a policy set once, decode requests, decide.
//!
//! ```
//! let policies = writ::PolicySet::from_sources(&[(
//!     "policy.writ",
//!     r#"schema { entity Agent  entity Tool  action call: Agent -> Tool }
//!        @id("p") permit Agent to call on Tool;"#,
//! )]).map_err(|e| e.to_string())?;
//! let engine = writ::Engine::interpreted(&policies);
//! let entities = engine.entities_from_json(r#"[{"type": "Agent", "id": "a"}, {"type": "Tool", "id": "t"}]"#)?;
//! let request = engine.request_from_json(
//!     r#"{"principal": {"type": "Agent", "id": "a"}, "action": "call", "resource": {"type": "Tool", "id": "t"}}"#,
//!     &entities,
//! )?;
//! assert_eq!(engine.decide(&request).decision, writ::Verdict::Allow);
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```

pub use crate::decision::Backend;
use crate::decision::Decision;
use crate::diag::{self, Diagnostic};
pub use crate::host::Limits;
use crate::host::{DecodeError, DecodeErrorKind, DecodeOptions, EntityStore, Request as HostRequest};
use crate::interp::Interpreter;
use crate::ir;
use crate::jit::{self, Compiled, Frame, JitError, JitStore};
use crate::syntax::span::SourceMap;
use std::fmt;
use std::path::{Path, PathBuf};
use std::sync::Arc;

/// A policy set that failed to load or check: its diagnostics, with the sources to render
/// them against.
///
/// ```
/// let err = writ::PolicySet::from_sources(&[(
///     "p.writ",
///     "schema { entity Agent  entity Tool  action call: Agent -> Tool }\n\
///      permit Agent to call on Tool when resource.size > 1;",
/// )])
/// .unwrap_err();
/// assert!(err.to_string().starts_with("the policy set has 1 error(s); first: p.writ:2:"));
/// assert!(err.render().contains("size"));
/// ```
#[derive(Debug)]
pub struct CompileError {
    /// Every diagnostic, errors and warnings, sorted by file and position.
    pub diagnostics: Vec<Diagnostic>,
    /// The sources they point into (imported standard-library modules included).
    pub sources: SourceMap,
}

impl CompileError {
    /// The diagnostics rendered for a terminal (no colour); see the type's example.
    pub fn render(&self) -> String {
        diag::render::render(&self.diagnostics, &self.sources, false)
    }
}

impl fmt::Display for CompileError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let errors: Vec<&Diagnostic> = self.diagnostics.iter().filter(|d| d.is_error()).collect();
        write!(f, "the policy set has {} error(s)", errors.len())?;
        if let Some(d) = errors.first() {
            let lc = self.sources.get(d.primary.span.file).map(|s| s.line_col(d.primary.span.start));
            let (line, col) = lc.map_or((0, 0), |lc| (lc.line + 1, lc.chars + 1));
            write!(f, "; first: {}:{line}:{col}: [{}] {}", self.sources.name(d.primary.span.file), d.code, d.message)?;
        }
        Ok(())
    }
}

impl std::error::Error for CompileError {}

/// Why [`Engine::evaluate`] gave no value.
#[derive(Debug)]
pub enum ExpressionError {
    /// The expression does not parse or check: its diagnostics (the expression is the file
    /// `<expr>`).
    Invalid(CompileError),
    /// Evaluating it failed (an overflow, the evaluation budget), or the request was
    /// decoded by an engine of another schema.
    Failed(String),
}

impl fmt::Display for ExpressionError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ExpressionError::Invalid(e) => match e.diagnostics.first() {
                Some(d) => write!(f, "[{}] {}", d.code, d.message),
                None => f.write_str("the expression does not check"),
            },
            ExpressionError::Failed(why) => write!(f, "evaluation failed: {why}"),
        }
    }
}

impl std::error::Error for ExpressionError {}

/// A checked policy set, ready to be turned into an [`Engine`].
#[derive(Clone, Debug)]
pub struct PolicySet {
    ir: Arc<ir::PolicySet>,
    sources: Arc<SourceMap>,
    warnings: Arc<[Diagnostic]>,
    /// What host data decoded for this schema looks like (see [`schema_fingerprint`]).
    fingerprint: u64,
    /// A content hash of the sources (see [`PolicySet::version`]).
    version: Arc<str>,
    /// The files given (not imported), to check again with an expression.
    roots: Arc<[crate::syntax::span::FileId]>,
}

impl PolicySet {
    /// Loads every `*.writ` file under a directory (or one file) and checks it.
    ///
    /// ```
    /// let policies = writ::PolicySet::load("examples/spec")?;
    /// assert!(policies.ir().rules.iter().any(|r| &*r.id == "agent-tools"));
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn load(path: impl AsRef<Path>) -> Result<PolicySet, CompileError> {
        PolicySet::load_paths(&[path.as_ref().to_path_buf()])
    }

    /// Loads files and directories and checks them as one policy set.
    ///
    /// ```
    /// let paths = ["examples/spec/schema.writ", "examples/spec/agents.writ"].map(std::path::PathBuf::from);
    /// let policies = writ::PolicySet::load_paths(&paths)?;
    /// assert_eq!(policies.sources().files().count(), 2 + 1); // and the stdlib module it imports
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn load_paths(paths: &[PathBuf]) -> Result<PolicySet, CompileError> {
        let (sources, policy, diagnostics, roots) = crate::load::compile_paths_rooted(paths);
        PolicySet::finish(sources, policy, diagnostics, roots)
    }

    /// Checks a policy set given as (file name, text) pairs; no file system is touched
    /// (path imports are unavailable; `import std.*` works).
    pub fn from_sources(files: &[(&str, &str)]) -> Result<PolicySet, CompileError> {
        let mut sources = SourceMap::new();
        let ids: Vec<_> = files.iter().map(|(n, t)| sources.add(*n, *t)).collect();
        let checked = crate::sema::check(&mut sources, &ids, &mut crate::sema::NoFiles);
        PolicySet::finish(sources, checked.policy, checked.diagnostics, ids)
    }

    fn finish(
        sources: SourceMap,
        policy: Option<ir::PolicySet>,
        diagnostics: Vec<Diagnostic>,
        roots: Vec<crate::syntax::span::FileId>,
    ) -> Result<PolicySet, CompileError> {
        match policy {
            Some(p) if !diag::has_errors(&diagnostics) => {
                let fingerprint = schema_fingerprint(&p.schema);
                let version = sources_version(&sources);
                Ok(PolicySet {
                    ir: Arc::new(p),
                    sources: Arc::new(sources),
                    warnings: diagnostics.into(),
                    fingerprint,
                    version,
                    roots: roots.into(),
                })
            }
            _ => Err(CompileError { diagnostics, sources }),
        }
    }

    /// Warnings the checker found (the set has no errors).
    ///
    /// ```
    /// let policies = writ::PolicySet::from_sources(&[(
    ///     "p.writ",
    ///     "schema { entity Agent  entity Tool  action call: Agent -> Tool }\n\
    ///      permit Agent to call on Tool when 1 < 2;",
    /// )])?;
    /// assert_eq!(policies.warnings().len(), 1); // a constant condition
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn warnings(&self) -> &[Diagnostic] {
        &self.warnings
    }

    /// The typed IR: the schema, the rules (one body per request shape) and the rule index.
    /// Not part of the stable API (its types are `writ::unstable::ir`).
    #[doc(hidden)]
    ///
    /// ```
    /// let policies = writ::PolicySet::load("examples/spec")?;
    /// assert_eq!(policies.ir().rules.len(), 5);
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn ir(&self) -> &ir::PolicySet {
        &self.ir
    }

    /// The source files (for rendering diagnostics and explanations).
    ///
    /// ```
    /// let policies = writ::PolicySet::load("examples/spec")?;
    /// assert!(policies.sources().files().any(|(_, f)| f.name.ends_with("agents.writ")));
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn sources(&self) -> &SourceMap {
        &self.sources
    }

    /// The policy set's version: a content hash (32 hex digits, FNV-1a 128) of every source
    /// file's name and text, the standard-library modules it imports included, taken in
    /// order of file name, so loading the same files in any order gives the same version.
    /// Every decision an [`Engine`] makes carries it ([`Decision::policy_version`]).
    ///
    /// ```
    /// let a = writ::PolicySet::from_sources(&[("a.writ", "schema { entity A  entity T  action go: A -> T }"), ("b.writ", "permit A to go on T;")])
    ///     .map_err(|e| e.to_string())?;
    /// let b = writ::PolicySet::from_sources(&[("b.writ", "permit A to go on T;"), ("a.writ", "schema { entity A  entity T  action go: A -> T }")])
    ///     .map_err(|e| e.to_string())?;
    /// assert_eq!(a.version(), b.version());
    /// assert_eq!(a.version().len(), 32);
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn version(&self) -> &str {
        &self.version
    }

    /// The names of the entity types the schema declares, in declaration order (for hosts
    /// that map names of their own onto Writ's, like an AuthZEN server).
    ///
    /// ```
    /// let policies = writ::PolicySet::load("examples/spec")?;
    /// assert!(policies.entity_types().any(|t| t == "Agent"));
    /// assert!(policies.actions().any(|a| a == "call_tool"));
    /// assert!(policies.rule_ids().any(|r| r == "agent-tools"));
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn entity_types(&self) -> impl Iterator<Item = &str> + '_ {
        self.ir.schema.entities.iter().map(|e| e.name.as_str())
    }

    /// The names of the actions the schema declares, in declaration order.
    pub fn actions(&self) -> impl Iterator<Item = &str> + '_ {
        self.ir.schema.actions.iter().map(|a| a.name.as_str())
    }

    /// The ids of the rules, once each, in rule order (`@id`, or `FILE:LINE` for a rule
    /// without one).
    ///
    /// ```
    /// let policies = writ::PolicySet::load("examples/spec")?;
    /// assert_eq!(policies.rule_ids().count(), 5);
    /// assert!(policies.rule_ids().any(|id| id == "agent-tools"));
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn rule_ids(&self) -> impl Iterator<Item = &str> + '_ {
        let rules = &self.ir.rules;
        rules.iter().enumerate().filter_map(move |(i, r)| {
            let repeat = i.checked_sub(1).and_then(|p| rules.get(p)).is_some_and(|prev| prev.id == r.id);
            (!repeat).then_some(&*r.id)
        })
    }
}

/// FNV-1a (128 bits) over the (name, text) of every source file in order of name, each
/// length-prefixed; as hex. Stable across builds and platforms.
fn sources_version(sources: &SourceMap) -> Arc<str> {
    const OFFSET: u128 = 0x6c62_272e_07bb_0142_62b8_2175_6295_c58d;
    const PRIME: u128 = 0x0000_0000_0100_0000_0000_0000_0000_013b;
    let mut files: Vec<(&str, &str)> = sources.files().map(|(_, f)| (f.name.as_str(), f.text.as_str())).collect();
    files.sort_unstable();
    let mut h = OFFSET;
    let mut eat = |bytes: &[u8]| {
        for b in (bytes.len() as u64).to_le_bytes().iter().chain(bytes) {
            h ^= u128::from(*b);
            h = h.wrapping_mul(PRIME);
        }
    };
    for (name, text) in files {
        eat(name.as_bytes());
        eat(text.as_bytes());
    }
    Arc::from(format!("{h:032x}"))
}

/// A hash of everything in a schema that decides how host data is laid out: entity types
/// (names, parents, attribute types in slot order), enums (variants in order), actions
/// (principal and resource types, context shape) and intent names. Entities and requests
/// carry the fingerprint of the schema that decoded them, so an engine of another schema
/// never reads them with the wrong slots. Documentation comments do not count.
fn schema_fingerprint(schema: &ir::schema::Schema) -> u64 {
    use std::hash::{Hash, Hasher};
    let mut h = std::collections::hash_map::DefaultHasher::new();
    for e in &schema.entities {
        (&e.name, &e.parents, format!("{:?}", e.attrs)).hash(&mut h);
    }
    for e in &schema.enums {
        (&e.name, &e.variants).hash(&mut h);
    }
    for a in &schema.actions {
        (&a.name, &a.principals, &a.resources, format!("{:?}", a.context)).hash(&mut h);
    }
    for i in &schema.intents {
        i.name.hash(&mut h);
    }
    (schema.entities.len(), schema.enums.len(), schema.actions.len(), schema.intents.len()).hash(&mut h);
    h.finish()
}

/// How an [`Engine`] treats host data: whether a request's inline entities may replace
/// stored ones, and the [`Limits`] on requests and entities. `EngineOptions::default()` is
/// what [`Engine::interpreted`] and [`Engine::compile`] use.
///
/// ```
/// let policies = writ::PolicySet::from_sources(&[(
///     "p.writ",
///     r#"schema { entity Agent  entity Tool { risky: Bool }  action call: Agent -> Tool }
///        @id("p") permit Agent to call on Tool unless resource.risky;"#,
/// )]).map_err(|e| e.to_string())?;
/// let request = r#"{"principal": {"type": "Agent", "id": "a"}, "action": "call", "resource": {"type": "Tool", "id": "t"},
///                   "entities": [{"type": "Tool", "id": "t", "attrs": {"risky": false}}]}"#;
/// let stored = r#"[{"type": "Agent", "id": "a"}, {"type": "Tool", "id": "t", "attrs": {"risky": true}}]"#;
/// // By default a request cannot replace a stored entity …
/// let strict = writ::Engine::interpreted(&policies);
/// let d = strict.decide_json(request, &strict.entities_from_json(stored)?);
/// assert_eq!(d.decision, writ::Verdict::Deny);
/// assert!(d.errors[0].message.starts_with("entities[0]: entity Tool::\"t\" is in the entity store"));
/// // … unless the host allows it.
/// let options = writ::EngineOptions { allow_inline_override: true, ..Default::default() };
/// let lenient = writ::Engine::interpreted_with(&policies, options);
/// assert_eq!(lenient.decide_json(request, &lenient.entities_from_json(stored)?).decision, writ::Verdict::Allow);
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct EngineOptions {
    /// Whether a request's inline entities may replace entities the store holds (or parents
    /// it names). Default `false`: such a request is bad input, denied. When allowed, the
    /// inline entity wins for that request, attributes and parents.
    pub allow_inline_override: bool,
    /// Whether an `Ip` value in a request (its context and inline entities) may be a range
    /// like `"10.0.0.0/8"`. Default `false`: a request's IPs are addresses, and a range is
    /// bad input, so that no request can widen an address past a range check
    /// (`"203.0.113.5/0"` is `0.0.0.0/0`). The entity store may always hold ranges.
    pub allow_request_ip_ranges: bool,
    /// Bounds on requests and entities (see [`Limits`] for the defaults).
    pub limits: Limits,
    /// Which back end [`Engine::compile_with`] builds (default: the JIT, falling back to the
    /// interpreter when it cannot compile).
    pub backend: BackendChoice,
    /// How many threads compile a policy set to native code: 0 (the default) for one per
    /// core. A host that compiles while serving decisions may keep some cores for them.
    pub compile_threads: usize,
}

impl EngineOptions {
    /// `EngineOptions::default()`, usable in constants.
    pub const DEFAULT: EngineOptions = EngineOptions {
        allow_inline_override: false,
        allow_request_ip_ranges: false,
        limits: Limits::DEFAULT,
        backend: BackendChoice::Auto,
        compile_threads: 0,
    };
}

/// The back end an engine should run (see [`EngineOptions::backend`]).
///
/// ```
/// let policies = writ::PolicySet::load("examples/spec")?;
/// let options = writ::EngineOptions { backend: writ::BackendChoice::Interpreter, ..Default::default() };
/// assert_eq!(writ::Engine::compile_with(&policies, options)?.backend(), writ::Backend::Interpreter);
/// let strict = writ::EngineOptions { backend: writ::BackendChoice::Jit, compile_threads: 1, ..Default::default() };
/// let engine = writ::Engine::compile_with(&policies, strict)?; // an error if the JIT cannot compile
/// assert_eq!(engine.backend(), writ::Backend::Jit);
/// assert_eq!(engine.fallback(), None);
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum BackendChoice {
    /// Native code; the interpreter when the JIT cannot compile the policy set or does not
    /// support the machine ([`Engine::fallback`] says why; every decision says which back
    /// end ran, [`Decision::backend`]).
    #[default]
    Auto,
    /// Native code, or an error.
    Jit,
    /// The reference interpreter.
    Interpreter,
}

/// The entity store, shared cheaply between requests and threads. Decoded by a JIT engine,
/// it also holds the store laid out for that engine's native code (see
/// [`Engine::empty_entities`] for a request that needs no store).
#[derive(Clone, Debug, Default)]
pub struct Entities {
    store: Arc<EntityStore>,
    jit: Option<Arc<JitStore>>,
    /// The fingerprint of the schema that decoded the store; `None` for
    /// `Entities::default()`, which holds nothing to misread.
    schema: Option<u64>,
}

impl Entities {
    /// How many entities the store holds.
    ///
    /// ```
    /// # let policies = writ::PolicySet::load("examples/spec")?;
    /// # let engine = writ::Engine::compile(&policies)?;
    /// let entities = engine.entities_from_json(&std::fs::read_to_string("examples/spec/entities.json")?)?;
    /// assert_eq!(entities.len(), 5);
    /// assert!(!entities.is_empty());
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn len(&self) -> usize {
        self.store.len()
    }

    /// Whether the store holds no entity.
    pub fn is_empty(&self) -> bool {
        self.store.is_empty()
    }

    /// The decoded entities (attributes, parents, precomputed ancestors). Not part of the
    /// stable API (its types are `writ::unstable::host`).
    #[doc(hidden)]
    ///
    /// ```
    /// # let policies = writ::PolicySet::load("examples/spec")?;
    /// # let engine = writ::Engine::compile(&policies)?;
    /// # let entities = engine.entities_from_json(&std::fs::read_to_string("examples/spec/entities.json")?)?;
    /// # let json = std::fs::read_to_string("examples/spec/request.json")?;
    /// let alice = writ::unstable::ir::value::EntityUid { ty: policies.ir().schema.entity_id("Human").unwrap(), id: "alice".into() };
    /// assert!(entities.store().get(&alice).is_some());
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn store(&self) -> &EntityStore {
        &self.store
    }
}

/// A decoded request, bound to the entities it was decoded against. Decoded by a JIT engine,
/// it also holds the request laid out for that engine's native code.
#[derive(Clone, Debug)]
pub struct Request {
    inner: HostRequest,
    entities: Entities,
    frame: Option<Arc<Frame>>,
    /// The fingerprint of the schema that decoded it.
    schema: u64,
}

impl Request {
    /// The decoded request: principal, action, resource, intent, context, chain. Not part
    /// of the stable API (its types are `writ::unstable::host`).
    #[doc(hidden)]
    ///
    /// ```
    /// # let policies = writ::PolicySet::load("examples/spec")?;
    /// # let engine = writ::Engine::compile(&policies)?;
    /// # let entities = engine.entities_from_json(&std::fs::read_to_string("examples/spec/entities.json")?)?;
    /// # let json = std::fs::read_to_string("examples/spec/request.json")?;
    /// let request = engine.request_from_json(&json, &entities)?;
    /// assert_eq!(&*request.host().principal.id, "support-bot");
    /// assert_eq!(request.host().on_behalf_of.len(), 1);
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn host(&self) -> &HostRequest {
        &self.inner
    }
}

/// A decision engine for one policy set. `Send + Sync`, and cheap to clone (its parts are
/// shared `Arc`s): share it across threads, swap it behind an `Arc` (docs/embedding.md).
#[derive(Clone, Debug)]
pub struct Engine {
    policy: PolicySet,
    backend: Backend,
    jit: Option<Arc<Compiled>>,
    options: EngineOptions,
    /// Why an engine asked for native code runs the interpreter.
    fallback: Option<Arc<str>>,
}

impl Engine {
    /// An engine that runs the reference interpreter (the reference semantics; it also
    /// explains decisions).
    ///
    /// ```
    /// # let policies = writ::PolicySet::load("examples/spec")?;
    /// # let engine = writ::Engine::compile(&policies)?;
    /// # let entities = engine.entities_from_json(&std::fs::read_to_string("examples/spec/entities.json")?)?;
    /// # let json = std::fs::read_to_string("examples/spec/request.json")?;
    /// let interp = writ::Engine::interpreted(&policies);
    /// assert_eq!(interp.decide_json(&json, &interp.entities_from_json("[]")?).decision, writ::Verdict::Deny);
    /// let entities = interp.entities_from_json(&std::fs::read_to_string("examples/spec/entities.json")?)?;
    /// assert_eq!(interp.decide_json(&json, &entities), engine.decide_json(&json, &engine.entities_from_json(&std::fs::read_to_string("examples/spec/entities.json")?)?));
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn interpreted(policies: &PolicySet) -> Engine {
        Engine::interpreted_with(policies, EngineOptions::default())
    }

    /// [`Engine::interpreted`] with options (see [`EngineOptions`]).
    pub fn interpreted_with(policies: &PolicySet, options: EngineOptions) -> Engine {
        let options = EngineOptions { backend: BackendChoice::Interpreter, ..options };
        Engine { policy: policies.clone(), backend: Backend::Interpreter, jit: None, options, fallback: None }
    }

    /// An engine that runs the policy set as native code (Cranelift). Where Cranelift does not
    /// support the host, the engine runs the interpreter instead ([`Engine::backend`] says
    /// which); an error means code generation itself failed, which is a bug.
    ///
    /// ```
    /// let policies = writ::PolicySet::from_sources(&[(
    ///     "p.writ",
    ///     r#"schema { entity Agent  entity Tool  action call: Agent -> Tool }
    ///        @id("p") permit Agent to call on Tool;"#,
    /// )]).map_err(|e| e.to_string())?;
    /// let engine = writ::Engine::compile(&policies)?;
    /// let entities = engine.entities_from_json(r#"[{"type": "Agent", "id": "a"}, {"type": "Tool", "id": "t"}]"#)?;
    /// let d = engine.decide_json(
    ///     r#"{"principal": {"type": "Agent", "id": "a"}, "action": "call", "resource": {"type": "Tool", "id": "t"}}"#,
    ///     &entities,
    /// );
    /// assert_eq!(d.decision, writ::Verdict::Allow);
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn compile(policies: &PolicySet) -> Result<Engine, JitError> {
        Engine::compile_with(policies, EngineOptions::default())
    }

    /// An engine with options (see [`EngineOptions`]), on the back end they choose
    /// ([`BackendChoice`]): by default native code, falling back to the interpreter when the
    /// JIT cannot compile (never an error then); with [`BackendChoice::Jit`] the JIT's error.
    pub fn compile_with(policies: &PolicySet, options: EngineOptions) -> Result<Engine, JitError> {
        if options.backend == BackendChoice::Interpreter {
            return Ok(Engine::interpreted_with(policies, options));
        }
        match jit::compile(policies.ir.clone(), options.compile_threads) {
            Ok(c) => Ok(Engine {
                policy: policies.clone(),
                backend: Backend::Jit,
                jit: Some(Arc::new(c)),
                options,
                fallback: None,
            }),
            Err(e) if options.backend == BackendChoice::Jit => Err(e),
            Err(e) => {
                let interp = Engine::interpreted_with(policies, options);
                Ok(Engine { options, fallback: Some(Arc::from(e.to_string())), ..interp })
            }
        }
    }

    /// Why this engine runs the interpreter although native code was asked for (the JIT's
    /// error), or `None`.
    pub fn fallback(&self) -> Option<&str> {
        self.fallback.as_deref()
    }

    /// The same engine with an evaluation budget of `fuel` units per decision instead of
    /// [`ir::DEFAULT_FUEL`] (which says what a unit is); the same as setting
    /// `options.limits.max_fuel`. A rule that runs out fails closed.
    ///
    /// ```
    /// # let policies = writ::PolicySet::load("examples/spec")?;
    /// let engine = writ::Engine::interpreted(&policies);
    /// assert_eq!(engine.options().limits.max_fuel, writ::DEFAULT_FUEL);
    /// assert_eq!(engine.with_fuel(10).options().limits.max_fuel, 10);
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn with_fuel(mut self, fuel: u64) -> Engine {
        self.options.limits.max_fuel = fuel;
        self
    }

    /// The options this engine was made with.
    ///
    /// ```
    /// # let policies = writ::PolicySet::load("examples/spec")?;
    /// assert_eq!(writ::Engine::interpreted(&policies).options().limits.max_hierarchy_depth, 256);
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn options(&self) -> &EngineOptions {
        &self.options
    }

    /// The same engine (sharing its compiled code) with other options. Entities it decoded
    /// stay usable with the new one.
    ///
    /// ```
    /// # let policies = writ::PolicySet::load("examples/spec")?;
    /// let engine = writ::Engine::compile(&policies)?;
    /// let lenient = engine.with_options(writ::EngineOptions { allow_inline_override: true, ..*engine.options() });
    /// assert!(lenient.options().allow_inline_override && !engine.options().allow_inline_override);
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn with_options(&self, options: EngineOptions) -> Engine {
        Engine { options, ..self.clone() }
    }

    fn decode_options(&self) -> DecodeOptions {
        DecodeOptions {
            allow_inline_override: self.options.allow_inline_override,
            allow_ip_ranges: self.options.allow_request_ip_ranges,
            limits: self.options.limits,
        }
    }

    /// Host data decoded with another schema than this engine's is never read: its
    /// attribute slots, enum and intent numbers may mean something else here.
    fn foreign(&self, schema: Option<u64>) -> bool {
        schema.is_some_and(|s| s != self.policy.fingerprint)
    }

    /// The back end this engine runs.
    ///
    /// ```
    /// # let policies = writ::PolicySet::load("examples/spec")?;
    /// # let engine = writ::Engine::compile(&policies)?;
    /// # let entities = engine.entities_from_json(&std::fs::read_to_string("examples/spec/entities.json")?)?;
    /// # let json = std::fs::read_to_string("examples/spec/request.json")?;
    /// assert_eq!(writ::Engine::interpreted(&policies).backend(), writ::Backend::Interpreter);
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn backend(&self) -> Backend {
        self.backend
    }

    /// The policy set this engine decides with.
    ///
    /// ```
    /// # let policies = writ::PolicySet::load("examples/spec")?;
    /// # let engine = writ::Engine::compile(&policies)?;
    /// # let entities = engine.entities_from_json(&std::fs::read_to_string("examples/spec/entities.json")?)?;
    /// # let json = std::fs::read_to_string("examples/spec/request.json")?;
    /// assert_eq!(engine.policy().ir().rules.len(), 5);
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn policy(&self) -> &PolicySet {
        &self.policy
    }

    /// Decodes the entity store from JSON (docs/host-data.md): once, then share it (it is cheap to
    /// clone). A JIT engine also lays it out for its native code. Bad data is an error that
    /// names the JSON path.
    ///
    /// ```
    /// # let policies = writ::PolicySet::load("examples/spec")?;
    /// # let engine = writ::Engine::compile(&policies)?;
    /// # let entities = engine.entities_from_json(&std::fs::read_to_string("examples/spec/entities.json")?)?;
    /// # let json = std::fs::read_to_string("examples/spec/request.json")?;
    /// let err = engine.entities_from_json(r#"[{"type": "Human", "id": "bob", "attrs": {"clearance": "top"}}]"#).unwrap_err();
    /// assert!(err.to_string().starts_with("[0].attrs.clearance: "));
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn entities_from_json(&self, json: &str) -> Result<Entities, DecodeError> {
        Ok(self.entities(EntityStore::from_json_with(&self.policy.ir.schema, json, &self.options.limits)?))
    }

    /// Decodes the entity store from a `serde_json::Value`, as [`Engine::entities_from_json`]
    /// does from text: the same errors, with the same kinds and paths.
    ///
    /// ```
    /// # let policies = writ::PolicySet::load("examples/spec")?;
    /// # let engine = writ::Engine::compile(&policies)?;
    /// let value = serde_json::json!([{"type": "Human", "id": "bob", "attrs": {"clearance": "secret"}}]);
    /// let entities = engine.entities_from_value(&value)?;
    /// assert_eq!(entities.store().len(), 1);
    /// let err = engine.entities_from_value(&serde_json::json!([{"type": "Human", "id": "bob"}])).unwrap_err();
    /// assert_eq!((err.kind(), err.path()), (writ::DecodeErrorKind::MissingField, "[0].attrs.clearance"));
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn entities_from_value(&self, value: &serde_json::Value) -> Result<Entities, DecodeError> {
        let v = crate::host::from_serde_value(value)?;
        Ok(self.entities(EntityStore::from_value(&self.policy.ir.schema, &v, "", None, &self.options.limits, true)?))
    }

    /// Adds or replaces entities in a store, in place: `value` is one entity object or an
    /// array of them, decoded as [`Engine::entities_from_json`] decodes a store (errors name
    /// the JSON path; an error changes nothing). A replaced entity takes its new attributes
    /// and parents whole. Only what changed is worked on: the ancestors of the updated
    /// entities and of their descendants, and, for a JIT engine, their layout for native
    /// code. When `entities` is shared (a clone, or a [`Request`] decoded against it, is
    /// alive) the update first copies the store, so what others hold never changes under
    /// them: keep one owner that updates, and hand out clones to decide with.
    ///
    /// ```
    /// # let policies = writ::PolicySet::load("examples/spec")?;
    /// let engine = writ::Engine::compile(&policies)?;
    /// let mut entities = engine.entities_from_json(&std::fs::read_to_string("examples/spec/entities.json")?)?;
    /// let json = std::fs::read_to_string("examples/spec/request.json")?;
    /// assert!(engine.decide_json(&json, &entities).is_allowed());
    /// // The tool turns destructive: the same request is now denied.
    /// engine.upsert_entities(&mut entities, &serde_json::json!({
    ///     "type": "Tool", "id": "jira.comment",
    ///     "attrs": {"sensitivity": "public", "destructive": true},
    ///     "parents": [{"type": "ToolGroup", "id": "ticketing"}]
    /// }))?;
    /// assert!(!engine.decide_json(&json, &entities).is_allowed());
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn upsert_entities(&self, entities: &mut Entities, value: &serde_json::Value) -> Result<(), DecodeError> {
        let v = crate::host::from_serde_value(value)?;
        let (schema, limits) = (&self.policy.ir.schema, &self.options.limits);
        self.update_entities(entities, |store| store.upsert(schema, &v, limits))
    }

    /// [`Engine::upsert_entities`] from JSON text.
    ///
    /// ```
    /// # let policies = writ::PolicySet::load("examples/spec")?;
    /// # let engine = writ::Engine::compile(&policies)?;
    /// let mut entities = engine.empty_entities();
    /// engine.upsert_entities_json(&mut entities, r#"[{"type": "Human", "id": "bob", "attrs": {"clearance": "secret"}}]"#)?;
    /// let err = engine.upsert_entities_json(&mut entities, r#"{"type": "Human", "id": "eve"}"#).unwrap_err();
    /// assert_eq!((err.kind(), err.path()), (writ::DecodeErrorKind::MissingField, "attrs.clearance"));
    /// assert_eq!(entities.len(), 1);
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn upsert_entities_json(&self, entities: &mut Entities, json: &str) -> Result<(), DecodeError> {
        let v = crate::host::parse_json(json, "the entities")?;
        let (schema, limits) = (&self.policy.ir.schema, &self.options.limits);
        self.update_entities(entities, |store| store.upsert(schema, &v, limits))
    }

    /// Removes the entity `ty::id` from a store, in place (copying it first when shared, as
    /// [`Engine::upsert_entities`] does). Entities that name it as a parent stay in it as in
    /// a label of the hierarchy; an entity that an attribute of another refers to cannot be
    /// removed (update the other first). `Ok(false)` when the store does not hold it.
    ///
    /// ```
    /// # let policies = writ::PolicySet::load("examples/spec")?;
    /// let engine = writ::Engine::compile(&policies)?;
    /// let mut entities = engine.entities_from_json(&std::fs::read_to_string("examples/spec/entities.json")?)?;
    /// let json = std::fs::read_to_string("examples/spec/request.json")?;
    /// assert!(engine.remove_entity(&mut entities, "Tool", "jira.comment")?);
    /// assert!(!engine.remove_entity(&mut entities, "Tool", "jira.comment")?);
    /// // The request names a tool the store no longer holds: bad input, denied.
    /// assert!(!engine.decide_json(&json, &entities).is_allowed());
    /// // alice is the owner of support-bot: she cannot go while it refers to her.
    /// assert!(engine.remove_entity(&mut entities, "Human", "alice").is_err());
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn remove_entity(&self, entities: &mut Entities, ty: &str, id: &str) -> Result<bool, DecodeError> {
        let schema = &self.policy.ir.schema;
        let Some(t) = schema.entity_id(ty) else {
            return Err(DecodeError::of(DecodeErrorKind::UnknownType, "type", format!("unknown entity type `{ty}`")));
        };
        let uid = crate::ir::value::EntityUid { ty: t, id: Arc::from(id) };
        if entities.store.get(&uid).is_none() {
            return Ok(false);
        }
        let limits = &self.options.limits;
        self.update_entities(entities, |store| store.remove(schema, &uid, limits))?;
        Ok(true)
    }

    /// Lays out a store decoded by another engine of the same schema for this one, without
    /// decoding it again: after a policy push, the new engine takes over the store (a JIT
    /// engine decides natively only with a store laid out for it). A store of another schema
    /// is an error ([`DecodeErrorKind::StaleSchema`]).
    ///
    /// ```
    /// # let policies = writ::PolicySet::load("examples/spec")?;
    /// let old = writ::Engine::compile(&policies)?;
    /// let entities = old.entities_from_json(&std::fs::read_to_string("examples/spec/entities.json")?)?;
    /// let new = writ::Engine::compile(&policies)?; // e.g. after a reload
    /// let relaid = new.relay_entities(&entities)?;
    /// let json = std::fs::read_to_string("examples/spec/request.json")?;
    /// let request = new.request_from_json(&json, &relaid)?;
    /// assert_eq!(new.runs_native(&request), new.backend() == writ::Backend::Jit);
    /// assert!(new.decide(&request).is_allowed());
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn relay_entities(&self, entities: &Entities) -> Result<Entities, DecodeError> {
        if self.foreign(entities.schema) {
            return Err(DecodeError::of(DecodeErrorKind::StaleSchema, "", STALE_ENTITIES));
        }
        let jit = self.jit.as_ref().map(|c| Arc::new(c.store(&entities.store)));
        Ok(Entities { store: entities.store.clone(), jit, schema: Some(self.policy.fingerprint) })
    }

    /// Applies a change to the store and keeps its layout for native code true: updated in
    /// place when this engine laid it out and nothing else holds it, laid out anew otherwise,
    /// dropped for an interpreting engine (a layout that no longer matches its store must
    /// never be read).
    fn update_entities(
        &self,
        entities: &mut Entities,
        change: impl FnOnce(&mut EntityStore) -> Result<crate::host::Changes, DecodeError>,
    ) -> Result<(), DecodeError> {
        if self.foreign(entities.schema) {
            return Err(DecodeError::of(DecodeErrorKind::StaleSchema, "", STALE_ENTITIES));
        }
        let store = Arc::make_mut(&mut entities.store);
        let changes = change(store)?;
        entities.schema = Some(self.policy.fingerprint);
        match &self.jit {
            None => entities.jit = None,
            Some(c) => match entities.jit.as_mut().and_then(Arc::get_mut) {
                Some(laid) => c.update_store(laid, store, &changes),
                None => entities.jit = Some(Arc::new(c.store(store))),
            },
        }
        Ok(())
    }

    /// No entities, laid out for this engine: for requests that bring what they need inline,
    /// or reach no entity attributes. (`Entities::default()` has no layout for native code,
    /// so a JIT engine would decide with the interpreter.)
    ///
    /// ```
    /// # let policies = writ::PolicySet::load("examples/spec")?;
    /// # let engine = writ::Engine::compile(&policies)?;
    /// # let json = std::fs::read_to_string("examples/spec/request.json")?;
    /// let request = engine.request_from_json(&json.replace("]", r#"], "entities": [
    ///     {"type": "Human", "id": "alice", "attrs": {"clearance": "secret"}},
    ///     {"type": "Agent", "id": "support-bot", "attrs": {"owner": {"type": "Human", "id": "alice"}, "env": "prod", "workload": "w"}},
    ///     {"type": "ToolGroup", "id": "ticketing"},
    ///     {"type": "Tool", "id": "jira.comment", "attrs": {"sensitivity": "public", "destructive": false},
    ///      "parents": [{"type": "ToolGroup", "id": "ticketing"}]}]"#), &engine.empty_entities())?;
    /// assert_eq!(engine.runs_native(&request), engine.backend() == writ::Backend::Jit);
    /// assert_eq!(engine.decide(&request).decision, writ::Verdict::Allow);
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn empty_entities(&self) -> Entities {
        self.entities(EntityStore::new())
    }

    fn entities(&self, store: EntityStore) -> Entities {
        let jit = self.jit.as_ref().map(|c| Arc::new(c.store(&store)));
        Entities { store: Arc::new(store), jit, schema: Some(self.policy.fingerprint) }
    }

    /// Decodes a request from JSON against the entities, once; decide it as often as needed.
    /// Bad data is an error that names the JSON path.
    ///
    /// ```
    /// # let policies = writ::PolicySet::load("examples/spec")?;
    /// # let engine = writ::Engine::compile(&policies)?;
    /// # let entities = engine.entities_from_json(&std::fs::read_to_string("examples/spec/entities.json")?)?;
    /// # let json = std::fs::read_to_string("examples/spec/request.json")?;
    /// let request = engine.request_from_json(&json, &entities)?;
    /// assert_eq!(engine.decide(&request).decision, writ::Verdict::Allow);
    /// let bad = json.replace("12", "\"twelve\"");
    /// assert!(engine.request_from_json(&bad, &entities).unwrap_err().to_string().starts_with("context.risk: "));
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn request_from_json(&self, json: &str, entities: &Entities) -> Result<Request, DecodeError> {
        if self.foreign(entities.schema) {
            return Err(DecodeError::of(DecodeErrorKind::StaleSchema, "", STALE_ENTITIES));
        }
        let inner =
            HostRequest::from_json_with(&self.policy.ir.schema, json, entities.store(), &self.decode_options())?;
        Ok(self.bind(inner, entities))
    }

    /// Decodes a request from a `serde_json::Value` against the entities, as
    /// [`Engine::request_from_json`] does from text: the same errors, with the same kinds and
    /// paths (a `Value` cannot repeat a key; the request size limit is on text only).
    ///
    /// ```
    /// # let policies = writ::PolicySet::load("examples/spec")?;
    /// # let engine = writ::Engine::compile(&policies)?;
    /// # let entities = engine.entities_from_json(&std::fs::read_to_string("examples/spec/entities.json")?)?;
    /// let json = std::fs::read_to_string("examples/spec/request.json")?;
    /// let mut value: serde_json::Value = serde_json::from_str(&json)?;
    /// let request = engine.request_from_value(&value, &entities)?;
    /// assert_eq!(engine.decide(&request), engine.decide_json(&json, &entities));
    /// value["context"]["risk"] = serde_json::json!("twelve");
    /// let err = engine.request_from_value(&value, &entities).unwrap_err();
    /// assert_eq!((err.kind(), err.path()), (writ::DecodeErrorKind::WrongType, "context.risk"));
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn request_from_value(&self, value: &serde_json::Value, entities: &Entities) -> Result<Request, DecodeError> {
        if self.foreign(entities.schema) {
            return Err(DecodeError::of(DecodeErrorKind::StaleSchema, "", STALE_ENTITIES));
        }
        let v = crate::host::from_serde_value(value)?;
        let inner = HostRequest::from_value(&self.policy.ir.schema, &v, entities.store(), &self.decode_options())?;
        Ok(self.bind(inner, entities))
    }

    /// A decoded request with this engine's layouts, bound to its entities.
    fn bind(&self, inner: HostRequest, entities: &Entities) -> Request {
        let frame = match (&self.jit, &entities.jit) {
            (Some(c), Some(s)) => Some(Arc::new(c.frame(s, &inner))),
            _ => None,
        };
        Request { inner, entities: entities.clone(), frame, schema: self.policy.fingerprint }
    }

    /// Whether [`Engine::decide`] runs native code for this request: a JIT engine does when
    /// the request and its entities were decoded by this engine.
    ///
    /// ```
    /// # let policies = writ::PolicySet::load("examples/spec")?;
    /// # let engine = writ::Engine::compile(&policies)?;
    /// # let entities = engine.entities_from_json(&std::fs::read_to_string("examples/spec/entities.json")?)?;
    /// # let json = std::fs::read_to_string("examples/spec/request.json")?;
    /// let request = engine.request_from_json(&json, &entities)?;
    /// assert_eq!(engine.runs_native(&request), engine.backend() == writ::Backend::Jit);
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn runs_native(&self, request: &Request) -> bool {
        self.native(request).is_some()
    }

    /// The compiled policy set and the request's layouts for it, when this engine decodes
    /// natively and laid out the request and its entities itself.
    fn native<'r>(&'r self, request: &'r Request) -> Option<(&'r Compiled, &'r JitStore, &'r Frame)> {
        match (&self.jit, &request.entities.jit, &request.frame) {
            (Some(c), Some(s), Some(f)) if c.owns(s, f) => Some((c, s, f)),
            _ => None,
        }
    }

    /// The rules a decision of this request evaluates for its principal, in rule order: the
    /// rule index narrows the policy set by action, principal type and resource type, and a
    /// JIT engine also by intent, for rules whose first test is on the intent. Useful to see
    /// what a large policy set costs a request.
    ///
    /// ```
    /// let policies = writ::PolicySet::from_sources(&[(
    ///     "p.writ",
    ///     r#"schema { entity Agent  entity Tool  action call: Agent -> Tool  action read: Agent -> Tool }
    ///        intent triage "Triage" { call on Tool }
    ///        @id("a") permit Agent to call on Tool when intent == triage;
    ///        @id("b") permit Agent to call on Tool when intent == none;
    ///        @id("c") permit Agent to read on Tool;"#,
    /// )]).map_err(|e| e.to_string())?;
    /// let engine = writ::Engine::compile(&policies)?;
    /// let entities = engine.entities_from_json(r#"[{"type": "Agent", "id": "x"}, {"type": "Tool", "id": "t"}]"#)?;
    /// let request = engine.request_from_json(
    ///     r#"{"principal": {"type": "Agent", "id": "x"}, "action": "call", "resource": {"type": "Tool", "id": "t"}}"#,
    ///     &entities,
    /// )?;
    /// let visited: Vec<String> = engine.candidate_rules(&request).iter().map(|r| r.to_string()).collect();
    /// let expected = if engine.backend() == writ::Backend::Jit { vec!["b"] } else { vec!["a", "b"] };
    /// assert_eq!(visited, expected);
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn candidate_rules(&self, request: &Request) -> Vec<Arc<str>> {
        let ir = &self.policy.ir;
        let r = &request.inner;
        if self.foreign(Some(request.schema)) {
            return Vec::new();
        }
        let rules: Vec<u32> = match self.native(request) {
            Some((c, _, f)) => c.candidate_rules(f).collect(),
            None => ir.candidates(r.action, r.principal.ty, r.resource.ty).iter().map(|(ri, _)| *ri).collect(),
        };
        let mut out: Vec<Arc<str>> = Vec::new();
        for rule in rules.iter().filter_map(|ri| ir.rules.get(*ri as usize)) {
            // A rule has one body per request shape: name it once.
            if out.last() != Some(&rule.id) {
                out.push(rule.id.clone());
            }
        }
        out
    }

    /// Whether some permit could allow `principal` to do `action` on `resource` under
    /// `intent` (`None`: no intent) with this delegation chain, whatever the context: a cheap
    /// static question on the compiled set, for hosts that offer an agent only what it may
    /// use (`writ guard` filters `tools/list` with it). No condition is evaluated, so the
    /// answer is conservative: `false` means every request of this shape is denied (the
    /// action on the resource is outside the intent, a forbid without conditions applies,
    /// no permit's target matches, or the request would be bad input: an unknown action,
    /// type, intent or entity); `true` means some context might be allowed, or escalated.
    ///
    /// ```
    /// let policies = writ::PolicySet::from_sources(&[(
    ///     "p.writ",
    ///     r#"schema { entity Agent  entity Group  entity Tool in Group { secret: Bool }
    ///                 context { risk: Int }  action call: Agent -> Tool }
    ///        intent triage "Triage" { call on Group::"tickets" }
    ///        @id("a") permit Agent to call on Tool when context.risk < 50;
    ///        @id("b") forbid Agent to call on Tool::"wipe";
    ///        @id("c") forbid Agent to call on Tool when resource.secret;"#,
    /// )]).map_err(|e| e.to_string())?;
    /// let engine = writ::Engine::compile(&policies)?;
    /// let entities = engine.entities_from_json(
    ///     r#"[{"type": "Agent", "id": "bot"},
    ///         {"type": "Tool", "id": "read", "attrs": {"secret": false}, "parents": [{"type": "Group", "id": "tickets"}]},
    ///         {"type": "Tool", "id": "wipe", "attrs": {"secret": false}, "parents": [{"type": "Group", "id": "tickets"}]},
    ///         {"type": "Tool", "id": "shell", "attrs": {"secret": false}}]"#,
    /// )?;
    /// let could = |tool: &str, intent: Option<&str>| {
    ///     engine.could_permit(("Agent", "bot"), "call", ("Tool", tool), intent, &[], &entities)
    /// };
    /// assert!(could("read", Some("triage")));   // depends on the risk: maybe
    /// assert!(!could("wipe", Some("triage")));  // an unconditional forbid
    /// assert!(!could("shell", Some("triage"))); // outside the intent
    /// assert!(could("shell", None));
    /// assert!(!could("nope", None));            // not an entity of the store
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn could_permit(
        &self,
        principal: (&str, &str),
        action: &str,
        resource: (&str, &str),
        intent: Option<&str>,
        on_behalf_of: &[(&str, &str)],
        entities: &Entities,
    ) -> bool {
        let schema = &self.policy.ir.schema;
        let store = entities.store();
        let uid = |(ty, id): (&str, &str)| {
            let ty = schema.entity_id(ty)?;
            let uid = ir::value::EntityUid { ty, id: Arc::from(id) };
            store.get(&uid).is_some().then_some(uid)
        };
        let Some(action_id) = schema.action_id(action) else { return false };
        let Some(act) = schema.action(action_id) else { return false };
        let intent = match intent {
            None | Some("none") => None,
            Some(name) => match schema.intent_id(name) {
                Some(i) => Some(i),
                None => return false,
            },
        };
        let (Some(principal), Some(resource)) = (uid(principal), uid(resource)) else { return false };
        let mut chain = Vec::with_capacity(on_behalf_of.len());
        for hop in on_behalf_of {
            match uid(*hop) {
                Some(u) if act.principals.contains(&u.ty) => chain.push(u),
                _ => return false,
            }
        }
        if !act.principals.contains(&principal.ty) || !act.resources.contains(&resource.ty) {
            return false;
        }
        let request = HostRequest {
            principal,
            action: action_id,
            resource,
            intent,
            // Never read: no condition is evaluated.
            context: ir::value::Value::Bool(false),
            on_behalf_of: chain,
            entities: EntityStore::new(),
            overrides_store: false,
        };
        Interpreter::with_fuel(&self.policy.ir, self.options.limits.max_fuel).could_permit(&request, store)
    }

    /// Decides a decoded request. A JIT engine runs native code when the request and its
    /// entities were decoded by this engine, and the interpreter otherwise (same answer).
    ///
    /// ```
    /// # let policies = writ::PolicySet::load("examples/spec")?;
    /// # let engine = writ::Engine::compile(&policies)?;
    /// # let entities = engine.entities_from_json(&std::fs::read_to_string("examples/spec/entities.json")?)?;
    /// # let json = std::fs::read_to_string("examples/spec/request.json")?;
    /// let request = engine.request_from_json(&json, &entities)?;
    /// let d = engine.decide(&request);
    /// assert_eq!(d.decision, writ::Verdict::Allow);
    /// assert_eq!(&*d.reasons[0].rule, "agent-tools");
    /// assert_eq!(d.obligations.get("ttl"), Some(serde_json::json!("15m")));
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn decide(&self, request: &Request) -> Decision {
        self.decide_unversioned(request).versioned(&self.policy.version)
    }

    fn decide_unversioned(&self, request: &Request) -> Decision {
        if self.foreign(Some(request.schema)) {
            return Decision::bad_request(STALE_REQUEST);
        }
        if let Some((c, s, f)) = self.native(request) {
            return c
                .decide(&request.inner, request.entities.store(), s, f, self.options.limits.max_fuel)
                .made_by(Backend::Jit);
        }
        Interpreter::with_fuel(&self.policy.ir, self.options.limits.max_fuel)
            .decide(&request.inner, request.entities.store(), None)
            .made_by(Backend::Interpreter)
    }

    /// Evaluates an expression of the policy language against a decoded request, as a
    /// condition of a rule for that request would see it (`writ eval --expr`): `principal`,
    /// `resource`, `context`, `on_behalf_of`, the entities, the fns and imports of the policy
    /// set. The value comes back as the JSON that host data would write it in.
    ///
    /// ```
    /// # let policies = writ::PolicySet::load("examples/spec")?;
    /// # let engine = writ::Engine::compile(&policies)?;
    /// # let entities = engine.entities_from_json(&std::fs::read_to_string("examples/spec/entities.json")?)?;
    /// let request = engine.request_from_json(&std::fs::read_to_string("examples/spec/request.json")?, &entities)?;
    /// assert_eq!(engine.evaluate("context.risk < 50", &request)?, serde_json::json!(true));
    /// assert_eq!(engine.evaluate("principal.owner", &request)?, serde_json::json!({"type": "Human", "id": "alice"}));
    /// let err = engine.evaluate("context.rsik", &request).unwrap_err();
    /// assert!(err.to_string().contains("rsik"));
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn evaluate(&self, expr: &str, request: &Request) -> Result<serde_json::Value, ExpressionError> {
        if self.foreign(Some(request.schema)) {
            return Err(ExpressionError::Failed(STALE_REQUEST.into()));
        }
        let schema = &self.policy.ir.schema;
        let r = &request.inner;
        let action = schema.action(r.action).map_or("", |a| a.name.as_str());
        let shape = (schema.entity_name(r.principal.ty), schema.entity_name(r.resource.ty), action);
        let mut sources = (*self.policy.sources).clone();
        let id = sources.add("<expr>", expr);
        let mut resolver = crate::load::MapResolver(&self.policy.sources);
        let (lowered, diagnostics) =
            crate::sema::lower_expr(&mut sources, &self.policy.roots, &mut resolver, id, shape);
        let Some((ir, locals)) = lowered else {
            let diagnostics = diagnostics.into_iter().filter(Diagnostic::is_error).collect();
            return Err(ExpressionError::Invalid(CompileError { diagnostics, sources }));
        };
        Interpreter::with_fuel(&self.policy.ir, self.options.limits.max_fuel)
            .evaluate(&ir, locals, r, request.entities.store())
            .map(|v| crate::decision::typed_value_to_json(schema, &v, &ir.ty))
            .map_err(|e| ExpressionError::Failed(e.to_string()))
    }

    /// An empty coverage record for this engine's policy set, to fill with
    /// [`Engine::cover`] (`writ test --coverage`).
    ///
    /// ```
    /// # let policies = writ::PolicySet::load("examples/spec")?;
    /// # let engine = writ::Engine::compile(&policies)?;
    /// # let entities = engine.entities_from_json(&std::fs::read_to_string("examples/spec/entities.json")?)?;
    /// let mut coverage = engine.coverage();
    /// let request = engine.request_from_json(&std::fs::read_to_string("examples/spec/request.json")?, &entities)?;
    /// engine.cover(&request, &mut coverage);
    /// let tools = coverage.rules.iter().find(|r| r.id == "agent-tools").unwrap();
    /// assert_eq!(tools.applied, 1);
    /// assert!(tools.clauses.iter().all(|c| c.true_count + c.false_count == 1));
    /// assert!(coverage.never_applied().any(|r| r.id == "risk-ceiling"));
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn coverage(&self) -> crate::interp::coverage::Coverage {
        crate::interp::coverage::Coverage::new(&self.policy.ir, &self.policy.sources)
    }

    /// Records in `coverage` what deciding `request` exercises: the rules that apply, and
    /// for each rule whose target matches, whether each `when`/`unless` condition it reaches
    /// is true or false (by the reference interpreter; the decision itself is not made).
    /// A request of another schema records nothing.
    pub fn cover(&self, request: &Request, coverage: &mut crate::interp::coverage::Coverage) {
        if self.foreign(Some(request.schema)) || coverage.rules.len() != self.policy.ir.rules.len() {
            return;
        }
        Interpreter::with_fuel(&self.policy.ir, self.options.limits.max_fuel).cover(
            &request.inner,
            request.entities.store(),
            coverage,
        );
    }

    /// Decides, and for a deny or escalate explains which permits came closest (always by
    /// the interpreter, the reference semantics).
    ///
    /// ```
    /// # let policies = writ::PolicySet::load("examples/spec")?;
    /// # let engine = writ::Engine::compile(&policies)?;
    /// # let entities = engine.entities_from_json(&std::fs::read_to_string("examples/spec/entities.json")?)?;
    /// # let json = std::fs::read_to_string("examples/spec/request.json")?;
    /// let saturday = json.replace("2026-11-23", "2026-11-28");
    /// let d = engine.decide_explained(&engine.request_from_json(&saturday, &entities)?);
    /// assert_eq!(d.decision, writ::Verdict::Deny);
    /// let explain = d.explain.expect("a deny is explained");
    /// assert_eq!(explain.closest_permits[0].rule, "agent-tools");
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn decide_explained(&self, request: &Request) -> Decision {
        self.decide_explained_unversioned(request).versioned(&self.policy.version)
    }

    fn decide_explained_unversioned(&self, request: &Request) -> Decision {
        if self.foreign(Some(request.schema)) {
            return Decision::bad_request(STALE_REQUEST);
        }
        Interpreter::with_fuel(&self.policy.ir, self.options.limits.max_fuel)
            .decide(&request.inner, request.entities.store(), Some(&self.policy.sources))
            .made_by(Backend::Interpreter)
    }

    /// Decodes and decides in one step; a request that cannot be decoded is denied, with
    /// the decoding error in the decision.
    ///
    /// ```
    /// # let policies = writ::PolicySet::load("examples/spec")?;
    /// # let engine = writ::Engine::compile(&policies)?;
    /// # let entities = engine.entities_from_json(&std::fs::read_to_string("examples/spec/entities.json")?)?;
    /// # let json = std::fs::read_to_string("examples/spec/request.json")?;
    /// assert_eq!(engine.decide_json(&json, &entities).decision, writ::Verdict::Allow);
    /// let d = engine.decide_json("{not json", &entities);
    /// assert_eq!((d.decision, &*d.errors[0].rule), (writ::Verdict::Deny, "bad-request"));
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn decide_json(&self, json: &str, entities: &Entities) -> Decision {
        self.decide_json_unversioned(json, entities).versioned(&self.policy.version)
    }

    fn decide_json_unversioned(&self, json: &str, entities: &Entities) -> Decision {
        if json.len() > self.options.limits.max_request_bytes {
            return Decision::bad_request(crate::host::request::too_long(json.len(), &self.options.limits).to_string());
        }
        if let (Some(c), Some(s), true) = (&self.jit, &entities.jit, self.fast_json()) {
            if let Some(request) = c.decode_json(json, s) {
                return c.decide_spare(s, &request, self.options.limits.max_fuel).made_by(Backend::Jit);
            }
        }
        match self.request_from_json(json, entities) {
            Ok(r) => self.decide_unversioned(&r),
            Err(e) => Decision::bad_request(e.to_string()),
        }
    }
}

impl Engine {
    /// Whether [`Engine::decide_json`] takes its fast path for this text (the JIT's decoder
    /// from JSON text straight to machine words) rather than the ordinary decoder. For tests
    /// that check both paths give the same decisions; not part of the stable API.
    #[doc(hidden)]
    pub fn decides_json_natively(&self, json: &str, entities: &Entities) -> bool {
        match (&self.jit, &entities.jit) {
            (Some(c), Some(s)) => {
                json.len() <= self.options.limits.max_request_bytes && self.fast_json() && c.decodes_json(json, s)
            }
            _ => false,
        }
    }

    /// Whether the fast JSON decoder may run: it takes sets only up to a fixed length, so a
    /// host limit below that length leaves every request to the ordinary decoder.
    fn fast_json(&self) -> bool {
        self.options.limits.max_set_len >= crate::host::FAST_MAX_SET
    }
}

/// A request built in code rather than written as JSON: set its parts, then
/// [`RequestBuilder::build`] decodes it against an engine and its entities, with the errors
/// (kinds and JSON paths) that the same request as JSON would give.
///
/// ```
/// # let policies = writ::PolicySet::load("examples/spec")?;
/// # let engine = writ::Engine::compile(&policies)?;
/// # let entities = engine.entities_from_json(&std::fs::read_to_string("examples/spec/entities.json")?)?;
/// use serde_json::json;
/// let request = writ::RequestBuilder::new()
///     .principal("Agent", "support-bot")
///     .action("call_tool")
///     .resource("Tool", "jira.comment")
///     .intent("triage_ticket")
///     .on_behalf_of("Human", "alice")
///     .context("now", json!("2026-11-23T10:15:00Z"))
///     .context("risk", json!(12))
///     .context("source_ip", json!("10.1.2.3"))
///     .context("args", json!({"query": "open P1 tickets"}))
///     .build(&engine, &entities)?;
/// assert_eq!(engine.decide(&request).decision, writ::Verdict::Allow);
/// // A part the action needs and the builder lacks is the decoder's error, at its path.
/// let err = writ::RequestBuilder::new().principal("Agent", "support-bot").resource("Tool", "jira.comment")
///     .build(&engine, &entities).unwrap_err();
/// assert_eq!((err.kind(), err.path()), (writ::DecodeErrorKind::MissingField, "action"));
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Clone, Debug, Default, PartialEq)]
pub struct RequestBuilder {
    principal: Option<serde_json::Value>,
    action: Option<String>,
    resource: Option<serde_json::Value>,
    intent: Option<String>,
    context: serde_json::Map<String, serde_json::Value>,
    on_behalf_of: Vec<serde_json::Value>,
    entities: Vec<serde_json::Value>,
}

fn entity_ref(ty: &str, id: &str) -> serde_json::Value {
    serde_json::json!({"type": ty, "id": id})
}

impl RequestBuilder {
    /// An empty request (see the type's example).
    pub fn new() -> RequestBuilder {
        RequestBuilder::default()
    }

    /// The principal: an entity of type `ty` with id `id`.
    pub fn principal(mut self, ty: &str, id: &str) -> RequestBuilder {
        self.principal = Some(entity_ref(ty, id));
        self
    }

    /// The action, by name.
    pub fn action(mut self, name: &str) -> RequestBuilder {
        self.action = Some(name.to_string());
        self
    }

    /// The resource: an entity of type `ty` with id `id`.
    pub fn resource(mut self, ty: &str, id: &str) -> RequestBuilder {
        self.resource = Some(entity_ref(ty, id));
        self
    }

    /// The declared intent, by name (`"none"` or no call: no intent).
    pub fn intent(mut self, name: &str) -> RequestBuilder {
        self.intent = Some(name.to_string());
        self
    }

    /// One context field, as its JSON value (`json!(12)`, `json!("15m")`, an entity
    /// reference `json!({"type": "Human", "id": "bob"})`); setting a field again replaces it.
    ///
    /// ```
    /// let b = writ::RequestBuilder::new().context("risk", serde_json::json!(1)).context("risk", serde_json::json!(2));
    /// assert_eq!(b.to_json()["context"]["risk"], 2);
    /// ```
    pub fn context(mut self, field: &str, value: serde_json::Value) -> RequestBuilder {
        self.context.insert(field.to_string(), value);
        self
    }

    /// Adds a principal to the delegation chain (`on_behalf_of`), in order.
    pub fn on_behalf_of(mut self, ty: &str, id: &str) -> RequestBuilder {
        self.on_behalf_of.push(entity_ref(ty, id));
        self
    }

    /// Adds an inline entity, as its JSON object (`{"type", "id", "attrs", "parents"}`).
    ///
    /// ```
    /// let b = writ::RequestBuilder::new().entity(serde_json::json!({"type": "Tool", "id": "t"}));
    /// assert_eq!(b.to_json()["entities"][0]["id"], "t");
    /// ```
    pub fn entity(mut self, entity: serde_json::Value) -> RequestBuilder {
        self.entities.push(entity);
        self
    }

    /// The request as JSON (what [`Engine::request_from_json`] would take): only the parts
    /// that were set, and `context` always.
    ///
    /// ```
    /// let b = writ::RequestBuilder::new().principal("Agent", "a").action("call");
    /// assert_eq!(b.to_json(), serde_json::json!({"principal": {"type": "Agent", "id": "a"}, "action": "call", "context": {}}));
    /// ```
    pub fn to_json(&self) -> serde_json::Value {
        let mut o = serde_json::Map::new();
        if let Some(p) = &self.principal {
            o.insert("principal".into(), p.clone());
        }
        if let Some(a) = &self.action {
            o.insert("action".into(), serde_json::Value::String(a.clone()));
        }
        if let Some(r) = &self.resource {
            o.insert("resource".into(), r.clone());
        }
        if let Some(i) = &self.intent {
            o.insert("intent".into(), serde_json::Value::String(i.clone()));
        }
        o.insert("context".into(), serde_json::Value::Object(self.context.clone()));
        if !self.on_behalf_of.is_empty() {
            o.insert("on_behalf_of".into(), serde_json::Value::Array(self.on_behalf_of.clone()));
        }
        if !self.entities.is_empty() {
            o.insert("entities".into(), serde_json::Value::Array(self.entities.clone()));
        }
        serde_json::Value::Object(o)
    }

    /// Decodes the request against `engine` and `entities` ([`Engine::request_from_value`]);
    /// see the type's example.
    pub fn build(&self, engine: &Engine, entities: &Entities) -> Result<Request, DecodeError> {
        engine.request_from_value(&self.to_json(), entities)
    }
}

const STALE_ENTITIES: &str = "the entities were decoded by an engine with another schema; decode them again with \
                              this engine";
const STALE_REQUEST: &str = "the request was decoded by an engine with another schema; decode it again with this \
                             engine";

#[cfg(test)]
mod tests {
    use super::*;

    fn assert_send_sync<T: Send + Sync>() {}

    #[test]
    fn engine_is_send_and_sync() {
        assert_send_sync::<Engine>();
        assert_send_sync::<Request>();
        assert_send_sync::<Entities>();
    }

    #[test]
    fn schema_fingerprints_ignore_docs_and_rules_but_not_layout() {
        let fp =
            |src: &str| PolicySet::from_sources(&[("p.writ", src)]).map(|p| p.fingerprint).map_err(|e| e.to_string());
        let a = fp("schema { entity A { x: Bool }  entity T  action go: A -> T }  permit A to go on T;");
        let b = fp("schema { /// doc\n entity A { x: Bool }  entity T  action go: A -> T }  forbid A to go on T;");
        let c = fp("schema { entity A { w: Bool, x: Bool }  entity T  action go: A -> T }");
        assert_eq!(a, b);
        assert_ne!(a, c);
    }

    /// A policy set the JIT refuses (an index entry without its rule: only hand-made IR has
    /// one): the default engine falls back to the interpreter and says why, every decision
    /// says the interpreter made it; asking for the JIT strictly is the error.
    #[test]
    fn the_engine_falls_back_to_the_interpreter_when_the_jit_cannot_compile() {
        let src = "schema { entity Agent  entity Tool  action call: Agent -> Tool }\n@id(\"p\") permit Agent to call on Tool;";
        let mut policies = PolicySet::from_sources(&[("p.writ", src)]).unwrap();
        let mut ir = (*policies.ir).clone();
        for c in ir.index.values_mut() {
            c.push((99, 0));
        }
        policies.ir = Arc::new(ir);
        let engine = Engine::compile(&policies).unwrap();
        assert_eq!(engine.backend(), Backend::Interpreter);
        assert!(engine.fallback().is_some_and(|why| !why.is_empty()), "{:?}", engine.fallback());
        let entities =
            engine.entities_from_json(r#"[{"type": "Agent", "id": "a"}, {"type": "Tool", "id": "t"}]"#).unwrap();
        let d = engine.decide_json(
            r#"{"principal": {"type": "Agent", "id": "a"}, "action": "call", "resource": {"type": "Tool", "id": "t"}}"#,
            &entities,
        );
        assert_eq!(d.ran_on(), Some(Backend::Interpreter));
        let strict = EngineOptions { backend: BackendChoice::Jit, ..Default::default() };
        assert!(Engine::compile_with(&policies, strict).is_err());
        // A sound policy set compiles, on one thread as on many.
        let sound = PolicySet::from_sources(&[("p.writ", src)]).unwrap();
        for threads in [1, 2, 0] {
            let e =
                Engine::compile_with(&sound, EngineOptions { compile_threads: threads, ..Default::default() }).unwrap();
            assert_eq!((e.backend(), e.fallback()), (Backend::Jit, None));
            let d = e.decide_json(
                r#"{"principal": {"type": "Agent", "id": "a"}, "action": "call", "resource": {"type": "Tool", "id": "t"}}"#,
                &e.entities_from_json(r#"[{"type": "Agent", "id": "a"}, {"type": "Tool", "id": "t"}]"#).unwrap(),
            );
            assert_eq!((d.ran_on(), d.is_allowed()), (Some(Backend::Jit), true));
        }
    }
}
