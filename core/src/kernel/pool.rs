//! Pooling kernels over one sample laid out `[C][H][W]` (row-major, PyTorch's NCHW without
//! the batch dimension): max, average and global average pooling, forward and backward.
//!
//! Geometry is PyTorch's `MaxPool2d` / `AvgPool2d` with `ceil_mode=False` and `dilation=1`:
//! along each axis, output index `o` covers the padded positions `o*s .. o*s + k`, i.e. the
//! input positions `o*s - p .. o*s - p + k`; those outside `0..in` are padding. 1-D pooling is
//! the `in_h = 1` case ([`Pool2dGeom::pool1d`]).
//!
//! Every kernel walks the channels that all of its slices hold in full (`chunks_exact` +
//! `zip`, at most `channels`), the outputs of a channel in row-major order, and each window
//! in row-major order. An invalid geometry ([`Pool2dGeom::is_valid`]) makes a kernel write
//! nothing, except that the backward kernels always zero `dx` first. Nothing panics.

use super::reduce::sum;

/// Geometry of a 2-D pooling over one sample `(C, H, W)`, PyTorch semantics
/// (`ceil_mode=False`, `dilation=1`). 1-D pooling is `in_h = 1`, `kernel[0] = 1`,
/// `stride[0] = 1`, `padding[0] = 0` ([`Pool2dGeom::pool1d`]).
///
/// Arrays are `[height, width]`. Input is `channels` planes of `in_h * in_w` values, output
/// `channels` planes of `out_h() * out_w()` values, both row-major.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub struct Pool2dGeom {
    /// Number of channels `C` (pooled independently).
    pub channels: usize,
    /// Input height `H`.
    pub in_h: usize,
    /// Input width `W`.
    pub in_w: usize,
    /// Window size `[kh, kw]`.
    pub kernel: [usize; 2],
    /// Step between windows `[sh, sw]` (PyTorch's default is the kernel size; here explicit).
    pub stride: [usize; 2],
    /// Implicit padding on both sides `[ph, pw]`.
    pub padding: [usize; 2],
}

/// `(in + 2p - k) / s + 1`, or 0 when `k` or `s` is 0, the window does not fit, or the
/// padded size overflows.
const fn out_dim(input: usize, k: usize, s: usize, p: usize) -> usize {
    if k == 0 || s == 0 {
        return 0;
    }
    let padded = match p.checked_mul(2) {
        Some(v) => match input.checked_add(v) {
            Some(v) => v,
            None => return 0,
        },
        None => return 0,
    };
    if padded < k {
        return 0;
    }
    (padded - k) / s + 1
}

/// `a * b * c`, `None` on overflow.
const fn len3(a: usize, b: usize, c: usize) -> Option<usize> {
    match a.checked_mul(b) {
        Some(ab) => ab.checked_mul(c),
        None => None,
    }
}

impl Pool2dGeom {
    /// 1-D pooling over `channels` rows of `in_len` values (`in_h = 1`, unit kernel, stride
    /// and no padding along the height).
    pub const fn pool1d(
        channels: usize,
        in_len: usize,
        kernel: usize,
        stride: usize,
        padding: usize,
    ) -> Self {
        Self {
            channels,
            in_h: 1,
            in_w: in_len,
            kernel: [1, kernel],
            stride: [1, stride],
            padding: [0, padding],
        }
    }

    /// Output height `(H + 2ph - kh) / sh + 1` (0 when that is not defined; never panics).
    pub const fn out_h(&self) -> usize {
        out_dim(self.in_h, self.kernel[0], self.stride[0], self.padding[0])
    }

    /// Output width `(W + 2pw - kw) / sw + 1` (0 when that is not defined; never panics).
    pub const fn out_w(&self) -> usize {
        out_dim(self.in_w, self.kernel[1], self.stride[1], self.padding[1])
    }

    /// PyTorch's conditions: on each axis `k > 0`, `s > 0` and `p <= k / 2`; a non-empty
    /// input plane; at least one output per axis. Additionally `C*H*W` and `C*out_h*out_w`
    /// must not overflow `usize`.
    ///
    /// A valid geometry guarantees every window holds at least one input position.
    pub const fn is_valid(&self) -> bool {
        let [kh, kw] = self.kernel;
        let [sh, sw] = self.stride;
        let [ph, pw] = self.padding;
        kh > 0
            && kw > 0
            && sh > 0
            && sw > 0
            && ph <= kh / 2
            && pw <= kw / 2
            && self.in_h > 0
            && self.in_w > 0
            && self.out_h() >= 1
            && self.out_w() >= 1
            && len3(self.channels, self.in_h, self.in_w).is_some()
            && len3(self.channels, self.out_h(), self.out_w()).is_some()
    }

    /// `C * H * W` (0 on overflow).
    pub const fn input_len(&self) -> usize {
        match len3(self.channels, self.in_h, self.in_w) {
            Some(n) => n,
            None => 0,
        }
    }

    /// `C * out_h * out_w` (0 on overflow).
    pub const fn output_len(&self) -> usize {
        match len3(self.channels, self.out_h(), self.out_w()) {
            Some(n) => n,
            None => 0,
        }
    }
}

/// One axis of a window: input positions `lo..hi` (clipped to `0..input`) and the window
/// length clipped to the padded input (`min(o*s + k, input + 2p) - o*s`, the average pool's
/// divisor factor; with `ceil_mode=False` it is always `k`).
///
/// Only called with a valid geometry, so `o*s + k <= input + 2p` cannot overflow.
#[inline]
fn span(o: usize, k: usize, s: usize, p: usize, input: usize) -> (usize, usize, usize) {
    let start = o * s; // padded coordinates
    let end = start + k;
    let lo = start.saturating_sub(p).min(input);
    let hi = end.saturating_sub(p).min(input);
    let clipped = end.min(input + 2 * p) - start;
    (lo, hi, clipped)
}

/// The input rows `(lo, hi)` of output row `oh`'s windows.
#[inline]
fn window_rows(g: &Pool2dGeom, oh: usize) -> (usize, usize) {
    let (h0, h1, _) = span(oh, g.kernel[0], g.stride[0], g.padding[0], g.in_h);
    (h0, h1)
}

/// Rows, columns and divisor of output `(oh, ow)`.
#[inline]
fn window(g: &Pool2dGeom, oh: usize, ow: usize) -> ((usize, usize), (usize, usize), usize) {
    let (h0, h1, dh) = span(oh, g.kernel[0], g.stride[0], g.padding[0], g.in_h);
    let (w0, w1, dw) = span(ow, g.kernel[1], g.stride[1], g.padding[1], g.in_w);
    ((h0, h1), (w0, w1), dh * dw)
}

/// PyTorch's max rule over the window of output `(oh, ow)` in one plane (`rows`: the
/// window's rows, computed once per output row by [`window_rows`]): start from `-inf`
/// at the window's first in-bounds position, walk row-major, take `v` when `v > max` or `v`
/// is NaN (so the first of equal maxima, and the last of several NaNs). Returns
/// `(index in plane, value)`.
#[inline]
fn window_max(g: &Pool2dGeom, plane: &[f32], rows: (usize, usize), ow: usize) -> (usize, f32) {
    let (h0, h1) = rows;
    let (w0, w1, _) = span(ow, g.kernel[1], g.stride[1], g.padding[1], g.in_w);
    let mut best = h0 * g.in_w + w0;
    let mut m = f32::NEG_INFINITY;
    for ih in h0..h1 {
        let row = ih * g.in_w;
        for (iw, &v) in plane.get(row + w0..row + w1).unwrap_or(&[]).iter().enumerate() {
            // a select, not a branch: which value wins is data, unpredictable
            let take = v > m || v.is_nan();
            m = if take { v } else { m };
            best = if take { row + w0 + iw } else { best };
        }
    }
    (best, m)
}

/// Max pooling: `y[c][oh][ow] = max` over the in-bounds window positions.
///
/// Padding acts as `-inf`, so it is never chosen. The window is scanned row-major and a
/// value replaces the current maximum when it is strictly greater or NaN (PyTorch's CPU
/// rule): the first maximum wins ties, and a NaN in the window makes the output NaN.
///
/// Shapes: `x` is `g.input_len()`, `y` is `g.output_len()`.
pub fn maxpool2d_forward(g: &Pool2dGeom, x: &[f32], y: &mut [f32]) {
    if !g.is_valid() {
        return;
    }
    let (in_plane, ow_n) = (g.in_h * g.in_w, g.out_w());
    let out_plane = g.out_h() * ow_n;
    for (xc, yc) in x.chunks_exact(in_plane).zip(y.chunks_exact_mut(out_plane)).take(g.channels) {
        for (oh, row) in yc.chunks_exact_mut(ow_n.max(1)).enumerate() {
            let rows = window_rows(g, oh);
            for (ow, out) in row.iter_mut().enumerate() {
                *out = window_max(g, xc, rows, ow).1;
            }
        }
    }
}

/// Max pooling backward. `dx` is overwritten: first `dx = 0`, then for each output in
/// order (channel, then row-major) `dx[argmax] += dy[output]`, where the argmax is
/// recomputed from `x` with the forward's rule (first maximum; NaN taken, the last of
/// several). Overlapping windows that pick the same input add up in output order.
///
/// Shapes: `x` and `dx` are `g.input_len()`, `dy` is `g.output_len()`.
pub fn maxpool2d_backward(g: &Pool2dGeom, x: &[f32], dy: &[f32], dx: &mut [f32]) {
    dx.fill(0.0);
    if !g.is_valid() {
        return;
    }
    let (in_plane, ow_n) = (g.in_h * g.in_w, g.out_w());
    let out_plane = g.out_h() * ow_n;
    for ((xc, dxc), dyc) in x
        .chunks_exact(in_plane)
        .zip(dx.chunks_exact_mut(in_plane))
        .zip(dy.chunks_exact(out_plane))
        .take(g.channels)
    {
        for (oh, row) in dyc.chunks_exact(ow_n.max(1)).enumerate() {
            let rows = window_rows(g, oh);
            for (ow, &d) in row.iter().enumerate() {
                let best = window_max(g, xc, rows, ow).0;
                if let Some(t) = dxc.get_mut(best) {
                    *t += d;
                }
            }
        }
    }
}

/// Average pooling with PyTorch's `count_include_pad=True`:
/// `y = (sum of the in-bounds window values, row-major, from 0.0) / divisor`, with
/// `divisor = (min(hs + kh, H + ph) - hs) * (min(ws + kw, W + pw) - ws)`, `hs = oh*sh - ph`,
/// `ws = ow*sw - pw` (the window clipped to the padded input, padding counted as zeros).
/// With `ceil_mode=False` the divisor is always `kh * kw`. The divisor is converted to
/// `f32` and divides the sum (one rounding).
///
/// Shapes: `x` is `g.input_len()`, `y` is `g.output_len()`.
pub fn avgpool2d_forward(g: &Pool2dGeom, x: &[f32], y: &mut [f32]) {
    if !g.is_valid() {
        return;
    }
    let (in_plane, ow_n) = (g.in_h * g.in_w, g.out_w());
    let out_plane = g.out_h() * ow_n;
    for (xc, yc) in x.chunks_exact(in_plane).zip(y.chunks_exact_mut(out_plane)).take(g.channels) {
        for (oh, row) in yc.chunks_exact_mut(ow_n.max(1)).enumerate() {
            for (ow, out) in row.iter_mut().enumerate() {
                let ((h0, h1), (w0, w1), divisor) = window(g, oh, ow);
                let mut acc = 0.0;
                for ih in h0..h1 {
                    acc += sum(&xc[ih * g.in_w + w0..ih * g.in_w + w1]);
                }
                *out = acc / divisor as f32;
            }
        }
    }
}

/// Average pooling backward. `dx` is overwritten: first `dx = 0`, then for each output in
/// order (channel, then row-major) `t = dy / divisor` (the forward's divisor) is added to
/// every in-bounds position of its window, row-major (PyTorch's CPU order).
///
/// Shapes: `dx` is `g.input_len()`, `dy` is `g.output_len()`.
pub fn avgpool2d_backward(g: &Pool2dGeom, dy: &[f32], dx: &mut [f32]) {
    dx.fill(0.0);
    if !g.is_valid() {
        return;
    }
    let (in_plane, ow_n) = (g.in_h * g.in_w, g.out_w());
    let out_plane = g.out_h() * ow_n;
    for (dxc, dyc) in dx.chunks_exact_mut(in_plane).zip(dy.chunks_exact(out_plane)).take(g.channels)
    {
        for (oh, row) in dyc.chunks_exact(ow_n.max(1)).enumerate() {
            for (ow, &d) in row.iter().enumerate() {
                let ((h0, h1), (w0, w1), divisor) = window(g, oh, ow);
                let t = d / divisor as f32;
                for ih in h0..h1 {
                    for v in &mut dxc[ih * g.in_w + w0..ih * g.in_w + w1] {
                        *v += t;
                    }
                }
            }
        }
    }
}

/// Global average pooling: `y[c] = (sum_s x[c][s], in order from 0.0) / spatial`, with
/// `spatial = x.len() / channels` (`H * W` for `[C][H][W]`, `L` for `[C][L]`).
///
/// Writes `min(channels, y.len())` values; nothing when `channels` or `spatial` is 0.
pub fn global_avg_pool_forward(channels: usize, x: &[f32], y: &mut [f32]) {
    let Some(spatial) = x.len().checked_div(channels) else {
        return;
    };
    if spatial == 0 {
        return;
    }
    let n = spatial as f32;
    for (xc, out) in x.chunks_exact(spatial).zip(y.iter_mut()).take(channels) {
        *out = sum(xc) / n;
    }
}

/// Global average pooling backward: `dx[c][s] = dy[c] / spatial` (overwritten), with
/// `spatial = dx.len() / channels`.
///
/// Writes the first `min(channels, dy.len())` channels of `dx`; nothing when `channels` or
/// `spatial` is 0.
pub fn global_avg_pool_backward(channels: usize, dy: &[f32], dx: &mut [f32]) {
    let Some(spatial) = dx.len().checked_div(channels) else {
        return;
    };
    if spatial == 0 {
        return;
    }
    let n = spatial as f32;
    for (dxc, &d) in dx.chunks_exact_mut(spatial).zip(dy).take(channels) {
        dxc.fill(d / n);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::rng::Rng;

    /// `sum_i c[i] * y[i]` in f64 (the finite-difference objective).
    fn objective(c: &[f32], y: &[f32]) -> f64 {
        c.iter().zip(y).map(|(&a, &b)| f64::from(a) * f64::from(b)).sum()
    }

    /// Central difference of `f` at `x[i]`, h = 1e-2 (divided by the f32 step actually taken).
    fn numeric(x: &mut [f32], i: usize, f: impl Fn(&[f32]) -> f64) -> f32 {
        let orig = x[i];
        let (up_x, down_x) = (orig + 1e-2, orig - 1e-2);
        x[i] = up_x;
        let up = f(x);
        x[i] = down_x;
        let down = f(x);
        x[i] = orig;
        ((up - down) / (f64::from(up_x) - f64::from(down_x))) as f32
    }

    fn assert_grad(analytic: f32, numeric: f32, what: &str) {
        let tol = 2e-3 + 2e-2 * numeric.abs();
        assert!(
            (analytic - numeric).abs() <= tol,
            "{what}: analytic {analytic}, numeric {numeric}"
        );
    }

    /// Two channels of 5x4, k = [3, 2], s = [2, 1], p = [1, 1]: out 3x5, overlapping windows.
    const G: Pool2dGeom = Pool2dGeom {
        channels: 2,
        in_h: 5,
        in_w: 4,
        kernel: [3, 2],
        stride: [2, 1],
        padding: [1, 1],
    };

    #[test]
    fn geometry_output_sizes_and_validity() {
        assert!(G.is_valid());
        assert_eq!((G.out_h(), G.out_w()), (3, 5));
        assert_eq!((G.input_len(), G.output_len()), (40, 30));
        let g = Pool2dGeom::pool1d(3, 5, 3, 2, 1);
        assert_eq!((g.in_h, g.kernel, g.stride, g.padding), (1, [1, 3], [1, 2], [0, 1]));
        assert_eq!((g.out_h(), g.out_w(), g.output_len()), (1, 3, 9));
        assert!(g.is_valid());
        // PyTorch's "pad should be at most half of effective kernel size".
        let bad_pad = Pool2dGeom { padding: [2, 1], ..G };
        assert!(!bad_pad.is_valid());
        assert!(!Pool2dGeom { stride: [0, 1], ..G }.is_valid());
        assert!(!Pool2dGeom { kernel: [3, 0], ..G }.is_valid());
        assert_eq!(Pool2dGeom { stride: [0, 1], ..G }.out_h(), 0);
        // Window larger than the padded input: no output.
        let big = Pool2dGeom { kernel: [8, 2], padding: [0, 0], ..G };
        assert_eq!(big.out_h(), 0);
        assert!(!big.is_valid());
        assert!(!Pool2dGeom { in_w: 0, ..G }.is_valid());
        // 2x2 / 2 on 4x4 and on 5x5 (floor).
        let g = Pool2dGeom {
            channels: 1,
            in_h: 5,
            in_w: 4,
            kernel: [2, 2],
            stride: [2, 2],
            padding: [0, 0],
        };
        assert_eq!((g.out_h(), g.out_w()), (2, 2));
    }

    #[test]
    fn geometry_never_panics_on_overflow() {
        let g = Pool2dGeom {
            channels: usize::MAX,
            in_h: usize::MAX,
            in_w: 3,
            kernel: [2, 2],
            stride: [1, 1],
            padding: [1, 1],
        };
        assert_eq!(g.out_h(), 0); // H + 2p overflows
        assert_eq!((g.input_len(), g.output_len()), (0, 0));
        assert!(!g.is_valid());
        let mut y = [7.0; 4];
        maxpool2d_forward(&g, &[1.0; 4], &mut y);
        avgpool2d_forward(&g, &[1.0; 4], &mut y);
        assert_eq!(y, [7.0; 4]);
        let g = Pool2dGeom { channels: usize::MAX, in_h: 2, in_w: 2, padding: [0, 0], ..g };
        assert_eq!(g.input_len(), 0);
        assert!(!g.is_valid());
    }

    #[test]
    fn maxpool_by_hand() {
        // 1x4x4, k = 2, s = 2.
        let g = Pool2dGeom {
            channels: 1,
            in_h: 4,
            in_w: 4,
            kernel: [2, 2],
            stride: [2, 2],
            padding: [0, 0],
        };
        #[rustfmt::skip]
        let x = [
            1.0, 5.0, -1.0, 0.0,
            2.0, 3.0, -2.0, -3.0,
            0.5, 0.0, 9.0, 8.0,
            0.0, 4.0, 7.0, 9.5,
        ];
        let mut y = [0.0; 4];
        maxpool2d_forward(&g, &x, &mut y);
        assert_eq!(y, [5.0, 0.0, 4.0, 9.5]);
        let mut dx = [3.0; 16];
        maxpool2d_backward(&g, &x, &[1.0, 2.0, 3.0, 4.0], &mut dx);
        #[rustfmt::skip]
        let want = [
            0.0, 1.0, 0.0, 2.0,
            0.0, 0.0, 0.0, 0.0,
            0.0, 0.0, 0.0, 0.0,
            0.0, 3.0, 0.0, 4.0,
        ];
        assert_eq!(dx, want);
    }

    #[test]
    fn maxpool_ties_pick_first_and_backward_routes_there() {
        // One 2x2 window of equal values: the first (row-major) wins.
        let g = Pool2dGeom {
            channels: 1,
            in_h: 2,
            in_w: 3,
            kernel: [2, 2],
            stride: [1, 1],
            padding: [0, 0],
        };
        let x = [1.0, 4.0, 4.0, 4.0, 4.0, 2.0];
        let mut y = [0.0; 2];
        maxpool2d_forward(&g, &x, &mut y);
        assert_eq!(y, [4.0, 4.0]);
        let mut dx = [0.0; 6];
        maxpool2d_backward(&g, &x, &[1.0, 10.0], &mut dx);
        // Both windows pick x[1] (the first 4 in each window): gradients add in output order.
        assert_eq!(dx, [0.0, 11.0, 0.0, 0.0, 0.0, 0.0]);
    }

    #[test]
    fn maxpool_padding_is_never_chosen() {
        // All-negative 1x3x3, k = 2, s = 2, p = 1: windows are mostly padding, yet the output
        // is always a real input value (padding is -inf, not 0).
        let g = Pool2dGeom {
            channels: 1,
            in_h: 3,
            in_w: 3,
            kernel: [2, 2],
            stride: [2, 2],
            padding: [1, 1],
        };
        let x = [-1.0, -2.0, -3.0, -4.0, -5.0, -6.0, -7.0, -8.0, -9.0];
        let mut y = [0.0; 4];
        maxpool2d_forward(&g, &x, &mut y);
        assert_eq!(y, [-1.0, -2.0, -4.0, -5.0]);
        let mut dx = [0.0; 9];
        maxpool2d_backward(&g, &x, &[1.0, 2.0, 3.0, 4.0], &mut dx);
        assert_eq!(dx, [1.0, 2.0, 0.0, 3.0, 4.0, 0.0, 0.0, 0.0, 0.0]);
        // -inf everywhere: the output is -inf and the gradient goes to the first in-bounds tap.
        let x = [f32::NEG_INFINITY; 9];
        maxpool2d_forward(&g, &x, &mut y);
        assert_eq!(y, [f32::NEG_INFINITY; 4]);
        maxpool2d_backward(&g, &x, &[1.0, 2.0, 3.0, 4.0], &mut dx);
        assert_eq!(dx, [1.0, 2.0, 0.0, 3.0, 4.0, 0.0, 0.0, 0.0, 0.0]);
    }

    #[test]
    fn maxpool_nan_propagates() {
        let g = Pool2dGeom::pool1d(1, 4, 2, 2, 0);
        let x = [1.0, f32::NAN, f32::NAN, 3.0];
        let mut y = [0.0; 2];
        maxpool2d_forward(&g, &x, &mut y);
        assert!(y[0].is_nan() && y[1].is_nan());
        let mut dx = [0.0; 4];
        maxpool2d_backward(&g, &x, &[1.0, 2.0], &mut dx);
        // The NaN is the argmax (a later larger value does not replace it).
        assert_eq!(dx, [0.0, 1.0, 2.0, 0.0]);
    }

    /// PyTorch's geometry conditions, each on both axes: a zero kernel or stride, or a
    /// padding above half the kernel, is invalid (`nn.MaxPool2d` raises "pad should be at
    /// most half of effective kernel size").
    #[test]
    fn geometry_checks_each_of_pytorchs_conditions() {
        let ok = Pool2dGeom {
            channels: 2,
            in_h: 6,
            in_w: 6,
            kernel: [2, 3],
            stride: [2, 1],
            padding: [1, 1],
        };
        assert!(ok.is_valid());
        for axis in 0..2 {
            let mut g = ok;
            g.kernel[axis] = 0;
            g.padding = [0, 0];
            assert!(!g.is_valid(), "zero kernel on axis {axis}");
            let mut g = ok;
            g.stride[axis] = 0;
            assert!(!g.is_valid(), "zero stride on axis {axis}");
            let mut g = ok;
            g.padding[axis] = g.kernel[axis] / 2 + 1;
            assert!(!g.is_valid(), "padding above half the kernel on axis {axis}");
        }
        assert!(!Pool2dGeom { in_h: 0, ..ok }.is_valid());
        assert!(!Pool2dGeom { in_w: 0, ..ok }.is_valid());
    }

    /// Two NaNs in one window: the later one takes the gradient, as in PyTorch
    /// (`F.max_pool1d(tensor([[[1., nan, nan, 3.]]]), 4, return_indices=True)` gives index 2).
    #[test]
    fn maxpool_takes_the_last_nan_of_a_window() {
        let g = Pool2dGeom::pool1d(1, 4, 4, 4, 0);
        let x = [1.0, f32::NAN, f32::NAN, 3.0];
        let mut dx = [0.0; 4];
        maxpool2d_backward(&g, &x, &[1.0], &mut dx);
        assert_eq!(dx, [0.0, 0.0, 1.0, 0.0]);
    }

    #[test]
    fn avgpool_padding_divisor_matches_pytorch() {
        // F.avg_pool2d(torch.arange(1., 10.).view(1, 1, 3, 3), 2, 2, 1)
        //   == [[0.25, 1.25], [2.75, 7.0]]  (count_include_pad=True: divisor 4 everywhere)
        let g = Pool2dGeom {
            channels: 1,
            in_h: 3,
            in_w: 3,
            kernel: [2, 2],
            stride: [2, 2],
            padding: [1, 1],
        };
        let x = [1.0, 2.0, 3.0, 4.0, 5.0, 6.0, 7.0, 8.0, 9.0];
        let mut y = [0.0; 4];
        avgpool2d_forward(&g, &x, &mut y);
        assert_eq!(y, [0.25, 1.25, 2.75, 7.0]);
        let mut dx = [9.0; 9];
        avgpool2d_backward(&g, &[4.0, 8.0, 12.0, 16.0], &mut dx);
        assert_eq!(dx, [1.0, 2.0, 2.0, 3.0, 4.0, 4.0, 3.0, 4.0, 4.0]);
        // The divisor helper itself: window clipped to the padded input.
        assert_eq!(span(1, 2, 2, 1, 3), (1, 3, 2));
        assert_eq!(span(0, 2, 2, 1, 3), (0, 1, 2));
        // (only ceil_mode=True could clip it; with ceil_mode=False the window always fits.)
        assert_eq!(span(2, 3, 2, 0, 5), (4, 5, 1));
    }

    #[test]
    fn pool1d_by_hand() {
        // F.avg_pool1d(torch.arange(1., 6.).view(1, 1, 5), 3, 2, 1) == [1, 3, 3];
        // F.max_pool1d(..., 3, 2, 1) == [2, 4, 5]. Two channels.
        let g = Pool2dGeom::pool1d(2, 5, 3, 2, 1);
        let x = [1.0, 2.0, 3.0, 4.0, 5.0, -1.0, -2.0, -3.0, -4.0, -5.0];
        let mut y = [0.0; 6];
        avgpool2d_forward(&g, &x, &mut y);
        assert_eq!(y, [1.0, 3.0, 3.0, -1.0, -3.0, -3.0]);
        maxpool2d_forward(&g, &x, &mut y);
        assert_eq!(y, [2.0, 4.0, 5.0, -1.0, -2.0, -4.0]);
    }

    #[test]
    fn short_slices_do_whole_channels_only() {
        let g = Pool2dGeom::pool1d(2, 4, 2, 2, 0);
        let mut y = [9.0; 4];
        // x holds one channel and a half: only channel 0 is pooled.
        maxpool2d_forward(&g, &[1.0, 2.0, 3.0, 4.0, 5.0, 6.0], &mut y);
        assert_eq!(y, [2.0, 4.0, 9.0, 9.0]);
        let mut dx = [9.0; 8];
        avgpool2d_backward(&g, &[2.0, 4.0, 6.0], &mut dx);
        assert_eq!(dx, [1.0, 1.0, 2.0, 2.0, 0.0, 0.0, 0.0, 0.0]);
        let mut dx = [9.0; 3];
        maxpool2d_backward(&g, &[1.0; 8], &[1.0; 4], &mut dx);
        assert_eq!(dx, [0.0; 3]);
    }

    #[test]
    fn avgpool_gradient_matches_finite_differences() {
        let mut rng = Rng::new(11);
        let mut x = [0.0f32; 40];
        let mut c = [0.0f32; 30];
        x.iter_mut().for_each(|v| *v = rng.normal());
        c.iter_mut().for_each(|v| *v = rng.normal());
        let mut dx = [0.0; 40];
        avgpool2d_backward(&G, &c, &mut dx);
        for (i, &a) in dx.iter().enumerate() {
            let n = numeric(&mut x, i, |x| {
                let mut y = [0.0; 30];
                avgpool2d_forward(&G, x, &mut y);
                objective(&c, &y)
            });
            assert_grad(a, n, "avgpool dx");
        }
    }

    #[test]
    fn maxpool_gradient_matches_finite_differences() {
        // Distinct values 0.1 apart (shuffled), so a +-1e-2 step never changes an argmax.
        let mut rng = Rng::new(12);
        let mut x = [0.0f32; 40];
        for (i, v) in x.iter_mut().enumerate() {
            *v = i as f32 * 0.1 - 2.0;
        }
        rng.shuffle(&mut x);
        let mut c = [0.0f32; 30];
        c.iter_mut().for_each(|v| *v = rng.normal());
        let mut dx = [0.0; 40];
        maxpool2d_backward(&G, &x, &c, &mut dx);
        for (i, &a) in dx.iter().enumerate() {
            let n = numeric(&mut x, i, |x| {
                let mut y = [0.0; 30];
                maxpool2d_forward(&G, x, &mut y);
                objective(&c, &y)
            });
            assert_grad(a, n, "maxpool dx");
        }
        // Some inputs win no window and some win several (overlapping windows).
        assert!(dx.contains(&0.0));
    }

    #[test]
    fn global_avg_pool_by_hand_and_gradient() {
        let x = [1.0, 2.0, 3.0, 4.0, 10.0, 20.0, 30.0, 40.0, 0.0];
        let mut y = [0.0; 2];
        // spatial = 9 / 2 = 4; the trailing value is ignored.
        global_avg_pool_forward(2, &x, &mut y);
        assert_eq!(y, [2.5, 25.0]);
        let mut dx = [9.0; 8];
        global_avg_pool_backward(2, &[1.0, -2.0], &mut dx);
        assert_eq!(dx, [0.25, 0.25, 0.25, 0.25, -0.5, -0.5, -0.5, -0.5]);
        // channels == 0 writes nothing.
        global_avg_pool_forward(0, &x, &mut y);
        global_avg_pool_backward(0, &[1.0], &mut dx);
        assert_eq!(y, [2.5, 25.0]);

        let mut rng = Rng::new(13);
        let mut x = [0.0f32; 15];
        let mut c = [0.0f32; 3];
        x.iter_mut().for_each(|v| *v = rng.normal());
        c.iter_mut().for_each(|v| *v = rng.normal());
        let mut dx = [0.0; 15];
        global_avg_pool_backward(3, &c, &mut dx);
        for (i, &a) in dx.iter().enumerate() {
            let n = numeric(&mut x, i, |x| {
                let mut y = [0.0; 3];
                global_avg_pool_forward(3, x, &mut y);
                objective(&c, &y)
            });
            assert_grad(a, n, "global avg pool dx");
        }
    }
}
