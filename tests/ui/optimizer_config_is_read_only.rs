// An optimiser's configuration is checked when it is built, so it cannot be changed behind
// that check afterwards: the learning rate goes through `set_lr` (checked), the rest is fixed.
use neurite::optim::{Sgd, SgdConfig};
use neurite::prelude::Dense;

fn main() {
    let mut opt = Sgd::<<Dense<2, 1> as neurite::layer::Layer>::Grads>::new(SgdConfig::new(0.1)).unwrap();
    opt.config.lr = -1.0;
}
