//! The new typed layers against their runtime-shaped counterparts, bit for bit: a small
//! U-Net (`Concat` around a down-and-up body with `MaxPool2d` and `ConvTranspose2d`) and a
//! 1-D model (`Conv1d`, `MaxPool1d`, `AvgPool1d`), with the same weights, give identical
//! outputs, per-sample losses, input gradients and parameter gradients (eval mode). The
//! typed minibatch path (`BatchLayer`, `Concat`'s own impl) gives the per-sample path's bits.

use neurite::activation::Relu;
use neurite::layer::{
    ActOn, AvgPool1d, BatchLayer, Concat, Conv1d, Conv2d, ConvTranspose2d, Ctx, Dense, Flatten,
    Flatten1d, Layer, MaxPool1d, MaxPool2d,
};
use neurite::loss::{CrossEntropy, Target};
use neurite::params::{Params, Vector, Zeroed};
use neurite::prelude::{Rng, Trainer};
use neurite_host::dynamic::{parse_spec, DynModel, DynTrainer};

type Img<const C: usize, const H: usize, const W: usize> = [[[f32; W]; H]; C];

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

const UNET_SPEC: &str = "conv2d(4,3,padding=1),relu,concat(maxpool2d(2),conv2d(4,3,padding=1),\
                         relu,conv_transpose2d(4,2,stride=2)),conv2d(2,1),flatten,dense(3)";

/// Both 1-D pools (stride 2 with padding, default stride; stride 1 with padding inside a
/// concat of a 1-D body).
type Seq1d = neurite::Seq![
    Conv1d<2, 9, 3, 9, 3, 1, 1>,
    MaxPool1d<3, 9, 5, 3, 2, 1>,
    Concat<
        neurite::Seq![Conv1d<3, 5, 2, 5, 3, 1, 1>, AvgPool1d<2, 5, 5, 3, 1, 1>],
        [[f32; 5]; 3],
        [[f32; 5]; 5],
    >,
    AvgPool1d<5, 5, 2, 2>,
    Flatten1d<5, 2, 10>,
    Dense<10, 3>,
];

const SEQ1D_SPEC: &str = "conv1d(3,3,padding=1),maxpool1d(3,stride=2,padding=1),\
                          concat(conv1d(2,3,padding=1),avgpool1d(3,stride=1,padding=1)),\
                          avgpool1d(2),flatten,dense(3)";

/// Grouped and depthwise convolutions (a MobileNet-style depthwise-separable block).
type Grouped = neurite::Seq![
    Conv2d<2, 6, 6, 4, 6, 6, 3, 3, 1, 1, 2, 1>,
    ActOn<Relu, Img<4, 6, 6>>,
    Conv2d<4, 6, 6, 4, 3, 3, 3, 3, 2, 1, 4, 1>,
    Conv2d<4, 3, 3, 6, 3, 3, 1, 1>,
    Flatten<6, 3, 3, 54>,
    Dense<54, 3>,
];

const GROUPED_SPEC: &str = "conv2d(4,3,padding=1,groups=2),relu,\
                            conv2d(4,3,stride=2,padding=1,groups=4),conv2d(6,1),flatten,dense(3)";

fn bits(v: &[f32]) -> Vec<u32> {
    v.iter().map(|x| x.to_bits()).collect()
}

/// The typed model with random weights and the runtime-shaped one with copies of them.
fn models<M: Layer>(spec: &str, shape: &[usize], seed: u64) -> (Box<M>, DynModel) {
    let mut rng = Rng::new(seed);
    let mut s = Box::new(M::DEFAULT);
    for t in 0..M::TENSORS {
        for v in s.tensor_mut(t) {
            *v = 0.4 * rng.normal();
        }
    }
    let mut d = DynModel::build(&parse_spec(spec).unwrap(), shape).unwrap();
    assert_eq!(d.output_shape().iter().product::<usize>(), M::Output::LEN);
    {
        let mut tensors = d.tensors_mut();
        assert_eq!(tensors.len(), M::TENSORS);
        for (i, t) in tensors.iter_mut().enumerate() {
            assert_eq!(t.len(), s.tensor(i).len(), "tensor {i}");
            t.copy_from_slice(s.tensor(i));
        }
    }
    (s, d)
}

fn random_input<V: Vector>(rng: &mut Rng) -> V {
    let mut x = V::ZEROED;
    for v in x.as_mut_slice() {
        *v = rng.normal();
    }
    x
}

/// Outputs, per-sample losses, input gradients and summed parameter gradients of a batch
/// of `N` samples through both front ends (eval mode), then the typed minibatch path.
fn compare<M: Layer + BatchLayer<N>, const N: usize>(spec: &str, shape: &[usize], seed: u64) {
    let (s, mut d) = models::<M>(spec, shape, seed);
    let classes = M::Output::LEN;
    let mut rng = Rng::new(seed + 100);
    let xs: Vec<M::Input> = (0..N).map(|_| random_input(&mut rng)).collect();
    let ys: Vec<usize> = (0..N).map(|_| rng.below(classes)).collect();

    // outputs
    let mut nonzero = 0;
    for (i, x) in xs.iter().enumerate() {
        let mut y = M::Output::ZEROED;
        s.forward(x, &mut y);
        assert_eq!(bits(y.as_slice()), bits(&d.forward(x.as_slice())), "{spec}: sample {i}");
        nonzero += y.as_slice().iter().filter(|v| **v != 0.0).count();
    }
    assert!(nonzero > N, "{spec}: the test model should not be degenerate");

    // losses and gradients
    let loss = CrossEntropy { weight: None, label_smoothing: 0.05 };
    let rows: Vec<&[f32]> = xs.iter().map(Vector::as_slice).collect();
    let targets: Vec<Target<'_>> = ys.iter().map(|&y| Target::Class(y)).collect();
    let mut st = Box::new(Trainer::<M>::new());
    let mut dt = DynTrainer::new(&d);
    dt.train_mode = false;
    st.begin();
    dt.begin();
    let (losses, ddx) = dt.accumulate_batch(&mut d, &loss, &rows, &targets, true).unwrap();
    let ddx = ddx.unwrap().to_vec();
    let n_in = M::Input::LEN;
    for (i, x) in xs.iter().enumerate() {
        let mut dx = M::Input::ZEROED;
        let ls = st.accumulate_with_input_grad(&s, &loss, x, targets[i], &mut dx).unwrap();
        assert_eq!(ls.to_bits(), losses[i].to_bits(), "{spec}: loss, sample {i}");
        assert_eq!(
            bits(dx.as_slice()),
            bits(&ddx[i * n_in..(i + 1) * n_in]),
            "{spec}: input grad, sample {i}"
        );
        assert!(dx.as_slice().iter().any(|v| *v != 0.0));
    }
    for (i, g) in dt.grads.iter().enumerate() {
        assert_eq!(bits(g), bits(st.grads.tensor(i)), "{spec}: grad of tensor {i}");
        assert!(g.iter().any(|v| *v != 0.0), "{spec}: tensor {i} has no gradient");
    }

    // The typed minibatch path: forward_batch and backward_batch give the per-sample bits.
    let (mut m, _) = models::<M>(spec, shape, seed);
    let x: [M::Input; N] = core::array::from_fn(|i| {
        let mut v = M::Input::ZEROED;
        v.as_mut_slice().copy_from_slice(xs[i].as_slice());
        v
    });
    let mut trace = Box::new(<M as BatchLayer<N>>::BatchTrace::ZEROED);
    let mut y: [M::Output; N] = core::array::from_fn(|_| M::Output::ZEROED);
    m.forward_batch(&mut Ctx::eval(), &x, &mut trace, &mut y);
    let mut dy: [M::Output; N] = core::array::from_fn(|_| M::Output::ZEROED);
    let mut per_sample_grads = Box::new(M::Grads::ZEROED);
    let mut per_sample_dx = Vec::new();
    for n in 0..N {
        let mut want = M::Output::ZEROED;
        s.forward(&x[n], &mut want);
        assert_eq!(bits(y[n].as_slice()), bits(want.as_slice()), "{spec}: batch output {n}");
        for v in dy[n].as_mut_slice() {
            *v = rng.normal();
        }
        let mut t = Box::new(M::Trace::ZEROED);
        let mut out = M::Output::ZEROED;
        s.forward_trace(&mut Ctx::eval(), &x[n], &mut t, &mut out);
        let mut dx = M::Input::ZEROED;
        s.backward(&x[n], &t, &dy[n], &mut dx, &mut per_sample_grads);
        per_sample_dx.push(bits(dx.as_slice()));
    }
    let mut grads = Box::new(M::Grads::ZEROED);
    let mut dx: [M::Input; N] = core::array::from_fn(|_| M::Input::ZEROED);
    m.backward_batch(&x, &trace, &dy, &mut dx, &mut grads);
    for n in 0..N {
        assert_eq!(bits(dx[n].as_slice()), per_sample_dx[n], "{spec}: batch input grad {n}");
    }
    for t in 0..M::Grads::TENSORS {
        assert_eq!(
            bits(grads.tensor(t)),
            bits(per_sample_grads.tensor(t)),
            "{spec}: batch grad {t}"
        );
    }
    let mut grads_only = Box::new(M::Grads::ZEROED);
    m.backward_params_batch(&x, &trace, &dy, &mut grads_only);
    for t in 0..M::Grads::TENSORS {
        assert_eq!(bits(grads_only.tensor(t)), bits(grads.tensor(t)), "{spec}: params-only {t}");
    }
}

#[test]
fn unet_matches_the_runtime_shaped_model_bit_for_bit() {
    compare::<UNet, 4>(UNET_SPEC, &[1, 8, 8], 1);
}

#[test]
fn pool1d_model_matches_the_runtime_shaped_model_bit_for_bit() {
    compare::<Seq1d, 4>(SEQ1D_SPEC, &[2, 9], 2);
}

#[test]
fn grouped_and_depthwise_convs_match_the_runtime_shaped_model_bit_for_bit() {
    compare::<Grouped, 4>(GROUPED_SPEC, &[2, 6, 6], 3);
}
