//! Skip connections: `y = x + body(x)` (a ResNet block).

use super::{BatchLayer, Ctx, Infer, Layer, LayerDesc};
use crate::init::LayerInit;
use crate::params::{Params, Vector};
use crate::rng::Rng;

/// A residual block: `y[i] = x[i] + body(x)[i]`, for a body whose output has its input's
/// shape (a chain `Seq![...]` or a single layer; a shape change does not compile).
///
/// Backward: the body's backward from `dy`, then `dx[i] = dy[i] + dbody[i]` (skip path first,
/// then body path, per element: the runtime-shaped `residual`'s order, bit for bit). The
/// parameters, gradients and trace are the body's.
///
/// The block is [`Infer`] when its body is (an inference-only body makes an inference-only
/// block), a [`Layer`] when the body is trainable, and a [`BatchLayer<N>`] when the body is
/// one (the body over the whole batch, then the skip for each sample; the body's batch
/// trace).
///
/// Buffer-reusing inference ([`Infer::forward_reusing`]): the skip input must outlive the
/// body, so the block keeps its input `x` at the start of the chain's current buffer and
/// runs the body with the rest of that buffer and the other one as the body's scratch
/// ([`Infer::forward_scratch`]), writing straight into its output: nothing goes on the
/// stack, and its [`Infer::MAX_WIDTH`] is `X::LEN + B::SCRATCH_WIDTH` (`X::LEN` for a
/// single-layer body). [`Infer::forward_flat`] alone has no scratch: a chain body then runs
/// through its stack-based `forward_flat` (see [`Infer::forward_flat`]).
///
/// ```
/// use neurite::prelude::*;
/// let block = Residual(Dense::<2, 2>::new([[1.0, 0.0], [0.0, 2.0]], [0.0, 1.0]));
/// let mut y = [0.0; 2];
/// block.forward(&[1.0, 2.0], &mut y);
/// assert_eq!(y, [2.0, 7.0]);
/// ```
#[derive(Clone, Debug, PartialEq)]
pub struct Residual<B>(pub B);

impl<B: Params> Params for Residual<B> {
    const TENSORS: usize = B::TENSORS;
    const LEN: usize = B::LEN;
    fn tensor(&self, i: usize) -> &[f32] {
        self.0.tensor(i)
    }
    fn tensor_mut(&mut self, i: usize) -> &mut [f32] {
        self.0.tensor_mut(i)
    }
}

impl<X: Vector, B: Infer<Input = X, Output = X>> Infer for Residual<B> {
    type Input = X;
    type Output = X;
    /// The input (kept for the skip) plus the body's scratch, in the current buffer.
    const MAX_WIDTH: usize = X::LEN + B::SCRATCH_WIDTH;
    const SCRATCH_WIDTH: usize = B::SCRATCH_WIDTH;

    fn forward(&self, x: &X, y: &mut X) {
        self.0.forward(x, y);
        add_skip(x.as_slice(), y.as_mut_slice());
    }

    fn forward_flat(&self, x: &[f32], y: &mut [f32]) {
        self.0.forward_flat(x, y);
        add_skip(x, y);
    }

    /// The body from `x` into `y` with `s` and `t` as its scratch, then the skip.
    fn forward_scratch(&self, x: &[f32], y: &mut [f32], s: &mut [f32], t: &mut [f32]) {
        self.0.forward_scratch(x, y, s, t);
        add_skip(x, y);
    }

    /// One `residual` entry holding the body's parameter count (the sum over the body's
    /// descriptions; the body is not listed, so widths chain and parameter counts add up
    /// over a model's descriptions).
    fn describe(&self, f: &mut dyn FnMut(LayerDesc)) {
        let mut params = 0;
        self.0.describe(&mut |d| params += d.params());
        f(LayerDesc::Other { name: "residual", inputs: X::LEN, outputs: X::LEN, params });
    }
}

impl<X: Vector, B: Layer<Input = X, Output = X>> Layer for Residual<B> {
    type Trace = B::Trace;
    type Grads = B::Grads;
    const DEFAULT: Self = Self(B::DEFAULT);

    fn forward_trace(&self, ctx: &mut Ctx<'_>, x: &X, trace: &mut B::Trace, y: &mut X) {
        self.0.forward_trace(ctx, x, trace, y);
        add_skip(x.as_slice(), y.as_mut_slice());
    }

    // `dy + dbody` written out in that order (not `+=`), as the runtime-shaped `residual`.
    #[allow(clippy::assign_op_pattern)]
    fn backward(&self, x: &X, trace: &B::Trace, dy: &X, dx: &mut X, grads: &mut B::Grads) {
        // dx holds the body's input gradient, then becomes dy + dbody.
        self.0.backward(x, trace, dy, dx, grads);
        for (d, &s) in dx.as_mut_slice().iter_mut().zip(dy.as_slice()) {
            *d = s + *d;
        }
    }

    fn backward_params(&self, x: &X, trace: &B::Trace, dy: &X, grads: &mut B::Grads) {
        self.0.backward_params(x, trace, dy, grads);
    }

    fn init(&mut self, init: &LayerInit, rng: &mut Rng) {
        self.0.init(init, rng);
    }
}

/// `N` is the batch size: the body over the whole batch (a batch norm inside it sees every
/// sample), then the skip sample by sample.
impl<const N: usize, X: Vector, B: BatchLayer<N, Input = X, Output = X>> BatchLayer<N>
    for Residual<B>
{
    type BatchTrace = B::BatchTrace;
    const BACKWARD_STACK: usize = B::BACKWARD_STACK;

    fn forward_batch(
        &mut self,
        ctx: &mut Ctx<'_>,
        x: &[X; N],
        trace: &mut B::BatchTrace,
        y: &mut [X; N],
    ) {
        self.0.forward_batch(ctx, x, trace, y);
        for (x, y) in x.iter().zip(y.iter_mut()) {
            add_skip(x.as_slice(), y.as_mut_slice());
        }
    }

    // `dy + dbody` written out in that order (not `+=`), as the runtime-shaped `residual`.
    #[allow(clippy::assign_op_pattern)]
    fn backward_batch(
        &self,
        x: &[X; N],
        trace: &B::BatchTrace,
        dy: &[X; N],
        dx: &mut [X; N],
        grads: &mut B::Grads,
    ) {
        // dx holds the body's input gradients, then becomes dy + dbody.
        self.0.backward_batch(x, trace, dy, dx, grads);
        for (d, &s) in X::batch_slice_mut(dx).iter_mut().zip(X::batch_slice(dy)) {
            *d = s + *d;
        }
    }

    fn backward_params_batch(
        &self,
        x: &[X; N],
        trace: &B::BatchTrace,
        dy: &[X; N],
        grads: &mut B::Grads,
    ) {
        self.0.backward_params_batch(x, trace, dy, grads);
    }
}

/// `y[i] = x[i] + y[i]` (the input first, as the runtime-shaped `residual`).
#[allow(clippy::assign_op_pattern)]
fn add_skip(x: &[f32], y: &mut [f32]) {
    for (o, &a) in y.iter_mut().zip(x) {
        *o = a + *o;
    }
}
