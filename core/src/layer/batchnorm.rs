//! Batch normalisation for one sample at a time, with the running statistics (eval mode):
//! [`BatchNorm2d`] over `[C][H][W]` samples, [`BatchNorm1d`] over `[f32; N]` features, over
//! [`crate::kernel::norm`].
//!
//! A per-sample layer cannot see a batch, so it always normalises with `running_mean` and
//! `running_var` (PyTorch's `model.eval()`); backward treats them as constants, which is
//! fine-tuning with frozen statistics. Training with batch statistics (and updating the
//! running ones by `momentum`) is the runtime-shaped model's batch path
//! (`neurite_host::dynamic`, `batchnorm1d` / `batchnorm2d` in train mode); its results load
//! here as they are.

use core::marker::PhantomData;

use super::{Ctx, Infer, Layer, LayerDesc};
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

/// Batch normalisation in eval mode over samples `X` of `C` channels (`X::LEN / C` values
/// per channel, channel-major): `y = (x - running_mean[c]) * inv_std * weight[c] + bias[c]`,
/// `inv_std = 1 / sqrt(running_var[c] + eps)` ([`norm::batchnorm_eval_forward`]).
///
/// Use the aliases [`BatchNorm2d`] and [`BatchNorm1d`]. Learnable tensors (`Params`): 0
/// `weight`, 1 `bias`; `running_mean` and `running_var` are buffers, not parameters (no
/// gradient, no optimiser state). `momentum` is kept for the model's description: the
/// per-sample layer never updates the running statistics (see the module docs).
/// `X::LEN` must be a positive multiple of `C` (a compile error otherwise).
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
    /// Weight of a batch's statistics in the running update (batch path only); default 0.1.
    pub momentum: f32,
    sample: PhantomData<fn(X) -> X>,
}

/// Batch norm over `[C][H][W]` samples, PyTorch's `nn.BatchNorm2d(C)` in eval mode.
pub type BatchNorm2d<const C: usize, const H: usize, const W: usize> =
    BatchNorm<[[[f32; W]; H]; C], C>;

/// Batch norm over `[f32; N]` feature rows, PyTorch's `nn.BatchNorm1d(N)` in eval mode.
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
