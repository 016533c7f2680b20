//! Why a run stopped, and whose fault it was.
//!
//! Every error that ends a run is one of these. The variant says who has to
//! act: the user (their code raised, or returned the wrong shape), an
//! external system (a peer process vanished, an address is taken), or Rillet
//! itself (a bug: the message asks for a report).

use pyo3::exceptions::{PyRuntimeError, PyTypeError, PyValueError};
use pyo3::prelude::*;

#[derive(Debug, thiserror::Error)]
pub enum RunError {
    /// User code raised; `cause` is the original exception with its traceback.
    #[error("{message}")]
    UserCode { message: String, cause: PyErr },
    /// User code produced a value of the wrong type or shape.
    #[error("{message}")]
    UserType { message: String },
    /// The flow or its configuration is invalid.
    #[error("{message}")]
    UserValue { message: String },
    /// The run was interrupted (Ctrl-C); re-raised as the original exception.
    #[error("interrupted")]
    Interrupted(PyErr),
    /// Something outside Rillet failed: the network, a peer process.
    #[error("{0}")]
    External(String),
    /// A bug in Rillet.
    #[error("internal error in Rillet (please report it with this message): {0}")]
    Internal(String),
}

pub type RunResult<T> = Result<T, RunError>;

impl RunError {
    pub fn user_type(message: impl Into<String>) -> Self {
        Self::UserType { message: message.into() }
    }

    pub fn user_value(message: impl Into<String>) -> Self {
        Self::UserValue { message: message.into() }
    }

    /// Convert into the Python exception raised from `run_main` and friends.
    pub fn into_pyerr(self, py: Python<'_>) -> PyErr {
        match self {
            RunError::UserCode { message, cause } => {
                let err = runtime_error(py, message);
                err.set_cause(py, Some(cause));
                err
            }
            RunError::UserType { message } => rillet_error(py, "RilletTypeError", message, PyTypeError::new_err),
            RunError::UserValue { message } => rillet_error(py, "RilletValueError", message, PyValueError::new_err),
            RunError::Interrupted(err) => err,
            err @ (RunError::External(_) | RunError::Internal(_)) => runtime_error(py, err.to_string()),
        }
    }
}

fn runtime_error(py: Python<'_>, message: String) -> PyErr {
    rillet_error(py, "RilletRuntimeError", message, PyRuntimeError::new_err)
}

/// An exception class from `rillet.errors`, or the builtin `fallback` if
/// the Python package is not importable (only in Rust unit tests).
fn rillet_error(py: Python<'_>, class: &str, message: String, fallback: fn(String) -> PyErr) -> PyErr {
    match py.import("rillet.errors").and_then(|m| m.getattr(class)) {
        Ok(cls) => PyErr::from_type(cls.cast_into().expect("rillet.errors classes are types"), message),
        Err(_) => fallback(message),
    }
}
