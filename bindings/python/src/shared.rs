//! Python objects the binding uses on every call, looked up once: the members of
//! `writ.Verdict`, the exception and `Diagnostic` classes of `writ._types`, the `datetime`
//! and `ipaddress` types, and the request's keys as interned strings.

use pyo3::prelude::*;
use pyo3::sync::PyOnceLock;
use pyo3::types::PyString;

pub(crate) struct Shared {
    /// `Verdict.ALLOW`, `Verdict.ESCALATE`, `Verdict.DENY`.
    pub(crate) verdicts: [Py<PyAny>; 3],
    pub(crate) compile_error: Py<PyAny>,
    pub(crate) entity_error: Py<PyAny>,
    pub(crate) backend_error: Py<PyAny>,
    pub(crate) diagnostic: Py<PyAny>,
    pub(crate) datetime: Py<PyAny>,
    pub(crate) timedelta: Py<PyAny>,
    /// `ipaddress.IPv4Address`, `IPv6Address`, `IPv4Network`, `IPv6Network`.
    pub(crate) ip_types: [Py<PyAny>; 4],
    /// [`crate::tojson::REQUEST_KEYS`] as Python strings.
    pub(crate) request_keys: [Py<PyString>; 7],
}

static SHARED: PyOnceLock<Shared> = PyOnceLock::new();

/// The shared objects (imported on first use: `writ._types` is pure Python and imports
/// nothing of the native module, so this works while `writ` itself is being imported).
pub(crate) fn shared(py: Python<'_>) -> PyResult<&'static Shared> {
    SHARED.get_or_try_init(py, || {
        let types = py.import("writ._types")?;
        let verdict = types.getattr("Verdict")?;
        let datetime = py.import("datetime")?;
        let ip = py.import("ipaddress")?;
        let get = |m: &Bound<'_, PyModule>, name: &str| m.getattr(name).map(Bound::unbind);
        let key = |k: &str| PyString::intern(py, k).unbind();
        let [k0, k1, k2, k3, k4, k5, k6] = crate::tojson::REQUEST_KEYS;
        Ok(Shared {
            verdicts: [
                verdict.getattr("ALLOW")?.unbind(),
                verdict.getattr("ESCALATE")?.unbind(),
                verdict.getattr("DENY")?.unbind(),
            ],
            compile_error: get(&types, "CompileError")?,
            entity_error: get(&types, "EntityError")?,
            backend_error: get(&types, "BackendError")?,
            diagnostic: get(&types, "Diagnostic")?,
            datetime: get(&datetime, "datetime")?,
            timedelta: get(&datetime, "timedelta")?,
            ip_types: [
                get(&ip, "IPv4Address")?,
                get(&ip, "IPv6Address")?,
                get(&ip, "IPv4Network")?,
                get(&ip, "IPv6Network")?,
            ],
            request_keys: [key(k0), key(k1), key(k2), key(k3), key(k4), key(k5), key(k6)],
        })
    })
}
