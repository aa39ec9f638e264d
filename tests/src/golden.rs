//! Runs one PyTorch golden parity case (format: `DESIGN.md`, "Golden parity case format")
//! through the runtime-shaped front end, which calls the core's kernels.

use crate::close;
use neurite::activation::ActivationKind;
use neurite::loss::{Reduction, Target};
use neurite::optim::{AdagradConfig, AdamConfig, RmsPropConfig, SgdConfig};
use neurite_host::dynamic::{DynLayer, DynLoss, DynModel, DynOptimizer, DynTrainer};
use serde_json::{Map, Value};
use std::path::Path;

type Obj = Map<String, Value>;

fn num(v: &Value) -> Result<f32, String> {
    match v {
        Value::Number(n) => n.as_f64().map(|f| f as f32).ok_or_else(|| format!("bad number {n}")),
        Value::String(s) => match s.as_str() {
            "-inf" | "-Infinity" => Ok(f32::NEG_INFINITY),
            "inf" | "Infinity" => Ok(f32::INFINITY),
            "nan" | "NaN" => Ok(f32::NAN),
            _ => s.parse().map_err(|_| format!("'{s}' is not a number")),
        },
        Value::Bool(b) => Ok(f32::from(u8::from(*b))),
        other => Err(format!("expected a number, found {other}")),
    }
}

/// All numbers of a (nested) array, flattened in order; a bare number is one value.
pub fn flat(v: &Value) -> Result<Vec<f32>, String> {
    let mut out = Vec::new();
    fn go(v: &Value, out: &mut Vec<f32>) -> Result<(), String> {
        match v {
            Value::Array(a) => a.iter().try_for_each(|x| go(x, out)),
            other => {
                out.push(num(other)?);
                Ok(())
            }
        }
    }
    go(v, &mut out)?;
    Ok(out)
}

fn get_f(o: &Obj, key: &str, default: f32) -> Result<f32, String> {
    o.get(key).map_or(Ok(default), num)
}

fn get_bool(o: &Obj, key: &str) -> bool {
    o.get(key).and_then(Value::as_bool).unwrap_or(false)
}

/// Options every `torch.optim` optimiser takes that do not change the arithmetic.
const COMMON_OPTIONS: [&str; 8] =
    ["name", "lr", "weight_decay", "maximize", "foreach", "capturable", "differentiable", "fused"];

fn with(extra: &[&'static str]) -> Vec<&'static str> {
    COMMON_OPTIONS.iter().chain(extra).copied().collect()
}

fn only_keys(o: &Obj, what: &str, known: &[&str]) -> Result<(), String> {
    match o.keys().find(|k| !known.contains(&k.as_str())) {
        Some(k) => Err(format!("{what}: unsupported option '{k}'")),
        None => Ok(()),
    }
}

fn opt_vec(o: &Obj, key: &str) -> Result<Option<Vec<f32>>, String> {
    match o.get(key) {
        None | Some(Value::Null) => Ok(None),
        Some(v) => flat(v).map(Some),
    }
}

/// Builds the model; `width` is the input width (from `x`).
pub fn build_model(spec: &[Value], mut width: usize) -> Result<DynModel, String> {
    let mut layers = Vec::new();
    for s in spec {
        let o = s.as_object().ok_or("a layer must be an object")?;
        let name = o.get("layer").and_then(Value::as_str).ok_or("layer without a name")?;
        let act = |kind| DynLayer::Activation { kind, width };
        let layer = match name {
            "dense" | "linear" => {
                let w = o.get("weight").ok_or("dense without weight")?;
                let outputs = w.as_array().map_or(0, Vec::len);
                let weight = flat(w)?;
                let inputs = weight.len().checked_div(outputs).unwrap_or(0);
                let bias = opt_vec(o, "bias")?.unwrap_or_else(|| vec![0.0; outputs]);
                DynLayer::Dense { inputs, outputs, weight, bias }
            }
            "identity" => act(ActivationKind::Identity),
            "step" => act(ActivationKind::Step),
            "relu" => act(ActivationKind::Relu),
            "sigmoid" => act(ActivationKind::Sigmoid),
            "tanh" => act(ActivationKind::Tanh),
            "selu" => act(ActivationKind::Selu),
            "silu" => act(ActivationKind::Silu),
            "leaky_relu" => act(ActivationKind::LeakyRelu(get_f(o, "negative_slope", 0.01)?)),
            "elu" => act(ActivationKind::Elu(get_f(o, "alpha", 1.0)?)),
            "swish" => act(ActivationKind::Swish(get_f(o, "beta", 1.0)?)),
            "softplus" => {
                act(ActivationKind::Softplus(get_f(o, "beta", 1.0)?, get_f(o, "threshold", 20.0)?))
            }
            "gelu" => match o.get("approximate").and_then(Value::as_str).unwrap_or("none") {
                "none" => act(ActivationKind::Gelu),
                "tanh" => act(ActivationKind::GeluTanh),
                other => return Err(format!("gelu: unknown approximate '{other}'")),
            },
            "prelu" => {
                let alpha = opt_vec(o, "alpha")?.unwrap_or_else(|| vec![0.25]);
                DynLayer::Prelu { width, alpha }
            }
            "softmax" => DynLayer::Softmax { width },
            "log_softmax" => DynLayer::LogSoftmax { width },
            other => return Err(format!("unknown layer '{other}'")),
        };
        width = layer.outputs();
        layers.push(layer);
    }
    DynModel::new(layers).map_err(|e| format!("model: {e}"))
}

/// Builds the loss and its reduction.
pub fn build_loss(o: &Obj) -> Result<(DynLoss, Reduction), String> {
    let name = o.get("name").and_then(Value::as_str).ok_or("loss without a name")?;
    let reduction = match o.get("reduction").and_then(Value::as_str).unwrap_or("mean") {
        "mean" => Reduction::Mean,
        "sum" => Reduction::Sum,
        "none" => Reduction::None,
        "batchmean" => Reduction::BatchMean,
        other => return Err(format!("unknown reduction '{other}'")),
    };
    let counts = || -> Result<Vec<u32>, String> {
        Ok(flat(o.get("counts").ok_or("class_balanced needs counts")?)?
            .into_iter()
            .map(|c| c as u32)
            .collect())
    };
    let loss = match name {
        "mse" => DynLoss::Mse,
        "mae" | "l1" => DynLoss::Mae,
        "huber" => DynLoss::Huber(get_f(o, "delta", 1.0)?),
        "bce" => DynLoss::Bce,
        "bce_with_logits" => DynLoss::BceWithLogits(opt_vec(o, "pos_weight")?),
        "cross_entropy" => {
            DynLoss::CrossEntropy(opt_vec(o, "weight")?, get_f(o, "label_smoothing", 0.0)?)
        }
        "nll" => DynLoss::Nll(opt_vec(o, "weight")?),
        "kl_div" => DynLoss::KlDiv(get_bool(o, "log_target")),
        "dice" => DynLoss::Dice(get_f(o, "smooth", 1.0)?),
        "focal" => DynLoss::Focal(get_f(o, "gamma", 2.0)?, get_f(o, "alpha", 0.25)?),
        "class_balanced" => DynLoss::class_balanced(get_f(o, "beta", 0.999)?, &counts()?)
            .map_err(|e| format!("class_balanced: {e}"))?,
        "quantile" => DynLoss::Quantile(get_f(o, "tau", 0.5)?),
        "tukey" => DynLoss::Tukey(get_f(o, "c", 4.685)?),
        "barron" => DynLoss::Barron(get_f(o, "alpha", 1.0)?, get_f(o, "c", 1.0)?),
        other => return Err(format!("unknown loss '{other}'")),
    };
    Ok((loss, reduction))
}

/// Builds the optimiser from `torch.optim` names and defaults.
pub fn build_optimizer(o: &Obj) -> Result<DynOptimizer, String> {
    let name = o.get("name").and_then(Value::as_str).ok_or("optimizer without a name")?;
    if get_bool(o, "maximize") {
        return Err(format!("{name}: maximize=True is not supported"));
    }
    let betas = |o: &Obj| -> Result<(f32, f32), String> {
        match o.get("betas") {
            None => Ok((0.9, 0.999)),
            Some(v) => match flat(v)?.as_slice() {
                [a, b] => Ok((*a, *b)),
                _ => Err("betas must be two numbers".into()),
            },
        }
    };
    Ok(match name {
        "sgd" => {
            only_keys(o, "sgd", &with(&["momentum", "dampening", "nesterov"]))?;
            DynOptimizer::Sgd(SgdConfig {
                lr: get_f(o, "lr", 1e-3)?,
                momentum: get_f(o, "momentum", 0.0)?,
                dampening: get_f(o, "dampening", 0.0)?,
                nesterov: get_bool(o, "nesterov"),
                weight_decay: get_f(o, "weight_decay", 0.0)?,
            })
        }
        "adagrad" => {
            only_keys(o, "adagrad", &with(&["lr_decay", "initial_accumulator_value", "eps"]))?;
            DynOptimizer::Adagrad(AdagradConfig {
                lr: get_f(o, "lr", 0.01)?,
                lr_decay: get_f(o, "lr_decay", 0.0)?,
                weight_decay: get_f(o, "weight_decay", 0.0)?,
                initial_accumulator_value: get_f(o, "initial_accumulator_value", 0.0)?,
                eps: get_f(o, "eps", 1e-10)?,
            })
        }
        "rmsprop" => {
            only_keys(o, "rmsprop", &with(&["alpha", "eps", "momentum", "centered"]))?;
            DynOptimizer::RmsProp(RmsPropConfig {
                lr: get_f(o, "lr", 0.01)?,
                alpha: get_f(o, "alpha", 0.99)?,
                eps: get_f(o, "eps", 1e-8)?,
                weight_decay: get_f(o, "weight_decay", 0.0)?,
                momentum: get_f(o, "momentum", 0.0)?,
                centered: get_bool(o, "centered"),
            })
        }
        "adam" | "adamw" => {
            only_keys(o, name, &with(&["betas", "eps", "amsgrad"]))?;
            let adamw = name == "adamw";
            DynOptimizer::Adam(
                AdamConfig {
                    lr: get_f(o, "lr", 1e-3)?,
                    betas: betas(o)?,
                    eps: get_f(o, "eps", 1e-8)?,
                    weight_decay: get_f(o, "weight_decay", if adamw { 0.01 } else { 0.0 })?,
                    decoupled_weight_decay: adamw,
                },
                get_bool(o, "amsgrad"),
            )
        }
        other => return Err(format!("unknown optimizer '{other}'")),
    })
}

/// Owned targets of a case.
enum Targets {
    Classes(Vec<usize>),
    Rows(Vec<Vec<f32>>),
}

impl Targets {
    fn get(&self, i: usize) -> Target<'_> {
        match self {
            Self::Classes(c) => Target::Class(c[i]),
            Self::Rows(r) => Target::Values(&r[i]),
        }
    }
}

/// Runs the case at `path`; returns how many values were compared.
pub fn run_case(path: &Path) -> Result<usize, String> {
    let text = std::fs::read_to_string(path).map_err(|e| format!("read: {e}"))?;
    let case: Value = serde_json::from_str(&text).map_err(|e| format!("JSON: {e}"))?;
    run_value(&case)
}

/// Runs a parsed case.
pub fn run_value(case: &Value) -> Result<usize, String> {
    let obj = |k: &str| case.get(k).and_then(Value::as_object).ok_or(format!("missing '{k}'"));
    let xs: Vec<Vec<f32>> = case
        .get("x")
        .and_then(Value::as_array)
        .ok_or("missing 'x'")?
        .iter()
        .map(flat)
        .collect::<Result<_, _>>()?;
    let width = xs.first().map_or(0, Vec::len);
    let layers = case.get("model").and_then(Value::as_array).ok_or("missing 'model'")?;
    let mut model = build_model(layers, width)?;
    let (loss, reduction) = build_loss(obj("loss")?)?;
    let lens: Vec<usize> = model.tensors().iter().map(|t| t.len()).collect();
    let mut opt =
        build_optimizer(obj("optimizer")?)?.build(&lens).map_err(|e| format!("optimizer: {e}"))?;
    let ys = case.get("y").and_then(Value::as_array).ok_or("missing 'y'")?;
    let targets = if ys.iter().all(Value::is_number) {
        Targets::Classes(ys.iter().map(|v| v.as_u64().unwrap_or(u64::MAX) as usize).collect())
    } else {
        Targets::Rows(ys.iter().map(flat).collect::<Result<_, _>>()?)
    };
    let steps = case.get("steps").and_then(Value::as_u64).unwrap_or(1) as usize;
    let expect = obj("expect")?;
    let tol = case.get("tolerance").and_then(Value::as_object);
    let rel = tol.map_or(Ok(1e-4), |t| get_f(t, "rel", 1e-4))?;
    let abs = tol.map_or(Ok(1e-5), |t| get_f(t, "abs", 1e-5))?;
    let mut checks = 0;

    if let Some(want) = expect.get("output") {
        let got: Vec<f32> = xs.iter().flat_map(|x| model.forward(x)).collect();
        checks += close("output", &got, &flat(want)?, rel, abs)?;
    }
    let want_losses = expect.get("loss").and_then(Value::as_array);
    let mut trainer = DynTrainer::new(&model);
    let outputs = model.outputs();
    for step in 0..steps {
        trainer.begin();
        let mut input_grad = Vec::new();
        let mut unreduced = Vec::new();
        for (i, x) in xs.iter().enumerate() {
            let (_, dx) = loss
                .with(|l| trainer.accumulate(&model, l, x, targets.get(i), step == 0))
                .map_err(|e| format!("sample {i}: {e}"))?;
            input_grad.extend(dx.unwrap_or_default());
            if reduction == Reduction::None {
                let out = model.forward(x);
                let mut g = vec![0.0; out.len()];
                loss.with(|l| {
                    let mut e = vec![0.0; if l.per_element() { out.len() } else { 1 }];
                    l.eval(&out, targets.get(i), &mut g, Some(&mut e));
                    unreduced.extend(e);
                });
            }
        }
        let (value, scale) = loss
            .with(|l| trainer.finish(l, reduction, outputs))
            .map_err(|e| format!("finish: {e}"))?;
        if let Some(want) = want_losses.and_then(|w| w.get(step)) {
            let got = if reduction == Reduction::None { unreduced } else { vec![value] };
            checks += close(&format!("loss at step {step}"), &got, &flat(want)?, rel, abs)?;
        }
        if step == 0 {
            if let Some(want) = expect.get("input_grad") {
                let got: Vec<f32> = input_grad.iter().map(|g| g * scale).collect();
                checks += close("input_grad", &got, &flat(want)?, rel, abs)?;
            }
            if let Some(want) = expect.get("grads") {
                checks += compare_layers("grads", &model, &trainer.grads, want, rel, abs)?;
            }
        }
        opt.step(&mut model.tensors_mut(), &trainer.grads);
    }
    if let Some(want) = expect.get("params") {
        let params: Vec<Vec<f32>> = model.tensors().iter().map(|t| t.to_vec()).collect();
        checks += compare_layers("params", &model, &params, want, rel, abs)?;
    }
    Ok(checks)
}

/// Compares per-tensor values against `[{"weight": .., "bias": ..}, null, {"alpha": ..}]`.
fn compare_layers(
    what: &str,
    model: &DynModel,
    tensors: &[Vec<f32>],
    want: &Value,
    rel: f32,
    abs: f32,
) -> Result<usize, String> {
    let want = want.as_array().ok_or(format!("{what}: expected a list per layer"))?;
    if want.len() != model.layers.len() {
        return Err(format!("{what}: {} entries for {} layers", want.len(), model.layers.len()));
    }
    let mut t = tensors.iter();
    let mut checks = 0;
    for (k, (layer, w)) in model.layers.iter().zip(want).enumerate() {
        let names: &[&str] = match layer {
            DynLayer::Dense { .. } => &["weight", "bias"],
            DynLayer::Prelu { .. } => &["alpha"],
            _ => &[],
        };
        for name in names {
            let got = t.next().ok_or(format!("{what}: missing tensor"))?;
            let Some(wv) = w.get(name) else {
                return Err(format!("{what}: layer {k} has no '{name}'"));
            };
            checks += close(&format!("{what}[{k}].{name}"), got, &flat(wv)?, rel, abs)?;
        }
        if names.is_empty() && !w.is_null() {
            return Err(format!("{what}: layer {k} has no parameters, expected null"));
        }
    }
    Ok(checks)
}
