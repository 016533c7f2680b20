//! The container every Rillet stream carries: a batch of Python objects.
//!
//! Timely moves containers between operators and workers; Rillet's records
//! are Python objects, so the container owns `Py<PyAny>` handles. All the
//! reference-count work (clone, drop, encode, decode) happens with the
//! interpreter attached exactly once per batch, never once per record.
//!
//! A batch also carries its ingestion stamp (see [`Batch::stamp`]), so that
//! the run channel can report end-to-end latency at every step, including
//! after the batch crossed to another worker or process.

use std::cell::RefCell;
use std::io::Write;

use pyo3::prelude::*;
use timely::communication::Push;
use timely::container::{
    Accountable, CapacityContainerBuilder, ContainerBuilder, DrainContainer, PushInto, SizableContainer,
};
use timely::dataflow::channels::{ContainerBytes, Message, Stamp};

use crate::codec;

/// Records per batch when an operator builds batches item by item.
pub const BATCH_CAPACITY: usize = 1024;

/// The stamp of a batch whose ingestion time is unknown.
pub const NO_STAMP: u64 = 0;

/// The earlier of two stamps, ignoring unknown ones: records merged into
/// one batch are reported as old as the oldest of them.
#[inline]
pub fn earliest(a: u64, b: u64) -> u64 {
    match (a, b) {
        (NO_STAMP, b) => b,
        (a, NO_STAMP) => a,
        (a, b) => a.min(b),
    }
}

/// Bytes before the encoded records of a batch sent to another process:
/// its stamp, so latency can be measured across processes.
const STAMP_BYTES: usize = 8;

/// A batch of Python records.
#[derive(Default)]
pub struct Batch {
    pub items: Vec<Py<PyAny>>,
    /// When the input step produced these records, in nanoseconds since
    /// the Unix epoch; [`NO_STAMP`] when unknown. Only set while the run
    /// channel is on (`engine/TELEMETRY.md`). A batch made from several
    /// batches carries the earliest of their stamps.
    pub stamp: u64,
    /// Encoded form, kept between timely's `length_in_bytes` and
    /// `into_bytes` calls so a batch sent to another process is encoded once.
    encoded: RefCell<Option<Vec<u8>>>,
}

impl Batch {
    pub fn from_vec(items: Vec<Py<PyAny>>) -> Self {
        Self { items, stamp: NO_STAMP, encoded: RefCell::new(None) }
    }

    /// A batch of `items` ingested at `stamp`.
    pub fn stamped(items: Vec<Py<PyAny>>, stamp: u64) -> Self {
        Self { items, stamp, encoded: RefCell::new(None) }
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
            return Self::stamped(Vec::new(), self.stamp);
        }
        let items = Python::attach(|py| self.items.iter().map(|o| o.clone_ref(py)).collect());
        Self::stamped(items, self.stamp)
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
                recycled.stamp = NO_STAMP;
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

/// One batch builder per target worker, for exchanges that route records
/// one by one. A built batch carries the earliest stamp of the batches its
/// records came from.
pub struct BatchBuilders {
    builders: Vec<CapacityContainerBuilder<Batch>>,
    stamps: Vec<u64>,
}

impl BatchBuilders {
    pub fn new(targets: usize) -> Self {
        Self { builders: (0..targets).map(|_| Default::default()).collect(), stamps: vec![NO_STAMP; targets] }
    }

    /// Add `item`, from a batch stamped `stamp`, to the batch for
    /// `target`, sending that batch to `pusher` when it is full.
    #[inline]
    pub fn push<T: Clone, P: Push<Message<T, Batch>>>(
        &mut self,
        target: usize,
        item: Py<PyAny>,
        stamp: u64,
        at: &Stamp<T>,
        pusher: &mut P,
    ) {
        if stamp != NO_STAMP {
            self.stamps[target] = earliest(self.stamps[target], stamp);
        }
        self.builders[target].push_into(item);
        while let Some(full) = self.builders[target].extract() {
            full.stamp = std::mem::replace(&mut self.stamps[target], NO_STAMP);
            Message::push_at(full, at.clone(), pusher);
        }
    }

    /// Send every partly filled batch.
    pub fn flush<T: Clone, P: Push<Message<T, Batch>>>(&mut self, at: &Stamp<T>, pushers: &mut [P]) {
        let targets = self.builders.iter_mut().zip(self.stamps.iter_mut());
        for ((builder, stamp), pusher) in targets.zip(pushers.iter_mut()) {
            while let Some(batch) = builder.finish() {
                batch.stamp = std::mem::replace(stamp, NO_STAMP);
                Message::push_at(batch, at.clone(), pusher);
            }
        }
    }
}

impl ContainerBytes for Batch {
    fn from_bytes(bytes: timely::bytes::arc::Bytes) -> Self {
        let (stamp, records) = bytes.split_at(STAMP_BYTES.min(bytes.len()));
        let stamp = u64::from_le_bytes(stamp.try_into().unwrap_or([0; STAMP_BYTES]));
        let items = Python::attach(|py| codec::decode_batch(py, records));
        match items {
            Ok(items) => Self::stamped(items, stamp),
            // The sender encoded these bytes itself; failing here means a
            // pickled object can't be rebuilt in this process (for example
            // a class defined only in the sender's `__main__`).
            Err(err) => panic!("could not decode records received from another process: {err}"),
        }
    }

    fn length_in_bytes(&self) -> usize {
        let mut cache = self.encoded.borrow_mut();
        let bytes = cache.get_or_insert_with(|| self.encode());
        (STAMP_BYTES + bytes.len() + 7) & !7
    }

    fn into_bytes<W: Write>(&self, writer: &mut W) {
        let bytes = self.encoded.borrow_mut().take().unwrap_or_else(|| self.encode());
        let len = STAMP_BYTES + bytes.len();
        let slop = ((len + 7) & !7) - len;
        writer.write_all(&self.stamp.to_le_bytes()).expect("writing records to a timely buffer");
        writer.write_all(&bytes).expect("writing records to a timely buffer");
        writer.write_all(&[0u8; 8][..slop]).expect("writing records to a timely buffer");
    }
}
