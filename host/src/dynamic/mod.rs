//! Runtime-shaped models over the core's kernels, for the CLI and the golden tests.
//!
//! The const-generic front end (`neurite::layer`) is for firmware and embedded users; this
//! one builds the same layers from a spec string (`dense(64),relu,dense(10)`) or a JSON case.
//! Every numeric step calls the same `neurite::kernel`, loss and optimiser functions in the
//! same order, so both front ends give bit-identical results.

mod loss;
mod model;
mod optim;
mod spec;
mod train;

pub use loss::DynLoss;
pub use model::{DynLayer, DynModel, DynTrace};
pub use optim::{clip_grad_norm, DynOptimizer, DynOptimizerState};
pub use spec::{parse_spec, LayerSpec, SpecError};
pub use train::DynTrainer;
