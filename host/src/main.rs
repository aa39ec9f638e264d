//! `neurite`: with no arguments, the demo. It trains MLPs on the shipped iris and digits
//! data (canonical split, standardised) and prints per-epoch loss and test accuracy.

use neurite_host::data::shipped_split;
use neurite_host::fit::{fit_classifier, FitConfig};
use neurite_host::metrics::{accuracy, confusion};
use std::process::ExitCode;
use std::time::Instant;

fn demo(
    name: &str,
    layers: &str,
    epochs: usize,
    every: usize,
) -> Result<f32, Box<dyn std::error::Error>> {
    let (train, test) = shipped_split(name)?;
    println!(
        "== {name}: {} train rows, {} test rows, {} features; model {layers}; Adam lr 0.01, batch 32",
        train.len(),
        test.len(),
        train.n_features
    );
    let cfg = FitConfig::classifier(layers, epochs);
    let start = Instant::now();
    let model = fit_classifier(&cfg, &train, &test, |s| {
        if s.epoch % every != 0 && s.epoch != 1 {
            return;
        }
        println!(
            "epoch {:>3}  train loss {:.4}  test accuracy {:.4}",
            s.epoch, s.train_loss, s.test_accuracy
        );
    })?;
    let predicted = neurite_host::fit::predict_classes(&model, &test);
    let actual = test.classes().map_err(|row| format!("row {row}: not a class"))?;
    let acc = accuracy(&predicted, &actual);
    let classes = actual.iter().max().map_or(0, |m| m + 1);
    println!("confusion matrix (rows: actual, columns: predicted):");
    for row in confusion(&predicted, &actual, classes) {
        println!("  {}", row.iter().map(|c| format!("{c:>3}")).collect::<Vec<_>>().join(" "));
    }
    println!(
        "{name}: test accuracy {acc:.4} ({} parameters, {:.2} s)\n",
        model.param_count(),
        start.elapsed().as_secs_f32()
    );
    Ok(acc)
}

fn main() -> ExitCode {
    if std::env::args().len() > 1 {
        eprintln!("neurite: only the demo exists yet; run without arguments");
        return ExitCode::from(2);
    }
    for (name, layers, epochs, every) in
        [("iris", "dense(16),relu,dense(3)", 60, 10), ("digits", "dense(64),relu,dense(10)", 30, 3)]
    {
        if let Err(e) = demo(name, layers, epochs, every) {
            eprintln!("neurite: {e}");
            return ExitCode::FAILURE;
        }
    }
    ExitCode::SUCCESS
}
