//! `neurite export` and `neurite import`.

use super::options::{load_any_model, parse_task, write_file};
use super::{CliError, CliResult};
use crate::export::{from_safetensors, rust_module, to_safetensors};
use crate::int8_model::Int8Model;
use crate::model_io::SavedModel;
use crate::predictor::AnyModel;
use std::path::PathBuf;

/// Options of `neurite export`.
#[derive(clap::Args, Debug)]
pub struct ExportArgs {
    /// Model file.
    #[arg(long, value_name = "FILE")]
    pub model: PathBuf,
    /// Write a Rust module with the const-generic model type and its weights as consts
    /// (firmware includes it; the weights stay in flash).
    #[arg(long, value_name = "FILE.rs")]
    pub rust: Option<PathBuf>,
    /// With --rust: each dense layer as a PackedDense (inference only, the weights laid out
    /// for the loop: the same outputs, fewer instructions on a Cortex-M).
    #[arg(long, requires = "rust")]
    pub packed: bool,
    /// Write the weights as safetensors with nn.Sequential names (0.weight, 0.bias, ...).
    #[arg(long, value_name = "FILE.safetensors")]
    pub safetensors: Option<PathBuf>,
    /// Write an int8 model (from `neurite quantize` or `import --tflite`) as a .tflite file
    /// that LiteRT and TFLite Micro run.
    #[arg(long, value_name = "FILE.tflite")]
    pub tflite: Option<PathBuf>,
}

/// Options of `neurite import`.
#[derive(clap::Args, Debug)]
pub struct ImportArgs {
    /// A PyTorch state dict of an nn.Sequential of Linear, PReLU and activations, saved with
    /// safetensors.
    #[arg(long, value_name = "FILE.safetensors", required_unless_present = "tflite")]
    pub safetensors: Option<PathBuf>,
    /// A fully int8-quantised .tflite model (int8 input and output; conv, depthwise conv,
    /// pools, fully connected, add, reshape), run bit for bit as LiteRT runs it.
    #[arg(long, value_name = "FILE.tflite", conflicts_with_all = ["safetensors", "layers", "input_shape"])]
    pub tflite: Option<PathBuf>,
    /// With --tflite: the CSV's features are fed as (x - OFFSET) / DIVISOR (the model's own
    /// preprocessing; e.g. 16 for digits pixels scaled to [0, 1]), then quantised.
    #[arg(long, value_name = "DIVISOR", requires = "tflite")]
    pub input_divisor: Option<f32>,
    /// With --tflite: see --input-divisor (default 0).
    #[arg(long, value_name = "OFFSET", requires = "tflite")]
    pub input_offset: Option<f32>,
    /// The layers, e.g. dense(16),relu,dense(3) (default: the file's neurite_layers
    /// metadata). Activations are not in a state dict, so one of the two is needed.
    #[arg(long, value_name = "SPEC")]
    pub layers: Option<String>,
    /// Shape of one input sample, e.g. 1x8x8 (default: the file's neurite_inputs metadata,
    /// or the first dense layer's input width).
    #[arg(long, value_name = "SHAPE")]
    pub input_shape: Option<String>,
    /// classify or regress.
    #[arg(long, default_value = "classify", value_name = "TASK")]
    pub task: String,
    /// Write the model file here.
    #[arg(long, value_name = "FILE")]
    pub out: PathBuf,
}

/// Runs `neurite export`.
pub fn run_export(a: &ExportArgs) -> CliResult {
    if a.rust.is_none() && a.safetensors.is_none() && a.tflite.is_none() {
        return Err(CliError::bad(
            "export: give --rust FILE.rs, --safetensors FILE or --tflite FILE (int8 models)",
        ));
    }
    let outputs: Vec<(&str, &std::path::Path)> =
        [("--rust", &a.rust), ("--safetensors", &a.safetensors), ("--tflite", &a.tflite)]
            .into_iter()
            .filter_map(|(n, p)| p.as_deref().map(|p| (n, p)))
            .collect();
    super::options::check_outputs(&outputs, &[("--model", a.model.as_path())])?;
    let saved = match load_any_model(&a.model)? {
        AnyModel::Int8(m) => return export_int8(a, &m),
        AnyModel::Float(_) if a.tflite.is_some() => {
            return Err(CliError::bad(format!(
                "{}: --tflite writes int8 models; quantise this float model first \
                 (neurite quantize --model {} --data TRAIN.csv --out M8.neurite)",
                a.model.display(),
                a.model.display()
            )))
        }
        AnyModel::Float(m) => m,
    };
    if let Some(path) = &a.rust {
        let source = a.model.display().to_string();
        let module = if a.packed {
            crate::export::rust_module_packed(&saved, &source)
        } else {
            rust_module(&saved, &source)
        };
        let module = module.map_err(CliError::bad)?;
        write_file(path, module.as_bytes())?;
        outln!("Rust module written to {}", path.display());
    }
    if let Some(path) = &a.safetensors {
        let bytes = to_safetensors(&saved.model).map_err(CliError::fail)?;
        write_file(path, &bytes)?;
        outln!("safetensors written to {}", path.display());
    }
    Ok(())
}

/// `neurite export` of an int8 model: its graph as a `.tflite` file, and/or a Rust module
/// for firmware (fully connected chains: `crate::int8_export`).
fn export_int8(a: &ExportArgs, m: &Int8Model) -> CliResult {
    if a.safetensors.is_some() || a.packed {
        return Err(CliError::bad(format!(
            "{}: an int8 model exports as --tflite FILE or --rust FILE (--safetensors and \
             --packed take float models)",
            a.model.display()
        )));
    }
    if let Some(path) = &a.rust {
        let module = crate::int8_export::rust_module(m, &a.model.display().to_string())
            .map_err(|e| CliError::bad(format!("{}: {e}", a.model.display())))?;
        write_file(path, module.as_bytes())?;
        outln!("Rust module (int8, packed for the Cortex-M4) written to {}", path.display());
    }
    if let Some(path) = &a.tflite {
        write_file(path, &m.tflite)?;
        outln!(".tflite written to {} ({} bytes)", path.display(), m.tflite.len());
    }
    Ok(())
}

/// `neurite import --tflite`: an int8 graph as a model file (format version 4).
fn import_tflite(a: &ImportArgs, path: &std::path::Path) -> CliResult {
    super::options::check_outputs(&[("--out", &a.out)], &[("--tflite", path)])?;
    let fail = |e: String| CliError::bad(format!("{}: {e}", path.display()));
    let bytes = std::fs::read(path).map_err(|e| fail(e.to_string()))?;
    let offset = a.input_offset.unwrap_or(0.0);
    let divisor = a.input_divisor.unwrap_or(1.0);
    if !offset.is_finite() || !divisor.is_finite() || divisor == 0.0 {
        return Err(CliError::bad(format!(
            "--input-offset {offset} / --input-divisor {divisor}: finite, and the divisor not 0"
        )));
    }
    let task = parse_task(&a.task)?;
    // the graph's input size, for the per-feature standardisation
    let probe = Int8Model::from_tflite(bytes.clone(), task, Vec::new(), Vec::new(), Vec::new())
        .map_err(fail)?;
    let (means, stds) = if a.input_offset.is_some() || a.input_divisor.is_some() {
        (vec![offset; probe.inputs()], vec![divisor; probe.inputs()])
    } else {
        (Vec::new(), Vec::new())
    };
    let m = Int8Model::from_tflite(bytes, task, means, stds, Vec::new()).map_err(fail)?;
    write_file(&a.out, &m.to_bytes().map_err(|e| CliError::fail(e.to_string()))?)?;
    outln!(
        "imported an int8 model ({} operators, {} inputs, {} outputs) into {}",
        m.graph.operators.len(),
        m.inputs(),
        m.outputs(),
        a.out.display()
    );
    Ok(())
}

/// Runs `neurite import`.
pub fn run_import(a: &ImportArgs) -> CliResult {
    let safetensors = match (&a.tflite, &a.safetensors) {
        (Some(path), _) => return import_tflite(a, path),
        (None, _) if a.input_divisor.is_some() || a.input_offset.is_some() => {
            return Err(CliError::bad("--input-divisor and --input-offset go with --tflite"))
        }
        (None, Some(path)) => path,
        (None, None) => {
            return Err(CliError::bad("import: give --safetensors FILE or --tflite FILE"))
        }
    };
    super::options::check_outputs(&[("--out", &a.out)], &[("--safetensors", safetensors)])?;
    let bytes = std::fs::read(safetensors)
        .map_err(|e| CliError::bad(format!("{}: {e}", safetensors.display())))?;
    let shape = a
        .input_shape
        .as_deref()
        .map(crate::export::parse_shape)
        .transpose()
        .map_err(|e| CliError::bad(format!("--input-shape: {e}")))?;
    let model = from_safetensors(&bytes, a.layers.as_deref(), shape.as_deref())
        .map_err(|e| CliError::bad(format!("{}: {e}", safetensors.display())))?;
    let saved = SavedModel {
        model,
        task: parse_task(&a.task)?,
        means: Vec::new(),
        stds: Vec::new(),
        target_mean: 0.0,
        target_std: 1.0,
        columns: Vec::new(),
    };
    write_file(&a.out, &saved.to_bytes().map_err(CliError::fail)?)?;
    outln!(
        "imported {} parameters ({} inputs, {} outputs) into {}",
        saved.model.param_count(),
        saved.model.inputs(),
        saved.model.outputs(),
        a.out.display()
    );
    Ok(())
}
