//! A runtime-shaped model: a chain of [`Op`]s, run a whole minibatch at a time through
//! buffers that are allocated once and reused ([`Workspace`]).

use super::backend::{Backend, DEFAULT};
use super::op::{numel, Ctx, Op, Saved, Tensor};
use super::registry::{node_of, LayerNode};
use neurite::init::LayerInit;
use neurite::rng::Rng;
use neurite::Error;

/// A chain of layers with the shape of one input sample.
#[derive(Clone, Debug)]
pub struct DynModel {
    /// The layers, first to last.
    pub layers: Vec<Box<dyn Op>>,
    input_shape: Vec<usize>,
}

/// Buffers of one model for one batch size: every layer's input (the model output last),
/// what each layer saved for backward, and two gradient buffers. Resized when the batch size
/// changes, otherwise reused, so a training step allocates no per-sample buffers (by design;
/// no test counts allocations).
#[derive(Clone, Debug, Default)]
pub struct Workspace {
    /// `acts[k]`: layer k's input for the batch; the last entry is the model output.
    pub acts: Vec<Vec<f32>>,
    /// `saved[k]`: layer k's saved values.
    pub saved: Vec<Saved>,
    /// Samples in the current batch.
    pub batch: usize,
    grad_a: Vec<f32>,
    grad_b: Vec<f32>,
}

impl Workspace {
    /// The model output of the last forward (`batch` rows).
    pub fn output(&self) -> &[f32] {
        self.acts.last().map_or(&[], Vec::as_slice)
    }

    /// Sizes the buffers for `batch` samples of `model`.
    fn prepare(&mut self, model: &DynModel, batch: usize) {
        let n = model.layers.len();
        self.acts.resize_with(n + 1, Vec::new);
        self.saved.resize_with(n, Saved::default);
        self.acts[0].resize(batch * numel(&model.input_shape), 0.0);
        for (k, layer) in model.layers.iter().enumerate() {
            self.acts[k + 1].resize(batch * numel(layer.output_shape()), 0.0);
        }
        self.batch = batch;
    }
}

fn shapes_error(expected: usize, found: usize) -> Error {
    Error::LengthMismatch { expected, found }
}

impl PartialEq for DynModel {
    fn eq(&self, other: &Self) -> bool {
        self.input_shape == other.input_shape
            && self.nodes() == other.nodes()
            && self.tensors() == other.tensors()
            && self.buffers() == other.buffers()
    }
}

impl DynModel {
    /// Parses `spec` ([`super::parse_spec`]) and builds it for samples of `input_shape`
    /// (parameters zero); `Err` is the spec's or the build's message.
    pub fn from_spec(spec: &str, input_shape: &[usize]) -> Result<Self, String> {
        let nodes = super::parse_spec(spec).map_err(|e| e.to_string())?;
        Self::build(&nodes, input_shape)
    }

    /// Builds `nodes` for input samples of `input_shape` (parameters zero: call
    /// [`DynModel::init`] or load them).
    pub fn build(nodes: &[LayerNode], input_shape: &[usize]) -> Result<Self, String> {
        if nodes.is_empty() {
            return Err("empty model".into());
        }
        if input_shape.is_empty() || input_shape.contains(&0) {
            return Err(format!("input shape {input_shape:?} has no values"));
        }
        super::op::checked_values(input_shape, "the input")?;
        let mut shape = input_shape.to_vec();
        let mut layers = Vec::with_capacity(nodes.len());
        for (i, node) in nodes.iter().enumerate() {
            let layer = (node.kind.build)(node, &shape)
                .map_err(|e| format!("layer {} ({}): {e}", i + 1, node.kind.name))?;
            shape = layer.output_shape().to_vec();
            super::op::checked_values(
                &shape,
                &format!("layer {} ({})'s output", i + 1, node.kind.name),
            )?;
            if shape.is_empty() || shape.contains(&0) {
                return Err(format!(
                    "layer {} ({}): output shape {shape:?} is empty",
                    i + 1,
                    node.kind.name
                ));
            }
            layers.push(layer);
        }
        Ok(Self { layers, input_shape: input_shape.to_vec() })
    }

    /// The nodes that rebuild this model.
    pub fn nodes(&self) -> Vec<LayerNode> {
        self.layers.iter().map(|l| node_of(l.as_ref())).collect()
    }

    /// Shape of one input sample.
    pub fn input_shape(&self) -> &[usize] {
        &self.input_shape
    }

    /// Shape of one output sample.
    pub fn output_shape(&self) -> &[usize] {
        self.layers.last().map_or(&self.input_shape, |l| l.output_shape())
    }

    /// Input values per sample.
    pub fn inputs(&self) -> usize {
        numel(&self.input_shape)
    }

    /// Output values per sample.
    pub fn outputs(&self) -> usize {
        numel(self.output_shape())
    }

    /// Every learnable tensor, layer by layer (a composite layer's body in its place).
    pub fn tensors(&self) -> Vec<&[f32]> {
        self.named_tensors().into_iter().map(|t| t.values).collect()
    }

    /// Every learnable tensor with its name and shape.
    pub fn named_tensors(&self) -> Vec<Tensor<'_>> {
        self.layers.iter().flat_map(|l| l.params()).collect()
    }

    /// Every learnable tensor, mutable.
    pub fn tensors_mut(&mut self) -> Vec<&mut [f32]> {
        self.layers.iter_mut().flat_map(|l| l.params_mut()).collect()
    }

    /// Every buffer (batch norm's running statistics), layer by layer.
    pub fn buffers(&self) -> Vec<&[f32]> {
        self.layers.iter().flat_map(|l| l.buffers()).map(|t| t.values).collect()
    }

    /// Every buffer, mutable.
    pub fn buffers_mut(&mut self) -> Vec<&mut [f32]> {
        self.layers.iter_mut().flat_map(|l| l.buffers_mut()).collect()
    }

    /// Number of learnable scalars.
    pub fn param_count(&self) -> usize {
        self.tensors().iter().map(|t| t.len()).sum()
    }

    /// Number of buffer scalars.
    pub fn buffer_count(&self) -> usize {
        self.buffers().iter().map(|t| t.len()).sum()
    }

    /// Multiply-accumulates of one sample's forward.
    pub fn macs(&self) -> usize {
        self.layers.iter().map(|l| l.macs()).sum()
    }

    /// Zeroed gradient tensors shaped like the parameters.
    pub fn zero_grads(&self) -> Vec<Vec<f32>> {
        self.tensors().iter().map(|t| vec![0.0; t.len()]).collect()
    }

    /// Initialises every learnable layer, first to last (the order of the const-generic
    /// chain).
    pub fn init(&mut self, init: &LayerInit, rng: &mut Rng) {
        for layer in &mut self.layers {
            layer.init(init, rng);
        }
    }

    /// Inference on `batch` samples (`x` is `batch` rows) through `ws`; returns the output
    /// rows (borrowed from `ws`).
    pub fn forward_batch<'w>(
        &self,
        be: &dyn Backend,
        x: &[f32],
        batch: usize,
        ws: &'w mut Workspace,
    ) -> &'w [f32] {
        ws.prepare(self, batch);
        ws.acts[0].copy_from_slice(&x[..batch * self.inputs()]);
        for (k, layer) in self.layers.iter().enumerate() {
            let (done, rest) = ws.acts.split_at_mut(k + 1);
            layer.forward(be, &done[k], &mut rest[0], batch);
        }
        ws.output()
    }

    /// Inference on one sample (a convenience that allocates; batch work uses
    /// [`DynModel::forward_batch`]).
    pub fn forward(&self, x: &[f32]) -> Vec<f32> {
        let mut ws = Workspace::default();
        self.forward_batch(&DEFAULT, x, 1, &mut ws).to_vec()
    }

    /// Training forward on `batch` samples in `ctx`'s mode, keeping what backward needs.
    pub fn forward_train<'w>(
        &mut self,
        ctx: &mut Ctx<'_>,
        x: &[f32],
        batch: usize,
        ws: &'w mut Workspace,
    ) -> Result<&'w [f32], Error> {
        if x.len() != batch * self.inputs() {
            return Err(shapes_error(batch * self.inputs(), x.len()));
        }
        ws.prepare(self, batch);
        ws.acts[0].copy_from_slice(x);
        Ok(self.run_train(ctx, batch, ws))
    }

    /// [`DynModel::forward_train`] on separate sample rows, copied straight into the
    /// workspace (each row must have [`DynModel::inputs`] values).
    pub fn forward_train_rows<'w>(
        &mut self,
        ctx: &mut Ctx<'_>,
        rows: &[&[f32]],
        ws: &'w mut Workspace,
    ) -> Result<&'w [f32], Error> {
        let n = self.inputs();
        if let Some(bad) = rows.iter().find(|r| r.len() != n) {
            return Err(shapes_error(n, bad.len()));
        }
        ws.prepare(self, rows.len());
        for (dst, row) in ws.acts[0].chunks_exact_mut(n).zip(rows) {
            dst.copy_from_slice(row);
        }
        Ok(self.run_train(ctx, rows.len(), ws))
    }

    /// Runs every layer's training forward on the batch already in `ws.acts[0]`.
    fn run_train<'w>(
        &mut self,
        ctx: &mut Ctx<'_>,
        batch: usize,
        ws: &'w mut Workspace,
    ) -> &'w [f32] {
        for (k, layer) in self.layers.iter_mut().enumerate() {
            let (done, rest) = ws.acts.split_at_mut(k + 1);
            layer.forward_train(ctx, &done[k], &mut rest[0], batch, &mut ws.saved[k]);
        }
        ws.output()
    }

    /// Backward through the batch of the last [`DynModel::forward_train`] from `dy`
    /// (`batch` rows of the output): adds into `grads` (one entry per tensor, in
    /// [`DynModel::tensors`] order) and returns `d loss / d x` rows when `input_grad`.
    pub fn backward<'w>(
        &self,
        ctx: &Ctx<'_>,
        ws: &'w mut Workspace,
        dy: &[f32],
        grads: &mut [Vec<f32>],
        input_grad: bool,
    ) -> Option<&'w [f32]> {
        let batch = ws.batch;
        let counts: Vec<usize> = self.layers.iter().map(|l| l.params().len()).collect();
        let mut end = grads.len();
        ws.grad_a.clear();
        ws.grad_a.extend_from_slice(dy);
        for (k, layer) in self.layers.iter().enumerate().rev() {
            let start = end - counts[k];
            let g = &mut grads[start..end];
            end = start;
            let (x, y) = (&ws.acts[k], &ws.acts[k + 1]);
            let saved = &mut ws.saved[k];
            if k == 0 && !input_grad {
                layer.backward(ctx, x, y, saved, &ws.grad_a, None, g, batch);
                return None;
            }
            ws.grad_b.resize(x.len(), 0.0);
            layer.backward(ctx, x, y, saved, &ws.grad_a, Some(&mut ws.grad_b), g, batch);
            std::mem::swap(&mut ws.grad_a, &mut ws.grad_b);
        }
        Some(&ws.grad_a)
    }

    /// The model without training-only layers (dropout): what model files and exports hold.
    pub fn inference_layers(&self) -> impl Iterator<Item = &dyn Op> {
        self.layers.iter().map(AsRef::as_ref).filter(|l| !l.training_only())
    }
}
