//! The U-Net's skip link: `y = [x, body(x)]` stacked per sample.

use core::marker::PhantomData;

use super::{copy_flat, max_len, split_len, BatchLayer, Ctx, Infer, Layer, LayerDesc};
use crate::init::LayerInit;
use crate::params::{Params, Vector, Zeroed};
use crate::rng::Rng;

/// A concatenating skip connection: the output holds the input's values, then the body's
/// output's (`y[..X::LEN] = x`, `y[X::LEN..] = body(x)`). For channel-first shapes that is
/// concatenation along the channel axis: input `[[[f32; W]; H]; C1]`, a body with output
/// `[[[f32; W]; H]; C2]` and output `[[[f32; W]; H]; C1 + C2]` (the runtime-shaped
/// `concat`). `Y::LEN` must be `X::LEN + Body::Output::LEN`; anything else does not compile
/// (a const assertion evaluated by `new`, `DEFAULT` and the forwards).
///
/// Backward: the body's backward from `dy[X::LEN..]`, then `dx[i] = dy[i] + dbody[i]` (skip
/// path first, then body path, per element: the runtime-shaped `concat`'s order, bit for
/// bit). The parameters, gradients and trace are the body's.
///
/// The block is [`Infer`] when its body is, a [`Layer`] when the body is trainable, and a
/// [`BatchLayer<N>`] when the body is one (the body over the whole batch, then the copies).
///
/// Buffer-reusing inference ([`Infer::forward_reusing`]): the block copies its input into
/// the first `X::LEN` values of its output and runs the body with the two scratch buffers
/// straight into the rest ([`Infer::forward_scratch`]), so its [`Infer::SCRATCH_WIDTH`] is
/// the body's and its [`Infer::MAX_WIDTH`] is the larger of `X::LEN + B::SCRATCH_WIDTH` and
/// `Y::LEN`. The per-sample training forward and backward hold one `Body::Output` on the
/// stack.
///
/// ```
/// use neurite::prelude::*;
/// type Block = Concat<Dense<2, 1>, [f32; 2], [f32; 3]>;
/// let block = Block::new(Dense::new([[1.0, 1.0]], [0.5]));
/// let mut y = [0.0; 3];
/// block.forward(&[1.0, 2.0], &mut y);
/// assert_eq!(y, [1.0, 2.0, 3.5]);
/// ```
///
/// A wrong output size does not compile:
///
/// ```compile_fail
/// use neurite::prelude::*;
/// static BLOCK: Concat<Dense<2, 1>, [f32; 2], [f32; 4]> = Concat::DEFAULT; // 2 + 1 values
/// ```
pub struct Concat<B, X, Y> {
    /// The body: `x` to the values after the copy of `x`.
    pub body: B,
    shape: PhantomData<fn(X) -> Y>,
}

impl<B: Clone, X, Y> Clone for Concat<B, X, Y> {
    fn clone(&self) -> Self {
        Self { body: self.body.clone(), shape: PhantomData }
    }
}

impl<B: core::fmt::Debug, X, Y> core::fmt::Debug for Concat<B, X, Y> {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("Concat").field("body", &self.body).finish()
    }
}

impl<B: PartialEq, X, Y> PartialEq for Concat<B, X, Y> {
    fn eq(&self, other: &Self) -> bool {
        self.body == other.body
    }
}

impl<X: Vector, Y: Vector, B: Infer<Input = X>> Concat<B, X, Y> {
    const SHAPE_OK: () = assert!(
        Y::LEN == X::LEN + <B::Output as Vector>::LEN,
        "Concat: Y must hold X's values and then the body's output (Y::LEN == X::LEN + Body::Output::LEN)"
    );

    /// The block around `body` (checks the sizes; usable in `const` and `static` items).
    pub const fn new(body: B) -> Self {
        let () = Self::SHAPE_OK;
        Self { body, shape: PhantomData }
    }
}

impl<B: Params, X, Y> Params for Concat<B, X, Y> {
    const TENSORS: usize = B::TENSORS;
    const LEN: usize = B::LEN;
    fn tensor(&self, i: usize) -> &[f32] {
        self.body.tensor(i)
    }
    fn tensor_mut(&mut self, i: usize) -> &mut [f32] {
        self.body.tensor_mut(i)
    }
}

impl<X: Vector, Y: Vector, B: Infer<Input = X>> Infer for Concat<B, X, Y> {
    type Input = X;
    type Output = Y;
    /// The input with the body's scratch after it in the current buffer, or the output.
    const MAX_WIDTH: usize = max_len(X::LEN + B::SCRATCH_WIDTH, max_len(X::LEN, Y::LEN));
    const SCRATCH_WIDTH: usize = B::SCRATCH_WIDTH;

    fn forward(&self, x: &X, y: &mut Y) {
        let () = Self::SHAPE_OK;
        let mut inner = B::Output::ZEROED;
        self.body.forward(x, &mut inner);
        combine(x.as_slice(), inner.as_slice(), y.as_mut_slice());
    }

    /// The copy of `x`, then the body's [`Infer::forward_flat`] into the rest of `y`.
    fn forward_flat(&self, x: &[f32], y: &mut [f32]) {
        let () = Self::SHAPE_OK;
        let (head, tail) = split_len(y, X::LEN);
        copy_flat(x, head);
        self.body.forward_flat(x, tail);
    }

    /// The copy of `x`, then the body from `x` into the rest of `y` with `s` and `t` as its
    /// scratch.
    fn forward_scratch(&self, x: &[f32], y: &mut [f32], s: &mut [f32], t: &mut [f32]) {
        let () = Self::SHAPE_OK;
        let (head, tail) = split_len(y, X::LEN);
        copy_flat(x, head);
        self.body.forward_scratch(x, tail, s, t);
    }

    /// One `concat` entry holding the body's parameter count (the body is not listed).
    fn describe(&self, f: &mut dyn FnMut(LayerDesc)) {
        let mut params = 0;
        self.body.describe(&mut |d| params += d.params());
        f(LayerDesc::Other { name: "concat", inputs: X::LEN, outputs: Y::LEN, params });
    }
}

impl<X: Vector, Y: Vector, B: Layer<Input = X>> Layer for Concat<B, X, Y> {
    type Trace = B::Trace;
    type Grads = B::Grads;
    const DEFAULT: Self = Self::new(B::DEFAULT);

    fn forward_trace(&self, ctx: &mut Ctx<'_>, x: &X, trace: &mut B::Trace, y: &mut Y) {
        let () = Self::SHAPE_OK;
        let mut inner = B::Output::ZEROED;
        self.body.forward_trace(ctx, x, trace, &mut inner);
        combine(x.as_slice(), inner.as_slice(), y.as_mut_slice());
    }

    // `dy + dbody` written out in that order (not `+=`), as the runtime-shaped `concat`.
    #[allow(clippy::assign_op_pattern)]
    fn backward(&self, x: &X, trace: &B::Trace, dy: &Y, dx: &mut X, grads: &mut B::Grads) {
        let mut dinner = B::Output::ZEROED;
        copy_flat(body_part::<X>(dy.as_slice()), dinner.as_mut_slice());
        // dx holds the body's input gradient, then becomes dy[..X::LEN] + dbody.
        self.body.backward(x, trace, &dinner, dx, grads);
        for (d, &s) in dx.as_mut_slice().iter_mut().zip(dy.as_slice()) {
            *d = s + *d;
        }
    }

    fn backward_params(&self, x: &X, trace: &B::Trace, dy: &Y, grads: &mut B::Grads) {
        let mut dinner = B::Output::ZEROED;
        copy_flat(body_part::<X>(dy.as_slice()), dinner.as_mut_slice());
        self.body.backward_params(x, trace, &dinner, grads);
    }

    fn init(&mut self, init: &LayerInit, rng: &mut Rng) {
        self.body.init(init, rng);
    }
}

/// `N` is the batch size: the body over the whole batch (a batch norm inside it sees every
/// sample), then the copies sample by sample. Forward and backward hold `[Body::Output; N]`
/// on the stack.
impl<const N: usize, X: Vector, Y: Vector, B: BatchLayer<N, Input = X>> BatchLayer<N>
    for Concat<B, X, Y>
{
    type BatchTrace = B::BatchTrace;
    const BACKWARD_STACK: usize = size_of::<[B::Output; N]>() + B::BACKWARD_STACK;

    fn forward_batch(
        &mut self,
        ctx: &mut Ctx<'_>,
        x: &[X; N],
        trace: &mut B::BatchTrace,
        y: &mut [Y; N],
    ) {
        let () = Self::SHAPE_OK;
        let mut inner = [B::Output::ZEROED; N];
        self.body.forward_batch(ctx, x, trace, &mut inner);
        for ((x, i), y) in x.iter().zip(&inner).zip(y.iter_mut()) {
            combine(x.as_slice(), i.as_slice(), y.as_mut_slice());
        }
    }

    // `dy + dbody` written out in that order (not `+=`), as the runtime-shaped `concat`.
    #[allow(clippy::assign_op_pattern)]
    fn backward_batch(
        &self,
        x: &[X; N],
        trace: &B::BatchTrace,
        dy: &[Y; N],
        dx: &mut [X; N],
        grads: &mut B::Grads,
    ) {
        let dinner = body_parts::<N, X, Y, B::Output>(dy);
        self.body.backward_batch(x, trace, &dinner, dx, grads);
        for (dx, dy) in dx.iter_mut().zip(dy) {
            for (d, &s) in dx.as_mut_slice().iter_mut().zip(dy.as_slice()) {
                *d = s + *d;
            }
        }
    }

    fn backward_params_batch(
        &self,
        x: &[X; N],
        trace: &B::BatchTrace,
        dy: &[Y; N],
        grads: &mut B::Grads,
    ) {
        let dinner = body_parts::<N, X, Y, B::Output>(dy);
        self.body.backward_params_batch(x, trace, &dinner, grads);
    }
}

/// `y = [x, inner]` over the values each holds (never panics).
fn combine(x: &[f32], inner: &[f32], y: &mut [f32]) {
    let (head, tail) = split_len(y, x.len());
    copy_flat(x, head);
    copy_flat(inner, tail);
}

/// The body's share of an output (gradient): the values after the input's.
fn body_part<X: Vector>(y: &[f32]) -> &[f32] {
    y.get(X::LEN..).unwrap_or(&[])
}

/// The body's share of each sample's output gradient.
fn body_parts<const N: usize, X: Vector, Y: Vector, O: Vector>(dy: &[Y; N]) -> [O; N] {
    let mut out = [O::ZEROED; N];
    for (o, dy) in out.iter_mut().zip(dy) {
        copy_flat(body_part::<X>(dy.as_slice()), o.as_mut_slice());
    }
    out
}
