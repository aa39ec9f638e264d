//! Per-element losses of PyTorch: MSE, L1, Huber, BCE, BCE with logits, KL divergence.

use super::{element_loss, sign_of, ElementLoss};
use crate::error::Error;
use crate::math;

/// `MSELoss`: `(p - t)^2`.
#[derive(Clone, Copy, Debug, Default, PartialEq)]
pub struct Mse;

/// `L1Loss` (MAE): `|p - t|`; gradient `sign_of(p - t)`, 0 at 0.
#[derive(Clone, Copy, Debug, Default, PartialEq)]
pub struct Mae;

/// `HuberLoss(delta)`: `d^2/2` for `|d| < delta`, else `delta (|d| - delta/2)`, `d = p - t`.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Huber {
    /// Where the quadratic turns linear (PyTorch default 1).
    pub delta: f32,
}

/// `BCELoss` on probabilities: `-(t ln p + (1 - t) ln(1 - p))`, logs clamped at -100 and the
/// gradient's denominator at 1e-12 as PyTorch does. Predictions outside [0, 1] (logits
/// given by mistake) are refused by [`Loss::check_output`](super::Loss::check_output), which
/// the trainers call, as PyTorch refuses them; `eval` alone clamps them.
#[derive(Clone, Copy, Debug, Default, PartialEq)]
pub struct Bce;

/// `BCEWithLogitsLoss(pos_weight)`: `-(pw t ln s(x) + (1 - t) ln(1 - s(x)))`, `s` the
/// sigmoid, evaluated stably. `pos_weight`: none, one value, or one per output.
#[derive(Clone, Copy, Debug, Default, PartialEq)]
pub struct BceWithLogits<'a> {
    /// Weight of positive examples.
    pub pos_weight: Option<&'a [f32]>,
}

/// `KLDivLoss`: input `x` log-probabilities; `t (ln t - x)` (0 where `t = 0`), or with
/// `log_target` a log-probability target: `e^t (t - x)`. Use with [`super::Reduction::BatchMean`].
#[derive(Clone, Copy, Debug, Default, PartialEq)]
pub struct KlDiv {
    /// The target is given as log-probabilities.
    pub log_target: bool,
}

impl Default for Huber {
    fn default() -> Self {
        Self { delta: 1.0 }
    }
}

impl ElementLoss for Mse {
    fn value_grad(&self, _: usize, p: f32, t: f32) -> (f32, f32) {
        let d = p - t;
        (d * d, 2.0 * d)
    }
}

impl ElementLoss for Mae {
    fn value_grad(&self, _: usize, p: f32, t: f32) -> (f32, f32) {
        let d = p - t;
        (math::abs(d), sign_of(d))
    }
}

impl ElementLoss for Huber {
    fn value_grad(&self, _: usize, p: f32, t: f32) -> (f32, f32) {
        let d = p - t;
        let a = math::abs(d);
        if a < self.delta {
            (0.5 * d * d, d)
        } else {
            (self.delta * (a - 0.5 * self.delta), self.delta * sign_of(d))
        }
    }
}

impl ElementLoss for Bce {
    fn value_grad(&self, _: usize, p: f32, t: f32) -> (f32, f32) {
        let p = p.clamp(0.0, 1.0);
        let lp = math::ln(p).max(-100.0);
        let l1p = math::ln(1.0 - p).max(-100.0);
        let loss = -(t * lp + (1.0 - t) * l1p);
        let grad = (p - t) / ((1.0 - p) * p).max(1e-12);
        (loss, grad)
    }
    fn check_target(&self, t: &[f32]) -> Result<(), Error> {
        check_probabilities(t)
    }
    fn check_pred(&self, p: &[f32]) -> Result<(), Error> {
        check_probabilities(p)
    }
}

impl ElementLoss for BceWithLogits<'_> {
    fn value_grad(&self, i: usize, x: f32, t: f32) -> (f32, f32) {
        let pw = match self.pos_weight {
            None => 1.0,
            Some([w]) => *w,
            Some(w) => w.get(i).copied().unwrap_or(1.0),
        };
        // ln(1 + e^{-|x|}) + max(-x, 0) = -ln s(x), stable for any x.
        let softplus_neg = math::ln_1p(math::exp(-math::abs(x))) + (-x).max(0.0);
        let lw = 1.0 + (pw - 1.0) * t;
        let loss = (1.0 - t) * x + lw * softplus_neg;
        let s = math::sigmoid(x);
        (loss, s * lw - pw * t)
    }
}

impl ElementLoss for KlDiv {
    fn value_grad(&self, _: usize, x: f32, t: f32) -> (f32, f32) {
        if self.log_target {
            let et = math::exp(t);
            (et * (t - x), -et)
        } else if t > 0.0 {
            (t * (math::ln(t) - x), -t)
        } else {
            (0.0, -t)
        }
    }
    fn check_target(&self, t: &[f32]) -> Result<(), Error> {
        if self.log_target {
            Ok(())
        } else {
            check_probabilities(t)
        }
    }
}

/// `Err(NotAProbability)` at the first value outside [0, 1].
pub(crate) fn check_probabilities(t: &[f32]) -> Result<(), Error> {
    match t.iter().position(|v| !(0.0..=1.0).contains(v)) {
        Some(index) => Err(Error::NotAProbability { index }),
        None => Ok(()),
    }
}

element_loss!(Mse, Mae, Huber, Bce, BceWithLogits<'_>, KlDiv);
