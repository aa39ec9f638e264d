//! Convolution over a minibatch, vectorised across channels and bit-identical to the core's
//! per-sample kernels (`neurite::kernel::conv`): the fast path of
//! [`super::backend::Blocked`].
//!
//! For one output position the core's forward sum runs over the in-bounds taps in the order
//! `ci`, `kh`, `kw`, and that set of taps is the same for every output channel. So a
//! position's taps are listed once ([`Plan`]), in that order, and [`LANES`] output channels
//! are summed side by side, each its own sum in the core's order, from weights packed with
//! the channels innermost. The weight gradient does the same across output channels (for
//! one tap, over the output positions it reaches, `oh` then `ow`), and the input gradient
//! across input channels (for one input position, over `o`, then `kh`, then `kw`).

use neurite::kernel::conv::Conv2dGeom;
use neurite::kernel::reduce::sum;

/// Channels summed side by side: two 8-lane vectors.
pub const LANES: usize = 16;

/// The tap lists of a geometry, in the core's summation orders.
pub struct Plan {
    /// Per output position `p` (row-major), `forward[fwd_at[p]..fwd_at[p + 1]]` are the
    /// in-bounds kernel taps `(ih * in_w + iw, kh * kw_n + kw)`, `kh` then `kw` ascending:
    /// the same for every input channel, which the forward walks outside them (the core's
    /// order: `ci`, then `kh`, then `kw`).
    fwd_at: Vec<usize>,
    forward: Vec<(u32, u32)>,
    /// Per kernel tap `t = kh * kw_n + kw`, the output positions it reaches with the input
    /// offset in one channel's plane: `(p, ih * in_w + iw)`, `oh` then `ow` ascending.
    wgt_at: Vec<usize>,
    weight: Vec<(u32, u32)>,
    /// Per input position `q` (row-major), the `(tap, output position)` pairs that read it,
    /// `kh` then `kw` ascending.
    inp_at: Vec<usize>,
    input: Vec<(u32, u32)>,
}

impl Plan {
    /// The lists of `g` (valid).
    pub fn new(g: &Conv2dGeom) -> Self {
        let (in_h, in_w, out_h, out_w) = (g.in_h, g.in_w, g.out_h(), g.out_w());
        let [kh_n, kw_n] = g.kernel;
        let [sh, sw] = g.stride;
        let [ph, pw] = g.padding;
        let [dh, dw] = g.dilation;
        // input index of output index `o` at tap `k` along one axis, if in bounds
        let at = |o: usize, k: usize, s: usize, d: usize, p: usize, n: usize| {
            (o * s + k * d).checked_sub(p).filter(|&i| i < n)
        };
        let (mut fwd_at, mut forward) = (vec![0], Vec::new());
        for oh in 0..out_h {
            for ow in 0..out_w {
                for kh in 0..kh_n {
                    let Some(ih) = at(oh, kh, sh, dh, ph, in_h) else { continue };
                    for kw in 0..kw_n {
                        let Some(iw) = at(ow, kw, sw, dw, pw, in_w) else { continue };
                        forward.push(((ih * in_w + iw) as u32, (kh * kw_n + kw) as u32));
                    }
                }
                fwd_at.push(forward.len());
            }
        }
        let (mut wgt_at, mut weight) = (vec![0], Vec::new());
        for kh in 0..kh_n {
            for kw in 0..kw_n {
                for oh in 0..out_h {
                    let Some(ih) = at(oh, kh, sh, dh, ph, in_h) else { continue };
                    for ow in 0..out_w {
                        let Some(iw) = at(ow, kw, sw, dw, pw, in_w) else { continue };
                        weight.push(((oh * out_w + ow) as u32, (ih * in_w + iw) as u32));
                    }
                }
                wgt_at.push(weight.len());
            }
        }
        // the output index along one axis that reads input index `i` through tap `k`
        let from = |i: usize, k: usize, s: usize, d: usize, p: usize, n: usize| {
            (i + p).checked_sub(k * d).filter(|t| t % s == 0).map(|t| t / s).filter(|&o| o < n)
        };
        let (mut inp_at, mut input) = (vec![0], Vec::new());
        for ih in 0..in_h {
            for iw in 0..in_w {
                for kh in 0..kh_n {
                    let Some(oh) = from(ih, kh, sh, dh, ph, out_h) else { continue };
                    for kw in 0..kw_n {
                        let Some(ow) = from(iw, kw, sw, dw, pw, out_w) else { continue };
                        input.push(((kh * kw_n + kw) as u32, (oh * out_w + ow) as u32));
                    }
                }
                inp_at.push(input.len());
            }
        }
        Self { fwd_at, forward, wgt_at, weight, inp_at, input }
    }
}

/// Whether the buffers hold a batch of `batch` for `g` (else the core's per-sample kernels
/// run instead, with their own handling of short buffers and invalid geometries).
pub fn fits(g: &Conv2dGeom, w: &[f32], b: Option<usize>, x: usize, y: usize, batch: usize) -> bool {
    g.is_valid()
        && w.len() >= g.weight_len()
        && b.is_none_or(|n| n >= g.out_channels)
        && x >= batch * g.input_len()
        && y >= batch * g.output_len()
        && g.weight_len() < u32::MAX as usize
        && g.input_len() < u32::MAX as usize
        && g.output_len() < u32::MAX as usize
}

/// Forward over `batch` samples: `conv2d_forward` of the core on each, with the same bits.
/// `packed` is scratch.
#[allow(clippy::too_many_arguments)]
#[inline(always)]
pub fn forward(
    g: &Conv2dGeom,
    plan: &Plan,
    w: &[f32],
    b: Option<&[f32]>,
    x: &[f32],
    y: &mut [f32],
    batch: usize,
    packed: &mut Vec<f32>,
) {
    let cin_g = g.in_channels / g.groups;
    let cout_g = g.out_channels / g.groups;
    let kernel = g.kernel[0] * g.kernel[1];
    let taps = cin_g * kernel;
    let blocks = cout_g.div_ceil(LANES);
    // packed[group][block][tap][lane] = w[group * cout_g + block * LANES + lane][tap]
    packed.clear();
    packed.resize(g.groups * blocks * taps * LANES, 0.0);
    for (o, w_o) in w[..g.weight_len()].chunks_exact(taps).enumerate() {
        let (grp, local) = (o / cout_g, o % cout_g);
        let base = ((grp * blocks + local / LANES) * taps) * LANES + local % LANES;
        for (t, &v) in w_o.iter().enumerate() {
            packed[base + t * LANES] = v;
        }
    }
    let (plane_in, plane_out) = (g.in_h * g.in_w, g.out_h() * g.out_w());
    for (x_n, y_n) in
        x.chunks_exact(g.input_len()).zip(y.chunks_exact_mut(g.output_len())).take(batch)
    {
        for grp in 0..g.groups {
            let x_grp = &x_n[grp * cin_g * plane_in..][..cin_g * plane_in];
            for block in 0..blocks {
                let wp = &packed[(grp * blocks + block) * taps * LANES..][..taps * LANES];
                let o0 = grp * cout_g + block * LANES;
                let width = LANES.min(cout_g - block * LANES);
                for p in 0..plane_out {
                    let mut acc = [0.0f32; LANES];
                    let taps = &plan.forward[plan.fwd_at[p]..plan.fwd_at[p + 1]];
                    for (x_c, wp_c) in
                        x_grp.chunks_exact(plane_in).zip(wp.chunks_exact(kernel * LANES))
                    {
                        for &(xo, t) in taps {
                            let xv = x_c[xo as usize];
                            let wt = &wp_c[t as usize * LANES..][..LANES];
                            for (a, &wv) in acc.iter_mut().zip(wt) {
                                *a += wv * xv;
                            }
                        }
                    }
                    for (j, &s) in acc.iter().enumerate().take(width) {
                        y_n[(o0 + j) * plane_out + p] = match b {
                            Some(b) => s + b[o0 + j],
                            None => s,
                        };
                    }
                }
            }
        }
    }
}

/// Weight and bias gradients over `batch` samples, added sample after sample: the core's
/// `conv2d_backward` on each, with the same bits. `scratch` holds a sample's `dy` transposed.
#[allow(clippy::too_many_arguments)]
#[inline(always)]
pub fn backward_params(
    g: &Conv2dGeom,
    plan: &Plan,
    x: &[f32],
    dy: &[f32],
    gw: &mut [f32],
    mut gb: Option<&mut [f32]>,
    batch: usize,
    scratch: &mut Vec<f32>,
) {
    let cin_g = g.in_channels / g.groups;
    let cout_g = g.out_channels / g.groups;
    let [kh_n, kw_n] = g.kernel;
    let taps = cin_g * kh_n * kw_n;
    let blocks = cout_g.div_ceil(LANES);
    let (plane_in, plane_out) = (g.in_h * g.in_w, g.out_h() * g.out_w());
    for (x_n, dy_n) in
        x.chunks_exact(g.input_len()).zip(dy.chunks_exact(g.output_len())).take(batch)
    {
        // the core adds each sample's weight gradient, then its bias gradient
        for grp in 0..g.groups {
            // scratch[block][p][lane] = dy[grp * cout_g + block * LANES + lane][p]
            scratch.clear();
            scratch.resize(blocks * plane_out * LANES, 0.0);
            for local in 0..cout_g {
                let dy_o = &dy_n[(grp * cout_g + local) * plane_out..][..plane_out];
                let base = (local / LANES) * plane_out * LANES + local % LANES;
                for (p, &v) in dy_o.iter().enumerate() {
                    scratch[base + p * LANES] = v;
                }
            }
            let x_grp = &x_n[grp * cin_g * plane_in..][..cin_g * plane_in];
            for block in 0..blocks {
                let dyt = &scratch[block * plane_out * LANES..][..plane_out * LANES];
                let o0 = grp * cout_g + block * LANES;
                let width = LANES.min(cout_g - block * LANES);
                for ci in 0..cin_g {
                    let x_c = &x_grp[ci * plane_in..][..plane_in];
                    for t in 0..kh_n * kw_n {
                        let mut acc = [0.0f32; LANES];
                        for &(p, xo) in &plan.weight[plan.wgt_at[t]..plan.wgt_at[t + 1]] {
                            let xv = x_c[xo as usize];
                            let d = &dyt[p as usize * LANES..][..LANES];
                            for (a, &dv) in acc.iter_mut().zip(d) {
                                *a += dv * xv;
                            }
                        }
                        for (j, &s) in acc.iter().enumerate().take(width) {
                            gw[(o0 + j) * taps + ci * kh_n * kw_n + t] += s;
                        }
                    }
                }
            }
        }
        if let Some(gb) = gb.as_deref_mut() {
            for (gbo, dy_o) in gb[..g.out_channels].iter_mut().zip(dy_n.chunks_exact(plane_out)) {
                *gbo += sum(dy_o);
            }
        }
    }
}

/// Input gradients over `batch` samples (overwritten): the core's `conv2d_backward` `dx` on
/// each, with the same bits. `packed` is scratch.
#[allow(clippy::too_many_arguments)]
#[inline(always)]
pub fn backward_input(
    g: &Conv2dGeom,
    plan: &Plan,
    w: &[f32],
    dy: &[f32],
    dx: &mut [f32],
    batch: usize,
    packed: &mut Vec<f32>,
) {
    let cin_g = g.in_channels / g.groups;
    let cout_g = g.out_channels / g.groups;
    let kernel = g.kernel[0] * g.kernel[1];
    let blocks = cin_g.div_ceil(LANES);
    // packed[o][block][tap][lane] = w[o][block * LANES + lane][tap]
    packed.clear();
    packed.resize(g.out_channels * blocks * kernel * LANES, 0.0);
    for (o, w_o) in w[..g.weight_len()].chunks_exact(cin_g * kernel).enumerate() {
        for (ci, w_oc) in w_o.chunks_exact(kernel).enumerate() {
            let base = ((o * blocks + ci / LANES) * kernel) * LANES + ci % LANES;
            for (t, &v) in w_oc.iter().enumerate() {
                packed[base + t * LANES] = v;
            }
        }
    }
    let (plane_in, plane_out) = (g.in_h * g.in_w, g.out_h() * g.out_w());
    for (dy_n, dx_n) in
        dy.chunks_exact(g.output_len()).zip(dx.chunks_exact_mut(g.input_len())).take(batch)
    {
        for grp in 0..g.groups {
            for block in 0..blocks {
                let c0 = grp * cin_g + block * LANES;
                let width = LANES.min(cin_g - block * LANES);
                for q in 0..plane_in {
                    let mut acc = [0.0f32; LANES];
                    let reads = &plan.input[plan.inp_at[q]..plan.inp_at[q + 1]];
                    if !reads.is_empty() {
                        for local in 0..cout_g {
                            let o = grp * cout_g + local;
                            let wp =
                                &packed[(o * blocks + block) * kernel * LANES..][..kernel * LANES];
                            let dy_o = &dy_n[o * plane_out..][..plane_out];
                            for &(t, p) in reads {
                                let dv = dy_o[p as usize];
                                let wt = &wp[t as usize * LANES..][..LANES];
                                for (a, &wv) in acc.iter_mut().zip(wt) {
                                    *a += wv * dv;
                                }
                            }
                        }
                    }
                    for (j, &s) in acc.iter().enumerate().take(width) {
                        dx_n[(c0 + j) * plane_in + q] = s;
                    }
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use neurite::kernel::conv;
    use neurite::rng::Rng;

    fn bits(v: &[f32]) -> Vec<u32> {
        v.iter().map(|x| x.to_bits()).collect()
    }

    fn values(n: usize, rng: &mut Rng) -> Vec<f32> {
        (0..n)
            .map(|k| match k % 29 {
                0 | 13 => 0.0,
                6 | 19 => -0.0,
                // an infinity or NaN facing a padded tap must not leak into the sum
                23 if k % 3 == 0 => f32::INFINITY,
                23 if k % 3 == 1 => f32::NAN,
                _ => rng.normal() * 10f32.powi((k % 5) as i32 - 2),
            })
            .collect()
    }

    type Forward =
        fn(&Conv2dGeom, &Plan, &[f32], Option<&[f32]>, &[f32], &mut [f32], usize, &mut Vec<f32>);
    type Params = fn(
        &Conv2dGeom,
        &Plan,
        &[f32],
        &[f32],
        &mut [f32],
        Option<&mut [f32]>,
        usize,
        &mut Vec<f32>,
    );
    type Input = fn(&Conv2dGeom, &Plan, &[f32], &[f32], &mut [f32], usize, &mut Vec<f32>);

    /// The portable build.
    #[test]
    fn blocked_conv_equals_the_cores_bit_for_bit() {
        equal_the_cores(forward, backward_params, backward_input);
    }

    /// The build `simd` dispatches to (AVX on a CPU that has it).
    #[test]
    fn dispatched_conv_equals_the_cores_bit_for_bit() {
        use crate::dynamic::simd;
        equal_the_cores(simd::forward_conv, simd::backward_params_conv, simd::backward_input_conv);
    }

    /// Forward, weight, bias and input gradients equal the core's on each sample, for
    /// strides, padding, dilation, groups and channel counts around the lane width.
    fn equal_the_cores(forward: Forward, backward_params: Params, backward_input: Input) {
        let mut rng = Rng::new(21);
        #[rustfmt::skip]
        let geoms = [
            // (in_c, out_c, h, w, kernel, stride, padding, dilation, groups)
            (1, 16, 8, 8, [3, 3], [1, 1], [1, 1], [1, 1], 1),
            (16, 32, 4, 4, [3, 3], [1, 1], [1, 1], [1, 1], 1),
            (3, 17, 7, 6, [3, 2], [2, 1], [1, 0], [1, 1], 1),
            (4, 6, 9, 9, [3, 3], [2, 2], [2, 1], [2, 1], 2),
            (18, 5, 5, 7, [1, 3], [1, 3], [0, 2], [1, 2], 1),
            (6, 6, 6, 5, [3, 3], [1, 1], [1, 1], [1, 1], 6),
            (2, 3, 1, 11, [1, 4], [1, 2], [0, 3], [1, 1], 1),
            // two groups of 18 input and 20 output channels: two lane blocks per group
            (36, 40, 5, 4, [3, 3], [1, 1], [1, 1], [1, 1], 2),
        ];
        for (ic, oc, h, w, kernel, stride, padding, dilation, groups) in geoms {
            let g = Conv2dGeom {
                in_channels: ic,
                out_channels: oc,
                in_h: h,
                in_w: w,
                kernel,
                stride,
                padding,
                dilation,
                groups,
            };
            assert!(g.is_valid(), "{g:?}");
            let plan = Plan::new(&g);
            for batch in [1, 3] {
                let wt = values(g.weight_len(), &mut rng);
                let bias = values(oc, &mut rng);
                let x = values(batch * g.input_len(), &mut rng);
                let dy = values(batch * g.output_len(), &mut rng);
                let mut scratch = Vec::new();
                for b in [Some(&bias[..]), None] {
                    let mut y = vec![f32::NAN; batch * g.output_len()];
                    forward(&g, &plan, &wt, b, &x, &mut y, batch, &mut scratch);
                    let mut reference = vec![0.0; y.len()];
                    for (xn, yn) in
                        x.chunks(g.input_len()).zip(reference.chunks_mut(g.output_len()))
                    {
                        conv::conv2d_forward(&g, &wt, b, xn, yn);
                    }
                    assert_eq!(bits(&y), bits(&reference), "forward {g:?}, batch {batch}");
                }
                let start = values(g.weight_len() + oc, &mut rng);
                let (mut gw, mut gb) =
                    (start[..g.weight_len()].to_vec(), start[g.weight_len()..].to_vec());
                let mut dx = vec![f32::NAN; batch * g.input_len()];
                backward_params(&g, &plan, &x, &dy, &mut gw, Some(&mut gb), batch, &mut scratch);
                backward_input(&g, &plan, &wt, &dy, &mut dx, batch, &mut scratch);
                let (mut rgw, mut rgb) =
                    (start[..g.weight_len()].to_vec(), start[g.weight_len()..].to_vec());
                let mut rdx = vec![0.0; dx.len()];
                for ((xn, dyn_), dxn) in x
                    .chunks(g.input_len())
                    .zip(dy.chunks(g.output_len()))
                    .zip(rdx.chunks_mut(g.input_len()))
                {
                    conv::conv2d_backward(&g, &wt, xn, dyn_, Some(dxn), &mut rgw, Some(&mut rgb));
                }
                assert_eq!(bits(&gw), bits(&rgw), "gw {g:?}, batch {batch}");
                assert_eq!(bits(&gb), bits(&rgb), "gb {g:?}, batch {batch}");
                assert_eq!(bits(&dx), bits(&rdx), "dx {g:?}, batch {batch}");
            }
        }
    }
}
