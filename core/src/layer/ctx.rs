//! The context of a training forward: the mode and the random generator.

use crate::rng::Rng;

/// What a training forward ([`super::Layer::forward_trace`]) may depend on besides its
/// input: the mode (PyTorch's `model.train()` / `model.eval()`) and the random generator
/// that stochastic layers draw from ([`super::Dropout`]'s masks).
///
/// Deterministic layers ignore it. A stochastic layer is the identity unless the context is
/// in train mode **and** holds a generator, so [`Ctx::train`] (no generator) and
/// [`Ctx::eval`] give the same outputs as [`super::Infer::forward`]. Pairs and
/// [`super::Residual`] blocks pass the same context down, first layer first, so one seed
/// reproduces a run's masks bit for bit (the same integer code on every target; the
/// firmware's parity runs do not use dropout, so only the host checks it).
///
/// ```
/// use neurite::prelude::*;
/// let mut rng = Rng::new(3);
/// let mut ctx = Ctx::train_with(&mut rng);
/// assert!(ctx.train && ctx.train_rng().is_some());
/// assert!(!Ctx::eval().train && Ctx::eval().rng.is_none());
/// assert!(Ctx::train().train && Ctx::train().train_rng().is_none());
/// ```
#[derive(Debug)]
pub struct Ctx<'a> {
    /// Train mode (`true`, stochastic layers active) or eval mode (`false`).
    pub train: bool,
    /// The generator stochastic layers draw from in train mode (`None`: they are the identity).
    pub rng: Option<&'a mut Rng>,
}

impl<'a> Ctx<'a> {
    /// Train mode without a generator: every layer is deterministic.
    pub const fn train() -> Self {
        Self { train: true, rng: None }
    }

    /// Eval mode: every layer computes its inference map.
    pub const fn eval() -> Self {
        Self { train: false, rng: None }
    }

    /// Train mode drawing from `rng`.
    pub const fn train_with(rng: &'a mut Rng) -> Self {
        Self { train: true, rng: Some(rng) }
    }

    /// Mode `train` with an optional generator.
    pub const fn new(train: bool, rng: Option<&'a mut Rng>) -> Self {
        Self { train, rng }
    }

    /// The generator if a stochastic layer should draw from it: in train mode, when there is
    /// one (`None` in eval mode or without a generator).
    pub fn train_rng(&mut self) -> Option<&mut Rng> {
        if self.train {
            self.rng.as_deref_mut()
        } else {
            None
        }
    }
}

impl Default for Ctx<'_> {
    /// [`Ctx::train`].
    fn default() -> Self {
        Self::train()
    }
}
