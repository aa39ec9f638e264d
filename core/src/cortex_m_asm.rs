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

/// One chunk of four inputs (two words of widened pairs in `x0`, `x1`) against four rows'
/// words (two `ldrd` from the packed weights): `sxtb16` splits each weight word into its
/// even and odd bytes, `smlad` multiplies them with the matching input pairs and adds both
/// products. 18 instructions for 16 multiply-accumulates.
macro_rules! chunk_s8 {
    () => {
        concat!(
            "ldrd {x0}, {x1}, [{x}], #8\n",
            "ldrd {wa}, {wb}, [{w}], #8\n",
            "sxtb16 {t}, {wa}\n",
            "sxtb16 {wa}, {wa}, ror #8\n",
            "smlad {a0}, {t}, {x0}, {a0}\n",
            "smlad {a0}, {wa}, {x1}, {a0}\n",
            "sxtb16 {t}, {wb}\n",
            "sxtb16 {wb}, {wb}, ror #8\n",
            "smlad {a1}, {t}, {x0}, {a1}\n",
            "smlad {a1}, {wb}, {x1}, {a1}\n",
            "ldrd {wa}, {wb}, [{w}], #8\n",
            "sxtb16 {t}, {wa}\n",
            "sxtb16 {wa}, {wa}, ror #8\n",
            "smlad {a2}, {t}, {x0}, {a2}\n",
            "smlad {a2}, {wa}, {x1}, {a2}\n",
            "sxtb16 {t}, {wb}\n",
            "sxtb16 {wb}, {wb}, ror #8\n",
            "smlad {a3}, {t}, {x0}, {a3}\n",
            "smlad {a3}, {wb}, {x1}, {a3}\n",
        )
    };
}

/// Double rounding of accumulator `$a` with the row's words at `{w}` (bias, multiplier,
/// right shift, its mask, unused): the doubling high product `floor((x m + 2^30) / 2^31)`
/// (`smull`, a 64-bit add, a funnel shift), then the right shift rounded half away from
/// zero. 15 instructions.
macro_rules! double_s8 {
    ($a:literal) => {
        concat!(
            "ldrd {x0}, {x1}, [{w}], #8\n",
            "add {",
            $a,
            "}, {",
            $a,
            "}, {x0}\n",
            "smull {wa}, {wb}, {",
            $a,
            "}, {x1}\n",
            "ldrd {x0}, {x1}, [{w}], #12\n",
            "adds {wa}, {wa}, #0x40000000\n",
            "adc {wb}, {wb}, #0\n",
            "lsr {wa}, {wa}, #31\n",
            "orr {",
            $a,
            "}, {wa}, {wb}, lsl #1\n",
            "and {t}, {",
            $a,
            "}, {x1}\n",
            "lsr {x1}, {x1}, #1\n",
            "add {x1}, {x1}, {",
            $a,
            "}, lsr #31\n",
            "asr {",
            $a,
            "}, {",
            $a,
            "}, {x0}\n",
            "cmp {t}, {x1}\n",
            "it hi\n",
            "addhi {",
            $a,
            "}, {",
            $a,
            "}, #1\n",
        )
    };
}

/// Single rounding of accumulator `$a` with the row's words at `{w}` (bias, multiplier,
/// the rounding constant's low and high words, the shift past 32): `(x m + round) >> t`,
/// keeping the high word. 8 instructions.
macro_rules! single_s8 {
    ($a:literal) => {
        concat!(
            "ldrd {x0}, {x1}, [{w}], #8\n",
            "add {",
            $a,
            "}, {",
            $a,
            "}, {x0}\n",
            "smull {wa}, {wb}, {",
            $a,
            "}, {x1}\n",
            "ldrd {x0}, {x1}, [{w}], #8\n",
            "ldr {t}, [{w}], #4\n",
            "adds {wa}, {wa}, {x0}\n",
            "adc {wb}, {wb}, {x1}\n",
            "asr {",
            $a,
            "}, {wb}, {t}\n",
        )
    };
}

/// The dot products of a group, `{n}` pairs of chunks: four chunks ([`chunk_s8!`]) and the
/// loop's two instructions per pass (74 instructions for 64 multiply-accumulates, 1.16 per
/// MAC), then a last pair when `{n}` is odd. `{n}` counts down by two: it ends at -2 (even)
/// or -1 (odd, the pair left).
macro_rules! dot_s8 {
    () => {
        concat!(
            "subs {n}, {n}, #2\n",
            "blt 3f\n",
            "2:\n",
            chunk_s8!(),
            chunk_s8!(),
            chunk_s8!(),
            chunk_s8!(),
            "subs {n}, {n}, #2\n",
            "bge 2b\n",
            "3:\n",
            "tst {n}, #1\n",
            "beq 4f\n",
            chunk_s8!(),
            chunk_s8!(),
            "4:\n",
        )
    };
}

/// Every group of [`crate::kernel::int8_packed`]'s layout with the DSP extension, checked
/// once: `each(values)` sees each group's four requantised rows in order. `false` (nothing
/// run, for the portable code) when the groups or the inputs are not word-aligned (`ldrd`)
/// or not of the layout's lengths.
#[inline]
pub(crate) fn groups_s8(
    groups: &[i8],
    x: &[i16],
    single: bool,
    mut each: impl FnMut([i32; 4]),
) -> bool {
    let n = x.len();
    let bytes = 4 * n + crate::kernel::int8_packed::ROW_WORDS * 4 * 4;
    let aligned =
        (groups.as_ptr() as usize).is_multiple_of(4) && (x.as_ptr() as usize).is_multiple_of(4);
    if n == 0 || !n.is_multiple_of(8) || !groups.len().is_multiple_of(bytes) || !aligned {
        return false;
    }
    for group in groups.chunks_exact(bytes) {
        // SAFETY: `group` holds one group of `bytes` (checked: the groups' length is a
        // multiple), word-aligned (the groups start aligned and `bytes` is a multiple of 4);
        // `x` holds `n`, a positive multiple of 8, word-aligned.
        each(unsafe { group_s8(group.as_ptr(), x.as_ptr(), n, single) });
    }
    true
}

/// One group ([`groups_s8`]): the dot products ([`dot_s8!`]), then the four rows
/// requantised ([`double_s8!`] or [`single_s8!`]), all in registers.
///
/// # Safety
///
/// `group` points at `4 * n` weight bytes followed by the four rows' 80 bytes of words, `x`
/// at `n` inputs, `n` a positive multiple of 8, both word-aligned.
#[inline(always)]
unsafe fn group_s8(group: *const i8, x: *const i16, n: usize, single: bool) -> [i32; 4] {
    let (mut a0, mut a1, mut a2, mut a3) = (0i32, 0i32, 0i32, 0i32);
    // one block per rounding: the dot products, then the rows' requantisation
    macro_rules! group_asm {
        ($requant:ident) => {
            asm!(
                dot_s8!(),
                $requant!("a0"),
                $requant!("a1"),
                $requant!("a2"),
                $requant!("a3"),
                x = inout(reg) x => _,
                w = inout(reg) group => _,
                n = inout(reg) n / 8 => _,
                x0 = out(reg) _,
                x1 = out(reg) _,
                wa = out(reg) _,
                wb = out(reg) _,
                t = out(reg) _,
                a0 = inout(reg) a0,
                a1 = inout(reg) a1,
                a2 = inout(reg) a2,
                a3 = inout(reg) a3,
                options(nostack, readonly),
            )
        };
    }
    // SAFETY (the caller's contract): the loop runs over `n / 8 >= 1` pairs of chunks,
    // reading 8 inputs (16 bytes) of `x` and 32 weight bytes per pair; the requantisation
    // then reads the 80 bytes of words that follow (20 per row). Every access is inside the
    // group or the inputs and aligned for `ldrd`. Only registers are written, all declared.
    unsafe {
        if single {
            group_asm!(single_s8);
        } else {
            group_asm!(double_s8);
        }
    }
    [a0, a1, a2, a3]
}

/// [`crate::kernel::int8_packed`]'s input widening, four bytes per pass: one `ldr` (any
/// alignment: the Cortex-M4 loads unaligned words), two `sxtab16` that sign-extend the even
/// and the odd bytes and add `-zero_point` to each half, one `strd`: `x0, x2` and `x1, x3`.
/// Widens the first `4 * (x.len() / 4)` values; returns how many (0 when `out` is shorter
/// or not word-aligned, for the portable loop to do them all).
#[inline]
pub(crate) fn widen_s8(x: &[i8], zero_point: i32, out: &mut [i16]) -> usize {
    let groups = x.len() / 4;
    if groups == 0 || out.len() < 4 * groups || !(out.as_mut_ptr() as usize).is_multiple_of(4) {
        return 0;
    }
    let offset = (zero_point.wrapping_neg() as u32 & 0xffff) * 0x0001_0001;
    // SAFETY: the loop runs `groups >= 1` times, reading 4 bytes of `x` and writing 8 bytes
    // (4 `i16`) of `out` per pass, `4 * groups` values of each, both within their lengths;
    // `out` is word-aligned for `strd`. It writes only `out` and the declared registers.
    unsafe {
        asm!(
            "2:",
            "ldr {t}, [{x}], #4",
            "sxtab16 {a}, {offset}, {t}",
            "sxtab16 {b}, {offset}, {t}, ror #8",
            "strd {a}, {b}, [{o}], #8",
            "subs {n}, {n}, #1",
            "bne 2b",
            x = inout(reg) x.as_ptr() => _,
            o = inout(reg) out.as_mut_ptr() => _,
            n = inout(reg) groups => _,
            offset = in(reg) offset,
            t = out(reg) _,
            a = out(reg) _,
            b = out(reg) _,
            options(nostack),
        );
    }
    4 * groups
}

/// [`widen_s8`] over `runs` runs of `run_len` bytes of `x`, the first at `first`, each
/// `stride` bytes after the one before (a convolution window's rows), into consecutive
/// places of `out`: one call per window instead of one per row. `false` (nothing written)
/// unless `run_len` is a positive multiple of 4, `runs` positive, every run inside `x`,
/// `out` long enough and word-aligned.
#[inline]
pub(crate) fn widen_rows_s8(
    x: &[i8],
    first: usize,
    stride: usize,
    runs: usize,
    run_len: usize,
    zero_point: i32,
    out: &mut [i16],
) -> bool {
    let last_end = (runs.wrapping_sub(1))
        .checked_mul(stride)
        .and_then(|s| s.checked_add(first))
        .and_then(|s| s.checked_add(run_len));
    let fits = runs > 0
        && run_len > 0
        && run_len.is_multiple_of(4)
        && stride >= run_len
        && last_end.is_some_and(|e| e <= x.len())
        && runs.checked_mul(run_len).is_some_and(|n| n <= out.len())
        && (out.as_ptr() as usize).is_multiple_of(4);
    if !fits {
        return false;
    }
    let offset = (zero_point.wrapping_neg() as u32 & 0xffff) * 0x0001_0001;
    // SAFETY: `runs >= 1` runs of `run_len / 4 >= 1` words; run `r` reads bytes
    // `first + r * stride ..` `+ run_len` of `x` (the last ends at `last_end <= x.len()`,
    // and the runs do not run backwards: `stride >= run_len`), and writes `run_len` values
    // of `out` after the previous run's (`runs * run_len <= out.len()`), word-aligned for
    // `strd`. Only `out` and the declared registers are written.
    unsafe {
        asm!(
            "2:",
            "mov {k}, {groups}",
            "3:",
            "ldr {t}, [{x}], #4",
            "sxtab16 {a}, {offset}, {t}",
            "sxtab16 {b}, {offset}, {t}, ror #8",
            "strd {a}, {b}, [{o}], #8",
            "subs {k}, {k}, #1",
            "bne 3b",
            "add {x}, {x}, {skip}",
            "subs {runs}, {runs}, #1",
            "bne 2b",
            x = inout(reg) x.as_ptr().add(first) => _,
            o = inout(reg) out.as_mut_ptr() => _,
            runs = inout(reg) runs => _,
            groups = in(reg) run_len / 4,
            skip = in(reg) stride - run_len,
            offset = in(reg) offset,
            k = out(reg) _,
            t = out(reg) _,
            a = out(reg) _,
            b = out(reg) _,
            options(nostack),
        );
    }
    true
}
