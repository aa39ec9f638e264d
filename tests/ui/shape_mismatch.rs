// A chain whose second layer expects 7 inputs after a layer with 8 outputs does not compile.
use neurite::prelude::*;

type Model = neurite::Seq![Dense<4, 8>, Relu<7>, Dense<7, 3>];

fn main() {
    let model = Model::DEFAULT;
    let mut y = [0.0; 3];
    model.forward(&[0.0; 4], &mut y);
}
