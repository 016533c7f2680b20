//! The timely operator of a native windowing step: routes values by key,
//! keeps every key's `KeyWindows`, and writes the `down`, `late` and
//! `meta` streams.
//!
//! Per activation, like `stateful_batch` (and so like Bytewax): the
//! values that arrived, epoch by epoch, key by key in key order; then the
//! keys whose timer came due; then, once the input is finished, every
//! key's end of input. A key whose windows all closed is dropped.

use std::collections::BTreeMap;

use pyo3::prelude::*;
use rustc_hash::FxHashMap as HashMap;
use timely::container::CapacityContainerBuilder;
use timely::dataflow::operators::generic::builder_rc::OperatorBuilder;
use timely::dataflow::operators::generic::OutputBuilder;
use timely::dataflow::operators::Capability;

use super::clock;
use super::state::{Emitted, KeyWindows, WindowSpec};
use super::time;
use crate::batch::{earliest, Batch, NO_STAMP};
use crate::errors::RunError;
use crate::keys;
use crate::operators::{Ctx, Output, PyStream};
use crate::telemetry::Meter;

type Handles<'a> = [Output<'a>; 3];

/// An epoch's items in one activation: a capability per output, the
/// items, and their earliest ingestion stamp.
type Arrived = (Vec<Capability<u64>>, Vec<Py<PyAny>>, u64);

/// Returns the `(down, late, meta)` streams.
pub fn window<'s>(up: &PyStream<'s>, spec: WindowSpec, ctx: &Ctx) -> (PyStream<'s>, PyStream<'s>, PyStream<'s>) {
    let step_id = spec.step_id.clone();
    let mut builder = OperatorBuilder::new(step_id.clone(), up.scope());
    let activator = up.scope().activator_for(builder.operator_info().address);
    let mut input = builder.new_input(up.clone(), keys::by_key());
    let (down_out, down) = builder.new_output::<Batch>();
    let (late_out, late) = builder.new_output::<Batch>();
    let (meta_out, meta) = builder.new_output::<Batch>();
    let mut outs: [OutputBuilder<u64, CapacityContainerBuilder<Batch>>; 3] =
        [OutputBuilder::from(down_out), OutputBuilder::from(late_out), OutputBuilder::from(meta_out)];
    let shared = ctx.shared.clone();
    let meter = ctx.meter(&step_id);

    builder.build(move |caps| {
        // Held at the input frontier, for timer and end-of-input output.
        let mut held: Option<Vec<Capability<u64>>> = Some(caps);
        let mut keys: HashMap<String, KeyWindows> = HashMap::default();
        // With user `WindowLogic`s: the keys that ran in each epoch not
        // yet closed, whose logics' `snapshot` runs when it closes.
        let mut ran: BTreeMap<u64, Vec<String>> = BTreeMap::new();
        let snapshots = spec.logic.is_user_logic();
        move |frontiers| {
            let _timer = meter.timer();
            let [down_o, late_o, meta_o] = &mut outs;
            let mut handles: Handles<'_> = [down_o.activate(), late_o.activate(), meta_o.activate()];
            let mut arrived: BTreeMap<u64, Arrived> = BTreeMap::new();
            input.for_each(|cap, batch| {
                let Some(&epoch) = cap.least() else { return };
                let entry = arrived
                    .entry(epoch)
                    .or_insert_with(|| ((0..3).map(|port| cap.delayed(&epoch, port)).collect(), Vec::new(), NO_STAMP));
                entry.2 = earliest(entry.2, meter.input(batch));
                entry.1.extend(batch.take());
            });
            if shared.stopping() {
                return;
            }
            let frontier = frontiers[0].frontier();
            let result = Python::attach(|py| -> Result<(), RunError> {
                for (epoch, (caps, items, stamp)) in arrived {
                    let mut out = Emitted::default();
                    for group in super::group::group_sorted(py, &spec.step_id, &items)? {
                        let name = group.key.to_str().map_err(|e| RunError::user_type(e.to_string()))?;
                        let key = group.key.as_any();
                        // One lookup for a key that has state (the common case).
                        let kept = match keys.get_mut(name) {
                            Some(state) => {
                                if spec.on_batch(key, state, group.values, &mut out)? {
                                    keys.remove(name);
                                    false
                                } else {
                                    state.notify_at = spec.notify_at(py, state)?;
                                    true
                                }
                            }
                            None => {
                                let mut state = spec.new_key(py)?;
                                let emptied = spec.on_batch(key, &mut state, group.values, &mut out)?;
                                if !emptied {
                                    state.notify_at = spec.notify_at(py, &state)?;
                                    keys.insert(name.to_owned(), state);
                                }
                                !emptied
                            }
                        };
                        if kept && snapshots {
                            ran.entry(epoch).or_default().push(name.to_owned());
                        }
                    }
                    give(&meter, &mut handles, &caps, out, stamp);
                }
                let stamp = meter.newest_stamp();
                let Some(caps) = held.as_mut() else { return Ok(()) };
                // Timers that came due, in key order.
                let now = crate::runtime::now_secs();
                let mut out = Emitted::default();
                let mut due: Vec<&String> =
                    keys.iter().filter(|(_, s)| s.notify_at.is_some_and(|t| t <= now)).map(|(k, _)| k).collect();
                if !due.is_empty() {
                    due.sort_unstable();
                    let due: Vec<String> = due.into_iter().cloned().collect();
                    // One reading of the system time for all the keys.
                    let now = spec.clock.now(py, &spec.step_id)?;
                    for name in due {
                        let state = keys.get_mut(&name).expect("a due key is live");
                        if !spec.notify_changes(state, now) {
                            super::clock::advance(&mut state.clock, now);
                            continue;
                        }
                        let key = pyo3::types::PyString::new(py, &name);
                        if spec.on_notify(key.as_any(), state, now, &mut out)? {
                            keys.remove(&name);
                        } else {
                            state.notify_at = spec.notify_at(py, state)?;
                            if snapshots {
                                ran.entry(*caps[0].time()).or_default().push(name);
                            }
                        }
                    }
                }
                give(&meter, &mut handles, caps, out, stamp);
                match frontier.first() {
                    Some(time) => {
                        for cap in caps.iter_mut() {
                            cap.downgrade(time);
                        }
                    }
                    None => {
                        let mut out = Emitted::default();
                        let mut all: Vec<(String, KeyWindows)> = keys.drain().collect();
                        all.sort_unstable_by(|a, b| a.0.cmp(&b.0));
                        // Every window closes at the end of the input, so no
                        // key is left.
                        for (name, mut state) in all {
                            let key = pyo3::types::PyString::new(py, &name);
                            spec.on_eof(key.as_any(), &mut state, &mut out)?;
                        }
                        give(&meter, &mut handles, caps, out, stamp);
                        held = None;
                    }
                }
                // Epochs the input has passed are closed.
                while let Some((&epoch, _)) = ran.first_key_value() {
                    if frontier.less_equal(&epoch) {
                        break;
                    }
                    let mut names = ran.pop_first().map(|(_, names)| names).unwrap_or_default();
                    names.sort_unstable();
                    names.dedup();
                    for name in names {
                        if let Some(state) = keys.get(&name) {
                            for (_id, acc) in &state.windows {
                                spec.logic.snapshot(py, &spec.step_id, acc)?;
                            }
                        }
                    }
                }
                Ok(())
            });
            report(&meter, &keys);
            if let Err(err) = result {
                return shared.fail(err);
            }
            if held.is_some() {
                if let Some(at) = keys.values().filter_map(|s| s.notify_at).reduce(f64::min) {
                    let wait = (at - crate::runtime::now_secs()).max(0.0);
                    activator.activate_after(std::time::Duration::from_secs_f64(wait));
                }
            }
        }
    });
    (down, late, meta)
}

fn give(meter: &Meter, handles: &mut Handles<'_>, caps: &[Capability<u64>], out: Emitted, stamp: u64) {
    let Emitted { down, late, meta } = out;
    for (port, items) in [down, late, meta].into_iter().enumerate() {
        meter.give_at(port, &mut handles[port], &caps[port], items, stamp);
    }
}

/// State keys and the lowest watermark, for the run channel.
fn report(meter: &Meter, keys: &HashMap<String, KeyWindows>) {
    if !meter.is_on() {
        return;
    }
    meter.set_state_keys(keys.len());
    let lowest = keys.values().map(|s| clock::watermark(&s.clock)).min();
    meter.set_watermark(lowest.map(time::to_secs));
}
