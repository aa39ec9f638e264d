//! `conv_transpose2d(out, k, stride=2)`: PyTorch's `nn.ConvTranspose2d` (groups 1,
//! dilation 1) with stride, padding and output_padding, the decoder's upsampling.

use crate::dynamic::attrs::{pair_attr, Attrs};
use crate::dynamic::backend::Backend;
use crate::dynamic::op::{Ctx, Op, Saved, Tensor};
use crate::dynamic::registry::{size, LayerKind, LayerNode};
use neurite::init::LayerInit;
use neurite::kernel::conv::ConvTranspose2dGeom;
use neurite::rng::Rng;

const OPTIONS: &[&str] =
    &["out_channels", "kernel_size", "in_channels", "stride", "padding", "output_padding", "bias"];

/// Registry entry.
pub static CONV_TRANSPOSE2D: LayerKind = LayerKind {
    name: "conv_transpose2d",
    positional: &["out_channels", "kernel_size"],
    options: OPTIONS,
    help: "conv_transpose2d(out,k,stride=1,padding=0,output_padding=0,bias=true)",
    build,
    infer: |a, t| {
        if let Some(s) = t("weight") {
            if a.get("out_channels").is_none() && s.len() == 4 {
                a.set("out_channels", size(s[1]));
            }
        }
    },
    composite: false,
};

/// A transposed 2-D convolution.
#[derive(Clone, Debug, PartialEq)]
pub struct ConvTranspose2d {
    /// Geometry.
    pub geom: ConvTranspose2dGeom,
    in_shape: Vec<usize>,
    out_shape: Vec<usize>,
    w_shape: Vec<usize>,
    b_shape: [usize; 1],
    /// `[in][out][kh][kw]` (PyTorch's layout).
    pub weight: Vec<f32>,
    /// `out` biases, or `None`.
    pub bias: Option<Vec<f32>>,
}

fn build(node: &LayerNode, shape: &[usize]) -> Result<Box<dyn Op>, String> {
    let a = &node.attrs;
    a.only(node.kind.name, OPTIONS)?;
    super::expect_rank(shape, &[3], "C x H x W")?;
    if a.get("in_channels").is_some() && a.usize("in_channels", 0)? != shape[0] {
        return Err(format!(
            "in_channels = {} but the input has {}",
            a.usize("in_channels", 0)?,
            shape[0]
        ));
    }
    let geom = ConvTranspose2dGeom {
        in_channels: shape[0],
        out_channels: a.usize("out_channels", 0)?,
        in_h: shape[1],
        in_w: shape[2],
        kernel: a.pair("kernel_size", 0)?,
        stride: a.pair("stride", 1)?,
        padding: a.pair("padding", 0)?,
        output_padding: a.pair("output_padding", 0)?,
    };
    if !geom.is_valid() {
        return Err(format!(
            "no output for input {shape:?} with out_channels {}, kernel {:?}, stride {:?}, padding {:?}, output_padding {:?} (output_padding must be below the stride)",
            geom.out_channels, geom.kernel, geom.stride, geom.padding, geom.output_padding
        ));
    }
    let out = geom.out_channels;
    crate::dynamic::op::checked_values(
        &[geom.in_channels, out, geom.kernel[0], geom.kernel[1]],
        "the weight",
    )?;
    Ok(Box::new(ConvTranspose2d {
        geom,
        in_shape: shape.to_vec(),
        out_shape: vec![out, geom.out_h(), geom.out_w()],
        w_shape: vec![geom.in_channels, out, geom.kernel[0], geom.kernel[1]],
        b_shape: [out],
        weight: vec![0.0; geom.weight_len()],
        bias: a.bool("bias", true)?.then(|| vec![0.0; out]),
    }))
}

impl Op for ConvTranspose2d {
    fn kind(&self) -> &'static LayerKind {
        &CONV_TRANSPOSE2D
    }
    fn attrs(&self) -> Attrs {
        let g = &self.geom;
        let mut a = Attrs::new().num("out_channels", g.out_channels as f32);
        a.set("kernel_size", pair_attr(g.kernel));
        for (key, v, d) in [
            ("stride", g.stride, 1),
            ("padding", g.padding, 0),
            ("output_padding", g.output_padding, 0),
        ] {
            if v != [d, d] {
                a.set(key, pair_attr(v));
            }
        }
        if self.bias.is_none() {
            a = a.flag("bias", false);
        }
        a
    }
    fn input_shape(&self) -> &[usize] {
        &self.in_shape
    }
    fn output_shape(&self) -> &[usize] {
        &self.out_shape
    }
    fn params(&self) -> Vec<Tensor<'_>> {
        super::weight_and_bias(&self.w_shape, &self.weight, &self.b_shape, self.bias.as_deref())
    }
    fn params_mut(&mut self) -> Vec<&mut [f32]> {
        super::weight_and_bias_mut(&mut self.weight, self.bias.as_deref_mut())
    }
    /// `ConvTranspose2d` with a bias and the same stride, padding and output padding on both
    /// axes.
    fn rust(&self) -> Option<(String, String)> {
        let g = &self.geom;
        let bias = self.bias.as_deref()?;
        let square = |v: [usize; 2]| (v[0] == v[1]).then_some(v[0]);
        let (s, p, op) = (square(g.stride)?, square(g.padding)?, square(g.output_padding)?);
        let (c, h, w, o, oh, ow, [kh, kw]) =
            (g.in_channels, g.in_h, g.in_w, g.out_channels, g.out_h(), g.out_w(), g.kernel);
        Some((
            format!(
                "neurite::layer::ConvTranspose2d<{c}, {h}, {w}, {o}, {oh}, {ow}, {kh}, {kw}, {s}, {p}, {op}>"
            ),
            format!(
                "neurite::layer::ConvTranspose2d::new({}, {})",
                crate::export::nested(&self.weight, &self.w_shape),
                crate::export::floats(bias)
            ),
        ))
    }
    fn init(&mut self, init: &LayerInit, rng: &mut Rng) {
        let g = &self.geom;
        // PyTorch computes a transposed convolution's fan-in from weight.size(1) * kh * kw.
        let fan_in = g.out_channels * g.kernel[0] * g.kernel[1];
        let mut none = [];
        let bias = self.bias.as_deref_mut().unwrap_or(&mut none);
        let taps = g.kernel[0] * g.kernel[1];
        init.apply_kernel(&mut self.weight, bias, fan_in, g.in_channels, taps, rng);
    }
    fn macs(&self) -> usize {
        self.geom.macs()
    }
    fn forward(&self, be: &dyn Backend, x: &[f32], y: &mut [f32], batch: usize) {
        be.conv_transpose2d_forward(&self.geom, &self.weight, self.bias.as_deref(), x, y, batch);
    }
    fn backward(
        &self,
        ctx: &Ctx<'_>,
        x: &[f32],
        _y: &[f32],
        _: &mut Saved,
        dy: &[f32],
        dx: Option<&mut [f32]>,
        grads: &mut [Vec<f32>],
        batch: usize,
    ) {
        let Some((gw, gb)) = super::weight_and_bias_grads(grads) else { return };
        ctx.backend.conv_transpose2d_backward(&self.geom, &self.weight, x, dy, dx, gw, gb, batch);
    }
}
