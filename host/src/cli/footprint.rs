//! `neurite footprint`.

use super::report::footprint_table;
use super::{CliError, CliResult};
use crate::dynamic::DynModel;
use core::mem::size_of;
use neurite::optim::{AdagradConfig, AdamConfig, RmsPropConfig, SgdConfig};

/// Options of `neurite footprint`.
#[derive(clap::Args, Debug)]
pub struct FootprintArgs {
    #[command(flatten)]
    pub source: super::options::ModelSource,
    /// Optimiser for the training columns: sgd, momentum, adagrad, rmsprop, adam, amsgrad.
    #[arg(long, default_value = "adam", value_name = "NAME")]
    pub optimizer: String,
}

/// `(state slots, hyper-parameter bytes)` of an optimiser in the typed core.
pub fn optimizer_shape(name: &str) -> Result<(usize, usize), CliError> {
    Ok(match name {
        "sgd" | "gd" => (0, size_of::<SgdConfig>()),
        "momentum" | "nesterov" => (1, size_of::<SgdConfig>()),
        "adagrad" => (1, size_of::<AdagradConfig>()),
        "rmsprop" => (1, size_of::<RmsPropConfig>()),
        "adam" | "adamw" => (2, size_of::<AdamConfig>()),
        "amsgrad" => (3, size_of::<AdamConfig>()),
        other => return Err(CliError::bad(format!("unknown optimizer '{other}'"))),
    })
}

/// The table for a model and optimiser.
pub fn table(model: &DynModel, optimizer: &str) -> Result<String, CliError> {
    let (slots, cfg) = optimizer_shape(optimizer)?;
    Ok(footprint_table(&[
        ("inference", crate::footprint::inference(model)),
        (&format!("train ({optimizer})"), crate::footprint::training(model, slots, cfg)),
        (
            &format!("fine-tune last ({optimizer})"),
            crate::footprint::fine_tune_last(model, slots, cfg),
        ),
    ]))
}

/// Runs `neurite footprint`.
pub fn run(a: &FootprintArgs) -> CliResult {
    let model = a.source.load("footprint")?;
    println!(
        "{} parameters, {} inputs, {} outputs",
        model.param_count(),
        model.inputs(),
        model.outputs()
    );
    print!("{}", table(&model, &a.optimizer)?);
    Ok(())
}
