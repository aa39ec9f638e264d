//! Batch normalisation, PyTorch's `nn.BatchNorm2d` over `[C][H][W]` samples ([`BatchNorm2d`])
//! and `nn.BatchNorm1d` over `[f32; N]` features ([`BatchNorm1d`]) or `[C][L]` rows, over
//! [`crate::kernel::norm`].
//!
//! - One sample at a time ([`Infer`], [`Layer`]): a single sample has no batch, so it is
//!   always normalised with `running_mean` and `running_var` (PyTorch's `model.eval()`);
//!   backward treats them as constants, which is fine-tuning with frozen statistics.
//! - A whole minibatch of compile-time size `B` ([`BatchLayer<B>`], driven by
//!   [`crate::batch_train::BatchTrainer`]): in train mode ([`Ctx::train`]) the batch's mean
//!   and biased variance normalise every sample, the running statistics move by `momentum`
//!   towards the batch's mean and unbiased variance, and backward includes the statistics'
//!   dependence on every input, as PyTorch's `model.train()`; in eval mode each sample is
//!   normalised with the running statistics, as above. The runtime-shaped `batchnorm1d` /
//!   `batchnorm2d` (`neurite_host::dynamic`) compute the same bits.

use core::marker::PhantomData;

use super::{BatchLayer, Ctx, Infer, Layer, LayerDesc};
use crate::init::LayerInit;
use crate::kernel::norm;
use crate::params::{Params, Vector, Zeroed};
use crate::rng::Rng;

/// A per-feature scale and shift (`weight`, `bias`): the gradients of the normalisation
/// layers ([`BatchNorm`], [`super::LayerNorm`]), tensors 0 and 1 as theirs.
#[derive(Clone, Debug, PartialEq)]
pub struct Affine<const N: usize> {
    /// Scale (gamma).
    pub weight: [f32; N],
    /// Shift (beta).
    pub bias: [f32; N],
}

impl<const N: usize> Zeroed for Affine<N> {
    const ZEROED: Self = Self { weight: [0.0; N], bias: [0.0; N] };
}

impl<const N: usize> Params for Affine<N> {
    const TENSORS: usize = 2;
    const LEN: usize = 2 * N;
    fn tensor(&self, i: usize) -> &[f32] {
        match i {
            0 => &self.weight,
            1 => &self.bias,
            _ => &[],
        }
    }
    fn tensor_mut(&mut self, i: usize) -> &mut [f32] {
        match i {
            0 => &mut self.weight,
            1 => &mut self.bias,
            _ => &mut [],
        }
    }
}

/// Batch normalisation over samples `X` of `C` channels (`X::LEN / C` values per channel,
/// channel-major).
///
/// - Eval mode, and every per-sample use ([`Infer`], [`Layer`]):
///   `y = (x - running_mean[c]) * inv_std * weight[c] + bias[c]`,
///   `inv_std = 1 / sqrt(running_var[c] + eps)` ([`norm::batchnorm_eval_forward`]).
/// - Train mode over a minibatch ([`BatchLayer::forward_batch`] with [`Ctx::train`]): the
///   batch's statistics over the `B` samples ([`norm::batchnorm_train_forward`]), then the
///   running update ([`norm::batchnorm_update_running`], `momentum`); the statistics go into
///   the [`BatchStats`] trace for [`norm::batchnorm_train_backward`].
///
/// Use the aliases [`BatchNorm2d`] and [`BatchNorm1d`]. Learnable tensors (`Params`): 0
/// `weight`, 1 `bias`; `running_mean` and `running_var` are buffers, not parameters (no
/// gradient, no optimiser state). `X::LEN` must be a positive multiple of `C` (a compile
/// error otherwise).
///
/// ```
/// use neurite::prelude::*;
/// let mut bn = BatchNorm2d::<2, 1, 2>::DEFAULT;
/// bn.running_mean = [1.0, -1.0];
/// bn.running_var = [4.0, 0.25];
/// bn.eps = 0.0;
/// let mut y = [[[0.0; 2]; 1]; 2];
/// bn.forward(&[[[3.0, 1.0]], [[0.0, -1.0]]], &mut y);
/// assert_eq!(y, [[[1.0, 0.0]], [[2.0, 0.0]]]);
/// ```
#[derive(Clone, Debug, PartialEq)]
pub struct BatchNorm<X, const C: usize> {
    /// Scale (gamma), one per channel; PyTorch's default 1.
    pub weight: [f32; C],
    /// Shift (beta), one per channel; default 0.
    pub bias: [f32; C],
    /// Running mean (buffer); default 0.
    pub running_mean: [f32; C],
    /// Running variance (buffer); default 1.
    pub running_var: [f32; C],
    /// Added to the variance; default `1e-5`.
    pub eps: f32,
    /// Weight of a batch's statistics in the running update (train mode over a minibatch
    /// only); default 0.1.
    pub momentum: f32,
    sample: PhantomData<fn(X) -> X>,
}

/// Batch norm over `[C][H][W]` samples, PyTorch's `nn.BatchNorm2d(C)` (train mode over a
/// minibatch: [`BatchLayer`]).
pub type BatchNorm2d<const C: usize, const H: usize, const W: usize> =
    BatchNorm<[[[f32; W]; H]; C], C>;

/// Batch norm over `[f32; N]` feature rows, PyTorch's `nn.BatchNorm1d(N)` (train mode over
/// a minibatch: [`BatchLayer`]).
pub type BatchNorm1d<const N: usize> = BatchNorm<[f32; N], N>;

impl<X: Vector, const C: usize> BatchNorm<X, C> {
    const SHAPE_OK: () = assert!(
        C > 0 && X::LEN > 0 && X::LEN % C == 0,
        "BatchNorm: the sample size must be a positive multiple of the channel count"
    );

    /// A layer with the given parameters and running statistics, `eps = 1e-5`,
    /// `momentum = 0.1` (PyTorch's defaults; set the fields to change them).
    pub const fn new(
        weight: [f32; C],
        bias: [f32; C],
        running_mean: [f32; C],
        running_var: [f32; C],
    ) -> Self {
        let () = Self::SHAPE_OK;
        Self {
            weight,
            bias,
            running_mean,
            running_var,
            eps: 1e-5,
            momentum: 0.1,
            sample: PhantomData,
        }
    }
}

impl<X: Vector, const C: usize> Params for BatchNorm<X, C> {
    const TENSORS: usize = 2;
    const LEN: usize = 2 * C;
    fn tensor(&self, i: usize) -> &[f32] {
        match i {
            0 => &self.weight,
            1 => &self.bias,
            _ => &[],
        }
    }
    fn tensor_mut(&mut self, i: usize) -> &mut [f32] {
        match i {
            0 => &mut self.weight,
            1 => &mut self.bias,
            _ => &mut [],
        }
    }
}

impl<X: Vector, const C: usize> Infer for BatchNorm<X, C> {
    type Input = X;
    type Output = X;

    fn forward(&self, x: &X, y: &mut X) {
        let () = Self::SHAPE_OK;
        norm::batchnorm_eval_forward(
            C,
            x.as_slice(),
            &self.weight,
            &self.bias,
            &self.running_mean,
            &self.running_var,
            self.eps,
            y.as_mut_slice(),
        );
    }

    fn forward_flat(&self, x: &[f32], y: &mut [f32]) {
        let () = Self::SHAPE_OK;
        norm::batchnorm_eval_forward(
            C,
            x,
            &self.weight,
            &self.bias,
            &self.running_mean,
            &self.running_var,
            self.eps,
            y,
        );
    }

    fn describe(&self, f: &mut dyn FnMut(LayerDesc)) {
        f(LayerDesc::Other { name: "batchnorm", inputs: X::LEN, outputs: X::LEN, params: 2 * C });
    }
}

impl<X: Vector, const C: usize> Layer for BatchNorm<X, C> {
    type Trace = ();
    type Grads = Affine<C>;
    /// PyTorch's initial state: weight 1, bias 0, running mean 0, running variance 1.
    const DEFAULT: Self = Self::new([1.0; C], [0.0; C], [0.0; C], [1.0; C]);

    fn forward_trace(&self, _: &mut Ctx<'_>, x: &X, _: &mut (), y: &mut X) {
        self.forward(x, y);
    }

    fn backward(&self, x: &X, _: &(), dy: &X, dx: &mut X, grads: &mut Affine<C>) {
        self.grads(x, dy, Some(dx.as_mut_slice()), grads);
    }

    fn backward_params(&self, x: &X, _: &(), dy: &X, grads: &mut Affine<C>) {
        self.grads(x, dy, None, grads);
    }

    /// PyTorch's `reset_parameters`: weight 1, bias 0 (draws nothing from `rng`; the
    /// running statistics are left as they are).
    fn init(&mut self, _: &LayerInit, _: &mut Rng) {
        self.weight = [1.0; C];
        self.bias = [0.0; C];
    }
}

impl<X: Vector, const C: usize> BatchNorm<X, C> {
    fn grads(&self, x: &X, dy: &X, dx: Option<&mut [f32]>, grads: &mut Affine<C>) {
        let () = Self::SHAPE_OK;
        norm::batchnorm_eval_backward(
            C,
            x.as_slice(),
            &self.weight,
            &self.running_mean,
            &self.running_var,
            self.eps,
            dy.as_slice(),
            dx,
            &mut grads.weight,
            &mut grads.bias,
        );
    }
}

/// What a batch norm's [`BatchLayer::forward_batch`] keeps for its backward: the batch's
/// statistics in train mode.
#[derive(Clone, Debug, PartialEq)]
pub struct BatchStats<const C: usize> {
    /// The batch's mean per channel (train mode).
    pub mean: [f32; C],
    /// The batch's biased variance per channel (train mode).
    pub var: [f32; C],
    /// Whether the forward ran in train mode (batch statistics); `false`: the running
    /// statistics normalised, and `mean` and `var` are not used.
    pub train: bool,
}

impl<const C: usize> Zeroed for BatchStats<C> {
    const ZEROED: Self = Self { mean: [0.0; C], var: [0.0; C], train: false };
}

/// `B` is the batch size. Train mode: batch statistics and the running update; eval mode:
/// each sample with the running statistics ([`Layer::forward_trace`]).
impl<X: Vector, const C: usize, const B: usize> BatchLayer<B> for BatchNorm<X, C> {
    type BatchTrace = BatchStats<C>;

    fn forward_batch(
        &mut self,
        ctx: &mut Ctx<'_>,
        x: &[X; B],
        stats: &mut BatchStats<C>,
        y: &mut [X; B],
    ) {
        let () = Self::SHAPE_OK;
        stats.train = ctx.train;
        if !ctx.train {
            for (x, y) in x.iter().zip(y.iter_mut()) {
                self.forward(x, y);
            }
            return;
        }
        let spatial = X::LEN / C;
        norm::batchnorm_train_forward(
            B,
            C,
            spatial,
            X::batch_slice(x),
            &self.weight,
            &self.bias,
            self.eps,
            &mut stats.mean,
            &mut stats.var,
            X::batch_slice_mut(y),
        );
        norm::batchnorm_update_running(
            B * spatial,
            self.momentum,
            &stats.mean,
            &stats.var,
            &mut self.running_mean,
            &mut self.running_var,
        );
    }

    fn backward_batch(
        &self,
        x: &[X; B],
        stats: &BatchStats<C>,
        dy: &[X; B],
        dx: &mut [X; B],
        grads: &mut Affine<C>,
    ) {
        if stats.train {
            self.train_grads(x, stats, dy, Some(X::batch_slice_mut(dx)), grads);
        } else {
            for ((x, dy), dx) in x.iter().zip(dy).zip(dx.iter_mut()) {
                self.grads(x, dy, Some(dx.as_mut_slice()), grads);
            }
        }
    }

    fn backward_params_batch(
        &self,
        x: &[X; B],
        stats: &BatchStats<C>,
        dy: &[X; B],
        grads: &mut Affine<C>,
    ) {
        if stats.train {
            self.train_grads(x, stats, dy, None, grads);
        } else {
            for (x, dy) in x.iter().zip(dy) {
                self.grads(x, dy, None, grads);
            }
        }
    }
}

impl<X: Vector, const C: usize> BatchNorm<X, C> {
    /// Train-mode backward over the batch (`dx` overwritten when given).
    fn train_grads<const B: usize>(
        &self,
        x: &[X; B],
        stats: &BatchStats<C>,
        dy: &[X; B],
        dx: Option<&mut [f32]>,
        grads: &mut Affine<C>,
    ) {
        let () = Self::SHAPE_OK;
        norm::batchnorm_train_backward(
            B,
            C,
            X::LEN / C,
            X::batch_slice(x),
            &self.weight,
            self.eps,
            &stats.mean,
            &stats.var,
            X::batch_slice(dy),
            dx,
            &mut grads.weight,
            &mut grads.bias,
        );
    }
}
