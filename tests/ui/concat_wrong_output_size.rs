// A concat whose output does not hold the input's values and then the body's does not
// compile: 4 channels plus the body's 2 are 6, not 5.
use neurite::prelude::*;

type Img<const C: usize> = [[[f32; 4]; 4]; C];

static BLOCK: Concat<Conv2d<4, 4, 4, 2, 4, 4, 1, 1>, Img<4>, Img<5>> = Concat::DEFAULT;

fn main() {
    let mut y = [[[0.0; 4]; 4]; 5];
    BLOCK.forward(&[[[0.0; 4]; 4]; 4], &mut y);
}
