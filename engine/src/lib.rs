//! `rillet._engine`: the native half of the `rillet` package.
//!
//! The Python package builds dataflows; this module runs them on Timely
//! Dataflow. See `engine/DESIGN.md` for how the two halves meet.

pub mod batch;
pub mod codec;
pub mod errors;
pub mod iterate;
pub mod keys;
pub mod operators;
pub mod plan;
pub mod pycall;
pub mod runtime;
pub mod telemetry;

use std::time::Duration;

use pyo3::exceptions::{PyTypeError, PyValueError};
use pyo3::prelude::*;

use runtime::{RunConfig, Topology, DEFAULT_EPOCH_INTERVAL};

fn run_config(
    epoch_interval: Option<&Bound<'_, PyAny>>,
    recovery_config: Option<&Bound<'_, PyAny>>,
) -> PyResult<RunConfig> {
    if let Some(rc) = recovery_config {
        if !rc.is_none() {
            return Err(PyTypeError::new_err(
                "this Rillet engine does not take a `recovery_config` yet: snapshots to \
                 PostgreSQL arrive with the recovery feature; pass `recovery_config=None`",
            ));
        }
    }
    let epoch_interval = match epoch_interval {
        None => DEFAULT_EPOCH_INTERVAL,
        Some(obj) if obj.is_none() => DEFAULT_EPOCH_INTERVAL,
        Some(obj) => {
            let secs: f64 = obj.call_method0("total_seconds").and_then(|s| s.extract()).map_err(|_| {
                PyTypeError::new_err(
                    "`epoch_interval` must be a `datetime.timedelta`, for example `timedelta(seconds=10)`",
                )
            })?;
            if !(secs >= 0.0 && secs.is_finite()) {
                return Err(PyValueError::new_err(format!(
                    "`epoch_interval` must not be negative, got {secs} seconds"
                )));
            }
            Duration::from_secs_f64(secs)
        }
    };
    Ok(RunConfig { epoch_interval })
}

/// Execute a dataflow in the current thread, blocking until it completes.
///
/// ```python
/// from rillet.dataflow import Dataflow
/// import rillet.operators as op
/// from rillet.testing import TestingSource, run_main
/// from rillet.connectors.stdio import StdOutSink
///
/// flow = Dataflow("my_df")
/// s = op.input("inp", flow, TestingSource(range(3)))
/// op.output("out", s, StdOutSink())
/// run_main(flow)
/// ```
#[pyfunction]
#[pyo3(signature = (flow, *, epoch_interval=None, recovery_config=None))]
fn run_main(
    py: Python<'_>,
    flow: &Bound<'_, PyAny>,
    epoch_interval: Option<&Bound<'_, PyAny>>,
    recovery_config: Option<&Bound<'_, PyAny>>,
) -> PyResult<()> {
    let cfg = run_config(epoch_interval, recovery_config)?;
    runtime::run(py, flow, Topology::CallingThread, cfg)
}

/// Execute a dataflow in this process as process `proc_id` of a cluster
/// whose processes listen on `addresses` (`"host:port"`, this one
/// included). Empty `addresses` runs a single process. Blocks until done.
#[pyfunction]
#[pyo3(signature = (flow, addresses, proc_id, *, epoch_interval=None, recovery_config=None, worker_count_per_proc=1))]
#[allow(clippy::too_many_arguments)]
fn cluster_main(
    py: Python<'_>,
    flow: &Bound<'_, PyAny>,
    addresses: Vec<String>,
    proc_id: usize,
    epoch_interval: Option<&Bound<'_, PyAny>>,
    recovery_config: Option<&Bound<'_, PyAny>>,
    worker_count_per_proc: usize,
) -> PyResult<()> {
    let cfg = run_config(epoch_interval, recovery_config)?;
    let topology = Topology::Threads { threads: worker_count_per_proc, process: proc_id, addresses };
    runtime::run(py, flow, topology, cfg)
}

/// The entry point of `python -m rillet.run`.
#[pyfunction]
#[pyo3(signature = (flow, *, workers_per_process=1, process_id=None, addresses=None, epoch_interval=None, recovery_config=None))]
fn cli_main(
    py: Python<'_>,
    flow: &Bound<'_, PyAny>,
    workers_per_process: usize,
    process_id: Option<usize>,
    addresses: Option<Vec<String>>,
    epoch_interval: Option<&Bound<'_, PyAny>>,
    recovery_config: Option<&Bound<'_, PyAny>>,
) -> PyResult<()> {
    let cfg = run_config(epoch_interval, recovery_config)?;
    let addresses = addresses.unwrap_or_default();
    if addresses.len() > 1 && process_id.is_none() {
        return Err(PyValueError::new_err(
            "a cluster run needs this process's id: pass `-i`/`--process-id` (or RILLET_PROCESS_ID) with `-a`",
        ));
    }
    let topology = Topology::Threads { threads: workers_per_process, process: process_id.unwrap_or(0), addresses };
    runtime::run(py, flow, topology, cfg)
}

/// Report `exc`, which stopped a run before its flow ran, to the studio
/// (see `engine/TELEMETRY.md`); does nothing unless the studio started
/// this run. `python -m rillet.run` calls it when the flow can't be loaded.
#[pyfunction]
#[pyo3(signature = (exc, *, process=0))]
fn report_failure(py: Python<'_>, exc: &Bound<'_, PyAny>, process: usize) {
    telemetry::report_early_failure(py, exc, process);
}

#[pymodule]
fn _engine(m: &Bound<'_, PyModule>) -> PyResult<()> {
    m.add_function(wrap_pyfunction!(run_main, m)?)?;
    m.add_function(wrap_pyfunction!(cluster_main, m)?)?;
    m.add_function(wrap_pyfunction!(cli_main, m)?)?;
    m.add_function(wrap_pyfunction!(iterate::take_batch, m)?)?;
    m.add_function(wrap_pyfunction!(report_failure, m)?)?;
    Ok(())
}
