//! Times as integer microseconds since the Unix epoch, UTC.
//!
//! Python's `datetime` and `timedelta` have microsecond resolution and a
//! range (years 1 to 9999) that fits an `i64` of microseconds, so every
//! comparison and every window bound computed here is exact.

use std::time::{SystemTime, UNIX_EPOCH};

use pyo3::prelude::*;
use pyo3::types::{PyDateAccess, PyDateTime, PyDelta, PyDeltaAccess, PyTimeAccess, PyTzInfo, PyTzInfoAccess};

use crate::pycall::short_repr;

/// Microseconds since 1970-01-01T00:00:00Z.
pub type Micros = i64;

const MICROS_PER_DAY: i64 = 86_400_000_000;

/// `datetime.min` in UTC: the watermark before any value.
pub const UTC_MIN: Micros = -62_135_596_800_000_000;

/// `datetime.max` in UTC: the watermark at the end of the input.
pub const UTC_MAX: Micros = 253_402_300_799_999_999;

/// The system time now.
pub fn system_now() -> Micros {
    match SystemTime::now().duration_since(UNIX_EPOCH) {
        Ok(d) => d.as_micros() as Micros,
        Err(e) => -(e.duration().as_micros() as Micros),
    }
}

/// Seconds since the Unix epoch, the unit of the engine's timers.
pub fn to_secs(t: Micros) -> f64 {
    t as f64 / 1e6
}

/// Days since 1970-01-01 of a proleptic Gregorian date (H. Hinnant's
/// `days_from_civil`).
fn days_from_civil(y: i64, m: i64, d: i64) -> i64 {
    let y = if m <= 2 { y - 1 } else { y };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let mp = (m + 9) % 12;
    let doy = (153 * mp + 2) / 5 + d - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

/// Why a value is not an aware `datetime`.
pub enum NotAware {
    /// Not a `datetime` at all (its type's name).
    NotDatetime(String),
    /// A naive `datetime` (its repr).
    Naive(String),
    /// `utcoffset()` raised.
    Offset(PyErr),
}

impl NotAware {
    /// The message, as the Python path words it, for `what` (e.g. "the
    /// timestamp returned by the `ts_getter` of `EventClock`").
    pub fn message(&self, step_id: &str, what: &str) -> String {
        match self {
            NotAware::NotDatetime(ty) => format!(
                "step '{step_id}': {what} must be a timezone-aware `datetime`; got a <class '{ty}'>; \
                 return e.g. `datetime(..., tzinfo=timezone.utc)`"
            ),
            NotAware::Naive(repr) => format!(
                "step '{step_id}': {what} must be a timezone-aware `datetime`; got the naive {repr}; \
                 attach a time zone, e.g. `dt.replace(tzinfo=timezone.utc)` for a UTC time, \
                 or `dt.astimezone(timezone.utc)` for a local one"
            ),
            NotAware::Offset(err) => format!("step '{step_id}': {what}: `utcoffset()` raised {err}"),
        }
    }
}

fn delta_micros(d: &Bound<'_, PyDelta>) -> Micros {
    i64::from(d.get_days()) * MICROS_PER_DAY + i64::from(d.get_seconds()) * 1_000_000 + i64::from(d.get_microseconds())
}

/// A time zone to show a time in: `None` is UTC (`timezone.utc`), else
/// the `tzinfo` the time came with.
#[derive(Debug, Default)]
pub struct Zone(pub Option<Py<PyAny>>);

impl Clone for Zone {
    fn clone(&self) -> Self {
        // Only zones other than UTC hold an object to share.
        Zone(self.0.as_ref().map(|tz| Python::attach(|py| tz.clone_ref(py))))
    }
}

/// An aware `datetime` as UTC microseconds.
pub fn from_datetime(obj: &Bound<'_, PyAny>) -> Result<Micros, NotAware> {
    from_datetime_zoned(obj).map(|(t, _)| t)
}

/// An aware `datetime` as UTC microseconds, and its zone.
pub fn from_datetime_zoned(obj: &Bound<'_, PyAny>) -> Result<(Micros, Zone), NotAware> {
    let py = obj.py();
    let dt = obj.cast::<PyDateTime>().map_err(|_| NotAware::NotDatetime(crate::pycall::type_name(obj)))?;
    let days = days_from_civil(i64::from(dt.get_year()), i64::from(dt.get_month()), i64::from(dt.get_day()));
    let local = days * MICROS_PER_DAY
        + (i64::from(dt.get_hour()) * 3600 + i64::from(dt.get_minute()) * 60 + i64::from(dt.get_second())) * 1_000_000
        + i64::from(dt.get_microsecond());
    let Some(tz) = dt.get_tzinfo() else {
        return Err(NotAware::Naive(short_repr(obj)));
    };
    // The common case, `timezone.utc`, needs no call.
    if tz.is(PyTzInfo::utc(py).map_err(NotAware::Offset)?.as_any()) {
        return Ok((local, Zone(None)));
    }
    let offset = obj.call_method0("utcoffset").map_err(NotAware::Offset)?;
    if offset.is_none() {
        return Err(NotAware::Naive(short_repr(obj)));
    }
    let offset = offset.cast::<PyDelta>().map_err(|_| NotAware::Naive(short_repr(obj)))?;
    Ok((local - delta_micros(offset), Zone(Some(tz.into_any().unbind()))))
}

/// A `timedelta` of `t` microseconds.
pub fn delta<'py>(py: Python<'py>, t: Micros) -> PyResult<Bound<'py, PyDelta>> {
    let days = t.div_euclid(MICROS_PER_DAY);
    let rest = t.rem_euclid(MICROS_PER_DAY);
    PyDelta::new(py, days as i32, (rest / 1_000_000) as i32, (rest % 1_000_000) as i32, false)
}

/// The UTC `datetime` of `t`.
pub fn to_datetime<'py>(py: Python<'py>, t: Micros) -> PyResult<Bound<'py, PyAny>> {
    let epoch = PyDateTime::new(py, 1970, 1, 1, 0, 0, 0, 0, Some(&PyTzInfo::utc(py)?.to_owned()))?;
    epoch.as_any().add(delta(py, t)?)
}

/// The `datetime` of `t` in `zone`: the same instant, shown as the value
/// it came from was (`astimezone` gives back that wall time).
pub fn to_datetime_in<'py>(py: Python<'py>, t: Micros, zone: &Zone) -> PyResult<Bound<'py, PyAny>> {
    let utc = to_datetime(py, t)?;
    match &zone.0 {
        None => Ok(utc),
        Some(tz) => utc.call_method1("astimezone", (tz.bind(py),)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn datetimes_round_trip_through_micros() {
        Python::attach(|py| {
            for t in [0, 1, -1, 1_704_067_200_123_456, UTC_MIN, UTC_MAX, -86_400_000_001] {
                let dt = to_datetime(py, t).unwrap();
                assert_eq!(from_datetime(&dt).ok(), Some(t), "{t}");
            }
        });
    }

    #[test]
    fn offsets_are_applied_and_naive_times_refused() {
        Python::attach(|py| {
            let eval = |code: &std::ffi::CStr| py.eval(code, None, None).unwrap();
            let _ = py.run(c"import datetime", None, None);
            let plus2 = eval(
                c"__import__('datetime').datetime(2024, 1, 1, 2, tzinfo=__import__('datetime').timezone(__import__('datetime').timedelta(hours=2)))",
            );
            assert_eq!(from_datetime(&plus2).ok(), Some(1_704_067_200_000_000));
            let naive = eval(c"__import__('datetime').datetime(2024, 1, 1)");
            assert!(matches!(from_datetime(&naive), Err(NotAware::Naive(_))));
            assert!(matches!(from_datetime(&eval(c"5")), Err(NotAware::NotDatetime(_))));
        });
    }
}
