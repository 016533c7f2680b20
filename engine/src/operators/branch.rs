//! `branch`: split a stream in two with a predicate.

use pyo3::prelude::*;
use pyo3::types::PyBool;
use timely::container::CapacityContainerBuilder;
use timely::dataflow::channels::pact::Pipeline;
use timely::dataflow::operators::generic::builder_rc::OperatorBuilder;
use timely::dataflow::operators::generic::OutputBuilder;

use super::{Ctx, PyStream};
use crate::batch::Batch;
use crate::errors::RunError;
use crate::pycall::{call1, short_repr, type_name, user_error};

/// Returns `(trues, falses)`.
pub fn branch<'s>(up: &PyStream<'s>, step_id: &str, predicate: Py<PyAny>, ctx: &Ctx) -> (PyStream<'s>, PyStream<'s>) {
    let mut builder = OperatorBuilder::new(step_id.to_string(), up.scope());
    let mut input = builder.new_input(up.clone(), Pipeline);
    let (trues_out, trues) = builder.new_output::<Batch>();
    let (falses_out, falses) = builder.new_output::<Batch>();
    let mut trues_out: OutputBuilder<u64, CapacityContainerBuilder<Batch>> = OutputBuilder::from(trues_out);
    let mut falses_out: OutputBuilder<u64, CapacityContainerBuilder<Batch>> = OutputBuilder::from(falses_out);
    let shared = ctx.shared.clone();
    let meter = ctx.meter(step_id);
    let step_id = step_id.to_string();

    builder.build(move |_initial_caps| {
        move |_frontiers| {
            let _timer = meter.timer();
            let mut trues_handle = trues_out.activate();
            let mut falses_handle = falses_out.activate();
            Python::attach(|py| {
                let predicate = predicate.bind(py);
                input.for_each(|cap, batch| {
                    if shared.stopping() {
                        return;
                    }
                    let stamp = meter.input(batch);
                    let (mut yes, mut no) = (Vec::new(), Vec::new());
                    for item in batch.take() {
                        match decide(&step_id, predicate, item.bind(py)) {
                            Ok(true) => yes.push(item),
                            Ok(false) => no.push(item),
                            Err(err) => {
                                shared.fail(err);
                                break;
                            }
                        }
                    }
                    meter.give_at(0, &mut trues_handle, &cap, yes, stamp);
                    meter.give_at(1, &mut falses_handle, &cap, no, stamp);
                });
            });
        }
    });
    (trues, falses)
}

fn decide(step_id: &str, predicate: &Bound<'_, PyAny>, item: &Bound<'_, PyAny>) -> Result<bool, RunError> {
    let verdict = call1(predicate, item).map_err(|err| user_error(step_id, "predicate", predicate, Some(item), err))?;
    if verdict.is_exact_instance_of::<PyBool>() {
        return Ok(verdict.is_truthy().unwrap_or(false));
    }
    Err(RunError::user_type(format!(
        "step '{step_id}': the return value of `predicate` {} must be a `bool`, but it returned {} \
         (a `{}`) for item {}; return `True` for the `trues` stream or `False` for `falses`",
        short_repr(predicate),
        short_repr(&verdict),
        type_name(&verdict),
        short_repr(item)
    )))
}
