//! Robust regression losses PyTorch lacks (definitions in `DESIGN.md`).

use super::{element_loss, ElementLoss};
use crate::math;

/// Quantile (pinball) loss: `r = t - p`, `max(tau r, (tau - 1) r)`; its minimiser is the
/// tau-quantile. Gradient at `r = 0`: `1 - tau` (a subgradient).
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Quantile {
    /// Quantile in (0, 1).
    pub tau: f32,
}

/// Tukey's biweight: `r = t - p`; `c^2/6 (1 - (1 - (r/c)^2)^3)` for `|r| <= c`, else `c^2/6`.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Tukey {
    /// Rejection point (4.685 gives 95% efficiency under Gaussian noise).
    pub c: f32,
}

/// Barron's general robust loss (2019): `x = (p - t)/c`,
/// `|a-2|/a ((x^2/|a-2| + 1)^{a/2} - 1)`, with its limits at `a = 2` (`x^2/2`),
/// `a = 0` (`ln(x^2/2 + 1)`) and `a = -inf` (`1 - e^{-x^2/2}`).
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Barron {
    /// Shape; `f32::NEG_INFINITY` for the Welsch limit.
    pub alpha: f32,
    /// Scale of the quadratic bowl.
    pub c: f32,
}

impl ElementLoss for Quantile {
    fn value_grad(&self, _: usize, p: f32, t: f32) -> (f32, f32) {
        let r = t - p;
        if r > 0.0 {
            (self.tau * r, -self.tau)
        } else {
            ((self.tau - 1.0) * r, 1.0 - self.tau)
        }
    }
}

impl ElementLoss for Tukey {
    fn value_grad(&self, _: usize, p: f32, t: f32) -> (f32, f32) {
        let c = self.c;
        let r = t - p;
        let c2_6 = c * c / 6.0;
        if math::abs(r) <= c {
            let u = r / c;
            let w = 1.0 - u * u;
            (c2_6 * (1.0 - w * w * w), -r * w * w)
        } else {
            (c2_6, 0.0)
        }
    }
}

impl ElementLoss for Barron {
    fn value_grad(&self, _: usize, p: f32, t: f32) -> (f32, f32) {
        let (a, c) = (self.alpha, self.c);
        let x = (p - t) / c;
        let x2 = x * x;
        // (rho, d rho / dx)
        let (rho, drho) = if a == 2.0 {
            (0.5 * x2, x)
        } else if a == 0.0 {
            let q = 0.5 * x2 + 1.0;
            (math::ln(q), x / q)
        } else if a == f32::NEG_INFINITY {
            let e = math::exp(-0.5 * x2);
            (1.0 - e, x * e)
        } else {
            let b = math::abs(a - 2.0);
            let q = x2 / b + 1.0;
            (b / a * (math::pow(q, 0.5 * a) - 1.0), x * math::pow(q, 0.5 * a - 1.0))
        };
        (rho, drho / c)
    }
}

element_loss!(Quantile, Tukey, Barron);
