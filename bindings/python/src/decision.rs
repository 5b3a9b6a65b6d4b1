//! `writ.Decision` and its parts. A decision keeps the Rust `writ::Decision` and builds
//! Python values only when an attribute is read, so deciding costs one small object.

use crate::shared::shared;
use crate::topy;
use pyo3::exceptions::PyValueError;
use pyo3::prelude::*;
use pyo3::types::PyDict;

/// The answer to one request: `verdict` (`Verdict.ALLOW`, `DENY` or `ESCALATE`), the
/// `reasons` that decided it, the `obligations` of an allow, the `errors` of rules that
/// failed (they fail closed) or of a request that could not be decoded (a deny, its
/// `errors` naming the JSON path), and with `explain=True` the permits that came closest.
///
/// Attributes are computed when read; `to_dict()` is the decision JSON the `writ eval`
/// command prints.
#[pyclass(module = "writ", name = "Decision", frozen)]
pub struct PyDecision {
    pub(crate) inner: writ::Decision,
}

#[pymethods]
impl PyDecision {
    /// `Verdict.ALLOW`, `Verdict.DENY` or `Verdict.ESCALATE` (a `str` enum: it equals
    /// `"allow"`, `"deny"`, `"escalate"`).
    #[getter]
    fn verdict(&self, py: Python<'_>) -> PyResult<Py<PyAny>> {
        let [allow, escalate, deny] = &shared(py)?.verdicts;
        Ok(match self.inner.decision {
            writ::Verdict::Allow => allow,
            writ::Verdict::Escalate => escalate,
            writ::Verdict::Deny => deny,
        }
        .clone_ref(py))
    }

    /// Whether the verdict is allow (deny and escalate are not).
    #[getter]
    fn allowed(&self) -> bool {
        self.inner.is_allowed()
    }

    /// The rules (or built-in steps such as `no-permit`, `bad-request`) that decided, in
    /// order: a list of `Reason`.
    #[getter]
    fn reasons(&self) -> Vec<PyReason> {
        self.inner.reasons.iter().map(|r| PyReason { inner: r.clone() }).collect()
    }

    /// The obligations of an allow, by key: `ttl` (the smallest granted) as a
    /// `datetime.timedelta`, every other key as the list of its distinct granted values.
    #[getter]
    fn obligations<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyDict>> {
        let shared = shared(py)?;
        let dict = PyDict::new(py);
        for (key, value) in self.inner.obligations.iter() {
            match (key, self.inner.obligations.ttl_ms()) {
                ("ttl", Some(ms)) => dict.set_item(key, topy::timedelta(py, shared, ms)?)?,
                _ => dict.set_item(key, topy::json(py, &value)?)?,
            }
        }
        Ok(dict)
    }

    /// Rules whose evaluation failed (a failed permit does not apply, a failed forbid or
    /// escalate does), or `bad-request` with the decoding error: a list of `RuleError`.
    #[getter]
    fn errors(&self) -> Vec<PyRuleError> {
        self.inner.errors.iter().map(|e| PyRuleError { inner: e.clone() }).collect()
    }

    /// With `decide(..., explain=True)`, for a deny or escalate: whose permits are
    /// explained, the permits that came closest and the first condition of each that
    /// failed (with the values it saw), and what would lift an escalation. Else `None`.
    #[getter]
    fn explain<'py>(&self, py: Python<'py>) -> PyResult<Option<Bound<'py, PyAny>>> {
        match &self.inner.explain {
            None => Ok(None),
            Some(e) => {
                let v = serde_json::to_value(e).map_err(|e| PyValueError::new_err(e.to_string()))?;
                topy::json(py, &v).map(Some)
            }
        }
    }

    /// The version of the policy set that decided (`PolicySet.version`).
    #[getter]
    fn policy_version(&self) -> Option<&str> {
        self.inner.policy_version()
    }

    /// The back end that decided: `"jit"` or `"interpreter"`; `None` for a request that
    /// could not be decoded.
    #[getter]
    fn backend(&self) -> Option<&'static str> {
        self.inner.ran_on().map(crate::engine::backend_name)
    }

    /// The decision JSON as a dict (`decision`, `reasons`, `obligations`, `errors`, and
    /// `explain` when asked), exactly what `writ eval` prints; `ttl` is text here (`"15m"`).
    fn to_dict<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyAny>> {
        let v = serde_json::to_value(&self.inner).map_err(|e| PyValueError::new_err(e.to_string()))?;
        topy::json(py, &v)
    }

    /// The decision JSON as text, as `writ eval` prints it (pretty-printed).
    fn to_json(&self) -> String {
        self.inner.to_json()
    }

    fn __repr__(&self) -> String {
        let rules: Vec<String> = self.inner.reasons.iter().map(|r| format!("'{}'", r.rule)).collect();
        format!("Decision(verdict='{}', reasons=[{}])", self.inner.decision.as_str(), rules.join(", "))
    }
}

/// Why a decision is what it is: a rule (`rule` is its `@id`, or `FILE:LINE`) with its
/// `effect` (`"permit"`, `"forbid"`, `"escalate"`), its `because` message, where it is
/// written (`file`, `line`, 1-based), and `on_behalf_of` (`{"type", "id"}`) when it decided
/// for a principal of the delegation chain; or a built-in step (`no-permit`,
/// `bad-request`, `outside-intent:NAME`, …) with effect `"deny"`.
#[pyclass(module = "writ", name = "Reason", frozen)]
pub struct PyReason {
    inner: writ::Reason,
}

#[pymethods]
impl PyReason {
    #[getter]
    fn rule(&self) -> &str {
        &self.inner.rule
    }

    #[getter]
    fn effect(&self) -> &'static str {
        self.inner.effect.as_str()
    }

    #[getter]
    fn message(&self) -> Option<&str> {
        self.inner.message.as_deref()
    }

    #[getter]
    fn file(&self) -> Option<&str> {
        self.inner.file.as_deref()
    }

    #[getter]
    fn line(&self) -> Option<u32> {
        self.inner.line
    }

    #[getter]
    fn on_behalf_of<'py>(&self, py: Python<'py>) -> PyResult<Option<Bound<'py, PyDict>>> {
        match &self.inner.on_behalf_of {
            None => Ok(None),
            Some(e) => {
                let dict = PyDict::new(py);
                dict.set_item("type", &e.ty)?;
                dict.set_item("id", &e.id)?;
                Ok(Some(dict))
            }
        }
    }

    /// The reason as the decision JSON writes it.
    fn to_dict<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyAny>> {
        let v = serde_json::to_value(&self.inner).map_err(|e| PyValueError::new_err(e.to_string()))?;
        topy::json(py, &v)
    }

    fn __repr__(&self) -> String {
        let r = &self.inner;
        let mut s = format!("Reason(rule='{}', effect='{}'", r.rule, r.effect);
        if let Some(m) = &r.message {
            s.push_str(&format!(", message={m:?}"));
        }
        if let Some(e) = &r.on_behalf_of {
            s.push_str(&format!(", on_behalf_of={}::{:?}", e.ty, e.id));
        }
        s.push(')');
        s
    }
}

/// A rule whose evaluation failed (it failed closed: a permit did not apply, a forbid or
/// escalate did), or `bad-request` for a request that could not be decoded: `message`
/// then starts with the JSON path (`context.risk: expected Int, got "high"`).
#[pyclass(module = "writ", name = "RuleError", frozen)]
pub struct PyRuleError {
    inner: writ::DecisionError,
}

#[pymethods]
impl PyRuleError {
    #[getter]
    fn rule(&self) -> &str {
        &self.inner.rule
    }

    #[getter]
    fn message(&self) -> &str {
        &self.inner.message
    }

    /// The error as the decision JSON writes it.
    fn to_dict<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyDict>> {
        let dict = PyDict::new(py);
        dict.set_item("rule", &*self.inner.rule)?;
        dict.set_item("message", &self.inner.message)?;
        Ok(dict)
    }

    fn __repr__(&self) -> String {
        format!("RuleError(rule='{}', message={:?})", self.inner.rule, self.inner.message)
    }
}
