//! Const-generic layers over the [`crate::kernel`] functions.
//!
//! A [`Layer`] maps a fixed-size `Input` sample to a fixed-size `Output` sample: a row
//! `[f32; N]`, or a shaped `[[f32; L]; C]` / `[[[f32; W]; H]; C]` for the convolutional
//! family ([`Conv2d`], [`MaxPool2d`], [`BatchNorm2d`], [`Residual`], [`Flatten`], ...). A
//! model is a nested pair of layers, `(A, (B, C))`, written [`Seq!`](crate::Seq)`[A, B, C]`;
//! `(A, B)` is a layer only when `B::Input == A::Output`, so a shape mismatch does not
//! compile.
//!
//! Buffers are the caller's: inference needs only `Input` and `Output`; training keeps the
//! intermediate outputs in a `Trace` and accumulates into a `Grads` value whose tensors line
//! up with the model's ([`Params`]). Nothing here allocates, fails or panics.

mod activation;
mod batchnorm;
mod conv;
mod dense;
mod flatten;
mod layernorm;
mod pool;
mod prelu;
mod residual;
mod seq;
mod softmax;

pub use activation::*;
pub use batchnorm::{Affine, BatchNorm, BatchNorm1d, BatchNorm2d};
pub use conv::{Conv1d, Conv2d};
pub use dense::Dense;
pub use flatten::{Flatten, Flatten1d, Reshape};
pub use layernorm::LayerNorm;
pub use pool::{AvgPool2d, GlobalAvgPool, MaxPool2d};
pub use prelu::Prelu;
pub use residual::Residual;
pub use softmax::{LogSoftmax, Softmax};

use crate::init::LayerInit;
use crate::params::{Params, Vector, Zeroed};
use crate::rng::Rng;

/// A differentiable map from `Input` to `Output` with its parameters.
pub trait Layer: Params + Sized {
    /// Input sample, `[f32; IN]` or a shaped array ([`Vector`]).
    type Input: Vector;
    /// Output sample, `[f32; OUT]` or a shaped array ([`Vector`]).
    type Output: Vector;
    /// What `forward_trace` keeps for `backward` (intermediate outputs of a chain; `()` for
    /// a single layer, which recomputes from its input).
    type Trace: Zeroed;
    /// Gradients: tensors numbered as the layer's own ([`Params`]), `()` without parameters.
    type Grads: Params + Zeroed;
    /// PyTorch's defaults for options, zero for parameters; use [`Layer::init`] next.
    const DEFAULT: Self;

    /// Inference: `y = layer(x)`. Stack use: the widest intermediate output of a chain.
    fn forward(&self, x: &Self::Input, y: &mut Self::Output);

    /// Training forward: `y = layer(x)`, keeping in `trace` what `backward` needs.
    fn forward_trace(&self, x: &Self::Input, trace: &mut Self::Trace, y: &mut Self::Output);

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

    /// Calls `f` with the description of every layer, first to last (the architecture a
    /// model file records).
    fn describe(&self, f: &mut dyn FnMut(LayerDesc));
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
pub const fn param_count<L: Layer>() -> usize {
    <L as Params>::LEN
}
