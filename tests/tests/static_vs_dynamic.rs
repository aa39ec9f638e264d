//! The same model built from const-generic layers and from a spec string, with the same
//! weights, gives bit-identical outputs, gradients and trained weights: both front ends call
//! the same kernels in the same order.

use neurite::init::LayerInit;
use neurite::layer::{Dense, Gelu, Infer, Layer, Prelu, Tanh};
use neurite::loss::{CrossEntropy, Huber, Loss, Reduction, Target};
use neurite::optim::{AdamConfig, AmsGrad, Optimizer, SgdConfig, SgdMomentum};
use neurite::params::Params;
use neurite::prelude::{Rng, Trainer};
use neurite_host::dynamic::{parse_spec, DynModel, DynOptimizer, DynTrainer};

type Model = neurite::Seq![Dense<4, 8>, Gelu<8>, Dense<8, 6>, Prelu<6, 6>, Dense<6, 5>, Tanh<5>, Dense<5, 3>];
const SPEC: &str = "dense(8),gelu,dense(6),prelu(channel),dense(5),tanh,dense(3)";

fn bits(v: &[f32]) -> Vec<u32> {
    v.iter().map(|x| x.to_bits()).collect()
}

fn models(seed: u64) -> (Model, DynModel) {
    let mut s = Model::DEFAULT;
    s.init(&LayerInit::TORCH_DEFAULT, &mut Rng::new(seed));
    let mut d = DynModel::build(&parse_spec(SPEC).unwrap(), &[4]).unwrap();
    d.init(&LayerInit::TORCH_DEFAULT, &mut Rng::new(seed));
    // both initialisers walk dense layers in order with the same generator
    for (i, t) in d.tensors().iter().enumerate() {
        assert_eq!(bits(t), bits(s.tensor(i)), "init of tensor {i}");
    }
    (s, d)
}

fn batch(rng: &mut Rng) -> (Vec<[f32; 4]>, Vec<usize>) {
    let xs = (0..7).map(|_| core::array::from_fn(|_| 2.0 * rng.normal())).collect();
    let ys = (0..7).map(|_| rng.below(3)).collect();
    (xs, ys)
}

fn run<O: Optimizer<<Model as Layer>::Grads>>(
    mut opt: O,
    dyn_opt: DynOptimizer,
    loss: &dyn Loss,
    targets: impl Fn(usize) -> Target<'static>,
) {
    let (mut s, mut d) = models(3);
    let mut rng = Rng::new(4);
    let (xs, _) = batch(&mut rng);
    let lens: Vec<usize> = d.tensors().iter().map(|t| t.len()).collect();
    let mut dopt = dyn_opt.build(&lens).unwrap();
    let mut st = Trainer::<Model>::new();
    let mut dt = DynTrainer::new(&d);
    for step in 0..25 {
        st.begin();
        dt.begin();
        // The runtime-shaped model takes the whole minibatch at once (its batch path); the
        // typed core goes sample by sample: the same bits.
        let rows: Vec<&[f32]> = xs.iter().map(|x| &x[..]).collect();
        let ts: Vec<Target<'_>> = (0..xs.len()).map(&targets).collect();
        let (dlosses, ddx) = dt.accumulate_batch(&mut d, loss, &rows, &ts, true).unwrap();
        let ddx = ddx.unwrap().to_vec();
        for (i, x) in xs.iter().enumerate() {
            let mut y = [0.0; 3];
            s.forward(x, &mut y);
            assert_eq!(bits(&y), bits(&d.forward(x)), "output, step {step} sample {i}");
            let mut dx = [0.0; 4];
            let ls = st.accumulate_with_input_grad(&s, loss, x, targets(i), &mut dx).unwrap();
            assert_eq!(ls.to_bits(), dlosses[i].to_bits(), "loss, step {step}");
            assert_eq!(bits(&dx), bits(&ddx[4 * i..4 * i + 4]), "input grad, step {step}");
        }
        let (a, _) = st.finish(loss, Reduction::Mean).unwrap();
        let (b, _) = dt.finish(loss, Reduction::Mean, 3).unwrap();
        assert_eq!(a.to_bits(), b.to_bits());
        for (i, g) in dt.grads.iter().enumerate() {
            assert_eq!(bits(g), bits(st.grads.tensor(i)), "grad {i}, step {step}");
        }
        opt.step(&mut s, &st.grads);
        dopt.step(&mut d.tensors_mut(), &dt.grads);
    }
    for (i, t) in d.tensors().iter().enumerate() {
        assert_eq!(bits(t), bits(s.tensor(i)), "trained tensor {i}");
    }
}

#[test]
fn adam_amsgrad_cross_entropy_bit_identical() {
    let cfg = AdamConfig { weight_decay: 0.01, amsgrad: true, ..AdamConfig::adam(0.01) };
    let loss = CrossEntropy { weight: None, label_smoothing: 0.1 };
    let (_, ys) = batch(&mut Rng::new(4));
    let ys: &'static [usize] = Box::leak(ys.into_boxed_slice());
    run(
        AmsGrad::<<Model as Layer>::Grads>::new(cfg).unwrap(),
        DynOptimizer::Adam(cfg, true),
        &loss,
        |i| Target::Class(ys[i]),
    );
}

#[test]
fn sgd_nesterov_huber_bit_identical() {
    let rows: &'static [[f32; 3]] = Box::leak(
        (0..7)
            .map(|i| [i as f32 * 0.3 - 1.0, 0.5, -0.25 * i as f32])
            .collect::<Vec<_>>()
            .into_boxed_slice(),
    );
    let cfg =
        SgdConfig { momentum: 0.9, nesterov: true, weight_decay: 1e-3, ..SgdConfig::new(0.05) };
    let opt = SgdMomentum::<<Model as Layer>::Grads>::new(cfg).unwrap();
    run(opt, DynOptimizer::Sgd(cfg), &Huber { delta: 0.7 }, |i| Target::Values(&rows[i]));
}

/// Layers wider than the blocked backend's register tiles (16 values) and a batch that is
/// not a multiple of its 4 rows: the runtime-shaped model's default (blocked, AVX when the
/// CPU has it) batch path against the typed core, sample by sample, for 10 Adam steps.
#[test]
fn wide_layers_through_the_blocked_backend_bit_identical() {
    type Wide = neurite::Seq![Dense<37, 33>, neurite::layer::Relu<33>, Dense<33, 18>];
    let mut s = Wide::DEFAULT;
    s.init(&LayerInit::HE_RELU, &mut Rng::new(8));
    let mut d = DynModel::build(&parse_spec("dense(33),relu,dense(18)").unwrap(), &[37]).unwrap();
    d.init(&LayerInit::HE_RELU, &mut Rng::new(8));
    let mut rng = Rng::new(9);
    let xs: Vec<[f32; 37]> = (0..11).map(|_| core::array::from_fn(|_| rng.normal())).collect();
    let ys: Vec<usize> = (0..11).map(|_| rng.below(18)).collect();
    let cfg = AdamConfig::adam(0.01);
    let mut opt = neurite::optim::Adam::<<Wide as Layer>::Grads>::new(cfg).unwrap();
    let lens: Vec<usize> = d.tensors().iter().map(|t| t.len()).collect();
    let mut dopt = DynOptimizer::Adam(cfg, false).build(&lens).unwrap();
    let (mut st, mut dt) = (Trainer::<Wide>::new(), DynTrainer::new(&d));
    let loss = CrossEntropy::default();
    for step in 0..10 {
        let rows: Vec<&[f32]> = xs.iter().map(|x| &x[..]).collect();
        let ts: Vec<Target<'_>> = ys.iter().map(|&y| Target::Class(y)).collect();
        dt.begin();
        let (_, ddx) = dt.accumulate_batch(&mut d, &loss, &rows, &ts, true).unwrap();
        let ddx = ddx.unwrap().to_vec();
        st.begin();
        for (i, x) in xs.iter().enumerate() {
            let mut dx = [0.0; 37];
            st.accumulate_with_input_grad(&s, &loss, x, Target::Class(ys[i]), &mut dx).unwrap();
            assert_eq!(bits(&dx), bits(&ddx[37 * i..37 * (i + 1)]), "input grad, step {step}");
        }
        st.finish(&loss, Reduction::Mean).unwrap();
        dt.finish(&loss, Reduction::Mean, 18).unwrap();
        for (i, g) in dt.grads.iter().enumerate() {
            assert_eq!(bits(g), bits(st.grads.tensor(i)), "grad {i}, step {step}");
        }
        opt.step(&mut s, &st.grads);
        dopt.step(&mut d.tensors_mut(), &dt.grads);
    }
    let mut ws = neurite_host::dynamic::Workspace::default();
    let flat: Vec<f32> = xs.iter().flatten().copied().collect();
    let out =
        d.forward_batch(&neurite_host::dynamic::backend::DEFAULT, &flat, 11, &mut ws).to_vec();
    for (i, x) in xs.iter().enumerate() {
        let mut y = [0.0; 18];
        s.forward(x, &mut y);
        assert_eq!(bits(&y), bits(&out[18 * i..18 * (i + 1)]), "trained output {i}");
    }
}
