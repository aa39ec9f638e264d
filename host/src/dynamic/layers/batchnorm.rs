//! `batchnorm1d` (samples `[F]` or `[C, L]`) and `batchnorm2d` (`[C, H, W]`), as PyTorch
//! computes them: in train mode the batch's mean and biased variance normalise, and the
//! running statistics move by `momentum` towards the batch's mean and unbiased variance; in
//! eval mode the running statistics normalise. `num_features` is inferred from the input.
//!
//! Training needs the whole batch at once: the runtime-shaped model always has it.

use crate::dynamic::attrs::Attrs;
use crate::dynamic::backend::Backend;
use crate::dynamic::op::{numel, Ctx, Op, Saved, Tensor};
use crate::dynamic::registry::{infer_nothing, size, LayerKind, LayerNode};
use neurite::kernel::norm;

const OPTIONS: &[&str] = &["num_features", "eps", "momentum"];

/// Registry entry of `batchnorm1d`.
pub static BATCHNORM1D: LayerKind = LayerKind {
    name: "batchnorm1d",
    positional: &[],
    options: OPTIONS,
    help: "batchnorm1d(eps=1e-5,momentum=0.1)",
    build,
    infer: infer_nothing,
    composite: false,
};

/// Registry entry of `batchnorm2d`.
pub static BATCHNORM2D: LayerKind = LayerKind {
    name: "batchnorm2d",
    positional: &[],
    options: OPTIONS,
    help: "batchnorm2d(eps=1e-5,momentum=0.1)",
    build,
    infer: infer_nothing,
    composite: false,
};

/// Batch normalisation over the channel axis.
#[derive(Clone, Debug, PartialEq)]
pub struct BatchNorm {
    two_d: bool,
    shape: Vec<usize>,
    c_shape: [usize; 1],
    /// Numerical floor added to the variance.
    pub eps: f32,
    /// Weight of the batch statistic in the running update.
    pub momentum: f32,
    /// Scale `gamma`, one per channel.
    pub weight: Vec<f32>,
    /// Shift `beta`, one per channel.
    pub bias: Vec<f32>,
    /// Running mean (buffer).
    pub running_mean: Vec<f32>,
    /// Running variance (buffer).
    pub running_var: Vec<f32>,
}

fn build(node: &LayerNode, shape: &[usize]) -> Result<Box<dyn Op>, String> {
    let a = &node.attrs;
    a.only(node.kind.name, OPTIONS)?;
    let two_d = node.kind.name == "batchnorm2d";
    if two_d {
        super::expect_rank(shape, &[3], "C x H x W")?;
    } else {
        super::expect_rank(shape, &[1, 2], "F or C x L")?;
    }
    let c = shape[0];
    if a.get("num_features").is_some() && a.usize("num_features", 0)? != c {
        return Err(format!(
            "num_features = {} but the input has {c} channels",
            a.usize("num_features", 0)?
        ));
    }
    let eps = a.f32("eps", 1e-5)?;
    let momentum = a.f32("momentum", 0.1)?;
    if eps <= 0.0 || !(0.0..=1.0).contains(&momentum) {
        return Err(format!(
            "eps must be positive and momentum in [0, 1] (eps {eps}, momentum {momentum})"
        ));
    }
    Ok(Box::new(BatchNorm {
        two_d,
        shape: shape.to_vec(),
        c_shape: [c],
        eps,
        momentum,
        weight: vec![1.0; c],
        bias: vec![0.0; c],
        running_mean: vec![0.0; c],
        running_var: vec![1.0; c],
    }))
}

impl BatchNorm {
    fn channels(&self) -> usize {
        self.shape[0]
    }
    fn spatial(&self) -> usize {
        numel(&self.shape) / self.channels()
    }
}

impl Op for BatchNorm {
    fn kind(&self) -> &'static LayerKind {
        if self.two_d {
            &BATCHNORM2D
        } else {
            &BATCHNORM1D
        }
    }
    fn attrs(&self) -> Attrs {
        let mut a = Attrs::new();
        a.set("num_features", size(self.channels()));
        if self.eps != 1e-5 {
            a = a.num("eps", self.eps);
        }
        if self.momentum != 0.1 {
            a = a.num("momentum", self.momentum);
        }
        a
    }
    fn input_shape(&self) -> &[usize] {
        &self.shape
    }
    fn output_shape(&self) -> &[usize] {
        &self.shape
    }
    fn params(&self) -> Vec<Tensor<'_>> {
        vec![
            Tensor { name: "weight", shape: &self.c_shape, values: &self.weight },
            Tensor { name: "bias", shape: &self.c_shape, values: &self.bias },
        ]
    }
    fn params_mut(&mut self) -> Vec<&mut [f32]> {
        vec![&mut self.weight, &mut self.bias]
    }
    fn buffers(&self) -> Vec<Tensor<'_>> {
        vec![
            Tensor { name: "running_mean", shape: &self.c_shape, values: &self.running_mean },
            Tensor { name: "running_var", shape: &self.c_shape, values: &self.running_var },
        ]
    }
    fn buffers_mut(&mut self) -> Vec<&mut [f32]> {
        vec![&mut self.running_mean, &mut self.running_var]
    }
    fn params_and_buffers_mut(&mut self) -> Vec<&mut [f32]> {
        vec![&mut self.weight, &mut self.bias, &mut self.running_mean, &mut self.running_var]
    }
    fn init(&mut self, _: &neurite::init::LayerInit, _: &mut neurite::rng::Rng) {
        // PyTorch's reset_parameters: gamma 1, beta 0 (no random draw).
        self.weight.fill(1.0);
        self.bias.fill(0.0);
    }
    fn macs(&self) -> usize {
        numel(&self.shape)
    }
    /// The typed eval-mode `BatchNorm` over the same sample shape, with the running
    /// statistics (`eps` and `momentum` set after `new` when not PyTorch's defaults).
    fn rust(&self) -> Option<(String, String)> {
        use crate::export::floats;
        let c = self.channels();
        let ty = match self.shape[..] {
            [c, h, w] => format!("neurite::layer::BatchNorm2d<{c}, {h}, {w}>"),
            [n] => format!("neurite::layer::BatchNorm1d<{n}>"),
            _ => format!(
                "neurite::layer::BatchNorm<{}, {c}>",
                crate::export::array_type(&self.shape)
            ),
        };
        let new = format!(
            "neurite::layer::BatchNorm::new({}, {}, {}, {})",
            floats(&self.weight),
            floats(&self.bias),
            floats(&self.running_mean),
            floats(&self.running_var)
        );
        let value = if self.eps.to_bits() == 1e-5f32.to_bits()
            && self.momentum.to_bits() == 0.1f32.to_bits()
        {
            new
        } else {
            format!(
                "{{ let mut bn = {new}; bn.eps = {:?}; bn.momentum = {:?}; bn }}",
                self.eps, self.momentum
            )
        };
        Some((ty, value))
    }
    fn forward(&self, _: &dyn Backend, x: &[f32], y: &mut [f32], batch: usize) {
        let c = self.channels();
        super::each_sample(x, y, batch, |x, y| {
            norm::batchnorm_eval_forward(
                c,
                x,
                &self.weight,
                &self.bias,
                &self.running_mean,
                &self.running_var,
                self.eps,
                y,
            );
        });
    }
    fn forward_train(
        &mut self,
        ctx: &mut Ctx<'_>,
        x: &[f32],
        y: &mut [f32],
        batch: usize,
        saved: &mut Saved,
    ) {
        if !ctx.train {
            saved.values.clear();
            return self.forward(ctx.backend, x, y, batch);
        }
        let c = self.channels();
        saved.values.resize(2 * c, 0.0);
        let (mean, var) = saved.values.split_at_mut(c);
        let spatial = self.spatial();
        norm::batchnorm_train_forward(
            batch,
            c,
            spatial,
            x,
            &self.weight,
            &self.bias,
            self.eps,
            mean,
            var,
            y,
        );
        norm::batchnorm_update_running(
            batch * spatial,
            self.momentum,
            mean,
            var,
            &mut self.running_mean,
            &mut self.running_var,
        );
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
        let [gw, gb] = grads else { return };
        let c = self.channels();
        if saved.values.len() == 2 * c {
            let (mean, var) = saved.values.split_at(c);
            norm::batchnorm_train_backward(
                batch,
                c,
                self.spatial(),
                x,
                &self.weight,
                self.eps,
                mean,
                var,
                dy,
                dx,
                gw,
                gb,
            );
        } else {
            super::each_sample_back(x, dy, dx, batch, |x, dy, dx| {
                norm::batchnorm_eval_backward(
                    c,
                    x,
                    &self.weight,
                    &self.running_mean,
                    &self.running_var,
                    self.eps,
                    dy,
                    dx,
                    gw,
                    gb,
                );
            });
        }
    }
}
