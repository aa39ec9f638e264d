//! A convolutional autoencoder on the 8x8 digits: training through the runtime-shaped
//! front end ([`crate::dynamic`]), reconstruction error on the canonical split against the
//! mean-image baseline, and a PNG of inputs above their reconstructions.
//!
//! Pixels (0..=16 in `digits.csv`) are divided by [`PIXEL_MAX`] for training; every error
//! in [`AutoencoderReport`] is in pixel units (the trained MSE times `PIXEL_MAX²`).
//! `cargo run --release -p neurite-host --example digits_autoencoder` runs it.

use crate::data::Dataset;
use crate::dynamic::backend::CPU;
use crate::dynamic::{parse_spec, DynModel, DynOptimizer, DynTrainer, Workspace};
use neurite::init::LayerInit;
use neurite::loss::{Mse, Reduction, Target};
use neurite::optim::AdamConfig;
use neurite::rng::Rng;
use plotters::prelude::*;
use std::path::Path;

/// Largest pixel value of the digits data (`load_digits`: 0..=16).
pub const PIXEL_MAX: f32 = 16.0;

/// Encoder 1x8x8 -> 8x4x4 -> 16x2x2, decoder back to 1x8x8 with two stride-2 transposed
/// convolutions; linear output.
pub const DEFAULT_SPEC: &str = "conv2d(8,3,padding=1),relu,maxpool2d(2),\
conv2d(16,3,padding=1),relu,maxpool2d(2),\
conv_transpose2d(8,2,stride=2),relu,conv_transpose2d(1,2,stride=2)";

/// Training plan.
#[derive(Clone, Debug, PartialEq)]
pub struct AutoencoderConfig {
    /// Layer spec (input 1x8x8; the output must have 64 values).
    pub spec: String,
    /// Passes over the training rows.
    pub epochs: usize,
    /// Minibatch size.
    pub batch: usize,
    /// Adam learning rate.
    pub lr: f32,
    /// Seed of the initialisation and of the shuffling.
    pub seed: u64,
}

impl Default for AutoencoderConfig {
    fn default() -> Self {
        Self { spec: DEFAULT_SPEC.into(), epochs: 40, batch: 8, lr: 0.005, seed: 1 }
    }
}

/// What [`train_autoencoder`] measured, every error in pixel units (0..=16 scale).
#[derive(Clone, Debug)]
pub struct AutoencoderReport {
    /// Mean batch MSE of each epoch on the training rows (epoch 1 first).
    pub train_mse: Vec<f32>,
    /// Reconstruction MSE on the canonical test rows (every pixel of every row).
    pub test_mse: f32,
    /// MSE on the test rows of predicting the mean training image for every row.
    pub baseline_mse: f32,
    /// Rows the model trained on and was tested on.
    pub train_rows: usize,
    /// Test rows.
    pub test_rows: usize,
    /// The trained model (input and output on the `[0, 1]` scale: pixels / [`PIXEL_MAX`]).
    pub model: DynModel,
}

/// Image side of the digits (8).
const SIDE: usize = 8;

fn scaled_rows(d: &Dataset) -> Vec<Vec<f32>> {
    (0..d.len()).map(|i| d.row(i).iter().map(|v| v / PIXEL_MAX).collect()).collect()
}

/// The model's reconstruction of one digit given and returned in pixel units.
pub fn reconstruct(model: &DynModel, pixels: &[f32]) -> Vec<f32> {
    let x: Vec<f32> = pixels.iter().map(|v| v / PIXEL_MAX).collect();
    model.forward(&x).into_iter().map(|v| v * PIXEL_MAX).collect()
}

/// Mean squared error (pixel units) of `model` reconstructing `rows` (`[0, 1]` scale),
/// accumulated in f64 over every pixel.
fn reconstruction_mse(model: &DynModel, rows: &[Vec<f32>]) -> f32 {
    let flat: Vec<f32> = rows.concat();
    let mut ws = Workspace::default();
    let out = model.forward_batch(&CPU, &flat, rows.len(), &mut ws);
    let sum: f64 = out.iter().zip(&flat).map(|(&y, &x)| f64::from(y - x).powi(2)).sum();
    (sum / flat.len() as f64 * f64::from(PIXEL_MAX * PIXEL_MAX)) as f32
}

/// Trains the autoencoder of `cfg` on the canonical training rows of `data` (the digits:
/// 64 pixel columns, row-major 8x8) with Adam on MSE against the input itself, then
/// measures reconstruction MSE on the test rows and the mean-image baseline.
pub fn train_autoencoder(
    cfg: &AutoencoderConfig,
    data: &Dataset,
) -> Result<AutoencoderReport, String> {
    if data.n_features != SIDE * SIDE {
        return Err(format!("expected {} pixel columns, found {}", SIDE * SIDE, data.n_features));
    }
    if cfg.epochs == 0 || cfg.batch == 0 {
        return Err("epochs and batch must be positive".into());
    }
    let nodes = parse_spec(&cfg.spec).map_err(|e| e.to_string())?;
    let mut model = DynModel::build(&nodes, &[1, SIDE, SIDE])?;
    if model.outputs() != SIDE * SIDE {
        return Err(format!(
            "the model outputs {:?}, not one {SIDE}x{SIDE} image",
            model.output_shape()
        ));
    }
    let (train, test) = data.canonical_split();
    let (xs, xt) = (scaled_rows(&train), scaled_rows(&test));
    if xs.is_empty() || xt.is_empty() {
        return Err("need training and test rows".into());
    }

    let mut rng = Rng::new(cfg.seed);
    model.init(&LayerInit::HE_RELU, &mut rng);
    let lens: Vec<usize> = model.tensors().iter().map(|t| t.len()).collect();
    let mut opt = DynOptimizer::Adam(AdamConfig::adam(cfg.lr), false)
        .build(&lens)
        .map_err(|e| e.to_string())?;
    let mut trainer = DynTrainer::new(&model);
    let inputs: Vec<&[f32]> = xs.iter().map(Vec::as_slice).collect();
    let targets: Vec<Target<'_>> = inputs.iter().map(|x| Target::Values(x)).collect();
    let mut train_mse = Vec::with_capacity(cfg.epochs);
    for _ in 0..cfg.epochs {
        let loss = trainer
            .epoch(
                &mut model,
                &mut opt,
                &Mse,
                Reduction::Mean,
                &inputs,
                &targets,
                cfg.batch,
                Some(&mut rng),
                |_, _| {},
            )
            .map_err(|e| e.to_string())?;
        if !loss.is_finite() {
            return Err(format!(
                "training diverged (loss {loss}) at epoch {}",
                train_mse.len() + 1
            ));
        }
        train_mse.push(loss * PIXEL_MAX * PIXEL_MAX);
    }

    // the trivial model: the mean training image for every test row
    let mut mean = vec![0.0f64; SIDE * SIDE];
    for x in &xs {
        for (m, &v) in mean.iter_mut().zip(x) {
            *m += f64::from(v);
        }
    }
    let mean: Vec<f64> = mean.iter().map(|m| m / xs.len() as f64).collect();
    let sq: f64 =
        xt.iter().flat_map(|x| x.iter().zip(&mean).map(|(&v, m)| (f64::from(v) - m).powi(2))).sum();
    let baseline_mse =
        (sq / (xt.len() * SIDE * SIDE) as f64 * f64::from(PIXEL_MAX * PIXEL_MAX)) as f32;

    Ok(AutoencoderReport {
        train_mse,
        test_mse: reconstruction_mse(&model, &xt),
        baseline_mse,
        train_rows: xs.len(),
        test_rows: xt.len(),
        model,
    })
}

/// Screen pixels per image pixel.
const ZOOM: usize = 8;
/// Gap between images and around the grid, in screen pixels.
const GAP: usize = 6;

/// Writes a PNG: `inputs` (row-major `side x side` images, values on the `[0, 1]` scale,
/// clamped; pixel-unit digits divided by [`PIXEL_MAX`]) in a top row, each scaled up 8x,
/// above a row of `recons`, the same images' reconstructions. Ink is dark on white, as
/// scikit-learn's `gray_r` shows the digits.
pub fn write_reconstructions_png(
    path: &Path,
    inputs: &[Vec<f32>],
    recons: &[Vec<f32>],
    side: usize,
) -> Result<(), Box<dyn std::error::Error>> {
    if inputs.is_empty() || inputs.len() != recons.len() {
        return Err(format!(
            "need as many reconstructions as inputs (at least one): {} vs {}",
            inputs.len(),
            recons.len()
        )
        .into());
    }
    if side == 0 || inputs.iter().chain(recons).any(|im| im.len() != side * side) {
        return Err(format!("every image must have {side}x{side} values").into());
    }
    let cell = side * ZOOM;
    let width = inputs.len() * (cell + GAP) + GAP;
    let height = 2 * (cell + GAP) + GAP;
    let root = BitMapBackend::new(path, (width as u32, height as u32)).into_drawing_area();
    root.fill(&RGBColor(150, 150, 150))?;
    for (row, images) in [inputs, recons].into_iter().enumerate() {
        for (col, image) in images.iter().enumerate() {
            let (x0, y0) = (GAP + col * (cell + GAP), GAP + row * (cell + GAP));
            for (k, &v) in image.iter().enumerate() {
                let (r, c) = (k / side, k % side);
                let ink = if v.is_finite() { v.clamp(0.0, 1.0) } else { 0.0 };
                let grey = (255.0 * (1.0 - ink)).round() as u8;
                let (px, py) = ((x0 + c * ZOOM) as i32, (y0 + r * ZOOM) as i32);
                root.draw(&Rectangle::new(
                    [(px, py), (px + ZOOM as i32, py + ZOOM as i32)],
                    RGBColor(grey, grey, grey).filled(),
                ))?;
            }
        }
    }
    root.present()?;
    Ok(())
}
