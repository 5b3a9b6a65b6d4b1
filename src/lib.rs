//! Writ: a policy language and decision engine for runtime authorization of non-human
//! identities. See `README.md` for the language and `ARCHITECTURE.md` for the pipeline.
#![cfg_attr(test, allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, clippy::indexing_slicing))]

pub mod cli;
pub mod decision;
pub mod diag;
pub mod engine;
pub mod fmt;
pub mod host;
pub mod interp;
pub mod ir;
pub mod jit;
pub mod load;
pub mod sema;
pub mod syntax;

pub use decision::{Decision, Effect, Obligations, Reasons, Verdict};
pub use engine::{Backend, CompileError, Engine, EngineOptions, Entities, Limits, PolicySet, Request, RequestBuilder};
pub use host::{DecodeError, DecodeErrorKind};
pub use ir::DEFAULT_FUEL;
pub use jit::JitError;
