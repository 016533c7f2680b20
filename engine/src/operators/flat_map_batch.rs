//! `flat_map_batch`: the user's function sees each whole batch as a list.

use pyo3::prelude::*;
use pyo3::types::PyList;
use timely::dataflow::channels::pact::Pipeline;
use timely::dataflow::operators::Operator;

use super::{Ctx, PyStream};
use crate::errors::RunError;
use crate::pycall::{call1, short_repr, type_name, user_error};

pub fn flat_map_batch<'s>(up: &PyStream<'s>, step_id: &str, mapper: Py<PyAny>, ctx: &Ctx) -> PyStream<'s> {
    let shared = ctx.shared.clone();
    let meter = ctx.meter(step_id);
    let step_id = step_id.to_string();
    up.clone().unary(Pipeline, &step_id.clone(), move |_cap, _info| {
        move |input, output| {
            let _timer = meter.timer();
            Python::attach(|py| {
                let mapper = mapper.bind(py);
                input.for_each(|cap, batch| {
                    if shared.stopping() {
                        return;
                    }
                    let stamp = meter.input(batch);
                    let items = PyList::new(py, batch.take()).expect("list from objects");
                    match call_mapper(&step_id, mapper, &items) {
                        Ok(out) => meter.give(output, &cap, out, stamp),
                        Err(err) => shared.fail(err),
                    }
                });
            });
        }
    })
}

fn call_mapper<'py>(
    step_id: &str,
    mapper: &Bound<'py, PyAny>,
    items: &Bound<'py, PyList>,
) -> Result<Vec<Py<PyAny>>, RunError> {
    let fail = |err| user_error(step_id, "mapper", mapper, None, err);
    let ret = call1(mapper, items.as_any()).map_err(fail)?;
    if let Ok(list) = ret.cast::<PyList>() {
        return Ok(list.iter().map(Bound::unbind).collect());
    }
    let iter = ret.try_iter().map_err(|_| {
        RunError::user_type(format!(
            "step '{step_id}': `mapper` {} must return an iterable of items, but returned {} (a `{}`)",
            short_repr(mapper),
            short_repr(&ret),
            type_name(&ret)
        ))
    })?;
    iter.map(|r| r.map(Bound::unbind).map_err(fail)).collect()
}
