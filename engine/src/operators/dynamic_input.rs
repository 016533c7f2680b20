//! Building the one partition of a `DynamicSource` on this worker.

use pyo3::prelude::*;

use super::input::Part;
use crate::errors::RunError;
use crate::pycall::user_error;

pub fn build_part(
    source: &Py<PyAny>,
    step_id: &str,
    worker_index: usize,
    worker_count: usize,
) -> Result<Part, RunError> {
    Python::attach(|py| {
        let source = source.bind(py);
        let part = source.call_method1("build", (step_id, worker_index, worker_count)).map_err(|err| {
            let method = source.getattr("build").unwrap_or_else(|_| source.clone());
            user_error(step_id, "build", &method, None, err)
        })?;
        Ok(Part::new(format!("worker {worker_index}"), part.unbind(), false))
    })
}
