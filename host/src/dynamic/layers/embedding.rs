//! `embedding(V, D)`: PyTorch's `nn.Embedding(num_embeddings, embedding_dim)` over a row of
//! `T` token indices (`[T]` in, `[T][D]` out), with the core's kernel
//! (`neurite::kernel::embedding`, the typed `neurite::layer::Embedding`'s: the same bits).
//! A value that is not a token in `0..V` gives a zero row and no gradient.

use crate::dynamic::attrs::Attrs;
use crate::dynamic::backend::Backend;
use crate::dynamic::op::{each_sample, each_sample_back, Ctx, Op, Saved, Tensor};
use crate::dynamic::registry::{size, LayerKind, LayerNode};
use neurite::init::LayerInit;
use neurite::kernel::embedding;
use neurite::rng::Rng;

/// Registry entry.
pub static EMBEDDING: LayerKind = LayerKind {
    name: "embedding",
    positional: &["num_embeddings", "embedding_dim"],
    options: &["num_embeddings", "embedding_dim"],
    help: "embedding(V, D)",
    build,
    infer: |a, t| {
        if let Some(s) = t("weight") {
            if s.len() == 2 {
                if a.get("num_embeddings").is_none() {
                    a.set("num_embeddings", size(s[0]));
                }
                if a.get("embedding_dim").is_none() {
                    a.set("embedding_dim", size(s[1]));
                }
            }
        }
    },
    composite: false,
};

/// A token embedding.
#[derive(Clone, Debug, PartialEq)]
pub struct Embedding {
    in_shape: Vec<usize>,
    out_shape: Vec<usize>,
    w_shape: [usize; 2],
    /// `weight`: `[V][D]`.
    pub weight: Vec<f32>,
}

fn build(node: &LayerNode, shape: &[usize]) -> Result<Box<dyn Op>, String> {
    let a = &node.attrs;
    a.only("embedding", EMBEDDING.options)?;
    let &[steps] = shape else {
        return Err(format!("embedding needs a row of token indices [T], found {shape:?}"));
    };
    let (vocab, dim) = (a.usize("num_embeddings", 0)?, a.usize("embedding_dim", 0)?);
    if vocab == 0 || dim == 0 {
        return Err("embedding needs positive sizes, e.g. embedding(100, 16)".into());
    }
    let weights = crate::dynamic::op::checked_values(&[vocab, dim], "the weight")?;
    crate::dynamic::op::checked_values(&[steps, dim], "the output")?;
    Ok(Box::new(Embedding {
        in_shape: shape.to_vec(),
        out_shape: vec![steps, dim],
        w_shape: [vocab, dim],
        weight: vec![0.0; weights],
    }))
}

impl Op for Embedding {
    fn kind(&self) -> &'static LayerKind {
        &EMBEDDING
    }
    fn attrs(&self) -> Attrs {
        Attrs::new()
            .num("num_embeddings", self.w_shape[0] as f32)
            .num("embedding_dim", self.w_shape[1] as f32)
    }
    fn input_shape(&self) -> &[usize] {
        &self.in_shape
    }
    fn output_shape(&self) -> &[usize] {
        &self.out_shape
    }
    fn params(&self) -> Vec<Tensor<'_>> {
        vec![Tensor { name: "weight", shape: &self.w_shape, values: &self.weight }]
    }
    fn params_mut(&mut self) -> Vec<&mut [f32]> {
        vec![&mut self.weight]
    }
    /// PyTorch's `N(0, 1)`, as the typed layer.
    fn init(&mut self, _: &LayerInit, rng: &mut Rng) {
        for v in &mut self.weight {
            *v = rng.normal();
        }
    }
    fn rust(&self) -> Option<(String, String)> {
        let [vocab, dim] = self.w_shape;
        let rows: Vec<String> = self.weight.chunks(dim).map(crate::export::floats).collect();
        Some((
            format!("neurite::layer::Embedding<{vocab}, {dim}, {}>", self.in_shape[0]),
            format!("neurite::layer::Embedding {{ weight: [{}] }}", rows.join(", ")),
        ))
    }
    fn forward(&self, _: &dyn Backend, x: &[f32], y: &mut [f32], batch: usize) {
        let dim = self.w_shape[1];
        each_sample(x, y, batch, |x, y| embedding::forward(&self.weight, dim, x, y));
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
        let [gw] = grads else { return };
        let dim = self.w_shape[1];
        each_sample_back(x, dy, dx, batch, |x, dy, dx| {
            embedding::backward(x, dim, dy, gw);
            if let Some(dx) = dx {
                dx.fill(0.0);
            }
        });
    }
}
