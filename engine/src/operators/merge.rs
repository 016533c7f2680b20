//! `merge`: one stream with the items of all upstreams.

use timely::dataflow::operators::Concatenate;

use super::PyStream;

pub fn merge<'s>(ups: Vec<PyStream<'s>>) -> PyStream<'s> {
    let scope = ups[0].scope();
    scope.concatenate(ups)
}
