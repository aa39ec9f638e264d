//! `dense(out)`: `y = W x + b` over the last axis (PyTorch's `nn.Linear`).

use crate::dynamic::attrs::Attrs;
use crate::dynamic::backend::Backend;
use crate::dynamic::op::{numel, Ctx, Op, Saved, Tensor};
use crate::dynamic::registry::{size, LayerKind, LayerNode};
use neurite::init::LayerInit;
use neurite::rng::Rng;

/// Registry entry.
pub static DENSE: LayerKind = LayerKind {
    name: "dense",
    positional: &["out"],
    options: &["out", "in"],
    help: "dense(N)",
    build,
    infer: |a, t| {
        if let Some(s) = t("weight") {
            if a.get("out").is_none() && s.len() == 2 {
                a.set("out", size(s[0]));
            }
        }
    },
    composite: false,
};

/// A fully connected layer applied to the last axis of each sample.
#[derive(Clone, Debug, PartialEq)]
pub struct Dense {
    in_shape: Vec<usize>,
    out_shape: Vec<usize>,
    w_shape: [usize; 2],
    /// `out x in`, row-major.
    pub weight: Vec<f32>,
    /// `out` biases.
    pub bias: Vec<f32>,
}

impl Dense {
    /// Input features (the last axis).
    pub fn inputs(&self) -> usize {
        self.w_shape[1]
    }
    /// Output features.
    pub fn outputs(&self) -> usize {
        self.w_shape[0]
    }
    fn rows(&self, batch: usize) -> usize {
        batch * numel(&self.in_shape) / self.inputs()
    }
}

fn build(node: &LayerNode, shape: &[usize]) -> Result<Box<dyn Op>, String> {
    let a = &node.attrs;
    a.only("dense", DENSE.options)?;
    let inputs = *shape.last().ok_or("no input")?;
    let outputs = a.usize("out", 0)?;
    if outputs == 0 {
        return Err("dense needs a positive number of outputs, e.g. dense(64)".into());
    }
    if a.get("in").is_some() && a.usize("in", 0)? != inputs {
        return Err(format!("in = {} but the input has {inputs} features", a.usize("in", 0)?));
    }
    let weights = crate::dynamic::op::checked_values(&[outputs, inputs], "the weight")?;
    let mut out_shape = shape.to_vec();
    *out_shape.last_mut().unwrap_or(&mut 0) = outputs;
    Ok(Box::new(Dense {
        in_shape: shape.to_vec(),
        out_shape,
        w_shape: [outputs, inputs],
        weight: vec![0.0; weights],
        bias: vec![0.0; outputs],
    }))
}

impl Op for Dense {
    fn kind(&self) -> &'static LayerKind {
        &DENSE
    }
    fn attrs(&self) -> Attrs {
        Attrs::new().num("out", self.outputs() as f32)
    }
    fn input_shape(&self) -> &[usize] {
        &self.in_shape
    }
    fn output_shape(&self) -> &[usize] {
        &self.out_shape
    }
    fn params(&self) -> Vec<Tensor<'_>> {
        vec![
            Tensor { name: "weight", shape: &self.w_shape, values: &self.weight },
            Tensor { name: "bias", shape: &self.w_shape[..1], values: &self.bias },
        ]
    }
    fn params_mut(&mut self) -> Vec<&mut [f32]> {
        vec![&mut self.weight, &mut self.bias]
    }
    fn init(&mut self, init: &LayerInit, rng: &mut Rng) {
        let [outputs, inputs] = self.w_shape;
        init.apply(&mut self.weight, &mut self.bias, inputs, outputs, rng);
    }
    fn macs(&self) -> usize {
        self.rows(1) * self.weight.len()
    }
    fn rust(&self) -> Option<(String, String)> {
        if self.in_shape.len() != 1 {
            return None;
        }
        let rows: Vec<String> =
            self.weight.chunks(self.inputs()).map(crate::export::floats).collect();
        Some((
            format!("Dense<{}, {}>", self.inputs(), self.outputs()),
            format!("Dense::new([{}], {})", rows.join(", "), crate::export::floats(&self.bias)),
        ))
    }
    fn forward(&self, be: &dyn Backend, x: &[f32], y: &mut [f32], batch: usize) {
        be.dense_forward(&self.weight, &self.bias, x, y, self.rows(batch));
    }
    fn backward(
        &self,
        ctx: &Ctx<'_>,
        x: &[f32],
        _y: &[f32],
        _saved: &mut Saved,
        dy: &[f32],
        dx: Option<&mut [f32]>,
        grads: &mut [Vec<f32>],
        batch: usize,
    ) {
        if let [gw, gb] = grads {
            ctx.backend.dense_backward(&self.weight, x, dy, dx, gw, gb, self.rows(batch));
        }
    }
}
