//! Inference reusing two activation buffers (`Infer::forward_reusing`) gives the same bits
//! as the stack-based reference (`Infer::forward`), and its activation RAM is bounded by the
//! widest pair of adjacent buffers (`Infer::SCRATCH_WIDTH`, `Infer::MAX_WIDTH`), not by the
//! sum of the intermediate outputs that `forward` keeps on the stack.
//!
//! The figures are type-level (`const`) and asserted against widths counted by hand here.
//! Measured stack use is the firmware's business (it paints the stack on the target).

use core::mem::size_of;
use neurite::activation::{Gelu, Relu};
use neurite::footprint::{activation_buffers, inference, inference_reusing};
use neurite::layer::{
    ActOn, AvgPool1d, AvgPool2d, BatchNorm, BatchNorm2d, Concat, Conv1d, Conv2d, ConvTranspose2d,
    Dense, Flatten, Flatten1d, GlobalAvgPool, Infer, Layer, LayerNorm, LeakyRelu, LogSoftmax,
    MaxPool1d, MaxPool2d, Prelu, Relu as ReluN, Reshape, Residual, Softmax, Tanh,
};
use neurite::params::{Vector, Zeroed};
use neurite::rng::Rng;

type Img<const C: usize, const H: usize, const W: usize> = [[[f32; W]; H]; C];

/// The MLP of the brief (digits, 64-64-10).
type Mlp = neurite::Seq![Dense<64, 64>, ReluN<64>, Dense<64, 10>];

/// A deeper MLP: four 64-wide intermediate outputs.
type DeepMlp = neurite::Seq![Dense<64, 64>, ReluN<64>, Dense<64, 64>, ReluN<64>, Dense<64, 10>];

/// A wide input (the caller's) and narrow intermediates.
type WideInput = neurite::Seq![Dense<784, 32>, ReluN<32>, Dense<32, 10>];

/// The typed digits CNN of `static_vs_dynamic_cnn.rs`.
type Block = neurite::Seq![Conv2d<4, 4, 4, 4, 4, 4, 3, 3, 1, 1>, ActOn<Relu, Img<4, 4, 4>>];
type Cnn = neurite::Seq![
    Conv2d<1, 8, 8, 4, 8, 8, 3, 3, 1, 1>,
    BatchNorm2d<4, 8, 8>,
    ActOn<Relu, Img<4, 8, 8>>,
    MaxPool2d<4, 8, 8, 4, 4, 2, 2>,
    Residual<Block>,
    Flatten<4, 4, 4, 64>,
    Dense<64, 10>,
];

/// Every leaf layer once, a residual block whose body is wider than its input, one whose
/// body is a single layer, and one nested in another.
type Bottleneck = neurite::Seq![Dense<56, 96>, Tanh<96>, Dense<96, 56>];
type Nested =
    neurite::Seq![Dense<5, 5>, Residual<neurite::Seq![Dense<5, 12>, ReluN<12>, Dense<12, 5>]>];
type Zoo = neurite::Seq![
    Conv1d<2, 16, 4, 14, 3>,
    BatchNorm<[[f32; 14]; 4], 4>,
    ActOn<Gelu, [[f32; 14]; 4]>,
    Flatten1d<4, 14, 56>,
    Residual<Bottleneck>,
    LayerNorm<56>,
    Prelu<56, 56>,
    Dense<56, 64>,
    Reshape<[f32; 64], Img<2, 4, 8>>,
    Conv2d<2, 4, 8, 3, 4, 8, 3, 3, 1, 1>,
    MaxPool2d<3, 4, 8, 2, 4, 2>,
    AvgPool2d<3, 2, 4, 1, 2, 2>,
    GlobalAvgPool<3, 1, 2>,
    Dense<3, 5>,
    LeakyRelu<5>,
    Residual<Dense<5, 5>>,
    Residual<Nested>,
    Prelu<5, 1>,
    Softmax<5>,
    LogSoftmax<5>,
];

/// A block at the head of a chain: its scratch sits beside its output in the first buffer.
type BlockFirst = neurite::Seq![Residual<Bottleneck>, Dense<56, 3>];

/// A left-nested chain: a pair as the head of a pair.
type LeftNested = (
    neurite::Seq![Dense<4, 24>, ReluN<24>],
    neurite::Seq![Residual<neurite::Seq![Dense<24, 24>, ReluN<24>]>, Dense<24, 3>],
);

fn bits(v: &[f32]) -> Vec<u32> {
    v.iter().map(|x| x.to_bits()).collect()
}

/// A model with random parameters (and positive running variances: tensor values only
/// touch the learnable tensors, batch norm's buffers stay at their defaults).
fn random<L: Layer>(seed: u64) -> Box<L> {
    let mut rng = Rng::new(seed);
    let mut m = Box::new(L::DEFAULT);
    for t in 0..L::TENSORS {
        for v in m.tensor_mut(t) {
            *v = 0.4 * rng.normal();
        }
    }
    m
}

fn random_input<V: Vector>(rng: &mut Rng) -> V {
    let mut x = V::ZEROED;
    for v in x.as_mut_slice() {
        *v = rng.normal();
    }
    x
}

/// `forward_reusing` (buffers of exactly `SCRATCH_WIDTH` and of `MAX_WIDTH`, both filled
/// with NaN first), `forward_scratch` and `forward_chain` all give `forward`'s bits.
fn reusing_matches_forward<L: Infer>(model: &L, seed: u64, name: &str) {
    let mut rng = Rng::new(seed);
    let mut nonzero = 0;
    for sample in 0..8 {
        let x: L::Input = random_input(&mut rng);
        let mut reference = L::Output::ZEROED;
        model.forward(&x, &mut reference);
        let want = bits(reference.as_slice());
        assert!(reference.as_slice().iter().all(|v| v.is_finite()), "{name}: {sample}");
        nonzero += reference.as_slice().iter().filter(|v| **v != 0.0).count();

        for len in [L::SCRATCH_WIDTH, L::MAX_WIDTH] {
            let (mut a, mut b) = (vec![f32::NAN; len], vec![f32::NAN; len]);
            let mut y = L::Output::ZEROED;
            model.forward_reusing(&x, &mut y, &mut a, &mut b);
            assert_eq!(bits(y.as_slice()), want, "{name}: forward_reusing({len}), sample {sample}");
            // no fallback: the scratch path itself, with buffers of exactly the stated width
            let (mut a, mut b) = (vec![f32::NAN; len], vec![f32::NAN; len]);
            let mut y = L::Output::ZEROED;
            model.forward_scratch(x.as_slice(), y.as_mut_slice(), &mut a, &mut b);
            assert_eq!(bits(y.as_slice()), want, "{name}: forward_scratch({len}), sample {sample}");
        }
        // the ping-pong step: input in `cur`, both buffers MAX_WIDTH
        let (mut cur, mut other) = (vec![f32::NAN; L::MAX_WIDTH], vec![f32::NAN; L::MAX_WIDTH]);
        cur[..L::Input::LEN].copy_from_slice(x.as_slice());
        let mut y = L::Output::ZEROED;
        model.forward_chain(&mut cur, &mut other, y.as_mut_slice());
        assert_eq!(bits(y.as_slice()), want, "{name}: forward_chain, sample {sample}");
        // flat, no scratch (a chain goes through the stack)
        let mut y = L::Output::ZEROED;
        model.forward_flat(x.as_slice(), y.as_mut_slice());
        assert_eq!(bits(y.as_slice()), want, "{name}: forward_flat, sample {sample}");
    }
    assert!(nonzero > 8, "{name}: the test model should not be degenerate");
}

#[test]
fn mlp_reusing_is_bit_identical() {
    reusing_matches_forward(&*random::<Mlp>(1), 2, "mlp");
    reusing_matches_forward(&*random::<DeepMlp>(3), 4, "deep mlp");
    reusing_matches_forward(&*random::<WideInput>(5), 6, "wide input");
}

#[test]
fn cnn_reusing_is_bit_identical() {
    let mut m = random::<Cnn>(7);
    let mut rng = Rng::new(8);
    let bn = &mut m.1 .0;
    for c in 0..4 {
        bn.running_mean[c] = 0.3 * rng.normal();
        bn.running_var[c] = rng.uniform_range(0.5, 2.0);
    }
    reusing_matches_forward(&*m, 9, "cnn");
}

#[test]
fn every_layer_reusing_is_bit_identical() {
    reusing_matches_forward(&*random::<Zoo>(10), 11, "zoo");
    reusing_matches_forward(&*random::<LeftNested>(12), 13, "left-nested");
    reusing_matches_forward(&*random::<BlockFirst>(22), 23, "block first");
    // each leaf on its own: forward_flat is forward
    reusing_matches_forward(&*random::<Conv1d<2, 16, 4, 14, 3>>(14), 15, "conv1d");
    reusing_matches_forward(&*random::<Residual<Bottleneck>>(16), 17, "bottleneck");
}

/// A U-Net: the skip input stays in the current buffer while the body runs in the rest.
type Down = neurite::Seq![
    MaxPool2d<4, 8, 8, 4, 4, 2>,
    Conv2d<4, 4, 4, 4, 4, 4, 3, 3, 1, 1>,
    ActOn<Relu, Img<4, 4, 4>>,
    ConvTranspose2d<4, 4, 4, 4, 8, 8, 2, 2, 2>,
];
type UNet = neurite::Seq![
    Conv2d<1, 8, 8, 4, 8, 8, 3, 3, 1, 1>,
    ActOn<Relu, Img<4, 8, 8>>,
    Concat<Down, Img<4, 8, 8>, Img<8, 8, 8>>,
    Conv2d<8, 8, 8, 2, 8, 8, 1, 1>,
    Flatten<2, 8, 8, 128>,
    Dense<128, 3>,
];
/// A concat first, one nested in another's body, and 1-D pools.
type NestedConcat = neurite::Seq![
    Concat<
        neurite::Seq![
            MaxPool1d<2, 8, 4, 2>,
            Concat<AvgPool1d<2, 4, 4, 3, 1, 1>, [[f32; 4]; 2], [[f32; 4]; 4]>,
            Flatten1d<4, 4, 16>,
        ],
        [[f32; 8]; 2],
        [f32; 32],
    >,
    Dense<32, 4>,
];

#[test]
fn concat_reusing_is_bit_identical() {
    reusing_matches_forward(&*random::<UNet>(24), 25, "unet");
    reusing_matches_forward(&*random::<NestedConcat>(26), 27, "nested concat");
    reusing_matches_forward(
        &*random::<Concat<Down, Img<4, 8, 8>, Img<8, 8, 8>>>(28),
        29,
        "concat alone",
    );
    // A narrow output and a wide body: the skip input and the body's scratch set the width.
    type Wide = Concat<neurite::Seq![Dense<4, 32>, ReluN<32>, Dense<32, 1>], [f32; 4], [f32; 5]>;
    reusing_matches_forward(&*random::<neurite::Seq![Wide, Dense<5, 2>]>(30), 31, "wide body");
    reusing_matches_forward(&*random::<Wide>(32), 33, "wide body alone");
    assert_eq!(<Wide as Infer>::MAX_WIDTH, 4 + <Wide as Infer>::SCRATCH_WIDTH);
    // The skip input plus the body's scratch, or the output if wider.
    type Block = Concat<Down, Img<4, 8, 8>, Img<8, 8, 8>>;
    assert_eq!(<Block as Infer>::SCRATCH_WIDTH, <Down as Infer>::SCRATCH_WIDTH);
    let want = (256 + <Down as Infer>::SCRATCH_WIDTH).max(512);
    assert_eq!(<Block as Infer>::MAX_WIDTH, want);
}

#[test]
fn short_buffers_fall_back_to_forward() {
    let m = random::<Cnn>(18);
    let x: Img<1, 8, 8> = random_input(&mut Rng::new(19));
    let mut reference = [0.0; 10];
    m.forward(&x, &mut reference);
    for (la, lb) in [(0, 0), (255, 256), (256, 255), (10, 1000)] {
        let (mut a, mut b) = (vec![f32::NAN; la], vec![f32::NAN; lb]);
        let mut y = [0.0; 10];
        m.forward_reusing(&x, &mut y, &mut a, &mut b);
        assert_eq!(bits(&y), bits(&reference), "buffers {la}, {lb}");
        // untouched: the fallback is `forward`, on the stack
        assert!(a.iter().chain(&b).all(|v| v.is_nan()));
    }
    // the scratch path with short buffers does not panic (its result is unspecified)
    let (mut a, mut b) = (vec![0.0; 7], vec![0.0; 300]);
    let mut y = [0.0; 10];
    m.forward_scratch(Vector::as_slice(&x), &mut y, &mut a, &mut b);
    m.forward_chain(&mut a, &mut b, &mut y);
    m.forward_flat(&[1.0; 3], &mut y);
}

/// Bytes of `n` values.
const fn f32s(n: usize) -> usize {
    4 * n
}

#[test]
fn mlp_figures() {
    // intermediate outputs of Dense<64,64> and Relu<64>: 64 each
    let sum = f32s(64 + 64);
    assert_eq!(<Mlp as Infer>::MAX_WIDTH, 64);
    assert_eq!(<Mlp as Infer>::SCRATCH_WIDTH, 64);
    assert_eq!(activation_buffers::<Mlp>(), f32s(2 * 64));
    assert_eq!(activation_buffers::<Mlp>(), 512);
    // forward's stack holds exactly the trace's values
    assert_eq!(size_of::<<Mlp as Layer>::Trace>(), sum);
    // two layers in the middle: the two buffers are the sum (no gain yet)
    assert!(activation_buffers::<Mlp>() <= sum);

    // four 64-wide intermediate outputs: reuse halves them
    let deep_sum = f32s(4 * 64);
    assert_eq!(<DeepMlp as Infer>::SCRATCH_WIDTH, 64);
    assert_eq!(size_of::<<DeepMlp as Layer>::Trace>(), deep_sum);
    assert_eq!(activation_buffers::<DeepMlp>(), 512);
    assert_eq!(deep_sum, 1024);
    assert!(activation_buffers::<DeepMlp>() < deep_sum);

    // the input is the caller's: the buffers hold only the 32-wide intermediates
    assert_eq!(<WideInput as Infer>::MAX_WIDTH, 784);
    assert_eq!(<WideInput as Infer>::SCRATCH_WIDTH, 32);
    assert_eq!(activation_buffers::<WideInput>(), f32s(2 * 32));

    let inf = inference_reusing::<Mlp>();
    assert_eq!(inf.buffers, f32s(64 + 10) + 512);
    assert_eq!(inf.params, inference::<Mlp>().params);
    assert_eq!(inf.ram(), inference::<Mlp>().ram() + 512);
}

#[test]
fn cnn_figures() {
    // widest activation: the first convolution's output, 4 x 8 x 8
    assert_eq!(<Cnn as Infer>::MAX_WIDTH, 4 * 8 * 8);
    assert_eq!(<Cnn as Infer>::MAX_WIDTH, 256);
    // conv -> batch norm reads 256 and writes 256: the widest adjacent pair
    assert_eq!(<Cnn as Infer>::SCRATCH_WIDTH, 256);
    // the residual block keeps its 64-value input while its 64-wide body runs
    assert_eq!(<Residual<Block> as Infer>::SCRATCH_WIDTH, 64);
    assert_eq!(<Residual<Block> as Infer>::MAX_WIDTH, 64 + 64);
    assert_eq!(<Block as Infer>::MAX_WIDTH, 64);

    // forward's stack: every intermediate output at once
    let sum = f32s(
        256 // conv
        + 256 // batch norm
        + 256 // relu
        + 64 // max pool
        + 64 // inside the residual block: its convolution's output
        + 64 // residual block
        + 64, // flatten
    );
    assert_eq!(sum, 4096);
    assert_eq!(size_of::<<Cnn as Layer>::Trace>(), sum);

    let reuse = activation_buffers::<Cnn>();
    assert_eq!(reuse, f32s(2 * 256));
    assert_eq!(reuse, 2048);
    assert!(reuse < sum, "{reuse} bytes reused, {sum} bytes on forward's stack");

    let inf = inference_reusing::<Cnn>();
    assert_eq!(inf.buffers, f32s(64 + 10) + 2048);
    assert_eq!(inf.buffers, inference::<Cnn>().buffers + reuse);
}

#[test]
fn zoo_figures() {
    // Residual<Bottleneck>: input 56 kept, the body's 96-wide intermediates beside it
    assert_eq!(<Bottleneck as Infer>::SCRATCH_WIDTH, 96);
    assert_eq!(<Residual<Bottleneck> as Infer>::MAX_WIDTH, 56 + 96);
    // in the chain: Flatten1d writes 56 into `b`, the block reads it there and needs 96
    // more in `b` (and 96 in `a`) -> 152 is the widest need
    assert_eq!(<Zoo as Infer>::MAX_WIDTH, 152);
    assert_eq!(<Zoo as Infer>::SCRATCH_WIDTH, 152);
    // the block's output (56) and its body's scratch (96) share the first buffer
    assert_eq!(<BlockFirst as Infer>::SCRATCH_WIDTH, 56 + 96);
    assert_eq!(<BlockFirst as Infer>::MAX_WIDTH, 56 + 96);
    // a left-nested head needs its own scratch beside its output: 24 + 24
    assert_eq!(<LeftNested as Infer>::SCRATCH_WIDTH, 48);
    // a single-layer body needs no scratch
    assert_eq!(<Residual<Dense<5, 5>> as Infer>::MAX_WIDTH, 5);
    assert_eq!(<Residual<Dense<5, 5>> as Infer>::SCRATCH_WIDTH, 0);
}

// A firmware's compile-time check of its buffer length.
const BUF: usize = 256;
const _: () = assert!(BUF >= <Cnn as Infer>::SCRATCH_WIDTH);

#[test]
fn static_buffers_as_on_a_microcontroller() {
    let m = random::<Cnn>(20);
    let x: Img<1, 8, 8> = random_input(&mut Rng::new(21));
    let (mut a, mut b) = ([0.0f32; BUF], [0.0f32; BUF]);
    let (mut y, mut reference) = ([0.0; 10], [0.0; 10]);
    m.forward_reusing(&x, &mut y, &mut a, &mut b);
    m.forward(&x, &mut reference);
    assert_eq!(bits(&y), bits(&reference));
}
