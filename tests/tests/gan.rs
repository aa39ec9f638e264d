//! The GAN (`neurite_host::gan`, behind `host/examples/gan_ring.rs` and `gan_digits.rs`):
//!
//! - the generator's gradient, back-propagated through the frozen discriminator (the input
//!   gradient of `DynModel::backward`, `backward_through`), against finite differences of
//!   the generator loss on a tiny model; the discriminator is left bit for bit unchanged;
//!   the discriminator's own gradient likewise;
//! - a short run on the ring of eight Gaussians covers at least 6 modes where the untrained
//!   generator covers at most 1;
//! - a short run on the digits draws samples near training digits, unlike the untrained
//!   generator.
//!
//! `NEURITE_GRADCHECK_REPORT=1 cargo test -p neurite-tests --test gan -- --nocapture` prints
//! the gradient checks' largest errors.

use neurite::rng::Rng;
use neurite_host::data::{shipped_data_dir, Dataset};
use neurite_host::gan::{train_digits_gan, train_gan, DigitsGanData, Gan, GanConfig, GanWorkspace};
use neurite_host::mixture::Ring;
use neurite_tests::gradcheck::{derivative, Check, Spec};

/// A tiny smooth GAN (tanh: no kinks): noise 2, samples of 3 values.
fn tiny() -> Gan {
    let mut gan = Gan::build("dense(4),tanh,dense(3)", "dense(5),tanh,dense(1)", 2, 3).unwrap();
    gan.init(&mut Rng::new(3));
    gan
}

fn tensors(m: &neurite_host::DynModel) -> Vec<Vec<f32>> {
    m.tensors().iter().map(|t| t.to_vec()).collect()
}

#[test]
fn generator_gradient_through_the_frozen_discriminator_matches_finite_differences() {
    // Measured (NEURITE_GRADCHECK_REPORT=1): max |err| 9.7e-7 over the generator's 27
    // parameters (|numeric| up to 0.14, max |err|/|num| 5.6e-5); tolerance 3e-6 + 1e-4 |num|.
    let mut gan = tiny();
    let mut rng = Rng::new(4);
    let z: Vec<f32> = (0..4 * 2).map(|_| rng.normal()).collect();
    let d_before = tensors(&gan.discriminator);
    let mut grads = gan.generator.zero_grads();
    let mut ws = GanWorkspace::default();
    gan.g_step(&z, &mut ws, Some(&mut grads)).unwrap();
    // structural (g_step borrows the discriminator immutably), kept as the contract's statement
    assert_eq!(tensors(&gan.discriminator), d_before, "the frozen discriminator changed");
    let spec = Spec::new(5e-2, 3e-6, 1e-4);
    let mut check = Check::new("gan generator through frozen D", spec.tol);
    for (t, g) in grads.iter().enumerate() {
        for (i, &a) in g.iter().enumerate() {
            let mut probe = gan.clone();
            let mut pws = GanWorkspace::default();
            let numeric = derivative(
                |v| {
                    probe.generator.tensors_mut()[t][i] = v;
                    probe.g_step(&z, &mut pws, None).unwrap()
                },
                gan.generator.tensors()[t][i],
                spec.h,
            );
            check.point(format_args!(" tensor {t}[{i}]"), a, numeric);
        }
    }
    check.finish();
}

#[test]
fn discriminator_gradient_matches_finite_differences() {
    // Measured (NEURITE_GRADCHECK_REPORT=1): max |err| 1.0e-6 over the discriminator's 26
    // parameters (|numeric| up to 0.13, max |err|/|num| 3.8e-5); tolerance 3e-6 + 1e-4 |num|.
    let mut gan = tiny();
    let mut rng = Rng::new(6);
    let real: Vec<f32> = (0..4 * 3).map(|_| rng.normal()).collect();
    let z: Vec<f32> = (0..4 * 2).map(|_| rng.normal()).collect();
    let g_before = tensors(&gan.generator);
    let mut grads = gan.discriminator.zero_grads();
    let mut ws = GanWorkspace::default();
    gan.d_step(&real, &z, &mut ws, Some(&mut grads)).unwrap();
    assert_eq!(tensors(&gan.generator), g_before);
    let spec = Spec::new(5e-2, 3e-6, 1e-4);
    let mut check = Check::new("gan discriminator", spec.tol);
    for (t, g) in grads.iter().enumerate() {
        for (i, &a) in g.iter().enumerate() {
            let mut probe = gan.clone();
            let mut pws = GanWorkspace::default();
            let numeric = derivative(
                |v| {
                    probe.discriminator.tensors_mut()[t][i] = v;
                    probe.d_step(&real, &z, &mut pws, None).unwrap()
                },
                gan.discriminator.tensors()[t][i],
                spec.h,
            );
            check.point(format_args!(" tensor {t}[{i}]"), a, numeric);
        }
    }
    check.finish();
}

/// Generator samples measured, and the share of them a covered mode holds at least.
const SAMPLES: usize = 2000;
const MIN_FRACTION: f32 = 0.01;

#[test]
fn short_ring_run_covers_the_modes() {
    // Measured (1,000 steps of `GanConfig::ring()`, 2,000 samples, a mode covered at 1% of
    // them within 3 std): seed 1 covers 8 modes with 72.4% high-quality samples; the untrained
    // generator 0 modes, 0%. Seeds 1..=8 (the example with `--steps 1000 --seed S`): 8, 8, 8,
    // 8, 8, 8, 7, 8 modes, 37.0..77.2% high quality. Bounds: at least 6 modes and 30% high
    // quality (below every seed's figure); the untrained generator at most 1 mode.
    let ring = Ring::default();
    let cfg = GanConfig { steps: 1000, ..GanConfig::ring() };
    let mut untrained = Gan::build(&cfg.generator, &cfg.discriminator, cfg.noise, 2).unwrap();
    untrained.init(&mut Rng::new(cfg.seed));
    let before = ring.coverage(&untrained.sample(SAMPLES, &mut Rng::new(99)), MIN_FRACTION);
    let report =
        train_gan(&cfg, 2, |rng, n, out| ring.sample(rng, n, out), 100, |_, _| {}).unwrap();
    let after = ring.coverage(&report.gan.sample(SAMPLES, &mut Rng::new(99)), MIN_FRACTION);
    println!(
        "untrained: {} modes, {:.1}% high quality {:?}; after {} steps: {} modes, {:.1}% high \
         quality {:?}; last losses {:?}",
        before.covered,
        100.0 * before.high_quality,
        before.per_mode,
        cfg.steps,
        after.covered,
        100.0 * after.high_quality,
        after.per_mode,
        report.history.last()
    );
    assert!(before.covered <= 1, "the untrained generator covers {} modes", before.covered);
    assert!(after.covered >= 6, "{} of 8 modes covered: {:?}", after.covered, after.per_mode);
    assert!(after.high_quality >= 0.3, "{:.1}% high-quality samples", 100.0 * after.high_quality);
}

#[test]
fn short_digits_run_draws_digit_like_samples() {
    // Measured (2,000 steps of `GanConfig::digits()`, seed 1; 500 samples): mean distance to
    // the nearest training digit 25.56 pixel units, nearest-digit classes [161, 0, 0, 0, 0,
    // 3, 180, 0, 0, 156] (3 of 10 at >= 5%: a short run is still partly collapsed); the
    // untrained generator 48.08 (2 classes), uniform noise 57.09, the test digits 16.94.
    // Seeds 2, 3: 24.91, 25.81. Bounds: below 32 (and so far from the untrained generator's
    // and the noise's), at least 3 classes.
    let data = Dataset::load_csv(&shipped_data_dir().join("digits.csv"), None).unwrap();
    let digits = DigitsGanData::new(&data).unwrap();
    let cfg = GanConfig { steps: 2000, ..GanConfig::digits() };
    let report = train_digits_gan(&cfg, &digits, 500, |_, _| {}).unwrap();
    let generated = digits.quality(&report.gan.sample(500, &mut Rng::new(99)));
    let mut untrained = Gan::build(&cfg.generator, &cfg.discriminator, cfg.noise, 64).unwrap();
    untrained.init(&mut Rng::new(cfg.seed));
    let before = digits.quality(&untrained.sample(500, &mut Rng::new(99)));
    println!(
        "digits after {} steps: mean nearest distance {:.3}, classes {:?}; untrained {:.3} {:?}; \
         losses {:?}",
        cfg.steps,
        generated.mean_nearest,
        generated.class_counts,
        before.mean_nearest,
        before.class_counts,
        report.history
    );
    assert!(before.mean_nearest > 40.0, "untrained generator at {}", before.mean_nearest);
    assert!(generated.mean_nearest < 32.0, "generated digits at {}", generated.mean_nearest);
    assert!(generated.classes_covered(0.05) >= 3, "classes {:?}", generated.class_counts);
}
