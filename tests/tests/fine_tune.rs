//! `FineTune` as a `Layer`: trained by the generic training loops exactly as its head is
//! trained alone on the frozen features, with its types derived from the model
//! (`FineTune::after`, `Split`).

use neurite::batch_train::BatchTrainer;
use neurite::layer::{FirstLayers, LayerDesc, Split};
use neurite::loss::{CrossEntropy, Reduction};
use neurite::model_file::v2::HeaderV2;
use neurite::model_file::{save_typed, write_typed, Task};
use neurite::prelude::*;
use neurite::train::train_epoch;

type Model = neurite::Seq![Dense<3, 8>, Tanh<8>, Dense<8, 6>, Relu<6>, Dense<6, 2>];
type Tail = neurite::Seq![Dense<8, 6>, Relu<6>, Dense<6, 2>];

fn model() -> Model {
    let mut m = Model::DEFAULT;
    m.init(&LayerInit::XAVIER, &mut Rng::new(7));
    m
}

fn data() -> (Vec<[f32; 3]>, Vec<usize>) {
    let mut rng = Rng::new(11);
    let xs: Vec<[f32; 3]> = (0..24).map(|_| [rng.normal(), rng.normal(), rng.normal()]).collect();
    let ys = xs.iter().map(|x| usize::from(x[0] + 0.5 * x[2] > x[1])).collect();
    (xs, ys)
}

#[test]
fn after_derives_the_parts_and_runs_as_the_model() {
    let m = model();
    let tuned: FineTuneAfter<'_, Model, 2> = FineTune::after(&m);
    let head: &Tail = &tuned.head; // the derived tail type is the written one
    assert_eq!(head, Split::<2>::tail(&m));
    let (xs, _) = data();
    for x in &xs {
        let (mut y, mut reference) = ([0.0; 2], [0.0; 2]);
        tuned.forward(x, &mut y);
        m.forward(x, &mut reference);
        assert_eq!(y.map(f32::to_bits), reference.map(f32::to_bits));
        let mut flat = [0.0; 2];
        Infer::forward_flat(&tuned, x, &mut flat);
        assert_eq!(flat.map(f32::to_bits), reference.map(f32::to_bits));
        // the frozen part alone: the model's first two layers
        let (mut features, mut by_hand, mut mid) = ([0.0; 8], [0.0; 8], [0.0; 8]);
        FirstLayers::<Model, 2>(&m).forward(x, &mut features);
        m.0.forward(x, &mut mid);
        m.1 .0.forward(&mid, &mut by_hand);
        assert_eq!(features, by_hand);
    }
    // described as the whole model, first to last
    let (mut whole, mut split) = (Vec::new(), Vec::new());
    m.describe(&mut |d| whole.push(d));
    tuned.describe(&mut |d| split.push(d));
    assert_eq!(split, whole);
    let mut first = Vec::new();
    Split::<4>::describe_first(&m, &mut |d| first.push(d));
    assert_eq!(first, whole[..4]);
    assert_eq!(first[3], LayerDesc::Activation { kind: ActivationKind::Relu, width: 6 });
}

/// The head trained alone on the frozen features, by the same loop and optimiser.
fn head_alone(m: &Model, epochs: usize) -> (Tail, Vec<f32>) {
    let (xs, ys) = data();
    let frozen = FirstLayers::<Model, 2>(m);
    let features: Vec<[f32; 8]> = xs
        .iter()
        .map(|x| {
            let mut f = [0.0; 8];
            frozen.forward(x, &mut f);
            f
        })
        .collect();
    let mut head = Split::<2>::tail(m).clone();
    let mut opt = Adam::<<Tail as Layer>::Grads>::new(AdamConfig::adam(0.05)).unwrap();
    let mut trainer = Trainer::<Tail>::new();
    let (mut order, mut rng) = (vec![0; xs.len()], Rng::new(3));
    let ce = CrossEntropy::default();
    let losses = (0..epochs)
        .map(|_| {
            let (o, r) = (&mut order, Some(&mut rng));
            train_epoch(
                &mut head,
                &mut opt,
                &mut trainer,
                &ce,
                Reduction::Mean,
                &features,
                &ys,
                5,
                o,
                r,
            )
            .unwrap()
        })
        .collect();
    (head, losses)
}

#[test]
fn a_fine_tune_trains_in_train_epoch_as_its_head_alone() {
    let m = model();
    let (expected, expected_losses) = head_alone(&m, 20);
    let (xs, ys) = data();
    let mut tuned = FineTune::after(&m) as FineTuneAfter<'_, Model, 2>;
    let mut opt = Adam::<<Tail as Layer>::Grads>::new(AdamConfig::adam(0.05)).unwrap();
    let mut trainer = Trainer::new();
    let (mut order, mut rng) = (vec![0; xs.len()], Rng::new(3));
    let ce = CrossEntropy::default();
    let losses: Vec<f32> = (0..20)
        .map(|_| {
            let (o, r) = (&mut order, Some(&mut rng));
            train_epoch(&mut tuned, &mut opt, &mut trainer, &ce, Reduction::Mean, &xs, &ys, 5, o, r)
                .unwrap()
        })
        .collect();
    assert_eq!(tuned.head, expected, "bit-identical to the head trained alone");
    assert_eq!(losses, expected_losses);
    assert!(losses[19] < 0.5 * losses[0], "it learns: {losses:?}");
    assert_ne!(&tuned.head, Split::<2>::tail(&m), "the head changed, the borrowed model did not");
}

#[test]
fn a_fine_tune_trains_in_a_batch_trainer_as_sample_by_sample() {
    let m = model();
    let (xs, ys) = data();
    let ce = CrossEntropy::default();
    let mut per_sample = FineTune::after(&m) as FineTuneAfter<'_, Model, 2>;
    let mut trainer = Trainer::new();
    let mut batched = FineTune::after(&m) as FineTuneAfter<'_, Model, 2>;
    let mut batch_trainer = BatchTrainer::<_, 4>::new();
    let mut opt_a = Sgd::<<Tail as Layer>::Grads>::new(SgdConfig::new(0.1)).unwrap();
    let mut opt_b = Sgd::<<Tail as Layer>::Grads>::new(SgdConfig::new(0.1)).unwrap();
    for (batch, labels) in xs.chunks_exact(4).zip(ys.chunks_exact(4)) {
        trainer.begin();
        for (x, &y) in batch.iter().zip(labels) {
            trainer.accumulate(&per_sample, &ce, x, Target::Class(y)).unwrap();
        }
        let (a, _) = trainer.finish(&ce, Reduction::Mean).unwrap();
        opt_a.step(&mut per_sample, &trainer.grads);
        let x: [[f32; 3]; 4] = batch.try_into().unwrap();
        let targets: [usize; 4] = labels.try_into().unwrap();
        let b = batch_trainer.run_batch(&mut batched, &ce, Reduction::Mean, &x, &targets).unwrap();
        opt_b.step(&mut batched, &batch_trainer.grads);
        assert_eq!(a, b);
    }
    assert_eq!(per_sample.head, batched.head);
}

#[test]
fn the_gradient_stops_at_the_frozen_part() {
    let m = model();
    let tuned = FineTune::after(&m) as FineTuneAfter<'_, Model, 2>;
    let ce = CrossEntropy::default();
    let mut trainer = Trainer::new();
    let mut dx = [1.0; 3];
    trainer.begin();
    trainer
        .accumulate_with_input_grad(&tuned, &ce, &[0.5, -1.0, 2.0], Target::Class(1), &mut dx)
        .unwrap();
    assert_eq!(dx, [0.0; 3], "head(frozen(x).detach())");
    // the head's gradient is the one of the head trained on the features
    let mut features = [0.0; 8];
    FirstLayers::<Model, 2>(&m).forward(&[0.5, -1.0, 2.0], &mut features);
    let mut alone = Trainer::<Tail>::new();
    alone.begin();
    alone.accumulate(&tuned.head, &ce, &features, Target::Class(1)).unwrap();
    assert_eq!(trainer.grads, alone.grads);
    assert!(trainer.grads.tensor(0).iter().any(|&g| g != 0.0));
    // and over a minibatch
    let mut tuned = tuned;
    let mut batch_trainer = BatchTrainer::<_, 2>::new();
    let mut dx = [[1.0; 3]; 2];
    batch_trainer.begin();
    let x = [[0.5, -1.0, 2.0], [1.0, 0.0, -0.5]];
    batch_trainer.accumulate_batch_with_input_grad(&mut tuned, &ce, &x, &[1, 0], &mut dx).unwrap();
    assert_eq!(dx, [[0.0; 3]; 2]);
}

#[test]
fn a_borrowed_model_runs_as_the_model() {
    let m = model();
    const W: usize = <Model as Infer>::SCRATCH_WIDTH;
    let borrowed = &m;
    assert_eq!(<&Model as Infer>::SCRATCH_WIDTH, W);
    assert_eq!(<&Model as Infer>::MAX_WIDTH, <Model as Infer>::MAX_WIDTH);
    let (xs, _) = data();
    for x in &xs {
        let (mut reference, mut y, mut flat, mut chained) =
            ([0.0; 2], [0.0; 2], [0.0; 2], [0.0; 2]);
        m.forward(x, &mut reference);
        borrowed.forward_buffered::<W>(x, &mut y);
        Infer::forward_flat(&borrowed, x, &mut flat);
        let (mut a, mut b) = ([0.0; 16], [0.0; 16]);
        a[..3].copy_from_slice(x);
        Infer::forward_chain(&borrowed, &mut a, &mut b, &mut chained);
        for out in [y, flat, chained] {
            assert_eq!(out.map(f32::to_bits), reference.map(f32::to_bits));
        }
    }
}

#[test]
fn init_and_parameters_are_the_heads() {
    let m = model();
    let mut tuned = FineTune::after(&m) as FineTuneAfter<'_, Model, 2>;
    assert_eq!(<FineTuneAfter<'_, Model, 2> as Params>::LEN, 8 * 6 + 6 + 6 * 2 + 2);
    assert_eq!(<FineTuneAfter<'_, Model, 2> as Params>::TENSORS, 4);
    tuned.init(&LayerInit::HE_RELU, &mut Rng::new(99));
    let mut fresh = Tail::DEFAULT;
    fresh.init(&LayerInit::HE_RELU, &mut Rng::new(99));
    assert_eq!(tuned.head, fresh);
    for t in 0..4 {
        assert_eq!(tuned.tensor(t), fresh.tensor(t));
    }
}

#[test]
fn a_fine_tune_is_not_written_as_a_model_file_but_its_head_is() {
    let m = model();
    let tuned = FineTune::after(&m) as FineTuneAfter<'_, Model, 2>;
    let mut out = [0u8; 4096];
    let header = HeaderV2 {
        task: Task::Classification,
        input_shape: &[3],
        columns: &[],
        means: &[],
        stds: &[],
        target_mean: 0.0,
        target_std: 1.0,
    };
    assert!(
        write_typed(&tuned, &header, &mut out).is_err(),
        "its records are the model's, its parameters the head's"
    );
    // and the whole model's file is not loaded into it (the head would get the first
    // layer's weights)
    let n = save_typed(&m, Task::Classification, &mut out).unwrap();
    let file = neurite::model_file::v2::ModelFileV2::parse(&out[..n]).unwrap();
    let mut into = FineTune::after(&m) as FineTuneAfter<'_, Model, 2>;
    assert!(file.load_into(&mut into).is_err());
    assert_eq!(&into.head, Split::<2>::tail(&m), "unchanged on error");
    let n = save_typed(&tuned.head, Task::Classification, &mut out).unwrap();
    let back: Tail = neurite::model_file::load_typed(&out[..n]).unwrap();
    assert_eq!(back, tuned.head);
}
