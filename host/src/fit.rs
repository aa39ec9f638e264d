//! Training a runtime-shaped model on a [`Dataset`]: the loop the CLI and the demo share.
//!
//! Features are standardised with train statistics (stored in the model file); regression
//! targets too (de-standardised at prediction). Each epoch: shuffled minibatches, optional L1
//! and gradient clipping before each step, the learning-rate schedule, then evaluation on
//! the test split and, with early stopping, on a validation split carved from the train rows.

use crate::data::{Dataset, Standardizer};
use crate::dynamic::{DynLoss, DynModel, DynOptimizer, LayerNode};
use crate::model_io::SavedModel;
use crate::placement::{Device, GpuSlot, Placement};
use neurite::init::LayerInit;
use neurite::loss::{Batch, Reduction, Target};
use neurite::model_file::Task;
use neurite::rng::Rng;
use std::time::Instant;

/// Most classes a classifier accepts (a regression target passed to a classifier would
/// otherwise become hundreds of classes).
pub const MAX_CLASSES: usize = 100;

/// Learning rate per epoch.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum Schedule {
    /// The same rate every epoch.
    Constant,
    /// `lr * gamma^floor((epoch - 1) / every)` (`torch.optim.lr_scheduler.StepLR`).
    Step {
        /// Epochs between decays.
        every: usize,
        /// Decay factor.
        gamma: f32,
    },
    /// `lr/2 (1 + cos(pi (epoch - 1) / epochs))` (`CosineAnnealingLR`, `eta_min = 0`).
    Cosine,
}

impl Schedule {
    /// The rate of 1-based `epoch` of `epochs`, from the base rate `lr`.
    pub fn lr(&self, lr: f32, epoch: usize, epochs: usize) -> f32 {
        match *self {
            Self::Constant => lr,
            Self::Step { every, gamma } => lr * gamma.powi(((epoch - 1) / every.max(1)) as i32),
            Self::Cosine => {
                let t = (epoch - 1) as f32 / epochs.max(1) as f32;
                0.5 * lr * (1.0 + (core::f32::consts::PI * t).cos())
            }
        }
    }
}

/// Everything `train` needs to know.
#[derive(Clone, Debug)]
pub struct TrainConfig {
    /// Layers; the input size comes from the data.
    pub layers: Vec<LayerNode>,
    /// Shape of one sample (`[C, H, W]`, `[C, L]`, `[T, F]`); `None`: the row's features.
    pub input_shape: Option<Vec<usize>>,
    /// Classification or regression.
    pub task: Task,
    /// Loss.
    pub loss: DynLoss,
    /// Optimiser (its learning rate is the schedule's base rate).
    pub optimizer: DynOptimizer,
    /// Initialiser.
    pub init: LayerInit,
    /// Learning-rate schedule.
    pub schedule: Schedule,
    /// L1 penalty on every parameter (L2 is the optimiser's weight decay).
    pub l1: f32,
    /// Gradient-norm clipping.
    pub clip: Option<f32>,
    /// Epochs (the most, with early stopping).
    pub epochs: usize,
    /// Minibatch size.
    pub batch: usize,
    /// Seed of initialisation, shuffling and dropout.
    pub seed: u64,
    /// Early stopping: epochs without a better validation loss before stopping.
    pub patience: Option<usize>,
    /// Fraction of the train rows held out for validation when early stopping.
    pub val_fraction: f32,
    /// Where to train (`crate::placement`).
    pub device: Device,
}

impl TrainConfig {
    /// The demo's model: digits 64-64-10 (ReLU), Adam lr 0.01, batch 32, He init, seed 1.
    /// The firmware's `src/model.rs` is this model after 30 epochs, exported with
    /// [`crate::export::rust_module`] (`tests/tests/firmware_host.rs` checks it).
    pub fn digits_demo(epochs: usize) -> Self {
        Self {
            layers: crate::dynamic::parse_spec("dense(64),relu,dense(10)").unwrap_or_default(),
            input_shape: None,
            task: Task::Classification,
            loss: DynLoss::CrossEntropy(None, 0.0),
            optimizer: DynOptimizer::Adam(neurite::optim::AdamConfig::adam(0.01), false),
            init: LayerInit::HE_RELU,
            schedule: Schedule::Constant,
            l1: 0.0,
            clip: None,
            epochs,
            batch: 32,
            seed: 1,
            patience: None,
            val_fraction: 0.2,
            device: Device::Cpu,
        }
    }
}

/// The digits CNN (input 1x8x8): the README's CLI model and the firmware's `src/cnn_model.rs`.
pub const DIGITS_CNN: &str = "conv2d(16,3,padding=1),relu,maxpool2d(2),conv2d(32,3,padding=1),relu,maxpool2d(2),flatten,dense(10)";

/// The digits GRU: each digit read as 8 time steps of 8 pixels, the last step's hidden state
/// into a dense head.
pub const DIGITS_GRU: &str = "gru(32),dense(10)";

impl TrainConfig {
    /// The digits GRU ([`DIGITS_GRU`] on 8x8 samples, rows as time steps) as the CLI trains it
    /// with `--input-shape 8x8 --lr 0.005` and otherwise default options.
    pub fn digits_gru(epochs: usize) -> Self {
        Self {
            layers: crate::dynamic::parse_spec(DIGITS_GRU).unwrap_or_default(),
            input_shape: Some(vec![8, 8]),
            optimizer: DynOptimizer::Adam(neurite::optim::AdamConfig::adam(0.005), false),
            ..Self::digits_demo(epochs)
        }
    }

    /// The digits CNN ([`DIGITS_CNN`] on 1x8x8 samples) as the CLI trains it with
    /// `--input-shape 1x8x8 --lr 0.003` and otherwise default options: Adam, batch 32, He
    /// init, seed 1.
    pub fn digits_cnn(epochs: usize) -> Self {
        Self {
            layers: crate::dynamic::parse_spec(DIGITS_CNN).unwrap_or_default(),
            input_shape: Some(vec![1, 8, 8]),
            optimizer: DynOptimizer::Adam(neurite::optim::AdamConfig::adam(0.003), false),
            ..Self::digits_demo(epochs)
        }
    }
}

/// One epoch's numbers.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct EpochStats {
    /// 1-based epoch.
    pub epoch: usize,
    /// Learning rate used.
    pub lr: f32,
    /// Mean training batch loss.
    pub train_loss: f32,
    /// Validation loss (early stopping only).
    pub val_loss: Option<f32>,
    /// Test loss.
    pub test_loss: f32,
    /// Test accuracy (classification) or RMSE in target units (regression).
    pub test_metric: f32,
}

/// The outcome of training.
#[derive(Clone, Debug)]
pub struct Trained {
    /// The model with its standardisation, ready to save.
    pub saved: SavedModel,
    /// Per-epoch numbers.
    pub history: Vec<EpochStats>,
    /// Epoch whose weights were kept (the last, or the best validation loss).
    pub kept_epoch: usize,
    /// Wall-clock seconds of training.
    pub seconds: f32,
    /// Where it trained, and why.
    pub placement: Placement,
}

/// Why training could not run (all bad input: the CLI exits with status 2).
#[derive(Debug)]
pub enum FitError {
    /// A core edge error (bad target, hyper-parameter).
    Core(neurite::Error),
    /// Anything else, in words.
    Input(String),
}

impl std::fmt::Display for FitError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::Core(e) => e.fmt(f),
            Self::Input(s) => f.write_str(s),
        }
    }
}

impl std::error::Error for FitError {}

impl From<neurite::Error> for FitError {
    fn from(e: neurite::Error) -> Self {
        Self::Core(e)
    }
}

/// Targets of a split as the losses take them.
enum Targets {
    Classes(Vec<usize>),
    Values(Vec<[f32; 1]>),
}

impl Targets {
    fn get(&self, i: usize) -> Target<'_> {
        match self {
            Self::Classes(c) => Target::Class(c[i]),
            Self::Values(v) => Target::Values(&v[i]),
        }
    }

    fn len(&self) -> usize {
        match self {
            Self::Classes(c) => c.len(),
            Self::Values(v) => v.len(),
        }
    }
}

/// Class indices of a dataset's targets, checked. For a whole file, `Err` names
/// `file:line:column` of the first label that is not a class (line = data row + 1 for the
/// header); after a split, the data row.
pub fn class_targets(data: &Dataset) -> Result<Vec<usize>, FitError> {
    data.classes().map_err(|row| {
        let column = data.target_column.map_or(0, |c| c + 1);
        // the file's line and the label as written (a large one does not fit an f32 exactly)
        let (line, label) = data.sources.get(row - 1).map_or_else(
            || (row + 1, data.targets[row - 1].to_string()),
            |(line, text)| (*line, crate::data::shown(text)),
        );
        FitError::Input(format!(
            "{}:{line}:{column}: class label '{label}' in column '{}' is not a non-negative integer (use --task regress for a numeric target)",
            data.path.display(),
            data.target_name
        ))
    })
}

/// Number of classes (largest label + 1), checked against [`MAX_CLASSES`].
pub fn class_count(train: &[usize], data: &Dataset) -> Result<usize, FitError> {
    let k = train.iter().max().map_or(0, |m| m + 1);
    if k > MAX_CLASSES {
        return Err(FitError::Input(format!(
            "{}: target column '{}' has labels up to {}: too many classes for a classifier (at most {MAX_CLASSES}); use --task regress for a numeric target",
            data.path.display(),
            data.target_name,
            k - 1
        )));
    }
    if k < 2 {
        return Err(FitError::Input(format!(
            "{}: target column '{}' has a single class (a classifier needs at least 2)",
            data.path.display(),
            data.target_name
        )));
    }
    Ok(k)
}

/// Mean loss of `model` over a split.
fn mean_loss(model: &DynModel, loss: &DynLoss, xs: &[Vec<f32>], ts: &Targets) -> f32 {
    loss.with(|l| {
        let mut batch = Batch::new();
        for (i, x) in xs.iter().enumerate() {
            let out = model.forward(x);
            let mut g = vec![0.0; out.len()];
            batch.add(l.eval(&out, ts.get(i), &mut g, None), l.mean_weight(ts.get(i)));
        }
        batch.reduce(Reduction::Mean, l.per_element(), model.outputs()).0
    })
}

/// Test accuracy, or RMSE in target units.
fn metric(saved: &SavedModel, xs: &[Vec<f32>], ts: &Targets) -> f32 {
    match ts {
        Targets::Classes(c) => {
            let p: Vec<usize> = xs
                .iter()
                .map(|x| neurite::kernel::reduce::argmax(&saved.model.forward(x)))
                .collect();
            crate::metrics::accuracy(&p, c)
        }
        Targets::Values(v) => {
            let p: Vec<f32> = xs
                .iter()
                .map(|x| saved.model.forward(x)[0] * saved.target_std + saved.target_mean)
                .collect();
            let a: Vec<f32> =
                v.iter().map(|t| t[0] * saved.target_std + saved.target_mean).collect();
            crate::metrics::rmse(&p, &a)
        }
    }
}

fn rows(d: &Dataset) -> Vec<Vec<f32>> {
    (0..d.len()).map(|i| d.row(i).to_vec()).collect()
}

/// Trains on `train`, evaluates on `test` after every epoch (raw, unstandardised datasets;
/// `on_epoch` sees each epoch's numbers).
pub fn train(
    cfg: &TrainConfig,
    train: &Dataset,
    test: &Dataset,
    on_epoch: impl FnMut(&EpochStats),
) -> Result<Trained, FitError> {
    fit(cfg, None, train, test, on_epoch)
}

/// [`train`] from the given weights: `model` (built for the standardised features, or for
/// `cfg.input_shape`) replaces building `cfg.layers` and initialising with `cfg.init`;
/// shuffling starts from `Rng::new(cfg.seed)` (in [`train`] it follows the initialisation's
/// draws). Everything else is [`train`]'s. The PyTorch training references
/// (`tests/tests/training_reference.rs`) start here.
pub fn train_from(
    cfg: &TrainConfig,
    model: DynModel,
    train: &Dataset,
    test: &Dataset,
    on_epoch: impl FnMut(&EpochStats),
) -> Result<Trained, FitError> {
    fit(cfg, Some(model), train, test, on_epoch)
}

/// The loop of [`train`] and [`train_from`]: `given` is the model to train, `None` to build
/// and initialise one from `cfg`.
fn fit(
    cfg: &TrainConfig,
    given: Option<DynModel>,
    train: &Dataset,
    test: &Dataset,
    mut on_epoch: impl FnMut(&EpochStats),
) -> Result<Trained, FitError> {
    if train.is_empty() || test.is_empty() {
        return Err(FitError::Input("need at least one train and one test row (the canonical split holds out rows i % 5 == 0)".into()));
    }
    let start = Instant::now();
    // token indices (a model that starts with an embedding) are not standardised; each must
    // be an integer in 0..num_embeddings
    let tokens = cfg.layers.first().is_some_and(|n| n.kind.name == "embedding");
    if let Some(first) = cfg.layers.first().filter(|_| tokens) {
        let vocab = first.attrs.usize("num_embeddings", 0).map_err(FitError::Input)?;
        for data in [train, test] {
            let per_row = data.n_features.max(1);
            let bad = data
                .features
                .iter()
                .position(|&v| neurite::kernel::embedding::token(v, vocab).is_none());
            if let Some(k) = bad {
                let (row, col) = (k / per_row, k % per_row);
                let line =
                    data.sources.get(row).map_or(String::new(), |s| format!(" line {}", s.0));
                return Err(FitError::Input(format!(
                    "{}{line}, column '{}': {} is not a token index of embedding({vocab}, ...): an integer from 0 to {}",
                    data.path.display(),
                    data.feature_names.get(col).map_or("?", String::as_str),
                    data.features[k],
                    vocab - 1
                )));
            }
        }
    }
    let stats = Standardizer::fit(train);
    let (mut tr, mut te) = (train.clone(), test.clone());
    if !tokens {
        stats.apply(&mut tr);
        stats.apply(&mut te);
    }
    let (train_t, test_t, outputs, target_mean, target_std) = match cfg.task {
        Task::Classification => {
            let c = class_targets(&tr)?;
            let k = class_count(&c, &tr)?;
            let ct = class_targets(&te)?;
            (Targets::Classes(c), Targets::Classes(ct), k, 0.0, 1.0)
        }
        Task::Regression => {
            let n = tr.len() as f64;
            let mean = tr.targets.iter().map(|&t| f64::from(t)).sum::<f64>() / n;
            let var = tr.targets.iter().map(|&t| (f64::from(t) - mean).powi(2)).sum::<f64>() / n;
            let std = if var > 1e-12 { var.sqrt() } else { 1.0 };
            let scale = |d: &Dataset| {
                d.targets.iter().map(|&t| [((f64::from(t) - mean) / std) as f32]).collect()
            };
            (Targets::Values(scale(&tr)), Targets::Values(scale(&te)), 1, mean as f32, std as f32)
        }
    };
    let shape = cfg.input_shape.clone().unwrap_or_else(|| vec![tr.n_features]);
    if shape.iter().product::<usize>() != tr.n_features {
        return Err(FitError::Input(format!(
            "--input-shape {} holds {} values but the data has {} features per row",
            crate::export::shape_string(&shape),
            shape.iter().product::<usize>(),
            tr.n_features
        )));
    }
    let (model, mut rng) = match given {
        None => {
            let mut model = DynModel::build(&cfg.layers, &shape)
                .map_err(|e| FitError::Input(format!("--layers: {e}")))?;
            let mut rng = Rng::new(cfg.seed);
            model.init(&cfg.init, &mut rng);
            (model, rng)
        }
        Some(model) if model.input_shape() != shape.as_slice() => {
            return Err(FitError::Input(format!(
                "the model takes samples of shape {} but the data's are {}",
                crate::export::shape_string(model.input_shape()),
                crate::export::shape_string(&shape)
            )));
        }
        Some(model) => (model, Rng::new(cfg.seed)),
    };
    if model.outputs() != outputs {
        return Err(FitError::Input(format!(
            "the layer spec ends with {} outputs but the {} needs {outputs} (end it with dense({outputs}))",
            model.outputs(),
            match cfg.task {
                Task::Classification => "data's classes",
                Task::Regression => "regression target",
            }
        )));
    }
    let lens: Vec<usize> = model.tensors().iter().map(|t| t.len()).collect();
    let base_lr = cfg.optimizer.lr();
    let mut opt = cfg.optimizer.clone().build(&lens)?;
    let slot = GpuSlot::open(cfg.device);
    let (mut engine, placement) =
        crate::placement::engine(&slot, cfg, &model, &opt).map_err(FitError::Input)?;

    // validation rows: every k-th train row when early stopping
    let all_x = rows(&tr);
    let test_x = rows(&te);
    let (fit_idx, val_idx): (Vec<usize>, Vec<usize>) = match cfg.patience {
        Some(_) => {
            let every = (1.0 / cfg.val_fraction.clamp(0.01, 0.5)).round() as usize;
            (0..tr.len()).partition(|i| i % every != every - 1)
        }
        None => ((0..tr.len()).collect(), Vec::new()),
    };
    let pick = |idx: &[usize]| -> (Vec<Vec<f32>>, Targets) {
        let xs = idx.iter().map(|&i| all_x[i].clone()).collect();
        let ts = match &train_t {
            Targets::Classes(c) => Targets::Classes(idx.iter().map(|&i| c[i]).collect()),
            Targets::Values(v) => Targets::Values(idx.iter().map(|&i| v[i]).collect()),
        };
        (xs, ts)
    };
    let (fit_x, fit_t) = pick(&fit_idx);
    let (val_x, val_t) = pick(&val_idx);
    if fit_t.len() == 0 {
        return Err(FitError::Input("no training rows left after the validation split".into()));
    }
    let loss_check =
        cfg.loss.with(|l| (0..fit_t.len()).try_for_each(|i| l.check(outputs, fit_t.get(i))));
    loss_check?;

    let mut saved = SavedModel {
        model,
        task: cfg.task,
        means: if tokens { Vec::new() } else { stats.mean.clone() },
        stds: if tokens { Vec::new() } else { stats.std.clone() },
        target_mean,
        target_std,
        columns: tr.feature_names.iter().chain([&tr.target_name]).cloned().collect(),
    };
    let mut history = Vec::new(); // not `with_capacity(epochs)`: any epoch count is valid
    let mut best: Option<(f32, usize, DynModel)> = None;
    for epoch in 1..=cfg.epochs {
        let lr = cfg.schedule.lr(base_lr, epoch, cfg.epochs);
        opt.set_lr(lr);
        let xs: Vec<&[f32]> = fit_x.iter().map(Vec::as_slice).collect();
        let ts: Vec<Target<'_>> = (0..fit_t.len()).map(|i| fit_t.get(i)).collect();
        let train_loss =
            engine.epoch(&mut saved.model, &mut opt, &cfg.loss, &xs, &ts, cfg, &mut rng);
        let train_loss = match train_loss {
            Err(neurite::Error::NonFiniteLoss) => f32::NAN, // reported below with the epoch
            other => other?,
        };
        let val_loss =
            (!val_x.is_empty()).then(|| mean_loss(&saved.model, &cfg.loss, &val_x, &val_t));
        let stats = EpochStats {
            epoch,
            lr,
            train_loss,
            val_loss,
            test_loss: mean_loss(&saved.model, &cfg.loss, &test_x, &test_t),
            test_metric: metric(&saved, &test_x, &test_t),
        };
        on_epoch(&stats);
        history.push(stats);
        if let (Some(patience), Some(v)) = (cfg.patience, val_loss) {
            if best.as_ref().is_none_or(|(b, _, _)| v < *b) {
                best = Some((v, epoch, saved.model.clone()));
            } else if best.as_ref().is_some_and(|(_, e, _)| epoch - e >= patience) {
                break;
            }
        }
        if !train_loss.is_finite() {
            let (batch, batches) = engine.epoch_batch();
            return Err(FitError::Input(format!(
                "training diverged at epoch {epoch}, batch {batch} of {batches} (a NaN or infinite loss or gradient; no step was taken with it); lower the learning rate"
            )));
        }
    }
    let kept_epoch = match best {
        Some((_, e, m)) => {
            saved.model = m;
            e
        }
        None => history.len(),
    };
    Ok(Trained { saved, history, kept_epoch, seconds: start.elapsed().as_secs_f32(), placement })
}
