//! Memory footprint of a runtime-shaped model, in bytes, computed as the core's
//! `neurite::footprint` computes it from `size_of` for the same const-generic model
//! (checked in `tests/tests/footprint.rs`).

use crate::dynamic::op::numel;
use crate::dynamic::{DynModel, Op};
use core::mem::{align_of, size_of};
use neurite::footprint::Footprint;
use neurite::loss::Batch;
use neurite::rng::Rng;

/// Footprint of inference: parameters, input and output.
pub fn inference(model: &DynModel) -> Footprint {
    Footprint {
        params: 4 * model.param_count(),
        frozen: 0,
        grads: 0,
        optimizer: 0,
        trace: 0,
        buffers: 4 * (model.inputs() + model.outputs()),
    }
}

fn inference_layers(model: &DynModel) -> Vec<&dyn Op> {
    model.inference_layers().collect()
}

fn params_of(layers: &[&dyn Op]) -> usize {
    layers.iter().map(|l| l.params().iter().map(|t| t.values.len()).sum::<usize>()).sum()
}

fn outputs(l: &&dyn Op) -> usize {
    numel(l.output_shape())
}

fn inputs(l: &&dyn Op) -> usize {
    numel(l.input_shape())
}

/// Footprint of training `layers` with an optimiser holding `slots` state tensors of the
/// parameters' size and `config_bytes` of hyper-parameters (`size_of` its config struct): the trace keeps every
/// intermediate output, the trainer one output, its gradient, an input and the batch sums.
fn training_of(layers: &[&dyn Op], slots: usize, config_bytes: usize) -> Footprint {
    let p = 4 * params_of(layers);
    let trace: usize =
        layers.iter().take(layers.len().saturating_sub(1)).map(|l| 4 * outputs(l)).sum();
    let (inputs, outputs) = (layers.first().map_or(0, inputs), layers.last().map_or(0, outputs));
    // Trainer<L> is `repr(C)`: { grads, trace, out, dout (all f32), batch: Batch, last: f32,
    // train_mode: bool, dropout_rng: Option<Rng> }, each field at the next multiple of its
    // alignment, the size a multiple of the widest.
    let at = |offset: usize, align: usize| offset.next_multiple_of(align);
    let mut offset = p + trace + 8 * outputs;
    offset = at(offset, align_of::<Batch>()) + size_of::<Batch>() + 4 + 1;
    offset = at(offset, align_of::<Option<Rng>>()) + size_of::<Option<Rng>>();
    let align = align_of::<Batch>().max(align_of::<Option<Rng>>()).max(align_of::<f32>());
    let trainer = at(offset, align);
    Footprint {
        params: p,
        frozen: 0,
        grads: p,
        // typed optimisers: hyper-parameters, `slots` values of the gradient type, step count
        optimizer: config_bytes + slots * p + 4,
        trace,
        buffers: trainer - p - trace + 4 * inputs,
    }
}

/// Footprint of training the whole model.
pub fn training(model: &DynModel, slots: usize, config_bytes: usize) -> Footprint {
    training_of(&inference_layers(model), slots, config_bytes)
}

/// Footprint of fine-tuning the last dense layer (and what follows it) on the device while
/// the layers before it stay frozen in flash.
pub fn fine_tune_last(model: &DynModel, slots: usize, config_bytes: usize) -> Footprint {
    let layers = inference_layers(model);
    let split = layers.iter().rposition(|l| l.kind().name == "dense").unwrap_or(0);
    let (frozen, head) = layers.split_at(split);
    let head_fp = training_of(head, slots, config_bytes);
    Footprint {
        frozen: 4 * params_of(frozen),
        buffers: head_fp.buffers + 4 * model.inputs(),
        ..head_fp
    }
}
