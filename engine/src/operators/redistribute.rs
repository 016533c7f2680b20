//! `redistribute`: spread items over all workers, to parallelise the
//! stateless steps that follow.

use timely::communication::Push;
use timely::dataflow::channels::pact::DistributorPact;
use timely::dataflow::channels::pushers::exchange::Distributor;
use timely::dataflow::channels::{Message, Stamp};
use timely::dataflow::operators::Operator;

use super::{Ctx, PyStream};
use crate::batch::{Batch, BatchBuilders};

/// Deals records out to workers in turn. Moving a Python object between
/// threads needs no reference-count change, so this never enters Python.
struct RoundRobin {
    next: usize,
    builders: BatchBuilders,
}

impl Distributor<Batch> for RoundRobin {
    fn partition<T: Clone, P: Push<Message<T, Batch>>>(
        &mut self,
        container: &mut Batch,
        stamp: &Stamp<T>,
        pushers: &mut [P],
    ) {
        let ingested = container.stamp;
        for item in container.take() {
            let index = self.next % pushers.len();
            self.next = self.next.wrapping_add(1);
            self.builders.push(index, item, ingested, stamp, &mut pushers[index]);
        }
    }

    fn flush<T: Clone, P: Push<Message<T, Batch>>>(&mut self, stamp: &Stamp<T>, pushers: &mut [P]) {
        self.builders.flush(stamp, pushers);
    }
}

pub fn redistribute<'s>(up: &PyStream<'s>, step_id: &str, ctx: &Ctx) -> PyStream<'s> {
    let worker_index = ctx.worker_index;
    let pact = DistributorPact(move |peers: usize| RoundRobin {
        // Start each worker at its own offset so small batches still spread.
        next: worker_index,
        builders: BatchBuilders::new(peers),
    });
    let meter = ctx.meter(step_id);
    up.clone().unary(pact, step_id, |_cap, _info| {
        move |input, output| {
            let _timer = meter.timer();
            input.for_each(|cap, batch| {
                meter.input(batch);
                meter.give_batch(output, &cap, batch);
            });
        }
    })
}
