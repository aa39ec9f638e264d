//! Training over whole minibatches of a compile-time size `B`: what batch normalisation in
//! train mode needs (every sample is normalised with the batch's statistics, so the batch
//! must be in RAM at once).
//!
//! [`BatchTrainer<M, B>`] mirrors [`Trainer`](crate::train::Trainer): `begin`, then
//! `accumulate_batch` with `B` samples (one forward over the batch through
//! [`BatchLayer::forward_batch`], each sample's loss in sample order, one backward through
//! [`BatchLayer::backward_batch`]), then `finish` with the reduction. These are the sums, in
//! the same order, that the runtime-shaped `DynTrainer::accumulate_batch` computes
//! (`neurite_host::dynamic`), bit for bit, in train and in eval mode.
//!
//! A model without batch norm trains to the same bits either way (its layers are
//! [`PerSample`](crate::layer::PerSample)); the per-sample [`Trainer`](crate::train::Trainer)
//! then needs `B` times less activation RAM.
//!
//! ## RAM
//!
//! `size_of::<BatchTrainer<M, B>>()`, all of it known at compile time
//! ([`crate::footprint::batch_training`] breaks it down): the gradients (one copy, whatever
//! `B`), the batch trace (`B` times the per-sample trace, e.g. every intermediate output of a
//! chain for each sample, plus each batch norm's statistics), `B` outputs and `B` output
//! gradients. Backward also puts [`BatchLayer::BACKWARD_STACK`] bytes of activation
//! gradients on the stack, and the caller holds the `B` inputs.
//!
//! For the convolutional test model of `tests/tests/batchnorm_train_typed.rs`
//! (`Conv2d 1->4 3x3` on `1x8x8`, `BatchNorm2d<4, 8, 8>`, ReLU, `MaxPool2d 2`, a residual
//! `Conv2d 4->4 3x3` + ReLU on `4x4x4`, `Flatten`, `Dense<64, 10>`: 3,424 bytes of model,
//! 1,024 intermediate values per sample), in bytes on a 64-bit host (the test asserts them):
//!
//! | `B` | `BatchTrainer` | gradients | batch trace | outputs + their gradients | rest | backward stack | `B` inputs | RAM with Adam |
//! |-----|----------------|-----------|-------------|---------------------------|------|----------------|------------|---------------|
//! | 4   | 20,176         | 3,384     | 16,420      | 320                       | 52   | 15,360         | 1,024      | 31,420        |
//! | 8   | 36,880         | 3,384     | 32,804      | 640                       | 52   | 30,720         | 2,048      | 49,148        |
//!
//! "Rest" is the loss sums, mode and dropout generator; "RAM with Adam" is
//! [`crate::footprint::batch_training`]`::<Model, Adam<_>, B>().ram()` (model, gradients,
//! Adam's two moments, batch trace, trainer buffers and inputs), the backward stack not
//! included. The per-sample [`Trainer`](crate::train::Trainer) of the same model is 7,608
//! bytes (18,084 with model, Adam and one input): the batch trace is what grows, about
//! 4 KiB per sample here, and the backward stack nearly as much.
//!
//! ```
//! use neurite::prelude::*;
//! type Model = neurite::Seq![Dense<2, 4>, BatchNorm1d<4>, Tanh<4>, Dense<4, 2>];
//! let mut model = Model::DEFAULT;
//! model.init(&LayerInit::XAVIER, &mut Rng::new(1));
//! let mut opt = Adam::<<Model as Layer>::Grads>::new(AdamConfig::adam(0.01)).unwrap();
//! let mut trainer = BatchTrainer::<Model, 4>::new(); // train mode: batch statistics
//! let xs = [[0.0, 1.0], [1.0, 0.0], [1.0, 1.0], [0.0, 0.0]];
//! let ys = [1usize, 1, 0, 0];
//! trainer.begin();
//! let losses = trainer.accumulate_batch(&mut model, &CrossEntropy::default(), &xs, &ys).unwrap();
//! let (loss, _) = trainer.finish(&CrossEntropy::default(), Reduction::Mean).unwrap();
//! opt.step(&mut model, &trainer.grads);
//! assert_eq!(loss, losses.iter().sum::<f32>() / 4.0);
//! // The running statistics moved towards the batch's.
//! assert_ne!(model.1 .0.running_var, [1.0; 4]);
//! ```

use crate::error::{check_finite, Error};
use crate::layer::{BatchLayer, Ctx};
use crate::loss::{Batch, Loss, Reduction};
use crate::params::{Params, Vector, Zeroed};
use crate::rng::Rng;
use crate::train::{scale_params, AsTarget};

/// The buffers of one training step of model `M` over minibatches of `B` samples; its size
/// is `size_of::<BatchTrainer<M, B>>()` (see the [module docs](self) for the figures).
///
/// Each forward runs with a [`Ctx`] made of the trainer's mode (`train_mode`, default train:
/// batch norm uses and updates the batch statistics) and its dropout generator
/// (`dropout_rng`, default `None`), as the runtime-shaped trainer does. `B` must be at least
/// 1 (a compile error otherwise); batch norm in train mode needs 2 or more values per
/// channel to have a variance, as in PyTorch.
// `repr(C)`: the buffers first, in this order (as `Trainer`).
#[repr(C)]
pub struct BatchTrainer<M: BatchLayer<B>, const B: usize> {
    /// Gradients accumulated since [`BatchTrainer::begin`] (scaled by
    /// [`BatchTrainer::finish`]).
    pub grads: M::Grads,
    trace: M::BatchTrace,
    out: [M::Output; B],
    dout: [M::Output; B],
    batch: Batch,
    /// Train mode (`true`, the default: batch statistics, running statistics updated,
    /// dropout active with a generator) or eval mode (`false`: every layer computes its
    /// inference map).
    pub train_mode: bool,
    /// The generator dropout masks are drawn from in train mode; `None` (the default) runs
    /// dropout as the identity.
    pub dropout_rng: Option<Rng>,
}

impl<M: BatchLayer<B>, const B: usize> Default for BatchTrainer<M, B> {
    fn default() -> Self {
        Self::new()
    }
}

impl<M: BatchLayer<B>, const B: usize> BatchTrainer<M, B> {
    const BATCH_OK: () = assert!(B > 0, "BatchTrainer: the batch size must be at least 1");

    /// Zeroed buffers in train mode without a dropout generator (usable in a `static`).
    pub const fn new() -> Self {
        let () = Self::BATCH_OK;
        Self {
            grads: M::Grads::ZEROED,
            trace: M::BatchTrace::ZEROED,
            out: [M::Output::ZEROED; B],
            dout: [M::Output::ZEROED; B],
            batch: Batch::new(),
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

    /// Starts a step: zero loss sums; its first minibatch zeroes the gradients.
    /// [`BatchTrainer::finish`] starts the next step too.
    pub fn begin(&mut self) {
        self.batch = Batch::new();
    }

    /// Adds a minibatch: one forward over the `B` samples (with the trainer's [`Ctx`]; in
    /// train mode batch norm normalises with the batch's statistics and updates its running
    /// statistics, hence `&mut M`), each sample's loss in sample order, one backward into the
    /// gradients. Returns the samples' losses.
    ///
    /// Every sample and target is checked first (typed error, nothing changed: not the
    /// model's running statistics either). The outputs are checked after the forward pass
    /// ([`Loss::check_output`]): that error leaves the gradients and loss sums unchanged, but
    /// the forward has run (batch norm's running statistics and the dropout generator have
    /// moved, as in PyTorch when `BCELoss` refuses its input). Several calls between `begin` and `finish`
    /// accumulate several minibatches, each normalised with its own statistics.
    pub fn accumulate_batch<Lo: Loss + ?Sized, T: AsTarget>(
        &mut self,
        model: &mut M,
        loss: &Lo,
        xs: &[M::Input; B],
        targets: &[T; B],
    ) -> Result<[f32; B], Error> {
        let losses = self.forward_loss(model, loss, xs, targets)?;
        model.backward_params_batch(xs, &self.trace, &self.dout, &mut self.grads);
        Ok(losses)
    }

    /// As [`BatchTrainer::accumulate_batch`], also writing `dx[n] = d loss / d xs[n]`
    /// (unscaled: multiply by the scale [`BatchTrainer::finish`] reports to get the batch's
    /// input gradient).
    pub fn accumulate_batch_with_input_grad<Lo: Loss + ?Sized, T: AsTarget>(
        &mut self,
        model: &mut M,
        loss: &Lo,
        xs: &[M::Input; B],
        targets: &[T; B],
        dx: &mut [M::Input; B],
    ) -> Result<[f32; B], Error> {
        let losses = self.forward_loss(model, loss, xs, targets)?;
        model.backward_batch(xs, &self.trace, &self.dout, dx, &mut self.grads);
        Ok(losses)
    }

    fn forward_loss<Lo: Loss + ?Sized, T: AsTarget>(
        &mut self,
        model: &mut M,
        loss: &Lo,
        xs: &[M::Input; B],
        targets: &[T; B],
    ) -> Result<[f32; B], Error> {
        for (x, t) in xs.iter().zip(targets) {
            check_finite(x.as_slice())?;
            loss.check(M::Output::LEN, t.as_target())?;
        }
        let mut ctx = Ctx::new(self.train_mode, self.dropout_rng.as_mut());
        model.forward_batch(&mut ctx, xs, &mut self.trace, &mut self.out);
        for out in &self.out {
            loss.check_output(out.as_slice())?;
        }
        if self.batch.samples == 0 {
            debug_assert!(crate::train::initialised(model), "{}", crate::train::UNINITIALISED);
            self.grads.zero();
        }
        let mut losses = [0.0; B];
        for (((out, dout), t), l) in
            self.out.iter().zip(self.dout.iter_mut()).zip(targets).zip(losses.iter_mut())
        {
            let t = t.as_target();
            *l = loss.eval(out.as_slice(), t, dout.as_mut_slice(), None);
            self.batch.add(*l, loss.mean_weight(t));
        }
        Ok(losses)
    }

    /// Ends the step: scales the summed gradients by the reduction's normaliser and returns
    /// `(batch loss, scale)`; the next minibatch added starts a new step. `Err(Empty)` if no
    /// minibatch was added, `Err(NonFiniteLoss)` if the loss is NaN or infinite.
    pub fn finish<Lo: Loss + ?Sized>(
        &mut self,
        loss: &Lo,
        reduction: Reduction,
    ) -> Result<(f32, f32), Error> {
        let ended = self.batch.end(reduction, loss.per_element(), M::Output::LEN);
        match ended {
            Ok((_, scale)) => scale_params(&mut self.grads, scale),
            Err(_) => self.grads.zero(),
        }
        ended
    }

    /// One step's gradients: [`BatchTrainer::begin`], [`BatchTrainer::accumulate_batch`],
    /// [`BatchTrainer::finish`]. Returns the batch loss; the scaled gradients are in `grads`
    /// (step the optimiser with them).
    pub fn run_batch<Lo: Loss + ?Sized, T: AsTarget>(
        &mut self,
        model: &mut M,
        loss: &Lo,
        reduction: Reduction,
        xs: &[M::Input; B],
        targets: &[T; B],
    ) -> Result<f32, Error> {
        self.begin();
        self.accumulate_batch(model, loss, xs, targets)?;
        self.finish(loss, reduction).map(|(value, _)| value)
    }

    /// The model outputs of the last minibatch.
    pub fn output(&self) -> &[M::Output; B] {
        &self.out
    }
}
