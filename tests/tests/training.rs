//! Training drivers: full-batch gradient descent with its stopping rules, minibatches that
//! accumulate sample by sample, gradient clipping, and fine-tuning behind a frozen prefix.

use neurite::layer::{Dense, Layer, Relu};
use neurite::loss::{CrossEntropy, Mse, Reduction, Target};
use neurite::optim::{clip_grad_norm, Adam, AdamConfig, Optimizer, Sgd, SgdConfig};
use neurite::params::Params;
use neurite::prelude::{LayerInit, Rng, Trainer};
use neurite::train::{gradient_descent, train_epoch, FineTune, StopReason, StopRule};

fn line() -> (Vec<[f32; 1]>, Vec<[f32; 1]>) {
    let xs: Vec<[f32; 1]> = (0..20).map(|i| [i as f32 / 10.0 - 1.0]).collect();
    let ys = xs.iter().map(|x| [2.0 * x[0] + 1.0]).collect();
    (xs, ys)
}

#[test]
fn gradient_descent_stops_on_loss_change_gradient_norm_or_max_iters() {
    let (xs, ys) = line();
    let run = |rule: StopRule| {
        let mut m = Dense::<1, 1>::DEFAULT;
        let mut opt = Sgd::<Dense<1, 1>>::new(SgdConfig::new(0.2)).unwrap();
        let mut t = Trainer::<Dense<1, 1>>::new();
        let r = gradient_descent(&mut m, &mut opt, &mut t, &Mse, Reduction::Mean, &xs, &ys, &rule)
            .unwrap();
        (r, m)
    };
    let (r, m) = run(StopRule { max_iters: 10_000, loss_epsilon: 1e-10, grad_norm_epsilon: 0.0 });
    assert_eq!(r.reason, StopReason::LossConverged);
    assert!(r.steps < 10_000 && r.loss < 1e-6, "{r:?}");
    assert!((m.weight[0][0] - 2.0).abs() < 1e-3 && (m.bias[0] - 1.0).abs() < 1e-3, "{m:?}");
    let (r, _) = run(StopRule { max_iters: 10_000, loss_epsilon: 0.0, grad_norm_epsilon: 1e-3 });
    assert_eq!(r.reason, StopReason::GradientConverged);
    let (r, _) = run(StopRule { max_iters: 7, loss_epsilon: 0.0, grad_norm_epsilon: 0.0 });
    assert_eq!((r.reason, r.steps), (StopReason::MaxIters, 7));
}

#[test]
fn accumulated_minibatch_equals_one_big_batch_gradient() {
    // The mean gradient of 6 samples accumulated one by one equals the average of the
    // 6 single-sample gradients (PyTorch's batch mean), within rounding.
    type M = neurite::Seq![Dense<3, 5>, Relu<5>, Dense<5, 2>];
    let mut m = M::DEFAULT;
    m.init(&LayerInit::HE_RELU, &mut Rng::new(1));
    let mut rng = Rng::new(2);
    let xs: Vec<[f32; 3]> = (0..6).map(|_| core::array::from_fn(|_| rng.normal())).collect();
    let ys: Vec<usize> = (0..6).map(|i| i % 2).collect();
    let ce = CrossEntropy::default();
    let mut batch = Trainer::<M>::new();
    batch.begin();
    for (x, &y) in xs.iter().zip(&ys) {
        batch.accumulate(&m, &ce, x, Target::Class(y)).unwrap();
    }
    batch.finish(&ce, Reduction::Mean).unwrap();
    let mut avg = vec![0.0f32; <M as Params>::LEN];
    for (x, &y) in xs.iter().zip(&ys) {
        let mut one = Trainer::<M>::new();
        one.begin();
        one.accumulate(&m, &ce, x, Target::Class(y)).unwrap();
        one.finish(&ce, Reduction::Mean).unwrap();
        let mut flat = vec![0.0; <M as Params>::LEN];
        one.grads.store(&mut flat).unwrap();
        for (a, g) in avg.iter_mut().zip(&flat) {
            *a += g / 6.0;
        }
    }
    let mut got = vec![0.0; <M as Params>::LEN];
    batch.grads.store(&mut got).unwrap();
    neurite_tests::close("batch grads", &got, &avg, 1e-5, 1e-7).unwrap();
}

#[test]
fn clip_grad_norm_matches_torch_formula() {
    let mut g = Dense::<2, 2>::new([[3.0, 0.0], [0.0, 4.0]], [0.0, 12.0]);
    // per-tensor norms 5 and 12, total 13
    let total = clip_grad_norm(&mut g, 6.5);
    assert_eq!(total, 13.0);
    let f = 6.5 / (13.0 + 1e-6);
    assert_eq!(g.weight, [[3.0 * f, 0.0], [0.0, 4.0 * f]]);
    let before = g.clone();
    clip_grad_norm(&mut g, 100.0);
    assert_eq!(g, before, "no change under the limit");
}

#[test]
fn fine_tuning_trains_the_head_behind_a_frozen_prefix() {
    type Frozen = neurite::Seq![Dense<2, 8>, Relu<8>];
    type Head = Dense<8, 2>;
    let mut frozen = Frozen::DEFAULT;
    frozen.init(&LayerInit::HE_RELU, &mut Rng::new(3));
    let frozen: &'static Frozen = Box::leak(Box::new(frozen));
    let snapshot = frozen.clone();
    let mut head = Head::DEFAULT;
    head.init(&LayerInit::TORCH_DEFAULT, &mut Rng::new(4));
    let mut ft = FineTune::new(frozen, head);
    let mut opt = Adam::<Head>::new(AdamConfig::adam(0.05)).unwrap();
    let mut trainer = Trainer::<Head>::new();
    // class = which quadrant half: x0 > x1
    let mut rng = Rng::new(5);
    let xs: Vec<[f32; 2]> = (0..64).map(|_| [rng.normal(), rng.normal()]).collect();
    let ys: Vec<usize> = xs.iter().map(|x| usize::from(x[0] > x[1])).collect();
    let ce = CrossEntropy::default();
    let epoch_loss =
        |ft: &mut FineTune<&Frozen, Head>, trainer: &mut Trainer<Head>, opt: &mut Adam<Head>| {
            trainer.begin();
            for (x, &y) in xs.iter().zip(&ys) {
                ft.accumulate(trainer, &ce, x, Target::Class(y)).unwrap();
            }
            let (l, _) = trainer.finish(&ce, Reduction::Mean).unwrap();
            ft.step(opt, trainer);
            l
        };
    let first = epoch_loss(&mut ft, &mut trainer, &mut opt);
    let mut last = first;
    for _ in 0..200 {
        last = epoch_loss(&mut ft, &mut trainer, &mut opt);
    }
    assert!(last < 0.5 * first, "loss {first} -> {last}");
    assert_eq!(*frozen, snapshot, "frozen layers are untouched");
    assert_eq!(opt.steps(), 201);
}

#[test]
fn seeded_epochs_are_reproducible() {
    type M = neurite::Seq![Dense<1, 4>, Relu<4>, Dense<4, 1>];
    let (xs, ys) = line();
    let train = || {
        let mut m = M::DEFAULT;
        m.init(&LayerInit::HE_RELU, &mut Rng::new(9));
        let mut opt = Adam::<<M as Layer>::Grads>::new(AdamConfig::adam(0.01)).unwrap();
        let mut t = Trainer::<M>::new();
        let mut order = vec![0; xs.len()];
        let mut rng = Rng::new(10);
        for _ in 0..5 {
            train_epoch(
                &mut m,
                &mut opt,
                &mut t,
                &Mse,
                Reduction::Mean,
                &xs,
                &ys,
                4,
                &mut order,
                Some(&mut rng),
            )
            .unwrap();
        }
        m
    };
    assert_eq!(train(), train());
}

#[test]
fn a_runtime_shaped_epoch_returns_the_mean_of_its_batch_losses() {
    use neurite::loss::Loss;
    use neurite_host::dynamic::{parse_spec, DynModel, DynOptimizer, DynTrainer};
    let mut model = DynModel::build(&parse_spec("dense(3)").unwrap(), &[2]).unwrap();
    model.init(&LayerInit::TORCH_DEFAULT, &mut Rng::new(4));
    let xs: Vec<[f32; 2]> = (0..5).map(|i| [i as f32 * 0.5 - 1.0, 1.0 - i as f32 * 0.3]).collect();
    let rows: Vec<&[f32]> = xs.iter().map(|x| x.as_slice()).collect();
    let ts: Vec<Target<'_>> = (0..5).map(|i| Target::Class(i % 3)).collect();
    // each sample's loss on the model as it is (a rate of 1e-30 moves no weight)
    let per_sample: Vec<f64> = rows
        .iter()
        .zip(&ts)
        .map(|(x, &t)| {
            let y = model.forward(x);
            f64::from(CrossEntropy::default().eval(&y, t, &mut [0.0; 3], None))
        })
        .collect();
    // batches of 2 in order: {0, 1}, {2, 3}, {4}: the mean of the three batch means
    let want = (per_sample[..2].iter().sum::<f64>() / 2.0
        + per_sample[2..4].iter().sum::<f64>() / 2.0
        + per_sample[4])
        / 3.0;
    let mut opt = DynOptimizer::Sgd(SgdConfig::new(1e-30)).build(&[6, 3]).unwrap();
    let mut trainer = DynTrainer::new(&model);
    let ce = CrossEntropy::default();
    let got = trainer
        .epoch(&mut model, &mut opt, &ce, Reduction::Mean, &rows, &ts, 2, None, |_, _| {})
        .unwrap();
    assert!((f64::from(got) - want).abs() <= 1e-6 * want, "epoch loss {got}, want {want}");
    // no samples, or batches of none: an error, not NaN
    for (xs, batch) in [(&rows[..0], 2), (&rows[..], 0)] {
        let r = trainer.epoch(
            &mut model,
            &mut opt,
            &ce,
            Reduction::Mean,
            xs,
            &ts[..xs.len()],
            batch,
            None,
            |_, _| {},
        );
        assert_eq!(r, Err(neurite::Error::Empty));
    }
}

/// Gradient descent on a line with alternating noise (the least-squares loss stays above 0),
/// or on all-zero targets (a zero model has a zero gradient).
fn descend(ys: &[[f32; 1]], lr: f32, rule: StopRule) -> neurite::train::Report {
    let (xs, _) = line();
    let mut m = Dense::<1, 1>::DEFAULT;
    let mut opt = Sgd::<Dense<1, 1>>::new(SgdConfig::new(lr)).unwrap();
    let mut t = Trainer::<Dense<1, 1>>::new();
    gradient_descent(&mut m, &mut opt, &mut t, &Mse, Reduction::Mean, &xs, ys, &rule).unwrap()
}

#[test]
fn stopping_rules_are_strict_and_compare_successive_losses() {
    let (_, line_ys) = line();
    let noisy: Vec<[f32; 1]> = line_ys
        .iter()
        .enumerate()
        .map(|(i, y)| [y[0] + if i % 2 == 0 { 0.1 } else { -0.1 }])
        .collect();
    // the change of the loss between steps, not their sum, falls under the epsilon
    let r = descend(
        &noisy,
        0.2,
        StopRule { max_iters: 10_000, loss_epsilon: 1e-10, grad_norm_epsilon: 0.0 },
    );
    assert_eq!(r.reason, StopReason::LossConverged, "{r:?}");
    assert!(r.loss > 1e-3 && r.steps < 10_000, "{r:?}");
    // strict: a change of exactly 0 is not below an epsilon of 0 ...
    let r = descend(
        &noisy,
        0.2,
        StopRule { max_iters: 3000, loss_epsilon: 0.0, grad_norm_epsilon: 0.0 },
    );
    assert_eq!((r.reason, r.steps), (StopReason::MaxIters, 3000));
    // ... nor is a gradient of norm exactly 0
    let zeros = vec![[0.0f32; 1]; 20];
    let r =
        descend(&zeros, 0.2, StopRule { max_iters: 5, loss_epsilon: 0.0, grad_norm_epsilon: 0.0 });
    assert_eq!((r.reason, r.steps, r.loss), (StopReason::MaxIters, 5, 0.0));
}

#[test]
fn a_typed_epoch_returns_the_mean_of_its_batch_losses() {
    let (xs, ys) = line();
    let m0 = Dense::<1, 1>::DEFAULT;
    // per-sample squared errors of the zero model; batches of 8 in order: 8, 8, 4 samples
    let se: Vec<f64> = ys.iter().map(|y| f64::from(y[0]).powi(2)).collect();
    let mean = |s: &[f64]| s.iter().sum::<f64>() / s.len() as f64;
    let want = (mean(&se[..8]) + mean(&se[8..16]) + mean(&se[16..])) / 3.0;
    let mut m = m0;
    // a rate of 1e-30 moves no weight, so every batch sees the zero model
    let mut opt = Sgd::<Dense<1, 1>>::new(SgdConfig::new(1e-30)).unwrap();
    let mut t = Trainer::<Dense<1, 1>>::new();
    let mut order = vec![0; 20];
    let got =
        train_epoch(&mut m, &mut opt, &mut t, &Mse, Reduction::Mean, &xs, &ys, 8, &mut order, None)
            .unwrap();
    assert!((f64::from(got) - want).abs() <= 1e-6 * want, "epoch loss {got}, want {want}");
    // no samples, or batches of none: an error, not NaN
    let mut none: Vec<usize> = Vec::new();
    let r = train_epoch(
        &mut m,
        &mut opt,
        &mut t,
        &Mse,
        Reduction::Mean,
        &xs[..0],
        &ys[..0],
        8,
        &mut none,
        None,
    );
    assert_eq!(r, Err(neurite::Error::Empty));
    let r =
        train_epoch(&mut m, &mut opt, &mut t, &Mse, Reduction::Mean, &xs, &ys, 0, &mut order, None);
    assert_eq!(r, Err(neurite::Error::Empty));
}
