//! Fixed-bucket histograms of nanosecond durations.
//!
//! The bounds are fixed and known to the studio server too, so histograms
//! from every worker and process add up bucket by bucket, and quantiles can
//! be read from any sum of them. Log-spaced buckets keep the relative error
//! of a quantile within one bucket (a factor of 1.5) from 100 ns to hours,
//! in 65 counters.

use std::sync::atomic::{AtomicU64, Ordering::Relaxed};
use std::sync::OnceLock;

use serde::Serialize;

/// Number of finite bounds; there is one more bucket, for overflow.
pub const BOUNDS: usize = 64;

/// Growth factor between bounds. 1.5 spans 100 ns to hours in 64 bounds;
/// latency through windows and epochs is often seconds or minutes.
pub const FACTOR: f64 = 1.5;

/// `bound[i] = round(100 * 1.5^i)` nanoseconds: 100 ns up to about 3.5 hours.
pub fn bounds_ns() -> &'static [u64; BOUNDS] {
    static BOUNDS_NS: OnceLock<[u64; BOUNDS]> = OnceLock::new();
    BOUNDS_NS.get_or_init(|| std::array::from_fn(|i| (100.0 * FACTOR.powi(i as i32)).round() as u64))
}

/// Index of the bucket counting `value`: the first bound at least `value`,
/// or the overflow bucket.
#[inline]
pub fn bucket(value: u64) -> usize {
    bounds_ns().partition_point(|&bound| bound < value)
}

/// A histogram that one thread writes and any thread reads.
///
/// Each worker owns its histograms, so recording is a plain load and store
/// of relaxed atomics (no locked instruction); a reader may see a record
/// half applied (its count but not yet its bucket), which the next report
/// corrects, since everything is cumulative.
pub struct Histogram {
    counts: [AtomicU64; BOUNDS + 1],
    sum: AtomicU64,
    count: AtomicU64,
}

impl Default for Histogram {
    fn default() -> Self {
        Self { counts: std::array::from_fn(|_| AtomicU64::new(0)), sum: AtomicU64::new(0), count: AtomicU64::new(0) }
    }
}

#[inline]
fn add(cell: &AtomicU64, n: u64) {
    cell.store(cell.load(Relaxed).wrapping_add(n), Relaxed);
}

impl Histogram {
    /// Record `weight` observations of `value` nanoseconds. Only the owning
    /// thread may call this.
    #[inline]
    pub fn record(&self, value: u64, weight: u64) {
        if weight == 0 {
            return;
        }
        add(&self.counts[bucket(value)], weight);
        let sum = self.sum.load(Relaxed).saturating_add(value.saturating_mul(weight));
        self.sum.store(sum, Relaxed);
        add(&self.count, weight);
    }

    pub fn snapshot(&self) -> Snapshot {
        Snapshot {
            counts: self.counts.iter().map(|c| c.load(Relaxed)).collect(),
            sum: self.sum.load(Relaxed),
            count: self.count.load(Relaxed),
        }
    }
}

/// A histogram as sent to the server: cumulative since the run started.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize)]
pub struct Snapshot {
    /// `counts[i]` for values in `(bound[i-1], bound[i]]`; the last is overflow.
    pub counts: Vec<u64>,
    pub sum: u64,
    pub count: u64,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bounds_are_the_documented_ones() {
        let b = bounds_ns();
        assert_eq!(&b[..6], &[100, 150, 225, 338, 506, 759]);
        assert_eq!(b[63], (100.0 * 1.5f64.powi(63)).round() as u64);
        // About 3.5 hours, as TELEMETRY.md says.
        let hours = b[63] as f64 / 3.6e12;
        assert!((3.0..4.0).contains(&hours), "{hours} h");
        assert!(b.windows(2).all(|w| w[0] < w[1]));
    }

    #[test]
    fn a_value_goes_to_the_first_bound_at_least_as_large() {
        assert_eq!(bucket(0), 0);
        assert_eq!(bucket(100), 0);
        assert_eq!(bucket(101), 1);
        assert_eq!(bucket(150), 1);
        assert_eq!(bucket(151), 2);
        let last = bounds_ns()[BOUNDS - 1];
        assert_eq!(bucket(last), BOUNDS - 1);
        assert_eq!(bucket(last + 1), BOUNDS);
        assert_eq!(bucket(u64::MAX), BOUNDS);
    }

    #[test]
    fn records_are_weighted_and_cumulative() {
        let h = Histogram::default();
        assert_eq!(h.snapshot().count, 0);
        h.record(200, 10);
        h.record(50, 1);
        h.record(u64::MAX / 2, 2);
        h.record(1_000, 0);
        let s = h.snapshot();
        assert_eq!(s.counts.len(), BOUNDS + 1);
        assert_eq!(s.counts[0], 1);
        assert_eq!(s.counts[2], 10);
        assert_eq!(s.counts[BOUNDS], 2);
        assert_eq!(s.count, 13);
        assert_eq!(s.counts.iter().sum::<u64>(), s.count);
        // The sum saturates instead of wrapping on absurd values.
        assert_eq!(s.sum, u64::MAX);
    }

    #[test]
    fn another_thread_reads_what_the_owner_wrote() {
        let h = std::sync::Arc::new(Histogram::default());
        let writer = std::sync::Arc::clone(&h);
        std::thread::spawn(move || {
            for i in 0..1000 {
                writer.record(i, 1);
            }
        })
        .join()
        .unwrap();
        let s = h.snapshot();
        assert_eq!(s.count, 1000);
        assert_eq!(s.sum, 999 * 1000 / 2);
    }
}
