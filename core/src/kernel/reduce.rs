//! Reductions in fixed order.

/// `sum_i a[i] * b[i]`, summed from index 0 upwards with one accumulator.
#[inline]
pub fn dot(a: &[f32], b: &[f32]) -> f32 {
    let mut acc = 0.0;
    for (x, y) in a.iter().zip(b) {
        acc += x * y;
    }
    acc
}

/// `sum_i a[i]` from index 0 upwards.
#[inline]
pub fn sum(a: &[f32]) -> f32 {
    let mut acc = 0.0;
    for x in a {
        acc += x;
    }
    acc
}

/// Largest element (`-inf` for an empty slice; NaN propagates as the comparison leaves it;
/// of equal values the first, so `max(&[-0.0, 0.0])` is `-0.0`).
#[inline]
pub fn max(a: &[f32]) -> f32 {
    let mut m = f32::NEG_INFINITY;
    for &x in a {
        if x > m || x.is_nan() {
            m = x;
        }
    }
    m
}

/// Index of the largest element (first on ties; a NaN is larger than any number, as in
/// `torch.argmax`; 0 for an empty slice).
pub fn argmax(a: &[f32]) -> usize {
    let mut best = 0;
    for (i, &x) in a.iter().enumerate() {
        // NaN counts as the largest (the first NaN wins), as `torch.argmax`
        if x > a[best] || (x.is_nan() && !a[best].is_nan()) {
            best = i;
        }
    }
    best
}

/// `y[i] *= factor`.
#[inline]
pub fn scale(y: &mut [f32], factor: f32) {
    for v in y {
        *v *= factor;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn max_keeps_the_first_of_equal_values_and_takes_nan() {
        assert_eq!(max(&[-0.0, 0.0]).to_bits(), (-0.0f32).to_bits());
        assert_eq!(max(&[0.0, -0.0]).to_bits(), 0.0f32.to_bits());
        assert!(max(&[1.0, f32::NAN, 2.0]).is_nan());
        assert_eq!(max(&[]), f32::NEG_INFINITY);
    }

    #[test]
    fn argmax_takes_the_first_nan_as_pytorch() {
        assert_eq!(argmax(&[1.0, f32::NAN, 2.0, f32::NAN]), 1);
        assert_eq!(argmax(&[f32::NAN, 3.0]), 0);
        assert_eq!(argmax(&[1.0, 3.0, 3.0]), 1);
    }
}
