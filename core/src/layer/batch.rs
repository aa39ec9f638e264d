//! Training over a whole minibatch of compile-time size `B`: [`BatchLayer`] and the marker
//! [`PerSample`] that gives it to ordinary layers.

use super::{Ctx, Layer};
use crate::params::Zeroed;

/// A trainable layer that also trains over a whole minibatch of `B` samples at once, `B` a
/// compile-time constant.
///
/// [`Layer`] trains one sample at a time, which is all most layers need: their gradient
/// over a batch is the sum of the samples' gradients. Batch normalisation in train mode is
/// different: it normalises every sample with the statistics of the whole batch (PyTorch's
/// `model.train()`), so its forward needs every sample at once, and so does its backward (the
/// batch statistics depend on every input). [`BatchLayer<B>`] is that capability: a forward
/// and a backward over `[Input; B]`, with a `BatchTrace` kept between them. Gradients are
/// **added** into `grads` as by [`Layer::backward`]: one `backward_batch` adds the batch's
/// summed gradient (the [`crate::batch_train::BatchTrainer`] scales it by the reduction
/// afterwards).
///
/// - Ordinary layers ([`Dense`](super::Dense), the convolutions, pools, activations,
///   [`Dropout`](super::Dropout), ...) implement the marker [`PerSample`], which makes them
///   a `BatchLayer<B>` for every `B`: each sample in sample order through their
///   [`Layer::forward_trace`] and [`Layer::backward`], so their gradients are summed in
///   sample order (as the per-sample [`crate::train::Trainer`] and the runtime-shaped batch
///   path do) and dropout draws its masks sample by sample from the context's generator.
///   Their batch trace is `[Trace; B]`.
/// - [`BatchNorm`](super::BatchNorm) in train mode ([`Ctx::train`]): batch statistics over
///   the `B` samples ([`crate::kernel::norm::batchnorm_train_forward`]), the running
///   statistics moved by `momentum`, and the train-mode backward; in eval mode, each sample
///   with the running statistics, as [`Layer::forward_trace`].
/// - A pair `(A, Z)` keeps its intermediate outputs `[A::Output; B]` in its batch trace; a
///   [`Residual`](super::Residual) block runs its body over the batch, then adds the skip.
///
/// [`crate::batch_train::BatchTrainer`] drives it (one forward and one backward per
/// minibatch); its RAM is `size_of::<BatchTrainer<M, B>>()`
/// ([`crate::footprint::batch_training`]).
///
/// ## Memory
///
/// The batch trace holds `B` of everything the per-sample trace holds (a chain's
/// intermediate outputs, dropout masks) plus two `[f32; C]` statistics per batch norm; the
/// trainer adds `B` outputs and `B` output gradients. Backward declares on the stack one
/// `[A::Output; B]` gradient per link of a chain, all alive at the deepest point
/// ([`BatchLayer::BACKWARD_STACK`] counts them).
///
/// ```
/// use neurite::prelude::*;
/// type Model = neurite::Seq![Dense<3, 4>, BatchNorm1d<4>, Tanh<4>, Dense<4, 2>];
/// let mut model = Model::DEFAULT;
/// model.init(&LayerInit::XAVIER, &mut Rng::new(1));
/// let xs = [[0.5, -1.0, 2.0], [1.0, 0.0, -0.5], [-2.0, 0.25, 1.0], [0.0, 1.5, 0.5]];
/// let mut trace = <Model as BatchLayer<4>>::BatchTrace::ZEROED;
/// let mut ys = [[0.0; 2]; 4];
/// model.forward_batch(&mut Ctx::train(), &xs, &mut trace, &mut ys);
/// let mut grads = <Model as Layer>::Grads::ZEROED;
/// let mut dxs = [[0.0; 3]; 4];
/// model.backward_batch(&xs, &trace, &[[1.0, 0.0]; 4], &mut dxs, &mut grads);
/// // The running mean moved from 0 towards the batch mean of the first layer's outputs.
/// assert!(model.1 .0.running_mean.iter().any(|m| *m != 0.0));
/// ```
pub trait BatchLayer<const B: usize>: Layer {
    /// What [`BatchLayer::forward_batch`] keeps for [`BatchLayer::backward_batch`]:
    /// `[Trace; B]` for a [`PerSample`] layer, the batch statistics for a batch norm, and
    /// for a pair both parts' plus the intermediate outputs.
    type BatchTrace: Zeroed;

    /// Bytes of activation gradients that [`BatchLayer::backward_batch`] (and
    /// [`BatchLayer::backward_params_batch`]) declare on the stack at their deepest point:
    /// for a pair `(A, Z)` the `[A::Output; B]` it passes between its parts plus the larger
    /// of theirs; 0 for a single layer. Kernel locals and the per-sample backward's own
    /// scratch are not counted.
    const BACKWARD_STACK: usize = 0;

    /// Training forward over the batch: `y[n] = layer(x[n])`, in `ctx`'s mode, keeping in
    /// `trace` what backward needs. Takes `&mut self` because a batch norm in train mode
    /// updates its running statistics; other layers leave themselves unchanged. Layers run
    /// one after the other over the whole batch, so a generator in `ctx` is drawn from
    /// layer by layer, sample by sample within a layer (the runtime-shaped model's order).
    fn forward_batch(
        &mut self,
        ctx: &mut Ctx<'_>,
        x: &[Self::Input; B],
        trace: &mut Self::BatchTrace,
        y: &mut [Self::Output; B],
    );

    /// Backward over the batch: writes `dx[n] = d loss / d x[n]` and **adds** the batch's
    /// `d loss / d params` into `grads`, given `dy[n] = d loss / d y[n]` and the `x` and
    /// `trace` of [`BatchLayer::forward_batch`].
    fn backward_batch(
        &self,
        x: &[Self::Input; B],
        trace: &Self::BatchTrace,
        dy: &[Self::Output; B],
        dx: &mut [Self::Input; B],
        grads: &mut Self::Grads,
    );

    /// Backward without `dx` (the first trained layer needs no input gradient). Defaults to
    /// [`BatchLayer::backward_batch`] into a scratch `[Input; B]` on the stack; every layer
    /// of this crate overrides it and needs no scratch.
    fn backward_params_batch(
        &self,
        x: &[Self::Input; B],
        trace: &Self::BatchTrace,
        dy: &[Self::Output; B],
        grads: &mut Self::Grads,
    ) {
        let mut dx = [<Self::Input as Zeroed>::ZEROED; B];
        self.backward_batch(x, trace, dy, &mut dx, grads);
    }
}

/// A layer whose minibatch training is its per-sample training, sample by sample: the
/// marker that makes it a [`BatchLayer<B>`] for every `B`, with `BatchTrace = [Trace; B]`.
///
/// Every layer of this crate but [`BatchNorm`](super::BatchNorm), pairs and
/// [`Residual`](super::Residual) blocks is one. A layer of your own becomes one with an
/// empty `impl PerSample for MyLayer {}`.
///
/// Forward runs [`Layer::forward_trace`] on sample 0, 1, ..., `B - 1` with the same
/// context; backward runs [`Layer::backward`] (or [`Layer::backward_params`]) in the same
/// order, so the parameter gradients are added in sample order.
pub trait PerSample: Layer {}

impl<L: PerSample, const B: usize> BatchLayer<B> for L {
    type BatchTrace = [L::Trace; B];

    fn forward_batch(
        &mut self,
        ctx: &mut Ctx<'_>,
        x: &[L::Input; B],
        trace: &mut [L::Trace; B],
        y: &mut [L::Output; B],
    ) {
        for ((x, t), y) in x.iter().zip(trace.iter_mut()).zip(y.iter_mut()) {
            self.forward_trace(ctx, x, t, y);
        }
    }

    fn backward_batch(
        &self,
        x: &[L::Input; B],
        trace: &[L::Trace; B],
        dy: &[L::Output; B],
        dx: &mut [L::Input; B],
        grads: &mut L::Grads,
    ) {
        for (((x, t), dy), dx) in x.iter().zip(trace).zip(dy).zip(dx.iter_mut()) {
            self.backward(x, t, dy, dx, grads);
        }
    }

    fn backward_params_batch(
        &self,
        x: &[L::Input; B],
        trace: &[L::Trace; B],
        dy: &[L::Output; B],
        grads: &mut L::Grads,
    ) {
        for ((x, t), dy) in x.iter().zip(trace).zip(dy) {
            self.backward_params(x, t, dy, grads);
        }
    }
}
