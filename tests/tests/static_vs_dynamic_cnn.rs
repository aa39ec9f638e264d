//! A convolutional model built from const-generic layers (`Conv2d`, `BatchNorm2d`, `ActOn`,
//! `MaxPool2d`, `Residual`, `Flatten`, `Dense`) and the same model built at run time from a
//! spec string, with the same weights and running statistics, give bit-identical outputs,
//! losses, parameter gradients, input gradients and trained weights (batch norm in eval
//! mode: the per-sample typed layer uses the running statistics). Both front ends call the
//! same kernels in the same order.

use neurite::activation::Relu;
use neurite::layer::{
    ActOn, BatchNorm2d, Conv2d, Dense, Flatten, Infer, Layer, MaxPool2d, Residual,
};
use neurite::loss::{CrossEntropy, Reduction, Target};
use neurite::optim::{Adam, AdamConfig, Optimizer};
use neurite::params::{Params, Vector, Zeroed};
use neurite::prelude::{Rng, Trainer};
use neurite_host::dynamic::{parse_spec, DynModel, DynOptimizer, DynTrainer};

type Img<const C: usize, const H: usize, const W: usize> = [[[f32; W]; H]; C];

type Block = neurite::Seq![Conv2d<4, 4, 4, 4, 4, 4, 3, 3, 1, 1>, ActOn<Relu, Img<4, 4, 4>>];

type Model = neurite::Seq![
    Conv2d<1, 8, 8, 4, 8, 8, 3, 3, 1, 1>,
    BatchNorm2d<4, 8, 8>,
    ActOn<Relu, Img<4, 8, 8>>,
    MaxPool2d<4, 8, 8, 4, 4, 2, 2>,
    Residual<Block>,
    Flatten<4, 4, 4, 64>,
    Dense<64, 10>,
];

const SPEC: &str = "conv2d(4,3,padding=1),batchnorm2d,relu,maxpool2d(2),\
                    residual(conv2d(4,3,padding=1),relu),flatten,dense(10)";

const SAMPLES: usize = 6;

fn bits(v: &[f32]) -> Vec<u32> {
    v.iter().map(|x| x.to_bits()).collect()
}

/// The typed model with random weights and running statistics, and the runtime-shaped one
/// with copies of them.
fn models(seed: u64) -> (Box<Model>, DynModel) {
    let mut rng = Rng::new(seed);
    let mut s = Box::new(Model::DEFAULT);
    for t in 0..Model::TENSORS {
        for v in s.tensor_mut(t) {
            *v = 0.4 * rng.normal();
        }
    }
    let bn = &mut s.1 .0;
    for c in 0..4 {
        bn.running_mean[c] = 0.3 * rng.normal();
        bn.running_var[c] = rng.uniform_range(0.5, 2.0);
    }
    let mut d = DynModel::build(&parse_spec(SPEC).unwrap(), &[1, 8, 8]).unwrap();
    assert_eq!(d.output_shape(), &[10]);
    {
        let mut tensors = d.tensors_mut();
        assert_eq!(tensors.len(), Model::TENSORS);
        for (i, t) in tensors.iter_mut().enumerate() {
            assert_eq!(t.len(), s.tensor(i).len(), "tensor {i}");
            t.copy_from_slice(s.tensor(i));
        }
    }
    let mut buffers = d.buffers_mut();
    assert_eq!(buffers.len(), 2);
    buffers[0].copy_from_slice(&s.1 .0.running_mean);
    buffers[1].copy_from_slice(&s.1 .0.running_var);
    (s, d)
}

fn inputs(rng: &mut Rng) -> (Vec<Img<1, 8, 8>>, Vec<usize>) {
    let xs = (0..SAMPLES)
        .map(|_| {
            core::array::from_fn(|_| {
                core::array::from_fn(|_| core::array::from_fn(|_| rng.normal()))
            })
        })
        .collect();
    let ys = (0..SAMPLES).map(|_| rng.below(10)).collect();
    (xs, ys)
}

#[test]
fn outputs_are_bit_identical() {
    let (s, d) = models(1);
    let (xs, _) = inputs(&mut Rng::new(2));
    let mut nonzero = 0;
    for (i, x) in xs.iter().enumerate() {
        let mut y = [0.0; 10];
        s.forward(x, &mut y);
        assert_eq!(bits(&y), bits(&d.forward(Vector::as_slice(x))), "sample {i}");
        nonzero += y.iter().filter(|v| **v != 0.0).count();
    }
    assert!(nonzero > SAMPLES * 5, "the test model should not be degenerate");
}

/// One batch in eval mode through both trainers; checks losses, input gradients and
/// parameter gradients (unscaled, then after the mean reduction).
#[allow(clippy::too_many_arguments)]
fn batch_grads_match(
    s: &Model,
    d: &mut DynModel,
    st: &mut Trainer<Model>,
    dt: &mut DynTrainer,
    xs: &[Img<1, 8, 8>],
    ys: &[usize],
    input_grad: bool,
    what: &str,
) {
    let loss = CrossEntropy { weight: None, label_smoothing: 0.05 };
    let rows: Vec<&[f32]> = xs.iter().map(Vector::as_slice).collect();
    let targets: Vec<Target<'_>> = ys.iter().map(|&y| Target::Class(y)).collect();
    st.begin();
    dt.begin();
    let (losses, ddx) = dt.accumulate_batch(d, &loss, &rows, &targets, input_grad).unwrap();
    let ddx = ddx.map(<[f32]>::to_vec);
    for (i, x) in xs.iter().enumerate() {
        let ls = if input_grad {
            let mut dx = <Img<1, 8, 8>>::ZEROED;
            let ls = st.accumulate_with_input_grad(s, &loss, x, targets[i], &mut dx).unwrap();
            let ddx = ddx.as_deref().unwrap();
            assert_eq!(
                bits(Vector::as_slice(&dx)),
                bits(&ddx[i * 64..(i + 1) * 64]),
                "{what}: input grad, sample {i}"
            );
            assert!(Vector::as_slice(&dx).iter().any(|v| *v != 0.0));
            ls
        } else {
            assert!(ddx.is_none());
            st.accumulate(s, &loss, x, targets[i]).unwrap()
        };
        assert_eq!(ls.to_bits(), losses[i].to_bits(), "{what}: loss, sample {i}");
    }
    for (i, g) in dt.grads.iter().enumerate() {
        assert_eq!(bits(g), bits(st.grads.tensor(i)), "{what}: summed grad of tensor {i}");
        assert!(g.iter().any(|v| *v != 0.0), "{what}: tensor {i} has no gradient");
    }
    let (a, _) = st.finish(&loss, Reduction::Mean).unwrap();
    let (b, _) = dt.finish(&loss, Reduction::Mean, 10).unwrap();
    assert_eq!(a.to_bits(), b.to_bits(), "{what}: batch loss");
    for (i, g) in dt.grads.iter().enumerate() {
        assert_eq!(bits(g), bits(st.grads.tensor(i)), "{what}: mean grad of tensor {i}");
    }
}

#[test]
fn eval_mode_gradients_are_bit_identical() {
    let (s, mut d) = models(3);
    let mut st = Box::new(Trainer::<Model>::new());
    let mut dt = DynTrainer::new(&d);
    dt.train_mode = false;
    let mut rng = Rng::new(4);
    for round in 0..3 {
        let (xs, ys) = inputs(&mut rng);
        let what = format!("round {round}, with input grad");
        batch_grads_match(&s, &mut d, &mut st, &mut dt, &xs, &ys, true, &what);
        let what = format!("round {round}, params only");
        batch_grads_match(&s, &mut d, &mut st, &mut dt, &xs, &ys, false, &what);
    }
    // Eval mode leaves the running statistics alone.
    assert_eq!(bits(d.buffers()[0]), bits(&s.1 .0.running_mean));
    assert_eq!(bits(d.buffers()[1]), bits(&s.1 .0.running_var));
}

#[test]
fn eval_mode_training_is_bit_identical() {
    let (mut s, mut d) = models(5);
    let cfg = AdamConfig { weight_decay: 0.01, ..AdamConfig::adam(0.01) };
    let mut opt = Box::new(Adam::<<Model as Layer>::Grads>::new(cfg).unwrap());
    let lens: Vec<usize> = d.tensors().iter().map(|t| t.len()).collect();
    let mut dopt = DynOptimizer::Adam(cfg, false).build(&lens).unwrap();
    let mut st = Box::new(Trainer::<Model>::new());
    let mut dt = DynTrainer::new(&d);
    dt.train_mode = false;
    let mut rng = Rng::new(6);
    for step in 0..8 {
        let (xs, ys) = inputs(&mut rng);
        let what = format!("step {step}");
        batch_grads_match(&s, &mut d, &mut st, &mut dt, &xs, &ys, step % 2 == 0, &what);
        opt.step(&mut *s, &st.grads);
        dopt.step(&mut d.tensors_mut(), &dt.grads);
    }
    for (i, t) in d.tensors().iter().enumerate() {
        assert_eq!(bits(t), bits(s.tensor(i)), "trained tensor {i}");
    }
    let (xs, _) = inputs(&mut rng);
    for x in &xs {
        let mut y = [0.0; 10];
        s.forward(x, &mut y);
        assert_eq!(bits(&y), bits(&d.forward(Vector::as_slice(x))), "output after training");
    }
}
