//! Normalisation kernels (batch norm, layer norm) and inverted dropout.
//!
//! Statistics are computed in `f32` with one accumulator starting at `0.0`, summed in the
//! stated index order; `inv_std = 1.0 / sqrt(var + eps)` with [`crate::math::sqrt`] (libm,
//! exact); no fused multiply-add. Each function states the order of its operations, written
//! left to right as Rust evaluates them (`a * b * c` is `(a * b) * c`).
//!
//! Slices shorter than the stated shapes never panic: the batch-norm kernels and the layer
//! norm's parameter slices are checked first and a kernel writes nothing when one is short;
//! layer norm walks the whole groups of `d` that its sample slices share.

use super::reduce::sum;
use crate::math;
use crate::rng::Rng;

/// `1.0 / sqrt(var + eps)`.
#[inline]
fn inv_std(var: f32, eps: f32) -> f32 {
    1.0 / math::sqrt(var + eps)
}

/// `(N, total) = (batch * spatial, batch * channels * spatial)`, `None` when either is 0 or
/// overflows.
fn bn_shape(batch: usize, channels: usize, spatial: usize) -> Option<(usize, usize)> {
    let n = batch.checked_mul(spatial)?;
    let total = n.checked_mul(channels)?;
    (total != 0).then_some((n, total))
}

/// Channels whose sums run side by side in the train-mode kernels (independent sums, so
/// they overlap in the pipeline; each still adds its values in its own order).
const SIDE_BY_SIDE: usize = 8;

/// Calls `f(j, i)` for every element `i` of channels `c0..c0 + cb` (`j = c - c0`) of a
/// sample-major `[batch][channels][spatial]` buffer: `n` ascending, then `s` ascending, the
/// channels side by side at each `(n, s)`, so that each channel's elements come in its
/// sums' order (`n`, then `s`).
#[inline(always)]
fn each_in_block(
    batch: usize,
    channels: usize,
    spatial: usize,
    c0: usize,
    cb: usize,
    mut f: impl FnMut(usize, usize),
) {
    for n in 0..batch {
        let base = (n * channels + c0) * spatial;
        for s in 0..spatial {
            for j in 0..cb {
                f(j, base + j * spatial + s);
            }
        }
    }
}

/// Calls `f(i)` for every element `i` of channel `c`, `n` ascending, then `s`.
#[inline(always)]
fn each_in_channel(
    batch: usize,
    channels: usize,
    spatial: usize,
    c: usize,
    mut f: impl FnMut(usize),
) {
    for n in 0..batch {
        let base = (n * channels + c) * spatial;
        for i in base..base + spatial {
            f(i);
        }
    }
}

/// Batch norm, train mode, over a minibatch laid out sample-major: `x[n][c][s]` with `batch`
/// samples, `channels` channels and `spatial` values per channel (1 for `BatchNorm1d` on
/// `[C]` samples, `H*W` for `BatchNorm2d`, `L` for `BatchNorm1d` on `[C, L]`).
///
/// For each channel `c`, with `N = batch * spatial` and sums over `n` ascending then `s`
/// ascending, one accumulator from `0.0`:
/// - `mean[c] = (sum x) / N`
/// - `var[c] = (sum (x - mean[c]) * (x - mean[c])) / N` (biased, two-pass)
/// - `inv_std = 1.0 / sqrt(var[c] + eps)`
/// - `y = (x - mean[c]) * inv_std * gamma[c] + beta[c]`
///
/// `N` is converted to `f32` once. `mean` and `var` (biased) are written for the backward
/// pass and [`batchnorm_update_running`].
///
/// Shapes: `x`, `y`: `batch * channels * spatial`; `gamma`, `beta`, `mean`, `var`: `channels`.
/// Nothing is written when a slice is shorter or `batch * channels * spatial` is 0 or
/// overflows.
#[allow(clippy::too_many_arguments)]
pub fn batchnorm_train_forward(
    batch: usize,
    channels: usize,
    spatial: usize,
    x: &[f32],
    gamma: &[f32],
    beta: &[f32],
    eps: f32,
    mean: &mut [f32],
    var: &mut [f32],
    y: &mut [f32],
) {
    let Some((n, total)) = bn_shape(batch, channels, spatial) else {
        return;
    };
    if x.len() < total
        || y.len() < total
        || [gamma.len(), beta.len(), mean.len(), var.len()].iter().any(|&l| l < channels)
    {
        return;
    }
    let nf = n as f32;
    let mut c0 = 0;
    while c0 < channels {
        let cb = SIDE_BY_SIDE.min(channels - c0);
        let mut sums = [0.0f32; SIDE_BY_SIDE];
        each_in_block(batch, channels, spatial, c0, cb, |j, i| sums[j] += x[i]);
        let m = sums.map(|acc| acc / nf);
        let mut sums = [0.0f32; SIDE_BY_SIDE];
        each_in_block(batch, channels, spatial, c0, cb, |j, i| {
            let d = x[i] - m[j];
            sums[j] += d * d;
        });
        let v = sums.map(|acc| acc / nf);
        for j in 0..cb {
            let (c, m, v) = (c0 + j, m[j], v[j]);
            let inv = inv_std(v, eps);
            each_in_channel(batch, channels, spatial, c, |i| {
                y[i] = (x[i] - m) * inv * gamma[c] + beta[c];
            });
            mean[c] = m;
            var[c] = v;
        }
        c0 += cb;
    }
}

/// Running-statistics update after a train-mode forward (PyTorch's `momentum`, default 0.1):
/// - `running_mean[c] = (1.0 - momentum) * running_mean[c] + momentum * mean[c]`
/// - `running_var[c] = (1.0 - momentum) * running_var[c] + momentum * unbiased`, with
///   `unbiased = var[c] * N / (N - 1)` (left to right, `N` and `N - 1` converted to `f32`),
///   `N = n = batch * spatial` and `var` the biased batch variance.
///
/// `n == 1` (PyTorch raises "Expected more than 1 value per channel when training"): the
/// mean is updated and `running_var` is left unchanged (no division by zero). `n == 0`:
/// nothing changes. Runs over the channels all four slices hold.
pub fn batchnorm_update_running(
    n: usize,
    momentum: f32,
    mean: &[f32],
    var: &[f32],
    running_mean: &mut [f32],
    running_var: &mut [f32],
) {
    if n == 0 {
        return;
    }
    let keep = 1.0 - momentum;
    for (rm, &m) in running_mean.iter_mut().zip(mean).take(var.len().min(running_var.len())) {
        *rm = keep * *rm + momentum * m;
    }
    if n == 1 {
        return;
    }
    let (nf, nm1) = (n as f32, (n - 1) as f32);
    for (rv, &v) in running_var.iter_mut().zip(var).take(mean.len().min(running_mean.len())) {
        let unbiased = v * nf / nm1;
        *rv = keep * *rv + momentum * unbiased;
    }
}

/// Batch norm backward, train mode, given the `mean` and (biased) `var` that the forward
/// wrote (the batch statistics depend on every input, and this gradient includes that).
///
/// For each channel `c`, with `N = batch * spatial`, `inv_std = 1.0 / sqrt(var[c] + eps)`,
/// `xhat = (x - mean[c]) * inv_std` (recomputed as in the forward), and sums over `n`
/// ascending then `s` ascending, each from `0.0`:
/// - `sum_dy = sum dy`, `sum_dy_xhat = sum dy * xhat`
/// - `dgamma[c] += sum_dy_xhat`, `dbeta[c] += sum_dy` (ADDED, one addition each)
/// - `dx = k * (N * dy - sum_dy - xhat * sum_dy_xhat)` with `k = gamma[c] * inv_std / N`
///   (OVERWRITTEN; `dx` may be `None` for a first layer).
///
/// Shapes: `x`, `dy`, `dx`: `batch * channels * spatial`; `gamma`, `mean`, `var`, `dgamma`,
/// `dbeta`: `channels`. Nothing is written when a slice is shorter or the total is 0 or
/// overflows.
#[allow(clippy::too_many_arguments)]
pub fn batchnorm_train_backward(
    batch: usize,
    channels: usize,
    spatial: usize,
    x: &[f32],
    gamma: &[f32],
    eps: f32,
    mean: &[f32],
    var: &[f32],
    dy: &[f32],
    mut dx: Option<&mut [f32]>,
    dgamma: &mut [f32],
    dbeta: &mut [f32],
) {
    let Some((n, total)) = bn_shape(batch, channels, spatial) else {
        return;
    };
    if x.len() < total
        || dy.len() < total
        || dx.as_deref().is_some_and(|d| d.len() < total)
        || [gamma.len(), mean.len(), var.len(), dgamma.len(), dbeta.len()]
            .iter()
            .any(|&l| l < channels)
    {
        return;
    }
    let nf = n as f32;
    let mut c0 = 0;
    while c0 < channels {
        let cb = SIDE_BY_SIDE.min(channels - c0);
        // channels past `cb` are never read
        let m: [f32; SIDE_BY_SIDE] = core::array::from_fn(|j| mean[(c0 + j).min(channels - 1)]);
        let inv: [f32; SIDE_BY_SIDE] =
            core::array::from_fn(|j| inv_std(var[(c0 + j).min(channels - 1)], eps));
        let (mut sum_dy, mut sum_dy_xhat) = ([0.0f32; SIDE_BY_SIDE], [0.0f32; SIDE_BY_SIDE]);
        each_in_block(batch, channels, spatial, c0, cb, |j, i| {
            let xhat = (x[i] - m[j]) * inv[j];
            sum_dy[j] += dy[i];
            sum_dy_xhat[j] += dy[i] * xhat;
        });
        for j in 0..cb {
            let c = c0 + j;
            let (m, inv, sum_dy, sum_dy_xhat) = (m[j], inv[j], sum_dy[j], sum_dy_xhat[j]);
            dgamma[c] += sum_dy_xhat;
            dbeta[c] += sum_dy;
            if let Some(dx) = dx.as_deref_mut() {
                let k = gamma[c] * inv / nf;
                each_in_channel(batch, channels, spatial, c, |i| {
                    let xhat = (x[i] - m) * inv;
                    dx[i] = k * (nf * dy[i] - sum_dy - xhat * sum_dy_xhat);
                });
            }
        }
        c0 += cb;
    }
}

/// Checks the per-channel slices of the eval kernels; returns `spatial = x.len() / channels`
/// (`None` when it is 0 or a per-channel slice is short).
fn eval_spatial(channels: usize, x: &[f32], per_channel: &[usize]) -> Option<usize> {
    let spatial = x.len().checked_div(channels)?;
    (spatial != 0 && per_channel.iter().all(|&l| l >= channels)).then_some(spatial)
}

/// Batch norm, eval mode, for ONE sample `x[c][s]` (`spatial = x.len() / channels`), with
/// the running statistics. Exact order of operations, per channel:
/// - `inv_std = 1.0 / sqrt(running_var[c] + eps)` (once per channel)
/// - `y = (((x - running_mean[c]) * inv_std) * gamma[c]) + beta[c]`
///
/// A batch norm folded into a preceding convolution or dense layer (`w' = w * s`,
/// `b' = (b - running_mean) * s + beta`, `s = inv_std * gamma`) equals this only up to
/// rounding; to reproduce it bit for bit, apply these four operations to the layer output.
/// (PyTorch's CPU kernel computes `x * (inv_std * gamma) + (beta - mean * inv_std * gamma)`,
/// equal up to rounding.)
///
/// Shapes: `x`, `y`: `channels * spatial`; `gamma`, `beta`, `running_mean`, `running_var`:
/// `channels`. Nothing is written when a per-channel slice is short or `spatial` is 0;
/// `y` is written over the whole channels it holds.
#[allow(clippy::too_many_arguments)]
pub fn batchnorm_eval_forward(
    channels: usize,
    x: &[f32],
    gamma: &[f32],
    beta: &[f32],
    running_mean: &[f32],
    running_var: &[f32],
    eps: f32,
    y: &mut [f32],
) {
    let lens = [gamma.len(), beta.len(), running_mean.len(), running_var.len()];
    let Some(spatial) = eval_spatial(channels, x, &lens) else {
        return;
    };
    for (c, (xc, yc)) in x.chunks_exact(spatial).zip(y.chunks_exact_mut(spatial)).enumerate() {
        if c >= channels {
            break;
        }
        let (m, inv, g, b) = (running_mean[c], inv_std(running_var[c], eps), gamma[c], beta[c]);
        for (o, &v) in yc.iter_mut().zip(xc) {
            *o = (v - m) * inv * g + b;
        }
    }
}

/// Batch norm backward, eval mode, for one sample (running statistics are constants).
/// Per channel, with `inv_std = 1.0 / sqrt(running_var[c] + eps)` and
/// `xhat = (x - running_mean[c]) * inv_std`, sums over `s` ascending from `0.0`:
/// - `dgamma[c] += sum dy * xhat`, `dbeta[c] += sum dy` (ADDED, one addition each)
/// - `dx = dy * (gamma[c] * inv_std)` (OVERWRITTEN; `dx` may be `None`).
///
/// Shapes as [`batchnorm_eval_forward`] (`spatial = x.len() / channels`; `dy` and `dx` hold
/// `channels * spatial`). Nothing is written when `dy`, `dx` or a per-channel slice is short
/// or `spatial` is 0.
#[allow(clippy::too_many_arguments)]
pub fn batchnorm_eval_backward(
    channels: usize,
    x: &[f32],
    gamma: &[f32],
    running_mean: &[f32],
    running_var: &[f32],
    eps: f32,
    dy: &[f32],
    mut dx: Option<&mut [f32]>,
    dgamma: &mut [f32],
    dbeta: &mut [f32],
) {
    let lens = [gamma.len(), running_mean.len(), running_var.len(), dgamma.len(), dbeta.len()];
    let Some(spatial) = eval_spatial(channels, x, &lens) else {
        return;
    };
    let total = channels * spatial;
    if dy.len() < total || dx.as_deref().is_some_and(|d| d.len() < total) {
        return;
    }
    for c in 0..channels {
        let (m, inv) = (running_mean[c], inv_std(running_var[c], eps));
        let range = c * spatial..(c + 1) * spatial;
        let (xc, dyc) = (&x[range.clone()], &dy[range.clone()]);
        let (mut sum_dy, mut sum_dy_xhat) = (0.0, 0.0);
        for (&v, &d) in xc.iter().zip(dyc) {
            sum_dy += d;
            sum_dy_xhat += d * ((v - m) * inv);
        }
        dgamma[c] += sum_dy_xhat;
        dbeta[c] += sum_dy;
        if let Some(dx) = dx.as_deref_mut() {
            let k = gamma[c] * inv;
            for (o, &d) in dx[range].iter_mut().zip(dyc) {
                *o = d * k;
            }
        }
    }
}

/// `(mean, inv_std)` of one group: `mean = (sum x) / d`,
/// `var = (sum (x - mean) * (x - mean)) / d` (biased), sums in index order from `0.0`.
fn group_moments(xg: &[f32], eps: f32) -> (f32, f32) {
    let nf = xg.len() as f32;
    let mean = sum(xg) / nf;
    let mut acc = 0.0;
    for &v in xg {
        let t = v - mean;
        acc += t * t;
    }
    (mean, inv_std(acc / nf, eps))
}

/// Layer norm of ONE sample over its trailing `d` values (`x.len()` a multiple of `d`; each
/// group of `d` consecutive values is normalised separately), PyTorch's `LayerNorm(d)` with
/// `elementwise_affine=True`. Per group, sums in index order from `0.0`:
/// - `mean = (sum x) / d`, `var = (sum (x - mean) * (x - mean)) / d` (biased)
/// - `inv_std = 1.0 / sqrt(var + eps)`
/// - `y[i] = (x[i] - mean) * inv_std * weight[i] + bias[i]`
///
/// Shapes: `weight`, `bias`: `d`; `x`, `y`: groups of `d`. Nothing is written when `d` is 0 or
/// `weight` / `bias` are short; otherwise the whole groups `x` and `y` share are written.
pub fn layernorm_forward(
    d: usize,
    x: &[f32],
    weight: &[f32],
    bias: &[f32],
    eps: f32,
    y: &mut [f32],
) {
    if d == 0 || weight.len() < d || bias.len() < d {
        return;
    }
    for (xg, yg) in x.chunks_exact(d).zip(y.chunks_exact_mut(d)) {
        let (mean, inv) = group_moments(xg, eps);
        for (((o, &v), &w), &b) in yg.iter_mut().zip(xg).zip(weight).zip(bias) {
            *o = (v - mean) * inv * w + b;
        }
    }
}

/// Layer norm backward for one sample (mean and variance recomputed from `x` as in the
/// forward). Per group, with `xhat[i] = (x[i] - mean) * inv_std` and `g[i] = dy[i] * weight[i]`:
/// - `dweight[i] += dy[i] * xhat[i]`, `dbias[i] += dy[i]` (ADDED, one addition per group,
///   groups in order)
/// - `sum_g = sum g`, `sum_g_xhat = sum g * xhat` (index order from `0.0`)
/// - `dx[i] = k * (d * g[i] - sum_g - xhat[i] * sum_g_xhat)`, `k = inv_std / d`
///   (OVERWRITTEN; `dx` may be `None`).
///
/// Shapes: `weight`, `dweight`, `dbias`: `d`; `x`, `dy`, `dx`: groups of `d`. Nothing is
/// written when `d` is 0 or a parameter slice is short; otherwise the whole groups `x` and
/// `dy` share are processed (`dx` only for the groups it holds).
#[allow(clippy::too_many_arguments)]
pub fn layernorm_backward(
    d: usize,
    x: &[f32],
    weight: &[f32],
    eps: f32,
    dy: &[f32],
    mut dx: Option<&mut [f32]>,
    dweight: &mut [f32],
    dbias: &mut [f32],
) {
    if d == 0 || weight.len() < d || dweight.len() < d || dbias.len() < d {
        return;
    }
    let nf = d as f32;
    for (gi, (xg, dyg)) in x.chunks_exact(d).zip(dy.chunks_exact(d)).enumerate() {
        let (mean, inv) = group_moments(xg, eps);
        let (mut sum_g, mut sum_g_xhat) = (0.0, 0.0);
        for (((&v, &gy), &w), (dw, db)) in
            xg.iter().zip(dyg).zip(weight).zip(dweight.iter_mut().zip(dbias.iter_mut()))
        {
            let xhat = (v - mean) * inv;
            *dw += gy * xhat;
            *db += gy;
            let g = gy * w;
            sum_g += g;
            sum_g_xhat += g * xhat;
        }
        if let Some(dxg) = dx.as_deref_mut().and_then(|dx| dx.get_mut(gi * d..(gi + 1) * d)) {
            let k = inv / nf;
            for (((o, &v), &gy), &w) in dxg.iter_mut().zip(xg).zip(dyg).zip(weight) {
                let xhat = (v - mean) * inv;
                *o = k * (nf * (gy * w) - sum_g - xhat * sum_g_xhat);
            }
        }
    }
}

/// Inverted dropout mask for one sample: for each `i` in index order, one draw
/// `rng.uniform() < p` drops (`mask[i] = 0.0`), otherwise `mask[i] = 1.0 / (1.0 - p)`.
///
/// `p <= 0` (or NaN) draws nothing and writes all ones (the generator is untouched);
/// `p >= 1` draws as usual and drops everything (all zeros, never `inf`). Apply with
/// [`apply_mask`]. The stream differs from PyTorch's generator; only the distribution
/// (Bernoulli keep `1 - p`, scale `1 / (1 - p)`) matches.
pub fn dropout_mask(p: f32, rng: &mut Rng, mask: &mut [f32]) {
    if p > 0.0 {
        let keep = 1.0 / (1.0 - p);
        for m in mask.iter_mut() {
            *m = if rng.uniform() < p { 0.0 } else { keep };
        }
    } else {
        mask.fill(1.0);
    }
}

/// `y[i] = x[i] * mask[i]`: dropout forward, and its backward (`dx = dy * mask`).
#[inline]
pub fn apply_mask(mask: &[f32], x: &[f32], y: &mut [f32]) {
    for ((o, &v), &m) in y.iter_mut().zip(x).zip(mask) {
        *o = v * m;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// `(y, mean, var, dx, dgamma, dbeta)`.
    type Outputs = (Vec<f32>, Vec<f32>, Vec<f32>, Vec<f32>, Vec<f32>, Vec<f32>);

    /// The train-mode kernels as the formulas read, one channel after another: the oracle
    /// of the side-by-side channels, which must give the same bits.
    fn one_channel_at_a_time(
        (batch, channels, spatial): (usize, usize, usize),
        x: &[f32],
        dy: &[f32],
        gamma: &[f32],
        beta: &[f32],
        eps: f32,
    ) -> Outputs {
        let nf = (batch * spatial) as f32;
        let idx = |c: usize| {
            (0..batch)
                .flat_map(move |n| (n * channels + c) * spatial..(n * channels + c + 1) * spatial)
        };
        let (mut y, mut dx) = (vec![0.0; x.len()], vec![0.0; x.len()]);
        let (mut mean, mut var, mut dgamma, mut dbeta) = (vec![], vec![], vec![], vec![]);
        for c in 0..channels {
            let mut acc = 0.0;
            idx(c).for_each(|i| acc += x[i]);
            let m = acc / nf;
            let mut acc = 0.0;
            idx(c).for_each(|i| acc += (x[i] - m) * (x[i] - m));
            let v = acc / nf;
            let inv = inv_std(v, eps);
            idx(c).for_each(|i| y[i] = (x[i] - m) * inv * gamma[c] + beta[c]);
            let (mut sdy, mut sdyx) = (0.0, 0.0);
            idx(c).for_each(|i| {
                sdy += dy[i];
                sdyx += dy[i] * ((x[i] - m) * inv);
            });
            let k = gamma[c] * inv / nf;
            idx(c).for_each(|i| dx[i] = k * (nf * dy[i] - sdy - (x[i] - m) * inv * sdyx));
            mean.push(m);
            var.push(v);
            dgamma.push(sdyx);
            dbeta.push(sdy);
        }
        (y, mean, var, dx, dgamma, dbeta)
    }

    #[test]
    fn side_by_side_channels_equal_one_channel_at_a_time() {
        let mut rng = Rng::new(17);
        for (batch, channels, spatial) in [(1, 1, 5), (3, 7, 4), (2, 8, 9), (4, 9, 1), (5, 17, 6)] {
            let len = batch * channels * spatial;
            let x: Vec<f32> =
                (0..len).map(|k| if k % 7 == 0 { -0.0 } else { 3.0 * rng.normal() }).collect();
            let dy: Vec<f32> = (0..len).map(|_| rng.normal()).collect();
            let gamma: Vec<f32> = (0..channels).map(|_| rng.normal()).collect();
            let beta: Vec<f32> = (0..channels).map(|_| rng.normal()).collect();
            let (mut y, mut mean, mut var) =
                (vec![0.0; len], vec![0.0; channels], vec![0.0; channels]);
            batchnorm_train_forward(
                batch, channels, spatial, &x, &gamma, &beta, 1e-5, &mut mean, &mut var, &mut y,
            );
            let (mut dx, mut dgamma, mut dbeta) =
                (vec![0.0; len], vec![0.0; channels], vec![0.0; channels]);
            batchnorm_train_backward(
                batch,
                channels,
                spatial,
                &x,
                &gamma,
                1e-5,
                &mean,
                &var,
                &dy,
                Some(&mut dx),
                &mut dgamma,
                &mut dbeta,
            );
            let want =
                one_channel_at_a_time((batch, channels, spatial), &x, &dy, &gamma, &beta, 1e-5);
            let bits = |v: &[f32]| v.iter().map(|f| f.to_bits()).collect::<Vec<_>>();
            let case = format!("{batch}x{channels}x{spatial}");
            assert_eq!(bits(&y), bits(&want.0), "y {case}");
            assert_eq!(bits(&mean), bits(&want.1), "mean {case}");
            assert_eq!(bits(&var), bits(&want.2), "var {case}");
            assert_eq!(bits(&dx), bits(&want.3), "dx {case}");
            assert_eq!(bits(&dgamma), bits(&want.4), "dgamma {case}");
            assert_eq!(bits(&dbeta), bits(&want.5), "dbeta {case}");
        }
    }

    /// `sum_i c[i] * y[i]` in f64 (the finite-difference objective).
    fn objective(c: &[f32], y: &[f32]) -> f64 {
        c.iter().zip(y).map(|(&a, &b)| f64::from(a) * f64::from(b)).sum()
    }

    /// Central difference of `f` at `v[i]`, h = 1e-2 (divided by the f32 step actually taken).
    fn numeric(v: &mut [f32], i: usize, f: impl Fn(&[f32]) -> f64) -> f32 {
        let orig = v[i];
        let (up_v, down_v) = (orig + 1e-2, orig - 1e-2);
        v[i] = up_v;
        let up = f(v);
        v[i] = down_v;
        let down = f(v);
        v[i] = orig;
        ((up - down) / (f64::from(up_v) - f64::from(down_v))) as f32
    }

    fn assert_grad(analytic: f32, numeric: f32, what: &str) {
        let tol = 2e-3 + 2e-2 * numeric.abs();
        assert!(
            (analytic - numeric).abs() <= tol,
            "{what}: analytic {analytic}, numeric {numeric}"
        );
    }

    fn fill_normal(rng: &mut Rng, v: &mut [f32]) {
        v.iter_mut().for_each(|x| *x = rng.normal());
    }

    fn close(a: &[f32], b: &[f32], tol: f32) -> bool {
        a.len() == b.len() && a.iter().zip(b).all(|(x, y)| (x - y).abs() <= tol)
    }

    #[test]
    fn batchnorm_train_forward_by_hand() {
        // batch 2, channels 2, spatial 1: x[n][c] = [[1, 10], [3, 14]].
        // c0: mean 2, var 1; c1: mean 12, var 4; eps 0 -> xhat = [-1, 1] in both.
        let x = [1.0, 10.0, 3.0, 14.0];
        let (gamma, beta) = ([2.0, 1.0], [0.5, -1.0]);
        let (mut mean, mut var, mut y) = ([0.0; 2], [0.0; 2], [0.0; 4]);
        batchnorm_train_forward(2, 2, 1, &x, &gamma, &beta, 0.0, &mut mean, &mut var, &mut y);
        assert_eq!((mean, var), ([2.0, 12.0], [1.0, 4.0]));
        assert_eq!(y, [-1.5, -2.0, 2.5, 0.0]);

        // batch 2, channels 1, spatial 2 (x[n][0][s]): values 1, 3, 5, 7: mean 4, var 5.
        let x = [1.0, 3.0, 5.0, 7.0];
        let (mut mean, mut var, mut y) = ([0.0; 1], [0.0; 1], [0.0; 4]);
        batchnorm_train_forward(2, 1, 2, &x, &[1.0], &[0.0], 0.0, &mut mean, &mut var, &mut y);
        assert_eq!((mean, var), ([4.0], [5.0]));
        let s = 1.0 / math::sqrt(5.0);
        assert!(close(&y, &[-3.0 * s, -s, s, 3.0 * s], 1e-6), "{y:?}");

        // Short slices write nothing.
        let x = [1.0, 10.0, 3.0, 14.0];
        let (mut mean, mut var, mut y) = ([9.0; 2], [9.0; 2], [9.0; 4]);
        batchnorm_train_forward(2, 2, 1, &x[..3], &gamma, &beta, 0.0, &mut mean, &mut var, &mut y);
        batchnorm_train_forward(2, 2, 1, &x, &gamma[..1], &beta, 0.0, &mut mean, &mut var, &mut y);
        batchnorm_train_forward(0, 2, 1, &x, &gamma, &beta, 0.0, &mut mean, &mut var, &mut y);
        batchnorm_train_forward(2, 2, 1, &x, &gamma, &beta, 0.0, &mut mean[..1], &mut var, &mut y);
        assert_eq!((mean, var, y), ([9.0; 2], [9.0; 2], [9.0; 4]));
        batchnorm_train_forward(2, 2, 1, &x, &gamma, &beta, 0.0, &mut mean, &mut var, &mut y);
        assert_eq!(y, [-1.5, -2.0, 2.5, 0.0]);
    }

    #[test]
    fn batchnorm_running_update_by_hand() {
        // n = 2: unbiased var = 2 * var. momentum 0.1.
        let (mut rm, mut rv) = ([0.0, 1.0], [1.0, 1.0]);
        batchnorm_update_running(2, 0.1, &[2.0, 12.0], &[1.0, 4.0], &mut rm, &mut rv);
        // rm = 0.9 * [0, 1] + 0.1 * [2, 12] = [0.2, 2.1]
        // rv = 0.9 * [1, 1] + 0.1 * [2, 8] = [1.1, 1.7] (biased would give [1.0, 1.3])
        assert!(close(&rm, &[0.2, 2.1], 1e-6), "{rm:?}");
        assert!(close(&rv, &[1.1, 1.7], 1e-6), "{rv:?}");

        // n = 5, momentum 0.5: unbiased = 4 * 5 / 4 = 5; rv = 0.5 * 3 + 0.5 * 5 = 4.
        let (mut rm, mut rv) = ([1.0], [3.0]);
        batchnorm_update_running(5, 0.5, &[3.0], &[4.0], &mut rm, &mut rv);
        assert_eq!((rm, rv), ([2.0], [4.0]));

        // n = 1: mean updated, variance unchanged (finite).
        let (mut rm, mut rv) = ([0.0], [1.0]);
        batchnorm_update_running(1, 0.1, &[5.0], &[0.0], &mut rm, &mut rv);
        assert_eq!((rm, rv), ([0.5], [1.0]));
        // n = 0: nothing.
        batchnorm_update_running(0, 0.1, &[5.0], &[3.0], &mut rm, &mut rv);
        assert_eq!((rm, rv), ([0.5], [1.0]));
    }

    const B: usize = 3;
    const C: usize = 2;
    const S: usize = 4;
    const T: usize = B * C * S;

    /// Train-mode objective `sum c * y` over the whole batch (batch stats recomputed).
    fn bn_train_objective(x: &[f32], gamma: &[f32], beta: &[f32], c: &[f32]) -> f64 {
        let (mut mean, mut var, mut y) = ([0.0; C], [0.0; C], [0.0; T]);
        batchnorm_train_forward(B, C, S, x, gamma, beta, 1e-5, &mut mean, &mut var, &mut y);
        objective(c, &y)
    }

    #[test]
    fn batchnorm_train_gradient_matches_finite_differences() {
        let mut rng = Rng::new(21);
        let (mut x, mut c) = ([0.0f32; T], [0.0f32; T]);
        let (mut gamma, mut beta) = ([0.0f32; C], [0.0f32; C]);
        fill_normal(&mut rng, &mut x);
        fill_normal(&mut rng, &mut c);
        fill_normal(&mut rng, &mut gamma);
        fill_normal(&mut rng, &mut beta);
        // Different scale and offset per channel.
        for (i, v) in x.iter_mut().enumerate() {
            if (i / S) % C == 1 {
                *v = 3.0 * *v + 2.0;
            }
        }
        let (mut mean, mut var, mut y) = ([0.0; C], [0.0; C], [0.0; T]);
        batchnorm_train_forward(B, C, S, &x, &gamma, &beta, 1e-5, &mut mean, &mut var, &mut y);
        let (mut dx, mut dgamma, mut dbeta) = ([0.0; T], [0.0; C], [0.0; C]);
        batchnorm_train_backward(
            B,
            C,
            S,
            &x,
            &gamma,
            1e-5,
            &mean,
            &var,
            &c,
            Some(&mut dx),
            &mut dgamma,
            &mut dbeta,
        );
        for (i, &a) in dx.iter().enumerate() {
            let n = numeric(&mut x, i, |x| bn_train_objective(x, &gamma, &beta, &c));
            assert_grad(a, n, "batchnorm train dx");
        }
        for ch in 0..C {
            let n = numeric(&mut gamma, ch, |g| bn_train_objective(&x, g, &beta, &c));
            assert_grad(dgamma[ch], n, "batchnorm train dgamma");
            let n = numeric(&mut beta, ch, |b| bn_train_objective(&x, &gamma, b, &c));
            assert_grad(dbeta[ch], n, "batchnorm train dbeta");
            // The batch-stat terms make every channel's dx sum to zero.
            let s: f32 = (0..T).filter(|i| (i / S) % C == ch).map(|i| dx[i]).sum();
            assert!(s.abs() < 1e-4, "channel {ch}: sum dx = {s}");
        }
    }

    #[test]
    fn batchnorm_train_backward_accumulates_and_dx_is_optional() {
        let mut rng = Rng::new(22);
        let (mut x, mut dy) = ([0.0f32; T], [0.0f32; T]);
        fill_normal(&mut rng, &mut x);
        fill_normal(&mut rng, &mut dy);
        let gamma = [1.5, -0.5];
        let (mut mean, mut var, mut y) = ([0.0; C], [0.0; C], [0.0; T]);
        batchnorm_train_forward(B, C, S, &x, &gamma, &[0.0; C], 1e-5, &mut mean, &mut var, &mut y);
        let (mut dx, mut dg1, mut db1) = ([7.0; T], [0.0; C], [0.0; C]);
        batchnorm_train_backward(
            B,
            C,
            S,
            &x,
            &gamma,
            1e-5,
            &mean,
            &var,
            &dy,
            Some(&mut dx),
            &mut dg1,
            &mut db1,
        );
        let (mut dg2, mut db2) = ([1.0; C], [-1.0; C]);
        batchnorm_train_backward(
            B, C, S, &x, &gamma, 1e-5, &mean, &var, &dy, None, &mut dg2, &mut db2,
        );
        for ch in 0..C {
            assert_eq!(dg2[ch], 1.0 + dg1[ch]);
            assert_eq!(db2[ch], -1.0 + db1[ch]);
        }
        // dbeta is the plain per-channel sum of dy, n then s.
        let mut want = 0.0;
        for n in 0..B {
            for s in 0..S {
                want += dy[n * C * S + s];
            }
        }
        assert_eq!(db1[0], want);
        assert!(dx.iter().all(|v| *v != 7.0));
    }

    #[test]
    fn batchnorm_eval_forward_by_hand() {
        // channels 2, spatial 2; running var + eps = 4 and 0.25 -> inv_std 0.5 and 2.
        let x = [3.0, 5.0, -1.0, 0.0];
        let (gamma, beta) = ([2.0, -1.0], [1.0, 0.5]);
        let (rm, rv) = ([1.0, -0.5], [4.0, 0.25]);
        let mut y = [0.0; 4];
        batchnorm_eval_forward(2, &x, &gamma, &beta, &rm, &rv, 0.0, &mut y);
        // c0: (3-1)*0.5*2+1 = 3, (5-1)*0.5*2+1 = 5; c1: (-1+0.5)*2*-1+0.5 = 1.5, (0+0.5)*2*-1+0.5 = -0.5
        assert_eq!(y, [3.0, 5.0, 1.5, -0.5]);
        let mut dx = [0.0; 4];
        let (mut dg, mut db) = ([0.0; 2], [0.0; 2]);
        batchnorm_eval_backward(
            2,
            &x,
            &gamma,
            &rm,
            &rv,
            0.0,
            &[1.0, 2.0, 3.0, 4.0],
            Some(&mut dx),
            &mut dg,
            &mut db,
        );
        // dx = dy * gamma * inv_std; dgamma = sum dy * xhat, xhat = [1, 2, -1, 1].
        assert_eq!(dx, [1.0, 2.0, -6.0, -8.0]);
        assert_eq!((dg, db), ([5.0, 1.0], [3.0, 7.0]));
        // Short per-channel slice: nothing written.
        let mut y = [9.0; 4];
        batchnorm_eval_forward(2, &x, &gamma, &beta[..1], &rm, &rv, 0.0, &mut y);
        assert_eq!(y, [9.0; 4]);
    }

    #[test]
    fn batchnorm_eval_gradient_matches_finite_differences() {
        const N: usize = C * S;
        let mut rng = Rng::new(23);
        let (mut x, mut c) = ([0.0f32; N], [0.0f32; N]);
        let (mut gamma, mut beta, mut rm) = ([0.0f32; C], [0.0f32; C], [0.0f32; C]);
        fill_normal(&mut rng, &mut x);
        fill_normal(&mut rng, &mut c);
        fill_normal(&mut rng, &mut gamma);
        fill_normal(&mut rng, &mut beta);
        fill_normal(&mut rng, &mut rm);
        let rv = [0.7, 2.5];
        let f = |x: &[f32], g: &[f32], b: &[f32]| {
            let mut y = [0.0; N];
            batchnorm_eval_forward(C, x, g, b, &rm, &rv, 1e-5, &mut y);
            objective(&c, &y)
        };
        let (mut dx, mut dg, mut db) = ([0.0; N], [0.0; C], [0.0; C]);
        batchnorm_eval_backward(C, &x, &gamma, &rm, &rv, 1e-5, &c, Some(&mut dx), &mut dg, &mut db);
        for (i, &a) in dx.iter().enumerate() {
            let n = numeric(&mut x, i, |x| f(x, &gamma, &beta));
            assert_grad(a, n, "batchnorm eval dx");
        }
        for ch in 0..C {
            let n = numeric(&mut gamma, ch, |g| f(&x, g, &beta));
            assert_grad(dg[ch], n, "batchnorm eval dgamma");
            let n = numeric(&mut beta, ch, |b| f(&x, &gamma, b));
            assert_grad(db[ch], n, "batchnorm eval dbeta");
        }
    }

    #[test]
    fn layernorm_forward_by_hand() {
        // d = 2, two groups: [1, 3] (mean 2, var 1) and [5, 9] (mean 7, var 4); eps 0.
        let x = [1.0, 3.0, 5.0, 9.0];
        let (w, b) = ([2.0, 3.0], [0.0, 1.0]);
        let mut y = [0.0; 4];
        layernorm_forward(2, &x, &w, &b, 0.0, &mut y);
        assert_eq!(y, [-2.0, 4.0, -2.0, 4.0]);
        // d = 4 over the same values: mean 4.5, var 8.75.
        let mut y = [0.0; 4];
        layernorm_forward(4, &x, &[1.0; 4], &[0.0; 4], 0.0, &mut y);
        let s = 1.0 / math::sqrt(8.75);
        assert!(close(&y, &[-3.5 * s, -1.5 * s, 0.5 * s, 4.5 * s], 1e-6), "{y:?}");
        // Short weight / d = 0: nothing written.
        let mut y = [9.0; 4];
        layernorm_forward(2, &x, &w[..1], &b, 0.0, &mut y);
        layernorm_forward(0, &x, &w, &b, 0.0, &mut y);
        assert_eq!(y, [9.0; 4]);
    }

    #[test]
    fn layernorm_gradient_matches_finite_differences() {
        const D: usize = 5;
        const N: usize = 2 * D;
        let mut rng = Rng::new(24);
        let (mut x, mut c) = ([0.0f32; N], [0.0f32; N]);
        let (mut w, mut b) = ([0.0f32; D], [0.0f32; D]);
        fill_normal(&mut rng, &mut x);
        fill_normal(&mut rng, &mut c);
        fill_normal(&mut rng, &mut w);
        fill_normal(&mut rng, &mut b);
        let f = |x: &[f32], w: &[f32], b: &[f32]| {
            let mut y = [0.0; N];
            layernorm_forward(D, x, w, b, 1e-5, &mut y);
            objective(&c, &y)
        };
        let (mut dx, mut dw, mut db) = ([0.0; N], [0.0; D], [0.0; D]);
        layernorm_backward(D, &x, &w, 1e-5, &c, Some(&mut dx), &mut dw, &mut db);
        for (i, &a) in dx.iter().enumerate() {
            let n = numeric(&mut x, i, |x| f(x, &w, &b));
            assert_grad(a, n, "layernorm dx");
        }
        for i in 0..D {
            let n = numeric(&mut w, i, |w| f(&x, w, &b));
            assert_grad(dw[i], n, "layernorm dweight");
            let n = numeric(&mut b, i, |b| f(&x, &w, b));
            assert_grad(db[i], n, "layernorm dbias");
        }
        // Parameter gradients accumulate; dx is optional.
        let (mut dw2, mut db2) = ([1.0; D], [1.0; D]);
        layernorm_backward(D, &x, &w, 1e-5, &c, None, &mut dw2, &mut db2);
        for i in 0..D {
            assert!((dw2[i] - (1.0 + dw[i])).abs() <= 1e-6);
            assert!((db2[i] - (1.0 + db[i])).abs() <= 1e-6);
        }
    }

    #[test]
    fn dropout_p_zero_draws_nothing() {
        let mut rng = Rng::new(5);
        let mut mask = [3.0; 8];
        dropout_mask(0.0, &mut rng, &mut mask);
        assert_eq!(mask, [1.0; 8]);
        assert_eq!(rng, Rng::new(5));
        dropout_mask(-0.5, &mut rng, &mut mask);
        dropout_mask(f32::NAN, &mut rng, &mut mask);
        assert_eq!((mask, rng), ([1.0; 8], Rng::new(5)));
    }

    #[test]
    fn dropout_mask_reproducible_and_scaled() {
        let p = 0.25;
        let mut rng = Rng::new(6);
        let mut mask = [0.0f32; 4000];
        dropout_mask(p, &mut rng, &mut mask);
        // One draw per element, in index order.
        let mut replay = Rng::new(6);
        for &m in &mask {
            let want = if replay.uniform() < p { 0.0 } else { 1.0 / (1.0 - p) };
            assert_eq!(m, want);
        }
        assert_eq!(rng, replay);
        let dropped = mask.iter().filter(|&&m| m == 0.0).count();
        assert!((800..1200).contains(&dropped), "{dropped}");
        // Inverted dropout keeps the mean: E[mask] = 1.
        let mean = mask.iter().map(|&m| f64::from(m)).sum::<f64>() / 4000.0;
        assert!((mean - 1.0).abs() < 0.05, "{mean}");

        let mut y = [0.0; 3];
        apply_mask(&[0.0, 2.0, 2.0], &[5.0, -1.5, 4.0], &mut y);
        assert_eq!(y, [0.0, -3.0, 8.0]);
    }

    #[test]
    fn dropout_p_one_drops_everything() {
        let mut rng = Rng::new(7);
        let mut mask = [1.0; 16];
        dropout_mask(1.0, &mut rng, &mut mask);
        assert_eq!(mask, [0.0; 16]);
        let mut y = [1.0; 16];
        apply_mask(&mask, &[f32::MAX; 16], &mut y);
        assert_eq!(y, [0.0; 16]);
    }
}
