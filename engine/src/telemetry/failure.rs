//! The `error` message for a failed run.

use pyo3::prelude::*;

use super::layout::Tops;
use super::message::{ErrorReport, Fault};
use crate::errors::RunError;

/// Describe `err` for the studio. `None` for an interrupt, which is a
/// clean stop (`bye`), not a failure.
pub fn report(py: Python<'_>, err: &RunError, tops: &Tops) -> Option<ErrorReport> {
    let kind = match err {
        RunError::UserCode { .. } | RunError::UserType { .. } | RunError::UserValue { .. } => Fault::User,
        RunError::External(_) => Fault::External,
        RunError::Internal(_) => Fault::Internal,
        RunError::Interrupted(_) => return None,
    };
    let message = err.to_string();
    let step_id = named_step(&message).and_then(|id| tops.top_of(id)).map(|top| tops.steps[top].step_id.clone());
    let traceback = match err {
        RunError::UserCode { cause, .. } => format_traceback(py, cause),
        _ => None,
    };
    Some(ErrorReport { step_id, kind, message, traceback })
}

/// Describe an exception raised before the flow ran (importing it, or
/// building it): the user's to fix, about no step.
pub fn early(py: Python<'_>, exc: &Bound<'_, PyAny>) -> ErrorReport {
    let err = PyErr::from_value(exc.clone());
    let name = crate::pycall::type_name(exc);
    ErrorReport {
        step_id: None,
        kind: Fault::User,
        message: format!("{name}: {exc}"),
        traceback: format_traceback(py, &err),
    }
}

/// The step id an engine error message is about. Every message about a
/// step starts by naming it: `step 'flow.step': ...` or `step 'flow.step'
/// requires ...`.
fn named_step(message: &str) -> Option<&str> {
    let rest = message.strip_prefix("step '")?;
    rest.split_once('\'').map(|(id, _)| id)
}

/// `traceback.format_exception` of the original exception: its own
/// traceback and every chained cause and context, as Python prints them.
fn format_traceback(py: Python<'_>, cause: &PyErr) -> Option<String> {
    let value = cause.value(py);
    // Before Python 3.12 an exception fetched from a call keeps its
    // traceback beside it, not on `__traceback__`, until it is caught in
    // Python: put it there, or a plain `raise` in user code would lose it.
    if let Some(tb) = cause.traceback(py) {
        value.call_method1("with_traceback", (tb,)).ok()?;
    }
    let lines = py.import("traceback").ok()?.call_method1("format_exception", (value,)).ok()?;
    let lines: Vec<String> = lines.extract().ok()?;
    Some(lines.concat())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::telemetry::message::StepInfo;

    fn tops() -> Tops {
        let step = StepInfo {
            step_id: "f.win".into(),
            op: "count_window".into(),
            ups: vec![],
            up_ports: vec![],
            downs: vec![],
            down_ports: vec![],
        };
        Tops { flow_id: Some("f".into()), steps: vec![step] }
    }

    #[test]
    fn the_step_is_the_top_level_step_named_first() {
        assert_eq!(named_step("step 'f.win.stateful_batch': calling `x` raised"), Some("f.win.stateful_batch"));
        assert_eq!(named_step("step 'f.a' requires `(key, value)`"), Some("f.a"));
        assert_eq!(named_step("lost the connection to another process"), None);
        Python::attach(|py| {
            let err = RunError::user_type("step 'f.win.inner' requires `str` keys, but step 'f.other' ...");
            let r = report(py, &err, &tops()).unwrap();
            assert_eq!(r.step_id.as_deref(), Some("f.win"));
            assert_eq!(r.kind, Fault::User);
            assert_eq!(r.traceback, None);
            let r = report(py, &RunError::External("peer gone".into()), &tops()).unwrap();
            assert_eq!((r.step_id, r.kind), (None, Fault::External));
            let r = report(py, &RunError::Internal("step 'g.x': bug".into()), &tops()).unwrap();
            assert_eq!((r.step_id, r.kind), (None, Fault::Internal), "not a step of this flow");
        });
    }

    #[test]
    fn user_code_errors_carry_the_chained_traceback() {
        Python::attach(|py| {
            let code = c"
def inner():
    raise KeyError('low')
def outer():
    try:
        inner()
    except KeyError as e:
        raise ValueError('high') from e
try:
    outer()
except ValueError as e:
    err = e
";
            let globals = pyo3::types::PyDict::new(py);
            py.run(code, Some(&globals), None).unwrap();
            let cause = PyErr::from_value(globals.get_item("err").unwrap().unwrap());
            let err = RunError::UserCode { message: "step 'f.win': calling `mapper` raised ValueError".into(), cause };
            let r = report(py, &err, &tops()).unwrap();
            let tb = r.traceback.unwrap();
            assert!(tb.starts_with("Traceback (most recent call last):"), "{tb}");
            for part in ["in inner", "KeyError: 'low'", "direct cause", "in outer", "ValueError: high"] {
                assert!(tb.contains(part), "{part} missing from {tb}");
            }
            // Raised straight out of a call from Rust, never caught in Python.
            py.run(c"def direct(x):\n    raise ValueError(f'bad {x}')\n", Some(&globals), None).unwrap();
            let cause = globals.get_item("direct").unwrap().unwrap().call1((3,)).unwrap_err();
            let err = RunError::UserCode { message: "step 'f.win': calling `mapper` raised ValueError".into(), cause };
            let tb = report(py, &err, &tops()).unwrap().traceback.unwrap();
            assert!(tb.starts_with("Traceback (most recent call last):"), "{tb}");
            assert!(tb.contains("in direct") && tb.trim_end().ends_with("ValueError: bad 3"), "{tb}");
            assert!(report(py, &RunError::Interrupted(pyo3::exceptions::PyKeyboardInterrupt::new_err("")), &tops())
                .is_none());
        });
    }
}
