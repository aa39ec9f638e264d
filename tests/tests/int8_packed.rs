//! The packed int8 kernels (`neurite::kernel::int8_packed`, the Cortex-M4 DSP layout) give
//! the reference kernels' outputs exactly, on random shapes (rows and columns not multiples
//! of the packing, padded, strided and dilated convolutions, channel counts not multiples of
//! four), random weights, zero points and per-channel multipliers. On the device the same
//! comparison runs with the assembly (`firmware/src/bin/anchors.rs`).

use neurite::kernel::int8::{self, Geom2d, Requantize};
use neurite::kernel::int8_packed::{self, pack, packed_len, padded_cols, Output, PackError};
use neurite::quant::fixed_point::Rounding;
use neurite::rng::Rng;

fn bytes(rng: &mut Rng, n: usize) -> Vec<i8> {
    (0..n).map(|_| rng.next_u32() as u8 as i8).collect()
}

/// Multipliers in `[2^30, 2^31)` and shifts in `-12..=0` (`-12..=-1` for single rounding),
/// as `quantize_multiplier` makes them for multipliers below 1 (below 1/2).
fn requant(rng: &mut Rng, n: usize, rounding: Rounding) -> (Vec<i32>, Vec<i32>) {
    let m = (0..n).map(|_| (1 << 30) + (rng.next_u32() >> 2) as i32).collect();
    let least = i32::from(rounding == Rounding::Single);
    let s = (0..n).map(|_| -((rng.next_u32() % 12) as i32).max(least)).collect();
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
        let rounding = if case % 2 == 0 { Rounding::Double } else { Rounding::Single };
        let (m, s) = requant(&mut rng, rows, rounding);
        let zp = rng.below(256) as i32 - 128;
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
        pack(&w, rows, cols, &bias, &rq, &mut packed).unwrap();
        let mut scratch = vec![i16::MAX; padded_cols(cols)]; // stale values must not count
        let mut got = vec![0i8; rows];
        int8_packed::fully_connected(&packed, &x, zp, &Output::from(&rq), &mut scratch, &mut got);
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
        let rounding = if case % 3 == 0 { Rounding::Single } else { Rounding::Double };
        let (m, s) = requant(&mut rng, oc, rounding);
        let zp = rng.below(256) as i32 - 128;
        let rq = Requantize {
            multiplier: &m,
            shift: &s,
            output_zero_point: rng.below(256) as i32 - 128,
            min: -128 + (case % 4) as i8 * 30,
            max: 127,
            rounding,
        };
        let mut want = vec![0i8; g.output_len()];
        int8::conv2d(&g, &w, &bias, &x, zp, &rq, &mut want);
        let mut packed = vec![0i8; packed_len(oc, cols)];
        pack(&w, oc, cols, &bias, &rq, &mut packed).unwrap();
        let mut scratch = vec![i16::MAX; padded_cols(cols)]; // stale values must not count
        let mut got = vec![1i8; g.output_len()];
        int8_packed::conv2d(&g, &packed, &x, zp, &Output::from(&rq), &mut scratch, &mut got);
        assert_eq!(got, want, "case {case}: {g:?}");
    }
}

#[test]
fn what_cannot_be_packed_is_refused_and_wrong_lengths_write_nothing() {
    let rq = |shift: &'static [i32], rounding| Requantize {
        multiplier: &[1 << 30],
        shift,
        output_zero_point: 0,
        min: -128,
        max: 127,
        rounding,
    };
    let w = [1i8; 4];
    let mut out = vec![0i8; packed_len(1, 4)];
    let refused = PackError::Requantisation { row: 0 };
    // a left shift; single rounding's shift 0 (a multiplier of 1/2 or more); beyond -31
    assert_eq!(pack(&w, 1, 4, &[0], &rq(&[1], Rounding::Double), &mut out), Err(refused));
    assert_eq!(pack(&w, 1, 4, &[0], &rq(&[0], Rounding::Single), &mut out), Err(refused));
    assert_eq!(pack(&w, 1, 4, &[0], &rq(&[-32], Rounding::Double), &mut out), Err(refused));
    assert_eq!(out, vec![0; packed_len(1, 4)], "nothing written");
    assert_eq!(
        pack(&w, 1, 4, &[0], &rq(&[0], Rounding::Double), &mut out[1..]),
        Err(PackError::Length)
    );
    assert_eq!(
        pack(&w[..3], 1, 4, &[0], &rq(&[0], Rounding::Double), &mut out),
        Err(PackError::Length)
    );
    assert_eq!(pack(&w, 1, 4, &[], &rq(&[0], Rounding::Double), &mut out), Err(PackError::Length));
    pack(&w, 1, 4, &[0], &rq(&[0], Rounding::Double), &mut out).unwrap();
    let output = Output { zero_point: 0, min: -128, max: 127 };
    let mut y = [7i8; 1];
    // packed for 1 x 4 but given 9 inputs (1 x 9 packs to more); a short scratch; no header
    int8_packed::fully_connected(&out, &[1; 9], 0, &output, &mut [0; 16], &mut y);
    assert_eq!(y, [7]);
    int8_packed::fully_connected(&out, &[1; 4], 0, &output, &mut [0; 4], &mut y);
    assert_eq!(y, [7]);
    int8_packed::fully_connected(&out[4..], &[1; 4], 0, &output, &mut [0; 8], &mut y);
    assert_eq!(y, [7]);
    int8_packed::fully_connected(&out, &[1; 4], 0, &output, &mut [0; 8], &mut y);
    assert_eq!(y, [2], "4 * 1 * 1 * 2^30 / 2^31");
}
