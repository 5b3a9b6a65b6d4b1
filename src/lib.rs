//! Writ: a policy language and decision engine for runtime authorization of non-human
//! identities. See `README.md` for the language and `ARCHITECTURE.md` for the pipeline.
#![cfg_attr(test, allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, clippy::indexing_slicing))]

pub mod cli;
pub mod diag;
pub mod ir;
pub mod load;
pub mod sema;
pub mod syntax;
