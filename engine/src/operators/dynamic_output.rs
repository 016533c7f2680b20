//! `output` to a `DynamicSink`: every worker writes to its own partition.

use pyo3::prelude::*;
use timely::dataflow::channels::pact::Pipeline;

use super::output::{write_stream, Parts, Writer};
use super::{Ctx, PyStream};
use crate::pycall::user_error;

pub fn dynamic_output<'s>(up: &PyStream<'s>, step_id: &str, sink: Py<PyAny>, ctx: &Ctx) -> PyStream<'s> {
    let built = Python::attach(|py| {
        let sink = sink.bind(py);
        sink.call_method1("build", (step_id, ctx.worker_index, ctx.worker_count)).map(Bound::unbind).map_err(|err| {
            user_error(step_id, "build", &sink.getattr("build").unwrap_or_else(|_| sink.clone()), None, err)
        })
    });
    let part = built.unwrap_or_else(|err| {
        ctx.shared.fail(err);
        Python::attach(|py| py.None())
    });
    write_stream(up, Pipeline, Writer::new(step_id, Parts::Dynamic(part)), ctx.meter(step_id), ctx)
}
