//! Adam (bias-corrected, AMSGrad option) and AdamW: `torch.optim.Adam` / `AdamW`.

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
        }
    }

    /// Checks the domain: `lr > 0`, betas in [0, 1), eps and weight decay `>= 0`.
    pub fn validate(&self) -> Result<(), Error> {
        require(
            self.lr > 0.0
                && self.lr.is_finite()
                && (0.0..1.0).contains(&self.betas.0)
                && (0.0..1.0).contains(&self.betas.1)
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
pub fn update_with(
    cfg: &AdamConfig,
    s: &AdamStep,
    p: &mut [f32],
    g: &[f32],
    m: &mut [f32],
    v: &mut [f32],
    mut v_max: Option<&mut [f32]>,
) {
    let (b1, b2) = cfg.betas;
    let AdamStep { step_size, bc2_sqrt, shrink } = *s;
    for (i, (((pi, &gi), mi), vi)) in p.iter_mut().zip(g).zip(m).zip(v).enumerate() {
        let d = if cfg.decoupled_weight_decay {
            *pi *= shrink;
            gi
        } else {
            decayed(gi, *pi, cfg.weight_decay)
        };
        *mi += (1.0 - b1) * (d - *mi);
        *vi = *vi * b2 + (1.0 - b2) * d * d;
        let second = match v_max.as_deref_mut().and_then(|x| x.get_mut(i)) {
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
/// AMSGrad (`V = On<G>`), the running maximum of the second moment.
#[derive(Clone, Debug)]
pub struct Adam<G, V = Off> {
    /// Hyper-parameters.
    pub config: AdamConfig,
    exp_avg: G,
    exp_avg_sq: G,
    max_exp_avg_sq: V,
    steps: u32,
}

impl<G: Params + Zeroed> Adam<G, Off> {
    /// Adam or AdamW with the given hyper-parameters (usable in a `static`).
    pub const fn new(config: AdamConfig) -> Self {
        Self { config, exp_avg: G::ZEROED, exp_avg_sq: G::ZEROED, max_exp_avg_sq: Off, steps: 0 }
    }

    /// The AMSGrad variant (one more `G` of state).
    pub fn amsgrad(self) -> Adam<G, On<G>> {
        Adam {
            config: self.config,
            exp_avg: self.exp_avg,
            exp_avg_sq: self.exp_avg_sq,
            max_exp_avg_sq: On(G::ZEROED),
            steps: self.steps,
        }
    }
}

impl<G: Params, V: Slot> Optimizer<G> for Adam<G, V> {
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
}
