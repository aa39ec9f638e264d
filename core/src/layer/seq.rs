//! Sequential models: the pair `(A, B)` is the layer "A then B".
//!
//! Longer chains nest: `(A, (B, (C, D)))`, which the [`Seq!`](crate::Seq) macro writes as
//! `Seq![A, B, C, D]`. The bound `B::Input = A::Output` makes a shape mismatch a compile
//! error. A pair is [`Infer`] when both parts are (an inference-only model) and a [`Layer`]
//! when both are trainable.
//!
//! `Trace = (A::Trace, A::Output, B::Trace)`: the intermediate output between A and B is
//! kept for backward. Backward declares one `A::Output`-sized gradient on the stack per pair
//! and recurses into B first, so a chain's activation gradients are all alive at the deepest
//! point (up to their sum, as the per-sample forward's outputs; not measured).
//!
//! Inference: [`Infer::forward`] declares the intermediate `A::Output` on the stack and
//! recurses, so a chain's intermediate outputs are declared together (up to their sum: the
//! optimiser may overlap some, `firmware/tests/on_target.rs`);
//! [`Infer::forward_buffered`] puts two buffers of [`Infer::SCRATCH_WIDTH`] on the stack;
//! [`Infer::forward_reusing`] ping-pongs them between two caller buffers instead
//! ([`Infer::forward_chain`]: A reads `cur` and writes `other`, then B runs with the two
//! swapped).
//!
//! Minibatch training ([`BatchLayer<N>`]): A over the whole batch, then B; the batch trace
//! `(A::BatchTrace, [A::Output; N], B::BatchTrace)` keeps the `N` intermediate outputs, and
//! backward declares one `[A::Output; N]` gradient per pair, all alive at the deepest point
//! ([`BatchLayer::BACKWARD_STACK`]).

use super::{copy_flat, max_len, split_len, BatchLayer, Ctx, Infer, Layer};
use crate::init::LayerInit;
use crate::params::{Vector, Zeroed};
use crate::rng::Rng;

/// A sequential model type from a list of layers: `Seq![A, B, C]` is `(A, (B, C))`.
///
/// ```
/// use neurite::prelude::*;
/// type Model = neurite::Seq![Dense<4, 16>, Relu<16>, Dense<16, 3>];
/// assert_eq!(neurite::layer::param_count::<Model>(), 4 * 16 + 16 + 16 * 3 + 3);
/// ```
#[macro_export]
macro_rules! Seq {
    ($a:ty $(,)?) => { $a };
    ($a:ty, $($rest:ty),+ $(,)?) => { ($a, $crate::Seq![$($rest),+]) };
}

impl<A: Infer, B: Infer<Input = A::Output>> Infer for (A, B) {
    type Input = A::Input;
    type Output = B::Output;
    /// A reads `cur` (its input, then its scratch) and writes `other` (its output, then its
    /// scratch); B then needs its own width in both.
    const MAX_WIDTH: usize = max_len(
        max_len(<A::Input as Vector>::LEN, <A::Output as Vector>::LEN) + A::SCRATCH_WIDTH,
        B::MAX_WIDTH,
    );
    /// A writes its output into `s` and uses the rest of `s` and `t` as scratch; B then
    /// needs its width in both.
    const SCRATCH_WIDTH: usize =
        max_len(<A::Output as Vector>::LEN + A::SCRATCH_WIDTH, B::MAX_WIDTH);

    fn forward(&self, x: &A::Input, y: &mut B::Output) {
        let mut mid = A::Output::ZEROED;
        self.0.forward(x, &mut mid);
        self.1.forward(&mid, y);
    }

    /// Through [`Infer::forward`] on the stack (a chain has no scratch here).
    fn forward_flat(&self, x: &[f32], y: &mut [f32]) {
        let mut input = A::Input::ZEROED;
        copy_flat(x, input.as_mut_slice());
        let mut output = B::Output::ZEROED;
        self.forward(&input, &mut output);
        copy_flat(output.as_slice(), y);
    }

    /// A: `x` into `s`, then B from `s` with `s` and `t` ping-ponging.
    fn forward_scratch(&self, x: &[f32], y: &mut [f32], s: &mut [f32], t: &mut [f32]) {
        {
            let (mid, spare) = split_len(s, <A::Output as Vector>::LEN);
            self.0.forward_scratch(x, mid, spare, t);
        }
        self.1.forward_chain(s, t, y);
    }

    /// A: `cur` into `other`, then B with the roles swapped (its input in `other`).
    fn forward_chain(&self, cur: &mut [f32], other: &mut [f32], y: &mut [f32]) {
        {
            let (x, cur_spare) = split_len(cur, <A::Input as Vector>::LEN);
            let (mid, other_spare) = split_len(other, <A::Output as Vector>::LEN);
            self.0.forward_scratch(x, mid, cur_spare, other_spare);
        }
        self.1.forward_chain(other, cur, y);
    }

    fn describe(&self, f: &mut dyn FnMut(super::LayerDesc)) {
        self.0.describe(f);
        self.1.describe(f);
    }
}

impl<A: Layer, B: Layer<Input = A::Output>> Layer for (A, B) {
    type Trace = (A::Trace, A::Output, B::Trace);
    type Grads = (A::Grads, B::Grads);
    const DEFAULT: Self = (A::DEFAULT, B::DEFAULT);

    /// A then B with the same context (A's draws first).
    fn forward_trace(
        &self,
        ctx: &mut Ctx<'_>,
        x: &A::Input,
        t: &mut Self::Trace,
        y: &mut B::Output,
    ) {
        self.0.forward_trace(ctx, x, &mut t.0, &mut t.1);
        self.1.forward_trace(ctx, &t.1, &mut t.2, y);
    }

    fn backward(
        &self,
        x: &A::Input,
        t: &Self::Trace,
        dy: &B::Output,
        dx: &mut A::Input,
        grads: &mut Self::Grads,
    ) {
        let mut dmid = A::Output::ZEROED;
        self.1.backward(&t.1, &t.2, dy, &mut dmid, &mut grads.1);
        self.0.backward(x, &t.0, &dmid, dx, &mut grads.0);
    }

    fn backward_params(
        &self,
        x: &A::Input,
        t: &Self::Trace,
        dy: &B::Output,
        grads: &mut Self::Grads,
    ) {
        let mut dmid = A::Output::ZEROED;
        self.1.backward(&t.1, &t.2, dy, &mut dmid, &mut grads.1);
        self.0.backward_params(x, &t.0, &dmid, &mut grads.0);
    }

    fn init(&mut self, init: &LayerInit, rng: &mut Rng) {
        self.0.init(init, rng);
        self.1.init(init, rng);
    }
}

/// `N` is the batch size: A over the whole batch, then B.
impl<const N: usize, A: BatchLayer<N>, B: BatchLayer<N, Input = A::Output>> BatchLayer<N>
    for (A, B)
{
    type BatchTrace = (A::BatchTrace, [A::Output; N], B::BatchTrace);
    /// The `[A::Output; N]` gradient between the parts, plus the larger of theirs.
    const BACKWARD_STACK: usize =
        size_of::<[A::Output; N]>() + max_len(A::BACKWARD_STACK, B::BACKWARD_STACK);

    /// A then B with the same context (A's draws first, for every sample).
    fn forward_batch(
        &mut self,
        ctx: &mut Ctx<'_>,
        x: &[A::Input; N],
        t: &mut Self::BatchTrace,
        y: &mut [B::Output; N],
    ) {
        self.0.forward_batch(ctx, x, &mut t.0, &mut t.1);
        self.1.forward_batch(ctx, &t.1, &mut t.2, y);
    }

    fn backward_batch(
        &self,
        x: &[A::Input; N],
        t: &Self::BatchTrace,
        dy: &[B::Output; N],
        dx: &mut [A::Input; N],
        grads: &mut Self::Grads,
    ) {
        let mut dmid = [A::Output::ZEROED; N];
        self.1.backward_batch(&t.1, &t.2, dy, &mut dmid, &mut grads.1);
        self.0.backward_batch(x, &t.0, &dmid, dx, &mut grads.0);
    }

    fn backward_params_batch(
        &self,
        x: &[A::Input; N],
        t: &Self::BatchTrace,
        dy: &[B::Output; N],
        grads: &mut Self::Grads,
    ) {
        let mut dmid = [A::Output::ZEROED; N];
        self.1.backward_batch(&t.1, &t.2, dy, &mut dmid, &mut grads.1);
        self.0.backward_params_batch(x, &t.0, &dmid, &mut grads.0);
    }
}
