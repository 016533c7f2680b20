//! Per-run metrics: the engine's cumulative counters, merged over workers
//! and processes, turned into the live view's one-second rates and
//! quantiles.
//!
//! The engine sends cumulative counters and histograms per (step, worker)
//! every 500 ms (engine/TELEMETRY.md). Keeping only the latest report per
//! cell makes a reconnecting process harmless: its next report replaces the
//! old one. Rates and windowed quantiles come from the difference between
//! two snapshots of the merged totals.

use std::collections::{BTreeMap, HashMap};
use std::time::Instant;

use serde::{Deserialize, Serialize};

/// A histogram as the engine sends it: `counts[i]` counts values at most
/// `bounds[i]`; the last count is the overflow.
#[derive(Clone, Debug, Default, Deserialize, PartialEq)]
pub struct Hist {
    pub counts: Vec<u64>,
    pub sum: u64,
    pub count: u64,
}

impl Hist {
    fn add(&mut self, other: &Hist) {
        if self.counts.len() < other.counts.len() {
            self.counts.resize(other.counts.len(), 0);
        }
        for (mine, theirs) in self.counts.iter_mut().zip(&other.counts) {
            *mine = mine.saturating_add(*theirs);
        }
        self.sum = self.sum.saturating_add(other.sum);
        self.count = self.count.saturating_add(other.count);
    }

    /// What was recorded since `earlier`. Counters only grow, but a report
    /// may catch a record half applied, so differences saturate at zero.
    fn since(&self, earlier: &Hist) -> Hist {
        let counts =
            self.counts.iter().enumerate().map(|(i, c)| c.saturating_sub(earlier.counts.get(i).copied().unwrap_or(0)));
        let counts: Vec<u64> = counts.collect();
        Hist { count: counts.iter().sum(), counts, sum: self.sum.saturating_sub(earlier.sum) }
    }

    /// The `q` quantile in nanoseconds, interpolated inside its bucket;
    /// `None` when nothing was recorded. Values in the overflow bucket are
    /// reported as the last bound.
    pub fn quantile(&self, bounds: &[u64], q: f64) -> Option<f64> {
        let total: u64 = self.counts.iter().sum();
        if total == 0 || bounds.is_empty() {
            return None;
        }
        let rank = (q * total as f64).max(1.0);
        let mut seen = 0u64;
        for (i, &n) in self.counts.iter().enumerate() {
            if n == 0 {
                continue;
            }
            if (seen + n) as f64 >= rank {
                let Some(&upper) = bounds.get(i) else {
                    return bounds.last().map(|&b| b as f64);
                };
                let lower = if i == 0 { 0 } else { bounds[i - 1] };
                let within = (rank - seen as f64) / n as f64;
                return Some(lower as f64 + within * (upper - lower) as f64);
            }
            seen += n;
        }
        bounds.last().map(|&b| b as f64)
    }
}

/// One (step, worker) entry of a `metrics` message.
#[derive(Clone, Debug, Deserialize)]
pub struct StepReport {
    pub step_id: String,
    pub worker: u32,
    #[serde(default)]
    pub items_in: u64,
    #[serde(default)]
    pub items_out: u64,
    #[serde(default)]
    pub process_ns: Hist,
    #[serde(default)]
    pub latency_ns: Hist,
    #[serde(default)]
    pub state_keys: Option<u64>,
    #[serde(default)]
    pub watermark_lag_s: Option<f64>,
}

/// Totals of one step over all its workers.
#[derive(Clone, Debug, Default)]
struct Totals {
    items_in: u64,
    items_out: u64,
    process: Hist,
    latency: Hist,
    state_keys: Option<u64>,
    watermark_lag_s: Option<f64>,
}

/// One step in the live view: values over the last window, `null` when
/// unknown (API.md, `metrics`).
#[derive(Clone, Debug, Default, PartialEq, Serialize)]
pub struct LiveStep {
    pub items_in_per_s: Option<f64>,
    pub items_out_per_s: Option<f64>,
    pub process_p50_ns: Option<f64>,
    pub process_p99_ns: Option<f64>,
    pub latency_p50_ns: Option<f64>,
    pub latency_p95_ns: Option<f64>,
    pub latency_p99_ns: Option<f64>,
    pub state_keys: Option<u64>,
    pub watermark_lag_s: Option<f64>,
}

/// Everything the engine reported about one run.
pub struct RunMetrics {
    bounds: Vec<u64>,
    /// Top-level steps in flow order, from `hello`.
    order: Vec<String>,
    cells: BTreeMap<(String, u32), StepReport>,
    dropped_messages: HashMap<u32, u64>,
    previous: (Instant, HashMap<String, Totals>),
}

impl Default for RunMetrics {
    fn default() -> Self {
        Self::new()
    }
}

impl RunMetrics {
    pub fn new() -> Self {
        Self {
            bounds: Vec::new(),
            order: Vec::new(),
            cells: BTreeMap::new(),
            dropped_messages: HashMap::new(),
            previous: (Instant::now(), HashMap::new()),
        }
    }

    /// Takes the bounds and steps of a `hello`; every process sends the
    /// same ones.
    pub fn hello(&mut self, bounds: Vec<u64>, steps: Vec<String>) {
        if !bounds.is_empty() {
            self.bounds = bounds;
        }
        if !steps.is_empty() {
            self.order = steps;
        }
    }

    pub fn bounds(&self) -> &[u64] {
        &self.bounds
    }

    pub fn steps(&self) -> &[String] {
        &self.order
    }

    /// Takes one `metrics` message: each cell's cumulative values replace
    /// the previous ones.
    pub fn report(&mut self, process: u32, dropped_messages: u64, steps: Vec<StepReport>) {
        self.dropped_messages.insert(process, dropped_messages);
        for s in steps {
            self.cells.insert((s.step_id.clone(), s.worker), s);
        }
    }

    pub fn dropped_messages(&self) -> u64 {
        self.dropped_messages.values().sum()
    }

    /// Cells in (step, worker) order, for `/metrics`.
    pub fn cells(&self) -> impl Iterator<Item = &StepReport> {
        self.cells.values()
    }

    fn totals(&self) -> HashMap<String, Totals> {
        let mut out: HashMap<String, Totals> = HashMap::new();
        for cell in self.cells.values() {
            let t = out.entry(cell.step_id.clone()).or_default();
            t.items_in += cell.items_in;
            t.items_out += cell.items_out;
            t.process.add(&cell.process_ns);
            t.latency.add(&cell.latency_ns);
            if let Some(k) = cell.state_keys {
                t.state_keys = Some(t.state_keys.unwrap_or(0) + k);
            }
            if let Some(lag) = cell.watermark_lag_s {
                // The slowest worker is the lag of the step.
                t.watermark_lag_s = Some(t.watermark_lag_s.map_or(lag, |l: f64| l.max(lag)));
            }
        }
        out
    }

    /// The live view since the previous call (or since the run started):
    /// rates per second and quantiles of what was recorded in between.
    pub fn window(&mut self, now: Instant) -> BTreeMap<String, LiveStep> {
        let totals = self.totals();
        let (then, before) = &self.previous;
        let secs = now.saturating_duration_since(*then).as_secs_f64();
        let empty = Totals::default();
        let mut out = BTreeMap::new();
        let names = self.order.iter().chain(totals.keys().filter(|k| !self.order.contains(k)));
        for step in names {
            let Some(t) = totals.get(step) else {
                out.insert(step.clone(), LiveStep::default());
                continue;
            };
            let b = before.get(step).unwrap_or(&empty);
            let rate = |now: u64, then: u64| (secs > 0.0).then(|| now.saturating_sub(then) as f64 / secs);
            let process = t.process.since(&b.process);
            let latency = t.latency.since(&b.latency);
            out.insert(
                step.clone(),
                LiveStep {
                    items_in_per_s: rate(t.items_in, b.items_in),
                    items_out_per_s: rate(t.items_out, b.items_out),
                    process_p50_ns: process.quantile(&self.bounds, 0.50),
                    process_p99_ns: process.quantile(&self.bounds, 0.99),
                    latency_p50_ns: latency.quantile(&self.bounds, 0.50),
                    latency_p95_ns: latency.quantile(&self.bounds, 0.95),
                    latency_p99_ns: latency.quantile(&self.bounds, 0.99),
                    state_keys: t.state_keys,
                    watermark_lag_s: t.watermark_lag_s,
                },
            );
        }
        self.previous = (now, totals);
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    fn bounds() -> Vec<u64> {
        (0..64).map(|i| (100.0 * 1.5f64.powi(i)).round() as u64).collect()
    }

    fn hist(bucket: usize, n: u64) -> Hist {
        let mut counts = vec![0; 65];
        counts[bucket] = n;
        Hist { counts, sum: 0, count: n }
    }

    fn cell(step: &str, worker: u32, items: u64, bucket: usize) -> StepReport {
        StepReport {
            step_id: step.into(),
            worker,
            items_in: items,
            items_out: items * 2,
            process_ns: hist(bucket, items),
            latency_ns: hist(bucket, items),
            state_keys: Some(worker as u64 + 1),
            watermark_lag_s: None,
        }
    }

    #[test]
    fn quantiles_interpolate_inside_the_bucket() {
        let b = bounds();
        let h = hist(2, 100); // values in (150, 225]
        let p50 = h.quantile(&b, 0.5).unwrap();
        assert!(p50 > 150.0 && p50 <= 225.0, "{p50}");
        assert_eq!(h.quantile(&b, 1.0), Some(225.0));
        assert_eq!(Hist::default().quantile(&b, 0.5), None);
        assert_eq!(hist(64, 3).quantile(&b, 0.5), Some(b[63] as f64), "overflow reads as the last bound");
    }

    #[test]
    fn quantiles_of_two_buckets() {
        let b = bounds();
        let mut h = hist(0, 90);
        h.add(&hist(10, 10));
        assert!(h.quantile(&b, 0.5).unwrap() <= 100.0);
        assert!(h.quantile(&b, 0.95).unwrap() > b[9] as f64);
    }

    #[test]
    fn windows_merge_workers_and_take_differences() {
        let mut m = RunMetrics::new();
        m.hello(bounds(), vec!["f.a".into(), "f.b".into()]);
        let t0 = m.previous.0;
        m.report(0, 0, vec![cell("f.a", 0, 100, 3), cell("f.a", 1, 50, 3)]);
        let w = m.window(t0 + Duration::from_secs(1));
        let a = &w["f.a"];
        assert_eq!(a.items_in_per_s, Some(150.0));
        assert_eq!(a.items_out_per_s, Some(300.0));
        assert_eq!(a.state_keys, Some(3));
        assert!(a.process_p50_ns.unwrap() > 225.0 && a.process_p50_ns.unwrap() <= 338.0);
        assert_eq!(w["f.b"], LiveStep::default(), "a step without reports has no values");

        // Cumulative: worker 0 moved on by 200 items, in a slower bucket.
        let mut later = cell("f.a", 0, 300, 3);
        later.process_ns = hist(3, 100);
        later.process_ns.add(&hist(20, 200));
        m.report(0, 5, vec![later]);
        let w = m.window(t0 + Duration::from_secs(3));
        let a = &w["f.a"];
        assert_eq!(a.items_in_per_s, Some(100.0), "200 more items in 2 s");
        let p50 = a.process_p50_ns.unwrap();
        assert!(p50 > bounds()[19] as f64, "only the new items count: {p50}");
        assert_eq!(m.dropped_messages(), 5);
    }

    #[test]
    fn a_message_parses_with_unknown_fields() {
        let r: StepReport = serde_json::from_str(
            r#"{"step_id": "f.a", "worker": 1, "items_in": 3, "items_out": 4, "new_field": 1,
                "process_ns": {"counts": [1, 2], "sum": 5, "count": 3},
                "latency_ns": {"counts": [], "sum": 0, "count": 0},
                "state_keys": null, "watermark_lag_s": 0.5}"#,
        )
        .unwrap();
        assert_eq!((r.items_in, r.items_out, r.process_ns.count, r.watermark_lag_s), (3, 4, 3, Some(0.5)));
    }
}
