//! `TumblingWindower` and `SlidingWindower`: window `i` covers
//! `[align_to + i * offset, align_to + i * offset + length)`; a tumbling
//! window is a sliding one with `offset == length`.

use super::time::Micros;

#[derive(Clone, Copy, Debug)]
pub struct SlidingSpec {
    pub length: Micros,
    pub offset: Micros,
    pub align_to: Micros,
}

/// A key's open windows, in the order they opened (Bytewax closes them in
/// that order, so the order is part of the output).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct SlidingState {
    /// `(window_id, close_time)`.
    pub opened: Vec<(i64, Micros)>,
}

impl SlidingSpec {
    /// The IDs of the windows containing `ts`, ascending.
    pub fn ids_containing(&self, ts: Micros) -> std::ops::Range<i64> {
        let since = ts - self.align_to;
        let first = (since - self.length).div_euclid(self.offset) + 1;
        let last = since.div_euclid(self.offset);
        first..last + 1
    }

    pub fn open_time(&self, id: i64) -> Micros {
        self.align_to + self.offset * id
    }

    /// Open the windows `ts` belongs in; returns their IDs.
    pub fn open_for(&self, state: &mut SlidingState, ts: Micros) -> std::ops::Range<i64> {
        let ids = self.ids_containing(ts);
        for id in ids.clone() {
            // A key has few windows open at once (`length / offset` plus
            // those waiting for the watermark): a scan beats a map.
            if !state.opened.iter().any(|&(open, _)| open == id) {
                state.opened.push((id, self.open_time(id) + self.length));
            }
        }
        ids
    }

    /// Close the windows ending at or before `watermark`, in opening order.
    pub fn close_for(&self, state: &mut SlidingState, watermark: Micros, closed: &mut Vec<i64>) {
        if state.opened.iter().all(|&(_, close)| close > watermark) {
            return;
        }
        state.opened.retain(|&(id, close)| {
            if close <= watermark {
                closed.push(id);
                false
            } else {
                true
            }
        });
    }

    pub fn notify_at(&self, state: &SlidingState) -> Option<Micros> {
        state.opened.iter().map(|&(_, close)| close).min()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const S: Micros = 1_000_000;

    #[test]
    fn ids_follow_floor_division() {
        let spec = SlidingSpec { length: 10 * S, offset: 5 * S, align_to: 0 };
        assert_eq!(spec.ids_containing(7 * S), 0..2);
        assert_eq!(spec.ids_containing(0), -1..1);
        assert_eq!(spec.ids_containing(-S), -2..0);
        let odd = SlidingSpec { length: 10 * S, offset: 4 * S, align_to: 0 };
        assert_eq!(odd.ids_containing(9 * S), 0..3);
    }

    #[test]
    fn windows_close_in_opening_order() {
        let spec = SlidingSpec { length: 10 * S, offset: 10 * S, align_to: 0 };
        let mut state = SlidingState::default();
        spec.open_for(&mut state, 25 * S);
        spec.open_for(&mut state, 5 * S);
        spec.open_for(&mut state, 15 * S);
        assert_eq!(spec.notify_at(&state), Some(10 * S));
        let mut closed = Vec::new();
        spec.close_for(&mut state, 30 * S, &mut closed);
        assert_eq!(closed, vec![2, 0, 1]);
        assert!(state.opened.is_empty());
    }
}
