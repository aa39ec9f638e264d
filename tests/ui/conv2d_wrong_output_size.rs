// A convolution whose declared output height is not (H + 2P - KH) / S + 1 does not compile:
// 8x8 input, 3x3 kernel, stride 1, padding 1 gives 8x8, not 7x8.
use neurite::prelude::*;

static CONV: Conv2d<1, 8, 8, 4, 7, 8, 3, 3, 1, 1> = Conv2d::DEFAULT;

fn main() {
    let mut y = [[[0.0; 8]; 7]; 4];
    CONV.forward(&[[[0.0; 8]; 8]; 1], &mut y);
}
