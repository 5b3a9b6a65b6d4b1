//! Rust values to Python: JSON values as the `json` module would give them, durations as
//! `datetime.timedelta`.

use crate::shared::Shared;
use pyo3::IntoPyObjectExt;
use pyo3::prelude::*;
use pyo3::types::{PyDict, PyList};

/// A JSON value as `json.loads` would give it: `None`, `bool`, `int`, `float`, `str`,
/// `list`, `dict`.
pub(crate) fn json<'py>(py: Python<'py>, v: &serde_json::Value) -> PyResult<Bound<'py, PyAny>> {
    use serde_json::Value as J;
    match v {
        J::Null => Ok(py.None().into_bound(py)),
        J::Bool(b) => b.into_bound_py_any(py),
        J::Number(n) => match (n.as_i64(), n.as_u64()) {
            (Some(i), _) => i.into_bound_py_any(py),
            (None, Some(u)) => u.into_bound_py_any(py),
            _ => n.as_f64().unwrap_or(f64::NAN).into_bound_py_any(py),
        },
        J::String(s) => s.into_bound_py_any(py),
        J::Array(items) => {
            let list = PyList::empty(py);
            for item in items {
                list.append(json(py, item)?)?;
            }
            Ok(list.into_any())
        }
        J::Object(map) => {
            let dict = PyDict::new(py);
            for (k, item) in map {
                dict.set_item(k, json(py, item)?)?;
            }
            Ok(dict.into_any())
        }
    }
}

/// `datetime.timedelta(milliseconds=ms)`.
pub(crate) fn timedelta<'py>(py: Python<'py>, shared: &Shared, ms: i64) -> PyResult<Bound<'py, PyAny>> {
    let (days, rest) = (ms.div_euclid(86_400_000), ms.rem_euclid(86_400_000));
    shared.timedelta.bind(py).call1((days, rest / 1000, (rest % 1000) * 1000))
}
