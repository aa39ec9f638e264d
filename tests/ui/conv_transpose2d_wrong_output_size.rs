// A transposed convolution whose declared output height is not (H - 1) * S - 2P + KH + OP
// does not compile: 4x4 input, 2x2 kernel, stride 2 gives 8x8, not 7x8.
use neurite::prelude::*;

static UP: ConvTranspose2d<4, 4, 4, 2, 7, 8, 2, 2, 2> = ConvTranspose2d::DEFAULT;

fn main() {
    let mut y = [[[0.0; 8]; 7]; 2];
    UP.forward(&[[[0.0; 4]; 4]; 4], &mut y);
}
