//! What one window computes: a native counter (`count_window`), a fold
//! with the user's `builder`/`folder`/`merger` (the other built-in
//! windowing operators), or the user's own `WindowLogic` object.

use pyo3::prelude::*;

use crate::errors::RunError;
use crate::pycall::{call1, call2, user_error};

pub enum LogicSpec {
    Count,
    Fold {
        builder: Py<PyAny>,
        folder: Py<PyAny>,
        merger: Py<PyAny>,
    },
    /// `builder(None)` returns a `WindowLogic`.
    Python {
        builder: Py<PyAny>,
    },
}

/// One open window's state.
pub enum Acc {
    Count(i64),
    /// The accumulator (`Fold`) or the `WindowLogic` (`Python`).
    Object(Py<PyAny>),
}

impl LogicSpec {
    pub fn build(&self, py: Python<'_>, step_id: &str) -> Result<Acc, RunError> {
        match self {
            LogicSpec::Count => Ok(Acc::Count(0)),
            LogicSpec::Fold { builder, .. } => {
                let builder = builder.bind(py);
                let acc = builder.call0().map_err(|e| user_error(step_id, "builder", builder, None, e))?;
                Ok(Acc::Object(acc.unbind()))
            }
            LogicSpec::Python { builder } => {
                let builder = builder.bind(py);
                let logic = call1(builder, &py.None().into_bound(py))
                    .map_err(|e| user_error(step_id, "builder", builder, None, e))?;
                Ok(Acc::Object(logic.unbind()))
            }
        }
    }

    /// Add `value` to a window; what the window emits goes to `emit`.
    pub fn on_value<'py>(
        &self,
        step_id: &str,
        acc: &mut Acc,
        value: &Bound<'py, PyAny>,
        emit: &mut Vec<Bound<'py, PyAny>>,
    ) -> Result<(), RunError> {
        let py = value.py();
        match (self, acc) {
            (LogicSpec::Count, Acc::Count(n)) => *n += 1,
            (LogicSpec::Fold { folder, .. }, Acc::Object(state)) => {
                let folder = folder.bind(py);
                let next = call2(folder, state.bind(py), value)
                    .map_err(|e| user_error(step_id, "folder", folder, Some(value), e))?;
                *state = next.unbind();
            }
            (LogicSpec::Python { .. }, Acc::Object(logic)) => {
                call_logic(step_id, logic.bind(py), "on_value", Some(value), emit)?;
            }
            _ => unreachable!("a window's state matches its logic"),
        }
        Ok(())
    }

    /// Absorb `original`, a window merged into `acc`'s window.
    pub fn on_merge<'py>(
        &self,
        py: Python<'py>,
        step_id: &str,
        acc: &mut Acc,
        original: Acc,
        emit: &mut Vec<Bound<'py, PyAny>>,
    ) -> Result<(), RunError> {
        match (self, acc, original) {
            (LogicSpec::Count, Acc::Count(n), Acc::Count(m)) => *n += m,
            (LogicSpec::Fold { merger, .. }, Acc::Object(state), Acc::Object(other)) => {
                let merger = merger.bind(py);
                let merged = call2(merger, state.bind(py), other.bind(py))
                    .map_err(|e| user_error(step_id, "merger", merger, None, e))?;
                *state = merged.unbind();
            }
            (LogicSpec::Python { .. }, Acc::Object(logic), Acc::Object(other)) => {
                call_logic(step_id, logic.bind(py), "on_merge", Some(other.bind(py)), emit)?;
            }
            _ => unreachable!("a window's state matches its logic"),
        }
        Ok(())
    }

    /// The window closes: what it emits goes to `emit`.
    pub fn on_close<'py>(
        &self,
        py: Python<'py>,
        step_id: &str,
        acc: Acc,
        emit: &mut Vec<Bound<'py, PyAny>>,
    ) -> Result<(), RunError> {
        match (self, acc) {
            (LogicSpec::Count, Acc::Count(n)) => emit.push(n.into_pyobject(py).expect("int").into_any()),
            (LogicSpec::Fold { .. }, Acc::Object(state)) => emit.push(state.into_bound(py)),
            (LogicSpec::Python { .. }, Acc::Object(logic)) => {
                call_logic(step_id, logic.bind(py), "on_close", None, emit)?;
            }
            _ => unreachable!("a window's state matches its logic"),
        }
        Ok(())
    }
}

impl LogicSpec {
    /// Whether window state is the user's `WindowLogic`, whose `snapshot`
    /// Bytewax calls when an epoch closes (user code can see that).
    pub fn is_user_logic(&self) -> bool {
        matches!(self, LogicSpec::Python { .. })
    }

    /// Call the user's `WindowLogic.snapshot()`, as Bytewax does at the
    /// end of each epoch the window's key ran in.
    pub fn snapshot(&self, py: Python<'_>, step_id: &str, acc: &Acc) -> Result<(), RunError> {
        if let (LogicSpec::Python { .. }, Acc::Object(logic)) = (self, acc) {
            let logic = logic.bind(py);
            let func = logic.getattr("snapshot").map_err(|e| user_error(step_id, "snapshot", logic, None, e))?;
            func.call0().map_err(|e| user_error(step_id, "snapshot", &func, None, e))?;
        }
        Ok(())
    }
}

/// Call `WindowLogic.method(arg)` and collect the values it returns.
fn call_logic<'py>(
    step_id: &str,
    logic: &Bound<'py, PyAny>,
    method: &str,
    arg: Option<&Bound<'py, PyAny>>,
    emit: &mut Vec<Bound<'py, PyAny>>,
) -> Result<(), RunError> {
    let func = logic.getattr(method).map_err(|e| user_error(step_id, method, logic, None, e))?;
    let res = match arg {
        Some(a) => call1(&func, a),
        None => func.call0(),
    }
    .map_err(|e| user_error(step_id, method, &func, arg, e))?;
    let iter = res.try_iter().map_err(|e| {
        RunError::user_type(format!(
            "step '{step_id}': `WindowLogic.{method}` {} must return an iterable of values to emit \
             (e.g. `[]` or `(value,)`), but returned {}: {e}",
            crate::pycall::short_repr(&func),
            crate::pycall::short_repr(&res)
        ))
    })?;
    for w in iter {
        emit.push(w.map_err(|e| user_error(step_id, method, &func, None, e))?);
    }
    Ok(())
}
