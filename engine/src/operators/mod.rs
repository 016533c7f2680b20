//! Timely operators, one per file. Each takes its upstream stream(s) and
//! the step, and returns its downstream stream(s).
//!
//! Every operator follows the same shape: build-time setup (resolving
//! Python callables, building partitions) in the outer closure, and a
//! run-time closure that attaches to Python once per activation and
//! processes all the batches it finds.

pub mod branch;
pub mod dynamic_input;
pub mod dynamic_output;
pub mod final_agg;
pub mod flat_map_batch;
pub mod input;
pub mod inspect_debug;
pub mod keyed;
pub mod merge;
pub mod output;
pub mod partitioned_input;
pub mod redistribute;
pub mod stateful_batch;
pub mod stateful_map;
pub mod transform;
pub mod window;
use crate::batch::Batch;
use crate::runtime::shared::Shared;
use crate::telemetry::{Meter, WorkerMeters};
use std::sync::Arc;
use std::time::Duration;
use timely::container::CapacityContainerBuilder;
use timely::dataflow::operators::generic::OutputBuilderSession;
use timely::dataflow::{ProbeHandle, Stream};
/// A stream of Python records, timestamped by epoch.
pub type PyStream<'s> = Stream<'s, u64, Batch>;
/// An operator's output handle for one activation.
pub type Output<'a> = OutputBuilderSession<'a, u64, CapacityContainerBuilder<Batch>>;
/// What every operator may need from the worker building it.
#[derive(Clone)]
pub struct Ctx {
    pub shared: Arc<Shared>,
    pub worker_index: usize,
    pub worker_count: usize,
    pub epoch_interval: Duration,
    /// Frontier of everything downstream; inputs wait on it between epochs.
    pub probe: ProbeHandle<u64>,
    /// This worker's telemetry (empty without a run channel).
    pub meters: WorkerMeters,
}
impl Ctx {
    /// What step `step_id`'s operators report through (see `telemetry::meter`).
    pub fn meter(&self, step_id: &str) -> Meter {
        self.meters.meter(step_id)
    }
}
/// Send `items` downstream at `cap`'s time; empty batches are not sent.
pub fn give<C: timely::dataflow::operators::CapabilityTrait<u64>>(
    output: &mut Output<'_>,
    cap: &C,
    items: Vec<pyo3::Py<pyo3::PyAny>>,
) {
    if !items.is_empty() {
        output.session(cap).give_container(&mut Batch::from_vec(items));
    }
}
