//! `input`: poll source partitions and introduce their items by epoch.
//!
//! Partitioned and dynamic sources differ only in how their partitions are
//! built (see `partitioned_input.rs` and `dynamic_input.rs`); polling,
//! epochs and back-pressure are the same and live here:
//!
//! * a partition's `next_batch()` is called at most once per activation,
//!   and not before the time its `next_awake()` asked for;
//! * each partition advances its own epoch once `epoch_interval` has
//!   passed, but only reads again when everything downstream has finished
//!   the epochs before its current one, so an input never runs more than
//!   one epoch ahead of its slowest consumer.

use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use pyo3::exceptions::PyStopIteration;
use pyo3::prelude::*;
use pyo3::types::PyList;
use timely::dataflow::operators::generic::operator::source;
use timely::dataflow::operators::Capability;
use timely::dataflow::Scope;

use super::{Ctx, PyStream};
use crate::errors::RunError;
use crate::pycall::{aware_timestamp, short_repr, type_name, user_error};

/// How long to wait before polling again after an empty batch, when the
/// partition did not say when to come back.
const EMPTY_BATCH_COOLDOWN: Duration = Duration::from_millis(1);

/// First epoch of a run that does not resume from a snapshot.
pub const FIRST_EPOCH: u64 = 1;

/// One built source partition.
pub struct Part {
    /// For error messages: `"partition 'x'"` or `"worker 0"`.
    pub label: String,
    pub part: Py<PyAny>,
    cap: Option<Capability<u64>>,
    epoch_started: Instant,
    /// Seconds since the Unix epoch; `None` means "poll now".
    next_awake: Option<f64>,
    /// A `StatefulSourcePartition`, snapshotted when its epoch ends.
    stateful: bool,
    closed: bool,
}

impl Part {
    pub fn new(label: String, part: Py<PyAny>, stateful: bool) -> Self {
        Self { label, part, cap: None, epoch_started: Instant::now(), next_awake: None, stateful, closed: false }
    }

    /// Bytewax snapshots a stateful partition whenever one of its epochs
    /// ends, with or without recovery, and partitions can observe it.
    fn snapshot(&self, py: Python<'_>, step_id: &str) -> Result<(), RunError> {
        if !self.stateful {
            return Ok(());
        }
        let part = self.part.bind(py);
        part.call_method0("snapshot").map(drop).map_err(|err| {
            user_error(step_id, "snapshot", &part.getattr("snapshot").unwrap_or_else(|_| part.clone()), None, err)
        })
    }

    fn close(&mut self, py: Python<'_>, step_id: &str) -> Result<(), RunError> {
        if self.closed {
            return Ok(());
        }
        self.closed = true;
        let part = self.part.bind(py);
        part.call_method0("close").map(drop).map_err(|err| {
            user_error(step_id, "close", &part.getattr("close").unwrap_or_else(|_| part.clone()), None, err)
        })
    }
}

impl Drop for Part {
    fn drop(&mut self) {
        if !self.closed {
            // The run is being torn down early; still let the source release
            // files and connections. Its errors can't change the outcome.
            Python::attach(|py| {
                let _ = self.part.bind(py).call_method0("close");
            });
        }
    }
}

enum Polled {
    Items(Vec<Py<PyAny>>),
    Eof,
    Abort,
}

fn now_secs() -> f64 {
    SystemTime::now().duration_since(UNIX_EPOCH).map(|d| d.as_secs_f64()).unwrap_or_default()
}

/// The source operator over `parts`.
pub fn input<'s>(scope: Scope<'s, u64>, step_id: &str, parts: Vec<Part>, ctx: &Ctx) -> PyStream<'s> {
    let shared = ctx.shared.clone();
    let probe = ctx.probe.clone();
    let interval = ctx.epoch_interval;
    let meter = ctx.meter(step_id);
    let step_id = step_id.to_string();
    source(scope, &step_id.clone(), move |cap, info| {
        let activator = scope.activator_for(info.address);
        let mut parts = parts;
        let start = cap.delayed(&FIRST_EPOCH);
        for part in &mut parts {
            part.cap = Some(start.clone());
        }
        drop((cap, start));
        // Bytewax asks each partition when to first poll it right after
        // building it.
        Python::attach(|py| {
            for part in &mut parts {
                match next_awake(py, &step_id, part) {
                    Ok(at) => part.next_awake = at,
                    Err(err) => return shared.fail(err),
                }
            }
        });
        move |output| {
            if shared.stopping() {
                return;
            }
            let _timer = meter.timer();
            let now = Instant::now();
            let now_wall = now_secs();
            let mut soonest: Option<Duration> = None;
            Python::attach(|py| {
                let mut i = 0;
                while i < parts.len() {
                    let part = &mut parts[i];
                    let cap = part.cap.as_mut().expect("live partitions hold a capability");
                    let epoch = *cap.time();
                    let mut eof = false;
                    if probe.less_than(&epoch) {
                        // Downstream is still on an earlier epoch: wait for it.
                        soonest = Some(Duration::ZERO);
                        i += 1;
                        continue;
                    }
                    if part.next_awake.is_none_or(|t| t <= now_wall) {
                        match poll(py, &step_id, part) {
                            Ok(Polled::Items(items)) => {
                                let was_empty = items.is_empty();
                                let stamp = meter.ingest_stamp();
                                meter.give(output, part.cap.as_ref().expect("capability"), items, stamp);
                                match next_awake(py, &step_id, part) {
                                    Ok(Some(t)) => part.next_awake = Some(t),
                                    Ok(None) if was_empty => {
                                        part.next_awake = Some(now_wall + EMPTY_BATCH_COOLDOWN.as_secs_f64())
                                    }
                                    Ok(None) => part.next_awake = None,
                                    Err(err) => return shared.fail(err),
                                }
                            }
                            Ok(Polled::Eof) => eof = true,
                            Ok(Polled::Abort) => return shared.abort(),
                            Err(err) => return shared.fail(err),
                        }
                    }
                    if eof {
                        let mut done = parts.remove(i);
                        if let Err(err) = done.snapshot(py, &step_id).and_then(|()| done.close(py, &step_id)) {
                            return shared.fail(err);
                        }
                        continue;
                    }
                    if now.duration_since(part.epoch_started) >= interval {
                        if let Err(err) = part.snapshot(py, &step_id) {
                            return shared.fail(err);
                        }
                        part.cap.as_mut().expect("capability").downgrade(&(epoch + 1));
                        part.epoch_started = now;
                    }
                    let wait = match part.next_awake {
                        Some(t) => Duration::from_secs_f64((t - now_wall).max(0.0)),
                        None => Duration::ZERO,
                    };
                    // Like Bytewax, a sleeping partition holds its epoch open
                    // until it wakes: the epoch advances after its next poll.
                    soonest = Some(soonest.map_or(wait, |s| s.min(wait)));
                    i += 1;
                }
            });
            match soonest {
                Some(d) if d.is_zero() => activator.activate(),
                Some(d) => activator.activate_after(d),
                None => {} // every partition is at EOF; their capabilities are gone
            }
        }
    })
}

/// Call `next_batch()` once.
fn poll(py: Python<'_>, step_id: &str, part: &Part) -> Result<Polled, RunError> {
    let obj = part.part.bind(py);
    let method = || obj.getattr("next_batch").unwrap_or_else(|_| obj.clone());
    let batch = match obj.call_method0("next_batch") {
        Ok(batch) => batch,
        Err(err) if err.is_instance_of::<PyStopIteration>(py) => return Ok(Polled::Eof),
        Err(err) if is_abort(py, &err) => return Ok(Polled::Abort),
        Err(err) => {
            let mut e = user_error(step_id, "next_batch", &method(), None, err);
            if let RunError::UserCode { message, .. } = &mut e {
                message.push_str(&format!(" (reading {})", part.label));
            }
            return Err(e);
        }
    };
    if let Ok(list) = batch.cast::<PyList>() {
        return Ok(Polled::Items(list.iter().map(Bound::unbind).collect()));
    }
    let iter = batch.try_iter().map_err(|_| {
        RunError::user_type(format!(
            "step '{step_id}': `next_batch` of {} must return a list of items, but returned {} (a `{}`)",
            part.label,
            short_repr(&batch),
            type_name(&batch)
        ))
    })?;
    let items = iter
        .map(|r| r.map(Bound::unbind))
        .collect::<PyResult<Vec<_>>>()
        .map_err(|err| user_error(step_id, "next_batch", &method(), None, err))?;
    Ok(Polled::Items(items))
}

fn is_abort(py: Python<'_>, err: &PyErr) -> bool {
    py.import("rillet.inputs")
        .and_then(|m| m.getattr("AbortExecution"))
        .map(|cls| err.matches(py, cls).unwrap_or(false))
        .unwrap_or(false)
}

/// Call `next_awake()`: `None`, or a timezone-aware `datetime`.
fn next_awake(py: Python<'_>, step_id: &str, part: &Part) -> Result<Option<f64>, RunError> {
    let obj = part.part.bind(py);
    let at = obj.call_method0("next_awake").map_err(|err| {
        let method = obj.getattr("next_awake").unwrap_or_else(|_| obj.clone());
        user_error(step_id, "next_awake", &method, None, err)
    })?;
    aware_timestamp(step_id, "next_awake", &at)
}
