//! Folding batch norm into the preceding convolution or dense layer, for inference.
//!
//! In eval mode a batch norm is a per-channel affine map with constant coefficients
//! (`y = (x - running_mean) * inv_std * gamma + beta`, `inv_std = 1 / sqrt(running_var + eps)`),
//! so a `conv1d` / `conv2d` / `dense` immediately followed by a `batchnorm1d` / `batchnorm2d`
//! becomes one layer with, per output channel `o` and `s[o] = inv_std[o] * gamma[o]`:
//!
//! - `w'[o][..] = w[o][..] * s[o]`
//! - `b'[o] = (b[o] - running_mean[o]) * s[o] + beta[o]` (`b = 0` for a conv without bias;
//!   the folded layer always has a bias).
//!
//! `inv_std` is computed exactly as [`neurite::kernel::norm::batchnorm_eval_forward`]
//! computes it (`1.0 / neurite::math::sqrt(var + eps)` in `f32`), so the fold itself is
//! deterministic; the folded model equals the unfolded one in eval mode only up to rounding
//! (the products are grouped differently), not bit for bit.
//!
//! Everything goes through the [`Op`] interface and the [`registry`]: the replacement layer
//! is rebuilt from the original's registry node (with `bias = true`) and its tensors are
//! written through [`Op::params_mut`]; the batch norm's values are read by name through
//! [`Op::params`] (`weight`, `bias`), [`Op::buffers`] (`running_mean`, `running_var`) and
//! [`Op::attrs`] (`eps`, 1e-5 when absent).

use crate::dynamic::op::Op;
use crate::dynamic::{registry, Attr, DynModel};

/// Layers a following batch norm can fold into.
const FOLD_INTO: &[&str] = &["conv1d", "conv2d", "dense"];
/// Batch norms that fold.
const BATCHNORMS: &[&str] = &["batchnorm1d", "batchnorm2d"];

/// A copy of `model` for inference with every `conv1d` / `conv2d` / `dense` that is
/// immediately followed by a `batchnorm1d` / `batchnorm2d` replaced by one folded layer and
/// the batch norm removed, recursing into composite layers' bodies (`residual`, `concat`).
/// Every other layer is copied as is.
///
/// A pair is left unfolded when the batch norm's channel axis is not the layer's output
/// channel axis (a `dense` over the last axis of a rank-2 sample, whose batch norm
/// normalises the first axis). `Err` when a layer does not expose the tensors the fold reads
/// or the rebuilt layer cannot be built.
pub fn fold_batchnorm(model: &DynModel) -> Result<DynModel, String> {
    let mut out = model.clone();
    out.layers = fold_layers(&model.layers)?;
    Ok(out)
}

fn fold_layers(layers: &[Box<dyn Op>]) -> Result<Vec<Box<dyn Op>>, String> {
    let mut out: Vec<Box<dyn Op>> = Vec::with_capacity(layers.len());
    let mut i = 0;
    while i < layers.len() {
        let op = layers[i].as_ref();
        if let Some(next) = layers.get(i + 1) {
            if foldable(op, next.as_ref()) {
                let folded = fold_pair(op, next.as_ref())
                    .map_err(|e| format!("layer {} ({}): {e}", i + 1, op.kind().name))?;
                out.push(folded);
                i += 2;
                continue;
            }
        }
        let mut copy = op.clone_box();
        if let Some(body) = copy.body_mut() {
            let folded = fold_batchnorm(body)
                .map_err(|e| format!("layer {} ({}): body: {e}", i + 1, op.kind().name))?;
            *body = folded;
        }
        out.push(copy);
        i += 1;
    }
    Ok(out)
}

/// Output channels of `op` along its output's first axis, where a batch norm normalises.
fn out_channels(op: &dyn Op) -> Option<usize> {
    let shape = op.output_shape();
    match op.kind().name {
        // A conv's output is `[out, ...]`.
        "conv1d" | "conv2d" => shape.first().copied(),
        // A dense acts on the last axis: its outputs are the batch norm's channels only for
        // a rank-1 sample.
        "dense" if shape.len() == 1 => Some(shape[0]),
        _ => None,
    }
}

fn foldable(op: &dyn Op, next: &dyn Op) -> bool {
    FOLD_INTO.contains(&op.kind().name)
        && BATCHNORMS.contains(&next.kind().name)
        && next.input_shape() == op.output_shape()
        && next.input_shape().first().copied() == out_channels(op)
}

/// The values of the tensor named `name` in `tensors`.
fn named<'a>(tensors: &[crate::dynamic::Tensor<'a>], name: &str) -> Option<&'a [f32]> {
    tensors.iter().find(|t| t.name == name).map(|t| t.values)
}

fn fold_pair(op: &dyn Op, bn: &dyn Op) -> Result<Box<dyn Op>, String> {
    let channels = out_channels(op).ok_or("no output channels")?;
    let bn_params = bn.params();
    let bn_buffers = bn.buffers();
    let missing = |what: &str| format!("{} has no '{what}'", bn.kind().name);
    let gamma = named(&bn_params, "weight").ok_or_else(|| missing("weight"))?;
    let beta = named(&bn_params, "bias").ok_or_else(|| missing("bias"))?;
    let mean = named(&bn_buffers, "running_mean").ok_or_else(|| missing("running_mean"))?;
    let var = named(&bn_buffers, "running_var").ok_or_else(|| missing("running_var"))?;
    let eps = bn.attrs().f32("eps", 1e-5)?;
    if [gamma, beta, mean, var].iter().any(|t| t.len() != channels) {
        return Err(format!("{} does not have {channels} channels", bn.kind().name));
    }

    let params = op.params();
    let weight = named(&params, "weight").ok_or("no 'weight'")?;
    let bias = named(&params, "bias");
    if weight.is_empty() || weight.len() % channels != 0 {
        return Err(format!("weight of {} values for {channels} output channels", weight.len()));
    }
    if bias.is_some_and(|b| b.len() != channels) {
        return Err(format!("bias does not have {channels} values"));
    }
    let per_channel = weight.len() / channels;

    // s = inv_std * gamma, inv_std as the eval kernel computes it.
    let scale: Vec<f32> =
        (0..channels).map(|c| 1.0 / neurite::math::sqrt(var[c] + eps) * gamma[c]).collect();
    let new_weight: Vec<f32> = weight
        .chunks_exact(per_channel)
        .zip(&scale)
        .flat_map(|(row, &s)| row.iter().map(move |&w| w * s))
        .collect();
    let new_bias: Vec<f32> = (0..channels)
        .map(|c| (bias.map_or(0.0, |b| b[c]) - mean[c]) * scale[c] + beta[c])
        .collect();

    // Rebuild through the registry, with a bias.
    let mut node = registry::node_of(op);
    if node.kind.options.contains(&"bias") {
        node.attrs.set("bias", Attr::Bool(true));
    }
    let mut folded = (node.kind.build)(&node, op.input_shape())?;
    if folded.output_shape() != op.output_shape() {
        return Err("the rebuilt layer has another output shape".into());
    }
    let names: Vec<&'static str> = folded.params().iter().map(|t| t.name).collect();
    let (Some(wi), Some(bi)) =
        (names.iter().position(|&n| n == "weight"), names.iter().position(|&n| n == "bias"))
    else {
        return Err("the rebuilt layer has no weight or bias".into());
    };
    let mut slots = folded.params_mut();
    if slots[wi].len() != new_weight.len() || slots[bi].len() != new_bias.len() {
        return Err("the rebuilt layer's tensors have other sizes".into());
    }
    slots[wi].copy_from_slice(&new_weight);
    slots[bi].copy_from_slice(&new_bias);
    Ok(folded)
}
