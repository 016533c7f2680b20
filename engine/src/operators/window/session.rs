//! `SessionWindower`: values at most `gap` apart share a session; a value
//! that brings two sessions within `gap` merges them into the earlier one.

use super::time::{Micros, UTC_MIN};

/// The window ID of late values, which belong to no session.
pub const LATE_SESSION_ID: i64 = -1;

/// `Z`: the zone each bound came in (so the metadata shows the times as
/// the user gave them).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Session<Z> {
    pub id: i64,
    /// First and last timestamps, both included.
    pub open: Micros,
    pub close: Micros,
    pub open_zone: Z,
    pub close_zone: Z,
    /// Sessions merged straight into this one (not transitively, as in
    /// Bytewax 0.21.1).
    pub merged_ids: Vec<i64>,
}

/// A key's sessions, in the order they opened (the order Bytewax scans
/// and closes them in).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SessionState<Z> {
    /// The last session ID handed out.
    pub max_id: i64,
    pub sessions: Vec<Session<Z>>,
    /// `(original_id, target_id)` merges not yet applied to the windows.
    pub merge_queue: Vec<(i64, i64)>,
}

impl<Z> Default for SessionState<Z> {
    fn default() -> Self {
        Self { max_id: LATE_SESSION_ID, sessions: Vec::new(), merge_queue: Vec::new() }
    }
}

#[derive(Clone, Copy, Debug)]
pub struct SessionSpec {
    pub gap: Micros,
}

impl SessionSpec {
    /// The session an on-time value at `ts` (in `zone`) joins (or opens).
    pub fn open_for<Z: Clone>(&self, state: &mut SessionState<Z>, ts: Micros, zone: Z) -> i64 {
        for i in 0..state.sessions.len() {
            let s = &mut state.sessions[i];
            if s.open <= ts && ts <= s.close {
                return s.id;
            }
            let id = s.id;
            if 0 < s.open - ts && s.open - ts <= self.gap {
                s.open = ts;
                s.open_zone = zone;
                self.merge_overlapping(state);
                return id;
            }
            if 0 < ts - s.close && ts - s.close <= self.gap {
                s.close = ts;
                s.close_zone = zone;
                self.merge_overlapping(state);
                return id;
            }
        }
        state.max_id += 1;
        let session = Session {
            id: state.max_id,
            open: ts,
            close: ts,
            open_zone: zone.clone(),
            close_zone: zone,
            merged_ids: Vec::new(),
        };
        state.sessions.push(session);
        state.max_id
    }

    /// Walk the sessions by open time, folding each one that starts within
    /// `gap` of the running session's close into it.
    fn merge_overlapping<Z: Clone>(&self, state: &mut SessionState<Z>) {
        if state.sessions.len() < 2 {
            return;
        }
        let mut order: Vec<usize> = (0..state.sessions.len()).collect();
        // Stable: sessions opening together stay in opening order.
        order.sort_by_key(|&i| state.sessions[i].open);
        let mut into = order[0];
        let mut gone = Vec::new();
        for &this in &order[1..] {
            let (this_open, this_close, this_id) = {
                let s = &state.sessions[this];
                (s.open, s.close, s.id)
            };
            if this_open - state.sessions[into].close <= self.gap {
                let this_zone = state.sessions[this].close_zone.clone();
                let target = &mut state.sessions[into];
                if this_close > target.close {
                    target.close = this_close;
                    target.close_zone = this_zone;
                }
                if !target.merged_ids.contains(&this_id) {
                    target.merged_ids.push(this_id);
                }
                state.merge_queue.push((this_id, target.id));
                gone.push(this);
            } else {
                into = this;
            }
        }
        if !gone.is_empty() {
            let mut index = 0;
            state.sessions.retain(|_| {
                let keep = !gone.contains(&index);
                index += 1;
                keep
            });
        }
    }

    /// Close the sessions whose last value is more than `gap` before the
    /// watermark, in opening order.
    pub fn close_for<Z>(&self, state: &mut SessionState<Z>, watermark: Micros, closed: &mut Vec<Session<Z>>) {
        let before = if watermark - self.gap < UTC_MIN { UTC_MIN } else { watermark - self.gap };
        if state.sessions.iter().all(|s| s.close >= before) {
            return;
        }
        let mut kept = Vec::with_capacity(state.sessions.len());
        for s in state.sessions.drain(..) {
            if s.close < before {
                closed.push(s);
            } else {
                kept.push(s);
            }
        }
        state.sessions = kept;
    }

    pub fn notify_at<Z>(&self, state: &SessionState<Z>) -> Option<Micros> {
        state.sessions.iter().map(|s| s.close).min().map(|c| c + self.gap)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const S: Micros = 1_000_000;

    #[test]
    fn boundaries_are_inclusive_of_the_gap() {
        let spec = SessionSpec { gap: 10 * S };
        let mut st = SessionState::<()>::default();
        assert_eq!(spec.open_for(&mut st, 0, ()), 0);
        assert_eq!(spec.open_for(&mut st, 10 * S, ()), 0);
        assert_eq!(spec.open_for(&mut st, -10 * S, ()), 0);
        assert_eq!(spec.open_for(&mut st, 20 * S + S / 2, ()), 1);
        assert!(st.merge_queue.is_empty());
        let mut closed = Vec::new();
        spec.close_for(&mut st, 20 * S, &mut closed);
        assert!(closed.is_empty());
        spec.close_for(&mut st, 20 * S + S / 4, &mut closed);
        assert_eq!(closed.len(), 1);
        assert_eq!((closed[0].id, closed[0].open, closed[0].close), (0, -10 * S, 10 * S));
        assert_eq!(spec.notify_at(&st), Some(30 * S + S / 2));
    }

    #[test]
    fn three_sessions_merge_through_a_bridge() {
        let spec = SessionSpec { gap: 10 * S };
        let mut st = SessionState::<()>::default();
        for t in [0, 30, 15] {
            spec.open_for(&mut st, t * S, ());
        }
        assert_eq!(spec.open_for(&mut st, 22 * S, ()), 1);
        assert_eq!(st.merge_queue, vec![(1, 2)]);
        assert_eq!(spec.open_for(&mut st, 7 * S, ()), 0);
        assert_eq!(st.merge_queue, vec![(1, 2), (2, 0)]);
        assert_eq!(st.sessions.len(), 1);
        assert_eq!(st.sessions[0].merged_ids, vec![2]);
        assert_eq!((st.sessions[0].open, st.sessions[0].close), (0, 30 * S));
    }
}
