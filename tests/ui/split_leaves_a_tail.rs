// `Split<K>` of a chain of K layers would leave no tail to fine-tune: it does not compile.
use neurite::prelude::*;

type Model = neurite::Seq![Dense<2, 4>, Relu<4>, Dense<4, 1>];

fn main() {
    let model = Model::DEFAULT;
    let _tuned: FineTuneAfter<'_, Model, 3> = FineTune::after(&model);
}
