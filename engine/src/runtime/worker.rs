//! What each worker thread does: agree on partitions, build the dataflow,
//! and step it until it finishes or the run stops.

use std::sync::Arc;
use std::time::{Duration, Instant};

use pyo3::prelude::*;
use timely::dataflow::ProbeHandle;
use timely::worker::Worker;

use super::control::Control;
use super::shared::Shared;
use super::{build, partitions, RunConfig};
use crate::errors::{RunError, RunResult};
use crate::operators::Ctx;
use crate::plan::Plan;
use crate::telemetry::WorkerMeters;

/// Longest a worker parks before looking at the stop flag again.
const PARK: Duration = Duration::from_millis(20);
/// How often the thread that owns Python's signal handling checks it.
const SIGNAL_CHECK: Duration = Duration::from_millis(50);

/// Run `plan` on this worker. Failures are recorded in `shared`.
pub fn worker_main(worker: &mut Worker, plan: &Plan, cfg: &RunConfig, shared: &Arc<Shared>, check_signals: bool) {
    run_and_stop(worker, plan, cfg, shared, check_signals);
    // Free cached objects now, while this thread can still attach.
    Python::attach(|_py| crate::codec::clear_caches());
}

fn run_and_stop(worker: &mut Worker, plan: &Plan, cfg: &RunConfig, shared: &Arc<Shared>, check_signals: bool) {
    let mut control = Control::new(worker, Arc::clone(shared));
    if let Err(err) = run(worker, plan, cfg, shared, check_signals) {
        shared.fail(err);
    }
    if shared.stopping() {
        control.broadcast_stop(shared.stop_reason());
        // Push the stop message out to the other workers before leaving.
        for _ in 0..4 {
            worker.step();
        }
        for id in worker.installed_dataflows() {
            worker.drop_dataflow(id);
        }
    } else {
        control.close();
        while worker.step_or_park(Some(PARK)) {
            if shared.stopping() {
                break;
            }
        }
    }
}

fn run(worker: &mut Worker, plan: &Plan, cfg: &RunConfig, shared: &Arc<Shared>, check_signals: bool) -> RunResult<()> {
    let parts = partitions::assign_all(worker, plan)?;
    let probe = ProbeHandle::new();
    let meters = shared.telemetry().map(|hub| WorkerMeters::new(Arc::clone(hub), worker.index())).unwrap_or_default();
    let ctx = Ctx {
        shared: Arc::clone(shared),
        worker_index: worker.index(),
        worker_count: worker.peers(),
        epoch_interval: cfg.epoch_interval,
        probe: probe.clone(),
        meters: meters.clone(),
    };
    worker.dataflow::<u64, _, _>(|scope| build::build(scope, plan, &parts, &ctx))?;

    // Timely runs a batch through a chain of operators within one step, so
    // a step is the unit of a composite step's time per item.
    let _flush_at_end = FlushOnDrop(meters.clone());
    let mut last_check = Instant::now();
    while !shared.stopping() && !probe.done() {
        worker.step_or_park(Some(PARK));
        meters.flush();
        if check_signals && last_check.elapsed() >= SIGNAL_CHECK {
            last_check = Instant::now();
            if let Err(err) = Python::attach(|py| py.check_signals()) {
                return Err(RunError::Interrupted(err));
            }
        }
    }
    Ok(())
}

/// Flushes the last step's time however `run` ends.
struct FlushOnDrop(WorkerMeters);

impl Drop for FlushOnDrop {
    fn drop(&mut self) {
        self.0.flush();
    }
}
