//! Stateless record-at-a-time steps: `map`, `filter`, `flat_map`, `key_on`,
//! `inspect` and their `_value` variants, run without Python shims.
//!
//! Bytewax runs these as `flat_map_batch` over a Python closure that
//! re-implements each operator; here the loop is Rust and the only Python
//! executed per record is the user's own function.

use pyo3::prelude::*;
use pyo3::types::{PyList, PyString};
use timely::dataflow::channels::pact::Pipeline;
use timely::dataflow::operators::Operator;

use super::{Ctx, PyStream};
use crate::errors::RunError;
use crate::keys::{key_not_str, pair};
use crate::plan::Transform;
use crate::pycall::{call1, short_repr, type_name, unpack2, user_error};

pub fn transform<'s>(
    up: &PyStream<'s>,
    step_id: &str,
    kind: Transform,
    func: Option<Py<PyAny>>,
    ctx: &Ctx,
) -> PyStream<'s> {
    let shared = ctx.shared.clone();
    let meter = ctx.meter(step_id);
    let step_id = step_id.to_string();
    up.clone().unary(Pipeline, &step_id.clone(), move |_cap, _info| {
        let mut out = Vec::new();
        move |input, output| {
            let _timer = meter.timer();
            Python::attach(|py| {
                let func = func.as_ref().map(|f| f.bind(py));
                input.for_each(|cap, batch| {
                    if shared.stopping() {
                        return;
                    }
                    let stamp = meter.input(batch);
                    let items = batch.take();
                    let mut apply = Apply { step_id: &step_id, kind, func, out: &mut out };
                    let result = items.iter().try_for_each(|item| apply.one(item.bind(py)));
                    // Records mapped before a failure still go downstream.
                    meter.give(output, &cap, std::mem::take(&mut out), stamp);
                    if let Err(err) = result {
                        shared.fail(err);
                    }
                });
            });
        }
    })
}

struct Apply<'a, 'py> {
    step_id: &'a str,
    kind: Transform,
    func: Option<&'a Bound<'py, PyAny>>,
    out: &'a mut Vec<Py<PyAny>>,
}

impl<'py> Apply<'_, 'py> {
    fn call(
        &self,
        what: &str,
        arg: &Bound<'py, PyAny>,
        item: &Bound<'py, PyAny>,
    ) -> Result<Bound<'py, PyAny>, RunError> {
        let func = self.func.expect("transform has a function");
        call1(func, arg).map_err(|err| user_error(self.step_id, what, func, Some(item), err))
    }

    /// `k, v = item`, as Bytewax's `_value` operators unpack: any 2-item
    /// iterable passes, and the key need not be a `str` (nothing routes on it).
    fn keyed(&self, item: &Bound<'py, PyAny>) -> Result<(Bound<'py, PyAny>, Bound<'py, PyAny>), RunError> {
        unpack2(item).ok_or_else(|| {
            RunError::user_type(format!(
                "step '{}' requires `(key, value)` 2-tuples from upstream, but got {} (a `{}`); \
                 key the stream first with `key_on`",
                self.step_id,
                short_repr(item),
                type_name(item)
            ))
        })
    }

    fn one(&mut self, item: &Bound<'py, PyAny>) -> Result<(), RunError> {
        match self.kind {
            Transform::Map => {
                let y = self.call("mapper", item, item)?;
                self.out.push(y.unbind());
            }
            Transform::MapValue => {
                let (k, v) = self.keyed(item)?;
                let w = self.call("mapper", &v, item)?;
                self.out.push(pair(&k, w));
            }
            Transform::Filter => {
                if self.predicate(item, item)? {
                    self.out.push(item.clone().unbind());
                }
            }
            Transform::FilterValue => {
                let (_, v) = self.keyed(item)?;
                if self.predicate(&v, item)? {
                    self.out.push(item.clone().unbind());
                }
            }
            Transform::FilterMap => {
                let y = self.call("mapper", item, item)?;
                if !y.is_none() {
                    self.out.push(y.unbind());
                }
            }
            Transform::FilterMapValue => {
                let (k, v) = self.keyed(item)?;
                let w = self.call("mapper", &v, item)?;
                if !w.is_none() {
                    self.out.push(pair(&k, w));
                }
            }
            Transform::FlatMap => {
                let ys = self.call("mapper", item, item)?;
                self.extend(&ys, item, None)?;
            }
            Transform::FlatMapValue => {
                let (k, v) = self.keyed(item)?;
                let ws = self.call("mapper", &v, item)?;
                self.extend(&ws, item, Some(&k))?;
            }
            Transform::Flatten => {
                if item.try_iter().is_err() {
                    return Err(RunError::user_type(format!(
                        "step '{}' requires upstream items to be iterables, but got {} (a `{}`); \
                         `map` each item to a list first, or use `flat_map`",
                        self.step_id,
                        short_repr(item),
                        type_name(item)
                    )));
                }
                self.extend(item, item, None)?;
            }
            Transform::KeyOn => {
                let k = self.call("key", item, item)?;
                if !k.is_instance_of::<PyString>() {
                    return Err(key_not_str(self.step_id, self.func.expect("key_on has a function"), &k, item));
                }
                let k = k.cast_into::<PyString>().expect("checked to be a str");
                self.out.push(pair(&k, item.clone()));
            }
            Transform::KeyRm => {
                let (_, v) = self.keyed(item)?;
                self.out.push(v.unbind());
            }
            Transform::Inspect => {
                let func = self.func.expect("inspect has a function");
                let step_id = PyString::new(item.py(), self.step_id);
                crate::pycall::call2(func, step_id.as_any(), item)
                    .map_err(|err| user_error(self.step_id, "inspector", func, Some(item), err))?;
                self.out.push(item.clone().unbind());
            }
        }
        Ok(())
    }

    fn predicate(&self, arg: &Bound<'py, PyAny>, item: &Bound<'py, PyAny>) -> Result<bool, RunError> {
        let keep = self.call("predicate", arg, item)?;
        // Bytewax accepts only real booleans; a truthy value is likely a bug.
        if keep.is_exact_instance_of::<pyo3::types::PyBool>() {
            Ok(keep.is_truthy().unwrap_or(false))
        } else {
            Err(RunError::user_type(format!(
                "step '{}': the return value of `predicate` {} must be a `bool`, but it returned {} \
                 (a `{}`) for item {}; return `True` to keep the item or `False` to drop it",
                self.step_id,
                short_repr(self.func.expect("filter has a predicate")),
                short_repr(&keep),
                type_name(&keep),
                short_repr(item)
            )))
        }
    }

    /// Emit every element of `iterable`, keyed with `key` if given.
    fn extend(
        &mut self,
        iterable: &Bound<'py, PyAny>,
        item: &Bound<'py, PyAny>,
        key: Option<&Bound<'py, PyAny>>,
    ) -> Result<(), RunError> {
        let func = self.func;
        let fail = |err: PyErr| match func {
            Some(f) => user_error(self.step_id, "mapper", f, Some(item), err),
            None => RunError::UserCode {
                message: format!("step '{}': iterating {} raised {err}", self.step_id, short_repr(item)),
                cause: err,
            },
        };
        let push = |out: &mut Vec<Py<PyAny>>, elem: Bound<'py, PyAny>| match key {
            Some(k) => out.push(pair(k, elem)),
            None => out.push(elem.unbind()),
        };
        if let Ok(list) = iterable.cast::<PyList>() {
            for elem in list.iter() {
                push(self.out, elem);
            }
            return Ok(());
        }
        let iter = iterable.try_iter().map_err(|err| {
            RunError::user_type(format!(
                "step '{}': `mapper` must return an iterable, but returned {} (a `{}`) for item {}: {err}",
                self.step_id,
                short_repr(iterable),
                type_name(iterable),
                short_repr(item)
            ))
        })?;
        for elem in iter {
            push(self.out, elem.map_err(fail)?);
        }
        Ok(())
    }
}
