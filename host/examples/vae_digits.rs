//! A variational autoencoder on the shipped 8x8 digits (`neurite_host::vae`): prints the
//! ELBO terms per epoch (reconstruction BCE and KL, nats per digit), the test reconstruction
//! MSE of `decode(mu)` next to the mean-image baseline (pixel units, 0..=16) and the test
//! KL, and writes a 10x10 grid of digits decoded from prior samples `z ~ N(0, I)`
//! (`vae_digits_samples.png`) and a PNG of ten test digits above their reconstructions
//! (`vae_digits_reconstructions.png`).
//!
//! `cargo run --release -p neurite-host --example vae_digits -- [--epochs N] [--out DIR]`
//! (also `--seed`, `--lr`, `--batch`, `--latent`, `--beta`, `--encoder`, `--decoder`)

use clap::Parser;
use neurite_host::autoencoder::{write_reconstruction_grid, PIXEL_MAX};
use neurite_host::data::{shipped_data_dir, Dataset};
use neurite_host::plot::{write_image_grid, Ink};
use neurite_host::vae::{train_vae_with, VaeConfig};
use std::path::PathBuf;
use std::time::Instant;

#[derive(Parser)]
#[command(about = "Variational autoencoder on the shipped digits")]
struct Args {
    /// Passes over the training rows.
    #[arg(long, default_value_t = VaeConfig::default().epochs)]
    epochs: usize,
    /// Directory of the PNGs.
    #[arg(long, default_value = "neurite-out")]
    out: PathBuf,
    /// Seed of the initialisation, shuffling, noise and prior samples.
    #[arg(long, default_value_t = VaeConfig::default().seed)]
    seed: u64,
    /// Adam learning rate.
    #[arg(long, default_value_t = VaeConfig::default().lr)]
    lr: f32,
    /// Minibatch size.
    #[arg(long, default_value_t = VaeConfig::default().batch)]
    batch: usize,
    /// Latent size (the encoder must give twice as many values).
    #[arg(long, default_value_t = VaeConfig::default().latent)]
    latent: usize,
    /// Weight of the KL term (1: the ELBO).
    #[arg(long, default_value_t = VaeConfig::default().beta)]
    beta: f32,
    /// Encoder spec (input 64 values, output 2 x latent: mu then logvar); default
    /// `dense(128),relu,dense(2 x latent)`.
    #[arg(long)]
    encoder: Option<String>,
    /// Decoder spec (input latent values, output 64 logits).
    #[arg(long, default_value = neurite_host::vae::DECODER_SPEC)]
    decoder: String,
}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let args = Args::parse();
    let data = Dataset::load_csv(&shipped_data_dir().join("digits.csv"), None)?;
    let cfg = VaeConfig {
        encoder: args.encoder.unwrap_or_else(|| neurite_host::vae::encoder_spec(args.latent)),
        decoder: args.decoder,
        latent: args.latent,
        beta: args.beta,
        epochs: args.epochs,
        batch: args.batch,
        lr: args.lr,
        seed: args.seed,
    };
    println!("encoder: {}", cfg.encoder);
    println!("decoder: {}", cfg.decoder);
    println!(
        "latent {}, beta {}, epochs {}, batch {}, Adam lr {}, seed {}",
        cfg.latent, cfg.beta, cfg.epochs, cfg.batch, cfg.lr, cfg.seed
    );
    let start = Instant::now();
    let report = train_vae_with(&cfg, &data, |epoch, l| {
        println!(
            "epoch {epoch:>3}: recon BCE {:.3}  KL {:.3}  ELBO {:.3} (nats per digit)",
            l.recon,
            l.kl,
            l.elbo()
        );
    })?;
    println!("trained in {:.1} s", start.elapsed().as_secs_f32());
    let (e, d) = (&report.vae.encoder, &report.vae.decoder);
    println!(
        "{} + {} parameters, {} train rows, {} test rows",
        e.param_count(),
        d.param_count(),
        report.train_rows,
        report.test_rows
    );
    println!(
        "test: recon BCE {:.3}  KL {:.3}  ELBO {:.3} (one noise draw per digit)",
        report.test.recon,
        report.test.kl,
        report.test.elbo()
    );
    println!(
        "test reconstruction MSE of decode(mu) {:.4} vs mean-image baseline {:.4} (pixel units, 0..=16): {:.1}% of the baseline",
        report.test_mse,
        report.baseline_mse,
        100.0 * report.test_mse / report.baseline_mse
    );

    std::fs::create_dir_all(&args.out)?;
    println!("decoder: {}", neurite_host::footprint::m4f_estimate_line(d));
    let samples = report.sample(100, cfg.seed);
    let path = args.out.join("vae_digits_samples.png");
    write_image_grid(&path, &samples, 10, (8, 8), Ink::Dark)?;
    println!("wrote {} (100 digits decoded from z ~ N(0, I))", path.display());

    // the first test row of each class
    let (_, test) = data.canonical_split();
    let classes = test.classes().map_err(|row| format!("test row {row}: not a class"))?;
    let picks: Vec<usize> = (0..10).filter_map(|c| classes.iter().position(|&k| k == c)).collect();
    let inputs: Vec<Vec<f32>> =
        picks.iter().map(|&i| test.row(i).iter().map(|p| p / PIXEL_MAX).collect()).collect();
    let recons: Vec<Vec<f32>> = inputs.iter().map(|x| report.vae.reconstruct(x)).collect();
    let path = args.out.join("vae_digits_reconstructions.png");
    write_reconstruction_grid(&path, &inputs, &recons, 8, 8)?;
    println!("wrote {} (top: test digits 0-9, bottom: decode(mu))", path.display());
    Ok(())
}
