//! The packed int8 kernels (`neurite::kernel::int8_packed`, the Cortex-M4 DSP layout) give
//! the reference kernels' outputs exactly, on random shapes (rows and columns not multiples
//! of the packing, padded, strided and dilated convolutions, channel counts not multiples of
//! four), random weights, zero points and per-channel multipliers. On the device the same
//! comparison runs with the assembly (`firmware/src/bin/anchors.rs`).

use neurite::kernel::int8::{self, Geom2d, Requantize};
use neurite::kernel::int8_packed::{self, pack, packed_len, padded_cols};
use neurite::quant::fixed_point::Rounding;
use neurite::rng::Rng;

fn bytes(rng: &mut Rng, n: usize) -> Vec<i8> {
    (0..n).map(|_| rng.next_u32() as u8 as i8).collect()
}

fn requant(rng: &mut Rng, n: usize) -> (Vec<i32>, Vec<i32>) {
    let m = (0..n).map(|_| (1 << 30) + (rng.next_u32() >> 2) as i32).collect();
    let s = (0..n).map(|_| -((rng.next_u32() % 12) as i32)).collect();
    (m, s)
}

#[test]
fn packed_fully_connected_is_the_reference() {
    let mut rng = Rng::new(8);
    for case in 0..400 {
        let (rows, cols) = (1 + rng.below(21), 1 + rng.below(70));
        let w = bytes(&mut rng, rows * cols);
        let x = bytes(&mut rng, cols);
        let bias: Vec<i32> = (0..rows).map(|_| rng.next_u32() as i32 >> 12).collect();
        let (m, s) = requant(&mut rng, rows);
        let zp = rng.below(256) as i32 - 128;
        let rounding = if case % 2 == 0 { Rounding::Double } else { Rounding::Single };
        let rq = Requantize {
            multiplier: &m,
            shift: &s,
            output_zero_point: rng.below(256) as i32 - 128,
            min: -128 + (case % 3) as i8 * 40,
            max: 127,
            rounding,
        };
        let mut want = vec![0i8; rows];
        int8::fully_connected(&w, &bias, &x, zp, &rq, &mut want);
        let mut packed = vec![0i8; packed_len(rows, cols)];
        assert!(pack(&w, rows, cols, &mut packed));
        let mut scratch = vec![i16::MAX; padded_cols(cols)]; // stale values must not count
        let mut got = vec![0i8; rows];
        int8_packed::fully_connected(&packed, &bias, &x, zp, &rq, &mut scratch, &mut got);
        assert_eq!(got, want, "case {case}: {rows} x {cols}");
    }
}

#[test]
fn packed_conv2d_is_the_reference() {
    let mut rng = Rng::new(9);
    for case in 0..200 {
        let (kh, kw) = (1 + rng.below(3), 1 + rng.below(3));
        let (sh, sw, dh, dw) =
            (1 + rng.below(2), 1 + rng.below(2), 1 + rng.below(2), 1 + rng.below(2));
        let (ih, iw, ic, oc) =
            (3 + rng.below(6), 3 + rng.below(6), 1 + rng.below(9), 1 + rng.below(10));
        let (pt, pl) = (rng.below(2), rng.below(2));
        let span = |k: usize, d: usize| (k - 1) * d + 1;
        let out = |i: usize, p: usize, k: usize, s: usize| (i + 2 * p).saturating_sub(k) / s + 1;
        let g = Geom2d {
            in_h: ih,
            in_w: iw,
            in_c: ic,
            out_h: out(ih, pt, span(kh, dh), sh),
            out_w: out(iw, pl, span(kw, dw), sw),
            out_c: oc,
            kernel_h: kh,
            kernel_w: kw,
            stride_h: sh,
            stride_w: sw,
            pad_top: pt,
            pad_left: pl,
            dilation_h: dh,
            dilation_w: dw,
        };
        let cols = kh * kw * ic;
        let w = bytes(&mut rng, oc * cols);
        let x = bytes(&mut rng, g.input_len());
        let bias: Vec<i32> = (0..oc).map(|_| rng.next_u32() as i32 >> 14).collect();
        let (m, s) = requant(&mut rng, oc);
        let zp = rng.below(256) as i32 - 128;
        let rq = Requantize {
            multiplier: &m,
            shift: &s,
            output_zero_point: rng.below(256) as i32 - 128,
            min: -128,
            max: 127,
            rounding: Rounding::Double,
        };
        let mut want = vec![0i8; g.output_len()];
        int8::conv2d(&g, &w, &bias, &x, zp, &rq, &mut want);
        let mut packed = vec![0i8; packed_len(oc, cols)];
        assert!(pack(&w, oc, cols, &mut packed));
        let mut scratch = vec![i16::MAX; padded_cols(cols)]; // stale values must not count
        let mut got = vec![1i8; g.output_len()];
        int8_packed::conv2d(&g, &packed, &bias, &x, zp, &rq, &mut scratch, &mut got);
        assert_eq!(got, want, "case {case}: {g:?}");
    }
}

#[test]
fn wrong_lengths_write_nothing() {
    let rq = Requantize {
        multiplier: &[1 << 30],
        shift: &[0],
        output_zero_point: 0,
        min: -128,
        max: 127,
        rounding: Rounding::Double,
    };
    let mut y = [7i8; 1];
    let mut scratch = [0i16; 8];
    // packed for 1 x 4 (32 bytes) but given 9 inputs (1 x 9 packs to 64); a short scratch
    int8_packed::fully_connected(&[1; 32], &[0], &[1; 9], 0, &rq, &mut [0; 16], &mut y);
    assert_eq!(y, [7]);
    int8_packed::fully_connected(&[1; 32], &[0], &[1; 4], 0, &rq, &mut scratch[..4], &mut y);
    assert_eq!(y, [7]);
    assert!(!pack(&[1; 5], 1, 4, &mut [0; 32]));
    assert!(!pack(&[1; 4], 1, 4, &mut [0; 31]));
}
