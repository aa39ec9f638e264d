//! A (convolutional) autoencoder, by default on the 8x8 digits: training through the
//! runtime-shaped front end ([`crate::dynamic`]), reconstruction error on the canonical split
//! against the mean-image baseline, and a PNG of inputs above their reconstructions.
//!
//! Features are divided by a scale for training ([`AutoencoderConfig::scale`]: [`PIXEL_MAX`]
//! for the digits, 0..=16, or the largest absolute training value); every error in
//! [`AutoencoderReport`] is in the data's units (the trained MSE times `scale²`).
//! `cargo run --release -p neurite-host --example digits_autoencoder` runs it on the digits;
//! `neurite autoencode` on any CSV.

use crate::data::Dataset;
use crate::dynamic::backend::DEFAULT;
use crate::dynamic::{DynModel, DynOptimizer, DynTrainer, Workspace};
use crate::plot::Ink;
use neurite::init::LayerInit;
use neurite::loss::{Mse, Reduction, Target};
use neurite::optim::AdamConfig;
use neurite::rng::Rng;
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
    /// Layer spec (input [`Self::input_shape`]; the output must have as many values).
    pub spec: String,
    /// Shape of one sample (`[C, H, W]`, `[C, L]`, `[n]`); each row holds one in row-major
    /// order. Default `[1, 8, 8]`.
    pub input_shape: Vec<usize>,
    /// Divisor of the features for training; `None`: the largest absolute value among the
    /// training rows' features (1 if they are all 0). Default `Some(PIXEL_MAX)`.
    pub scale: Option<f32>,
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
        Self {
            spec: DEFAULT_SPEC.into(),
            input_shape: vec![1, SIDE, SIDE],
            scale: Some(PIXEL_MAX),
            epochs: 40,
            batch: 8,
            lr: 0.005,
            seed: 1,
        }
    }
}

/// What [`train_autoencoder`] measured, every error in the data's units (pixel units,
/// 0..=16, for the digits).
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
    /// What the features were divided by for training.
    pub scale: f32,
    /// The trained model (input and output are features divided by [`Self::scale`]).
    pub model: DynModel,
}

impl AutoencoderReport {
    /// The model's reconstruction of one row, given and returned in the data's units.
    pub fn reconstruct(&self, row: &[f32]) -> Vec<f32> {
        let x: Vec<f32> = row.iter().map(|v| v / self.scale).collect();
        self.model.forward(&x).into_iter().map(|v| v * self.scale).collect()
    }
}

/// Image side of the digits (8).
const SIDE: usize = 8;

fn scaled_rows(d: &Dataset, scale: f32) -> Vec<Vec<f32>> {
    (0..d.len()).map(|i| d.row(i).iter().map(|v| v / scale).collect()).collect()
}

/// The largest absolute feature value of `data` (1 if every feature is 0): the default
/// training scale.
pub fn data_scale(data: &Dataset) -> f32 {
    let m = data.features.iter().fold(0.0f32, |m, v| m.max(v.abs()));
    if m > 0.0 {
        m
    } else {
        1.0
    }
}

/// Mean squared error (data units) of `model` reconstructing `rows` (divided by `scale`),
/// accumulated in f64 over every value.
fn reconstruction_mse(model: &DynModel, rows: &[Vec<f32>], scale: f32) -> f32 {
    let flat: Vec<f32> = rows.concat();
    let mut ws = Workspace::default();
    let out = model.forward_batch(&DEFAULT, &flat, rows.len(), &mut ws);
    let sum: f64 = out.iter().zip(&flat).map(|(&y, &x)| f64::from(y - x).powi(2)).sum();
    (sum / flat.len() as f64 * f64::from(scale) * f64::from(scale)) as f32
}

/// Builds the (uninitialised) model of `spec` for samples of `shape` and checks that its
/// output has as many values as its input.
pub fn build_autoencoder(spec: &str, shape: &[usize]) -> Result<DynModel, String> {
    let model = DynModel::from_spec(spec, shape)?;
    let inputs: usize = shape.iter().product();
    if model.outputs() != inputs {
        return Err(format!(
            "the model's output has {} values ({}) but its input has {inputs} ({}): an \
autoencoder's output must have as many values as its input",
            model.outputs(),
            crate::export::shape_string(model.output_shape()),
            crate::export::shape_string(shape)
        ));
    }
    Ok(model)
}

/// Trains the autoencoder of `cfg` on the canonical training rows of `data` (each row one
/// sample of `cfg.input_shape`, row-major; the digits: 64 pixel columns, 8x8) with Adam on
/// MSE against the input itself, then measures reconstruction MSE on the test rows and the
/// mean-image baseline.
pub fn train_autoencoder(
    cfg: &AutoencoderConfig,
    data: &Dataset,
) -> Result<AutoencoderReport, String> {
    train_autoencoder_with(cfg, data, |_, _| {})
}

/// [`train_autoencoder`], calling `on_epoch(epoch, train_mse)` (1-based epoch, MSE in the
/// data's units) after each epoch.
pub fn train_autoencoder_with(
    cfg: &AutoencoderConfig,
    data: &Dataset,
    mut on_epoch: impl FnMut(usize, f32),
) -> Result<AutoencoderReport, String> {
    let n: usize = cfg.input_shape.iter().product();
    if data.n_features != n {
        return Err(format!(
            "the input shape {} holds {n} values, the data has {} feature columns",
            crate::export::shape_string(&cfg.input_shape),
            data.n_features
        ));
    }
    if cfg.epochs == 0 || cfg.batch == 0 {
        return Err("epochs and batch must be positive".into());
    }
    if cfg.scale.is_some_and(|s| !(s.is_finite() && s > 0.0)) {
        return Err("the scale must be a positive number".into());
    }
    let mut model = build_autoencoder(&cfg.spec, &cfg.input_shape)?;
    let (train, test) = data.canonical_split();
    let scale = cfg.scale.unwrap_or_else(|| data_scale(&train));
    let (xs, xt) = (scaled_rows(&train, scale), scaled_rows(&test, scale));
    if xs.is_empty() || xt.is_empty() {
        return Err("need training and test rows".into());
    }
    let units = scale * scale;

    let mut rng = Rng::new(cfg.seed);
    model.init(&LayerInit::HE_RELU, &mut rng);
    let mut opt = DynOptimizer::Adam(AdamConfig::adam(cfg.lr), false)
        .build_for(&model)
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
                "training diverged (loss {loss}) at epoch {}; lower the learning rate",
                train_mse.len() + 1
            ));
        }
        train_mse.push(loss * units);
        on_epoch(train_mse.len(), loss * units);
    }

    // the trivial model: the mean training image for every test row
    let mut mean = vec![0.0f64; n];
    for x in &xs {
        for (m, &v) in mean.iter_mut().zip(x) {
            *m += f64::from(v);
        }
    }
    let mean: Vec<f64> = mean.iter().map(|m| m / xs.len() as f64).collect();
    let sq: f64 =
        xt.iter().flat_map(|x| x.iter().zip(&mean).map(|(&v, m)| (f64::from(v) - m).powi(2))).sum();
    let baseline_mse = (sq / (xt.len() * n) as f64 * f64::from(scale) * f64::from(scale)) as f32;

    Ok(AutoencoderReport {
        train_mse,
        test_mse: reconstruction_mse(&model, &xt, scale),
        baseline_mse,
        train_rows: xs.len(),
        test_rows: xt.len(),
        scale,
        model,
    })
}

/// How [`write_reconstruction_grid`] lays out one sample of `shape` as an image, `(height,
/// width)`: the last dimension across, the others (channels stacked) down; a flat `[n]`
/// with `n` a perfect square as a square.
pub fn image_dims(shape: &[usize]) -> (usize, usize) {
    match shape {
        [] => (0, 0),
        [n] => {
            let side = (*n as f64).sqrt().round() as usize;
            if side * side == *n {
                (side, side)
            } else {
                (1, *n)
            }
        }
        [rest @ .., w] => (rest.iter().product(), *w),
    }
}

/// Writes a PNG: `inputs` (row-major `height x width` images, values on the `[0, 1]` scale,
/// clamped; pixel-unit digits divided by [`PIXEL_MAX`]) in a top row, each scaled up 6x,
/// above a row of `recons`, the same images' reconstructions. Ink is dark on white, as
/// scikit-learn's `gray_r` shows the digits.
pub fn write_reconstruction_grid(
    path: &Path,
    inputs: &[Vec<f32>],
    recons: &[Vec<f32>],
    height: usize,
    width: usize,
) -> Result<(), Box<dyn std::error::Error>> {
    if inputs.is_empty() || inputs.len() != recons.len() {
        return Err(format!(
            "need as many reconstructions as inputs (at least one): {} vs {}",
            inputs.len(),
            recons.len()
        )
        .into());
    }
    if height == 0 || width == 0 || inputs.iter().chain(recons).any(|im| im.len() != height * width)
    {
        return Err(format!("every image must have {height}x{width} values").into());
    }
    let images = [inputs, recons].concat();
    crate::plot::write_image_grid(path, &images, inputs.len(), (height, width), Ink::Dark)
}
