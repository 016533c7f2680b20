//! `output`: write items to a sink's partitions.
//!
//! For a `FixedPartitionedSink`, each `(key, value)` item is routed by
//! `part_fn(key)` to the worker that owns that partition, and only the
//! value is written. `write_batch` is called once per partition per
//! activation with everything that arrived; `close` once the upstream ends.

use std::collections::{BTreeMap, BTreeSet};
use std::sync::Arc;

use pyo3::prelude::*;
use pyo3::types::{PyList, PyTuple};
use timely::dataflow::channels::pact::{DistributorPact, ParallelizationContract, Pipeline};
use timely::dataflow::operators::Operator;

use super::{Ctx, Output, PyStream};
use crate::batch::{earliest, Batch, NO_STAMP};
use crate::errors::RunError;
use crate::keys::{self, PyDistributor};
use crate::pycall::{call1, short_repr, user_error};
use crate::runtime::partitions::PartAssignment;
use crate::telemetry::Meter;

/// Where a writer's partitions come from.
pub enum Parts {
    /// A `DynamicSink`'s one partition on this worker, built up front.
    Dynamic(Py<PyAny>),
    /// A `FixedPartitionedSink`: partition keys by index, each built the
    /// first time an item for it arrives (as Bytewax does), and
    /// snapshotted when an epoch it was written in closes.
    Partitioned { sink: Py<PyAny>, keys: Vec<String>, built: Vec<Option<Py<PyAny>>> },
}

pub struct Writer {
    step_id: String,
    parts: Parts,
    /// Partition indexes written in each epoch not yet closed.
    written: BTreeMap<u64, BTreeSet<usize>>,
    closed: bool,
}

impl Writer {
    pub fn new(step_id: &str, parts: Parts) -> Self {
        Self { step_id: step_id.to_string(), parts, written: BTreeMap::new(), closed: false }
    }

    fn method_error(&self, part: &Bound<'_, PyAny>, method: &str, err: PyErr) -> RunError {
        let func = part.getattr(method).unwrap_or_else(|_| part.clone());
        user_error(&self.step_id, method, &func, None, err)
    }

    /// The partition at `index`, building it if needed.
    fn part<'py>(&mut self, py: Python<'py>, index: usize) -> Result<Bound<'py, PyAny>, RunError> {
        match &mut self.parts {
            Parts::Dynamic(part) => Ok(part.bind(py).clone()),
            Parts::Partitioned { sink, keys, built } => {
                if let Some(part) = &built[index] {
                    return Ok(part.bind(py).clone());
                }
                let sink = sink.bind(py);
                let part =
                    sink.call_method1("build_part", (&self.step_id, &keys[index], py.None())).map_err(|err| {
                        let func = sink.getattr("build_part").unwrap_or_else(|_| sink.clone());
                        user_error(&self.step_id, "build_part", &func, None, err)
                    })?;
                built[index] = Some(part.clone().unbind());
                Ok(part)
            }
        }
    }

    fn write(&mut self, py: Python<'_>, epoch: u64, items: Vec<Py<PyAny>>) -> Result<(), RunError> {
        let mut per_part: BTreeMap<usize, Vec<Py<PyAny>>> = BTreeMap::new();
        match &self.parts {
            Parts::Dynamic(_) => {
                per_part.insert(0, items);
            }
            Parts::Partitioned { .. } => {
                for item in items {
                    let pair = item.bind(py).cast::<PyTuple>().expect("tagged items are tuples");
                    let index: usize = pair.get_item(0).and_then(|i| i.extract()).expect("partition index");
                    per_part.entry(index).or_default().push(pair.get_item(1).expect("value").unbind());
                }
            }
        }
        for (index, values) in per_part {
            if values.is_empty() {
                continue;
            }
            let part = self.part(py, index)?;
            let list = PyList::new(py, values).expect("list from objects");
            part.call_method1("write_batch", (list,)).map_err(|err| self.method_error(&part, "write_batch", err))?;
            if matches!(self.parts, Parts::Partitioned { .. }) {
                self.written.entry(epoch).or_default().insert(index);
            }
        }
        Ok(())
    }

    /// Snapshot the partitions written in every epoch before `frontier`
    /// (all of them when the frontier is empty).
    fn close_epochs(&mut self, py: Python<'_>, frontier: Option<u64>) -> Result<(), RunError> {
        while let Some((&epoch, _)) = self.written.first_key_value() {
            if frontier.is_some_and(|f| epoch >= f) {
                break;
            }
            let indexes = self.written.pop_first().expect("an entry").1;
            for index in indexes {
                let part = self.part(py, index)?;
                part.call_method0("snapshot").map_err(|err| self.method_error(&part, "snapshot", err))?;
            }
        }
        Ok(())
    }

    fn built(&self) -> Vec<&Py<PyAny>> {
        match &self.parts {
            Parts::Dynamic(part) => vec![part],
            Parts::Partitioned { built, .. } => built.iter().flatten().collect(),
        }
    }

    fn close(&mut self, py: Python<'_>) -> Result<(), RunError> {
        self.closed = true;
        for part in self.built() {
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
                for part in self.built() {
                    let _ = part.bind(py).call_method0("close");
                }
            });
        }
    }
}

/// The writing operator. Its output never carries items; its frontier
/// tells the inputs when everything up to an epoch has been written.
/// What it writes is its step's "output" for `meter`.
pub fn write_stream<'s, P>(up: &PyStream<'s>, pact: P, mut writer: Writer, meter: Meter, ctx: &Ctx) -> PyStream<'s>
where
    P: ParallelizationContract<u64, Batch>,
{
    let shared = ctx.shared.clone();
    let name = writer.step_id.clone();
    up.clone().unary_frontier(pact, &name, move |_cap, _info| {
        move |(input, frontier), _output: &mut Output<'_>| {
            let _timer = meter.timer();
            // Per epoch: the items and their earliest stamp.
            let mut arrived: BTreeMap<u64, (Vec<Py<PyAny>>, u64)> = BTreeMap::new();
            input.for_each(|cap, batch| {
                if let Some(&epoch) = cap.least() {
                    let entry = arrived.entry(epoch).or_insert_with(|| (Vec::new(), NO_STAMP));
                    entry.1 = earliest(entry.1, meter.input(batch));
                    entry.0.extend(batch.take());
                }
            });
            if shared.stopping() || writer.closed {
                return;
            }
            let result = Python::attach(|py| -> Result<(), RunError> {
                for (epoch, (items, stamp)) in arrived {
                    writer.close_epochs(py, Some(epoch))?;
                    let n = items.len();
                    meter.sample_out(0, &items);
                    writer.write(py, epoch, items)?;
                    meter.written(n, stamp);
                }
                let frontier = frontier.frontier().first().copied();
                writer.close_epochs(py, frontier)?;
                if frontier.is_none() {
                    writer.close(py)?;
                }
                Ok(())
            });
            if let Err(err) = result {
                shared.fail(err);
            }
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
    let n_parts = assignment.parts.len();
    let meter = ctx.meter(step_id);
    let tag_sink = Python::attach(|py| sink.clone_ref(py));
    let tagged = tag_with_partition(up, step_id, tag_sink, n_parts as i64, meter.upstream_stage(), ctx);
    let owners = Arc::new(assignment.owners.clone());
    let pact = DistributorPact(move |peers| {
        PyDistributor::new(peers, move |item: &Bound<'_, PyAny>| {
            let index: usize = item.get_item(0).and_then(|i| i.extract()).unwrap_or(0);
            owners.get(index).copied().unwrap_or(0) as u64
        })
    });
    let parts =
        Parts::Partitioned { sink, keys: assignment.parts.clone(), built: (0..n_parts).map(|_| None).collect() };
    write_stream(&tagged, pact, Writer::new(step_id, parts), meter.downstream_stage(), ctx)
}

/// Turn each `(key, value)` into `(part_fn(key) % n_parts, value)` on the
/// worker where it is, so `part_fn` runs once per item.
fn tag_with_partition<'s>(
    up: &PyStream<'s>,
    step_id: &str,
    sink: Py<PyAny>,
    n_parts: i64,
    meter: Meter,
    ctx: &Ctx,
) -> PyStream<'s> {
    let shared = ctx.shared.clone();
    let step_id = step_id.to_string();
    up.clone().unary(Pipeline, &format!("{step_id}.part_fn"), move |_cap, _info| {
        move |input, output| {
            let _timer = meter.timer();
            Python::attach(|py| {
                let part_fn = match sink.bind(py).getattr("part_fn") {
                    Ok(f) => f,
                    Err(err) => return shared.fail(RunError::Internal(format!("the sink has no `part_fn`: {err}"))),
                };
                input.for_each(|cap, batch| {
                    if shared.stopping() {
                        return;
                    }
                    let stamp = meter.input(batch);
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
                    meter.give(output, &cap, out, stamp);
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
