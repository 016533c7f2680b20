//! Keyed records: `(key, value)` 2-tuples with a `str` key, and their routing.
//!
//! Stateful steps need every record of a key on the same worker, in every
//! process, on every run (recovery depends on it). So the route is a fixed
//! hash of the key's UTF-8 bytes, never Rust's randomly seeded hasher.

use pyo3::ffi;
use pyo3::prelude::*;
use pyo3::types::{PyString, PyTuple};
use timely::communication::Push;
use timely::dataflow::channels::pact::DistributorPact;
use timely::dataflow::channels::pushers::exchange::Distributor;
use timely::dataflow::channels::{Message, Stamp};

use crate::batch::{Batch, BatchBuilders};
use crate::errors::RunError;
use crate::pycall::short_repr;

/// FNV-1a over the bytes, then a splitmix64 finalizer so that the low
/// bits (used when the worker count is a power of two) are well mixed.
pub fn stable_hash(bytes: &[u8]) -> u64 {
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    for &b in bytes {
        h ^= u64::from(b);
        h = h.wrapping_mul(0x0000_0100_0000_01b3);
    }
    h ^= h >> 30;
    h = h.wrapping_mul(0xbf58_476d_1ce4_e5b9);
    h ^= h >> 27;
    h = h.wrapping_mul(0x94d0_49bb_1331_11eb);
    h ^ (h >> 31)
}

/// The key and value of a keyed record, or `None` if it has the wrong shape.
#[inline]
pub fn try_split<'py>(item: &Bound<'py, PyAny>) -> Option<(Bound<'py, PyString>, Bound<'py, PyAny>)> {
    // SAFETY: exact-type check on a live object.
    if unsafe { ffi::PyTuple_CheckExact(item.as_ptr()) } == 0 {
        return None;
    }
    // SAFETY: just checked that this is a tuple.
    let tuple = unsafe { item.cast_unchecked::<PyTuple>() };
    if tuple.len() != 2 {
        return None;
    }
    let key = tuple.get_item(0).ok()?.cast_into::<PyString>().ok()?;
    Some((key, tuple.get_item(1).ok()?))
}

/// Split a keyed record, or say exactly what is wrong with it.
pub fn split<'py>(
    step_id: &str,
    item: &Bound<'py, PyAny>,
) -> Result<(Bound<'py, PyString>, Bound<'py, PyAny>), RunError> {
    try_split(item).ok_or_else(|| shape_error(step_id, item))
}

fn shape_error(step_id: &str, item: &Bound<'_, PyAny>) -> RunError {
    let is_pair = item.cast::<PyTuple>().map(|t| t.len() == 2).unwrap_or(false);
    let problem = if is_pair {
        let key = item.get_item(0).expect("2-tuple has an item 0");
        format!("its key is a `{}`, not a `str`", crate::pycall::type_name(&key))
    } else {
        format!("it is a `{}`, not a `(key, value)` 2-tuple", crate::pycall::type_name(item))
    };
    RunError::user_type(format!(
        "step '{step_id}' requires `(key, value)` 2-tuples with `str` keys from upstream, \
         but got {}: {problem}; key the stream first with `key_on` (for example \
         `op.key_on(\"key\", stream, lambda x: str(x))`), or `map` each item to `(str_key, value)`",
        short_repr(item)
    ))
}

/// A key function returned something other than a `str`.
pub fn key_not_str(
    step_id: &str,
    key_fn: &Bound<'_, PyAny>,
    key: &Bound<'_, PyAny>,
    item: &Bound<'_, PyAny>,
) -> RunError {
    RunError::user_type(format!(
        "step '{step_id}': the return value of `key` {} must be a `str`, but it returned {} (a `{}`) \
         for item {}; convert it, for example with `str(...)`",
        short_repr(key_fn),
        short_repr(key),
        crate::pycall::type_name(key),
        short_repr(item)
    ))
}

/// A `(key, value)` tuple.
pub fn pair(key: &Bound<'_, PyAny>, value: Bound<'_, PyAny>) -> Py<PyAny> {
    PyTuple::new(key.py(), [key.clone(), value]).expect("2-tuple").into_any().unbind()
}

/// Route hash of a keyed record; records of the wrong shape all go to
/// worker 0, where the stateful step reports them.
#[inline]
pub fn route(item: &Bound<'_, PyAny>) -> u64 {
    match try_split(item) {
        Some((key, _)) => key.to_str().map(|k| stable_hash(k.as_bytes())).unwrap_or(0),
        None => 0,
    }
}

/// Spreads a batch over workers with a route function over Python
/// records, attaching to Python once per batch.
pub struct PyDistributor<F> {
    builders: BatchBuilders,
    route: F,
}

impl<F> PyDistributor<F> {
    pub fn new(peers: usize, route: F) -> Self {
        Self { builders: BatchBuilders::new(peers), route }
    }
}

impl<F: FnMut(&Bound<'_, PyAny>) -> u64> Distributor<Batch> for PyDistributor<F> {
    fn partition<T: Clone, P: Push<Message<T, Batch>>>(
        &mut self,
        container: &mut Batch,
        stamp: &Stamp<T>,
        pushers: &mut [P],
    ) {
        let peers = pushers.len() as u64;
        let ingested = container.stamp;
        let items = container.take();
        Python::attach(|py| {
            for item in items {
                let index = ((self.route)(item.bind(py)) % peers) as usize;
                self.builders.push(index, item, ingested, stamp, &mut pushers[index]);
            }
        });
    }

    fn flush<T: Clone, P: Push<Message<T, Batch>>>(&mut self, stamp: &Stamp<T>, pushers: &mut [P]) {
        self.builders.flush(stamp, pushers);
    }
}

/// Routes a record to a worker.
pub type Route = fn(&Bound<'_, PyAny>) -> u64;

/// The exchange contract for keyed steps: by a stable hash of the key.
pub fn by_key() -> DistributorPact<impl FnOnce(usize) -> PyDistributor<Route>> {
    DistributorPact(|peers| PyDistributor::new(peers, route as Route))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hash_is_fixed_across_runs_and_builds() {
        // Recovery and multi-process routing depend on these exact values.
        assert_eq!(stable_hash(b""), 0xf52a_15e9_a9b5_e89b);
        assert_eq!(stable_hash(b"user-42"), 0x7a15_96f0_e94b_5793);
    }

    #[test]
    fn keys_spread_evenly_over_workers() {
        for peers in [2u64, 3, 4, 8] {
            let mut counts = vec![0u32; peers as usize];
            for i in 0..10_000 {
                counts[(stable_hash(format!("key{i}").as_bytes()) % peers) as usize] += 1;
            }
            let expected = 10_000 / peers as u32;
            for c in counts {
                assert!(c > expected * 9 / 10 && c < expected * 11 / 10, "{peers} peers: {c} vs {expected}");
            }
        }
    }

    #[test]
    fn split_explains_bad_shapes() {
        Python::attach(|py| {
            let good = py.eval(c"('k', 1)", None, None).unwrap();
            assert!(split("f.s", &good).is_ok());
            let int_key = py.eval(c"(1, 2)", None, None).unwrap();
            let msg = split("f.s", &int_key).unwrap_err().to_string();
            assert!(msg.contains("step 'f.s'") && msg.contains("key is a `int`"), "{msg}");
            let not_pair = py.eval(c"'abc'", None, None).unwrap();
            let msg = split("f.s", &not_pair).unwrap_err().to_string();
            assert!(msg.contains("it is a `str`, not a `(key, value)` 2-tuple") && msg.contains("key_on"), "{msg}");
        });
    }
}
