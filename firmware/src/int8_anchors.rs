//! The CMSIS-NN int8 anchors' problems (`benches/mcu/nn_bench.c`, from the team's anchor
//! harness), computed by neurite's int8 kernels on the same data: the same pseudo-random
//! bytes (the anchors' LCG, `seed = seed * 1664525 + 1013904223`, the top byte), in the same
//! order, with the same biases, zero points and requantisation.
//!
//! - `arm_fully_connected_s8` 64 -> 64 and 256 -> 64: per-tensor multiplier 1518500250,
//!   shift -7, input offset 3 (zero point -3), output offset -5, bias `50 i`.
//! - `arm_convolve_s8` 16x16x8 -> 16, 3x3, padding 1, stride 1: per-channel multiplier
//!   1518500250, shift -8, bias `100 i`, the same offsets.
//!
//! CMSIS-NN requantises with double rounding (TFLite's default), as does
//! [`Rounding::Double`]. Each output is hashed ([`fnv1a`]) so that the device, the host
//! and CMSIS-NN can be compared by one number; `tests/tests/firmware_qemu.rs` and
//! `benches/mcu/run.sh` do.

use neurite::kernel::int8::{self, Geom2d, Requantize};
use neurite::kernel::int8_packed::{self, packed_len, padded_cols, Output};
pub use neurite::quant::fixed_point::Rounding;

/// Fully connected inputs (the larger problem's).
pub const FC_IN: usize = 256;
/// Fully connected outputs.
pub const FC_OUT: usize = 64;
/// Convolution input height and width.
pub const HW: usize = 16;
/// Convolution input channels.
pub const CI: usize = 8;
/// Convolution output channels.
pub const CO: usize = 16;
/// Values per convolution filter (3x3xCI).
pub const TAPS: usize = 9 * CI;

/// Word-aligned storage (the DSP kernels' `ldrd` needs it).
#[repr(C, align(4))]
#[derive(Clone, Copy, Debug)]
pub struct Aligned<T>(pub T);

/// The anchors' data, generated in `nn_bench.c`'s order.
#[derive(Clone, Debug)]
pub struct Problems {
    /// Fully connected input.
    pub in_fc: [i8; FC_IN],
    /// Fully connected weights, `[FC_OUT][FC_IN]` (the 64 -> 64 problem reads the first
    /// 64 x 64 as `[64][64]`).
    pub w_fc: [i8; FC_IN * FC_OUT],
    /// Convolution input, `[HW][HW][CI]`.
    pub in_cv: [i8; HW * HW * CI],
    /// Convolution weights, `[CO][3][3][CI]`.
    pub w_cv: [i8; CO * TAPS],
}

/// The anchors' generator.
struct Lcg(u32);

impl Lcg {
    fn r8(&mut self) -> i8 {
        self.0 = self.0.wrapping_mul(1_664_525).wrapping_add(1_013_904_223);
        (self.0 >> 24) as u8 as i8
    }
}

impl Problems {
    /// Fills `self` as `nn_bench.c` fills its arrays.
    pub fn generate(&mut self) {
        let mut rng = Lcg(1);
        for v in self
            .in_fc
            .iter_mut()
            .chain(self.w_fc.iter_mut())
            .chain(self.in_cv.iter_mut())
            .chain(self.w_cv.iter_mut())
        {
            *v = rng.r8();
        }
    }
}

/// The zero problems, to be filled by [`Problems::generate`] (statics start here).
pub const EMPTY: Problems = Problems {
    in_fc: [0; FC_IN],
    w_fc: [0; FC_IN * FC_OUT],
    in_cv: [0; HW * HW * CI],
    w_cv: [0; CO * TAPS],
};

/// The output zero point (CMSIS-NN's output offset -5) and the full range: what the
/// packed kernels take besides the packed layer.
pub const OUTPUT: Output = Output { zero_point: -5, min: -128, max: 127 };

/// The input zero point (CMSIS-NN's input offset 3).
pub const INPUT_ZERO_POINT: i32 = -3;
const MULTIPLIER: [i32; FC_OUT] = [1_518_500_250; FC_OUT];
const FC_SHIFT: [i32; FC_OUT] = [-7; FC_OUT];
const CONV_SHIFT: [i32; CO] = [-8; CO];

/// The fully connected requantisation (CMSIS-NN's: double rounding).
pub fn fc_requantize() -> Requantize<'static> {
    fc_requantize_with(Rounding::Double)
}

/// The fully connected requantisation with `rounding` (LiteRT's per-channel fully
/// connected rounds once).
pub fn fc_requantize_with(rounding: Rounding) -> Requantize<'static> {
    Requantize {
        multiplier: &MULTIPLIER,
        shift: &FC_SHIFT,
        output_zero_point: -5,
        min: -128,
        max: 127,
        rounding,
    }
}

/// The convolution's requantisation.
pub fn conv_requantize() -> Requantize<'static> {
    Requantize { shift: &CONV_SHIFT, multiplier: &MULTIPLIER[..CO], ..fc_requantize() }
}

/// `50 i`.
pub fn fc_bias() -> [i32; FC_OUT] {
    core::array::from_fn(|i| 50 * i as i32)
}

/// `100 i`.
pub fn conv_bias() -> [i32; CO] {
    core::array::from_fn(|i| 100 * i as i32)
}

/// 16x16x8 -> 16, 3x3, padding 1, stride 1.
pub const CONV: Geom2d = Geom2d {
    in_h: HW,
    in_w: HW,
    in_c: CI,
    out_h: HW,
    out_w: HW,
    out_c: CO,
    kernel_h: 3,
    kernel_w: 3,
    stride_h: 1,
    stride_w: 1,
    pad_top: 1,
    pad_left: 1,
    dilation_h: 1,
    dilation_w: 1,
};

/// The `n_in -> 64` fully connected problem's weights (`[64][n_in]`) and input.
pub fn fc_problem(p: &Problems, n_in: usize) -> (&[i8], &[i8]) {
    (&p.w_fc[..n_in * FC_OUT], &p.in_fc[..n_in])
}

/// FNV-1a (32 bits) of the output bytes.
pub fn fnv1a(bytes: &[i8]) -> u32 {
    bytes.iter().fold(0x811c_9dc5, |h, &b| (h ^ u32::from(b as u8)).wrapping_mul(0x0100_0193))
}

/// The reference kernel on the `n_in -> 64` problem.
pub fn fc_reference(p: &Problems, n_in: usize, y: &mut [i8; FC_OUT]) {
    fc_reference_with(p, n_in, Rounding::Double, y);
}

/// [`fc_reference`] with `rounding`.
pub fn fc_reference_with(p: &Problems, n_in: usize, rounding: Rounding, y: &mut [i8; FC_OUT]) {
    let (w, x) = fc_problem(p, n_in);
    int8::fully_connected(w, &fc_bias(), x, INPUT_ZERO_POINT, &fc_requantize_with(rounding), y);
}

/// The reference kernel on the convolution.
pub fn conv_reference(p: &Problems, y: &mut [i8; HW * HW * CO]) {
    int8::conv2d(&CONV, &p.w_cv, &conv_bias(), &p.in_cv, INPUT_ZERO_POINT, &conv_requantize(), y);
}

/// Packed bytes of the 256 -> 64 problem (the largest; the others use a prefix of it).
pub const FC_PACKED: usize = packed_len(FC_OUT, FC_IN);
/// Packed bytes of the convolution.
pub const CONV_PACKED: usize = packed_len(CO, TAPS);
/// Widened inputs of the largest problem.
pub const SCRATCH: usize = padded_cols(FC_IN);

/// Packs the `n_in -> 64` problem (weights, bias, requantisation with `rounding`) into
/// `out` (its first `packed_len(64, n_in)` bytes).
pub fn pack_fc(p: &Problems, n_in: usize, rounding: Rounding, out: &mut [i8]) -> bool {
    let (w, _) = fc_problem(p, n_in);
    let n = packed_len(FC_OUT, n_in);
    let rq = fc_requantize_with(rounding);
    n <= out.len() && int8_packed::pack(w, FC_OUT, n_in, &fc_bias(), &rq, &mut out[..n]).is_ok()
}

/// Packs the convolution (weights as `[CO][TAPS]`, bias, requantisation) into `out`.
pub fn pack_conv(p: &Problems, out: &mut [i8]) -> bool {
    int8_packed::pack(&p.w_cv, CO, TAPS, &conv_bias(), &conv_requantize(), out).is_ok()
}

/// The packed kernel on the `n_in -> 64` problem (`packed` from [`pack_fc`]).
pub fn fc_packed(
    p: &Problems,
    n_in: usize,
    packed: &[i8],
    scratch: &mut [i16],
    y: &mut [i8; FC_OUT],
) {
    let (_, x) = fc_problem(p, n_in);
    let packed = &packed[..packed_len(FC_OUT, n_in).min(packed.len())];
    int8_packed::fully_connected(packed, x, INPUT_ZERO_POINT, &OUTPUT, scratch, y);
}

/// The packed kernel on the convolution (`packed` from [`pack_conv`]).
pub fn conv_packed(p: &Problems, packed: &[i8], scratch: &mut [i16], y: &mut [i8; HW * HW * CO]) {
    int8_packed::conv2d(&CONV, packed, &p.in_cv, INPUT_ZERO_POINT, &OUTPUT, scratch, y);
}
