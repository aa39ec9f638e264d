//! Integer kernels of the int8 path (TFLite's int8 quantisation specification): no float
//! anywhere. Weights are symmetric per output channel (zero point 0), activations affine per
//! tensor, biases `i32`; each output's `i32` accumulator is requantised by its channel's
//! fixed-point multiplier ([`crate::quant::fixed_point`]).
//!
//! Integer sums are exact (a model whose accumulators fit `i32`, as TFLite assumes), so
//! unlike the float kernels their order does not change the result: a vectorised kernel may
//! sum in any order and keep the bits.

use crate::quant::fixed_point::multiply_by_quantized_multiplier;

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
        let v = multiply_by_quantized_multiplier(acc, m, s).saturating_add(self.output_zero_point);
        v.clamp(i32::from(self.min), i32::from(self.max)) as i8
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
            acc = acc.wrapping_add(i32::from(wi) * (i32::from(xi) - input_zero_point));
        }
        *y = rq.output(o, acc);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::quant::fixed_point::quantize_multiplier;

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
        };
        let mut y = [0i8];
        fully_connected(&[], &[40], &[], 0, &rq, &mut y);
        assert_eq!(y, [39]);
    }
}
