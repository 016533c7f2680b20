//! The run channel: metrics, sampled records and the outcome of a run,
//! reported to the studio server (`engine/TELEMETRY.md`).
//!
//! Off unless `RILLET_TELEMETRY_SOCKET` is set; then every process of the
//! run connects to that Unix socket. The pieces:
//!
//! * `layout`: the top-level steps the studio draws, and which of them each
//!   executable step reports to;
//! * `meter`: the helper operators report through (counters, timers,
//!   latency, samples), one branch per call when the channel is off;
//! * `metrics`, `histogram`: the counters, written by their worker only and
//!   read by the telemetry thread;
//! * `sample`, `queue`: rate-capped record samples and the bounded queue
//!   that hands them to the telemetry thread;
//! * `client`, `message`: the connection and its newline-delimited JSON;
//! * `failure`: the `error` message for a failed run.

pub mod client;
pub mod failure;
pub mod histogram;
pub mod layout;
pub mod message;
pub mod meter;
pub mod metrics;
pub mod queue;
pub mod sample;

use std::sync::Arc;

use pyo3::prelude::*;

pub use meter::{Meter, Timer, WorkerMeters};
pub use metrics::{Hub, Place};

use crate::errors::RunError;
use crate::plan::Plan;
use client::{Channel, Endpoint};
use layout::Tops;
use message::{ByeReason, Hello, Message, PROTOCOL};

/// How a process's part of a run ended.
pub enum Outcome<'a> {
    /// Finished (end of input), or stopped by a source's `AbortExecution`.
    Done(ByeReason),
    /// Failed here: `error` is sent (or `bye` for an interrupt).
    Failed(&'a RunError),
    /// Stopped because another process of the cluster failed; that
    /// process reports the error, so this one sends neither `error` nor
    /// `bye`, and the server sees only one account of the failure.
    FailedElsewhere,
}

/// A process's channel to the studio.
pub struct Telemetry {
    hub: Arc<Hub>,
    channel: Channel,
}

impl Telemetry {
    /// Connect if the studio asked for it (`RILLET_TELEMETRY_SOCKET`), and
    /// say hello with the flow's top-level steps.
    pub fn from_env(flow: &Bound<'_, PyAny>, place: Place) -> Option<Telemetry> {
        let endpoint = Endpoint::from_env()?;
        let tops = Tops::read(flow);
        let hello = Message::Hello(Hello {
            token: endpoint.token.clone(),
            protocol: PROTOCOL,
            pid: std::process::id(),
            process: place.process,
            processes: place.processes,
            workers: place.workers,
            process_workers: (place.first_worker..place.first_worker + place.local_workers).collect(),
            flow_id: tops.flow_id.clone(),
            steps: tops.steps.clone(),
            histogram_bounds_ns: histogram::bounds_ns().to_vec(),
        });
        let hub = Arc::new(Hub::new(place, tops));
        let channel = flow.py().detach(|| Channel::open(Arc::clone(&hub), endpoint, &hello));
        Some(Telemetry { hub, channel })
    }

    /// The plan is read: from now on its steps can report.
    pub fn plan_ready(&self, plan: &Plan) -> Arc<Hub> {
        self.hub.set_roles(self.hub.tops.roles(plan));
        Arc::clone(&self.hub)
    }

    /// Send the final metrics and how the run ended, and close.
    pub fn finish(self, py: Python<'_>, outcome: Outcome<'_>) {
        let last = match outcome {
            Outcome::Done(reason) => Some(Message::Bye { reason }),
            Outcome::Failed(err) => Some(match failure::report(py, err, &self.hub.tops) {
                Some(report) => Message::Error(report),
                None => Message::Bye { reason: ByeReason::Interrupted },
            }),
            Outcome::FailedElsewhere => None,
        };
        let channel = self.channel;
        py.detach(move || channel.finish(last));
    }
}

/// Tell the studio that a run failed before its flow could run (its file
/// raised on import, say): `hello` without steps, then `error`. Does
/// nothing without a run channel.
pub fn report_early_failure(py: Python<'_>, exc: &Bound<'_, PyAny>, process: usize) {
    let Some(endpoint) = Endpoint::from_env() else { return };
    let place = Place { process, processes: process + 1, workers: 0, first_worker: 0, local_workers: 0 };
    let hello = Message::Hello(Hello {
        token: endpoint.token.clone(),
        protocol: PROTOCOL,
        pid: std::process::id(),
        process,
        processes: place.processes,
        workers: 0,
        process_workers: Vec::new(),
        flow_id: None,
        steps: Vec::new(),
        histogram_bounds_ns: histogram::bounds_ns().to_vec(),
    });
    let error = Message::Error(failure::early(py, exc));
    let hub = Arc::new(Hub::new(place, Tops::default()));
    py.detach(move || Channel::open(hub, endpoint, &hello).finish(Some(error)));
}
