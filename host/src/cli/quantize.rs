//! `neurite quantize`: post-training int8 quantisation ([`crate::quantize`]).

use super::options::{check_columns, json_num, load_data, load_model, write_file};
use super::report::evaluate;
use super::{CliError, CliResult};
use crate::quantize::Calibration;
use std::path::PathBuf;

/// Options of `neurite quantize`.
#[derive(clap::Args, Debug)]
pub struct QuantizeArgs {
    /// The float model file (from `neurite train` or `neurite import --safetensors`).
    #[arg(long, value_name = "FILE")]
    pub model: PathBuf,
    /// CSV whose training rows calibrate the activation ranges (rows i % 5 != 0; the test
    /// rows, i % 5 == 0, are then evaluated float and int8 side by side).
    #[arg(long, value_name = "FILE.csv")]
    pub data: PathBuf,
    /// Target column name (default: the last column).
    #[arg(long, value_name = "COLUMN")]
    pub target: Option<String>,
    /// Calibrate on: train (rows i % 5 != 0) or all (every row; nothing is evaluated).
    #[arg(long, default_value = "train", value_name = "ROWS")]
    pub rows: String,
    /// Write the int8 model file here (format version 4; `export --tflite` writes it for
    /// LiteRT).
    #[arg(long, value_name = "FILE")]
    pub out: PathBuf,
    /// How activation ranges are chosen: mse (the range with the least quantisation error
    /// over the calibration values, clipping outliers) or minmax (every value's range).
    #[arg(long, default_value = "mse", value_name = "METHOD")]
    pub calibration: String,
    /// End with one JSON line of the results.
    #[arg(long)]
    pub json: bool,
}

/// Runs `neurite quantize`.
pub fn run(a: &QuantizeArgs) -> CliResult {
    let start = std::time::Instant::now();
    let inputs = [("--model", a.model.as_path()), ("--data", a.data.as_path())];
    super::options::check_outputs(&[("--out", &a.out)], &inputs)?;
    let saved = load_model(&a.model)?;
    let data = load_data(&a.data, a.target.as_deref())?;
    if data.n_features != saved.model.inputs() {
        return Err(CliError::bad(format!(
            "{}: {} feature columns, the model takes {}",
            a.data.display(),
            data.n_features,
            saved.model.inputs()
        )));
    }
    check_columns(&saved, &data)?;
    let (calibration, test) = match a.rows.as_str() {
        "train" => {
            let (train, test) = data.canonical_split();
            (train, Some(test))
        }
        "all" => (data, None),
        other => return Err(CliError::bad(format!("--rows '{other}': use train or all"))),
    };
    let rows: Vec<&[f32]> = (0..calibration.len()).map(|i| calibration.row(i)).collect();
    let method = match a.calibration.as_str() {
        "mse" => Calibration::Mse,
        "minmax" => Calibration::MinMax,
        other => return Err(CliError::bad(format!("--calibration '{other}': use mse or minmax"))),
    };
    let int8 = crate::quantize::quantize(&saved, &rows, method)
        .map_err(|e| CliError::bad(format!("{}: {e}", a.model.display())))?;
    let bytes = int8.to_bytes().map_err(|e| CliError::fail(e.to_string()))?;
    write_file(&a.out, &bytes)?;
    let float_bytes = 4 * saved.model.param_count();
    let int8_bytes: usize = int8.graph.tensors.iter().map(|t| t.data.len()).sum();
    let mut fields = serde_json::Map::new();
    fields.insert("calibration_rows".into(), rows.len().into());
    fields.insert("float_parameter_bytes".into(), float_bytes.into());
    fields.insert("int8_parameter_bytes".into(), int8_bytes.into());
    fields.insert("tflite_bytes".into(), int8.tflite.len().into());
    let mut text = format!(
        "calibrated on {} rows; parameters {float_bytes} bytes as float, {int8_bytes} as int8 \
         ({:.2}x smaller); int8 model written to {} (.tflite graph {} bytes)\n",
        rows.len(),
        float_bytes as f32 / int8_bytes.max(1) as f32,
        a.out.display(),
        int8.tflite.len()
    );
    if let Some(test) = test.filter(|t| !t.is_empty()) {
        let (float_eval, int8_eval) = (evaluate(&saved, &test)?, evaluate(&int8, &test)?);
        for (prefix, eval) in [("float_", &float_eval), ("int8_", &int8_eval)] {
            for (k, v) in &eval.fields {
                fields.insert(format!("{prefix}{k}"), v.clone());
            }
        }
        let first = |e: &super::report::Evaluation| e.text.lines().next().unwrap_or("").to_string();
        text += &format!("float: {}\nint8:  {}\n", first(&float_eval), first(&int8_eval));
    }
    if a.json {
        fields.insert("seconds".into(), json_num(start.elapsed().as_secs_f32()));
        outln!("{}", serde_json::Value::Object(fields));
    } else {
        out!("{text}");
    }
    Ok(())
}
