//! `layernorm`: PyTorch's `nn.LayerNorm` with an element-wise affine transform, over the
//! trailing axes `normalized_shape` (default: the last axis; `[F]` samples: all of them).

use crate::dynamic::attrs::Attrs;
use crate::dynamic::backend::Backend;
use crate::dynamic::op::{numel, Ctx, Op, Saved, Tensor};
use crate::dynamic::registry::{infer_nothing, LayerKind, LayerNode};
use neurite::kernel::norm;

/// Registry entry.
pub static LAYERNORM: LayerKind = LayerKind {
    name: "layernorm",
    positional: &[],
    options: &["normalized_shape", "eps"],
    help: "layernorm(eps=1e-5)",
    build,
    infer: infer_nothing,
    composite: false,
};

/// Layer normalisation of each sample's trailing axes.
#[derive(Clone, Debug, PartialEq)]
pub struct LayerNorm {
    shape: Vec<usize>,
    norm_shape: Vec<usize>,
    /// Numerical floor added to the variance.
    pub eps: f32,
    /// Scale, one per normalised value.
    pub weight: Vec<f32>,
    /// Shift, one per normalised value.
    pub bias: Vec<f32>,
}

fn build(node: &LayerNode, shape: &[usize]) -> Result<Box<dyn Op>, String> {
    let a = &node.attrs;
    a.only("layernorm", LAYERNORM.options)?;
    let norm_shape =
        a.sizes("normalized_shape")?.unwrap_or_else(|| shape[shape.len() - 1..].to_vec());
    if norm_shape.is_empty()
        || norm_shape.len() > shape.len()
        || shape[shape.len() - norm_shape.len()..] != norm_shape[..]
    {
        return Err(format!(
            "normalized_shape {norm_shape:?} is not the trailing axes of the input {shape:?}"
        ));
    }
    let eps = a.f32("eps", 1e-5)?;
    if eps <= 0.0 {
        return Err(format!("eps must be positive, not {eps}"));
    }
    let d = numel(&norm_shape);
    Ok(Box::new(LayerNorm {
        shape: shape.to_vec(),
        norm_shape,
        eps,
        weight: vec![1.0; d],
        bias: vec![0.0; d],
    }))
}

impl Op for LayerNorm {
    fn kind(&self) -> &'static LayerKind {
        &LAYERNORM
    }
    fn attrs(&self) -> Attrs {
        let dims: Vec<f32> = self.norm_shape.iter().map(|&d| d as f32).collect();
        let a = Attrs::new().nums("normalized_shape", &dims);
        if self.eps != 1e-5 {
            a.num("eps", self.eps)
        } else {
            a
        }
    }
    fn input_shape(&self) -> &[usize] {
        &self.shape
    }
    fn output_shape(&self) -> &[usize] {
        &self.shape
    }
    fn params(&self) -> Vec<Tensor<'_>> {
        vec![
            Tensor { name: "weight", shape: &self.norm_shape, values: &self.weight },
            Tensor { name: "bias", shape: &self.norm_shape, values: &self.bias },
        ]
    }
    fn params_mut(&mut self) -> Vec<&mut [f32]> {
        vec![&mut self.weight, &mut self.bias]
    }
    fn init(&mut self, _: &neurite::init::LayerInit, _: &mut neurite::rng::Rng) {
        self.weight.fill(1.0);
        self.bias.fill(0.0);
    }
    fn macs(&self) -> usize {
        numel(&self.shape)
    }
    /// `LayerNorm<N>` over a row `[N]` (the typed layer normalises whole rows only).
    fn rust(&self) -> Option<(String, String)> {
        let &[n] = &self.shape[..] else { return None };
        Some((
            format!("neurite::layer::LayerNorm<{n}>"),
            format!(
                "neurite::layer::LayerNorm {{ weight: {}, bias: {}, eps: {:?} }}",
                crate::export::floats(&self.weight),
                crate::export::floats(&self.bias),
                self.eps
            ),
        ))
    }
    fn forward(&self, _: &dyn Backend, x: &[f32], y: &mut [f32], batch: usize) {
        let d = self.weight.len();
        super::each_sample(x, y, batch, |x, y| {
            norm::layernorm_forward(d, x, &self.weight, &self.bias, self.eps, y);
        });
    }
    fn backward(
        &self,
        _: &Ctx<'_>,
        x: &[f32],
        _y: &[f32],
        _: &mut Saved,
        dy: &[f32],
        dx: Option<&mut [f32]>,
        grads: &mut [Vec<f32>],
        batch: usize,
    ) {
        let [gw, gb] = grads else { return };
        let d = self.weight.len();
        super::each_sample_back(x, dy, dx, batch, |x, dy, dx| {
            norm::layernorm_backward(d, x, &self.weight, self.eps, dy, dx, gw, gb);
        });
    }
}
