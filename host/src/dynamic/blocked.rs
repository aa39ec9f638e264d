//! Blocked dense kernels over a minibatch, bit-identical to the core's per-sample kernels
//! (`neurite::kernel::dense`): the fast path of [`super::backend::Blocked`].
//!
//! The numerics contract (docs/DESIGN.md): vectorise across independent outputs, never
//! reorder one sum. Each kernel computes a register tile of independent sums at once, and
//! every sum still runs over its index in the reference order, starting from the same value,
//! with a separate multiply and add (Rust never fuses them):
//!
//! - forward, `y[r][o] = (0 + w[o][0] x[r][0] + ... + w[o][I-1] x[r][I-1]) + b[o]`: a tile of
//!   [`ROWS`] samples by [`COLS`] outputs, over `i` in order, from a copy of the weights
//!   packed `i`-major (`COLS` outputs side by side);
//! - `gw[o][i] += dy[0][o] x[0][i]`, then sample 1, ...: a tile of [`ROWS`] outputs by
//!   [`COLS`] inputs loaded from `gw`, over the samples in order; `gb` likewise;
//! - `dx[r][i] = 0 + w[0][i] dy[r][0] + ... + w[O-1][i] dy[r][O-1]`: a tile of [`ROWS`]
//!   samples by [`COLS`] inputs, over `o` in order.
//!
//! The tiles are fixed-size arrays, which the compiler keeps in vector registers. At the
//! edges a tile is partly used (outputs past the last are zero-padded weights whose sums
//! are discarded; fewer rows or outputs than a tile leave rows of the tile unused), or a
//! scalar loop runs (the last inputs of `gw` and `dx`), each sum in the same order. `tests`
//! compares every kernel with the core's with `==` on the bits.

/// Samples (forward, `dx`) or outputs (`gw`) per register tile.
pub const ROWS: usize = 4;
/// Outputs (forward) or inputs (`gw`, `dx`) per register tile: two 8-lane vectors.
pub const COLS: usize = 16;

/// `w` (`outs x ins`, row-major) packed for [`forward`]: for each block of [`COLS`] outputs,
/// `ins` rows of `COLS` weights (`packed[block][i][j] = w[block * COLS + j][i]`, zero past the
/// last output).
pub fn pack_forward(w: &[f32], ins: usize, outs: usize, packed: &mut Vec<f32>) {
    let blocks = outs.div_ceil(COLS);
    packed.clear();
    packed.resize(blocks * ins * COLS, 0.0);
    for (o, row) in w.chunks_exact(ins).take(outs).enumerate() {
        let (block, j) = (o / COLS, o % COLS);
        let base = block * ins * COLS;
        for (i, &v) in row.iter().enumerate() {
            packed[base + i * COLS + j] = v;
        }
    }
}

/// Dense forward over `rows` samples: `y[r][o] = dot(w[o], x[r]) + b[o]`, with `packed` from
/// [`pack_forward`] of `w`. Bit-identical to `neurite::kernel::dense::forward` per sample.
#[inline(always)]
pub fn forward(packed: &[f32], b: &[f32], x: &[f32], y: &mut [f32], ins: usize, rows: usize) {
    let outs = b.len();
    if ins == 0 {
        for yr in y.chunks_exact_mut(outs).take(rows) {
            yr.copy_from_slice(b);
        }
        return;
    }
    for (block, wp) in packed.chunks_exact(ins * COLS).enumerate() {
        let o0 = block * COLS;
        let width = COLS.min(outs - o0);
        let mut r = 0;
        while r + ROWS <= rows {
            let mut acc = [[0.0f32; COLS]; ROWS];
            let xr = |rr: usize| &x[(r + rr) * ins..(r + rr + 1) * ins];
            // four rows zipped with the packed weights: no index to check in the loop
            let rows4 = xr(0).iter().zip(xr(1)).zip(xr(2).iter().zip(xr(3)));
            for (w, ((&x0, &x1), (&x2, &x3))) in wp.chunks_exact(COLS).zip(rows4) {
                let w: &[f32; COLS] = w.try_into().unwrap_or(&[0.0; COLS]);
                for (a, xv) in acc.iter_mut().zip([x0, x1, x2, x3]) {
                    for (aj, &wj) in a.iter_mut().zip(w) {
                        *aj += wj * xv;
                    }
                }
            }
            for (rr, a) in acc.iter().enumerate() {
                let yr = &mut y[(r + rr) * outs + o0..(r + rr) * outs + o0 + width];
                for ((out, &s), &bias) in yr.iter_mut().zip(a).zip(&b[o0..]) {
                    *out = s + bias;
                }
            }
            r += ROWS;
        }
        for r in r..rows {
            let mut acc = [0.0f32; COLS];
            for (i, w) in wp.chunks_exact(COLS).enumerate() {
                let xv = x[r * ins + i];
                for (aj, &wj) in acc.iter_mut().zip(w) {
                    *aj += wj * xv;
                }
            }
            let yr = &mut y[r * outs + o0..r * outs + o0 + width];
            for ((out, &s), &bias) in yr.iter_mut().zip(&acc).zip(&b[o0..]) {
                *out = s + bias;
            }
        }
    }
}

/// Outputs computed side by side by [`forward_unpacked`].
pub const SIDE_BY_SIDE: usize = 8;

/// Dense forward over `rows` samples without packing the weights (for one or a few samples,
/// where packing would cost as much as the product): [`SIDE_BY_SIDE`] outputs at a time,
/// each its own sum over `i` in order, so that the sums overlap in the pipeline instead of
/// waiting for each other. Bit-identical to `neurite::kernel::dense::forward` per sample.
#[inline(always)]
pub fn forward_unpacked(w: &[f32], b: &[f32], x: &[f32], y: &mut [f32], ins: usize, rows: usize) {
    let outs = b.len();
    if ins == 0 {
        for yr in y.chunks_exact_mut(outs).take(rows) {
            yr.copy_from_slice(b);
        }
        return;
    }
    for (xr, yr) in x.chunks_exact(ins).zip(y.chunks_exact_mut(outs)).take(rows) {
        let mut o = 0;
        while o + SIDE_BY_SIDE <= outs {
            let block = &w[o * ins..(o + SIDE_BY_SIDE) * ins];
            let mut acc = [0.0f32; SIDE_BY_SIDE];
            for (i, &xv) in xr.iter().enumerate() {
                for (j, a) in acc.iter_mut().enumerate() {
                    *a += block[j * ins + i] * xv;
                }
            }
            for ((out, &s), &bias) in yr[o..].iter_mut().zip(&acc).zip(&b[o..]) {
                *out = s + bias;
            }
            o += SIDE_BY_SIDE;
        }
        for (out, (row, &bias)) in
            yr[o..].iter_mut().zip(w[o * ins..].chunks_exact(ins).zip(&b[o..]))
        {
            let mut s = 0.0f32;
            for (&wi, &xv) in row.iter().zip(xr) {
                s += wi * xv;
            }
            *out = s + bias;
        }
    }
}

/// Parameter gradients over `rows` samples, added in sample order:
/// `gw[o][i] += dy[r][o] * x[r][i]` and `gb[o] += dy[r][o]` for `r = 0, 1, ...`.
/// Bit-identical to `neurite::kernel::dense::backward_params` sample after sample.
#[inline(always)]
pub fn backward_params(
    x: &[f32],
    dy: &[f32],
    gw: &mut [f32],
    gb: &mut [f32],
    ins: usize,
    rows: usize,
) {
    backward_params_of(x, dy, gb.len(), 0, gw, gb, ins, rows);
}

/// [`backward_params`] for the outputs `first..first + gb.len()` of a layer of `outs`
/// outputs: `gw` and `gb` hold those outputs' rows, `dy` has `outs` values per sample. Each
/// output's sums are the same as in the whole layer's (a thread can take a range of
/// outputs: `super::threads`).
#[allow(clippy::too_many_arguments)]
#[inline(always)]
pub fn backward_params_of(
    x: &[f32],
    dy: &[f32],
    outs_total: usize,
    first: usize,
    gw: &mut [f32],
    gb: &mut [f32],
    ins: usize,
    rows: usize,
) {
    let outs = gb.len();
    if ins == 0 || outs_total == 0 {
        return; // as the core's kernel: nothing to add for an empty input
    }
    for dyr in dy.chunks_exact(outs_total).take(rows) {
        for (g, &d) in gb.iter_mut().zip(&dyr[first..]) {
            *g += d;
        }
    }
    let mut o = 0;
    while o < outs {
        let height = ROWS.min(outs - o);
        let mut i = 0;
        while i + COLS <= ins {
            if height == ROWS {
                let mut acc = [[0.0f32; COLS]; ROWS];
                for (oo, a) in acc.iter_mut().enumerate() {
                    a.copy_from_slice(&gw[(o + oo) * ins + i..(o + oo) * ins + i + COLS]);
                }
                let samples = x.chunks_exact(ins).zip(dy.chunks_exact(outs_total)).take(rows);
                for (x_row, dy_row) in samples {
                    let xr: &[f32; COLS] = x_row[i..i + COLS].try_into().unwrap_or(&[0.0; COLS]);
                    let d: &[f32; ROWS] =
                        dy_row[first + o..first + o + ROWS].try_into().unwrap_or(&[0.0; ROWS]);
                    for (a, &d) in acc.iter_mut().zip(d) {
                        for (aj, &xj) in a.iter_mut().zip(xr) {
                            *aj += d * xj;
                        }
                    }
                }
                for (oo, a) in acc.iter().enumerate() {
                    gw[(o + oo) * ins + i..(o + oo) * ins + i + COLS].copy_from_slice(a);
                }
            } else {
                for oo in 0..height {
                    let mut a = [0.0f32; COLS];
                    a.copy_from_slice(&gw[(o + oo) * ins + i..(o + oo) * ins + i + COLS]);
                    for r in 0..rows {
                        let d = dy[r * outs_total + first + o + oo];
                        for (aj, &xj) in a.iter_mut().zip(&x[r * ins + i..r * ins + i + COLS]) {
                            *aj += d * xj;
                        }
                    }
                    gw[(o + oo) * ins + i..(o + oo) * ins + i + COLS].copy_from_slice(&a);
                }
            }
            i += COLS;
        }
        // the last inputs, fewer than a tile: one sum at a time, samples in order
        for oo in 0..height {
            for ii in i..ins {
                let mut g = gw[(o + oo) * ins + ii];
                for r in 0..rows {
                    g += dy[r * outs_total + first + o + oo] * x[r * ins + ii];
                }
                gw[(o + oo) * ins + ii] = g;
            }
        }
        o += height;
    }
}

/// Input gradients over `rows` samples: `dx[r][i] = sum_o w[o][i] * dy[r][o]`, from 0 over
/// `o` in order (overwritten). Bit-identical to `neurite::kernel::dense::backward`'s `dx`.
#[inline(always)]
pub fn backward_input(w: &[f32], dy: &[f32], dx: &mut [f32], ins: usize, outs: usize, rows: usize) {
    if ins == 0 {
        return;
    }
    let mut r = 0;
    while r < rows {
        let height = ROWS.min(rows - r);
        let mut i = 0;
        while i + COLS <= ins {
            let mut acc = [[0.0f32; COLS]; ROWS];
            if height == ROWS {
                let dyr = |rr: usize| &dy[(r + rr) * outs..(r + rr + 1) * outs];
                // four rows of `dy` zipped with the rows of `w`: no index to check in the loop
                let rows4 = dyr(0).iter().zip(dyr(1)).zip(dyr(2).iter().zip(dyr(3)));
                for (w_row, ((&d0, &d1), (&d2, &d3))) in w.chunks_exact(ins).zip(rows4) {
                    let wr: &[f32; COLS] = w_row[i..i + COLS].try_into().unwrap_or(&[0.0; COLS]);
                    for (a, d) in acc.iter_mut().zip([d0, d1, d2, d3]) {
                        for (aj, &wj) in a.iter_mut().zip(wr) {
                            *aj += wj * d;
                        }
                    }
                }
            } else {
                for o in 0..outs {
                    let wr = &w[o * ins + i..o * ins + i + COLS];
                    for (rr, a) in acc.iter_mut().enumerate().take(height) {
                        let d = dy[(r + rr) * outs + o];
                        for (aj, &wj) in a.iter_mut().zip(wr) {
                            *aj += wj * d;
                        }
                    }
                }
            }
            for (rr, a) in acc.iter().enumerate().take(height) {
                dx[(r + rr) * ins + i..(r + rr) * ins + i + COLS].copy_from_slice(a);
            }
            i += COLS;
        }
        for rr in 0..height {
            for ii in i..ins {
                let mut s = 0.0f32;
                for o in 0..outs {
                    s += w[o * ins + ii] * dy[(r + rr) * outs + o];
                }
                dx[(r + rr) * ins + ii] = s;
            }
        }
        r += height;
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use neurite::kernel::dense;
    use neurite::rng::Rng;

    fn values(n: usize, rng: &mut Rng) -> Vec<f32> {
        // signed zeros and values of many magnitudes, so that any reordering shows
        (0..n)
            .map(|k| match k % 11 {
                0 => 0.0,
                5 => -0.0,
                _ => rng.normal() * 10f32.powi((k % 7) as i32 - 3),
            })
            .collect()
    }

    fn bits(v: &[f32]) -> Vec<u32> {
        v.iter().map(|x| x.to_bits()).collect()
    }

    type Kernels = (
        fn(&[f32], &[f32], &[f32], &mut [f32], usize, usize),
        fn(&[f32], &[f32], &[f32], &mut [f32], usize, usize),
        fn(&[f32], &[f32], &mut [f32], &mut [f32], usize, usize),
        fn(&[f32], &[f32], &mut [f32], usize, usize, usize),
    );

    /// The portable build.
    #[test]
    fn blocked_kernels_equal_the_cores_bit_for_bit() {
        equal_the_cores((forward, forward_unpacked, backward_params, backward_input));
    }

    /// The build `simd` dispatches to (AVX on a CPU that has it).
    #[test]
    fn dispatched_kernels_equal_the_cores_bit_for_bit() {
        use crate::dynamic::simd;
        equal_the_cores((
            simd::forward,
            simd::forward_unpacked,
            simd::backward_params,
            simd::backward_input,
        ));
    }

    /// Every kernel equals the core's, sample by sample, on sizes around the tiles.
    fn equal_the_cores((forward, forward_unpacked, backward_params, backward_input): Kernels) {
        let sizes = [1, 3, 4, 5, 15, 16, 17, 33, 63, 65, 300];
        let mut rng = Rng::new(5);
        for &ins in &sizes {
            for &outs in &sizes {
                for rows in [1, 3, 4, 5, 9] {
                    let w = values(outs * ins, &mut rng);
                    let b = values(outs, &mut rng);
                    let x = values(rows * ins, &mut rng);
                    let dy = values(rows * outs, &mut rng);
                    let start = values(outs * ins + outs, &mut rng);
                    let case = format!("ins {ins}, outs {outs}, rows {rows}");

                    let mut packed = Vec::new();
                    pack_forward(&w, ins, outs, &mut packed);
                    let mut y = vec![f32::NAN; rows * outs];
                    forward(&packed, &b, &x, &mut y, ins, rows);
                    let mut reference = vec![0.0; rows * outs];
                    for (xr, yr) in x.chunks(ins).zip(reference.chunks_mut(outs)) {
                        dense::forward(&w, &b, xr, yr);
                    }
                    assert_eq!(bits(&y), bits(&reference), "forward: {case}");
                    let mut y = vec![f32::NAN; rows * outs];
                    forward_unpacked(&w, &b, &x, &mut y, ins, rows);
                    assert_eq!(bits(&y), bits(&reference), "forward_unpacked: {case}");

                    let (mut gw, mut gb) =
                        (start[..outs * ins].to_vec(), start[outs * ins..].to_vec());
                    let mut dx = vec![f32::NAN; rows * ins];
                    backward_params(&x, &dy, &mut gw, &mut gb, ins, rows);
                    backward_input(&w, &dy, &mut dx, ins, outs, rows);
                    let (mut rgw, mut rgb) =
                        (start[..outs * ins].to_vec(), start[outs * ins..].to_vec());
                    let mut rdx = vec![0.0; rows * ins];
                    for ((xr, dyr), dxr) in
                        x.chunks(ins).zip(dy.chunks(outs)).zip(rdx.chunks_mut(ins))
                    {
                        dense::backward(&w, xr, dyr, dxr, &mut rgw, &mut rgb);
                    }
                    assert_eq!(bits(&gw), bits(&rgw), "gw: {case}");
                    assert_eq!(bits(&gb), bits(&rgb), "gb: {case}");
                    assert_eq!(bits(&dx), bits(&rdx), "dx: {case}");
                }
            }
        }
    }
}
