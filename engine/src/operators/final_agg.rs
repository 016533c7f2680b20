//! `fold_final`, `reduce_final`, `count_final`, `max_final`, `min_final`:
//! per-key aggregates emitted once, in key order, when the upstream ends.
//!
//! `count_final` first counts in Rust on the worker where each item is
//! (one `key` call per item), and only the per-epoch counts are routed to
//! the key's worker and summed. `reduce_final`, `max_final` and `min_final`
//! reduce each batch before routing, as Bytewax does; `fold_final` routes
//! every item.

use std::collections::BTreeMap;

use rustc_hash::FxHashMap as HashMap;

use pyo3::basic::CompareOp;
use pyo3::prelude::*;
use pyo3::types::PyString;
use timely::dataflow::channels::pact::Pipeline;
use timely::dataflow::operators::{Capability, Operator};

use super::keyed::{keyed, KeyGroup, KeyedLogic};
use super::{Ctx, PyStream};
use crate::errors::RunError;
use crate::keys::{self, pair};
use crate::plan::Final;
use crate::pycall::{call1, call2, short_repr, user_error};
use crate::telemetry::Meter;

pub fn final_agg<'s>(up: &PyStream<'s>, step_id: &str, kind: Final, ctx: &Ctx) -> PyStream<'s> {
    let meter = ctx.meter(step_id);
    let acc = match kind {
        Final::Count { key } => {
            let counted = count_locally(up, step_id, key, meter.upstream_stage(), ctx);
            let totals = Totals { step_id: step_id.to_string(), counts: HashMap::default() };
            return keyed(&counted, step_id, totals, meter.downstream_stage(), ctx);
        }
        Final::Fold { builder, folder } => Acc::Fold { builder, folder },
        Final::Reduce { reducer } => Acc::Combine(Combine::Reducer(reducer)),
        Final::Max { by } => Acc::Combine(Combine::Extreme { by, op: CompareOp::Gt }),
        Final::Min { by } => Acc::Combine(Combine::Extreme { by, op: CompareOp::Lt }),
    };
    let (up, meter) = match &acc {
        // Like Bytewax, reduce each batch on its own worker before routing:
        // with a non-associative reducer the grouping is visible.
        Acc::Combine(combine) => {
            (pre_reduce(up, step_id, combine.clone_ref(), meter.upstream_stage(), ctx), meter.downstream_stage())
        }
        Acc::Fold { .. } => (up.clone(), meter),
    };
    let logic = Aggregate { step_id: step_id.to_string(), acc, states: HashMap::default() };
    keyed(&up, step_id, logic, meter, ctx)
}

enum Acc {
    Fold { builder: Py<PyAny>, folder: Py<PyAny> },
    Combine(Combine),
}

/// Two values of a key into one.
enum Combine {
    Reducer(Py<PyAny>),
    /// `max`/`min` with `key=by`: the second value wins only if its rank
    /// compares `op` against the first's, so ties keep the earlier value.
    Extreme {
        by: Py<PyAny>,
        op: CompareOp,
    },
}

impl Combine {
    fn clone_ref(&self) -> Combine {
        Python::attach(|py| match self {
            Combine::Reducer(f) => Combine::Reducer(f.clone_ref(py)),
            Combine::Extreme { by, op } => Combine::Extreme { by: by.clone_ref(py), op: *op },
        })
    }

    fn apply<'py>(
        &self,
        step_id: &str,
        a: Bound<'py, PyAny>,
        b: &Bound<'py, PyAny>,
    ) -> Result<Bound<'py, PyAny>, RunError> {
        let py = a.py();
        match self {
            Combine::Reducer(reducer) => {
                let reducer = reducer.bind(py);
                call2(reducer, &a, b).map_err(|e| user_error(step_id, "reducer", reducer, Some(b), e))
            }
            Combine::Extreme { by, op } => {
                let by = by.bind(py);
                let rank_a = call1(by, &a).map_err(|e| user_error(step_id, "by", by, Some(&a), e))?;
                let rank_b = call1(by, b).map_err(|e| user_error(step_id, "by", by, Some(b), e))?;
                let replace = rank_b.rich_compare(&rank_a, *op).and_then(|r| r.is_truthy()).map_err(|e| {
                    RunError::user_type(format!(
                        "step '{step_id}': can't compare {} with {} to find the extreme value: {e}; \
                         pass `by` a function returning comparable values",
                        short_repr(&rank_b),
                        short_repr(&rank_a)
                    ))
                })?;
                Ok(if replace { b.clone() } else { a })
            }
        }
    }
}

struct Aggregate {
    step_id: String,
    acc: Acc,
    states: HashMap<String, Py<PyAny>>,
}

impl Aggregate {
    fn fold_value<'py>(
        &self,
        py: Python<'py>,
        state: Option<Py<PyAny>>,
        value: &Bound<'py, PyAny>,
    ) -> Result<Py<PyAny>, RunError> {
        let next = match (&self.acc, state) {
            (Acc::Fold { builder, folder }, state) => {
                let current = match state {
                    Some(s) => s.into_bound(py),
                    None => {
                        let builder = builder.bind(py);
                        builder.call0().map_err(|e| user_error(&self.step_id, "builder", builder, Some(value), e))?
                    }
                };
                let folder = folder.bind(py);
                call2(folder, &current, value)
                    .map_err(|e| user_error(&self.step_id, "folder", folder, Some(value), e))?
            }
            (Acc::Combine(_), None) => value.clone(),
            (Acc::Combine(combine), Some(s)) => combine.apply(&self.step_id, s.into_bound(py), value)?,
        };
        Ok(next.unbind())
    }
}

impl KeyedLogic for Aggregate {
    fn on_group(&mut self, group: KeyGroup<'_>, _epoch: u64, _out: &mut Vec<Py<PyAny>>) -> Result<(), RunError> {
        let py = group.key.py();
        let key = group.key.to_str().map_err(|e| RunError::user_type(e.to_string()))?;
        let mut state = self.states.remove(key);
        for value in &group.values {
            state = Some(self.fold_value(py, state, value)?);
        }
        if let Some(state) = state {
            self.states.insert(key.to_owned(), state);
        }
        Ok(())
    }

    fn on_eof(&mut self, py: Python<'_>, _epoch: u64, out: &mut Vec<Py<PyAny>>) -> Result<(), RunError> {
        let mut all: Vec<(String, Py<PyAny>)> = self.states.drain().collect();
        all.sort_by(|a, b| a.0.cmp(&b.0));
        for (key, value) in all {
            out.push(pair(PyString::new(py, &key).as_any(), value.into_bound(py)));
        }
        Ok(())
    }

    fn state_keys(&self) -> Option<usize> {
        Some(self.states.len())
    }
}

/// Reduce each batch by key, keys in first-seen order, on the worker
/// where the batch is.
fn pre_reduce<'s>(up: &PyStream<'s>, step_id: &str, combine: Combine, meter: Meter, ctx: &Ctx) -> PyStream<'s> {
    let shared = ctx.shared.clone();
    let step_id = step_id.to_string();
    up.clone().unary(Pipeline, &format!("{step_id}.pre_reduce"), move |_cap, _info| {
        move |input, output| {
            let _timer = meter.timer();
            Python::attach(|py| {
                input.for_each(|cap, batch| {
                    if shared.stopping() {
                        return;
                    }
                    let stamp = meter.input(batch);
                    match reduce_batch(py, &step_id, &combine, &batch.items) {
                        Ok(out) => meter.give(output, &cap, out, stamp),
                        Err(err) => shared.fail(err),
                    }
                });
            });
        }
    })
}

fn reduce_batch(
    py: Python<'_>,
    step_id: &str,
    combine: &Combine,
    items: &[Py<PyAny>],
) -> Result<Vec<Py<PyAny>>, RunError> {
    let mut slots: HashMap<String, usize> = HashMap::default();
    let mut acc: Vec<(Bound<'_, PyString>, Bound<'_, PyAny>)> = Vec::new();
    for item in items {
        let (key, value) = keys::split(step_id, item.bind(py))?;
        let k = key.to_str().map_err(|e| RunError::user_type(e.to_string()))?;
        match slots.get(k) {
            Some(&i) => {
                let (_, current) = &acc[i];
                acc[i].1 = combine.apply(step_id, current.clone(), &value)?;
            }
            None => {
                slots.insert(k.to_owned(), acc.len());
                acc.push((key, value));
            }
        }
    }
    Ok(acc.into_iter().map(|(k, v)| pair(k.as_any(), v)).collect())
}

/// Second stage of `count_final`: add up per-worker counts.
struct Totals {
    step_id: String,
    counts: HashMap<String, u64>,
}

impl KeyedLogic for Totals {
    fn on_group(&mut self, group: KeyGroup<'_>, _epoch: u64, _out: &mut Vec<Py<PyAny>>) -> Result<(), RunError> {
        let key = group.key.to_str().map_err(|e| RunError::user_type(e.to_string()))?;
        let mut sum = 0u64;
        for v in &group.values {
            sum += v
                .extract::<u64>()
                .map_err(|e| RunError::Internal(format!("step '{}': partial count: {e:?}", self.step_id)))?;
        }
        match self.counts.get_mut(key) {
            Some(total) => *total += sum,
            None => {
                self.counts.insert(key.to_owned(), sum);
            }
        }
        Ok(())
    }

    fn on_eof(&mut self, py: Python<'_>, _epoch: u64, out: &mut Vec<Py<PyAny>>) -> Result<(), RunError> {
        let mut all: Vec<(String, u64)> = self.counts.drain().collect();
        all.sort();
        for (key, n) in all {
            let n = n.into_pyobject(py).expect("int").into_any();
            out.push(pair(PyString::new(py, &key).as_any(), n));
        }
        Ok(())
    }

    fn state_keys(&self) -> Option<usize> {
        Some(self.counts.len())
    }
}

/// First stage of `count_final`: `(key(item), n)` per key and epoch, sent
/// when the epoch is complete here.
fn count_locally<'s>(up: &PyStream<'s>, step_id: &str, key_fn: Py<PyAny>, meter: Meter, ctx: &Ctx) -> PyStream<'s> {
    let shared = ctx.shared.clone();
    let step_id = step_id.to_string();
    up.clone().unary_frontier(Pipeline, &format!("{step_id}.count"), move |_cap, _info| {
        let mut open: BTreeMap<u64, (Capability<u64>, HashMap<String, u64>)> = BTreeMap::new();
        move |(input, frontier), output| {
            let _timer = meter.timer();
            let result = Python::attach(|py| -> Result<(), RunError> {
                let key_fn = key_fn.bind(py);
                let mut failure = None;
                input.for_each(|cap, batch| {
                    let Some(&epoch) = cap.least() else { return };
                    if failure.is_some() || shared.stopping() {
                        return;
                    }
                    meter.input(batch);
                    let counts =
                        &mut open.entry(epoch).or_insert_with(|| (cap.delayed(&epoch, 0), HashMap::default())).1;
                    for item in &batch.items {
                        let item = item.bind(py);
                        match count_key(&step_id, key_fn, item) {
                            Ok(key) => {
                                let key = key.to_str().unwrap_or_default();
                                match counts.get_mut(key) {
                                    Some(n) => *n += 1,
                                    None => {
                                        counts.insert(key.to_owned(), 1);
                                    }
                                }
                            }
                            Err(err) => {
                                failure = Some(err);
                                return;
                            }
                        }
                    }
                });
                if let Some(err) = failure {
                    return Err(err);
                }
                while let Some(entry) = open.first_entry() {
                    if frontier.less_equal(entry.key()) {
                        break;
                    }
                    let (cap, counts) = entry.remove();
                    let out = counts
                        .into_iter()
                        .map(|(k, n)| {
                            pair(PyString::new(py, &k).as_any(), n.into_pyobject(py).expect("int").into_any())
                        })
                        .collect();
                    // Sent when the epoch closes, not because of one batch.
                    meter.give(output, &cap, out, meter.newest_stamp());
                }
                Ok(())
            });
            if let Err(err) = result {
                shared.fail(err);
            }
        }
    })
}

fn count_key<'py>(
    step_id: &str,
    key_fn: &Bound<'py, PyAny>,
    item: &Bound<'py, PyAny>,
) -> Result<Bound<'py, PyString>, RunError> {
    let key = call1(key_fn, item).map_err(|e| user_error(step_id, "key", key_fn, Some(item), e))?;
    key.cast_into::<PyString>().map_err(|e| keys::key_not_str(step_id, key_fn, &e.into_inner(), item))
}
