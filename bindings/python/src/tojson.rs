//! Python values to JSON text. A request or entities given as Python objects are written
//! as JSON once, here, and decoded by the engine's own JSON decoder (for a JIT engine, its
//! fast path straight to machine words), so a dict and the same request as text are
//! decided alike, with the same errors at the same JSON paths.
//!
//! Written as JSON: `dict` (string keys), `list`, `tuple`, `str`, `bool`, `int`, `float`,
//! `None`; and, for convenience, a timezone-aware `datetime.datetime` (RFC 3339), a
//! `datetime.timedelta` (a duration in milliseconds, `"1500ms"`), and the `ipaddress`
//! addresses and networks (their text). Anything else has no JSON form: an [`Unwritable`]
//! naming where it is.

use crate::shared::Shared;
use crate::utf8;
use pyo3::prelude::*;
use pyo3::pybacked::PyBackedStr;
use pyo3::types::{PyBool, PyDict, PyFloat, PyInt, PyList, PyString, PyTuple};
use std::fmt::Write as _;

/// How deeply a value may nest (the engine's JSON decoder allows as much); a deeper value,
/// or one that contains itself, is refused rather than followed.
const MAX_DEPTH: usize = 128;

/// One step of a JSON path.
enum Step {
    Key(String),
    Index(usize),
}

/// A Python value with no JSON form, and the path to it (`context.when`, `[2].attrs`).
pub(crate) struct Unwritable {
    /// Innermost step first (the path is built on the way out).
    steps: Vec<Step>,
    message: String,
}

impl Unwritable {
    pub(crate) fn new(message: impl Into<String>) -> Unwritable {
        Unwritable { steps: Vec::new(), message: message.into() }
    }

    fn at(mut self, step: Step) -> Unwritable {
        self.steps.push(step);
        self
    }

    /// The JSON path, written as the engine writes its own (`on_behalf_of[0].id`); empty
    /// for the value as a whole.
    pub(crate) fn path(&self) -> String {
        let mut s = String::new();
        for step in self.steps.iter().rev() {
            match step {
                Step::Key(k) if s.is_empty() => s.push_str(k),
                Step::Key(k) => {
                    s.push('.');
                    s.push_str(k);
                }
                Step::Index(i) => {
                    let _ = write!(s, "[{i}]");
                }
            }
        }
        s
    }
}

impl std::fmt::Display for Unwritable {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let path = self.path();
        if path.is_empty() { f.write_str(&self.message) } else { write!(f, "{path}: {}", self.message) }
    }
}

/// The keys of a request in the order the engine's fast decoder reads them; a request dict
/// is written in this order whatever order it was built in (a JSON object's members have
/// no order, so this changes nothing but speed).
pub(crate) const REQUEST_KEYS: [&str; 7] =
    ["principal", "action", "resource", "intent", "context", "on_behalf_of", "entities"];

/// Writes a request (a dict, or any other value, which the engine will then refuse with
/// its own message) as JSON text into `out`.
pub(crate) fn write_request(shared: &Shared, obj: &Bound<'_, PyAny>, out: &mut String) -> Result<(), Unwritable> {
    let Ok(dict) = obj.cast::<PyDict>() else {
        return write_value(shared, obj, out, 0);
    };
    let py = obj.py();
    out.push('{');
    let mut written = 0usize;
    for (name, key) in REQUEST_KEYS.iter().zip(shared.request_keys.iter()) {
        let Ok(Some(value)) = dict.get_item(key.bind(py)) else { continue };
        if written > 0 {
            out.push(',');
        }
        write_str(name, out);
        out.push(':');
        write_value(shared, &value, out, 1).map_err(|e| e.at(Step::Key((*name).to_string())))?;
        written += 1;
    }
    if written < dict.len() {
        // Members the request format does not have: written too, for the decoder to name.
        for (key, value) in dict.iter() {
            let key = key_text(&key)?;
            if REQUEST_KEYS.contains(&&*key) {
                continue;
            }
            if written > 0 {
                out.push(',');
            }
            write_str(&key, out);
            out.push(':');
            write_value(shared, &value, out, 1).map_err(|e| e.at(Step::Key(key.to_string())))?;
            written += 1;
        }
    }
    out.push('}');
    Ok(())
}

/// Writes any value as JSON text into `out`.
pub(crate) fn write_value(
    shared: &Shared,
    obj: &Bound<'_, PyAny>,
    out: &mut String,
    depth: usize,
) -> Result<(), Unwritable> {
    if depth > MAX_DEPTH {
        return Err(Unwritable::new(format!("the value nests more than {MAX_DEPTH} levels deep (or contains itself)")));
    }
    if let Ok(s) = obj.cast::<PyString>() {
        let text = utf8::text(s).ok_or_else(|| Unwritable::new(NOT_UNICODE))?;
        write_str(text, out);
    } else if let Ok(dict) = obj.cast::<PyDict>() {
        out.push('{');
        for (n, (key, value)) in dict.iter().enumerate() {
            let key = key_text(&key)?;
            if n > 0 {
                out.push(',');
            }
            write_str(&key, out);
            out.push(':');
            write_value(shared, &value, out, depth + 1).map_err(|e| e.at(Step::Key(key.to_string())))?;
        }
        out.push('}');
    } else if let Ok(list) = obj.cast::<PyList>() {
        out.push('[');
        for (i, item) in list.iter().enumerate() {
            if i > 0 {
                out.push(',');
            }
            write_value(shared, &item, out, depth + 1).map_err(|e| e.at(Step::Index(i)))?;
        }
        out.push(']');
    } else if let Ok(b) = obj.cast::<PyBool>() {
        out.push_str(if b.is_true() { "true" } else { "false" });
    } else if obj.is_instance_of::<PyInt>() {
        match obj.extract::<i64>() {
            Ok(n) => {
                let _ = write!(out, "{n}");
            }
            // Beyond 64 bits: its digits, for the decoder to refuse with its own message.
            Err(_) => match obj.str().ok().and_then(|s| s.extract::<PyBackedStr>().ok()) {
                Some(digits) => out.push_str(&digits),
                None => return Err(Unwritable::new("an `int` that cannot be written")),
            },
        }
    } else if obj.is_instance_of::<PyFloat>() {
        let f: f64 = obj.extract().map_err(|_| Unwritable::new("a `float` that cannot be read"))?;
        if !f.is_finite() {
            return Err(Unwritable::new(format!("`{f}` has no JSON form")));
        }
        let _ = write!(out, "{f:?}");
    } else if obj.is_none() {
        out.push_str("null");
    } else if let Ok(tuple) = obj.cast::<PyTuple>() {
        out.push('[');
        for (i, item) in tuple.iter().enumerate() {
            if i > 0 {
                out.push(',');
            }
            write_value(shared, &item, out, depth + 1).map_err(|e| e.at(Step::Index(i)))?;
        }
        out.push(']');
    } else {
        write_other(shared, obj, out)?;
    }
    Ok(())
}

const NOT_UNICODE: &str = "a string that is not valid Unicode (a lone surrogate)";

/// The text of a dict key, which must be a `str`.
fn key_text<'a>(key: &'a Bound<'_, PyAny>) -> Result<&'a str, Unwritable> {
    match key.cast::<PyString>() {
        Ok(s) => utf8::text(s).ok_or_else(|| Unwritable::new("a key that is not valid Unicode (a lone surrogate)")),
        Err(_) => Err(Unwritable::new(format!("a dict key must be a `str`, not `{}`", type_name(key)))),
    }
}

/// The values that are not JSON types but have an obvious JSON form.
fn write_other(shared: &Shared, obj: &Bound<'_, PyAny>, out: &mut String) -> Result<(), Unwritable> {
    let py = obj.py();
    if obj.is_instance(shared.datetime.bind(py)).unwrap_or(false) {
        let aware = obj.getattr("utcoffset").and_then(|f| f.call0()).map(|o| !o.is_none()).unwrap_or(false);
        if !aware {
            return Err(Unwritable::new(
                "a `datetime` without a time zone: give it one (`tzinfo=datetime.timezone.utc`)",
            ));
        }
        let text = obj
            .call_method0("isoformat")
            .and_then(|s| s.extract::<PyBackedStr>())
            .map_err(|_| Unwritable::new("a `datetime` that cannot be written"))?;
        write_str(&text, out);
    } else if obj.is_instance(shared.timedelta.bind(py)).unwrap_or(false) {
        let ms: Option<i64> = (|| {
            let days: i64 = obj.getattr("days").ok()?.extract().ok()?;
            let secs: i64 = obj.getattr("seconds").ok()?.extract().ok()?;
            let micros: i64 = obj.getattr("microseconds").ok()?.extract().ok()?;
            days.checked_mul(86_400_000)?.checked_add(secs * 1000)?.checked_add(micros / 1000)
        })();
        match ms {
            Some(ms) if ms >= 0 => {
                let _ = write!(out, "\"{ms}ms\"");
            }
            _ => return Err(Unwritable::new("a negative `timedelta` is not a duration")),
        }
    } else if shared.ip_types.iter().any(|t| obj.is_instance(t.bind(py)).unwrap_or(false)) {
        let text = obj
            .str()
            .and_then(|s| s.extract::<PyBackedStr>())
            .map_err(|_| Unwritable::new("an IP address that cannot be written"))?;
        write_str(&text, out);
    } else {
        return Err(Unwritable::new(format!(
            "a value of type `{}` has no JSON form (use dict, list, str, int, float, bool or None)",
            type_name(obj)
        )));
    }
    Ok(())
}

/// The name of an object's type, for messages.
pub(crate) fn type_name(obj: &Bound<'_, PyAny>) -> String {
    obj.get_type().name().map(|n| n.to_string()).unwrap_or_else(|_| "?".into())
}

/// Writes `s` as a JSON string (quotes and escapes).
fn write_str(s: &str, out: &mut String) {
    out.push('"');
    // The common case, nothing to escape: one copy.
    if s.bytes().all(|b| b >= 0x20 && b != b'"' && b != b'\\') {
        out.push_str(s);
        out.push('"');
        return;
    }
    let mut start = 0;
    for (i, b) in s.bytes().enumerate() {
        let escape = match b {
            b'"' => "\\\"",
            b'\\' => "\\\\",
            b'\n' => "\\n",
            b'\r' => "\\r",
            b'\t' => "\\t",
            0..=0x1f => "",
            _ => continue,
        };
        out.push_str(s.get(start..i).unwrap_or(""));
        if escape.is_empty() {
            let _ = write!(out, "\\u{b:04x}");
        } else {
            out.push_str(escape);
        }
        start = i + 1;
    }
    out.push_str(s.get(start..).unwrap_or(""));
    out.push('"');
}
