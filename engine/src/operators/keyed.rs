//! The frame shared by every keyed, stateful step.
//!
//! Items are routed to workers by key. On each activation, the items that
//! arrived are processed epoch by epoch, and within an epoch key by key in
//! sorted key order, each key seeing its values in arrival order (Bytewax
//! does the same, so outputs match record for record). Then timers that
//! came due fire, and when the upstream is finished, end-of-stream logic
//! runs. A capability at the input frontier is held so that timer and
//! end-of-stream output can still be sent.

use std::collections::{BTreeMap, BTreeSet};

use pyo3::prelude::*;
use pyo3::types::PyString;
use timely::dataflow::operators::{Capability, Operator};

use super::{Ctx, PyStream};
use crate::batch::{earliest, NO_STAMP};
use crate::errors::RunError;
use crate::keys;
use crate::telemetry::Meter;

/// One key's values, as they arrived.
pub struct KeyGroup<'py> {
    pub key: Bound<'py, PyString>,
    pub values: Vec<Bound<'py, PyAny>>,
}

/// What a keyed step does with its items. Each method pushes the records
/// to emit onto `out` (already `(key, value)` tuples); `epoch` is the epoch
/// the work happens in.
pub trait KeyedLogic: 'static {
    fn on_group(&mut self, group: KeyGroup<'_>, epoch: u64, out: &mut Vec<Py<PyAny>>) -> Result<(), RunError>;

    /// Run timers due at `now` (seconds since the Unix epoch).
    fn on_timers(
        &mut self,
        _py: Python<'_>,
        _now: f64,
        _epoch: u64,
        _out: &mut Vec<Py<PyAny>>,
    ) -> Result<(), RunError> {
        Ok(())
    }

    /// The upstream is finished.
    fn on_eof(&mut self, _py: Python<'_>, _epoch: u64, _out: &mut Vec<Py<PyAny>>) -> Result<(), RunError> {
        Ok(())
    }

    /// Every `on_*` call of this activation is done.
    fn on_activation_end(&mut self, _py: Python<'_>) -> Result<(), RunError> {
        Ok(())
    }

    /// No more work will happen in `epoch`: the moment to snapshot state.
    fn on_epoch_closed(&mut self, _py: Python<'_>, _epoch: u64) -> Result<(), RunError> {
        Ok(())
    }

    /// When the next timer is due, if any.
    fn next_timer(&self) -> Option<f64> {
        None
    }

    /// How many keys hold state now, reported as the step's `state_keys`;
    /// `None` for logic that keeps no per-key state.
    fn state_keys(&self) -> Option<usize> {
        None
    }
}

/// Split keyed items and group them by key, keys in sorted order.
pub fn group_by_key<'py>(py: Python<'py>, step_id: &str, items: &[Py<PyAny>]) -> Result<Vec<KeyGroup<'py>>, RunError> {
    let mut keys = Vec::with_capacity(items.len());
    let mut values = Vec::with_capacity(items.len());
    for item in items {
        let (key, value) = keys::split(step_id, item.bind(py))?;
        keys.push(key);
        values.push(Some(value));
    }
    // Read each key's text once; comparisons then are plain `str` compares.
    let texts = keys
        .iter()
        .map(|k| k.to_str())
        .collect::<PyResult<Vec<&str>>>()
        .map_err(|e| RunError::user_type(e.to_string()))?;
    let mut order: Vec<usize> = (0..items.len()).collect();
    // A stable sort keeps each key's values in arrival order.
    order.sort_by(|&a, &b| texts[a].cmp(texts[b]));
    let mut groups: Vec<KeyGroup<'py>> = Vec::new();
    let mut last: Option<&str> = None;
    for i in order {
        let value = values[i].take().expect("each value is taken once");
        if last == Some(texts[i]) {
            groups.last_mut().expect("a group for the last key").values.push(value);
        } else {
            last = Some(texts[i]);
            groups.push(KeyGroup { key: keys[i].clone(), values: vec![value] });
        }
    }
    Ok(groups)
}

/// An epoch's items in one activation: its capability, the items, and
/// their earliest ingestion stamp.
type Arrived = (Capability<u64>, Vec<Py<PyAny>>, u64);

/// Build a keyed step running `logic`, reporting through `meter`.
pub fn keyed<'s, L: KeyedLogic>(
    up: &PyStream<'s>,
    step_id: &str,
    mut logic: L,
    meter: Meter,
    ctx: &Ctx,
) -> PyStream<'s> {
    let shared = ctx.shared.clone();
    let step_id = step_id.to_string();
    let scope = up.scope();
    up.clone().unary_frontier(keys::by_key(), &step_id.clone(), move |cap, info| {
        let activator = scope.activator_for(info.address);
        let mut held: Option<Capability<u64>> = Some(cap);
        // Epochs with work whose close the logic has not seen yet.
        let mut active: BTreeSet<u64> = BTreeSet::new();
        move |(input, frontier), output| {
            let _timer = meter.timer();
            let mut arrived: BTreeMap<u64, Arrived> = BTreeMap::new();
            input.for_each(|cap, batch| {
                let Some(&epoch) = cap.least() else { return };
                let entry = arrived.entry(epoch).or_insert_with(|| (cap.delayed(&epoch, 0), Vec::new(), NO_STAMP));
                entry.2 = earliest(entry.2, meter.input(batch));
                entry.1.extend(batch.take());
            });
            if shared.stopping() {
                return;
            }
            let result = Python::attach(|py| -> Result<(), RunError> {
                let mut out = Vec::new();
                // Epochs before `until` that are complete get closed first,
                // so a snapshot never sees a later epoch's items.
                let close = |logic: &mut L, until: Option<u64>, active: &mut BTreeSet<u64>| {
                    while let Some(&epoch) = active.first() {
                        let done = !frontier.less_equal(&epoch) && until.is_none_or(|u| epoch < u);
                        if !done {
                            break;
                        }
                        active.pop_first();
                        logic.on_epoch_closed(py, epoch)?;
                    }
                    Ok::<(), RunError>(())
                };
                for (epoch, (cap, items, stamp)) in arrived {
                    close(&mut logic, Some(epoch), &mut active)?;
                    active.insert(epoch);
                    for group in group_by_key(py, &step_id, &items)? {
                        logic.on_group(group, epoch, &mut out)?;
                    }
                    meter.give(output, &cap, std::mem::take(&mut out), stamp);
                }
                // Timers and the end of the stream are caused by no batch.
                let stamp = meter.newest_stamp();
                let Some(cap) = held.as_mut() else {
                    return Ok(());
                };
                let now_epoch = *cap.time();
                logic.on_timers(py, crate::runtime::now_secs(), now_epoch, &mut out)?;
                active.insert(now_epoch);
                meter.give(output, &*cap, std::mem::take(&mut out), stamp);
                match frontier.frontier().first() {
                    Some(time) => cap.downgrade(time),
                    None => {
                        active.insert(now_epoch);
                        logic.on_eof(py, now_epoch, &mut out)?;
                        meter.give(output, &*cap, out, stamp);
                        held = None;
                    }
                }
                logic.on_activation_end(py)?;
                close(&mut logic, None, &mut active)
            });
            if let Some(keys) = logic.state_keys() {
                meter.set_state_keys(keys);
            }
            if let Err(err) = result {
                return shared.fail(err);
            }
            if held.is_some() {
                if let Some(at) = logic.next_timer() {
                    let wait = (at - crate::runtime::now_secs()).max(0.0);
                    activator.activate_after(std::time::Duration::from_secs_f64(wait));
                }
            }
        }
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn groups_come_in_key_order_with_values_in_arrival_order() {
        Python::attach(|py| {
            let items: Vec<Py<PyAny>> = py
                .eval(c"[('z', 1), ('b', 2), ('a', 3), ('z', 4), ('b', 5), ('m', 6)]", None, None)
                .unwrap()
                .try_iter()
                .unwrap()
                .map(|i| i.unwrap().unbind())
                .collect();
            let groups = group_by_key(py, "f.s", &items).unwrap();
            let got: Vec<(String, Vec<i64>)> = groups
                .iter()
                .map(|g| (g.key.to_string(), g.values.iter().map(|v| v.extract().unwrap()).collect()))
                .collect();
            let want = vec![
                ("a".to_string(), vec![3]),
                ("b".to_string(), vec![2, 5]),
                ("m".to_string(), vec![6]),
                ("z".to_string(), vec![1, 4]),
            ];
            assert_eq!(got, want);
        });
    }

    #[test]
    fn a_bad_item_names_the_step() {
        Python::attach(|py| {
            let items = vec![
                py.eval(c"('a', 1)", None, None).unwrap().unbind(),
                py.eval(c"[1, 2]", None, None).unwrap().unbind(),
            ];
            let err = group_by_key(py, "flow.count", &items).err().expect("a bad item fails").to_string();
            assert!(err.contains("step 'flow.count'") && err.contains("[1, 2]"), "{err}");
        });
    }
}
