//! A GAN on the 2-D ring of eight Gaussians (`neurite_host::gan`, `neurite_host::mixture`):
//! prints the D and G losses during training, then the modes covered by 2,000 generator
//! samples (a mode is covered when at least 1% of them lie within 3 std of its mean) and the
//! fraction of "high-quality" samples (within 3 std of some mode), next to the untrained
//! generator's; writes a scatter of real (blue) and generated (red) points (`gan_ring.png`).
//!
//! `cargo run --release -p neurite-host --example gan_ring -- [--steps N] [--out DIR]`
//! (also `--seed`, `--batch`, `--lr-g`, `--lr-d`, `--beta1`, `--std`, `--generator`,
//! `--discriminator`, `--noise`)

use clap::Parser;
use neurite::rng::Rng;
use neurite_host::gan::{train_gan, Gan, GanConfig};
use neurite_host::mixture::{write_scatter, Ring};
use std::path::PathBuf;
use std::time::Instant;

#[derive(Parser)]
#[command(about = "GAN on a ring of eight 2-D Gaussians")]
struct Args {
    /// Training steps (one D step and one G step each).
    #[arg(long, default_value_t = GanConfig::ring().steps)]
    steps: usize,
    /// Directory of the PNG.
    #[arg(long, default_value = "neurite-out")]
    out: PathBuf,
    /// Seed of the initialisation, noise and real batches.
    #[arg(long, default_value_t = GanConfig::ring().seed)]
    seed: u64,
    /// Real (and fake) rows per step.
    #[arg(long, default_value_t = GanConfig::ring().batch)]
    batch: usize,
    /// Generator learning rate (Adam).
    #[arg(long, default_value_t = GanConfig::ring().lr_g)]
    lr_g: f32,
    /// Discriminator learning rate (Adam).
    #[arg(long, default_value_t = GanConfig::ring().lr_d)]
    lr_d: f32,
    /// Adam's beta1 for both models.
    #[arg(long, default_value_t = GanConfig::ring().beta1)]
    beta1: f32,
    /// Standard deviation of each mode.
    #[arg(long, default_value_t = Ring::default().std)]
    std: f32,
    /// Noise size.
    #[arg(long, default_value_t = GanConfig::ring().noise)]
    noise: usize,
    /// Generator spec (noise -> 2 values).
    #[arg(long, default_value = neurite_host::gan::RING_GENERATOR)]
    generator: String,
    /// Discriminator spec (2 values -> 1 logit).
    #[arg(long, default_value = neurite_host::gan::RING_DISCRIMINATOR)]
    discriminator: String,
}

/// Generator samples measured.
const SAMPLES: usize = 2000;
/// Fraction of the samples a covered mode holds at least.
const MIN_FRACTION: f32 = 0.01;

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let args = Args::parse();
    let ring = Ring { std: args.std, ..Ring::default() };
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
    println!("ring: {} modes, radius {}, std {}", ring.modes, ring.radius, ring.std);
    println!("generator: {}", cfg.generator);
    println!("discriminator: {}", cfg.discriminator);
    println!(
        "noise {}, steps {}, batch {}, Adam lr G {} D {} beta1 {}, seed {}",
        cfg.noise, cfg.steps, cfg.batch, cfg.lr_g, cfg.lr_d, cfg.beta1, cfg.seed
    );
    let mut untrained = Gan::build(&cfg.generator, &cfg.discriminator, cfg.noise, 2)?;
    untrained.init(&mut Rng::new(cfg.seed));
    let before = ring.coverage(&untrained.sample(SAMPLES, &mut Rng::new(99)), MIN_FRACTION);

    let start = Instant::now();
    let report = train_gan(
        &cfg,
        2,
        |rng, n, out| ring.sample(rng, n, out),
        (cfg.steps / 15).max(1),
        |step, l| println!("step {step:>6}: D loss {:.4}  G loss {:.4}", l.d, l.g),
    )?;
    println!("trained in {:.1} s", start.elapsed().as_secs_f32());
    println!("generator: {}", neurite_host::footprint::m4f_estimate_line(&report.gan.generator));
    let fake = report.gan.sample(SAMPLES, &mut Rng::new(99));
    let after = ring.coverage(&fake, MIN_FRACTION);
    for (name, c) in [("untrained", &before), ("trained", &after)] {
        println!(
            "{name:>9} generator: {} of {} modes covered (>= {}% of {SAMPLES} samples within 3 std), \
             {:.1}% high-quality samples; per mode {:?}",
            c.covered,
            ring.modes,
            MIN_FRACTION * 100.0,
            100.0 * c.high_quality,
            c.per_mode
        );
    }
    let mut real = Vec::new();
    ring.sample(&mut Rng::new(7), SAMPLES, &mut real);
    std::fs::create_dir_all(&args.out)?;
    let path = args.out.join("gan_ring.png");
    write_scatter(&path, &ring, &real, &fake, 1.5 * ring.radius)?;
    println!("wrote {} (blue: {SAMPLES} real points, red: {SAMPLES} generated)", path.display());
    Ok(())
}
