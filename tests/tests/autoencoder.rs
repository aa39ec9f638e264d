//! The convolutional autoencoder of `neurite_host::autoencoder` (the library function behind
//! `host/examples/digits_autoencoder.rs`) on the shipped digits, canonical split, trained
//! shorter than the example: the test reconstruction MSE must fall well below the trivial
//! baseline of predicting the mean training image.
//!
//! `cargo test -p neurite-tests --test autoencoder -- --nocapture` prints the figures (seed 1);
//! `cargo test --release -p neurite-tests --test autoencoder -- --ignored --nocapture` sweeps
//! seeds 1..=8 and prints the range.

use neurite_host::autoencoder::{build_autoencoder, train_autoencoder, AutoencoderConfig};
use neurite_host::data::{shipped_data_dir, Dataset};

/// `(test reconstruction MSE, mean-image baseline MSE)`, pixel units (0..=16).
fn run(seed: u64) -> (f32, f32) {
    let data = Dataset::load_csv(&shipped_data_dir().join("digits.csv"), None).unwrap();
    let cfg = AutoencoderConfig { epochs: 8, seed, ..AutoencoderConfig::default() };
    let report = train_autoencoder(&cfg, &data).unwrap();
    assert_eq!(report.model.param_count(), 1801);
    assert_eq!(report.train_mse.len(), 8);
    assert!(report.train_mse.iter().all(|l| l.is_finite()));
    assert!(
        report.train_mse[7] < report.train_mse[0],
        "training MSE did not fall: {:?}",
        report.train_mse
    );
    println!(
        "seed {seed}: train MSE {:?}, test MSE {:.4}, mean-image baseline {:.4} ({:.1}%)",
        report.train_mse,
        report.test_mse,
        report.baseline_mse,
        100.0 * report.test_mse / report.baseline_mse
    );
    (report.test_mse, report.baseline_mse)
}

#[test]
fn reconstruction_beats_mean_image() {
    // Measured (8 epochs, batch 8, Adam lr 0.005, the default spec), test MSE in pixel
    // units against the mean-image baseline 18.738: seed 1 4.486 (23.9% of the baseline);
    // seeds 1..=8: 4.486, 4.930, 4.430, 13.346, 7.152, 4.137, 6.401, 5.533 (seed 4 is an
    // outlier at 71%, probably inactive ReLU units: leaky_relu(0.01) brings it from 6.49 to
    // 3.33 at 40 epochs). Threshold 40% of the baseline (7.50): 1.67x seed 1's value, above
    // 7 of the 8 seeds.
    let (mse, baseline) = run(1);
    assert!((baseline - 18.738).abs() < 0.01, "mean-image baseline {baseline}");
    assert!(mse < 0.4 * baseline, "test MSE {mse} vs mean-image baseline {baseline}");
}

#[test]
fn default_model_has_1801_parameters() {
    // conv2d(8,3): 8*1*9 + 8 = 80; conv2d(16,3): 16*8*9 + 16 = 1168;
    // conv_transpose2d(8,2): 16*8*4 + 8 = 520; conv_transpose2d(1,2): 8*1*4 + 1 = 33;
    // 80 + 1168 + 520 + 33 = 1801 (README, host/README.md)
    let cfg = AutoencoderConfig::default();
    let model = build_autoencoder(&cfg.spec, &cfg.input_shape).unwrap();
    assert_eq!(model.param_count(), 1801);
    assert_eq!((model.inputs(), model.outputs()), (64, 64));
}

#[test]
#[ignore = "sweep of 8 seeds for the thresholds; run with --ignored --release"]
fn seed_sweep() {
    let v: Vec<f32> = (1..=8).map(|s| run(s).0).collect();
    let (lo, hi) = v.iter().fold((f32::MAX, f32::MIN), |(a, b), &x| (a.min(x), b.max(x)));
    println!("SWEEP autoencoder test MSE: min {lo:.4} max {hi:.4} over seeds 1..=8: {v:?}");
}
