//! `output`: write items to a sink's partitions.
//!
//! For a `FixedPartitionedSink`, each `(key, value)` item is routed by
//! `part_fn(key)` to the worker that owns that partition, and only the
//! value is written. `write_batch` is called once per partition per
//! activation with everything that arrived; `close` once the upstream ends.

use std::sync::Arc;

use pyo3::prelude::*;
use pyo3::types::{PyList, PyTuple};
use timely::dataflow::channels::pact::{DistributorPact, ParallelizationContract, Pipeline};
use timely::dataflow::operators::Operator;

use super::{give, Ctx, Output, PyStream};
use crate::batch::Batch;
use crate::errors::RunError;
use crate::keys::{self, PyDistributor};
use crate::pycall::{call1, short_repr, user_error};
use crate::runtime::partitions::PartAssignment;

/// Built sink partitions, by partition index; `None` where another worker
/// owns the partition.
pub struct Writer {
    step_id: String,
    parts: Vec<Option<Py<PyAny>>>,
    /// Items are `(partition index, value)` pairs rather than bare items.
    indexed: bool,
    closed: bool,
}

impl Writer {
    pub fn new(step_id: &str, parts: Vec<Option<Py<PyAny>>>, indexed: bool) -> Self {
        Self { step_id: step_id.to_string(), parts, indexed, closed: false }
    }

    fn method_error(&self, part: &Bound<'_, PyAny>, method: &str, err: PyErr) -> RunError {
        let func = part.getattr(method).unwrap_or_else(|_| part.clone());
        user_error(&self.step_id, method, &func, None, err)
    }

    fn write(&self, py: Python<'_>, items: Vec<Py<PyAny>>) -> Result<(), RunError> {
        if items.is_empty() {
            return Ok(());
        }
        let mut per_part: Vec<Vec<Py<PyAny>>> = (0..self.parts.len()).map(|_| Vec::new()).collect();
        for item in items {
            if self.indexed {
                let pair = item.bind(py).cast::<PyTuple>().expect("indexed items are tuples");
                let index: usize = pair.get_item(0).and_then(|i| i.extract()).expect("partition index");
                per_part[index].push(pair.get_item(1).expect("value").unbind());
            } else {
                per_part[0].push(item);
            }
        }
        for (part, values) in self.parts.iter().zip(per_part) {
            let (Some(part), false) = (part, values.is_empty()) else {
                continue;
            };
            let part = part.bind(py);
            let list = PyList::new(py, values).expect("list from objects");
            part.call_method1("write_batch", (list,)).map_err(|err| self.method_error(part, "write_batch", err))?;
        }
        Ok(())
    }

    fn close(&mut self, py: Python<'_>) -> Result<(), RunError> {
        self.closed = true;
        for part in self.parts.iter().flatten() {
            let part = part.bind(py);
            part.call_method0("close").map_err(|err| self.method_error(part, "close", err))?;
        }
        Ok(())
    }
}

impl Drop for Writer {
    fn drop(&mut self) {
        if !self.closed {
            // Torn down early (failure or abort): still release the sink.
            Python::attach(|py| {
                for part in self.parts.iter().flatten() {
                    let _ = part.bind(py).call_method0("close");
                }
            });
        }
    }
}

/// The writing operator. Its output never carries items; its frontier
/// tells the inputs when everything up to an epoch has been written.
pub fn write_stream<'s, P>(up: &PyStream<'s>, pact: P, mut writer: Writer, ctx: &Ctx) -> PyStream<'s>
where
    P: ParallelizationContract<u64, Batch>,
{
    let shared = ctx.shared.clone();
    let name = writer.step_id.clone();
    up.clone().unary_frontier(pact, &name, move |_cap, _info| {
        move |(input, frontier), _output: &mut Output<'_>| {
            Python::attach(|py| {
                let mut items = Vec::new();
                input.for_each(|_cap, batch| items.extend(batch.take()));
                if shared.stopping() {
                    return;
                }
                if let Err(err) = writer.write(py, items) {
                    return shared.fail(err);
                }
                if frontier.is_empty() && !writer.closed {
                    if let Err(err) = writer.close(py) {
                        shared.fail(err);
                    }
                }
            });
        }
    })
}

/// `output` to a `FixedPartitionedSink`.
pub fn partitioned_output<'s>(
    up: &PyStream<'s>,
    step_id: &str,
    sink: Py<PyAny>,
    assignment: &PartAssignment,
    ctx: &Ctx,
) -> PyStream<'s> {
    let parts = Python::attach(|py| -> Result<Vec<Option<Py<PyAny>>>, RunError> {
        let sink_ref = sink.bind(py);
        (0..assignment.parts.len())
            .map(|i| {
                if assignment.owners[i] != ctx.worker_index {
                    return Ok(None);
                }
                sink_ref
                    .call_method1("build_part", (step_id, &assignment.parts[i], py.None()))
                    .map(|p| Some(p.unbind()))
                    .map_err(|err| {
                        let func = sink_ref.getattr("build_part").unwrap_or_else(|_| sink_ref.clone());
                        user_error(step_id, "build_part", &func, None, err)
                    })
            })
            .collect()
    });
    let parts = parts.unwrap_or_else(|err| {
        ctx.shared.fail(err);
        Vec::new()
    });

    let tagged = tag_with_partition(up, step_id, sink, assignment.parts.len() as i64, ctx);
    let owners = Arc::new(assignment.owners.clone());
    let pact = DistributorPact(move |peers| {
        PyDistributor::new(peers, move |item: &Bound<'_, PyAny>| {
            let index: usize = item.get_item(0).and_then(|i| i.extract()).unwrap_or(0);
            owners.get(index).copied().unwrap_or(0) as u64
        })
    });
    write_stream(&tagged, pact, Writer::new(step_id, parts, true), ctx)
}

/// Turn each `(key, value)` into `(part_fn(key) % n_parts, value)` on the
/// worker where it is, so `part_fn` runs once per item.
fn tag_with_partition<'s>(up: &PyStream<'s>, step_id: &str, sink: Py<PyAny>, n_parts: i64, ctx: &Ctx) -> PyStream<'s> {
    let shared = ctx.shared.clone();
    let step_id = step_id.to_string();
    up.clone().unary(Pipeline, &format!("{step_id}.part_fn"), move |_cap, _info| {
        move |input, output| {
            Python::attach(|py| {
                let part_fn = match sink.bind(py).getattr("part_fn") {
                    Ok(f) => f,
                    Err(err) => return shared.fail(RunError::Internal(format!("the sink has no `part_fn`: {err}"))),
                };
                input.for_each(|cap, batch| {
                    if shared.stopping() {
                        return;
                    }
                    let mut out = Vec::with_capacity(batch.len());
                    for item in batch.take() {
                        match tag(&step_id, &part_fn, item.bind(py), n_parts) {
                            Ok(tagged) => out.push(tagged),
                            Err(err) => {
                                shared.fail(err);
                                break;
                            }
                        }
                    }
                    give(output, &cap, out);
                });
            });
        }
    })
}

fn tag(
    step_id: &str,
    part_fn: &Bound<'_, PyAny>,
    item: &Bound<'_, PyAny>,
    n_parts: i64,
) -> Result<Py<PyAny>, RunError> {
    let py = item.py();
    let (key, value) = keys::split(step_id, item)?;
    let hashed =
        call1(part_fn, key.as_any()).map_err(|err| user_error(step_id, "part_fn", part_fn, Some(item), err))?;
    let index = hashed.call_method1("__mod__", (n_parts,)).and_then(|i| i.extract::<i64>()).map_err(|_| {
        RunError::user_type(format!(
            "step '{step_id}': `part_fn` must return an `int`, but returned {} for key {}",
            short_repr(&hashed),
            short_repr(key.as_any())
        ))
    })?;
    Ok(PyTuple::new(py, [index.into_pyobject(py).expect("int").into_any(), value])
        .expect("2-tuple")
        .into_any()
        .unbind())
}
