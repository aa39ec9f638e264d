//! Const-generic layers over the [`crate::kernel`] functions.
//!
//! Inference and training are separate capabilities:
//!
//! - [`Infer`] maps a fixed-size `Input` sample to a fixed-size `Output` sample: a row
//!   `[f32; N]`, or a shaped `[[f32; L]; C]` / `[[[f32; W]; H]; C]` for the convolutional
//!   family ([`Conv2d`], [`MaxPool2d`], [`BatchNorm2d`], [`Residual`], [`Flatten`], ...). It
//!   is all a frozen or inference-only layer implements (weights in flash, later int8): no
//!   backward, no gradient type.
//! - [`Layer`] (`Infer + Params`) adds training: a `Trace` kept by a training forward, a
//!   backward into a `Grads` value, `DEFAULT` and `init`. The training forward takes a
//!   context ([`Ctx`]) with the mode (train or eval) and the random generator that
//!   [`Dropout`] draws its masks from.
//! - [`BatchLayer<B>`] (a `Layer`) trains over a whole minibatch `[Input; B]` of
//!   compile-time size `B`, which batch normalisation in train mode needs (the batch's
//!   statistics); ordinary layers get it from the marker [`PerSample`] (their per-sample
//!   training, sample by sample). [`crate::batch_train::BatchTrainer`] drives it.
//!
//! A model is a nested pair of layers, `(A, (B, C))`, written [`Seq!`](crate::Seq)`[A, B, C]`;
//! `(A, B)` is a layer only when `B::Input == A::Output`, so a shape mismatch does not
//! compile. A pair (and a [`Residual`] block) is `Infer` when its parts are, and a `Layer`
//! when they all are.
//!
//! Buffers are the caller's: inference needs only `Input` and `Output`; training keeps the
//! intermediate outputs in a `Trace` and accumulates into a `Grads` value whose tensors line
//! up with the model's ([`Params`]). Nothing here allocates, fails or panics.
//!
//! ## Inference memory
//!
//! [`Infer::forward`] on a chain declares every intermediate output on the stack (each pair
//! declares its `A::Output` and recurses), so its activation stack grows with the **sum** of
//! the intermediate widths (the optimiser may overlap some: in QEMU, 12 more layers of 64
//! values cost it 1,808 bytes instead of 3,072; `firmware/tests/on_target.rs`).
//! [`Infer::forward_buffered`] keeps the activations in two stack arrays of
//! [`Infer::SCRATCH_WIDTH`] values whatever the depth (the same test: 688 bytes for 3 layers
//! and for 15). [`Infer::forward_reusing`] runs the same kernels in the same
//! order (bit-identical results) ping-ponging between two caller buffers `a` and `b` of
//! [`Infer::SCRATCH_WIDTH`] values each: layer 1 reads `x` and writes `a`, layer 2 reads `a`
//! and writes `b`, layer 3 reads `b` and writes `a`, ..., the last layer writes `y`. Its
//! activation RAM is `2 * SCRATCH_WIDTH` values, bounded by the widest pair of adjacent
//! buffers rather than their sum ([`crate::footprint::inference_reusing`]).
//!
//! ```
//! use neurite::prelude::*;
//! type Model = neurite::Seq![Dense<8, 32>, Relu<32>, Dense<32, 32>, Relu<32>, Dense<32, 2>];
//! const W: usize = <Model as Infer>::SCRATCH_WIDTH; // 32: the widest intermediate output
//! let mut model = Model::DEFAULT;
//! model.init(&LayerInit::XAVIER, &mut Rng::new(1));
//! let x = [0.5; 8];
//! let (mut a, mut b) = ([0.0; W], [0.0; W]);
//! let (mut y, mut reference) = ([0.0; 2], [0.0; 2]);
//! model.forward_reusing(&x, &mut y, &mut a, &mut b);
//! model.forward(&x, &mut reference);
//! assert_eq!(y, reference);
//! ```

mod activation;
mod attention;
mod batch;
mod batchnorm;
mod concat;
mod conv;
mod conv_transpose;
mod ctx;
mod dense;
mod dropout;
mod embedding;
mod fine_tune;
mod flatten;
mod graph;
mod layernorm;
mod packed_conv;
mod packed_dense;
mod pool;
mod prelu;
mod recurrent;
mod residual;
mod seq;
mod softmax;
mod split;

pub use activation::*;
pub use attention::{AttentionTrace, PositionalEmbedding, SelfAttention};
pub use batch::{BatchLayer, PerSample};
pub use batchnorm::{Affine, BatchNorm, BatchNorm1d, BatchNorm2d, BatchStats};
pub use concat::Concat;
pub use conv::{Conv1d, Conv2d};
pub use conv_transpose::ConvTranspose2d;
pub use ctx::Ctx;
pub use dense::Dense;
pub use dropout::Dropout;
pub use embedding::Embedding;
pub use fine_tune::{FineTune, FineTuneAfter};
pub use flatten::{Flatten, Flatten1d, Reshape};
pub use graph::{GcnConv, GraphMeanPool};
pub use layernorm::LayerNorm;
pub use packed_conv::PackedConv2d;
pub use packed_dense::PackedDense;
pub use pool::{AvgPool1d, AvgPool2d, GlobalAvgPool, MaxPool1d, MaxPool2d};
pub use prelu::Prelu;
pub use recurrent::{Gru, LastStep, Lstm, Rnn};
pub use residual::Residual;
pub use softmax::{LogSoftmax, Softmax};
pub use split::{FirstLayers, Split};

use crate::error::{check_finite, Error};
use crate::init::LayerInit;
use crate::params::{Params, Vector, Zeroed};
use crate::rng::Rng;

/// What a frozen or inference-only layer implements: a map from `Input` to `Output` that is
/// only ever run (weights in flash, later int8), with no backward, gradient type or trace.
///
/// Every trainable [`Layer`] is also an `Infer`; a type that implements only `Infer` works
/// wherever a model is only run: [`Infer::forward`] and its buffer-reusing forms, the
/// frozen prefix of [`FineTune`], [`crate::footprint::inference`], a chain
/// `(A, B)` or a [`Residual`] body (which are then `Infer` only). It cannot be trained: a
/// [`crate::train::Trainer`] needs a [`Layer`].
pub trait Infer {
    /// Input sample, `[f32; IN]` or a shaped array ([`Vector`]).
    type Input: Vector;
    /// Output sample, `[f32; OUT]` or a shaped array ([`Vector`]).
    type Output: Vector;

    /// Values each buffer of [`Infer::forward_chain`] must hold. For a single layer the wider
    /// of its input and output; for a chain `(A, B)` the larger of A's (plus A's
    /// [`Infer::SCRATCH_WIDTH`] when A is a block) and B's, so for a chain of plain layers the
    /// widest input or output of any of them. A [`Residual`] needs its input plus its body's
    /// scratch: `X::LEN + B::SCRATCH_WIDTH`. Never below [`Infer::SCRATCH_WIDTH`].
    const MAX_WIDTH: usize = max_len(<Self::Input as Vector>::LEN, <Self::Output as Vector>::LEN);

    /// Values each of the two buffers of [`Infer::forward_reusing`] (and
    /// [`Infer::forward_scratch`]) must hold: the widest value the layer keeps between its
    /// input and its output, which are the caller's. 0 for a single layer; for a chain of
    /// plain layers the widest intermediate output (the input of the first layer and the
    /// output of the last are not counted). At most [`Infer::MAX_WIDTH`].
    const SCRATCH_WIDTH: usize = 0;

    /// Inference: `y = layer(x)`, the reference. Stack use: every intermediate output of a
    /// chain is declared on the stack, up to their sum ([`Infer::forward_buffered`] and
    /// [`Infer::forward_reusing`] use two reused buffers instead).
    fn forward(&self, x: &Self::Input, y: &mut Self::Output);

    /// Inference on flat slices: `y = layer(x)` with `x` and `y` row-major, `Input::LEN` and
    /// `Output::LEN` values. A single layer calls the kernels of [`Infer::forward`] in the
    /// same order, so the result is bit-identical. Other lengths never panic: the kernels
    /// work over what the slices hold (the result is then unspecified).
    ///
    /// A chain `(A, B)` has no scratch here: it copies `x` into an `Input` on the stack, runs
    /// [`Infer::forward`] and copies the output out (stack as `forward` plus both copies);
    /// [`Infer::forward_scratch`] is its buffer-reusing form.
    fn forward_flat(&self, x: &[f32], y: &mut [f32]);

    /// Inference on flat slices with two scratch buffers `s` and `t` of at least
    /// [`Infer::SCRATCH_WIDTH`] values each (overwritten; `x` and `y` are not among them).
    /// A single layer needs none ([`Infer::forward_flat`], the default); a chain ping-pongs
    /// its intermediate outputs between `s` and `t`; a [`Residual`] gives them to its body.
    /// Shorter buffers never panic, but the result is then unspecified.
    fn forward_scratch(&self, x: &[f32], y: &mut [f32], s: &mut [f32], t: &mut [f32]) {
        let _ = (s, t);
        self.forward_flat(x, y);
    }

    /// One step of a ping-pong chain: the input is `cur[..Input::LEN]`, and `cur` and `other`
    /// (at least [`Infer::MAX_WIDTH`] values each) may be overwritten; writes `y`. A chain
    /// `(A, B)` runs A from `cur` into `other`, then B with the roles swapped, so `cur` and
    /// `other` alternate down the chain and only the last layer writes `y`. The default runs
    /// [`Infer::forward_scratch`] with the rest of `cur` and all of `other` as scratch.
    /// Shorter buffers never panic, but the result is then unspecified.
    fn forward_chain(&self, cur: &mut [f32], other: &mut [f32], y: &mut [f32]) {
        let (x, spare) = split_len(cur, <Self::Input as Vector>::LEN);
        self.forward_scratch(x, y, spare, other);
    }

    /// Inference reusing two caller buffers: `y = layer(x)`, bit-identical to
    /// [`Infer::forward`], with the intermediate outputs written alternately into `a` and
    /// `b` (overwritten) instead of the stack. Each needs at least
    /// [`Infer::SCRATCH_WIDTH`] values ([`Infer::MAX_WIDTH`] is always enough), so the
    /// activation RAM is `2 * SCRATCH_WIDTH` values whatever the depth
    /// ([`crate::footprint::inference_reusing`]).
    ///
    /// If `a` or `b` is shorter, it falls back to [`Infer::forward`] (the same result, with
    /// `forward`'s stack); it never panics. A firmware checks the length at compile time:
    /// `const _: () = assert!(BUF >= <Model as Infer>::SCRATCH_WIDTH);`.
    ///
    /// Stack: no activation of the chain is on it, but a [`Residual`] block's body runs
    /// through these buffers too (its input stays in one of them while the body uses the
    /// rest), which is what its larger [`Infer::MAX_WIDTH`] pays for.
    fn forward_reusing(&self, x: &Self::Input, y: &mut Self::Output, a: &mut [f32], b: &mut [f32]) {
        if a.len() < Self::SCRATCH_WIDTH || b.len() < Self::SCRATCH_WIDTH {
            self.forward(x, y);
        } else {
            self.forward_scratch(x.as_slice(), y.as_mut_slice(), a, b);
        }
    }

    /// Inference with its two ping-pong buffers on the stack: `y = layer(x)`, bit-identical
    /// to [`Infer::forward`], through [`Infer::forward_reusing`] with two arrays of `W`
    /// values. `W` must be at least [`Infer::SCRATCH_WIDTH`]: a smaller one fails to
    /// compile (at `cargo build`; `cargo check` does not evaluate it). Stable Rust cannot
    /// size an array by `Self::SCRATCH_WIDTH` inside this generic method, so the caller
    /// names it:
    ///
    /// ```
    /// use neurite::prelude::*;
    /// type Model = neurite::Seq![Dense<8, 32>, Relu<32>, Dense<32, 2>];
    /// const W: usize = <Model as Infer>::SCRATCH_WIDTH;
    /// let mut model = Model::DEFAULT;
    /// model.init(&LayerInit::XAVIER, &mut Rng::new(1));
    /// let (mut y, mut reference) = ([0.0; 2], [0.0; 2]);
    /// model.forward_buffered::<W>(&[0.5; 8], &mut y);
    /// model.forward(&[0.5; 8], &mut reference);
    /// assert_eq!(y, reference);
    /// ```
    ///
    /// Stack: `2 W` values for the activations, whatever the depth (one frame per layer of
    /// the chain besides), where [`Infer::forward`] holds every intermediate output at once.
    fn forward_buffered<const W: usize>(&self, x: &Self::Input, y: &mut Self::Output) {
        const {
            assert!(W >= Self::SCRATCH_WIDTH, "forward_buffered: W is below SCRATCH_WIDTH");
        }
        let (mut a, mut b) = ([0.0f32; W], [0.0f32; W]);
        self.forward_scratch(x.as_slice(), y.as_mut_slice(), &mut a, &mut b);
    }

    /// Inference that checks its input and output, for inputs that may be bad (a sensor
    /// reading NaN): `Err(NonFinite { index })` at the first NaN or infinite input value
    /// (nothing is computed), else `y = layer(x)` as [`Infer::forward`], and
    /// `Err(NonFiniteOutput { index })` at the first NaN or infinite output (`y` holds it;
    /// NaN propagates through every layer as in PyTorch, so a NaN is never turned into a
    /// plausible value on the way).
    ///
    /// ```
    /// use neurite::prelude::*;
    /// type Model = neurite::Seq![Dense<2, 3>, Relu<3>, Dense<3, 1>];
    /// let mut model = Model::DEFAULT;
    /// model.init(&LayerInit::XAVIER, &mut Rng::new(1));
    /// let mut y = [0.0];
    /// assert_eq!(model.forward_checked(&[0.5, f32::NAN], &mut y), Err(Error::NonFinite { index: 1 }));
    /// assert_eq!(model.forward_checked(&[0.5, 1.0], &mut y), Ok(()));
    /// ```
    fn forward_checked(&self, x: &Self::Input, y: &mut Self::Output) -> Result<(), Error> {
        check_finite(x.as_slice())?;
        self.forward(x, y);
        match y.as_slice().iter().position(|v| !v.is_finite()) {
            Some(index) => Err(Error::NonFiniteOutput { index }),
            None => Ok(()),
        }
    }

    /// Calls `f` with the description of every layer, first to last (the architecture a
    /// model file records).
    fn describe(&self, f: &mut dyn FnMut(LayerDesc));
}

/// A borrowed model runs as the model: the frozen part of a [`FineTune`] is `&'static
/// Frozen` in flash.
impl<T: Infer> Infer for &T {
    type Input = T::Input;
    type Output = T::Output;
    const MAX_WIDTH: usize = T::MAX_WIDTH;
    const SCRATCH_WIDTH: usize = T::SCRATCH_WIDTH;

    fn forward(&self, x: &T::Input, y: &mut T::Output) {
        (**self).forward(x, y);
    }

    fn forward_flat(&self, x: &[f32], y: &mut [f32]) {
        (**self).forward_flat(x, y);
    }

    fn forward_scratch(&self, x: &[f32], y: &mut [f32], s: &mut [f32], t: &mut [f32]) {
        (**self).forward_scratch(x, y, s, t);
    }

    fn forward_chain(&self, cur: &mut [f32], other: &mut [f32], y: &mut [f32]) {
        (**self).forward_chain(cur, other, y);
    }

    fn describe(&self, f: &mut dyn FnMut(LayerDesc)) {
        (**self).describe(f);
    }
}

/// A trainable layer: an [`Infer`] map with its parameters ([`Params`]), a training forward
/// that keeps a `Trace`, and a backward that accumulates into a `Grads` value.
pub trait Layer: Infer + Params + Sized {
    /// What `forward_trace` keeps for `backward` (intermediate outputs of a chain, a dropout
    /// mask; `()` for a single layer that recomputes from its input).
    type Trace: Zeroed;
    /// Gradients: tensors numbered as the layer's own ([`Params`]), `()` without parameters.
    type Grads: Params + Zeroed;
    /// PyTorch's defaults for options, zero for parameters; use [`Layer::init`] next.
    const DEFAULT: Self;

    /// Training forward: `y = layer(x)`, keeping in `trace` what `backward` needs. `ctx`
    /// carries the mode and the random generator ([`Ctx`]): only layers that behave
    /// differently in training ([`Dropout`]) read it; the others compute [`Infer::forward`].
    fn forward_trace(
        &self,
        ctx: &mut Ctx<'_>,
        x: &Self::Input,
        trace: &mut Self::Trace,
        y: &mut Self::Output,
    );

    /// Backward for one sample: writes `dx = d loss / dx` and **adds** `d loss / d params`
    /// into `grads`, given `dy = d loss / dy` and the `x` and `trace` of `forward_trace`.
    fn backward(
        &self,
        x: &Self::Input,
        trace: &Self::Trace,
        dy: &Self::Output,
        dx: &mut Self::Input,
        grads: &mut Self::Grads,
    );

    /// Backward without `dx` (the first trained layer needs no input gradient).
    /// Defaults to [`Layer::backward`] into a scratch input on the stack.
    fn backward_params(
        &self,
        x: &Self::Input,
        trace: &Self::Trace,
        dy: &Self::Output,
        grads: &mut Self::Grads,
    ) {
        let mut dx = Self::Input::ZEROED;
        self.backward(x, trace, dy, &mut dx, grads);
    }

    /// Initialises the parameters (no-op for layers without weights).
    fn init(&mut self, _init: &LayerInit, _rng: &mut Rng) {}
}

/// One layer's architecture, without its parameters.
#[derive(Clone, Copy, Debug, PartialEq)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub enum LayerDesc {
    /// `Dense<inputs, outputs>`.
    Dense {
        /// Inputs.
        inputs: usize,
        /// Outputs.
        outputs: usize,
    },
    /// An element-wise activation over `width` values.
    Activation {
        /// Which activation, with its options.
        kind: crate::activation::ActivationKind,
        /// Width.
        width: usize,
    },
    /// `Prelu<width, slopes>`.
    Prelu {
        /// Width.
        width: usize,
        /// 1 or `width` slopes.
        slopes: usize,
    },
    /// `Softmax<width>`.
    Softmax {
        /// Width.
        width: usize,
    },
    /// `LogSoftmax<width>`.
    LogSoftmax {
        /// Width.
        width: usize,
    },
    /// Any other layer (convolution, pooling, normalisation, reshape, residual block), by
    /// name, with its flattened widths. Version-1 model files cannot hold it.
    Other {
        /// The layer's name (`"conv2d"`, `"maxpool2d"`, `"batchnorm"`, `"residual"`, ...).
        name: &'static str,
        /// Input values per sample.
        inputs: usize,
        /// Output values per sample.
        outputs: usize,
        /// Learnable scalars.
        params: usize,
    },
}

impl LayerDesc {
    /// Input width.
    pub const fn inputs(&self) -> usize {
        match *self {
            Self::Dense { inputs, .. } | Self::Other { inputs, .. } => inputs,
            Self::Activation { width, .. }
            | Self::Prelu { width, .. }
            | Self::Softmax { width }
            | Self::LogSoftmax { width } => width,
        }
    }

    /// Output width.
    pub const fn outputs(&self) -> usize {
        match *self {
            Self::Dense { outputs, .. } | Self::Other { outputs, .. } => outputs,
            _ => self.inputs(),
        }
    }

    /// Number of learnable scalars.
    pub const fn params(&self) -> usize {
        match *self {
            Self::Dense { inputs, outputs } => inputs * outputs + outputs,
            Self::Prelu { slopes, .. } => slopes,
            Self::Other { params, .. } => params,
            _ => 0,
        }
    }
}

/// Number of learnable scalars of a layer or model.
pub const fn param_count<L: Params>() -> usize {
    <L as Params>::LEN
}

/// The larger of `a` and `b` (`Ord::max` is not `const`).
pub const fn max_len(a: usize, b: usize) -> usize {
    if a > b {
        a
    } else {
        b
    }
}

/// `buf` split after `n` values (`n` clamped to its length: never panics).
fn split_len(buf: &mut [f32], n: usize) -> (&mut [f32], &mut [f32]) {
    buf.split_at_mut(n.min(buf.len()))
}

/// `y[i] = x[i]` over the values both hold (never panics).
fn copy_flat(x: &[f32], y: &mut [f32]) {
    for (o, &v) in y.iter_mut().zip(x) {
        *o = v;
    }
}
