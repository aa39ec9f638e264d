//! Loss functions of the seed, one sample at a time.
//!
//! A [`Loss`] evaluates one sample: it returns the sample's loss (summed over its elements)
//! and writes `d loss / d prediction` into `grad`. A batch is reduced by a [`Batch`]
//! accumulator: `mean` divides the summed loss (and the summed gradients) by the
//! [normaliser](Reduction::normaliser), which is what makes sample-by-sample accumulation
//! give PyTorch's batch gradients without storing the batch.
//!
//! Definitions are PyTorch's where it has the loss (argument names too), else
//! `DESIGN.md`'s. `none` is represented by [`Loss::eval`]'s `elements` output; for training,
//! `none` and `sum` both back-propagate the sum (as `loss.sum().backward()`).

mod cross_entropy;
mod elementwise;
mod gaussian_kl;
mod robust;
mod segmentation;

pub use cross_entropy::{class_balanced_weights, CrossEntropy, Focal, Nll};
pub use elementwise::{Bce, BceWithLogits, Huber, KlDiv, Mae, Mse};
pub use gaussian_kl::gaussian_kl;
pub use robust::{Barron, Quantile, Tukey};
pub use segmentation::{Dice, DiceBceWithLogits};

use crate::error::{check_finite, Error};

/// What the model's output is compared with, for one sample.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum Target<'a> {
    /// A class index (cross-entropy, NLL, focal).
    Class(usize),
    /// One value per output (regression, probabilities, masks).
    Values(&'a [f32]),
}

/// How per-sample losses combine into the batch loss (`reduction=` in PyTorch).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub enum Reduction {
    /// One loss per sample (or per element); trains on their sum.
    None,
    /// Average over samples, or over every element for per-element losses; a weighted
    /// cross-entropy divides by the sum of the batch's target weights.
    Mean,
    /// Sum.
    Sum,
    /// Sum divided by the number of samples (`KLDivLoss(reduction="batchmean")`).
    BatchMean,
}

impl Reduction {
    /// What the summed loss and gradients are divided by, for a batch of `samples` samples
    /// whose [`Loss::mean_weight`]s sum to `weight`, each with `elements` outputs.
    pub fn normaliser(
        self,
        per_element: bool,
        samples: usize,
        weight: f32,
        elements: usize,
    ) -> f32 {
        match self {
            Self::None | Self::Sum => 1.0,
            Self::BatchMean => samples as f32,
            Self::Mean if per_element => weight * elements as f32,
            Self::Mean => weight,
        }
    }
}

/// A loss function, evaluated one sample at a time. Object safe: the host dispatches
/// through `&dyn Loss`.
pub trait Loss {
    /// `true` when the loss is a sum of per-element terms (`mean` then averages over every
    /// element and `none` reports one value per element); `false` for one value per sample.
    fn per_element(&self) -> bool;

    /// Checks a target for a model with `outputs` outputs: kind, length, finiteness, range.
    fn check(&self, outputs: usize, target: Target<'_>) -> Result<(), Error>;

    /// Checks the model's output before the loss uses it: the losses defined on
    /// probabilities refuse values outside `[0, 1]` as PyTorch does ([`Bce`] given logits is
    /// `Err(NotAProbability)`, not a clamped loss). Every other loss accepts any output.
    fn check_output(&self, _pred: &[f32]) -> Result<(), Error> {
        Ok(())
    }

    /// This sample's share of the `mean` normaliser: the class weight of its target for a
    /// weighted cross-entropy with class indices, else 1.
    fn mean_weight(&self, _target: Target<'_>) -> f32 {
        1.0
    }

    /// Loss of one sample (summed over its elements) for prediction `pred`; writes
    /// `d loss / d pred` into `grad` (same length as `pred`) and, when given, the unreduced
    /// losses into `elements` (`pred.len()` values if [`Loss::per_element`], else one).
    ///
    /// The target must have passed [`Loss::check`]; an unchecked bad target gives a
    /// meaningless value, never a panic.
    fn eval(
        &self,
        pred: &[f32],
        target: Target<'_>,
        grad: &mut [f32],
        elements: Option<&mut [f32]>,
    ) -> f32;
}

/// Checks a row of values: length and finiteness.
pub(crate) fn check_values(outputs: usize, target: Target<'_>) -> Result<&[f32], Error> {
    match target {
        Target::Values(v) => {
            crate::error::check_len(v, outputs)?;
            check_finite(v)?;
            Ok(v)
        }
        Target::Class(_) => Err(Error::TargetKind),
    }
}

/// Checks a class index against the number of outputs.
pub(crate) fn check_class(outputs: usize, target: Target<'_>) -> Result<usize, Error> {
    match target {
        Target::Class(c) if c < outputs => Ok(c),
        Target::Class(class) => Err(Error::ClassOutOfRange { class, classes: outputs }),
        Target::Values(_) => Err(Error::TargetKind),
    }
}

/// Running sums over a batch: the reduced loss and the factor to scale summed gradients by.
#[derive(Clone, Copy, Debug, Default, PartialEq)]
pub struct Batch {
    /// Sum of the per-sample losses.
    pub loss_sum: f32,
    /// Sum of the samples' [`Loss::mean_weight`]s.
    pub weight_sum: f32,
    /// Number of samples.
    pub samples: usize,
}

impl Batch {
    /// An empty batch.
    pub const fn new() -> Self {
        Self { loss_sum: 0.0, weight_sum: 0.0, samples: 0 }
    }

    /// Adds one evaluated sample. The count saturates at `usize::MAX` (on a 32-bit core
    /// after 4 billion samples in one batch) instead of overflowing: no panic path.
    pub fn add(&mut self, loss: f32, weight: f32) {
        self.loss_sum += loss;
        self.weight_sum += weight;
        self.samples = self.samples.saturating_add(1);
    }

    /// `(reduced loss, gradient scale)` for this batch.
    pub fn reduce(&self, reduction: Reduction, per_element: bool, outputs: usize) -> (f32, f32) {
        let n = reduction.normaliser(per_element, self.samples, self.weight_sum, outputs);
        (self.loss_sum / n, 1.0 / n)
    }

    /// Ends the batch, as every trainer's `finish` does: [`Batch::reduce`], and the batch is
    /// emptied for the next one. `Err(Empty)` without samples, `Err(NonFiniteLoss)` for a NaN
    /// or infinite loss (the trainers then zero their gradients, so a step taken anyway
    /// changes nothing).
    pub fn end(
        &mut self,
        reduction: Reduction,
        per_element: bool,
        outputs: usize,
    ) -> Result<(f32, f32), Error> {
        if self.samples == 0 {
            return Err(Error::Empty);
        }
        let (value, scale) = self.reduce(reduction, per_element, outputs);
        *self = Self::new();
        if !value.is_finite() {
            return Err(Error::NonFiniteLoss);
        }
        Ok((value, scale))
    }
}

/// Element-wise losses implement this; [`Loss`] follows through [`element_loss!`].
pub(crate) trait ElementLoss {
    /// `(loss, d loss / d p)` of element `i` with prediction `p` and target `t`.
    fn value_grad(&self, i: usize, p: f32, t: f32) -> (f32, f32);
    /// Extra check of the target values (range).
    fn check_target(&self, _t: &[f32]) -> Result<(), Error> {
        Ok(())
    }
    /// Extra check of the predictions ([`Loss::check_output`]).
    fn check_pred(&self, _p: &[f32]) -> Result<(), Error> {
        Ok(())
    }
}

/// Implements [`Loss`] for element-wise losses.
macro_rules! element_loss {
    ($($t:ty),*) => {$(
        impl $crate::loss::Loss for $t {
            fn per_element(&self) -> bool {
                true
            }
            fn check(&self, outputs: usize, target: $crate::loss::Target<'_>) -> Result<(), $crate::Error> {
                let v = $crate::loss::check_values(outputs, target)?;
                $crate::loss::ElementLoss::check_target(self, v)
            }
            fn check_output(&self, pred: &[f32]) -> Result<(), $crate::Error> {
                $crate::loss::ElementLoss::check_pred(self, pred)
            }
            fn eval(
                &self,
                pred: &[f32],
                target: $crate::loss::Target<'_>,
                grad: &mut [f32],
                elements: Option<&mut [f32]>,
            ) -> f32 {
                $crate::loss::eval_elements(self, pred, target, grad, elements)
            }
        }
    )*};
}
pub(crate) use element_loss;

pub(crate) fn eval_elements<E: ElementLoss>(
    loss: &E,
    pred: &[f32],
    target: Target<'_>,
    grad: &mut [f32],
    mut elements: Option<&mut [f32]>,
) -> f32 {
    let t = match target {
        Target::Values(v) => v,
        Target::Class(_) => &[],
    };
    let mut total = 0.0;
    for (i, ((g, &p), &tv)) in grad.iter_mut().zip(pred).zip(t).enumerate() {
        let (l, d) = loss.value_grad(i, p, tv);
        *g = d;
        total += l;
        if let Some(e) = elements.as_deref_mut().and_then(|e| e.get_mut(i)) {
            *e = l;
        }
    }
    total
}

/// `-1`, `0` or `1`, as `torch.sign` (0 at 0).
#[inline]
pub fn sign_of(x: f32) -> f32 {
    if x > 0.0 {
        1.0
    } else if x < 0.0 {
        -1.0
    } else {
        0.0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The doc of [`Loss::eval`]: "an unchecked bad target gives a meaningless value, never a
    /// panic". Every loss gets targets that [`Loss::check`] rejects (class indices out of
    /// range, the wrong kind, rows too short and too long), and predictions, gradients and
    /// element buffers of mismatched lengths; each call must return.
    #[test]
    fn eval_never_panics_on_unchecked_targets() {
        let (w1, w7) = ([0.5f32], [0.5f32; 7]);
        // every loss of the crate, with per-class slices short (1) and long (7) for 3 outputs
        let (bce_pw1, bce_pw7) =
            (BceWithLogits { pos_weight: Some(&w1) }, BceWithLogits { pos_weight: Some(&w7) });
        let ce_w1 = CrossEntropy { weight: Some(&w1), label_smoothing: 0.1 };
        let ce_w7 = CrossEntropy { weight: Some(&w7), label_smoothing: 0.0 };
        let nll_w1 = Nll { weight: Some(&w1) };
        let losses: [(&str, &dyn Loss); 20] = [
            ("mse", &Mse),
            ("mae", &Mae),
            ("huber", &Huber { delta: 1.0 }),
            ("bce", &Bce),
            ("bce_with_logits", &BceWithLogits { pos_weight: None }),
            ("bce_with_logits pos_weight 1", &bce_pw1),
            ("bce_with_logits pos_weight 7", &bce_pw7),
            ("kl_div", &KlDiv { log_target: false }),
            ("kl_div log_target", &KlDiv { log_target: true }),
            ("quantile", &Quantile { tau: 0.3 }),
            ("tukey", &Tukey { c: 4.685 }),
            ("barron", &Barron { alpha: 0.5, c: 1.0 }),
            ("dice", &Dice { smooth: 1.0 }),
            ("dice_bce_with_logits", &DiceBceWithLogits { smooth: 1.0 }),
            ("cross_entropy", &CrossEntropy { weight: None, label_smoothing: 0.1 }),
            ("cross_entropy weight 1", &ce_w1),
            ("cross_entropy weight 7", &ce_w7),
            ("nll", &Nll { weight: None }),
            ("nll weight 1", &nll_w1),
            ("focal", &Focal { gamma: 2.0, alpha: 0.25 }),
        ];
        let outputs = 3;
        let rows: [&[f32]; 5] = [&[], &[0.2], &[0.2, 0.7], &[0.2, 0.7, 0.1], &[0.3; 7]];
        let mut targets: Vec<Target<'_>> = rows.iter().map(|r| Target::Values(r)).collect();
        targets.extend([0, 2, 3, 7, usize::MAX / 2, usize::MAX].into_iter().map(Target::Class));
        let lengths = [0, 1, outputs - 1, outputs, outputs + 4];
        let mut rejected = 0;
        for (name, loss) in losses {
            for &target in &targets {
                if loss.check(outputs, target).is_err() {
                    rejected += 1;
                }
                let _ = loss.mean_weight(target);
                for &np in &lengths {
                    let pred: [f32; 7] = core::array::from_fn(|i| 0.1 + 0.2 * i as f32);
                    for &ng in &lengths {
                        for ne in [None, Some(0), Some(1), Some(np), Some(np + 2)] {
                            let mut grad = [0.0f32; 7];
                            let mut elements = [0.0f32; 9];
                            let elements = ne.map(|n| &mut elements[..n]);
                            // reaching the next line is the test: no panic
                            let _ = loss.eval(&pred[..np], target, &mut grad[..ng], elements);
                        }
                    }
                }
            }
            // a class loss rejects rows, a row loss class indices: every loss saw bad targets
            assert!(rejected > 0, "{name}: no target was rejected");
            rejected = 0;
        }
    }
}
