//! Runtime dispatch of the blocked dense and convolution kernels ([`super::blocked`],
//! [`super::blocked_conv`]) and the vectorised
//! optimiser updates ([`super::fast_optim`]): on x86-64 CPUs with
//! AVX the same kernels are compiled for AVX (8-lane vectors) and called after checking the
//! CPU; elsewhere, and as the fallback, the portable build (SSE2 on x86-64). Both compute the
//! same bits: the kernels' order of operations is fixed in the source, and the compiler
//! neither fuses a multiply and an add nor reorders a sum at any target feature.
//!
//! The host's only `unsafe`: calling a function compiled for AVX, which is sound only on a
//! CPU that has AVX; each call is behind `is_x86_feature_detected!("avx")`.
#![allow(unsafe_code)]

use super::blocked_conv::{self, Plan};
use super::{blocked, fast_optim};
use crate::bench;
use neurite::kernel::conv::Conv2dGeom;
use neurite::optim::adam::AdamStep;
use neurite::optim::AdamConfig;

/// Whether the AVX build runs on this CPU.
pub fn avx() -> bool {
    #[cfg(target_arch = "x86_64")]
    {
        std::is_x86_feature_detected!("avx")
    }
    #[cfg(not(target_arch = "x86_64"))]
    {
        false
    }
}

/// Defines a dispatching function for each blocked kernel: the AVX build when the CPU has
/// it, the portable one otherwise.
macro_rules! dispatch {
    ($(fn $alias:ident = $module:ident::$name:ident($($arg:ident: $ty:ty),*) $(-> $ret:ty)?;)+) => {
        #[cfg(target_arch = "x86_64")]
        mod avx_build {
            use super::*;
            $(
                #[allow(clippy::too_many_arguments)]
                #[target_feature(enable = "avx")]
                pub fn $alias($($arg: $ty),*) $(-> $ret)? {
                    $module::$name($($arg),*)
                }
            )+
        }

        $(
            #[allow(clippy::too_many_arguments)]
            #[doc = concat!("[`", stringify!($module), "::", stringify!($name), "`], built for AVX when the CPU has it.")]
            pub fn $alias($($arg: $ty),*) $(-> $ret)? {
                #[cfg(target_arch = "x86_64")]
                if avx() {
                    // SAFETY: the CPU has AVX (checked just above), the only requirement of
                    // a function compiled with `target_feature(enable = "avx")`.
                    return unsafe { avx_build::$alias($($arg),*) };
                }
                $module::$name($($arg),*)
            }
        )+
    };
}

dispatch! {
    fn forward = blocked::forward(packed: &[f32], b: &[f32], x: &[f32], y: &mut [f32], ins: usize, rows: usize);
    fn forward_unpacked = blocked::forward_unpacked(w: &[f32], b: &[f32], x: &[f32], y: &mut [f32], ins: usize, rows: usize);
    fn backward_params_of = blocked::backward_params_of(x: &[f32], dy: &[f32], outs_total: usize, first: usize, gw: &mut [f32], gb: &mut [f32], ins: usize, rows: usize);
    fn backward_params = blocked::backward_params(x: &[f32], dy: &[f32], gw: &mut [f32], gb: &mut [f32], ins: usize, rows: usize);
    fn backward_input = blocked::backward_input(w: &[f32], dy: &[f32], dx: &mut [f32], ins: usize, outs: usize, rows: usize);
    fn forward_conv = blocked_conv::forward(g: &Conv2dGeom, plan: &Plan, w: &[f32], b: Option<&[f32]>, x: &[f32], y: &mut [f32], batch: usize, packed: &mut Vec<f32>);
    fn backward_params_conv = blocked_conv::backward_params(g: &Conv2dGeom, plan: &Plan, x: &[f32], dy: &[f32], gw: &mut [f32], gb: Option<&mut [f32]>, batch: usize, scratch: &mut Vec<f32>);
    fn backward_input_conv = blocked_conv::backward_input(g: &Conv2dGeom, plan: &Plan, w: &[f32], dy: &[f32], dx: &mut [f32], batch: usize, packed: &mut Vec<f32>);
    fn peak_loop = bench::peak_loop(rounds: usize, m: f32, a: f32) -> f32;
    fn adam = fast_optim::adam(cfg: &AdamConfig, s: &AdamStep, p: &mut [f32], g: &[f32], m: &mut [f32], v: &mut [f32], v_max: Option<&mut [f32]>);
}
