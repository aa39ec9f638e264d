//! Typed minibatch training (`BatchLayer`, `BatchTrainer<M, B>`) with batch norm in TRAIN
//! mode against the runtime-shaped model (`DynTrainer::accumulate_batch`, `train_mode =
//! true`) on the same `B` samples: bit-identical per-sample losses, outputs, parameter
//! gradients (summed, then reduced), input gradients, running statistics after every step,
//! and parameters after several optimiser steps. Models: a CNN with `BatchNorm2d` (the one of
//! `static_vs_dynamic_cnn.rs`) at `B = 4` and `B = 8`; `Dense -> BatchNorm1d -> Tanh ->
//! Dense`; one with two dropouts drawing from a seeded generator (the batch path draws layer
//! by layer, as the runtime-shaped model). Also: eval mode, a model without batch norm
//! (equal to the per-sample `Trainer`), the error path, and the RAM figures.

use neurite::activation::Relu;
use neurite::layer::{
    ActOn, BatchLayer, BatchNorm1d, BatchNorm2d, Conv2d, Dense, Dropout, Flatten, Layer, MaxPool2d,
    Relu as ReluLayer, Residual, Tanh,
};
use neurite::loss::{CrossEntropy, Reduction, Target};
use neurite::optim::{Adam, AdamConfig, Optimizer, Sgd, SgdConfig};
use neurite::params::{Params, Vector, Zeroed};
use neurite::prelude::{BatchTrainer, Rng, Trainer};
use neurite::Error;
use neurite_host::dynamic::{parse_spec, DynModel, DynOptimizer, DynTrainer};

type Img<const C: usize, const H: usize, const W: usize> = [[[f32; W]; H]; C];

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

type Mlp = neurite::Seq![Dense<6, 8>, BatchNorm1d<8>, Tanh<8>, Dense<8, 3>];

type DropMlp = neurite::Seq![
    Dense<6, 8>,
    BatchNorm1d<8>,
    ReluLayer<8>,
    Dropout<[f32; 8]>,
    Dense<8, 8>,
    Dropout<[f32; 8]>,
    Dense<8, 3>,
];

type NoBn = neurite::Seq![Dense<6, 8>, Tanh<8>, Dense<8, 3>];

/// A typed model with one batch norm, and the spec of the same model.
trait Case: Layer + Sized {
    const SPEC: &'static str;
    const SHAPE: &'static [usize];
    const CLASSES: usize;
    /// `(running_mean, running_var)` of the batch norm (none: empty).
    fn stats(&self) -> (&[f32], &[f32]);
    fn stats_mut(&mut self) -> (&mut [f32], &mut [f32]);
    /// Sets anything the spec sets besides the parameters (dropout rates).
    fn configure(&mut self) {}
}

impl Case for Cnn {
    const SPEC: &'static str = "conv2d(4,3,padding=1),batchnorm2d,relu,maxpool2d(2),\
                                residual(conv2d(4,3,padding=1),relu),flatten,dense(10)";
    const SHAPE: &'static [usize] = &[1, 8, 8];
    const CLASSES: usize = 10;
    fn stats(&self) -> (&[f32], &[f32]) {
        (&self.1 .0.running_mean, &self.1 .0.running_var)
    }
    fn stats_mut(&mut self) -> (&mut [f32], &mut [f32]) {
        let bn = &mut self.1 .0;
        (&mut bn.running_mean, &mut bn.running_var)
    }
}

impl Case for Mlp {
    const SPEC: &'static str = "dense(8),batchnorm1d,tanh,dense(3)";
    const SHAPE: &'static [usize] = &[6];
    const CLASSES: usize = 3;
    fn stats(&self) -> (&[f32], &[f32]) {
        (&self.1 .0.running_mean, &self.1 .0.running_var)
    }
    fn stats_mut(&mut self) -> (&mut [f32], &mut [f32]) {
        let bn = &mut self.1 .0;
        (&mut bn.running_mean, &mut bn.running_var)
    }
}

impl Case for DropMlp {
    const SPEC: &'static str =
        "dense(8),batchnorm1d,relu,dropout(0.3),dense(8),dropout(0.2),dense(3)";
    const SHAPE: &'static [usize] = &[6];
    const CLASSES: usize = 3;
    fn stats(&self) -> (&[f32], &[f32]) {
        (&self.1 .0.running_mean, &self.1 .0.running_var)
    }
    fn stats_mut(&mut self) -> (&mut [f32], &mut [f32]) {
        let bn = &mut self.1 .0;
        (&mut bn.running_mean, &mut bn.running_var)
    }
    fn configure(&mut self) {
        self.1 .1 .1 .0.p = 0.3;
        self.1 .1 .1 .1 .1 .0.p = 0.2;
    }
}

impl Case for NoBn {
    const SPEC: &'static str = "dense(8),tanh,dense(3)";
    const SHAPE: &'static [usize] = &[6];
    const CLASSES: usize = 3;
    fn stats(&self) -> (&[f32], &[f32]) {
        (&[], &[])
    }
    fn stats_mut(&mut self) -> (&mut [f32], &mut [f32]) {
        (&mut [], &mut [])
    }
}

fn bits(v: &[f32]) -> Vec<u32> {
    v.iter().map(|x| x.to_bits()).collect()
}

fn random<V: Vector>(rng: &mut Rng, scale: f32) -> V {
    let mut v = V::ZEROED;
    for x in v.as_mut_slice() {
        *x = scale * rng.normal();
    }
    v
}

/// The typed model with random weights and running statistics, and the runtime-shaped one
/// with copies of them.
fn models<M: Case>(seed: u64) -> (Box<M>, DynModel) {
    let mut rng = Rng::new(seed);
    let mut s = Box::new(M::DEFAULT);
    s.configure();
    for t in 0..M::TENSORS {
        for v in s.tensor_mut(t) {
            *v = 0.4 * rng.normal();
        }
    }
    let (mean, var) = s.stats_mut();
    for m in mean {
        *m = 0.3 * rng.normal();
    }
    for v in var {
        *v = rng.uniform_range(0.5, 2.0);
    }
    let mut d = DynModel::build(&parse_spec(M::SPEC).unwrap(), M::SHAPE).unwrap();
    assert_eq!(d.outputs(), M::CLASSES);
    {
        let mut tensors = d.tensors_mut();
        assert_eq!(tensors.len(), M::TENSORS);
        for (i, t) in tensors.iter_mut().enumerate() {
            assert_eq!(t.len(), s.tensor(i).len(), "tensor {i}");
            t.copy_from_slice(s.tensor(i));
        }
    }
    let (mean, var) = s.stats();
    let mut buffers = d.buffers_mut();
    if mean.is_empty() {
        assert!(buffers.is_empty());
    } else {
        assert_eq!(buffers.len(), 2);
        buffers[0].copy_from_slice(mean);
        buffers[1].copy_from_slice(var);
    }
    (s, d)
}

fn batch<M: Case, const B: usize>(rng: &mut Rng) -> ([M::Input; B], [usize; B]) {
    let xs = core::array::from_fn(|_| random(rng, 1.5));
    let ys = core::array::from_fn(|_| rng.below(M::CLASSES));
    (xs, ys)
}

fn assert_stats_match<M: Case>(s: &M, d: &DynModel, what: &str) {
    let (mean, var) = s.stats();
    if mean.is_empty() {
        return;
    }
    assert_eq!(bits(d.buffers()[0]), bits(mean), "{what}: running mean");
    assert_eq!(bits(d.buffers()[1]), bits(var), "{what}: running var");
}

/// One minibatch through both trainers: losses, outputs, input gradients, summed and
/// reduced parameter gradients, batch loss and running statistics.
#[allow(clippy::too_many_arguments)]
fn step_matches<M: Case + BatchLayer<B>, const B: usize>(
    s: &mut M,
    d: &mut DynModel,
    st: &mut BatchTrainer<M, B>,
    dt: &mut DynTrainer,
    xs: &[M::Input; B],
    ys: &[usize; B],
    input_grad: bool,
    what: &str,
) {
    let loss = CrossEntropy { weight: None, label_smoothing: 0.05 };
    let rows: Vec<&[f32]> = xs.iter().map(Vector::as_slice).collect();
    let targets: Vec<Target<'_>> = ys.iter().map(|&y| Target::Class(y)).collect();
    let n_in = <M::Input as Vector>::LEN;
    let n_out = <M::Output as Vector>::LEN;
    st.begin();
    dt.begin();
    let (dlosses, ddx) = dt.accumulate_batch(d, &loss, &rows, &targets, input_grad).unwrap();
    let ddx = ddx.map(<[f32]>::to_vec);
    let losses = if input_grad {
        let mut dx = [M::Input::ZEROED; B];
        let losses = st.accumulate_batch_with_input_grad(s, &loss, xs, ys, &mut dx).unwrap();
        let ddx = ddx.as_deref().unwrap();
        for (i, dx) in dx.iter().enumerate() {
            assert_eq!(
                bits(dx.as_slice()),
                bits(&ddx[i * n_in..(i + 1) * n_in]),
                "{what}: input grad, sample {i}"
            );
            assert!(dx.as_slice().iter().any(|v| *v != 0.0), "{what}: zero input grad");
        }
        losses
    } else {
        assert!(ddx.is_none());
        st.accumulate_batch(s, &loss, xs, ys).unwrap()
    };
    assert_eq!(bits(&losses), bits(&dlosses), "{what}: per-sample losses");
    for (i, y) in st.output().iter().enumerate() {
        assert_eq!(
            bits(y.as_slice()),
            bits(&dt.output()[i * n_out..(i + 1) * n_out]),
            "{what}: output, sample {i}"
        );
    }
    for (i, g) in dt.grads.iter().enumerate() {
        assert_eq!(bits(g), bits(st.grads.tensor(i)), "{what}: summed grad of tensor {i}");
        assert!(g.iter().any(|v| *v != 0.0), "{what}: tensor {i} has no gradient");
    }
    assert_stats_match(s, d, what);
    let (a, _) = st.finish(&loss, Reduction::Mean).unwrap();
    let (b, _) = dt.finish(&loss, Reduction::Mean, n_out).unwrap();
    assert_eq!(a.to_bits(), b.to_bits(), "{what}: batch loss");
    for (i, g) in dt.grads.iter().enumerate() {
        assert_eq!(bits(g), bits(st.grads.tensor(i)), "{what}: mean grad of tensor {i}");
    }
}

/// `steps` minibatches of `B` samples with an optimiser on both sides; the running
/// statistics are compared after every step, the parameters at the end.
fn training_matches<M, O, const B: usize>(
    seed: u64,
    steps: usize,
    train_mode: bool,
    dropout_seed: Option<u64>,
    mut opt: O,
    dyn_opt: DynOptimizer,
) -> (Box<M>, DynModel)
where
    M: Case + BatchLayer<B>,
    O: Optimizer<M::Grads>,
{
    let (mut s, mut d) = models::<M>(seed);
    let start = (s.stats().0.to_vec(), s.stats().1.to_vec());
    let lens: Vec<usize> = d.tensors().iter().map(|t| t.len()).collect();
    let mut dopt = dyn_opt.build(&lens).unwrap();
    let mut st = Box::new(BatchTrainer::<M, B>::new());
    let mut dt = DynTrainer::new(&d);
    st.train_mode = train_mode;
    dt.train_mode = train_mode;
    st.dropout_rng = dropout_seed.map(Rng::new);
    dt.dropout_rng = dropout_seed.map(Rng::new);
    let mut rng = Rng::new(seed + 100);
    for step in 0..steps {
        let (xs, ys) = batch::<M, B>(&mut rng);
        let what = format!("B = {B}, step {step}");
        step_matches(&mut *s, &mut d, &mut st, &mut dt, &xs, &ys, step % 2 == 0, &what);
        opt.step(&mut *s, &st.grads);
        dopt.step(&mut d.tensors_mut(), &dt.grads);
        for (i, t) in d.tensors().iter().enumerate() {
            assert_eq!(bits(t), bits(s.tensor(i)), "{what}: tensor {i} after the step");
        }
        assert_stats_match(&*s, &d, &what);
    }
    if !start.0.is_empty() {
        // Train mode moves the running statistics; eval mode leaves them alone.
        assert_eq!(s.stats().0 != start.0.as_slice(), train_mode, "running mean moved");
        assert_eq!(s.stats().1 != start.1.as_slice(), train_mode, "running var moved");
    }
    (s, d)
}

fn adam<G: Params + Zeroed>() -> (Adam<G>, DynOptimizer) {
    let cfg = AdamConfig { weight_decay: 0.01, ..AdamConfig::adam(0.01) };
    (Adam::<G>::new(cfg).unwrap(), DynOptimizer::Adam(cfg, false))
}

fn sgd<G: Params + Zeroed>() -> (Sgd<G, neurite::optim::On<G>>, DynOptimizer) {
    let cfg = SgdConfig { momentum: 0.9, ..SgdConfig::new(0.05) };
    (Sgd::new(cfg).unwrap(), DynOptimizer::Sgd(cfg))
}

#[test]
fn cnn_batchnorm2d_train_mode_b4_is_bit_identical() {
    let (opt, dopt) = adam::<<Cnn as Layer>::Grads>();
    let (s, d) = training_matches::<Cnn, _, 4>(1, 6, true, None, opt, dopt);
    // After training, inference (eval mode: running statistics) agrees too.
    let (xs, _) = batch::<Cnn, 4>(&mut Rng::new(9));
    for x in &xs {
        let mut y = [0.0; 10];
        neurite::layer::Infer::forward(&*s, x, &mut y);
        assert_eq!(bits(&y), bits(&d.forward(Vector::as_slice(x))), "output after training");
    }
}

#[test]
fn cnn_batchnorm2d_train_mode_b8_is_bit_identical() {
    let (opt, dopt) = adam::<<Cnn as Layer>::Grads>();
    training_matches::<Cnn, _, 8>(2, 5, true, None, opt, dopt);
}

#[test]
fn batchnorm1d_train_mode_is_bit_identical() {
    let (opt, dopt) = sgd::<<Mlp as Layer>::Grads>();
    training_matches::<Mlp, _, 5>(3, 8, true, None, opt, dopt);
    let (opt, dopt) = adam::<<Mlp as Layer>::Grads>();
    training_matches::<Mlp, _, 2>(4, 8, true, None, opt, dopt);
}

#[test]
fn dropout_masks_follow_the_runtime_shaped_order() {
    let (opt, dopt) = adam::<<DropMlp as Layer>::Grads>();
    training_matches::<DropMlp, _, 4>(5, 6, true, Some(11), opt, dopt);
}

#[test]
fn eval_mode_uses_and_keeps_the_running_statistics() {
    let (opt, dopt) = adam::<<Cnn as Layer>::Grads>();
    training_matches::<Cnn, _, 4>(6, 4, false, None, opt, dopt);
    let (opt, dopt) = adam::<<Mlp as Layer>::Grads>();
    training_matches::<Mlp, _, 3>(7, 4, false, None, opt, dopt);
}

/// Without batch norm (or in eval mode) the minibatch trainer equals the per-sample
/// `Trainer` bit for bit.
#[test]
fn per_sample_layers_match_the_per_sample_trainer() {
    fn check<M: Case + BatchLayer<4>>(seed: u64, train_mode: bool) {
        let (mut s, _) = models::<M>(seed);
        let mut bt = Box::new(BatchTrainer::<M, 4>::new());
        let mut pt = Box::new(Trainer::<M>::new());
        bt.train_mode = train_mode;
        pt.train_mode = train_mode;
        let loss = CrossEntropy::default();
        let mut rng = Rng::new(seed);
        for _ in 0..3 {
            let (xs, ys) = batch::<M, 4>(&mut rng);
            let mut dx = [M::Input::ZEROED; 4];
            bt.begin();
            pt.begin();
            let losses =
                bt.accumulate_batch_with_input_grad(&mut *s, &loss, &xs, &ys, &mut dx).unwrap();
            for (i, x) in xs.iter().enumerate() {
                let mut pdx = M::Input::ZEROED;
                let l = pt
                    .accumulate_with_input_grad(&*s, &loss, x, Target::Class(ys[i]), &mut pdx)
                    .unwrap();
                assert_eq!(l.to_bits(), losses[i].to_bits());
                assert_eq!(bits(pdx.as_slice()), bits(dx[i].as_slice()));
            }
            let (a, _) = bt.finish(&loss, Reduction::Sum).unwrap();
            let (b, _) = pt.finish(&loss, Reduction::Sum).unwrap();
            assert_eq!(a.to_bits(), b.to_bits());
            for i in 0..M::TENSORS {
                assert_eq!(bits(bt.grads.tensor(i)), bits(pt.grads.tensor(i)), "tensor {i}");
            }
        }
    }
    check::<NoBn>(8, true);
    check::<Mlp>(9, false);
    check::<Cnn>(10, false);
}

/// A bad sample or target changes nothing, not even the running statistics.
#[test]
fn errors_change_nothing() {
    let (mut s, _) = models::<Mlp>(12);
    let before = s.clone();
    let mut t = BatchTrainer::<Mlp, 3>::new();
    t.begin();
    let loss = CrossEntropy::default();
    let mut xs = [[0.5; 6]; 3];
    xs[2][4] = f32::NAN;
    assert!(matches!(
        t.accumulate_batch(&mut *s, &loss, &xs, &[0usize, 1, 2]),
        Err(Error::NonFinite { .. })
    ));
    xs[2][4] = 0.0;
    assert!(matches!(
        t.accumulate_batch(&mut *s, &loss, &xs, &[0usize, 1, 7]),
        Err(Error::ClassOutOfRange { .. })
    ));
    assert_eq!(*s, *before);
    assert_eq!(t.finish(&loss, Reduction::Mean), Err(Error::Empty));
    assert!(t.accumulate_batch(&mut *s, &loss, &xs, &[0usize, 1, 2]).is_ok());
    assert_ne!(s.stats().1, before.stats().1);
}

/// The RAM of minibatch training, at compile time: the figures of `neurite::batch_train`'s
/// docs (exact on a 64-bit host; the trainer's generator and batch sums hold a `usize`).
#[test]
fn footprint_of_minibatch_training() {
    use core::mem::size_of;
    use neurite::footprint::{batch_backward_stack, batch_training, training};
    type Opt = Adam<<Cnn as Layer>::Grads>;
    /// `[trainer, gradients, batch trace, outputs + output gradients, rest of the trainer,
    /// backward stack, inputs, RAM with Adam]`.
    fn figures<const B: usize>() -> [usize; 8]
    where
        Cnn: BatchLayer<B>,
    {
        let f = batch_training::<Cnn, Opt, B>();
        let trainer = size_of::<BatchTrainer<Cnn, B>>();
        let inputs = size_of::<[Img<1, 8, 8>; B]>();
        let outputs = 2 * size_of::<[[f32; 10]; B]>();
        assert_eq!(f.params, size_of::<Cnn>());
        assert_eq!(f.grads, size_of::<<Cnn as Layer>::Grads>());
        assert_eq!(f.trace, size_of::<<Cnn as BatchLayer<B>>::BatchTrace>());
        assert_eq!(f.optimizer, size_of::<Opt>());
        assert_eq!(f.grads + f.trace + f.buffers, trainer + inputs);
        let rest = trainer - f.grads - f.trace - outputs;
        [
            trainer,
            f.grads,
            f.trace,
            outputs,
            rest,
            batch_backward_stack::<Cnn, B>(),
            inputs,
            f.ram(),
        ]
    }
    let (f4, f8) = (figures::<4>(), figures::<8>());
    // Per sample: 1,024 values of intermediate outputs (4,096 bytes); the batch trace keeps
    // B of them plus the batch norm's mean and variance (2 x 4 values) and its mode flag
    // (padded to 4 bytes).
    assert_eq!(f4[2], 4 * 4096 + 2 * 16 + 4);
    assert_eq!(f8[2], 8 * 4096 + 2 * 16 + 4);
    // Backward's gradients on the stack: B x (3 x 256 + 3 x 64 values), one per link of the
    // chain (the residual body's inner one and the one after the block are never alive
    // together).
    assert_eq!(f4[5], 4 * 4 * (3 * 256 + 3 * 64));
    assert_eq!(f8[5], 8 * 4 * (3 * 256 + 3 * 64));
    // The gradients do not grow with B.
    assert_eq!(f4[1], f8[1]);
    let per_sample = training::<Cnn, Opt>();
    println!("B = 4: {f4:?}\nB = 8: {f8:?}");
    println!("per-sample: Trainer {} bytes, {per_sample:?}", size_of::<Trainer<Cnn>>());
    if cfg!(target_pointer_width = "64") {
        assert_eq!(size_of::<Cnn>(), 3424);
        assert_eq!(f4, [20176, 3384, 16420, 320, 52, 15360, 1024, 31420]);
        assert_eq!(f8, [36880, 3384, 32804, 640, 52, 30720, 2048, 49148]);
        assert_eq!(size_of::<Trainer<Cnn>>(), 7608);
        assert_eq!(per_sample.ram(), 18084);
    }
}

#[test]
fn run_batch_is_begin_accumulate_finish() {
    let loss = CrossEntropy { weight: None, label_smoothing: 0.05 };
    let (xs, ys) = batch::<Mlp, 5>(&mut Rng::new(9));
    let (mut a, _) = models::<Mlp>(6);
    let (mut b, _) = models::<Mlp>(6);
    let mut ta = Box::new(BatchTrainer::<Mlp, 5>::new());
    let mut tb = Box::new(BatchTrainer::<Mlp, 5>::new());
    let value = ta.run_batch(&mut *a, &loss, Reduction::Mean, &xs, &ys).unwrap();
    tb.begin();
    tb.accumulate_batch(&mut *b, &loss, &xs, &ys).unwrap();
    let (want, _) = tb.finish(&loss, Reduction::Mean).unwrap();
    assert!(want > 0.0);
    assert_eq!(value.to_bits(), want.to_bits(), "batch loss");
    for i in 0..<<Mlp as Layer>::Grads as Params>::TENSORS {
        assert_eq!(bits(ta.grads.tensor(i)), bits(tb.grads.tensor(i)), "gradient {i}");
    }
}
