//! `softmax` and `log_softmax` over the last axis of each sample (`dim=-1`).

use crate::dynamic::attrs::Attrs;
use crate::dynamic::backend::Backend;
use crate::dynamic::op::{Ctx, Op, Saved};
use crate::dynamic::registry::{infer_nothing, LayerKind, LayerNode};
use neurite::kernel::softmax;

/// Registry entry of `softmax`.
pub static SOFTMAX: LayerKind = LayerKind {
    name: "softmax",
    positional: &[],
    options: &["dim"],
    help: "softmax",
    build,
    infer: infer_nothing,
    composite: false,
};

/// Registry entry of `log_softmax`.
pub static LOG_SOFTMAX: LayerKind = LayerKind {
    name: "log_softmax",
    positional: &[],
    options: &["dim"],
    help: "log_softmax",
    build,
    infer: infer_nothing,
    composite: false,
};

/// Softmax or log-softmax over the last axis.
#[derive(Clone, Debug, PartialEq)]
pub struct Softmax {
    log: bool,
    shape: Vec<usize>,
}

fn build(node: &LayerNode, shape: &[usize]) -> Result<Box<dyn Op>, String> {
    node.attrs.only(node.kind.name, node.kind.options)?;
    // PyTorch's dim=1 of a [batch, F] tensor and dim=-1 are the last axis of a sample.
    let dim = node.attrs.f32("dim", -1.0)?;
    if !(dim == -1.0 || (shape.len() == 1 && dim == 1.0)) {
        return Err("only the last axis (dim = -1) is supported".into());
    }
    Ok(Box::new(Softmax { log: node.kind.name == "log_softmax", shape: shape.to_vec() }))
}

impl Op for Softmax {
    fn kind(&self) -> &'static LayerKind {
        if self.log {
            &LOG_SOFTMAX
        } else {
            &SOFTMAX
        }
    }
    fn attrs(&self) -> Attrs {
        Attrs::new()
    }
    fn input_shape(&self) -> &[usize] {
        &self.shape
    }
    fn output_shape(&self) -> &[usize] {
        &self.shape
    }
    fn rust(&self) -> Option<(String, String)> {
        let name = if self.log { "LogSoftmax" } else { "Softmax" };
        (self.shape.len() == 1).then(|| (format!("{name}<{}>", self.shape[0]), name.to_string()))
    }
    fn forward(&self, _: &dyn Backend, x: &[f32], y: &mut [f32], _batch: usize) {
        let n = self.shape[self.shape.len() - 1];
        for (x, y) in x.chunks_exact(n).zip(y.chunks_exact_mut(n)) {
            if self.log {
                softmax::log_softmax(x, y);
            } else {
                softmax::softmax(x, y);
            }
        }
    }
    fn backward(
        &self,
        _: &Ctx<'_>,
        _x: &[f32],
        y: &[f32],
        _: &mut Saved,
        dy: &[f32],
        dx: Option<&mut [f32]>,
        _: &mut [Vec<f32>],
        _batch: usize,
    ) {
        let Some(dx) = dx else { return };
        let n = self.shape[self.shape.len() - 1];
        for ((y, dy), dx) in y.chunks_exact(n).zip(dy.chunks_exact(n)).zip(dx.chunks_exact_mut(n)) {
            if self.log {
                softmax::log_softmax_backward(y, dy, dx);
            } else {
                softmax::softmax_backward(y, dy, dx);
            }
        }
    }
}
