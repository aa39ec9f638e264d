//! An optimiser's state (its buffers, step count and hyper-parameters), to save with the
//! model and restore after a reboot, as PyTorch's `optimizer.state_dict()` and
//! `load_state_dict`: training resumes bit for bit where it stopped.
//!
//! The model file (version 3, [`crate::model_file::save_typed_with_optimizer`]) keeps it
//! after the parameters; [`crate::model_file::v2::ModelFileV2::load_optimizer_into`] puts it
//! back into an optimiser of the same type.
//!
//! ```
//! use neurite::prelude::*;
//! type Model = neurite::Seq![Dense<2, 3>, Tanh<3>, Dense<3, 1>];
//! type G = <Model as Layer>::Grads;
//! let mut opt = Adam::<G>::new(AdamConfig::adam(0.01))?;
//! assert_eq!(<Adam<G> as OptimizerState<G>>::NAME, "adam");
//! // the first moment, then the second (an `AmsGrad` has a third: their running maximum)
//! assert_eq!(<Adam<G> as OptimizerState<G>>::BUFFERS, 2);
//! assert_eq!(opt.hyper_parameters().get("beta2"), Some(0.999));
//! opt.restore(&[0.02, 0.9, 0.999, 1e-8, 0.0, 0.0, 0.0], 7)?;
//! assert_eq!((opt.lr(), opt.steps()), (0.02, 7));
//! // AMSGrad's flag needs the third buffer in the type: refused, nothing changed
//! assert!(opt.restore(&[0.02, 0.9, 0.999, 1e-8, 0.0, 0.0, 1.0], 9).is_err());
//! assert_eq!(opt.steps(), 7);
//! # Ok::<(), Error>(())
//! ```

use super::Optimizer;
use crate::error::Error;
use crate::params::Params;

/// The most hyper-parameters an optimiser has (Adam's seven).
pub const MAX_HYPER_PARAMETERS: usize = 7;

/// An optimiser's hyper-parameters as named numbers (a flag is 0 or 1), in the order of
/// [`OptimizerState::HYPER_PARAMETERS`]: what the model file records, as PyTorch's
/// `state_dict()["param_groups"]`.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct HyperParameters {
    names: &'static [&'static str],
    values: [f32; MAX_HYPER_PARAMETERS],
}

impl HyperParameters {
    /// `values[i]` named `names[i]` (`names` has at most [`MAX_HYPER_PARAMETERS`] entries;
    /// more are cut).
    pub fn new(names: &'static [&'static str], values: &[f32]) -> Self {
        let names = &names[..names.len().min(MAX_HYPER_PARAMETERS)];
        let mut all = [0.0; MAX_HYPER_PARAMETERS];
        for (a, v) in all.iter_mut().zip(values) {
            *a = *v;
        }
        Self { names, values: all }
    }

    /// The values, in order.
    pub fn values(&self) -> &[f32] {
        &self.values[..self.names.len()]
    }

    /// `(name, value)` pairs, in order.
    pub fn iter(&self) -> impl Iterator<Item = (&'static str, f32)> + '_ {
        self.names.iter().copied().zip(self.values().iter().copied())
    }

    /// The value named `name`.
    pub fn get(&self, name: &str) -> Option<f32> {
        self.iter().find(|&(n, _)| n == name).map(|(_, v)| v)
    }
}

/// A flag as a hyper-parameter value.
pub(crate) const fn flag(on: bool) -> f32 {
    if on {
        1.0
    } else {
        0.0
    }
}

/// A hyper-parameter value as a flag: exactly 0 or 1, else `Err(InvalidHyperParameter)`.
pub(crate) fn as_flag(v: f32) -> Result<bool, Error> {
    match v {
        0.0 => Ok(false),
        1.0 => Ok(true),
        _ => Err(Error::InvalidHyperParameter),
    }
}

/// `values` as exactly `N` hyper-parameters, else `Err(LengthMismatch)`.
pub(crate) fn exactly<const N: usize>(values: &[f32]) -> Result<[f32; N], Error> {
    values.try_into().map_err(|_| Error::LengthMismatch { expected: N, found: values.len() })
}

/// A typed optimiser whose whole state can be read and restored: its state buffers (each a
/// value of the gradient type `G`), its step count and its hyper-parameters.
pub trait OptimizerState<G: Params>: Optimizer<G> {
    /// Its name in a model file: `sgd`, `adagrad`, `rmsprop` or `adam` (AdamW and AMSGrad
    /// are Adam with a flag set).
    const NAME: &'static str;
    /// Names of its hyper-parameters, in order (PyTorch's names; Adam's `betas` are `beta1`
    /// and `beta2`).
    const HYPER_PARAMETERS: &'static [&'static str];
    /// State buffers of this type (each one `G`): PyTorch's per-parameter state tensors in
    /// their order, only those the type holds (SGD's momentum buffer only with `On<G>`).
    const BUFFERS: usize;

    /// Its hyper-parameters (the learning rate as [`Optimizer::set_lr`] left it).
    fn hyper_parameters(&self) -> HyperParameters;

    /// State buffer `k` (`None` for `k >= BUFFERS`).
    fn buffer(&self, k: usize) -> Option<&G>;

    /// State buffer `k`, mutable.
    fn buffer_mut(&mut self, k: usize) -> Option<&mut G>;

    /// Replaces the hyper-parameters (in the order of [`Self::HYPER_PARAMETERS`]) and the step
    /// count, checked as the constructor checks a config: `Err(LengthMismatch)` for another
    /// number of values, `Err(InvalidHyperParameter)` for a value out of its domain, a flag
    /// not 0 or 1, or an option this type's buffers do not fit. Nothing changes on error.
    fn restore(&mut self, hyper_parameters: &[f32], steps: u32) -> Result<(), Error>;

    /// Every state tensor: buffer by buffer, each tensor by tensor (the parameters' order).
    fn state_tensors<'a>(&'a self) -> impl Iterator<Item = &'a [f32]>
    where
        G: 'a,
    {
        (0..Self::BUFFERS)
            .filter_map(|k| self.buffer(k))
            .flat_map(|g| (0..G::TENSORS).map(move |t| g.tensor(t)))
    }

    /// Scalars of state: `BUFFERS * G::LEN`.
    fn state_len(&self) -> usize {
        Self::BUFFERS * G::LEN
    }
}
