//! Recurrent cells for one time step: PyTorch's `nn.RNN`, `nn.GRU` and `nn.LSTM`, gate
//! orders `r, z, n` (GRU) and `i, f, g, o` (LSTM).
//!
//! The gate pre-activations come in as two sums per gate unit, `sx = W_ih x + b_ih` and
//! `sh = W_hh h + b_hh`, each computed by [`super::dense::forward`] (one sum in index order,
//! then the bias), so the functions here are element-wise over `H` hidden units. Buffers
//! are gate-major: `[G][H]` flat, `G` = 1 (RNN), 3 (GRU) or 4 (LSTM), the row order of
//! PyTorch's `weight_ih_l0` / `weight_hh_l0`. Each backward returns the gradients of `sx`
//! and `sh` (`gx`, `gh`), from which [`super::dense::backward`] makes the weight, bias and
//! input gradients; a caller runs the steps from the last to the first (backpropagation
//! through time), carrying `dh` (and the LSTM's `dc`).
//!
//! Shorter buffers never panic: the loops run over the hidden units every buffer covers.

use crate::activation::Activation;
use crate::math::{sigmoid, tanh};

/// Values of one GRU step's trace per hidden unit: `r, z, n, hn, h_prev`.
pub const GRU_TRACE: usize = 5;
/// Values of one LSTM step's trace per hidden unit: `i, f, g, o, c_prev, tanh(c'), h_prev`.
pub const LSTM_TRACE: usize = 7;
/// Values of one RNN step's trace per hidden unit: the pre-activation and `h_prev`.
pub const RNN_TRACE: usize = 2;

/// `H` from a gate-major buffer of `g` gates.
fn units(buf: &[f32], g: usize) -> usize {
    buf.len() / g
}

/// One GRU step: `r = sigmoid(sx_r + sh_r)`, `z = sigmoid(sx_z + sh_z)`,
/// `n = tanh(sx_n + r * sh_n)`, `h' = n + z * (h - n)` (PyTorch's form of
/// `(1 - z) * n + z * h`). `sx`, `sh`: `[3][H]`; `h`, `h_out`: `[H]`; `trace`:
/// `[GRU_TRACE][H]` (`r, z, n, sh_n, h`).
pub fn gru_forward(sx: &[f32], sh: &[f32], h: &[f32], h_out: &mut [f32], trace: &mut [f32]) {
    let (hx, hs, t) = (units(sx, 3), units(sh, 3), units(trace, GRU_TRACE));
    let n_units = hx.min(hs).min(t).min(h.len()).min(h_out.len());
    for j in 0..n_units {
        let r = sigmoid(sx[j] + sh[j]);
        let z = sigmoid(sx[hx + j] + sh[hs + j]);
        let hn = sh[2 * hs + j];
        let n = tanh(sx[2 * hx + j] + r * hn);
        h_out[j] = n + z * (h[j] - n);
        for (k, v) in [r, z, n, hn, h[j]].into_iter().enumerate() {
            trace[k * t + j] = v;
        }
    }
}

/// Backward of [`gru_forward`] for `dh = d loss / d h'`: writes `gx` and `gh` (`[3][H]`,
/// the gradients of `sx` and `sh`) and `dh_prev = dh * z`, the part of `d loss / d h` that
/// does not go through `W_hh` (the caller adds `W_hh^T gh`).
pub fn gru_backward(
    trace: &[f32],
    dh: &[f32],
    gx: &mut [f32],
    gh: &mut [f32],
    dh_prev: &mut [f32],
) {
    let t = units(trace, GRU_TRACE);
    let (hx, hs) = (units(gx, 3), units(gh, 3));
    let n_units = t.min(dh.len()).min(hx).min(hs).min(dh_prev.len());
    for j in 0..n_units {
        let [r, z, n, hn, hp] = core::array::from_fn(|k| trace[k * t + j]);
        let d = dh[j];
        let dz = d * (hp - n);
        let dn = d * (1.0 - z);
        dh_prev[j] = d * z;
        let dan = dn * (1.0 - n * n);
        let dar = dan * hn * (r * (1.0 - r));
        let daz = dz * (z * (1.0 - z));
        gx[j] = dar;
        gx[hx + j] = daz;
        gx[2 * hx + j] = dan;
        gh[j] = dar;
        gh[hs + j] = daz;
        gh[2 * hs + j] = dan * r;
    }
}

/// One LSTM step: with `a = sx + sh` per gate, `i = sigmoid(a_i)`, `f = sigmoid(a_f)`,
/// `g = tanh(a_g)`, `o = sigmoid(a_o)`, `c' = f * c + i * g`, `h' = o * tanh(c')`. `sx`, `sh`:
/// `[4][H]`; `h`, `c`, `h_out`, `c_out`: `[H]`; `trace`: `[LSTM_TRACE][H]`.
pub fn lstm_forward(
    sx: &[f32],
    sh: &[f32],
    h: &[f32],
    c: &[f32],
    h_out: &mut [f32],
    c_out: &mut [f32],
    trace: &mut [f32],
) {
    let (hx, hs, t) = (units(sx, 4), units(sh, 4), units(trace, LSTM_TRACE));
    let n_units = hx.min(hs).min(t).min(h.len()).min(c.len()).min(h_out.len()).min(c_out.len());
    for j in 0..n_units {
        let a = |k: usize| sx[k * hx + j] + sh[k * hs + j];
        let (i, f, g, o) = (sigmoid(a(0)), sigmoid(a(1)), tanh(a(2)), sigmoid(a(3)));
        let cn = f * c[j] + i * g;
        let tc = tanh(cn);
        c_out[j] = cn;
        h_out[j] = o * tc;
        for (k, v) in [i, f, g, o, c[j], tc, h[j]].into_iter().enumerate() {
            trace[k * t + j] = v;
        }
    }
}

/// Backward of [`lstm_forward`] for `dh = d loss / d h'` and `dc = d loss / d c'` (the later
/// steps' part; overwritten with `d loss / d c`): writes `ga` (`[4][H]`), the gradient of
/// both `sx` and `sh` (`d loss / d h` is `W_hh^T ga`, the caller's).
pub fn lstm_backward(trace: &[f32], dh: &[f32], dc: &mut [f32], ga: &mut [f32]) {
    let (t, hg) = (units(trace, LSTM_TRACE), units(ga, 4));
    let n_units = t.min(hg).min(dh.len()).min(dc.len());
    for j in 0..n_units {
        let [i, f, g, o, cp, tc, _] = core::array::from_fn(|k| trace[k * t + j]);
        let d = dh[j];
        let dct = dc[j] + d * o * (1.0 - tc * tc);
        let (di, df, dg, d_o) = (dct * g, dct * cp, dct * i, d * tc);
        dc[j] = dct * f;
        ga[j] = di * (i * (1.0 - i));
        ga[hg + j] = df * (f * (1.0 - f));
        ga[2 * hg + j] = dg * (1.0 - g * g);
        ga[3 * hg + j] = d_o * (o * (1.0 - o));
    }
}

/// One Elman RNN step: `h' = act(sx + sh)` (`act`: tanh or relu in PyTorch). `sx`, `sh`, `h`,
/// `h_out`: `[H]`; `trace`: `[RNN_TRACE][H]` (the pre-activation and `h`).
pub fn rnn_forward<A: Activation>(
    act: &A,
    sx: &[f32],
    sh: &[f32],
    h: &[f32],
    h_out: &mut [f32],
    trace: &mut [f32],
) {
    let t = units(trace, RNN_TRACE);
    let n_units = sx.len().min(sh.len()).min(h.len()).min(h_out.len()).min(t);
    for j in 0..n_units {
        let a = sx[j] + sh[j];
        h_out[j] = act.f(a);
        trace[j] = a;
        trace[t + j] = h[j];
    }
}

/// Backward of [`rnn_forward`]: `ga = act'(a) * dh`, the gradient of both `sx` and `sh`.
pub fn rnn_backward<A: Activation>(act: &A, trace: &[f32], dh: &[f32], ga: &mut [f32]) {
    let t = units(trace, RNN_TRACE);
    super::elementwise::backward(act, &trace[..t], dh, ga);
}
