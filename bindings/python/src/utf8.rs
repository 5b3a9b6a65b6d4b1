//! The UTF-8 text of a Python `str`, borrowed from the object: no copy, no temporary
//! `bytes`. CPython keeps a `str`'s UTF-8 form inside the object (an ASCII `str` *is* its
//! UTF-8 form), so reading a request's strings this way costs no allocation.
//!
//! The function for it, `PyUnicode_AsUTF8AndSize`, has been in CPython's API since 3.3 but
//! entered the stable ABI (what an abi3 wheel may call) only in 3.10, so PyO3 does not
//! offer it to an abi3-py39 build; every CPython this package supports (≥ 3.9) exports it
//! with the same signature and behaviour, and it is declared here.

use pyo3::prelude::*;
use pyo3::types::PyString;

#[allow(unsafe_code)]
mod raw {
    use pyo3::ffi;

    unsafe extern "C" {
        /// The UTF-8 form of a `str` and its length in bytes; NULL with an exception set
        /// for a `str` that has none (a lone surrogate).
        pub(super) fn PyUnicode_AsUTF8AndSize(
            unicode: *mut ffi::PyObject,
            size: *mut ffi::Py_ssize_t,
        ) -> *const std::ffi::c_char;
    }

    /// The UTF-8 text of `s`, valid as long as `s` lives.
    pub(super) fn utf8<'a>(s: &'a pyo3::Bound<'_, pyo3::types::PyString>) -> Option<&'a str> {
        let mut size: ffi::Py_ssize_t = 0;
        // SAFETY: `s` is a live `str` (the `Bound` holds a reference and the GIL), the
        // call only reads it and writes `size`.
        let data = unsafe { PyUnicode_AsUTF8AndSize(pyo3::Bound::as_ptr(s), &mut size) };
        let len = usize::try_from(size).ok()?;
        if data.is_null() {
            return None;
        }
        // SAFETY: CPython returned a buffer of `len` bytes owned by the `str` object, which
        // is immutable and outlives the borrow of `s` this slice is tied to; the buffer is
        // the `str`'s UTF-8 encoding, which CPython produces only when it is valid (a
        // `str` with a lone surrogate has none: NULL, above).
        Some(unsafe { std::str::from_utf8_unchecked(std::slice::from_raw_parts(data.cast::<u8>(), len)) })
    }
}

/// The text of `s`, borrowed; `None` for a `str` with no UTF-8 form (a lone surrogate).
pub(crate) fn text<'a>(s: &'a Bound<'_, PyString>) -> Option<&'a str> {
    match raw::utf8(s) {
        Some(text) => Some(text),
        None => {
            // The exception CPython set is ours to clear: the caller reports its own error.
            let _ = PyErr::take(s.py());
            None
        }
    }
}
