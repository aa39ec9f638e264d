//! `neurite predict`.

use super::options::load_any_model;
use super::{CliError, CliResult};
use crate::data::Dataset;
use crate::predictor::AnyModel;
use crate::predictor::Predictor;
use neurite::model_file::Task;
use std::fmt::Write as _;
use std::path::PathBuf;

/// Options of `neurite predict`.
#[derive(clap::Args, Debug)]
pub struct PredictArgs {
    /// Model file.
    #[arg(long, value_name = "FILE")]
    pub model: PathBuf,
    /// CSV with a header: the model's feature columns, optionally followed by a target
    /// column (ignored).
    #[arg(long, value_name = "FILE.csv")]
    pub data: PathBuf,
    /// Write the predictions here (CSV) instead of standard output.
    #[arg(long, value_name = "FILE.csv")]
    pub out: Option<PathBuf>,
    /// Print each row's output tensor instead, comma-separated, one line per row, no
    /// header: the int8 values for an int8 model, the float outputs (before the regression
    /// target's scaling) for a float model.
    #[arg(long)]
    pub raw: bool,
}

/// Runs `neurite predict`: one row per input row, `prediction` (class or value) and, for
/// classifiers, the class scores; or with `--raw` the output tensor.
pub fn run(a: &PredictArgs) -> CliResult {
    if let Some(out) = &a.out {
        let inputs = [("--model", a.model.as_path()), ("--data", a.data.as_path())];
        super::options::check_outputs(&[("--out", out)], &inputs)?;
    }
    let loaded = load_any_model(&a.model)?;
    let saved = loaded.predictor();
    let mut data = Dataset::load_features(&a.data).map_err(CliError::bad)?;
    let inputs = saved.inputs();
    if data.n_features == inputs + 1 {
        // drop the trailing target column
        data = Dataset::load_csv(&a.data, None).map_err(CliError::bad)?;
    } else if data.n_features != inputs {
        return Err(CliError::bad(format!(
            "{}:1: {} columns, the model takes {inputs} features (optionally followed by a target)",
            a.data.display(),
            data.n_features
        )));
    }
    super::options::check_columns(saved, &data)?;
    let csv = if a.raw { raw_lines(&loaded, &data) } else { predictions(saved, &data) };
    match &a.out {
        Some(path) => super::options::write_file(path, csv.as_bytes()),
        None => {
            out!("{csv}");
            Ok(())
        }
    }
}

/// `--raw`: each row's output tensor, comma-separated.
fn raw_lines(model: &AnyModel, data: &Dataset) -> String {
    let mut text = String::new();
    for i in 0..data.len() {
        let line: Vec<String> = match model {
            AnyModel::Int8(m) => m.run(data.row(i)).iter().map(i8::to_string).collect(),
            AnyModel::Float(m) => m.scores(data.row(i)).iter().map(f32::to_string).collect(),
        };
        text += &line.join(",");
        text.push('\n');
    }
    text
}

/// The predictions CSV: `prediction`, then the class scores of a classifier.
fn predictions(saved: &dyn Predictor, data: &Dataset) -> String {
    let mut csv = String::from("prediction");
    let k = saved.outputs();
    if saved.task() == Task::Classification {
        for c in 0..k {
            let _ = write!(csv, ",score_{c}");
        }
    }
    csv.push('\n');
    for i in 0..data.len() {
        let out = saved.predict(data.row(i));
        match saved.task() {
            Task::Classification => {
                let _ = write!(csv, "{}", neurite::kernel::reduce::argmax(&out));
                for v in &out {
                    let _ = write!(csv, ",{v}");
                }
            }
            Task::Regression => {
                let _ = write!(csv, "{}", out[0]);
            }
        }
        csv.push('\n');
    }
    csv
}
