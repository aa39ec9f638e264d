//! int8 fully connected and convolution with the weights and requantisation packed for the
//! Cortex-M4's DSP instructions: the same outputs as [`super::int8::fully_connected`] and
//! [`super::int8::conv2d`] (integer sums are exact in any order; the requantisation is
//! TFLite's, bit for bit), fewer instructions.
//!
//! - **Packed once** ([`pack`], at export or start-up): a header word (the rounding), then
//!   the rows in groups of [`ROWS`] = 4. A group holds its weights, columns in chunks of 4
//!   (padded with zeros to a multiple of 8), each chunk the four rows' four weights as four
//!   words, row by row; then each row's requantisation as [`ROW_WORDS`] words: its bias, its
//!   multiplier and what the rounding needs (double rounding: the right shift and its mask;
//!   single rounding: the 64-bit rounding constant and the shift past 32 bits).
//! - **Inputs, widened per call** ([`widen`]): `x - zero_point` as `i16` (it fits: -255 to
//!   255), each four in the order `x0, x2, x1, x3`, so that a word of two matches the
//!   weights' even or odd bytes as `sxtb16` widens them. `smlad` then does two
//!   multiply-accumulates.
//!
//! Per group (with `cortex-m-asm` on Cortex-M4F, one assembly block; the portable code
//! computes the same values): per two chunks (eight inputs, four rows, 32
//! multiply-accumulates) two `ldrd` of inputs, four of weights, sixteen `sxtb16`, sixteen
//! `smlad` and the loop's two instructions, 1.25 instructions per MAC; then each row
//! requantised in 15 instructions (double rounding) or 8 (single). A convolution widens
//! each output position's window (im2col, the padding as zeros; a run of taps along a
//! kernel row at once) and runs its output channels as the rows.

use super::int8::{Geom2d, Requantize};
use crate::quant::fixed_point::Rounding;

/// Rows per group.
pub const ROWS: usize = 4;
/// Columns are padded to a multiple of this (two chunks of four per loop pass).
pub const COLUMN_STEP: usize = 8;
/// Requantisation words per row.
pub const ROW_WORDS: usize = 5;
/// Bytes before the first group (the rounding).
const HEADER: usize = 4;

/// Columns after padding.
pub const fn padded_cols(cols: usize) -> usize {
    cols.div_ceil(COLUMN_STEP) * COLUMN_STEP
}

/// Bytes of one group: weights, then requantisation.
const fn group_bytes(cols: usize) -> usize {
    ROWS * padded_cols(cols) + ROWS * ROW_WORDS * 4
}

/// Length in bytes of a packed `rows x cols` layer.
pub const fn packed_len(rows: usize, cols: usize) -> usize {
    HEADER + rows.div_ceil(ROWS) * group_bytes(cols)
}

/// The output zero point and range (a fused activation's clamp) of a packed layer.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Output {
    /// The output tensor's zero point.
    pub zero_point: i32,
    /// Smallest output.
    pub min: i8,
    /// Largest output.
    pub max: i8,
}

impl From<&Requantize<'_>> for Output {
    fn from(rq: &Requantize<'_>) -> Self {
        Self { zero_point: rq.output_zero_point, min: rq.min, max: rq.max }
    }
}

/// Why a layer cannot be packed.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum PackError {
    /// A slice's length does not match `rows x cols`.
    Length,
    /// Row `row`'s shift is outside what the packed requantisation takes: `-31..=0` with a
    /// multiplier other than `i32::MIN` (double rounding), `-31..=-1` (single rounding).
    /// Every multiplier below 1 (single: below 1/2) that `quantize_multiplier` makes is.
    Requantisation {
        /// The row.
        row: usize,
    },
}

/// One row's requantisation words, or `None` if it cannot be packed.
fn row_words(bias: i32, m: i32, shift: i32, rounding: Rounding) -> Option<[i32; ROW_WORDS]> {
    match rounding {
        Rounding::Double if (-31..=0).contains(&shift) && m != i32::MIN => {
            let e = -shift;
            Some([bias, m, e, ((1u32 << e) - 1) as i32, 0])
        }
        Rounding::Single if (-31..=-1).contains(&shift) => {
            let total = 31 - shift; // 32..=62
            let round = 1u64 << (total - 1);
            Some([bias, m, round as u32 as i32, (round >> 32) as u32 as i32, total - 32])
        }
        _ => None,
    }
}

/// Packs row-major `w` (`rows x cols`), its `bias` and `rq`'s multipliers, shifts and
/// rounding into `out` ([`packed_len`] bytes). Nothing is written on error.
pub fn pack(
    w: &[i8],
    rows: usize,
    cols: usize,
    bias: &[i32],
    rq: &Requantize<'_>,
    out: &mut [i8],
) -> Result<(), PackError> {
    if w.len() != rows * cols
        || bias.len() < rows
        || rq.multiplier.len() < rows
        || rq.shift.len() < rows
        || out.len() != packed_len(rows, cols)
    {
        return Err(PackError::Length);
    }
    let mut params = [[0i32; ROW_WORDS]; ROWS];
    let rows_of = bias.iter().zip(rq.multiplier).zip(rq.shift).take(rows);
    for (r, ((&b, &m), &shift)) in rows_of.enumerate() {
        row_words(b, m, shift, rq.rounding).ok_or(PackError::Requantisation { row: r })?;
    }
    let header = i32::from(rq.rounding == Rounding::Single);
    for (o, b) in out.iter_mut().zip(header.to_le_bytes()) {
        *o = b as i8;
    }
    let chunks = padded_cols(cols) / 4;
    for (g, group) in out[HEADER..].chunks_exact_mut(group_bytes(cols)).enumerate() {
        let (weights, words) = group.split_at_mut(ROWS * 4 * chunks);
        for (i, o) in weights.iter_mut().enumerate() {
            let (chunk, row, k) = (i / 16, (i % 16) / 4, i % 4);
            let (r, c) = (g * ROWS + row, chunk * 4 + k);
            *o = if r < rows && c < cols { w[r * cols + c] } else { 0 };
        }
        for (k, p) in params.iter_mut().enumerate() {
            let r = g * ROWS + k;
            *p = match r < rows {
                true => row_words(bias[r], rq.multiplier[r], rq.shift[r], rq.rounding)
                    .unwrap_or_default(),
                false => [0; ROW_WORDS],
            };
        }
        for (o, b) in words.iter_mut().zip(params.iter().flatten().flat_map(|v| v.to_le_bytes())) {
            *o = b as i8;
        }
    }
    Ok(())
}

/// Position of input `i` in the widened order (`x0, x2, x1, x3` per four).
#[inline]
const fn unordered(i: usize) -> usize {
    (i & !3) | [0, 2, 1, 3][i & 3]
}

/// Widens `x` into `out` ([`padded_cols`] of `x.len()` values): `x[i] - zero_point` in the
/// order `x0, x2, x1, x3` per four. The padding positions keep what they held: their packed
/// weights are zero.
pub fn widen(x: &[i8], zero_point: i32, out: &mut [i16]) {
    if out.len() < padded_cols(x.len()) {
        return;
    }
    widen_run(x, zero_point, out);
}

/// `out[unordered(i)] = x[i] - zero_point` for every `i` (`out` at least `x.len()` rounded up
/// to four long): with `cortex-m-asm`, four values per `ldr`, two `sxtab16`, one `strd`.
fn widen_run(x: &[i8], zero_point: i32, out: &mut [i16]) {
    #[cfg(all(feature = "cortex-m-asm", target_arch = "arm", target_abi = "eabihf"))]
    let done = crate::cortex_m_asm::widen_s8(x, zero_point, out);
    #[cfg(not(all(feature = "cortex-m-asm", target_arch = "arm", target_abi = "eabihf")))]
    let done = 0;
    for (i, &v) in x.iter().enumerate().skip(done) {
        if let Some(o) = out.get_mut(unordered(i)) {
            *o = (i32::from(v) - zero_point) as i16;
        }
    }
}

/// `runs` runs of `run_len` values of `x` (a window's rows: the first at `first`, each
/// `stride` after the one before) widened one after the other into `out` ([`widen_run`]
/// each; with `cortex-m-asm`, one assembly loop over all of them).
fn widen_rows(
    x: &[i8],
    first: usize,
    stride: usize,
    runs: usize,
    run_len: usize,
    zero_point: i32,
    out: &mut [i16],
) {
    #[cfg(all(feature = "cortex-m-asm", target_arch = "arm", target_abi = "eabihf"))]
    if crate::cortex_m_asm::widen_rows_s8(x, first, stride, runs, run_len, zero_point, out) {
        return;
    }
    for r in 0..runs {
        let from = first + r * stride;
        widen_run(&x[from..from + run_len], zero_point, &mut out[r * run_len..]);
    }
}

/// The little-endian word at byte `at`.
#[inline]
fn word(b: &[i8], at: usize) -> i32 {
    i32::from_le_bytes([b[at] as u8, b[at + 1] as u8, b[at + 2] as u8, b[at + 3] as u8])
}

/// A group's four rows requantised (before the output zero point): `group` is one group of
/// [`pack`]'s layout for `x.len()` (padded) columns, `x` the widened inputs (the portable
/// code; `cortex_m_asm::groups_s8` computes the same values).
#[inline]
fn group_values(group: &[i8], x: &[i16], single: bool) -> [i32; ROWS] {
    let weights = ROWS * x.len();
    let mut acc = [0i32; ROWS];
    for (w, x) in group[..weights].chunks_exact(16).zip(x.chunks_exact(4)) {
        for (r, acc) in acc.iter_mut().enumerate() {
            let w = &w[4 * r..4 * r + 4];
            // x holds x0, x2, x1, x3
            let terms = [(w[0], x[0]), (w[2], x[1]), (w[1], x[2]), (w[3], x[3])];
            for (w, x) in terms {
                *acc = acc.wrapping_add(i32::from(w) * i32::from(x));
            }
        }
    }
    for (r, a) in acc.iter_mut().enumerate() {
        let p = |k: usize| word(group, weights + 4 * (r * ROW_WORDS + k));
        let product = i64::from(a.wrapping_add(p(0))) * i64::from(p(1));
        *a = if single {
            // (x m + 2^(t - 1)) >> t, t = 32 + p(4): TFLite's single rounding
            let round = (i64::from(p(3)) << 32) | i64::from(p(2) as u32);
            ((product.wrapping_add(round)) >> (32 + (p(4) & 31))) as i32
        } else {
            // the doubling high product, then the rounding right shift by p(2)
            let high = ((product + (1 << 30)) >> 31) as i32;
            let (e, mask) = (p(2) & 31, p(3));
            let threshold = (mask >> 1).wrapping_add(i32::from(high < 0));
            (high >> e).wrapping_add(i32::from(high & mask > threshold))
        };
    }
    acc
}

/// Runs the packed groups on widened `x16`, writing `y.len()` outputs.
fn rows_out(groups: &[i8], x16: &[i16], single: bool, out: &Output, y: &mut [i8]) {
    let bytes = ROWS * x16.len() + ROWS * ROW_WORDS * 4;
    let (zp, low, high) = (out.zero_point, i32::from(out.min), i32::from(out.max.max(out.min)));
    #[cfg(all(feature = "cortex-m-asm", target_arch = "arm", target_abi = "eabihf"))]
    {
        let mut ys = y.chunks_mut(ROWS);
        let ran = crate::cortex_m_asm::groups_s8(groups, x16, single, |v| {
            if let Some(y) = ys.next() {
                for (y, &v) in y.iter_mut().zip(&v) {
                    *y = v.saturating_add(zp).clamp(low, high) as i8;
                }
            }
        });
        if ran {
            return;
        }
    }
    for (group, y) in groups.chunks_exact(bytes).zip(y.chunks_mut(ROWS)) {
        let v = group_values(group, x16, single);
        for (y, &v) in y.iter_mut().zip(&v) {
            *y = v.saturating_add(zp).clamp(low, high) as i8;
        }
    }
}

/// The rounding in a packed layer's header (`None`: not a packed layer).
fn rounding_of(packed: &[i8]) -> Option<bool> {
    match packed.get(..HEADER).map(|_| word(packed, 0)) {
        Some(0) => Some(false),
        Some(1) => Some(true),
        _ => None,
    }
}

/// [`super::int8::fully_connected`] with a packed layer: `packed` from [`pack`] of the
/// `y.len() x x.len()` weights; `scratch` holds [`padded_cols`] of `x.len()` values. Nothing
/// is written if a length is wrong.
pub fn fully_connected(
    packed: &[i8],
    x: &[i8],
    input_zero_point: i32,
    out: &Output,
    scratch: &mut [i16],
    y: &mut [i8],
) {
    let (rows, cols) = (y.len(), x.len());
    let Some(single) = rounding_of(packed) else { return };
    if packed.len() != packed_len(rows, cols) || scratch.len() < padded_cols(cols) {
        return;
    }
    let x16 = &mut scratch[..padded_cols(cols)];
    widen(x, input_zero_point, x16);
    rows_out(&packed[HEADER..], x16, single, out, y);
}

/// A window tap by tap (zeros where a tap falls in the padding): what a window that is not
/// a set of whole input rows takes.
fn window_by_taps(g: &Geom2d, x: &[i8], zero_point: i32, oy: usize, ox: usize, window: &mut [i16]) {
    window.fill(0);
    for ky in 0..g.kernel_h {
        for kx in 0..g.kernel_w {
            let Some((iy, ix)) = g.tap(oy, ox, ky, kx) else { continue };
            let from = (iy * g.in_w + ix) * g.in_c;
            let at = (ky * g.kernel_w + kx) * g.in_c;
            let taps = &x[from..from + g.in_c];
            if at.is_multiple_of(4) {
                // the tap starts a group of four: its own widening order
                widen_run(taps, zero_point, &mut window[at..]);
            } else {
                for (c, &v) in taps.iter().enumerate() {
                    window[unordered(at + c)] = (i32::from(v) - zero_point) as i16;
                }
            }
        }
    }
}

/// [`super::int8::conv2d`] with a packed layer: `packed` from [`pack`] of the OHWI weights as
/// `out_c x (kernel_h * kernel_w * in_c)`; `scratch` holds [`padded_cols`] of that many
/// values (one window, widened). Nothing is written if a length is wrong.
#[allow(clippy::too_many_arguments)]
pub fn conv2d(
    g: &Geom2d,
    packed: &[i8],
    x: &[i8],
    input_zero_point: i32,
    out: &Output,
    scratch: &mut [i16],
    y: &mut [i8],
) {
    let cols = g.kernel_h * g.kernel_w * g.in_c;
    let n = padded_cols(cols);
    let Some(single) = rounding_of(packed) else { return };
    if packed.len() != packed_len(g.out_c, cols)
        || scratch.len() < n
        || x.len() < g.input_len()
        || y.len() < g.output_len()
    {
        return;
    }
    let window = &mut scratch[..n];
    // a kernel row's taps are one run of input when they are adjacent and the run starts
    // a group of four in the window
    let runs = g.dilation_w == 1 && (g.kernel_w * g.in_c).is_multiple_of(4);
    let row = g.kernel_w * g.in_c;
    for oy in 0..g.out_h {
        for ox in 0..g.out_w {
            // the window's columns all inside the input: its rows inside are runs of input
            // (rows above or below it are zeros)
            let left = (ox * g.stride_w).checked_sub(g.pad_left);
            match left.filter(|&l| runs && l + g.kernel_w <= g.in_w) {
                Some(left) => {
                    let top = oy * g.stride_h;
                    let inside = |ky: usize| {
                        (top + ky * g.dilation_h).checked_sub(g.pad_top).filter(|&y| y < g.in_h)
                    };
                    let ky0 = (0..g.kernel_h).find(|&k| inside(k).is_some()).unwrap_or(g.kernel_h);
                    let ky1 =
                        (ky0..g.kernel_h).find(|&k| inside(k).is_none()).unwrap_or(g.kernel_h);
                    window[..ky0 * row].fill(0);
                    window[ky1 * row..].fill(0);
                    if let Some(iy) = inside(ky0) {
                        let first = (iy * g.in_w + left) * g.in_c;
                        let stride = g.dilation_h * g.in_w * g.in_c;
                        let rest = &mut window[ky0 * row..];
                        widen_rows(x, first, stride, ky1 - ky0, row, input_zero_point, rest);
                    }
                }
                None => window_by_taps(g, x, input_zero_point, oy, ox, window),
            }
            let at = (oy * g.out_w + ox) * g.out_c;
            rows_out(&packed[HEADER..], window, single, out, &mut y[at..at + g.out_c]);
        }
    }
}
