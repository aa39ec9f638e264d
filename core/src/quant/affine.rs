//! Affine (asymmetric) quantisation of a tensor, as TFLite's int8 specification defines it:
//! `real = scale * (q - zero_point)`, `q` an `i8`. Activations use one `(scale, zero_point)`
//! per tensor; weights are symmetric (`zero_point` 0) with one scale per output channel;
//! biases are `i32` with scale `input_scale * weight_scale` and zero point 0.

/// The quantisation of one tensor: `real = scale * (q - zero_point)`.
#[derive(Clone, Copy, Debug, PartialEq)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub struct Affine {
    /// Real value of one step; positive and finite.
    pub scale: f32,
    /// The `i8` value that stands for real 0, in `-128..=127`.
    pub zero_point: i32,
}

impl Affine {
    /// `(scale, zero_point)`; `None` unless `scale` is positive and finite and `zero_point`
    /// an `i8` value.
    pub fn new(scale: f32, zero_point: i32) -> Option<Self> {
        let ok = scale.is_finite() && scale > 0.0 && (-128..=127).contains(&zero_point);
        ok.then_some(Self { scale, zero_point })
    }

    /// `clamp(round(x / scale) + zero_point, -128, 127)`, ties away from zero, as TFLite's
    /// reference `AffineQuantize` (an `f32` division). NaN quantises to `zero_point`.
    pub fn quantize(&self, x: f32) -> i8 {
        let r = libm::roundf(x / self.scale);
        // `as` saturates (NaN to 0), then the zero point, then the i8 range
        let q = (r as i32).saturating_add(self.zero_point);
        q.clamp(-128, 127) as i8
    }

    /// `scale * (q - zero_point)`.
    pub fn dequantize(&self, q: i8) -> f32 {
        self.scale * (i32::from(q) - self.zero_point) as f32
    }

    /// The `i8` range a fused ReLU leaves: `[max(-128, zero_point), 127]`, as TFLite's
    /// `CalculateActivationRangeQuantized` (ReLU6 also caps at `quantize(6.0)`).
    pub fn relu_range(&self, relu6: bool) -> (i8, i8) {
        let low = self.zero_point.clamp(-128, 127) as i8;
        let high = if relu6 { self.quantize(6.0) } else { 127 };
        (low, high)
    }

    /// Parameters covering `[min, max]` (widened to include 0) with the `i8` range, as
    /// TFLite's converter chooses them for an activation: `scale = (max - min) / 255`,
    /// `zero_point = round(-128 - min / scale)`, clamped. `None` for an empty or non-finite
    /// range.
    pub fn from_range(min: f32, max: f32) -> Option<Self> {
        if !(min.is_finite() && max.is_finite()) || min > max {
            return None;
        }
        let (min, max) = (min.min(0.0), max.max(0.0));
        if max == min {
            return Self::new(1.0, 0);
        }
        let scale = (max - min) / 255.0;
        let zero_point = libm::roundf(-128.0 - min / scale) as i32;
        Self::new(scale, zero_point.clamp(-128, 127))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn quantize_rounds_half_away_from_zero_and_saturates() {
        let a = Affine::new(0.5, -3).unwrap();
        assert_eq!(a.quantize(0.0), -3);
        assert_eq!(a.quantize(0.25), -2); // 0.5 -> 1
        assert_eq!(a.quantize(-0.25), -4); // -0.5 -> -1
        assert_eq!(a.quantize(0.74), -2);
        assert_eq!(a.quantize(1000.0), 127);
        assert_eq!(a.quantize(-1000.0), -128);
        assert_eq!(a.quantize(f32::INFINITY), 127);
        assert_eq!(a.quantize(f32::NAN), -3);
        assert_eq!(a.dequantize(-3), 0.0);
        assert_eq!(a.dequantize(127), 65.0);
        for q in -128..=127i8 {
            assert_eq!(a.quantize(a.dequantize(q)), q);
        }
    }

    #[test]
    fn parameters_are_checked() {
        assert!(Affine::new(0.0, 0).is_none());
        assert!(Affine::new(-1.0, 0).is_none());
        assert!(Affine::new(f32::NAN, 0).is_none());
        assert!(Affine::new(1.0, 128).is_none());
        assert!(Affine::new(1.0, -129).is_none());
        assert!(Affine::new(1.0, -128).is_some());
        assert!(Affine::from_range(1.0, 0.0).is_none());
        assert!(Affine::from_range(0.0, f32::INFINITY).is_none());
    }

    #[test]
    fn ranges_map_to_the_full_i8_range_with_an_exact_zero() {
        let a = Affine::from_range(-1.0, 3.0).unwrap();
        assert_eq!(a.scale, 4.0 / 255.0);
        assert_eq!(a.zero_point, -64); // -128 + 1 / (4 / 255) = -64.25 -> -64
        assert_eq!(a.dequantize(a.quantize(0.0)), 0.0);
        // a range without 0 is widened to it
        let b = Affine::from_range(2.0, 4.0).unwrap();
        assert_eq!((b.scale, b.zero_point), (4.0 / 255.0, -128));
        assert_eq!(Affine::from_range(0.0, 0.0), Affine::new(1.0, 0));
        assert_eq!(a.relu_range(false), (-64, 127));
        assert_eq!(Affine::new(0.1, 10).unwrap().relu_range(true), (10, 70));
    }
}
