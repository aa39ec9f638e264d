//! Seeded runs whose results must be bit-identical on every target: training a small MLP
//! with Adam and with SGD (Nesterov momentum, shuffled minibatches), and the digits model's
//! outputs on the test split. Each returns an FNV-1a hash of every bit of its result; the
//! host computes the same functions (`tests/tests/firmware_host.rs`) and compares.

use neurite::layer::{Dense, Infer, Layer, Tanh};
use neurite::loss::{CrossEntropy, Reduction};
use neurite::optim::{valid, Adam, AdamConfig, Optimizer, SgdConfig, SgdMomentum};
use neurite::params::Params;
use neurite::prelude::{LayerInit, Rng, Trainer};
use neurite::train::train_epoch;

/// The small model of the training runs.
pub type Small = neurite::Seq![Dense<4, 8>, Tanh<8>, Dense<8, 3>];
const SAMPLES: usize = 24;

/// FNV-1a (64-bit) over the bits of f32 values.
#[derive(Clone, Copy, Debug)]
pub struct Fnv(u64);

impl Default for Fnv {
    fn default() -> Self {
        Self::new()
    }
}

impl Fnv {
    /// The offset basis.
    pub const fn new() -> Self {
        Self(0xcbf2_9ce4_8422_2325)
    }
    /// Adds the four little-endian bytes of `v`'s bits.
    pub fn add(&mut self, v: f32) {
        for b in v.to_bits().to_le_bytes() {
            self.0 ^= u64::from(b);
            self.0 = self.0.wrapping_mul(0x0000_0100_0000_01b3);
        }
    }
    /// The hash.
    pub const fn finish(&self) -> u64 {
        self.0
    }
}

/// FNV-1a over the bits of `values`.
pub fn fnv1a(values: impl IntoIterator<Item = f32>) -> u64 {
    let mut h = Fnv::new();
    values.into_iter().for_each(|v| h.add(v));
    h.finish()
}

/// FNV-1a over every parameter of `p`, tensor by tensor.
pub fn hash_params<P: Params>(p: &P) -> u64 {
    fnv1a((0..P::TENSORS).flat_map(|t| p.tensor(t).iter().copied()))
}

fn data() -> ([[f32; 4]; SAMPLES], [usize; SAMPLES]) {
    let mut rng = Rng::new(11);
    let xs: [[f32; 4]; SAMPLES] = core::array::from_fn(|_| core::array::from_fn(|_| rng.normal()));
    let ys = core::array::from_fn(|i| {
        let x = xs[i];
        let s = [x[0] + x[1], x[2] - x[3], x[1] * x[2]];
        neurite::kernel::reduce::argmax(&s)
    });
    (xs, ys)
}

/// The small model, initialised from `seed` (Xavier).
pub fn small(seed: u64) -> Small {
    let mut m = Small::DEFAULT;
    m.init(&LayerInit::XAVIER, &mut Rng::new(seed));
    m
}

/// Trains `small(seed)` with `opt` for `epochs` epochs of minibatches of `batch` (shuffled
/// when `rng` is given): `(hash of the weights, final loss)`.
fn run<O: Optimizer<<Small as Layer>::Grads>>(
    seed: u64,
    mut opt: O,
    epochs: usize,
    batch: usize,
    mut rng: Option<Rng>,
) -> (u64, f32) {
    let (xs, ys) = data();
    let mut m = small(seed);
    let mut t = Trainer::<Small>::new();
    let mut order = [0usize; SAMPLES];
    let ce = CrossEntropy::default();
    let mut loss = f32::NAN;
    for _ in 0..epochs {
        let r = train_epoch(
            &mut m,
            &mut opt,
            &mut t,
            &ce,
            Reduction::Mean,
            &xs,
            &ys,
            batch,
            &mut order,
            rng.as_mut(),
        );
        if let Ok(l) = r {
            loss = l;
        }
    }
    (hash_params(&m), loss)
}

/// Adam (weight decay 1e-3), full batch, `steps` steps: `(hash of the weights, final loss)`.
pub fn adam_run(steps: usize) -> (u64, f32) {
    const CFG: AdamConfig = AdamConfig { weight_decay: 1e-3, ..AdamConfig::adam(0.01) };
    const OPT: Adam<<Small as Layer>::Grads> = valid!(Adam::new(CFG));
    run(7, OPT, steps, SAMPLES, None)
}

/// SGD with Nesterov momentum, shuffled minibatches of 6, `epochs` epochs:
/// `(hash of the weights, final loss)`.
pub fn sgd_run(epochs: usize) -> (u64, f32) {
    const CFG: SgdConfig = SgdConfig { momentum: 0.9, nesterov: true, ..SgdConfig::new(0.05) };
    const OPT: SgdMomentum<<Small as Layer>::Grads> = valid!(SgdMomentum::new(CFG));
    run(8, OPT, epochs, 6, Some(Rng::new(12)))
}

/// The digits model on the test split (clean inputs): `(hash of every output, correct)`.
pub fn digits_inference() -> (u64, usize) {
    let model = &crate::model::MODEL;
    let mut correct = 0;
    let mut h = Fnv::new();
    for &i in crate::digits::TEST_ROWS.iter() {
        let i = usize::from(i);
        let mut y = [0.0f32; 10];
        model.forward(&crate::digits::input(i), &mut y);
        correct += usize::from(
            neurite::kernel::reduce::argmax(&y) == usize::from(crate::digits::LABELS[i]),
        );
        y.iter().for_each(|&v| h.add(v));
    }
    (h.finish(), correct)
}

/// The digits CNN's outputs on the test split (inference through reused buffers): the hash
/// of every output bit and the number of correct predictions.
pub fn cnn_inference() -> (u64, usize) {
    cnn_inference_with(crate::cnn::infer)
}

/// [`cnn_inference`] through another inference function of the same model (the packed one).
pub fn cnn_inference_with(infer: crate::cnn::InferFn) -> (u64, usize) {
    let (mut a, mut b) = ([0.0; crate::cnn::SCRATCH], [0.0; crate::cnn::SCRATCH]);
    let (mean, std) = (&crate::cnn_model::INPUT_MEAN, &crate::cnn_model::INPUT_STD);
    let mut correct = 0;
    let mut h = Fnv::new();
    for &i in crate::digits::TEST_ROWS.iter() {
        let i = usize::from(i);
        let y = infer(&crate::digits::input_with(i, mean, std), &mut a, &mut b);
        correct += usize::from(
            neurite::kernel::reduce::argmax(&y) == usize::from(crate::digits::LABELS[i]),
        );
        y.iter().for_each(|&v| h.add(v));
    }
    (h.finish(), correct)
}

/// The digits GRU's outputs on the test rows, hashed, and how many are right: streamed one
/// row at a time (`streaming`) or by the whole-sequence forward (the same bits).
pub fn gru_inference(streaming: bool) -> (u64, usize) {
    let mut correct = 0;
    let mut h = Fnv::new();
    for &i in crate::digits::TEST_ROWS.iter() {
        let i = usize::from(i);
        let raw: [f32; 64] = core::array::from_fn(|k| f32::from(crate::digits::PIXELS[i][k]));
        let y = if streaming {
            crate::gru::infer_streaming(&raw)
        } else {
            crate::gru::infer_whole(&raw)
        };
        correct += usize::from(
            neurite::kernel::reduce::argmax(&y) == usize::from(crate::digits::LABELS[i]),
        );
        y.iter().for_each(|&v| h.add(v));
    }
    (h.finish(), correct)
}

/// Steps of the Adam run.
pub const ADAM_STEPS: usize = 300;
/// Epochs of the SGD run.
pub const SGD_EPOCHS: usize = 60;
