//! Soft Dice loss (segmentation, imbalanced masks), alone and with BCE on logits.

use super::{check_values, BceWithLogits, ElementLoss, Loss, Target};
use crate::error::Error;
use crate::kernel::reduce::dot;
use crate::math;

/// Soft Dice with squared denominators, per sample over its features:
/// `1 - (2 sum(p t) + smooth) / (sum(p^2) + sum(t^2) + smooth)`.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Dice {
    /// Smoothing added to numerator and denominator.
    pub smooth: f32,
}

impl Default for Dice {
    fn default() -> Self {
        Self { smooth: 1.0 }
    }
}

impl Loss for Dice {
    fn per_element(&self) -> bool {
        false
    }
    fn check(&self, outputs: usize, target: Target<'_>) -> Result<(), Error> {
        check_values(outputs, target).map(|_| ())
    }
    fn eval(
        &self,
        p: &[f32],
        target: Target<'_>,
        grad: &mut [f32],
        elements: Option<&mut [f32]>,
    ) -> f32 {
        let t = match target {
            Target::Values(v) => v,
            Target::Class(_) => &[],
        };
        let num = 2.0 * dot(p, t) + self.smooth;
        let den = dot(p, p) + dot(t, t) + self.smooth;
        let loss = 1.0 - num / den;
        // d/dp_j = -(2 t_j den - num 2 p_j) / den^2
        let den2 = den * den;
        for ((g, &pj), &tj) in grad.iter_mut().zip(p).zip(t) {
            *g = -(2.0 * tj * den - num * 2.0 * pj) / den2;
        }
        if let Some(e) = elements.and_then(|e| e.first_mut()) {
            *e = loss;
        }
        loss
    }
}

/// Dice + BCE on logits, the usual segmentation loss of a U-Net, per sample over its `n`
/// features (one logit `z_i` per pixel, targets `t_i`, usually a 0/1 mask):
/// `mean_i BCEWithLogits(z_i, t_i) + dice(sigmoid(z), t)`, `dice` as [`Dice`] (squared
/// denominators, `smooth`) on the probabilities `p = sigmoid(z)`.
///
/// PyTorch: `F.binary_cross_entropy_with_logits(z, t, reduction="none").mean(1) +
/// dice(torch.sigmoid(z), t)`. The BCE term is [`BceWithLogits`]'s stable form, so the loss
/// is finite for any logit. Gradient: `d/dz_j = (p_j - t_j) / n + d dice / d p_j *
/// p_j (1 - p_j)`, with `d dice / d p_j = -(2 t_j D - 2 N p_j) / D^2` (`N`, `D` the
/// numerator and denominator of [`Dice`]). One value per sample: `mean` divides by the
/// number of samples.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct DiceBceWithLogits {
    /// Smoothing added to the Dice term's numerator and denominator.
    pub smooth: f32,
}

impl Default for DiceBceWithLogits {
    fn default() -> Self {
        Self { smooth: 1.0 }
    }
}

impl Loss for DiceBceWithLogits {
    fn per_element(&self) -> bool {
        false
    }
    fn check(&self, outputs: usize, target: Target<'_>) -> Result<(), Error> {
        check_values(outputs, target).map(|_| ())
    }
    fn eval(
        &self,
        z: &[f32],
        target: Target<'_>,
        grad: &mut [f32],
        elements: Option<&mut [f32]>,
    ) -> f32 {
        let t = match target {
            Target::Values(v) => v,
            Target::Class(_) => &[],
        };
        let bce = BceWithLogits { pos_weight: None };
        // first pass: the BCE sum and the Dice sums on p = sigmoid(z), in element order
        let (mut bce_sum, mut pt, mut pp, mut tt) = (0.0f32, 0.0f32, 0.0f32, 0.0f32);
        for (i, (&zi, &ti)) in z.iter().zip(t).enumerate() {
            bce_sum += bce.value_grad(i, zi, ti).0;
            let p = math::sigmoid(zi);
            pt += p * ti;
            pp += p * p;
            tt += ti * ti;
        }
        // the mean over the sample's elements (an empty sample has no BCE term)
        let inv_n = if z.is_empty() { 0.0 } else { 1.0 / z.len() as f32 };
        let num = 2.0 * pt + self.smooth;
        let den = pp + tt + self.smooth;
        let loss = bce_sum * inv_n + (1.0 - num / den);
        let den2 = den * den;
        for (i, ((g, &zi), &ti)) in grad.iter_mut().zip(z).zip(t).enumerate() {
            // BceWithLogits' gradient without pos_weight is p - t
            let d_bce = bce.value_grad(i, zi, ti).1;
            let p = math::sigmoid(zi);
            let d_dice = -(2.0 * ti * den - num * 2.0 * p) / den2;
            *g = d_bce * inv_n + d_dice * p * (1.0 - p);
        }
        if let Some(e) = elements.and_then(|e| e.first_mut()) {
            *e = loss;
        }
        loss
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// `DiceBceWithLogits` in f64, written out: the stable BCE on logits, its mean, plus
    /// `1 - (2 sum p t + s) / (sum p^2 + sum t^2 + s)` on `p = sigmoid(z)`.
    fn reference(z: &[f64], t: &[f64], smooth: f64) -> f64 {
        let n = z.len() as f64;
        let bce: f64 =
            z.iter().zip(t).map(|(&z, &t)| z.max(0.0) - z * t + (-z.abs()).exp().ln_1p()).sum();
        let p: Vec<f64> = z.iter().map(|&z| 1.0 / (1.0 + (-z).exp())).collect();
        let pt: f64 = p.iter().zip(t).map(|(p, t)| p * t).sum();
        let pp: f64 = p.iter().map(|p| p * p).sum();
        let tt: f64 = t.iter().map(|t| t * t).sum();
        bce / n + 1.0 - (2.0 * pt + smooth) / (pp + tt + smooth)
    }

    /// The value and the gradient against the f64 formula and its central differences
    /// (within 1e-6; with `fast-math`, whose `exp` is within 2.4e-3 relative, 5e-3).
    #[test]
    fn dice_bce_matches_its_formula() {
        let tol = if cfg!(feature = "fast-math") { 5e-3 } else { 1e-6 };
        let z = [-2.0f32, 0.5, 1.5, -0.3, 3.0];
        let t = [0.0f32, 1.0, 1.0, 0.25, 0.0];
        let (z64, t64) = (z.map(f64::from), t.map(f64::from));
        for smooth in [1.0f32, 0.3] {
            let loss = DiceBceWithLogits { smooth };
            let s = f64::from(smooth);
            let mut grad = [9.0f32; 5];
            let mut elements = [9.0f32; 2];
            let value = loss.eval(&z, Target::Values(&t), &mut grad, Some(&mut elements));
            let want = reference(&z64, &t64, s);
            assert!((f64::from(value) - want).abs() < tol, "{value} vs {want}");
            assert_eq!(elements, [value, 9.0]);
            for j in 0..z.len() {
                let h = 1e-6;
                let (mut up, mut down) = (z64, z64);
                up[j] += h;
                down[j] -= h;
                let fd = (reference(&up, &t64, s) - reference(&down, &t64, s)) / (2.0 * h);
                assert!((f64::from(grad[j]) - fd).abs() < tol, "{j}: {grad:?} vs {fd}");
            }
        }
        assert_eq!(DiceBceWithLogits::default(), DiceBceWithLogits { smooth: 1.0 });
        // an empty sample: no BCE term, and Dice of nothing is 1 - s / s = 0
        assert_eq!(
            DiceBceWithLogits { smooth: 0.5 }.eval(&[], Target::Values(&[]), &mut [], None),
            0.0
        );
    }

    #[test]
    fn dice_bce_is_one_value_per_sample_on_value_targets() {
        let loss = DiceBceWithLogits::default();
        assert!(!loss.per_element());
        assert_eq!(loss.check(2, Target::Values(&[0.0, 1.0])), Ok(()));
        assert!(loss.check(2, Target::Values(&[0.0])).is_err());
        assert!(loss.check(2, Target::Values(&[0.0, f32::NAN])).is_err());
        assert_eq!(loss.check(2, Target::Class(1)), Err(Error::TargetKind));
    }
}
