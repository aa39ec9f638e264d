//! Printing results: classification (accuracy, per-class precision/recall/F1, confusion
//! matrix), regression (RMSE, MAE, R^2), the footprint table, and the `--json` line.

use crate::data::Dataset;
use crate::metrics;
use crate::predictor::Predictor;
use neurite::footprint::Footprint;
use neurite::model_file::Task;
use serde_json::{json, Map, Value};

/// Metrics of a model on a dataset (raw features).
pub struct Evaluation {
    /// JSON fields (`test_accuracy` or `test_rmse`, `test_mae`, `test_r2`).
    pub fields: Map<String, Value>,
    /// Human-readable lines.
    pub text: String,
}

/// Evaluates `saved` on `data` (targets are classes or values by the model's task).
pub fn evaluate(saved: &dyn Predictor, data: &Dataset) -> Result<Evaluation, super::CliError> {
    let n = data.len();
    let mut fields = Map::new();
    let mut text = String::new();
    match saved.task() {
        Task::Classification => {
            let actual = crate::fit::class_targets(data).map_err(super::CliError::bad)?;
            let k = saved.outputs();
            if let Some(&bad) = actual.iter().find(|&&c| c >= k) {
                return Err(super::CliError::bad(format!(
                    "{}: class {bad} in the data, but the model has {k} classes",
                    data.target_name
                )));
            }
            let predicted: Vec<usize> = (0..n)
                .map(|i| neurite::kernel::reduce::argmax(&saved.predict(data.row(i))))
                .collect();
            let acc = metrics::accuracy(&predicted, &actual);
            let confusion = metrics::confusion(&predicted, &actual, k);
            fields.insert("test_accuracy".into(), super::options::json_num(acc));
            text += &format!("test accuracy {acc:.4} ({} of {n} rows)\n", (acc * n as f32).round());
            text += "class  precision  recall     f1  support\n";
            for (c, s) in metrics::class_scores(&confusion).iter().enumerate() {
                text += &format!(
                    "{c:>5}  {:>9.4}  {:>6.4}  {:>5.4}  {:>7}\n",
                    s.precision, s.recall, s.f1, s.support
                );
            }
            text += "confusion matrix (rows: actual class, columns: predicted class):\n";
            text += &format!("      {}\n", (0..k).map(|c| format!("{c:>4}")).collect::<String>());
            for (c, row) in confusion.iter().enumerate() {
                text += &format!(
                    "{c:>5} {}\n",
                    row.iter().map(|v| format!("{v:>4}")).collect::<String>()
                );
            }
        }
        Task::Regression => {
            let p: Vec<f32> = (0..n).map(|i| saved.predict(data.row(i))[0]).collect();
            let (rmse, mae, r2) = (
                metrics::rmse(&p, &data.targets),
                metrics::mae(&p, &data.targets),
                metrics::r2(&p, &data.targets),
            );
            fields.insert("test_rmse".into(), super::options::json_num(rmse));
            fields.insert("test_mae".into(), super::options::json_num(mae));
            fields.insert("test_r2".into(), super::options::json_num(r2));
            text += &format!("test RMSE {rmse:.4}  MAE {mae:.4}  R^2 {r2:.4} ({n} rows)\n");
        }
    }
    Ok(Evaluation { fields, text })
}

/// The footprint table: one column per use.
pub fn footprint_table(columns: &[(&str, Footprint)]) -> String {
    let mut out = format!("{:<28}", "bytes");
    for (name, _) in columns {
        out += &format!("{name:>22}");
    }
    out.push('\n');
    type Row = (&'static str, fn(&Footprint) -> usize);
    let rows: [Row; 7] = [
        ("parameters (RAM)", |f| f.params),
        ("frozen parameters (flash)", |f| f.frozen),
        ("gradients", |f| f.grads),
        ("optimiser state", |f| f.optimizer),
        ("activation trace", |f| f.trace),
        ("buffers", |f| f.buffers),
        ("total RAM", Footprint::ram),
    ];
    for (label, get) in rows {
        out += &format!("{label:<28}");
        for (_, f) in columns {
            out += &format!("{:>22}", get(f));
        }
        out.push('\n');
    }
    out
}

/// Prints the `--json` line: `fields` plus the common keys.
pub fn json_line(
    mut fields: Map<String, Value>,
    train_loss: Option<f32>,
    epochs: usize,
    seconds: f32,
    test_loss: Option<f32>,
) {
    if let Some(l) = test_loss {
        fields.insert("test_loss".into(), super::options::json_num(l));
    }
    fields.insert("train_loss".into(), train_loss.map_or(Value::Null, super::options::json_num));
    fields.insert("epochs".into(), json!(epochs));
    fields.insert("seconds".into(), super::options::json_num(seconds));
    outln!("{}", Value::Object(fields));
}
