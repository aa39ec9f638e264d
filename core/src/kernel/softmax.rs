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

#[cfg(test)]
mod tests {
    use super::*;

    /// Shifting by the maximum keeps large logits finite: PyTorch's
    /// `torch.softmax(tensor([1000., 1000., 999.]), 0)` is `[0.4223, 0.4223, 0.1554]` and
    /// `log_softmax` `[-0.8620, -0.8620, -1.8620]`.
    #[test]
    fn large_logits_stay_finite_as_in_pytorch() {
        let x = [1000.0, 1000.0, 999.0];
        let mut y = [0.0; 3];
        softmax(&x, &mut y);
        for (got, want) in y.iter().zip([0.422_318_8, 0.422_318_8, 0.155_362_4]) {
            assert!((got - want).abs() < 1e-6, "{y:?}");
        }
        log_softmax(&x, &mut y);
        for (got, want) in y.iter().zip([-0.861_994_8, -0.861_994_8, -1.861_994_7]) {
            assert!((got - want).abs() < 1e-6, "{y:?}");
        }
    }
}
