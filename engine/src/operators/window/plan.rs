//! Reading a native window step's description, as
//! `rillet.operators.windowing._native_plan` returns it.

use pyo3::prelude::*;
use pyo3::types::PyTuple;

use super::clock::ClockSpec;
use super::logic::LogicSpec;
use super::session::SessionSpec;
use super::sliding::SlidingSpec;
use super::state::{WindowSpec, WindowerSpec};
use super::time;
use crate::errors::RunError;

fn bad(step_id: &str, what: impl std::fmt::Display) -> RunError {
    RunError::Internal(format!("step '{step_id}': unexpected native window plan: {what}"))
}

fn item<'py>(t: &Bound<'py, PyTuple>, i: usize, step_id: &str) -> Result<Bound<'py, PyAny>, RunError> {
    t.get_item(i).map_err(|e| bad(step_id, e))
}

fn optional(obj: Bound<'_, PyAny>) -> Option<Py<PyAny>> {
    (!obj.is_none()).then(|| obj.unbind())
}

impl WindowSpec {
    /// Build the spec from `plan` (a tuple `(clock, windower, logic,
    /// ordered, WindowMetadata)`).
    /// `emit_meta`: whether any step reads the `meta` stream.
    pub fn from_plan(step_id: &str, plan: &Bound<'_, PyAny>, emit_meta: bool) -> Result<WindowSpec, RunError> {
        let t = plan.cast::<PyTuple>().map_err(|e| bad(step_id, e))?;
        let tuple = |i: usize| -> Result<Bound<'_, PyTuple>, RunError> {
            item(t, i, step_id)?.cast_into::<PyTuple>().map_err(|e| bad(step_id, e))
        };
        let int = |obj: Bound<'_, PyAny>| obj.extract::<i64>().map_err(|e| bad(step_id, e));
        let kind = |t: &Bound<'_, PyTuple>| -> Result<String, RunError> {
            item(t, 0, step_id)?.extract::<String>().map_err(|e| bad(step_id, e))
        };

        let c = tuple(0)?;
        let clock = match kind(&c)?.as_str() {
            "system" => ClockSpec::System,
            "event" => ClockSpec::Event {
                ts_getter: item(&c, 1, step_id)?.unbind(),
                wait: int(item(&c, 2, step_id)?)?,
                now_getter: optional(item(&c, 3, step_id)?),
                to_system_utc: optional(item(&c, 4, step_id)?),
            },
            other => return Err(bad(step_id, format!("clock {other:?}"))),
        };

        let w = tuple(1)?;
        let windower = match kind(&w)?.as_str() {
            "session" => WindowerSpec::Session(SessionSpec { gap: int(item(&w, 1, step_id)?)? }),
            "sliding" => {
                let length = int(item(&w, 1, step_id)?)?;
                let offset = int(item(&w, 2, step_id)?)?;
                let align_obj = item(&w, 3, step_id)?;
                let align_to = time::from_datetime(&align_obj)
                    .map_err(|why| RunError::user_type(why.message(step_id, "`align_to`")))?;
                let py = plan.py();
                WindowerSpec::Sliding {
                    spec: SlidingSpec { length, offset, align_to },
                    align_to: align_obj.unbind(),
                    offset: time::delta(py, offset).map_err(|e| bad(step_id, e))?.into_any().unbind(),
                    length: time::delta(py, length).map_err(|e| bad(step_id, e))?.into_any().unbind(),
                }
            }
            other => return Err(bad(step_id, format!("windower {other:?}"))),
        };

        let l = tuple(2)?;
        let logic = match kind(&l)?.as_str() {
            "count" => LogicSpec::Count,
            "fold" => LogicSpec::Fold {
                builder: item(&l, 1, step_id)?.unbind(),
                folder: item(&l, 2, step_id)?.unbind(),
                merger: item(&l, 3, step_id)?.unbind(),
            },
            "logic" => LogicSpec::Python { builder: item(&l, 1, step_id)?.unbind() },
            other => return Err(bad(step_id, format!("logic {other:?}"))),
        };

        Ok(WindowSpec {
            step_id: step_id.to_string(),
            clock,
            windower,
            logic,
            ordered: item(t, 3, step_id)?.is_truthy().map_err(|e| bad(step_id, e))?,
            metadata: item(t, 4, step_id)?.unbind(),
            emit_meta,
        })
    }
}
