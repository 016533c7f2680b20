//! Calling user functions, and describing their failures.

use pyo3::ffi;
use pyo3::prelude::*;
use pyo3::types::PyTuple;

use crate::errors::RunError;

/// Longest `repr` of a record quoted in an error message.
const MAX_REPR: usize = 200;

/// Call `f(arg)` through vectorcall: no argument tuple is allocated.
#[inline]
pub fn call1<'py>(f: &Bound<'py, PyAny>, arg: &Bound<'py, PyAny>) -> PyResult<Bound<'py, PyAny>> {
    let mut args = [std::ptr::null_mut(), arg.as_ptr()];
    // SAFETY: `args[1..]` holds one borrowed, live object; the offset flag
    // lets CPython use `args[0]` as scratch space, which we provide.
    unsafe {
        let ret = ffi::PyObject_Vectorcall(
            f.as_ptr(),
            args.as_mut_ptr().add(1),
            1 | ffi::PY_VECTORCALL_ARGUMENTS_OFFSET,
            std::ptr::null_mut(),
        );
        Bound::from_owned_ptr_or_err(f.py(), ret)
    }
}

/// Call `f(a, b)` through vectorcall.
#[inline]
pub fn call2<'py>(f: &Bound<'py, PyAny>, a: &Bound<'py, PyAny>, b: &Bound<'py, PyAny>) -> PyResult<Bound<'py, PyAny>> {
    let mut args = [std::ptr::null_mut(), a.as_ptr(), b.as_ptr()];
    // SAFETY: as in `call1`, with two borrowed, live arguments.
    unsafe {
        let ret = ffi::PyObject_Vectorcall(
            f.as_ptr(),
            args.as_mut_ptr().add(1),
            2 | ffi::PY_VECTORCALL_ARGUMENTS_OFFSET,
            std::ptr::null_mut(),
        );
        Bound::from_owned_ptr_or_err(f.py(), ret)
    }
}

/// `repr(obj)`, shortened for error messages.
pub fn short_repr(obj: &Bound<'_, PyAny>) -> String {
    let text = match obj.repr() {
        Ok(r) => r.to_string(),
        Err(_) => format!("<unrepresentable {}>", type_name(obj)),
    };
    if text.chars().count() > MAX_REPR {
        let cut: String = text.chars().take(MAX_REPR).collect();
        format!("{cut}...")
    } else {
        text
    }
}

pub fn type_name(obj: &Bound<'_, PyAny>) -> String {
    obj.get_type().name().map(|n| n.to_string()).unwrap_or_else(|_| "?".into())
}

/// The failure of user function `what` (e.g. "mapper") in `step_id`,
/// called on `item` (if the call was about one record).
pub fn user_error(
    step_id: &str,
    what: &str,
    func: &Bound<'_, PyAny>,
    item: Option<&Bound<'_, PyAny>>,
    cause: PyErr,
) -> RunError {
    let py = func.py();
    let exc = cause.value(py);
    let detail = format!("{}: {}", type_name(exc.as_any()), exc);
    let on = match item {
        Some(item) => format!(" on item {}", short_repr(item)),
        None => String::new(),
    };
    RunError::UserCode {
        message: format!("step '{step_id}': calling `{what}` {}{on} raised {detail}", short_repr(func)),
        cause,
    }
}

/// A returned time as seconds since the Unix epoch: `None` stays `None`;
/// a naive `datetime` is refused because its meaning depends on the host.
pub fn aware_timestamp(step_id: &str, what: &str, at: &Bound<'_, PyAny>) -> Result<Option<f64>, RunError> {
    if at.is_none() {
        return Ok(None);
    }
    let aware = at.getattr("tzinfo").map(|tz| !tz.is_none()).unwrap_or(false);
    if !aware {
        return Err(RunError::user_type(format!(
            "step '{step_id}': `{what}` must return `None` or a timezone-aware `datetime`, \
             but returned {}; use for example `datetime.now(timezone.utc)`",
            short_repr(at)
        )));
    }
    at.call_method0("timestamp")
        .and_then(|t| t.extract::<f64>())
        .map(Some)
        .map_err(|err| RunError::user_type(format!("step '{step_id}': `{what}` returned {}: {err}", short_repr(at))))
}

/// `(a, b)` from any 2-item iterable, as Python's `a, b = res` would.
pub fn unpack2<'py>(res: &Bound<'py, PyAny>) -> Option<(Bound<'py, PyAny>, Bound<'py, PyAny>)> {
    if let Ok(t) = res.cast::<PyTuple>() {
        return (t.len() == 2).then(|| (t.get_item(0).expect("len 2"), t.get_item(1).expect("len 2")));
    }
    let mut iter = res.try_iter().ok()?;
    let a = iter.next()?.ok()?;
    let b = iter.next()?.ok()?;
    iter.next().is_none().then_some((a, b))
}

/// Run `f` on this (non-Python) thread with a Python thread state that
/// lives as long as `f`, without holding the GIL.
///
/// Without it, every `Python::attach` on a worker thread creates and then
/// destroys a thread state (an allocation, a `munmap`, and any
/// `threading.local` data lost between batches). With it, an attach only
/// takes the GIL.
pub fn with_thread_state<R>(f: impl FnOnce() -> R) -> R {
    // SAFETY: the interpreter is initialised (this module was imported by
    // it). `PyGILState_Ensure` gives this thread a state and the GIL;
    // `PyEval_SaveThread` releases the GIL but keeps the state, which the
    // GILState API then reuses for every nested ensure/release pair (what
    // `Python::attach` does here, as pyo3 sees this thread as detached).
    // The two calls are undone in reverse order; `f` must not unwind, and
    // callers pass a `catch_unwind`.
    unsafe {
        let gil = ffi::PyGILState_Ensure();
        let saved = ffi::PyEval_SaveThread();
        let result = f();
        ffi::PyEval_RestoreThread(saved);
        ffi::PyGILState_Release(gil);
        result
    }
}
