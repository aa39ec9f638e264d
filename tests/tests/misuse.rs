//! Misuse of the typed API that used to pass silently: each is now either harmless or a
//! clear error (issue: "an API that prevents mistakes").

use neurite::batch_train::BatchTrainer;
use neurite::layer::{Dense, Infer, Layer, Relu, Sigmoid};
use neurite::loss::{Bce, CrossEntropy, Mse, Reduction, Target};
use neurite::params::Params;
use neurite::prelude::{LayerInit, Rng, Trainer};
use neurite::Error;

type Mlp = neurite::Seq![Dense<3, 4>, Relu<4>, Dense<4, 2>];

fn mlp(seed: u64) -> Mlp {
    let mut m = Mlp::DEFAULT;
    m.init(&LayerInit::XAVIER, &mut Rng::new(seed));
    m
}

fn bits<P: Params>(p: &P) -> Vec<u32> {
    (0..P::TENSORS)
        .flat_map(|t| p.tensor(t).iter().map(|v| v.to_bits()).collect::<Vec<_>>())
        .collect()
}

const XS: [[f32; 3]; 4] = [[0.5, -1.0, 2.0], [1.5, 0.25, -0.5], [-2.0, 1.0, 0.0], [0.1, 0.2, 0.3]];

/// A loop that never calls `begin` gets each batch's own gradients: `finish` starts the
/// next batch, and its first sample zeroes the gradients.
#[test]
fn forgetting_begin_trains_on_each_batchs_own_gradients() {
    let m = mlp(1);
    let ce = CrossEntropy::default();
    let (mut careful, mut forgetful) = (Trainer::<Mlp>::new(), Trainer::<Mlp>::new());
    for batch in XS.chunks(2) {
        // the reference: a new trainer for this batch alone
        let mut fresh = Trainer::<Mlp>::new();
        careful.begin();
        for (i, x) in batch.iter().enumerate() {
            fresh.accumulate(&m, &ce, x, Target::Class(i)).unwrap();
            careful.accumulate(&m, &ce, x, Target::Class(i)).unwrap();
            forgetful.accumulate(&m, &ce, x, Target::Class(i)).unwrap();
        }
        let want = fresh.finish(&ce, Reduction::Mean).unwrap();
        assert_eq!(careful.finish(&ce, Reduction::Mean).unwrap(), want);
        assert_eq!(forgetful.finish(&ce, Reduction::Mean).unwrap(), want);
        assert_eq!(bits(&careful.grads), bits(&fresh.grads));
        assert_eq!(bits(&forgetful.grads), bits(&fresh.grads));
    }
    // and `finish` twice is an error, not a second scaling
    assert_eq!(forgetful.finish(&ce, Reduction::Mean), Err(Error::Empty));
}

/// The same for the minibatch trainer.
#[test]
fn forgetting_begin_with_the_batch_trainer() {
    let mut m = mlp(2);
    let ce = CrossEntropy::default();
    let targets = [0usize, 1];
    let (mut careful, mut forgetful) =
        (BatchTrainer::<Mlp, 2>::new(), BatchTrainer::<Mlp, 2>::new());
    for pair in XS.chunks(2) {
        let xs = [pair[0], pair[1]];
        let mut fresh = BatchTrainer::<Mlp, 2>::new();
        careful.begin();
        fresh.accumulate_batch(&mut m, &ce, &xs, &targets).unwrap();
        careful.accumulate_batch(&mut m, &ce, &xs, &targets).unwrap();
        forgetful.accumulate_batch(&mut m, &ce, &xs, &targets).unwrap();
        let want = fresh.finish(&ce, Reduction::Mean);
        assert_eq!(careful.finish(&ce, Reduction::Mean), want);
        assert_eq!(forgetful.finish(&ce, Reduction::Mean), want);
        assert_eq!(bits(&careful.grads), bits(&fresh.grads));
        assert_eq!(bits(&forgetful.grads), bits(&fresh.grads));
    }
}

/// A loss that overflows is `Err(NonFiniteLoss)` from `finish` and from `train_epoch`,
/// not `Ok(inf)`.
#[test]
fn a_diverging_loss_is_an_error() {
    let mut m = mlp(3);
    m.0.weight[0] = [1e30, 1e30, 1e30];
    let mse = Mse;
    let mut t = Trainer::<Mlp>::new();
    let target = [0.0f32, 0.0];
    t.accumulate(&m, &mse, &[1e10, 1e10, 1e10], Target::Values(&target)).unwrap();
    assert_eq!(t.finish(&mse, Reduction::Mean), Err(Error::NonFiniteLoss));

    let mut opt =
        neurite::optim::Sgd::<<Mlp as Layer>::Grads>::new(neurite::optim::SgdConfig::new(0.1))
            .unwrap();
    let xs = [[1e10f32; 3]; 2];
    let ys = [[0.0f32; 2]; 2];
    let mut order = [0usize; 2];
    let before = bits(&m);
    let r = neurite::train::train_epoch(
        &mut m,
        &mut opt,
        &mut t,
        &mse,
        Reduction::Mean,
        &xs,
        &ys,
        2,
        &mut order,
        None,
    );
    assert_eq!(r, Err(Error::NonFiniteLoss));
    assert_eq!(bits(&m), before, "no step is taken with a diverged batch's gradients");
}

/// BCE is defined on probabilities: given logits (a model without a sigmoid) the trainer
/// refuses the output as PyTorch's `BCELoss` does, instead of clamping and training badly.
#[test]
fn bce_on_logits_is_refused() {
    type Logits = neurite::Seq![Dense<3, 1>];
    type Probs = neurite::Seq![Dense<3, 1>, Sigmoid<1>];
    let mut logits = Logits::DEFAULT;
    logits.weight[0] = [2.0, 2.0, 2.0];
    let mut t = Trainer::<Logits>::new();
    let r = t.accumulate(&logits, &Bce, &[1.0, 1.0, 1.0], Target::Values(&[1.0]));
    assert_eq!(r, Err(Error::NotAProbability { index: 0 }));
    assert_eq!(t.finish(&Bce, Reduction::Mean), Err(Error::Empty), "nothing was added");

    let mut probs = Probs::DEFAULT;
    probs.0.weight[0] = [2.0, 2.0, 2.0];
    let mut t = Trainer::<Probs>::new();
    assert!(t.accumulate(&probs, &Bce, &[1.0, 1.0, 1.0], Target::Values(&[1.0])).is_ok());

    let mut bt = BatchTrainer::<Logits, 1>::new();
    let r = bt.accumulate_batch(&mut logits, &Bce, &[[1.0, 1.0, 1.0]], &[[1.0f32]]);
    assert_eq!(r, Err(Error::NotAProbability { index: 0 }));
}

/// A NaN reading is never turned into a plausible output: it propagates through ReLU as in
/// PyTorch, and `forward_checked` names it.
#[test]
fn a_nan_input_is_caught_or_propagated() {
    let m = mlp(4);
    let mut y = [0.0f32; 2];
    m.forward(&[f32::NAN, 0.0, 0.0], &mut y);
    assert!(y.iter().all(|v| v.is_nan()), "{y:?}");
    assert_eq!(
        m.forward_checked(&[0.0, f32::NAN, 0.0], &mut y),
        Err(Error::NonFinite { index: 1 })
    );
    assert_eq!(m.forward_checked(&[0.0, 1.0, 0.0], &mut y), Ok(()));

    let mut big = mlp(4);
    big.1 .1.bias = [f32::INFINITY, 0.0];
    assert_eq!(
        big.forward_checked(&[0.0, 1.0, 0.0], &mut y),
        Err(Error::NonFiniteOutput { index: 0 })
    );
}

/// A multi-layer model straight from `DEFAULT` (all weights zero, no `init`) cannot learn:
/// a debug build stops at its first sample with a message saying so.
#[cfg(debug_assertions)]
#[test]
#[should_panic(expected = "call `init` on it first")]
fn an_uninitialised_model_is_caught_in_debug_builds() {
    let m = Mlp::DEFAULT;
    let mut t = Trainer::<Mlp>::new();
    let _ = t.accumulate(&m, &CrossEntropy::default(), &XS[0], Target::Class(0));
}

/// A single layer may start at zero (a linear model learns from zeros).
#[test]
fn a_single_layer_may_start_at_zero() {
    type Linear = neurite::Seq![Dense<3, 2>];
    let m = Linear::DEFAULT;
    let mut t = Trainer::<Linear>::new();
    assert!(t.accumulate(&m, &CrossEntropy::default(), &XS[0], Target::Class(0)).is_ok());
}

/// A model with a skip connection learns from zero weights (a zero residual block is the
/// identity), so the debug check lets it through.
#[test]
fn a_zero_residual_model_may_start_at_zero() {
    type Res = neurite::Seq![neurite::layer::Residual<Dense<3, 3>>, Dense<3, 2>];
    let m = Res::DEFAULT;
    let mut t = Trainer::<Res>::new();
    assert!(t.accumulate(&m, &CrossEntropy::default(), &XS[0], Target::Class(0)).is_ok());
}

/// After a batch that added nothing, or diverged, the gradients are zero: a loop that steps
/// anyway (ignoring the error) does not repeat the previous batch's update.
#[test]
fn a_failed_batch_leaves_zero_gradients() {
    let m = mlp(5);
    let ce = CrossEntropy::default();
    let mut t = Trainer::<Mlp>::new();
    t.accumulate(&m, &ce, &XS[0], Target::Class(1)).unwrap();
    t.finish(&ce, Reduction::Mean).unwrap();
    assert!(bits(&t.grads).iter().any(|&b| b != 0));
    // every reading of the next batch is refused
    assert!(t.accumulate(&m, &ce, &[f32::NAN, 0.0, 0.0], Target::Class(1)).is_err());
    assert_eq!(t.finish(&ce, Reduction::Mean), Err(Error::Empty));
    assert!(bits(&t.grads).iter().all(|&b| b == 0), "stale gradients after an empty batch");
    // the same after begin: nothing added, zero gradients from finish
    t.accumulate(&m, &ce, &XS[1], Target::Class(0)).unwrap();
    t.finish(&ce, Reduction::Mean).unwrap();
    t.begin();
    assert_eq!(t.finish(&ce, Reduction::Mean), Err(Error::Empty));
    assert!(bits(&t.grads).iter().all(|&b| b == 0), "stale gradients after begin and finish");
}

/// A learning-rate schedule goes through `set_lr`, checked as the constructor checks it; the
/// configuration is read-only after construction (`tests/ui/optimizer_config_is_read_only.rs`).
#[test]
fn an_invalid_learning_rate_is_refused_after_construction() {
    use neurite::optim::{
        Adagrad, AdagradConfig, Adam, AdamConfig, Optimizer, RmsProp, RmsPropConfig, Sgd, SgdConfig,
    };
    type G = <Mlp as Layer>::Grads;
    fn check<O: Optimizer<G>>(mut opt: O, name: &str) {
        for bad in [-1.0, 0.0, f32::NAN, f32::INFINITY] {
            assert_eq!(opt.set_lr(bad), Err(Error::InvalidHyperParameter), "{name}: lr {bad}");
            assert_eq!(opt.lr(), 0.1, "{name}: unchanged after lr {bad}");
        }
        assert_eq!(opt.set_lr(0.025), Ok(()), "{name}");
        assert_eq!(opt.lr(), 0.025, "{name}");
    }
    check(Sgd::<G>::new(SgdConfig::new(0.1)).unwrap(), "sgd");
    check(Adagrad::<G>::new(AdagradConfig::new(0.1)).unwrap(), "adagrad");
    check(RmsProp::<G>::new(RmsPropConfig::new(0.1)).unwrap(), "rmsprop");
    check(Adam::<G>::new(AdamConfig::adam(0.1)).unwrap(), "adam");
    let mut adam = Adam::<G>::new(AdamConfig::adam(0.1)).unwrap();
    adam.set_lr(0.5).unwrap();
    assert_eq!(adam.config().lr, 0.5, "config() reads the learning rate set_lr left");
    assert_eq!(adam.config().betas, AdamConfig::adam(0.1).betas);
}
