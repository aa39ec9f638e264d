//! # neurite
//!
//! A `no_std`, allocation-free neural-network kernel for microcontrollers: const-generic
//! layers, activations, losses, initialisers and optimisers, verified against PyTorch (the
//! golden cases in `tests/golden/`, run by `tests/tests/golden.rs`).
//!
//! ## Layering
//!
//! ```text
//! math (libm seam) -> kernel (slices, fixed summation order) -> layer (const generics)
//!   -> Seq![...] (nested pairs) -> loss -> train (sample-by-sample) -> optim
//!                                        -> batch_train (minibatch of const size B)
//! ```
//!
//! ## Memory model
//!
//! The caller owns every buffer. A model is a value whose size is `size_of::<Model>()`;
//! its gradients (`Model::Grads`), optimiser state (`Adam<Model::Grads>`) and activation
//! trace (`Model::Trace`) are values too, so [`footprint`] reports every byte at compile
//! time. Frozen layers are only borrowed ([`train::FineTune`]) and stay in flash; a layer
//! that is only ever run implements [`layer::Infer`] alone (no backward, no gradient type),
//! a trainable one [`layer::Layer`] too.
//! Inference through `Infer::forward` keeps a chain's intermediate outputs on the stack (up
//! to their sum: an optimised build may reuse some of that space); `Infer::forward_reusing`
//! ping-pongs them between two caller buffers of `Infer::SCRATCH_WIDTH` values
//! ([`footprint::inference_reusing`]), and `Infer::forward_buffered` between two such arrays
//! on the stack, bit for bit the same.
//! Training is per sample ([`train::Trainer`]: RAM independent of the batch size) or, for
//! batch norm's train-mode statistics, over a minibatch of compile-time size `B`
//! ([`batch_train::BatchTrainer`], [`layer::BatchLayer`]; `B` samples of every buffer,
//! [`footprint::batch_training`]).
//!
//! ```
//! use neurite::prelude::*;
//! type Model = neurite::Seq![Dense<4, 8>, Tanh<8>, Dense<8, 3>];
//! let mut model = Model::DEFAULT;
//! model.init(&LayerInit::XAVIER, &mut Rng::new(1));
//! let mut opt = Adam::<<Model as Layer>::Grads>::new(AdamConfig::adam(0.01)).unwrap();
//! let mut trainer = Trainer::<Model>::new();
//! trainer.begin();
//! trainer.accumulate(&model, &CrossEntropy::default(), &[0.1, 0.2, 0.3, 0.4], Target::Class(2)).unwrap();
//! let (loss, _) = trainer.finish(&CrossEntropy::default(), Reduction::Mean).unwrap();
//! opt.step(&mut model, &trainer.grads);
//! assert!(loss > 0.0);
//! const F: neurite::footprint::Footprint = neurite::footprint::training::<Model, Adam<<Model as Layer>::Grads>>();
//! assert_eq!(F.grads, F.params);
//! ```
//!
//! ## Panic policy
//!
//! Forward, backward, losses and optimiser steps cannot fail: shapes are types, and the
//! slice kernels loop over common lengths. Errors ([`Error`]) exist only at the edges:
//! loading values, checking samples and targets, building an optimiser from its config
//! ([`optim::valid!`](optim::valid) makes a bad config in a `static` a compile error).
//! No `unsafe`, no allocation.
//!
//! ## Features
//!
//! - `fast-math`: micromath approximations in [`math`] (documented error; breaks bit parity
//!   with a libm build).
//! - `defmt`: `defmt::Format` for errors and configs.
//!
//! ## MSRV
//!
//! Rust 1.87 (stable), `rust-version` in the workspace manifest: declared, not checked (CI
//! builds with the current stable toolchain, `rust-toolchain.toml`, not with 1.87 itself).
#![cfg_attr(not(test), no_std)]
#![cfg_attr(not(feature = "cortex-m-asm"), forbid(unsafe_code))]
// with `cortex-m-asm`, one module (`cortex_m_asm.rs`) allows it for its assembly
#![cfg_attr(feature = "cortex-m-asm", deny(unsafe_code))]
#![deny(missing_docs)]

pub mod activation;
pub mod batch_train;
#[cfg(all(feature = "cortex-m-asm", target_arch = "arm", target_abi = "eabihf"))]
mod cortex_m_asm;
pub mod error;
pub mod footprint;
pub mod init;
pub mod kernel;
pub mod layer;
pub mod loss;
pub mod math;
pub mod model_file;
pub mod optim;
pub mod params;
pub mod perceptron;
pub mod quant;
pub mod rl;
pub mod rng;
pub mod train;

pub use error::Error;

/// The names most programs need.
pub mod prelude {
    pub use crate::activation::{Activation, ActivationKind};
    pub use crate::batch_train::BatchTrainer;
    pub use crate::error::Error;
    pub use crate::init::{FanMode, Init, LayerInit, Nonlinearity};
    pub use crate::layer::{
        Act, ActOn, AvgPool1d, AvgPool2d, BatchLayer, BatchNorm1d, BatchNorm2d, Concat, Conv1d,
        Conv2d, ConvTranspose2d, Ctx, Dense, Dropout, Elu, FineTune, FineTuneAfter, Flatten,
        Flatten1d, Gelu, GeluTanh, GlobalAvgPool, Identity, Infer, Layer, LayerNorm, LeakyRelu,
        LogSoftmax, MaxPool1d, MaxPool2d, PerSample, Prelu, Relu, Residual, Selu, Sigmoid, Silu,
        Softmax, Softplus, Step, Swish, Tanh,
    };
    pub use crate::loss::{
        Barron, Bce, BceWithLogits, CrossEntropy, Dice, DiceBceWithLogits, Focal, Huber, KlDiv,
        Loss, Mae, Mse, Nll, Quantile, Reduction, Target, Tukey,
    };
    pub use crate::optim::{
        Adagrad, AdagradConfig, Adam, AdamConfig, AmsGrad, Optimizer, OptimizerState, RmsProp,
        RmsPropCentered, RmsPropConfig, RmsPropMomentum, Sgd, SgdConfig, SgdMomentum,
    };
    pub use crate::params::{Params, Vector, Zeroed};
    pub use crate::perceptron::{Neuron, Perceptron};
    pub use crate::rng::Rng;
    pub use crate::train::Trainer;
}
