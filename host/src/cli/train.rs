//! `neurite train`.

use super::options::{
    self, load_data, parse_init, parse_loss, parse_optimizer, parse_schedule, parse_task, positive,
};
use super::report::{evaluate, json_line};
use super::{CliError, CliResult};
use crate::data::Dataset;
use crate::dynamic::{lookup, parse_spec, Attrs, LayerNode};
use crate::fit::{self, EpochStats, TrainConfig, Trained};
use crate::placement::Device;
use crate::plot::{training_curves, Series};
use indicatif::{ProgressBar, ProgressStyle};
use neurite::model_file::Task;
use plotters::style::RGBColor;
use std::path::{Path, PathBuf};

/// Options of `neurite train`.
#[derive(clap::Args, Debug, Clone)]
pub struct TrainArgs {
    /// CSV file with a header row. Without --test-data, rows i % 5 == 0 (0-based, header
    /// not counted) are the test set and the others the training set.
    #[arg(long, value_name = "FILE.csv")]
    pub data: PathBuf,
    /// The test set: a CSV file with the same columns as --data, whose rows then all train.
    #[arg(long, value_name = "FILE.csv")]
    pub test_data: Option<PathBuf>,
    /// Target column name (default: the last column).
    #[arg(long, value_name = "COLUMN")]
    pub target: Option<String>,
    /// classify (target = class index 0..K-1, every class with training rows) or regress
    /// (numeric target).
    #[arg(long, default_value = "classify", value_name = "TASK")]
    pub task: String,
    /// Layers after the input, e.g. dense(64),relu,dense(10); the last layer's width must be
    /// the number of classes (1 for regression). Names: dense(N), relu, leaky_relu(slope),
    /// prelu, elu(alpha), selu, gelu, gelu(tanh), silu, swish(beta), softplus(beta,threshold),
    /// sigmoid, tanh, identity, step, softmax, log_softmax, dropout(p).
    /// Default: dense(64),relu,dense(K) or dense(32),tanh,dense(1).
    #[arg(long, value_name = "SPEC")]
    pub layers: Option<String>,
    /// Shape of one sample: CxHxW (conv2d), CxL (conv1d) or TxF; each CSV row holds one
    /// sample in row-major order (default: the row's features, flat).
    #[arg(long, value_name = "SHAPE")]
    pub input_shape: Option<String>,
    /// Loss: cross_entropy(label_smoothing), class_balanced(beta), focal(gamma,alpha), nll,
    /// bce_with_logits, mse, mae, huber(delta), quantile(tau), tukey(c), barron(alpha,c).
    /// Default: cross_entropy or mse.
    #[arg(long, value_name = "NAME")]
    pub loss: Option<String>,
    /// sgd, momentum, nesterov, adagrad, rmsprop, adam, amsgrad, adamw.
    #[arg(long, default_value = "adam", value_name = "NAME")]
    pub optimizer: String,
    /// Learning rate (a positive number).
    #[arg(long, default_value = "0.01", value_parser = positive, allow_hyphen_values = true, value_name = "F")]
    pub lr: f32,
    /// Momentum for the momentum and nesterov optimisers (0 to below 1).
    #[arg(long, default_value_t = 0.9, value_name = "F")]
    pub momentum: f32,
    /// L2 regularisation (the optimiser's weight decay; decoupled for adamw).
    #[arg(long = "l2", alias = "weight-decay", default_value_t = 0.0, value_name = "F")]
    pub l2: f32,
    /// L1 regularisation of every parameter.
    #[arg(long, default_value_t = 0.0, value_name = "F")]
    pub l1: f32,
    /// Clip the gradient norm to this value before each step.
    #[arg(long, value_name = "F")]
    pub clip: Option<f32>,
    /// Dropout probability after every hidden activation (training only).
    #[arg(long, value_name = "P")]
    pub dropout: Option<f32>,
    /// Initialiser: he, kaiming_normal, xavier, xavier_normal, lecun, orthogonal, torch,
    /// normal(std), uniform(a).
    #[arg(long, default_value = "he", value_name = "NAME")]
    pub init: String,
    /// Learning-rate schedule: constant, step(every,gamma), cosine.
    #[arg(long, default_value = "constant", value_name = "NAME")]
    pub schedule: String,
    /// Stop when the validation loss has not improved for this many epochs (keeps the best).
    #[arg(long, value_name = "EPOCHS")]
    pub early_stopping: Option<usize>,
    /// Fraction of the train rows used for validation with --early-stopping (0.01 to 0.5).
    #[arg(long, default_value_t = 0.2, value_name = "F")]
    pub val_split: f32,
    /// Epochs.
    #[arg(long, default_value_t = 50, value_name = "N")]
    pub epochs: usize,
    /// Minibatch size.
    #[arg(long, default_value_t = 32, value_name = "N")]
    pub batch: usize,
    /// Seed of initialisation, shuffling and dropout.
    #[arg(long, default_value_t = 1, value_name = "N")]
    pub seed: u64,
    /// Threads for the dense layers' minibatch work (whole rows or outputs per thread: the
    /// same trained bits as one thread).
    #[arg(long, default_value_t = 1, value_name = "N")]
    pub threads: usize,
    /// Where to train: cpu, gpu or auto. gpu needs a build with `--features gpu` and a
    /// Vulkan adapter (without one: a message and the CPU); auto takes a hardware GPU when
    /// the model runs there and a batch is large enough to gain, and says why it chose.
    #[arg(long, default_value = "cpu", value_name = "DEVICE")]
    pub device: String,
    /// Quantisation-aware training: after the float epochs, fine-tune with the int8 model's
    /// quantisation simulated (fake quantisation, straight-through gradients), then quantise;
    /// --out writes the int8 model. Reports float, post-training int8 and QAT int8 accuracy.
    #[arg(long)]
    pub qat: bool,
    /// With --qat: fine-tuning epochs.
    #[arg(long, default_value_t = 10, value_name = "N", requires = "qat")]
    pub qat_epochs: usize,
    /// With --qat: the fine-tuning learning rate (default: a tenth of --lr).
    #[arg(long, value_parser = positive, value_name = "F", requires = "qat")]
    pub qat_lr: Option<f32>,
    /// Write the trained model file here.
    #[arg(long, value_name = "FILE")]
    pub out: Option<PathBuf>,
    /// Write a PNG of loss and accuracy (or RMSE) per epoch here.
    #[arg(long, value_name = "FILE.png")]
    pub plot: Option<PathBuf>,
    /// End with one JSON line of the results.
    #[arg(long)]
    pub json: bool,
    /// No per-epoch lines or progress bar.
    #[arg(long)]
    pub quiet: bool,
}

/// Training rows per class `0..K` (K = largest training label + 1), checked: at most
/// [`fit::MAX_CLASSES`] classes, at least two, and every class with training rows (labels
/// that skip a class, such as 1-based labels, are refused, naming the class and the file).
pub fn class_counts(train: &Dataset) -> Result<Vec<u32>, CliError> {
    let classes = fit::class_targets(train).map_err(CliError::bad)?;
    let k = fit::class_count(&classes, train).map_err(CliError::bad)?;
    let mut counts = vec![0u32; k];
    for &c in &classes {
        counts[c] += 1;
    }
    if let Some(empty) = counts.iter().position(|&n| n == 0) {
        let low = classes.iter().min().copied().unwrap_or(0);
        return Err(CliError::bad(format!(
            "{}: class {empty} has no training rows (labels are {low}..{}; classes must be 0..K-1, each with training rows)",
            train.path.display(),
            k - 1
        )));
    }
    Ok(counts)
}

/// Refuses a test file whose header is not the training file's (same names, same order).
fn check_same_columns(train: &Dataset, test: &Dataset) -> Result<(), CliError> {
    let names = |d: &Dataset| -> Vec<String> {
        let mut all = d.feature_names.clone();
        all.insert(d.target_column.unwrap_or(all.len()).min(all.len()), d.target_name.clone());
        all
    };
    let (want, got) = (names(train), names(test));
    if want == got {
        return Ok(());
    }
    let detail = match want.iter().zip(&got).position(|(a, b)| a != b) {
        Some(i) => format!(
            "column {} is '{}', {} has '{}' there",
            i + 1,
            got[i],
            train.path.display(),
            want[i]
        ),
        None => format!("{} columns, {} has {}", got.len(), train.path.display(), want.len()),
    };
    Err(CliError::bad(format!(
        "{}:1: --test-data needs the columns of --data: {detail}",
        test.path.display()
    )))
}

/// Refuses class labels in `data` (a whole file: the errors name its lines) that are not
/// classes of the training data (`k` classes).
fn check_test_classes(data: &Dataset, k: usize) -> Result<(), CliError> {
    let classes = fit::class_targets(data).map_err(CliError::bad)?;
    if let Some(row) = classes.iter().position(|&c| c >= k) {
        return Err(CliError::bad(format!(
            "{}:{}:{}: class label {} in column '{}' is not a class of the training data (labels 0..{})",
            data.path.display(),
            row + 2,
            data.target_column.map_or(0, |c| c + 1),
            classes[row],
            data.target_name,
            k - 1
        )));
    }
    Ok(())
}

/// Builds the training configuration from the options and the data.
pub fn config(a: &TrainArgs, train: &Dataset) -> Result<TrainConfig, CliError> {
    let task = parse_task(&a.task)?;
    let counts: Vec<u32> = match task {
        Task::Classification => class_counts(train)?,
        Task::Regression => Vec::new(),
    };
    let default_layers = match task {
        Task::Classification => format!("dense(64),relu,dense({})", counts.len()),
        Task::Regression => "dense(32),tanh,dense(1)".to_string(),
    };
    let spec = a.layers.clone().unwrap_or(default_layers);
    let mut layers =
        parse_spec(&spec).map_err(|e| CliError::bad(format!("--layers '{spec}': {e}")))?;
    if let Some(p) = a.dropout {
        if !(0.0..1.0).contains(&p) {
            return Err(CliError::bad(format!("--dropout {p}: a probability in [0, 1) is needed")));
        }
        let last = layers.len().saturating_sub(1);
        let mut with = Vec::new();
        for (i, l) in layers.into_iter().enumerate() {
            let hidden_activation = i < last
                && (l.kind.name == "prelu"
                    || crate::dynamic::layers::activation::is_activation(l.kind));
            with.push(l);
            if hidden_activation {
                if let Some(dropout) = lookup("dropout") {
                    with.push(LayerNode::new(dropout, Attrs::new().num("p", p)));
                }
            }
        }
        layers = with;
    }
    let default_loss = match task {
        Task::Classification => "cross_entropy",
        Task::Regression => "mse",
    };
    let loss = parse_loss(a.loss.as_deref().unwrap_or(default_loss), &counts)?;
    if task == Task::Regression && loss.wants_class() {
        return Err(CliError::bad("a classification loss needs --task classify"));
    }
    if a.epochs == 0 || a.batch == 0 {
        return Err(CliError::bad("--epochs and --batch must be at least 1"));
    }
    for (name, v) in [("--l1", a.l1), ("--l2", a.l2)] {
        if !(v.is_finite() && v >= 0.0) {
            return Err(CliError::bad(format!("{name} {v}: a non-negative number is needed")));
        }
    }
    if !(0.0..1.0).contains(&a.momentum) {
        return Err(CliError::bad(format!(
            "--momentum {}: a number in [0, 1) is needed",
            a.momentum
        )));
    }
    // the validation rows are every k-th training row, k = round(1 / fraction)
    if !(0.01..=0.5).contains(&a.val_split) {
        return Err(CliError::bad(format!(
            "--val-split {}: a fraction in [0.01, 0.5] is needed",
            a.val_split
        )));
    }
    if a.clip.is_some_and(|c| !(c.is_finite() && c > 0.0)) {
        return Err(CliError::bad("--clip: a positive number is needed"));
    }
    let input_shape = a
        .input_shape
        .as_deref()
        .map(crate::export::parse_shape)
        .transpose()
        .map_err(|e| CliError::bad(format!("--input-shape: {e}")))?;
    Ok(TrainConfig {
        layers,
        input_shape,
        task,
        loss,
        optimizer: parse_optimizer(&a.optimizer, a.lr, a.momentum, a.l2)?,
        init: parse_init(&a.init)?,
        schedule: parse_schedule(&a.schedule)?,
        l1: a.l1,
        clip: a.clip,
        epochs: a.epochs,
        batch: a.batch,
        seed: a.seed,
        patience: a.early_stopping,
        val_fraction: a.val_split,
        device: a.device.parse().map_err(CliError::bad)?,
    })
}

/// Prints an epoch line.
pub fn epoch_line(s: &EpochStats, epochs: usize, task: Task) -> String {
    let metric = match task {
        Task::Classification => format!("test accuracy {:.4}", s.test_metric),
        Task::Regression => format!("test RMSE {:.4}", s.test_metric),
    };
    let val = s.val_loss.map_or(String::new(), |v| format!("  val loss {v:.4}"));
    format!(
        "epoch {:>3}/{epochs}  lr {:.5}  train loss {:.4}{val}  test loss {:.4}  {metric}",
        s.epoch, s.lr, s.train_loss, s.test_loss
    )
}

/// Trains with a progress bar (on a terminal) and per-epoch lines unless quiet.
pub fn train_with_progress(
    cfg: &TrainConfig,
    train: &Dataset,
    test: &Dataset,
    quiet: bool,
) -> Result<Trained, CliError> {
    let bar = if quiet { ProgressBar::hidden() } else { ProgressBar::new(cfg.epochs as u64) };
    bar.set_style(
        ProgressStyle::with_template("{bar:30} epoch {pos}/{len} {msg} [{elapsed_precise}]")
            .unwrap_or_else(|_| ProgressStyle::default_bar()),
    );
    let trained = fit::train(cfg, train, test, |s| {
        if !quiet {
            // epoch lines go to stdout, the bar (on a terminal) to stderr below them
            bar.suspend(|| outln!("{}", epoch_line(s, cfg.epochs, cfg.task)));
        }
        bar.set_message(format!("loss {:.4}", s.train_loss));
        bar.inc(1);
    })
    .map_err(CliError::bad)?;
    bar.finish_and_clear();
    Ok(trained)
}

/// `train --qat` after the float training: fine-tunes quantisation-aware, quantises, reports
/// float, post-training and QAT int8 results side by side, writes the int8 model.
fn train_qat(
    a: &TrainArgs,
    cfg: &TrainConfig,
    trained: &Trained,
    train: &Dataset,
    test: &Dataset,
) -> CliResult {
    use crate::quantize::{quantize, Calibration};
    let rows: Vec<&[f32]> = (0..train.len()).map(|i| train.row(i)).collect();
    let bad = |e: String| CliError::bad(format!("--qat: {e}"));
    let ptq = quantize(&trained.saved, &rows, Calibration::Mse).map_err(bad)?;
    let model = crate::qat::prepare(&trained.saved, &rows).map_err(bad)?;
    let lr = a.qat_lr.unwrap_or(cfg.optimizer.lr() * 0.1);
    let qcfg = TrainConfig {
        epochs: a.qat_epochs,
        optimizer: cfg.optimizer.with_lr(lr),
        patience: None,
        ..cfg.clone()
    };
    let quiet = a.quiet || a.json;
    let tuned = fit::train_from(&qcfg, model, train, test, |s| {
        if !quiet {
            outln!("qat {}", epoch_line(s, qcfg.epochs, qcfg.task));
        }
    })
    .map_err(CliError::bad)?;
    let int8 = quantize(&tuned.saved, &rows, Calibration::Mse).map_err(bad)?;
    let (float_eval, ptq_eval, eval) =
        (evaluate(&trained.saved, test)?, evaluate(&ptq, test)?, evaluate(&int8, test)?);
    let first = |e: &super::report::Evaluation| e.text.lines().next().unwrap_or("").to_string();
    if !a.json {
        outln!("float:              {}", first(&float_eval));
        outln!("int8, post-training: {}", first(&ptq_eval));
        outln!("int8, QAT:          {}", first(&eval));
        out!("{}", eval.text);
    }
    if let Some(out) = &a.out {
        let bytes = int8.to_bytes().map_err(|e| CliError::fail(e.to_string()))?;
        options::write_file(out, &bytes)?;
        if !a.json {
            outln!("int8 model written to {}", out.display());
        }
    }
    if let Some(plot) = &a.plot {
        write_plot(plot, &format!("neurite: {}", a.data.display()), trained, cfg.task)?;
    }
    if a.json {
        let mut fields = eval.fields;
        for (prefix, e) in [("float_", float_eval), ("ptq_", ptq_eval)] {
            for (k, v) in e.fields {
                fields.insert(format!("{prefix}{k}"), v);
            }
        }
        let last = tuned.history.last();
        json_line(
            fields,
            last.map(|s| s.train_loss),
            trained.history.len() + tuned.history.len(),
            trained.seconds + tuned.seconds,
            None,
        );
    }
    Ok(())
}

/// Writes the loss/metric PNG atomically.
pub fn write_plot(path: &Path, title: &str, trained: &Trained, task: Task) -> Result<(), CliError> {
    let h = &trained.history;
    let train_loss: Vec<f32> = h.iter().map(|s| s.train_loss).collect();
    let test_loss: Vec<f32> = h.iter().map(|s| s.test_loss).collect();
    let metric: Vec<f32> = h.iter().map(|s| s.test_metric).collect();
    let metric_name = match task {
        Task::Classification => "test accuracy",
        Task::Regression => "test RMSE",
    };
    let tmp = path.with_extension(format!("tmp-{}.png", std::process::id()));
    let drawn = training_curves(
        &tmp,
        title,
        &[
            Series { label: "train loss", values: &train_loss, color: RGBColor(31, 119, 180) },
            Series { label: "test loss", values: &test_loss, color: RGBColor(255, 127, 14) },
        ],
        metric_name,
        &[Series { label: metric_name, values: &metric, color: RGBColor(44, 160, 44) }],
    );
    let result = drawn
        .map_err(|e| CliError::fail(format!("{}: cannot draw the plot: {e}", path.display())))
        .and_then(|()| {
            std::fs::rename(&tmp, path)
                .map_err(|e| CliError::fail(format!("{}: {e}", path.display())))
        });
    if result.is_err() {
        let _ = std::fs::remove_file(&tmp);
    }
    result
}

/// Runs `neurite train`.
pub fn run(a: &TrainArgs) -> CliResult {
    let outputs: Vec<(&str, &Path)> = [("--out", &a.out), ("--plot", &a.plot)]
        .into_iter()
        .filter_map(|(n, p)| p.as_deref().map(|p| (n, p)))
        .collect();
    let mut inputs = vec![("--data", a.data.as_path())];
    inputs.extend(a.test_data.as_deref().map(|p| ("--test-data", p)));
    options::check_outputs(&outputs, &inputs)?;
    if a.threads == 0 || a.threads > 256 {
        return Err(CliError::bad("--threads must be 1 to 256"));
    }
    crate::dynamic::threads::set_threads(a.threads);
    let data = load_data(&a.data, a.target.as_deref())?;
    let test_file = match &a.test_data {
        Some(path) => {
            let test = load_data(path, a.target.as_deref())?;
            check_same_columns(&data, &test)?;
            Some(test)
        }
        None => None,
    };
    let classify = parse_task(&a.task)? == Task::Classification;
    if classify {
        // check labels on whole files, so an error names the file's line
        fit::class_targets(&data).map_err(CliError::bad)?;
        if let Some(test) = &test_file {
            fit::class_targets(test).map_err(CliError::bad)?;
        }
    }
    let (train, test) = match &test_file {
        Some(test) => (data.clone(), test.clone()),
        None => data.canonical_split(),
    };
    let cfg = config(a, &train)?;
    if classify {
        // every test label a training class, checked before training on the whole test file
        // (canonical split: the --data file, whose training rows have only such labels)
        let k = class_counts(&train)?.len();
        check_test_classes(test_file.as_ref().unwrap_or(&data), k)?;
    }
    let trained = train_with_progress(&cfg, &train, &test, a.quiet || a.json)?;
    if a.qat {
        return train_qat(a, &cfg, &trained, &train, &test);
    }
    let eval = evaluate(&trained.saved, &test)?;
    if !a.json {
        out!("{}", eval.text);
        outln!(
            "{} epochs ({} kept), {:.2} s, {} parameters",
            trained.history.len(),
            trained.kept_epoch,
            trained.seconds,
            trained.saved.model.param_count()
        );
        if cfg.device != Device::Cpu {
            outln!("trained on {}", trained.placement.reason);
        }
    }
    // outputs only after everything succeeded, each written whole or not at all
    if let Some(out) = &a.out {
        let bytes = trained.saved.to_bytes().map_err(CliError::fail)?;
        options::write_file(out, &bytes)?;
        if !a.json {
            outln!("model written to {}", out.display());
        }
    }
    if let Some(plot) = &a.plot {
        write_plot(plot, &format!("neurite: {}", a.data.display()), &trained, cfg.task)?;
    }
    if a.json {
        let kept = trained.history.get(trained.kept_epoch.saturating_sub(1));
        let mut fields = eval.fields;
        if cfg.device != Device::Cpu {
            fields.insert("device".into(), trained.placement.reason.clone().into());
        }
        json_line(
            fields,
            kept.map(|s| s.train_loss),
            trained.history.len(),
            trained.seconds,
            kept.map(|s| s.test_loss),
        );
    }
    Ok(())
}
