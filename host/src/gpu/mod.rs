//! GPU offload of desktop training (the `gpu` feature): batched forward, loss, backward and
//! optimiser steps as WGSL compute shaders through wgpu, on a Vulkan adapter (a real GPU,
//! or lavapipe on the CPU in tests and CI).
//!
//! - [`Gpu`] opens the adapter and compiles the kernels (`shaders/`: a tiled matrix multiply,
//!   bias, activations, im2col/col2im, pooling, losses, reductions, optimisers).
//! - [`GpuTrainer`] lowers a [`crate::dynamic::DynModel`] to those kernels and trains it:
//!   tensors and optimiser state stay on the device, each batch uploads its rows and the
//!   epoch's losses come back once per epoch.
//!
//! The CPU path is the reference: the GPU sums each output in the same index order, but
//! its compiler may fuse multiply-adds and its transcendental functions are not libm's,
//! so results agree within a tolerance (stated in `tests/tests/gpu.rs`), not in bits
//! (DESIGN.md's numerics contract). `docs/GPU.md` describes the design.

pub mod bench;
mod context;
mod kernels;
mod layers;
mod trainer;

pub use context::{Gpu, GpuUnavailable};
pub use layers::GPU_LAYERS;
pub use trainer::{BatchGradients, GpuTrainer};
