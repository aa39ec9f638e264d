//! The one math seam: every transcendental function the core uses goes through here.
//!
//! Backed by [`libm`], so x86-64 and Cortex-M compute bit-identical values (std's `f32::exp`
//! may call the platform's libm and differ by an ulp).
//!
//! With the `fast-math` feature, `exp` uses micromath's approximation and `tanh` is computed
//! from it, trading accuracy for speed on FPU-less cores. Measured against libm
//! (`cargo test -p neurite --features fast-math fast_math_error_bounds -- --nocapture`):
//! `exp` relative error <= 2.4e-3 on [-10, 10]; `tanh` absolute error <= 1.2e-3 on [-10, 10].
//! `ln` and `sqrt` stay on libm (micromath's `ln` errs by up to 0.12 for `x < 1`, about 1e-4
//! above, far more on subnormals; libm's `sqrt` is correctly rounded: `ln_and_sqrt_stay_on_libm`,
//! `sqrt_is_correctly_rounded`). The golden PyTorch tests assume the default (libm).
//!
//! Free functions rather than an extension trait: with std linked, inherent `f32` methods
//! would silently shadow a trait's and host and target would compute different values.

/// e^x.
#[inline]
pub fn exp(x: f32) -> f32 {
    #[cfg(feature = "fast-math")]
    {
        // micromath does not propagate NaN; the activations must (PyTorch does)
        if x.is_nan() {
            return x;
        }
        micromath::F32(x).exp().0
    }
    #[cfg(not(feature = "fast-math"))]
    {
        libm::expf(x)
    }
}

/// Natural logarithm.
#[inline]
pub fn ln(x: f32) -> f32 {
    libm::logf(x)
}

/// ln(1 + x), accurate for small x.
#[inline]
pub fn ln_1p(x: f32) -> f32 {
    libm::log1pf(x)
}

/// e^x - 1, accurate for small x.
#[inline]
pub fn exp_m1(x: f32) -> f32 {
    libm::expm1f(x)
}

/// Hyperbolic tangent.
#[inline]
pub fn tanh(x: f32) -> f32 {
    #[cfg(feature = "fast-math")]
    {
        // tanh(x) = 1 - 2 / (e^{2x} + 1), saturating outside [-9, 9].
        if x > 9.0 {
            1.0
        } else if x < -9.0 {
            -1.0
        } else {
            1.0 - 2.0 / (exp(2.0 * x) + 1.0)
        }
    }
    #[cfg(not(feature = "fast-math"))]
    {
        libm::tanhf(x)
    }
}

/// Square root (IEEE exact in libm; with `cortex-m-asm` on a hard-float Cortex-M the FPU's
/// `vsqrt.f32`, also correctly rounded: the same bits).
#[inline]
pub fn sqrt(x: f32) -> f32 {
    #[cfg(all(feature = "cortex-m-asm", target_arch = "arm", target_abi = "eabihf"))]
    {
        crate::cortex_m_asm::sqrt(x)
    }
    #[cfg(not(all(feature = "cortex-m-asm", target_arch = "arm", target_abi = "eabihf")))]
    {
        libm::sqrtf(x)
    }
}

/// Error function.
#[inline]
pub fn erf(x: f32) -> f32 {
    libm::erff(x)
}

/// x^y.
#[inline]
pub fn pow(x: f32, y: f32) -> f32 {
    libm::powf(x, y)
}

/// x^y in double precision (optimiser bias corrections, as PyTorch computes them in Python
/// floats).
#[inline]
pub fn pow_f64(x: f64, y: f64) -> f64 {
    libm::pow(x, y)
}

/// Square root in double precision.
#[inline]
pub fn sqrt_f64(x: f64) -> f64 {
    libm::sqrt(x)
}

/// Cosine (Box-Muller sampling, the cart-pole's dynamics).
#[inline]
pub fn cos(x: f32) -> f32 {
    libm::cosf(x)
}

/// Sine (the cart-pole's dynamics).
#[inline]
pub fn sin(x: f32) -> f32 {
    libm::sinf(x)
}

/// |x|.
#[inline]
pub fn abs(x: f32) -> f32 {
    libm::fabsf(x)
}

/// Logistic sigmoid 1 / (1 + e^-x), evaluated without overflow for large |x|.
#[inline]
pub fn sigmoid(x: f32) -> f32 {
    if x >= 0.0 {
        1.0 / (1.0 + exp(-x))
    } else {
        let e = exp(x);
        e / (1.0 + e)
    }
}

#[cfg(all(test, not(feature = "fast-math")))]
mod tests {
    use super::*;

    /// "libm's `sqrt` is exact": `sqrt` is correctly rounded, i.e. the `f64` square root
    /// rounded to `f32` (exact: `f64` has more than twice `f32`'s 24 bits, so the double
    /// rounding cannot err), on every 613th `f32` bit pattern (all signs, zeros, subnormals,
    /// infinities and NaNs), about 7 million values.
    #[test]
    fn sqrt_is_correctly_rounded() {
        let mut checked = 0u32;
        for bits in (0..=u32::MAX).step_by(613).chain([0, 0x8000_0000, 0x7f80_0000, 0xff80_0000]) {
            let x = f32::from_bits(bits);
            let want = f64::from(x).sqrt() as f32;
            let got = sqrt(x);
            assert!(
                got.to_bits() == want.to_bits() || (got.is_nan() && want.is_nan()),
                "sqrt({x:e}) = {got:e}, correctly rounded {want:e}"
            );
            checked += 1;
        }
        assert!(checked > 7_000_000);
    }

    // (input, expected) tables (libm build), expected from Python's math module (double, rounded to f32).
    #[test]
    fn transcendental_tables() {
        type Case = (fn(f32) -> f32, f32, f32);
        let table: &[Case] = &[
            (exp, 1.0, core::f32::consts::E),
            (ln, core::f32::consts::E, 1.0),
            (tanh, 0.5, 0.462_117_16),
            (erf, 0.5, 0.520_499_9),
            (sigmoid, 0.0, 0.5),
            (sigmoid, -20.0, 2.061_153_6e-9),
            (sqrt, 2.0, core::f32::consts::SQRT_2),
        ];
        for &(f, x, want) in table {
            let got = f(x);
            assert!(
                (got - want).abs() <= 1e-6 * want.abs().max(1e-30),
                "f({x}) = {got}, want {want}"
            );
        }
    }
}

/// Measured accuracy of the `fast-math` approximations against libm (the bounds quoted in
/// the module docs): `cargo test -p neurite --features fast-math fast_math_error_bounds -- --nocapture`.
#[cfg(all(test, feature = "fast-math"))]
mod fast_math_bounds {
    use super::*;

    /// Largest `|f - ref| / max(|ref|, floor)` on a grid: relative error, absolute below
    /// `floor` (ln crosses 0 at 1, where a relative error means nothing).
    fn max_error(
        f: fn(f32) -> f32,
        reference: fn(f32) -> f32,
        lo: f32,
        hi: f32,
        floor: f32,
    ) -> f32 {
        let n = 100_000;
        let mut worst = 0.0f32;
        for i in 0..=n {
            let x = lo + (hi - lo) * i as f32 / n as f32;
            let want = reference(x);
            worst = worst.max((f(x) - want).abs() / want.abs().max(floor));
        }
        worst
    }

    #[test]
    fn fast_math_error_bounds() {
        type Case = (&'static str, fn(f32) -> f32, fn(f32) -> f32, f32, f32, f32, f32);
        let cases: [Case; 2] = [
            ("exp", exp, libm::expf, -10.0, 10.0, 1e-30, 2.4e-3),
            ("tanh", tanh, libm::tanhf, -10.0, 10.0, 1.0, 1.2e-3),
        ];
        for (name, f, r, lo, hi, floor, bound) in cases {
            let e = max_error(f, r, lo, hi, floor);
            std::println!(
                "fast-math {name} on [{lo}, {hi}]: max error {e:.2e} (relative above |{floor}|)"
            );
            assert!(e <= bound, "{name}: {e} > {bound}");
        }
    }

    /// The module docs: under `fast-math`, `ln` and `sqrt` stay on libm, bit for bit, because
    /// micromath's `ln` errs by up to 0.12. Measured on every 997th positive normal `f32`: its
    /// absolute error is 0.118 throughout `(0, 1)` and about 1e-4 from 1 up (on subnormals it
    /// is far worse, about 15; printed).
    #[test]
    fn ln_and_sqrt_stay_on_libm() {
        let micromath_ln = |x: f32| micromath::F32(x).ln().0;
        let (mut normal, mut subnormal) = (0.0f32, 0.0f32);
        let mut bits = 1u32;
        while bits < 0x7f80_0000 {
            let x = f32::from_bits(bits);
            assert_eq!(ln(x).to_bits(), libm::logf(x).to_bits(), "ln({x}) is libm's");
            assert_eq!(sqrt(x).to_bits(), libm::sqrtf(x).to_bits(), "sqrt({x}) is libm's");
            let e = (micromath_ln(x) - libm::logf(x)).abs();
            if x.is_normal() {
                normal = normal.max(e);
            } else {
                subnormal = subnormal.max(e);
            }
            bits += 997;
        }
        std::println!(
            "micromath ln: max abs error {normal:.4} on normals, {subnormal:.1} on subnormals"
        );
        assert!(normal > 0.1 && normal <= 0.12, "micromath ln errs by {normal}, not 0.1 to 0.12");
    }
}
