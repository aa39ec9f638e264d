//! # neurite-host
//!
//! The desktop half of neurite: datasets (CSV), runtime-shaped models built from a layer
//! spec string over the core's kernels ([`dynamic`]), metrics, and the `neurite` binary.
//!
//! A model built here and the same model built from the core's const-generic layers compute
//! bit-identical outputs and gradients: both call `neurite::kernel`.

pub mod autoencoder;
pub mod bench;
pub mod cli;
pub mod data;
pub mod dynamic;
pub mod export;
pub mod fit;
pub mod fold;
pub mod footprint;
pub mod gan;
#[cfg(feature = "gpu")]
pub mod gpu;
pub mod graph;
pub mod int8_export;
pub mod int8_model;
pub mod metrics;
pub mod mixture;
pub mod model_io;
pub mod placement;
pub mod plot;
pub mod predictor;
pub mod qat;
pub mod quantize;
pub mod shapes;
pub mod tflite;
pub mod unet;
pub mod vae;

pub use dynamic::{DynLoss, DynModel, DynOptimizer, DynTrainer};
