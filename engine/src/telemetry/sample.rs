//! Sampling a step's records for the studio: a rate cap per step and
//! worker, and bounded `repr`s.
//!
//! Sampling is the only telemetry that runs Python per record, so it is
//! capped before any `repr` is made: a step emitting millions of records
//! a second costs at most [`MAX_PER_WINDOW`] `repr`s per [`WINDOW`].

use std::time::{Duration, Instant};

use pyo3::prelude::*;

/// Records sampled per step and worker per window, at most.
pub const MAX_PER_WINDOW: usize = 20;
pub const WINDOW: Duration = Duration::from_millis(100);
/// Longest `repr` sent, in characters; longer ones are cut and end in `…`.
pub const MAX_REPR_CHARS: usize = 2_000;

/// A fixed-window rate cap.
#[derive(Debug)]
pub struct RateCap {
    max: usize,
    window: Duration,
    started: Option<Instant>,
    taken: usize,
}

impl Default for RateCap {
    fn default() -> Self {
        Self::new(MAX_PER_WINDOW, WINDOW)
    }
}

impl RateCap {
    pub fn new(max: usize, window: Duration) -> Self {
        Self { max, window, started: None, taken: 0 }
    }

    /// How many of `wanted` records may be taken at `now`; counts them as taken.
    pub fn admit(&mut self, now: Instant, wanted: usize) -> usize {
        if self.started.is_none_or(|s| now.duration_since(s) >= self.window) {
            self.started = Some(now);
            self.taken = 0;
        }
        let n = wanted.min(self.max - self.taken);
        self.taken += n;
        n
    }
}

/// Indexes of `take` records spread evenly over a batch of `len`, so a
/// sample shows the whole batch rather than its first records.
pub fn spread(len: usize, take: usize) -> impl Iterator<Item = usize> {
    let take = take.min(len);
    (0..take).map(move |i| i * len / take)
}

/// `repr(obj)`, cut to [`MAX_REPR_CHARS`] characters. A `repr` that
/// raises is shown as such rather than failing the run: sampling is only
/// watching.
pub fn bounded_repr(obj: &Bound<'_, PyAny>) -> String {
    let text = match obj.repr() {
        Ok(r) => r.to_string(),
        Err(err) => format!("<repr of a `{}` raised {err}>", crate::pycall::type_name(obj)),
    };
    cut(text, MAX_REPR_CHARS)
}

fn cut(text: String, max_chars: usize) -> String {
    match text.char_indices().nth(max_chars) {
        None => text,
        Some((end, _)) => {
            let mut short = text[..end].to_string();
            short.push('…');
            short
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_cap_holds_within_a_window_and_resets_after_it() {
        let mut cap = RateCap::new(20, Duration::from_millis(100));
        let t0 = Instant::now();
        assert_eq!(cap.admit(t0, 15), 15);
        assert_eq!(cap.admit(t0 + Duration::from_millis(10), 15), 5);
        assert_eq!(cap.admit(t0 + Duration::from_millis(99), 1), 0);
        assert_eq!(cap.admit(t0 + Duration::from_millis(100), 30), 20);
        assert_eq!(cap.admit(t0 + Duration::from_millis(150), 1), 0);
        assert_eq!(cap.admit(t0 + Duration::from_millis(250), 0), 0);
        assert_eq!(cap.admit(t0 + Duration::from_millis(251), 3), 3);
    }

    #[test]
    fn over_a_second_the_cap_admits_at_most_ten_windows() {
        let mut cap = RateCap::default();
        let t0 = Instant::now();
        let admitted: usize = (0..1000).map(|ms| cap.admit(t0 + Duration::from_millis(ms), 1000)).sum();
        assert_eq!(admitted, 10 * MAX_PER_WINDOW);
    }

    #[test]
    fn spread_covers_the_batch() {
        assert_eq!(spread(10, 3).collect::<Vec<_>>(), vec![0, 3, 6]);
        assert_eq!(spread(2, 5).collect::<Vec<_>>(), vec![0, 1]);
        assert_eq!(spread(0, 5).count(), 0);
        assert_eq!(spread(1000, 20).last(), Some(950));
    }

    #[test]
    fn long_reprs_are_cut_on_a_character_boundary() {
        assert_eq!(cut("abc".into(), 3), "abc");
        assert_eq!(cut("abcd".into(), 3), "abc…");
        assert_eq!(cut("ééééé".into(), 2), "éé…");
        Python::attach(|py| {
            let long = py.eval(c"'x' * 5000", None, None).unwrap();
            let text = bounded_repr(&long);
            assert_eq!(text.chars().count(), MAX_REPR_CHARS + 1);
            assert!(text.starts_with("'xxx") && text.ends_with('…'));
        });
    }

    #[test]
    fn a_failing_repr_is_described_not_raised() {
        Python::attach(|py| {
            let obj = py.eval(c"type('Bad', (), {'__repr__': lambda self: 1 / 0})()", None, None).unwrap();
            let text = bounded_repr(&obj);
            assert!(text.contains("`Bad`") && text.contains("ZeroDivisionError"), "{text}");
        });
    }
}
