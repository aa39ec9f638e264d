//! Optimisers with `torch.optim`'s update rules, and gradient clipping.
//!
//! Each optimiser is two layers:
//! - a slice kernel (`sgd::update`, `adam::update`, ...) that updates one tensor given its
//!   gradient and state slices; the host's runtime-shaped models call the same kernels;
//! - a typed optimiser (`Sgd<G>`, `Adam<G>`, ...) whose state is made of values of the
//!   model's gradient type `G`, so its size is `size_of` a compile-time type. Options that
//!   need extra state (momentum, centring, AMSGrad) change the type ([`On`] instead of [`Off`]),
//!   so a plain optimiser carries no unused buffers.
//!
//! `step` cannot fail; hyper-parameters are checked once by `validate`.

pub mod adagrad;
pub mod adam;
pub mod rmsprop;
pub mod sgd;

pub use adagrad::{Adagrad, AdagradConfig};
pub use adam::{Adam, AdamConfig};
pub use rmsprop::{RmsProp, RmsPropConfig};
pub use sgd::{Sgd, SgdConfig};

use crate::layer::Layer;
use crate::math;
use crate::params::{Params, Zeroed};

/// Updates a model's parameters from its accumulated gradients.
pub trait Optimizer<G: Params> {
    /// One update of every parameter tensor of `model` with `grads` (of the model's own
    /// gradient type: an optimiser built for another model does not compile).
    fn step<M: Layer<Grads = G>>(&mut self, model: &mut M, grads: &G);
    /// Steps taken so far.
    fn steps(&self) -> u32;
}

/// Optional optimiser state, present or absent in the type.
pub trait Slot: Zeroed {
    /// State tensor `i`, or `None` when the slot is [`Off`].
    fn slot(&mut self, i: usize) -> Option<&mut [f32]>;
}

/// An absent state slot: zero bytes.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Off;

/// A present state slot holding one value of the gradient type.
#[derive(Clone, Debug, PartialEq)]
pub struct On<G>(pub G);

impl Zeroed for Off {
    const ZEROED: Self = Self;
}
impl Slot for Off {
    fn slot(&mut self, _: usize) -> Option<&mut [f32]> {
        None
    }
}
impl<G: Zeroed> Zeroed for On<G> {
    const ZEROED: Self = Self(G::ZEROED);
}
impl<G: Params + Zeroed> Slot for On<G> {
    fn slot(&mut self, i: usize) -> Option<&mut [f32]> {
        Some(self.0.tensor_mut(i))
    }
}

/// Euclidean norm of one tensor, summed in index order.
pub fn tensor_norm(g: &[f32]) -> f32 {
    math::sqrt(crate::kernel::reduce::dot(g, g))
}

/// `torch.nn.utils.clip_grad_norm_` factor: `min(1, max_norm / (total_norm + 1e-6))`.
pub fn clip_factor(total_norm: f32, max_norm: f32) -> f32 {
    let coef = max_norm / (total_norm + 1e-6);
    if coef < 1.0 {
        coef
    } else {
        1.0
    }
}

/// The norm of the per-tensor norms, as `clip_grad_norm_` computes it.
pub fn global_norm<'a>(tensors: impl IntoIterator<Item = &'a [f32]>) -> f32 {
    let mut sq = 0.0;
    for t in tensors {
        let n = tensor_norm(t);
        sq += n * n;
    }
    math::sqrt(sq)
}

/// Gradient-norm clipping: the total norm is the norm of the per-tensor norms; every
/// gradient is scaled by [`clip_factor`]. Returns the total norm before clipping.
pub fn clip_grad_norm<G: Params>(grads: &mut G, max_norm: f32) -> f32 {
    let total = global_norm((0..G::TENSORS).map(|i| grads.tensor(i)));
    let f = clip_factor(total, max_norm);
    if f < 1.0 {
        for i in 0..G::TENSORS {
            crate::kernel::reduce::scale(grads.tensor_mut(i), f);
        }
    }
    total
}

/// L1 regularisation: adds `lambda * sign(p)` to each gradient (the subgradient of
/// `lambda * sum |p|`, 0 at 0).
pub fn add_l1(g: &mut [f32], p: &[f32], lambda: f32) {
    for (gi, &pi) in g.iter_mut().zip(p) {
        *gi += lambda * crate::loss::sign_of(pi);
    }
}

/// Gradient with L2 weight decay, `g + wd * p`, as `torch.optim` adds it.
#[inline]
pub(crate) fn decayed(g: f32, p: f32, weight_decay: f32) -> f32 {
    if weight_decay != 0.0 {
        g + weight_decay * p
    } else {
        g
    }
}

/// `Ok` when every domain condition holds, else `Err(InvalidHyperParameter)`.
pub(crate) fn require(ok: bool) -> Result<(), crate::Error> {
    if ok {
        Ok(())
    } else {
        Err(crate::Error::InvalidHyperParameter)
    }
}

/// `true` when `x` is a finite number `>= 0`.
pub(crate) fn non_negative(x: f32) -> bool {
    x.is_finite() && x >= 0.0
}
