//! RMSprop with its momentum and centred options: `torch.optim.RMSprop`.

use super::state::{as_flag, exactly, flag, HyperParameters, OptimizerState};
use super::{decayed, non_negative, require, Off, On, Optimizer, Slot};
use crate::error::Error;
use crate::layer::Layer;
use crate::math;
use crate::params::{Params, Zeroed};

/// Hyper-parameters of [`RmsProp`] (`torch.optim.RMSprop` names and defaults).
#[derive(Clone, Copy, Debug, PartialEq)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub struct RmsPropConfig {
    /// Learning rate (default 0.01).
    pub lr: f32,
    /// Smoothing constant (default 0.99).
    pub alpha: f32,
    /// Added to the root (default 1e-8).
    pub eps: f32,
    /// L2 penalty.
    pub weight_decay: f32,
    /// Momentum factor (needs the momentum slot).
    pub momentum: f32,
    /// Normalise by the centred second moment (needs the grad-average slot).
    pub centered: bool,
}

impl RmsPropConfig {
    /// PyTorch's defaults with learning rate `lr`.
    pub const fn new(lr: f32) -> Self {
        Self { lr, alpha: 0.99, eps: 1e-8, weight_decay: 0.0, momentum: 0.0, centered: false }
    }

    /// Checks the domain: `lr > 0`, `alpha` in [0, 1], eps, weight decay and momentum `>= 0`.
    /// The typed optimiser's `new` calls it (and also checks the state types).
    pub const fn validate(&self) -> Result<(), Error> {
        require(
            self.lr > 0.0
                && self.lr.is_finite()
                && self.alpha >= 0.0
                && self.alpha <= 1.0
                && non_negative(self.eps)
                && non_negative(self.weight_decay)
                && non_negative(self.momentum),
        )
    }
}

/// One RMSprop update of a tensor:
/// `g' = g + wd p`, `v = alpha v + (1 - alpha) g'^2`; centred: `a = a + (1 - alpha)(g' - a)`,
/// `d = sqrt(v - a^2) + eps`, else `d = sqrt(v) + eps`; momentum: `b = momentum b + g'/d`,
/// `p -= lr b`, else `p -= lr g'/d`. `grad_avg` is used iff `cfg.centered`, `buf` iff
/// `cfg.momentum > 0`.
pub fn update(
    cfg: &RmsPropConfig,
    p: &mut [f32],
    g: &[f32],
    square_avg: &mut [f32],
    mut grad_avg: Option<&mut [f32]>,
    mut buf: Option<&mut [f32]>,
) {
    for (i, ((pi, &gi), vi)) in p.iter_mut().zip(g).zip(square_avg).enumerate() {
        let d = decayed(gi, *pi, cfg.weight_decay);
        *vi = cfg.alpha * *vi + (1.0 - cfg.alpha) * d * d;
        let centred = match grad_avg.as_deref_mut().and_then(|a| a.get_mut(i)) {
            Some(ai) if cfg.centered => {
                *ai += (1.0 - cfg.alpha) * (d - *ai);
                *vi - *ai * *ai
            }
            _ => *vi,
        };
        let denom = math::sqrt(centred) + cfg.eps;
        match buf.as_deref_mut().and_then(|b| b.get_mut(i)) {
            Some(bi) if cfg.momentum > 0.0 => {
                *bi = cfg.momentum * *bi + d / denom;
                *pi -= cfg.lr * *bi;
            }
            _ => *pi -= cfg.lr * (d / denom),
        }
    }
}

/// RMSprop over gradient type `G`. State: the square average (`G`), a momentum buffer when
/// `M = On<G>` and a gradient average when `C = On<G>`. Built by [`RmsProp::new`].
#[derive(Clone, Debug, PartialEq)]
pub struct RmsProp<G, M = Off, C = Off> {
    config: RmsPropConfig,
    square_avg: G,
    momentum_buffer: M,
    grad_avg: C,
    steps: u32,
}

/// RMSprop with momentum: one more `G` of state.
pub type RmsPropMomentum<G> = RmsProp<G, On<G>, Off>;
/// Centred RMSprop: one more `G` of state. Centred with momentum is `RmsProp<G, On<G>, On<G>>`.
pub type RmsPropCentered<G> = RmsProp<G, Off, On<G>>;

impl<G: Zeroed, M: Slot<G>, C: Slot<G>> RmsProp<G, M, C> {
    /// RMSprop with hyper-parameters `config`, usable in a `static`
    /// (see [`valid!`](super::valid)).
    ///
    /// # Errors
    ///
    /// [`Error::InvalidHyperParameter`] when `config` fails [`RmsPropConfig::validate`], when
    /// `config.momentum > 0` and `M` is not [`On<G>`] (or `momentum == 0` and `M` is not
    /// [`Off`]), or when `config.centered` and `C` is not [`On<G>`] (or not centred and `C` is
    /// not [`Off`]).
    ///
    /// ```
    /// use neurite::prelude::*;
    /// use neurite::optim::On;
    /// type G = <Dense<3, 2> as Layer>::Grads;
    /// let plain = RmsProp::<G>::new(RmsPropConfig::new(0.01))?;
    /// let centred = RmsPropConfig { centered: true, ..RmsPropConfig::new(0.01) };
    /// let centred = RmsPropCentered::<G>::new(centred)?;
    /// let both = RmsPropConfig { momentum: 0.9, centered: true, ..RmsPropConfig::new(0.01) };
    /// let full = RmsProp::<G, On<G>, On<G>>::new(both)?;
    /// let bad_alpha = RmsPropConfig { alpha: 1.5, ..RmsPropConfig::new(0.01) };
    /// assert_eq!(RmsProp::<G>::new(bad_alpha).err(), Some(Error::InvalidHyperParameter));
    /// assert!(RmsPropCentered::<G>::new(both).is_err()); // momentum, but no buffer in the type
    /// # let _ = (plain, centred, full);
    /// # Ok::<(), Error>(())
    /// ```
    pub const fn new(config: RmsPropConfig) -> Result<Self, Error> {
        match Self::check(&config) {
            Ok(()) => Ok(Self {
                config,
                square_avg: G::ZEROED,
                momentum_buffer: M::ZEROED,
                grad_avg: C::ZEROED,
                steps: 0,
            }),
            Err(e) => Err(e),
        }
    }

    /// What [`RmsProp::new`] checks: the config's domain, its momentum against `M` and its
    /// centring against `C`.
    const fn check(config: &RmsPropConfig) -> Result<(), Error> {
        require(
            config.validate().is_ok()
                && (config.momentum > 0.0) == M::ON
                && config.centered == C::ON,
        )
    }

    /// The configuration it was built with (its learning rate as [`Optimizer::set_lr`] left it).
    pub const fn config(&self) -> &RmsPropConfig {
        &self.config
    }
}

impl<G: Params, M: Slot<G>, C: Slot<G>> Optimizer<G> for RmsProp<G, M, C> {
    fn step<L: Layer<Grads = G>>(&mut self, model: &mut L, grads: &G) {
        for i in 0..G::TENSORS {
            update(
                &self.config,
                model.tensor_mut(i),
                grads.tensor(i),
                self.square_avg.tensor_mut(i),
                self.grad_avg.slot(i),
                self.momentum_buffer.slot(i),
            );
        }
        self.steps = self.steps.saturating_add(1);
    }
    fn steps(&self) -> u32 {
        self.steps
    }

    super::lr_from_config!();
}

impl<G: Params + Zeroed, M: Slot<G>, C: Slot<G>> OptimizerState<G> for RmsProp<G, M, C> {
    const NAME: &'static str = "rmsprop";
    const HYPER_PARAMETERS: &'static [&'static str] =
        &["lr", "alpha", "eps", "weight_decay", "momentum", "centered"];
    /// The square average, then the momentum buffer and the gradient average when present
    /// (PyTorch's `square_avg`, `momentum_buffer`, `grad_avg`).
    const BUFFERS: usize = 1 + M::ON as usize + C::ON as usize;

    fn hyper_parameters(&self) -> HyperParameters {
        let c = &self.config;
        HyperParameters::new(
            Self::HYPER_PARAMETERS,
            &[c.lr, c.alpha, c.eps, c.weight_decay, c.momentum, flag(c.centered)],
        )
    }

    fn buffer(&self, k: usize) -> Option<&G> {
        [Some(&self.square_avg), self.momentum_buffer.get(), self.grad_avg.get()]
            .into_iter()
            .flatten()
            .nth(k)
    }

    fn buffer_mut(&mut self, k: usize) -> Option<&mut G> {
        [Some(&mut self.square_avg), self.momentum_buffer.get_mut(), self.grad_avg.get_mut()]
            .into_iter()
            .flatten()
            .nth(k)
    }

    fn restore(&mut self, values: &[f32], steps: u32) -> Result<(), Error> {
        let [lr, alpha, eps, weight_decay, momentum, centered] = exactly(values)?;
        let centered = as_flag(centered)?;
        let config = RmsPropConfig { lr, alpha, eps, weight_decay, momentum, centered };
        Self::check(&config)?;
        self.config = config;
        self.steps = steps;
        Ok(())
    }
}
