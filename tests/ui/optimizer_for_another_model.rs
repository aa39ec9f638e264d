// An optimiser whose state was built for one model cannot step another.
use neurite::prelude::*;

type Small = neurite::Seq![Dense<4, 8>, Relu<8>, Dense<8, 3>];
type Wide = neurite::Seq![Dense<4, 16>, Relu<16>, Dense<16, 3>];

fn main() {
    let mut wide = Wide::DEFAULT;
    let grads = <Wide as Layer>::Grads::ZEROED;
    let mut opt = Adam::<<Small as Layer>::Grads>::new(AdamConfig::adam(0.01)).unwrap();
    opt.step(&mut wide, &grads);
}
