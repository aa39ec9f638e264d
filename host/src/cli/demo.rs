//! The demo (`cargo run --release`, or `neurite demo`): trains the default digits model on
//! the shipped data (`host/data/digits.csv`, compiled into the binary), reports it, and
//! writes a model file, a firmware export and a plot.

use super::report::{evaluate, footprint_table};
use super::train::{train_with_progress, write_plot};
use super::{CliError, CliResult};
use crate::fit::TrainConfig;
use core::mem::size_of;
use neurite::model_file::Task;
use neurite::optim::{AdamConfig, SgdConfig};
use std::path::PathBuf;

/// Options of the demo.
#[derive(clap::Args, Debug)]
pub struct DemoArgs {
    /// Where to write the model file, firmware export and plot.
    #[arg(long, default_value = "neurite-out", value_name = "DIR")]
    pub out_dir: PathBuf,
    /// Epochs.
    #[arg(long, default_value_t = 30, value_name = "N")]
    pub epochs: usize,
}

impl Default for DemoArgs {
    fn default() -> Self {
        Self { out_dir: PathBuf::from("neurite-out"), epochs: 30 }
    }
}

/// Runs the demo.
pub fn run(a: &DemoArgs) -> CliResult {
    // compiled in (not read from the source tree), so an installed binary runs anywhere
    let data = crate::data::shipped_digits().map_err(CliError::fail)?;
    let (train, test) = data.canonical_split();
    let spec = "dense(64),relu,dense(10)";
    outln!("neurite demo: handwritten digits (8x8 pixels, 10 classes), {}", data.path.display());
    outln!(
        "{} train rows, {} test rows (rows i % 5 == 0), {} features standardised with train statistics",
        train.len(),
        test.len(),
        train.n_features
    );
    outln!("model {spec}; Adam lr 0.01, batch 32, {} epochs, He init, seed 1\n", a.epochs);
    let cfg = TrainConfig::digits_demo(a.epochs);
    let trained = train_with_progress(&cfg, &train, &test, false)?;
    let eval = evaluate(&trained.saved, &test)?;
    outln!();
    out!("{}", eval.text);
    outln!("training took {:.2} s\n", trained.seconds);

    let model = &trained.saved.model;
    outln!("memory footprint ({} parameters, f32):", model.param_count());
    let (sgd, adam) = (size_of::<SgdConfig>(), size_of::<AdamConfig>());
    out!(
        "{}",
        footprint_table(&[
            ("inference", crate::footprint::inference(model)),
            ("fine-tune last (SGD)", crate::footprint::fine_tune_last(model, 0, sgd)),
            ("fine-tune last (Adam)", crate::footprint::fine_tune_last(model, 2, adam)),
            ("train all (Adam)", crate::footprint::training(model, 2, adam)),
        ])
    );

    std::fs::create_dir_all(&a.out_dir)
        .map_err(|e| CliError::fail(format!("{}: {e}", a.out_dir.display())))?;
    let model_path = a.out_dir.join("digits.neurite");
    let rust_path = a.out_dir.join("digits_model.rs");
    let plot_path = a.out_dir.join("digits_training.png");
    super::options::write_file(&model_path, &trained.saved.to_bytes().map_err(CliError::fail)?)?;
    let module = crate::export::rust_module(&trained.saved, &model_path.display().to_string());
    super::options::write_file(&rust_path, module.map_err(CliError::fail)?.as_bytes())?;
    write_plot(&plot_path, "neurite demo: digits 64-64-10, Adam", &trained, Task::Classification)?;
    outln!(
        "\nwrote {} (model file), {} (firmware export), {} (plot)",
        model_path.display(),
        rust_path.display(),
        plot_path.display()
    );
    Ok(())
}
