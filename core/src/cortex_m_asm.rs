//! Cortex-M assembly (feature `cortex-m-asm`, hard-float targets only), where the compiler's
//! code is slower and the instruction gives the same bits. The crate's only `unsafe`.
//!
//! - [`sqrt`]: `vsqrt.f32`, the FPU's IEEE square root, correctly rounded as libm's
//!   `sqrtf` (which on Arm is a software routine of about forty instructions).
//! - [`block_accumulate`]: the inner loop of [`crate::kernel::dense::forward_packed`] and
//!   [`crate::kernel::conv::conv2d_forward_packed`]: one
//!   `vldmia` loads an input's eight weights and eight `vmla.f32` accumulate them, two
//!   inputs per pass (one more `vldmia` for their two `x` values, and the loop's two), 22
//!   instructions per 16 multiply-accumulates. The compiler loads the weights one by one
//!   (it cannot allocate the eight consecutive registers a `vldmia` needs).
//! - [`scaled_blocks`]: [`crate::kernel::elementwise::add_scaled`] and `sub_scaled`
//!   (`y += a * x`, `y -= a * x`: weight gradients and SGD's step), eight elements per
//!   `vldmia` / `vldmia` / eight `vmla.f32` or `vmls.f32` / `vstmia`: 13 instructions per 8
//!   elements against about 6 per element from the compiler.
//!
//! The same bits as the portable code: `vmla.f32 Sd, Sn, Sm` is a multiply rounded to `f32`
//! and then an add rounded to `f32` (VFP's chained multiply-accumulate, not fused), which
//! is also the instruction the compiler emits for `a += w * x`; each sum starts from 0 and
//! adds `i = 0, 1, ...` in order. `firmware/src/bin/demo.rs` checks the bits against the
//! row-major layer in QEMU, `firmware/tests/on_target.rs` on odd and even shapes and the
//! square root against libm's on special and random values; the Adam parity run
//! (`firmware/src/bin/parity.rs`, square roots in every step) must hash as on the desktop.
#![allow(unsafe_code)]

use crate::kernel::dense::PACK;
use core::arch::asm;

/// [`crate::kernel::conv::conv2d_forward_packed`]'s taps of one output position for one block
/// of eight output channels, the sums kept in `s0`-`s7` across the whole walk: per tap one
/// `vldmia` of its input value, one of its eight weights and eight `vmla.f32`, then the row
/// and channel steps. `plan` is `TapWalk::plan`, made only for a walk that fits (every tap
/// inside `w` and `x`, non-empty counts, strides not shorter than what they skip).
pub(crate) fn conv_block_taps(
    acc: &mut [f32; PACK],
    w: &[f32],
    x: &[f32],
    walk: &crate::kernel::conv::TapWalk,
    plan: &mut crate::kernel::conv::Plan,
) {
    plan[6] = acc.as_mut_ptr() as usize;
    // SAFETY: `fits` checked that every tap's input `x[x_at + c * x_channel + r * x_row + t]`
    // and weights `w[w_at + c * w_channel + r * w_row + t * PACK ..][..PACK]` are in bounds
    // for c < channels, r < rows, t < run (all >= 1, so no loop counter wraps), and that the
    // skips are not negative; the loops read exactly those, advancing `x` and `w` tap by tap
    // and by the skips between rows and channels. `acc` (its address in `plan[6]`) is read at
    // the start and written at the end, `plan` only read. The registers used are declared
    // clobbered.
    unsafe {
        asm!(
            "ldr {tmp}, [{plan}, #24]",
            "vldmia {tmp}, {{s0-s7}}",
            "ldr {x_skip}, [{plan}, #8]",
            "ldr {w_skip}, [{plan}, #16]",
            "1:",
            "ldr {rows}, [{plan}, #4]",
            "2:",
            "ldr {taps}, [{plan}]",
            "3:",
            "vldmia {x}!, {{s16}}",
            "vldmia {w}!, {{s8-s15}}",
            "vmla.f32 s0, s8, s16",
            "vmla.f32 s1, s9, s16",
            "vmla.f32 s2, s10, s16",
            "vmla.f32 s3, s11, s16",
            "vmla.f32 s4, s12, s16",
            "vmla.f32 s5, s13, s16",
            "vmla.f32 s6, s14, s16",
            "vmla.f32 s7, s15, s16",
            "subs {taps}, {taps}, #1",
            "bne 3b",
            "add {x}, {x}, {x_skip}",
            "add {w}, {w}, {w_skip}",
            "subs {rows}, {rows}, #1",
            "bne 2b",
            "ldr {tmp}, [{plan}, #12]",
            "add {x}, {x}, {tmp}",
            "ldr {tmp}, [{plan}, #20]",
            "add {w}, {w}, {tmp}",
            "subs {channels}, {channels}, #1",
            "bne 1b",
            "ldr {tmp}, [{plan}, #24]",
            "vstmia {tmp}, {{s0-s7}}",
            plan = in(reg) plan.as_ptr(),
            x = inout(reg) x.as_ptr().wrapping_add(walk.x_at) => _,
            w = inout(reg) w.as_ptr().wrapping_add(walk.w_at) => _,
            channels = inout(reg) walk.channels => _,
            rows = out(reg) _,
            taps = out(reg) _,
            x_skip = out(reg) _,
            w_skip = out(reg) _,
            tmp = out(reg) _,
            out("s0") _,
            out("s1") _,
            out("s2") _,
            out("s3") _,
            out("s4") _,
            out("s5") _,
            out("s6") _,
            out("s7") _,
            out("s8") _,
            out("s9") _,
            out("s10") _,
            out("s11") _,
            out("s12") _,
            out("s13") _,
            out("s14") _,
            out("s15") _,
            out("s16") _,
            options(nostack),
        );
    }
}

/// `y[i] += a * x[i]` (`sub`: `-=`) for the whole blocks of 8 at the start of `y` and `x`
/// (the same length); returns how many elements it did (a multiple of 8). `vmla.f32` /
/// `vmls.f32` round the product to `f32` and then the sum or difference, as the portable
/// `*y += a * x` / `*y -= a * x` do.
#[inline]
pub(crate) fn scaled_blocks(y: &mut [f32], a: f32, x: &[f32], sub: bool) -> usize {
    let blocks = y.len().min(x.len()) / 8;
    if blocks == 0 {
        return 0;
    }
    macro_rules! blocks {
        ($op:literal) => {
            // SAFETY: the loop runs `blocks >= 1` times; each reads 8 values of `y` and 8 of
            // `x` and writes the 8 of `y` it read, advancing both pointers by 8: it touches
            // the first `8 * blocks <= min(y.len(), x.len())` values of each and nothing
            // else. The registers it uses are declared clobbered.
            unsafe {
                asm!(
                    "vmov s16, {a}",
                    "2:",
                    "vldmia {y}, {{s0-s7}}",
                    "vldmia {x}!, {{s8-s15}}",
                    concat!($op, " s0, s8, s16"),
                    concat!($op, " s1, s9, s16"),
                    concat!($op, " s2, s10, s16"),
                    concat!($op, " s3, s11, s16"),
                    concat!($op, " s4, s12, s16"),
                    concat!($op, " s5, s13, s16"),
                    concat!($op, " s6, s14, s16"),
                    concat!($op, " s7, s15, s16"),
                    "vstmia {y}!, {{s0-s7}}",
                    "subs {n}, {n}, #1",
                    "bne 2b",
                    a = in(reg) a.to_bits(),
                    y = inout(reg) y.as_mut_ptr() => _,
                    x = inout(reg) x.as_ptr() => _,
                    n = inout(reg) blocks => _,
                    out("s0") _,
                    out("s1") _,
                    out("s2") _,
                    out("s3") _,
                    out("s4") _,
                    out("s5") _,
                    out("s6") _,
                    out("s7") _,
                    out("s8") _,
                    out("s9") _,
                    out("s10") _,
                    out("s11") _,
                    out("s12") _,
                    out("s13") _,
                    out("s14") _,
                    out("s15") _,
                    out("s16") _,
                    options(nostack),
                );
            }
        };
    }
    if sub {
        blocks!("vmls.f32");
    } else {
        blocks!("vmla.f32");
    }
    8 * blocks
}

/// `sqrt(x)` by the FPU: IEEE 754 square root, correctly rounded (as libm's `sqrtf`).
#[inline]
pub(crate) fn sqrt(x: f32) -> f32 {
    let bits: u32;
    // SAFETY: moves `x`'s bits into `s0`, takes its square root there and moves the result
    // back; FPU and core registers only (`s0` declared clobbered), no memory, no stack.
    // (Rust gives a float operand an FPU register only with a target feature this target
    // does not name, hence the two moves.)
    unsafe {
        asm!(
            "vmov s0, {x}",
            "vsqrt.f32 s0, s0",
            "vmov {y}, s0",
            x = in(reg) x.to_bits(),
            y = lateout(reg) bits,
            out("s0") _,
            options(pure, nomem, nostack),
        );
    }
    f32::from_bits(bits)
}

/// `acc[j] += wb[i * PACK + j] * x[i]` for `i` ascending, each product rounded and then
/// each sum (from `acc`'s values: 0 for a dense layer's block, the running sums of a
/// convolution's earlier taps).
#[inline]
pub(crate) fn block_accumulate(acc: &mut [f32; PACK], wb: &[f32], x: &[f32]) {
    let n = x.len();
    if n == 0 || wb.len() < n * PACK {
        // short weights: the portable loop over what they hold
        for (wi, &xv) in wb.chunks_exact(PACK).zip(x) {
            for (a, &wj) in acc.iter_mut().zip(wi) {
                *a += wj * xv;
            }
        }
        return;
    }
    let (pairs, odd) = (n / 2, n % 2 == 1);
    let (mut w, mut xp) = (wb.as_ptr(), x.as_ptr());
    if pairs > 0 {
        // SAFETY: the loop runs `pairs >= 1` times and reads `2 * pairs * PACK <= n * PACK`
        // values from `wb` and `2 * pairs <= n` from `x` (both lengths checked above),
        // advancing `w` and `xp` past them; it reads and writes the `PACK` values of `acc`
        // and touches no other memory; the registers it uses are declared clobbered.
        unsafe {
            asm!(
                "vldmia {acc}, {{s0-s7}}",
                "2:",
                "vldmia {w}!, {{s8-s15}}",
                "vldmia {x}!, {{s16, s17}}",
                "vmla.f32 s0, s8, s16",
                "vmla.f32 s1, s9, s16",
                "vmla.f32 s2, s10, s16",
                "vmla.f32 s3, s11, s16",
                "vmla.f32 s4, s12, s16",
                "vmla.f32 s5, s13, s16",
                "vmla.f32 s6, s14, s16",
                "vmla.f32 s7, s15, s16",
                "vldmia {w}!, {{s8-s15}}",
                "vmla.f32 s0, s8, s17",
                "vmla.f32 s1, s9, s17",
                "vmla.f32 s2, s10, s17",
                "vmla.f32 s3, s11, s17",
                "vmla.f32 s4, s12, s17",
                "vmla.f32 s5, s13, s17",
                "vmla.f32 s6, s14, s17",
                "vmla.f32 s7, s15, s17",
                "subs {n}, {n}, #1",
                "bne 2b",
                "vstmia {acc}, {{s0-s7}}",
                acc = in(reg) acc.as_mut_ptr(),
                w = inout(reg) w,
                x = inout(reg) xp,
                n = inout(reg) pairs => _,
                out("s0") _,
                out("s1") _,
                out("s2") _,
                out("s3") _,
                out("s4") _,
                out("s5") _,
                out("s6") _,
                out("s7") _,
                out("s8") _,
                out("s9") _,
                out("s10") _,
                out("s11") _,
                out("s12") _,
                out("s13") _,
                out("s14") _,
                out("s15") _,
                out("s16") _,
                out("s17") _,
                options(nostack),
            );
        }
    }
    if odd {
        // SAFETY: `w` and `xp` point at the last input's `PACK` weights and its value (the
        // pairs above consumed the others); reads those and `acc`, writes `acc`.
        unsafe {
            asm!(
                "vldmia {acc}, {{s0-s7}}",
                "vldmia {w}, {{s8-s15}}",
                "vldr s16, [{x}]",
                "vmla.f32 s0, s8, s16",
                "vmla.f32 s1, s9, s16",
                "vmla.f32 s2, s10, s16",
                "vmla.f32 s3, s11, s16",
                "vmla.f32 s4, s12, s16",
                "vmla.f32 s5, s13, s16",
                "vmla.f32 s6, s14, s16",
                "vmla.f32 s7, s15, s16",
                "vstmia {acc}, {{s0-s7}}",
                acc = in(reg) acc.as_mut_ptr(),
                w = in(reg) w,
                x = in(reg) xp,
                out("s0") _,
                out("s1") _,
                out("s2") _,
                out("s3") _,
                out("s4") _,
                out("s5") _,
                out("s6") _,
                out("s7") _,
                out("s8") _,
                out("s9") _,
                out("s10") _,
                out("s11") _,
                out("s12") _,
                out("s13") _,
                out("s14") _,
                out("s15") _,
                out("s16") _,
                options(nostack),
            );
        }
    }
}
