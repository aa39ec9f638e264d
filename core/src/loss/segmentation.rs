//! Soft Dice loss (segmentation, imbalanced masks).

use super::{check_values, Loss, Target};
use crate::error::Error;
use crate::kernel::reduce::dot;

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
