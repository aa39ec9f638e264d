//! A small 2-D U-Net segmenting the synthetic shapes of [`crate::shapes`]: trained through
//! the runtime-shaped front end ([`crate::dynamic`]) with Adam on Dice + BCE on logits
//! ([`neurite::loss::DiceBceWithLogits`]), scored by the mean foreground IoU over held-out
//! images, and drawn as a PNG of image | truth | prediction rows.
//!
//! The network ([`unet_spec`], width `C`), for a `1 x S x S` image (`S` a multiple of 4):
//!
//! ```text
//! 1xSxS -> conv3 C, relu, conv3 C, relu ------------------------------- skip 1 (C x S)
//!   maxpool 2 -> conv3 2C, relu, conv3 2C, relu ---------------- skip 2 (2C x S/2)
//!     maxpool 2 -> conv3 4C, relu, conv3 4C, relu (bottleneck, S/4)
//!     conv_transpose 2C (2, stride 2) -> S/2, concat skip 2 -> 4C
//!   conv3 2C, relu, conv3 2C, relu, conv_transpose C (2, stride 2) -> S, concat skip 1 -> 2C
//! conv3 C, relu, conv3 C, relu, conv1 1 -> one logit per pixel (1xSxS)
//! ```
//!
//! Every `conv3` pads by 1. The skips are `concat(body)` layers: the input's channels
//! followed by the body's. A pixel is foreground when its logit is above 0
//! (`sigmoid(z) > 0.5`).
//!
//! `cargo run --release -p neurite-host --example unet_shapes` runs it.

use crate::dynamic::backend::DEFAULT;
use crate::dynamic::{DynModel, DynOptimizer, DynTrainer, Workspace};
use crate::plot::{draw_grey_image, Ink, GAP, ZOOM};
use crate::shapes::{generate_shapes, ShapesConfig, ShapesSet};
use neurite::init::LayerInit;
use neurite::loss::{DiceBceWithLogits, Reduction, Target};
use neurite::optim::AdamConfig;
use neurite::rng::Rng;
use plotters::prelude::*;
use std::path::Path;

/// Width `C` of the default network (channels at full resolution; 2C and 4C below).
pub const DEFAULT_WIDTH: usize = 8;

/// The U-Net of the module documentation with `width` channels at full resolution.
pub fn unet_spec(width: usize) -> String {
    let (c, c2, c4) = (width, 2 * width, 4 * width);
    let pair = |k: usize| format!("conv2d({k},3,padding=1),relu,conv2d({k},3,padding=1),relu");
    format!(
        "{},concat(maxpool2d(2),{},concat(maxpool2d(2),{},conv_transpose2d({c2},2,stride=2)),\
{},conv_transpose2d({c},2,stride=2)),{},conv2d(1,1)",
        pair(c),
        pair(c2),
        pair(c4),
        pair(c2),
        pair(c)
    )
}

/// Training plan.
#[derive(Clone, Debug, PartialEq)]
pub struct UnetConfig {
    /// Layer spec; input `1 x side x side`, output one logit per pixel. Default
    /// [`unet_spec`]`(`[`DEFAULT_WIDTH`]`)`.
    pub spec: String,
    /// The images: side, shapes per image, noise; its seed draws the training images.
    pub shapes: ShapesConfig,
    /// Seed of the held-out images (drawn as the training ones, from this seed).
    pub test_seed: u64,
    /// Training images.
    pub train_images: usize,
    /// Held-out images.
    pub test_images: usize,
    /// Passes over the training images.
    pub epochs: usize,
    /// Minibatch size.
    pub batch: usize,
    /// Adam learning rate.
    pub lr: f32,
    /// Smoothing of the loss's Dice term.
    pub smooth: f32,
    /// Seed of the initialisation and of the shuffling.
    pub seed: u64,
}

impl Default for UnetConfig {
    fn default() -> Self {
        Self {
            spec: unet_spec(DEFAULT_WIDTH),
            shapes: ShapesConfig::default(),
            test_seed: 1_000_001,
            train_images: 1000,
            test_images: 200,
            epochs: 10,
            batch: 16,
            lr: 0.005,
            smooth: 1.0,
            seed: 1,
        }
    }
}

/// How well predicted masks match the true ones.
#[derive(Clone, Debug, PartialEq)]
pub struct SegmentationScores {
    /// Foreground IoU of each image: `|pred AND truth| / |pred OR truth|` over its pixels
    /// (1 when both are empty).
    pub ious: Vec<f32>,
    /// Mean of [`Self::ious`].
    pub mean_iou: f32,
    /// Fraction of all pixels classified right.
    pub pixel_accuracy: f32,
}

/// What [`train_unet`] measured.
#[derive(Clone, Debug)]
pub struct UnetReport {
    /// Mean batch loss (Dice + BCE, mean over the batch) of each epoch, epoch 1 first.
    pub train_loss: Vec<f32>,
    /// The scores on the held-out images after training.
    pub test: SegmentationScores,
    /// The scores on the held-out images of the initialised model, before any step.
    pub untrained: SegmentationScores,
    /// The held-out images and masks.
    pub test_set: ShapesSet,
    /// The trained model: image in, one logit per pixel out.
    pub model: DynModel,
}

/// Builds the (uninitialised) model of `spec` for `1 x side x side` images and checks that
/// it gives one value per pixel.
pub fn build_unet(spec: &str, side: usize) -> Result<DynModel, String> {
    let model = DynModel::from_spec(spec, &[1, side, side])?;
    if model.outputs() != side * side {
        return Err(format!(
            "the model gives {} values ({}) for a 1x{side}x{side} image: a segmentation model \
needs one logit per pixel",
            model.outputs(),
            crate::export::shape_string(model.output_shape())
        ));
    }
    Ok(model)
}

/// Images per forward pass when predicting.
const EVAL_BATCH: usize = 64;

/// The model's logits for every image (one row of `side * side` per image).
pub fn predict_logits(model: &DynModel, images: &[Vec<f32>]) -> Vec<Vec<f32>> {
    let mut ws = Workspace::default();
    let outputs = model.outputs();
    let mut out = Vec::with_capacity(images.len());
    for chunk in images.chunks(EVAL_BATCH) {
        let flat: Vec<f32> = chunk.concat();
        let y = model.forward_batch(&DEFAULT, &flat, chunk.len(), &mut ws);
        out.extend(y.chunks(outputs).map(<[f32]>::to_vec));
    }
    out
}

/// Scores logits against 0/1 masks: a pixel is predicted foreground when its logit is above
/// 0 (`sigmoid > 0.5`) and is foreground in truth when its mask value is above 0.5.
pub fn segmentation_scores(logits: &[Vec<f32>], masks: &[Vec<f32>]) -> SegmentationScores {
    let (mut right, mut pixels) = (0usize, 0usize);
    let ious: Vec<f32> = logits
        .iter()
        .zip(masks)
        .map(|(z, m)| {
            let (mut inter, mut union) = (0usize, 0usize);
            for (&zi, &mi) in z.iter().zip(m) {
                let (p, t) = (zi > 0.0, mi > 0.5);
                inter += usize::from(p && t);
                union += usize::from(p || t);
                right += usize::from(p == t);
                pixels += 1;
            }
            if union == 0 {
                1.0
            } else {
                inter as f32 / union as f32
            }
        })
        .collect();
    let mean_iou = if ious.is_empty() { 0.0 } else { ious.iter().sum::<f32>() / ious.len() as f32 };
    let pixel_accuracy = if pixels == 0 { 0.0 } else { right as f32 / pixels as f32 };
    SegmentationScores { ious, mean_iou, pixel_accuracy }
}

/// [`segmentation_scores`] of `model` on `set`.
pub fn evaluate(model: &DynModel, set: &ShapesSet) -> SegmentationScores {
    segmentation_scores(&predict_logits(model, &set.images), &set.masks)
}

/// Trains the U-Net of `cfg`: draws the training and held-out images, initialises (He,
/// ReLU), trains with Adam on Dice + BCE on logits (mean over each minibatch, shuffled
/// every epoch), and scores the held-out images before and after.
pub fn train_unet(cfg: &UnetConfig) -> Result<UnetReport, String> {
    train_unet_with(cfg, |_, _| {})
}

/// [`train_unet`], calling `on_epoch(epoch, loss)` (1-based epoch, mean batch loss) after
/// each epoch.
pub fn train_unet_with(
    cfg: &UnetConfig,
    mut on_epoch: impl FnMut(usize, f32),
) -> Result<UnetReport, String> {
    if cfg.epochs == 0 || cfg.batch == 0 || cfg.train_images == 0 || cfg.test_images == 0 {
        return Err("epochs, batch, training and held-out images must be positive".into());
    }
    if !(cfg.smooth.is_finite() && cfg.smooth > 0.0) {
        return Err(format!("the Dice smoothing must be positive, not {}", cfg.smooth));
    }
    let side = cfg.shapes.side;
    let mut model = build_unet(&cfg.spec, side)?;
    let train = generate_shapes(&cfg.shapes, cfg.train_images)?;
    let test_set = generate_shapes(
        &ShapesConfig { seed: cfg.test_seed, ..cfg.shapes.clone() },
        cfg.test_images,
    )?;

    let mut rng = Rng::new(cfg.seed);
    model.init(&LayerInit::HE_RELU, &mut rng);
    let untrained = evaluate(&model, &test_set);
    let mut opt = DynOptimizer::Adam(AdamConfig::adam(cfg.lr), false)
        .build_for(&model)
        .map_err(|e| e.to_string())?;
    let mut trainer = DynTrainer::new(&model);
    let loss = DiceBceWithLogits { smooth: cfg.smooth };
    let inputs: Vec<&[f32]> = train.images.iter().map(Vec::as_slice).collect();
    let targets: Vec<Target<'_>> = train.masks.iter().map(|m| Target::Values(m)).collect();
    let mut train_loss = Vec::with_capacity(cfg.epochs);
    for epoch in 1..=cfg.epochs {
        let value = trainer
            .epoch(
                &mut model,
                &mut opt,
                &loss,
                Reduction::Mean,
                &inputs,
                &targets,
                cfg.batch,
                Some(&mut rng),
                |_, _| {},
            )
            .map_err(|e| format!("epoch {epoch}: {e}"))?;
        if !value.is_finite() {
            return Err(format!(
                "training diverged (loss {value}) at epoch {epoch}; lower the learning rate"
            ));
        }
        train_loss.push(value);
        on_epoch(epoch, value);
    }
    let test = evaluate(&model, &test_set);
    Ok(UnetReport { train_loss, test, untrained, test_set, model })
}

/// Image values drawn black and white ([`write_segmentation_grid`]): the noise reaches
/// below 0 and above the brightest shape.
pub const IMAGE_RANGE: (f32, f32) = (-0.6, 1.6);

/// Writes a PNG with one row per sample: the image (grey, [`IMAGE_RANGE`] black to
/// white), the true mask (white foreground on black) and the predicted probability
/// `sigmoid(logit)` (white 1 to black 0), each `side x side` scaled up 6x.
pub fn write_segmentation_grid(
    path: &Path,
    images: &[Vec<f32>],
    masks: &[Vec<f32>],
    logits: &[Vec<f32>],
    side: usize,
) -> Result<(), Box<dyn std::error::Error>> {
    if images.is_empty() || images.len() != masks.len() || images.len() != logits.len() {
        return Err(format!(
            "need as many masks and predictions as images (at least one): {}, {}, {}",
            images.len(),
            masks.len(),
            logits.len()
        )
        .into());
    }
    let n = side * side;
    if side == 0 || images.iter().chain(masks).chain(logits).any(|v| v.len() != n) {
        return Err(
            format!("every image, mask and prediction must have {side}x{side} values").into()
        );
    }
    let cell = side * ZOOM;
    let png_w = 3 * (cell + GAP) + GAP;
    let png_h = images.len() * (cell + GAP) + GAP;
    let root = BitMapBackend::new(path, (png_w as u32, png_h as u32)).into_drawing_area();
    root.fill(&RGBColor(120, 120, 160))?;
    let (lo, hi) = IMAGE_RANGE;
    for (row, ((image, mask), z)) in images.iter().zip(masks).zip(logits).enumerate() {
        let image_grey: Vec<f32> = image.iter().map(|v| (v - lo) / (hi - lo)).collect();
        let prob: Vec<f32> = z.iter().map(|&v| neurite::math::sigmoid(v)).collect();
        for (col, values) in [&image_grey, mask, &prob].into_iter().enumerate() {
            let (x0, y0) = (GAP + col * (cell + GAP), GAP + row * (cell + GAP));
            draw_grey_image(&root, (x0, y0), values, side, Ink::Light)?;
        }
    }
    root.present()?;
    Ok(())
}
