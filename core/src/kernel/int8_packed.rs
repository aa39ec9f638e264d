//! int8 fully connected and convolution with the weights packed for the Cortex-M4's DSP
//! instructions: the same outputs as [`super::int8::fully_connected`] and
//! [`super::int8::conv2d`] (integer sums, exact in any order), fewer instructions.
//!
//! - **Weights**, packed once ([`pack`], at export or start-up): rows in groups of
//!   [`ROWS`] = 4, columns in chunks of 4 (padded with zeros to a multiple of 8); each chunk
//!   holds the four rows' four weights as four words, row by row. One `ldrd` brings two
//!   rows' words; `sxtb16` splits a word into its even and odd bytes widened to 16 bits.
//! - **Inputs**, widened per call ([`widen`]): `x - zero_point` as `i16` (it fits: -255 to
//!   255), each four in the order `x0, x2, x1, x3`, so that a word of two matches the
//!   weights' even or odd halves. `smlad` then does two multiply-accumulates.
//!
//! The inner loop ([`dot_group`]): per two chunks (eight inputs, four rows, 32
//! multiply-accumulates), two `ldrd` of inputs, four of weights, sixteen `sxtb16`, sixteen
//! `smlad` and the loop's two instructions: 40 instructions, 1.25 per MAC (with the
//! `cortex-m-asm` feature on Cortex-M4F; the portable code computes the same sums).
//! A convolution widens each output position's window (im2col, the padding as zeros) and
//! runs its output channels as the packed rows.

use super::int8::{Geom2d, Requantize};

/// Rows per group.
pub const ROWS: usize = 4;
/// Columns are padded to a multiple of this (two chunks of four per loop pass).
pub const COLUMN_STEP: usize = 8;

/// Columns after padding.
pub const fn padded_cols(cols: usize) -> usize {
    cols.div_ceil(COLUMN_STEP) * COLUMN_STEP
}

/// Length of the packed weights of a `rows x cols` matrix.
pub const fn packed_len(rows: usize, cols: usize) -> usize {
    rows.div_ceil(ROWS) * ROWS * padded_cols(cols)
}

/// Packs row-major `w` (`rows x cols`) into `out` ([`packed_len`] values); `false` (nothing
/// written) if a length is wrong.
pub fn pack(w: &[i8], rows: usize, cols: usize, out: &mut [i8]) -> bool {
    if w.len() != rows * cols || out.len() != packed_len(rows, cols) {
        return false;
    }
    let chunks = padded_cols(cols) / 4;
    for (i, o) in out.iter_mut().enumerate() {
        let (group, rest) = (i / (chunks * 16), i % (chunks * 16));
        let (chunk, row, k) = (rest / 16, (rest % 16) / 4, rest % 4);
        let (r, c) = (group * ROWS + row, chunk * 4 + k);
        *o = if r < rows && c < cols { w[r * cols + c] } else { 0 };
    }
    true
}

/// Position of input `i` in the widened order (`x0, x2, x1, x3` per four).
#[inline]
const fn unordered(i: usize) -> usize {
    (i & !3) | [0, 2, 1, 3][i & 3]
}

/// Widens `x` into `out` ([`padded_cols`] of `x.len()` values): `x[i] - zero_point` in the
/// order `x0, x2, x1, x3` per four. The padding positions keep what they held: their packed
/// weights are zero. Nothing is written if `out` is short.
pub fn widen(x: &[i8], zero_point: i32, out: &mut [i16]) {
    let n = padded_cols(x.len());
    if out.len() < n {
        return;
    }
    for (i, &v) in x.iter().enumerate() {
        out[unordered(i)] = (i32::from(v) - zero_point) as i16;
    }
}

/// The four rows' dot products of packed `group` (`4 x padded_cols` weights) with widened
/// `x`: `sum_i w[r][i] * x[i]` for each row `r` of the group.
#[inline]
fn dot_group(group: &[i8], x: &[i16]) -> [i32; ROWS] {
    #[cfg(all(feature = "cortex-m-asm", target_arch = "arm", target_abi = "eabihf"))]
    {
        crate::cortex_m_asm::dot_group_s8(group, x)
    }
    #[cfg(not(all(feature = "cortex-m-asm", target_arch = "arm", target_abi = "eabihf")))]
    {
        let mut acc = [0i32; ROWS];
        for (w, x) in group.chunks_exact(16).zip(x.chunks_exact(4)) {
            for (r, acc) in acc.iter_mut().enumerate() {
                let w = &w[4 * r..4 * r + 4];
                // x holds x0, x2, x1, x3
                let terms = [(w[0], x[0]), (w[2], x[1]), (w[1], x[2]), (w[3], x[3])];
                for (w, x) in terms {
                    *acc = acc.wrapping_add(i32::from(w) * i32::from(x));
                }
            }
        }
        acc
    }
}

/// Runs the packed rows on widened `x16`, writing `y[r] = rq.output(r, bias[r] + dot_r)`
/// for the `rows` rows.
fn rows_out(
    packed: &[i8],
    rows: usize,
    bias: &[i32],
    x16: &[i16],
    rq: &Requantize<'_>,
    y: &mut [i8],
) {
    let per_group = ROWS * x16.len();
    for (g, group) in packed.chunks_exact(per_group).enumerate() {
        let acc = dot_group(group, x16);
        for (k, &a) in acc.iter().enumerate() {
            let r = g * ROWS + k;
            if r < rows {
                y[r] = rq.output(r, bias.get(r).copied().unwrap_or(0).wrapping_add(a));
            }
        }
    }
}

/// [`super::int8::fully_connected`] with packed weights: `packed` from [`pack`] of the
/// `y.len() x x.len()` weights; `scratch` holds [`padded_cols`] of `x.len()` values. Nothing
/// is written if a length is wrong.
pub fn fully_connected(
    packed: &[i8],
    bias: &[i32],
    x: &[i8],
    input_zero_point: i32,
    rq: &Requantize<'_>,
    scratch: &mut [i16],
    y: &mut [i8],
) {
    let (rows, cols) = (y.len(), x.len());
    if packed.len() != packed_len(rows, cols) || scratch.len() < padded_cols(cols) {
        return;
    }
    let x16 = &mut scratch[..padded_cols(cols)];
    widen(x, input_zero_point, x16);
    rows_out(packed, rows, bias, x16, rq, y);
}

/// [`super::int8::conv2d`] with packed weights: `packed` from [`pack`] of the OHWI weights
/// as `out_c x (kernel_h * kernel_w * in_c)`; `scratch` holds [`padded_cols`] of that many
/// values (one window, widened). Nothing is written if a length is wrong.
#[allow(clippy::too_many_arguments)]
pub fn conv2d(
    g: &Geom2d,
    packed: &[i8],
    bias: &[i32],
    x: &[i8],
    input_zero_point: i32,
    rq: &Requantize<'_>,
    scratch: &mut [i16],
    y: &mut [i8],
) {
    let cols = g.kernel_h * g.kernel_w * g.in_c;
    let n = padded_cols(cols);
    if packed.len() != packed_len(g.out_c, cols)
        || scratch.len() < n
        || x.len() < g.input_len()
        || y.len() < g.output_len()
    {
        return;
    }
    let window = &mut scratch[..n];
    for oy in 0..g.out_h {
        for ox in 0..g.out_w {
            window.fill(0);
            for ky in 0..g.kernel_h {
                for kx in 0..g.kernel_w {
                    let Some((iy, ix)) = g.tap(oy, ox, ky, kx) else { continue };
                    let from = (iy * g.in_w + ix) * g.in_c;
                    let at = (ky * g.kernel_w + kx) * g.in_c;
                    for (c, &v) in x[from..from + g.in_c].iter().enumerate() {
                        window[unordered(at + c)] = (i32::from(v) - input_zero_point) as i16;
                    }
                }
            }
            let out = (oy * g.out_w + ox) * g.out_c;
            rows_out(packed, g.out_c, bias, window, rq, &mut y[out..out + g.out_c]);
        }
    }
}
