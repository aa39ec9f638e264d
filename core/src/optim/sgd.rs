//! Gradient descent, minibatch SGD and momentum (classic, Nesterov): `torch.optim.SGD`.

use super::{decayed, non_negative, require, Off, On, Optimizer, Slot};
use crate::error::Error;
use crate::layer::Layer;
use crate::params::{Params, Zeroed};
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
    pub fn validate(&self) -> Result<(), Error> {
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
        _ => {
            for (pi, &gi) in p.iter_mut().zip(g) {
                *pi -= cfg.lr * decayed(gi, *pi, cfg.weight_decay);
            }
        }
    }
}

/// SGD over a model whose gradients have type `G`; `M` is [`Off`] for plain gradient descent
/// or [`On<G>`] with a momentum buffer (see [`Sgd::with_momentum`]).
#[derive(Clone, Debug)]
pub struct Sgd<G, M = Off> {
    /// Hyper-parameters.
    pub config: SgdConfig,
    momentum_buffer: M,
    steps: u32,
    _grads: PhantomData<fn() -> G>,
}

impl<G> Sgd<G, Off> {
    /// Plain (minibatch) gradient descent, no state.
    pub const fn new(lr: f32) -> Self {
        Self { config: SgdConfig::new(lr), momentum_buffer: Off, steps: 0, _grads: PhantomData }
    }

    /// Adds L2 weight decay.
    pub const fn weight_decay(mut self, weight_decay: f32) -> Self {
        self.config.weight_decay = weight_decay;
        self
    }
}

impl<G: Params + Zeroed> Sgd<G, Off> {
    /// SGD with momentum (classic, or Nesterov), holding one buffer of type `G`.
    pub const fn with_momentum(
        self,
        momentum: f32,
        dampening: f32,
        nesterov: bool,
    ) -> Sgd<G, On<G>> {
        let mut config = self.config;
        config.momentum = momentum;
        config.dampening = dampening;
        config.nesterov = nesterov;
        Sgd { config, momentum_buffer: On(G::ZEROED), steps: 0, _grads: PhantomData }
    }
}

impl<G: Params, M: Slot> Optimizer<G> for Sgd<G, M> {
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
}
