//! Training without allocation: gradients are accumulated sample by sample, so RAM does not
//! grow with the batch size.
//!
//! - [`Trainer`] holds the buffers of one training step (gradients, trace, output and its
//!   gradient) for a model `L`; `accumulate` adds one sample, `finish` applies the batch
//!   reduction (PyTorch's `mean` divides the summed gradients once, at the end).
//!   Its mode (train or eval) and dropout generator make the [`Ctx`] of each training
//!   forward.
//! - [`FineTune`] (a layer, re-exported here) trains a head behind a frozen, borrowed
//!   prefix (on an MCU a `&'static` model in flash): the prefix has no gradients and no
//!   optimiser state, and needs only [`Infer`](crate::layer::Infer) (an inference-only model).
//! - [`crate::batch_train::BatchTrainer`] trains over a whole minibatch of compile-time
//!   size `B` instead, which batch norm in train mode needs (the batch's statistics); its
//!   buffers grow with `B`.
//! - [`gradient_descent`] is the seed's full-batch loop with its stopping rules;
//!   [`train_epoch`] is one epoch of shuffled minibatches.

use crate::error::{check_finite, Error};
use crate::layer::{Ctx, Layer};
use crate::loss::{Batch, Loss, Reduction, Target};
use crate::optim::Optimizer;
use crate::params::{sum_of_squares, Params, Vector, Zeroed};
use crate::rng::Rng;

pub use crate::layer::FineTune;

/// A training target that can be viewed as a [`Target`].
pub trait AsTarget {
    /// This target as a [`Target`].
    fn as_target(&self) -> Target<'_>;
}

impl AsTarget for usize {
    fn as_target(&self) -> Target<'_> {
        Target::Class(*self)
    }
}

impl<const N: usize> AsTarget for [f32; N] {
    fn as_target(&self) -> Target<'_> {
        Target::Values(self)
    }
}

impl AsTarget for Target<'_> {
    fn as_target(&self) -> Target<'_> {
        *self
    }
}

/// The buffers of one training step of model `L`; its size is `size_of::<Trainer<L>>()`.
///
/// `L` must be a trainable [`Layer`]; an inference-only model ([`Infer`](crate::layer::Infer) alone) has no
/// gradients to accumulate (use it as [`FineTune`]'s frozen prefix).
///
/// Each training forward runs with a [`Ctx`] made of the trainer's mode (`train_mode`,
/// default train) and its dropout generator (`dropout_rng`, default `None`: no layer draws,
/// [`crate::layer::Dropout`] is the identity), as the runtime-shaped trainer does.
///
/// ```
/// use neurite::prelude::*;
/// type Model = neurite::Seq![Dense<4, 8>, Relu<8>, Dropout<[f32; 8]>, Dense<8, 2>];
/// let mut model = Model::DEFAULT;
/// model.init(&LayerInit::XAVIER, &mut Rng::new(1));
/// let mut trainer = Trainer::<Model>::with_dropout_rng(Rng::new(2)); // train mode
/// trainer.begin();
/// trainer.accumulate(&model, &Mse, &[0.1, 0.2, 0.3, 0.4], Target::Values(&[1.0, 0.0])).unwrap();
/// trainer.train_mode = false; // eval mode: dropout is the identity
/// ```
// `repr(C)`: the buffers first, in this order, whatever the mode and generator add (a layout
// that `neurite_host::footprint` mirrors; the hot buffers keep their alignment).
#[repr(C)]
pub struct Trainer<L: Layer> {
    /// Gradients accumulated since [`Trainer::begin`] (scaled by [`Trainer::finish`]).
    pub grads: L::Grads,
    trace: L::Trace,
    out: L::Output,
    dout: L::Output,
    batch: Batch,
    last: f32,
    /// Train mode (`true`, the default) or eval mode (`false`: every layer computes its
    /// inference map, e.g. dropout is the identity).
    pub train_mode: bool,
    /// The generator dropout masks are drawn from in train mode; `None` (the default) runs
    /// dropout as the identity.
    pub dropout_rng: Option<Rng>,
}

impl<L: Layer> Default for Trainer<L> {
    fn default() -> Self {
        Self::new()
    }
}

impl<L: Layer> Trainer<L> {
    /// Zeroed buffers in train mode without a dropout generator (usable in a `static`).
    pub const fn new() -> Self {
        Self {
            grads: L::Grads::ZEROED,
            trace: L::Trace::ZEROED,
            out: L::Output::ZEROED,
            dout: L::Output::ZEROED,
            batch: Batch::new(),
            last: 0.0,
            train_mode: true,
            dropout_rng: None,
        }
    }

    /// Zeroed buffers in train mode, drawing dropout masks from `rng` (usable in a `static`).
    pub const fn with_dropout_rng(rng: Rng) -> Self {
        let mut t = Self::new();
        t.dropout_rng = Some(rng);
        t
    }

    /// Starts a batch: zero loss sums; its first sample zeroes the gradients (once, not
    /// twice per batch). [`Trainer::finish`] starts the next batch too, so a loop that
    /// forgets `begin` still trains on each batch's own gradients, and a batch that added
    /// nothing leaves zero gradients (see `finish`).
    pub fn begin(&mut self) {
        self.batch = Batch::new();
    }

    /// Adds one sample: forward with trace (with the trainer's [`Ctx`]), loss, backward into
    /// the gradients. Returns the sample's loss. The sample and target are checked first
    /// (typed error, nothing changed); the model's output is checked after the forward pass
    /// ([`Loss::check_output`]: a typed error, the gradients and loss sums unchanged, the
    /// trace and a dropout generator advanced, as in PyTorch, whose forward has run when
    /// `BCELoss` refuses its input).
    pub fn accumulate<Lo: Loss + ?Sized>(
        &mut self,
        model: &L,
        loss: &Lo,
        x: &L::Input,
        target: Target<'_>,
    ) -> Result<f32, Error> {
        self.forward_loss(model, loss, x, target)?;
        model.backward_params(x, &self.trace, &self.dout, &mut self.grads);
        Ok(self.last)
    }

    /// As [`Trainer::accumulate`], also writing `d loss / d x` (unscaled: multiply by the
    /// scale [`Trainer::finish`] reports to get the batch's input gradient).
    pub fn accumulate_with_input_grad<Lo: Loss + ?Sized>(
        &mut self,
        model: &L,
        loss: &Lo,
        x: &L::Input,
        target: Target<'_>,
        dx: &mut L::Input,
    ) -> Result<f32, Error> {
        self.forward_loss(model, loss, x, target)?;
        model.backward(x, &self.trace, &self.dout, dx, &mut self.grads);
        Ok(self.last)
    }

    fn forward_loss<Lo: Loss + ?Sized>(
        &mut self,
        model: &L,
        loss: &Lo,
        x: &L::Input,
        target: Target<'_>,
    ) -> Result<(), Error> {
        check_finite(x.as_slice())?;
        loss.check(L::Output::LEN, target)?;
        let mut ctx = Ctx::new(self.train_mode, self.dropout_rng.as_mut());
        model.forward_trace(&mut ctx, x, &mut self.trace, &mut self.out);
        loss.check_output(self.out.as_slice())?;
        let l = loss.eval(self.out.as_slice(), target, self.dout.as_mut_slice(), None);
        if self.batch.samples == 0 {
            debug_assert!(initialised(model), "{UNINITIALISED}");
            self.grads.zero();
        }
        self.batch.add(l, loss.mean_weight(target));
        self.last = l;
        Ok(())
    }

    /// Ends the batch: scales the summed gradients by the reduction's normaliser and returns
    /// `(batch loss, scale)`; the next sample added starts a new batch. `Err(Empty)` if no
    /// sample was added, `Err(NonFiniteLoss)` if the loss is NaN or infinite (training
    /// diverged); after either error the gradients are zero, so a step taken anyway changes
    /// nothing.
    pub fn finish<Lo: Loss + ?Sized>(
        &mut self,
        loss: &Lo,
        reduction: Reduction,
    ) -> Result<(f32, f32), Error> {
        let ended = self.batch.end(reduction, loss.per_element(), L::Output::LEN);
        match ended {
            Ok((_, scale)) => scale_params(&mut self.grads, scale),
            Err(_) => self.grads.zero(),
        }
        ended
    }

    /// One batch: [`Trainer::begin`], [`Trainer::accumulate`] every sample, then
    /// [`Trainer::finish`]. Returns the batch loss; the scaled gradients are in `grads`.
    pub fn run_batch<'s, Lo: Loss + ?Sized>(
        &mut self,
        model: &L,
        loss: &Lo,
        reduction: Reduction,
        samples: impl IntoIterator<Item = (&'s L::Input, Target<'s>)>,
    ) -> Result<f32, Error>
    where
        L::Input: 's,
    {
        self.begin();
        for (x, target) in samples {
            self.accumulate(model, loss, x, target)?;
        }
        self.finish(loss, reduction).map(|(value, _)| value)
    }

    /// The model output of the last accumulated sample.
    pub fn output(&self) -> &L::Output {
        &self.out
    }
}

/// Multiplies every tensor by `factor` (exactly nothing when `factor == 1`).
pub fn scale_params<P: Params>(p: &mut P, factor: f32) {
    if factor != 1.0 {
        for i in 0..P::TENSORS {
            crate::kernel::reduce::scale(p.tensor_mut(i), factor);
        }
    }
}

/// A debug build's check at each batch's first sample: a chain of several layers whose
/// parameters are all zero (`DEFAULT` without `init`) cannot learn: its hidden layers'
/// gradients are zero. A single layer (one weight and one bias tensor) and a model with a
/// skip connection (a residual block or a concatenation, which learn from zero weights) may
/// start at zero.
pub(crate) fn initialised<L: Layer>(model: &L) -> bool {
    if L::TENSORS <= 2 || (0..L::TENSORS).any(|t| model.tensor(t).iter().any(|&v| v != 0.0)) {
        return true;
    }
    let mut skip = false;
    model.describe(&mut |d| {
        skip |= matches!(d, crate::layer::LayerDesc::Other { name: "residual" | "concat", .. });
    });
    skip
}

pub(crate) const UNINITIALISED: &str = "neurite: every parameter of this multi-layer model is \
    zero, so it cannot learn: call `init` on it first (DEFAULT has zero weights)";

/// When full-batch gradient descent stops (the seed's algorithm): after `max_iters` steps, or
/// when the loss changes by less than `loss_epsilon` between iterations, or the gradient's
/// norm falls below `grad_norm_epsilon` (0 disables a test).
#[derive(Clone, Copy, Debug, PartialEq)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub struct StopRule {
    /// Most optimiser steps.
    pub max_iters: u32,
    /// Stop when `|f(w_new) - f(w)| < loss_epsilon`.
    pub loss_epsilon: f32,
    /// Stop when `||grad|| < grad_norm_epsilon`.
    pub grad_norm_epsilon: f32,
}

/// Why [`gradient_descent`] stopped.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub enum StopReason {
    /// The loss changed by less than `loss_epsilon`.
    LossConverged,
    /// The gradient norm fell below `grad_norm_epsilon`.
    GradientConverged,
    /// `max_iters` steps were taken.
    MaxIters,
}

/// Outcome of [`gradient_descent`].
#[derive(Clone, Copy, Debug, PartialEq)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub struct Report {
    /// Optimiser steps taken.
    pub steps: u32,
    /// Loss at the returned weights.
    pub loss: f32,
    /// Why it stopped.
    pub reason: StopReason,
}

#[allow(clippy::too_many_arguments)]
/// Full-batch gradient descent with the seed's stopping rules. Each iteration evaluates the
/// loss and gradient at the current weights on every sample, tests the rules, then steps.
pub fn gradient_descent<L, O, Lo, T>(
    model: &mut L,
    optimizer: &mut O,
    trainer: &mut Trainer<L>,
    loss: &Lo,
    reduction: Reduction,
    xs: &[L::Input],
    targets: &[T],
    rule: &StopRule,
) -> Result<Report, Error>
where
    L: Layer,
    O: Optimizer<L::Grads>,
    Lo: Loss + ?Sized,
    T: AsTarget,
{
    if xs.len() != targets.len() {
        return Err(Error::LengthMismatch { expected: xs.len(), found: targets.len() });
    }
    let mut previous: Option<f32> = None;
    let mut steps = 0;
    loop {
        let samples = xs.iter().zip(targets).map(|(x, t)| (x, t.as_target()));
        let value = trainer.run_batch(model, loss, reduction, samples)?;
        let reason = if previous.is_some_and(|p| crate::math::abs(value - p) < rule.loss_epsilon) {
            Some(StopReason::LossConverged)
        } else if crate::math::sqrt(sum_of_squares(&trainer.grads)) < rule.grad_norm_epsilon {
            Some(StopReason::GradientConverged)
        } else if steps >= rule.max_iters {
            Some(StopReason::MaxIters)
        } else {
            None
        };
        if let Some(reason) = reason {
            return Ok(Report { steps, loss: value, reason });
        }
        optimizer.step(model, &trainer.grads);
        steps += 1;
        previous = Some(value);
    }
}

/// One epoch of minibatch training: fills `order` with `0..n`, shuffles it with `rng`
/// (`None`: in order), and takes one step per `batch_size` samples (the last batch may be
/// smaller). Returns the mean of the batch losses.
///
/// Errors: `LengthMismatch` unless `xs`, `targets` and `order` have one length; `Empty` for
/// no samples or `batch_size == 0`; `NonFiniteLoss` when a batch diverges (no step is taken
/// with it); any sample's error (the model may have been updated by earlier batches).
///
/// ```
/// use neurite::loss::{CrossEntropy, Reduction};
/// use neurite::optim::{Adam, AdamConfig};
/// use neurite::prelude::*;
/// use neurite::train::train_epoch;
/// type Model = neurite::Seq![Dense<2, 8>, Tanh<8>, Dense<8, 2>];
/// let mut model = Model::DEFAULT;
/// model.init(&LayerInit::XAVIER, &mut Rng::new(1));
/// let xs = [[0.0, 1.0], [1.0, 0.0], [0.9, 0.1], [0.1, 0.8]];
/// let ys = [0usize, 1, 1, 0];
/// let mut opt = Adam::<<Model as Layer>::Grads>::new(AdamConfig::adam(0.05)).unwrap();
/// let (mut trainer, mut order, mut rng) = (Trainer::<Model>::new(), [0usize; 4], Rng::new(3));
/// let ce = CrossEntropy::default();
/// let mut first = None;
/// let mut last = 0.0;
/// for _ in 0..30 {
///     last = train_epoch(&mut model, &mut opt, &mut trainer, &ce, Reduction::Mean, &xs, &ys, 2,
///         &mut order, Some(&mut rng)).unwrap();
///     first.get_or_insert(last);
/// }
/// assert!(last < first.unwrap() / 2.0);
/// ```
#[allow(clippy::too_many_arguments)]
pub fn train_epoch<L, O, Lo, T>(
    model: &mut L,
    optimizer: &mut O,
    trainer: &mut Trainer<L>,
    loss: &Lo,
    reduction: Reduction,
    xs: &[L::Input],
    targets: &[T],
    batch_size: usize,
    order: &mut [usize],
    rng: Option<&mut Rng>,
) -> Result<f32, Error>
where
    L: Layer,
    O: Optimizer<L::Grads>,
    Lo: Loss + ?Sized,
    T: AsTarget,
{
    let n = xs.len();
    if targets.len() != n {
        return Err(Error::LengthMismatch { expected: n, found: targets.len() });
    }
    if order.len() != n {
        return Err(Error::LengthMismatch { expected: n, found: order.len() });
    }
    if n == 0 || batch_size == 0 {
        return Err(Error::Empty);
    }
    for (i, o) in order.iter_mut().enumerate() {
        *o = i;
    }
    if let Some(rng) = rng {
        rng.shuffle(order);
    }
    let (mut total, mut batches) = (0.0, 0u32);
    for chunk in order.chunks(batch_size) {
        let samples = chunk.iter().map(|&i| (&xs[i], targets[i].as_target()));
        let value = trainer.run_batch(model, loss, reduction, samples)?;
        optimizer.step(model, &trainer.grads);
        total += value;
        batches += 1;
    }
    Ok(total / batches as f32)
}
