//! Fine-tuning: a trained head behind a frozen, borrowed prefix, usable wherever a
//! [`Layer`] is.

use super::{copy_flat, BatchLayer, Ctx, FirstLayers, Infer, Layer, LayerDesc, Split};
use crate::error::{check_finite, Error};
use crate::init::LayerInit;
use crate::loss::{Loss, Target};
use crate::optim::Optimizer;
use crate::params::{Params, Vector, Zeroed};
use crate::rng::Rng;
use crate::train::Trainer;

/// A head `H` trained behind a frozen prefix `F`: `y = head(frozen(x))`, with gradients and
/// optimiser state for the head only. On an MCU the prefix stays in flash: `F` is a
/// borrowed model (`&'static Frozen`, any [`Infer`], an inference-only one included) or
/// the first layers of a borrowed model ([`FirstLayers`], from [`FineTune::after`], which
/// also derives the head's type).
///
/// `FineTune` is a [`Layer`]: a [`Trainer`], [`crate::train::train_epoch`],
/// [`crate::train::gradient_descent`], a [`crate::batch_train::BatchTrainer`] and every optimiser take it. As a layer its parameters, gradients and
/// `init` are the head's, and its gradient stops at the frozen part (PyTorch's
/// `head(frozen(x).detach())`): [`Layer::backward`] writes a zero input gradient, so a
/// trainable layer placed before a `FineTune` gets none. [`Infer::describe`] lists the
/// frozen layers, then the head's, so a `FineTune` is not written as a model file nor
/// loaded from one when its frozen part has parameters (its parameters are only the
/// head's: `Err(LengthMismatch)`); save and load the head: `save_typed(&tuned.head, ...)`.
///
/// It has no [`Layer::DEFAULT`] (it borrows its prefix): using it fails to compile with
/// "FineTune has no DEFAULT"; build one with [`FineTune::new`] or [`FineTune::after`].
///
/// ```
/// use neurite::loss::{CrossEntropy, Reduction, Target};
/// use neurite::optim::{Optimizer, Sgd, SgdConfig};
/// use neurite::prelude::*;
/// type Frozen = neurite::Seq![Dense<4, 8>, Relu<8>];
/// type Head = Dense<8, 3>;
/// let mut frozen = Frozen::DEFAULT; // on an MCU: a `static` in flash
/// frozen.init(&LayerInit::XAVIER, &mut Rng::new(1));
/// let mut head = Head::DEFAULT;
/// head.init(&LayerInit::XAVIER, &mut Rng::new(2));
/// let mut tuned = FineTune::new(&frozen, head);
/// let (mut trainer, ce) = (Trainer::<Head>::new(), CrossEntropy::default());
/// let mut opt = Sgd::<<Head as Layer>::Grads>::new(SgdConfig::new(0.1)).unwrap();
/// let x = [0.5, -1.0, 2.0, 0.25];
/// let mut losses = [0.0; 2];
/// for loss in &mut losses {
///     trainer.begin();
///     tuned.accumulate(&mut trainer, &ce, &x, Target::Class(2)).unwrap();
///     *loss = trainer.finish(&ce, Reduction::Mean).unwrap().0;
///     tuned.step(&mut opt, &trainer); // only the head changes
/// }
/// assert!(losses[1] < losses[0]);
/// ```
#[derive(Clone, Debug)]
pub struct FineTune<F: Infer, H: Layer<Input = F::Output>> {
    /// The frozen layers (read-only).
    pub frozen: F,
    /// The trained layers.
    pub head: H,
}

/// The fine-tuning of model `M`'s layers after its first `K` ([`FineTune::after`]), with
/// `M`'s first `K` layers borrowed, frozen: both types derived from `M`.
pub type FineTuneAfter<'a, M, const K: usize> =
    FineTune<FirstLayers<'a, M, K>, <M as Split<K>>::Tail>;

impl<F: Infer, H: Layer<Input = F::Output>> FineTune<F, H> {
    /// Fine-tunes `head` behind `frozen`.
    pub const fn new(frozen: F, head: H) -> Self {
        Self { frozen, head }
    }

    /// Inference through both parts.
    pub fn forward(&self, x: &F::Input, y: &mut H::Output) {
        let mut features = F::Output::ZEROED;
        self.frozen.forward(x, &mut features);
        self.head.forward(&features, y);
    }

    /// Adds one sample's head gradient to a trainer of the head alone (it keeps only the
    /// head's trace: the features are recomputed on the stack).
    pub fn accumulate<Lo: Loss + ?Sized>(
        &self,
        trainer: &mut Trainer<H>,
        loss: &Lo,
        x: &F::Input,
        target: Target<'_>,
    ) -> Result<f32, Error> {
        check_finite(x.as_slice())?;
        let mut features = F::Output::ZEROED;
        self.frozen.forward(x, &mut features);
        trainer.accumulate(&self.head, loss, &features, target)
    }

    /// Updates the head with the trainer's gradients.
    pub fn step<O: Optimizer<H::Grads>>(&mut self, optimizer: &mut O, trainer: &Trainer<H>) {
        optimizer.step(&mut self.head, &trainer.grads);
    }
}

impl<'a, M: Split<K>, const K: usize> FineTune<FirstLayers<'a, M, K>, M::Tail>
where
    M::Tail: Clone,
{
    /// Fine-tunes the layers of `model` after its first `K`: those `K` run frozen from the
    /// borrowed model (in flash on an MCU), and the head starts as a copy of the rest (in
    /// RAM). The head's type is `<M as Split<K>>::Tail`, nothing to write.
    pub fn after(model: &'a M) -> Self {
        Self::new(FirstLayers(model), model.tail().clone())
    }
}

impl<F: Infer, H: Layer<Input = F::Output>> Infer for FineTune<F, H> {
    type Input = F::Input;
    type Output = H::Output;

    fn forward(&self, x: &F::Input, y: &mut H::Output) {
        Self::forward(self, x, y);
    }

    /// Through [`Infer::forward`] on the stack, as a chain.
    fn forward_flat(&self, x: &[f32], y: &mut [f32]) {
        let mut input = F::Input::ZEROED;
        copy_flat(x, input.as_mut_slice());
        let mut output = H::Output::ZEROED;
        Self::forward(self, &input, &mut output);
        copy_flat(output.as_slice(), y);
    }

    fn describe(&self, f: &mut dyn FnMut(LayerDesc)) {
        self.frozen.describe(f);
        self.head.describe(f);
    }
}

/// The head's tensors.
impl<F: Infer, H: Layer<Input = F::Output>> Params for FineTune<F, H> {
    const TENSORS: usize = H::TENSORS;
    const LEN: usize = <H as Params>::LEN;

    fn tensor(&self, i: usize) -> &[f32] {
        self.head.tensor(i)
    }

    fn tensor_mut(&mut self, i: usize) -> &mut [f32] {
        self.head.tensor_mut(i)
    }
}

impl<F: Infer, H: Layer<Input = F::Output>> Layer for FineTune<F, H> {
    /// The frozen part's output (the head's input) and the head's trace.
    type Trace = (F::Output, H::Trace);
    type Grads = H::Grads;
    const DEFAULT: Self = panic!(
        "FineTune has no DEFAULT: it borrows its frozen part; build it with FineTune::new \
         or FineTune::after"
    );

    fn forward_trace(
        &self,
        ctx: &mut Ctx<'_>,
        x: &F::Input,
        trace: &mut Self::Trace,
        y: &mut H::Output,
    ) {
        self.frozen.forward(x, &mut trace.0);
        self.head.forward_trace(ctx, &trace.0, &mut trace.1, y);
    }

    /// The head's gradients; `dx` is zero (the frozen part is not differentiated).
    fn backward(
        &self,
        x: &F::Input,
        trace: &Self::Trace,
        dy: &H::Output,
        dx: &mut F::Input,
        grads: &mut H::Grads,
    ) {
        self.backward_params(x, trace, dy, grads);
        *dx = F::Input::ZEROED;
    }

    fn backward_params(
        &self,
        _x: &F::Input,
        trace: &Self::Trace,
        dy: &H::Output,
        grads: &mut H::Grads,
    ) {
        self.head.backward_params(&trace.0, &trace.1, dy, grads);
    }

    /// Initialises the head (the frozen part is read-only).
    fn init(&mut self, init: &LayerInit, rng: &mut Rng) {
        self.head.init(init, rng);
    }
}

/// Minibatch training of the head: the frozen part runs sample by sample, then the head
/// over the whole batch (a batch-norm head normalises with the batch's statistics).
impl<F: Infer, H: BatchLayer<N, Input = F::Output>, const N: usize> BatchLayer<N>
    for FineTune<F, H>
{
    /// The frozen part's outputs and the head's batch trace.
    type BatchTrace = ([F::Output; N], H::BatchTrace);
    const BACKWARD_STACK: usize = H::BACKWARD_STACK;

    fn forward_batch(
        &mut self,
        ctx: &mut Ctx<'_>,
        x: &[F::Input; N],
        trace: &mut Self::BatchTrace,
        y: &mut [H::Output; N],
    ) {
        for (x, features) in x.iter().zip(trace.0.iter_mut()) {
            self.frozen.forward(x, features);
        }
        self.head.forward_batch(ctx, &trace.0, &mut trace.1, y);
    }

    /// The head's gradients; `dx` is zero (the frozen part is not differentiated).
    fn backward_batch(
        &self,
        x: &[F::Input; N],
        trace: &Self::BatchTrace,
        dy: &[H::Output; N],
        dx: &mut [F::Input; N],
        grads: &mut H::Grads,
    ) {
        self.backward_params_batch(x, trace, dy, grads);
        *dx = [F::Input::ZEROED; N];
    }

    fn backward_params_batch(
        &self,
        _x: &[F::Input; N],
        trace: &Self::BatchTrace,
        dy: &[H::Output; N],
        grads: &mut H::Grads,
    ) {
        self.head.backward_params_batch(&trace.0, &trace.1, dy, grads);
    }
}
