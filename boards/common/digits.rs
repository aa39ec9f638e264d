//! What every board runs, one copy for all of them (`#[path]`-included by each board's
//! `main.rs`, next to `firmware/src/model.rs`, the digits model exported by the host): one
//! inference of the 64-64-10 digits model on a fixed sample, then one SGD step of its last
//! layer (the head) behind the first two layers, which stay in flash.

use crate::model::{self, INPUT_MEAN, INPUT_STD};
use neurite::activation::Relu;
use neurite::footprint::{fine_tuning, inference, Footprint};
use neurite::layer::{Act, Dense, Layer};
use neurite::loss::{CrossEntropy, Reduction, Target};
use neurite::optim::{valid, SgdConfig, SgdMomentum};
use neurite::prelude::Trainer;
use neurite::train::FineTune;

/// The frozen prefix (first dense layer and its ReLU), read in place from flash.
pub type Frozen = (Dense<64, 64>, Act<Relu, 64>);
/// The fine-tuned head, trained in RAM.
pub type Head = Dense<64, 10>;
/// The head's optimiser: SGD with momentum (as firmware/src/budget.rs).
pub type HeadOptimizer = SgdMomentum<<Head as Layer>::Grads>;
/// The model behind the frozen prefix, with its head in RAM.
pub type Tuned = FineTune<&'static Frozen, Head>;

/// The frozen prefix, in flash.
pub static FROZEN: Frozen = (model::MODEL.0, model::MODEL.1 .0);
/// The head as exported (the initial value of the RAM copy that is trained).
pub const HEAD: Head = model::MODEL.1 .1;
/// Learning rate of the head's SGD.
pub const LR: f32 = 0.01;
/// Momentum of the head's SGD.
pub const MOMENTUM: f32 = 0.9;

/// The model with its head in RAM, ready to train (usable in a `static`).
pub const fn tuned() -> Tuned {
    FineTune::new(&FROZEN, HEAD)
}
/// The head's optimiser, checked at compile time (`valid!`: a config outside its domain does
/// not build).
pub const OPTIMIZER: HeadOptimizer =
    valid!(SgdMomentum::new(SgdConfig { momentum: MOMENTUM, ..SgdConfig::new(LR) }));

/// Inference with the weights in flash: the input and output buffers.
pub const INFERENCE: Footprint = inference::<model::Model>();
/// Fine-tuning the head behind the frozen prefix: head, gradients, optimiser, buffers.
pub const FINE_TUNE: Footprint = fine_tuning::<Frozen, Head, HeadOptimizer>();
const _: () = assert!(INFERENCE.params == FINE_TUNE.frozen + FINE_TUNE.params);

/// A fixed sample: row 95 of `host/data/digits.csv` (in the test split; 8x8 pixels, 0..=16),
/// a handwritten 6 that the exported model classifies right but not confidently (loss about
/// 0.5), so one SGD step visibly lowers its loss.
#[rustfmt::skip]
pub const SAMPLE: [u8; 64] = [
    0, 0,  0, 11, 16,  8, 0, 0,
    0, 0,  6, 16, 13,  3, 0, 0,
    0, 0,  8, 16,  8,  0, 0, 0,
    0, 0, 13, 16,  2,  0, 0, 0,
    0, 0, 15, 16,  5,  0, 0, 0,
    0, 2, 16, 16, 16,  5, 0, 0,
    0, 1, 10, 16, 16, 14, 0, 0,
    0, 0,  0, 12, 16, 15, 0, 0,
];
/// The sample's label.
pub const LABEL: usize = 6;

/// `(x - INPUT_MEAN) / INPUT_STD`, as the host standardised the training data.
pub fn standardise(raw: &[u8; 64]) -> [f32; 64] {
    let mut x = [0.0; 64];
    for (i, xi) in x.iter_mut().enumerate() {
        *xi = (f32::from(raw[i]) - INPUT_MEAN[i]) / INPUT_STD[i];
    }
    x
}

/// The predicted class of `x` and its logits.
pub fn predict(model: &Tuned, x: &[f32; 64]) -> (usize, [f32; 10]) {
    let mut y = [0.0; 10];
    model.forward(x, &mut y);
    (neurite::kernel::reduce::argmax(&y), y)
}

/// One SGD step of the head on `(x, label)`; returns the sample's loss before and after the
/// step, or `None` if the trainer refused the sample or the loss was not finite.
pub fn fine_tune_step(
    model: &mut Tuned,
    trainer: &mut Trainer<Head>,
    opt: &mut HeadOptimizer,
    x: &[f32; 64],
    label: usize,
) -> Option<(f32, f32)> {
    let ce = CrossEntropy::default();
    trainer.begin();
    model.accumulate(trainer, &ce, x, Target::Class(label)).ok()?;
    let (before, _) = trainer.finish(&ce, Reduction::Mean).ok()?;
    model.step(opt, trainer);
    // the loss after the step (gradients computed but not applied)
    trainer.begin();
    let after = model.accumulate(trainer, &ce, x, Target::Class(label)).ok()?;
    Some((before, after))
}
