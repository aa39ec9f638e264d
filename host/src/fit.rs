//! Training a runtime-shaped classifier or regressor on a [`Dataset`]: the loop the demo and
//! the CLI share.

use crate::data::Dataset;
use crate::dynamic::{parse_spec, DynLoss, DynModel, DynOptimizer, DynTrainer, SpecError};
use neurite::init::LayerInit;
use neurite::loss::{Reduction, Target};
use neurite::optim::AdamConfig;
use neurite::rng::Rng;

/// What to train.
#[derive(Clone, Debug)]
pub struct FitConfig {
    /// Layer spec, e.g. `dense(64),relu,dense(10)`.
    pub layers: String,
    /// Loss.
    pub loss: DynLoss,
    /// Optimiser.
    pub optimizer: DynOptimizer,
    /// Initialiser.
    pub init: LayerInit,
    /// Epochs.
    pub epochs: usize,
    /// Minibatch size.
    pub batch: usize,
    /// Seed for initialisation and shuffling.
    pub seed: u64,
}

impl FitConfig {
    /// Adam(lr 0.01), cross-entropy, He init, minibatches of 32.
    pub fn classifier(layers: &str, epochs: usize) -> Self {
        Self {
            layers: layers.into(),
            loss: DynLoss::CrossEntropy(None, 0.0),
            optimizer: DynOptimizer::Adam(AdamConfig::adam(0.01), false),
            init: LayerInit::HE_RELU,
            epochs,
            batch: 32,
            seed: 1,
        }
    }
}

/// One epoch's numbers.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct EpochStats {
    /// 1-based epoch.
    pub epoch: usize,
    /// Mean training batch loss.
    pub train_loss: f32,
    /// Test accuracy (classification) after the epoch.
    pub test_accuracy: f32,
}

/// Why training could not run.
#[derive(Debug)]
pub enum FitError {
    /// Bad layer spec.
    Spec(SpecError),
    /// A core edge error (bad target, hyper-parameter).
    Core(neurite::Error),
    /// A target that is not a class index, at this 1-based data row.
    NotAClass(usize),
}

impl std::fmt::Display for FitError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::Spec(e) => e.fmt(f),
            Self::Core(e) => e.fmt(f),
            Self::NotAClass(row) => write!(f, "data row {row}: class label is not an integer"),
        }
    }
}

impl std::error::Error for FitError {}

impl From<neurite::Error> for FitError {
    fn from(e: neurite::Error) -> Self {
        Self::Core(e)
    }
}

/// Predicted class of every row.
pub fn predict_classes(model: &DynModel, data: &Dataset) -> Vec<usize> {
    (0..data.len()).map(|i| neurite::kernel::reduce::argmax(&model.forward(data.row(i)))).collect()
}

/// Trains a classifier; calls `on_epoch` after every epoch. The output layer must have as
/// many outputs as there are classes (the spec's last dense).
pub fn fit_classifier(
    cfg: &FitConfig,
    train: &Dataset,
    test: &Dataset,
    mut on_epoch: impl FnMut(&EpochStats),
) -> Result<DynModel, FitError> {
    let spec = parse_spec(&cfg.layers).map_err(FitError::Spec)?;
    let mut model = DynModel::from_spec(&spec, train.n_features);
    let mut rng = Rng::new(cfg.seed);
    model.init(&cfg.init, &mut rng);
    let lens: Vec<usize> = model.tensors().iter().map(|t| t.len()).collect();
    let mut opt = cfg.optimizer.clone().build(&lens)?;
    let mut trainer = DynTrainer::new(&model);
    let classes = train.classes().map_err(FitError::NotAClass)?;
    let test_classes = test.classes().map_err(FitError::NotAClass)?;
    let xs: Vec<&[f32]> = (0..train.len()).map(|i| train.row(i)).collect();
    let targets: Vec<Target<'_>> = classes.iter().map(|&c| Target::Class(c)).collect();
    for epoch in 1..=cfg.epochs {
        let train_loss = cfg.loss.with(|loss| {
            trainer.epoch(
                &mut model,
                &mut opt,
                loss,
                Reduction::Mean,
                &xs,
                &targets,
                cfg.batch,
                Some(&mut rng),
            )
        })?;
        let test_accuracy = crate::metrics::accuracy(&predict_classes(&model, test), &test_classes);
        on_epoch(&EpochStats { epoch, train_loss, test_accuracy });
    }
    Ok(model)
}
