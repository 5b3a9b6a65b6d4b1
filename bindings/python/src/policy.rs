//! `writ.PolicySet`, and compile errors as `writ.CompileError` with structured diagnostics.

use crate::shared::{Shared, shared};
use crate::topy;
use pyo3::prelude::*;
use pyo3::types::{PyDict, PyList};
use std::collections::BTreeMap;
use std::path::PathBuf;

/// A checked policy set: every `*.writ` file of a directory (`PolicySet.load`), or sources
/// given as text (`PolicySet.from_sources`). A set with errors raises `writ.CompileError`.
#[pyclass(module = "writ", name = "PolicySet", frozen)]
pub struct PyPolicySet {
    pub(crate) inner: writ::PolicySet,
}

#[pymethods]
impl PyPolicySet {
    /// Loads and checks every `*.writ` file under a directory (or one file); `path` is a
    /// `str` or `os.PathLike`. Raises `writ.CompileError` with the diagnostics when the set
    /// does not check (a path that cannot be read is one of them).
    #[staticmethod]
    fn load(py: Python<'_>, path: PathBuf) -> PyResult<PyPolicySet> {
        match py.detach(|| writ::PolicySet::load(&path)) {
            Ok(inner) => Ok(PyPolicySet { inner }),
            Err(e) => Err(compile_error(py, &e)),
        }
    }

    /// Checks a policy set given as `{file name: text}`; nothing is read from disk (path
    /// imports are unavailable, `import std.time` works). Raises `writ.CompileError`.
    #[staticmethod]
    fn from_sources(py: Python<'_>, sources: BTreeMap<String, String>) -> PyResult<PyPolicySet> {
        let files: Vec<(&str, &str)> = sources.iter().map(|(n, t)| (n.as_str(), t.as_str())).collect();
        match py.detach(|| writ::PolicySet::from_sources(&files)) {
            Ok(inner) => Ok(PyPolicySet { inner }),
            Err(e) => Err(compile_error(py, &e)),
        }
    }

    /// A content hash of every source file (32 hex digits): the same files give the same
    /// version on every machine, in any order. Every decision names it.
    #[getter]
    fn version(&self) -> &str {
        self.inner.version()
    }

    /// The ids of the rules, in rule order (`@id`, or `FILE:LINE`).
    #[getter]
    fn rule_ids(&self) -> Vec<String> {
        self.inner.rule_ids().map(str::to_string).collect()
    }

    /// The warnings of a set that checks: a list of `writ.Diagnostic`.
    #[getter]
    fn warnings<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyList>> {
        diagnostics(py, shared(py)?, self.inner.warnings(), self.inner.sources())
    }

    fn __repr__(&self) -> String {
        format!("PolicySet(version='{}', rules={})", self.inner.version(), self.inner.rule_ids().count())
    }
}

/// `writ.CompileError(rendered, diagnostics, summary)`: `str()` is the report `writ check`
/// prints.
pub(crate) fn compile_error(py: Python<'_>, e: &writ::CompileError) -> PyErr {
    let made = (|| {
        let shared = shared(py)?;
        let mut rendered = writ::diag::render::render(&e.diagnostics, &e.sources, false);
        rendered.push_str(&format!("the policies do not check: {}", writ::diag::render::summary(&e.diagnostics)));
        let diags = diagnostics(py, shared, &e.diagnostics, &e.sources)?;
        shared.compile_error.bind(py).call1((rendered, diags, e.to_string()))
    })();
    match made {
        Ok(exc) => PyErr::from_value(exc),
        Err(err) => err,
    }
}

/// Diagnostics as a list of `writ.Diagnostic`.
fn diagnostics<'py>(
    py: Python<'py>,
    shared: &Shared,
    diags: &[writ::Diagnostic],
    sources: &writ::SourceMap,
) -> PyResult<Bound<'py, PyList>> {
    let list = PyList::empty(py);
    for d in diags {
        list.append(diagnostic(py, shared, d, sources)?)?;
    }
    Ok(list)
}

/// One `writ.Diagnostic`: lines and columns 1-based, columns in characters (as Python
/// counts a `str`); `lsp` is the LSP-shaped form (zero-based, UTF-16 columns).
fn diagnostic<'py>(
    py: Python<'py>,
    shared: &Shared,
    d: &writ::Diagnostic,
    sources: &writ::SourceMap,
) -> PyResult<Bound<'py, PyAny>> {
    let span = d.primary.span;
    let at = |offset: u32| {
        sources.get(span.file).map(|f| f.line_col(offset)).map_or((1, 1), |lc| (lc.line + 1, lc.chars + 1))
    };
    let ((line, column), (end_line, end_column)) = (at(span.start), at(span.end));
    let lsp = serde_json::to_value(writ::diag::json::to_json(d, sources)).unwrap_or(serde_json::Value::Null);
    let kw = PyDict::new(py);
    kw.set_item("code", d.code.as_str())?;
    kw.set_item("severity", d.severity.as_str())?;
    kw.set_item("message", &d.message)?;
    kw.set_item("file", sources.name(span.file))?;
    kw.set_item("line", line)?;
    kw.set_item("column", column)?;
    kw.set_item("end_line", end_line)?;
    kw.set_item("end_column", end_column)?;
    kw.set_item("label", &d.primary.message)?;
    kw.set_item("notes", d.notes.clone())?;
    kw.set_item("help", d.help.clone())?;
    kw.set_item("lsp", topy::json(py, &lsp)?)?;
    shared.diagnostic.bind(py).call((), Some(&kw))
}
