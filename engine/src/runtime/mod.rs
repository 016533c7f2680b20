//! Running a plan: in the calling thread, on worker threads, or as one
//! process of a cluster.

pub mod build;
pub mod cluster;
pub mod control;
pub mod partitions;
pub mod shared;
pub mod worker;

use std::panic::{catch_unwind, AssertUnwindSafe};
use std::sync::Arc;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use pyo3::prelude::*;

use crate::errors::RunError;
use crate::plan::Plan;
use crate::telemetry::{self, message::ByeReason, Outcome, Telemetry};
use shared::Shared;

/// Bytewax's default epoch length.
pub const DEFAULT_EPOCH_INTERVAL: Duration = Duration::from_secs(10);

/// How often a waiting caller thread looks at Python's signals and the workers.
const WAIT_TICK: Duration = Duration::from_millis(20);

#[derive(Clone, Debug)]
pub struct RunConfig {
    pub epoch_interval: Duration,
}

/// Seconds since the Unix epoch, the unit Rillet uses for wall-clock timers.
pub fn now_secs() -> f64 {
    SystemTime::now().duration_since(UNIX_EPOCH).map(|d| d.as_secs_f64()).unwrap_or_default()
}

/// Where the workers of a run live.
pub enum Topology {
    /// One worker, on the calling thread.
    CallingThread,
    /// `threads` workers in this process, which is `process` of `addresses`
    /// (no addresses: a single-process run).
    Threads { threads: usize, process: usize, addresses: Vec<String> },
}

impl Topology {
    /// This process's place in the run, as the run channel reports it.
    fn place(&self) -> telemetry::Place {
        match self {
            Topology::CallingThread => {
                telemetry::Place { process: 0, processes: 1, workers: 1, first_worker: 0, local_workers: 1 }
            }
            Topology::Threads { threads, process, addresses } => {
                let processes = addresses.len().max(1);
                let process = if processes > 1 { *process } else { 0 };
                telemetry::Place {
                    process,
                    processes,
                    workers: threads * processes,
                    first_worker: process * threads,
                    local_workers: *threads,
                }
            }
        }
    }
}

/// Run `flow` to completion, a failure, an abort or an interrupt.
pub fn run(py: Python<'_>, flow: &Bound<'_, PyAny>, topology: Topology, cfg: RunConfig) -> PyResult<()> {
    // The studio hears from the run before the flow is even read, so that
    // an invalid flow is reported too.
    let telemetry = Telemetry::from_env(flow, topology.place());
    let plan = Plan::from_flow(flow);
    let hub = match (&telemetry, &plan) {
        (Some(telemetry), Ok(plan)) => Some(telemetry.plan_ready(plan)),
        _ => None,
    };
    let shared = Arc::new(Shared::with_telemetry(hub));
    let outcome = plan.and_then(|plan| {
        let plan = Arc::new(plan);
        match topology {
            Topology::CallingThread => run_here(py, plan, cfg, &shared),
            Topology::Threads { threads, process, addresses } => {
                run_threads(py, plan, cfg, &shared, threads, process, addresses)
            }
        }
    });
    if let Err(err) = outcome {
        shared.fail(err);
    }
    let failure = shared.take_failure();
    if let Some(telemetry) = telemetry {
        let outcome = match &failure {
            Some(_) if shared.failed_elsewhere() => Outcome::FailedElsewhere,
            Some(err) => Outcome::Failed(err),
            None if shared.stopping() => Outcome::Done(ByeReason::Aborted),
            None => Outcome::Done(ByeReason::Eof),
        };
        telemetry.finish(py, outcome);
    }
    match failure {
        Some(err) => Err(err.into_pyerr(py)),
        None => Ok(()),
    }
}

fn run_here(py: Python<'_>, plan: Arc<Plan>, cfg: RunConfig, shared: &Arc<Shared>) -> Result<(), RunError> {
    let shared = Arc::clone(shared);
    py.detach(move || {
        catch_unwind(AssertUnwindSafe(|| {
            timely::execute_directly(move |worker| worker::worker_main(worker, &plan, &cfg, &shared, true))
        }))
        .map_err(|panic| RunError::Internal(panic_message(&panic)))
    })
}

fn run_threads(
    py: Python<'_>,
    plan: Arc<Plan>,
    cfg: RunConfig,
    shared: &Arc<Shared>,
    threads: usize,
    process: usize,
    addresses: Vec<String>,
) -> Result<(), RunError> {
    if threads == 0 {
        return Err(RunError::user_value("the number of workers per process must be at least 1"));
    }
    let cluster = addresses.len() > 1;
    if cluster && process >= addresses.len() {
        return Err(RunError::user_value(format!(
            "process id {process} is out of range for a cluster of {} addresses; use an id from 0 to {}",
            addresses.len(),
            addresses.len() - 1
        )));
    }
    // Each worker reports here when it is done, waking the waiting thread.
    let (finished_tx, finished_rx) = std::sync::mpsc::channel::<()>();
    let finished_tx = std::sync::Mutex::new(finished_tx);
    let work = {
        let shared = Arc::clone(shared);
        move |worker: &mut timely::worker::Worker| {
            let result = crate::pycall::with_thread_state(|| {
                catch_unwind(AssertUnwindSafe(|| worker::worker_main(worker, &plan, &cfg, &shared, false)))
            });
            let _ = finished_tx.lock().map(|tx| tx.send(()));
            if let Err(panic) = result {
                std::panic::resume_unwind(panic);
            }
        }
    };
    // Connecting to the other processes blocks until they are all up.
    let guards = py.detach(move || {
        if cluster {
            let sockets = cluster::connect(&addresses, process, cluster::connect_timeout())?;
            let (builders, network) = cluster::allocators(sockets, process, threads)?;
            timely::execute::execute_from(builders, network, timely::WorkerConfig::default(), work)
        } else {
            let config = timely::Config {
                communication: timely::CommunicationConfig::Process(threads),
                worker: timely::WorkerConfig::default(),
            };
            timely::execute(config, work)
        }
        .map_err(|e| RunError::External(format!("could not start the workers: {e}")))
    })?;
    // Wait here rather than in `join`, so that Ctrl-C reaches Python.
    // `detach` needs `Sync`; only this thread ever locks it.
    let finished_rx = std::sync::Mutex::new(finished_rx);
    let mut finished = 0;
    while finished < threads {
        if let Err(err) = py.check_signals() {
            shared.fail(RunError::Interrupted(err));
        }
        finished += py.detach(|| match finished_rx.lock().expect("not poisoned").recv_timeout(WAIT_TICK) {
            Ok(()) => 1,
            Err(std::sync::mpsc::RecvTimeoutError::Timeout) => 0,
            // Every sender is gone: the workers are all done or dead.
            Err(std::sync::mpsc::RecvTimeoutError::Disconnected) => threads,
        });
    }
    let results = py.detach(move || guards.join());
    for result in results {
        if let Err(message) = result {
            // Once the run is stopping, a peer that already left can make
            // the network threads fail; the reason to report is the stop's.
            if shared.stopping() {
                continue;
            }
            return Err(if message.contains("timely communication error") {
                RunError::External(format!("lost the connection to another process of the cluster: {message}"))
            } else {
                RunError::Internal(message)
            });
        }
    }
    Ok(())
}

fn panic_message(panic: &Box<dyn std::any::Any + Send>) -> String {
    if let Some(s) = panic.downcast_ref::<&str>() {
        s.to_string()
    } else if let Some(s) = panic.downcast_ref::<String>() {
        s.clone()
    } else {
        "a worker panicked".into()
    }
}
