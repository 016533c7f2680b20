//! Reads a `rillet.dataflow.Dataflow` into the list of steps the engine runs.
//!
//! The Python API builds a tree of operator dataclasses, exactly like
//! Bytewax's. Core operators and the operators with a native fast path
//! become a [`Step`]; every other operator is expanded into its substeps.
//! See `engine/DESIGN.md` for the contract.

use std::collections::HashSet;

use pyo3::prelude::*;
use pyo3::types::PyDict;

use crate::errors::{RunError, RunResult};

/// One executable step.
pub struct Step {
    /// Fully qualified id of the step the user wrote (e.g. `flow.double`).
    pub step_id: String,
    pub op: Op,
    /// Stream ids this step reads, in port order.
    pub ups: Vec<String>,
    /// Stream ids this step writes, in port order.
    pub downs: Vec<String>,
}

/// What a step does. Python callables are kept as `Py` handles.
pub enum Op {
    PartitionedInput(Py<PyAny>),
    DynamicInput(Py<PyAny>),
    PartitionedOutput(Py<PyAny>),
    DynamicOutput(Py<PyAny>),
    Transform(Transform, Option<Py<PyAny>>),
    FlatMapBatch(Py<PyAny>),
    Branch(Py<PyAny>),
    Merge,
    Redistribute,
    InspectDebug(Py<PyAny>),
    StatefulBatch(Py<PyAny>),
    StatefulMap {
        mapper: Py<PyAny>,
        flat: bool,
    },
    Final(Final),
    /// A `window` step with a built-in clock and windower: the tuple
    /// `rillet.operators.windowing._native_plan` returned.
    Window(Py<PyAny>),
}

/// Stateless record-at-a-time transforms that run natively.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Transform {
    Map,
    MapValue,
    Filter,
    FilterValue,
    FilterMap,
    FilterMapValue,
    FlatMap,
    FlatMapValue,
    Flatten,
    KeyOn,
    KeyRm,
    Inspect,
}

/// Keyed aggregations that emit once, when their upstream is finished.
pub enum Final {
    Fold { builder: Py<PyAny>, folder: Py<PyAny> },
    Reduce { reducer: Py<PyAny> },
    Count { key: Py<PyAny> },
    Max { by: Py<PyAny> },
    Min { by: Py<PyAny> },
}

pub struct Plan {
    pub flow_id: String,
    pub steps: Vec<Step>,
}

const OPERATORS_MODULE: &str = "rillet.operators";
const WINDOWING_MODULE: &str = "rillet.operators.windowing";

impl Plan {
    /// Read `flow` (a `rillet.dataflow.Dataflow`).
    pub fn from_flow(flow: &Bound<'_, PyAny>) -> RunResult<Plan> {
        let py = flow.py();
        let dataflow_cls = py
            .import("rillet.dataflow")
            .and_then(|m| m.getattr("Dataflow"))
            .map_err(|e| RunError::Internal(format!("can't import rillet.dataflow: {e}")))?;
        if !flow.is_instance(&dataflow_cls).unwrap_or(false) {
            return Err(RunError::user_type(format!(
                "expected a `rillet.dataflow.Dataflow` to run, got a `{}`; \
                 build one with `Dataflow(\"flow_id\")` and the operators in `rillet.operators`",
                crate::pycall::type_name(flow)
            )));
        }
        let flow_id = attr(flow, "flow_id")?;
        let mut reader = Reader { py, steps: Vec::new(), classes: IoClasses::import(py)? };
        for step in flow.getattr("substeps").map_err(py_internal)?.try_iter().map_err(py_internal)? {
            reader.read(&step.map_err(py_internal)?)?;
        }
        let plan = Plan { flow_id, steps: reader.steps };
        plan.check_streams()?;
        Ok(plan)
    }

    /// Every stream a step reads must be written by an earlier step.
    fn check_streams(&self) -> RunResult<()> {
        let mut known = HashSet::new();
        for step in &self.steps {
            for up in &step.ups {
                if !known.contains(up) {
                    return Err(RunError::user_value(format!(
                        "step '{}' reads stream '{up}', which no earlier step writes; \
                         streams must come from operators of the same dataflow",
                        step.step_id
                    )));
                }
            }
            known.extend(step.downs.iter().cloned());
        }
        Ok(())
    }

    /// Stream ids that some step reads.
    pub fn consumed_streams(&self) -> HashSet<&str> {
        self.steps.iter().flat_map(|s| s.ups.iter().map(String::as_str)).collect()
    }
}

struct IoClasses<'py> {
    fixed_source: Bound<'py, PyAny>,
    dynamic_source: Bound<'py, PyAny>,
    fixed_sink: Bound<'py, PyAny>,
    dynamic_sink: Bound<'py, PyAny>,
}

impl<'py> IoClasses<'py> {
    fn import(py: Python<'py>) -> RunResult<Self> {
        let get = |module: &str, name: &str| {
            py.import(module)
                .and_then(|m| m.getattr(name))
                .map_err(|e| RunError::Internal(format!("can't import {module}.{name}: {e}")))
        };
        Ok(Self {
            fixed_source: get("rillet.inputs", "FixedPartitionedSource")?,
            dynamic_source: get("rillet.inputs", "DynamicSource")?,
            fixed_sink: get("rillet.outputs", "FixedPartitionedSink")?,
            dynamic_sink: get("rillet.outputs", "DynamicSink")?,
        })
    }
}

struct Reader<'py> {
    py: Python<'py>,
    steps: Vec<Step>,
    classes: IoClasses<'py>,
}

fn py_internal(err: PyErr) -> RunError {
    RunError::Internal(format!("reading the dataflow: {err}"))
}

fn attr(obj: &Bound<'_, PyAny>, name: &str) -> RunResult<String> {
    obj.getattr(name)
        .map_err(py_internal)?
        .extract::<String>()
        .map_err(|e| RunError::Internal(format!("reading the dataflow: field `{name}`: {e}")))
}

fn obj(step: &Bound<'_, PyAny>, name: &str) -> RunResult<Py<PyAny>> {
    Ok(step.getattr(name).map_err(py_internal)?.unbind())
}

fn port(step: &Bound<'_, PyAny>, name: &str) -> RunResult<String> {
    attr(&step.getattr(name).map_err(py_internal)?, "stream_id")
}

impl<'py> Reader<'py> {
    fn read(&mut self, step: &Bound<'py, PyAny>) -> RunResult<()> {
        let cls = step.get_type();
        let name = attr(cls.as_any(), "__name__")?;
        let module = attr(cls.as_any(), "__module__")?;
        let step_id = attr(step, "step_id")?;
        if module == OPERATORS_MODULE {
            if let Some((op, ups, downs)) = self.native(&name, step, &step_id)? {
                self.steps.push(Step { step_id, op, ups, downs });
                return Ok(());
            }
        }
        if module == WINDOWING_MODULE && name == "window" {
            if let Some(plan) = self.native_window(step)? {
                let downs = vec![port(step, "down")?, port(step, "late")?, port(step, "meta")?];
                self.steps.push(Step { step_id, op: Op::Window(plan), ups: vec![port(step, "up")?], downs });
                return Ok(());
            }
        }
        let is_core = cls.getattr("core").and_then(|c| c.is_truthy()).unwrap_or(false);
        if is_core {
            return Err(RunError::user_value(format!(
                "step '{step_id}' uses core operator `{module}.{name}`, which this version of \
                 the Rillet engine does not run; build it from the operators in `rillet.operators`"
            )));
        }
        for sub in step.getattr("substeps").map_err(py_internal)?.try_iter().map_err(py_internal)? {
            self.read(&sub.map_err(py_internal)?)?;
        }
        Ok(())
    }

    /// How to run a `window` step natively, if its clock and windower are
    /// built in; `None` keeps the Python path through its substeps.
    fn native_window(&self, step: &Bound<'py, PyAny>) -> RunResult<Option<Py<PyAny>>> {
        let plan = self
            .py
            .import(WINDOWING_MODULE)
            .and_then(|m| m.getattr("_native_plan"))
            .and_then(|f| f.call1((step,)))
            .map_err(py_internal)?;
        Ok((!plan.is_none()).then(|| plan.unbind()))
    }

    /// The native step for operator `name`, if the engine runs it natively.
    #[allow(clippy::type_complexity)]
    fn native(
        &self,
        name: &str,
        step: &Bound<'py, PyAny>,
        step_id: &str,
    ) -> RunResult<Option<(Op, Vec<String>, Vec<String>)>> {
        let up = || port(step, "up");
        let down = || port(step, "down");
        let transform = |t: Transform, field: Option<&str>| -> RunResult<_> {
            let func = field.map(|f| obj(step, f)).transpose()?;
            Ok(Some((Op::Transform(t, func), vec![up()?], vec![down()?])))
        };
        match name {
            "input" => {
                let source = step.getattr("source").map_err(py_internal)?;
                let op = if source.is_instance(&self.classes.fixed_source).unwrap_or(false) {
                    Op::PartitionedInput(source.unbind())
                } else if source.is_instance(&self.classes.dynamic_source).unwrap_or(false) {
                    Op::DynamicInput(source.unbind())
                } else {
                    return Err(RunError::user_type(format!(
                        "step '{step_id}': the source must subclass \
                         `rillet.inputs.FixedPartitionedSource` or `rillet.inputs.DynamicSource`; \
                         got a `{}`",
                        crate::pycall::type_name(&source)
                    )));
                };
                Ok(Some((op, vec![], vec![down()?])))
            }
            "output" => {
                let sink = step.getattr("sink").map_err(py_internal)?;
                let op = if sink.is_instance(&self.classes.fixed_sink).unwrap_or(false) {
                    Op::PartitionedOutput(sink.unbind())
                } else if sink.is_instance(&self.classes.dynamic_sink).unwrap_or(false) {
                    Op::DynamicOutput(sink.unbind())
                } else {
                    return Err(RunError::user_type(format!(
                        "step '{step_id}': the sink must subclass \
                         `rillet.outputs.FixedPartitionedSink` or `rillet.outputs.DynamicSink`; \
                         got a `{}`",
                        crate::pycall::type_name(&sink)
                    )));
                };
                Ok(Some((op, vec![up()?], vec![])))
            }
            "flat_map_batch" => Ok(Some((Op::FlatMapBatch(obj(step, "mapper")?), vec![up()?], vec![down()?]))),
            "branch" => Ok(Some((
                Op::Branch(obj(step, "predicate")?),
                vec![up()?],
                vec![port(step, "trues")?, port(step, "falses")?],
            ))),
            "merge" => {
                let ids = step.getattr("ups").and_then(|p| p.getattr("stream_ids")).map_err(py_internal)?;
                let ids = ids.cast::<PyDict>().map_err(|e| py_internal(PyErr::from(e)))?;
                let ups = ids
                    .values()
                    .iter()
                    .map(|v| v.extract::<String>())
                    .collect::<PyResult<Vec<_>>>()
                    .map_err(py_internal)?;
                Ok(Some((Op::Merge, ups, vec![down()?])))
            }
            "redistribute" => Ok(Some((Op::Redistribute, vec![up()?], vec![down()?]))),
            "inspect_debug" => Ok(Some((Op::InspectDebug(obj(step, "inspector")?), vec![up()?], vec![down()?]))),
            "stateful_batch" => Ok(Some((Op::StatefulBatch(obj(step, "builder")?), vec![up()?], vec![down()?]))),
            "stateful_map" | "stateful_flat_map" => Ok(Some((
                Op::StatefulMap { mapper: obj(step, "mapper")?, flat: name == "stateful_flat_map" },
                vec![up()?],
                vec![down()?],
            ))),
            "fold_final" => Ok(Some((
                Op::Final(Final::Fold { builder: obj(step, "builder")?, folder: obj(step, "folder")? }),
                vec![up()?],
                vec![down()?],
            ))),
            "reduce_final" => {
                Ok(Some((Op::Final(Final::Reduce { reducer: obj(step, "reducer")? }), vec![up()?], vec![down()?])))
            }
            "count_final" => Ok(Some((Op::Final(Final::Count { key: obj(step, "key")? }), vec![up()?], vec![down()?]))),
            "max_final" => Ok(Some((Op::Final(Final::Max { by: obj(step, "by")? }), vec![up()?], vec![down()?]))),
            "min_final" => Ok(Some((Op::Final(Final::Min { by: obj(step, "by")? }), vec![up()?], vec![down()?]))),
            "map" => transform(Transform::Map, Some("mapper")),
            "map_value" => transform(Transform::MapValue, Some("mapper")),
            "filter" => transform(Transform::Filter, Some("predicate")),
            "filter_value" => transform(Transform::FilterValue, Some("predicate")),
            "filter_map" => transform(Transform::FilterMap, Some("mapper")),
            "filter_map_value" => transform(Transform::FilterMapValue, Some("mapper")),
            "flat_map" => transform(Transform::FlatMap, Some("mapper")),
            "flat_map_value" => transform(Transform::FlatMapValue, Some("mapper")),
            "flatten" => transform(Transform::Flatten, None),
            "key_on" => transform(Transform::KeyOn, Some("key")),
            "key_rm" => transform(Transform::KeyRm, None),
            "inspect" => transform(Transform::Inspect, Some("inspector")),
            _ => {
                let _ = self.py;
                Ok(None)
            }
        }
    }
}

impl Final {
    /// Another handle to the same Python callables.
    pub fn clone_ref(&self) -> Final {
        Python::attach(|py| match self {
            Final::Fold { builder, folder } => {
                Final::Fold { builder: builder.clone_ref(py), folder: folder.clone_ref(py) }
            }
            Final::Reduce { reducer } => Final::Reduce { reducer: reducer.clone_ref(py) },
            Final::Count { key } => Final::Count { key: key.clone_ref(py) },
            Final::Max { by } => Final::Max { by: by.clone_ref(py) },
            Final::Min { by } => Final::Min { by: by.clone_ref(py) },
        })
    }
}
