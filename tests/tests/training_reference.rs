//! The host's training loop (`neurite_host::fit`, what `neurite train` runs) against PyTorch:
//! L1 and L2 (SGD weight decay with momentum, AdamW, Adam's coupled decay), gradient
//! clipping, the step and cosine schedules, early stopping with its validation split and the
//! best model kept, for classification and regression (targets standardised).
//!
//! `tests/pytorch/training_reference.json` is written by
//! `tests/pytorch/make_training_reference.py`, which trains each case in float64 from the
//! float32 data, weights and hyper-parameters written there, full-batch, replicating
//! `fit.rs` (standardisation, validation rows, when the loss is taken, L1 then clipping
//! before the step). Here each case runs through `fit::train_from` with a `TrainConfig` built
//! as `host/src/cli/train.rs` builds it from the CLI options the case names, and must give:
//!
//! * the standardisation statistics, bit for bit;
//! * every epoch's learning rate within [`LR_ULPS`] float32 ulps of PyTorch's (cosine:
//!   within [`COS_TOL`] `f32::EPSILON` of the base rate);
//! * every epoch's train, validation and test loss, and the kept weights, within
//!   [`LOSS_TOL`] / [`PARAM_TOL`] (relative to the value, with an absolute floor);
//! * the number of epochs run and the kept epoch exactly.
//!
//! `Schedule::lr` is also checked alone against `get_last_lr()` of `StepLR` and
//! `CosineAnnealingLR` for every epoch. Dropout's scaling is in `dropout.rs` (PyTorch's
//! masks come from another generator, so a trained reference cannot include it).

use neurite::init::LayerInit;
use neurite::model_file::Task;
use neurite::optim::{AdamConfig, SgdConfig};
use neurite_host::data::Dataset;
use neurite_host::dynamic::{parse_spec, DynLoss, DynModel, DynOptimizer};
use neurite_host::fit::{self, Schedule, TrainConfig, Trained};
use serde_json::Value;
use std::path::Path;
use std::sync::OnceLock;

/// Constant and step learning rates: float32 ulps between `Schedule::lr` and PyTorch's
/// float64 rate rounded to float32 (measured: 1, `gamma^k` rounded once more in f32).
const LR_ULPS: u32 = 1;
/// Cosine learning rates: `|got - want| <= COS_TOL * f32::EPSILON * base rate` (an error
/// absolute in the base rate: `1 + cos` cancels near the end of the schedule, where one ulp
/// of `cos` is many ulps of the rate; measured: 0.75).
const COS_TOL: f64 = 1.5;
/// Losses, every epoch: `|got - want| <= LOSS_TOL * max(|want|, 0.1)` (measured: 2.5e-7,
/// `cosine_sgd`).
const LOSS_TOL: f64 = 1e-6;
/// Kept weights: `|got - want| <= PARAM_TOL * max(|want|, 0.1)` (measured: 6.2e-7,
/// `l2_adamw_cosine`).
const PARAM_TOL: f64 = 2e-6;

fn reference() -> &'static Value {
    static DOC: OnceLock<Value> = OnceLock::new();
    DOC.get_or_init(|| {
        let path =
            Path::new(env!("CARGO_MANIFEST_DIR")).join("pytorch").join("training_reference.json");
        let text = std::fs::read_to_string(&path)
            .unwrap_or_else(|e| panic!("{}: {e} (run make_training_reference.py)", path.display()));
        serde_json::from_str(&text).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
    })
}

fn case(name: &str) -> &'static Value {
    reference()["cases"]
        .as_array()
        .expect("cases")
        .iter()
        .find(|c| c["name"] == name)
        .unwrap_or_else(|| panic!("no case '{name}' in training_reference.json"))
}

fn f64s(v: &Value) -> Vec<f64> {
    v.as_array().expect("a list").iter().map(|x| x.as_f64().expect("a number")).collect()
}

fn f32s(v: &Value) -> Vec<f32> {
    f64s(v).into_iter().map(|x| x as f32).collect()
}

fn num(v: &Value) -> f32 {
    v.as_f64().expect("a number") as f32
}

fn dataset(v: &Value) -> Dataset {
    let rows: Vec<Vec<f32>> = v["x"].as_array().expect("x").iter().map(f32s).collect();
    let n_features = rows[0].len();
    Dataset {
        feature_names: (0..n_features).map(|j| format!("x{j}")).collect(),
        target_name: "y".into(),
        features: rows.concat(),
        targets: f32s(&v["y"]),
        n_features,
        target_column: None,
        path: "training_reference.json".into(),
        sources: Vec::new(),
    }
}

/// `--schedule` as `parse_schedule` reads it.
fn schedule(s: &str) -> Schedule {
    match s {
        "constant" => Schedule::Constant,
        "cosine" => Schedule::Cosine,
        _ => {
            let args = s.strip_prefix("step(").and_then(|r| r.strip_suffix(')')).expect(s);
            let (every, gamma) = args.split_once(',').expect(s);
            Schedule::Step { every: every.parse().expect(s), gamma: gamma.parse().expect(s) }
        }
    }
}

/// `--optimizer NAME --lr --momentum --l2` as `parse_optimizer` maps them.
fn optimizer(c: &Value) -> DynOptimizer {
    let (lr, momentum, weight_decay) = (num(&c["lr"]), num(&c["momentum"]), num(&c["l2"]));
    match c["optimizer"].as_str().expect("optimizer") {
        "sgd" => DynOptimizer::Sgd(SgdConfig { weight_decay, ..SgdConfig::new(lr) }),
        "momentum" => DynOptimizer::Sgd(SgdConfig { momentum, weight_decay, ..SgdConfig::new(lr) }),
        "adam" => DynOptimizer::Adam(AdamConfig { weight_decay, ..AdamConfig::adam(lr) }, false),
        "adamw" => DynOptimizer::Adam(AdamConfig { weight_decay, ..AdamConfig::adamw(lr) }, false),
        other => panic!("optimizer {other}"),
    }
}

/// The `TrainConfig` `neurite train` builds from the case's options (`cli/train.rs`).
fn config(c: &Value) -> TrainConfig {
    let task = match c["task"].as_str() {
        Some("classify") => Task::Classification,
        Some("regress") => Task::Regression,
        other => panic!("task {other:?}"),
    };
    TrainConfig {
        layers: parse_spec(c["layers"].as_str().expect("layers")).expect("layer spec"),
        input_shape: None,
        task,
        loss: match task {
            Task::Classification => DynLoss::CrossEntropy(None, 0.0),
            Task::Regression => DynLoss::Mse,
        },
        optimizer: optimizer(c),
        // unused by `train_from`: the weights are the case's
        init: LayerInit::HE_RELU,
        schedule: schedule(c["schedule"].as_str().expect("schedule")),
        l1: num(&c["l1"]),
        clip: c["clip"].as_f64().map(|x| x as f32),
        epochs: c["epochs"].as_u64().expect("epochs") as usize,
        batch: c["batch"].as_u64().expect("batch") as usize,
        seed: 1,
        patience: c["early_stopping"].as_u64().map(|p| p as usize),
        val_fraction: num(&c["val_split"]),
        device: neurite_host::placement::Device::Cpu,
    }
}

/// Trains case `name` from its initial weights.
fn run(name: &str) -> (Trained, &'static Value) {
    let c = case(name);
    let cfg = config(c);
    let (train, test) = (dataset(&c["train"]), dataset(&c["test"]));
    let mut model = DynModel::build(&cfg.layers, &[train.n_features]).expect("model");
    let initial = c["initial_params"].as_array().expect("initial_params");
    let names: Vec<&str> = model.named_tensors().iter().map(|t| t.name).collect();
    assert_eq!(names, ["weight", "bias", "weight", "bias"], "{name}: dense, tanh, dense");
    assert_eq!(model.tensors().len(), initial.len(), "{name}: tensors");
    // Dense weights are `[out][in]`, PyTorch's `Linear.weight` layout.
    for (t, v) in model.tensors_mut().into_iter().zip(initial) {
        t.copy_from_slice(&f32s(v));
    }
    let mut seen = 0;
    let trained = fit::train_from(&cfg, model, &train, &test, |s| {
        seen += 1;
        assert_eq!(s.epoch, seen);
    })
    .unwrap_or_else(|e| panic!("{name}: {e}"));
    (trained, c)
}

/// Largest `|got - want| / max(|want|, 0.1)`, and where.
fn worst(got: &[f32], want: &[f64]) -> (f64, usize) {
    assert_eq!(got.len(), want.len());
    got.iter().zip(want).enumerate().fold((0.0, 0), |(e, at), (i, (&g, &w))| {
        let r = (f64::from(g) - w).abs() / w.abs().max(0.1);
        if r > e || r.is_nan() {
            (r, i)
        } else {
            (e, at)
        }
    })
}

/// The error of a learning rate `got` against PyTorch's `want`, and its bound: cosine
/// rates in units of `f32::EPSILON * base`, the others in float32 ulps.
fn lr_error(schedule: Schedule, base: f32, got: f32, want: f64) -> (f64, f64) {
    assert!(got > 0.0 && want > 0.0, "rates are positive: {got}, {want}");
    match schedule {
        Schedule::Cosine => {
            ((f64::from(got) - want).abs() / (f64::from(f32::EPSILON) * f64::from(base)), COS_TOL)
        }
        _ => (f64::from(got.to_bits().abs_diff((want as f32).to_bits())), f64::from(LR_ULPS)),
    }
}

/// Runs case `name` and checks everything; returns the measured errors
/// `(lr, loss, params)`.
fn check(name: &str) -> (f64, f64, f64) {
    let (t, c) = run(name);
    let e = &c["expect"];
    assert_eq!(t.saved.means, f32s(&e["means"]), "{name}: feature means");
    assert_eq!(t.saved.stds, f32s(&e["stds"]), "{name}: feature stds");

    let want = e["history"].as_array().expect("history");
    assert_eq!(t.history.len(), want.len(), "{name}: epochs run");
    let cfg = config(c);
    let (mut lr_err, mut loss_err) = (0.0f64, 0.0f64);
    for (s, w) in t.history.iter().zip(want) {
        let epoch = s.epoch;
        let lr = w["lr"].as_f64().expect("lr");
        let (err, bound) = lr_error(cfg.schedule, cfg.optimizer.lr(), s.lr, lr);
        assert!(err <= bound, "{name}: epoch {epoch}: lr {} vs PyTorch's {lr} (error {err})", s.lr);
        lr_err = lr_err.max(err);
        let mut losses = vec![("train", s.train_loss, &w["train_loss"])];
        losses.push(("test", s.test_loss, &w["test_loss"]));
        match (s.val_loss, &w["val_loss"]) {
            (Some(v), want) if want.is_f64() => losses.push(("validation", v, want)),
            (None, Value::Null) => {}
            (got, want) => panic!("{name}: epoch {epoch}: validation loss {got:?} vs {want}"),
        }
        for (what, got, want) in losses {
            let (err, _) = worst(&[got], &[want.as_f64().expect("a loss")]);
            assert!(
                err <= LOSS_TOL,
                "{name}: epoch {epoch}: {what} loss {got} vs PyTorch's {want} (error {err:.2e})"
            );
            loss_err = loss_err.max(err);
        }
    }
    let kept = e["kept_epoch"].as_u64().expect("kept_epoch") as usize;
    assert_eq!(t.kept_epoch, kept, "{name}: kept epoch");

    let params = t.saved.model.tensors();
    let want = e["params"].as_array().expect("params");
    assert_eq!(params.len(), want.len());
    let mut param_err = 0.0f64;
    for (k, (got, want)) in params.iter().zip(want).enumerate() {
        let (err, i) = worst(got, &f64s(want));
        assert!(
            err <= PARAM_TOL,
            "{name}: kept weights, tensor {k}[{i}]: {} vs PyTorch's {} (error {err:.2e})",
            got[i],
            want[i]
        );
        param_err = param_err.max(err);
    }
    println!("{name}: lr {lr_err}, losses {loss_err:.2e}, weights {param_err:.2e}");
    (lr_err, loss_err, param_err)
}

#[test]
fn l1_is_lambda_times_the_sign_on_every_parameter() {
    check("l1_sgd");
}

#[test]
fn l2_is_sgd_weight_decay_with_momentum_under_step_lr() {
    check("l2_momentum_step");
}

#[test]
fn l2_is_adamw_decoupled_decay_under_cosine_annealing() {
    check("l2_adamw_cosine");
}

#[test]
fn clipping_is_clip_grad_norm_of_the_l2_norm() {
    check("clip_sgd");
}

#[test]
fn cosine_schedule_sets_sgd_step_sizes() {
    check("cosine_sgd");
}

#[test]
fn early_stopping_keeps_the_best_validation_epoch() {
    let (t, c) = run("early_stopping_adam");
    let e = &c["expect"];
    // The reference stops before its epoch budget and keeps an earlier epoch.
    let (kept, ran) = (t.kept_epoch, t.history.len());
    let budget = c["epochs"].as_u64().expect("epochs") as usize;
    assert!(kept < ran && ran < budget, "kept epoch {kept} of {ran} run, {budget} allowed");
    assert_eq!(kept, e["kept_epoch"].as_u64().expect("kept") as usize, "kept epoch");
    check("early_stopping_adam");
}

#[test]
fn regression_with_adam_l1_l2_clipping_and_step_lr() {
    check("regression_adam_l1_l2_clip_step");
}

/// Every case in the file has its test above (a new case in the generator needs one here).
#[test]
fn every_reference_case_is_checked() {
    let names: Vec<&str> = reference()["cases"]
        .as_array()
        .expect("cases")
        .iter()
        .map(|c| c["name"].as_str().expect("name"))
        .collect();
    assert_eq!(
        names,
        [
            "l1_sgd",
            "l2_momentum_step",
            "l2_adamw_cosine",
            "clip_sgd",
            "cosine_sgd",
            "early_stopping_adam",
            "regression_adam_l1_l2_clip_step"
        ]
    );
    assert!(reference()["torch_version"].is_string());
}

/// `Schedule::lr` for every epoch against `StepLR` / `CosineAnnealingLR(T_max = epochs,
/// eta_min = 0)` `get_last_lr()` before each epoch.
#[test]
fn schedules_match_pytorch_every_epoch() {
    let (mut ulps, mut cos) = (0.0f64, 0.0f64);
    for s in reference()["schedules"].as_array().expect("schedules") {
        let name = s["schedule"].as_str().expect("schedule");
        let (lr, epochs) = (num(&s["lr"]), s["epochs"].as_u64().expect("epochs") as usize);
        let want = f64s(&s["lrs"]);
        assert_eq!(want.len(), epochs);
        for (epoch, &w) in (1..=epochs).zip(&want) {
            let got = schedule(name).lr(lr, epoch, epochs);
            let (err, bound) = lr_error(schedule(name), lr, got, w);
            assert!(
                err <= bound,
                "{name} from {lr}, epoch {epoch} of {epochs}: {got} vs PyTorch's {w} (error {err})"
            );
            match schedule(name) {
                Schedule::Cosine => cos = cos.max(err),
                _ => ulps = ulps.max(err),
            }
        }
    }
    println!("schedules: step {ulps} ulps, cosine {cos} f32::EPSILON x base rate");
}

#[test]
fn a_model_for_other_samples_is_an_input_error() {
    // The data has 4 features; a model built for 5 cannot train on it.
    let c = case("l1_sgd");
    let cfg = config(c);
    let (train, test) = (dataset(&c["train"]), dataset(&c["test"]));
    let model = DynModel::build(&cfg.layers, &[train.n_features + 1]).expect("model");
    match fit::train_from(&cfg, model, &train, &test, |_| {}) {
        Ok(_) => panic!("trained a model on samples of another shape"),
        Err(e) => assert!(e.to_string().contains("the model takes samples of shape"), "{e}"),
    }
}

#[test]
fn the_reported_test_metric_is_accuracy_or_rmse_in_target_units() {
    // Recomputed from the trained model in f64: standardise with the stored statistics, run,
    // and take the accuracy (classes) or the RMSE after de-standardising (regression).
    for name in ["l1_sgd", "regression_adam_l1_l2_clip_step"] {
        let (trained, c) = run(name);
        let test = dataset(&c["test"]);
        let s = &trained.saved;
        let (mut hits, mut se) = (0usize, 0.0f64);
        for i in 0..test.len() {
            let x: Vec<f32> = test
                .row(i)
                .iter()
                .zip(&s.means)
                .zip(&s.stds)
                .map(|((v, m), d)| (v - m) / d)
                .collect();
            let y = s.model.forward(&x);
            match s.task {
                Task::Classification => {
                    let best = (0..y.len()).fold(0, |b, k| if y[k] > y[b] { k } else { b });
                    hits += usize::from(best as f32 == test.targets[i]);
                }
                Task::Regression => {
                    let p = f64::from(y[0] * s.target_std + s.target_mean);
                    se += (p - f64::from(test.targets[i])).powi(2);
                }
            }
        }
        let n = test.len() as f64;
        let want = match s.task {
            Task::Classification => hits as f64 / n,
            Task::Regression => (se / n).sqrt(),
        };
        let got = f64::from(trained.history.last().expect("epochs").test_metric);
        assert!(
            (got - want).abs() <= 1e-5 * want.abs().max(1.0),
            "{name}: metric {got}, recomputed {want}"
        );
    }
}

/// A two-feature classification set with the given labels.
fn labelled(labels: &[f32]) -> Dataset {
    Dataset {
        feature_names: vec!["a".into(), "b".into()],
        target_name: "label".into(),
        features: (0..labels.len() * 2).map(|i| (i % 7) as f32).collect(),
        targets: labels.to_vec(),
        n_features: 2,
        target_column: Some(2),
        path: "labels.csv".into(),
        sources: Vec::new(),
    }
}

#[test]
fn class_labels_are_checked_with_their_line_and_count() {
    // line = data row + 1 (the header), column = 1-based target column
    let bad = labelled(&[0.0, 1.0, 2.5]);
    let e = fit::class_targets(&bad).expect_err("2.5 is no class").to_string();
    assert!(e.starts_with("labels.csv:4:3: class label '2.5' in column 'label'"), "{e}");
    // at most MAX_CLASSES classes (labels 0..=99), at least two
    let labels = |top: usize| -> Vec<usize> { vec![0, top] };
    let data = labelled(&[0.0, 1.0]);
    assert_eq!(fit::class_count(&labels(fit::MAX_CLASSES - 1), &data).ok(), Some(fit::MAX_CLASSES));
    let e =
        fit::class_count(&labels(fit::MAX_CLASSES), &data).expect_err("101 classes").to_string();
    assert!(e.contains("labels up to 100: too many classes"), "{e}");
    assert_eq!(fit::class_count(&[0, 1], &data).ok(), Some(2));
    let e = fit::class_count(&[0, 0], &data).expect_err("one class").to_string();
    assert_eq!(
        e,
        "labels.csv: target column 'label' has a single class (a classifier needs at least 2)"
    );
}

#[test]
fn training_needs_train_and_test_rows() {
    let c = case("l1_sgd");
    let cfg = config(c);
    let (train, test) = (dataset(&c["train"]), dataset(&c["test"]));
    let empty = test.select(|_| false);
    for (tr, te) in [(&train, &empty), (&empty, &test)] {
        let e = fit::train(&cfg, tr, te, |_| {}).expect_err("no rows").to_string();
        assert!(e.starts_with("need at least one train and one test row"), "{e}");
    }
}

#[test]
fn the_shipped_configurations_are_the_documented_models() {
    let cnn = TrainConfig::digits_cnn(30);
    assert_eq!(cnn.layers, parse_spec(fit::DIGITS_CNN).expect("spec"));
    assert_eq!(cnn.input_shape, Some(vec![1, 8, 8]));
    assert_eq!(cnn.optimizer, DynOptimizer::Adam(AdamConfig::adam(0.003), false));
    assert_eq!(cnn.epochs, 30);
    let mlp = TrainConfig::digits_demo(30);
    assert_eq!(mlp.layers, parse_spec("dense(64),relu,dense(10)").expect("spec"));
    assert_eq!((mlp.input_shape, mlp.batch, mlp.seed), (None, 32, 1));
    assert_eq!(mlp.optimizer, DynOptimizer::Adam(AdamConfig::adam(0.01), false));
}

#[test]
fn early_stopping_needs_a_strictly_better_validation_loss() {
    // With a rate too small to move any weight, every epoch's validation loss is the same:
    // the first epoch stays the best, and training stops `patience` epochs later.
    let c = case("early_stopping_adam");
    let cfg = TrainConfig {
        optimizer: DynOptimizer::Sgd(SgdConfig::new(1e-30)),
        patience: Some(2),
        epochs: 10,
        ..config(c)
    };
    let (train, test) = (dataset(&c["train"]), dataset(&c["test"]));
    let trained = fit::train(&cfg, &train, &test, |_| {}).expect("trains");
    let losses: Vec<Option<f32>> = trained.history.iter().map(|s| s.val_loss).collect();
    assert!(losses.windows(2).all(|w| w[0] == w[1]), "validation losses {losses:?}");
    assert_eq!((trained.kept_epoch, trained.history.len()), (1, 3));
}
