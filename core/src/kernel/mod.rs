//! Non-generic slice kernels: all the core's numerics live here.
//!
//! Both front ends (the const-generic layers of this crate and the host's runtime-shaped
//! models) call these functions, so they compute bit-identical results. Every reduction sums
//! in one fixed order (index 0 upwards, one accumulator, no fused multiply-add), which makes
//! results identical on x86-64 and Cortex-M.
//!
//! Slices of mismatched lengths never panic (`tests/tests/kernel_lengths.rs` calls every
//! public kernel with short and long slices); the result is then unspecified (most loops run
//! over the common length, but e.g. softmax normalises over all of `y`).

pub mod attention;
pub mod conv;
pub mod dense;
pub mod elementwise;
pub mod embedding;
pub mod graph;
pub mod int8;
pub mod int8_packed;
pub mod norm;
pub mod pool;
pub mod recurrent;
pub mod reduce;
pub mod softmax;
