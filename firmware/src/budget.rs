//! The model's types and the RAM this firmware promises, checked by the compiler.

use crate::model;
use neurite::footprint::{fine_tuning, inference, Footprint};
use neurite::layer::{Act, Dense, Layer};
use neurite::optim::SgdMomentum;

/// The digits model, 64-64-10.
pub type Model = model::Model;
/// The frozen prefix (first dense layer and its ReLU), read from flash.
pub type Frozen = (Dense<64, 64>, Act<neurite::activation::Relu, 64>);
/// The fine-tuned head.
pub type Head = Dense<64, 10>;
/// The on-device optimiser: SGD with momentum.
pub type HeadOptimizer = SgdMomentum<<Head as Layer>::Grads>;

/// The frozen prefix, in flash.
pub static FROZEN: Frozen = (model::MODEL.0, model::MODEL.1 .0);
/// The head as exported, in flash (copied to RAM to train).
pub static HEAD: Head = model::MODEL.1 .1;

/// Inference with the weights in flash: RAM is the input and output buffers (and the stack).
pub const INFERENCE: Footprint = inference::<Model>();
/// Fine-tuning the head behind the frozen prefix.
pub const FINE_TUNE: Footprint = fine_tuning::<Frozen, Head, HeadOptimizer>();
/// RAM budget for inference (weights stay in flash).
pub const INFERENCE_RAM_BUDGET: usize = 32 * 1024;
/// RAM budget for fine-tuning the head.
pub const FINE_TUNE_RAM_BUDGET: usize = 64 * 1024;

const _: () =
    assert!(INFERENCE.buffers <= INFERENCE_RAM_BUDGET, "inference exceeds its RAM budget");
const _: () =
    assert!(FINE_TUNE.ram() <= FINE_TUNE_RAM_BUDGET, "fine-tuning exceeds its RAM budget");
const _: () = assert!(INFERENCE.params == FINE_TUNE.frozen + FINE_TUNE.params);
