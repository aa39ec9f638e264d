//! Runtime dispatch of the blocked dense kernels ([`super::blocked`]) and the vectorised
//! optimiser updates ([`super::fast_optim`]): on x86-64 CPUs with
//! AVX the same kernels are compiled for AVX (8-lane vectors) and called after checking the
//! CPU; elsewhere, and as the fallback, the portable build (SSE2 on x86-64). Both compute the
//! same bits: the kernels' order of operations is fixed in the source, and the compiler
//! neither fuses a multiply and an add nor reorders a sum at any target feature.
//!
//! The host's only `unsafe`: calling a function compiled for AVX, which is sound only on a
//! CPU that has AVX; each call is behind `is_x86_feature_detected!("avx")`.
#![allow(unsafe_code)]

use super::{blocked, fast_optim};
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
    ($(fn $module:ident::$name:ident($($arg:ident: $ty:ty),*);)+) => {
        #[cfg(target_arch = "x86_64")]
        mod avx_build {
            use super::*;
            $(
                #[target_feature(enable = "avx")]
                pub fn $name($($arg: $ty),*) {
                    $module::$name($($arg),*)
                }
            )+
        }

        $(
            #[doc = concat!("[`", stringify!($module), "::", stringify!($name), "`], built for AVX when the CPU has it.")]
            pub fn $name($($arg: $ty),*) {
                #[cfg(target_arch = "x86_64")]
                if avx() {
                    // SAFETY: the CPU has AVX (checked just above), the only requirement of
                    // a function compiled with `target_feature(enable = "avx")`.
                    return unsafe { avx_build::$name($($arg),*) };
                }
                $module::$name($($arg),*)
            }
        )+
    };
}

dispatch! {
    fn blocked::forward(packed: &[f32], b: &[f32], x: &[f32], y: &mut [f32], ins: usize, rows: usize);
    fn blocked::forward_unpacked(w: &[f32], b: &[f32], x: &[f32], y: &mut [f32], ins: usize, rows: usize);
    fn blocked::backward_params(x: &[f32], dy: &[f32], gw: &mut [f32], gb: &mut [f32], ins: usize, rows: usize);
    fn blocked::backward_input(w: &[f32], dy: &[f32], dx: &mut [f32], ins: usize, outs: usize, rows: usize);
    fn fast_optim::adam(cfg: &AdamConfig, s: &AdamStep, p: &mut [f32], g: &[f32], m: &mut [f32], v: &mut [f32], v_max: Option<&mut [f32]>);
}
