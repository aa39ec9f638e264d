//! Classification losses on logits or log-probabilities: cross-entropy (with class weights
//! and label smoothing, class-index or probability targets), NLL, focal, class-balanced.

use super::{check_class, check_values, Loss, Target};
use crate::error::Error;
use crate::kernel::softmax::log_softmax;
use crate::math;

/// `CrossEntropyLoss(weight, label_smoothing)` on logits.
///
/// Class index `y`, `C` classes, `lp = log_softmax(x)`:
/// `(1 - e) (-w_y lp_y) + e/C sum_c (-w_c lp_c)`; `mean` divides by `sum_i w_{y_i}`.
/// Probability row `t`: `t' = (1 - e) t + e/C`, loss `-sum_c w_c t'_c lp_c`; `mean`
/// divides by the number of samples. Weighted cross-entropy with weights inversely
/// proportional to class frequency is the seed's cost-sensitive likelihood; see also
/// [`class_balanced_weights`].
#[derive(Clone, Copy, Debug, Default, PartialEq)]
pub struct CrossEntropy<'a> {
    /// One weight per class (`None`: all 1).
    pub weight: Option<&'a [f32]>,
    /// Label smoothing `e` in [0, 1].
    pub label_smoothing: f32,
}

/// `NLLLoss(weight)`: input log-probabilities, class index `y`: `-w_y x_y`.
#[derive(Clone, Copy, Debug, Default, PartialEq)]
pub struct Nll<'a> {
    /// One weight per class (`None`: all 1).
    pub weight: Option<&'a [f32]>,
}

/// Focal loss (Lin et al. 2017) on logits with a class index:
/// `-alpha (1 - p_t)^gamma ln p_t`, `p_t = softmax(x)_y`. `mean` averages over samples.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Focal {
    /// Focusing exponent (0 gives `alpha` times cross-entropy).
    pub gamma: f32,
    /// Scale.
    pub alpha: f32,
}

impl Default for Focal {
    fn default() -> Self {
        Self { gamma: 2.0, alpha: 0.25 }
    }
}

#[inline]
fn class_weight(weight: Option<&[f32]>, c: usize) -> f32 {
    weight.map_or(1.0, |w| w.get(c).copied().unwrap_or(0.0))
}

/// The `mean` weight of a target under optional class weights: `w_y` for a class index.
fn target_weight(weight: Option<&[f32]>, target: Target<'_>) -> f32 {
    match target {
        Target::Class(y) => class_weight(weight, y),
        Target::Values(_) => 1.0,
    }
}

/// The class index of a checked class target (`usize::MAX`, matching no class, otherwise).
fn class_of(target: Target<'_>) -> usize {
    match target {
        Target::Class(y) => y,
        Target::Values(_) => usize::MAX,
    }
}

fn check_weight(weight: Option<&[f32]>, outputs: usize) -> Result<(), Error> {
    if let Some(w) = weight {
        crate::error::check_len(w, outputs)?;
        crate::error::check_finite(w)?;
    }
    Ok(())
}

fn write_one(elements: Option<&mut [f32]>, loss: f32) {
    if let Some(e) = elements.and_then(|e| e.first_mut()) {
        *e = loss;
    }
}

impl Loss for CrossEntropy<'_> {
    fn per_element(&self) -> bool {
        false
    }

    fn check(&self, outputs: usize, target: Target<'_>) -> Result<(), Error> {
        check_weight(self.weight, outputs)?;
        if !(0.0..=1.0).contains(&self.label_smoothing) {
            return Err(Error::InvalidHyperParameter);
        }
        match target {
            Target::Class(_) => check_class(outputs, target).map(|_| ()),
            Target::Values(_) => check_values(outputs, target).map(|_| ()),
        }
    }

    fn mean_weight(&self, target: Target<'_>) -> f32 {
        target_weight(self.weight, target)
    }

    fn eval(
        &self,
        x: &[f32],
        target: Target<'_>,
        grad: &mut [f32],
        elements: Option<&mut [f32]>,
    ) -> f32 {
        let eps = self.label_smoothing;
        let classes = x.len() as f32;
        // grad holds log-probabilities first, then becomes the gradient.
        log_softmax(x, grad);
        let loss = match target {
            Target::Class(y) => {
                let wy = class_weight(self.weight, y);
                let nll = -wy * grad.get(y).copied().unwrap_or(0.0);
                let (mut smooth, mut wsum) = (0.0, 0.0);
                for (c, &lp) in grad.iter().enumerate() {
                    let wc = class_weight(self.weight, c);
                    smooth -= wc * lp;
                    wsum += wc;
                }
                for (c, g) in grad.iter_mut().enumerate() {
                    let p = math::exp(*g);
                    let onehot = if c == y { 1.0 } else { 0.0 };
                    let wc = class_weight(self.weight, c);
                    *g = (1.0 - eps) * wy * (p - onehot) + eps / classes * (wsum * p - wc);
                }
                (1.0 - eps) * nll + eps / classes * smooth
            }
            Target::Values(t) => {
                let smoothed = |c: usize, tc: f32| {
                    class_weight(self.weight, c) * ((1.0 - eps) * tc + eps / classes)
                };
                let (mut loss, mut total) = (0.0, 0.0);
                for (c, (&lp, &tc)) in grad.iter().zip(t).enumerate() {
                    let wt = smoothed(c, tc);
                    loss -= wt * lp;
                    total += wt;
                }
                for (c, (g, &tc)) in grad.iter_mut().zip(t).enumerate() {
                    *g = math::exp(*g) * total - smoothed(c, tc);
                }
                loss
            }
        };
        write_one(elements, loss);
        loss
    }
}

impl Loss for Nll<'_> {
    fn per_element(&self) -> bool {
        false
    }
    fn check(&self, outputs: usize, target: Target<'_>) -> Result<(), Error> {
        check_weight(self.weight, outputs)?;
        check_class(outputs, target).map(|_| ())
    }
    fn mean_weight(&self, target: Target<'_>) -> f32 {
        target_weight(self.weight, target)
    }
    fn eval(
        &self,
        x: &[f32],
        target: Target<'_>,
        grad: &mut [f32],
        elements: Option<&mut [f32]>,
    ) -> f32 {
        let y = class_of(target);
        let wy = class_weight(self.weight, y);
        for (c, g) in grad.iter_mut().enumerate() {
            *g = if c == y { -wy } else { 0.0 };
        }
        let loss = -wy * x.get(y).copied().unwrap_or(0.0);
        write_one(elements, loss);
        loss
    }
}

impl Loss for Focal {
    fn per_element(&self) -> bool {
        false
    }
    fn check(&self, outputs: usize, target: Target<'_>) -> Result<(), Error> {
        if self.gamma.is_nan() || self.gamma < 0.0 {
            return Err(Error::InvalidHyperParameter);
        }
        check_class(outputs, target).map(|_| ())
    }
    fn eval(
        &self,
        x: &[f32],
        target: Target<'_>,
        grad: &mut [f32],
        elements: Option<&mut [f32]>,
    ) -> f32 {
        let y = class_of(target);
        log_softmax(x, grad);
        let lpt = grad.get(y).copied().unwrap_or(0.0);
        let pt = math::exp(lpt);
        let one = 1.0 - pt;
        let g = self.gamma;
        let loss = -self.alpha * math::pow(one, g) * lpt;
        // d loss / dx_j = alpha (p_j - [j = y]) ((1-pt)^g - g (1-pt)^(g-1) pt ln pt)
        let factor = if g == 0.0 {
            1.0
        } else if one <= 0.0 {
            0.0
        } else {
            math::pow(one, g) - g * math::pow(one, g - 1.0) * pt * lpt
        };
        for (c, gr) in grad.iter_mut().enumerate() {
            let onehot = if c == y { 1.0 } else { 0.0 };
            *gr = self.alpha * factor * (math::exp(*gr) - onehot);
        }
        write_one(elements, loss);
        loss
    }
}

/// Class-balanced weights (Cui et al. 2019) from per-class counts `n_c`:
/// `w_c = (1 - beta) / (1 - beta^n_c)`, scaled to sum to the number of classes. Use them as
/// [`CrossEntropy::weight`].
///
/// Errors: `LengthMismatch` if `out.len() != counts.len()`; `InvalidHyperParameter` for
/// `beta` outside [0, 1) or a class with no samples.
pub fn class_balanced_weights(counts: &[u32], beta: f32, out: &mut [f32]) -> Result<(), Error> {
    if out.len() != counts.len() {
        return Err(Error::LengthMismatch { expected: counts.len(), found: out.len() });
    }
    if !(0.0..1.0).contains(&beta) || counts.contains(&0) {
        return Err(Error::InvalidHyperParameter);
    }
    let mut sum = 0.0;
    for (w, &n) in out.iter_mut().zip(counts) {
        *w = (1.0 - beta) / (1.0 - math::pow(beta, n as f32));
        sum += *w;
    }
    let scale = counts.len() as f32 / sum;
    for w in out.iter_mut() {
        *w *= scale;
    }
    Ok(())
}
