//! A convolutional autoencoder on the shipped 8x8 digits (`neurite_host::autoencoder`):
//! prints the training MSE per epoch, the test reconstruction MSE next to the mean-image
//! baseline (pixel units, 0..=16), and writes a PNG of ten test digits (one per class)
//! above their reconstructions.
//!
//! `cargo run --release -p neurite-host --example digits_autoencoder -- [--epochs N] [--out DIR]`
//! (also `--seed`, `--lr`, `--batch`, `--spec`)

use clap::Parser;
use neurite_host::autoencoder::{
    train_autoencoder, write_reconstruction_grid, AutoencoderConfig, PIXEL_MAX,
};
use neurite_host::data::{shipped_data_dir, Dataset};
use std::path::PathBuf;
use std::time::Instant;

#[derive(Parser)]
#[command(about = "Convolutional autoencoder on the shipped digits")]
struct Args {
    /// Passes over the training rows.
    #[arg(long, default_value_t = AutoencoderConfig::default().epochs)]
    epochs: usize,
    /// Directory of the PNG.
    #[arg(long, default_value = "neurite-out")]
    out: PathBuf,
    /// Seed of the initialisation and shuffling.
    #[arg(long, default_value_t = AutoencoderConfig::default().seed)]
    seed: u64,
    /// Adam learning rate.
    #[arg(long, default_value_t = AutoencoderConfig::default().lr)]
    lr: f32,
    /// Layer spec (input 1x8x8, output 64 values).
    #[arg(long, default_value = neurite_host::autoencoder::DEFAULT_SPEC)]
    spec: String,
    /// Minibatch size.
    #[arg(long, default_value_t = AutoencoderConfig::default().batch)]
    batch: usize,
}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let args = Args::parse();
    let data = Dataset::load_csv(&shipped_data_dir().join("digits.csv"), None)?;
    let cfg = AutoencoderConfig {
        epochs: args.epochs,
        seed: args.seed,
        lr: args.lr,
        batch: args.batch,
        spec: args.spec,
        ..AutoencoderConfig::default()
    };
    println!("spec: {}", cfg.spec);
    println!("epochs {}, batch {}, Adam lr {}, seed {}", cfg.epochs, cfg.batch, cfg.lr, cfg.seed);
    let start = Instant::now();
    let report = train_autoencoder(&cfg, &data)?;
    println!(
        "{} parameters, {} train rows, {} test rows",
        report.model.param_count(),
        report.train_rows,
        report.test_rows
    );
    for (i, mse) in report.train_mse.iter().enumerate() {
        println!("epoch {:>3}: train MSE {mse:.4}", i + 1);
    }
    println!("trained in {:.1} s", start.elapsed().as_secs_f32());
    println!(
        "test reconstruction MSE {:.4} vs mean-image baseline {:.4} (pixel units, 0..=16): {:.1}% of the baseline",
        report.test_mse,
        report.baseline_mse,
        100.0 * report.test_mse / report.baseline_mse
    );

    // the first test row of each class
    let (_, test) = data.canonical_split();
    let classes = test.classes().map_err(|row| format!("test row {row}: not a class"))?;
    let picks: Vec<usize> = (0..10).filter_map(|c| classes.iter().position(|&k| k == c)).collect();
    let unit = |v: Vec<f32>| v.into_iter().map(|p| p / PIXEL_MAX).collect::<Vec<f32>>();
    let inputs: Vec<Vec<f32>> = picks.iter().map(|&i| unit(test.row(i).to_vec())).collect();
    let recons: Vec<Vec<f32>> =
        picks.iter().map(|&i| unit(report.reconstruct(test.row(i)))).collect();
    std::fs::create_dir_all(&args.out)?;
    let path = args.out.join("digits_autoencoder.png");
    write_reconstruction_grid(&path, &inputs, &recons, 8, 8)?;
    println!("wrote {} (top: test digits 0-9, bottom: reconstructions)", path.display());
    Ok(())
}
