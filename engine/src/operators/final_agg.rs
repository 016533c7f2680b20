//! `fold_final`, `reduce_final`, `count_final`, `max_final`, `min_final`:
//! per-key aggregates emitted once, in key order, when the upstream ends.
//!
//! `count_final` first counts in Rust on the worker where each item is
//! (one `key` call per item), and only the per-epoch counts are routed to
//! the key's worker and summed. The others route every item.

use std::collections::{BTreeMap, HashMap};

use pyo3::basic::CompareOp;
use pyo3::prelude::*;
use pyo3::types::PyString;
use timely::dataflow::channels::pact::Pipeline;
use timely::dataflow::operators::{Capability, Operator};

use super::keyed::{keyed, KeyGroup, KeyedLogic};
use super::{give, Ctx, PyStream};
use crate::errors::RunError;
use crate::keys::pair;
use crate::plan::Final;
use crate::pycall::{call1, call2, short_repr, type_name, user_error};

pub fn final_agg<'s>(up: &PyStream<'s>, step_id: &str, kind: Final, ctx: &Ctx) -> PyStream<'s> {
    let acc = match kind {
        Final::Count { key } => {
            let counted = count_locally(up, step_id, key, ctx);
            return keyed(&counted, step_id, Totals { step_id: step_id.to_string(), counts: HashMap::new() }, ctx);
        }
        Final::Fold { builder, folder } => Acc::Fold { builder, folder },
        Final::Reduce { reducer } => Acc::Reduce { reducer },
        Final::Max { by } => Acc::Extreme { by, op: CompareOp::Gt },
        Final::Min { by } => Acc::Extreme { by, op: CompareOp::Lt },
    };
    let logic = Aggregate { step_id: step_id.to_string(), acc, states: HashMap::new() };
    keyed(up, step_id, logic, ctx)
}

enum Acc {
    Fold {
        builder: Py<PyAny>,
        folder: Py<PyAny>,
    },
    Reduce {
        reducer: Py<PyAny>,
    },
    /// Keep the value whose `by(value)` compares `op` against the kept one's.
    Extreme {
        by: Py<PyAny>,
        op: CompareOp,
    },
}

/// A key's running aggregate, and for max/min the cached `by(value)`.
struct State {
    value: Py<PyAny>,
    rank: Option<Py<PyAny>>,
}

struct Aggregate {
    step_id: String,
    acc: Acc,
    states: HashMap<String, State>,
}

impl Aggregate {
    fn fold_value<'py>(
        &self,
        py: Python<'py>,
        state: Option<State>,
        value: &Bound<'py, PyAny>,
    ) -> Result<State, RunError> {
        let err = |what: &str, f: &Bound<'py, PyAny>, e| user_error(&self.step_id, what, f, Some(value), e);
        Ok(match &self.acc {
            Acc::Fold { builder, folder } => {
                let current = match state {
                    Some(s) => s.value.into_bound(py),
                    None => builder.bind(py).call0().map_err(|e| err("builder", builder.bind(py), e))?,
                };
                let folder = folder.bind(py);
                let next = call2(folder, &current, value).map_err(|e| err("folder", folder, e))?;
                State { value: next.unbind(), rank: None }
            }
            Acc::Reduce { reducer } => match state {
                None => State { value: value.clone().unbind(), rank: None },
                Some(s) => {
                    let reducer = reducer.bind(py);
                    let next = call2(reducer, s.value.bind(py), value).map_err(|e| err("reducer", reducer, e))?;
                    State { value: next.unbind(), rank: None }
                }
            },
            Acc::Extreme { by, op } => {
                let by = by.bind(py);
                let rank = call1(by, value).map_err(|e| err("by", by, e))?;
                match state {
                    None => State { value: value.clone().unbind(), rank: Some(rank.unbind()) },
                    Some(s) => {
                        let kept_rank = s.rank.as_ref().expect("max/min states keep a rank").bind(py);
                        let replace = rank.rich_compare(kept_rank, *op).and_then(|r| r.is_truthy()).map_err(|e| {
                            RunError::user_type(format!(
                                "step '{}': can't compare {} with {} to find the extreme value: {e}; \
                                 pass `by` a function returning comparable values",
                                self.step_id,
                                short_repr(&rank),
                                short_repr(kept_rank)
                            ))
                        })?;
                        if replace {
                            State { value: value.clone().unbind(), rank: Some(rank.unbind()) }
                        } else {
                            s
                        }
                    }
                }
            }
        })
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
        let mut all: Vec<(String, State)> = self.states.drain().collect();
        all.sort_by(|a, b| a.0.cmp(&b.0));
        for (key, state) in all {
            out.push(pair(PyString::new(py, &key).as_any(), state.value.into_bound(py)));
        }
        Ok(())
    }
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
}

/// First stage of `count_final`: `(key(item), n)` per key and epoch, sent
/// when the epoch is complete here.
fn count_locally<'s>(up: &PyStream<'s>, step_id: &str, key_fn: Py<PyAny>, ctx: &Ctx) -> PyStream<'s> {
    let shared = ctx.shared.clone();
    let step_id = step_id.to_string();
    up.clone().unary_frontier(Pipeline, &format!("{step_id}.count"), move |_cap, _info| {
        let mut open: BTreeMap<u64, (Capability<u64>, HashMap<String, u64>)> = BTreeMap::new();
        move |(input, frontier), output| {
            let result = Python::attach(|py| -> Result<(), RunError> {
                let key_fn = key_fn.bind(py);
                let mut failure = None;
                input.for_each(|cap, batch| {
                    let Some(&epoch) = cap.least() else { return };
                    if failure.is_some() || shared.stopping() {
                        return;
                    }
                    let counts = &mut open.entry(epoch).or_insert_with(|| (cap.delayed(&epoch, 0), HashMap::new())).1;
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
                    give(output, &cap, out);
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
    key.cast_into::<PyString>().map_err(|e| {
        let key = e.into_inner();
        RunError::user_type(format!(
            "step '{step_id}': `key` {} must return a `str`, but returned {} (a `{}`) for item {}; \
             convert it, for example with `str(...)`",
            short_repr(key_fn),
            short_repr(&key),
            type_name(&key),
            short_repr(item)
        ))
    })
}
