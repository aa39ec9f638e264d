//! Runs one PyTorch golden parity case (format: `DESIGN.md`, "Golden parity case format")
//! through the runtime-shaped front end, which calls the core's kernels.

use crate::close;
use neurite::loss::{Reduction, Target};
use neurite::optim::{AdagradConfig, AdamConfig, RmsPropConfig, SgdConfig};
use neurite_host::dynamic::{
    lookup, Attr, Attrs, DynLoss, DynModel, DynOptimizer, DynTrainer, LayerNode, Op,
};
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

/// The shape of a nested JSON list (`[[1, 2, 3], [4, 5, 6]]` is `[2, 3]`).
fn json_shape(v: &Value) -> Vec<usize> {
    let mut shape = Vec::new();
    let mut cur = v;
    while let Value::Array(a) = cur {
        shape.push(a.len());
        match a.first() {
            Some(first) => cur = first,
            None => break,
        }
    }
    shape
}

/// A JSON option value as an [`Attr`].
fn attr_of(key: &str, v: &Value) -> Result<Attr, String> {
    Ok(match v {
        Value::Null => Attr::Bool(false),
        Value::Bool(b) => Attr::Bool(*b),
        Value::String(s) => Attr::Str(s.clone()),
        Value::Number(_) | Value::Array(_) => Attr::Nums(flat(v)?),
        Value::Object(_) => return Err(format!("option '{key}' cannot be an object")),
    })
}

/// The tensors one layer object gives (`name -> values`), and those of its body's layers.
#[derive(Default)]
struct Given {
    tensors: Vec<(String, Value)>,
    body: Vec<Self>,
}

fn layer_node(o: &Obj) -> Result<(LayerNode, Given), String> {
    let name = o.get("layer").and_then(Value::as_str).ok_or("layer without a name")?;
    let kind = lookup(name).ok_or_else(|| format!("unknown layer '{name}'"))?;
    let mut attrs = Attrs::new();
    let mut given = Given::default();
    let mut body = Vec::new();
    for (key, value) in o {
        match key.as_str() {
            "layer" => {}
            "body" if kind.composite => {
                for item in value.as_array().ok_or("body must be a list of layers")? {
                    let (node, g) =
                        layer_node(item.as_object().ok_or("a layer must be an object")?)?;
                    body.push(node);
                    given.body.push(g);
                }
            }
            // A tensor: not an option, or `bias` given as values (its option form is false/null).
            k if value.is_array() && (!kind.options.contains(&k) || k == "bias") => {
                given.tensors.push((key.clone(), value.clone()));
            }
            // The golden format's `in`/`out` of dense are its sizes.
            k if kind.options.contains(&k) => {
                attrs.set(k, attr_of(k, value)?);
            }
            k => return Err(format!("{name}: unknown key '{k}'")),
        }
    }
    let shapes = |n: &str| given.tensors.iter().find(|(k, _)| k == n).map(|(_, v)| json_shape(v));
    (kind.infer)(&mut attrs, &shapes);
    Ok((LayerNode { kind, attrs, body }, given))
}

/// The golden format's name for a tensor (PReLU's `weight` is `alpha` there).
fn golden_name(op: &dyn Op, name: &'static str) -> &'static str {
    match (op.kind().name, name) {
        ("prelu", "weight") => "alpha",
        _ => name,
    }
}

/// Loads the given tensors into `model` (nested bodies included); every given tensor must be
/// used and every parameter given.
fn load_given(model: &mut DynModel, given: &[Given]) -> Result<(), String> {
    for (k, (layer, given)) in model.layers.iter_mut().zip(given).enumerate() {
        if let Some(body) = layer.body_mut() {
            load_given(body, &given.body)?;
            continue;
        }
        let g = &given.tensors;
        let names: Vec<&'static str> = layer
            .params()
            .iter()
            .chain(&layer.buffers())
            .map(|t| golden_name(layer.as_ref(), t.name))
            .collect();
        let n_params = layer.params().len();
        for (key, _) in g {
            if !names.contains(&key.as_str()) {
                return Err(format!("layer {k} ({}): unknown tensor '{key}'", layer.kind().name));
            }
        }
        let kind = layer.kind().name;
        for (i, dest) in layer.params_and_buffers_mut().into_iter().enumerate() {
            match g.iter().find(|(key, _)| key == names[i]) {
                Some((key, v)) => {
                    let values = flat(v)?;
                    if values.len() != dest.len() {
                        return Err(format!(
                            "layer {k} ({kind}): '{key}' has {} values, the layer needs {}",
                            values.len(),
                            dest.len()
                        ));
                    }
                    dest.copy_from_slice(&values);
                }
                None if i < n_params => {
                    return Err(format!("layer {k} ({kind}): missing '{}'", names[i]))
                }
                None => {}
            }
        }
    }
    Ok(())
}

/// Builds the model for samples of `shape`.
pub fn build_model(spec: &[Value], shape: &[usize]) -> Result<DynModel, String> {
    let mut nodes = Vec::new();
    let mut given = Vec::new();
    for s in spec {
        let (node, g) = layer_node(s.as_object().ok_or("a layer must be an object")?)?;
        nodes.push(node);
        given.push(g);
    }
    let mut model = DynModel::build(&nodes, shape).map_err(|e| format!("model: {e}"))?;
    load_given(&mut model, &given)?;
    for t in model.tensors().into_iter().chain(model.buffers()) {
        neurite::error::check_finite(t).map_err(|e| format!("model: {e}"))?;
    }
    Ok(model)
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

const CASE_KEYS: [&str; 13] = [
    "name",
    "model",
    "loss",
    "optimizer",
    "x",
    "y",
    "steps",
    "expect",
    "tolerance",
    "input_shape",
    "mode",
    "torch_version",
    "comment",
];
const EXPECT_KEYS: [&str; 6] = ["output", "loss", "input_grad", "grads", "params", "buffers"];

/// Runs a parsed case.
pub fn run_value(case: &Value) -> Result<usize, String> {
    let top = case.as_object().ok_or("a case must be an object")?;
    only_keys(top, "case", &CASE_KEYS)?;
    let obj = |k: &str| case.get(k).and_then(Value::as_object).ok_or(format!("missing '{k}'"));
    let xs: Vec<Vec<f32>> = case
        .get("x")
        .and_then(Value::as_array)
        .ok_or("missing 'x'")?
        .iter()
        .map(flat)
        .collect::<Result<_, _>>()?;
    let width = xs.first().map_or(0, Vec::len);
    let shape: Vec<usize> = match case.get("input_shape") {
        None | Some(Value::Null) => vec![width],
        Some(v) => flat(v)?.iter().map(|&d| d as usize).collect(),
    };
    if shape.iter().product::<usize>() != width {
        return Err(format!(
            "input_shape {shape:?} does not hold the {width} values of a row of x"
        ));
    }
    let train_mode = match case.get("mode").and_then(Value::as_str).unwrap_or("train") {
        "train" => true,
        "eval" => false,
        other => return Err(format!("unknown mode '{other}'")),
    };
    let layers = case.get("model").and_then(Value::as_array).ok_or("missing 'model'")?;
    let mut model = build_model(layers, &shape)?;
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
    only_keys(expect, "expect", &EXPECT_KEYS)?;
    let tol = case.get("tolerance").and_then(Value::as_object);
    let rel = tol.map_or(Ok(1e-4), |t| get_f(t, "rel", 1e-4))?;
    let abs = tol.map_or(Ok(1e-5), |t| get_f(t, "abs", 1e-5))?;
    let mut checks = 0;

    let want_losses = expect.get("loss").and_then(Value::as_array);
    let mut trainer = DynTrainer::new(&model);
    trainer.train_mode = train_mode;
    let outputs = model.outputs();
    let rows: Vec<&[f32]> = xs.iter().map(Vec::as_slice).collect();
    let ts: Vec<Target<'_>> = (0..xs.len()).map(|i| targets.get(i)).collect();
    for step in 0..steps {
        trainer.begin();
        let dx = loss
            .with(|l| {
                trainer
                    .accumulate_batch(&mut model, l, &rows, &ts, step == 0)
                    .map(|(_, d)| d.map(<[f32]>::to_vec))
            })
            .map_err(|e| format!("step {step}: {e}"))?;
        let out = trainer.output().to_vec();
        if step == 0 {
            if let Some(want) = expect.get("output") {
                checks += close("output", &out, &flat(want)?, rel, abs)?;
            }
        }
        let mut unreduced = Vec::new();
        if reduction == Reduction::None {
            for (i, o) in out.chunks(outputs).enumerate() {
                let mut g = vec![0.0; o.len()];
                loss.with(|l| {
                    let mut e = vec![0.0; if l.per_element() { o.len() } else { 1 }];
                    l.eval(o, targets.get(i), &mut g, Some(&mut e));
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
            match expect.get("input_grad") {
                None | Some(Value::Null) => {}
                Some(want) => {
                    let got: Vec<f32> = dx.unwrap_or_default().iter().map(|g| g * scale).collect();
                    checks += close("input_grad", &got, &flat(want)?, rel, abs)?;
                }
            }
            if let Some(want) = expect.get("grads") {
                checks += compare_layers("grads", &model, &trainer.grads, want, rel, abs, false)?;
            }
        }
        opt.step(&mut model.tensors_mut(), &trainer.grads);
    }
    if let Some(want) = expect.get("params") {
        let params: Vec<Vec<f32>> = model.tensors().iter().map(|t| t.to_vec()).collect();
        checks += compare_layers("params", &model, &params, want, rel, abs, false)?;
    }
    if let Some(want) = expect.get("buffers") {
        let buffers: Vec<Vec<f32>> = model.buffers().iter().map(|t| t.to_vec()).collect();
        checks += compare_layers("buffers", &model, &buffers, want, rel, abs, true)?;
    }
    if checks == 0 {
        return Err("the case compares no values".into());
    }
    Ok(checks)
}

/// Compares per-tensor values against one entry per layer: `{"weight": .., "bias": ..}`,
/// `null` for a layer without tensors, a list for a composite layer's body.
fn compare_layers(
    what: &str,
    model: &DynModel,
    tensors: &[Vec<f32>],
    want: &Value,
    rel: f32,
    abs: f32,
    buffers: bool,
) -> Result<usize, String> {
    let mut t = tensors.iter();
    compare_in(what, model, &mut t, want, rel, abs, buffers)
}

#[allow(clippy::too_many_arguments)]
fn compare_in<'t>(
    what: &str,
    model: &DynModel,
    t: &mut impl Iterator<Item = &'t Vec<f32>>,
    want: &Value,
    rel: f32,
    abs: f32,
    buffers: bool,
) -> Result<usize, String> {
    let want = want.as_array().ok_or(format!("{what}: expected a list per layer"))?;
    if want.len() != model.layers.len() {
        return Err(format!("{what}: {} entries for {} layers", want.len(), model.layers.len()));
    }
    let mut checks = 0;
    for (k, (layer, w)) in model.layers.iter().zip(want).enumerate() {
        if let Some(body) = layer.body() {
            checks += compare_in(&format!("{what}[{k}]"), body, t, w, rel, abs, buffers)?;
            continue;
        }
        let tensors = if buffers { layer.buffers() } else { layer.params() };
        let names: Vec<&str> =
            tensors.iter().map(|x| golden_name(layer.as_ref(), x.name)).collect();
        if names.is_empty() {
            if !w.is_null() {
                return Err(format!("{what}: layer {k} has no tensors here, expected null"));
            }
            continue;
        }
        let o = w.as_object().ok_or(format!("{what}: layer {k} needs an object"))?;
        only_keys(o, &format!("{what}[{k}]"), &names)?;
        for name in names {
            let got = t.next().ok_or(format!("{what}: missing tensor"))?;
            let Some(wv) = o.get(name) else {
                return Err(format!("{what}: layer {k} has no '{name}'"));
            };
            checks += close(&format!("{what}[{k}].{name}"), got, &flat(wv)?, rel, abs)?;
        }
    }
    Ok(checks)
}
