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
            // JSON has no infinity or NaN; any other string is not a number
            _ => Err(format!(
                "'{s}' is not a number (only \"inf\", \"-inf\" and \"nan\" may be strings)"
            )),
        },
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

/// `o[key]` as a boolean: `false` when absent or `null`, an error when not a boolean.
fn get_bool(o: &Obj, key: &str) -> Result<bool, String> {
    match o.get(key) {
        None | Some(Value::Null) => Ok(false),
        Some(Value::Bool(b)) => Ok(*b),
        Some(other) => Err(format!("'{key}' must be true or false, found {other}")),
    }
}

/// `o[key]` as a string: `default` when absent, an error when not a string.
fn get_str<'o>(o: &'o Obj, key: &str, default: &'o str) -> Result<&'o str, String> {
    match o.get(key) {
        None => Ok(default),
        Some(Value::String(s)) => Ok(s),
        Some(other) => Err(format!("'{key}' must be a string, found {other}")),
    }
}

/// Options every `torch.optim` optimiser takes that do not change the arithmetic.
const COMMON_OPTIONS: [&str; 8] =
    ["name", "lr", "weight_decay", "maximize", "foreach", "capturable", "differentiable", "fused"];

fn with(extra: &[&'static str]) -> Vec<&'static str> {
    COMMON_OPTIONS.iter().chain(extra).copied().collect()
}

fn only_keys(o: &Obj, what: &str, known: &[&str]) -> Result<(), String> {
    match o.keys().find(|k| !known.contains(&k.as_str())) {
        Some(k) => Err(format!("{what}: unknown key '{k}'")),
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
            if let Some((key, _)) = given.tensors.first() {
                return Err(format!("layer {k} ({}): unknown key '{key}'", layer.kind().name));
            }
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

/// The options each loss takes besides `name` and `reduction` (PyTorch's names).
const LOSS_OPTIONS: [(&str, &[&str]); 16] = [
    ("mse", &[]),
    ("mae", &[]),
    ("l1", &[]),
    ("huber", &["delta"]),
    ("bce", &[]),
    ("bce_with_logits", &["pos_weight"]),
    ("cross_entropy", &["weight", "label_smoothing"]),
    ("nll", &["weight"]),
    ("kl_div", &["log_target"]),
    ("dice", &["smooth"]),
    ("dice_bce_with_logits", &["smooth"]),
    ("focal", &["gamma", "alpha"]),
    ("class_balanced", &["beta", "counts"]),
    ("quantile", &["tau"]),
    ("tukey", &["c"]),
    ("barron", &["alpha", "c"]),
];

/// Builds the loss and its reduction; an unknown loss or option is an error.
pub fn build_loss(o: &Obj) -> Result<(DynLoss, Reduction), String> {
    let name = o.get("name").and_then(Value::as_str).ok_or("loss without a name")?;
    let options = LOSS_OPTIONS
        .iter()
        .find(|(n, _)| *n == name)
        .map(|(_, opts)| *opts)
        .ok_or_else(|| format!("unknown loss '{name}'"))?;
    let known: Vec<&str> = ["name", "reduction"].iter().chain(options).copied().collect();
    only_keys(o, name, &known)?;
    let reduction = match get_str(o, "reduction", "mean")? {
        "mean" => Reduction::Mean,
        "sum" => Reduction::Sum,
        "none" => Reduction::None,
        "batchmean" => Reduction::BatchMean,
        other => return Err(format!("unknown reduction '{other}'")),
    };
    let counts = || -> Result<Vec<u32>, String> {
        flat(o.get("counts").ok_or("class_balanced needs counts")?)?
            .into_iter()
            .map(|c| {
                if c >= 0.0 && c.fract() == 0.0 {
                    Ok(c as u32)
                } else {
                    Err(format!("class_balanced: count {c} is not a non-negative integer"))
                }
            })
            .collect()
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
        "kl_div" => DynLoss::KlDiv(get_bool(o, "log_target")?),
        "dice" => DynLoss::Dice(get_f(o, "smooth", 1.0)?),
        "dice_bce_with_logits" => DynLoss::DiceBceWithLogits(get_f(o, "smooth", 1.0)?),
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
    if get_bool(o, "maximize")? {
        return Err(format!("{name}: maximize=True is not supported"));
    }
    // implementation switches of torch.optim: no effect on the arithmetic, but typed
    for flag in ["foreach", "capturable", "differentiable", "fused"] {
        get_bool(o, flag)?;
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
                nesterov: get_bool(o, "nesterov")?,
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
                centered: get_bool(o, "centered")?,
            })
        }
        "adam" | "adamw" => {
            only_keys(o, name, &with(&["betas", "eps", "amsgrad"]))?;
            let adamw = name == "adamw";
            let amsgrad = get_bool(o, "amsgrad")?;
            DynOptimizer::Adam(
                AdamConfig {
                    lr: get_f(o, "lr", 1e-3)?,
                    betas: betas(o)?,
                    eps: get_f(o, "eps", 1e-8)?,
                    weight_decay: get_f(o, "weight_decay", if adamw { 0.01 } else { 0.0 })?,
                    decoupled_weight_decay: adamw,
                    amsgrad,
                },
                amsgrad,
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

/// The tolerance a case states (`|got - want| <= abs + rel * |want|`).
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Tolerance {
    /// Relative part.
    pub rel: f32,
    /// Absolute part.
    pub abs: f32,
}

impl Tolerance {
    /// The format's default, for cases that do not state one.
    pub const DEFAULT: Self = Self { rel: 1e-4, abs: 1e-5 };
}

/// How closely a case agreed with PyTorch: every compared value's error `|got - want|` with
/// `|want|` (exact matches left out).
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Agreement {
    /// `(|got - want|, |want|)` of every value that differs.
    pub errors: Vec<(f64, f64)>,
}

impl Agreement {
    /// The smallest `rel` with which `abs + rel * |want|` covers every error.
    pub fn rel_needed(&self, abs: f64) -> f64 {
        self.errors
            .iter()
            .map(|&(d, w)| if d <= abs { 0.0 } else { (d - abs) / w })
            .fold(0.0, f64::max)
    }

    /// The tightest tolerance for a committed case: over the absolute parts 0, 1e-9, 2e-9,
    /// 5e-9, 1e-8, ... 1e-5, the pair `(abs, rel_needed(abs))` with the smallest bound at
    /// `|want| = 1`, doubled and rounded up to one significant digit, and at least `1e-7`
    /// relative (this target's agreement; the core computes the same bits on every target,
    /// so only PyTorch's side, fixed in the file, differs).
    pub fn tightest(&self) -> Tolerance {
        let up = |x: f64, floor: f64| {
            let x = (2.0 * x).max(floor);
            let p = 10f64.powf(x.log10().floor());
            ((x / p).ceil() * p) as f32
        };
        let candidates = core::iter::once(0.0)
            .chain((-9..=-5).flat_map(|e| [1.0, 2.0, 5.0].map(|m| m * 10f64.powi(e))));
        let (abs, rel) = candidates
            .map(|abs| (abs, self.rel_needed(abs)))
            .min_by(|a, b| (a.0 + a.1).total_cmp(&(b.0 + b.1)))
            .unwrap_or((0.0, 0.0));
        Tolerance { rel: up(rel, 1e-7), abs: if abs == 0.0 { 0.0 } else { up(abs, 0.0) } }
    }
}

/// The outcome of one passing case.
#[derive(Clone, Debug)]
pub struct Report {
    /// Values compared.
    pub values: usize,
    /// The tolerance it was held to.
    pub tolerance: Tolerance,
    /// The agreement measured.
    pub agreement: Agreement,
}

/// Compares named values against one tolerance, counting them and measuring the agreement.
struct Compare {
    tol: Tolerance,
    values: usize,
    agreement: Agreement,
}

impl Compare {
    fn check(&mut self, what: &str, got: &[f32], want: &[f32]) -> Result<(), String> {
        if got.is_empty() {
            return Err(format!("{what}: no values"));
        }
        self.values += close(what, got, want, self.tol.rel, self.tol.abs)?;
        for (&g, &w) in got.iter().zip(want) {
            let d = f64::from((g - w).abs());
            // equal infinities or NaNs (`close` accepted them) and exact matches say nothing
            if d.is_finite() && d > 0.0 {
                self.agreement.errors.push((d, f64::from(w.abs())));
            }
        }
        Ok(())
    }
}

/// Runs the case at `path`; returns how many values were compared.
pub fn run_case(path: &Path) -> Result<usize, String> {
    run_case_report(path, None).map(|r| r.values)
}

/// Runs the case at `path` with its own tolerance, or with `tolerance` instead.
pub fn run_case_report(path: &Path, tolerance: Option<Tolerance>) -> Result<Report, String> {
    let text = std::fs::read_to_string(path).map_err(|e| format!("read: {e}"))?;
    let case: Value = serde_json::from_str(&text).map_err(|e| format!("JSON: {e}"))?;
    run_value_report(&case, tolerance)
}

/// Keys of a case: required, then optional.
const CASE_REQUIRED: [&str; 8] =
    ["name", "model", "loss", "optimizer", "x", "y", "steps", "expect"];
const CASE_OPTIONAL: [&str; 5] = ["tolerance", "input_shape", "mode", "torch_version", "comment"];
/// Keys of `expect`: every case has these (`input_grad` is `null` for token inputs) ...
const EXPECT_REQUIRED: [&str; 5] = ["output", "loss", "input_grad", "grads", "params"];
/// ... and `buffers` when the model has buffers (batch norm), else nothing or `null`.
const EXPECT_BUFFERS: &str = "buffers";

/// Runs a parsed case; returns how many values were compared.
pub fn run_value(case: &Value) -> Result<usize, String> {
    run_value_report(case, None).map(|r| r.values)
}

/// Requires `o` to have exactly the keys `required` and possibly some of `optional`.
fn keys(o: &Obj, what: &str, required: &[&str], optional: &[&str]) -> Result<(), String> {
    let known: Vec<&str> = required.iter().chain(optional).copied().collect();
    only_keys(o, what, &known)?;
    match required.iter().find(|k| !o.contains_key(**k)) {
        Some(k) => Err(format!("{what}: missing '{k}'")),
        None => Ok(()),
    }
}

/// The case's tolerance: `{"rel": .., "abs": ..}`, both required when it is given.
fn tolerance_of(top: &Obj) -> Result<Tolerance, String> {
    match top.get("tolerance") {
        None => Ok(Tolerance::DEFAULT),
        Some(Value::Object(t)) => {
            keys(t, "tolerance", &["rel", "abs"], &[])?;
            let tol = Tolerance { rel: get_f(t, "rel", 0.0)?, abs: get_f(t, "abs", 0.0)? };
            let ok = |x: f32| x.is_finite() && x >= 0.0;
            if !ok(tol.rel) || !ok(tol.abs) {
                return Err(format!("tolerance {tol:?} must be finite non-negative numbers"));
            }
            Ok(tol)
        }
        Some(other) => Err(format!("tolerance must be an object, found {other}")),
    }
}

/// The class indices of `y`, or its rows.
fn targets_of(ys: &[Value]) -> Result<Targets, String> {
    if ys.iter().all(Value::is_number) {
        let classes = ys
            .iter()
            .map(|v| {
                v.as_u64()
                    .map(|c| c as usize)
                    .ok_or_else(|| format!("y: class {v} is not a non-negative integer"))
            })
            .collect::<Result<_, _>>()?;
        Ok(Targets::Classes(classes))
    } else if ys.iter().all(Value::is_array) {
        Ok(Targets::Rows(ys.iter().map(flat).collect::<Result<_, _>>()?))
    } else {
        Err("y: either class indices or one list per sample, not a mix".into())
    }
}

/// Whether the model's input rows are token indices (no input gradient).
fn takes_tokens(model: &DynModel) -> bool {
    model.layers.first().is_some_and(|l| l.kind().name == "embedding")
}

/// Runs a parsed case with its own tolerance, or with `tolerance` instead.
pub fn run_value_report(case: &Value, tolerance: Option<Tolerance>) -> Result<Report, String> {
    let top = case.as_object().ok_or("a case must be an object")?;
    keys(top, "case", &CASE_REQUIRED, &CASE_OPTIONAL)?;
    let obj =
        |k: &str| top.get(k).and_then(Value::as_object).ok_or(format!("'{k}' must be an object"));
    let arr = |k: &str| top.get(k).and_then(Value::as_array).ok_or(format!("'{k}' must be a list"));
    top.get("name").and_then(Value::as_str).ok_or("'name' must be a string")?;
    for key in ["torch_version", "comment"] {
        get_str(top, key, "")?;
    }
    let xs: Vec<Vec<f32>> = arr("x")?.iter().map(flat).collect::<Result<_, _>>()?;
    let width = xs.first().map_or(0, Vec::len);
    if xs.is_empty() || width == 0 {
        return Err("x: no samples".into());
    }
    if let Some(i) = xs.iter().position(|x| x.len() != width) {
        return Err(format!("x: row {i} has {} values, row 0 has {width}", xs[i].len()));
    }
    let shape: Vec<usize> = match top.get("input_shape") {
        None | Some(Value::Null) => vec![width],
        Some(Value::Array(dims)) => dims
            .iter()
            .map(|d| match d.as_u64() {
                Some(n) if n >= 1 => Ok(n as usize),
                _ => Err(format!("input_shape: {d} is not a positive integer")),
            })
            .collect::<Result<_, _>>()?,
        Some(other) => return Err(format!("input_shape must be a list, found {other}")),
    };
    if shape.iter().product::<usize>() != width {
        return Err(format!(
            "input_shape {shape:?} does not hold the {width} values of a row of x"
        ));
    }
    let train_mode = match get_str(top, "mode", "train")? {
        "train" => true,
        "eval" => false,
        other => return Err(format!("unknown mode '{other}'")),
    };
    let mut model = build_model(arr("model")?, &shape)?;
    let (loss, reduction) = build_loss(obj("loss")?)?;
    let lens: Vec<usize> = model.tensors().iter().map(|t| t.len()).collect();
    let mut opt =
        build_optimizer(obj("optimizer")?)?.build(&lens).map_err(|e| format!("optimizer: {e}"))?;
    let ys = arr("y")?;
    if ys.len() != xs.len() {
        return Err(format!("y has {} entries for {} samples", ys.len(), xs.len()));
    }
    let targets = targets_of(ys)?;
    let steps = match top.get("steps").and_then(Value::as_u64) {
        Some(n) if n >= 1 => n as usize,
        _ => return Err("'steps' must be a positive integer".into()),
    };
    let expect = obj("expect")?;
    let has_buffers = !model.buffers().is_empty();
    let buffers_key: &[&str] = &[EXPECT_BUFFERS];
    if has_buffers {
        keys(expect, "expect", &[&EXPECT_REQUIRED[..], buffers_key].concat(), &[])?;
    } else {
        keys(expect, "expect", &EXPECT_REQUIRED, buffers_key)?;
        if expect.get(EXPECT_BUFFERS).is_some_and(|b| !b.is_null()) {
            return Err("expect: 'buffers' given but the model has no buffers".into());
        }
    }
    let want_losses =
        expect["loss"].as_array().ok_or("expect.loss must be a list, one entry per step")?;
    if want_losses.len() != steps {
        return Err(format!("expect.loss has {} entries for {steps} steps", want_losses.len()));
    }
    let tol = match tolerance {
        Some(t) => t,
        None => tolerance_of(top)?,
    };
    let mut cmp = Compare { tol, values: 0, agreement: Agreement::default() };

    let mut trainer = DynTrainer::new(&model);
    trainer.train_mode = train_mode;
    let outputs = model.outputs();
    let rows: Vec<&[f32]> = xs.iter().map(Vec::as_slice).collect();
    let ts: Vec<Target<'_>> = (0..xs.len()).map(|i| targets.get(i)).collect();
    for (step, want_loss) in want_losses.iter().enumerate() {
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
            cmp.check("output", &out, &flat(&expect["output"])?)?;
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
        let what = format!("loss at step {step}");
        match (reduction, want_loss) {
            (Reduction::None, Value::Array(_)) => {
                cmp.check(&what, &unreduced, &flat(want_loss)?)?;
            }
            (Reduction::None, other) => {
                return Err(format!("{what}: reduction 'none' needs a list, found {other}"))
            }
            (_, Value::Array(_)) => {
                return Err(format!("{what}: a reduced loss is one number, found a list"))
            }
            (_, want) => cmp.check(&what, &[value], &[num(want)?])?,
        }
        if step == 0 {
            match &expect["input_grad"] {
                Value::Null if takes_tokens(&model) => {}
                Value::Null => {
                    return Err(
                        "expect.input_grad is null but the model's input is not tokens".into()
                    )
                }
                want => {
                    let got: Vec<f32> = dx.unwrap_or_default().iter().map(|g| g * scale).collect();
                    cmp.check("input_grad", &got, &flat(want)?)?;
                }
            }
            compare_layers(&mut cmp, "grads", &model, &trainer.grads, &expect["grads"], false)?;
        }
        opt.step(&mut model.tensors_mut(), &trainer.grads);
    }
    let params: Vec<Vec<f32>> = model.tensors().iter().map(|t| t.to_vec()).collect();
    compare_layers(&mut cmp, "params", &model, &params, &expect["params"], false)?;
    if has_buffers {
        let buffers: Vec<Vec<f32>> = model.buffers().iter().map(|t| t.to_vec()).collect();
        compare_layers(&mut cmp, "buffers", &model, &buffers, &expect[EXPECT_BUFFERS], true)?;
    }
    if cmp.values == 0 {
        return Err("the case compares no values".into());
    }
    Ok(Report { values: cmp.values, tolerance: tol, agreement: cmp.agreement })
}

/// Compares per-tensor values against one entry per layer: `{"weight": .., "bias": ..}`,
/// `null` for a layer without tensors, a list for a composite layer's body.
fn compare_layers(
    cmp: &mut Compare,
    what: &str,
    model: &DynModel,
    tensors: &[Vec<f32>],
    want: &Value,
    buffers: bool,
) -> Result<(), String> {
    let mut t = tensors.iter();
    compare_in(cmp, what, model, &mut t, want, buffers)?;
    match t.next() {
        Some(_) => Err(format!("{what}: tensors left uncompared")),
        None => Ok(()),
    }
}

fn compare_in<'t>(
    cmp: &mut Compare,
    what: &str,
    model: &DynModel,
    t: &mut impl Iterator<Item = &'t Vec<f32>>,
    want: &Value,
    buffers: bool,
) -> Result<(), String> {
    let want = want.as_array().ok_or(format!("{what}: expected a list per layer"))?;
    if want.len() != model.layers.len() {
        return Err(format!("{what}: {} entries for {} layers", want.len(), model.layers.len()));
    }
    for (k, (layer, w)) in model.layers.iter().zip(want).enumerate() {
        if let Some(body) = layer.body() {
            compare_in(cmp, &format!("{what}[{k}]"), body, t, w, buffers)?;
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
        keys(o, &format!("{what}[{k}]"), &names, &[])?;
        for name in names {
            let got = t.next().ok_or(format!("{what}: missing tensor"))?;
            cmp.check(&format!("{what}[{k}].{name}"), got, &flat(&o[name])?)?;
        }
    }
    Ok(())
}
