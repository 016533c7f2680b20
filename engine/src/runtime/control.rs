//! A side channel that tells every worker in the cluster to stop.
//!
//! Threads of one process see [`Shared`] directly, but workers in other
//! processes only learn about a failure through timely. Without this, a
//! process whose peer stopped cleanly would wait forever for progress that
//! never comes.

use std::cell::RefCell;
use std::rc::Rc;
use std::sync::Arc;

use timely::dataflow::channels::pact::Exchange;
use timely::dataflow::operators::{Input, Operator};
use timely::dataflow::InputHandle;
use timely::worker::Worker;

use timely::container::CapacityContainerBuilder;

use super::shared::{Shared, StopReason};
use crate::errors::RunError;
use pyo3::exceptions::PyKeyboardInterrupt;

/// Messages are `(target worker, reason)`.
type Signal = (u64, u64);
const ABORTED: u64 = 0;
const FAILED: u64 = 1;
const INTERRUPTED: u64 = 2;

pub struct Control {
    input: Option<InputHandle<u64, CapacityContainerBuilder<Vec<Signal>>>>,
    peers: usize,
    sent: bool,
}

impl Control {
    /// Build the control dataflow on this worker.
    pub fn new(worker: &mut Worker, shared: Arc<Shared>) -> Self {
        let peers = worker.peers();
        let input = Rc::new(RefCell::new(None));
        let slot = Rc::clone(&input);
        worker.dataflow::<u64, _, _>(move |scope| {
            let (handle, stream) = scope.new_input::<Vec<Signal>>();
            *slot.borrow_mut() = Some(handle);
            stream.sink(Exchange::new(|signal: &Signal| signal.0), "stop-signal", move |(input, _frontier)| {
                input.for_each(|_cap, signals| {
                    for (_, reason) in signals.drain(..) {
                        match reason {
                            FAILED => shared.fail_from_peer(RunError::External(
                                "the run failed on a worker in another process of the cluster; \
                                 that process reports the error"
                                    .into(),
                            )),
                            // Ctrl-C usually reaches every process; if this one
                            // hasn't seen it yet, stop the same clean way.
                            INTERRUPTED => shared.fail(RunError::Interrupted(PyKeyboardInterrupt::new_err(
                                "another process of the cluster was interrupted",
                            ))),
                            _ => shared.abort(),
                        }
                    }
                });
            });
        });
        let input = input.borrow_mut().take();
        Self { input, peers, sent: false }
    }

    /// Ask every worker, here and in other processes, to stop, and why.
    pub fn broadcast_stop(&mut self, reason: StopReason) {
        if self.sent {
            return;
        }
        self.sent = true;
        if let Some(input) = &mut self.input {
            for target in 0..self.peers as u64 {
                let code = match reason {
                    StopReason::Aborted => ABORTED,
                    StopReason::Failed => FAILED,
                    StopReason::Interrupted => INTERRUPTED,
                };
                input.send((target, code));
            }
            input.flush();
        }
    }

    /// The run finished normally: let the control dataflow complete.
    pub fn close(&mut self) {
        self.input = None;
    }
}
