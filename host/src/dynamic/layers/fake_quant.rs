//! Quantisation-aware training (`neurite train --qat`, [`crate::qat`]): the two ops that
//! make a float model compute as its int8 model will, with straight-through gradients.
//!
//! - [`FakeQuant`] on an activation: `y = scale * (clamp(round(x / scale) + zp) - zp)` with
//!   the tensor's fixed `(scale, zp)` ([`Affine`], from the calibrated range); backward
//!   passes `dy` where `x` lies in the representable range `[scale (-128 - zp), scale (127 -
//!   zp)]` and 0 outside (the clipped straight-through estimator). Training-only: model
//!   files leave it out, and [`crate::quantize`] takes its range for the tensor.
//! - [`QuantizedWeights`] around a dense layer or convolution: the forward uses the weights
//!   quantised per output channel as [`crate::quantize`] quantises them
//!   ([`fake_quantize_weights`]); the gradient of those weights updates the float master
//!   weights (straight through), which are the layer's parameters.
//!
//! Neither is in the layer registry: they exist only inside a QAT model.

use crate::dynamic::attrs::Attrs;
use crate::dynamic::backend::Backend;
use crate::dynamic::op::{Ctx, Op, Saved, Tensor};
use crate::dynamic::registry::{infer_nothing, LayerKind, LayerNode};
use neurite::quant::affine::Affine;

/// The entry [`FakeQuant::kind`] names (not in the registry: a spec cannot build it).
pub static FAKE_QUANT: LayerKind = LayerKind {
    name: "fake_quant",
    positional: &[],
    options: &[],
    help: "fake_quant (quantisation-aware training only)",
    build,
    infer: infer_nothing,
    composite: false,
};

fn build(_: &LayerNode, _: &[usize]) -> Result<Box<dyn Op>, String> {
    Err("fake_quant exists only inside quantisation-aware training (train --qat)".into())
}

/// Fake quantisation of an activation with a fixed range.
#[derive(Clone, Debug, PartialEq)]
pub struct FakeQuant {
    shape: Vec<usize>,
    /// `[min, max]`: the calibrated range the tensor is quantised over.
    range: [f32; 2],
    q: Affine,
}

impl FakeQuant {
    /// Fake quantisation over `range` (widened to hold 0, as [`Affine::from_range`] does)
    /// for samples of `shape`; `None` for a range that is not finite or not ordered.
    pub fn new(shape: &[usize], range: (f32, f32)) -> Option<Self> {
        let q = Affine::from_range(range.0, range.1)?;
        Some(Self { shape: shape.to_vec(), range: [range.0, range.1], q })
    }

    /// The quantisation.
    pub fn affine(&self) -> Affine {
        self.q
    }
}

impl Op for FakeQuant {
    fn kind(&self) -> &'static LayerKind {
        &FAKE_QUANT
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
    /// The range, as a buffer named `range` (what [`crate::quantize`] reads).
    fn buffers(&self) -> Vec<Tensor<'_>> {
        vec![Tensor { name: "range", shape: &[2], values: &self.range }]
    }
    fn training_only(&self) -> bool {
        true
    }
    fn forward(&self, _: &dyn Backend, x: &[f32], y: &mut [f32], _batch: usize) {
        for (y, &x) in y.iter_mut().zip(x) {
            *y = self.q.dequantize(self.q.quantize(x));
        }
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
        _batch: usize,
    ) {
        let (low, high) = (self.q.dequantize(-128), self.q.dequantize(127));
        if let Some(dx) = dx {
            for ((dx, &dy), &x) in dx.iter_mut().zip(dy).zip(x) {
                *dx = if (low..=high).contains(&x) { dy } else { 0.0 };
            }
        }
    }
}

/// Per-output-channel symmetric scales of `weights` (output channel `c` is the `c`-th of
/// `channels` equal runs): `max |w| / 127`, 1 for an all-zero channel.
pub fn channel_scales(weights: &[f32], channels: usize) -> Vec<f32> {
    let per = weights.len() / channels.max(1);
    weights
        .chunks(per.max(1))
        .map(|c| {
            let max = c.iter().fold(0f32, |m, v| m.max(v.abs()));
            if max > 0.0 {
                max / 127.0
            } else {
                1.0
            }
        })
        .collect()
}

/// `w` as the int8 value it quantises to with `scale`: `round(w / scale)` in `[-127, 127]`.
pub fn quantize_weight(w: f32, scale: f32) -> i8 {
    (w / scale).round().clamp(-127.0, 127.0) as i8
}

/// `weights` (output channels first, `channels` of them) quantised per channel and back.
pub fn fake_quantize_weights(weights: &[f32], channels: usize, out: &mut [f32]) {
    let scales = channel_scales(weights, channels);
    let per = (weights.len() / channels.max(1)).max(1);
    for ((o, w), &s) in out.chunks_mut(per).zip(weights.chunks(per)).zip(&scales) {
        for (o, &w) in o.iter_mut().zip(w) {
            *o = f32::from(quantize_weight(w, s)) * s;
        }
    }
}

/// A dense layer or convolution computing with per-channel quantised weights; its first
/// parameter is the float master copy that the optimiser updates.
#[derive(Clone, Debug)]
pub struct QuantizedWeights {
    inner: Box<dyn Op>,
    master: Vec<f32>,
    channels: usize,
}

impl QuantizedWeights {
    /// Wraps `inner` (its first parameter: weights with the output channels first).
    pub fn new(inner: Box<dyn Op>) -> Self {
        let params = inner.params();
        let master = params.first().map_or_else(Vec::new, |t| t.values.to_vec());
        let channels = params.first().and_then(|t| t.shape.first().copied()).unwrap_or(1);
        Self { inner, master, channels }
    }
}

/// Puts `master` quantised per channel into `op`'s weights.
fn load_quantised(master: &[f32], channels: usize, op: &mut dyn Op) {
    if let Some(w) = op.params_mut().into_iter().next() {
        fake_quantize_weights(master, channels, w);
    }
}

impl Op for QuantizedWeights {
    fn kind(&self) -> &'static LayerKind {
        self.inner.kind()
    }
    fn attrs(&self) -> Attrs {
        self.inner.attrs()
    }
    fn input_shape(&self) -> &[usize] {
        self.inner.input_shape()
    }
    fn output_shape(&self) -> &[usize] {
        self.inner.output_shape()
    }
    fn params(&self) -> Vec<Tensor<'_>> {
        let mut p = self.inner.params();
        if let Some(w) = p.first_mut() {
            w.values = &self.master;
        }
        p
    }
    fn params_mut(&mut self) -> Vec<&mut [f32]> {
        let mut p = self.inner.params_mut();
        if let Some(w) = p.first_mut() {
            *w = &mut self.master;
        }
        p
    }
    fn macs(&self) -> usize {
        self.inner.macs()
    }
    fn forward(&self, be: &dyn Backend, x: &[f32], y: &mut [f32], batch: usize) {
        let mut op = self.inner.clone();
        load_quantised(&self.master, self.channels, op.as_mut());
        op.forward(be, x, y, batch);
    }
    fn forward_train(
        &mut self,
        ctx: &mut Ctx<'_>,
        x: &[f32],
        y: &mut [f32],
        batch: usize,
        saved: &mut Saved,
    ) {
        load_quantised(&self.master, self.channels, self.inner.as_mut());
        self.inner.forward_train(ctx, x, y, batch, saved);
    }
    fn backward(
        &self,
        ctx: &Ctx<'_>,
        x: &[f32],
        y: &[f32],
        saved: &mut Saved,
        dy: &[f32],
        dx: Option<&mut [f32]>,
        grads: &mut [Vec<f32>],
        batch: usize,
    ) {
        // the inner layer holds the quantised weights of this forward: straight through
        self.inner.backward(ctx, x, y, saved, dy, dx, grads, batch);
    }
}
