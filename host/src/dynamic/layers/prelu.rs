//! `prelu` (one shared slope) and `prelu(channel)` (one slope per channel: the first axis of
//! a shaped sample, every feature of a flat one), PyTorch's `nn.PReLU`.

use crate::dynamic::attrs::{Attr, Attrs};
use crate::dynamic::backend::Backend;
use crate::dynamic::op::{numel, Ctx, Op, Saved, Tensor};
use crate::dynamic::registry::{size, LayerKind, LayerNode};
use neurite::kernel::elementwise::{prelu_backward, prelu_forward};

/// Registry entry.
pub static PRELU: LayerKind = LayerKind {
    name: "prelu",
    positional: &["num_parameters"],
    options: &["num_parameters"],
    help: "prelu, prelu(channel)",
    build,
    infer: |a, t| {
        if let Some(s) = t("weight").or_else(|| t("alpha")) {
            if a.get("num_parameters").is_none() {
                a.set("num_parameters", size(s.iter().product()));
            }
        }
    },
    composite: false,
};

/// PReLU with learnable slopes.
#[derive(Clone, Debug, PartialEq)]
pub struct Prelu {
    shape: Vec<usize>,
    alpha_shape: [usize; 1],
    /// 1 or `channels` slopes (PyTorch's `weight`; the golden format calls it `alpha`).
    pub alpha: Vec<f32>,
}

fn build(node: &LayerNode, shape: &[usize]) -> Result<Box<dyn Op>, String> {
    node.attrs.only("prelu", PRELU.options)?;
    let channels = shape[0];
    let n = match node.attrs.get("num_parameters") {
        Some(Attr::Str(s)) if s == "channel" => channels,
        _ => node.attrs.usize("num_parameters", 1)?,
    };
    if n != 1 && n != channels {
        return Err(format!("num_parameters is 1 or the channel count {channels}, not {n}"));
    }
    Ok(Box::new(Prelu { shape: shape.to_vec(), alpha_shape: [n], alpha: vec![0.25; n] }))
}

impl Prelu {
    /// Calls `f(slopes, range)` per channel block of one sample (one call for a shared slope
    /// or a flat sample).
    fn blocks(&self) -> Vec<(std::ops::Range<usize>, std::ops::Range<usize>)> {
        let len = numel(&self.shape);
        if self.alpha.len() == 1 || self.shape.len() == 1 {
            return vec![(0..self.alpha.len(), 0..len)];
        }
        let per = len / self.alpha.len();
        (0..self.alpha.len()).map(|c| (c..c + 1, c * per..(c + 1) * per)).collect()
    }
}

impl Op for Prelu {
    fn kind(&self) -> &'static LayerKind {
        &PRELU
    }
    fn attrs(&self) -> Attrs {
        if self.alpha.len() == 1 {
            Attrs::new()
        } else {
            Attrs::new().word("num_parameters", "channel")
        }
    }
    fn input_shape(&self) -> &[usize] {
        &self.shape
    }
    fn output_shape(&self) -> &[usize] {
        &self.shape
    }
    fn params(&self) -> Vec<Tensor<'_>> {
        vec![Tensor { name: "weight", shape: &self.alpha_shape, values: &self.alpha }]
    }
    fn params_mut(&mut self) -> Vec<&mut [f32]> {
        vec![&mut self.alpha]
    }
    fn rust(&self) -> Option<(String, String)> {
        (self.shape.len() == 1).then(|| {
            (
                format!("Prelu<{}, {}>", self.shape[0], self.alpha.len()),
                format!("Prelu::new({})", crate::export::floats(&self.alpha)),
            )
        })
    }
    fn forward(&self, _: &dyn Backend, x: &[f32], y: &mut [f32], batch: usize) {
        let blocks = self.blocks();
        super::each_sample(x, y, batch, |x, y| {
            for (a, r) in &blocks {
                prelu_forward(&self.alpha[a.clone()], &x[r.clone()], &mut y[r.clone()]);
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
        let blocks = self.blocks();
        let [ga] = grads else { return };
        let mut scratch = Vec::new();
        super::each_sample_back(x, dy, dx, batch, |x, dy, dx| {
            let dx = match dx {
                Some(d) => d,
                None => {
                    scratch.resize(x.len(), 0.0);
                    &mut scratch[..]
                }
            };
            for (a, r) in &blocks {
                let (x, dy) = (&x[r.clone()], &dy[r.clone()]);
                prelu_backward(
                    &self.alpha[a.clone()],
                    x,
                    dy,
                    &mut dx[r.clone()],
                    &mut ga[a.clone()],
                );
            }
        });
    }
}
