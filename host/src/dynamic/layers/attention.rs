//! `self_attention(heads)`: PyTorch's `nn.MultiheadAttention(E, heads, batch_first=True)`
//! called as `m(x, x, x)` (no mask, no dropout) over `[T][E]` samples, and
//! `positional_embedding`: a learnt `[T][E]` table added to the tokens. The core's kernel
//! (`neurite::kernel::attention`, the typed layers' `neurite::layer::{SelfAttention,
//! PositionalEmbedding}`): the same bits.

use crate::dynamic::attrs::Attrs;
use crate::dynamic::backend::Backend;
use crate::dynamic::op::{each_sample, each_sample_back, Ctx, Op, Saved, Tensor};
use crate::dynamic::registry::{infer_nothing, LayerKind, LayerNode};
use neurite::init::LayerInit;
use neurite::kernel::attention::{trace_len, Attention, Scratch};
use neurite::rng::Rng;

/// Registry entry of `self_attention`.
pub static SELF_ATTENTION: LayerKind = LayerKind {
    name: "self_attention",
    positional: &["num_heads"],
    options: &["num_heads", "embed_dim"],
    help: "self_attention(heads)",
    build: build_attention,
    infer: infer_nothing,
    composite: false,
};

/// Registry entry of `positional_embedding`.
pub static POSITIONAL_EMBEDDING: LayerKind = LayerKind {
    name: "positional_embedding",
    positional: &[],
    options: &[],
    help: "positional_embedding",
    build: build_positions,
    infer: infer_nothing,
    composite: false,
};

fn tokens(name: &str, shape: &[usize]) -> Result<(usize, usize), String> {
    match *shape {
        [t, e] if t > 0 && e > 0 => Ok((t, e)),
        _ => Err(format!("{name} needs tokens [T][E] (--input-shape TxE), found {shape:?}")),
    }
}

/// Multi-head self-attention.
#[derive(Clone, Debug, PartialEq)]
pub struct SelfAttention {
    shape: Vec<usize>,
    attention: Attention,
    w_in_shape: [usize; 2],
    w_out_shape: [usize; 2],
    /// `in_proj_weight` `[3E][E]`.
    pub in_proj_weight: Vec<f32>,
    /// `in_proj_bias` `[3E]`.
    pub in_proj_bias: Vec<f32>,
    /// `out_proj_weight` `[E][E]`.
    pub out_proj_weight: Vec<f32>,
    /// `out_proj_bias` `[E]`.
    pub out_proj_bias: Vec<f32>,
}

fn build_attention(node: &LayerNode, shape: &[usize]) -> Result<Box<dyn Op>, String> {
    let a = &node.attrs;
    a.only("self_attention", SELF_ATTENTION.options)?;
    let (t, e) = tokens("self_attention", shape)?;
    let heads = a.usize("num_heads", 1)?;
    if heads == 0 || !e.is_multiple_of(heads) {
        return Err(format!(
            "self_attention: num_heads {heads} must divide the {e} values per token"
        ));
    }
    if a.get("embed_dim").is_some() && a.usize("embed_dim", 0)? != e {
        return Err(format!(
            "embed_dim = {} but the tokens have {e} values",
            a.usize("embed_dim", 0)?
        ));
    }
    crate::dynamic::op::checked_values(&[3 * e, e], "in_proj_weight")?;
    crate::dynamic::op::checked_values(&[trace_len(t, e, heads)], "the trace")?;
    Ok(Box::new(SelfAttention {
        shape: shape.to_vec(),
        attention: Attention { t, e, heads },
        w_in_shape: [3 * e, e],
        w_out_shape: [e, e],
        in_proj_weight: vec![0.0; 3 * e * e],
        in_proj_bias: vec![0.0; 3 * e],
        out_proj_weight: vec![0.0; e * e],
        out_proj_bias: vec![0.0; e],
    }))
}

impl SelfAttention {
    fn sample_trace(&self) -> usize {
        let Attention { t, e, heads } = self.attention;
        trace_len(t, e, heads)
    }

    fn run(&self, x: &[f32], y: &mut [f32], trace: &mut [f32]) {
        let Attention { t, e, heads } = self.attention;
        let (qkv, rest) = trace.split_at_mut(3 * t * e);
        let (attn, o) = rest.split_at_mut(heads * t * t);
        let mut scores = vec![0.0; t];
        self.attention.forward(
            &self.in_proj_weight,
            &self.in_proj_bias,
            &self.out_proj_weight,
            &self.out_proj_bias,
            x,
            y,
            (qkv, attn, o),
            &mut scores,
        );
    }
}

impl Op for SelfAttention {
    fn kind(&self) -> &'static LayerKind {
        &SELF_ATTENTION
    }
    fn attrs(&self) -> Attrs {
        Attrs::new().num("num_heads", self.attention.heads as f32)
    }
    fn input_shape(&self) -> &[usize] {
        &self.shape
    }
    fn output_shape(&self) -> &[usize] {
        &self.shape
    }
    fn params(&self) -> Vec<Tensor<'_>> {
        vec![
            Tensor {
                name: "in_proj_weight",
                shape: &self.w_in_shape,
                values: &self.in_proj_weight,
            },
            Tensor {
                name: "in_proj_bias",
                shape: &self.w_in_shape[..1],
                values: &self.in_proj_bias,
            },
            Tensor {
                name: "out_proj_weight",
                shape: &self.w_out_shape,
                values: &self.out_proj_weight,
            },
            Tensor {
                name: "out_proj_bias",
                shape: &self.w_out_shape[..1],
                values: &self.out_proj_bias,
            },
        ]
    }
    fn params_mut(&mut self) -> Vec<&mut [f32]> {
        vec![
            &mut self.in_proj_weight,
            &mut self.in_proj_bias,
            &mut self.out_proj_weight,
            &mut self.out_proj_bias,
        ]
    }
    /// As the typed layer: Xavier-uniform `in_proj_weight`, `init` for the output projection,
    /// zero biases.
    fn init(&mut self, init: &LayerInit, rng: &mut Rng) {
        let e = self.attention.e;
        LayerInit::XAVIER.apply(&mut self.in_proj_weight, &mut self.in_proj_bias, e, 3 * e, rng);
        self.in_proj_bias.fill(0.0);
        init.apply(&mut self.out_proj_weight, &mut self.out_proj_bias, e, e, rng);
        self.out_proj_bias.fill(0.0);
    }
    fn macs(&self) -> usize {
        let Attention { t, e, .. } = self.attention;
        4 * t * e * e + 2 * t * t * e
    }
    fn trace_values(&self) -> usize {
        self.sample_trace()
    }
    fn forward(&self, _: &dyn Backend, x: &[f32], y: &mut [f32], batch: usize) {
        let mut trace = vec![0.0; self.sample_trace()];
        each_sample(x, y, batch, |x, y| self.run(x, y, &mut trace));
    }
    fn forward_train(
        &mut self,
        _: &mut Ctx<'_>,
        x: &[f32],
        y: &mut [f32],
        batch: usize,
        saved: &mut Saved,
    ) {
        let per = self.sample_trace();
        saved.values.clear();
        saved.values.resize(batch * per, 0.0);
        let mut n = 0;
        let this = &*self;
        each_sample(x, y, batch, |x, y| {
            this.run(x, y, &mut saved.values[n * per..(n + 1) * per]);
            n += 1;
        });
    }
    fn backward(
        &self,
        _: &Ctx<'_>,
        x: &[f32],
        _y: &[f32],
        saved: &mut Saved,
        dy: &[f32],
        dx: Option<&mut [f32]>,
        grads: &mut [Vec<f32>],
        batch: usize,
    ) {
        let [gw_in, gb_in, gw_out, gb_out] = grads else { return };
        let Attention { t, e, heads } = self.attention;
        let per = self.sample_trace();
        let (mut d_o, mut d_qkv) = (vec![0.0; t * e], vec![0.0; 3 * t * e]);
        let (mut da, mut ds, mut part) = (vec![0.0; t], vec![0.0; t], vec![0.0; e]);
        let mut n = 0;
        each_sample_back(x, dy, dx, batch, |x, dy, dx| {
            let trace = &saved.values[n * per..(n + 1) * per];
            let (qkv, rest) = trace.split_at(3 * t * e);
            let (attn, o) = rest.split_at(heads * t * t);
            self.attention.backward(
                &self.in_proj_weight,
                &self.out_proj_weight,
                x,
                (qkv, attn, o),
                dy,
                dx,
                [gw_in, gb_in, gw_out, gb_out],
                Scratch {
                    d_o: &mut d_o,
                    d_qkv: &mut d_qkv,
                    da: &mut da,
                    ds: &mut ds,
                    part: &mut part,
                },
            );
            n += 1;
        });
    }
}

/// A learnt positional embedding.
#[derive(Clone, Debug, PartialEq)]
pub struct PositionalEmbedding {
    shape: Vec<usize>,
    /// `weight` `[T][E]`.
    pub weight: Vec<f32>,
}

fn build_positions(node: &LayerNode, shape: &[usize]) -> Result<Box<dyn Op>, String> {
    node.attrs.only("positional_embedding", POSITIONAL_EMBEDDING.options)?;
    let (t, e) = tokens("positional_embedding", shape)?;
    let n = crate::dynamic::op::checked_values(&[t, e], "the weight")?;
    Ok(Box::new(PositionalEmbedding { shape: shape.to_vec(), weight: vec![0.0; n] }))
}

impl Op for PositionalEmbedding {
    fn kind(&self) -> &'static LayerKind {
        &POSITIONAL_EMBEDDING
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
    fn params(&self) -> Vec<Tensor<'_>> {
        vec![Tensor { name: "weight", shape: &self.shape, values: &self.weight }]
    }
    fn params_mut(&mut self) -> Vec<&mut [f32]> {
        vec![&mut self.weight]
    }
    /// `N(0, 1)`, as the typed layer.
    fn init(&mut self, _: &LayerInit, rng: &mut Rng) {
        for v in &mut self.weight {
            *v = rng.normal();
        }
    }
    fn forward(&self, _: &dyn Backend, x: &[f32], y: &mut [f32], batch: usize) {
        each_sample(x, y, batch, |x, y| {
            for ((o, &a), &p) in y.iter_mut().zip(x).zip(&self.weight) {
                *o = a + p;
            }
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
        let [gw] = grads else { return };
        each_sample_back(x, dy, dx, batch, |_, dy, dx| {
            for (a, &b) in gw.iter_mut().zip(dy) {
                *a += b;
            }
            if let Some(dx) = dx {
                dx.copy_from_slice(dy);
            }
        });
    }
}
