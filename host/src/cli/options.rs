//! Parsing of option values (loss, optimiser, initialiser, schedule) and the loading of
//! files, each failure a one-line [`CliError`] with status 2.

use super::CliError;
use crate::data::Dataset;
use crate::dynamic::{DynLoss, DynOptimizer};
use crate::fit::Schedule;
use crate::int8_model::Int8Model;
use crate::model_io::SavedModel;
use crate::predictor::{AnyModel, Predictor};
use neurite::init::{FanMode, Init, LayerInit, Nonlinearity};
use neurite::model_file::v2::{version_of, VERSION_INT8};
use neurite::model_file::Task;
use neurite::optim::{AdagradConfig, AdamConfig, RmsPropConfig, SgdConfig};
use std::path::Path;

/// Splits `name(a,b)` into the name and its numeric arguments.
fn call(s: &str, what: &str) -> Result<(String, Vec<f32>), CliError> {
    let s = s.trim();
    let (name, args) = match s.find('(') {
        Some(i) => {
            let inner = s[i + 1..].strip_suffix(')').ok_or_else(|| {
                CliError::bad(format!("{what} '{s}': missing closing parenthesis"))
            })?;
            let args = inner
                .split(',')
                .filter(|a| !a.trim().is_empty())
                .map(|a| {
                    a.trim().parse::<f32>().ok().filter(|v| v.is_finite()).ok_or_else(|| {
                        CliError::bad(format!(
                            "{what} '{s}': argument '{}' is not a number",
                            a.trim()
                        ))
                    })
                })
                .collect::<Result<Vec<_>, _>>()?;
            (s[..i].trim(), args)
        }
        None => (s, Vec::new()),
    };
    Ok((name.to_ascii_lowercase().replace('-', "_"), args))
}

fn arg(args: &[f32], i: usize, default: f32) -> f32 {
    args.get(i).copied().unwrap_or(default)
}

/// Loss names for `--loss`.
pub const LOSSES: &str =
    "cross_entropy(label_smoothing), class_balanced(beta), focal(gamma,alpha), \
nll, bce_with_logits, mse, mae, huber(delta), quantile(tau), tukey(c), barron(alpha,c)";

/// `--loss`: a name with optional arguments, e.g. `huber(0.5)`. `class_counts` feeds
/// `class_balanced`. Each argument is checked against its domain (PyTorch's, or where
/// PyTorch has none the one where the loss means something), and extra arguments are
/// refused.
pub fn parse_loss(s: &str, class_counts: &[u32]) -> Result<DynLoss, CliError> {
    let (name, a) = call(s, "loss")?;
    // (arguments the loss takes, each as (name, default, valid, the range in words))
    type Check = (&'static str, f32, fn(f32) -> bool, &'static str);
    let unit = |v: f32| (0.0..=1.0).contains(&v);
    let positive = |v: f32| v > 0.0;
    let checks: &[Check] = match name.as_str() {
        "cross_entropy" | "ce" => &[("label_smoothing", 0.0, unit, "in [0, 1]")],
        "class_balanced" => &[("beta", 0.999, |v| (0.0..1.0).contains(&v), "in [0, 1)")],
        "focal" => {
            &[("gamma", 2.0, |v| v >= 0.0, "at least 0"), ("alpha", 0.25, unit, "in [0, 1]")]
        }
        "huber" => &[("delta", 1.0, positive, "positive")],
        "quantile" => &[("tau", 0.5, |v| v > 0.0 && v < 1.0, "in (0, 1)")],
        "tukey" => &[("c", 4.685, positive, "positive")],
        "barron" => &[("alpha", 1.0, |_| true, "finite"), ("c", 1.0, positive, "positive")],
        _ => &[],
    };
    if a.len() > checks.len() {
        return Err(CliError::bad(format!(
            "loss '{s}': {name} takes {} argument{}, {} given",
            checks.len(),
            if checks.len() == 1 { "" } else { "s" },
            a.len()
        )));
    }
    let mut v = [0.0f32; 2];
    for (i, &(arg_name, default, valid, range)) in checks.iter().enumerate() {
        v[i] = arg(&a, i, default);
        if !valid(v[i]) {
            return Err(CliError::bad(format!("loss '{s}': {arg_name} {} must be {range}", v[i])));
        }
    }
    Ok(match name.as_str() {
        "cross_entropy" | "ce" => DynLoss::CrossEntropy(None, v[0]),
        "class_balanced" => DynLoss::class_balanced(v[0], class_counts)
            .map_err(|e| CliError::bad(format!("loss '{s}': {e}")))?,
        "focal" => DynLoss::Focal(v[0], v[1]),
        "nll" => DynLoss::Nll(None),
        "bce_with_logits" => DynLoss::BceWithLogits(None),
        "mse" => DynLoss::Mse,
        "mae" | "l1" => DynLoss::Mae,
        "huber" => DynLoss::Huber(v[0]),
        "quantile" => DynLoss::Quantile(v[0]),
        "tukey" => DynLoss::Tukey(v[0]),
        "barron" => DynLoss::Barron(v[0], v[1]),
        other => return Err(CliError::bad(format!("unknown loss '{other}'; known: {LOSSES}"))),
    })
}

/// `--optimizer` with `--lr`, `--momentum` and `--weight-decay` (L2).
pub fn parse_optimizer(
    name: &str,
    lr: f32,
    momentum: f32,
    weight_decay: f32,
) -> Result<DynOptimizer, CliError> {
    let o = match name.to_ascii_lowercase().as_str() {
        "sgd" | "gd" => DynOptimizer::Sgd(SgdConfig { weight_decay, ..SgdConfig::new(lr) }),
        "momentum" => DynOptimizer::Sgd(SgdConfig { momentum, weight_decay, ..SgdConfig::new(lr) }),
        "nesterov" => DynOptimizer::Sgd(SgdConfig { momentum, nesterov: true, weight_decay, ..SgdConfig::new(lr) }),
        "adagrad" => DynOptimizer::Adagrad(AdagradConfig { weight_decay, ..AdagradConfig::new(lr) }),
        "rmsprop" => DynOptimizer::RmsProp(RmsPropConfig { weight_decay, ..RmsPropConfig::new(lr) }),
        "adam" => DynOptimizer::Adam(AdamConfig { weight_decay, ..AdamConfig::adam(lr) }, false),
        "amsgrad" => DynOptimizer::Adam(AdamConfig { weight_decay, ..AdamConfig::adam(lr) }, true),
        "adamw" => DynOptimizer::Adam(AdamConfig { weight_decay, ..AdamConfig::adamw(lr) }, false),
        other => {
            return Err(CliError::bad(format!(
                "unknown optimizer '{other}'; known: sgd, momentum, nesterov, adagrad, rmsprop, adam, amsgrad, adamw"
            )))
        }
    };
    let valid = match &o {
        DynOptimizer::Sgd(c) => c.validate(),
        DynOptimizer::Adagrad(c) => c.validate(),
        DynOptimizer::RmsProp(c) => c.validate(),
        DynOptimizer::Adam(c, _) => c.validate(),
    };
    valid.map_err(|_| CliError::bad(format!("optimizer '{name}': learning rate {lr}, momentum {momentum} or weight decay {weight_decay} out of range")))?;
    Ok(o)
}

/// `--lr`: a positive, finite number.
pub fn positive(s: &str) -> Result<f32, String> {
    match s.trim().parse::<f32>() {
        Ok(v) if v.is_finite() && v > 0.0 => Ok(v),
        _ => Err(format!("'{s}' is not a positive number")),
    }
}

/// `--init`: `he`, `xavier`, `lecun`, `orthogonal`, `torch`, `kaiming-normal`, `normal(std)`,
/// `uniform(a)`; biases at 0.01 for he, 0 otherwise (torch: PyTorch's Linear default).
pub fn parse_init(s: &str) -> Result<LayerInit, CliError> {
    let (name, a) = call(s, "init")?;
    let relu = Nonlinearity::Relu;
    let weight = match name.as_str() {
        "he" | "kaiming" | "kaiming_uniform" => Init::KaimingUniform { mode: FanMode::FanIn, nonlinearity: relu },
        "kaiming_normal" | "he_normal" => Init::KaimingNormal { mode: FanMode::FanIn, nonlinearity: relu },
        "xavier" | "glorot" | "xavier_uniform" => Init::XavierUniform { gain: arg(&a, 0, 1.0) },
        "xavier_normal" => Init::XavierNormal { gain: arg(&a, 0, 1.0) },
        "lecun" | "lecun_normal" => Init::LecunNormal,
        "orthogonal" => Init::Orthogonal { gain: arg(&a, 0, 1.0) },
        "torch" => return Ok(LayerInit::TORCH_DEFAULT),
        "normal" => Init::Normal { mean: 0.0, std: arg(&a, 0, 0.01) },
        "uniform" => Init::Uniform { low: -arg(&a, 0, 0.05), high: arg(&a, 0, 0.05) },
        other => {
            return Err(CliError::bad(format!(
                "unknown init '{other}'; known: he, kaiming_normal, xavier, xavier_normal, lecun, orthogonal, torch, normal(std), uniform(a)"
            )))
        }
    };
    let bias = if name.starts_with("he") || name.starts_with("kaiming") {
        Init::Constant(0.01)
    } else {
        Init::Zeros
    };
    Ok(LayerInit { weight, bias })
}

/// `--schedule`: `constant`, `step(every,gamma)`, `cosine`.
pub fn parse_schedule(s: &str) -> Result<Schedule, CliError> {
    let (name, a) = call(s, "schedule")?;
    match name.as_str() {
        "constant" | "none" => Ok(Schedule::Constant),
        "step" => {
            let every = arg(&a, 0, 10.0);
            if every < 1.0 || every.fract() != 0.0 {
                return Err(CliError::bad(format!(
                    "schedule '{s}': step(every,gamma) needs a whole number of epochs"
                )));
            }
            Ok(Schedule::Step { every: every as usize, gamma: arg(&a, 1, 0.1) })
        }
        "cosine" => Ok(Schedule::Cosine),
        other => Err(CliError::bad(format!(
            "unknown schedule '{other}'; known: constant, step(every,gamma), cosine"
        ))),
    }
}

/// `--task`.
pub fn parse_task(s: &str) -> Result<Task, CliError> {
    match s {
        "classify" | "classification" => Ok(Task::Classification),
        "regress" | "regression" => Ok(Task::Regression),
        other => Err(CliError::bad(format!("unknown task '{other}'; known: classify, regress"))),
    }
}

/// Loads a CSV with its target column.
pub fn load_data(path: &Path, target: Option<&str>) -> Result<Dataset, CliError> {
    Dataset::load_csv(path, target).map_err(CliError::bad)
}

/// Reads and checks a model file with float layers (format versions 1 to 3).
pub fn load_model(path: &Path) -> Result<SavedModel, CliError> {
    match load_any_model(path)? {
        AnyModel::Float(m) => Ok(m),
        AnyModel::Int8(_) => Err(CliError::bad(format!(
            "{}: an int8 model (format version 4): eval, predict and export --tflite take it; \
             this command needs the float model",
            path.display()
        ))),
    }
}

/// Reads and checks a model file of any kind: float layers or an int8 graph.
pub fn load_any_model(path: &Path) -> Result<AnyModel, CliError> {
    use std::io::Read;
    let fail = |e: String| CliError::bad(format!("{}: {e}", path.display()));
    let mut f = std::fs::File::open(path).map_err(|e| fail(e.to_string()))?;
    // the magic number first, so that a file that is not a model (or /dev/zero) is not read
    // whole before it is refused; then at most MAX_MODEL_BYTES
    let mut bytes = Vec::new();
    let magic = neurite::model_file::MAGIC;
    (&mut f).take(magic.len() as u64).read_to_end(&mut bytes).map_err(|e| fail(e.to_string()))?;
    if bytes != magic {
        return Err(fail("not a neurite model file (no NRTM magic number)".into()));
    }
    f.take(MAX_MODEL_BYTES).read_to_end(&mut bytes).map_err(|e| fail(e.to_string()))?;
    if bytes.len() as u64 > MAX_MODEL_BYTES {
        return Err(fail(format!("larger than the largest model file ({MAX_MODEL_BYTES} bytes)")));
    }
    if version_of(&bytes) == Some(VERSION_INT8) {
        return Int8Model::from_bytes(&bytes).map(AnyModel::Int8).map_err(fail);
    }
    SavedModel::from_bytes(&bytes).map(AnyModel::Float).map_err(|e| fail(e.to_string()))
}

/// The largest model file read: 2 GiB (a model's tensors are at most 2^28 values each).
const MAX_MODEL_BYTES: u64 = 1 << 31;

/// Refuses data whose feature columns are not the ones the model was trained on (same
/// names, same order), when the model file records them.
pub fn check_columns(saved: &dyn Predictor, data: &Dataset) -> Result<(), CliError> {
    let Some((_, features)) = saved.columns().split_last() else { return Ok(()) };
    if features != data.feature_names.as_slice() {
        let first = features.iter().zip(&data.feature_names).position(|(a, b)| a != b);
        let detail = match first {
            Some(i) => format!(
                "column {} is '{}', the model was trained with '{}' there",
                i + 1,
                data.feature_names[i],
                features[i]
            ),
            None => format!(
                "{} feature columns, the model was trained on {}",
                data.feature_names.len(),
                features.len()
            ),
        };
        return Err(CliError::bad(format!(
            "{}:1: the header does not match the model's training data: {detail}",
            data.path.display()
        )));
    }
    Ok(())
}

/// A model named on the command line: a model file, or a layer spec with an input width
/// (initialised He-uniform, seed 1).
#[derive(clap::Args, Debug)]
pub struct ModelSource {
    /// A model file ...
    #[arg(long, value_name = "FILE", conflicts_with = "layers")]
    pub model: Option<std::path::PathBuf>,
    /// ... or a layer spec, with --inputs.
    #[arg(long, value_name = "SPEC", requires = "inputs")]
    pub layers: Option<String>,
    /// Input width for --layers.
    #[arg(long, value_name = "N")]
    pub inputs: Option<usize>,
}

impl ModelSource {
    /// Loads or builds the model; `what` names the command in the error.
    pub fn load(&self, what: &str) -> Result<crate::dynamic::DynModel, CliError> {
        match (&self.model, &self.layers, self.inputs) {
            (Some(path), _, _) => Ok(load_model(path)?.model),
            (None, Some(spec), Some(n)) if n > 0 => {
                let layers = crate::dynamic::parse_spec(spec)
                    .map_err(|e| CliError::bad(format!("--layers '{spec}': {e}")))?;
                let mut m = crate::dynamic::DynModel::build(&layers, &[n])
                    .map_err(|e| CliError::bad(format!("--layers '{spec}': {e}")))?;
                m.init(&LayerInit::HE_RELU, &mut neurite::rng::Rng::new(1));
                Ok(m)
            }
            _ => Err(CliError::bad(format!(
                "{what}: give --model FILE, or --layers SPEC with --inputs N (N > 0)"
            ))),
        }
    }
}

/// Refuses an output that is one of the inputs, or another output: `outputs` and `inputs`
/// are `(option, path)` pairs; two paths are the same when they name the same existing file
/// (after links), or the same path when the file does not exist yet. Checked before any
/// work, so that `train --data d.csv --out d.csv` stops at once instead of destroying
/// `d.csv` after training.
pub fn check_outputs(outputs: &[(&str, &Path)], inputs: &[(&str, &Path)]) -> Result<(), CliError> {
    let key = |p: &Path| std::fs::canonicalize(p).unwrap_or_else(|_| p.to_path_buf());
    for (i, (out_name, out)) in outputs.iter().enumerate() {
        let others = inputs
            .iter()
            .map(|(n, p)| (n, p, "the input"))
            .chain(outputs[..i].iter().map(|(n, p)| (n, p, "another output")));
        for (name, path, what) in others {
            if key(out) == key(path) {
                return Err(CliError::bad(format!(
                    "{out_name} {} is also {name} ({what}): refusing to overwrite it",
                    out.display()
                )));
            }
        }
        check_writable(out_name, out)?;
    }
    Ok(())
}

/// Whether `path`'s directory takes a new file: one is created there and removed (checked
/// before the work, not after it). An output that cannot be written is status 1, as when
/// writing it fails.
fn check_writable(name: &str, path: &Path) -> Result<(), CliError> {
    match std::fs::metadata(path) {
        Ok(m) if m.is_dir() => {
            return Err(CliError::fail(format!("{name} {}: is a directory", path.display())))
        }
        // a device or a FIFO is written in place (`model_io::write_atomic`)
        Ok(m) if !m.is_file() => return Ok(()),
        _ => {}
    }
    let dir = path.parent().filter(|d| !d.as_os_str().is_empty()).unwrap_or(Path::new("."));
    let file = path.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default();
    match crate::model_io::create_temporary(dir, &file) {
        Ok((tmp, _)) => {
            let _ = std::fs::remove_file(tmp);
            Ok(())
        }
        Err(e) => {
            Err(CliError::fail(format!("{name} {}: cannot write there: {e}", path.display())))
        }
    }
}

/// Writes a file atomically; an I/O failure is status 1.
pub fn write_file(path: &Path, bytes: &[u8]) -> Result<(), CliError> {
    crate::model_io::write_atomic(path, bytes)
        .map_err(|e| CliError::fail(format!("{}: cannot write: {e}", path.display())))
}

/// A JSON number (non-finite as null).
pub fn json_num(v: f32) -> serde_json::Value {
    serde_json::Number::from_f64(f64::from(v))
        .map_or(serde_json::Value::Null, serde_json::Value::Number)
}
