//! Gradient descent, minibatch SGD and momentum (classic, Nesterov): `torch.optim.SGD`.

use super::state::{as_flag, exactly, flag, HyperParameters, OptimizerState};
use super::{decayed, non_negative, require, Off, On, Optimizer, Slot};
use crate::error::Error;
use crate::kernel::elementwise::sub_scaled;
use crate::layer::Layer;
use crate::params::Params;
use core::marker::PhantomData;

/// Hyper-parameters of [`Sgd`] (names and defaults of `torch.optim.SGD`).
#[derive(Clone, Copy, Debug, PartialEq)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub struct SgdConfig {
    /// Learning rate.
    pub lr: f32,
    /// Momentum factor (0: plain gradient descent).
    pub momentum: f32,
    /// Dampening of the momentum's gradient term.
    pub dampening: f32,
    /// Nesterov momentum.
    pub nesterov: bool,
    /// L2 penalty added to the gradient.
    pub weight_decay: f32,
}

impl SgdConfig {
    /// Plain gradient descent with learning rate `lr`.
    pub const fn new(lr: f32) -> Self {
        Self { lr, momentum: 0.0, dampening: 0.0, nesterov: false, weight_decay: 0.0 }
    }

    /// Checks the domain: `lr > 0`, others `>= 0`, Nesterov needs momentum and no dampening.
    /// The typed optimiser's `new` calls it (and also checks the state types).
    pub const fn validate(&self) -> Result<(), Error> {
        require(
            self.lr > 0.0
                && self.lr.is_finite()
                && non_negative(self.momentum)
                && non_negative(self.dampening)
                && non_negative(self.weight_decay)
                && (!self.nesterov || (self.momentum > 0.0 && self.dampening == 0.0)),
        )
    }
}

/// One SGD update of a tensor.
///
/// `g' = g + wd p`; with momentum `b = g'` on the first step, then
/// `b = momentum b + (1 - dampening) g'`, and `g' = g' + momentum b` (Nesterov) or `b`;
/// `p -= lr g'`. `buf` is required when `momentum != 0` (ignored otherwise).
pub fn update(
    cfg: &SgdConfig,
    first_step: bool,
    p: &mut [f32],
    g: &[f32],
    buf: Option<&mut [f32]>,
) {
    match buf {
        Some(buf) if cfg.momentum != 0.0 => {
            for ((pi, &gi), bi) in p.iter_mut().zip(g).zip(buf) {
                let d = decayed(gi, *pi, cfg.weight_decay);
                *bi = if first_step { d } else { cfg.momentum * *bi + (1.0 - cfg.dampening) * d };
                let step = if cfg.nesterov { d + cfg.momentum * *bi } else { *bi };
                *pi -= cfg.lr * step;
            }
        }
        _ if cfg.weight_decay == 0.0 => sub_scaled(p, cfg.lr, g),
        _ => {
            for (pi, &gi) in p.iter_mut().zip(g) {
                *pi -= cfg.lr * decayed(gi, *pi, cfg.weight_decay);
            }
        }
    }
}

/// SGD over a model whose gradients have type `G`; `M` is [`Off`] for plain gradient descent
/// or [`On<G>`] with a momentum buffer ([`SgdMomentum`]). Built by [`Sgd::new`].
#[derive(Clone, Debug, PartialEq)]
pub struct Sgd<G, M = Off> {
    config: SgdConfig,
    momentum_buffer: M,
    steps: u32,
    _grads: PhantomData<fn() -> G>,
}

/// SGD with momentum (classic or Nesterov): one buffer of type `G`.
pub type SgdMomentum<G> = Sgd<G, On<G>>;

impl<G, M: Slot<G>> Sgd<G, M> {
    /// SGD with hyper-parameters `config`, usable in a `static`
    /// (see [`valid!`](super::valid)).
    ///
    /// # Errors
    ///
    /// [`Error::InvalidHyperParameter`] when `config` fails [`SgdConfig::validate`], or when
    /// `config.momentum != 0` and `M` is not [`On<G>`], or `config.momentum == 0` and `M` is
    /// not [`Off`].
    ///
    /// ```
    /// use neurite::prelude::*;
    /// type G = <Dense<3, 2> as Layer>::Grads;
    /// let sgd = Sgd::<G>::new(SgdConfig { weight_decay: 1e-4, ..SgdConfig::new(0.1) })?;
    /// let nesterov = SgdConfig { momentum: 0.9, nesterov: true, ..SgdConfig::new(0.1) };
    /// let momentum = SgdMomentum::<G>::new(nesterov)?;
    /// assert_eq!(Sgd::<G>::new(SgdConfig::new(-0.1)).err(), Some(Error::InvalidHyperParameter));
    /// assert!(Sgd::<G>::new(nesterov).is_err()); // momentum, but no buffer in the type
    /// assert!(SgdMomentum::<G>::new(SgdConfig::new(0.1)).is_err()); // a buffer, no momentum
    /// # let _ = (sgd, momentum);
    /// # Ok::<(), Error>(())
    /// ```
    pub const fn new(config: SgdConfig) -> Result<Self, Error> {
        match Self::check(&config) {
            Ok(()) => {
                Ok(Self { config, momentum_buffer: M::ZEROED, steps: 0, _grads: PhantomData })
            }
            Err(e) => Err(e),
        }
    }

    /// What [`Sgd::new`] checks: the config's domain and its momentum against `M`.
    const fn check(config: &SgdConfig) -> Result<(), Error> {
        require(config.validate().is_ok() && (config.momentum != 0.0) == M::ON)
    }

    /// The configuration it was built with (its learning rate as [`Optimizer::set_lr`] left it).
    pub const fn config(&self) -> &SgdConfig {
        &self.config
    }
}

impl<G: Params, M: Slot<G>> Optimizer<G> for Sgd<G, M> {
    fn step<L: Layer<Grads = G>>(&mut self, model: &mut L, grads: &G) {
        for i in 0..G::TENSORS {
            let buf = self.momentum_buffer.slot(i);
            update(&self.config, self.steps == 0, model.tensor_mut(i), grads.tensor(i), buf);
        }
        self.steps = self.steps.saturating_add(1);
    }
    fn steps(&self) -> u32 {
        self.steps
    }

    super::lr_from_config!();
}

impl<G: Params, M: Slot<G>> OptimizerState<G> for Sgd<G, M> {
    const NAME: &'static str = "sgd";
    const HYPER_PARAMETERS: &'static [&'static str] =
        &["lr", "momentum", "dampening", "nesterov", "weight_decay"];
    const BUFFERS: usize = M::ON as usize;

    fn hyper_parameters(&self) -> HyperParameters {
        let c = &self.config;
        HyperParameters::new(
            Self::HYPER_PARAMETERS,
            &[c.lr, c.momentum, c.dampening, flag(c.nesterov), c.weight_decay],
        )
    }

    fn buffer(&self, k: usize) -> Option<&G> {
        self.momentum_buffer.get().filter(|_| k == 0)
    }

    fn buffer_mut(&mut self, k: usize) -> Option<&mut G> {
        self.momentum_buffer.get_mut().filter(|_| k == 0)
    }

    fn restore(&mut self, values: &[f32], steps: u32) -> Result<(), Error> {
        let [lr, momentum, dampening, nesterov, weight_decay] = exactly(values)?;
        let config =
            SgdConfig { lr, momentum, dampening, nesterov: as_flag(nesterov)?, weight_decay };
        Self::check(&config)?;
        self.config = config;
        self.steps = steps;
        Ok(())
    }
}
