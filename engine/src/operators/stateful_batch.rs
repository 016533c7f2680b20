//! `stateful_batch`: the general keyed step, driven by a user
//! `StatefulBatchLogic` per key.
//!
//! Per activation: `on_batch` once per key with that key's new values,
//! then `on_notify` for keys whose notify time passed, then `on_eof` for
//! every key once the upstream is finished; `notify_at` after any of these
//! for logics that were kept. A logic returning `True` (DISCARD) as the
//! second element is dropped.

use std::collections::{BTreeMap, BTreeSet};

use pyo3::prelude::*;
use pyo3::types::{PyList, PyString, PyTuple};

use super::keyed::{keyed, KeyGroup, KeyedLogic};
use super::{Ctx, PyStream};
use crate::errors::RunError;
use crate::keys::pair;
use crate::pycall::{aware_timestamp, call1, short_repr, type_name, user_error};

struct Entry {
    logic: Py<PyAny>,
    notify_at: Option<f64>,
}

struct StatefulBatch {
    step_id: String,
    builder: Py<PyAny>,
    logics: BTreeMap<String, Entry>,
    /// Keys whose logic ran this activation and was kept.
    awoken: BTreeSet<String>,
    /// Keys whose logic ran in each epoch not yet closed.
    touched: BTreeMap<u64, BTreeSet<String>>,
}

pub fn stateful_batch<'s>(up: &PyStream<'s>, step_id: &str, builder: Py<PyAny>, ctx: &Ctx) -> PyStream<'s> {
    let logic = StatefulBatch {
        step_id: step_id.to_string(),
        builder,
        logics: BTreeMap::new(),
        awoken: BTreeSet::new(),
        touched: BTreeMap::new(),
    };
    keyed(up, step_id, logic, ctx.meter(step_id), ctx)
}

impl StatefulBatch {
    /// Call `method` on a logic and emit what it returns. Returns whether
    /// the logic asked to be discarded.
    fn call(
        &self,
        key: &Bound<'_, PyString>,
        logic: &Bound<'_, PyAny>,
        method: &str,
        args: Option<&Bound<'_, PyAny>>,
        out: &mut Vec<Py<PyAny>>,
    ) -> Result<bool, RunError> {
        let func = logic.getattr(method).map_err(|err| user_error(&self.step_id, method, logic, None, err))?;
        let res = match args {
            Some(a) => call1(&func, a),
            None => func.call0(),
        }
        .map_err(|err| user_error(&self.step_id, method, &func, None, err))?;
        let shape = || {
            RunError::user_type(format!(
                "step '{}': `{method}` {} must return a 2-tuple of `(emit_values, discard)` \
                 where `discard` is a `bool`, but returned {} (a `{}`); for example \
                 `return ([value], StatefulBatchLogic.RETAIN)`",
                self.step_id,
                short_repr(&func),
                short_repr(&res),
                type_name(&res)
            ))
        };
        let tuple = res.cast::<PyTuple>().map_err(|_| shape())?;
        if tuple.len() != 2 {
            return Err(shape());
        }
        let emit = tuple.get_item(0).map_err(|_| shape())?;
        let discard = tuple.get_item(1).map_err(|_| shape())?;
        if !discard.is_exact_instance_of::<pyo3::types::PyBool>() {
            return Err(shape());
        }
        for w in emit.try_iter().map_err(|_| shape())? {
            out.push(pair(key.as_any(), w.map_err(|err| user_error(&self.step_id, method, &func, None, err))?));
        }
        Ok(discard.is_truthy().unwrap_or(false))
    }

    fn notify_at(&self, logic: &Bound<'_, PyAny>) -> Result<Option<f64>, RunError> {
        let at = logic.call_method0("notify_at").map_err(|err| {
            user_error(
                &self.step_id,
                "notify_at",
                &logic.getattr("notify_at").unwrap_or_else(|_| logic.clone()),
                None,
                err,
            )
        })?;
        aware_timestamp(&self.step_id, "notify_at", &at)
    }

    /// After an `on_*` call: drop a discarded logic, or keep it and ask its
    /// next notify time once the activation is over.
    fn settle(&mut self, key: String, logic: Py<PyAny>, discard: bool) {
        if discard {
            self.logics.remove(&key);
            self.awoken.remove(&key);
        } else {
            let notify_at = self.logics.get(&key).and_then(|e| e.notify_at);
            self.logics.insert(key.clone(), Entry { logic, notify_at });
            self.awoken.insert(key);
        }
    }

    /// Call `method` on every logic selected by `due`, in key order.
    fn for_each_due(
        &mut self,
        py: Python<'_>,
        method: &str,
        epoch: u64,
        due: impl Fn(&Entry) -> bool,
        out: &mut Vec<Py<PyAny>>,
    ) -> Result<(), RunError> {
        let keys: Vec<String> = self.logics.iter().filter(|(_, e)| due(e)).map(|(k, _)| k.clone()).collect();
        for key in keys {
            self.touched.entry(epoch).or_default().insert(key.clone());
            let logic = self.logics[&key].logic.clone_ref(py);
            let py_key = PyString::new(py, &key);
            let discard = self.call(&py_key, logic.bind(py), method, None, out)?;
            self.settle(key, logic, discard);
        }
        Ok(())
    }
}

impl KeyedLogic for StatefulBatch {
    fn on_group(&mut self, group: KeyGroup<'_>, epoch: u64, out: &mut Vec<Py<PyAny>>) -> Result<(), RunError> {
        let py = group.key.py();
        let key = group.key.to_str().map_err(|e| RunError::user_type(e.to_string()))?.to_owned();
        self.touched.entry(epoch).or_default().insert(key.clone());
        let logic = match self.logics.get(&key) {
            Some(entry) => entry.logic.clone_ref(py),
            None => {
                let builder = self.builder.bind(py);
                let logic = call1(builder, &py.None().into_bound(py))
                    .map_err(|err| user_error(&self.step_id, "builder", builder, None, err))?;
                logic.unbind()
            }
        };
        let values = PyList::new(py, &group.values).expect("list from objects");
        let discard = self.call(&group.key, logic.bind(py), "on_batch", Some(values.as_any()), out)?;
        self.settle(key, logic, discard);
        Ok(())
    }

    fn on_timers(&mut self, py: Python<'_>, now: f64, epoch: u64, out: &mut Vec<Py<PyAny>>) -> Result<(), RunError> {
        self.for_each_due(py, "on_notify", epoch, |e| e.notify_at.is_some_and(|t| t <= now), out)
    }

    fn on_eof(&mut self, py: Python<'_>, epoch: u64, out: &mut Vec<Py<PyAny>>) -> Result<(), RunError> {
        self.for_each_due(py, "on_eof", epoch, |_| true, out)
    }

    /// Once per activation, after every `on_*` call, as Bytewax does.
    fn on_activation_end(&mut self, py: Python<'_>) -> Result<(), RunError> {
        for key in std::mem::take(&mut self.awoken) {
            let Some(entry) = self.logics.get(&key) else { continue };
            let logic = entry.logic.clone_ref(py);
            let at = self.notify_at(logic.bind(py))?;
            if let Some(entry) = self.logics.get_mut(&key) {
                entry.notify_at = at;
            }
        }
        Ok(())
    }

    /// Bytewax takes a snapshot of every live logic that ran in an epoch
    /// when the epoch closes, with or without recovery; user logic can
    /// observe that, so Rillet does the same.
    fn on_epoch_closed(&mut self, py: Python<'_>, epoch: u64) -> Result<(), RunError> {
        for key in self.touched.remove(&epoch).unwrap_or_default() {
            let Some(entry) = self.logics.get(&key) else { continue };
            let logic = entry.logic.bind(py);
            logic.call_method0("snapshot").map_err(|err| {
                user_error(
                    &self.step_id,
                    "snapshot",
                    &logic.getattr("snapshot").unwrap_or_else(|_| logic.clone()),
                    None,
                    err,
                )
            })?;
        }
        Ok(())
    }

    fn next_timer(&self) -> Option<f64> {
        self.logics.values().filter_map(|e| e.notify_at).reduce(f64::min)
    }

    fn state_keys(&self) -> Option<usize> {
        Some(self.logics.len())
    }
}
