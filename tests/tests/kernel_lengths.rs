//! `core/src/kernel/mod.rs`: "Slices of mismatched lengths never panic". Every public kernel
//! is called with every combination of short, right and long slices (for each slice argument:
//! empty, one value, one short, the right length, three too many; `None` too where a slice is
//! optional), and each call must simply return. What a mismatched call writes is meaningless;
//! only the absence of a panic (an out-of-bounds index, a `chunks_exact(0)`, an overflow in
//! these debug builds) is checked.

use neurite::activation::{Activation, Elu, LeakyRelu, Relu, Selu, Sigmoid, Tanh};
use neurite::kernel::conv::{self, Conv2dGeom, ConvTranspose2dGeom};
use neurite::kernel::pool::{self, Pool2dGeom};
use neurite::kernel::{dense, elementwise, graph, norm, reduce, softmax};
use neurite::rng::Rng;

/// One slice argument: its right length and whether it is an `Option<&[f32]>`.
#[derive(Clone, Copy)]
struct Arg {
    len: usize,
    optional: bool,
}

const fn s(len: usize) -> Arg {
    Arg { len, optional: false }
}

const fn opt(len: usize) -> Arg {
    Arg { len, optional: true }
}

/// The lengths tried for `a` (`None`: the optional slice left out).
fn variants(a: Arg) -> Vec<Option<usize>> {
    let mut v: Vec<Option<usize>> =
        [0, 1, a.len.saturating_sub(1), a.len, a.len + 3].into_iter().map(Some).collect();
    v.sort_unstable();
    v.dedup();
    if a.optional {
        v.push(None);
    }
    v
}

/// Calls `f` with every combination of the lengths of `args`; returns how many calls.
fn every_mix(args: &[Arg], mut f: impl FnMut(&[Option<usize>])) -> usize {
    let choices: Vec<Vec<Option<usize>>> = args.iter().copied().map(variants).collect();
    let mut pick = vec![0usize; args.len()];
    let mut calls = 0;
    loop {
        let lens: Vec<Option<usize>> = pick.iter().zip(&choices).map(|(&i, c)| c[i]).collect();
        f(&lens);
        calls += 1;
        // next combination (odometer)
        let mut k = 0;
        loop {
            if k == pick.len() {
                return calls;
            }
            pick[k] += 1;
            if pick[k] < choices[k].len() {
                break;
            }
            pick[k] = 0;
            k += 1;
        }
    }
}

/// `n` values of both signs, none zero (so both branches of ReLU-like kernels run).
fn v(n: Option<usize>) -> Vec<f32> {
    let n = n.expect("a required slice");
    (0..n)
        .map(|i| if i % 3 == 1 { -0.5 - i as f32 * 0.25 } else { 0.25 + i as f32 * 0.5 })
        .collect()
}

/// The optional slice of length `n`, or `None`.
fn o(n: Option<usize>) -> Option<Vec<f32>> {
    n.map(|n| v(Some(n)))
}

#[test]
fn dense_kernels_never_panic() {
    // w is 3 rows of 2, b 3, x 2, y 3
    let calls = every_mix(&[s(6), s(3), s(2), s(3)], |l| {
        let mut y = v(l[3]);
        dense::forward(&v(l[0]), &v(l[1]), &v(l[2]), &mut y);
    });
    assert!(calls > 100);
    every_mix(&[s(6), s(2), s(3), s(2), s(6), s(3)], |l| {
        let (mut dx, mut gw, mut gb) = (v(l[3]), v(l[4]), v(l[5]));
        dense::backward(&v(l[0]), &v(l[1]), &v(l[2]), &mut dx, &mut gw, &mut gb);
    });
    every_mix(&[s(2), s(3), s(6), s(3)], |l| {
        let (mut gw, mut gb) = (v(l[2]), v(l[3]));
        dense::backward_params(&v(l[0]), &v(l[1]), &mut gw, &mut gb);
    });
}

#[test]
fn softmax_kernels_never_panic() {
    type Fwd = fn(&[f32], &mut [f32]);
    type Bwd = fn(&[f32], &[f32], &mut [f32]);
    for f in [softmax::softmax as Fwd, softmax::log_softmax] {
        every_mix(&[s(4), s(4)], |l| f(&v(l[0]), &mut v(l[1])));
    }
    for f in [softmax::softmax_backward as Bwd, softmax::log_softmax_backward] {
        every_mix(&[s(4), s(4), s(4)], |l| f(&v(l[0]), &v(l[1]), &mut v(l[2])));
    }
}

fn activation_never_panics<A: Activation>(act: A) {
    every_mix(&[s(4), s(4)], |l| elementwise::forward(&act, &v(l[0]), &mut v(l[1])));
    every_mix(&[s(4), s(4), s(4)], |l| {
        elementwise::backward(&act, &v(l[0]), &v(l[1]), &mut v(l[2]));
    });
}

#[test]
fn elementwise_kernels_never_panic() {
    activation_never_panics(Relu);
    activation_never_panics(Sigmoid);
    activation_never_panics(Tanh);
    activation_never_panics(Selu);
    activation_never_panics(Elu { alpha: 1.0 });
    activation_never_panics(LeakyRelu { negative_slope: 0.01 });
    // PReLU: alpha of one value (shared) or one per feature; both are among the lengths tried
    every_mix(&[s(4), s(4), s(4)], |l| {
        elementwise::prelu_forward(&v(l[0]), &v(l[1]), &mut v(l[2]));
    });
    every_mix(&[s(4), s(4), s(4), s(4), s(4)], |l| {
        let (mut dx, mut galpha) = (v(l[3]), v(l[4]));
        elementwise::prelu_backward(&v(l[0]), &v(l[1]), &v(l[2]), &mut dx, &mut galpha);
    });
}

#[test]
fn reduce_kernels_never_panic() {
    every_mix(&[s(4), s(4)], |l| {
        reduce::dot(&v(l[0]), &v(l[1]));
    });
    every_mix(&[s(4)], |l| {
        reduce::sum(&v(l[0]));
        reduce::max(&v(l[0]));
        assert!(reduce::argmax(&v(l[0])) < l[0].unwrap().max(1), "argmax in range");
        reduce::scale(&mut v(l[0]), 0.5);
    });
}

#[test]
fn norm_and_dropout_kernels_never_panic() {
    // batch 2, channels 2, spatial 2: x and y 8, per-channel slices 2
    let (b, c, sp) = (2, 2, 2);
    every_mix(&[s(8), s(2), s(2), s(2), s(2), s(8)], |l| {
        let (mut mean, mut var, mut y) = (v(l[3]), v(l[4]), v(l[5]));
        let (x, gamma, beta) = (v(l[0]), v(l[1]), v(l[2]));
        norm::batchnorm_train_forward(
            b, c, sp, &x, &gamma, &beta, 1e-5, &mut mean, &mut var, &mut y,
        );
    });
    every_mix(&[s(2), s(2), s(2), s(2)], |l| {
        let (mut rm, mut rv) = (v(l[2]), v(l[3]));
        norm::batchnorm_update_running(b * sp, 0.1, &v(l[0]), &v(l[1]), &mut rm, &mut rv);
    });
    every_mix(&[s(8), s(2), s(2), s(2), s(8), opt(8), s(2), s(2)], |l| {
        let (x, gamma, mean, var, dy) = (v(l[0]), v(l[1]), v(l[2]), v(l[3]), v(l[4]));
        let (mut dx, mut dgamma, mut dbeta) = (o(l[5]), v(l[6]), v(l[7]));
        norm::batchnorm_train_backward(
            b,
            c,
            sp,
            &x,
            &gamma,
            1e-5,
            &mean,
            &var,
            &dy,
            dx.as_deref_mut(),
            &mut dgamma,
            &mut dbeta,
        );
    });
    every_mix(&[s(4), s(2), s(2), s(2), s(2), s(4)], |l| {
        let (x, gamma, beta, rm, rv) = (v(l[0]), v(l[1]), v(l[2]), v(l[3]), v(l[4]));
        norm::batchnorm_eval_forward(c, &x, &gamma, &beta, &rm, &rv, 1e-5, &mut v(l[5]));
    });
    every_mix(&[s(4), s(2), s(2), s(2), s(4), opt(4), s(2), s(2)], |l| {
        let (x, gamma, rm, rv, dy) = (v(l[0]), v(l[1]), v(l[2]), v(l[3]), v(l[4]));
        let (mut dx, mut dgamma, mut dbeta) = (o(l[5]), v(l[6]), v(l[7]));
        norm::batchnorm_eval_backward(
            c,
            &x,
            &gamma,
            &rm,
            &rv,
            1e-5,
            &dy,
            dx.as_deref_mut(),
            &mut dgamma,
            &mut dbeta,
        );
    });
    // layer norm over groups of d = 3, two samples
    every_mix(&[s(6), s(3), s(3), s(6)], |l| {
        norm::layernorm_forward(3, &v(l[0]), &v(l[1]), &v(l[2]), 1e-5, &mut v(l[3]));
    });
    every_mix(&[s(6), s(3), s(6), opt(6), s(3), s(3)], |l| {
        let (mut dx, mut dw, mut db) = (o(l[3]), v(l[4]), v(l[5]));
        let (x, w, dy) = (v(l[0]), v(l[1]), v(l[2]));
        norm::layernorm_backward(3, &x, &w, 1e-5, &dy, dx.as_deref_mut(), &mut dw, &mut db);
    });
    every_mix(&[s(4)], |l| norm::dropout_mask(0.5, &mut Rng::new(1), &mut v(l[0])));
    every_mix(&[s(4), s(4), s(4)], |l| norm::apply_mask(&v(l[0]), &v(l[1]), &mut v(l[2])));
}

#[test]
fn graph_kernels_never_panic() {
    // 3 nodes, 2 features in, 4 out: adjacency 9, x 6, w 8, b 4, h / y / dy / dh 12
    let (n, f, outs) = (3, 2, 4);
    every_mix(&[s(9), s(3), s(9)], |l| {
        graph::gcn_normalize(n, &v(l[0]), &mut v(l[1]), &mut v(l[2]));
    });
    every_mix(&[s(9), s(6), s(8), s(4), s(12), s(12)], |l| {
        let (mut h, mut y) = (v(l[4]), v(l[5]));
        graph::gcn_forward(n, f, outs, &v(l[0]), &v(l[1]), &v(l[2]), &v(l[3]), &mut h, &mut y);
    });
    // backward: the inputs mixed with the outputs right, then the outputs mixed
    every_mix(&[s(9), s(6), s(8), s(12)], |l| {
        let (mut dh, mut dx, mut gw, mut gb) = (v(Some(12)), v(Some(6)), v(Some(8)), v(Some(4)));
        let (a, x, w, dy) = (v(l[0]), v(l[1]), v(l[2]), v(l[3]));
        graph::gcn_backward(n, f, outs, &a, &x, &w, &dy, &mut dh, Some(&mut dx), &mut gw, &mut gb);
    });
    every_mix(&[s(12), opt(6), s(8), s(4)], |l| {
        let (mut dh, mut dx, mut gw, mut gb) = (v(l[0]), o(l[1]), v(l[2]), v(l[3]));
        let (a, x, w, dy) = (v(Some(9)), v(Some(6)), v(Some(8)), v(Some(12)));
        graph::gcn_backward(
            n,
            f,
            outs,
            &a,
            &x,
            &w,
            &dy,
            &mut dh,
            dx.as_deref_mut(),
            &mut gw,
            &mut gb,
        );
    });
    // zero sizes and sizes whose products overflow
    for (n, f, outs) in
        [(0, 2, 4), (3, 0, 4), (3, 2, 0), (usize::MAX, 2, 4), (3, usize::MAX, usize::MAX)]
    {
        let (mut h, mut y, mut dh) = (v(Some(12)), v(Some(12)), v(Some(12)));
        let (mut gw, mut gb, mut dx) = (v(Some(8)), v(Some(4)), v(Some(6)));
        let (a, x, w, b) = (v(Some(9)), v(Some(6)), v(Some(8)), v(Some(4)));
        graph::gcn_normalize(n, &a, &mut v(Some(3)), &mut v(Some(9)));
        graph::gcn_forward(n, f, outs, &a, &x, &w, &b, &mut h, &mut y);
        graph::gcn_backward(n, f, outs, &a, &x, &w, &y, &mut dh, Some(&mut dx), &mut gw, &mut gb);
    }
    every_mix(&[s(6), s(2)], |l| {
        graph::mean_pool_forward(3, &v(l[0]), &mut v(l[1]));
        graph::mean_pool_backward(3, &v(l[1]), &mut v(l[0]));
        graph::mean_pool_forward(0, &v(l[0]), &mut v(l[1]));
        graph::mean_pool_backward(0, &v(l[1]), &mut v(l[0]));
        // a node count far beyond the rows given: no hang, no panic
        graph::mean_pool_forward(usize::MAX, &v(l[0]), &mut v(l[1]));
        graph::mean_pool_backward(usize::MAX, &v(l[1]), &mut v(l[0]));
    });
}

#[test]
fn pool_kernels_never_panic() {
    // 2 channels of 3 x 3, window 2, stride 1, padding 1: 4 x 4 outputs
    let g = Pool2dGeom {
        channels: 2,
        in_h: 3,
        in_w: 3,
        kernel: [2, 2],
        stride: [1, 1],
        padding: [1, 1],
    };
    let (i, out) = (g.input_len(), g.output_len());
    assert_eq!((i, out), (18, 32));
    every_mix(&[s(i), s(out)], |l| {
        pool::maxpool2d_forward(&g, &v(l[0]), &mut v(l[1]));
        pool::avgpool2d_forward(&g, &v(l[0]), &mut v(l[1]));
    });
    every_mix(&[s(i), s(out), s(i)], |l| {
        pool::maxpool2d_backward(&g, &v(l[0]), &v(l[1]), &mut v(l[2]));
        pool::avgpool2d_backward(&g, &v(l[1]), &mut v(l[2]));
    });
    every_mix(&[s(i), s(2)], |l| {
        pool::global_avg_pool_forward(2, &v(l[0]), &mut v(l[1]));
        pool::global_avg_pool_backward(2, &v(l[1]), &mut v(l[0]));
    });
}

#[test]
fn conv_kernels_never_panic() {
    // 2 -> 4 channels in 2 groups, 3 x 3 input, 2 x 2 kernel, padding 1, dilation 1
    let g = Conv2dGeom {
        in_channels: 2,
        out_channels: 4,
        in_h: 3,
        in_w: 3,
        kernel: [2, 2],
        stride: [1, 1],
        padding: [1, 1],
        dilation: [1, 1],
        groups: 2,
    };
    assert!(g.is_valid());
    let (w, i, out) = (g.weight_len(), g.input_len(), g.output_len());
    every_mix(&[s(w), opt(4), s(i), s(out)], |l| {
        conv::conv2d_forward(&g, &v(l[0]), o(l[1]).as_deref(), &v(l[2]), &mut v(l[3]));
    });
    every_mix(&[s(w), s(i), s(out), opt(i), s(w), opt(4)], |l| {
        let (mut dx, mut gw, mut gb) = (o(l[3]), v(l[4]), o(l[5]));
        let (wv, x, dy) = (v(l[0]), v(l[1]), v(l[2]));
        conv::conv2d_backward(&g, &wv, &x, &dy, dx.as_deref_mut(), &mut gw, gb.as_deref_mut());
    });
    // 2 -> 3 channels, 2 x 2 input, 3 x 3 kernel, stride 2, output padding 1
    let t = ConvTranspose2dGeom {
        in_channels: 2,
        out_channels: 3,
        in_h: 2,
        in_w: 2,
        kernel: [3, 3],
        stride: [2, 2],
        padding: [1, 1],
        output_padding: [1, 1],
    };
    assert!(t.is_valid());
    let (w, i, out) = (t.weight_len(), t.input_len(), t.output_len());
    every_mix(&[s(w), opt(3), s(i), s(out)], |l| {
        conv::conv_transpose2d_forward(&t, &v(l[0]), o(l[1]).as_deref(), &v(l[2]), &mut v(l[3]));
    });
    every_mix(&[s(w), s(i), s(out), opt(i), s(w), opt(3)], |l| {
        let (mut dx, mut gw, mut gb) = (o(l[3]), v(l[4]), o(l[5]));
        let (wv, x, dy) = (v(l[0]), v(l[1]), v(l[2]));
        conv::conv_transpose2d_backward(
            &t,
            &wv,
            &x,
            &dy,
            dx.as_deref_mut(),
            &mut gw,
            gb.as_deref_mut(),
        );
    });
}

#[test]
fn int8_kernels_never_panic() {
    use neurite::kernel::int8::{fully_connected, Requantize};
    use neurite::quant::fixed_point::Rounding;
    let q = |n: Option<usize>| -> Vec<i8> {
        (0..n.unwrap_or(0)).map(|i| (i as i8).wrapping_mul(37)).collect()
    };
    let i = |n: Option<usize>| -> Vec<i32> {
        (0..n.unwrap_or(0) as i32).map(|k| 1_000_000_000 + k).collect()
    };
    // w is 3 rows of 2, bias 3, x 2, multipliers and shifts 3, y 3
    let calls = every_mix(&[s(6), s(3), s(2), s(3), s(3), s(3)], |l| {
        let (m, shift) = (i(l[3]), i(l[4]).iter().map(|k| k % 7 - 3).collect::<Vec<_>>());
        let rq = Requantize {
            multiplier: &m,
            shift: &shift,
            output_zero_point: -3,
            min: -128,
            max: 127,
            rounding: Rounding::Single,
        };
        let mut y = q(l[5]);
        fully_connected(&q(l[0]), &i(l[1]), &q(l[2]), i32::MIN, &rq, &mut y);
    });
    assert!(calls > 1000);
}

#[test]
fn int8_window_kernels_never_panic() {
    use neurite::kernel::int8::{
        avg_pool2d, conv2d, depthwise_conv2d, max_pool2d, Geom2d, Requantize,
    };
    use neurite::quant::fixed_point::Rounding;
    let q = |n: Option<usize>| -> Vec<i8> {
        (0..n.unwrap_or(0)).map(|i| (i as i8).wrapping_mul(29)).collect()
    };
    let i = |n: Option<usize>| -> Vec<i32> {
        (0..n.unwrap_or(0) as i32).map(|k| 1_500_000_000 - k).collect()
    };
    let conv = Geom2d {
        in_h: 3,
        in_w: 3,
        in_c: 2,
        out_h: 3,
        out_w: 3,
        out_c: 4,
        kernel_h: 3,
        kernel_w: 3,
        stride_h: 1,
        stride_w: 1,
        pad_top: 1,
        pad_left: 1,
        dilation_h: 1,
        dilation_w: 1,
    };
    // strided, dilated, padded past the input; and every size 0
    let odd = Geom2d { stride_h: 2, dilation_w: 2, pad_top: 4, out_h: 2, ..conv };
    let zero = Geom2d {
        in_h: 0,
        in_w: 0,
        in_c: 0,
        out_h: 0,
        out_w: 0,
        out_c: 0,
        kernel_h: 0,
        kernel_w: 0,
        stride_h: 0,
        stride_w: 0,
        pad_top: 0,
        pad_left: 0,
        dilation_h: 0,
        dilation_w: 0,
    };
    for g in [conv, odd, zero] {
        let (x, y, w) = (g.input_len(), g.output_len(), g.out_c * 9 * g.in_c);
        every_mix(&[s(w), s(g.out_c), s(x), s(g.out_c), s(y)], |l| {
            let m = i(l[3]);
            let shift: Vec<i32> = m.iter().map(|k| k % 5 - 2).collect();
            for rounding in [Rounding::Single, Rounding::Double] {
                let rq = Requantize {
                    multiplier: &m,
                    shift: &shift,
                    output_zero_point: 7,
                    min: 5,
                    max: -5,
                    rounding,
                };
                let mut out = q(l[4]);
                conv2d(&g, &q(l[0]), &i(l[1]), &q(l[2]), i32::MIN, &rq, &mut out);
                depthwise_conv2d(&g, &q(l[0]), &i(l[1]), &q(l[2]), i32::MIN, &rq, &mut out);
            }
        });
        let pool = Geom2d { out_c: g.in_c, ..g };
        every_mix(&[s(pool.input_len()), s(pool.output_len())], |l| {
            let mut out = q(l[1]);
            max_pool2d(&pool, &q(l[0]), 5, -5, &mut out);
            avg_pool2d(&pool, &q(l[0]), -128, 127, &mut out);
        });
    }
}

#[test]
fn recurrent_kernels_never_panic() {
    use neurite::kernel::recurrent as r;
    // H = 3: GRU gates [3][H], LSTM [4][H], traces [5][H], [7][H], [2][H]
    every_mix(&[s(9), s(9), s(3), s(3), s(15)], |l| {
        let (mut h_out, mut trace) = (v(l[3]), v(l[4]));
        r::gru_forward(&v(l[0]), &v(l[1]), &v(l[2]), &mut h_out, &mut trace);
    });
    every_mix(&[s(15), s(3), s(9), s(9), s(3)], |l| {
        let (mut gx, mut gh, mut dh_prev) = (v(l[2]), v(l[3]), v(l[4]));
        r::gru_backward(&v(l[0]), &v(l[1]), &mut gx, &mut gh, &mut dh_prev);
    });
    every_mix(&[s(12), s(12), s(3), s(3), s(3), s(3), s(21)], |l| {
        let (mut h_out, mut c_out, mut trace) = (v(l[4]), v(l[5]), v(l[6]));
        r::lstm_forward(&v(l[0]), &v(l[1]), &v(l[2]), &v(l[3]), &mut h_out, &mut c_out, &mut trace);
    });
    every_mix(&[s(21), s(3), s(3), s(12)], |l| {
        let (mut dc, mut ga) = (v(l[2]), v(l[3]));
        r::lstm_backward(&v(l[0]), &v(l[1]), &mut dc, &mut ga);
    });
    every_mix(&[s(3), s(3), s(3), s(3), s(6)], |l| {
        let (mut h_out, mut trace) = (v(l[3]), v(l[4]));
        r::rnn_forward(&Tanh, &v(l[0]), &v(l[1]), &v(l[2]), &mut h_out, &mut trace);
    });
    every_mix(&[s(6), s(3), s(3)], |l| r::rnn_backward(&Relu, &v(l[0]), &v(l[1]), &mut v(l[2])));
}

#[test]
fn embedding_and_attention_kernels_never_panic() {
    use neurite::kernel::attention::{Attention, Scratch};
    use neurite::kernel::embedding;
    // 4 tokens of dimension 2 from a vocabulary of 5 (token values, some out of range)
    let tokens = |n: Option<usize>| -> Vec<f32> {
        (0..n.unwrap_or(0)).map(|i| i as f32 * 2.0 - 1.0).collect()
    };
    every_mix(&[s(10), s(4), s(8)], |l| {
        embedding::forward(&v(l[0]), 2, &tokens(l[1]), &mut v(l[2]));
        embedding::backward(&tokens(l[1]), 2, &v(l[2]), &mut v(l[0]));
        embedding::forward(&v(l[0]), 0, &tokens(l[1]), &mut v(l[2]));
    });
    // attention, t = 3 tokens of e = 4, 2 heads: each argument's lengths in turn, the others right
    let a = Attention { t: 3, e: 4, heads: 2 };
    let right = [48, 12, 16, 4, 12, 12, 36, 18, 12, 3, 12, 36, 3, 3, 4];
    for arg in 0..right.len() {
        for len in variants(s(right[arg])) {
            let mut b: Vec<Vec<f32>> = right.iter().map(|&n| v(Some(n))).collect();
            b[arg] = v(len);
            let [w_in, b_in, w_out, b_out, x, y, qkv, attn, o, scores, d_o, d_qkv, da, ds, part] =
                &mut b[..]
            else {
                unreachable!()
            };
            a.forward(w_in, b_in, w_out, b_out, x, y, (qkv, attn, o), scores);
            let mut g = [v(Some(48)), v(Some(12)), v(Some(16)), v(Some(4))];
            let [g0, g1, g2, g3] = &mut g;
            let mut dx = v(Some(12));
            let scratch = Scratch { d_o, d_qkv, da, ds, part };
            a.backward(w_in, w_out, x, (qkv, attn, o), y, Some(&mut dx), [g0, g1, g2, g3], scratch);
        }
    }
    for heads in [0, 3, 5] {
        let bad = Attention { heads, ..a };
        let mut b: Vec<Vec<f32>> = right.iter().map(|&n| v(Some(n))).collect();
        let [w_in, b_in, w_out, b_out, x, y, qkv, attn, o, scores, ..] = &mut b[..] else {
            unreachable!()
        };
        bad.forward(w_in, b_in, w_out, b_out, x, y, (qkv, attn, o), scores);
    }
}
