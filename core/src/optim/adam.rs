//! Adam (bias-corrected, AMSGrad option) and AdamW: `torch.optim.Adam` / `AdamW`.

use super::state::{as_flag, exactly, flag, HyperParameters, OptimizerState};
use super::{decayed, non_negative, require, Off, On, Optimizer, Slot};
use crate::error::Error;
use crate::layer::Layer;
use crate::math;
use crate::params::{Params, Zeroed};

/// Hyper-parameters of [`Adam`]. `decoupled_weight_decay` makes it AdamW.
#[derive(Clone, Copy, Debug, PartialEq)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub struct AdamConfig {
    /// Learning rate (default 1e-3).
    pub lr: f32,
    /// Decay rates of the first and second moments (default 0.9, 0.999).
    pub betas: (f32, f32),
    /// Added to the denominator (default 1e-8).
    pub eps: f32,
    /// Weight decay: L2 added to the gradient (Adam) or decoupled (AdamW).
    pub weight_decay: f32,
    /// AdamW: `p *= 1 - lr * weight_decay` before the Adam step.
    pub decoupled_weight_decay: bool,
    /// AMSGrad: normalise by the running maximum of the second moment (needs the
    /// `V = On<G>` slot of [`Adam`]; default `false`).
    pub amsgrad: bool,
}

impl AdamConfig {
    /// `torch.optim.Adam` defaults with learning rate `lr`.
    pub const fn adam(lr: f32) -> Self {
        Self {
            lr,
            betas: (0.9, 0.999),
            eps: 1e-8,
            weight_decay: 0.0,
            decoupled_weight_decay: false,
            amsgrad: false,
        }
    }

    /// `torch.optim.AdamW` defaults (weight decay 0.01) with learning rate `lr`.
    pub const fn adamw(lr: f32) -> Self {
        Self {
            lr,
            betas: (0.9, 0.999),
            eps: 1e-8,
            weight_decay: 0.01,
            decoupled_weight_decay: true,
            amsgrad: false,
        }
    }

    /// Checks the domain: `lr > 0`, betas in [0, 1), eps and weight decay `>= 0`.
    /// The typed optimiser's `new` calls it (and also checks the state types).
    pub const fn validate(&self) -> Result<(), Error> {
        require(
            self.lr > 0.0
                && self.lr.is_finite()
                && self.betas.0 >= 0.0
                && self.betas.0 < 1.0
                && self.betas.1 >= 0.0
                && self.betas.1 < 1.0
                && non_negative(self.eps)
                && non_negative(self.weight_decay),
        )
    }
}

/// The scalars of Adam step `step` (1-based), shared by every tensor of the step: the bias
/// corrections are computed in double precision, as PyTorch does in Python floats, once per
/// step (on a core without a double-precision FPU each `pow` costs thousands of
/// instructions).
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct AdamStep {
    /// `lr / (1 - b1^t)`.
    step_size: f32,
    /// `sqrt(1 - b2^t)`.
    bc2_sqrt: f32,
    /// AdamW's `1 - lr * weight_decay`.
    shrink: f32,
}

impl AdamStep {
    /// `lr / (1 - b1^t)`, rounded to `f32`.
    pub const fn step_size(&self) -> f32 {
        self.step_size
    }

    /// `sqrt(1 - b2^t)`, rounded to `f32`.
    pub const fn bc2_sqrt(&self) -> f32 {
        self.bc2_sqrt
    }

    /// AdamW's `1 - lr * weight_decay`, rounded to `f32`.
    pub const fn shrink(&self) -> f32 {
        self.shrink
    }

    /// The scalars of step `step` under `cfg`.
    pub fn new(cfg: &AdamConfig, step: u32) -> Self {
        let t = f64::from(step.max(1));
        let (b1, b2) = cfg.betas;
        let bc1 = 1.0 - math::pow_f64(f64::from(b1), t);
        let bc2 = 1.0 - math::pow_f64(f64::from(b2), t);
        Self {
            step_size: (f64::from(cfg.lr) / bc1) as f32,
            bc2_sqrt: math::sqrt_f64(bc2) as f32,
            shrink: (1.0 - f64::from(cfg.lr) * f64::from(cfg.weight_decay)) as f32,
        }
    }
}

/// One Adam update of a tensor at step `step` (1-based):
/// `m = m + (1 - b1)(g' - m)`, `v = b2 v + (1 - b2) g'^2`, `v_max = max(v_max, v)` (AMSGrad),
/// `p -= lr / (1 - b1^t) * m / (sqrt(v or v_max) / sqrt(1 - b2^t) + eps)`.
/// The bias corrections are computed in double precision, as PyTorch does in Python floats
/// ([`AdamStep`]; a model's step computes them once and calls [`update_with`]).
/// `v_max` is AMSGrad's running maximum, passed when `cfg.amsgrad` (the kernel uses it
/// whenever it is `Some`).
pub fn update(
    cfg: &AdamConfig,
    step: u32,
    p: &mut [f32],
    g: &[f32],
    m: &mut [f32],
    v: &mut [f32],
    v_max: Option<&mut [f32]>,
) {
    update_with(cfg, &AdamStep::new(cfg, step), p, g, m, v, v_max);
}

/// [`update`] with the step's scalars computed already.
///
/// The options are resolved once per call, not per element: one loop per combination of
/// AMSGrad (`v_max`) and decoupled weight decay, the same arithmetic in each.
#[inline]
pub fn update_with(
    cfg: &AdamConfig,
    s: &AdamStep,
    p: &mut [f32],
    g: &[f32],
    m: &mut [f32],
    v: &mut [f32],
    v_max: Option<&mut [f32]>,
) {
    match (v_max, cfg.decoupled_weight_decay) {
        (None, false) => moments::<false, false>(cfg, s, p, g, m, v, &mut []),
        (None, true) => moments::<false, true>(cfg, s, p, g, m, v, &mut []),
        (Some(vm), false) => moments::<true, false>(cfg, s, p, g, m, v, vm),
        (Some(vm), true) => moments::<true, true>(cfg, s, p, g, m, v, vm),
    }
}

/// The loop of [`update_with`]: `AMSGRAD` takes the running maximum from `v_max` (an element
/// beyond its end uses the second moment, as without it), `DECOUPLED` shrinks the parameter
/// instead of adding the decay to the gradient.
fn moments<const AMSGRAD: bool, const DECOUPLED: bool>(
    cfg: &AdamConfig,
    s: &AdamStep,
    p: &mut [f32],
    g: &[f32],
    m: &mut [f32],
    v: &mut [f32],
    v_max: &mut [f32],
) {
    let (b1, b2) = cfg.betas;
    let AdamStep { step_size, bc2_sqrt, shrink } = *s;
    let mut v_max = v_max.iter_mut();
    for (((pi, &gi), mi), vi) in p.iter_mut().zip(g).zip(m).zip(v) {
        let d = if DECOUPLED {
            *pi *= shrink;
            gi
        } else {
            decayed(gi, *pi, cfg.weight_decay)
        };
        *mi += (1.0 - b1) * (d - *mi);
        *vi = *vi * b2 + (1.0 - b2) * d * d;
        let second = match if AMSGRAD { v_max.next() } else { None } {
            Some(vm) => {
                if *vi > *vm {
                    *vm = *vi;
                }
                *vm
            }
            None => *vi,
        };
        let denom = math::sqrt(second) / bc2_sqrt + cfg.eps;
        *pi -= step_size * (*mi / denom);
    }
}

/// Adam / AdamW over gradient type `G`. State: first and second moments (two `G`s) and, with
/// AMSGrad (`V = On<G>`, [`AmsGrad`]), the running maximum of the second moment. Built by
/// [`Adam::new`].
#[derive(Clone, Debug, PartialEq)]
pub struct Adam<G, V = Off> {
    config: AdamConfig,
    exp_avg: G,
    exp_avg_sq: G,
    max_exp_avg_sq: V,
    steps: u32,
}

/// Adam or AdamW with AMSGrad: one more `G` of state (`config.amsgrad` must be `true`).
pub type AmsGrad<G> = Adam<G, On<G>>;

impl<G: Zeroed, V: Slot<G>> Adam<G, V> {
    /// Adam or AdamW with hyper-parameters `config`, usable in a `static` (see
    /// [`valid!`](super::valid)).
    ///
    /// # Errors
    ///
    /// [`Error::InvalidHyperParameter`] when `config` fails [`AdamConfig::validate`], or when
    /// `config.amsgrad` and `V` is not [`On<G>`], or not `config.amsgrad` and `V` is not
    /// [`Off`].
    ///
    /// ```
    /// use neurite::prelude::*;
    /// type G = <Dense<3, 2> as Layer>::Grads;
    /// let adam = Adam::<G>::new(AdamConfig::adam(1e-3))?;
    /// let adamw = Adam::<G>::new(AdamConfig::adamw(1e-3))?;
    /// let amsgrad = AmsGrad::<G>::new(AdamConfig { amsgrad: true, ..AdamConfig::adam(1e-3) })?;
    /// let negative_lr = Adam::<G>::new(AdamConfig::adam(-1.0));
    /// assert_eq!(negative_lr.err(), Some(Error::InvalidHyperParameter));
    /// assert!(Adam::<G>::new(AdamConfig { amsgrad: true, ..AdamConfig::adam(1e-3) }).is_err());
    /// assert!(AmsGrad::<G>::new(AdamConfig::adam(1e-3)).is_err());
    /// # let _ = (adam, adamw, amsgrad);
    /// # Ok::<(), Error>(())
    /// ```
    pub const fn new(config: AdamConfig) -> Result<Self, Error> {
        match Self::check(&config) {
            Ok(()) => Ok(Self {
                config,
                exp_avg: G::ZEROED,
                exp_avg_sq: G::ZEROED,
                max_exp_avg_sq: V::ZEROED,
                steps: 0,
            }),
            Err(e) => Err(e),
        }
    }

    /// What [`Adam::new`] checks: the config's domain and its AMSGrad flag against `V`.
    const fn check(config: &AdamConfig) -> Result<(), Error> {
        require(config.validate().is_ok() && config.amsgrad == V::ON)
    }

    /// The configuration it was built with (its learning rate as [`Optimizer::set_lr`] left it).
    pub const fn config(&self) -> &AdamConfig {
        &self.config
    }
}

impl<G: Params, V: Slot<G>> Optimizer<G> for Adam<G, V> {
    fn step<L: Layer<Grads = G>>(&mut self, model: &mut L, grads: &G) {
        self.steps = self.steps.saturating_add(1);
        let s = AdamStep::new(&self.config, self.steps);
        for i in 0..G::TENSORS {
            update_with(
                &self.config,
                &s,
                model.tensor_mut(i),
                grads.tensor(i),
                self.exp_avg.tensor_mut(i),
                self.exp_avg_sq.tensor_mut(i),
                self.max_exp_avg_sq.slot(i),
            );
        }
    }
    fn steps(&self) -> u32 {
        self.steps
    }

    super::lr_from_config!();
}

impl<G: Params + Zeroed, V: Slot<G>> OptimizerState<G> for Adam<G, V> {
    const NAME: &'static str = "adam";
    const HYPER_PARAMETERS: &'static [&'static str] =
        &["lr", "beta1", "beta2", "eps", "weight_decay", "decoupled_weight_decay", "amsgrad"];
    /// The first and second moments, then their running maximum with AMSGrad (PyTorch's
    /// `exp_avg`, `exp_avg_sq`, `max_exp_avg_sq`).
    const BUFFERS: usize = 2 + V::ON as usize;

    fn hyper_parameters(&self) -> HyperParameters {
        let c = &self.config;
        HyperParameters::new(
            Self::HYPER_PARAMETERS,
            &[
                c.lr,
                c.betas.0,
                c.betas.1,
                c.eps,
                c.weight_decay,
                flag(c.decoupled_weight_decay),
                flag(c.amsgrad),
            ],
        )
    }

    fn buffer(&self, k: usize) -> Option<&G> {
        [Some(&self.exp_avg), Some(&self.exp_avg_sq), self.max_exp_avg_sq.get()]
            .into_iter()
            .flatten()
            .nth(k)
    }

    fn buffer_mut(&mut self, k: usize) -> Option<&mut G> {
        [Some(&mut self.exp_avg), Some(&mut self.exp_avg_sq), self.max_exp_avg_sq.get_mut()]
            .into_iter()
            .flatten()
            .nth(k)
    }

    fn restore(&mut self, values: &[f32], steps: u32) -> Result<(), Error> {
        let [lr, beta1, beta2, eps, weight_decay, decoupled, amsgrad] = exactly(values)?;
        let config = AdamConfig {
            lr,
            betas: (beta1, beta2),
            eps,
            weight_decay,
            decoupled_weight_decay: as_flag(decoupled)?,
            amsgrad: as_flag(amsgrad)?,
        };
        Self::check(&config)?;
        self.config = config;
        self.steps = steps;
        Ok(())
    }
}
