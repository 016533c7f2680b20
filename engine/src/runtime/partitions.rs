//! Which worker owns which partition of a partitioned source or sink.
//!
//! Every worker lists the partitions it can reach (`list_parts()`), the
//! lists are shared with all workers, and each partition goes to one of the
//! workers that listed it, chosen by a stable hash of its key. All workers
//! compute the same assignment from the same lists, so no coordinator is
//! needed.

use std::cell::RefCell;
use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::rc::Rc;

use pyo3::prelude::*;
use timely::dataflow::operators::{Exchange, Input, Inspect, Probe};
use timely::dataflow::ProbeHandle;
use timely::worker::Worker;

use crate::errors::{RunError, RunResult};
use crate::keys::stable_hash;
use crate::plan::{Op, Plan};
use crate::pycall::user_error;

/// The partitions of one step, in sorted order, and their owners.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct PartAssignment {
    pub parts: Vec<String>,
    pub owners: Vec<usize>,
}

impl PartAssignment {
    /// Assign from `(worker, parts it listed)`.
    pub fn assign(listed: &[(usize, Vec<String>)]) -> Self {
        let mut candidates: BTreeMap<&str, BTreeSet<usize>> = BTreeMap::new();
        for (worker, parts) in listed {
            for part in parts {
                candidates.entry(part.as_str()).or_default().insert(*worker);
            }
        }
        let mut out = Self::default();
        for (part, workers) in candidates {
            let workers: Vec<usize> = workers.into_iter().collect();
            let pick = (stable_hash(part.as_bytes()) % workers.len() as u64) as usize;
            out.parts.push(part.to_string());
            out.owners.push(workers[pick]);
        }
        out
    }

    /// Indexes of the partitions `worker` owns.
    pub fn owned_by(&self, worker: usize) -> impl Iterator<Item = usize> + '_ {
        self.owners.iter().enumerate().filter(move |(_, w)| **w == worker).map(|(i, _)| i)
    }
}

/// Step index → its assignment.
pub type Assignments = HashMap<usize, PartAssignment>;

/// Call `list_parts()` on every partitioned source and sink of `plan`, share
/// the results with every worker in the cluster, and assign partitions.
pub fn assign_all(worker: &mut Worker, plan: &Plan) -> RunResult<Assignments> {
    let mut local: Vec<(u32, Vec<String>)> = Vec::new();
    let mut failure = None;
    Python::attach(|py| {
        for (index, step) in plan.steps.iter().enumerate() {
            let obj = match &step.op {
                Op::PartitionedInput(o) | Op::PartitionedOutput(o) => o.bind(py),
                _ => continue,
            };
            let listed = obj.call_method0("list_parts").and_then(|parts| parts.extract::<Vec<String>>());
            match listed {
                Ok(parts) => local.push((index as u32, parts)),
                Err(err) => {
                    let func = obj.getattr("list_parts").unwrap_or_else(|_| obj.clone());
                    failure.get_or_insert(user_error(&step.step_id, "list_parts", &func, None, err));
                    local.push((index as u32, Vec::new()));
                }
            }
        }
    });

    let me = worker.index() as u32;
    let peers = worker.peers() as u64;
    // (step index, worker, the parts it listed)
    type Listed = Vec<(u32, u32, Vec<String>)>;
    let gathered: Rc<RefCell<Listed>> = Rc::default();
    let sink = Rc::clone(&gathered);
    let probe = ProbeHandle::new();
    let mut input = worker.dataflow::<u64, _, _>(|scope| {
        let (input, stream) = scope.new_input::<Vec<(u64, u32, u32, Vec<String>)>>();
        stream
            .exchange(|x: &(u64, u32, u32, Vec<String>)| x.0)
            .inspect(move |(_, step, worker, parts)| sink.borrow_mut().push((*step, *worker, parts.clone())))
            .probe_with(&probe);
        input
    });
    for target in 0..peers {
        for (step, parts) in &local {
            input.send((target, *step, me, parts.clone()));
        }
    }
    drop(input);
    // Park between steps: the other processes may still be starting.
    worker.step_or_park_while(Some(std::time::Duration::from_millis(1)), || !probe.done());
    if let Some(err) = failure {
        return Err(err);
    }

    let mut by_step: BTreeMap<u32, Vec<(usize, Vec<String>)>> = BTreeMap::new();
    for (step, worker, parts) in gathered.borrow_mut().drain(..) {
        by_step.entry(step).or_default().push((worker as usize, parts));
    }
    let mut out = Assignments::new();
    for (step, listed) in by_step {
        let assignment = PartAssignment::assign(&listed);
        if assignment.parts.is_empty() {
            let step_id = &plan.steps[step as usize].step_id;
            return Err(RunError::user_value(format!(
                "step '{step_id}': `list_parts()` returned no partitions on any worker; \
                 a partitioned source or sink needs at least one partition"
            )));
        }
        out.insert(step as usize, assignment);
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parts(names: &[&str]) -> Vec<String> {
        names.iter().map(|s| s.to_string()).collect()
    }

    #[test]
    fn every_part_goes_to_a_worker_that_listed_it() {
        let listed = vec![(0, parts(&["a", "b"])), (1, parts(&["b", "c"])), (2, parts(&["c"]))];
        let assigned = PartAssignment::assign(&listed);
        assert_eq!(assigned.parts, parts(&["a", "b", "c"]));
        assert_eq!(assigned.owners[0], 0);
        assert!([0, 1].contains(&assigned.owners[1]));
        assert!([1, 2].contains(&assigned.owners[2]));
    }

    #[test]
    fn assignment_ignores_listing_order() {
        let one = PartAssignment::assign(&[(1, parts(&["x", "y", "z"])), (0, parts(&["z", "y", "x"]))]);
        let two = PartAssignment::assign(&[(0, parts(&["y", "x", "z"])), (1, parts(&["x", "z", "y"]))]);
        assert_eq!(one, two);
    }

    #[test]
    fn shared_parts_spread_over_workers() {
        let names: Vec<String> = (0..100).map(|i| format!("part-{i}")).collect();
        let assigned = PartAssignment::assign(&[(0, names.clone()), (1, names)]);
        let on_zero = assigned.owned_by(0).count();
        assert!((30..=70).contains(&on_zero), "{on_zero} of 100 on worker 0");
    }
}
