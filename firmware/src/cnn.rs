//! The digits CNN on the device (`src/cnn_model.rs`, exported by the host): inference from
//! flash through two reused activation buffers, and fine-tuning of its classifier behind the
//! frozen convolutional features, from samples read through the sensor.

use crate::cnn_model::{self, INPUT_MEAN, INPUT_STD, MODEL};
use crate::ondevice::{self, Device, Failure, Report, MOMENTUM};
use crate::sensor::RawSample;
use neurite::activation::Relu;
use neurite::footprint::{self, Footprint};
use neurite::layer::{ActOn, Conv2d, Dense, Flatten, Infer, Layer, MaxPool2d, PackedConv2d};
use neurite::optim::{valid, SgdConfig, SgdMomentum};

/// The whole CNN (the exported type).
pub type Cnn = cnn_model::Model;
/// The convolutional feature extractor: every layer before the classifier, frozen in flash.
pub type Features = neurite::Seq![
    Conv1,
    ActOn<Relu, [[[f32; 8]; 8]; 16]>,
    MaxPool2d<16, 8, 8, 4, 4, 2, 2, 0>,
    Conv2,
    ActOn<Relu, [[[f32; 4]; 4]; 32]>,
    MaxPool2d<32, 4, 4, 2, 2, 2, 2, 0>,
    Flatten<32, 2, 2, 128>
];
/// First convolution: 1 -> 16 channels, 3x3, padding 1.
pub type Conv1 = Conv2d<1, 8, 8, 16, 8, 8, 3, 3, 1, 1>;
/// Second convolution: 16 -> 32 channels, 3x3, padding 1.
pub type Conv2 = Conv2d<16, 4, 4, 32, 4, 4, 3, 3, 1, 1>;
/// The classifier fine-tuned on the device.
pub type Head = Dense<128, 10>;
/// The head's optimiser: SGD with momentum.
pub type HeadOptimizer = SgdMomentum<<Head as Layer>::Grads>;

/// Learning rate of the classifier's SGD (its 128 features are unnormalised ReLU
/// activations, larger than the MLP head's inputs: the MLP's 0.01 diverged here in a run
/// during development; not tested).
pub const LR: f32 = 0.001;
/// The classifier's SGD: learning rate [`LR`], momentum [`MOMENTUM`].
pub const HEAD_SGD: SgdConfig = SgdConfig { momentum: MOMENTUM, ..SgdConfig::new(LR) };
// `HEAD_SGD` fits `HeadOptimizer`, or the firmware does not compile (built at run time, as
// in `ondevice::fine_tune`).
const _: HeadOptimizer = valid!(HeadOptimizer::new(HEAD_SGD));

/// The frozen features, in flash (the exported model's layers, so a changed export that no
/// longer has this architecture does not compile).
pub static FEATURES: Features = (
    MODEL.0,
    (
        MODEL.1 .0,
        (
            MODEL.1 .1 .0,
            (
                MODEL.1 .1 .1 .0,
                (MODEL.1 .1 .1 .1 .0, (MODEL.1 .1 .1 .1 .1 .0, MODEL.1 .1 .1 .1 .1 .1 .0)),
            ),
        ),
    ),
);
/// The CNN with both convolutions' weights laid out for the loop (`PackedConv2d`, packed at
/// compile time into flash): the same outputs, bit for bit, in fewer instructions.
pub type PackedCnn = neurite::Seq![
    PackedConv2d<1, 8, 8, 16, 8, 8, 3, 3, 1, 1, 2>,
    ActOn<Relu, [[[f32; 8]; 8]; 16]>,
    MaxPool2d<16, 8, 8, 4, 4, 2, 2, 0>,
    PackedConv2d<16, 4, 4, 32, 4, 4, 3, 3, 1, 1, 4>,
    ActOn<Relu, [[[f32; 4]; 4]; 32]>,
    MaxPool2d<32, 4, 4, 2, 2, 2, 2, 0>,
    Flatten<32, 2, 2, 128>,
    Head
];
/// [`MODEL`] packed.
pub static PACKED: PackedCnn = (
    PackedConv2d::from_conv(&MODEL.0),
    (
        MODEL.1 .0,
        (
            MODEL.1 .1 .0,
            (
                PackedConv2d::from_conv(&MODEL.1 .1 .1 .0),
                (
                    MODEL.1 .1 .1 .1 .0,
                    (
                        MODEL.1 .1 .1 .1 .1 .0,
                        (MODEL.1 .1 .1 .1 .1 .1 .0, MODEL.1 .1 .1 .1 .1 .1 .1),
                    ),
                ),
            ),
        ),
    ),
);

/// The exported classifier, in flash (copied to RAM to train).
pub static HEAD: Head = MODEL.1 .1 .1 .1 .1 .1 .1;

/// Multiply-accumulates of one inference: both convolutions (in-bounds taps only) and the
/// classifier.
pub const MACS: usize = Conv1::GEOM.macs() + Conv2::GEOM.macs() + 128 * 10;
/// Length of each of the two activation buffers of [`infer`]: the widest intermediate.
pub const SCRATCH: usize = <Cnn as Infer>::SCRATCH_WIDTH;
/// Inference RAM with the buffers reused: input, output and the two buffers.
pub const INFERENCE: Footprint = footprint::inference_reusing::<Cnn>();
/// The sum of every intermediate output (what a chain that keeps them all would need):
/// conv 16x8x8, relu 16x8x8, pool 16x4x4, conv 32x4x4, relu 32x4x4, pool 32x2x2, flatten 128.
pub const INTERMEDIATES: usize = 4 * (1024 + 1024 + 256 + 512 + 512 + 128 + 128);
/// RAM budget of CNN inference (weights in flash).
pub const INFERENCE_RAM_BUDGET: usize = 16 * 1024;

const _: () = assert!(SCRATCH == 16 * 8 * 8, "the widest buffer is the first conv's output");
const _: () = assert!(footprint::activation_buffers::<Cnn>() == 2 * 4 * SCRATCH);
const _: () = assert!(footprint::activation_buffers::<Cnn>() < INTERMEDIATES);
// the chain's training trace keeps exactly every intermediate output
const _: () = assert!(INTERMEDIATES == size_of::<<Cnn as Layer>::Trace>());
const _: () = assert!(INFERENCE.buffers <= INFERENCE_RAM_BUDGET, "CNN inference RAM budget");

/// The image of a standardised 64-pixel row: `[channel][row][column]`.
pub fn image(x: &[f32; 64]) -> [[[f32; 8]; 8]; 1] {
    [core::array::from_fn(|r| core::array::from_fn(|c| x[8 * r + c]))]
}

/// Class scores of a raw-pixel sample standardised with the CNN's training statistics:
/// the whole model, ping-ponging between two caller-owned buffers.
pub fn infer(x: &[f32; 64], a: &mut [f32; SCRATCH], b: &mut [f32; SCRATCH]) -> [f32; 10] {
    let mut y = [0.0; 10];
    MODEL.forward_reusing(&image(x), &mut y, a, b);
    y
}

/// An inference function of the CNN: a standardised sample and two activation buffers in,
/// class scores out ([`infer`], [`infer_packed`]).
pub type InferFn = fn(&[f32; 64], &mut [f32; SCRATCH], &mut [f32; SCRATCH]) -> [f32; 10];

/// [`infer`] with the packed convolutions ([`PACKED`]).
pub fn infer_packed(x: &[f32; 64], a: &mut [f32; SCRATCH], b: &mut [f32; SCRATCH]) -> [f32; 10] {
    let mut y = [0.0; 10];
    PACKED.forward_reusing(&image(x), &mut y, a, b);
    y
}

/// The frozen features of a sensor sample.
pub fn features(s: &RawSample) -> [f32; 128] {
    let (mut f, mut a, mut b) = ([0.0; 128], [0.0; SCRATCH], [0.0; SCRATCH]);
    FEATURES.forward_reusing(&image(&s.to_input(&INPUT_MEAN, &INPUT_STD)), &mut f, &mut a, &mut b);
    f
}

/// Correct predictions of `head` behind the frozen features on the test rows, read through
/// `device`'s sensor.
pub fn accuracy_through_sensor(head: &Head, device: Device) -> Result<u32, Failure> {
    ondevice::accuracy_with(device, |s| {
        let mut y = [0.0; 10];
        head.forward(&features(s), &mut y);
        y
    })
}

/// Fine-tunes the classifier on the labelled `rows` read through `device`'s sensor (the
/// procedure of [`ondevice::fine_tune_head`]).
pub fn fine_tune(
    head: Head,
    device: Device,
    rows: &[u16],
    on_buffer: impl FnMut(usize, f32),
) -> Result<(Head, Report), Failure> {
    let mut opt = HeadOptimizer::new(HEAD_SGD).map_err(|_| Failure::Optimizer)?;
    ondevice::fine_tune_head(head, &mut opt, features, device, rows, on_buffer)
}
