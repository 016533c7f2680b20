//! `take_batch`: the inner loop of `rillet.testing.TestingSource`.
//!
//! Test and benchmark flows read most of their items through
//! `TestingSource`; doing its per-item loop in Python cost more than the
//! rest of a simple dataflow together.

use pyo3::ffi;
use pyo3::prelude::*;
use pyo3::types::{PyIterator, PyList, PyTuple, PyType};

/// Take up to `max_items` items from `iterator`, stopping before the
/// first item that is an instance of one of `stop_types`.
///
/// Returns `(items, stop_item, exhausted)`: `stop_item` is the item that
/// stopped the batch (or `None`), and `exhausted` is true when the iterator
/// ran out.
#[pyfunction]
pub fn take_batch<'py>(
    iterator: &Bound<'py, PyIterator>,
    max_items: usize,
    stop_types: &Bound<'py, PyTuple>,
) -> PyResult<(Bound<'py, PyList>, Option<Bound<'py, PyAny>>, bool)> {
    let py = iterator.py();
    let types: Vec<Bound<'py, PyType>> =
        stop_types.iter().map(|t| t.cast_into::<PyType>().map_err(PyErr::from)).collect::<PyResult<_>>()?;
    let mut items = Vec::with_capacity(max_items.min(1 << 16));
    let mut iter = iterator.clone();
    while items.len() < max_items {
        let Some(item) = iter.next() else {
            return Ok((PyList::new(py, items)?, None, true));
        };
        let item = item?;
        // SAFETY: both are live type objects; this only walks the MRO.
        let stops =
            types.iter().any(|t| unsafe { ffi::PyType_IsSubtype(ffi::Py_TYPE(item.as_ptr()), t.as_type_ptr()) } != 0);
        if stops {
            return Ok((PyList::new(py, items)?, Some(item), false));
        }
        items.push(item);
    }
    Ok((PyList::new(py, items)?, None, false))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stops_at_the_size_at_a_marker_and_at_the_end() {
        Python::attach(|py| {
            let marker_type = py.eval(c"type('Marker', (), {})", None, None).unwrap();
            let marker = marker_type.call0().unwrap();
            let list = PyList::new(
                py,
                [
                    1i64.into_pyobject(py).unwrap().into_any(),
                    2i64.into_pyobject(py).unwrap().into_any(),
                    marker.clone(),
                    3i64.into_pyobject(py).unwrap().into_any(),
                ],
            )
            .unwrap();
            let it = list.try_iter().unwrap();
            let types = PyTuple::new(py, [marker_type]).unwrap();
            let (items, stop, done) = take_batch(&it, 1, &types).unwrap();
            assert_eq!((items.len(), stop.is_none(), done), (1, true, false));
            let (items, stop, done) = take_batch(&it, 10, &types).unwrap();
            assert_eq!((items.len(), done), (1, false));
            assert!(stop.unwrap().is(&marker));
            let (items, stop, done) = take_batch(&it, 10, &types).unwrap();
            assert_eq!((items.len(), stop.is_none(), done), (1, true, true));
        });
    }
}
