//! Model export and import: a Rust module for firmware (weights as consts in flash) and
//! safetensors for PyTorch interop (`nn.Sequential` state-dict names).

use crate::dynamic::{parse_spec, DynModel, Op, SpecError};
use crate::model_io::SavedModel;
use neurite::activation::ActivationKind;
use safetensors::tensor::{Dtype, TensorView};
use safetensors::SafeTensors;
use std::collections::HashMap;
use std::fmt::Write as _;

/// `[a, b, c]` with the shortest decimals that round-trip (the consts are bit-exact).
pub(crate) fn floats(v: &[f32]) -> String {
    let mut s = String::from("[");
    for (i, x) in v.iter().enumerate() {
        if i > 0 {
            s.push_str(", ");
        }
        let _ = write!(s, "{x:?}");
    }
    s.push(']');
    s
}

/// A row-major tensor of `shape` as nested array literals, outermost axis first
/// (`[[1.0, 2.0], [3.0, 4.0]]` for shape `[2, 2]`): PyTorch's layout, as the typed layers'
/// array fields (`[[[[f32; KW]; KH]; C]; O]`) hold it.
pub(crate) fn nested(values: &[f32], shape: &[usize]) -> String {
    match shape {
        [] | [_] => floats(values),
        [first, rest @ ..] => {
            let len = (values.len() / (*first).max(1)).max(1);
            let rows: Vec<String> = values.chunks(len).map(|row| nested(row, rest)).collect();
            format!("[{}]", rows.join(", "))
        }
    }
}

/// The array type of a sample of `shape`: `[[[f32; W]; H]; C]` for `[C, H, W]`.
pub(crate) fn array_type(shape: &[usize]) -> String {
    shape.iter().rev().fold("f32".to_string(), |t, d| format!("[{t}; {d}]"))
}

/// `Seq![A, B, C]` is `(A, (B, C))`: the value of a chain, nested the same way.
pub(crate) fn chain_value(mut values: Vec<String>) -> String {
    let mut value = values.pop().unwrap_or_default();
    while let Some(v) = values.pop() {
        value = format!("({v}, {value})");
    }
    value
}

/// The typed chain (`neurite::Seq![...]` type and nested value) of a model's inference
/// layers; `None` when a layer has no typed counterpart or there are none.
pub(crate) fn chain_rust(model: &DynModel) -> Option<(String, String)> {
    let (types, values): (Vec<String>, Vec<String>) =
        model.inference_layers().map(|l| l.rust()).collect::<Option<Vec<_>>>()?.into_iter().unzip();
    if types.is_empty() {
        return None;
    }
    Some((format!("neurite::Seq![{}]", types.join(", ")), chain_value(values)))
}

/// The core's type and value for an activation over samples of `shape`: `Act<A, N>` over a
/// row `[N]`, `ActOn<A, [[[f32; W]; H]; C]>` over a shaped sample.
pub(crate) fn activation_rust(kind: ActivationKind, shape: &[usize]) -> (String, String) {
    let a = "neurite::activation";
    let (ty, value) = match kind {
        ActivationKind::Identity => ("Identity", format!("{a}::Identity")),
        ActivationKind::Step => ("Step", format!("{a}::Step")),
        ActivationKind::Sigmoid => ("Sigmoid", format!("{a}::Sigmoid")),
        ActivationKind::Tanh => ("Tanh", format!("{a}::Tanh")),
        ActivationKind::Relu => ("Relu", format!("{a}::Relu")),
        ActivationKind::LeakyRelu(s) => {
            ("LeakyRelu", format!("{a}::LeakyRelu {{ negative_slope: {s:?} }}"))
        }
        ActivationKind::Softplus(b, t) => {
            ("Softplus", format!("{a}::Softplus {{ beta: {b:?}, threshold: {t:?} }}"))
        }
        ActivationKind::Gelu => ("Gelu", format!("{a}::Gelu")),
        ActivationKind::GeluTanh => ("GeluTanh", format!("{a}::GeluTanh")),
        ActivationKind::Silu => ("Silu", format!("{a}::Silu")),
        ActivationKind::Swish(b) => ("Swish", format!("{a}::Swish {{ beta: {b:?} }}")),
        ActivationKind::Elu(x) => ("Elu", format!("{a}::Elu {{ alpha: {x:?} }}")),
        ActivationKind::Selu => ("Selu", format!("{a}::Selu")),
    };
    match shape {
        [width] => (format!("Act<{a}::{ty}, {width}>"), format!("Act::new({value})")),
        _ => (
            format!("neurite::layer::ActOn<{a}::{ty}, {}>", array_type(shape)),
            format!("neurite::layer::ActOn::new({value})"),
        ),
    }
}

/// A Rust module with the const-generic model type `Model`, its weights as the const
/// `MODEL` (firmware writes `static MODEL: Model = model::MODEL;` and they stay in flash),
/// and the standardisation statistics `INPUT_MEAN` / `INPUT_STD` (when recorded).
/// `Err` names the first layer the core has no typed counterpart for.
pub fn rust_module(saved: &SavedModel, source: &str) -> Result<String, String> {
    module(saved, source, false)
}

/// [`rust_module`] for inference only, each top-level dense layer as a
/// `neurite::layer::PackedDense` (its weights laid out for the loop: the same bits, fewer
/// instructions on a Cortex-M; `neurite export --rust FILE --packed`).
pub fn rust_module_packed(saved: &SavedModel, source: &str) -> Result<String, String> {
    module(saved, source, true)
}

/// `Dense<IN, OUT>` and its value as `PackedDense<IN, OUT, BLOCKS>` built from it.
fn packed(ty: &str, value: &str) -> Option<(String, String)> {
    let dims = ty.strip_prefix("Dense<")?.strip_suffix('>')?;
    let (_, outs) = dims.split_once(',')?;
    let blocks = outs.trim().parse::<usize>().ok()?.div_ceil(neurite::kernel::dense::PACK);
    Some((format!("PackedDense<{dims}, {blocks}>"), format!("PackedDense::from_dense(&{value})")))
}

fn module(saved: &SavedModel, source: &str, pack: bool) -> Result<String, String> {
    let mut types = Vec::new();
    let mut values = Vec::new();
    for (i, layer) in saved.model.inference_layers().enumerate() {
        let (t, v) = layer.rust().ok_or_else(|| {
            format!(
                "layer {} ({}) with input {:?} has no const-generic export yet; export --safetensors instead",
                i + 1,
                layer.kind().name,
                layer.input_shape()
            )
        })?;
        let (t, v) = if pack { packed(&t, &v).unwrap_or((t, v)) } else { (t, v) };
        types.push(t);
        values.push(v);
    }
    let value = chain_value(values);
    let n = saved.model.inputs();
    let mut out = format!(
        "//! Generated by `neurite export --rust{}` from {source}: do not edit.\n\
         //! {} parameters ({} bytes of flash as consts).\n\n\
         #[allow(unused_imports)]\n\
         use neurite::layer::{{Act, Dense, LogSoftmax, {}Prelu, Softmax}};\n\n\
         /// The model type: shapes checked by the compiler.\n\
         pub type Model = neurite::Seq![{}];\n\n\
         /// The trained weights.\n\
         #[rustfmt::skip]\n\
         pub const MODEL: Model = {value};\n",
        if pack { " --packed" } else { "" },
        saved.model.param_count(),
        saved.model.param_count() * 4,
        if pack { "PackedDense, " } else { "" },
        types.join(", "),
    );
    if !saved.means.is_empty() {
        let _ = write!(
            out,
            "\n/// Feature means of the training data: feed `(x - INPUT_MEAN) / INPUT_STD`.\n\
             pub const INPUT_MEAN: [f32; {n}] = {};\n\
             /// Feature standard deviations of the training data.\n\
             pub const INPUT_STD: [f32; {n}] = {};\n",
            floats(&saved.means),
            floats(&saved.stds)
        );
    }
    Ok(out)
}

/// Calls `f(path, op)` for every layer of `model` that a model file or state dict holds,
/// with its `nn.Sequential` path (`3`, or `2.0` inside the body of layer 2).
pub fn walk<'m>(model: &'m DynModel, prefix: &str, f: &mut dyn FnMut(String, &'m dyn Op)) {
    for (i, layer) in model.inference_layers().enumerate() {
        let path = if prefix.is_empty() { i.to_string() } else { format!("{prefix}.{i}") };
        match layer.body() {
            Some(body) => walk(body, &path, f),
            None => f(path, layer),
        }
    }
}

/// The model's tensors and buffers under `nn.Sequential` state-dict names (`0.weight`,
/// `0.bias`, `2.running_mean`, `4.0.weight` inside a residual body at index 4,
/// `1.out_proj.weight` of a self-attention layer at index 1), as `(name, shape, values)`.
pub fn state_dict(model: &DynModel) -> Vec<(String, Vec<usize>, Vec<f32>)> {
    let mut out = Vec::new();
    walk(model, "", &mut |path, op| {
        for t in op.params().into_iter().chain(op.buffers()) {
            out.push((state_dict_key(&path, t.name), t.shape.to_vec(), t.values.to_vec()));
        }
    });
    out
}

/// The state-dict key of tensor `name` of the layer at `path`: `path.name`, except where
/// PyTorch's module holds the tensor in a submodule: `nn.MultiheadAttention`'s output
/// projection is an `nn.Linear` named `out_proj` (`out_proj.weight`, `out_proj.bias`; the
/// golden format and the model file call them `out_proj_weight`, `out_proj_bias`).
pub fn state_dict_key(path: &str, name: &str) -> String {
    match name {
        "out_proj_weight" => format!("{path}.out_proj.weight"),
        "out_proj_bias" => format!("{path}.out_proj.bias"),
        _ => format!("{path}.{name}"),
    }
}

/// The model's spec string (what `--layers` takes), recorded in safetensors metadata.
pub fn spec_string(model: &DynModel) -> String {
    crate::dynamic::spec_string(&model.nodes())
}

/// `1x8x8` for a shape.
pub fn shape_string(shape: &[usize]) -> String {
    shape.iter().map(ToString::to_string).collect::<Vec<_>>().join("x")
}

/// Parses `1x8x8` (or `4`).
pub fn parse_shape(s: &str) -> Result<Vec<usize>, String> {
    let dims: Option<Vec<usize>> = s.split('x').map(|d| d.trim().parse().ok()).collect();
    match dims {
        Some(d)
            if !d.is_empty()
                && d.len() <= 4
                && d.iter().all(|&v| v > 0 && v <= crate::dynamic::attrs::MAX_SIZE) =>
        {
            Ok(d)
        }
        _ => Err(format!("'{s}' is not a shape like 1x8x8 (C x H x W), 3x32 (C x L) or 4")),
    }
}

/// Serialises the model as safetensors (little-endian f32) with metadata `neurite_layers`
/// (the spec) and `neurite_inputs` (the input shape, `4` or `1x8x8`).
pub fn to_safetensors(model: &DynModel) -> Result<Vec<u8>, String> {
    let tensors = state_dict(model);
    let bytes: Vec<(String, Vec<usize>, Vec<u8>)> = tensors
        .into_iter()
        .map(|(n, s, v)| (n, s, v.iter().flat_map(|x| x.to_le_bytes()).collect()))
        .collect();
    let views: Vec<(String, TensorView<'_>)> = bytes
        .iter()
        .map(|(n, s, b)| TensorView::new(Dtype::F32, s.clone(), b).map(|v| (n.clone(), v)))
        .collect::<Result<_, _>>()
        .map_err(|e| e.to_string())?;
    let meta = HashMap::from([
        ("neurite_layers".to_string(), spec_string(model)),
        ("neurite_inputs".to_string(), shape_string(model.input_shape())),
    ]);
    safetensors::serialize(views, &Some(meta)).map_err(|e| e.to_string())
}

/// Why a safetensors file could not be imported.
#[derive(Debug)]
pub enum ImportError {
    /// Not a valid safetensors file.
    Format(String),
    /// No layer spec given and none in the metadata.
    NoSpec,
    /// Bad layer spec.
    Spec(SpecError),
    /// A tensor is missing, has the wrong shape or dtype, or is left over.
    Tensor(String),
}

impl std::fmt::Display for ImportError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::Format(e) => write!(f, "not a safetensors file: {e}"),
            Self::NoSpec => {
                f.write_str("no layer spec: pass --layers (activations are not in a state dict)")
            }
            Self::Spec(e) => e.fmt(f),
            Self::Tensor(e) => f.write_str(e),
        }
    }
}

impl std::error::Error for ImportError {}

/// A model from a safetensors state dict of an `nn.Sequential` (nested `nn.Sequential`s
/// for residual and concat bodies). The architecture comes from `spec` or the file's
/// `neurite_layers` metadata; the input shape from `input_shape`, the `neurite_inputs`
/// metadata, or (flat inputs) the first dense weight. PyTorch's `num_batches_tracked`
/// entries are ignored. F32, F64, F16 and BF16 tensors are read (converted to f32); only
/// F32 files are tested (`tests/tests/cli.rs`), the other three are untested.
pub fn from_safetensors(
    bytes: &[u8],
    spec: Option<&str>,
    input_shape: Option<&[usize]>,
) -> Result<DynModel, ImportError> {
    let (_, meta) =
        SafeTensors::read_metadata(bytes).map_err(|e| ImportError::Format(e.to_string()))?;
    let st = SafeTensors::deserialize(bytes).map_err(|e| ImportError::Format(e.to_string()))?;
    let meta_get = |k: &str| meta.metadata().as_ref().and_then(|m| m.get(k).cloned());
    let spec = match spec {
        Some(s) => s.to_string(),
        None => meta_get("neurite_layers").ok_or(ImportError::NoSpec)?,
    };
    let nodes = parse_spec(&spec).map_err(ImportError::Spec)?;
    let shape = match (input_shape, meta_get("neurite_inputs")) {
        (Some(s), _) => s.to_vec(),
        (None, Some(m)) => parse_shape(&m).map_err(ImportError::Tensor)?,
        (None, None) => {
            let first = nodes.iter().position(|n| n.kind.name == "dense");
            match first {
                Some(i) if nodes[..i].iter().all(|n| n.body.is_empty()) => {
                    vec![read(&st, &format!("{i}.weight"))?.0.get(1).copied().unwrap_or(0)]
                }
                _ => {
                    return Err(ImportError::Tensor(
                        "the input shape is unknown: pass --input-shape".into(),
                    ))
                }
            }
        }
    };
    let mut model = DynModel::build(&nodes, &shape).map_err(ImportError::Tensor)?;
    let mut wanted: Vec<(String, Vec<usize>)> = Vec::new();
    walk(&model, "", &mut |path, op| {
        for t in op.params().into_iter().chain(op.buffers()) {
            wanted.push((state_dict_key(&path, t.name), t.shape.to_vec()));
        }
    });
    let mut loaded = Vec::with_capacity(wanted.len());
    for (key, want) in &wanted {
        let (shape, values) = read(&st, key)?;
        // the shape, not only the count: a transposed matrix has the right count
        if shape != *want || values.len() != want.iter().product::<usize>() {
            return Err(ImportError::Tensor(format!(
                "tensor '{key}' has shape {shape:?} ({} values); the spec needs {want:?}",
                values.len()
            )));
        }
        if let Some(bad) = values.iter().position(|v| !v.is_finite()) {
            return Err(ImportError::Tensor(format!("tensor '{key}' value {bad} is not finite")));
        }
        loaded.push(values);
    }
    let mut dests: Vec<&mut [f32]> = Vec::new();
    collect_mut(&mut model, &mut dests);
    for (d, v) in dests.into_iter().zip(&loaded) {
        d.copy_from_slice(v);
    }
    let extra: Vec<String> = st
        .names()
        .into_iter()
        .filter(|n| !n.ends_with("num_batches_tracked") && !wanted.iter().any(|(w, _)| w == *n))
        .cloned()
        .collect();
    if !extra.is_empty() {
        let mut names: Vec<String> = st.names().into_iter().cloned().collect();
        names.sort();
        return Err(ImportError::Tensor(format!(
            "the file has {} tensors ({}), the spec uses {}; not used: {}",
            st.len(),
            names.join(", "),
            wanted.len(),
            extra.join(", ")
        )));
    }
    Ok(model)
}

/// Every layer's parameters then buffers, in [`walk`] order, mutable.
fn collect_mut<'m>(model: &'m mut DynModel, out: &mut Vec<&'m mut [f32]>) {
    for layer in model.layers.iter_mut().filter(|l| !l.training_only()) {
        if layer.body().is_some() {
            if let Some(body) = layer.body_mut() {
                collect_mut(body, out);
            }
        } else {
            out.extend(layer.params_and_buffers_mut());
        }
    }
}

fn read(st: &SafeTensors<'_>, name: &str) -> Result<(Vec<usize>, Vec<f32>), ImportError> {
    let t =
        st.tensor(name).map_err(|_| ImportError::Tensor(format!("tensor '{name}' is missing")))?;
    let data = t.data();
    let values: Vec<f32> = match t.dtype() {
        Dtype::F32 => {
            data.chunks_exact(4).map(|b| f32::from_le_bytes([b[0], b[1], b[2], b[3]])).collect()
        }
        Dtype::F64 => data
            .chunks_exact(8)
            .map(|b| f64::from_le_bytes([b[0], b[1], b[2], b[3], b[4], b[5], b[6], b[7]]) as f32)
            .collect(),
        Dtype::BF16 => data
            .chunks_exact(2)
            .map(|b| f32::from_bits(u32::from(u16::from_le_bytes([b[0], b[1]])) << 16))
            .collect(),
        Dtype::F16 => {
            data.chunks_exact(2).map(|b| f16_to_f32(u16::from_le_bytes([b[0], b[1]]))).collect()
        }
        other => {
            return Err(ImportError::Tensor(format!(
                "tensor '{name}' has dtype {other:?}; floats only"
            )))
        }
    };
    Ok((t.shape().to_vec(), values))
}

/// IEEE half to single precision.
fn f16_to_f32(h: u16) -> f32 {
    let sign = if h & 0x8000 != 0 { -1.0 } else { 1.0 };
    let exp = i32::from((h >> 10) & 0x1f);
    let frac = f32::from(h & 0x3ff);
    match exp {
        0 => sign * frac * 2f32.powi(-24),
        31 if frac == 0.0 => sign * f32::INFINITY,
        31 => f32::NAN,
        e => sign * (1.0 + frac / 1024.0) * 2f32.powi(e - 15),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A tensor with the right number of values in another shape (a transposed matrix) is
    /// refused, naming the tensor and both shapes.
    #[test]
    fn import_checks_shapes_not_only_counts() {
        let m = DynModel::build(&parse_spec("gru(4),dense(3)").unwrap(), &[5, 2]).unwrap();
        let good = to_safetensors(&m).unwrap();
        assert!(from_safetensors(&good, None, None).is_ok());
        let tensors: Vec<(String, Vec<usize>, Vec<u8>)> = state_dict(&m)
            .into_iter()
            .map(|(n, mut s, v)| {
                if n == "0.weight_ih_l0" {
                    s.reverse(); // [12, 2] written as [2, 12]
                }
                (n, s, v.iter().flat_map(|x| x.to_le_bytes()).collect())
            })
            .collect();
        let views: Vec<(String, TensorView<'_>)> = tensors
            .iter()
            .map(|(n, s, b)| (n.clone(), TensorView::new(Dtype::F32, s.clone(), b).unwrap()))
            .collect();
        let bad = safetensors::serialize(views, &None).unwrap();
        let err = from_safetensors(&bad, Some("gru(4),dense(3)"), Some(&[5, 2])).unwrap_err();
        let text = format!("{err:?}");
        assert!(
            text.contains("'0.weight_ih_l0' has shape [2, 12]") && text.contains("[12, 2]"),
            "{text}"
        );
    }

    /// Self-attention's tensors go under `nn.MultiheadAttention`'s own state-dict keys (its
    /// output projection is a submodule), and a model exported with them imports back.
    #[test]
    fn attention_tensors_use_pytorchs_state_dict_keys() {
        let spec = "dense(16),self_attention(2),flatten,dense(10)";
        let m = DynModel::build(&parse_spec(spec).unwrap(), &[8, 8]).unwrap();
        let keys: Vec<String> = state_dict(&m).into_iter().map(|(k, _, _)| k).collect();
        let want = ["0.weight", "0.bias", "1.in_proj_weight", "1.in_proj_bias"];
        let want = want.into_iter().chain(["1.out_proj.weight", "1.out_proj.bias"]);
        assert_eq!(keys, want.chain(["3.weight", "3.bias"]).collect::<Vec<_>>());
        let back = from_safetensors(&to_safetensors(&m).unwrap(), None, None).unwrap();
        assert_eq!(state_dict(&back), state_dict(&m));
    }
}
