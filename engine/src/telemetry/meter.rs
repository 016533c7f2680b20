//! The one helper every operator reports through.
//!
//! An operator gets a [`Meter`] for its step (`Ctx::meter`) and calls it
//! once per activation and once per batch:
//!
//! ```text
//! let _timer = meter.timer();                  // time spent in this activation
//! let stamp = meter.input(&batch);             // items in; the batch's ingestion stamp
//! meter.give(output, &cap, items, stamp);      // items out, latency, samples
//! ```
//!
//! Without a run channel a `Meter` is empty and each call is one branch;
//! nothing is measured and no clock is read. With one, the calls update
//! counters that only this worker writes, so no lock is taken; Python runs
//! only to `repr` sampled records within the rate cap.
//!
//! Time per item: the time of all operators of a top-level step in one
//! worker step (timely runs a batch through a chain of operators in the
//! same step) divided by the items that entered the step then, or, for
//! work no input caused (end of stream, timers), by the items it emitted.
//! Time spent with neither (an empty poll) is carried to the next items.
//!
//! Latency rule: an emitted batch carries the earliest ingestion stamp of
//! the input batches it was computed from in that activation; what an
//! operator emits without new input (timers, end of stream, epoch close)
//! carries the newest stamp it has seen.

use std::cell::{Cell, RefCell};
use std::rc::Rc;
use std::sync::Arc;
use std::time::{Instant, SystemTime, UNIX_EPOCH};

use pyo3::prelude::*;
use timely::dataflow::operators::CapabilityTrait;

use super::message::Records;
use super::metrics::{Hub, StepStats};
use super::sample::{bounded_repr, spread, RateCap, WINDOW};
use crate::batch::{Batch, NO_STAMP};
use crate::operators::Output;

/// Nanoseconds since the Unix epoch: the clock of ingestion stamps, the
/// same in every process of a run on one machine.
fn wall_ns() -> u64 {
    SystemTime::now().duration_since(UNIX_EPOCH).map(|d| d.as_nanos() as u64).unwrap_or(NO_STAMP)
}

/// The telemetry of one worker: one [`Local`] per top-level step.
#[derive(Clone, Default)]
pub struct WorkerMeters(Option<Rc<WorkerState>>);

struct WorkerState {
    hub: Arc<Hub>,
    tops: Vec<Rc<Local>>,
}

/// One top-level step on one worker, shared by the step's operators there.
struct Local {
    hub: Arc<Hub>,
    top: usize,
    worker: usize,
    /// Since the last flush: time in the step's operators, items in, items out.
    acc_ns: Cell<u64>,
    acc_in: Cell<u64>,
    acc_out: Cell<u64>,
    newest_stamp: Cell<u64>,
    cap: RefCell<RateCap>,
    /// Sampled-step records not sent since the last `records` message.
    dropped: Cell<u64>,
    last_sent: Cell<Option<Instant>>,
    last_port: RefCell<Option<Arc<str>>>,
}

impl Local {
    fn stats(&self) -> &StepStats {
        self.hub.stats(self.worker, self.top)
    }

    /// Queue a `records` message; what doesn't fit is counted as dropped.
    fn send_records(&self, port: &Arc<str>, items: Vec<String>, dropped: u64, now: Instant) {
        let records = Records {
            step_id: self.hub.tops.steps[self.top].step_id.clone(),
            worker: self.worker,
            port: port.to_string(),
            ts: crate::runtime::now_secs(),
            items,
            dropped,
        };
        match self.hub.queue.try_push(records) {
            Ok(()) => {
                self.dropped.set(0);
                self.last_sent.set(Some(now));
            }
            Err(records) => self.dropped.set(records.dropped + records.items.len() as u64),
        }
        *self.last_port.borrow_mut() = Some(Arc::clone(port));
    }

    fn flush(&self) {
        let ns = self.acc_ns.get();
        let items = match self.acc_in.get() {
            0 => self.acc_out.get(),
            n => n,
        };
        if let Some(per_item) = ns.checked_div(items) {
            self.stats().process.record(per_item, items);
            self.acc_ns.set(0);
            self.acc_in.set(0);
            self.acc_out.set(0);
        }
        // Report records the rate cap dropped even when no sampled record
        // follows them, once the window they were dropped in is over.
        let dropped = self.dropped.get();
        if dropped > 0 {
            let now = Instant::now();
            if self.last_sent.get().is_none_or(|t| now.duration_since(t) >= WINDOW) {
                let port = self.last_port.borrow().clone();
                if let Some(port) = port {
                    self.send_records(&port, Vec::new(), dropped, now);
                }
            }
        }
    }
}

impl WorkerMeters {
    /// The meters of worker `worker`, reporting to `hub`.
    pub fn new(hub: Arc<Hub>, worker: usize) -> Self {
        let tops = (0..hub.tops.steps.len())
            .map(|top| {
                Rc::new(Local {
                    hub: Arc::clone(&hub),
                    top,
                    worker,
                    acc_ns: Cell::new(0),
                    acc_in: Cell::new(0),
                    acc_out: Cell::new(0),
                    newest_stamp: Cell::new(NO_STAMP),
                    cap: RefCell::new(RateCap::default()),
                    dropped: Cell::new(0),
                    last_sent: Cell::new(None),
                    last_port: RefCell::new(None),
                })
            })
            .collect();
        Self(Some(Rc::new(WorkerState { hub, tops })))
    }

    /// The meter of executable step `step_id`; an empty one without a
    /// channel, or for a step no top-level step owns.
    pub fn meter(&self, step_id: &str) -> Meter {
        let Some(state) = &self.0 else { return Meter(None) };
        let Some(role) = state.hub.role(step_id) else { return Meter(None) };
        Meter(Some(Rc::new(OpMeter {
            local: Rc::clone(&state.tops[role.top]),
            entries: role.entries.clone(),
            exits: role.exits.clone(),
            state_keys: Cell::new(0),
        })))
    }

    /// Turn this worker step's time into per-item samples. Call from the
    /// worker's own thread after each worker step.
    pub fn flush(&self) {
        if let Some(state) = &self.0 {
            for local in &state.tops {
                local.flush();
            }
        }
    }
}

/// What one operator reports through. Cheap to clone.
#[derive(Clone, Default)]
pub struct Meter(Option<Rc<OpMeter>>);

struct OpMeter {
    local: Rc<Local>,
    entries: Vec<bool>,
    exits: Vec<Option<Arc<str>>>,
    /// This operator's share of the step's `state_keys` gauge.
    state_keys: Cell<u64>,
}

/// Adds the time until it is dropped to its step's time.
#[must_use = "the time is measured until the timer is dropped"]
pub struct Timer(Option<(Rc<Local>, Instant)>);

impl Drop for Timer {
    fn drop(&mut self) {
        if let Some((local, started)) = self.0.take() {
            local.acc_ns.set(local.acc_ns.get() + started.elapsed().as_nanos() as u64);
        }
    }
}

impl Meter {
    pub fn is_on(&self) -> bool {
        self.0.is_some()
    }

    /// A meter for the first operator of a step built from several: it
    /// counts the step's items in, not its items out.
    pub fn upstream_stage(&self) -> Meter {
        self.stage(true, false)
    }

    /// A meter for the last operator of a step built from several.
    pub fn downstream_stage(&self) -> Meter {
        self.stage(false, true)
    }

    fn stage(&self, inputs: bool, outputs: bool) -> Meter {
        Meter(self.0.as_ref().map(|m| {
            Rc::new(OpMeter {
                local: Rc::clone(&m.local),
                entries: m.entries.iter().map(|&e| e && inputs).collect(),
                exits: m.exits.iter().map(|e| e.clone().filter(|_| outputs)).collect(),
                state_keys: Cell::new(0),
            })
        }))
    }

    /// Time one activation: keep the timer alive until it ends.
    #[inline]
    pub fn timer(&self) -> Timer {
        Timer(self.0.as_ref().map(|m| (Rc::clone(&m.local), Instant::now())))
    }

    /// The ingestion stamp of a batch an input step produces now.
    #[inline]
    pub fn ingest_stamp(&self) -> u64 {
        if self.0.is_some() {
            wall_ns()
        } else {
            NO_STAMP
        }
    }

    /// `batch` arrived on input port 0; returns its ingestion stamp.
    #[inline]
    pub fn input(&self, batch: &Batch) -> u64 {
        self.input_at(0, batch)
    }

    /// `batch` arrived on input port `port`; returns its ingestion stamp.
    #[inline]
    pub fn input_at(&self, port: usize, batch: &Batch) -> u64 {
        if let Some(m) = &self.0 {
            let n = batch.len() as u64;
            if m.entries.get(port).copied().unwrap_or(false) {
                m.local.stats().add_in(n);
                m.local.acc_in.set(m.local.acc_in.get() + n);
            }
            if batch.stamp > m.local.newest_stamp.get() {
                m.local.newest_stamp.set(batch.stamp);
            }
        }
        batch.stamp
    }

    /// The newest ingestion stamp this step has seen on this worker: the
    /// stamp of what an operator emits without new input.
    #[inline]
    pub fn newest_stamp(&self) -> u64 {
        self.0.as_ref().map_or(NO_STAMP, |m| m.local.newest_stamp.get())
    }

    /// Send `items` on output port 0 as a batch ingested at `stamp`.
    #[inline]
    pub fn give<C: CapabilityTrait<u64>>(&self, output: &mut Output<'_>, cap: &C, items: Vec<Py<PyAny>>, stamp: u64) {
        self.give_at(0, output, cap, items, stamp);
    }

    /// Send `items` on output port `port`.
    #[inline]
    pub fn give_at<C: CapabilityTrait<u64>>(
        &self,
        port: usize,
        output: &mut Output<'_>,
        cap: &C,
        items: Vec<Py<PyAny>>,
        stamp: u64,
    ) {
        if items.is_empty() {
            return;
        }
        let mut batch = Batch::stamped(items, stamp);
        self.emitted(port, &batch.items, stamp);
        output.session(cap).give_container(&mut batch);
    }

    /// Pass a whole batch on, unchanged, on output port 0.
    #[inline]
    pub fn give_batch<C: CapabilityTrait<u64>>(&self, output: &mut Output<'_>, cap: &C, batch: &mut Batch) {
        self.emitted(0, &batch.items, batch.stamp);
        output.session(cap).give_container(batch);
    }

    /// `items`, ingested at `stamp`, leave through output port `port`:
    /// count them, record their latency, and sample them if the server
    /// asked for this step.
    #[inline]
    pub fn emitted(&self, port: usize, items: &[Py<PyAny>], stamp: u64) {
        self.sample_out(port, items);
        self.count_out(port, items.len(), stamp);
    }

    /// A sink will write `items`: sample them if the server asked.
    #[inline]
    pub fn sample_out(&self, port: usize, items: &[Py<PyAny>]) {
        let Some(m) = &self.0 else { return };
        let Some(Some(port)) = m.exits.get(port) else { return };
        if !items.is_empty() && m.local.hub.sampling(m.local.top) {
            m.sample(port, items);
        }
    }

    /// A sink wrote `n` items ingested at `stamp`: its items out, and the
    /// latency of records at their destination.
    #[inline]
    pub fn written(&self, n: usize, stamp: u64) {
        self.count_out(0, n, stamp);
    }

    #[inline]
    fn count_out(&self, port: usize, n: usize, stamp: u64) {
        let Some(m) = &self.0 else { return };
        if n == 0 || !matches!(m.exits.get(port), Some(Some(_))) {
            return;
        }
        let n = n as u64;
        let local = &m.local;
        let stats = local.stats();
        stats.add_out(n);
        local.acc_out.set(local.acc_out.get() + n);
        if stamp != NO_STAMP {
            stats.latency.record(wall_ns().saturating_sub(stamp), n);
        }
    }

    /// The number of keys this operator holds state for, after an activation.
    pub fn set_state_keys(&self, keys: usize) {
        let Some(m) = &self.0 else { return };
        let keys = keys as u64;
        let delta = keys as i64 - m.state_keys.replace(keys) as i64;
        m.local.stats().add_state_keys(delta);
    }

    /// The lowest watermark over this worker's keys, in seconds since the
    /// Unix epoch (`None`: no key has one). Windowing operators set it; the
    /// step then reports `watermark_lag_s`.
    pub fn set_watermark(&self, lowest: Option<f64>) {
        if let Some(m) = &self.0 {
            m.local.stats().set_watermark(lowest);
        }
    }
}

impl OpMeter {
    #[cold]
    fn sample(&self, port: &Arc<str>, items: &[Py<PyAny>]) {
        let local = &self.local;
        let now = Instant::now();
        let take = local.cap.borrow_mut().admit(now, items.len());
        let dropped = local.dropped.get() + (items.len() - take) as u64;
        if take == 0 {
            local.dropped.set(dropped);
            *local.last_port.borrow_mut() = Some(Arc::clone(port));
            return;
        }
        let reprs = Python::attach(|py| spread(items.len(), take).map(|i| bounded_repr(items[i].bind(py))).collect());
        local.send_records(port, reprs, dropped, now);
    }
}

#[cfg(test)]
mod tests {
    use std::collections::HashMap;

    use super::*;
    use crate::telemetry::layout::{Role, Tops};
    use crate::telemetry::message::StepInfo;
    use crate::telemetry::metrics::Place;

    /// A hub with top-level steps `f.a` and `f.b`, where executable step
    /// `f.b.inner` counts its input and port 0 of its output.
    fn hub() -> Arc<Hub> {
        let info = |id: &str| StepInfo {
            step_id: id.into(),
            op: "op".into(),
            ups: vec![],
            up_ports: vec![],
            downs: vec![],
            down_ports: vec![],
        };
        let place = Place { process: 0, processes: 1, workers: 1, first_worker: 0, local_workers: 1 };
        let hub = Arc::new(Hub::new(place, Tops { flow_id: Some("f".into()), steps: vec![info("f.a"), info("f.b")] }));
        let role = Role { top: 1, entries: vec![true], exits: vec![Some(Arc::from("down")), None] };
        hub.set_roles(HashMap::from([("f.b.inner".to_string(), role)]));
        hub
    }

    fn ints(py: Python<'_>, n: usize) -> Vec<Py<PyAny>> {
        (0..n).map(|i| (i as i64).into_pyobject(py).unwrap().into_any().unbind()).collect()
    }

    #[test]
    fn without_a_channel_a_meter_measures_nothing() {
        let meter = WorkerMeters::default().meter("f.b.inner");
        assert!(!meter.is_on());
        assert_eq!(meter.ingest_stamp(), NO_STAMP);
        let batch = Batch::stamped(Vec::new(), 5);
        assert_eq!(meter.input(&batch), 5, "stamps still pass through");
        assert_eq!(meter.newest_stamp(), NO_STAMP);
    }

    #[test]
    fn counts_latency_time_and_state_reach_the_hub() {
        let hub = hub();
        let meters = WorkerMeters::new(Arc::clone(&hub), 0);
        let meter = meters.meter("f.b.inner");
        assert!(meter.is_on());
        assert!(!meters.meter("f.unknown").is_on());
        Python::attach(|py| {
            let stamp = meter.ingest_stamp() - 2_000_000;
            {
                let _timer = meter.timer();
                let batch = Batch::stamped(ints(py, 10), stamp);
                assert_eq!(meter.input(&batch), stamp);
                meter.emitted(0, &ints(py, 4), stamp);
                meter.emitted(1, &ints(py, 3), stamp); // not an output of f.b
                std::thread::sleep(std::time::Duration::from_millis(1));
            }
            assert_eq!(meter.newest_stamp(), stamp);
            meter.set_state_keys(7);
            meter.downstream_stage().set_state_keys(2);
            meter.set_state_keys(5);
        });
        meters.flush();
        let m = hub.metrics(0.0, 0);
        let (a, b) = (&m.steps[0], &m.steps[1]);
        assert_eq!((a.items_in, a.items_out, a.state_keys), (0, 0, None));
        assert_eq!((b.items_in, b.items_out), (10, 4));
        assert_eq!(b.latency_ns.count, 4);
        assert!(b.latency_ns.sum >= 4 * 2_000_000, "{:?}", b.latency_ns);
        assert_eq!(b.process_ns.count, 10, "time is divided by the items that entered");
        assert!(b.process_ns.sum >= 1_000_000, "{:?}", b.process_ns);
        assert_eq!(b.state_keys, Some(7), "each operator's own keys, summed");
    }

    #[test]
    fn stages_split_counting_between_operators() {
        let hub = hub();
        let meters = WorkerMeters::new(Arc::clone(&hub), 0);
        let meter = meters.meter("f.b.inner");
        Python::attach(|py| {
            let batch = Batch::stamped(ints(py, 6), NO_STAMP);
            meter.upstream_stage().input(&batch);
            meter.upstream_stage().emitted(0, &batch.items, NO_STAMP);
            meter.downstream_stage().input(&batch);
            meter.downstream_stage().emitted(0, &ints(py, 2), NO_STAMP);
        });
        let b = &hub.metrics(0.0, 0).steps[1];
        assert_eq!((b.items_in, b.items_out), (6, 2));
        assert_eq!(b.latency_ns.count, 0, "no stamp, no latency");
    }

    #[test]
    fn sampling_is_capped_and_counts_what_it_drops() {
        let hub = hub();
        let meters = WorkerMeters::new(Arc::clone(&hub), 0);
        let meter = meters.meter("f.b.inner");
        Python::attach(|py| {
            // Every step is sampled at first; this batch passes while none is.
            hub.sample_only(&[]);
            meter.emitted(0, &ints(py, 100), NO_STAMP);
            hub.sample_only(&["f.b".into()]);
            for _ in 0..3 {
                meter.emitted(0, &ints(py, 100), NO_STAMP);
            }
        });
        let mut taken = Vec::new();
        hub.queue.take_all(std::time::Duration::ZERO, &mut taken);
        assert_eq!(taken.len(), 1, "one window's worth, in one message");
        assert_eq!(taken[0].items.len(), crate::telemetry::sample::MAX_PER_WINDOW);
        assert_eq!(taken[0].items[0], "0");
        assert_eq!(taken[0].dropped, 80);
        assert_eq!(taken[0].port, "down");
        // The next two batches were dropped whole; once the window is over
        // the flush reports them even though no sampled record follows.
        meters.flush();
        hub.queue.take_all(std::time::Duration::ZERO, &mut taken);
        assert_eq!(taken.len(), 1);
        std::thread::sleep(WINDOW);
        meters.flush();
        hub.queue.take_all(std::time::Duration::ZERO, &mut taken);
        assert_eq!(taken.len(), 2);
        assert!(taken[1].items.is_empty());
        assert_eq!(taken[1].dropped, 200);
    }
}

#[cfg(test)]
mod speed {
    use super::*;

    #[test]
    #[ignore = "timing probe, run by hand with --release --ignored --nocapture"]
    fn cost_per_batch() {
        let info = crate::telemetry::message::StepInfo {
            step_id: "f.s".into(),
            op: "map".into(),
            ups: vec![],
            up_ports: vec![],
            downs: vec![],
            down_ports: vec![],
        };
        let place = super::super::Place { process: 0, processes: 1, workers: 1, first_worker: 0, local_workers: 1 };
        let hub =
            Arc::new(Hub::new(place, super::super::layout::Tops { flow_id: Some("f".into()), steps: vec![info] }));
        let role = super::super::layout::Role { top: 0, entries: vec![true], exits: vec![Some(Arc::from("down"))] };
        hub.set_roles(std::collections::HashMap::from([("f.s".to_string(), role)]));
        let meters = WorkerMeters::new(Arc::clone(&hub), 0);
        let meter = meters.meter("f.s");
        Python::attach(|py| {
            let items: Vec<Py<PyAny>> =
                (0..1000i64).map(|i| i.into_pyobject(py).unwrap().into_any().unbind()).collect();
            let batch = Batch::stamped(Vec::new(), meter.ingest_stamp());
            let rounds = 1_000_000u32;
            let t = Instant::now();
            for _ in 0..rounds {
                let _timer = meter.timer();
                let stamp = meter.input(&batch);
                meter.emitted(0, &items, stamp);
                meters.flush();
            }
            println!(
                "one activation of one batch, timed, counted, latency recorded, flushed: {:?}",
                t.elapsed() / rounds
            );
            drop(batch);
        });
    }
}
