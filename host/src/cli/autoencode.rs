//! `neurite autoencode`: an autoencoder (by default the convolutional one of
//! [`crate::autoencoder`]) trained on a CSV's feature columns, its test reconstruction error
//! next to the mean-image baseline, and a PNG of test inputs above their reconstructions.

use super::options::{load_data, positive, write_file};
use super::report::json_line;
use super::{CliError, CliResult};
use crate::autoencoder::{self, AutoencoderConfig, AutoencoderReport};
use crate::data::Dataset;
use crate::export::{parse_shape, shape_string};
use crate::model_io::SavedModel;
use neurite::model_file::Task;
use serde_json::{json, Map};
use std::path::{Path, PathBuf};
use std::time::Instant;

/// Most classes for which `--png` shows one input per class (else the first ten test rows).
const MAX_PNG_CLASSES: usize = 20;

/// Options of `neurite autoencode`.
#[derive(clap::Args, Debug, Clone)]
pub struct AutoencodeArgs {
    /// CSV file with a header row. The feature columns are the samples; the target column
    /// is ignored for training (--png uses it to show one input per class). A file without
    /// a target column works when --input-shape holds as many values as it has columns.
    #[arg(long, value_name = "FILE.csv")]
    pub data: PathBuf,
    /// Target (label) column name (default: the last column).
    #[arg(long, value_name = "COLUMN")]
    pub target: Option<String>,
    /// Shape of one sample: CxHxW (conv2d), CxL (conv1d); each CSV row holds one sample in
    /// row-major order (default: the row's features, flat).
    #[arg(long, value_name = "SHAPE")]
    pub input_shape: Option<String>,
    /// Layers; the output must have as many values as the input. The default is a
    /// convolutional autoencoder for 1x8x8 samples (8x4x4 and 16x2x2 codes).
    #[arg(long, value_name = "SPEC", default_value = autoencoder::DEFAULT_SPEC, hide_default_value = true)]
    pub layers: String,
    /// Epochs.
    #[arg(long, default_value_t = AutoencoderConfig::default().epochs, value_name = "N")]
    pub epochs: usize,
    /// Adam learning rate (a positive number).
    #[arg(long, default_value = "0.005", value_parser = positive, allow_hyphen_values = true, value_name = "F")]
    pub lr: f32,
    /// Minibatch size.
    #[arg(long, default_value_t = AutoencoderConfig::default().batch, value_name = "N")]
    pub batch: usize,
    /// Seed of initialisation and shuffling.
    #[arg(long, default_value_t = AutoencoderConfig::default().seed, value_name = "N")]
    pub seed: u64,
    /// Write a PNG here: test inputs (one per class where the labels allow, else the first
    /// ten) above their reconstructions.
    #[arg(long, value_name = "FILE.png")]
    pub png: Option<PathBuf>,
    /// Write the trained model file here (raw features in, reconstructions in the data's
    /// units out; task regress).
    #[arg(long, value_name = "FILE")]
    pub out: Option<PathBuf>,
    /// End with one JSON line of the results.
    #[arg(long)]
    pub json: bool,
    /// No per-epoch lines.
    #[arg(long)]
    pub quiet: bool,
}

/// The data: features and, where there is one, the target column.
fn load(a: &AutoencodeArgs, shape: Option<&[usize]>) -> Result<Dataset, CliError> {
    if a.target.is_none() {
        if let Some(shape) = shape {
            let all = Dataset::load_features(&a.data).map_err(CliError::bad)?;
            if all.n_features == shape.iter().product::<usize>() {
                return Ok(all);
            }
        }
    }
    load_data(&a.data, a.target.as_deref())
}

/// Test rows for the PNG: the first of each class when the targets are at most
/// [`MAX_PNG_CLASSES`] classes (at least two), else the first ten. The second value says
/// which.
fn png_rows(test: &Dataset) -> (Vec<usize>, String) {
    if test.targets.len() == test.len() {
        if let Ok(classes) = test.classes() {
            let mut seen: Vec<usize> = classes.clone();
            seen.sort_unstable();
            seen.dedup();
            if (2..=MAX_PNG_CLASSES).contains(&seen.len()) {
                let rows = seen.iter().filter_map(|c| classes.iter().position(|k| k == c));
                let names = seen.iter().map(ToString::to_string).collect::<Vec<_>>().join(" ");
                return (rows.collect(), format!("the first test row of each class ({names})"));
            }
        }
    }
    let n = test.len().min(10);
    (((0..n).collect()), format!("the first {n} test rows"))
}

/// Draws the PNG to a temporary file beside `path`, then renames it.
fn write_png(
    path: &Path,
    report: &AutoencoderReport,
    train: &Dataset,
    test: &Dataset,
    rows: &[usize],
    shape: &[usize],
) -> Result<(), CliError> {
    // ink: the training features' range onto [0, 1] (0..=16 -> /16 for the digits)
    let lo = train.features.iter().fold(f32::INFINITY, |m, &v| m.min(v));
    let hi = train.features.iter().fold(f32::NEG_INFINITY, |m, &v| m.max(v));
    let span = if hi > lo { hi - lo } else { 1.0 };
    let ink = |v: Vec<f32>| v.into_iter().map(|x| (x - lo) / span).collect::<Vec<f32>>();
    let inputs: Vec<Vec<f32>> = rows.iter().map(|&i| ink(test.row(i).to_vec())).collect();
    let recons: Vec<Vec<f32>> =
        rows.iter().map(|&i| ink(report.reconstruct(test.row(i)))).collect();
    let (h, w) = autoencoder::image_dims(shape);
    let tmp = path.with_extension(format!("tmp-{}.png", std::process::id()));
    let result = autoencoder::write_reconstruction_grid(&tmp, &inputs, &recons, h, w)
        .map_err(|e| CliError::fail(format!("{}: cannot draw the PNG: {e}", path.display())))
        .and_then(|()| {
            std::fs::rename(&tmp, path)
                .map_err(|e| CliError::fail(format!("{}: {e}", path.display())))
        });
    if result.is_err() {
        let _ = std::fs::remove_file(&tmp);
    }
    result
}

/// Runs `neurite autoencode`.
pub fn run(a: &AutoencodeArgs) -> CliResult {
    if let Some(out) = &a.out {
        super::options::check_outputs(&[("--out", out)], &[("--data", &a.data)])?;
    }
    let shape = a
        .input_shape
        .as_deref()
        .map(parse_shape)
        .transpose()
        .map_err(|e| CliError::bad(format!("--input-shape: {e}")))?;
    let data = load(a, shape.as_deref())?;
    let shape = shape.unwrap_or_else(|| vec![data.n_features]);
    let n: usize = shape.iter().product();
    if n != data.n_features {
        let target = match data.target_column {
            Some(_) => format!(" (target column '{}' left out)", data.target_name),
            None => String::new(),
        };
        return Err(CliError::bad(format!(
            "{}: --input-shape {} holds {n} values but the data has {} feature columns{target}",
            data.path.display(),
            shape_string(&shape),
            data.n_features
        )));
    }
    if a.epochs == 0 || a.batch == 0 {
        return Err(CliError::bad("--epochs and --batch must be at least 1"));
    }
    let model = autoencoder::build_autoencoder(&a.layers, &shape)
        .map_err(|e| CliError::bad(format!("--layers '{}': {e}", a.layers)))?;
    let (train, test) = data.canonical_split();
    if train.is_empty() || test.is_empty() {
        return Err(CliError::bad(format!(
            "{}: {} rows: need training and test rows (rows i % 5 == 0 are the test split)",
            data.path.display(),
            data.len()
        )));
    }
    let scale = autoencoder::data_scale(&train);
    let cfg = AutoencoderConfig {
        spec: a.layers.clone(),
        input_shape: shape.clone(),
        scale: Some(scale),
        epochs: a.epochs,
        batch: a.batch,
        lr: a.lr,
        seed: a.seed,
    };
    let quiet = a.quiet || a.json;
    if !a.json {
        outln!(
            "autoencoder on {}: {} train rows, {} test rows (rows i % 5 == 0), samples {}",
            data.path.display(),
            train.len(),
            test.len(),
            shape_string(&shape)
        );
        outln!(
            "model {}: {} parameters; Adam lr {}, batch {}, {} epochs, seed {}",
            a.layers,
            model.param_count(),
            a.lr,
            a.batch,
            a.epochs,
            a.seed
        );
        outln!(
            "features divided by {scale} (the largest absolute training value) for training; \
errors in the data's units"
        );
    }
    let start = Instant::now();
    let report = autoencoder::train_autoencoder_with(&cfg, &data, |epoch, mse| {
        if !quiet {
            outln!("epoch {epoch:>3}/{}  train MSE {mse:.4}", a.epochs);
        }
    })
    .map_err(CliError::bad)?;
    let seconds = start.elapsed().as_secs_f32();
    let train_loss = report.train_mse.last().copied();
    if !a.json {
        outln!(
            "test reconstruction MSE {:.4} vs mean-image baseline {:.4} ({} test rows): {:.1}% of \
the baseline",
            report.test_mse,
            report.baseline_mse,
            report.test_rows,
            100.0 * report.test_mse / report.baseline_mse
        );
        outln!("{} epochs, {seconds:.2} s, {} parameters", a.epochs, report.model.param_count());
    }

    // outputs only after everything succeeded, each written whole or not at all
    if let Some(out) = &a.out {
        let columns = match data.target_column {
            Some(_) => data.feature_names.iter().chain([&data.target_name]).cloned().collect(),
            None => Vec::new(),
        };
        let saved = SavedModel {
            model: report.model.clone(),
            task: Task::Regression,
            means: vec![0.0; n],
            stds: vec![report.scale; n],
            target_mean: 0.0,
            target_std: report.scale,
            columns,
        };
        write_file(out, &saved.to_bytes().map_err(CliError::fail)?)?;
        if !a.json {
            outln!("model written to {}", out.display());
        }
    }
    if let Some(png) = &a.png {
        let (rows, which) = png_rows(&test);
        write_png(png, &report, &train, &test, &rows, &shape)?;
        if !a.json {
            outln!("wrote {} (top: {which}; bottom: their reconstructions)", png.display());
        }
    }
    if a.json {
        let mut fields = Map::new();
        fields.insert("test_mse".into(), super::options::json_num(report.test_mse));
        fields.insert("baseline_mse".into(), super::options::json_num(report.baseline_mse));
        fields.insert("scale".into(), super::options::json_num(report.scale));
        fields.insert("train_rows".into(), json!(report.train_rows));
        fields.insert("test_rows".into(), json!(report.test_rows));
        fields.insert("parameters".into(), json!(report.model.param_count()));
        json_line(fields, train_loss, report.train_mse.len(), seconds, None);
    }
    Ok(())
}
