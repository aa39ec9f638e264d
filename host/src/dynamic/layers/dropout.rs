//! `dropout(p)`: inverted dropout in train mode (each value zeroed with probability `p`, the
//! rest scaled by `1 / (1 - p)`, masks drawn sample by sample in index order), the identity
//! in eval mode. Training-only: model files and exports leave it out.

use crate::dynamic::attrs::Attrs;
use crate::dynamic::backend::Backend;
use crate::dynamic::op::{Ctx, Op, Saved};
use crate::dynamic::registry::{infer_nothing, LayerKind, LayerNode};
use neurite::kernel::norm::{apply_mask, dropout_mask};

/// Registry entry.
pub static DROPOUT: LayerKind = LayerKind {
    name: "dropout",
    positional: &["p"],
    options: &["p"],
    help: "dropout(p)",
    build,
    infer: infer_nothing,
    composite: false,
};

/// Inverted dropout.
#[derive(Clone, Debug, PartialEq)]
pub struct Dropout {
    shape: Vec<usize>,
    /// Drop probability in `[0, 1)`.
    pub p: f32,
}

fn build(node: &LayerNode, shape: &[usize]) -> Result<Box<dyn Op>, String> {
    node.attrs.only("dropout", DROPOUT.options)?;
    let p = node.attrs.f32("p", 0.5)?;
    if !(0.0..1.0).contains(&p) {
        return Err(format!("dropout needs a probability in [0, 1), e.g. dropout(0.2), not {p}"));
    }
    Ok(Box::new(Dropout { shape: shape.to_vec(), p }))
}

impl Op for Dropout {
    fn kind(&self) -> &'static LayerKind {
        &DROPOUT
    }
    fn attrs(&self) -> Attrs {
        Attrs::new().num("p", self.p)
    }
    fn input_shape(&self) -> &[usize] {
        &self.shape
    }
    fn output_shape(&self) -> &[usize] {
        &self.shape
    }
    fn training_only(&self) -> bool {
        true
    }
    fn forward(&self, _: &dyn Backend, x: &[f32], y: &mut [f32], _batch: usize) {
        y.copy_from_slice(x);
    }
    fn forward_train(
        &mut self,
        ctx: &mut Ctx<'_>,
        x: &[f32],
        y: &mut [f32],
        batch: usize,
        saved: &mut Saved,
    ) {
        match (ctx.train, ctx.rng.as_deref_mut()) {
            (true, Some(rng)) => {
                saved.values.resize(x.len(), 0.0);
                let per = x.len() / batch.max(1);
                for mask in saved.values.chunks_mut(per.max(1)) {
                    dropout_mask(self.p, rng, mask);
                }
                apply_mask(&saved.values, x, y);
            }
            _ => {
                saved.values.clear();
                y.copy_from_slice(x);
            }
        }
    }
    fn backward(
        &self,
        _: &Ctx<'_>,
        _x: &[f32],
        _y: &[f32],
        saved: &mut Saved,
        dy: &[f32],
        dx: Option<&mut [f32]>,
        _: &mut [Vec<f32>],
        _batch: usize,
    ) {
        if let Some(dx) = dx {
            if saved.values.is_empty() {
                dx.copy_from_slice(dy);
            } else {
                apply_mask(&saved.values, dy, dx);
            }
        }
    }
}
