//! Fully connected layer kernels. Weights are row-major `[out][in]` (PyTorch's
//! `nn.Linear.weight` layout).

use super::reduce::dot;

/// `y[o] = (sum_i w[o][i] * x[i]) + b[o]`, the sum in index order.
///
/// Shapes: `w` is `y.len()` rows of `x.len()`; `b` has `y.len()` values.
#[inline]
pub fn forward(w: &[f32], b: &[f32], x: &[f32], y: &mut [f32]) {
    let cols = x.len();
    if cols == 0 {
        for (out, bias) in y.iter_mut().zip(b) {
            *out = *bias;
        }
        return;
    }
    for ((row, bias), out) in w.chunks_exact(cols).zip(b).zip(y.iter_mut()) {
        *out = dot(row, x) + bias;
    }
}

/// Backward pass for one sample, accumulating parameter gradients.
///
/// - `gw[o][i] += dy[o] * x[i]`, `gb[o] += dy[o]`
/// - `dx[i] = sum_o w[o][i] * dy[o]` (overwritten), summed over `o` in order.
#[inline]
pub fn backward(w: &[f32], x: &[f32], dy: &[f32], dx: &mut [f32], gw: &mut [f32], gb: &mut [f32]) {
    let cols = x.len();
    if cols == 0 {
        return;
    }
    dx.fill(0.0);
    for (((row, grow), gbo), &d) in
        w.chunks_exact(cols).zip(gw.chunks_exact_mut(cols)).zip(gb.iter_mut()).zip(dy)
    {
        *gbo += d;
        for ((g, &xi), (dxi, &wi)) in grow.iter_mut().zip(x).zip(dx.iter_mut().zip(row)) {
            *g += d * xi;
            *dxi += wi * d;
        }
    }
}

/// Parameter gradients only (no `dx`): for the first trained layer after a frozen prefix.
#[inline]
pub fn backward_params(x: &[f32], dy: &[f32], gw: &mut [f32], gb: &mut [f32]) {
    let cols = x.len();
    if cols == 0 {
        return;
    }
    for ((grow, gbo), &d) in gw.chunks_exact_mut(cols).zip(gb.iter_mut()).zip(dy) {
        *gbo += d;
        for (g, &xi) in grow.iter_mut().zip(x) {
            *g += d * xi;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn forward_and_backward_by_hand() {
        // w = [[1, 2], [3, 4], [5, 6]], b = [0.5, -0.5, 0], x = [1, -1]
        let w = [1.0, 2.0, 3.0, 4.0, 5.0, 6.0];
        let b = [0.5, -0.5, 0.0];
        let x = [1.0, -1.0];
        let mut y = [0.0; 3];
        forward(&w, &b, &x, &mut y);
        assert_eq!(y, [-0.5, -1.5, -1.0]);
        let dy = [1.0, 0.0, 2.0];
        let (mut dx, mut gw, mut gb) = ([9.0; 2], [0.0; 6], [0.0; 3]);
        backward(&w, &x, &dy, &mut dx, &mut gw, &mut gb);
        assert_eq!(dx, [11.0, 14.0]);
        assert_eq!(gw, [1.0, -1.0, 0.0, 0.0, 2.0, -2.0]);
        assert_eq!(gb, [1.0, 0.0, 2.0]);
    }
}
