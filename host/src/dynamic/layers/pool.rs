//! `maxpool1d(k)`, `maxpool2d(k)`, `avgpool1d(k)`, `avgpool2d(k)` (stride defaults to the
//! kernel, zero padding counted by the average as PyTorch's default) and `global_avg_pool`
//! (the mean over every axis after the channel axis, output `[C]`).

use crate::dynamic::attrs::{pair_attr, Attrs};
use crate::dynamic::backend::Backend;
use crate::dynamic::op::{Ctx, Op, Saved};
use crate::dynamic::registry::{infer_nothing, size, LayerKind, LayerNode};
use neurite::kernel::pool::{self, Pool2dGeom};

const OPTIONS: &[&str] = &["kernel_size", "stride", "padding"];

macro_rules! pools {
    ($($id:ident $name:literal;)*) => {$(
        #[doc = concat!("Registry entry of `", $name, "`.")]
        pub static $id: LayerKind = LayerKind {
            name: $name,
            positional: &["kernel_size", "stride", "padding"],
            options: OPTIONS,
            help: concat!($name, "(k,stride=k,padding=0)"),
            build,
            infer: infer_nothing,
            composite: false,
        };
    )*};
}

pools! {
    MAXPOOL1D "maxpool1d";
    MAXPOOL2D "maxpool2d";
    AVGPOOL1D "avgpool1d";
    AVGPOOL2D "avgpool2d";
}

/// Registry entry of `global_avg_pool`.
pub static GLOBAL_AVG_POOL: LayerKind = LayerKind {
    name: "global_avg_pool",
    positional: &[],
    options: &[],
    help: "global_avg_pool",
    build: build_global,
    infer: infer_nothing,
    composite: false,
};

/// Max or average pooling over windows.
#[derive(Clone, Debug, PartialEq)]
pub struct Pool {
    /// Geometry (1-D is `in_h = 1`).
    pub geom: Pool2dGeom,
    max: bool,
    one_d: bool,
    in_shape: Vec<usize>,
    out_shape: Vec<usize>,
}

fn build(node: &LayerNode, shape: &[usize]) -> Result<Box<dyn Op>, String> {
    let a = &node.attrs;
    a.only(node.kind.name, OPTIONS)?;
    let one_d = node.kind.name.ends_with("1d");
    super::expect_rank(
        shape,
        &[if one_d { 2 } else { 3 }],
        if one_d { "C x L" } else { "C x H x W" },
    )?;
    let geom = if one_d {
        let k = a.usize("kernel_size", 0)?;
        Pool2dGeom::pool1d(shape[0], shape[1], k, a.usize("stride", k)?, a.usize("padding", 0)?)
    } else {
        let k = a.pair("kernel_size", 0)?;
        let stride = if a.get("stride").is_some() { a.pair("stride", 1)? } else { k };
        Pool2dGeom {
            channels: shape[0],
            in_h: shape[1],
            in_w: shape[2],
            kernel: k,
            stride,
            padding: a.pair("padding", 0)?,
        }
    };
    if !geom.is_valid() {
        return Err(format!(
            "no output for input {shape:?} with kernel {:?}, stride {:?}, padding {:?} (padding at most half the kernel)",
            geom.kernel, geom.stride, geom.padding
        ));
    }
    let out_shape = if one_d {
        vec![shape[0], geom.out_w()]
    } else {
        vec![shape[0], geom.out_h(), geom.out_w()]
    };
    Ok(Box::new(Pool {
        geom,
        max: node.kind.name.starts_with("max"),
        one_d,
        in_shape: shape.to_vec(),
        out_shape,
    }))
}

impl Op for Pool {
    fn kind(&self) -> &'static LayerKind {
        match (self.max, self.one_d) {
            (true, true) => &MAXPOOL1D,
            (true, false) => &MAXPOOL2D,
            (false, true) => &AVGPOOL1D,
            (false, false) => &AVGPOOL2D,
        }
    }
    fn attrs(&self) -> Attrs {
        let g = &self.geom;
        let side = |v: [usize; 2]| if self.one_d { size(v[1]) } else { pair_attr(v) };
        let mut a = Attrs::new();
        a.set("kernel_size", side(g.kernel));
        if g.stride != g.kernel {
            a.set("stride", side(g.stride));
        }
        if g.padding != [0, 0] {
            a.set("padding", side(g.padding));
        }
        a
    }
    fn input_shape(&self) -> &[usize] {
        &self.in_shape
    }
    fn output_shape(&self) -> &[usize] {
        &self.out_shape
    }
    /// `MaxPool2d` / `AvgPool2d` (square window, stride and padding only) or `MaxPool1d` /
    /// `AvgPool1d`.
    fn rust(&self) -> Option<(String, String)> {
        let g = &self.geom;
        if self.one_d {
            let name = if self.max { "MaxPool1d" } else { "AvgPool1d" };
            let (c, l, ol) = (g.channels, g.in_w, g.out_w());
            let (k, s, p) = (g.kernel[1], g.stride[1], g.padding[1]);
            return Some((
                format!("neurite::layer::{name}<{c}, {l}, {ol}, {k}, {s}, {p}>"),
                format!("neurite::layer::{name}::new()"),
            ));
        }
        let square = |v: [usize; 2]| (v[0] == v[1]).then_some(v[0]);
        let (k, s, p) = (square(g.kernel)?, square(g.stride)?, square(g.padding)?);
        let name = if self.max { "MaxPool2d" } else { "AvgPool2d" };
        let (c, h, w, oh, ow) = (g.channels, g.in_h, g.in_w, g.out_h(), g.out_w());
        Some((
            format!("neurite::layer::{name}<{c}, {h}, {w}, {oh}, {ow}, {k}, {s}, {p}>"),
            format!("neurite::layer::{name}::new()"),
        ))
    }
    fn forward(&self, _: &dyn Backend, x: &[f32], y: &mut [f32], batch: usize) {
        super::each_sample(x, y, batch, |x, y| {
            if self.max {
                pool::maxpool2d_forward(&self.geom, x, y);
            } else {
                pool::avgpool2d_forward(&self.geom, x, y);
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
        _: &mut [Vec<f32>],
        batch: usize,
    ) {
        if dx.is_none() {
            return;
        }
        super::each_sample_back(x, dy, dx, batch, |x, dy, dx| {
            if let Some(dx) = dx {
                if self.max {
                    pool::maxpool2d_backward(&self.geom, x, dy, dx);
                } else {
                    pool::avgpool2d_backward(&self.geom, dy, dx);
                }
            }
        });
    }
}

/// The mean over each channel's values.
#[derive(Clone, Debug, PartialEq)]
pub struct GlobalAvgPool {
    in_shape: Vec<usize>,
    out_shape: [usize; 1],
}

fn build_global(node: &LayerNode, shape: &[usize]) -> Result<Box<dyn Op>, String> {
    node.attrs.only("global_avg_pool", &[])?;
    super::expect_rank(shape, &[2, 3], "C x L or C x H x W")?;
    Ok(Box::new(GlobalAvgPool { in_shape: shape.to_vec(), out_shape: [shape[0]] }))
}

impl Op for GlobalAvgPool {
    fn kind(&self) -> &'static LayerKind {
        &GLOBAL_AVG_POOL
    }
    fn attrs(&self) -> Attrs {
        Attrs::new()
    }
    fn input_shape(&self) -> &[usize] {
        &self.in_shape
    }
    fn output_shape(&self) -> &[usize] {
        &self.out_shape
    }
    /// `GlobalAvgPool` over `[C, H, W]` (no typed layer for `[C, L]`).
    fn rust(&self) -> Option<(String, String)> {
        let &[c, h, w] = &self.in_shape[..] else { return None };
        Some((
            format!("neurite::layer::GlobalAvgPool<{c}, {h}, {w}>"),
            "neurite::layer::GlobalAvgPool".into(),
        ))
    }
    fn forward(&self, _: &dyn Backend, x: &[f32], y: &mut [f32], batch: usize) {
        let c = self.in_shape[0];
        super::each_sample(x, y, batch, |x, y| pool::global_avg_pool_forward(c, x, y));
    }
    fn backward(
        &self,
        _: &Ctx<'_>,
        x: &[f32],
        _y: &[f32],
        _: &mut Saved,
        dy: &[f32],
        dx: Option<&mut [f32]>,
        _: &mut [Vec<f32>],
        batch: usize,
    ) {
        let c = self.in_shape[0];
        super::each_sample_back(x, dy, dx, batch, |_, dy, dx| {
            if let Some(dx) = dx {
                pool::global_avg_pool_backward(c, dy, dx);
            }
        });
    }
}
