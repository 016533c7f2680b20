//! Compact encoding of Python records that cross process boundaries.
//!
//! Most stream records are built from a handful of types: `str`, `bytes`,
//! `int`, `float`, `bool`, `None` and tuples, lists and dicts of them. Those
//! get a tag byte and their raw payload: smaller than pickle, and encoded
//! without calling back into the interpreter. Anything else — including
//! subclasses such as named tuples, whose type must survive the trip — is
//! pickled.

use pyo3::exceptions::PyValueError;
use pyo3::ffi;
use pyo3::prelude::*;
use pyo3::sync::PyOnceLock;
use pyo3::types::{PyBytes, PyDict, PyList, PyString, PyTuple};

const NONE: u8 = 0;
const FALSE: u8 = 1;
const TRUE: u8 = 2;
const INT: u8 = 3;
const FLOAT: u8 = 4;
const STR: u8 = 5;
const BYTES: u8 = 6;
const TUPLE: u8 = 7;
const LIST: u8 = 8;
const DICT: u8 = 9;
const PICKLE: u8 = 10;

/// Nesting deeper than this is pickled: it bounds the encoder's recursion.
const MAX_DEPTH: usize = 64;

/// Strings up to this length are looked up in a per-thread cache when
/// decoded: keys repeat, and reusing the `str` object saves an allocation
/// and a copy on every record that crosses processes.
const CACHED_STR_LEN: usize = 48;
/// Entries in that cache; it is simply emptied when full.
const CACHED_STRS: usize = 16 * 1024;

thread_local! {
    static STR_CACHE: std::cell::RefCell<rustc_hash::FxHashMap<Box<[u8]>, Py<PyString>>> =
        std::cell::RefCell::new(rustc_hash::FxHashMap::default());
}

fn decode_str<'py>(py: Python<'py>, raw: &[u8]) -> PyResult<Bound<'py, PyAny>> {
    let text = || std::str::from_utf8(raw).map_err(|e| PyValueError::new_err(e.to_string()));
    if raw.len() > CACHED_STR_LEN {
        return Ok(PyString::new(py, text()?).into_any());
    }
    STR_CACHE.with(|cache| {
        let mut cache = cache.borrow_mut();
        if let Some(s) = cache.get(raw) {
            return Ok(s.bind(py).clone().into_any());
        }
        if cache.len() >= CACHED_STRS {
            cache.clear();
        }
        let s = PyString::new(py, text()?);
        cache.insert(raw.into(), s.clone().unbind());
        Ok(s.into_any())
    })
}

/// Drop this thread's cached strings (call while attached, before the
/// thread ends, so they are freed now rather than deferred).
pub fn clear_caches() {
    STR_CACHE.with(|cache| cache.borrow_mut().clear());
}

static PICKLE_DUMPS: PyOnceLock<Py<PyAny>> = PyOnceLock::new();
static PICKLE_LOADS: PyOnceLock<Py<PyAny>> = PyOnceLock::new();

fn pickle_fn<'py>(py: Python<'py>, cell: &'static PyOnceLock<Py<PyAny>>, name: &str) -> PyResult<Bound<'py, PyAny>> {
    cell.get_or_try_init(py, || Ok(py.import("pickle")?.getattr(name)?.unbind())).map(|f| f.bind(py).clone())
}

/// Encode a batch: a record count, then each record.
pub fn encode_batch(py: Python<'_>, items: &[Py<PyAny>]) -> Vec<u8> {
    let mut out = Vec::with_capacity(items.len() * 16 + 8);
    write_varint(&mut out, items.len() as u64);
    for item in items {
        if let Err(err) = encode(item.bind(py), &mut out, 0) {
            panic!(
                "a record can't be sent to another process: {err}; \
                 records that cross processes must be picklable"
            );
        }
    }
    out
}

/// Decode a batch written by [`encode_batch`]. Trailing padding is ignored.
pub fn decode_batch(py: Python<'_>, bytes: &[u8]) -> PyResult<Vec<Py<PyAny>>> {
    let mut reader = Reader { bytes, pos: 0 };
    let count = reader.varint()? as usize;
    let mut items = Vec::with_capacity(count);
    for _ in 0..count {
        items.push(reader.value(py)?.unbind());
    }
    Ok(items)
}

/// Encode one object, appending to `out`.
pub fn encode(obj: &Bound<'_, PyAny>, out: &mut Vec<u8>, depth: usize) -> PyResult<()> {
    let ptr = obj.as_ptr();
    // SAFETY: `ptr` is a live object borrowed for the duration of this call;
    // the exact-type checks only read its type pointer.
    unsafe {
        if ptr == ffi::Py_None() {
            out.push(NONE);
        } else if ptr == ffi::Py_True() {
            out.push(TRUE);
        } else if ptr == ffi::Py_False() {
            out.push(FALSE);
        } else if ffi::PyLong_CheckExact(ptr) != 0 {
            let mut overflow = 0;
            let value = ffi::PyLong_AsLongLongAndOverflow(ptr, &mut overflow);
            if overflow != 0 {
                return encode_pickle(obj, out);
            }
            out.push(INT);
            write_varint(out, zigzag(value));
        } else if ffi::PyFloat_CheckExact(ptr) != 0 {
            out.push(FLOAT);
            out.extend_from_slice(&ffi::PyFloat_AS_DOUBLE(ptr).to_le_bytes());
        } else if ffi::PyUnicode_CheckExact(ptr) != 0 {
            let text = obj.cast::<PyString>()?.to_str()?;
            out.push(STR);
            write_bytes(out, text.as_bytes());
        } else if ffi::PyBytes_CheckExact(ptr) != 0 {
            out.push(BYTES);
            write_bytes(out, obj.cast::<PyBytes>()?.as_bytes());
        } else if depth >= MAX_DEPTH {
            return encode_pickle(obj, out);
        } else if ffi::PyTuple_CheckExact(ptr) != 0 {
            let tuple = obj.cast::<PyTuple>()?;
            out.push(TUPLE);
            write_varint(out, tuple.len() as u64);
            for elem in tuple.iter() {
                encode(&elem, out, depth + 1)?;
            }
        } else if ffi::PyList_CheckExact(ptr) != 0 {
            let list = obj.cast::<PyList>()?;
            out.push(LIST);
            write_varint(out, list.len() as u64);
            for elem in list.iter() {
                encode(&elem, out, depth + 1)?;
            }
        } else if ffi::PyDict_CheckExact(ptr) != 0 {
            let dict = obj.cast::<PyDict>()?;
            out.push(DICT);
            write_varint(out, dict.len() as u64);
            for (k, v) in dict.iter() {
                encode(&k, out, depth + 1)?;
                encode(&v, out, depth + 1)?;
            }
        } else {
            return encode_pickle(obj, out);
        }
    }
    Ok(())
}

fn encode_pickle(obj: &Bound<'_, PyAny>, out: &mut Vec<u8>) -> PyResult<()> {
    let dumps = pickle_fn(obj.py(), &PICKLE_DUMPS, "dumps")?;
    let data = dumps.call1((obj, 5))?;
    out.push(PICKLE);
    write_bytes(out, data.cast::<PyBytes>()?.as_bytes());
    Ok(())
}

fn zigzag(v: i64) -> u64 {
    ((v << 1) ^ (v >> 63)) as u64
}

fn unzigzag(v: u64) -> i64 {
    ((v >> 1) as i64) ^ -((v & 1) as i64)
}

fn write_varint(out: &mut Vec<u8>, mut v: u64) {
    while v >= 0x80 {
        out.push((v as u8) | 0x80);
        v >>= 7;
    }
    out.push(v as u8);
}

fn write_bytes(out: &mut Vec<u8>, bytes: &[u8]) {
    write_varint(out, bytes.len() as u64);
    out.extend_from_slice(bytes);
}

struct Reader<'a> {
    bytes: &'a [u8],
    pos: usize,
}

fn truncated() -> PyErr {
    PyValueError::new_err("encoded records are truncated")
}

impl<'a> Reader<'a> {
    fn byte(&mut self) -> PyResult<u8> {
        let b = *self.bytes.get(self.pos).ok_or_else(truncated)?;
        self.pos += 1;
        Ok(b)
    }

    fn varint(&mut self) -> PyResult<u64> {
        let mut v = 0u64;
        for shift in (0..64).step_by(7) {
            let b = self.byte()?;
            v |= u64::from(b & 0x7f) << shift;
            if b < 0x80 {
                return Ok(v);
            }
        }
        Err(PyValueError::new_err("encoded varint is too long"))
    }

    fn slice(&mut self) -> PyResult<&'a [u8]> {
        let len = self.varint()? as usize;
        let end = self.pos.checked_add(len).ok_or_else(truncated)?;
        let s = self.bytes.get(self.pos..end).ok_or_else(truncated)?;
        self.pos = end;
        Ok(s)
    }

    fn value<'py>(&mut self, py: Python<'py>) -> PyResult<Bound<'py, PyAny>> {
        Ok(match self.byte()? {
            NONE => py.None().into_bound(py),
            TRUE => pyo3::types::PyBool::new(py, true).to_owned().into_any(),
            FALSE => pyo3::types::PyBool::new(py, false).to_owned().into_any(),
            INT => unzigzag(self.varint()?).into_pyobject(py)?.into_any(),
            FLOAT => {
                let raw = self.bytes.get(self.pos..self.pos + 8).ok_or_else(truncated)?;
                self.pos += 8;
                let v = f64::from_le_bytes(raw.try_into().expect("8 bytes"));
                v.into_pyobject(py)?.into_any()
            }
            STR => decode_str(py, self.slice()?)?,
            BYTES => PyBytes::new(py, self.slice()?).into_any(),
            TUPLE => {
                let n = self.varint()? as usize;
                // Each element takes at least one byte: a bogus length
                // fails here instead of allocating a huge tuple.
                if n > self.bytes.len() - self.pos {
                    return Err(truncated());
                }
                // SAFETY: `PyTuple_New(n)` returns a new tuple whose `n`
                // slots are NULL; each is filled exactly once with an owned
                // reference before the tuple is used. On an error the
                // partly filled tuple is dropped, which CPython allows.
                unsafe {
                    let tuple = Bound::from_owned_ptr_or_err(py, ffi::PyTuple_New(n as ffi::Py_ssize_t))?;
                    for i in 0..n {
                        let elem = self.value(py)?;
                        ffi::PyTuple_SET_ITEM(tuple.as_ptr(), i as ffi::Py_ssize_t, elem.into_ptr());
                    }
                    tuple
                }
            }
            LIST => {
                let n = self.varint()? as usize;
                let mut elems = Vec::with_capacity(n.min(1 << 16));
                for _ in 0..n {
                    elems.push(self.value(py)?);
                }
                PyList::new(py, elems)?.into_any()
            }
            DICT => {
                let n = self.varint()? as usize;
                let dict = PyDict::new(py);
                for _ in 0..n {
                    let k = self.value(py)?;
                    let v = self.value(py)?;
                    dict.set_item(k, v)?;
                }
                dict.into_any()
            }
            PICKLE => {
                let raw = self.slice()?;
                let loads = pickle_fn(py, &PICKLE_LOADS, "loads")?;
                loads.call1((PyBytes::new(py, raw),))?
            }
            tag => return Err(PyValueError::new_err(format!("unknown record tag {tag}"))),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn roundtrip(py: Python<'_>, src: &str) {
        let obj = py.eval(&std::ffi::CString::new(src).unwrap(), None, None).unwrap();
        let bytes = encode_batch(py, &[obj.clone().unbind()]);
        let back = decode_batch(py, &bytes).unwrap();
        assert_eq!(back.len(), 1);
        let back = back[0].bind(py);
        assert!(back.eq(&obj).unwrap(), "{src} came back as {back}");
        assert!(back.get_type().is(obj.get_type()), "{src} changed type to {}", back.get_type());
    }

    #[test]
    fn common_types_roundtrip_with_their_types() {
        Python::attach(|py| {
            for src in [
                "None",
                "True",
                "False",
                "0",
                "-1",
                "2**63 - 1",
                "-(2**63)",
                "2**100",
                "1.5",
                "float('inf')",
                "'héllo'",
                "''",
                "b'\\x00\\xff'",
                "(1, 'a', (2.0, None))",
                "[1, [2, [3]]]",
                "{'a': 1, 2: [b'x']}",
                "__import__('time').gmtime(0)",
                "__import__('fractions').Fraction(1, 3)",
                "__import__('decimal').Decimal('1.25')",
                "frozenset({1, 2})",
            ] {
                roundtrip(py, src);
            }
        });
    }

    #[test]
    fn common_types_are_smaller_than_pickle() {
        Python::attach(|py| {
            let obj = py.eval(c"('sensor-1', {'temp': 21.5, 'ok': True})", None, None).unwrap();
            let ours = encode_batch(py, &[obj.clone().unbind()]).len();
            let pickled = py.import("pickle").unwrap().call_method1("dumps", (obj, 5)).unwrap();
            let pickled = pickled.cast::<PyBytes>().unwrap().as_bytes().len();
            assert!(ours * 10 < pickled * 8, "ours {ours} bytes, pickle {pickled} bytes");
        });
    }

    #[test]
    fn truncated_input_is_an_error_not_a_crash() {
        Python::attach(|py| {
            let obj = py.eval(c"('abc', [1, 2, 3])", None, None).unwrap();
            let bytes = encode_batch(py, &[obj.unbind()]);
            for cut in 0..bytes.len() {
                assert!(decode_batch(py, &bytes[..cut]).is_err(), "cut at {cut} decoded");
            }
        });
    }
}

#[cfg(test)]
mod speed {
    use super::*;
    #[test]
    #[ignore = "timing probe, run by hand with --release --ignored --nocapture"]
    fn codec_speed() {
        Python::attach(|py| {
            let items: Vec<Py<PyAny>> = (0..1000)
                .map(|i| {
                    PyTuple::new(
                        py,
                        [
                            PyString::new(py, &format!("{}", i % 1000)).into_any(),
                            (i as i64).into_pyobject(py).unwrap().into_any(),
                        ],
                    )
                    .unwrap()
                    .into_any()
                    .unbind()
                })
                .collect();
            let t = std::time::Instant::now();
            let mut bytes: Vec<u8> = Vec::new();
            for _ in 0..1000 {
                bytes = encode_batch(py, &items);
            }
            let enc = t.elapsed();
            let t = std::time::Instant::now();
            for _ in 0..1000 {
                let _ = decode_batch(py, &bytes).unwrap();
            }
            let dec = t.elapsed();
            println!("encode {:?}/item decode {:?}/item", enc / 1_000_000, dec / 1_000_000);
        });
    }
}
