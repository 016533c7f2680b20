//! Building the partitions of a `FixedPartitionedSource` owned by this worker.

use pyo3::prelude::*;

use super::input::Part;
use crate::errors::RunError;
use crate::pycall::user_error;
use crate::runtime::partitions::PartAssignment;

/// Build every partition of `source` that `worker` owns, in key order.
pub fn build_parts(
    source: &Py<PyAny>,
    step_id: &str,
    assignment: &PartAssignment,
    worker: usize,
) -> Result<Vec<Part>, RunError> {
    Python::attach(|py| {
        let source = source.bind(py);
        assignment
            .owned_by(worker)
            .map(|i| {
                let key = &assignment.parts[i];
                let part = source.call_method1("build_part", (step_id, key, py.None())).map_err(|err| {
                    let method = source.getattr("build_part").unwrap_or_else(|_| source.clone());
                    user_error(step_id, "build_part", &method, None, err)
                })?;
                Ok(Part::new(format!("partition '{key}'"), part.unbind(), true))
            })
            .collect()
    })
}
