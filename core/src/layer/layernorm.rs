//! Layer normalisation of a feature row, over [`crate::kernel::norm`].

use super::{Affine, Ctx, Infer, Layer, LayerDesc};
use crate::init::LayerInit;
use crate::kernel::norm;
use crate::params::Params;
use crate::rng::Rng;

/// Layer norm over `N` values, PyTorch's `nn.LayerNorm(N)` (element-wise affine):
/// `y[i] = (x[i] - mean) * inv_std * weight[i] + bias[i]` with the sample's own mean and
/// biased variance, `inv_std = 1 / sqrt(var + eps)` ([`norm::layernorm_forward`]).
///
/// Learnable tensors: 0 `weight`, 1 `bias` (gradient [`Affine<N>`]). No trace: backward
/// recomputes the statistics from the input.
///
/// ```
/// use neurite::prelude::*;
/// let mut ln = LayerNorm::<2>::DEFAULT;
/// ln.eps = 0.0;
/// let mut y = [0.0; 2];
/// ln.forward(&[1.0, 3.0], &mut y);
/// assert_eq!(y, [-1.0, 1.0]);
/// ```
#[derive(Clone, Debug, PartialEq)]
pub struct LayerNorm<const N: usize> {
    /// Scale, one per value; PyTorch's default 1.
    pub weight: [f32; N],
    /// Shift, one per value; default 0.
    pub bias: [f32; N],
    /// Added to the variance; default `1e-5`.
    pub eps: f32,
}

impl<const N: usize> LayerNorm<N> {
    /// A layer with the given scale and shift, `eps = 1e-5`.
    pub const fn new(weight: [f32; N], bias: [f32; N]) -> Self {
        Self { weight, bias, eps: 1e-5 }
    }
}

impl<const N: usize> Params for LayerNorm<N> {
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

impl<const N: usize> Infer for LayerNorm<N> {
    type Input = [f32; N];
    type Output = [f32; N];

    fn forward(&self, x: &[f32; N], y: &mut [f32; N]) {
        norm::layernorm_forward(N, x, &self.weight, &self.bias, self.eps, y);
    }

    fn forward_flat(&self, x: &[f32], y: &mut [f32]) {
        norm::layernorm_forward(N, x, &self.weight, &self.bias, self.eps, y);
    }

    fn describe(&self, f: &mut dyn FnMut(LayerDesc)) {
        f(LayerDesc::Other { name: "layernorm", inputs: N, outputs: N, params: 2 * N });
    }
}

impl<const N: usize> Layer for LayerNorm<N> {
    type Trace = ();
    type Grads = Affine<N>;
    /// PyTorch's initial state: weight 1, bias 0.
    const DEFAULT: Self = Self::new([1.0; N], [0.0; N]);

    fn forward_trace(&self, _: &mut Ctx<'_>, x: &[f32; N], _: &mut (), y: &mut [f32; N]) {
        self.forward(x, y);
    }

    fn backward(
        &self,
        x: &[f32; N],
        _: &(),
        dy: &[f32; N],
        dx: &mut [f32; N],
        grads: &mut Affine<N>,
    ) {
        norm::layernorm_backward(
            N,
            x,
            &self.weight,
            self.eps,
            dy,
            Some(dx),
            &mut grads.weight,
            &mut grads.bias,
        );
    }

    fn backward_params(&self, x: &[f32; N], _: &(), dy: &[f32; N], grads: &mut Affine<N>) {
        norm::layernorm_backward(
            N,
            x,
            &self.weight,
            self.eps,
            dy,
            None,
            &mut grads.weight,
            &mut grads.bias,
        );
    }

    /// PyTorch's `reset_parameters`: weight 1, bias 0 (draws nothing from `rng`).
    fn init(&mut self, _: &LayerInit, _: &mut Rng) {
        self.weight = [1.0; N];
        self.bias = [0.0; N];
    }
}

/// Minibatches sample by sample ([`super::BatchLayer`]): layer norm's statistics are each
/// sample's own.
impl<const N: usize> super::PerSample for LayerNorm<N> {}
