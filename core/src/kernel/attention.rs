//! Multi-head self-attention over one sample of `T` tokens of `E` values (PyTorch's
//! `nn.MultiheadAttention(E, heads, batch_first=True)` called as `m(x, x, x)`, no mask, no
//! dropout), forward and backward.
//!
//! Parameters in PyTorch's layouts: `in_proj_weight` `[3E][E]` (the query, key and value
//! projections stacked), `in_proj_bias` `[3E]`, `out_proj_weight` `[E][E]`, `out_proj_bias`
//! `[E]`. With `d = E / heads` and, per head `h`, `q`, `k`, `v` its `d` columns:
//! `a = softmax(q k^T / sqrt(d))` (rows), `o = a v`, the heads' `o` side by side, then
//! `y = o W_out^T + b_out`. Every product is [`super::dense::forward`] or [`dot`] (one sum in
//! index order), the softmax [`super::softmax`]'s.
//!
//! The trace ([`trace_len`] values) keeps `q, k, v` (`[3][T][E]`), the attention weights
//! (`[heads][T][T]`) and `o` (`[T][E]`). Nothing is allocated: the caller gives the scratch
//! ([`Scratch`]). Mismatched buffers never panic: nothing is written unless every buffer has
//! its length and `heads` divides `E`.

use super::dense;
use super::reduce::dot;
use super::softmax::softmax;
use crate::math::sqrt;

/// Trace values of one sample: `3 T E + heads T T + T E`.
pub const fn trace_len(t: usize, e: usize, heads: usize) -> usize {
    4 * t * e + heads * t * t
}

/// Scratch of [`Attention::backward`]: `d_o` `[T][E]`, `d_qkv` `[3][T][E]`, `da` and `ds`
/// `[T]`, `part` `[E]` (overwritten).
#[derive(Debug)]
pub struct Scratch<'a> {
    /// Gradient of `o`.
    pub d_o: &'a mut [f32],
    /// Gradients of `q`, `k`, `v`.
    pub d_qkv: &'a mut [f32],
    /// Gradient of one row of attention weights.
    pub da: &'a mut [f32],
    /// Gradient of one row of scores.
    pub ds: &'a mut [f32],
    /// One token's input gradient from one projection.
    pub part: &'a mut [f32],
}

/// The shape of one self-attention: `t` tokens of `e` values, `heads` heads.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Attention {
    /// Tokens.
    pub t: usize,
    /// Values per token (`embed_dim`).
    pub e: usize,
    /// Heads (dividing `e`).
    pub heads: usize,
}

impl Attention {
    fn ok(&self, w_in: &[f32], b_in: &[f32], w_out: &[f32], b_out: &[f32]) -> bool {
        let (t, e) = (self.t, self.e);
        self.heads > 0
            && e.is_multiple_of(self.heads)
            && t > 0
            && w_in.len() == 3 * e * e
            && b_in.len() == 3 * e
            && w_out.len() == e * e
            && b_out.len() == e
    }

    /// `1 / sqrt(d)`, the scores' scale.
    fn scale(&self) -> f32 {
        1.0 / sqrt((self.e / self.heads) as f32)
    }

    /// Forward for one sample: `x` and `y` `[T][E]`; the trace in three parts, `qkv`
    /// `[3][T][E]`, `attn` `[heads][T][T]` and `o` `[T][E]`; `scores` `[T]` (scratch).
    #[allow(clippy::too_many_arguments)]
    pub fn forward(
        &self,
        w_in: &[f32],
        b_in: &[f32],
        w_out: &[f32],
        b_out: &[f32],
        x: &[f32],
        y: &mut [f32],
        (qkv, attn, o): (&mut [f32], &mut [f32], &mut [f32]),
        scores: &mut [f32],
    ) {
        let (t, e, nh) = (self.t, self.e, self.heads);
        let te = t * e;
        if !self.ok(w_in, b_in, w_out, b_out)
            || x.len() != te
            || y.len() != te
            || qkv.len() != 3 * te
            || attn.len() != nh * t * t
            || o.len() != te
            || scores.len() != t
        {
            return;
        }
        // q, k, v of every token: the three projections, each its own dense product
        for (p, out) in qkv.chunks_exact_mut(te).enumerate() {
            let (w, b) = (&w_in[p * e * e..(p + 1) * e * e], &b_in[p * e..(p + 1) * e]);
            for (x_t, o_t) in x.chunks_exact(e).zip(out.chunks_exact_mut(e)) {
                dense::forward(w, b, x_t, o_t);
            }
        }
        let (q, kv) = qkv.split_at(te);
        let (k, v) = kv.split_at(te);
        let d = e / nh;
        let scale = self.scale();
        for h in 0..nh {
            let a_h = &mut attn[h * t * t..(h + 1) * t * t];
            for i in 0..t {
                let q_i = &q[i * e + h * d..i * e + h * d + d];
                for (j, s) in scores.iter_mut().enumerate() {
                    *s = dot(q_i, &k[j * e + h * d..j * e + h * d + d]) * scale;
                }
                let row = &mut a_h[i * t..(i + 1) * t];
                softmax(scores, row);
                // o_i = sum_j a_ij v_j, over j in order, per column
                for c in 0..d {
                    let mut acc = 0.0f32;
                    for (j, &a) in row.iter().enumerate() {
                        acc += a * v[j * e + h * d + c];
                    }
                    o[i * e + h * d + c] = acc;
                }
            }
        }
        for (o_t, y_t) in o.chunks_exact(e).zip(y.chunks_exact_mut(e)) {
            dense::forward(w_out, b_out, o_t, y_t);
        }
    }

    /// Backward for one sample: adds the parameter gradients (`g`: `in_proj_weight`,
    /// `in_proj_bias`, `out_proj_weight`, `out_proj_bias`), writes `dx` (`[T][E]`) when
    /// given. `x` and the trace are those of [`Attention::forward`].
    #[allow(clippy::too_many_arguments)]
    pub fn backward(
        &self,
        w_in: &[f32],
        w_out: &[f32],
        x: &[f32],
        (qkv, attn, o): (&[f32], &[f32], &[f32]),
        dy: &[f32],
        dx: Option<&mut [f32]>,
        g: [&mut [f32]; 4],
        scratch: Scratch<'_>,
    ) {
        let Scratch { d_o, d_qkv, da, ds, part } = scratch;
        let (t, e, nh) = (self.t, self.e, self.heads);
        let te = t * e;
        let [gw_in, gb_in, gw_out, gb_out] = g;
        if !self.ok(w_in, gb_in, w_out, gb_out)
            || gw_in.len() != w_in.len()
            || gw_out.len() != w_out.len()
            || x.len() != te
            || dy.len() != te
            || qkv.len() != 3 * te
            || attn.len() != nh * t * t
            || o.len() != te
            || dx.as_deref().is_some_and(|d| d.len() != te)
            || d_o.len() != te
            || d_qkv.len() != 3 * te
            || da.len() != t
            || ds.len() != t
            || part.len() != e
        {
            return;
        }
        let (q, kv) = qkv.split_at(te);
        let (k, v) = kv.split_at(te);
        let (d, scale) = (e / nh, self.scale());
        // the output projection: gradients of W_out, b_out and of o
        for ((o_t, dy_t), do_t) in
            o.chunks_exact(e).zip(dy.chunks_exact(e)).zip(d_o.chunks_exact_mut(e))
        {
            dense::backward(w_out, o_t, dy_t, do_t, gw_out, gb_out);
        }
        // per head: through a v, the softmax and q k^T
        d_qkv.fill(0.0);
        for h in 0..nh {
            let a_h = &attn[h * t * t..(h + 1) * t * t];
            for i in 0..t {
                let row = &a_h[i * t..(i + 1) * t];
                let do_i = &d_o[i * e + h * d..i * e + h * d + d];
                // d a_ij = do_i . v_j; d v_j += a_ij do_i
                for j in 0..t {
                    let v_j = &v[j * e + h * d..j * e + h * d + d];
                    da[j] = dot(do_i, v_j);
                    let dv_j = &mut d_qkv[2 * te + j * e + h * d..2 * te + j * e + h * d + d];
                    for (g, &x) in dv_j.iter_mut().zip(do_i) {
                        *g += row[j] * x;
                    }
                }
                super::softmax::softmax_backward(row, da, ds);
                // s_ij = scale q_i . k_j: d q_i += scale ds_ij k_j, d k_j += scale ds_ij q_i
                let q_i = &q[i * e + h * d..i * e + h * d + d];
                for j in 0..t {
                    let c = scale * ds[j];
                    let k_j = &k[j * e + h * d..j * e + h * d + d];
                    let (dq, dk) = d_qkv[..2 * te].split_at_mut(te);
                    for (g, &kv) in dq[i * e + h * d..i * e + h * d + d].iter_mut().zip(k_j) {
                        *g += c * kv;
                    }
                    for (g, &qv) in dk[j * e + h * d..j * e + h * d + d].iter_mut().zip(q_i) {
                        *g += c * qv;
                    }
                }
            }
        }
        // the input projections: gradients of W_in, b_in and x (the three projections' input
        // gradients added in the order q, k, v)
        let mut dx = dx;
        if let Some(dx) = dx.as_deref_mut() {
            dx.fill(0.0);
        }
        for p in 0..3 {
            let w = &w_in[p * e * e..(p + 1) * e * e];
            let gw = &mut gw_in[p * e * e..(p + 1) * e * e];
            let gb = &mut gb_in[p * e..(p + 1) * e];
            for (tt, (x_t, g_t)) in
                x.chunks_exact(e).zip(d_qkv[p * te..(p + 1) * te].chunks_exact(e)).enumerate()
            {
                dense::backward(w, x_t, g_t, part, gw, gb);
                if let Some(dx) = dx.as_deref_mut() {
                    for (a, &b) in dx[tt * e..(tt + 1) * e].iter_mut().zip(part.iter()) {
                        *a += b;
                    }
                }
            }
        }
    }
}
