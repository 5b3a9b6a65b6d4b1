//! `writ.Engine` and `writ.Entities`: deciding with the GIL released, entities updated in
//! place under a lock that deciders share.

use crate::decision::PyDecision;
use crate::policy::PyPolicySet;
use crate::shared::{Shared, shared};
use crate::tojson::{self, Unwritable};
use crate::utf8;
use pyo3::exceptions::PyValueError;
use pyo3::prelude::*;
use pyo3::types::{PyBytes, PyDict, PyList, PyString};
use std::cell::Cell;
use std::sync::{Arc, PoisonError, RwLock};

/// The name of a back end as Python sees it.
pub(crate) fn backend_name(b: writ::Backend) -> &'static str {
    match b {
        writ::Backend::Jit => "jit",
        writ::Backend::Interpreter => "interpreter",
    }
}

/// A decision engine for one policy set. Safe to share between threads: decisions run
/// with the GIL released and take no lock of the engine.
#[pyclass(module = "writ", name = "Engine", frozen)]
pub struct PyEngine {
    engine: writ::Engine,
    /// No entities, laid out for this engine: what `entities=None` decides against.
    empty: writ::Entities,
    version: Arc<str>,
    policies: Py<PyPolicySet>,
}

/// Host data on its way to the decoder: text the caller gave (borrowed from its `str` or
/// `bytes`, not copied), or JSON written from Python objects, or a value that has no JSON
/// form.
enum Input<'a> {
    Str(&'a str),
    Bytes(&'a [u8]),
    Written(String),
    Unwritable(Unwritable),
}

impl<'a> Input<'a> {
    /// Reads a request or entities argument: `str` and `bytes` are JSON text, anything
    /// else a Python value written as JSON (`request` selects the request's key order).
    fn read(shared: &Shared, obj: &'a Bound<'_, PyAny>, buf: String, request: bool) -> Input<'a> {
        if let Ok(s) = obj.cast::<PyString>() {
            return match utf8::text(s) {
                Some(text) => Input::Str(text),
                None => Input::Unwritable(unicode_error()),
            };
        }
        if let Ok(b) = obj.cast::<PyBytes>() {
            return Input::Bytes(b.as_bytes());
        }
        let mut buf = buf;
        buf.clear();
        let written = if request {
            tojson::write_request(shared, obj, &mut buf)
        } else {
            tojson::write_value(shared, obj, &mut buf, 0)
        };
        match written {
            Ok(()) => Input::Written(buf),
            Err(e) => Input::Unwritable(e),
        }
    }

    /// The JSON text, or what is wrong with it.
    fn text(&self) -> Result<&str, String> {
        match self {
            Input::Str(s) => Ok(s),
            Input::Bytes(b) => std::str::from_utf8(b).map_err(|e| format!("the JSON text is not UTF-8: {e}")),
            Input::Written(s) => Ok(s),
            Input::Unwritable(e) => Err(e.to_string()),
        }
    }

    /// Gives a written buffer back for the next call.
    fn recycle(self) {
        if let Input::Written(s) = self {
            give_buffer(s);
        }
    }
}

fn unicode_error() -> Unwritable {
    Unwritable::new("the text is not valid Unicode (a lone surrogate)")
}

thread_local! {
    /// One JSON buffer per thread, reused by every call (a call that finds it taken, by a
    /// nested call, uses a fresh one).
    static BUFFER: Cell<String> = const { Cell::new(String::new()) };
}

fn take_buffer() -> String {
    BUFFER.with(Cell::take)
}

fn give_buffer(s: String) {
    if s.capacity() <= 1 << 20 {
        BUFFER.with(|b| b.set(s));
    }
}

#[pymethods]
impl PyEngine {
    /// Builds an engine for a `PolicySet`.
    ///
    /// `backend`: `"auto"` (the default: native code, falling back to the interpreter only
    /// where the JIT cannot compile the set; `fallback` says why), `"jit"` (native code, or
    /// `writ.BackendError`), `"interpreter"` (the reference interpreter).
    /// `allow_inline_override`: whether a request's inline entities may replace stored
    /// ones (by default such a request is denied). `allow_request_ip_ranges`: whether a
    /// request's IP values may be ranges. `compile_threads`: threads generating native code
    /// (0: one per core). The GIL is released while compiling.
    #[new]
    #[pyo3(signature = (policies, backend = "auto", *, allow_inline_override = false, allow_request_ip_ranges = false, compile_threads = 0))]
    fn new(
        py: Python<'_>,
        policies: Bound<'_, PyPolicySet>,
        backend: &str,
        allow_inline_override: bool,
        allow_request_ip_ranges: bool,
        compile_threads: usize,
    ) -> PyResult<PyEngine> {
        let choice = match backend {
            "auto" => writ::BackendChoice::Auto,
            "jit" => writ::BackendChoice::Jit,
            "interpreter" | "interp" => writ::BackendChoice::Interpreter,
            other => {
                return Err(PyValueError::new_err(format!(
                    "unknown backend `{other}`: use \"auto\", \"jit\" or \"interpreter\""
                )));
            }
        };
        let options = writ::EngineOptions {
            backend: choice,
            allow_inline_override,
            allow_request_ip_ranges,
            compile_threads,
            ..Default::default()
        };
        let set = policies.get().inner.clone();
        let engine = match py.detach(|| writ::Engine::compile_with(&set, options)) {
            Ok(e) => e,
            Err(e) => {
                let shared = shared(py)?;
                return Err(PyErr::from_value(shared.backend_error.bind(py).call1((e.to_string(),))?));
            }
        };
        let empty = engine.empty_entities();
        let version = Arc::from(set.version());
        Ok(PyEngine { engine, empty, version, policies: policies.unbind() })
    }

    /// Decodes an entity store for this engine: a list of entity dicts
    /// (`{"type", "id", "attrs", "parents"}`), one dict, JSON text (`str` or `bytes`), or
    /// `None` for an empty store. Raises `writ.EntityError` (with `.path` and `.kind`) for
    /// data the schema does not take.
    #[pyo3(signature = (data = None))]
    fn entities(&self, py: Python<'_>, data: Option<&Bound<'_, PyAny>>) -> PyResult<PyEntities> {
        let store = match data {
            None => self.engine.empty_entities(),
            Some(data) => {
                let shared = shared(py)?;
                let input = Input::read(shared, data, take_buffer(), false);
                // One entity dict is a store of one (decoded as an update, so errors name
                // its paths as `upsert` does).
                let one = data.cast::<PyDict>().is_ok();
                let decoded = match input.text() {
                    Ok(text) => py
                        .detach(|| match one {
                            false => self.engine.entities_from_json(text),
                            true => {
                                let mut store = self.engine.empty_entities();
                                self.engine.upsert_entities_json(&mut store, text).map(|()| store)
                            }
                        })
                        .map_err(|e| decode_error(py, &e)),
                    Err(_) => Err(unwritable_error(py, &input)),
                };
                input.recycle();
                decoded?
            }
        };
        Ok(PyEntities { engine: self.engine.clone(), inner: RwLock::new(store) })
    }

    /// Decides one request: a dict (`principal`, `action`, `resource`, `intent`,
    /// `context`, `on_behalf_of`, `entities`), or JSON text (`str` or `bytes`), against
    /// `entities` (an `Entities` of this engine; `None`: no stored entities). With
    /// `explain=True` a deny or escalate says which permits came closest (by the
    /// interpreter, slower).
    ///
    /// Never raises for bad input: a request that cannot be decoded is a deny whose
    /// `errors` name the JSON path. The GIL is released while deciding.
    #[pyo3(signature = (request, entities = None, *, explain = false))]
    fn decide(
        &self,
        py: Python<'_>,
        request: &Bound<'_, PyAny>,
        entities: Option<Bound<'_, PyEntities>>,
        explain: bool,
    ) -> PyResult<PyDecision> {
        let shared = shared(py)?;
        let store = entities.as_ref().map(|e| e.get());
        let input = Input::read(shared, request, take_buffer(), true);
        let inner = match input.text() {
            Ok(text) => py.detach(|| self.run(text, store, explain)),
            Err(message) => self.bad_request(message),
        };
        input.recycle();
        Ok(PyDecision { inner })
    }

    /// Decides many requests (any iterable of what `decide` takes) against the same
    /// entities, releasing the GIL once for all of them; a list of `Decision`, in order.
    #[pyo3(signature = (requests, entities = None, *, explain = false))]
    fn decide_many<'py>(
        &self,
        py: Python<'py>,
        requests: &Bound<'py, PyAny>,
        entities: Option<Bound<'py, PyEntities>>,
        explain: bool,
    ) -> PyResult<Bound<'py, PyList>> {
        let shared = shared(py)?;
        let store = entities.as_ref().map(|e| e.get());
        // The requests stay alive (and their text borrowed) until the decisions are made.
        let objects = requests.try_iter()?.collect::<PyResult<Vec<_>>>()?;
        let inputs: Vec<Input<'_>> =
            objects.iter().map(|request| Input::read(shared, request, String::new(), true)).collect();
        let decisions: Vec<writ::Decision> = py.detach(|| {
            inputs
                .iter()
                .map(|input| match input.text() {
                    Ok(text) => self.run(text, store, explain),
                    Err(message) => self.bad_request(message),
                })
                .collect()
        });
        let list = PyList::empty(py);
        for inner in decisions {
            list.append(PyDecision { inner })?;
        }
        Ok(list)
    }

    /// The back end this engine runs: `"jit"` or `"interpreter"`.
    #[getter]
    fn backend(&self) -> &'static str {
        backend_name(self.engine.backend())
    }

    /// Why an engine asked for native code (`backend="auto"`) runs the interpreter, or
    /// `None`.
    #[getter]
    fn fallback(&self) -> Option<&str> {
        self.engine.fallback()
    }

    /// The version of the policy set (`PolicySet.version`).
    #[getter]
    fn policy_version(&self) -> &str {
        &self.version
    }

    /// The `PolicySet` this engine decides by.
    #[getter]
    fn policies(&self, py: Python<'_>) -> Py<PyPolicySet> {
        self.policies.clone_ref(py)
    }

    fn __repr__(&self) -> String {
        format!("Engine(backend='{}', policy_version='{}')", backend_name(self.engine.backend()), self.version)
    }

    /// For `bench/bench.py`, not part of the API: decides the JSON text `iterations` times
    /// in Rust, without leaving Rust between calls, and returns the mean nanoseconds per
    /// decision: the Rust cost that `decide(text)` adds the binding's to.
    #[pyo3(signature = (request, entities = None, iterations = 100_000))]
    fn _rust_ns_per_decision(
        &self,
        py: Python<'_>,
        request: &str,
        entities: Option<Bound<'_, PyEntities>>,
        iterations: u32,
    ) -> f64 {
        let store = entities.as_ref().map(|e| e.get());
        py.detach(|| {
            let start = std::time::Instant::now();
            for _ in 0..iterations {
                std::hint::black_box(self.run(std::hint::black_box(request), store, false));
            }
            start.elapsed().as_secs_f64() * 1e9 / f64::from(iterations.max(1))
        })
    }
}

impl PyEngine {
    /// Decides JSON text (no GIL needed).
    fn run(&self, text: &str, store: Option<&PyEntities>, explain: bool) -> writ::Decision {
        match store {
            None => self.decide_with(text, &self.empty, explain),
            Some(e) => {
                let guard = e.inner.read().unwrap_or_else(PoisonError::into_inner);
                self.decide_with(text, &guard, explain)
            }
        }
    }

    fn decide_with(&self, text: &str, store: &writ::Entities, explain: bool) -> writ::Decision {
        if !explain {
            return self.engine.decide_json(text, store);
        }
        match self.engine.request_from_json(text, store) {
            Ok(request) => self.engine.decide_explained(&request),
            Err(e) => self.bad_request(e.to_string()),
        }
    }

    /// The deny for a request that could not be decoded, stamped with this policy set.
    fn bad_request(&self, message: String) -> writ::Decision {
        let mut d = writ::Decision::bad_request(message);
        d.policy_version = Some(self.version.clone());
        d
    }
}

/// The entity store of one engine, updated in place with `upsert` and `remove`. Deciding
/// threads share it; an update waits for the decisions reading it and runs with the GIL
/// released.
#[pyclass(module = "writ", name = "Entities", frozen)]
pub struct PyEntities {
    engine: writ::Engine,
    inner: RwLock<writ::Entities>,
}

#[pymethods]
impl PyEntities {
    /// Adds or replaces entities: one entity dict, a list of them, or JSON text. All or
    /// nothing: on `writ.EntityError` (naming the JSON path) nothing changed. A replaced
    /// entity takes its new attributes and parents whole.
    fn upsert(&self, py: Python<'_>, data: &Bound<'_, PyAny>) -> PyResult<()> {
        let shared = shared(py)?;
        let input = Input::read(shared, data, take_buffer(), false);
        let done = match input.text() {
            Ok(text) => py
                .detach(|| {
                    let mut guard = self.inner.write().unwrap_or_else(PoisonError::into_inner);
                    self.engine.upsert_entities_json(&mut guard, text)
                })
                .map_err(|e| decode_error(py, &e)),
            Err(_) => Err(unwritable_error(py, &input)),
        };
        input.recycle();
        done
    }

    /// Removes the entity `type::id`; `False` if the store does not hold it. Raises
    /// `writ.EntityError` for a type the schema does not declare, or an entity that an
    /// attribute of another refers to (update that one first).
    #[pyo3(name = "remove")]
    fn remove_entity(&self, py: Python<'_>, r#type: &str, id: &str) -> PyResult<bool> {
        py.detach(|| {
            let mut guard = self.inner.write().unwrap_or_else(PoisonError::into_inner);
            self.engine.remove_entity(&mut guard, r#type, id)
        })
        .map_err(|e| decode_error(py, &e))
    }

    fn __len__(&self) -> usize {
        self.inner.read().unwrap_or_else(PoisonError::into_inner).len()
    }

    fn __repr__(&self) -> String {
        format!("Entities(len={})", self.__len__())
    }
}

/// `writ.EntityError(message, path, kind)` for a decoding error.
fn decode_error(py: Python<'_>, e: &writ::DecodeError) -> PyErr {
    entity_error(py, &e.to_string(), e.path(), e.kind().as_str())
}

/// `writ.EntityError` for a Python value with no JSON form.
fn unwritable_error(py: Python<'_>, input: &Input) -> PyErr {
    match input {
        Input::Unwritable(e) => entity_error(py, &e.to_string(), &e.path(), "wrong-type"),
        _ => entity_error(py, &input.text().err().unwrap_or_default(), "", "malformed-json"),
    }
}

fn entity_error(py: Python<'_>, message: &str, path: &str, kind: &str) -> PyErr {
    let made = shared(py).and_then(|s| s.entity_error.bind(py).call1((message, path, kind)));
    match made {
        Ok(exc) => PyErr::from_value(exc),
        Err(err) => err,
    }
}
