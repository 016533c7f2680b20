//! The bounded queue from the workers to the telemetry thread.
//!
//! Workers must never wait for the studio: a push either fits or is
//! refused at once (the caller counts what it lost). The bound is on both
//! the number of messages and their total size, because one sampled
//! message can hold 20 `repr`s of 2,000 characters. The lock is held for
//! one `VecDeque` operation and only by pushes of messages (sampled
//! records, never per record) and by the telemetry thread taking them.

use std::collections::VecDeque;
use std::sync::{Condvar, Mutex, MutexGuard};
use std::time::Duration;

/// Something that takes room in the queue.
pub trait Weigh {
    /// Approximate size in bytes once encoded.
    fn weight(&self) -> usize;
}

pub struct Queue<T> {
    state: Mutex<State<T>>,
    ready: Condvar,
    max_items: usize,
    max_bytes: usize,
}

struct State<T> {
    items: VecDeque<T>,
    bytes: usize,
    /// Messages refused because the queue was full.
    refused: u64,
    closed: bool,
}

impl<T: Weigh> Queue<T> {
    pub fn new(max_items: usize, max_bytes: usize) -> Self {
        Self {
            state: Mutex::new(State { items: VecDeque::new(), bytes: 0, refused: 0, closed: false }),
            ready: Condvar::new(),
            max_items,
            max_bytes,
        }
    }

    fn lock(&self) -> MutexGuard<'_, State<T>> {
        // A panic while holding this lock leaves the queue consistent.
        self.state.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Add `item` if it fits; otherwise give it back, counted as refused.
    pub fn try_push(&self, item: T) -> Result<(), T> {
        let weight = item.weight();
        let mut state = self.lock();
        if state.closed || state.items.len() >= self.max_items || state.bytes + weight > self.max_bytes {
            state.refused += 1;
            return Err(item);
        }
        state.bytes += weight;
        state.items.push_back(item);
        drop(state);
        self.ready.notify_one();
        Ok(())
    }

    /// Stop taking pushes and wake the consumer; what is queued stays.
    pub fn close(&self) {
        self.lock().closed = true;
        self.ready.notify_all();
    }

    /// Everything queued, waiting up to `timeout` for something to arrive
    /// (or for the queue to close). Returns whether the queue is closed.
    pub fn take_all(&self, timeout: Duration, into: &mut Vec<T>) -> bool {
        let mut state = self.lock();
        if state.items.is_empty() && !state.closed {
            state = self.ready.wait_timeout(state, timeout).unwrap_or_else(|p| p.into_inner()).0;
        }
        into.extend(state.items.drain(..));
        state.bytes = 0;
        state.closed
    }

    /// Messages refused so far because the queue was full or closed.
    pub fn refused(&self) -> u64 {
        self.lock().refused
    }
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;
    use std::time::Instant;

    use super::*;

    struct Msg(usize);
    impl Weigh for Msg {
        fn weight(&self) -> usize {
            self.0
        }
    }

    #[test]
    fn a_full_queue_refuses_and_counts_without_waiting() {
        let q = Queue::new(3, 1_000);
        for _ in 0..3 {
            assert!(q.try_push(Msg(1)).is_ok());
        }
        let started = Instant::now();
        let back = q.try_push(Msg(7)).unwrap_err();
        assert_eq!(back.0, 7, "the refused message comes back to the caller");
        assert!(started.elapsed() < Duration::from_millis(50));
        assert_eq!(q.refused(), 1);
        let mut got = Vec::new();
        q.take_all(Duration::ZERO, &mut got);
        assert_eq!(got.len(), 3);
        assert!(q.try_push(Msg(1)).is_ok(), "taking makes room again");
    }

    #[test]
    fn the_byte_budget_bounds_big_messages() {
        let q = Queue::new(100, 10_000);
        assert!(q.try_push(Msg(6_000)).is_ok());
        assert!(q.try_push(Msg(6_000)).is_err());
        assert!(q.try_push(Msg(4_000)).is_ok());
        let mut got = Vec::new();
        q.take_all(Duration::ZERO, &mut got);
        assert!(q.try_push(Msg(10_000)).is_ok(), "the budget is freed when taken");
    }

    #[test]
    fn take_waits_for_a_push_or_the_timeout() {
        let q = Arc::new(Queue::new(10, 100));
        let mut got = Vec::new();
        let started = Instant::now();
        assert!(!q.take_all(Duration::from_millis(30), &mut got));
        assert!(got.is_empty() && started.elapsed() >= Duration::from_millis(30));

        let pusher = Arc::clone(&q);
        let handle = std::thread::spawn(move || {
            std::thread::sleep(Duration::from_millis(20));
            pusher.try_push(Msg(1)).ok();
        });
        let started = Instant::now();
        q.take_all(Duration::from_secs(10), &mut got);
        assert_eq!(got.len(), 1);
        assert!(started.elapsed() < Duration::from_secs(5), "a push wakes the consumer");
        handle.join().unwrap();
    }

    #[test]
    fn closing_wakes_the_consumer_and_refuses_later_pushes() {
        let q = Arc::new(Queue::new(10, 100));
        q.try_push(Msg(1)).ok();
        let closer = Arc::clone(&q);
        std::thread::spawn(move || closer.close()).join().unwrap();
        assert!(q.try_push(Msg(1)).is_err());
        let mut got = Vec::new();
        assert!(q.take_all(Duration::from_secs(10), &mut got), "closed");
        assert_eq!(got.len(), 1, "what was queued before closing is kept");
    }
}
