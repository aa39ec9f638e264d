//! Composition beyond a chain: `residual(body...)`, output `x + body(x)` (a ResNet block),
//! and `concat(body...)`, output `x` and `body(x)` stacked along the channel axis (the
//! U-Net's skip link: the body goes down and comes back up to the same spatial size).

use crate::dynamic::attrs::Attrs;
use crate::dynamic::backend::Backend;
use crate::dynamic::model::{DynModel, Workspace};
use crate::dynamic::op::{numel, Ctx, Op, Saved, Tensor};
use crate::dynamic::registry::{infer_nothing, LayerKind, LayerNode};
use neurite::init::LayerInit;
use neurite::rng::Rng;

/// Registry entry of `residual`.
pub static RESIDUAL: LayerKind = LayerKind {
    name: "residual",
    positional: &[],
    options: &[],
    help: "residual(layers...)",
    build,
    infer: infer_nothing,
    composite: true,
};

/// Registry entry of `concat`.
pub static CONCAT: LayerKind = LayerKind {
    name: "concat",
    positional: &[],
    options: &[],
    help: "concat(layers...)",
    build,
    infer: infer_nothing,
    composite: true,
};

/// A skip connection around a nested model.
#[derive(Clone, Debug)]
pub struct Skip {
    concat: bool,
    /// The nested layers.
    pub body: DynModel,
    out_shape: Vec<usize>,
}

fn build(node: &LayerNode, shape: &[usize]) -> Result<Box<dyn Op>, String> {
    node.attrs.only(node.kind.name, &[])?;
    let concat = node.kind.name == "concat";
    let body = DynModel::build(&node.body, shape).map_err(|e| format!("body: {e}"))?;
    let inner = body.output_shape().to_vec();
    let out_shape = if concat {
        if inner.len() != shape.len() || inner[1..] != shape[1..] {
            return Err(format!("body output {inner:?} does not stack with the input {shape:?} along the channel axis"));
        }
        let mut s = shape.to_vec();
        s[0] += inner[0];
        s
    } else {
        if inner != shape {
            return Err(format!("body output {inner:?} differs from the input {shape:?}"));
        }
        shape.to_vec()
    };
    Ok(Box::new(Skip { concat, body, out_shape }))
}

impl Skip {
    /// Writes `y` from the input rows and the body's output rows.
    fn combine(&self, x: &[f32], inner: &[f32], y: &mut [f32], batch: usize) {
        if self.concat {
            let (xl, il) = (x.len() / batch.max(1), inner.len() / batch.max(1));
            for ((yr, xr), ir) in
                y.chunks_mut(xl + il).zip(x.chunks(xl)).zip(inner.chunks(il.max(1)))
            {
                yr[..xl].copy_from_slice(xr);
                yr[xl..].copy_from_slice(ir);
            }
        } else {
            for ((o, a), b) in y.iter_mut().zip(x).zip(inner) {
                *o = a + b;
            }
        }
    }
}

impl Op for Skip {
    fn kind(&self) -> &'static LayerKind {
        if self.concat {
            &CONCAT
        } else {
            &RESIDUAL
        }
    }
    fn attrs(&self) -> Attrs {
        Attrs::new()
    }
    fn input_shape(&self) -> &[usize] {
        self.body.input_shape()
    }
    fn output_shape(&self) -> &[usize] {
        &self.out_shape
    }
    fn params(&self) -> Vec<Tensor<'_>> {
        self.body.named_tensors()
    }
    fn params_mut(&mut self) -> Vec<&mut [f32]> {
        self.body.tensors_mut()
    }
    fn buffers(&self) -> Vec<Tensor<'_>> {
        self.body.layers.iter().flat_map(|l| l.buffers()).collect()
    }
    fn buffers_mut(&mut self) -> Vec<&mut [f32]> {
        self.body.buffers_mut()
    }
    fn body(&self) -> Option<&DynModel> {
        Some(&self.body)
    }
    fn body_mut(&mut self) -> Option<&mut DynModel> {
        Some(&mut self.body)
    }
    /// `Residual<Seq![...]>` or `Concat<Seq![...], X, Y>` of the body's typed layers.
    fn rust(&self) -> Option<(String, String)> {
        let (ty, value) = crate::export::chain_rust(&self.body)?;
        if self.concat {
            let x = crate::export::array_type(self.body.input_shape());
            let y = crate::export::array_type(&self.out_shape);
            return Some((
                format!("neurite::layer::Concat<{ty}, {x}, {y}>"),
                format!("neurite::layer::Concat::new({value})"),
            ));
        }
        Some((
            format!("neurite::layer::Residual<{ty}>"),
            format!("neurite::layer::Residual({value})"),
        ))
    }
    fn init(&mut self, init: &LayerInit, rng: &mut Rng) {
        self.body.init(init, rng);
    }
    fn macs(&self) -> usize {
        self.body.macs() + if self.concat { 0 } else { numel(&self.out_shape) }
    }
    fn forward(&self, be: &dyn Backend, x: &[f32], y: &mut [f32], batch: usize) {
        let mut ws = Workspace::default();
        let inner = self.body.forward_batch(be, x, batch, &mut ws);
        self.combine(x, inner, y, batch);
    }
    fn forward_train(
        &mut self,
        ctx: &mut Ctx<'_>,
        x: &[f32],
        y: &mut [f32],
        batch: usize,
        saved: &mut Saved,
    ) {
        let ws = saved.nested.get_or_insert_with(Box::default);
        if let Ok(inner) = self.body.forward_train(ctx, x, batch, ws) {
            self.combine(x, inner, y, batch);
        }
    }
    fn backward(
        &self,
        ctx: &Ctx<'_>,
        _x: &[f32],
        _y: &[f32],
        saved: &mut Saved,
        dy: &[f32],
        dx: Option<&mut [f32]>,
        grads: &mut [Vec<f32>],
        _batch: usize,
    ) {
        let Some(ws) = saved.nested.as_deref_mut() else { return };
        let in_len = numel(self.body.input_shape());
        let out_len = numel(&self.out_shape);
        // The body's share of dy: all of it (residual), or each row's channels after the input's.
        let body_dy: std::borrow::Cow<'_, [f32]> = if self.concat {
            dy.chunks(out_len).flat_map(|r| r[in_len..].iter().copied()).collect()
        } else {
            dy.into()
        };
        let want_dx = dx.is_some();
        let dbody = self.body.backward(ctx, ws, &body_dy, grads, want_dx);
        if let (Some(dx), Some(dbody)) = (dx, dbody) {
            // dx = d(skip path) + d(body path), added in that order per element.
            for (n, (dxr, dbr)) in dx.chunks_mut(in_len).zip(dbody.chunks(in_len)).enumerate() {
                let dyr = &dy[n * out_len..n * out_len + in_len];
                for ((d, a), b) in dxr.iter_mut().zip(dyr).zip(dbr) {
                    *d = a + b;
                }
            }
        }
    }
}
