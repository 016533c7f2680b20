//! Turn a [`Plan`] into a timely dataflow on one worker.

use std::collections::HashMap;

use timely::dataflow::operators::Probe;
use timely::dataflow::Scope;

use crate::errors::{RunError, RunResult};
use crate::operators::{self as ops, Ctx, PyStream};
use crate::plan::{Op, Plan};

use super::partitions::Assignments;

/// Add every step of `plan` to `scope`. Streams that nobody reads, and the
/// outputs of sinks, are attached to `ctx.probe`, which the inputs watch.
pub fn build<'s>(scope: Scope<'s, u64>, plan: &Plan, parts: &Assignments, ctx: &Ctx) -> RunResult<()> {
    let mut streams: HashMap<&str, PyStream<'s>> = HashMap::new();
    let consumed = plan.consumed_streams();
    let mut ends: Vec<PyStream<'s>> = Vec::new();

    for (index, step) in plan.steps.iter().enumerate() {
        let up = |i: usize| -> RunResult<&PyStream<'s>> {
            let id = step
                .ups
                .get(i)
                .ok_or_else(|| RunError::Internal(format!("step '{}' has no input {i}", step.step_id)))?;
            streams
                .get(id.as_str())
                .ok_or_else(|| RunError::Internal(format!("step '{}' reads unknown stream '{id}'", step.step_id)))
        };
        let id = step.step_id.as_str();
        let downs: Vec<PyStream<'s>> = match &step.op {
            Op::PartitionedInput(source) => {
                let parts = ops::partitioned_input::build_parts(source, id, &parts[&index], ctx.worker_index)?;
                vec![ops::input::input(scope, id, parts, ctx)]
            }
            Op::DynamicInput(source) => {
                let part = ops::dynamic_input::build_part(source, id, ctx.worker_index, ctx.worker_count)?;
                vec![ops::input::input(scope, id, vec![part], ctx)]
            }
            Op::PartitionedOutput(sink) => {
                ends.push(ops::output::partitioned_output(up(0)?, id, py_clone(sink), &parts[&index], ctx));
                vec![]
            }
            Op::DynamicOutput(sink) => {
                ends.push(ops::dynamic_output::dynamic_output(up(0)?, id, py_clone(sink), ctx));
                vec![]
            }
            Op::Transform(kind, func) => {
                vec![ops::transform::transform(up(0)?, id, *kind, func.as_ref().map(py_clone), ctx)]
            }
            Op::FlatMapBatch(mapper) => vec![ops::flat_map_batch::flat_map_batch(up(0)?, id, py_clone(mapper), ctx)],
            Op::Branch(predicate) => {
                let (trues, falses) = ops::branch::branch(up(0)?, id, py_clone(predicate), ctx);
                vec![trues, falses]
            }
            Op::Merge => {
                let ups = (0..step.ups.len()).map(|i| up(i).cloned()).collect::<RunResult<Vec<_>>>()?;
                vec![ops::merge::merge(ups, id, ctx)]
            }
            Op::Redistribute => vec![ops::redistribute::redistribute(up(0)?, id, ctx)],
            Op::InspectDebug(inspector) => {
                vec![ops::inspect_debug::inspect_debug(up(0)?, id, py_clone(inspector), ctx)]
            }
            Op::StatefulBatch(builder) => vec![ops::stateful_batch::stateful_batch(up(0)?, id, py_clone(builder), ctx)],
            Op::StatefulMap { mapper, flat } => {
                vec![ops::stateful_map::stateful_map(up(0)?, id, py_clone(mapper), *flat, ctx)]
            }
            Op::Final(kind) => vec![ops::final_agg::final_agg(up(0)?, id, kind.clone_ref(), ctx)],
            Op::Window(plan) => {
                let emit_meta = step.downs.get(2).is_some_and(|meta| consumed.contains(meta.as_str()));
                let spec = pyo3::Python::attach(|py| ops::window::WindowSpec::from_plan(id, plan.bind(py), emit_meta))?;
                let (down, late, meta) = ops::window::window(up(0)?, spec, ctx);
                vec![down, late, meta]
            }
        };
        if downs.len() != step.downs.len() {
            return Err(RunError::Internal(format!(
                "step '{id}' built {} outputs for {} ports",
                downs.len(),
                step.downs.len()
            )));
        }
        for (stream_id, stream) in step.downs.iter().zip(downs) {
            if !consumed.contains(stream_id.as_str()) {
                ends.push(stream.clone());
            }
            streams.insert(stream_id.as_str(), stream);
        }
    }
    for end in ends {
        end.probe_with(&ctx.probe);
    }
    Ok(())
}

fn py_clone(obj: &pyo3::Py<pyo3::PyAny>) -> pyo3::Py<pyo3::PyAny> {
    pyo3::Python::attach(|py| obj.clone_ref(py))
}
