//! `flatten`: a shaped sample as one row, in row-major order (a free reshape: the values do
//! not move).

use crate::dynamic::attrs::Attrs;
use crate::dynamic::backend::Backend;
use crate::dynamic::op::{numel, Ctx, Op, Saved};
use crate::dynamic::registry::{infer_nothing, LayerKind, LayerNode};

/// Registry entry.
pub static FLATTEN: LayerKind = LayerKind {
    name: "flatten",
    positional: &[],
    options: &[],
    help: "flatten",
    build,
    infer: infer_nothing,
    composite: false,
};

/// Row-major flattening.
#[derive(Clone, Debug, PartialEq)]
pub struct Flatten {
    shape: Vec<usize>,
    out: [usize; 1],
}

fn build(node: &LayerNode, shape: &[usize]) -> Result<Box<dyn Op>, String> {
    node.attrs.only("flatten", FLATTEN.options)?;
    Ok(Box::new(Flatten { shape: shape.to_vec(), out: [numel(shape)] }))
}

impl Op for Flatten {
    fn kind(&self) -> &'static LayerKind {
        &FLATTEN
    }
    fn attrs(&self) -> Attrs {
        Attrs::new()
    }
    fn input_shape(&self) -> &[usize] {
        &self.shape
    }
    fn output_shape(&self) -> &[usize] {
        &self.out
    }
    /// `Flatten` (`[C, H, W]`), `Flatten1d` (`[C, L]`) or a `Reshape` to a row.
    fn rust(&self) -> Option<(String, String)> {
        let n = self.out[0];
        let ty = match self.shape[..] {
            [c, h, w] => format!("neurite::layer::Flatten<{c}, {h}, {w}, {n}>"),
            [c, l] => format!("neurite::layer::Flatten1d<{c}, {l}, {n}>"),
            _ => format!(
                "neurite::layer::Reshape<{}, [f32; {n}]>",
                crate::export::array_type(&self.shape)
            ),
        };
        Some((ty, "neurite::layer::Reshape::new()".into()))
    }
    fn forward(&self, _: &dyn Backend, x: &[f32], y: &mut [f32], _batch: usize) {
        y.copy_from_slice(x);
    }
    fn backward(
        &self,
        _: &Ctx<'_>,
        _x: &[f32],
        _y: &[f32],
        _: &mut Saved,
        dy: &[f32],
        dx: Option<&mut [f32]>,
        _: &mut [Vec<f32>],
        _batch: usize,
    ) {
        if let Some(dx) = dx {
            dx.copy_from_slice(dy);
        }
    }
}
