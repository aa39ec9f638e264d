//! Fully connected layer kernels. Weights are row-major `[out][in]` (PyTorch's
//! `nn.Linear.weight` layout).

use super::elementwise::add_scaled;
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

/// Outputs per block of [`forward_packed`]'s weights.
pub const PACK: usize = 8;

/// [`forward`] with the weights laid out for the loop: blocks of [`PACK`] outputs, each
/// input's `PACK` weights side by side (`w[block][i][j] = W[block * PACK + j][i]`, zero past
/// the last output; [`crate::layer::PackedDense`] holds them so). Each output is still
/// `(sum_i W[o][i] * x[i]) + b[o]`, the sum from 0 in index order: the same bits as
/// [`forward`], with `PACK` sums side by side. On a Cortex-M4F one `vldmia` loads an input's
/// eight weights and eight `vmla.f32` (a multiply then an add, each rounded: not fused) use
/// them with one load of `x[i]`.
///
/// Shapes: `w` has `ceil(y.len() / PACK) * x.len() * PACK` values, `b` `y.len()`. Other
/// lengths never panic (the outputs the buffers cover are written).
#[inline]
pub fn forward_packed(w: &[f32], b: &[f32], x: &[f32], y: &mut [f32]) {
    let cols = x.len();
    if cols == 0 {
        for (out, bias) in y.iter_mut().zip(b) {
            *out = *bias;
        }
        return;
    }
    let blocks = w.chunks_exact(cols * PACK).zip(b.chunks(PACK)).zip(y.chunks_mut(PACK));
    for ((wb, bb), yb) in blocks {
        let acc = block_sums(wb, x);
        for ((out, &s), &bias) in yb.iter_mut().zip(&acc).zip(bb) {
            *out = s + bias;
        }
    }
}

/// The `PACK` sums of one block of [`forward_packed`]: `acc[j] = sum_i wb[i][j] * x[i]`, from
/// 0 in index order. `wb` holds `x.len() * PACK` values.
#[inline]
fn block_sums(wb: &[f32], x: &[f32]) -> [f32; PACK] {
    let mut acc = [0.0f32; PACK];
    block_accumulate(&mut acc, wb, x);
    acc
}

/// `acc[j] += wb[i][j] * x[i]` for `i` ascending (each product rounded, then each sum): a
/// block of [`PACK`] sums continued over `x.len()` more terms. With `cortex-m-asm` on a
/// hard-float Cortex-M, one `vldmia` per input's weights and eight `vmla.f32`.
#[inline]
pub fn block_accumulate(acc: &mut [f32; PACK], wb: &[f32], x: &[f32]) {
    #[cfg(all(feature = "cortex-m-asm", target_arch = "arm", target_abi = "eabihf"))]
    {
        crate::cortex_m_asm::block_accumulate(acc, wb, x);
    }
    #[cfg(not(all(feature = "cortex-m-asm", target_arch = "arm", target_abi = "eabihf")))]
    {
        for (wi, &xv) in wb.chunks_exact(PACK).zip(x) {
            for (a, &wj) in acc.iter_mut().zip(wi) {
                *a += wj * xv;
            }
        }
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
    // per output row: the row's weight gradient, then its terms of every dx[i] (each sum
    // still over `o` in order)
    let n = cols.min(dx.len());
    for (((row, grow), gbo), &d) in
        w.chunks_exact(cols).zip(gw.chunks_exact_mut(cols)).zip(gb.iter_mut()).zip(dy)
    {
        *gbo += d;
        add_scaled(grow, d, x);
        add_scaled(&mut dx[..n], d, row);
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
        add_scaled(grow, d, x);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The packed layout gives the row-major kernel's bits, for output counts around the
    /// block size (signed zeros and magnitudes that expose any reordering).
    #[test]
    fn packed_forward_equals_row_major_forward_bit_for_bit() {
        let mut rng = crate::rng::Rng::new(9);
        for (ins, outs) in [(1usize, 1usize), (3, 7), (5, 8), (64, 9), (17, 16), (64, 64), (2, 17)]
        {
            let w: Vec<f32> = (0..ins * outs)
                .map(
                    |k| if k % 9 == 0 { -0.0 } else { rng.normal() * 10f32.powi(k as i32 % 5 - 2) },
                )
                .collect();
            let b: Vec<f32> = (0..outs).map(|_| rng.normal()).collect();
            let x: Vec<f32> =
                (0..ins).map(|k| if k % 4 == 0 { 0.0 } else { rng.normal() }).collect();
            let mut packed = vec![0.0; outs.div_ceil(PACK) * ins * PACK];
            for o in 0..outs {
                for i in 0..ins {
                    packed[((o / PACK) * ins + i) * PACK + o % PACK] = w[o * ins + i];
                }
            }
            let (mut y, mut reference) = (vec![f32::NAN; outs], vec![0.0; outs]);
            forward_packed(&packed, &b, &x, &mut y);
            forward(&w, &b, &x, &mut reference);
            let bits = |v: &[f32]| v.iter().map(|f| f.to_bits()).collect::<Vec<_>>();
            assert_eq!(bits(&y), bits(&reference), "{ins} -> {outs}");
        }
    }

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
