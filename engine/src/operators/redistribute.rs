//! `redistribute`: spread items over all workers, to parallelise the
//! stateless steps that follow.

use timely::communication::Push;
use timely::container::{CapacityContainerBuilder, ContainerBuilder, PushInto};
use timely::dataflow::channels::pact::DistributorPact;
use timely::dataflow::channels::pushers::exchange::Distributor;
use timely::dataflow::channels::{Message, Stamp};
use timely::dataflow::operators::Operator;

use super::PyStream;
use crate::batch::Batch;

/// Deals records out to workers in turn. Moving a Python object between
/// threads needs no reference-count change, so this never enters Python.
struct RoundRobin {
    next: usize,
    builders: Vec<CapacityContainerBuilder<Batch>>,
}

impl Distributor<Batch> for RoundRobin {
    fn partition<T: Clone, P: Push<Message<T, Batch>>>(
        &mut self,
        container: &mut Batch,
        stamp: &Stamp<T>,
        pushers: &mut [P],
    ) {
        for item in container.take() {
            let index = self.next % pushers.len();
            self.next = self.next.wrapping_add(1);
            self.builders[index].push_into(item);
            while let Some(full) = self.builders[index].extract() {
                Message::push_at(full, stamp.clone(), &mut pushers[index]);
            }
        }
    }

    fn flush<T: Clone, P: Push<Message<T, Batch>>>(&mut self, stamp: &Stamp<T>, pushers: &mut [P]) {
        for (builder, pusher) in self.builders.iter_mut().zip(pushers.iter_mut()) {
            while let Some(batch) = builder.finish() {
                Message::push_at(batch, stamp.clone(), pusher);
            }
        }
    }
}

pub fn redistribute<'s>(up: &PyStream<'s>, step_id: &str, worker_index: usize) -> PyStream<'s> {
    let pact = DistributorPact(move |peers: usize| RoundRobin {
        // Start each worker at its own offset so small batches still spread.
        next: worker_index,
        builders: (0..peers).map(|_| Default::default()).collect(),
    });
    up.clone().unary(pact, step_id, |_cap, _info| {
        |input, output| {
            input.for_each(|cap, batch| output.session(&cap).give_container(batch));
        }
    })
}
