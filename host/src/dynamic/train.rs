use super::backend::DEFAULT;
use super::model::{DynModel, Workspace};
use super::op::Ctx;
use super::optim::DynOptimizerState;
use neurite::loss::{Batch, Loss, Reduction, Target};
use neurite::rng::Rng;
use neurite::Error;

/// Gradient accumulation for a [`DynModel`], a minibatch at a time, with the same sums in
/// the same order as `neurite::train::Trainer` sample by sample.
#[derive(Clone, Debug)]
pub struct DynTrainer {
    /// Accumulated gradients, one per tensor.
    pub grads: Vec<Vec<f32>>,
    /// Generator for dropout masks; `None` runs dropout layers as the identity.
    pub dropout_rng: Option<Rng>,
    /// Train mode (default): batch norm uses and updates batch statistics. Eval mode trains
    /// with running statistics fixed (fine-tuning a frozen-statistics model).
    pub train_mode: bool,
    /// In [`DynTrainer::epoch`]: the 1-based index of the batch being trained and the
    /// epoch's number of batches (after an error, the batch that failed).
    pub epoch_batch: (usize, usize),
    batch: Batch,
    ws: Workspace,
    dout: Vec<f32>,
}

impl DynTrainer {
    /// Buffers for `model`.
    pub fn new(model: &DynModel) -> Self {
        Self {
            grads: model.zero_grads(),
            dropout_rng: None,
            train_mode: true,
            epoch_batch: (0, 0),
            batch: Batch::new(),
            ws: Workspace::default(),
            dout: Vec::new(),
        }
    }

    /// Starts a batch (gradients and loss sums zeroed). [`DynTrainer::finish`] starts the next
    /// one too, as the core's trainers do.
    pub fn begin(&mut self) {
        for g in &mut self.grads {
            g.fill(0.0);
        }
        self.batch = Batch::new();
    }

    /// Adds a minibatch (every sample checked first): one forward of the whole batch, each
    /// sample's loss in order, one backward. Returns the samples' losses and, when
    /// `input_grad`, the unscaled `d loss / d x` rows.
    pub fn accumulate_batch(
        &mut self,
        model: &mut DynModel,
        loss: &dyn Loss,
        xs: &[&[f32]],
        targets: &[Target<'_>],
        input_grad: bool,
    ) -> Result<(Vec<f32>, Option<&[f32]>), Error> {
        if targets.len() != xs.len() {
            return Err(Error::LengthMismatch { expected: xs.len(), found: targets.len() });
        }
        if xs.is_empty() {
            return Err(Error::Empty);
        }
        for (x, &t) in xs.iter().zip(targets) {
            neurite::error::check_len(x, model.inputs())?;
            neurite::error::check_finite(x)?;
            loss.check(model.outputs(), t)?;
        }
        let n = xs.len();
        let outputs = model.outputs();
        let mut ctx =
            Ctx { train: self.train_mode, rng: self.dropout_rng.as_mut(), backend: &DEFAULT };
        let out = model.forward_train_rows(&mut ctx, xs, &mut self.ws)?;
        for o in out.chunks(outputs) {
            loss.check_output(o)?;
        }
        self.dout.resize(out.len(), 0.0);
        if self.batch.samples == 0 {
            // the first rows since `finish` (or `begin`) start a new batch
            for g in &mut self.grads {
                g.fill(0.0);
            }
        }
        let mut losses = Vec::with_capacity(n);
        for ((o, d), &t) in out.chunks(outputs).zip(self.dout.chunks_mut(outputs)).zip(targets) {
            let l = loss.eval(o, t, d, None);
            self.batch.add(l, loss.mean_weight(t));
            losses.push(l);
        }
        let dx = model.backward(&ctx, &mut self.ws, &self.dout, &mut self.grads, input_grad);
        Ok((losses, dx))
    }

    /// Adds one sample (a batch of one); returns its loss and, when `input_grad`, the
    /// unscaled `d loss / d x`. With batch norm in train mode, use
    /// [`DynTrainer::accumulate_batch`]: a batch of one has no variance.
    pub fn accumulate(
        &mut self,
        model: &mut DynModel,
        loss: &dyn Loss,
        x: &[f32],
        target: Target<'_>,
        input_grad: bool,
    ) -> Result<(f32, Option<Vec<f32>>), Error> {
        let (losses, dx) = self.accumulate_batch(model, loss, &[x], &[target], input_grad)?;
        Ok((losses[0], dx.map(<[f32]>::to_vec)))
    }

    /// The model output of the last batch (`batch` rows).
    pub fn output(&self) -> &[f32] {
        self.ws.output()
    }

    /// Ends the batch: scales the gradients; returns `(batch loss, scale)`. As the core's
    /// trainers: `Err(Empty)` without samples, `Err(NonFiniteLoss)` for a NaN or infinite
    /// loss, and after either error the gradients are zero.
    pub fn finish(
        &mut self,
        loss: &dyn Loss,
        reduction: Reduction,
        outputs: usize,
    ) -> Result<(f32, f32), Error> {
        let ended = self.batch.end(reduction, loss.per_element(), outputs);
        match ended {
            Ok((_, scale)) => {
                self.grads.iter_mut().for_each(|g| neurite::kernel::reduce::scale(g, scale));
            }
            Err(_) => self.grads.iter_mut().for_each(|g| g.fill(0.0)),
        }
        ended
    }

    /// One epoch of shuffled minibatches, in the order `neurite::train::train_epoch` uses;
    /// `before_step(grads, params)` runs after each batch's gradients are reduced and before
    /// the optimiser step (L1, clipping). Returns the mean batch loss.
    ///
    /// A batch whose loss or gradient is NaN or infinite is not stepped with: the epoch
    /// ends with `Err(NonFiniteLoss)`, the model keeps the last good step's weights, and
    /// [`DynTrainer::epoch_batch`] names the batch.
    #[allow(clippy::too_many_arguments)]
    pub fn epoch(
        &mut self,
        model: &mut DynModel,
        optimizer: &mut DynOptimizerState,
        loss: &dyn Loss,
        reduction: Reduction,
        xs: &[&[f32]],
        targets: &[Target<'_>],
        batch_size: usize,
        rng: Option<&mut Rng>,
        mut before_step: impl FnMut(&mut [Vec<f32>], &[&[f32]]),
    ) -> Result<f32, Error> {
        let order = epoch_order(xs.len(), targets.len(), batch_size, rng)?;
        let n = xs.len();
        let (mut total, mut batches) = (0.0, 0u32);
        let outputs = model.outputs();
        let mut bx: Vec<&[f32]> = Vec::with_capacity(batch_size.min(n));
        let mut bt: Vec<Target<'_>> = Vec::with_capacity(batch_size.min(n));
        let count = n.div_ceil(batch_size);
        for (index, chunk) in order.chunks(batch_size).enumerate() {
            self.epoch_batch = (index + 1, count);
            self.begin();
            bx.clear();
            bt.clear();
            bx.extend(chunk.iter().map(|&i| xs[i]));
            bt.extend(chunk.iter().map(|&i| targets[i]));
            self.accumulate_batch(model, loss, &bx, &bt, false)?;
            let (value, _) = self.finish(loss, reduction, outputs)?;
            before_step(&mut self.grads, &model.tensors());
            // a finite loss can still have an overflowing gradient: never step with it
            if self.grads.iter().flatten().any(|g| !g.is_finite()) {
                return Err(Error::NonFiniteLoss);
            }
            optimizer.step(&mut model.tensors_mut(), &self.grads);
            total += value;
            batches += 1;
        }
        Ok(total / batches as f32)
    }
}

/// The order of an epoch's rows: `0..rows`, shuffled by `rng` when given (the draws every
/// engine's epoch makes: the CPU's [`DynTrainer::epoch`] and the GPU's). `Err` when the
/// targets are not one per row, or there are no rows or a zero batch size.
pub fn epoch_order(
    rows: usize,
    targets: usize,
    batch_size: usize,
    rng: Option<&mut Rng>,
) -> Result<Vec<usize>, Error> {
    if targets != rows {
        return Err(Error::LengthMismatch { expected: rows, found: targets });
    }
    if rows == 0 || batch_size == 0 {
        return Err(Error::Empty);
    }
    let mut order: Vec<usize> = (0..rows).collect();
    if let Some(rng) = rng {
        rng.shuffle(&mut order);
    }
    Ok(order)
}
