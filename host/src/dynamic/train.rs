use super::model::DynModel;
use super::optim::DynOptimizerState;
use neurite::loss::{Batch, Loss, Reduction, Target};
use neurite::rng::Rng;
use neurite::Error;

/// Gradient accumulation for a [`DynModel`], step for step as `neurite::train::Trainer`.
#[derive(Clone, Debug, PartialEq)]
pub struct DynTrainer {
    /// Accumulated gradients, one per tensor.
    pub grads: Vec<Vec<f32>>,
    /// Generator for dropout masks; `None` runs dropout layers as the identity.
    pub dropout_rng: Option<Rng>,
    batch: Batch,
}

impl DynTrainer {
    /// Buffers for `model`.
    pub fn new(model: &DynModel) -> Self {
        Self { grads: model.zero_grads(), dropout_rng: None, batch: Batch::new() }
    }

    /// Starts a batch.
    pub fn begin(&mut self) {
        for g in &mut self.grads {
            g.fill(0.0);
        }
        self.batch = Batch::new();
    }

    /// Adds one sample (checked first); returns its loss and, when `input_grad`, the
    /// unscaled `d loss / d x`.
    pub fn accumulate(
        &mut self,
        model: &DynModel,
        loss: &dyn Loss,
        x: &[f32],
        target: Target<'_>,
        input_grad: bool,
    ) -> Result<(f32, Option<Vec<f32>>), Error> {
        neurite::error::check_len(x, model.inputs())?;
        neurite::error::check_finite(x)?;
        loss.check(model.outputs(), target)?;
        let trace = model.forward_trace(x, self.dropout_rng.as_mut());
        let out = trace.output();
        let mut dout = vec![0.0; out.len()];
        let l = loss.eval(out, target, &mut dout, None);
        self.batch.add(l, loss.mean_weight(target));
        let dx = model.backward(&trace, &dout, &mut self.grads, input_grad);
        Ok((l, dx))
    }

    /// Ends the batch: scales the gradients; returns `(batch loss, scale)`.
    pub fn finish(
        &mut self,
        loss: &dyn Loss,
        reduction: Reduction,
        outputs: usize,
    ) -> Result<(f32, f32), Error> {
        if self.batch.samples == 0 {
            return Err(Error::Empty);
        }
        let (value, scale) = self.batch.reduce(reduction, loss.per_element(), outputs);
        if scale != 1.0 {
            for g in &mut self.grads {
                neurite::kernel::reduce::scale(g, scale);
            }
        }
        Ok((value, scale))
    }

    /// One epoch of shuffled minibatches, in the order `neurite::train::train_epoch` uses;
    /// `before_step(grads, params)` runs after each batch's gradients are reduced and before
    /// the optimiser step (L1, clipping). Returns the mean batch loss.
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
        let n = xs.len();
        if targets.len() != n {
            return Err(Error::LengthMismatch { expected: n, found: targets.len() });
        }
        if n == 0 || batch_size == 0 {
            return Err(Error::Empty);
        }
        let mut order: Vec<usize> = (0..n).collect();
        if let Some(rng) = rng {
            rng.shuffle(&mut order);
        }
        let (mut total, mut batches) = (0.0, 0u32);
        let outputs = model.outputs();
        for chunk in order.chunks(batch_size) {
            self.begin();
            for &i in chunk {
                self.accumulate(model, loss, xs[i], targets[i], false)?;
            }
            let (value, _) = self.finish(loss, reduction, outputs)?;
            before_step(&mut self.grads, &model.tensors());
            optimizer.step(&mut model.tensors_mut(), &self.grads);
            total += value;
            batches += 1;
        }
        Ok(total / batches as f32)
    }
}
