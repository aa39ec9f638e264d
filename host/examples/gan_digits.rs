//! A GAN on the shipped 8x8 digits (`neurite_host::gan`), pixels scaled to `[-1, 1]` and a
//! `tanh` generator: prints the D and G losses during training, writes a 10x10 grid of
//! generated digits (`gan_digits.png`), and measures 500 generated digits by their distance
//! to the nearest training digit (pixel units, 0..=16) and the class of that digit (a
//! 1-nearest-neighbour classifier), next to the same figures for the test digits (real
//! digits the GAN never saw), uniform noise and the untrained generator.
//!
//! `cargo run --release -p neurite-host --example gan_digits -- [--steps N] [--out DIR]`
//! (also `--seed`, `--batch`, `--lr-g`, `--lr-d`, `--beta1`, `--noise`, `--generator`,
//! `--discriminator`)

use clap::Parser;
use neurite::rng::Rng;
use neurite_host::data::{shipped_data_dir, Dataset};
use neurite_host::gan::{train_digits_gan, DigitsGanData, Gan, GanConfig, SampleQuality};
use neurite_host::plot::{write_image_grid, Ink};
use std::path::PathBuf;
use std::time::Instant;

#[derive(Parser)]
#[command(about = "GAN on the shipped digits")]
struct Args {
    /// Training steps (one D step and one G step each).
    #[arg(long, default_value_t = GanConfig::digits().steps)]
    steps: usize,
    /// Directory of the PNG.
    #[arg(long, default_value = "neurite-out")]
    out: PathBuf,
    /// Seed of the initialisation, noise and real batches.
    #[arg(long, default_value_t = GanConfig::digits().seed)]
    seed: u64,
    /// Real (and fake) rows per step.
    #[arg(long, default_value_t = GanConfig::digits().batch)]
    batch: usize,
    /// Generator learning rate (Adam).
    #[arg(long, default_value_t = GanConfig::digits().lr_g)]
    lr_g: f32,
    /// Discriminator learning rate (Adam).
    #[arg(long, default_value_t = GanConfig::digits().lr_d)]
    lr_d: f32,
    /// Adam's beta1 for both models.
    #[arg(long, default_value_t = GanConfig::digits().beta1)]
    beta1: f32,
    /// Noise size.
    #[arg(long, default_value_t = GanConfig::digits().noise)]
    noise: usize,
    /// Generator spec (noise -> 64 values in [-1, 1]).
    #[arg(long, default_value = neurite_host::gan::DIGITS_GENERATOR)]
    generator: String,
    /// Discriminator spec (64 values -> 1 logit).
    #[arg(long, default_value = neurite_host::gan::DIGITS_DISCRIMINATOR)]
    discriminator: String,
}

/// Generated digits measured.
const SAMPLES: usize = 500;

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let args = Args::parse();
    let data = Dataset::load_csv(&shipped_data_dir().join("digits.csv"), None)?;
    let digits = DigitsGanData::new(&data)?;
    let cfg = GanConfig {
        generator: args.generator,
        discriminator: args.discriminator,
        noise: args.noise,
        steps: args.steps,
        batch: args.batch,
        lr_g: args.lr_g,
        lr_d: args.lr_d,
        beta1: args.beta1,
        seed: args.seed,
    };
    println!("generator: {}", cfg.generator);
    println!("discriminator: {}", cfg.discriminator);
    println!(
        "noise {}, steps {}, batch {}, Adam lr G {} D {} beta1 {}, seed {}; {} training digits",
        cfg.noise,
        cfg.steps,
        cfg.batch,
        cfg.lr_g,
        cfg.lr_d,
        cfg.beta1,
        cfg.seed,
        digits.labels.len()
    );
    let start = Instant::now();
    let report = train_digits_gan(&cfg, &digits, (cfg.steps / 15).max(1), |step, l| {
        println!("step {step:>6}: D loss {:.4}  G loss {:.4}", l.d, l.g);
    })?;
    println!("trained in {:.1} s", start.elapsed().as_secs_f32());

    let quality = |rows: &[f32]| digits.quality(rows);
    let mut untrained = Gan::build(&cfg.generator, &cfg.discriminator, cfg.noise, 64)?;
    untrained.init(&mut Rng::new(cfg.seed));
    let mut noise_rng = Rng::new(5);
    let noise: Vec<f32> = (0..SAMPLES * 64).map(|_| noise_rng.uniform_range(-1.0, 1.0)).collect();
    println!("generator: {}", neurite_host::footprint::m4f_estimate_line(&report.gan.generator));
    let generated = report.gan.sample(SAMPLES, &mut Rng::new(99));
    let figures: [(&str, SampleQuality); 4] = [
        ("generated", quality(&generated)),
        ("test digits", quality(&digits.test)),
        ("untrained G", quality(&untrained.sample(SAMPLES, &mut Rng::new(99)))),
        ("uniform noise", quality(&noise)),
    ];
    println!("distance to the nearest training digit (pixel units, 0..=16), and the classes of those digits:");
    for (name, q) in &figures {
        println!(
            "{name:>13}: mean {:.3}; classes {:?}, {} of 10 with >= 5%",
            q.mean_nearest,
            q.class_counts,
            q.classes_covered(0.05)
        );
    }

    std::fs::create_dir_all(&args.out)?;
    let images: Vec<Vec<f32>> = generated[..100 * 64]
        .chunks_exact(64)
        .map(|r| r.iter().map(|v| (v + 1.0) / 2.0).collect())
        .collect();
    let path = args.out.join("gan_digits.png");
    write_image_grid(&path, &images, 10, (8, 8), Ink::Dark)?;
    println!("wrote {} (100 generated digits)", path.display());
    Ok(())
}
