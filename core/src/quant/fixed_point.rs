//! TFLite's fixed-point requantisation: an `i32` accumulator times a real multiplier
//! `M = m * 2^(shift - 31)`, `m` a Q0.31 value in `[2^30, 2^31)`, computed in integers only,
//! in either of TFLite's two builds ([`Rounding`]):
//!
//! - [`Rounding::Single`]: `floor((x * m + 2^(30 - shift)) / 2^(31 - shift))`, the exact
//!   product rounded once, ties upward (TFLite's `TFLITE_SINGLE_ROUNDING` build, and ruy's
//!   requantisation);
//! - [`Rounding::Double`] (gemmlowp's arithmetic: TFLite's default build, TFLM's and
//!   CMSIS-NN's default): [`multiply_by_quantized_multiplier`] is
//!   `rounding_divide_by_pot(saturating_rounding_doubling_high_mul(x * 2^max(shift, 0), m), max(-shift, 0))`:
//!   the high half of the doubled 64-bit product rounded to nearest with ties upward
//!   (gemmlowp's nudge), then a right shift rounded half away from zero.

/// Which of TFLite's requantisations (module documentation). LiteRT's interpreter (measured
/// with `ai-edge-litert` 2.21 against its reference kernels, `tests/tests/litert_int8.rs`)
/// computes `CONV_2D` and `DEPTHWISE_CONV_2D` with [`Rounding::Double`] and per-channel
/// `FULLY_CONNECTED` with [`Rounding::Single`] (its int8 per-channel product goes through
/// ruy): each op carries its own. (`ADD`: both give LiteRT's outputs on the committed model.)
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub enum Rounding {
    /// One rounding of the exact product (LiteRT).
    Single,
    /// gemmlowp's two roundings (TFLM, CMSIS-NN).
    Double,
}

/// `x * m * 2^(shift - 31)` rounded as `rounding` says.
#[inline]
pub const fn requantize(x: i32, m: i32, shift: i32, rounding: Rounding) -> i32 {
    match rounding {
        Rounding::Single => multiply_by_quantized_multiplier_single(x, m, shift),
        Rounding::Double => multiply_by_quantized_multiplier(x, m, shift),
    }
}

/// `x * m * 2^(shift - 31)` rounded once to nearest, ties upward, as TFLite's
/// `MultiplyByQuantizedMultiplier` in its `TFLITE_SINGLE_ROUNDING` build:
/// `(x * m + 2^(total - 1)) >> total` with `total = 31 - shift`, in 64 bits. `shift` is
/// clamped to `-31..=30` (TFLite's checked range); the result saturates to `i32` (TFLite
/// checks it fits).
pub const fn multiply_by_quantized_multiplier_single(x: i32, m: i32, shift: i32) -> i32 {
    let shift = if shift < -31 {
        -31
    } else if shift > 30 {
        30
    } else {
        shift
    };
    let total = (31 - shift) as u32;
    let r = (x as i64 * m as i64 + (1i64 << (total - 1))) >> total;
    if r > i32::MAX as i64 {
        i32::MAX
    } else if r < i32::MIN as i64 {
        i32::MIN
    } else {
        r as i32
    }
}

/// `floor(a * b / 2^31 + 1/2)` (nearest, ties upward: `-1.5` gives `-1`), as gemmlowp's
/// `SaturatingRoundingDoublingHighMul` computes it (a nudge of `+-2^30`, then a division
/// that truncates): the only overflow, `i32::MIN * i32::MIN`, saturates to `i32::MAX`.
pub const fn saturating_rounding_doubling_high_mul(a: i32, b: i32) -> i32 {
    if a == i32::MIN && b == i32::MIN {
        return i32::MAX;
    }
    let ab = a as i64 * b as i64;
    // gemmlowp's nudge (2^30, or 1 - 2^30 below zero) and truncating division come to
    // flooring `ab + 2^30` for every product (`ceil(y / 2^31) = floor((y + 2^31 - 1) / 2^31)`
    // for the negative sums): one add and one shift, no branch
    ((ab + (1 << 30)) >> 31) as i32
}

/// `x / 2^exponent` rounded half away from zero, as gemmlowp's `RoundingDivideByPOT`;
/// `exponent` in `0..=31` (clamped).
pub const fn rounding_divide_by_pot(x: i32, exponent: u32) -> i32 {
    let exponent = if exponent > 31 { 31 } else { exponent };
    let mask = (1u32 << exponent).wrapping_sub(1) as i32;
    let remainder = x & mask;
    let threshold = (mask >> 1) + if x < 0 { 1 } else { 0 };
    (x >> exponent) + if remainder > threshold { 1 } else { 0 }
}

/// `x * m * 2^(shift - 31)` rounded as TFLite's `MultiplyByQuantizedMultiplier` rounds it: a
/// left shift first when `shift > 0` (wrapping, as the C++ does on the targets it supports;
/// a correctly quantised model never overflows there), then the doubling high product, then
/// a rounding right shift by `-shift` when `shift < 0`.
pub const fn multiply_by_quantized_multiplier(x: i32, m: i32, shift: i32) -> i32 {
    let left = if shift > 0 { shift as u32 } else { 0 };
    let right = if shift > 0 { 0 } else { shift.unsigned_abs() };
    let shifted = x.wrapping_mul(1i32.wrapping_shl(left));
    rounding_divide_by_pot(saturating_rounding_doubling_high_mul(shifted, m), right)
}

/// A real multiplier as TFLite's `QuantizeMultiplier` encodes it: `(m, shift)` with
/// `real = m * 2^(shift - 31)` approximately, `m` in `[2^30, 2^31)` (`round(q * 2^31)`, ties
/// away from zero, where `real = q * 2^shift` with `q` in `[0.5, 1)`), or `(0, 0)` for zero
/// and for multipliers below `2^-32` (all their results are 0). Computed once, when a model
/// is quantised; the int8 path then uses only integers. `None` for a negative, infinite or
/// NaN multiplier, or one of `2^31` or more.
pub fn quantize_multiplier(real: f64) -> Option<(i32, i32)> {
    if !real.is_finite() || real < 0.0 {
        return None;
    }
    if real == 0.0 {
        return Some((0, 0));
    }
    let (q, mut shift) = libm::frexp(real);
    let mut fixed = libm::round(q * (1i64 << 31) as f64) as i64;
    if fixed == 1i64 << 31 {
        fixed /= 2;
        shift += 1;
    }
    if shift < -31 {
        return Some((0, 0));
    }
    if shift > 31 {
        return None;
    }
    Some((fixed as i32, shift))
}

/// The multiplier of an output channel whose weights have their own scale, as TFLite's
/// `PopulateConvolutionQuantizationParams` computes it for per-channel convolution and fully
/// connected layers: `input_scale * weight_scale / output_scale` in `f64`, then
/// [`quantize_multiplier`].
pub fn per_channel_multiplier(
    input_scale: f32,
    weight_scale: f32,
    output_scale: f32,
) -> Option<(i32, i32)> {
    quantize_multiplier(f64::from(input_scale) * f64::from(weight_scale) / f64::from(output_scale))
}

/// The multiplier of a layer with one weight scale, as TFLite's
/// `GetQuantizedConvolutionMultipler` computes it: the product `input_scale * weight_scale`
/// in `f32` (rounded once there), then divided by `output_scale` in `f64`.
pub fn per_tensor_multiplier(
    input_scale: f32,
    weight_scale: f32,
    output_scale: f32,
) -> Option<(i32, i32)> {
    quantize_multiplier(f64::from(input_scale * weight_scale) / f64::from(output_scale))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// `floor(n / d + 1/2)`: nearest, ties upward (`d > 0`).
    fn round_up_div(n: i128, d: i128) -> i128 {
        (2 * n + d).div_euclid(2 * d)
    }

    /// `round(n / d)`, ties away from zero (`d > 0`).
    fn round_div(n: i128, d: i128) -> i128 {
        let q = n / d;
        let r = n % d;
        if 2 * r.abs() >= d {
            q + n.signum()
        } else {
            q
        }
    }

    fn samples() -> impl Iterator<Item = i32> {
        let edges = [i32::MIN, i32::MIN + 1, -(1 << 30), -3, -2, -1, 0, 1, 2, 3, 1 << 30, i32::MAX];
        let mut state = 0x9E37_79B9u32;
        let random = (0..400).map(move |_| {
            state ^= state << 13;
            state ^= state >> 17;
            state ^= state << 5;
            state as i32 >> (state % 24)
        });
        edges.into_iter().chain(random)
    }

    #[test]
    fn doubling_high_mul_rounds_ties_up_and_saturates_once() {
        for a in samples() {
            for b in samples() {
                let got = saturating_rounding_doubling_high_mul(a, b);
                let exact = round_up_div(i128::from(a) * i128::from(b), 1 << 31);
                let want = exact.clamp(i128::from(i32::MIN), i128::from(i32::MAX)) as i32;
                assert_eq!(got, want, "{a} * {b}");
            }
        }
        assert_eq!(saturating_rounding_doubling_high_mul(i32::MIN, i32::MIN), i32::MAX);
        // ties go up: 3 * 2^30 / 2^31 = 1.5 -> 2, and -1.5 -> -1
        assert_eq!(saturating_rounding_doubling_high_mul(3, 1 << 30), 2);
        assert_eq!(saturating_rounding_doubling_high_mul(-3, 1 << 30), -1);
        assert_eq!(saturating_rounding_doubling_high_mul(-5, 1 << 30), -2); // -2.5
        assert_eq!(saturating_rounding_doubling_high_mul(-7, 1 << 29), -2); // -1.75
    }

    #[test]
    fn divide_by_power_of_two_rounds_half_away_from_zero() {
        for x in samples() {
            for e in 0..=31 {
                let want = round_div(i128::from(x), 1i128 << e) as i32;
                assert_eq!(rounding_divide_by_pot(x, e), want, "{x} / 2^{e}");
            }
        }
        assert_eq!(rounding_divide_by_pot(5, 1), 3);
        assert_eq!(rounding_divide_by_pot(-5, 1), -3);
        assert_eq!(rounding_divide_by_pot(-4, 1), -2);
        assert_eq!(rounding_divide_by_pot(7, 40), rounding_divide_by_pot(7, 31));
    }

    #[test]
    fn requantisation_rounds_twice_in_tflites_order() {
        let multipliers = [(1 << 30, 0), (1_518_500_250, -7), (i32::MAX, -1), (1_200_000_000, 3)];
        for x in samples() {
            for (m, shift) in multipliers {
                let scaled = i128::from(x) << shift.max(0);
                if scaled > i128::from(i32::MAX) || scaled < i128::from(i32::MIN) {
                    continue; // a real model's accumulator never overflows here
                }
                let high = round_up_div(scaled * i128::from(m), 1 << 31);
                let want = round_div(high, 1i128 << (-shift).max(0)) as i32;
                assert_eq!(multiply_by_quantized_multiplier(x, m, shift), want, "{x} {m} {shift}");
            }
        }
        // 1000 * 0.75 * 2^-3 = 93.75 -> 94
        let (m, shift) = quantize_multiplier(0.75 / 8.0).unwrap();
        assert_eq!((m, shift), (1_610_612_736, -3));
        assert_eq!(multiply_by_quantized_multiplier(1000, m, shift), 94);
        assert_eq!(multiply_by_quantized_multiplier(-1000, m, shift), -94);
        // the two roundings are not one: x = 2, M = 0.75 * 2^-2 = 0.1875 gives the high
        // product 1.5 -> 2, then 2 / 4 = 0.5 -> 1, where rounding 0.375 once gives 0
        assert_eq!(multiply_by_quantized_multiplier(2, 1_610_612_736, -2), 1);
    }

    #[test]
    fn single_rounding_rounds_the_exact_product_once() {
        for x in samples() {
            for (m, shift) in
                [(1 << 30, 0), (1_518_500_250, -7), (i32::MAX, -1), (1_200_000_000, 3)]
            {
                let exact = i128::from(x) * i128::from(m);
                let want = round_up_div(exact, 1i128 << (31 - shift));
                let want = want.clamp(i128::from(i32::MIN), i128::from(i32::MAX)) as i32;
                let got = multiply_by_quantized_multiplier_single(x, m, shift);
                assert_eq!(got, want, "{x} {m} {shift}");
                assert_eq!(requantize(x, m, shift, Rounding::Single), got);
                let double = multiply_by_quantized_multiplier(x, m, shift);
                assert_eq!(requantize(x, m, shift, Rounding::Double), double);
            }
        }
        // where the two differ: 2 * 0.1875 = 0.375 -> 0 once, 1 twice (see above); ties go
        // up: 0.5 -> 1, -0.5 -> 0
        assert_eq!(multiply_by_quantized_multiplier_single(2, 1_610_612_736, -2), 0);
        assert_eq!(multiply_by_quantized_multiplier_single(1, 1 << 30, 0), 1);
        assert_eq!(multiply_by_quantized_multiplier_single(-1, 1 << 30, 0), 0);
        // the shift's range and the result's are clamped, not a panic
        assert_eq!(multiply_by_quantized_multiplier_single(i32::MAX, i32::MAX, 31), i32::MAX);
        assert_eq!(multiply_by_quantized_multiplier_single(i32::MIN, i32::MAX, 30), i32::MIN);
        assert_eq!(multiply_by_quantized_multiplier_single(1 << 20, 1 << 30, -40), 0);
    }

    #[test]
    fn layer_multipliers_round_where_tflite_rounds() {
        // the f32 product rounds: 0.1 * 0.3 is 0.030000001 in f32, 0.03000000044703484 exact
        let (a, b, out) = (0.1f32, 0.3f32, 0.7f32);
        let exact = f64::from(a) * f64::from(b) / f64::from(out);
        let rounded = f64::from(a * b) / f64::from(out);
        assert_ne!(exact, rounded);
        assert_eq!(per_channel_multiplier(a, b, out), quantize_multiplier(exact));
        assert_eq!(per_tensor_multiplier(a, b, out), quantize_multiplier(rounded));
        assert_eq!(per_channel_multiplier(1.0, 0.5, 1.0), Some((1 << 30, 0)));
        assert_eq!(per_tensor_multiplier(1.0, 0.0, 1.0), Some((0, 0)));
    }

    #[test]
    fn multipliers_encode_as_tflite_encodes_them() {
        assert_eq!(quantize_multiplier(0.0), Some((0, 0)));
        assert_eq!(quantize_multiplier(0.5), Some((1 << 30, 0)));
        assert_eq!(quantize_multiplier(1.0), Some((1 << 30, 1)));
        assert_eq!(quantize_multiplier(0.25), Some((1 << 30, -1)));
        // q rounds up to 2^31: halved, shift + 1
        assert_eq!(quantize_multiplier(1.0 - 1e-12), Some((1 << 30, 1)));
        // below 2^-32: every result is 0
        assert_eq!(quantize_multiplier(1e-12), Some((0, 0)));
        assert_eq!(quantize_multiplier(-0.5), None);
        assert_eq!(quantize_multiplier(f64::NAN), None);
        assert_eq!(quantize_multiplier(f64::INFINITY), None);
        assert_eq!(quantize_multiplier(3e9), None);
        for real in [0.003_921_568_6, 0.1234, 0.9, 1.7, 1e-5, 123.456] {
            let (m, shift) = quantize_multiplier(real).unwrap();
            assert!((1 << 30..=i32::MAX).contains(&m), "{real}: {m}");
            let back = f64::from(m) * libm::pow(2.0, f64::from(shift - 31));
            assert!((back - real).abs() <= real * 2.0f64.powi(-30), "{real}: {back}");
        }
    }
}
