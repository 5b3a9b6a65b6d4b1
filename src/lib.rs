//! Writ: a policy language and decision engine for runtime authorization of non-human
//! identities (AI agents, service accounts, CI jobs).
//!
//! The public API is small: load and check a [`PolicySet`], turn it into an [`Engine`]
//! (native code, or the reference interpreter), decode [`Entities`] and [`Request`]s for it
//! (from JSON text, a `serde_json::Value` or a [`RequestBuilder`]), and [`Engine::decide`]:
//! a [`Decision`] with its reasons, obligations and errors. Problems in policies are
//! [`Diagnostic`]s ([`diag`] renders them for terminals and as LSP-shaped JSON); problems in
//! host data are [`DecodeError`]s naming the JSON path. `docs/embedding.md` is the guide.
//!
//! ```
//! let policies = writ::PolicySet::load("examples/spec")?;
//! let engine = writ::Engine::compile(&policies)?;
//! let entities = engine.entities_from_json(&std::fs::read_to_string("examples/spec/entities.json")?)?;
//! let request = engine.request_from_json(&std::fs::read_to_string("examples/spec/request.json")?, &entities)?;
//! let decision = engine.decide(&request);
//! assert!(decision.is_allowed());
//! assert_eq!(decision.policy_version(), Some(policies.version()));
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```
//!
//! Nothing public lets safe code run unchecked IR natively: the native back end is private,
//! and an [`Engine`] is made only from a [`PolicySet`] that the checker produced.
//!
//! ```compile_fail,E0603
//! // The JIT is not part of the API (error: module `jit` is private) …
//! let _ = writ::jit::compile;
//! ```
//!
//! ```compile_fail,E0451
//! // … and a `PolicySet` cannot be assembled by hand from IR (error: private fields).
//! let sources = writ::SourceMap::new();
//! let _ = writ::PolicySet {
//!     ir: std::sync::Arc::new(writ::unstable::ir::PolicySet::default()),
//!     sources: std::sync::Arc::new(sources),
//!     warnings: std::sync::Arc::from(Vec::new()),
//!     fingerprint: 0,
//!     version: std::sync::Arc::from(""),
//! };
//! ```
#![deny(missing_docs)]
#![cfg_attr(test, allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, clippy::indexing_slicing))]

mod decision;
pub mod diag;
mod engine;
mod interp;
mod jit;
mod names;

use unstable::{host, ir, literal, load, sema, syntax};

pub use decision::{
    Backend, Decision, DecisionError, Effect, EntityRef, Escalation, Explanation, NearMiss, Obligations, Reason,
    Reasons, Verdict,
};
pub use diag::{Diagnostic, Severity};
pub use engine::{
    BackendChoice, CompileError, Engine, EngineOptions, Entities, ExpressionError, Limits, PolicySet, Request,
    RequestBuilder,
};
pub use host::{DecodeError, DecodeErrorKind};
pub use interp::coverage::{ClauseCoverage, Coverage, RuleCoverage};
pub use ir::DEFAULT_FUEL;
pub use jit::JitError;
pub use syntax::span::{FileId, SourceFile, SourceMap, Span};

/// **Not part of the stable API**: the front end and the IR, for the project's own tools
/// (the CLI, the language server, the formatter) and tests. It may change in any release.
/// Nothing here reaches native code: an [`Engine`] is built only from a checked
/// [`PolicySet`].
#[doc(hidden)]
#[allow(missing_docs)]
pub mod unstable;
