//! The container every Rillet stream carries: a batch of Python objects.
//!
//! Timely moves containers between operators and workers; Rillet's records
//! are Python objects, so the container owns `Py<PyAny>` handles. All the
//! reference-count work (clone, drop, encode, decode) happens with the
//! interpreter attached exactly once per batch, never once per record.

use std::cell::RefCell;
use std::io::Write;

use pyo3::prelude::*;
use timely::container::{Accountable, DrainContainer, PushInto, SizableContainer};
use timely::dataflow::channels::ContainerBytes;

use crate::codec;

/// Records per batch when an operator builds batches item by item.
pub const BATCH_CAPACITY: usize = 1024;

/// A batch of Python records.
#[derive(Default)]
pub struct Batch {
    pub items: Vec<Py<PyAny>>,
    /// Encoded form, kept between timely's `length_in_bytes` and
    /// `into_bytes` calls so a batch sent to another process is encoded once.
    encoded: RefCell<Option<Vec<u8>>>,
}

impl Batch {
    pub fn from_vec(items: Vec<Py<PyAny>>) -> Self {
        Self { items, encoded: RefCell::new(None) }
    }

    pub fn len(&self) -> usize {
        self.items.len()
    }

    pub fn is_empty(&self) -> bool {
        self.items.is_empty()
    }

    /// Take the records out, leaving an empty batch behind.
    pub fn take(&mut self) -> Vec<Py<PyAny>> {
        std::mem::take(&mut self.items)
    }

    fn encode(&self) -> Vec<u8> {
        Python::attach(|py| codec::encode_batch(py, &self.items))
    }
}

impl Clone for Batch {
    fn clone(&self) -> Self {
        if self.items.is_empty() {
            return Self::default();
        }
        Python::attach(|py| Self::from_vec(self.items.iter().map(|o| o.clone_ref(py)).collect()))
    }
}

impl Drop for Batch {
    fn drop(&mut self) {
        if !self.items.is_empty() {
            // Decrement every reference with one attach, instead of pushing
            // each object onto pyo3's deferred-decref pool.
            let items = std::mem::take(&mut self.items);
            Python::attach(move |_py| drop(items));
        }
    }
}

impl Accountable for Batch {
    fn record_count(&self) -> i64 {
        self.items.len() as i64
    }
    fn is_empty(&self) -> bool {
        self.items.is_empty()
    }
}

impl DrainContainer for Batch {
    type Item<'a> = Py<PyAny>;
    type DrainIter<'a> = std::vec::Drain<'a, Py<PyAny>>;
    fn drain(&mut self) -> Self::DrainIter<'_> {
        self.encoded.get_mut().take();
        self.items.drain(..)
    }
}

impl SizableContainer for Batch {
    fn at_capacity(&self) -> bool {
        self.items.len() >= BATCH_CAPACITY
    }
    fn ensure_capacity(&mut self, stash: &mut Option<Self>) {
        if self.items.capacity() == 0 {
            if let Some(mut recycled) = stash.take() {
                recycled.items.clear();
                *self = recycled;
            }
        }
        if self.items.capacity() < BATCH_CAPACITY {
            self.items.reserve(BATCH_CAPACITY - self.items.capacity());
        }
    }
}

impl PushInto<Py<PyAny>> for Batch {
    fn push_into(&mut self, item: Py<PyAny>) {
        self.items.push(item);
    }
}

impl ContainerBytes for Batch {
    fn from_bytes(bytes: timely::bytes::arc::Bytes) -> Self {
        let items = Python::attach(|py| codec::decode_batch(py, &bytes[..]));
        match items {
            Ok(items) => Self::from_vec(items),
            // The sender encoded these bytes itself; failing here means a
            // pickled object can't be rebuilt in this process (for example
            // a class defined only in the sender's `__main__`).
            Err(err) => panic!("could not decode records received from another process: {err}"),
        }
    }

    fn length_in_bytes(&self) -> usize {
        let mut cache = self.encoded.borrow_mut();
        let bytes = cache.get_or_insert_with(|| self.encode());
        (bytes.len() + 7) & !7
    }

    fn into_bytes<W: Write>(&self, writer: &mut W) {
        let bytes = self.encoded.borrow_mut().take().unwrap_or_else(|| self.encode());
        let slop = ((bytes.len() + 7) & !7) - bytes.len();
        writer.write_all(&bytes).expect("writing records to a timely buffer");
        writer.write_all(&[0u8; 8][..slop]).expect("writing records to a timely buffer");
    }
}
