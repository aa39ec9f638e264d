//! AdaGrad: `torch.optim.Adagrad`.

use super::state::{exactly, HyperParameters, OptimizerState};
use super::{decayed, non_negative, require, Optimizer};
use crate::error::Error;
use crate::layer::Layer;
use crate::math;
use crate::params::{Params, Zeroed};

/// Hyper-parameters of [`Adagrad`] (`torch.optim.Adagrad` names and defaults).
#[derive(Clone, Copy, Debug, PartialEq)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub struct AdagradConfig {
    /// Learning rate (default 0.01).
    pub lr: f32,
    /// Learning-rate decay per step.
    pub lr_decay: f32,
    /// L2 penalty.
    pub weight_decay: f32,
    /// Starting value of the sum of squares.
    pub initial_accumulator_value: f32,
    /// Added to the root (default 1e-10).
    pub eps: f32,
}

impl AdagradConfig {
    /// PyTorch's defaults with learning rate `lr`.
    pub const fn new(lr: f32) -> Self {
        Self { lr, lr_decay: 0.0, weight_decay: 0.0, initial_accumulator_value: 0.0, eps: 1e-10 }
    }

    /// Checks the domain: `lr > 0`, the others finite and `>= 0`.
    /// [`Adagrad::new`] calls it.
    pub const fn validate(&self) -> Result<(), Error> {
        require(
            self.lr > 0.0
                && self.lr.is_finite()
                && non_negative(self.lr_decay)
                && non_negative(self.weight_decay)
                && non_negative(self.initial_accumulator_value)
                && non_negative(self.eps),
        )
    }
}

/// One AdaGrad update at step `step` (1-based):
/// `g' = g + wd p`, `sum += g'^2`, `p -= lr / (1 + (step - 1) lr_decay) * g' / (sqrt(sum) + eps)`.
pub fn update(cfg: &AdagradConfig, step: u32, p: &mut [f32], g: &[f32], sum: &mut [f32]) {
    let clr = cfg.lr / (1.0 + (step.saturating_sub(1)) as f32 * cfg.lr_decay);
    for ((pi, &gi), si) in p.iter_mut().zip(g).zip(sum) {
        let d = decayed(gi, *pi, cfg.weight_decay);
        *si += d * d;
        let std = math::sqrt(*si) + cfg.eps;
        *pi -= clr * (d / std);
    }
}

/// AdaGrad over a model with gradient type `G`; state: one `G` (the sum of squares). Built
/// by [`Adagrad::new`].
#[derive(Clone, Debug, PartialEq)]
pub struct Adagrad<G> {
    config: AdagradConfig,
    sum: G,
    steps: u32,
}

impl<G: Zeroed> Adagrad<G> {
    /// AdaGrad with hyper-parameters `config`, usable in a `static`
    /// (see [`valid!`](super::valid)).
    /// The sum of squares starts at `config.initial_accumulator_value` (set at the first
    /// step, so that this can be a `const fn`).
    ///
    /// # Errors
    ///
    /// [`Error::InvalidHyperParameter`] when `config` fails [`AdagradConfig::validate`].
    ///
    /// ```
    /// use neurite::prelude::*;
    /// type G = <Dense<3, 2> as Layer>::Grads;
    /// let decaying = AdagradConfig { lr_decay: 1e-3, ..AdagradConfig::new(0.01) };
    /// let adagrad = Adagrad::<G>::new(decaying)?;
    /// let negative_eps = AdagradConfig { eps: -1e-10, ..AdagradConfig::new(0.01) };
    /// assert_eq!(Adagrad::<G>::new(negative_eps).err(), Some(Error::InvalidHyperParameter));
    /// # let _ = adagrad;
    /// # Ok::<(), Error>(())
    /// ```
    pub const fn new(config: AdagradConfig) -> Result<Self, Error> {
        if config.validate().is_ok() {
            Ok(Self { config, sum: G::ZEROED, steps: 0 })
        } else {
            Err(Error::InvalidHyperParameter)
        }
    }

    /// The configuration it was built with (its learning rate as [`Optimizer::set_lr`] left it).
    pub const fn config(&self) -> &AdagradConfig {
        &self.config
    }
}

impl<G: Params> Optimizer<G> for Adagrad<G> {
    fn step<L: Layer<Grads = G>>(&mut self, model: &mut L, grads: &G) {
        if self.steps == 0 && self.config.initial_accumulator_value != 0.0 {
            for i in 0..G::TENSORS {
                self.sum.tensor_mut(i).fill(self.config.initial_accumulator_value);
            }
        }
        self.steps = self.steps.saturating_add(1);
        for i in 0..G::TENSORS {
            update(
                &self.config,
                self.steps,
                model.tensor_mut(i),
                grads.tensor(i),
                self.sum.tensor_mut(i),
            );
        }
    }
    fn steps(&self) -> u32 {
        self.steps
    }

    super::lr_from_config!();
}

impl<G: Params + Zeroed> OptimizerState<G> for Adagrad<G> {
    const NAME: &'static str = "adagrad";
    const HYPER_PARAMETERS: &'static [&'static str] =
        &["lr", "lr_decay", "weight_decay", "initial_accumulator_value", "eps"];
    const BUFFERS: usize = 1;

    fn hyper_parameters(&self) -> HyperParameters {
        let c = &self.config;
        HyperParameters::new(
            Self::HYPER_PARAMETERS,
            &[c.lr, c.lr_decay, c.weight_decay, c.initial_accumulator_value, c.eps],
        )
    }

    fn buffer(&self, k: usize) -> Option<&G> {
        (k == 0).then_some(&self.sum)
    }

    fn buffer_mut(&mut self, k: usize) -> Option<&mut G> {
        (k == 0).then_some(&mut self.sum)
    }

    fn restore(&mut self, values: &[f32], steps: u32) -> Result<(), Error> {
        let [lr, lr_decay, weight_decay, initial_accumulator_value, eps] = exactly(values)?;
        let config = AdagradConfig { lr, lr_decay, weight_decay, initial_accumulator_value, eps };
        config.validate()?;
        self.config = config;
        self.steps = steps;
        Ok(())
    }
}
