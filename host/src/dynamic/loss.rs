use neurite::loss::{
    class_balanced_weights, Barron, Bce, BceWithLogits, CrossEntropy, Dice, DiceBceWithLogits,
    Focal, Huber, KlDiv, Loss, Mae, Mse, Nll, Quantile, Tukey,
};
use neurite::Error;

/// A loss named at run time, owning its class weights.
#[derive(Clone, Debug, PartialEq)]
pub enum DynLoss {
    /// Mean squared error.
    Mse,
    /// Mean absolute error (L1).
    Mae,
    /// Huber(delta).
    Huber(f32),
    /// Binary cross-entropy on probabilities.
    Bce,
    /// Binary cross-entropy on logits, optional positive weights.
    BceWithLogits(Option<Vec<f32>>),
    /// Cross-entropy on logits: class weights, label smoothing.
    CrossEntropy(Option<Vec<f32>>, f32),
    /// Negative log-likelihood on log-probabilities: class weights.
    Nll(Option<Vec<f32>>),
    /// KL divergence: log_target.
    KlDiv(bool),
    /// Soft Dice: smooth.
    Dice(f32),
    /// Dice + BCE on logits (segmentation): smooth of the Dice term.
    DiceBceWithLogits(f32),
    /// Focal: gamma, alpha.
    Focal(f32, f32),
    /// Quantile: tau.
    Quantile(f32),
    /// Tukey biweight: c.
    Tukey(f32),
    /// Barron: alpha, c.
    Barron(f32, f32),
}

impl DynLoss {
    /// Class-balanced cross-entropy from per-class counts (as [`DynLoss::CrossEntropy`] with
    /// the computed weights).
    pub fn class_balanced(beta: f32, counts: &[u32]) -> Result<Self, Error> {
        let mut w = vec![0.0; counts.len()];
        class_balanced_weights(counts, beta, &mut w)?;
        Ok(Self::CrossEntropy(Some(w), 0.0))
    }

    /// Calls `f` with the core loss this names.
    pub fn with<R>(&self, f: impl FnOnce(&dyn Loss) -> R) -> R {
        match self {
            Self::Mse => f(&Mse),
            Self::Mae => f(&Mae),
            Self::Huber(delta) => f(&Huber { delta: *delta }),
            Self::Bce => f(&Bce),
            Self::BceWithLogits(pw) => f(&BceWithLogits { pos_weight: pw.as_deref() }),
            Self::CrossEntropy(w, ls) => {
                f(&CrossEntropy { weight: w.as_deref(), label_smoothing: *ls })
            }
            Self::Nll(w) => f(&Nll { weight: w.as_deref() }),
            Self::KlDiv(log_target) => f(&KlDiv { log_target: *log_target }),
            Self::Dice(smooth) => f(&Dice { smooth: *smooth }),
            Self::DiceBceWithLogits(smooth) => f(&DiceBceWithLogits { smooth: *smooth }),
            Self::Focal(gamma, alpha) => f(&Focal { gamma: *gamma, alpha: *alpha }),
            Self::Quantile(tau) => f(&Quantile { tau: *tau }),
            Self::Tukey(c) => f(&Tukey { c: *c }),
            Self::Barron(alpha, c) => f(&Barron { alpha: *alpha, c: *c }),
        }
    }

    /// `true` for losses whose targets are class indices.
    pub fn wants_class(&self) -> bool {
        matches!(self, Self::CrossEntropy(..) | Self::Nll(_) | Self::Focal(..))
    }
}
