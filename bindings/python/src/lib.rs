//! The Python binding of Writ: the native module `writ._writ`, re-exported by the pure
//! Python package `writ` (`python/writ/`), which also defines `Verdict`, `Diagnostic` and
//! the exceptions (`writ._types`).
//!
//! Requests and entities given as Python objects are written as JSON text in Rust
//! (`tojson`) and decoded by the engine's JSON decoder, so dicts and text decide alike and
//! a JIT engine takes its fast path for both. Decisions run with the GIL released.

mod decision;
mod engine;
mod policy;
mod shared;
mod tojson;
mod topy;
mod utf8;

use pyo3::prelude::*;

#[pymodule]
fn _writ(m: &Bound<'_, PyModule>) -> PyResult<()> {
    m.add_class::<policy::PyPolicySet>()?;
    m.add_class::<engine::PyEngine>()?;
    m.add_class::<engine::PyEntities>()?;
    m.add_class::<decision::PyDecision>()?;
    m.add_class::<decision::PyReason>()?;
    m.add_class::<decision::PyRuleError>()?;
    m.add("__version__", env!("CARGO_PKG_VERSION"))?;
    Ok(())
}
