//! Training on the GPU: the model's tensors, gradients and optimiser state live in device
//! buffers across steps; each batch uploads its rows, targets and step scalars, runs
//! forward, loss, backward and the update as one submission, and leaves its loss in the
//! epoch's history, which is read back once per epoch (with the non-finite status).

use super::context::Gpu;
use super::kernels::{submit, Dispatch};
use super::layers::{self, GpuLayer, LayerBuffers, Lowered};
use crate::dynamic::train::epoch_order;
use crate::dynamic::{DynLoss, DynModel, DynOptimizer, DynOptimizerState};
use neurite::loss::{Batch, Loss, Reduction, Target};
use neurite::optim::adam::AdamStep;
use neurite::rng::Rng;
use neurite::Error;
use std::collections::HashMap;

/// No batch of the epoch has failed (step.wgsl's `OK`).
const OK: u32 = u32::MAX;

/// One batch's results from [`GpuTrainer::gradients`].
#[derive(Clone, Debug, PartialEq)]
pub struct BatchGradients {
    /// The batch loss (mean reduction).
    pub loss: f32,
    /// The model's output rows.
    pub output: Vec<f32>,
    /// The gradient of every tensor, in the model's order.
    pub grads: Vec<Vec<f32>>,
}

/// A model being trained on the GPU.
pub struct GpuTrainer<'g> {
    gpu: &'g Gpu,
    layers: Vec<GpuLayer>,
    loss: DynLoss,
    gpu_loss: GpuLoss,
    optimizer: DynOptimizer,
    /// Steps taken.
    steps: u32,
    max_batch: usize,
    inputs: usize,
    outputs: usize,
    tensor_lens: Vec<usize>,
    params: Vec<wgpu::Buffer>,
    grads: Vec<wgpu::Buffer>,
    state: Vec<[wgpu::Buffer; 3]>,
    /// acts[i] is layer i's input, acts[layers] the model's output.
    acts: Vec<wgpu::Buffer>,
    /// dacts[i] is the gradient of acts[i] (dacts[0] unused).
    dacts: Vec<wgpu::Buffer>,
    scratch: Vec<Vec<wgpu::Buffer>>,
    target: wgpu::Buffer,
    class_weight: wgpu::Buffer,
    sample_loss: wgpu::Buffer,
    step: wgpu::Buffer,
    status: wgpu::Buffer,
    history: wgpu::Buffer,
    history_len: usize,
    /// Dispatches per batch size: (training step, gradients only).
    plans: HashMap<(usize, bool), Vec<Dispatch>>,
    /// In [`GpuTrainer::epoch`]: the 1-based batch that failed, and the epoch's batches.
    pub epoch_batch: (usize, usize),
}

impl std::fmt::Debug for GpuTrainer<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("GpuTrainer").field("layers", &self.layers).finish_non_exhaustive()
    }
}

/// A loss as loss.wgsl computes it.
#[derive(Clone, Debug, PartialEq)]
struct GpuLoss {
    /// loss.wgsl's kind number.
    kind: u32,
    /// Its options (`a`, `b` in the shader).
    options: [f32; 2],
    /// Class weights or `pos_weight` (empty: none).
    weights: Vec<f32>,
}

/// The loss as loss.wgsl computes it, or why the GPU cannot.
fn gpu_loss(loss: &DynLoss) -> Result<GpuLoss, String> {
    let (kind, options, weights) = match loss {
        DynLoss::CrossEntropy(w, smoothing) => (0, [*smoothing, 0.0], w.as_deref()),
        DynLoss::Nll(w) => (1, [0.0; 2], w.as_deref()),
        DynLoss::Mse => (2, [0.0; 2], None),
        DynLoss::Mae => (3, [0.0; 2], None),
        DynLoss::Huber(delta) => (4, [*delta, 0.0], None),
        DynLoss::BceWithLogits(pos_weight) => (5, [0.0; 2], pos_weight.as_deref()),
        DynLoss::Quantile(tau) => (6, [*tau, 0.0], None),
        DynLoss::Tukey(c) => (7, [*c, 0.0], None),
        DynLoss::Barron(alpha, c) => (8, [*alpha, *c], None),
        other => {
            return Err(format!(
                "the loss {other:?} has no GPU kernel: the GPU computes cross_entropy (class weights, label smoothing), nll, mse, mae, huber, bce_with_logits, quantile, tukey and barron"
            ))
        }
    };
    Ok(GpuLoss { kind, options, weights: weights.map(<[f32]>::to_vec).unwrap_or_default() })
}

/// The optimiser's words of optim.wgsl's `Opt` (without `n`).
fn optimizer_words(o: &DynOptimizer) -> [u32; 7] {
    let f = f32::to_bits;
    match o {
        DynOptimizer::Sgd(c) => {
            [0, u32::from(c.nesterov), 0, f(c.weight_decay), f(c.momentum), f(c.dampening), 0]
        }
        DynOptimizer::Adagrad(c) => [1, 0, 0, f(c.weight_decay), 0, 0, f(c.eps)],
        DynOptimizer::RmsProp(c) => [
            2,
            u32::from(c.centered) << 3,
            0,
            f(c.weight_decay),
            f(c.alpha),
            f(c.momentum),
            f(c.eps),
        ],
        DynOptimizer::Adam(c, ams) => {
            let flags =
                u32::from(c.decoupled_weight_decay) << 1 | u32::from(*ams || c.amsgrad) << 2;
            [3, flags, 0, f(c.weight_decay), f(c.betas.0), f(c.betas.1), f(c.eps)]
        }
    }
}

impl<'g> GpuTrainer<'g> {
    /// Uploads `model` (tensors) and `optimizer` (its state) for batches of at most
    /// `max_batch` rows of `loss`.
    ///
    /// # Errors
    ///
    /// Why the GPU cannot train it: a layer or loss without a GPU kernel, or a buffer larger
    /// than the adapter binds.
    pub fn new(
        gpu: &'g Gpu,
        model: &DynModel,
        loss: &DynLoss,
        optimizer: &DynOptimizerState,
        max_batch: usize,
    ) -> Result<Self, String> {
        let layers = layers::lower(model)?;
        let gpu_loss = gpu_loss(loss)?;
        let max_batch = max_batch.max(1);
        let tensors = model.tensors();
        let tensor_lens: Vec<usize> = tensors.iter().map(|t| t.len()).collect();
        let mut sizes: Vec<usize> = layers.iter().map(|l| l.in_len * max_batch).collect();
        sizes.extend(layers.iter().flat_map(|l| layers::scratch_lens(l, max_batch)));
        sizes.push(model.outputs() * max_batch);
        let largest = sizes.into_iter().chain(tensor_lens.iter().copied()).max().unwrap_or(0);
        if (largest * 4) as u64 > gpu.max_binding_bytes() {
            return Err(format!(
                "a batch of {max_batch} needs a GPU buffer of {} MiB; this adapter binds at most {} MiB (use a smaller --batch)",
                (largest * 4) >> 20,
                gpu.max_binding_bytes() >> 20
            ));
        }
        let params: Vec<wgpu::Buffer> =
            tensors.iter().map(|t| gpu.upload(t, "parameter")).collect();
        let grads = tensor_lens.iter().map(|&n| gpu.zeros(n, "gradient")).collect();
        let state = optimizer
            .slots()
            .iter()
            .map(|slots| slots.each_ref().map(|s| gpu.upload(s, "optimiser state")))
            .collect();
        // activations: a reshape's output is its input's buffer, its input gradient its
        // output's gradient
        let mut acts: Vec<wgpu::Buffer> = vec![gpu.zeros(model.inputs() * max_batch, "input")];
        for l in &layers {
            let next = match l.lowered {
                Lowered::Reshape => acts[acts.len() - 1].clone(),
                _ => gpu.zeros(l.out_len * max_batch, "activation"),
            };
            acts.push(next);
        }
        let mut dacts = vec![gpu.zeros(model.outputs() * max_batch, "output gradient")];
        for (i, l) in layers.iter().enumerate().rev() {
            let below = match l.lowered {
                Lowered::Reshape => dacts[dacts.len() - 1].clone(),
                _ if i == 0 => gpu.zeros(1, "unused"),
                _ => gpu.zeros(l.in_len * max_batch, "activation gradient"),
            };
            dacts.push(below);
        }
        dacts.reverse();
        let scratch = layers
            .iter()
            .map(|l| {
                layers::scratch_lens(l, max_batch)
                    .into_iter()
                    .map(|n| gpu.zeros(n, "scratch"))
                    .collect()
            })
            .collect();
        let outputs = model.outputs();
        Ok(Self {
            gpu,
            layers,
            loss: loss.clone(),
            class_weight: gpu.upload(&gpu_loss.weights, "class weights"),
            gpu_loss,
            optimizer: optimizer.kind.clone(),
            steps: optimizer.steps,
            max_batch,
            inputs: model.inputs(),
            outputs,
            tensor_lens,
            params,
            grads,
            state,
            acts,
            dacts,
            scratch,
            target: gpu.zeros(outputs * max_batch, "targets"),
            sample_loss: gpu.zeros(max_batch, "sample losses"),
            step: gpu.uniform(&[0; 8]),
            status: gpu.upload(&[f32::from_bits(OK)], "status"),
            history: gpu.zeros(1, "loss history"),
            history_len: 1,
            plans: HashMap::new(),
            epoch_batch: (0, 0),
        })
    }

    /// Sets the learning rate (schedules).
    pub fn set_lr(&mut self, lr: f32) {
        self.optimizer = self.optimizer.with_lr(lr);
    }

    /// The dispatches of one batch of `rows`: forward, loss, backward and, when `update`,
    /// the gradient checks and optimiser updates.
    fn plan(&self, rows: usize, update: bool) -> Vec<Dispatch> {
        let gpu = self.gpu;
        let n_layers = self.layers.len();
        let buffers = |i: usize| LayerBuffers {
            x: &self.acts[i],
            y: &self.acts[i + 1],
            dy: &self.dacts[i + 1],
            dx: (i > 0).then(|| &self.dacts[i]),
            params: &self.params,
            grads: &self.grads,
            scratch: &self.scratch[i],
        };
        let mut plan = Vec::new();
        for (i, l) in self.layers.iter().enumerate() {
            plan.extend(layers::forward(gpu, l, &buffers(i), rows));
        }
        let GpuLoss { kind, options: [a, b], ref weights } = self.gpu_loss;
        let words = [
            rows as u32,
            self.outputs as u32,
            kind,
            u32::from(!weights.is_empty()),
            a.to_bits(),
            b.to_bits(),
            weights.len() as u32,
            0,
        ];
        plan.push(gpu.loss_per_sample(
            words,
            &self.acts[n_layers],
            &self.target,
            &self.class_weight,
            &self.dacts[n_layers],
            &self.sample_loss,
            &self.step,
        ));
        plan.push(gpu.loss_total(
            words,
            &self.sample_loss,
            &self.step,
            &self.history,
            &self.status,
        ));
        for (i, l) in self.layers.iter().enumerate().rev() {
            plan.extend(layers::backward(gpu, l, &buffers(i), rows));
        }
        if update {
            let o = optimizer_words(&self.optimizer);
            for (t, &n) in self.tensor_lens.iter().enumerate() {
                let mut words = [n as u32; 8];
                words[1..].copy_from_slice(&o);
                plan.push(gpu.grad_check(words, &self.grads[t], &self.step, &self.status));
            }
            for (t, &n) in self.tensor_lens.iter().enumerate() {
                let mut words = [n as u32; 8];
                words[1..].copy_from_slice(&o);
                let [s0, s1, s2] = &self.state[t];
                let buffers = [&self.params[t], &self.grads[t], s0, s1, s2];
                plan.push(gpu.update(words, buffers, &self.step, &self.status));
            }
        }
        plan
    }

    /// Uploads one batch (rows, targets, step scalars) and runs its plan.
    fn run_batch(
        &mut self,
        loss: &dyn Loss,
        xs: &[&[f32]],
        targets: &[Target<'_>],
        index: usize,
        update: bool,
    ) -> Result<(), Error> {
        let rows = xs.len();
        if rows == 0 {
            return Err(Error::Empty);
        }
        if rows > self.max_batch {
            // the buffers hold `max_batch` rows
            return Err(Error::LengthMismatch { expected: self.max_batch, found: rows });
        }
        if targets.len() != rows {
            return Err(Error::LengthMismatch { expected: rows, found: targets.len() });
        }
        let mut x = Vec::with_capacity(rows * self.inputs);
        let mut t = Vec::with_capacity(rows * self.outputs);
        let mut batch = Batch::new();
        for (row, &target) in xs.iter().zip(targets) {
            neurite::error::check_len(row, self.inputs)?;
            loss.check(self.outputs, target)?;
            x.extend_from_slice(row);
            match target {
                Target::Class(c) => t.push(c as f32),
                Target::Values(v) => t.extend_from_slice(v),
            }
            batch.add(0.0, loss.mean_weight(target));
        }
        let (_, scale) = batch.end(Reduction::Mean, loss.per_element(), self.outputs)?;
        let q = &self.gpu.queue;
        q.write_buffer(&self.acts[0], 0, bytemuck::cast_slice(&x));
        q.write_buffer(&self.target, 0, bytemuck::cast_slice(&t));
        let step = if update { self.steps.saturating_add(1) } else { self.steps };
        q.write_buffer(&self.step, 0, bytemuck::cast_slice(&self.step_words(scale, index, step)));
        if !self.plans.contains_key(&(rows, update)) {
            let plan = self.plan(rows, update);
            self.plans.insert((rows, update), plan);
        }
        let plan: Vec<&Dispatch> = self.plans[&(rows, update)].iter().collect();
        submit(self.gpu, &plan);
        if update {
            self.steps = step;
        }
        Ok(())
    }

    /// step.wgsl's `Step` for batch `index` at optimiser step `step` (1-based).
    fn step_words(&self, scale: f32, index: usize, step: u32) -> [u32; 8] {
        let f = f32::to_bits;
        let (mut step_size, mut bc2_sqrt, mut shrink, mut clr) = (0.0, 1.0, 1.0, 0.0);
        let lr = self.optimizer.lr();
        match &self.optimizer {
            DynOptimizer::Adam(c, _) => {
                let s = AdamStep::new(c, step);
                (step_size, bc2_sqrt, shrink) = (s.step_size(), s.bc2_sqrt(), s.shrink());
            }
            DynOptimizer::Adagrad(c) => {
                clr = c.lr / (1.0 + (step.saturating_sub(1)) as f32 * c.lr_decay);
            }
            _ => {}
        }
        [
            f(scale),
            index as u32,
            f(lr),
            f(step_size),
            f(bc2_sqrt),
            f(shrink),
            f(clr),
            u32::from(step == 1),
        ]
    }

    /// One epoch of shuffled minibatches in `DynTrainer::epoch`'s order (the same `rng`
    /// draws), every step on the GPU; returns the mean batch loss. A batch whose loss or
    /// gradient is not finite ends the epoch with `Err(NonFiniteLoss)` and no update from
    /// it or any later batch ([`GpuTrainer::epoch_batch`] names it).
    pub fn epoch(
        &mut self,
        xs: &[&[f32]],
        targets: &[Target<'_>],
        batch_size: usize,
        rng: Option<&mut Rng>,
    ) -> Result<f32, Error> {
        let order = epoch_order(xs.len(), targets.len(), batch_size, rng)?;
        let n = xs.len();
        let count = n.div_ceil(batch_size);
        if count > self.history_len {
            self.history = self.gpu.zeros(count, "loss history");
            self.history_len = count;
            self.plans.clear();
        }
        self.gpu.queue.write_buffer(&self.status, 0, &OK.to_le_bytes());
        let loss = self.loss.clone();
        let mut bx: Vec<&[f32]> = Vec::with_capacity(batch_size.min(n));
        let mut bt: Vec<Target<'_>> = Vec::with_capacity(batch_size.min(n));
        for (index, chunk) in order.chunks(batch_size).enumerate() {
            self.epoch_batch = (index + 1, count);
            bx.clear();
            bt.clear();
            bx.extend(chunk.iter().map(|&i| xs[i]));
            bt.extend(chunk.iter().map(|&i| targets[i]));
            loss.with(|l| self.run_batch(l, &bx, &bt, index, true))?;
        }
        let read = self.gpu.read(&[(&self.history, count), (&self.status, 1)]);
        let status = read[1][0].to_bits();
        if status != OK {
            self.epoch_batch = (status as usize + 1, count);
            return Err(Error::NonFiniteLoss);
        }
        Ok(read[0].iter().sum::<f32>() / count as f32)
    }

    /// One training step on a batch, submitted without waiting or reading anything back
    /// (benchmarks; [`GpuTrainer::wait`] waits for the steps submitted).
    ///
    /// # Errors
    ///
    /// As [`GpuTrainer::epoch`]'s checks of the rows and targets.
    pub fn step(&mut self, xs: &[&[f32]], targets: &[Target<'_>]) -> Result<(), Error> {
        let loss = self.loss.clone();
        loss.with(|l| self.run_batch(l, xs, targets, 0, true))
    }

    /// Blocks until every submitted step has run.
    pub fn wait(&self) {
        self.gpu.wait();
    }

    /// Forward, loss and backward of one batch without an update, read back (for tests and
    /// checks).
    pub fn gradients(
        &mut self,
        xs: &[&[f32]],
        targets: &[Target<'_>],
    ) -> Result<BatchGradients, Error> {
        self.gpu.queue.write_buffer(&self.status, 0, &OK.to_le_bytes());
        let loss = self.loss.clone();
        loss.with(|l| self.run_batch(l, xs, targets, 0, false))?;
        let mut wanted =
            vec![(&self.history, 1), (&self.acts[self.layers.len()], xs.len() * self.outputs)];
        wanted.extend(self.grads.iter().zip(&self.tensor_lens).map(|(g, &n)| (g, n)));
        let mut read = self.gpu.read(&wanted).into_iter();
        let loss = read.next().map_or(f32::NAN, |h| h[0]);
        let output = read.next().unwrap_or_default();
        Ok(BatchGradients { loss, output, grads: read.collect() })
    }

    /// Copies the trained tensors (and the optimiser's state and step count) back.
    pub fn download(&self, model: &mut DynModel, optimizer: Option<&mut DynOptimizerState>) {
        let wanted: Vec<(&wgpu::Buffer, usize)> =
            self.params.iter().zip(&self.tensor_lens).map(|(p, &n)| (p, n)).collect();
        for (dst, src) in model.tensors_mut().into_iter().zip(self.gpu.read(&wanted)) {
            dst.copy_from_slice(&src);
        }
        if let Some(o) = optimizer {
            let lens: Vec<usize> = o.slots().iter().map(|s| s[0].len()).collect();
            let wanted: Vec<(&wgpu::Buffer, usize)> = self
                .state
                .iter()
                .zip(&lens)
                .flat_map(|(s, &n)| s.iter().map(move |b| (b, n)))
                .collect();
            let mut read = self.gpu.read(&wanted).into_iter();
            for slot in o.slots_mut() {
                for s in slot.iter_mut() {
                    if let Some(v) = read.next() {
                        s.copy_from_slice(&v);
                    }
                }
            }
            o.steps = self.steps;
        }
    }
}
