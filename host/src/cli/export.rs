//! `neurite export` and `neurite import`.

use super::options::{load_model, parse_task, write_file};
use super::{CliError, CliResult};
use crate::export::{from_safetensors, rust_module, to_safetensors};
use crate::model_io::SavedModel;
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
}

/// Options of `neurite import`.
#[derive(clap::Args, Debug)]
pub struct ImportArgs {
    /// A PyTorch state dict of an nn.Sequential of Linear, PReLU and activations, saved with
    /// safetensors.
    #[arg(long, value_name = "FILE.safetensors")]
    pub safetensors: PathBuf,
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
    if a.rust.is_none() && a.safetensors.is_none() {
        return Err(CliError::bad("export: give --rust FILE.rs and/or --safetensors FILE"));
    }
    let outputs: Vec<(&str, &std::path::Path)> =
        [("--rust", &a.rust), ("--safetensors", &a.safetensors)]
            .into_iter()
            .filter_map(|(n, p)| p.as_deref().map(|p| (n, p)))
            .collect();
    super::options::check_outputs(&outputs, &[("--model", a.model.as_path())])?;
    let saved = load_model(&a.model)?;
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

/// Runs `neurite import`.
pub fn run_import(a: &ImportArgs) -> CliResult {
    super::options::check_outputs(&[("--out", &a.out)], &[("--safetensors", &a.safetensors)])?;
    let bytes = std::fs::read(&a.safetensors)
        .map_err(|e| CliError::bad(format!("{}: {e}", a.safetensors.display())))?;
    let shape = a
        .input_shape
        .as_deref()
        .map(crate::export::parse_shape)
        .transpose()
        .map_err(|e| CliError::bad(format!("--input-shape: {e}")))?;
    let model = from_safetensors(&bytes, a.layers.as_deref(), shape.as_deref())
        .map_err(|e| CliError::bad(format!("{}: {e}", a.safetensors.display())))?;
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
