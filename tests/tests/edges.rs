//! Bad input at the core's edges is a typed error, never a panic, and changes nothing.

use neurite::error::Error;
use neurite::layer::{Dense, Layer};
use neurite::loss::{class_balanced_weights, Bce, CrossEntropy, Mse, Reduction, Target};
use neurite::optim::{AdagradConfig, AdamConfig, RmsPropConfig, SgdConfig};
use neurite::params::Params;
use neurite::prelude::Trainer;
use neurite_host::dynamic::{parse_spec, DynModel, DynOptimizer};

type Model = neurite::Seq![Dense<2, 3>, Dense<3, 2>];

#[test]
fn loading_weights_of_the_wrong_length_or_nan() {
    let mut m = Model::DEFAULT;
    let good = [0.5f32; 6 + 3 + 6 + 2];
    assert_eq!(m.load(&good[..10]), Err(Error::LengthMismatch { expected: 17, found: 10 }));
    let mut nan = good;
    nan[4] = f32::NAN;
    assert_eq!(m.load(&nan), Err(Error::NonFinite { index: 4 }));
    assert_eq!(m, Model::DEFAULT, "a failed load changes nothing");
    m.load(&good).unwrap();
    let mut out = [0.0; 17];
    assert_eq!(m.store(&mut out), Ok(17));
    assert_eq!(out, good);
    assert!(m.store(&mut [0.0; 3]).is_err());
}

#[test]
fn bad_samples_and_targets() {
    let m = Model::DEFAULT;
    let mut t = Trainer::<Model>::new();
    t.begin();
    let ce = CrossEntropy::default();
    assert_eq!(
        t.accumulate(&m, &Mse, &[1.0, 2.0], Target::Values(&[1.0, f32::NAN])),
        Err(Error::NonFinite { index: 1 })
    );
    assert_eq!(
        t.accumulate(&m, &Mse, &[f32::INFINITY, 2.0], Target::Values(&[1.0, 1.0])),
        Err(Error::NonFinite { index: 0 })
    );
    assert_eq!(
        t.accumulate(&m, &Mse, &[1.0, 2.0], Target::Values(&[1.0])),
        Err(Error::LengthMismatch { expected: 2, found: 1 })
    );
    assert_eq!(
        t.accumulate(&m, &ce, &[1.0, 2.0], Target::Class(2)),
        Err(Error::ClassOutOfRange { class: 2, classes: 2 })
    );
    assert_eq!(t.accumulate(&m, &Mse, &[1.0, 2.0], Target::Class(0)), Err(Error::TargetKind));
    assert_eq!(
        t.accumulate(&m, &Bce, &[1.0, 2.0], Target::Values(&[0.0, 1.5])),
        Err(Error::NotAProbability { index: 1 })
    );
    let w = [1.0f32];
    let weighted = CrossEntropy { weight: Some(&w), label_smoothing: 0.0 };
    assert_eq!(
        t.accumulate(&m, &weighted, &[1.0, 2.0], Target::Class(0)),
        Err(Error::LengthMismatch { expected: 2, found: 1 })
    );
    // nothing was accumulated
    assert_eq!(t.finish(&Mse, Reduction::Mean), Err(Error::Empty));
}

#[test]
fn bad_hyper_parameters() {
    assert_eq!(SgdConfig::new(-0.1).validate(), Err(Error::InvalidHyperParameter));
    assert_eq!(SgdConfig::new(f32::NAN).validate(), Err(Error::InvalidHyperParameter));
    assert_eq!(
        AdamConfig { betas: (1.0, 0.999), ..AdamConfig::adam(0.1) }.validate(),
        Err(Error::InvalidHyperParameter)
    );
    assert!(DynOptimizer::Adam(AdamConfig::adam(0.0), false).build(&[3]).is_err());
    let mut w = [0.0; 2];
    assert_eq!(class_balanced_weights(&[3, 0], 0.9, &mut w), Err(Error::InvalidHyperParameter));
    assert_eq!(
        class_balanced_weights(&[3, 4, 5], 0.9, &mut w),
        Err(Error::LengthMismatch { expected: 3, found: 2 })
    );
}

#[test]
fn dynamic_models_check_shapes_and_values() {
    let build = |spec: &str, shape: &[usize]| DynModel::build(&parse_spec(spec).unwrap(), shape);
    // Shapes that do not chain, or layers that need a shaped input, are build errors that
    // name the layer.
    let e = build("dense(3),conv2d(4,3)", &[2]).unwrap_err();
    assert!(e.contains("layer 2 (conv2d)") && e.contains("C x H x W"), "{e}");
    assert!(build("conv2d(4,9)", &[1, 8, 8]).unwrap_err().contains("no output"));
    assert!(build("conv2d(4,3,groups=3)", &[2, 8, 8]).is_err());
    assert!(build("residual(dense(3))", &[2]).unwrap_err().contains("differs"));
    assert!(build("dense(2)", &[]).is_err());
    let mut m = build("dense(3),relu,dense(1)", &[2]).unwrap();
    let mut t = neurite_host::DynTrainer::new(&m);
    assert!(t.accumulate(&mut m, &Mse, &[1.0], Target::Values(&[0.0]), false).is_err());
    assert!(t.accumulate(&mut m, &Mse, &[1.0, f32::NAN], Target::Values(&[0.0]), false).is_err());
    assert!(t.accumulate(&mut m, &Mse, &[1.0, 2.0], Target::Values(&[0.0]), false).is_ok());
}

/// Values every "finite and >= 0" option rejects.
const NOT_NON_NEGATIVE: [f32; 3] = [-0.1, f32::NAN, f32::INFINITY];
/// Learning rates every optimiser rejects (it must be finite and > 0).
const BAD_LR: [f32; 4] = [0.0, -0.1, f32::NAN, f32::INFINITY];

/// `set(value)` applied to a valid config must fail validation for each value.
fn rejects<C: Copy>(
    valid: C,
    values: &[f32],
    set: impl Fn(&mut C, f32),
    check: fn(&C) -> Result<(), Error>,
) {
    for &v in values {
        let mut c = valid;
        set(&mut c, v);
        assert_eq!(check(&c), Err(Error::InvalidHyperParameter), "accepted {v}");
    }
}

#[test]
fn every_optimizer_option_is_range_checked() {
    // SGD: zero momentum, dampening and decay are valid; Nesterov needs momentum, no dampening.
    let sgd =
        SgdConfig { lr: 0.1, momentum: 0.0, dampening: 0.0, nesterov: false, weight_decay: 0.0 };
    assert_eq!(sgd.validate(), Ok(()));
    rejects(sgd, &BAD_LR, |c, v| c.lr = v, SgdConfig::validate);
    rejects(sgd, &NOT_NON_NEGATIVE, |c, v| c.momentum = v, SgdConfig::validate);
    rejects(sgd, &NOT_NON_NEGATIVE, |c, v| c.dampening = v, SgdConfig::validate);
    rejects(sgd, &NOT_NON_NEGATIVE, |c, v| c.weight_decay = v, SgdConfig::validate);
    let nesterov = SgdConfig { momentum: 0.9, nesterov: true, ..sgd };
    assert_eq!(nesterov.validate(), Ok(()));
    rejects(nesterov, &[0.0], |c, v| c.momentum = v, SgdConfig::validate);
    rejects(nesterov, &[0.1], |c, v| c.dampening = v, SgdConfig::validate);

    let adagrad = AdagradConfig {
        lr: 0.1,
        lr_decay: 0.0,
        weight_decay: 0.0,
        initial_accumulator_value: 0.0,
        eps: 0.0,
    };
    assert_eq!(adagrad.validate(), Ok(()));
    rejects(adagrad, &BAD_LR, |c, v| c.lr = v, AdagradConfig::validate);
    rejects(adagrad, &NOT_NON_NEGATIVE, |c, v| c.lr_decay = v, AdagradConfig::validate);
    rejects(adagrad, &NOT_NON_NEGATIVE, |c, v| c.weight_decay = v, AdagradConfig::validate);
    rejects(
        adagrad,
        &NOT_NON_NEGATIVE,
        |c, v| c.initial_accumulator_value = v,
        AdagradConfig::validate,
    );
    rejects(adagrad, &NOT_NON_NEGATIVE, |c, v| c.eps = v, AdagradConfig::validate);

    // RMSprop: alpha in [0, 1], both ends valid.
    let rms = RmsPropConfig {
        lr: 0.1,
        alpha: 0.0,
        eps: 0.0,
        weight_decay: 0.0,
        momentum: 0.0,
        centered: false,
    };
    assert_eq!(rms.validate(), Ok(()));
    assert_eq!(RmsPropConfig { alpha: 1.0, ..rms }.validate(), Ok(()));
    rejects(rms, &BAD_LR, |c, v| c.lr = v, RmsPropConfig::validate);
    rejects(rms, &[-0.1, 1.1, f32::NAN], |c, v| c.alpha = v, RmsPropConfig::validate);
    rejects(rms, &NOT_NON_NEGATIVE, |c, v| c.eps = v, RmsPropConfig::validate);
    rejects(rms, &NOT_NON_NEGATIVE, |c, v| c.weight_decay = v, RmsPropConfig::validate);
    rejects(rms, &NOT_NON_NEGATIVE, |c, v| c.momentum = v, RmsPropConfig::validate);

    // Adam: betas in [0, 1).
    let adam =
        AdamConfig { betas: (0.0, 0.0), eps: 0.0, weight_decay: 0.0, ..AdamConfig::adam(0.1) };
    assert_eq!(adam.validate(), Ok(()));
    rejects(adam, &BAD_LR, |c, v| c.lr = v, AdamConfig::validate);
    rejects(adam, &[-0.1, 1.0, f32::NAN], |c, v| c.betas.0 = v, AdamConfig::validate);
    rejects(adam, &[-0.1, 1.0, f32::NAN], |c, v| c.betas.1 = v, AdamConfig::validate);
    rejects(adam, &NOT_NON_NEGATIVE, |c, v| c.eps = v, AdamConfig::validate);
    rejects(adam, &NOT_NON_NEGATIVE, |c, v| c.weight_decay = v, AdamConfig::validate);
}
