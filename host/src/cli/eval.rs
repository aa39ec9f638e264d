//! `neurite eval`.

use super::options::{load_any_model, load_data, parse_loss};
use super::report::{evaluate, json_line};
use super::{CliError, CliResult};
use neurite::loss::{Batch, Reduction, Target};
use neurite::model_file::Task;
use std::path::PathBuf;

/// Options of `neurite eval`.
#[derive(clap::Args, Debug)]
pub struct EvalArgs {
    /// Model file written by `neurite train` or `neurite import`.
    #[arg(long, value_name = "FILE")]
    pub model: PathBuf,
    /// CSV file with a header row and the target column.
    #[arg(long, value_name = "FILE.csv")]
    pub data: PathBuf,
    /// Target column name (default: the last column).
    #[arg(long, value_name = "COLUMN")]
    pub target: Option<String>,
    /// Which rows: test (rows i % 5 == 0, the split train holds out without --test-data) or
    /// all (a whole file, such as a --test-data file).
    #[arg(long, default_value = "test", value_name = "ROWS")]
    pub rows: String,
    /// Loss reported as test_loss (default: cross_entropy or mse on the standardised target).
    #[arg(long, value_name = "NAME")]
    pub loss: Option<String>,
    /// End with one JSON line of the results.
    #[arg(long)]
    pub json: bool,
}

/// Runs `neurite eval`.
pub fn run(a: &EvalArgs) -> CliResult {
    let start = std::time::Instant::now();
    let loaded = load_any_model(&a.model)?;
    let saved = loaded.predictor();
    let data = load_data(&a.data, a.target.as_deref())?;
    if data.n_features != saved.inputs() {
        return Err(CliError::bad(format!(
            "{}: {} feature columns, the model takes {}",
            a.data.display(),
            data.n_features,
            saved.inputs()
        )));
    }
    super::options::check_columns(saved, &data)?;
    let data = match a.rows.as_str() {
        "test" => data.canonical_split().1,
        "all" => data,
        other => return Err(CliError::bad(format!("--rows '{other}': use test or all"))),
    };
    let eval = evaluate(saved, &data)?;
    let default = match saved.task() {
        Task::Classification => "cross_entropy",
        Task::Regression => "mse",
    };
    let loss = parse_loss(a.loss.as_deref().unwrap_or(default), &[])?;
    // targets as the loss takes them: class indices, or the standardised regression target
    let classes = match saved.task() {
        Task::Classification => crate::fit::class_targets(&data).map_err(CliError::bad)?,
        Task::Regression => Vec::new(),
    };
    let (target_mean, target_std) = saved.target_scale();
    let scaled: Vec<[f32; 1]> =
        data.targets.iter().map(|t| [(t - target_mean) / target_std]).collect();
    let test_loss = loss.with(|l| {
        let mut batch = Batch::new();
        for (i, scaled) in scaled.iter().enumerate() {
            let out = saved.scores(data.row(i));
            let target = match classes.get(i) {
                Some(&c) => Target::Class(c),
                None => Target::Values(scaled),
            };
            l.check(out.len(), target)
                .map_err(|e| CliError::bad(format!("{}: row {}: {e}", a.data.display(), i + 1)))?;
            let mut g = vec![0.0; out.len()];
            batch.add(l.eval(&out, target, &mut g, None), l.mean_weight(target));
        }
        Ok::<f32, CliError>(batch.reduce(Reduction::Mean, l.per_element(), saved.outputs()).0)
    })?;
    if a.json {
        json_line(eval.fields, None, 0, start.elapsed().as_secs_f32(), Some(test_loss));
    } else {
        out!("{}", eval.text);
        outln!("test loss {test_loss:.4}");
    }
    Ok(())
}
