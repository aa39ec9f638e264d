//! Multi-head self-attention over `T` tokens of `E` values ([`SelfAttention`]) and a learnt
//! positional embedding ([`PositionalEmbedding`]): with `LayerNorm` and `Residual`, a
//! transformer encoder block.

use super::{Ctx, Infer, Layer, LayerDesc};
use crate::init::LayerInit;
use crate::kernel::attention::{Attention, Scratch};
use crate::params::{Params, Zeroed};
use crate::rng::Rng;

/// `nn.MultiheadAttention(E, HEADS, batch_first=True)` called as `m(x, x, x)` (no mask, no
/// dropout): `[[f32; E]; T]` in and out ([`crate::kernel::attention`] has the formulas).
/// Parameters in PyTorch's names and layouts; `HEADS` divides `E` (checked at compile time).
#[derive(Clone, Debug, PartialEq)]
pub struct SelfAttention<const E: usize, const HEADS: usize, const T: usize> {
    /// `in_proj_weight`: `[3][E][E]` (query, key, value), PyTorch's `[3E][E]`.
    pub in_proj_weight: [[[f32; E]; E]; 3],
    /// `in_proj_bias`: `[3][E]`.
    pub in_proj_bias: [[f32; E]; 3],
    /// `out_proj.weight`: `[E][E]`.
    pub out_proj_weight: [[f32; E]; E],
    /// `out_proj.bias`: `[E]`.
    pub out_proj_bias: [f32; E],
}

/// The trace of a [`SelfAttention`]: `q, k, v`, the attention weights, and the heads' output.
pub type AttentionTrace<const E: usize, const HEADS: usize, const T: usize> =
    ([[[f32; E]; T]; 3], ([[[f32; T]; T]; HEADS], [[f32; E]; T]));

impl<const E: usize, const HEADS: usize, const T: usize> SelfAttention<E, HEADS, T> {
    const SHAPE_OK: () =
        assert!(HEADS > 0 && E.is_multiple_of(HEADS), "SelfAttention: HEADS must divide E");
    const SHAPE: Attention = Attention { t: T, e: E, heads: HEADS };

    fn parts(&self) -> (&[f32], &[f32], &[f32], &[f32]) {
        (
            self.in_proj_weight.as_flattened().as_flattened(),
            self.in_proj_bias.as_flattened(),
            self.out_proj_weight.as_flattened(),
            &self.out_proj_bias,
        )
    }

    fn run(
        &self,
        x: &[[f32; E]; T],
        trace: &mut AttentionTrace<E, HEADS, T>,
        y: &mut [[f32; E]; T],
    ) {
        let () = Self::SHAPE_OK;
        let (w_in, b_in, w_out, b_out) = self.parts();
        let (qkv, (attn, o)) = trace;
        let mut scores = [0.0; T];
        Self::SHAPE.forward(
            w_in,
            b_in,
            w_out,
            b_out,
            x.as_flattened(),
            y.as_flattened_mut(),
            (
                qkv.as_flattened_mut().as_flattened_mut(),
                attn.as_flattened_mut().as_flattened_mut(),
                o.as_flattened_mut(),
            ),
            &mut scores,
        );
    }

    fn grads(
        &self,
        x: &[[f32; E]; T],
        trace: &AttentionTrace<E, HEADS, T>,
        dy: &[[f32; E]; T],
        dx: Option<&mut [[f32; E]; T]>,
        g: &mut Self,
    ) {
        let (w_in, _, w_out, _) = self.parts();
        let (qkv, (attn, o)) = trace;
        let (mut d_o, mut d_qkv) = ([[0.0; E]; T], [[[0.0; E]; T]; 3]);
        let (mut da, mut ds, mut part) = ([0.0; T], [0.0; T], [0.0; E]);
        Self::SHAPE.backward(
            w_in,
            w_out,
            x.as_flattened(),
            (
                qkv.as_flattened().as_flattened(),
                attn.as_flattened().as_flattened(),
                o.as_flattened(),
            ),
            dy.as_flattened(),
            dx.map(|d| d.as_flattened_mut()),
            [
                g.in_proj_weight.as_flattened_mut().as_flattened_mut(),
                g.in_proj_bias.as_flattened_mut(),
                g.out_proj_weight.as_flattened_mut(),
                &mut g.out_proj_bias,
            ],
            Scratch {
                d_o: d_o.as_flattened_mut(),
                d_qkv: d_qkv.as_flattened_mut().as_flattened_mut(),
                da: &mut da,
                ds: &mut ds,
                part: &mut part,
            },
        );
    }
}

impl<const E: usize, const HEADS: usize, const T: usize> Zeroed for SelfAttention<E, HEADS, T> {
    const ZEROED: Self = Self {
        in_proj_weight: [[[0.0; E]; E]; 3],
        in_proj_bias: [[0.0; E]; 3],
        out_proj_weight: [[0.0; E]; E],
        out_proj_bias: [0.0; E],
    };
}

impl<const E: usize, const HEADS: usize, const T: usize> Params for SelfAttention<E, HEADS, T> {
    const TENSORS: usize = 4;
    const LEN: usize = 4 * E * E + 4 * E;
    fn tensor(&self, i: usize) -> &[f32] {
        match i {
            0 => self.in_proj_weight.as_flattened().as_flattened(),
            1 => self.in_proj_bias.as_flattened(),
            2 => self.out_proj_weight.as_flattened(),
            3 => &self.out_proj_bias,
            _ => &[],
        }
    }
    fn tensor_mut(&mut self, i: usize) -> &mut [f32] {
        match i {
            0 => self.in_proj_weight.as_flattened_mut().as_flattened_mut(),
            1 => self.in_proj_bias.as_flattened_mut(),
            2 => self.out_proj_weight.as_flattened_mut(),
            3 => &mut self.out_proj_bias,
            _ => &mut [],
        }
    }
}

impl<const E: usize, const HEADS: usize, const T: usize> Infer for SelfAttention<E, HEADS, T> {
    type Input = [[f32; E]; T];
    type Output = [[f32; E]; T];

    fn forward(&self, x: &Self::Input, y: &mut Self::Output) {
        let mut trace = AttentionTrace::<E, HEADS, T>::ZEROED;
        self.run(x, &mut trace, y);
    }

    fn forward_flat(&self, x: &[f32], y: &mut [f32]) {
        if x.len() == E * T && y.len() == E * T {
            let mut xs = [[0.0; E]; T];
            xs.as_flattened_mut().copy_from_slice(x);
            let mut ys = [[0.0; E]; T];
            self.forward(&xs, &mut ys);
            y.copy_from_slice(ys.as_flattened());
        }
    }

    fn describe(&self, f: &mut dyn FnMut(LayerDesc)) {
        f(LayerDesc::Other {
            name: "self_attention",
            inputs: E * T,
            outputs: E * T,
            params: Self::LEN,
        });
    }
}

impl<const E: usize, const HEADS: usize, const T: usize> Layer for SelfAttention<E, HEADS, T> {
    type Trace = AttentionTrace<E, HEADS, T>;
    type Grads = Self;
    const DEFAULT: Self = Self::ZEROED;

    fn forward_trace(
        &self,
        _: &mut Ctx<'_>,
        x: &Self::Input,
        trace: &mut Self::Trace,
        y: &mut Self::Output,
    ) {
        self.run(x, trace, y);
    }

    fn backward(
        &self,
        x: &Self::Input,
        trace: &Self::Trace,
        dy: &Self::Output,
        dx: &mut Self::Input,
        g: &mut Self,
    ) {
        self.grads(x, trace, dy, Some(dx), g);
    }

    fn backward_params(
        &self,
        x: &Self::Input,
        trace: &Self::Trace,
        dy: &Self::Output,
        g: &mut Self,
    ) {
        self.grads(x, trace, dy, None, g);
    }

    /// `in_proj_weight` Xavier-uniform over `[3E][E]`, the biases and the output projection's
    /// weights as `init` does a `[E][E]` dense layer (PyTorch: Xavier-uniform in, zero biases,
    /// the output projection as `nn.Linear`).
    fn init(&mut self, init: &LayerInit, rng: &mut Rng) {
        let w_in = self.in_proj_weight.as_flattened_mut().as_flattened_mut();
        LayerInit::XAVIER.apply(w_in, self.in_proj_bias.as_flattened_mut(), E, 3 * E, rng);
        self.in_proj_bias.as_flattened_mut().fill(0.0);
        init.apply(self.out_proj_weight.as_flattened_mut(), &mut self.out_proj_bias, E, E, rng);
        self.out_proj_bias.fill(0.0);
    }
}

impl<const E: usize, const HEADS: usize, const T: usize> super::PerSample
    for SelfAttention<E, HEADS, T>
{
}

/// A learnt positional embedding: `y[t] = x[t] + weight[t]` over `T` tokens of `E` values
/// (initialised `N(0, 1)`, as `nn.Parameter(torch.randn(T, E))`).
#[derive(Clone, Debug, PartialEq)]
pub struct PositionalEmbedding<const E: usize, const T: usize> {
    /// `weight`: `[T][E]`.
    pub weight: [[f32; E]; T],
}

impl<const E: usize, const T: usize> Zeroed for PositionalEmbedding<E, T> {
    const ZEROED: Self = Self { weight: [[0.0; E]; T] };
}

impl<const E: usize, const T: usize> Params for PositionalEmbedding<E, T> {
    const TENSORS: usize = 1;
    const LEN: usize = E * T;
    fn tensor(&self, i: usize) -> &[f32] {
        if i == 0 {
            self.weight.as_flattened()
        } else {
            &[]
        }
    }
    fn tensor_mut(&mut self, i: usize) -> &mut [f32] {
        if i == 0 {
            self.weight.as_flattened_mut()
        } else {
            &mut []
        }
    }
}

impl<const E: usize, const T: usize> Infer for PositionalEmbedding<E, T> {
    type Input = [[f32; E]; T];
    type Output = [[f32; E]; T];

    fn forward(&self, x: &Self::Input, y: &mut Self::Output) {
        self.forward_flat(x.as_flattened(), y.as_flattened_mut());
    }

    fn forward_flat(&self, x: &[f32], y: &mut [f32]) {
        for ((o, &a), &p) in y.iter_mut().zip(x).zip(self.weight.as_flattened()) {
            *o = a + p;
        }
    }

    fn describe(&self, f: &mut dyn FnMut(LayerDesc)) {
        f(LayerDesc::Other {
            name: "positional_embedding",
            inputs: E * T,
            outputs: E * T,
            params: E * T,
        });
    }
}

impl<const E: usize, const T: usize> Layer for PositionalEmbedding<E, T> {
    type Trace = ();
    type Grads = Self;
    const DEFAULT: Self = Self::ZEROED;

    fn forward_trace(&self, _: &mut Ctx<'_>, x: &Self::Input, _: &mut (), y: &mut Self::Output) {
        self.forward(x, y);
    }

    fn backward(
        &self,
        _: &Self::Input,
        _: &(),
        dy: &Self::Output,
        dx: &mut Self::Input,
        g: &mut Self,
    ) {
        *dx = *dy;
        self.backward_params(dx, &(), dy, g);
    }

    fn backward_params(&self, _: &Self::Input, _: &(), dy: &Self::Output, g: &mut Self) {
        for (a, &b) in g.weight.as_flattened_mut().iter_mut().zip(dy.as_flattened()) {
            *a += b;
        }
    }

    fn init(&mut self, _: &LayerInit, rng: &mut Rng) {
        for v in self.weight.as_flattened_mut() {
            *v = rng.normal();
        }
    }
}

impl<const E: usize, const T: usize> super::PerSample for PositionalEmbedding<E, T> {}
