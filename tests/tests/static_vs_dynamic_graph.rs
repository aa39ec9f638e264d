//! A graph model built from const-generic layers (`GcnConv`, `ActOn`, `GraphMeanPool`,
//! `Dense`) and the same model built at run time from a spec string, on the same directed,
//! weighted graph with the same weights, give bit-identical outputs, losses, parameter
//! gradients, input gradients and trained weights: both front ends call the same kernels
//! (`neurite::kernel::graph`) in the same order.

use neurite::activation::{Relu, Tanh};
use neurite::layer::{ActOn, Dense, GcnConv, GraphMeanPool, Infer, Layer};
use neurite::loss::{CrossEntropy, Reduction, Target};
use neurite::optim::{Adam, AdamConfig, Optimizer};
use neurite::params::{Params, Vector, Zeroed};
use neurite::prelude::{Rng, Trainer};
use neurite_host::dynamic::layers::gcn_conv::set_adjacency;
use neurite_host::dynamic::{parse_spec, DynModel, DynOptimizer, DynTrainer};

const N: usize = 5;
type Signal<const F: usize> = [[f32; F]; N];

type Model = neurite::Seq![
    GcnConv<N, 3, 8>,
    ActOn<Relu, Signal<8>>,
    GcnConv<N, 8, 4>,
    ActOn<Tanh, Signal<4>>,
    GraphMeanPool<N, 4>,
    Dense<4, 3>,
];

const SPEC: &str = "gcn_conv(8),relu,gcn_conv(4),tanh,graph_mean_pool,dense(3)";

/// Row i: what node i receives. Node 2 has its own loop, node 3 only sends, node 4 is alone.
const ADJ: [[f32; N]; N] = [
    [0.0, 1.0, 0.5, 0.0, 0.0],
    [1.0, 0.0, 0.0, 2.0, 0.0],
    [0.5, 0.0, 1.0, 0.0, 0.0],
    [0.0, 1.0, 0.0, 0.0, 0.0],
    [0.0, 0.0, 0.0, 0.0, 0.0],
];

const SAMPLES: usize = 6;

fn bits(v: &[f32]) -> Vec<u32> {
    v.iter().map(|x| x.to_bits()).collect()
}

/// The typed model with random weights, and the runtime-shaped one with copies of them.
fn models(seed: u64) -> (Model, DynModel) {
    let mut rng = Rng::new(seed);
    let mut s = Model::DEFAULT;
    for t in 0..Model::TENSORS {
        for v in s.tensor_mut(t) {
            *v = 0.5 * rng.normal();
        }
    }
    s.0.set_adjacency(&ADJ);
    s.1 .1 .0.set_adjacency(&ADJ);
    let mut d = DynModel::build(&parse_spec(SPEC).unwrap(), &[N, 3]).unwrap();
    assert_eq!(set_adjacency(&mut d, ADJ.as_flattened()), Ok(2));
    assert_eq!(d.output_shape(), &[3]);
    let mut tensors = d.tensors_mut();
    assert_eq!(tensors.len(), Model::TENSORS);
    for (i, t) in tensors.iter_mut().enumerate() {
        assert_eq!(t.len(), s.tensor(i).len(), "tensor {i}");
        t.copy_from_slice(s.tensor(i));
    }
    (s, d)
}

fn inputs(rng: &mut Rng) -> (Vec<Signal<3>>, Vec<usize>) {
    let xs = (0..SAMPLES)
        .map(|_| core::array::from_fn(|_| core::array::from_fn(|_| rng.normal())))
        .collect();
    let ys = (0..SAMPLES).map(|_| rng.below(3)).collect();
    (xs, ys)
}

#[test]
fn normalisation_and_init_are_the_same() {
    let (s, d) = models(1);
    let dynamic = d.layers[0]
        .as_any()
        .downcast_ref::<neurite_host::dynamic::layers::gcn_conv::GcnConv>()
        .unwrap();
    assert_eq!(bits(s.0.normalized().as_flattened()), bits(&dynamic.normalized()));
    let init = neurite::init::LayerInit::XAVIER;
    let (mut s2, mut d2) = (Model::DEFAULT, d.clone());
    s2.init(&init, &mut Rng::new(9));
    d2.init(&init, &mut Rng::new(9));
    for (i, t) in d2.tensors().iter().enumerate() {
        assert_eq!(bits(t), bits(s2.tensor(i)), "initialised tensor {i}");
    }
}

#[test]
fn outputs_are_bit_identical() {
    let (s, d) = models(1);
    let (xs, _) = inputs(&mut Rng::new(2));
    for (i, x) in xs.iter().enumerate() {
        let mut y = [0.0; 3];
        s.forward(x, &mut y);
        assert_eq!(bits(&y), bits(&d.forward(Vector::as_slice(x))), "sample {i}");
        assert!(y.iter().all(|v| *v != 0.0));
    }
}

/// One batch through both trainers; checks losses, input gradients and parameter gradients
/// (unscaled, then after the mean reduction).
fn batch_grads_match(
    s: &Model,
    d: &mut DynModel,
    st: &mut Trainer<Model>,
    dt: &mut DynTrainer,
    xs: &[Signal<3>],
    ys: &[usize],
    what: &str,
) {
    let loss = CrossEntropy::default();
    let rows: Vec<&[f32]> = xs.iter().map(Vector::as_slice).collect();
    let targets: Vec<Target<'_>> = ys.iter().map(|&y| Target::Class(y)).collect();
    st.begin();
    dt.begin();
    let (losses, ddx) = dt.accumulate_batch(d, &loss, &rows, &targets, true).unwrap();
    let ddx = ddx.unwrap().to_vec();
    let per = N * 3;
    for (i, x) in xs.iter().enumerate() {
        let mut dx = <Signal<3>>::ZEROED;
        let ls = st.accumulate_with_input_grad(s, &loss, x, targets[i], &mut dx).unwrap();
        assert_eq!(
            bits(Vector::as_slice(&dx)),
            bits(&ddx[i * per..(i + 1) * per]),
            "{what}: input grad, sample {i}"
        );
        assert_eq!(ls.to_bits(), losses[i].to_bits(), "{what}: loss, sample {i}");
    }
    for (i, g) in dt.grads.iter().enumerate() {
        assert_eq!(bits(g), bits(st.grads.tensor(i)), "{what}: summed grad of tensor {i}");
        assert!(g.iter().any(|v| *v != 0.0), "{what}: tensor {i} has no gradient");
    }
    let (a, _) = st.finish(&loss, Reduction::Mean).unwrap();
    let (b, _) = dt.finish(&loss, Reduction::Mean, 3).unwrap();
    assert_eq!(a.to_bits(), b.to_bits(), "{what}: batch loss");
}

#[test]
fn training_is_bit_identical() {
    let (mut s, mut d) = models(5);
    let cfg = AdamConfig::adam(0.01);
    let mut opt = Adam::<<Model as Layer>::Grads>::new(cfg).unwrap();
    let lens: Vec<usize> = d.tensors().iter().map(|t| t.len()).collect();
    let mut dopt = DynOptimizer::Adam(cfg, false).build(&lens).unwrap();
    let mut st = Trainer::<Model>::new();
    let mut dt = DynTrainer::new(&d);
    let mut rng = Rng::new(6);
    for step in 0..8 {
        let (xs, ys) = inputs(&mut rng);
        batch_grads_match(&s, &mut d, &mut st, &mut dt, &xs, &ys, &format!("step {step}"));
        opt.step(&mut s, &st.grads);
        dopt.step(&mut d.tensors_mut(), &dt.grads);
    }
    for (i, t) in d.tensors().iter().enumerate() {
        assert_eq!(bits(t), bits(s.tensor(i)), "trained tensor {i}");
    }
    let (xs, _) = inputs(&mut rng);
    for x in &xs {
        let mut y = [0.0; 3];
        s.forward(x, &mut y);
        assert_eq!(bits(&y), bits(&d.forward(Vector::as_slice(x))), "output after training");
    }
}
