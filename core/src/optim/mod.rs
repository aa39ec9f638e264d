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
//! Every typed optimiser is built the same way, from its config, by a `const fn` that checks
//! it: `Sgd::new(SgdConfig)`, `Adagrad::new(AdagradConfig)`, `RmsProp::new(RmsPropConfig)`,
//! `Adam::new(AdamConfig)`, each returning `Err(Error::InvalidHyperParameter)` for a
//! hyper-parameter outside its domain (the config's `validate`) or a config that disagrees
//! with the state slots of the type (momentum without a momentum slot, a slot without
//! momentum, ...). The slots come from the type, so name it (or use the aliases
//! [`SgdMomentum`], [`RmsPropMomentum`], [`RmsPropCentered`], [`AmsGrad`]):
//!
//! ```
//! use neurite::prelude::*;
//! type G = <Dense<2, 1> as Layer>::Grads;
//! let plain = Sgd::<G>::new(SgdConfig::new(0.1))?;
//! let with_momentum = SgdConfig { momentum: 0.9, ..SgdConfig::new(0.1) };
//! let momentum = SgdMomentum::<G>::new(with_momentum)?;
//! // momentum needs the buffer in the type: a mismatch is an error, not a silent no-op
//! assert!(Sgd::<G>::new(with_momentum).is_err());
//! assert!(Adam::<G>::new(AdamConfig::adam(-1.0)).is_err());
//! # let _ = (plain, momentum);
//! # Ok::<(), Error>(())
//! ```
//!
//! In a `static` or `const`, [`valid!`](valid) turns the check into a compile error. Once
//! built, `step` cannot fail.

pub mod adagrad;
pub mod adam;
pub mod rmsprop;
pub mod sgd;
pub mod state;

pub use adagrad::{Adagrad, AdagradConfig};
pub use adam::{Adam, AdamConfig, AmsGrad};
pub use rmsprop::{RmsProp, RmsPropCentered, RmsPropConfig, RmsPropMomentum};
pub use sgd::{Sgd, SgdConfig, SgdMomentum};
pub use state::{HyperParameters, OptimizerState};

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
    /// The learning rate.
    fn lr(&self) -> f32;
    /// Sets the learning rate (a schedule's change, as PyTorch's schedulers set
    /// `param_group["lr"]`), checked as the constructor checks it: `Err(InvalidHyperParameter)` and
    /// nothing changed unless it is positive and finite. The rest of the configuration is
    /// fixed at construction (`config()` reads it).
    fn set_lr(&mut self, lr: f32) -> Result<(), crate::error::Error>;
}

/// The [`Optimizer::lr`] and [`Optimizer::set_lr`] of an optimiser with a `config` field
/// whose type has `lr` and `validate`.
macro_rules! lr_from_config {
    () => {
        fn lr(&self) -> f32 {
            self.config.lr
        }

        fn set_lr(&mut self, lr: f32) -> Result<(), crate::error::Error> {
            let mut config = self.config;
            config.lr = lr;
            config.validate()?;
            self.config = config;
            Ok(())
        }
    };
}
use lr_from_config;

/// Optional optimiser state for gradient type `G`, present or absent in the type.
pub trait Slot<G>: Zeroed {
    /// `true` for [`On`]: the constructors require it to match the config's option
    /// (momentum, centring, AMSGrad).
    const ON: bool;
    /// State tensor `i`, or `None` when the slot is [`Off`].
    fn slot(&mut self, i: usize) -> Option<&mut [f32]>;
    /// The whole state, or `None` when the slot is [`Off`].
    fn get(&self) -> Option<&G>;
    /// The whole state, mutable, or `None` when the slot is [`Off`].
    fn get_mut(&mut self) -> Option<&mut G>;
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
impl<G> Slot<G> for Off {
    const ON: bool = false;
    fn slot(&mut self, _: usize) -> Option<&mut [f32]> {
        None
    }
    fn get(&self) -> Option<&G> {
        None
    }
    fn get_mut(&mut self) -> Option<&mut G> {
        None
    }
}
impl<G: Zeroed> Zeroed for On<G> {
    const ZEROED: Self = Self(G::ZEROED);
}
impl<G: Params + Zeroed> Slot<G> for On<G> {
    const ON: bool = true;
    fn slot(&mut self, i: usize) -> Option<&mut [f32]> {
        Some(self.0.tensor_mut(i))
    }
    fn get(&self) -> Option<&G> {
        Some(&self.0)
    }
    fn get_mut(&mut self) -> Option<&mut G> {
        Some(&mut self.0)
    }
}

/// The optimiser of a checked constructor, for `static` and `const` initialisers: there a
/// config that is out of its domain or disagrees with the state types is a **compile error**
/// (the constant evaluation panics), so a firmware's optimisers are checked at build time
/// and carry no `Result`. `valid!(expr)` is `match expr { Ok(o) => o, Err(_) => panic!(..) }`.
///
/// It is a macro, not a `const fn`: a generic `const fn` cannot take a `Result<T, _>` apart
/// on stable Rust (the compiler cannot prove that the `Err` path drops no `T`), while in an
/// initialiser `T` is a concrete optimiser type with nothing to drop.
///
/// ```
/// use neurite::prelude::*;
/// use neurite::optim::valid;
/// type G = <Dense<4, 2> as Layer>::Grads;
/// static OPT: SgdMomentum<G> =
///     valid!(SgdMomentum::new(SgdConfig { momentum: 0.9, ..SgdConfig::new(0.01) }));
/// assert_eq!(OPT.config().momentum, 0.9);
/// ```
///
/// A momentum of 0.9 without the momentum slot in the type does not compile:
///
/// ```compile_fail
/// use neurite::prelude::*;
/// use neurite::optim::valid;
/// type G = <Dense<4, 2> as Layer>::Grads;
/// static OPT: Sgd<G> = valid!(Sgd::new(SgdConfig { momentum: 0.9, ..SgdConfig::new(0.01) }));
/// ```
///
/// # Panics
///
/// When the result is an `Err`. Do not use it at run time, where the constructor's `Result`
/// should be handled (with `?`, or by falling back to another config): only in a `const` or
/// `static` initialiser is the panic turned into a compile error.
#[doc(inline)]
pub use crate::__optim_valid as valid;

/// See [`optim::valid`](crate::optim::valid).
#[doc(hidden)]
#[macro_export]
macro_rules! __optim_valid {
    ($built:expr $(,)?) => {
        match $built {
            ::core::result::Result::Ok(optimizer) => optimizer,
            ::core::result::Result::Err(_) => ::core::panic!(
                "invalid optimiser config: a hyper-parameter is outside its domain, or the \
                 config disagrees with the state slots of the type (momentum > 0, `centered` \
                 and `amsgrad` need `On<G>`; without them the slot must be `Off`)"
            ),
        }
    };
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
pub(crate) const fn require(ok: bool) -> Result<(), crate::Error> {
    if ok {
        Ok(())
    } else {
        Err(crate::Error::InvalidHyperParameter)
    }
}

/// `true` when `x` is a finite number `>= 0`.
pub(crate) const fn non_negative(x: f32) -> bool {
    x.is_finite() && x >= 0.0
}
