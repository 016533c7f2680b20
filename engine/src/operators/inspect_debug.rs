//! `inspect_debug`: call `inspector(step_id, item, epoch, worker)` on
//! every item and pass it on unchanged.

use pyo3::prelude::*;
use pyo3::types::PyString;
use timely::dataflow::channels::pact::Pipeline;
use timely::dataflow::operators::Operator;

use super::{Ctx, PyStream};
use crate::pycall::user_error;

pub fn inspect_debug<'s>(up: &PyStream<'s>, step_id: &str, inspector: Py<PyAny>, ctx: &Ctx) -> PyStream<'s> {
    let shared = ctx.shared.clone();
    let worker = ctx.worker_index;
    let meter = ctx.meter(step_id);
    let step_id = step_id.to_string();
    up.clone().unary(Pipeline, &step_id.clone(), move |_cap, _info| {
        move |input, output| {
            let _timer = meter.timer();
            Python::attach(|py| {
                let inspector = inspector.bind(py);
                let py_step_id = PyString::new(py, &step_id);
                input.for_each(|cap, batch| {
                    if shared.stopping() {
                        return;
                    }
                    meter.input(batch);
                    let epoch = cap.least().copied().unwrap_or_default();
                    for item in &batch.items {
                        let called = inspector.call1((&py_step_id, item.bind(py), epoch, worker));
                        if let Err(err) = called {
                            shared.fail(user_error(&step_id, "inspector", inspector, Some(item.bind(py)), err));
                            return;
                        }
                    }
                    meter.give_batch(output, &cap, batch);
                });
            });
        }
    })
}
