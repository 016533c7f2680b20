//! Which top-level step each executable step reports to.
//!
//! The studio draws the steps the user wrote: the direct substeps of the
//! `Dataflow`. The engine runs other steps: a composite operator such as
//! `count_window` or `join` is expanded into its substeps. Step ids are
//! dotted paths and step names can't contain dots, so an executable step
//! belongs to the top-level step whose id is its first two components.
//!
//! A top-level step's items in are the records on its input streams as its
//! first operators receive them; its items out are the records its inner
//! operators write onto its output streams.

use std::collections::{HashMap, HashSet};
use std::sync::Arc;

use pyo3::prelude::*;
use pyo3::types::PyDict;

use super::message::StepInfo;
use crate::plan::{Op, Plan};

/// The top-level steps of a flow, in flow order.
#[derive(Debug, Default)]
pub struct Tops {
    pub flow_id: Option<String>,
    pub steps: Vec<StepInfo>,
}

/// How one executable step reports.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Role {
    /// Index of its top-level step.
    pub top: usize,
    /// Per input port: whether records arriving there count as the top-level
    /// step's items in.
    pub entries: Vec<bool>,
    /// Per output port: the top-level step's port name, if records written
    /// there are the top-level step's items out. A sink has one "output",
    /// the records it writes.
    pub exits: Vec<Option<Arc<str>>>,
}

impl Tops {
    /// Read the top-level steps of `flow`. Anything unexpected is skipped:
    /// reading the flow properly, and failing clearly, is the plan's job.
    pub fn read(flow: &Bound<'_, PyAny>) -> Tops {
        let flow_id = flow.getattr("flow_id").and_then(|f| f.extract::<String>()).ok();
        let steps = match flow.getattr("substeps").and_then(|s| s.try_iter()) {
            Ok(iter) => iter.filter_map(|step| step.ok().and_then(|s| step_info(&s))).collect(),
            Err(_) => Vec::new(),
        };
        Tops { flow_id, steps }
    }

    /// The top-level step that executable step `step_id` belongs to.
    pub fn top_of(&self, step_id: &str) -> Option<usize> {
        let flow = self.flow_id.as_deref()?;
        let rest = step_id.strip_prefix(flow)?.strip_prefix('.')?;
        let name = rest.split('.').next()?;
        let top_id = &step_id[..flow.len() + 1 + name.len()];
        self.steps.iter().position(|s| s.step_id == top_id)
    }

    /// The role of every executable step of `plan`, by step id.
    pub fn roles(&self, plan: &Plan) -> HashMap<String, Role> {
        let mut roles = HashMap::new();
        // A stream several operators of one top-level step read is counted
        // by the first of them only.
        let mut counted: HashSet<(usize, &str)> = HashSet::new();
        for step in &plan.steps {
            let Some(top) = self.top_of(&step.step_id) else { continue };
            let info = &self.steps[top];
            let entries =
                step.ups.iter().map(|up| info.ups.contains(up) && counted.insert((top, up.as_str()))).collect();
            let exits = if step.downs.is_empty() && is_sink(&step.op) {
                // A sink's records go nowhere in the flow; what it writes is
                // what a top-level `output` step puts out.
                let port = info.up_ports.first().map(String::as_str).unwrap_or("up");
                vec![info.downs.is_empty().then(|| Arc::from(port))]
            } else {
                step.downs
                    .iter()
                    .map(|down| info.downs.iter().position(|d| d == down).map(|i| Arc::from(&*info.down_ports[i])))
                    .collect()
            };
            roles.insert(step.step_id.clone(), Role { top, entries, exits });
        }
        roles
    }
}

fn is_sink(op: &Op) -> bool {
    matches!(op, Op::PartitionedOutput(_) | Op::DynamicOutput(_))
}

fn step_info(step: &Bound<'_, PyAny>) -> Option<StepInfo> {
    let cls = step.get_type();
    let ports = |names: &str| -> Option<(Vec<String>, Vec<String>)> {
        let mut streams = Vec::new();
        let mut ports = Vec::new();
        for name in cls.getattr(names).ok()?.try_iter().ok()? {
            let name: String = name.ok()?.extract().ok()?;
            let port = step.getattr(name.as_str()).ok()?;
            if let Ok(id) = port.getattr("stream_id").and_then(|s| s.extract::<String>()) {
                streams.push(id);
                ports.push(name);
            } else {
                let ids = port.getattr("stream_ids").ok()?;
                for (key, id) in ids.cast::<PyDict>().ok()?.iter() {
                    streams.push(id.extract().ok()?);
                    ports.push(format!("{name}.{}", key.str().ok()?));
                }
            }
        }
        Some((streams, ports))
    };
    let (ups, up_ports) = ports("ups_names")?;
    let (downs, down_ports) = ports("dwn_names")?;
    Some(StepInfo {
        step_id: step.getattr("step_id").ok()?.extract().ok()?,
        op: cls.name().ok()?.to_string(),
        ups,
        up_ports,
        downs,
        down_ports,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn info(id: &str, ups: &[&str], downs: &[&str]) -> StepInfo {
        let names = |v: &[&str], p: &str| v.iter().enumerate().map(|(i, _)| format!("{p}{i}")).collect();
        StepInfo {
            step_id: id.into(),
            op: "op".into(),
            ups: ups.iter().map(|s| s.to_string()).collect(),
            up_ports: names(ups, "up"),
            downs: downs.iter().map(|s| s.to_string()).collect(),
            down_ports: names(downs, "down"),
        }
    }

    #[test]
    fn inner_steps_belong_to_their_top_level_step() {
        let tops = Tops {
            flow_id: Some("f".into()),
            steps: vec![info("f.inp", &[], &["f.inp.down"]), info("f.win", &["f.inp.down"], &["f.win.x.down"])],
        };
        assert_eq!(tops.top_of("f.inp"), Some(0));
        assert_eq!(tops.top_of("f.win"), Some(1));
        assert_eq!(tops.top_of("f.win.stateful_batch.inner"), Some(1));
        assert_eq!(tops.top_of("f.winner"), None, "a prefix of a name is not its step");
        assert_eq!(tops.top_of("g.win"), None);
        assert_eq!(tops.top_of("f"), None);
    }

    fn step(id: &str, op: Op, ups: &[&str], downs: &[&str]) -> crate::plan::Step {
        crate::plan::Step {
            step_id: id.into(),
            op,
            ups: ups.iter().map(|s| s.to_string()).collect(),
            downs: downs.iter().map(|s| s.to_string()).collect(),
        }
    }

    #[test]
    fn entries_and_exits_follow_the_top_level_ports() {
        // f.j is a composite whose two inner steps both read f.a.down (a
        // self-join) and whose last inner step writes its output.
        let tops = Tops {
            flow_id: Some("f".into()),
            steps: vec![
                info("f.a", &[], &["f.a.down"]),
                info("f.j", &["f.a.down"], &["f.j.m.down"]),
                info("f.out", &["f.j.m.down"], &[]),
            ],
        };
        pyo3::Python::attach(|py| {
            let plan = Plan {
                flow_id: "f".into(),
                steps: vec![
                    step("f.a", Op::Redistribute, &[], &["f.a.down"]),
                    step("f.j.l0", Op::Redistribute, &["f.a.down"], &["f.j.l0.down"]),
                    step("f.j.l1", Op::Redistribute, &["f.a.down"], &["f.j.l1.down"]),
                    step("f.j.m", Op::Merge, &["f.j.l0.down", "f.j.l1.down"], &["f.j.m.down"]),
                    step("f.out", Op::DynamicOutput(py.None()), &["f.j.m.down"], &[]),
                    step("g.stray", Op::Merge, &[], &[]),
                ],
            };
            let roles = tops.roles(&plan);
            let role = |id: &str| roles.get(id).cloned().unwrap();
            assert_eq!(role("f.a").entries, Vec::<bool>::new());
            assert_eq!(role("f.a").exits, vec![Some(Arc::from("down0"))]);
            assert_eq!(role("f.j.l0").entries, vec![true], "the first reader counts the stream");
            assert_eq!(role("f.j.l1").entries, vec![false], "a second reader doesn't count it again");
            assert_eq!(role("f.j.l0").exits, vec![None], "an inner stream is not the step's output");
            assert_eq!(role("f.j.m").entries, vec![false, false]);
            assert_eq!(role("f.j.m").exits, vec![Some(Arc::from("down0"))]);
            assert_eq!(role("f.j.m").top, 1);
            assert_eq!(role("f.out").entries, vec![true]);
            assert_eq!(role("f.out").exits, vec![Some(Arc::from("up0"))], "a sink's output is what it writes");
            assert!(!roles.contains_key("g.stray"));
        });
    }
}
