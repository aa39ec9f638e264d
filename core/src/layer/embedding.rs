//! A token embedding (PyTorch's `nn.Embedding`): `T` token indices in, `T` rows of `D`
//! values out, from a learnt `[V][D]` table.

use super::{Ctx, Infer, Layer, LayerDesc};
use crate::init::LayerInit;
use crate::kernel::embedding;
use crate::params::{Params, Zeroed};
use crate::rng::Rng;

/// `nn.Embedding(V, D)` over a sequence of `T` tokens (given as `f32` integers; a value
/// that is not a token in `0..V` gives a zero row and no gradient, see
/// [`embedding::token`]). Output `[[f32; D]; T]`; no input gradient (tokens are not
/// differentiable: `dx` is zero). Initialised as PyTorch does, `N(0, 1)`, whatever the
/// [`LayerInit`].
#[derive(Clone, Debug, PartialEq)]
pub struct Embedding<const V: usize, const D: usize, const T: usize> {
    /// `weight`: `[V][D]`.
    pub weight: [[f32; D]; V],
}

impl<const V: usize, const D: usize, const T: usize> Zeroed for Embedding<V, D, T> {
    const ZEROED: Self = Self { weight: [[0.0; D]; V] };
}

impl<const V: usize, const D: usize, const T: usize> Params for Embedding<V, D, T> {
    const TENSORS: usize = 1;
    const LEN: usize = V * D;
    fn tensor(&self, i: usize) -> &[f32] {
        if i == 0 {
            self.weight.as_flattened()
        } else {
            &[]
        }
    }
    fn tensor_mut(&mut self, i: usize) -> &mut [f32] {
        if i == 0 {
            self.weight.as_flattened_mut()
        } else {
            &mut []
        }
    }
}

impl<const V: usize, const D: usize, const T: usize> Infer for Embedding<V, D, T> {
    type Input = [f32; T];
    type Output = [[f32; D]; T];

    fn forward(&self, x: &[f32; T], y: &mut Self::Output) {
        embedding::forward(self.weight.as_flattened(), D, x, y.as_flattened_mut());
    }

    fn forward_flat(&self, x: &[f32], y: &mut [f32]) {
        embedding::forward(self.weight.as_flattened(), D, x, y);
    }

    fn describe(&self, f: &mut dyn FnMut(LayerDesc)) {
        f(LayerDesc::Other { name: "embedding", inputs: T, outputs: T * D, params: V * D });
    }
}

impl<const V: usize, const D: usize, const T: usize> Layer for Embedding<V, D, T> {
    type Trace = ();
    type Grads = Self;
    const DEFAULT: Self = Self::ZEROED;

    fn forward_trace(&self, _: &mut Ctx<'_>, x: &[f32; T], _: &mut (), y: &mut Self::Output) {
        self.forward(x, y);
    }

    fn backward(&self, x: &[f32; T], _: &(), dy: &Self::Output, dx: &mut [f32; T], g: &mut Self) {
        dx.fill(0.0);
        self.backward_params(x, &(), dy, g);
    }

    fn backward_params(&self, x: &[f32; T], _: &(), dy: &Self::Output, g: &mut Self) {
        embedding::backward(x, D, dy.as_flattened(), g.weight.as_flattened_mut());
    }

    fn init(&mut self, _: &LayerInit, rng: &mut Rng) {
        for v in self.weight.as_flattened_mut() {
            *v = rng.normal();
        }
    }
}

impl<const V: usize, const D: usize, const T: usize> super::PerSample for Embedding<V, D, T> {}
