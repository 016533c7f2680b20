//! State shared by the worker threads of one process during one run.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};

use crate::errors::RunError;
use crate::telemetry::Hub;

/// Why a run stopped early, as told to the other processes.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum StopReason {
    /// A source raised `AbortExecution`: stop without an error.
    Aborted,
    /// Ctrl-C: stop cleanly, as an interrupt.
    Interrupted,
    /// Something failed.
    Failed,
}

/// Why a run is stopping early.
#[derive(Default)]
pub struct Shared {
    stopping: AtomicBool,
    failure: Mutex<Option<RunError>>,
    /// The failure came from another process, which reports it.
    failed_elsewhere: AtomicBool,
    /// The run channel to the studio, when there is one.
    telemetry: Option<Arc<Hub>>,
}

impl Shared {
    pub fn with_telemetry(telemetry: Option<Arc<Hub>>) -> Self {
        Self { telemetry, ..Self::default() }
    }

    pub fn telemetry(&self) -> Option<&Arc<Hub>> {
        self.telemetry.as_ref()
    }

    /// True once any worker failed, a source aborted, or the run was interrupted.
    #[inline]
    pub fn stopping(&self) -> bool {
        self.stopping.load(Ordering::Relaxed)
    }

    /// Stop the run because of `err`. The first failure is the one reported.
    pub fn fail(&self, err: RunError) {
        let mut slot = self.failure.lock().unwrap_or_else(|p| p.into_inner());
        if slot.is_none() {
            *slot = Some(err);
        }
        self.stopping.store(true, Ordering::Relaxed);
    }

    /// Stop the run because another process of the cluster failed; unless
    /// something failed here first, that process is the one to report it.
    pub fn fail_from_peer(&self, err: RunError) {
        let mut slot = self.failure.lock().unwrap_or_else(|p| p.into_inner());
        if slot.is_none() {
            *slot = Some(err);
            self.failed_elsewhere.store(true, Ordering::Relaxed);
        }
        self.stopping.store(true, Ordering::Relaxed);
    }

    /// Whether the failure that stopped the run was reported by another process.
    pub fn failed_elsewhere(&self) -> bool {
        self.failed_elsewhere.load(Ordering::Relaxed)
    }

    /// Stop the run without an error (a source raised `AbortExecution`).
    pub fn abort(&self) {
        self.stopping.store(true, Ordering::Relaxed);
    }

    /// Whether the run is stopping because something failed.
    pub fn failed(&self) -> bool {
        self.failure.lock().unwrap_or_else(|p| p.into_inner()).is_some()
    }

    /// Why the run is stopping (meaningful once `stopping()`).
    pub fn stop_reason(&self) -> StopReason {
        match &*self.failure.lock().unwrap_or_else(|p| p.into_inner()) {
            None => StopReason::Aborted,
            Some(RunError::Interrupted(_)) => StopReason::Interrupted,
            Some(_) => StopReason::Failed,
        }
    }

    /// The failure that stopped the run, if any.
    pub fn take_failure(&self) -> Option<RunError> {
        self.failure.lock().unwrap_or_else(|p| p.into_inner()).take()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_first_failure_is_the_one_reported() {
        let shared = Shared::default();
        assert!(!shared.stopping() && !shared.failed());
        shared.fail(RunError::user_value("first"));
        shared.fail(RunError::user_value("second"));
        assert!(shared.stopping() && shared.failed());
        assert_eq!(shared.take_failure().unwrap().to_string(), "first");
    }

    #[test]
    fn a_peer_failure_is_only_elsewhere_when_it_came_first() {
        let shared = Shared::default();
        shared.fail_from_peer(RunError::External("peer".into()));
        shared.fail(RunError::user_value("here"));
        assert!(shared.failed_elsewhere());
        assert_eq!(shared.take_failure().unwrap().to_string(), "peer");

        let shared = Shared::default();
        shared.fail(RunError::user_value("here"));
        shared.fail_from_peer(RunError::External("peer".into()));
        assert!(!shared.failed_elsewhere());
        assert_eq!(shared.take_failure().unwrap().to_string(), "here");
    }

    #[test]
    fn an_interrupt_is_its_own_reason() {
        let shared = Shared::default();
        shared.fail(RunError::Interrupted(pyo3::exceptions::PyKeyboardInterrupt::new_err("test")));
        assert_eq!(shared.stop_reason(), StopReason::Interrupted);
    }

    #[test]
    fn an_abort_stops_without_failing() {
        let shared = Shared::default();
        shared.abort();
        assert!(shared.stopping());
        assert!(!shared.failed());
        assert!(shared.take_failure().is_none());
    }
}
