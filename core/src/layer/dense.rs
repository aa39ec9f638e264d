use super::{Ctx, Infer, Layer};
use crate::init::LayerInit;
use crate::kernel::dense;
use crate::params::{Params, Zeroed};
use crate::rng::Rng;

/// Fully connected layer: `y = W x + b`.
///
/// Generics: `IN` inputs, `OUT` outputs. `weight` is `OUT` rows of `IN` (PyTorch's
/// `nn.Linear` layout), so pretrained PyTorch weights load as they are.
/// Memory: `4 * (IN * OUT + OUT)` bytes; its gradient is another `Dense<IN, OUT>`.
///
/// ```
/// use neurite::prelude::*;
/// let layer = Dense::<2, 1>::new([[1.0, 2.0]], [0.5]);
/// let mut y = [0.0];
/// layer.forward(&[3.0, 4.0], &mut y);
/// assert_eq!(y, [11.5]);
/// ```
#[derive(Clone, Debug, PartialEq)]
pub struct Dense<const IN: usize, const OUT: usize> {
    /// `OUT x IN` weight matrix, row-major.
    pub weight: [[f32; IN]; OUT],
    /// `OUT` biases.
    pub bias: [f32; OUT],
}

impl<const IN: usize, const OUT: usize> Dense<IN, OUT> {
    /// A layer with the given weights (usable in `const` and `static` items: flash).
    pub const fn new(weight: [[f32; IN]; OUT], bias: [f32; OUT]) -> Self {
        Self { weight, bias }
    }
}

impl<const IN: usize, const OUT: usize> Zeroed for Dense<IN, OUT> {
    const ZEROED: Self = Self { weight: [[0.0; IN]; OUT], bias: [0.0; OUT] };
}

impl<const IN: usize, const OUT: usize> Params for Dense<IN, OUT> {
    const TENSORS: usize = 2;
    const LEN: usize = IN * OUT + OUT;
    fn tensor(&self, i: usize) -> &[f32] {
        match i {
            0 => self.weight.as_flattened(),
            1 => &self.bias,
            _ => &[],
        }
    }
    fn tensor_mut(&mut self, i: usize) -> &mut [f32] {
        match i {
            0 => self.weight.as_flattened_mut(),
            1 => &mut self.bias,
            _ => &mut [],
        }
    }
}

impl<const IN: usize, const OUT: usize> Infer for Dense<IN, OUT> {
    type Input = [f32; IN];
    type Output = [f32; OUT];

    fn forward(&self, x: &[f32; IN], y: &mut [f32; OUT]) {
        dense::forward(self.weight.as_flattened(), &self.bias, x, y);
    }

    fn forward_flat(&self, x: &[f32], y: &mut [f32]) {
        dense::forward(self.weight.as_flattened(), &self.bias, x, y);
    }

    fn describe(&self, f: &mut dyn FnMut(super::LayerDesc)) {
        f(super::LayerDesc::Dense { inputs: IN, outputs: OUT });
    }
}

impl<const IN: usize, const OUT: usize> Layer for Dense<IN, OUT> {
    type Trace = ();
    type Grads = Self;
    const DEFAULT: Self = Self::ZEROED;

    fn forward_trace(&self, _: &mut Ctx<'_>, x: &[f32; IN], _: &mut (), y: &mut [f32; OUT]) {
        self.forward(x, y);
    }

    fn backward(
        &self,
        x: &[f32; IN],
        _: &(),
        dy: &[f32; OUT],
        dx: &mut [f32; IN],
        grads: &mut Self,
    ) {
        dense::backward(
            self.weight.as_flattened(),
            x,
            dy,
            dx,
            grads.weight.as_flattened_mut(),
            &mut grads.bias,
        );
    }

    fn backward_params(&self, x: &[f32; IN], _: &(), dy: &[f32; OUT], grads: &mut Self) {
        dense::backward_params(x, dy, grads.weight.as_flattened_mut(), &mut grads.bias);
    }

    fn init(&mut self, init: &LayerInit, rng: &mut Rng) {
        init.apply(self.weight.as_flattened_mut(), &mut self.bias, IN, OUT, rng);
    }
}

/// Minibatches sample by sample ([`super::BatchLayer`]).
impl<const IN: usize, const OUT: usize> super::PerSample for Dense<IN, OUT> {}
