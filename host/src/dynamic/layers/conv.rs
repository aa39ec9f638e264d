//! `conv1d(out, k)` and `conv2d(out, k)`: PyTorch's `nn.Conv1d` / `nn.Conv2d` with stride,
//! zero padding, dilation, groups (depthwise: `groups` = channels) and an optional bias, over
//! the core's [`neurite::kernel::conv`] kernels.

use crate::dynamic::attrs::{pair_attr, Attrs};
use crate::dynamic::backend::Backend;
use crate::dynamic::op::{Ctx, Op, Saved, Tensor};
use crate::dynamic::registry::{size, LayerKind, LayerNode};
use neurite::init::LayerInit;
use neurite::kernel::conv::Conv2dGeom;
use neurite::rng::Rng;

const OPTIONS: &[&str] = &[
    "out_channels",
    "kernel_size",
    "in_channels",
    "stride",
    "padding",
    "dilation",
    "groups",
    "bias",
];

fn infer(a: &mut Attrs, t: &dyn Fn(&str) -> Option<Vec<usize>>) {
    if let Some(s) = t("weight") {
        if a.get("out_channels").is_none() {
            a.set("out_channels", size(s[0]));
        }
    }
}

/// Registry entry of `conv1d`.
pub static CONV1D: LayerKind = LayerKind {
    name: "conv1d",
    positional: &["out_channels", "kernel_size"],
    options: OPTIONS,
    help: "conv1d(out,k,stride=1,padding=0,dilation=1,groups=1,bias=true)",
    build,
    infer,
    composite: false,
};

/// Registry entry of `conv2d`.
pub static CONV2D: LayerKind = LayerKind {
    name: "conv2d",
    positional: &["out_channels", "kernel_size"],
    options: OPTIONS,
    help: "conv2d(out,k,stride=1,padding=0,dilation=1,groups=1,bias=true)",
    build,
    infer,
    composite: false,
};

/// A 1-D or 2-D convolution.
#[derive(Clone, Debug, PartialEq)]
pub struct Conv {
    /// Geometry (conv1d is `in_h = 1`).
    pub geom: Conv2dGeom,
    one_d: bool,
    in_shape: Vec<usize>,
    out_shape: Vec<usize>,
    w_shape: Vec<usize>,
    b_shape: [usize; 1],
    /// `[out][in/groups][kh][kw]` (conv1d: `[out][in/groups][k]`).
    pub weight: Vec<f32>,
    /// `out` biases, or `None`.
    pub bias: Option<Vec<f32>>,
}

fn build(node: &LayerNode, shape: &[usize]) -> Result<Box<dyn Op>, String> {
    let a = &node.attrs;
    let one_d = node.kind.name == "conv1d";
    a.only(node.kind.name, OPTIONS)?;
    super::expect_rank(
        shape,
        &[if one_d { 2 } else { 3 }],
        if one_d { "C x L" } else { "C x H x W" },
    )?;
    let in_channels = shape[0];
    if a.get("in_channels").is_some() && a.usize("in_channels", 0)? != in_channels {
        return Err(format!(
            "in_channels = {} but the input has {in_channels}",
            a.usize("in_channels", 0)?
        ));
    }
    let out_channels = a.usize("out_channels", 0)?;
    let (in_h, in_w) = if one_d { (1, shape[1]) } else { (shape[1], shape[2]) };
    let side = |key: &str, default: usize| -> Result<[usize; 2], String> {
        if one_d {
            Ok([
                if key == "kernel_size" || key == "stride" || key == "dilation" { 1 } else { 0 },
                a.usize(key, default)?,
            ])
        } else {
            a.pair(key, default)
        }
    };
    let kernel = side("kernel_size", 0)?;
    let geom = Conv2dGeom {
        in_channels,
        out_channels,
        in_h,
        in_w,
        kernel,
        stride: side("stride", 1)?,
        padding: side("padding", 0)?,
        dilation: side("dilation", 1)?,
        groups: a.usize("groups", 1)?,
    };
    if out_channels == 0 || kernel.contains(&0) {
        return Err(format!(
            "{} needs out_channels and kernel_size, e.g. {}(8,3)",
            node.kind.name, node.kind.name
        ));
    }
    if !geom.is_valid() {
        return Err(format!(
            "no output for input {shape:?} with kernel {kernel:?}, stride {:?}, padding {:?}, dilation {:?}, groups {} (groups must divide both channel counts)",
            geom.stride, geom.padding, geom.dilation, geom.groups
        ));
    }
    let cin_g = in_channels / geom.groups;
    crate::dynamic::op::checked_values(&[out_channels, cin_g, kernel[0], kernel[1]], "the weight")?;
    let (out_shape, w_shape) = if one_d {
        (vec![out_channels, geom.out_w()], vec![out_channels, cin_g, kernel[1]])
    } else {
        (
            vec![out_channels, geom.out_h(), geom.out_w()],
            vec![out_channels, cin_g, kernel[0], kernel[1]],
        )
    };
    Ok(Box::new(Conv {
        geom,
        one_d,
        in_shape: shape.to_vec(),
        out_shape,
        w_shape,
        b_shape: [out_channels],
        weight: vec![0.0; geom.weight_len()],
        bias: a.bool("bias", true)?.then(|| vec![0.0; out_channels]),
    }))
}

impl Conv {
    fn side(&self, v: [usize; 2]) -> crate::dynamic::attrs::Attr {
        if self.one_d {
            size(v[1])
        } else {
            pair_attr(v)
        }
    }
}

impl Op for Conv {
    fn kind(&self) -> &'static LayerKind {
        if self.one_d {
            &CONV1D
        } else {
            &CONV2D
        }
    }
    fn attrs(&self) -> Attrs {
        let g = &self.geom;
        let mut a = Attrs::new().num("out_channels", g.out_channels as f32);
        a.set("kernel_size", self.side(g.kernel));
        let defaults =
            [("stride", g.stride, 1), ("padding", g.padding, 0), ("dilation", g.dilation, 1)];
        for (key, v, d) in defaults {
            if v[1] != d || (!self.one_d && v[0] != d) {
                a.set(key, self.side(v));
            }
        }
        if g.groups != 1 {
            a.set("groups", size(g.groups));
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
    fn init(&mut self, init: &LayerInit, rng: &mut Rng) {
        let g = &self.geom;
        let fan_in = g.in_channels / g.groups * g.kernel[0] * g.kernel[1];
        let mut none = [];
        let bias = self.bias.as_deref_mut().unwrap_or(&mut none);
        let taps = g.kernel[0] * g.kernel[1];
        init.apply_kernel(&mut self.weight, bias, fan_in, g.out_channels, taps, rng);
    }
    fn macs(&self) -> usize {
        self.geom.macs()
    }
    /// `Conv2d` / `Conv1d`: the typed layers have a bias and dilation 1; `Conv1d` has
    /// groups 1 (`Conv2d` takes `G` and `C / G`, written only when grouped); `Conv2d` has one
    /// stride and one padding for both axes (a missing bias is not a zero one: the kernel
    /// adds it last, which turns a `-0.0` sum into `0.0`).
    fn rust(&self) -> Option<(String, String)> {
        let g = &self.geom;
        let bias = self.bias.as_deref()?;
        if g.dilation != [1, 1] || (self.one_d && g.groups != 1) {
            return None;
        }
        let value = |ty: &str| {
            format!(
                "neurite::layer::{ty}::new({}, {})",
                crate::export::nested(&self.weight, &self.w_shape),
                crate::export::floats(bias)
            )
        };
        let (c, o) = (g.in_channels, g.out_channels);
        let [s, p] = [g.stride[1], g.padding[1]];
        if self.one_d {
            let (l, ol, k) = (g.in_w, g.out_w(), g.kernel[1]);
            Some((
                format!("neurite::layer::Conv1d<{c}, {l}, {o}, {ol}, {k}, {s}, {p}>"),
                value("Conv1d"),
            ))
        } else {
            if g.stride[0] != s || g.padding[0] != p {
                return None;
            }
            let (h, w, oh, ow, [kh, kw]) = (g.in_h, g.in_w, g.out_h(), g.out_w(), g.kernel);
            // groups: two more parameters, G and C / G (written only when grouped)
            let groups = match g.groups {
                1 => String::new(),
                n => format!(", {n}, {}", c / n),
            };
            Some((
                format!(
                    "neurite::layer::Conv2d<{c}, {h}, {w}, {o}, {oh}, {ow}, {kh}, {kw}, {s}, {p}{groups}>"
                ),
                value("Conv2d"),
            ))
        }
    }
    fn forward(&self, be: &dyn Backend, x: &[f32], y: &mut [f32], batch: usize) {
        be.conv2d_forward(&self.geom, &self.weight, self.bias.as_deref(), x, y, batch);
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
        ctx.backend.conv2d_backward(&self.geom, &self.weight, x, dy, dx, gw, gb, batch);
    }
}
