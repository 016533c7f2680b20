//! `EventClock` and `SystemClock`: timestamps and the watermark of one key.
//!
//! The event clock's watermark is the latest `timestamp - wait` seen,
//! moved forward since by the system time that passed (so windows close
//! while the input is idle). The system time comes from the user's
//! `now_getter` when there is one (tests freeze it with
//! `TimeTestingGetter`), else from the OS.

use pyo3::prelude::*;

use super::time::{self, Micros, UTC_MAX, UTC_MIN};
use crate::errors::RunError;
use crate::pycall::{call1, user_error};

/// A clock's configuration, shared by every key of the step.
pub enum ClockSpec {
    Event {
        ts_getter: Py<PyAny>,
        wait: Micros,
        /// `None`: the UTC system time.
        now_getter: Option<Py<PyAny>>,
        /// `None`: a close time is its own system time.
        to_system_utc: Option<Py<PyAny>>,
    },
    System,
}

/// A key's clock state: plain numbers, ready for snapshots.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ClockState {
    Event {
        /// When the watermark was last pushed by a timestamp.
        system_time_of_max_event: Micros,
        /// The watermark at that moment.
        watermark_base: Micros,
        /// The latest system time read; never goes backwards.
        system_now: Micros,
    },
    System {
        now: Micros,
    },
}

impl ClockSpec {
    /// The system time, from the user's getter if any.
    pub fn now(&self, py: Python<'_>, step_id: &str) -> Result<Micros, RunError> {
        match self {
            ClockSpec::Event { now_getter: Some(getter), .. } => {
                let getter = getter.bind(py);
                let now = getter.call0().map_err(|e| user_error(step_id, "now_getter", getter, None, e))?;
                time::from_datetime(&now)
                    .map_err(|why| RunError::user_type(why.message(step_id, "the `now_getter` of `EventClock`")))
            }
            _ => Ok(time::system_now()),
        }
    }

    /// A new key's clock.
    pub fn build(&self, py: Python<'_>, step_id: &str) -> Result<ClockState, RunError> {
        let now = self.now(py, step_id)?;
        Ok(match self {
            ClockSpec::Event { .. } => {
                ClockState::Event { system_time_of_max_event: now, watermark_base: UTC_MIN, system_now: now }
            }
            ClockSpec::System => ClockState::System { now },
        })
    }

    /// Read the system time once, before a batch of values.
    pub fn before_batch(&self, py: Python<'_>, step_id: &str, state: &mut ClockState) -> Result<(), RunError> {
        let now = self.now(py, step_id)?;
        advance(state, now);
        Ok(())
    }

    /// The watermark when no value arrived, the system time being `now`.
    pub fn on_notify(&self, state: &mut ClockState, now: Micros) -> Micros {
        advance(state, now);
        watermark(state)
    }

    /// The earliest system time (seconds) at which the watermark can reach
    /// `at`, if this clock knows: with the OS time and no `to_system_utc`,
    /// the watermark is a function of the system time, so waking earlier
    /// would find nothing to do.
    pub fn reaches_at(&self, state: &ClockState, at: Micros) -> Option<f64> {
        match (self, state) {
            (
                ClockSpec::Event { now_getter: None, to_system_utc: None, .. },
                ClockState::Event { system_time_of_max_event, watermark_base, .. },
            ) => Some(time::to_secs(system_time_of_max_event.saturating_add(at.saturating_sub(*watermark_base)))),
            _ => None,
        }
    }

    /// A value's timestamp, the watermark after it, and the timestamp's
    /// zone.
    pub fn on_item(
        &self,
        step_id: &str,
        state: &mut ClockState,
        value: &Bound<'_, PyAny>,
    ) -> Result<(Micros, Micros, time::Zone), RunError> {
        match (self, state) {
            (
                ClockSpec::Event { ts_getter, wait, .. },
                ClockState::Event { system_time_of_max_event, watermark_base, system_now },
            ) => {
                let getter = ts_getter.bind(value.py());
                let ts = call1(getter, value).map_err(|e| user_error(step_id, "ts_getter", getter, Some(value), e))?;
                let (ts, zone) = time::from_datetime_zoned(&ts).map_err(|why| {
                    RunError::user_type(
                        why.message(step_id, "the timestamp returned by the `ts_getter` of `EventClock`"),
                    )
                })?;
                let watermark = event_watermark(*watermark_base, *system_now, *system_time_of_max_event);
                let candidate = ts - wait;
                // Too early to be a `datetime`: it can't move the watermark.
                if (UTC_MIN..=UTC_MAX).contains(&candidate) && candidate > watermark {
                    *watermark_base = candidate;
                    *system_time_of_max_event = *system_now;
                    return Ok((ts, candidate, zone));
                }
                Ok((ts, watermark, zone))
            }
            // A value arrives exactly at the watermark: never late.
            (_, ClockState::System { now }) => Ok((*now, *now, time::Zone(None))),
            (ClockSpec::System, ClockState::Event { .. }) => unreachable!("a key's clock state matches its spec"),
        }
    }

    /// When `at` (a time on this clock) happens in system time, in seconds;
    /// `None` for "no need to wake up".
    pub fn to_system_secs(&self, py: Python<'_>, step_id: &str, at: Micros) -> Result<Option<f64>, RunError> {
        match self {
            ClockSpec::Event { to_system_utc: Some(func), .. } => {
                let func = func.bind(py);
                let dt =
                    time::to_datetime(py, at).map_err(|e| RunError::Internal(format!("building a datetime: {e}")))?;
                let res = call1(func, &dt).map_err(|e| user_error(step_id, "to_system_utc", func, Some(&dt), e))?;
                crate::pycall::aware_timestamp(step_id, "to_system_utc", &res)
            }
            _ => Ok(Some(time::to_secs(at))),
        }
    }
}

/// Take in a new reading of the system time.
pub fn advance(state: &mut ClockState, now: Micros) {
    match state {
        // The system clock can step backwards (NTP); the watermark
        // must not, so it holds until time catches up.
        ClockState::Event { system_now, .. } => *system_now = (*system_now).max(now),
        ClockState::System { now: at } => *at = now,
    }
}

fn event_watermark(base: Micros, system_now: Micros, system_time_of_max_event: Micros) -> Micros {
    base.saturating_add(system_now - system_time_of_max_event).min(UTC_MAX)
}

/// The watermark of a key's clock now.
pub fn watermark(state: &ClockState) -> Micros {
    match *state {
        ClockState::Event { system_time_of_max_event, watermark_base, system_now } => {
            event_watermark(watermark_base, system_now, system_time_of_max_event)
        }
        ClockState::System { now } => now,
    }
}
