// Flattening 4x4x4 = 64 values into 60 does not compile.
use neurite::prelude::*;

type Model = neurite::Seq![Flatten<4, 4, 4, 60>, Dense<60, 10>];

static MODEL: Model = Model::DEFAULT;

fn main() {
    let mut y = [0.0; 10];
    MODEL.forward(&[[[0.0; 4]; 4]; 4], &mut y);
}
