//! The runtime-shaped layer interface: every layer of the dynamic front end implements [`Op`]
//! over a whole minibatch at once, calling the core's kernels sample by sample (or the
//! [`Backend`] for the matrix-shaped work), so a batch gives the
//! same bits as the core's per-sample path.
//!
//! Buffers: `x` is `batch` rows of the input shape, `y` `batch` rows of the output shape,
//! both row-major and owned by the model's [`Workspace`], reused
//! from batch to batch (no per-sample allocation).

use super::attrs::Attrs;
use super::backend::Backend;
use super::model::{DynModel, Workspace};
use super::registry::LayerKind;
use neurite::init::LayerInit;
use neurite::rng::Rng;
use std::fmt::Debug;

/// Training or evaluation, and the random numbers for dropout.
pub struct Ctx<'a> {
    /// Train mode: batch norm uses batch statistics and updates its running statistics,
    /// dropout drops. Eval mode: running statistics, dropout is the identity.
    pub train: bool,
    /// Dropout's generator (`None`: dropout is the identity even in train mode).
    pub rng: Option<&'a mut Rng>,
    /// Where the matrix-shaped work runs.
    pub backend: &'a dyn Backend,
}

/// What a layer keeps from its training forward for its backward: values (batch norm's
/// batch mean and variance, dropout masks) and a nested model's workspace (residual).
#[derive(Clone, Debug, Default)]
pub struct Saved {
    /// Layer-specific values, resized per batch and reused.
    pub values: Vec<f32>,
    /// The body's buffers of a composite layer.
    pub nested: Option<Box<Workspace>>,
}

/// A named learnable tensor or buffer with its PyTorch shape.
#[derive(Clone, Copy, Debug)]
pub struct Tensor<'a> {
    /// PyTorch's name within the module (`weight`, `bias`, `running_mean`).
    pub name: &'static str,
    /// PyTorch's shape.
    pub shape: &'a [usize],
    /// Row-major values.
    pub values: &'a [f32],
}

/// One layer of a runtime-shaped model.
pub trait Op: Debug + Send + Sync + OpClone {
    /// Its registry entry (name, options).
    fn kind(&self) -> &'static LayerKind;
    /// The options that rebuild it from its input shape (spec string, model file, export).
    fn attrs(&self) -> Attrs;
    /// Shape of one input sample.
    fn input_shape(&self) -> &[usize];
    /// Shape of one output sample.
    fn output_shape(&self) -> &[usize];
    /// Learnable tensors, in the order the const-generic layers number them.
    fn params(&self) -> Vec<Tensor<'_>> {
        Vec::new()
    }
    /// Learnable tensors, mutable, same order.
    fn params_mut(&mut self) -> Vec<&mut [f32]> {
        Vec::new()
    }
    /// Non-learnable state (batch norm's running statistics): saved and exported, never
    /// touched by optimisers.
    fn buffers(&self) -> Vec<Tensor<'_>> {
        Vec::new()
    }
    /// Buffers, mutable.
    fn buffers_mut(&mut self) -> Vec<&mut [f32]> {
        Vec::new()
    }
    /// Parameters then buffers, mutable (loading a state dict or model file).
    fn params_and_buffers_mut(&mut self) -> Vec<&mut [f32]> {
        self.params_mut()
    }
    /// The nested model of a composite layer (residual, concat).
    fn body(&self) -> Option<&DynModel> {
        None
    }
    /// The nested model, mutable.
    fn body_mut(&mut self) -> Option<&mut DynModel> {
        None
    }
    /// Initialises learnable weights (no-op without).
    fn init(&mut self, _init: &LayerInit, _rng: &mut Rng) {}
    /// Multiply-accumulates of one sample's forward.
    fn macs(&self) -> usize {
        0
    }

    /// Values per sample that the typed counterpart keeps in its own trace for training,
    /// besides the chain's intermediate outputs (a recurrent layer's gates and states, an
    /// attention's projections and weights): what `neurite footprint` adds to the trace.
    fn trace_values(&self) -> usize {
        0
    }
    /// A training-only layer (dropout): left out of model files and exports.
    fn training_only(&self) -> bool {
        false
    }
    /// The const-generic core type and value of this layer, for `neurite export --rust`
    /// (`None`: the core has no typed counterpart yet).
    fn rust(&self) -> Option<(String, String)> {
        None
    }

    /// Inference (eval mode) on `batch` samples.
    fn forward(&self, be: &dyn Backend, x: &[f32], y: &mut [f32], batch: usize);

    /// Training forward: like [`Op::forward`] in `ctx`'s mode, keeping in `saved` what
    /// [`Op::backward`] needs; in train mode it updates buffers.
    fn forward_train(
        &mut self,
        ctx: &mut Ctx<'_>,
        x: &[f32],
        y: &mut [f32],
        batch: usize,
        _saved: &mut Saved,
    ) {
        self.forward(ctx.backend, x, y, batch);
    }

    /// Backward over the batch: **adds** parameter gradients into `grads` (one entry per
    /// tensor of [`Op::params`], summed in sample order) and, when `dx` is given, writes
    /// `d loss / d x`. `x`, `y` and `saved` are those of [`Op::forward_train`].
    #[allow(clippy::too_many_arguments)]
    fn backward(
        &self,
        ctx: &Ctx<'_>,
        x: &[f32],
        y: &[f32],
        saved: &mut Saved,
        dy: &[f32],
        dx: Option<&mut [f32]>,
        grads: &mut [Vec<f32>],
        batch: usize,
    );
}

/// `Clone` for boxed layers, and the concrete layer behind a `dyn Op` (a backend that
/// lowers layers to its own kernels reads their geometry: `host/src/gpu/layers.rs`).
pub trait OpClone {
    /// A boxed copy.
    fn clone_box(&self) -> Box<dyn Op>;
    /// The layer as `Any`, to downcast to its concrete type.
    fn as_any(&self) -> &dyn std::any::Any;
}

impl<T: Op + Clone + 'static> OpClone for T {
    fn clone_box(&self) -> Box<dyn Op> {
        Box::new(self.clone())
    }
    fn as_any(&self) -> &dyn std::any::Any {
        self
    }
}

impl Clone for Box<dyn Op> {
    fn clone(&self) -> Self {
        self.clone_box()
    }
}

/// Number of values of a shape.
pub fn numel(shape: &[usize]) -> usize {
    shape.iter().product()
}

/// The most values one tensor (parameters, or one sample's activations) may hold: 2^28
/// (1 GiB of `f32`). Larger sizes from a spec, a model file or a safetensors header are
/// refused with a message instead of aborting on allocation.
pub const MAX_TENSOR_VALUES: usize = 1 << 28;

/// The number of values of a tensor of dimensions `dims`, checked: `Err` naming `what` when
/// the product overflows or exceeds [`MAX_TENSOR_VALUES`].
pub fn checked_values(dims: &[usize], what: &str) -> Result<usize, String> {
    dims.iter()
        .try_fold(1usize, |n, &d| n.checked_mul(d))
        .filter(|&n| n <= MAX_TENSOR_VALUES)
        .ok_or_else(|| {
            format!("{what} of shape {dims:?} is too large (at most {MAX_TENSOR_VALUES} values)")
        })
}

/// Calls `f(x_row, y_row)` for each of `batch` samples (`x` and `y` split evenly).
pub(crate) fn each_sample(
    x: &[f32],
    y: &mut [f32],
    batch: usize,
    mut f: impl FnMut(&[f32], &mut [f32]),
) {
    if batch == 0 {
        return;
    }
    let (il, ol) = (x.len() / batch, y.len() / batch);
    for n in 0..batch {
        f(&x[n * il..(n + 1) * il], &mut y[n * ol..(n + 1) * ol]);
    }
}

/// Like [`each_sample`] for backward: `f(x_row, dy_row, dx_row)` with an optional `dx`.
pub(crate) fn each_sample_back(
    x: &[f32],
    dy: &[f32],
    mut dx: Option<&mut [f32]>,
    batch: usize,
    mut f: impl FnMut(&[f32], &[f32], Option<&mut [f32]>),
) {
    if batch == 0 {
        return;
    }
    let (il, ol) = (x.len() / batch, dy.len() / batch);
    for n in 0..batch {
        let dxr = dx.as_deref_mut().map(|d| &mut d[n * il..(n + 1) * il]);
        f(&x[n * il..(n + 1) * il], &dy[n * ol..(n + 1) * ol], dxr);
    }
}
