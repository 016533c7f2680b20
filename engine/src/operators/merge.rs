//! `merge`: one stream with the items of all upstreams.

use timely::dataflow::channels::pact::Pipeline;
use timely::dataflow::operators::{Concatenate, Operator};

use super::{Ctx, PyStream};

pub fn merge<'s>(ups: Vec<PyStream<'s>>, step_id: &str, ctx: &Ctx) -> PyStream<'s> {
    let meter = ctx.meter(step_id);
    let ups = if meter.is_on() {
        // Count each upstream on its own way in: timely's concatenation is
        // not an operator that could count.
        ups.iter()
            .enumerate()
            .map(|(port, up)| {
                let meter = meter.clone();
                up.clone().unary(Pipeline, &format!("{step_id}.{port}"), move |_cap, _info| {
                    move |input, output| {
                        let _timer = meter.timer();
                        input.for_each(|cap, batch| {
                            meter.input_at(port, batch);
                            meter.give_batch(output, &cap, batch);
                        });
                    }
                })
            })
            .collect()
    } else {
        ups
    };
    let scope = ups[0].scope();
    scope.concatenate(ups)
}
