//! A small U-Net (`neurite_host::unet`) segmenting synthetic shapes (`neurite_host::shapes`:
//! discs, squares and bars on Gaussian noise), trained with Adam on Dice + BCE on logits:
//! prints the loss per epoch, the held-out mean IoU and pixel accuracy, and writes a PNG of
//! held-out images, their true masks and the predicted probabilities.
//!
//! `cargo run --release -p neurite-host --example unet_shapes -- [--epochs N] [--out DIR]`
//! (also `--seed`, `--lr`, `--batch`, `--width`, `--train-images`, `--test-images`,
//! `--noise`, `--show`)

use clap::Parser;
use neurite_host::shapes::ShapesConfig;
use neurite_host::unet::{
    predict_logits, train_unet_with, unet_spec, write_segmentation_grid, UnetConfig, DEFAULT_WIDTH,
};
use std::path::PathBuf;
use std::time::Instant;

#[derive(Parser)]
#[command(about = "U-Net segmenting synthetic shapes")]
struct Args {
    /// Passes over the training images.
    #[arg(long, default_value_t = UnetConfig::default().epochs)]
    epochs: usize,
    /// Directory of the PNG.
    #[arg(long, default_value = "neurite-out")]
    out: PathBuf,
    /// Seed of the initialisation and shuffling.
    #[arg(long, default_value_t = UnetConfig::default().seed)]
    seed: u64,
    /// Adam learning rate.
    #[arg(long, default_value_t = UnetConfig::default().lr)]
    lr: f32,
    /// Minibatch size.
    #[arg(long, default_value_t = UnetConfig::default().batch)]
    batch: usize,
    /// Channels at full resolution (2x and 4x below).
    #[arg(long, default_value_t = DEFAULT_WIDTH)]
    width: usize,
    /// Training images.
    #[arg(long, default_value_t = UnetConfig::default().train_images)]
    train_images: usize,
    /// Held-out images.
    #[arg(long, default_value_t = UnetConfig::default().test_images)]
    test_images: usize,
    /// Standard deviation of the pixel noise.
    #[arg(long, default_value_t = ShapesConfig::default().noise)]
    noise: f32,
    /// Held-out images drawn in the PNG.
    #[arg(long, default_value_t = 6)]
    show: usize,
}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let args = Args::parse();
    let cfg = UnetConfig {
        spec: unet_spec(args.width),
        shapes: ShapesConfig { noise: args.noise, ..ShapesConfig::default() },
        train_images: args.train_images,
        test_images: args.test_images,
        epochs: args.epochs,
        batch: args.batch,
        lr: args.lr,
        seed: args.seed,
        ..UnetConfig::default()
    };
    let side = cfg.shapes.side;
    println!("spec: {}", cfg.spec);
    println!(
        "{} training and {} held-out {side}x{side} images (noise {}), epochs {}, batch {}, Adam lr {}, seed {}",
        cfg.train_images, cfg.test_images, cfg.shapes.noise, cfg.epochs, cfg.batch, cfg.lr, cfg.seed
    );
    let start = Instant::now();
    let report = train_unet_with(&cfg, |epoch, loss| {
        println!(
            "epoch {epoch:>3}: loss (Dice + BCE) {loss:.4}  [{:.1} s]",
            start.elapsed().as_secs_f32()
        );
    })?;
    println!(
        "{} parameters; trained in {:.1} s",
        report.model.param_count(),
        start.elapsed().as_secs_f32()
    );
    println!(
        "held-out mean IoU {:.4}, pixel accuracy {:.4} (untrained: mean IoU {:.4}, pixel accuracy {:.4})",
        report.test.mean_iou,
        report.test.pixel_accuracy,
        report.untrained.mean_iou,
        report.untrained.pixel_accuracy
    );
    println!("{}", neurite_host::footprint::m4f_estimate_line(&report.model));

    let k = args.show.min(report.test_set.len());
    let images = &report.test_set.images[..k];
    let logits = predict_logits(&report.model, images);
    std::fs::create_dir_all(&args.out)?;
    let path = args.out.join("unet_shapes.png");
    write_segmentation_grid(&path, images, &report.test_set.masks[..k], &logits, side)?;
    println!(
        "wrote {} (one held-out image per row: image | true mask | predicted probability)",
        path.display()
    );
    Ok(())
}
