//! The live subscribers of one run.
//!
//! Whatever reaches a subscriber goes through a bounded buffer of its own:
//! sampled records wait in a per-step buffer of at most one second's worth
//! (its `rate`), other messages in a queue of `ws_queue_messages`. The
//! engine's reader only ever appends and counts under a short lock, so a
//! browser that reads slowly or not at all costs the run nothing: what
//! doesn't fit is counted into `missed`.
//!
//! The engine samples every top-level step from its first message on, and
//! the hub keeps each step's newest [`RECENT`] records: a viewer who opens a
//! step late, or after a short run has ended, still sees its last records.

use std::collections::{HashMap, VecDeque};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Instant;

use serde_json::{json, Value};

/// Records per second a subscriber gets unless it asks otherwise.
pub const DEFAULT_RATE: u32 = 20;
pub const MAX_RATE: u32 = 200;
/// Newest records kept per step for viewers who subscribe later.
pub const RECENT: usize = 50;

/// Counters shared by every run, for `/metrics`.
#[derive(Debug, Default)]
pub struct WsCounters {
    pub clients: AtomicU64,
    pub records_dropped: AtomicU64,
}

struct StepSub {
    filter: Option<String>,
    rate: u32,
    tokens: f64,
    refilled: Instant,
    pending: Vec<String>,
    missed: u64,
}

impl StepSub {
    fn new(filter: Option<String>, rate: u32) -> Self {
        let rate = rate.clamp(1, MAX_RATE);
        StepSub { filter, rate, tokens: rate as f64, refilled: Instant::now(), pending: Vec::new(), missed: 0 }
    }

    /// Takes a sampled item, or counts it as missed. Returns whether the
    /// item was dropped for lack of room or rate (not by the filter).
    fn offer(&mut self, item: &str, now: Instant) -> bool {
        if self.filter.as_deref().is_some_and(|f| !item.contains(f)) {
            self.missed += 1;
            return false;
        }
        let elapsed = now.saturating_duration_since(self.refilled).as_secs_f64();
        self.tokens = (self.tokens + elapsed * self.rate as f64).min(self.rate as f64);
        self.refilled = now;
        // A second's worth waits at most: a client that doesn't read keeps
        // missing records instead of piling them up.
        if self.tokens >= 1.0 && self.pending.len() < self.rate as usize {
            self.tokens -= 1.0;
            self.pending.push(item.to_string());
            false
        } else {
            self.missed += 1;
            true
        }
    }
}

struct SubState {
    paused: bool,
    steps: HashMap<String, StepSub>,
    queue: VecDeque<String>,
}

/// One browser connection to one run.
pub struct Subscriber {
    state: Mutex<SubState>,
    queue_cap: usize,
}

impl Subscriber {
    fn new(queue_cap: usize) -> Self {
        Subscriber {
            state: Mutex::new(SubState { paused: false, steps: HashMap::new(), queue: VecDeque::new() }),
            queue_cap: queue_cap.max(4),
        }
    }

    /// Queues a message; the oldest queued message gives way when full.
    pub fn send(&self, msg: &Value) {
        let text = msg.to_string();
        let mut s = self.state.lock().expect("subscriber lock");
        if s.queue.len() >= self.queue_cap {
            s.queue.pop_front();
        }
        s.queue.push_back(text);
    }

    /// Everything ready to send: queued messages, then one `records`
    /// message per step with records or misses to report.
    pub fn drain(&self) -> Vec<String> {
        let mut s = self.state.lock().expect("subscriber lock");
        let mut out: Vec<String> = s.queue.drain(..).collect();
        if !s.paused {
            for (step, sub) in s.steps.iter_mut() {
                if sub.pending.is_empty() && sub.missed == 0 {
                    continue;
                }
                let items = std::mem::take(&mut sub.pending);
                let msg = json!({"type": "records", "step_id": step, "items": items, "missed": sub.missed});
                sub.missed = 0;
                out.push(msg.to_string());
            }
        }
        out
    }

    fn records(&self, step: &str, items: &[String], engine_dropped: u64, now: Instant) -> u64 {
        let mut s = self.state.lock().expect("subscriber lock");
        let paused = s.paused;
        let Some(sub) = s.steps.get_mut(step) else { return 0 };
        sub.missed += engine_dropped;
        let mut dropped = 0;
        if paused {
            sub.missed += items.len() as u64;
            dropped = items.len() as u64;
        } else {
            for item in items {
                dropped += u64::from(sub.offer(item, now));
            }
        }
        dropped
    }
}

/// The subscribers of one run.
pub struct Hub {
    subs: Mutex<HashMap<u64, Arc<Subscriber>>>,
    recent: Mutex<HashMap<String, VecDeque<String>>>,
    next_id: AtomicU64,
    queue_cap: usize,
    counters: Arc<WsCounters>,
}

impl Hub {
    pub fn new(queue_cap: usize, counters: Arc<WsCounters>) -> Self {
        Hub {
            subs: Mutex::new(HashMap::new()),
            recent: Mutex::default(),
            next_id: AtomicU64::new(1),
            queue_cap,
            counters,
        }
    }

    pub fn join(&self) -> (u64, Arc<Subscriber>) {
        let id = self.next_id.fetch_add(1, Ordering::Relaxed);
        let sub = Arc::new(Subscriber::new(self.queue_cap));
        self.subs.lock().expect("hub lock").insert(id, sub.clone());
        (id, sub)
    }

    pub fn leave(&self, id: u64) {
        self.subs.lock().expect("hub lock").remove(&id);
    }

    fn all(&self) -> Vec<Arc<Subscriber>> {
        self.subs.lock().expect("hub lock").values().cloned().collect()
    }

    /// Sends `msg` to every subscriber.
    pub fn broadcast(&self, msg: &Value) {
        for s in self.all() {
            s.send(msg);
        }
    }

    /// Sampled records of `step` from the engine.
    pub fn records(&self, step: &str, items: &[String], engine_dropped: u64) {
        {
            let mut recent = self.recent.lock().expect("hub lock");
            let kept = recent.entry(step.to_string()).or_default();
            for item in items.iter().skip(items.len().saturating_sub(RECENT)) {
                if kept.len() == RECENT {
                    kept.pop_front();
                }
                kept.push_back(item.clone());
            }
        }
        let now = Instant::now();
        let dropped: u64 = self.all().iter().map(|s| s.records(step, items, engine_dropped, now)).sum();
        if dropped > 0 {
            self.counters.records_dropped.fetch_add(dropped, Ordering::Relaxed);
        }
    }

    /// `subscribe` from `sub`: replaces its subscription to the same step,
    /// then offers it the step's newest records (under its filter and rate).
    pub fn subscribe(&self, sub: &Subscriber, step: String, filter: Option<String>, rate: Option<u32>) {
        sub.subscribe(step.clone(), filter, rate);
        let recent: Vec<String> =
            self.recent.lock().expect("hub lock").get(&step).map(|r| r.iter().cloned().collect()).unwrap_or_default();
        if !recent.is_empty() {
            sub.records(&step, &recent, 0, Instant::now());
        }
    }
}

impl Subscriber {
    /// Replaces any subscription to the same step.
    fn subscribe(&self, step: String, filter: Option<String>, rate: Option<u32>) {
        let filter = filter.filter(|f| !f.is_empty());
        let sub = StepSub::new(filter, rate.unwrap_or(DEFAULT_RATE));
        self.state.lock().expect("subscriber lock").steps.insert(step, sub);
    }

    pub fn unsubscribe(&self, step: &str) {
        self.state.lock().expect("subscriber lock").steps.remove(step);
    }

    pub fn set_paused(&self, paused: bool) {
        self.state.lock().expect("subscriber lock").paused = paused;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn items(n: usize) -> Vec<String> {
        (0..n).map(|i| format!("'r{i}'")).collect()
    }

    fn records_of(msgs: &[String]) -> Vec<Value> {
        msgs.iter().map(|m| serde_json::from_str::<Value>(m).unwrap()).filter(|m| m["type"] == "records").collect()
    }

    #[test]
    fn the_rate_caps_and_the_rest_is_missed() {
        let hub = Hub::new(8, Arc::default());
        let (_, sub) = hub.join();
        hub.subscribe(&sub, "f.a".into(), None, Some(5));
        hub.records("f.a", &items(12), 3);
        hub.records("f.b", &items(4), 0);
        let recs = records_of(&sub.drain());
        assert_eq!(recs.len(), 1);
        assert_eq!(recs[0]["items"].as_array().unwrap().len(), 5);
        assert_eq!(recs[0]["missed"], 7 + 3, "rate cap and the engine's own drops");
        assert!(sub.drain().is_empty(), "missed is reported once");
        assert_eq!(hub.counters.records_dropped.load(Ordering::Relaxed), 7);
    }

    #[test]
    fn filter_pause_and_unsubscribe() {
        let hub = Hub::new(8, Arc::default());
        let (_, sub) = hub.join();
        hub.subscribe(&sub, "f.a".into(), Some("r1".into()), Some(100));
        hub.records("f.a", &items(12), 0);
        let recs = records_of(&sub.drain());
        assert_eq!(recs[0]["items"], json!(["'r1'", "'r10'", "'r11'"]));
        assert_eq!(recs[0]["missed"], 9);

        sub.set_paused(true);
        hub.records("f.a", &items(2), 0);
        assert!(records_of(&sub.drain()).is_empty(), "nothing while paused");
        sub.set_paused(false);
        assert_eq!(records_of(&sub.drain())[0]["missed"], 2, "what passed while paused is missed");

        sub.unsubscribe("f.a");
        hub.records("f.a", &items(2), 0);
        assert!(records_of(&sub.drain()).is_empty(), "nothing after unsubscribe");
    }

    #[test]
    fn a_stalled_subscriber_holds_a_bounded_amount() {
        let hub = Hub::new(4, Arc::default());
        let (_, sub) = hub.join();
        hub.subscribe(&sub, "f.a".into(), None, Some(10));
        for i in 0..1000 {
            hub.records("f.a", &items(20), 0);
            hub.broadcast(&json!({"type": "metrics", "n": i}));
        }
        let msgs = sub.drain();
        assert_eq!(msgs.len(), 4 + 1, "4 queued messages (the newest) and one records message");
        assert!(msgs[3].contains("\"n\":999"));
        let recs = records_of(&msgs);
        assert_eq!(recs[0]["items"].as_array().unwrap().len(), 10);
        assert_eq!(recs[0]["missed"], 20_000 - 10);
    }

    #[test]
    fn a_late_subscriber_gets_the_newest_records_of_the_step() {
        let hub = Hub::new(8, Arc::default());
        hub.records("f.a", &items(RECENT + 30), 0);
        hub.records("f.b", &items(3), 0);
        let (_, sub) = hub.join();
        hub.subscribe(&sub, "f.a".into(), Some("r7".into()), Some(MAX_RATE));
        let recs = records_of(&sub.drain());
        assert_eq!(recs.len(), 1, "only the subscribed step");
        let expected: Vec<String> = (30..RECENT + 30).map(|i| format!("'r{i}'")).filter(|r| r.contains("r7")).collect();
        assert_eq!(recs[0]["items"], json!(expected), "the newest {RECENT}, filtered");
    }
}
