//! Integer kernels of the int8 path (TFLite's int8 quantisation specification): no float
//! anywhere. Weights are symmetric per output channel (zero point 0), activations affine per
//! tensor, biases `i32`; each output's `i32` accumulator is requantised by its channel's
//! fixed-point multiplier ([`crate::quant::fixed_point`]).
//!
//! Integer sums are exact (a model whose accumulators fit `i32`, as TFLite assumes), so
//! unlike the float kernels their order does not change the result: a vectorised kernel may
//! sum in any order and keep the bits.

use crate::quant::fixed_point::{requantize, Rounding};

/// The requantisation of a layer's outputs: per output channel multipliers and shifts,
/// the output's zero point and the clamp range of the fused activation.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Requantize<'a> {
    /// Q0.31 multipliers, one per output channel (`quant::fixed_point::quantize_multiplier`
    /// of `input_scale * weight_scale[o] / output_scale`).
    pub multiplier: &'a [i32],
    /// Their shifts.
    pub shift: &'a [i32],
    /// The output tensor's zero point.
    pub output_zero_point: i32,
    /// Smallest output (the fused activation's floor; -128 without one).
    pub min: i8,
    /// Largest output.
    pub max: i8,
    /// TFLite's single rounding (LiteRT) or double rounding (TFLM, CMSIS-NN).
    pub rounding: Rounding,
}

impl Requantize<'_> {
    /// Output channel `o`'s `i8` from its accumulator: requantised, offset by the zero point,
    /// clamped to `[min, max]`.
    #[inline]
    pub fn output(&self, o: usize, acc: i32) -> i8 {
        let (m, s) = match (self.multiplier.get(o), self.shift.get(o)) {
            (Some(&m), Some(&s)) => (m, s),
            _ => (0, 0),
        };
        let v = requantize(acc, m, s, self.rounding).saturating_add(self.output_zero_point);
        v.clamp(i32::from(self.min), i32::from(self.max.max(self.min))) as i8
    }
}

/// Fully connected, TFLite's int8 `FULLY_CONNECTED` with per-channel weights:
/// `acc[o] = bias[o] + sum_i w[o][i] * (x[i] - input_zero_point)`, then
/// `y[o] = clamp(requantize_o(acc[o]) + output_zero_point, min, max)`.
///
/// Shapes: `w` `[out][in]` row-major (`in = x.len()`), `bias` `[out]` (`i32`, scale
/// `input_scale * weight_scale[o]`), `y` `[out]`.
pub fn fully_connected(
    w: &[i8],
    bias: &[i32],
    x: &[i8],
    input_zero_point: i32,
    rq: &Requantize<'_>,
    y: &mut [i8],
) {
    let cols = x.len();
    if cols == 0 {
        for (o, y) in y.iter_mut().enumerate() {
            *y = rq.output(o, bias.get(o).copied().unwrap_or(0));
        }
        return;
    }
    for (o, (row, y)) in w.chunks_exact(cols).zip(y.iter_mut()).enumerate() {
        let mut acc = bias.get(o).copied().unwrap_or(0);
        for (&wi, &xi) in row.iter().zip(x) {
            acc = acc.wrapping_add(
                i32::from(wi).wrapping_mul(i32::from(xi).wrapping_sub(input_zero_point)),
            );
        }
        *y = rq.output(o, acc);
    }
}

/// The shape of a 2-D int8 operation on one sample in TFLite's layout: input `[in_h][in_w][in_c]`
/// (NHWC without the batch), output `[out_h][out_w][out_c]`, a `kernel_h x kernel_w` window
/// moved by the strides, starting `pad_top` / `pad_left` before the input (TFLite's `SAME`
/// padding puts the odd padding value at the bottom and right: `pad = total / 2`), dilation
/// between kernel taps.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Geom2d {
    /// Input height.
    pub in_h: usize,
    /// Input width.
    pub in_w: usize,
    /// Input channels.
    pub in_c: usize,
    /// Output height.
    pub out_h: usize,
    /// Output width.
    pub out_w: usize,
    /// Output channels.
    pub out_c: usize,
    /// Kernel (window) height.
    pub kernel_h: usize,
    /// Kernel (window) width.
    pub kernel_w: usize,
    /// Vertical stride.
    pub stride_h: usize,
    /// Horizontal stride.
    pub stride_w: usize,
    /// Padding rows before the input.
    pub pad_top: usize,
    /// Padding columns before the input.
    pub pad_left: usize,
    /// Vertical dilation (1: adjacent taps).
    pub dilation_h: usize,
    /// Horizontal dilation.
    pub dilation_w: usize,
}

impl Geom2d {
    /// Input values of one sample.
    pub const fn input_len(&self) -> usize {
        self.in_h * self.in_w * self.in_c
    }

    /// Output values of one sample.
    pub const fn output_len(&self) -> usize {
        self.out_h * self.out_w * self.out_c
    }

    /// For each kernel tap `(ky, kx)` of output position `(oy, ox)`, the input position it
    /// reads, or `None` where the tap falls in the padding.
    #[inline]
    pub(crate) fn tap(&self, oy: usize, ox: usize, ky: usize, kx: usize) -> Option<(usize, usize)> {
        let y = (oy * self.stride_h + ky * self.dilation_h).checked_sub(self.pad_top)?;
        let x = (ox * self.stride_w + kx * self.dilation_w).checked_sub(self.pad_left)?;
        (y < self.in_h && x < self.in_w).then_some((y, x))
    }

    /// Whether the slices fit: `x` holds [`Self::input_len`] values, `y`
    /// [`Self::output_len`].
    fn fits(&self, x: &[i8], y: &[i8]) -> bool {
        x.len() >= self.input_len() && y.len() >= self.output_len()
    }
}

/// Convolution, TFLite's int8 `CONV_2D` with per-channel weights (`ConvPerChannel`):
/// `acc[o] = bias[o] + sum_{ky,kx,c} w[o][ky][kx][c] * (x[y][x][c] - input_zero_point)` over
/// the taps inside the input, then requantised per output channel.
///
/// Shapes: `x` `[in_h][in_w][in_c]`, `w` `[out_c][kernel_h][kernel_w][in_c]` (OHWI), `bias`
/// `[out_c]`, `y` `[out_h][out_w][out_c]`. Nothing is written if `x`, `w` or `y` is short.
pub fn conv2d(
    g: &Geom2d,
    w: &[i8],
    bias: &[i32],
    x: &[i8],
    input_zero_point: i32,
    rq: &Requantize<'_>,
    y: &mut [i8],
) {
    let per_filter = g.kernel_h * g.kernel_w * g.in_c;
    if !g.fits(x, y) || w.len() < g.out_c * per_filter {
        return;
    }
    for oy in 0..g.out_h {
        for ox in 0..g.out_w {
            for o in 0..g.out_c {
                let mut acc = bias.get(o).copied().unwrap_or(0);
                for ky in 0..g.kernel_h {
                    for kx in 0..g.kernel_w {
                        let Some((iy, ix)) = g.tap(oy, ox, ky, kx) else { continue };
                        let xs = &x[(iy * g.in_w + ix) * g.in_c..][..g.in_c];
                        let ws = &w[o * per_filter + (ky * g.kernel_w + kx) * g.in_c..][..g.in_c];
                        for (&wi, &xi) in ws.iter().zip(xs) {
                            acc = acc.wrapping_add(
                                i32::from(wi)
                                    .wrapping_mul(i32::from(xi).wrapping_sub(input_zero_point)),
                            );
                        }
                    }
                }
                y[(oy * g.out_w + ox) * g.out_c + o] = rq.output(o, acc);
            }
        }
    }
}

/// Depthwise convolution, TFLite's int8 `DEPTHWISE_CONV_2D` with per-channel weights: output
/// channel `o = c * multiplier + m` (`multiplier = out_c / in_c`) sees input channel `c`
/// only: `acc[o] = bias[o] + sum_{ky,kx} w[ky][kx][o] * (x[y][x][c] - input_zero_point)`.
///
/// Shapes: `w` `[kernel_h][kernel_w][out_c]` (TFLite's `[1][H][W][out_c]`), the rest as
/// [`conv2d`]. Nothing is written if `out_c` is not a multiple of `in_c` or a slice is short.
pub fn depthwise_conv2d(
    g: &Geom2d,
    w: &[i8],
    bias: &[i32],
    x: &[i8],
    input_zero_point: i32,
    rq: &Requantize<'_>,
    y: &mut [i8],
) {
    if g.in_c == 0 || !g.out_c.is_multiple_of(g.in_c) || !g.fits(x, y) {
        return;
    }
    if w.len() < g.kernel_h * g.kernel_w * g.out_c {
        return;
    }
    let multiplier = g.out_c / g.in_c;
    for oy in 0..g.out_h {
        for ox in 0..g.out_w {
            for o in 0..g.out_c {
                let c = o / multiplier;
                let mut acc = bias.get(o).copied().unwrap_or(0);
                for ky in 0..g.kernel_h {
                    for kx in 0..g.kernel_w {
                        let Some((iy, ix)) = g.tap(oy, ox, ky, kx) else { continue };
                        let xi = i32::from(x[(iy * g.in_w + ix) * g.in_c + c]);
                        let wi = i32::from(w[(ky * g.kernel_w + kx) * g.out_c + o]);
                        acc = acc.wrapping_add(wi.wrapping_mul(xi.wrapping_sub(input_zero_point)));
                    }
                }
                y[(oy * g.out_w + ox) * g.out_c + o] = rq.output(o, acc);
            }
        }
    }
}

/// Max pooling, TFLite's int8 `MAX_POOL_2D`: the largest input in each window's taps inside
/// the input, clamped to `[min, max]` (a fused activation). `out_c` must equal `in_c`. A
/// window entirely in the padding gives `min`.
pub fn max_pool2d(g: &Geom2d, x: &[i8], min: i8, max: i8, y: &mut [i8]) {
    pool(g, x, y, |taps| taps.fold(i8::MIN, i8::max).clamp(min, max.max(min)));
}

/// Average pooling, TFLite's int8 `AVERAGE_POOL_2D`: the sum of each window's taps inside the
/// input divided by their count, rounded half away from zero, clamped to `[min, max]`. A
/// window entirely in the padding gives `min`.
pub fn avg_pool2d(g: &Geom2d, x: &[i8], min: i8, max: i8, y: &mut [i8]) {
    pool(g, x, y, |taps| {
        let (sum, n) =
            taps.fold((0i32, 0i32), |(s, n), v| (s.wrapping_add(i32::from(v)), n.wrapping_add(1)));
        let avg = match n {
            0 => i32::from(min),
            _ if sum > 0 => sum.wrapping_add(n / 2).wrapping_div(n),
            _ => sum.wrapping_sub(n / 2).wrapping_div(n),
        };
        avg.clamp(i32::from(min), i32::from(max.max(min))) as i8
    });
}

/// A pooling walk: `reduce` of each output's window taps (inside the input), per channel.
fn pool(g: &Geom2d, x: &[i8], y: &mut [i8], reduce: impl Fn(&mut dyn Iterator<Item = i8>) -> i8) {
    if g.in_c != g.out_c || !g.fits(x, y) {
        return;
    }
    for oy in 0..g.out_h {
        for ox in 0..g.out_w {
            for c in 0..g.out_c {
                let mut taps = (0..g.kernel_h)
                    .flat_map(|ky| (0..g.kernel_w).map(move |kx| (ky, kx)))
                    .filter_map(|(ky, kx)| g.tap(oy, ox, ky, kx))
                    .map(|(iy, ix)| x[(iy * g.in_w + ix) * g.in_c + c]);
                y[(oy * g.out_w + ox) * g.out_c + c] = reduce(&mut taps);
            }
        }
    }
}

/// The parameters of an int8 `ADD` (TFLite's `AddElementwise`): both inputs are moved onto
/// a common scale with `left_shift` bits of headroom (20 for int8), summed, and the sum is
/// requantised to the output.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct AddParams {
    /// Zero points of the two inputs.
    pub input_zero_points: [i32; 2],
    /// Headroom bits before scaling the inputs (TFLite: 20 for int8).
    pub left_shift: u32,
    /// Multipliers and shifts (`<= 0`) of the two inputs onto the common scale.
    pub input_multipliers: [(i32, i32); 2],
    /// Multiplier and shift of the sum onto the output.
    pub output_multiplier: (i32, i32),
    /// The output's zero point.
    pub output_zero_point: i32,
    /// Smallest output (a fused activation's floor).
    pub min: i8,
    /// Largest output.
    pub max: i8,
    /// TFLite's single or double rounding.
    pub rounding: Rounding,
}

impl AddParams {
    /// The parameters TFLite's `ADD` derives from the tensors' quantisation (its `Prepare`,
    /// in `f64`, once; the kernel is integer only): with `twice = 2 max(s1, s2)`, inputs
    /// scaled by `s_i / twice`, the sum by `twice / (2^20 s_out)`. `None` for a scale whose
    /// multiplier cannot be encoded.
    pub fn from_scales(
        inputs: [crate::quant::affine::Affine; 2],
        output: crate::quant::affine::Affine,
        (min, max): (i8, i8),
        rounding: Rounding,
    ) -> Option<Self> {
        use crate::quant::fixed_point::quantize_multiplier;
        const LEFT_SHIFT: u32 = 20;
        let twice = 2.0 * f64::from(inputs[0].scale.max(inputs[1].scale));
        let m = |a: &crate::quant::affine::Affine| quantize_multiplier(f64::from(a.scale) / twice);
        let out = twice / (f64::from(1u32 << LEFT_SHIFT) * f64::from(output.scale));
        Some(Self {
            input_zero_points: [inputs[0].zero_point, inputs[1].zero_point],
            left_shift: LEFT_SHIFT,
            input_multipliers: [m(&inputs[0])?, m(&inputs[1])?],
            output_multiplier: quantize_multiplier(out)?,
            output_zero_point: output.zero_point,
            min,
            max,
            rounding,
        })
    }
}

/// Element-wise addition of two int8 tensors of the same quantisation-independent shape,
/// TFLite's int8 `ADD` without broadcasting: `y[i] = clamp(requantize(scale_1(a[i] - z_1) +
/// scale_2(b[i] - z_2)) + z_out, min, max)`, over the common length.
pub fn add(p: &AddParams, a: &[i8], b: &[i8], y: &mut [i8]) {
    let [(m1, s1), (m2, s2)] = p.input_multipliers;
    let (mo, so) = p.output_multiplier;
    let head = 1i32.wrapping_shl(p.left_shift.min(31));
    for ((&a, &b), y) in a.iter().zip(b).zip(y.iter_mut()) {
        let a = i32::from(a).wrapping_sub(p.input_zero_points[0]).wrapping_mul(head);
        let b = i32::from(b).wrapping_sub(p.input_zero_points[1]).wrapping_mul(head);
        let sum = requantize(a, m1, s1, p.rounding).wrapping_add(requantize(b, m2, s2, p.rounding));
        let v = requantize(sum, mo, so, p.rounding).saturating_add(p.output_zero_point);
        *y = v.clamp(i32::from(p.min), i32::from(p.max.max(p.min))) as i8;
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::quant::fixed_point::quantize_multiplier;
    use crate::quant::fixed_point::Rounding;

    #[test]
    fn fully_connected_computes_the_integer_formula() {
        // 2 outputs, 3 inputs; input zero point -5, output zero point 3
        let w = [10i8, -20, 30, -128, 127, 1];
        let bias = [100, -50];
        let x = [-5i8, 10, -128];
        let (m0, s0) = quantize_multiplier(0.01).unwrap();
        let (m1, s1) = quantize_multiplier(0.002).unwrap();
        let rq = Requantize {
            multiplier: &[m0, m1],
            shift: &[s0, s1],
            output_zero_point: 3,
            min: -128,
            max: 127,
            rounding: Rounding::Single,
        };
        let mut y = [0i8; 2];
        fully_connected(&w, &bias, &x, -5, &rq, &mut y);
        // acc0 = 100 + 10*0 - 20*15 + 30*(-123) = -3890 -> -38.9 -> -39 + 3 = -36
        // acc1 = -50 - 128*0 + 127*15 + 1*(-123) = 1732 -> 3.464 -> 3 + 3 = 6
        assert_eq!(y, [-36, 6]);
        // a fused ReLU's floor is the output zero point
        let relu = Requantize { min: 3, ..rq };
        fully_connected(&w, &bias, &x, -5, &relu, &mut y);
        assert_eq!(y, [3, 6]);
        // saturation at the i8 range
        let big = Requantize { multiplier: &[1 << 30, 1 << 30], shift: &[1, 1], ..rq };
        fully_connected(&w, &bias, &x, -5, &big, &mut y);
        assert_eq!(y, [-128, 127]);
    }

    #[test]
    fn an_empty_input_gives_the_requantised_bias() {
        let rq = Requantize {
            multiplier: &[1 << 30],
            shift: &[1],
            output_zero_point: -1,
            min: -128,
            max: 127,
            rounding: Rounding::Single,
        };
        let mut y = [0i8];
        fully_connected(&[], &[40], &[], 0, &rq, &mut y);
        assert_eq!(y, [39]);
    }

    /// Values in `-128..=127` from a seed, for the window tests.
    fn pseudo(n: usize, seed: u32) -> Vec<i8> {
        let mut state = seed.wrapping_mul(2_654_435_761) | 1;
        (0..n)
            .map(|_| {
                state ^= state << 13;
                state ^= state >> 17;
                state ^= state << 5;
                (state >> 24) as u8 as i8
            })
            .collect()
    }

    /// A strided, dilated, padded geometry with several input channels.
    const G: Geom2d = Geom2d {
        in_h: 5,
        in_w: 6,
        in_c: 3,
        out_h: 3,
        out_w: 3,
        out_c: 6,
        kernel_h: 3,
        kernel_w: 2,
        stride_h: 2,
        stride_w: 2,
        pad_top: 1,
        pad_left: 2,
        dilation_h: 2,
        dilation_w: 3,
    };

    fn rq<'a>(m: &'a [i32], s: &'a [i32]) -> Requantize<'a> {
        Requantize {
            multiplier: m,
            shift: s,
            output_zero_point: -7,
            min: -128,
            max: 127,
            rounding: Rounding::Double,
        }
    }

    /// The input position of tap `(ky, kx)` of output `(oy, ox)`, in signed arithmetic.
    fn tap(oy: usize, ox: usize, ky: usize, kx: usize) -> Option<(usize, usize)> {
        let y = (oy * G.stride_h) as i64 + (ky * G.dilation_h) as i64 - G.pad_top as i64;
        let x = (ox * G.stride_w) as i64 + (kx * G.dilation_w) as i64 - G.pad_left as i64;
        ((0..G.in_h as i64).contains(&y) && (0..G.in_w as i64).contains(&x))
            .then_some((y as usize, x as usize))
    }

    #[test]
    fn conv2d_sums_each_tap_and_channel_of_the_window() {
        let x = pseudo(G.input_len(), 1);
        let w = pseudo(G.out_c * G.kernel_h * G.kernel_w * G.in_c, 2);
        let bias: Vec<i32> = (0..G.out_c as i32).map(|o| 1000 * o - 2500).collect();
        let (m, s) = quantize_multiplier(0.004).unwrap();
        let (m, s) = ([m; 6], [s; 6]);
        let mut y = vec![0i8; G.output_len()];
        conv2d(&G, &w, &bias, &x, 5, &rq(&m, &s), &mut y);
        for oy in 0..G.out_h {
            for ox in 0..G.out_w {
                for o in 0..G.out_c {
                    let mut acc = i64::from(bias[o]);
                    for ky in 0..G.kernel_h {
                        for kx in 0..G.kernel_w {
                            let Some((iy, ix)) = tap(oy, ox, ky, kx) else { continue };
                            for c in 0..G.in_c {
                                let xv = i64::from(x[(iy * G.in_w + ix) * G.in_c + c]);
                                let wv = i64::from(
                                    w[((o * G.kernel_h + ky) * G.kernel_w + kx) * G.in_c + c],
                                );
                                acc += wv * (xv - 5);
                            }
                        }
                    }
                    let want = rq(&m, &s).output(o, acc as i32);
                    assert_eq!(y[(oy * G.out_w + ox) * G.out_c + o], want, "({oy}, {ox}, {o})");
                }
            }
        }
        // a short weight slice writes nothing
        let mut untouched = vec![9i8; G.output_len()];
        conv2d(&G, &w[1..], &bias, &x, 5, &rq(&m, &s), &mut untouched);
        assert!(untouched.iter().all(|&v| v == 9));
    }

    #[test]
    fn depthwise_conv2d_keeps_each_channel_to_its_multiplier_outputs() {
        let x = pseudo(G.input_len(), 3);
        let w = pseudo(G.kernel_h * G.kernel_w * G.out_c, 4);
        let bias: Vec<i32> = (0..G.out_c as i32).map(|o| 300 * o - 700).collect();
        let m: Vec<i32> =
            (0..6).map(|o| quantize_multiplier(0.01 + 0.003 * f64::from(o)).unwrap().0).collect();
        let s: Vec<i32> =
            (0..6).map(|o| quantize_multiplier(0.01 + 0.003 * f64::from(o)).unwrap().1).collect();
        let mut y = vec![0i8; G.output_len()];
        depthwise_conv2d(&G, &w, &bias, &x, -3, &rq(&m, &s), &mut y);
        for oy in 0..G.out_h {
            for ox in 0..G.out_w {
                for o in 0..G.out_c {
                    let c = o / 2; // multiplier 6 / 3
                    let mut acc = i64::from(bias[o]);
                    for ky in 0..G.kernel_h {
                        for kx in 0..G.kernel_w {
                            let Some((iy, ix)) = tap(oy, ox, ky, kx) else { continue };
                            let xv = i64::from(x[(iy * G.in_w + ix) * G.in_c + c]);
                            acc += i64::from(w[(ky * G.kernel_w + kx) * G.out_c + o]) * (xv + 3);
                        }
                    }
                    let want = rq(&m, &s).output(o, acc as i32);
                    assert_eq!(y[(oy * G.out_w + ox) * G.out_c + o], want, "({oy}, {ox}, {o})");
                }
            }
        }
        let mut untouched = vec![9i8; G.output_len()];
        depthwise_conv2d(&G, &w[1..], &bias, &x, -3, &rq(&m, &s), &mut untouched);
        assert!(untouched.iter().all(|&v| v == 9));
        let odd = Geom2d { out_c: 5, ..G };
        depthwise_conv2d(&odd, &w, &bias, &x, -3, &rq(&m, &s), &mut untouched);
        assert!(untouched.iter().all(|&v| v == 9));
    }

    #[test]
    fn pools_take_the_max_and_the_rounded_mean_of_the_taps_inside() {
        let g = Geom2d { out_c: 3, kernel_w: 3, ..G };
        let x = pseudo(g.input_len(), 5);
        let (mut mx, mut avg) = (vec![0i8; g.output_len()], vec![0i8; g.output_len()]);
        max_pool2d(&g, &x, -20, 100, &mut mx);
        avg_pool2d(&g, &x, -128, 127, &mut avg);
        for oy in 0..g.out_h {
            for ox in 0..g.out_w {
                for c in 0..g.out_c {
                    let taps: Vec<i32> = (0..g.kernel_h)
                        .flat_map(|ky| (0..g.kernel_w).map(move |kx| (ky, kx)))
                        .filter_map(|(ky, kx)| tap(oy, ox, ky, kx))
                        .map(|(iy, ix)| i32::from(x[(iy * g.in_w + ix) * g.in_c + c]))
                        .collect();
                    let k = (oy * g.out_w + ox) * g.out_c + c;
                    let max = taps.iter().copied().max().unwrap_or(-20).clamp(-20, 100);
                    assert_eq!(i32::from(mx[k]), max);
                    let n = taps.len() as f64;
                    let mean = taps.iter().sum::<i32>() as f64 / n;
                    if !taps.is_empty() {
                        // half away from zero
                        assert_eq!(
                            f64::from(avg[k]),
                            (mean.abs() + 0.5).floor() * mean.signum(),
                            "{taps:?}"
                        );
                    }
                }
            }
        }
    }

    #[test]
    fn add_is_the_sum_of_the_real_values_requantised() {
        use crate::quant::affine::Affine;
        let (a, b) = (Affine::new(0.05, -10).unwrap(), Affine::new(0.02, 7).unwrap());
        let out = Affine::new(0.06, 3).unwrap();
        for rounding in [Rounding::Single, Rounding::Double] {
            let p = AddParams::from_scales([a, b], out, (-128, 127), rounding).unwrap();
            assert_eq!(p.left_shift, 20);
            // TFLite's derivation, computed independently (numpy, the f32 scales in f64):
            // twice = 2 * 0.05 = 0.1; 0.05 / 0.1 = 0.5; 0.02 / 0.1; 0.1 / (2^20 * 0.06)
            assert_eq!(p.input_multipliers, [(1_073_741_824, 0), (1_717_986_854, -2)]);
            assert_eq!(p.output_multiplier, (1_789_569_773, -19));
            assert_eq!((p.input_zero_points, p.output_zero_point), ([-10, 7], 3));
            let xs: Vec<i8> = (-128..=127).step_by(3).map(|v| v as i8).collect();
            for &x in &xs {
                let ys = vec![0i8; xs.len()];
                let mut got = ys.clone();
                let xa = vec![x; xs.len()];
                add(&p, &xa, &xs, &mut got);
                for (&yb, &g) in xs.iter().zip(&got) {
                    let real =
                        0.05 * f64::from(i32::from(x) + 10) + 0.02 * f64::from(i32::from(yb) - 7);
                    let q = real / 0.06 + 3.0;
                    let nearest = q.round().clamp(-128.0, 127.0);
                    if (q - q.floor() - 0.5).abs() > 0.01 {
                        assert_eq!(f64::from(g), nearest, "{x} + {yb}: {q}");
                    } else {
                        assert!((f64::from(g) - nearest).abs() <= 1.0, "{x} + {yb}: {q}");
                    }
                }
            }
            // a fused ReLU's floor and the clamp
            let relu = AddParams { min: 3, ..p };
            let mut y = [0i8; 2];
            add(&relu, &[-128, 127], &[-128, 127], &mut y);
            assert_eq!(y, [3, 127]);
        }
        // a multiplier that cannot be encoded: an output scale so small the sum overflows
        let tiny = Affine::new(1e-30, 0).unwrap();
        assert!(AddParams::from_scales([a, b], tiny, (-128, 127), Rounding::Double).is_none());
    }
}
