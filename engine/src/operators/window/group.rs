//! Group a batch of keyed records by key, keys in sorted order, each
//! key's values in arrival order: the order `stateful_batch` (and so
//! Bytewax) processes them in.
//!
//! The same result as `keyed::group_by_key`, cheaper for the many short
//! keys windowing sees: records are grouped through a hash map and only
//! the distinct keys are sorted, by their first 16 bytes read as one
//! integer (the full text breaks ties), instead of sorting every record
//! with `str` comparisons.

use pyo3::prelude::*;
use rustc_hash::FxHashMap as HashMap;

use crate::errors::RunError;
use crate::keys;
use crate::operators::keyed::KeyGroup;

/// The first 16 bytes of `text`, big-endian, zero-padded. Ordering these
/// orders texts by their first 16 bytes; UTF-8 byte order is code point
/// order, which is Python's `str` order.
fn prefix(text: &str) -> u128 {
    let mut buf = [0u8; 16];
    let n = text.len().min(16);
    buf[..n].copy_from_slice(&text.as_bytes()[..n]);
    u128::from_be_bytes(buf)
}

pub fn group_sorted<'py>(py: Python<'py>, step_id: &str, items: &[Py<PyAny>]) -> Result<Vec<KeyGroup<'py>>, RunError> {
    let mut split = Vec::with_capacity(items.len());
    for item in items {
        split.push(keys::split(step_id, item.bind(py))?);
    }
    // Each record's group, and the groups in key order.
    let (group_of, order) = {
        let mut texts = Vec::with_capacity(split.len());
        for (key, _) in &split {
            texts.push(key.to_str().map_err(|e| RunError::user_type(e.to_string()))?);
        }
        let mut index: HashMap<&str, usize> = HashMap::with_capacity_and_hasher(texts.len(), Default::default());
        let mut firsts: Vec<(u128, &str)> = Vec::new();
        let mut group_of = Vec::with_capacity(texts.len());
        for &text in &texts {
            let g = *index.entry(text).or_insert_with(|| {
                firsts.push((prefix(text), text));
                firsts.len() - 1
            });
            group_of.push(g);
        }
        let mut order: Vec<usize> = (0..firsts.len()).collect();
        order.sort_unstable_by(|&a, &b| firsts[a].cmp(&firsts[b]));
        (group_of, order)
    };
    let mut groups: Vec<Option<KeyGroup<'py>>> = (0..order.len()).map(|_| None).collect();
    for ((key, value), g) in split.into_iter().zip(group_of) {
        match &mut groups[g] {
            Some(group) => group.values.push(value),
            slot @ None => *slot = Some(KeyGroup { key, values: vec![value] }),
        }
    }
    Ok(order.into_iter().map(|g| groups[g].take().expect("each group is taken once")).collect())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::operators::keyed::group_by_key;

    #[test]
    fn same_groups_as_the_keyed_frame() {
        Python::attach(|py| {
            let items: Vec<Py<PyAny>> = py
                .eval(
                    c"[(k, i) for i, k in enumerate(['b', 'a', '10', '9', 'é', 'z' * 20, 'z' * 17, 'a', '', 'b', 'z' * 20 + 'a', '10'])]",
                    None,
                    None,
                )
                .unwrap()
                .try_iter()
                .unwrap()
                .map(|i| i.unwrap().unbind())
                .collect();
            let flat = |groups: Vec<KeyGroup<'_>>| -> Vec<(String, Vec<i64>)> {
                groups
                    .iter()
                    .map(|g| (g.key.to_string(), g.values.iter().map(|v| v.extract().unwrap()).collect()))
                    .collect()
            };
            let got = flat(group_sorted(py, "f.w", &items).unwrap());
            assert_eq!(got, flat(group_by_key(py, "f.w", &items).unwrap()));
            assert_eq!(got[0], (String::new(), vec![8]));
            assert_eq!(got[1].1, vec![2, 11]);
            assert_eq!(got[3].1, vec![1, 7]);
        });
    }
}
