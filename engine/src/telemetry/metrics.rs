//! What one process knows about its run, shared by its workers (who
//! write), the telemetry thread (who reports) and the thread reading the
//! server (who turns sampling on and off).

use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering::Relaxed};
use std::sync::OnceLock;

use super::histogram::Histogram;
use super::layout::{Role, Tops};
use super::message::{Metrics, Records, StepMetrics};
use super::queue::Queue;

/// Sampled-record messages waiting for the telemetry thread, at most.
const QUEUE_MESSAGES: usize = 1_024;
/// Their total size, at most: 4 MiB is about a hundred full messages.
const QUEUE_BYTES: usize = 4 << 20;

/// Gauge value meaning "not reported" (sent as `null`).
const UNSET: u64 = u64::MAX;

/// Where this process sits in the run.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Place {
    pub process: usize,
    pub processes: usize,
    /// Workers in the whole run.
    pub workers: usize,
    /// Index of this process's first worker, and how many it runs.
    pub first_worker: usize,
    pub local_workers: usize,
}

/// Counters of one top-level step on one worker. Only that worker's
/// thread writes them (see `Histogram` for why that matters).
pub struct StepStats {
    items_in: AtomicU64,
    items_out: AtomicU64,
    pub process: Histogram,
    pub latency: Histogram,
    state_keys: AtomicU64,
    /// Lowest watermark over the worker's keys, as `f64` seconds since
    /// the Unix epoch, or [`UNSET`].
    watermark: AtomicU64,
}

impl Default for StepStats {
    fn default() -> Self {
        Self {
            items_in: AtomicU64::new(0),
            items_out: AtomicU64::new(0),
            process: Histogram::default(),
            latency: Histogram::default(),
            state_keys: AtomicU64::new(UNSET),
            watermark: AtomicU64::new(UNSET),
        }
    }
}

#[inline]
fn add(cell: &AtomicU64, n: u64) {
    cell.store(cell.load(Relaxed).wrapping_add(n), Relaxed);
}

impl StepStats {
    #[inline]
    pub fn add_in(&self, n: u64) {
        add(&self.items_in, n);
    }

    #[inline]
    pub fn add_out(&self, n: u64) {
        add(&self.items_out, n);
    }

    /// Add `delta` keys; the first call makes the gauge reported.
    pub fn add_state_keys(&self, delta: i64) {
        let current = match self.state_keys.load(Relaxed) {
            UNSET => 0,
            n => n,
        };
        self.state_keys.store(current.saturating_add_signed(delta), Relaxed);
    }

    pub fn set_watermark(&self, lowest: Option<f64>) {
        self.watermark.store(lowest.map_or(UNSET, f64::to_bits), Relaxed);
    }

    fn report(&self, step_id: &str, worker: usize, now: f64) -> StepMetrics {
        let gauge = |v: u64| (v != UNSET).then_some(v);
        StepMetrics {
            step_id: step_id.to_string(),
            worker,
            items_in: self.items_in.load(Relaxed),
            items_out: self.items_out.load(Relaxed),
            process_ns: self.process.snapshot(),
            latency_ns: self.latency.snapshot(),
            state_keys: gauge(self.state_keys.load(Relaxed)),
            watermark_lag_s: gauge(self.watermark.load(Relaxed)).map(|w| now - f64::from_bits(w)),
        }
    }
}

/// The telemetry of one process of a run.
pub struct Hub {
    pub place: Place,
    pub tops: Tops,
    /// Set once the plan is read: which top-level step each executable
    /// step reports to.
    roles: OnceLock<HashMap<String, Role>>,
    /// `[local worker][top-level step]`, flattened.
    stats: Vec<StepStats>,
    /// Per top-level step: whether the server wants its records.
    sampling: Vec<AtomicBool>,
    pub queue: Queue<Records>,
}

impl Hub {
    pub fn new(place: Place, tops: Tops) -> Self {
        let n = tops.steps.len();
        Self {
            place,
            stats: (0..n * place.local_workers).map(|_| StepStats::default()).collect(),
            // Every step is sampled until the server says otherwise: a short
            // run may end before the server's first `sample` arrives, and the
            // studio shows a step's newest records even after the run ended.
            sampling: (0..n).map(|_| AtomicBool::new(true)).collect(),
            tops,
            roles: OnceLock::new(),
            queue: Queue::new(QUEUE_MESSAGES, QUEUE_BYTES),
        }
    }

    pub fn set_roles(&self, roles: HashMap<String, Role>) {
        let _ = self.roles.set(roles);
    }

    pub fn role(&self, step_id: &str) -> Option<&Role> {
        self.roles.get()?.get(step_id)
    }

    /// The counters of top-level step `top` on worker `worker` (a worker
    /// index of the whole run, one of this process's).
    pub fn stats(&self, worker: usize, top: usize) -> &StepStats {
        let local = worker - self.place.first_worker;
        &self.stats[local * self.tops.steps.len() + top]
    }

    #[inline]
    pub fn sampling(&self, top: usize) -> bool {
        self.sampling[top].load(Relaxed)
    }

    /// Sample exactly the top-level steps named in `step_ids` (unknown
    /// names are ignored: the server may know a newer version of the flow).
    pub fn sample_only(&self, step_ids: &[String]) {
        for (top, flag) in self.tops.steps.iter().zip(&self.sampling) {
            flag.store(step_ids.contains(&top.step_id), Relaxed);
        }
    }

    /// Every counter of this process, as of now.
    pub fn metrics(&self, now: f64, dropped_messages: u64) -> Metrics {
        let mut steps = Vec::with_capacity(self.stats.len());
        for local in 0..self.place.local_workers {
            let worker = self.place.first_worker + local;
            for (top, info) in self.tops.steps.iter().enumerate() {
                steps.push(self.stats(worker, top).report(&info.step_id, worker, now));
            }
        }
        Metrics { ts: now, process: self.place.process, steps, dropped_messages }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::telemetry::message::StepInfo;

    fn hub() -> Hub {
        let step = |id: &str| StepInfo {
            step_id: id.into(),
            op: "map".into(),
            ups: vec![],
            up_ports: vec![],
            downs: vec![],
            down_ports: vec![],
        };
        let place = Place { process: 1, processes: 2, workers: 4, first_worker: 2, local_workers: 2 };
        Hub::new(place, Tops { flow_id: Some("f".into()), steps: vec![step("f.a"), step("f.b")] })
    }

    #[test]
    fn one_entry_per_step_and_local_worker() {
        let hub = hub();
        hub.stats(3, 1).add_in(5);
        hub.stats(3, 1).add_out(7);
        hub.stats(2, 0).process.record(1_000, 4);
        let m = hub.metrics(100.0, 0);
        let ids: Vec<(usize, &str)> = m.steps.iter().map(|s| (s.worker, s.step_id.as_str())).collect();
        assert_eq!(ids, vec![(2, "f.a"), (2, "f.b"), (3, "f.a"), (3, "f.b")]);
        assert_eq!((m.steps[3].items_in, m.steps[3].items_out), (5, 7));
        assert_eq!(m.steps[0].process_ns.count, 4);
        assert_eq!(m.process, 1);
    }

    #[test]
    fn gauges_are_null_until_an_operator_sets_them() {
        let hub = hub();
        let m = hub.metrics(100.0, 0);
        assert!(m.steps.iter().all(|s| s.state_keys.is_none() && s.watermark_lag_s.is_none()));
        let stats = hub.stats(2, 0);
        stats.add_state_keys(0);
        stats.add_state_keys(3);
        stats.add_state_keys(-1);
        stats.set_watermark(Some(90.0));
        let m = hub.metrics(100.5, 0);
        assert_eq!(m.steps[0].state_keys, Some(2));
        assert_eq!(m.steps[0].watermark_lag_s, Some(10.5));
        stats.set_watermark(None);
        assert_eq!(hub.metrics(100.5, 0).steps[0].watermark_lag_s, None);
    }

    #[test]
    fn a_sample_request_replaces_the_previous_one() {
        let hub = hub();
        assert!(hub.sampling(0) && hub.sampling(1), "every step is sampled at first");
        hub.sample_only(&["f.b".into(), "f.unknown".into()]);
        assert!(!hub.sampling(0) && hub.sampling(1));
        hub.sample_only(&["f.a".into()]);
        assert!(hub.sampling(0) && !hub.sampling(1));
        hub.sample_only(&[]);
        assert!(!hub.sampling(0) && !hub.sampling(1));
    }
}
