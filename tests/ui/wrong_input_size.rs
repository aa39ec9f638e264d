// Feeding 3 values to a model with 4 inputs does not compile.
use neurite::prelude::*;

type Model = neurite::Seq![Dense<4, 8>, Relu<8>, Dense<8, 3>];

fn main() {
    let model = Model::DEFAULT;
    let mut y = [0.0; 3];
    model.forward(&[0.0; 3], &mut y);
}
