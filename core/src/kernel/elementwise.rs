//! Element-wise maps: `y[i] = f(x[i])` and `dx[i] = f'(x[i]) * dy[i]`; scaled additions
//! `y[i] += a * x[i]`.

use crate::activation::Activation;

/// `y[i] = act.f(x[i])`.
#[inline]
pub fn forward<A: Activation>(act: &A, x: &[f32], y: &mut [f32]) {
    for (o, &v) in y.iter_mut().zip(x) {
        *o = act.f(v);
    }
}

/// `dx[i] = act.df(x[i]) * dy[i]`.
#[inline]
pub fn backward<A: Activation>(act: &A, x: &[f32], dy: &[f32], dx: &mut [f32]) {
    for ((d, &v), &g) in dx.iter_mut().zip(x).zip(dy) {
        *d = act.df(v) * g;
    }
}

/// Slope for feature `i`: one shared value or one per feature.
#[inline]
fn slope(alpha: &[f32], i: usize) -> f32 {
    match alpha {
        [a] => *a,
        _ => alpha.get(i).copied().unwrap_or(0.0),
    }
}

/// PReLU: `y[i] = x[i]` if `x[i] > 0`, else `alpha * x[i]` (`alpha` has 1 or `x.len()` values).
#[inline]
pub fn prelu_forward(alpha: &[f32], x: &[f32], y: &mut [f32]) {
    for (i, (o, &v)) in y.iter_mut().zip(x).enumerate() {
        *o = if v > 0.0 { v } else { slope(alpha, i) * v };
    }
}

/// PReLU backward: `dx[i] = dy[i]` or `alpha * dy[i]`; adds `x[i] * dy[i]` (for `x <= 0`)
/// into the slope's gradient (summed over features for a shared slope, in index order).
#[inline]
pub fn prelu_backward(alpha: &[f32], x: &[f32], dy: &[f32], dx: &mut [f32], galpha: &mut [f32]) {
    let shared = alpha.len() == 1;
    let mut shared_acc = 0.0;
    for (i, ((d, &v), &g)) in dx.iter_mut().zip(x).zip(dy).enumerate() {
        if v > 0.0 {
            *d = g;
        } else {
            *d = slope(alpha, i) * g;
            if shared {
                shared_acc += v * g;
            } else if let Some(ga) = galpha.get_mut(i) {
                *ga += v * g;
            }
        }
    }
    if shared {
        if let Some(ga) = galpha.first_mut() {
            *ga += shared_acc;
        }
    }
}

/// `y[i] += a * x[i]`: the product rounded to `f32`, then the sum, never fused; over the
/// shorter of the two. A dense layer's weight gradient row (`gw[o] += dy[o] * x`) and input
/// gradient (`dx += dy[o] * w[o]`) use it. With the core's `cortex-m-asm` feature on a
/// hard-float Cortex-M, eight elements per `vldmia` / `vmla.f32` / `vstmia` block (the same
/// bits: `vmla.f32` is that multiply and add).
#[inline]
pub fn add_scaled(y: &mut [f32], a: f32, x: &[f32]) {
    scaled::<false>(y, a, x);
}

/// `y[i] -= a * x[i]` (the product rounded, then the difference): SGD's step
/// `p -= lr * g`. As [`add_scaled`], with `vmls.f32`.
#[inline]
pub fn sub_scaled(y: &mut [f32], a: f32, x: &[f32]) {
    scaled::<true>(y, a, x);
}

#[inline]
fn scaled<const SUB: bool>(y: &mut [f32], a: f32, x: &[f32]) {
    let n = y.len().min(x.len());
    let (y, x) = (&mut y[..n], &x[..n]);
    #[cfg(all(feature = "cortex-m-asm", target_arch = "arm", target_abi = "eabihf"))]
    let done = crate::cortex_m_asm::scaled_blocks(y, a, x, SUB);
    #[cfg(not(all(feature = "cortex-m-asm", target_arch = "arm", target_abi = "eabihf")))]
    let done = 0;
    for (yi, &xi) in y[done..].iter_mut().zip(&x[done..]) {
        if SUB {
            *yi -= a * xi;
        } else {
            *yi += a * xi;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// PyTorch's PReLU is `x if x > 0 else w * x`: at a zero input the output is `w * x`, a
    /// zero whose sign is the product's (`torch.prelu(tensor([0., -0.]), tensor([-0.25]))`
    /// is `[-0., 0.]`).
    #[test]
    fn prelu_at_signed_zeros_matches_pytorch() {
        let mut y = [1.0; 2];
        prelu_forward(&[-0.25], &[0.0, -0.0], &mut y);
        assert_eq!(y.map(f32::to_bits), [(-0.0f32).to_bits(), 0.0f32.to_bits()]);
        prelu_forward(&[0.25], &[0.0, -0.0], &mut y);
        assert_eq!(y.map(f32::to_bits), [0.0f32.to_bits(), (-0.0f32).to_bits()]);
    }

    /// At a zero input PyTorch's PReLU gradient takes the negative side's slope: for
    /// `x = [0, -0, 1, -2]`, `w = 0.25` and `dy = [2, 3, 5, 7]`, `x.grad` is
    /// `[0.5, 0.75, 5, 1.75]` and `w.grad` is `-14` (`torch.prelu` backward).
    #[test]
    fn prelu_backward_at_zero_matches_pytorch() {
        let (mut dx, mut ga) = ([9.0; 4], [0.0]);
        prelu_backward(&[0.25], &[0.0, -0.0, 1.0, -2.0], &[2.0, 3.0, 5.0, 7.0], &mut dx, &mut ga);
        assert_eq!(dx, [0.5, 0.75, 5.0, 1.75]);
        assert_eq!(ga, [-14.0]);
    }
}
