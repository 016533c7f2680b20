//! All windowing state of one key, and what happens to it on a batch of
//! values, a timer and the end of the input. This is Bytewax 0.21.1's
//! `_WindowLogic` (and the Python path's `_KeyWindows`) step for step, so
//! the outputs match record for record.

use pyo3::prelude::*;
use pyo3::types::PyTuple;

use super::clock::{self, ClockSpec, ClockState};
use super::logic::{Acc, LogicSpec};
use super::session::{Session, SessionSpec, SessionState, LATE_SESSION_ID};
use super::sliding::{SlidingSpec, SlidingState};
use super::time::{self, Micros, Zone, UTC_MAX};
use crate::errors::RunError;
use crate::keys::pair;

/// The step's configuration, shared by all its keys.
pub struct WindowSpec {
    pub step_id: String,
    pub clock: ClockSpec,
    pub windower: WindowerSpec,
    pub logic: LogicSpec,
    pub ordered: bool,
    /// `rillet.operators.windowing.WindowMetadata`.
    pub metadata: Py<PyAny>,
    /// Whether any step reads the `meta` stream: building a closed
    /// window's `WindowMetadata` costs several Python calls, for nothing
    /// if nobody reads it.
    pub emit_meta: bool,
}

pub enum WindowerSpec {
    /// With the Python `align_to`, `offset` and `length`, to compute a
    /// closed window's bounds exactly as Python does (in `align_to`'s zone).
    Sliding {
        spec: SlidingSpec,
        align_to: Py<PyAny>,
        offset: Py<PyAny>,
        length: Py<PyAny>,
    },
    Session(SessionSpec),
}

#[derive(Debug)]
pub enum WindowerState {
    Sliding(SlidingState),
    Session(SessionState<Zone>),
}

/// One key's state: plain data plus the Python values and accumulators it
/// holds, so it can be snapshotted as it is.
pub struct KeyWindows {
    pub clock: ClockState,
    pub windower: WindowerState,
    /// Open windows' state by window ID (few per key: a scan is fastest).
    pub windows: Vec<(i64, Acc)>,
    /// On-time values waiting for the watermark (`ordered` only), with
    /// their timestamps.
    pub queue: Vec<Waiting>,
    /// When to wake this key, in system seconds.
    pub notify_at: Option<f64>,
}

/// An on-time value waiting for the watermark.
pub struct Waiting {
    pub ts: Micros,
    /// The timestamp's zone (sessions only: their metadata shows it).
    pub zone: Zone,
    pub value: Py<PyAny>,
}

/// Records a key emits, already `(key, (window_id, x))`.
#[derive(Default)]
pub struct Emitted {
    pub down: Vec<Py<PyAny>>,
    pub late: Vec<Py<PyAny>>,
    pub meta: Vec<Py<PyAny>>,
}

fn keyed<'py>(key: &Bound<'py, PyAny>, id: i64, x: Bound<'py, PyAny>) -> Result<Py<PyAny>, RunError> {
    let py = key.py();
    let inner = PyTuple::new(py, [id.into_pyobject(py).expect("int").into_any(), x])
        .map_err(|e| RunError::Internal(format!("building a tuple: {e}")))?;
    Ok(pair(key, inner.into_any()))
}

fn internal(e: PyErr) -> RunError {
    RunError::Internal(format!("building window metadata: {e}"))
}

impl WindowSpec {
    pub fn new_key(&self, py: Python<'_>) -> Result<KeyWindows, RunError> {
        Ok(KeyWindows {
            clock: self.clock.build(py, &self.step_id)?,
            windower: match &self.windower {
                WindowerSpec::Sliding { .. } => WindowerState::Sliding(SlidingState::default()),
                WindowerSpec::Session(_) => WindowerState::Session(SessionState::default()),
            },
            windows: Vec::new(),
            queue: Vec::new(),
            notify_at: None,
        })
    }

    /// A batch of the key's values, in arrival order. Returns whether the
    /// key's state is now empty (and can be dropped).
    pub fn on_batch<'py>(
        &self,
        key: &Bound<'py, PyAny>,
        state: &mut KeyWindows,
        values: Vec<Bound<'py, PyAny>>,
        out: &mut Emitted,
    ) -> Result<bool, RunError> {
        let py = key.py();
        self.clock.before_batch(py, &self.step_id, &mut state.clock)?;
        for value in values {
            let (ts, watermark, zone) = self.clock.on_item(&self.step_id, &mut state.clock, &value)?;
            if ts < watermark {
                match &self.windower {
                    WindowerSpec::Sliding { spec, .. } => {
                        for id in spec.ids_containing(ts) {
                            out.late.push(keyed(key, id, value.clone())?);
                        }
                    }
                    WindowerSpec::Session(_) => out.late.push(keyed(key, LATE_SESSION_ID, value)?),
                }
            } else {
                let zone = match self.windower {
                    WindowerSpec::Session(_) => zone,
                    WindowerSpec::Sliding { .. } => Zone(None),
                };
                state.queue.push(Waiting { ts, zone, value: value.unbind() });
            }
        }
        self.flush(key, state, clock::watermark(&state.clock), out)
    }

    /// A timer fired at system time `now`: the watermark moved with it.
    pub fn on_notify(
        &self,
        key: &Bound<'_, PyAny>,
        state: &mut KeyWindows,
        now: Micros,
        out: &mut Emitted,
    ) -> Result<bool, RunError> {
        let watermark = self.clock.on_notify(&mut state.clock, now);
        self.flush(key, state, watermark, out)
    }

    /// Whether a timer at system time `now` would change anything: close
    /// a window or release a waiting value. If not, the operator skips
    /// the key, which gives the same output without the work.
    pub fn notify_changes(&self, state: &KeyWindows, now: Micros) -> bool {
        let mut clock = state.clock;
        clock::advance(&mut clock, now);
        let watermark = clock::watermark(&clock);
        let closes = match (&self.windower, &state.windower) {
            (WindowerSpec::Sliding { spec, .. }, WindowerState::Sliding(s)) => {
                spec.notify_at(s).is_some_and(|close| close <= watermark)
            }
            (WindowerSpec::Session(spec), WindowerState::Session(s)) => {
                !s.merge_queue.is_empty() || spec.notify_at(s).is_some_and(|at| at < watermark)
            }
            _ => unreachable!("a key's windower state matches its spec"),
        };
        closes || (self.ordered && state.queue.iter().any(|w| w.ts <= watermark))
    }

    /// The input ended: every window closes.
    pub fn on_eof(&self, key: &Bound<'_, PyAny>, state: &mut KeyWindows, out: &mut Emitted) -> Result<bool, RunError> {
        self.flush(key, state, UTC_MAX, out)
    }

    /// When the key next needs a timer, in system seconds.
    pub fn notify_at(&self, py: Python<'_>, state: &KeyWindows) -> Result<Option<f64>, RunError> {
        let mut at = match (&self.windower, &state.windower) {
            (WindowerSpec::Sliding { spec, .. }, WindowerState::Sliding(s)) => spec.notify_at(s),
            (WindowerSpec::Session(spec), WindowerState::Session(s)) => spec.notify_at(s),
            _ => unreachable!("a key's windower state matches its spec"),
        };
        if self.ordered {
            // Wake when the earliest waiting value becomes due, or it
            // would wait for the next value or the end of the input.
            if let Some(first) = state.queue.iter().map(|w| w.ts).min() {
                at = Some(at.map_or(first, |a| a.min(first)));
            }
        }
        let Some(at) = at else { return Ok(None) };
        let wake = self.clock.to_system_secs(py, &self.step_id, at)?;
        // Bytewax wakes at the event time taken as a system time, which
        // for replayed data is long past: it would wake on every
        // activation and find nothing to do until the watermark gets
        // there. When the clock knows that moment, wake then.
        Ok(match (wake, self.clock.reaches_at(&state.clock, at)) {
            (Some(wake), Some(reached)) => Some(wake.max(reached)),
            (wake, _) => wake,
        })
    }

    fn flush(
        &self,
        key: &Bound<'_, PyAny>,
        state: &mut KeyWindows,
        watermark: Micros,
        out: &mut Emitted,
    ) -> Result<bool, RunError> {
        let py = key.py();
        let due = if self.ordered {
            let (mut due, rest): (Vec<_>, Vec<_>) =
                std::mem::take(&mut state.queue).into_iter().partition(|w| w.ts <= watermark);
            state.queue = rest;
            // Stable: equal timestamps keep their arrival order.
            due.sort_by_key(|w| w.ts);
            due
        } else {
            std::mem::take(&mut state.queue)
        };
        let mut emit = Vec::new();
        for Waiting { ts, zone, value } in due {
            let value = value.into_bound(py);
            match (&self.windower, &mut state.windower) {
                (WindowerSpec::Sliding { spec, .. }, WindowerState::Sliding(s)) => {
                    for id in spec.open_for(s, ts) {
                        self.insert(key, &mut state.windows, id, &value, &mut emit, out)?;
                    }
                }
                (WindowerSpec::Session(spec), WindowerState::Session(s)) => {
                    let id = spec.open_for(s, ts, zone);
                    self.insert(key, &mut state.windows, id, &value, &mut emit, out)?;
                }
                _ => unreachable!("a key's windower state matches its spec"),
            }
        }
        if let WindowerState::Session(s) = &mut state.windower {
            for (original, target) in std::mem::take(&mut s.merge_queue) {
                if original == target {
                    continue;
                }
                let original = take_window(&mut state.windows, original);
                let Some(acc) = find_window(&mut state.windows, target) else {
                    return Err(RunError::Internal(format!("session {target} has no window state")));
                };
                if let Some(original) = original {
                    self.logic.on_merge(py, &self.step_id, acc, original, &mut emit)?;
                    for w in emit.drain(..) {
                        out.down.push(keyed(key, target, w)?);
                    }
                }
            }
        }
        self.close(key, state, watermark, &mut emit, out)?;
        let windower_empty = match &state.windower {
            WindowerState::Sliding(s) => s.opened.is_empty(),
            WindowerState::Session(s) => s.sessions.is_empty() && s.merge_queue.is_empty(),
        };
        Ok(state.windows.is_empty() && state.queue.is_empty() && windower_empty)
    }

    fn insert<'py>(
        &self,
        key: &Bound<'py, PyAny>,
        windows: &mut Vec<(i64, Acc)>,
        id: i64,
        value: &Bound<'py, PyAny>,
        emit: &mut Vec<Bound<'py, PyAny>>,
        out: &mut Emitted,
    ) -> Result<(), RunError> {
        let acc = match windows.iter().position(|(w, _)| *w == id) {
            Some(i) => &mut windows[i].1,
            None => {
                windows.push((id, self.logic.build(key.py(), &self.step_id)?));
                &mut windows.last_mut().expect("just pushed").1
            }
        };
        self.logic.on_value(&self.step_id, acc, value, emit)?;
        for w in emit.drain(..) {
            out.down.push(keyed(key, id, w)?);
        }
        Ok(())
    }

    fn close<'py>(
        &self,
        key: &Bound<'py, PyAny>,
        state: &mut KeyWindows,
        watermark: Micros,
        emit: &mut Vec<Bound<'py, PyAny>>,
        out: &mut Emitted,
    ) -> Result<(), RunError> {
        let py = key.py();
        let metadata = self.metadata.bind(py);
        match (&self.windower, &mut state.windower) {
            (WindowerSpec::Sliding { spec, align_to, offset, length }, WindowerState::Sliding(s)) => {
                let mut closed = Vec::new();
                spec.close_for(s, watermark, &mut closed);
                for id in closed {
                    self.close_window(key, &mut state.windows, id, emit, out)?;
                    if !self.emit_meta {
                        continue;
                    }
                    // `align_to + offset * id`, in Python: the same zone
                    // and the same value as the Python path.
                    let open = align_to.bind(py).add(offset.bind(py).mul(id).map_err(internal)?).map_err(internal)?;
                    let close = open.add(length.bind(py)).map_err(internal)?;
                    let meta = metadata.call1((open, close)).map_err(internal)?;
                    out.meta.push(keyed(key, id, meta)?);
                }
            }
            (WindowerSpec::Session(spec), WindowerState::Session(s)) => {
                let mut closed = Vec::new();
                spec.close_for(s, watermark, &mut closed);
                for Session { id, open, close, open_zone, close_zone, merged_ids } in closed {
                    self.close_window(key, &mut state.windows, id, emit, out)?;
                    if !self.emit_meta {
                        continue;
                    }
                    let open = time::to_datetime_in(py, open, &open_zone).map_err(internal)?;
                    let close = time::to_datetime_in(py, close, &close_zone).map_err(internal)?;
                    let merged = pyo3::types::PySet::new(py, merged_ids).map_err(internal)?;
                    let meta = metadata.call1((open, close, merged)).map_err(internal)?;
                    out.meta.push(keyed(key, id, meta)?);
                }
            }
            _ => unreachable!("a key's windower state matches its spec"),
        }
        Ok(())
    }

    fn close_window<'py>(
        &self,
        key: &Bound<'py, PyAny>,
        windows: &mut Vec<(i64, Acc)>,
        id: i64,
        emit: &mut Vec<Bound<'py, PyAny>>,
        out: &mut Emitted,
    ) -> Result<(), RunError> {
        let acc =
            take_window(windows, id).ok_or_else(|| RunError::Internal(format!("window {id} closed without state")))?;
        self.logic.on_close(key.py(), &self.step_id, acc, emit)?;
        for w in emit.drain(..) {
            out.down.push(keyed(key, id, w)?);
        }
        Ok(())
    }
}

fn find_window(windows: &mut [(i64, Acc)], id: i64) -> Option<&mut Acc> {
    windows.iter_mut().find(|(w, _)| *w == id).map(|(_, acc)| acc)
}

/// Remove a window's state, keeping the others in order.
fn take_window(windows: &mut Vec<(i64, Acc)>, id: i64) -> Option<Acc> {
    let i = windows.iter().position(|(w, _)| *w == id)?;
    Some(windows.remove(i).1)
}
