//! `stateful_map` and `stateful_flat_map`: a per-key state threaded
//! through the user's `mapper(state, value) -> (state, emit)`.
//!
//! The state lives in a Rust map; Python runs only the mapper. A returned
//! state of `None` discards the key's state.

use rustc_hash::FxHashMap as HashMap;

use pyo3::prelude::*;

use super::keyed::{keyed, KeyGroup, KeyedLogic};
use super::{Ctx, PyStream};
use crate::errors::RunError;
use crate::keys::pair;
use crate::pycall::{call2, short_repr, type_name, unpack2, user_error};

struct StatefulMap {
    step_id: String,
    mapper: Py<PyAny>,
    flat: bool,
    states: HashMap<String, Py<PyAny>>,
}

pub fn stateful_map<'s>(up: &PyStream<'s>, step_id: &str, mapper: Py<PyAny>, flat: bool, ctx: &Ctx) -> PyStream<'s> {
    let logic = StatefulMap { step_id: step_id.to_string(), mapper, flat, states: HashMap::default() };
    keyed(up, step_id, logic, ctx.meter(step_id), ctx)
}

impl StatefulMap {
    fn shape_error(&self, mapper: &Bound<'_, PyAny>, res: &Bound<'_, PyAny>) -> RunError {
        let emit = if self.flat { "emit_values" } else { "emit_value" };
        RunError::user_type(format!(
            "step '{}': `mapper` {} must return a 2-tuple of `(updated_state, {emit})`, \
             but returned {} (a `{}`); return `(new_state, {emit})`, with `None` as the \
             state to discard it",
            self.step_id,
            short_repr(mapper),
            short_repr(res),
            type_name(res)
        ))
    }
}

impl KeyedLogic for StatefulMap {
    fn on_group(&mut self, group: KeyGroup<'_>, _epoch: u64, out: &mut Vec<Py<PyAny>>) -> Result<(), RunError> {
        let py = group.key.py();
        let mapper = self.mapper.bind(py);
        let key = group.key.to_str().map_err(|e| RunError::user_type(e.to_string()))?;
        // Take the state out (without freeing the map's key), thread it
        // through the values, and put it back or drop the entry.
        let slot = self.states.get_mut(key).map(|s| std::mem::replace(s, py.None()));
        let mut state = slot.map(|s| s.into_bound(py));
        for value in &group.values {
            let current = state.take().unwrap_or_else(|| py.None().into_bound(py));
            let res = call2(mapper, &current, value)
                .map_err(|err| user_error(&self.step_id, "mapper", mapper, Some(value), err))?;
            let Some((new_state, emit)) = unpack2(&res) else {
                return Err(self.shape_error(mapper, &res));
            };
            if self.flat {
                let iter = emit.try_iter().map_err(|_| self.shape_error(mapper, &res))?;
                for w in iter {
                    out.push(pair(
                        group.key.as_any(),
                        w.map_err(|err| user_error(&self.step_id, "mapper", mapper, Some(value), err))?,
                    ));
                }
            } else {
                out.push(pair(group.key.as_any(), emit));
            }
            state = (!new_state.is_none()).then_some(new_state);
        }
        match (state, self.states.get_mut(key)) {
            (Some(state), Some(slot)) => *slot = state.unbind(),
            (Some(state), None) => {
                self.states.insert(key.to_owned(), state.unbind());
            }
            (None, Some(_)) => {
                self.states.remove(key);
            }
            (None, None) => {}
        }
        Ok(())
    }

    fn state_keys(&self) -> Option<usize> {
        Some(self.states.len())
    }
}
