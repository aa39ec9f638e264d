//! Softmax and log-softmax over one vector, max-subtracted for stability.

use super::reduce::{dot, max, sum};
use crate::math;

/// `y[i] = exp(x[i] - m) / sum_j exp(x[j] - m)`, `m = max(x)`.
pub fn softmax(x: &[f32], y: &mut [f32]) {
    let m = max(x);
    for (o, &v) in y.iter_mut().zip(x) {
        *o = math::exp(v - m);
    }
    let s = sum(y);
    for o in y.iter_mut() {
        *o /= s;
    }
}

/// `y[i] = x[i] - m - ln(sum_j exp(x[j] - m))`, `m = max(x)`.
pub fn log_softmax(x: &[f32], y: &mut [f32]) {
    let m = max(x);
    let mut s = 0.0;
    for &v in x {
        s += math::exp(v - m);
    }
    let lse = math::ln(s);
    for (o, &v) in y.iter_mut().zip(x) {
        *o = v - m - lse;
    }
}

/// Softmax backward given its output `y`: `dx[i] = y[i] * (dy[i] - sum_j dy[j] * y[j])`.
pub fn softmax_backward(y: &[f32], dy: &[f32], dx: &mut [f32]) {
    let s = dot(dy, y);
    for ((d, &yi), &g) in dx.iter_mut().zip(y).zip(dy) {
        *d = yi * (g - s);
    }
}

/// Log-softmax backward given its output `y`: `dx[i] = dy[i] - exp(y[i]) * sum_j dy[j]`.
pub fn log_softmax_backward(y: &[f32], dy: &[f32], dx: &mut [f32]) {
    let s = sum(dy);
    for ((d, &yi), &g) in dx.iter_mut().zip(y).zip(dy) {
        *d = g - math::exp(yi) * s;
    }
}
