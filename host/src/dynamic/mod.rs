//! Runtime-shaped models over the core's kernels, for the CLI and the golden tests.
//!
//! The const-generic front end (`neurite::layer`) is for firmware and embedded users; this
//! one builds the same layers at run time from a spec string (`conv2d(8,3),relu,flatten,
//! dense(10)`), a golden JSON case or a model file, all through one [`registry`]. A model
//! runs a whole minibatch at a time ([`DynModel::forward_train`], [`DynModel::backward`])
//! through reused buffers and one [`backend::Backend`] seam; every numeric step calls the
//! same `neurite::kernel`, loss and optimiser functions in the same order as the core's
//! per-sample path, so both front ends give bit-identical results.

pub mod attrs;
pub mod backend;
pub mod blocked;
pub mod blocked_conv;
pub mod fast_optim;
pub mod layers;
mod loss;
mod model;
pub mod op;
mod optim;
pub mod registry;
pub mod simd;
mod spec;
pub mod threads;
pub mod train;

pub use attrs::{Attr, Attrs};
pub use loss::DynLoss;
pub use model::{DynModel, Workspace};
pub use op::{Ctx, Op, Saved, Tensor};
pub use optim::{clip_grad_norm, DynOptimizer, DynOptimizerState};
pub use registry::{lookup, spec_string, LayerKind, LayerNode, REGISTRY};
pub use spec::{layer_names, parse_spec, SpecError, MAX_NESTING};
pub use train::DynTrainer;
