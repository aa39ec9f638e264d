//! The layer registry: one entry per layer name. Everything that names or rebuilds a layer
//! (the spec string, the golden runner, the model file, the safetensors and Rust exports,
//! `--help`) goes through this table, so adding a layer means: its kernel in the core, its
//! layer file in `layers/`, and one line in [`REGISTRY`].

use super::attrs::{Attr, Attrs};
use super::layers;
use super::op::Op;

/// A layer before its input shape is known: name, options and (for composite layers) body.
#[derive(Clone, Debug, PartialEq)]
pub struct LayerNode {
    /// The registry entry.
    pub kind: &'static LayerKind,
    /// Its options.
    pub attrs: Attrs,
    /// The nested layers of `residual` and `concat`; empty otherwise.
    pub body: Vec<Self>,
}

/// Builds a layer (parameters zero) for one input sample of the given shape.
pub type BuildFn = fn(&LayerNode, &[usize]) -> Result<Box<dyn Op>, String>;
/// Fills options implied by given tensors' shapes (`tensor(name)` is a tensor's shape).
pub type InferFn = fn(&mut Attrs, &dyn Fn(&str) -> Option<Vec<usize>>);

/// One registry entry.
pub struct LayerKind {
    /// The name in specs, golden cases and model files (PyTorch's, snake case).
    pub name: &'static str,
    /// Options given by position in a spec string, in order (`conv2d(8, 3)`).
    pub positional: &'static [&'static str],
    /// Every option the layer accepts (a subset of PyTorch's constructor arguments, with
    /// PyTorch's names).
    pub options: &'static [&'static str],
    /// One line for `--help` and error messages.
    pub help: &'static str,
    /// Builds the layer (parameters zero) for one input sample of `shape`.
    pub build: BuildFn,
    /// Fills options that a golden case or state dict implies only through a tensor's shape
    /// (PReLU's `num_parameters` from the length of its slopes): `tensor(name)` gives the
    /// shape of a given tensor.
    pub infer: InferFn,
    /// Whether the layer has a `body` (residual, concat).
    pub composite: bool,
}

impl std::fmt::Debug for LayerKind {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.name)
    }
}

impl PartialEq for LayerKind {
    fn eq(&self, other: &Self) -> bool {
        self.name == other.name
    }
}

/// No options implied by tensors.
pub fn infer_nothing(_: &mut Attrs, _: &dyn Fn(&str) -> Option<Vec<usize>>) {}

/// Every layer the runtime-shaped front end knows.
pub static REGISTRY: &[&LayerKind] = &[
    &layers::dense::DENSE,
    &layers::activation::IDENTITY,
    &layers::activation::STEP,
    &layers::activation::SIGMOID,
    &layers::activation::TANH,
    &layers::activation::RELU,
    &layers::activation::LEAKY_RELU,
    &layers::activation::SOFTPLUS,
    &layers::activation::GELU,
    &layers::activation::SILU,
    &layers::activation::SWISH,
    &layers::activation::ELU,
    &layers::activation::SELU,
    &layers::prelu::PRELU,
    &layers::softmax::SOFTMAX,
    &layers::softmax::LOG_SOFTMAX,
    &layers::dropout::DROPOUT,
    &layers::conv::CONV1D,
    &layers::conv::CONV2D,
    &layers::conv_transpose::CONV_TRANSPOSE2D,
    &layers::pool::MAXPOOL1D,
    &layers::pool::MAXPOOL2D,
    &layers::pool::AVGPOOL1D,
    &layers::pool::AVGPOOL2D,
    &layers::pool::GLOBAL_AVG_POOL,
    &layers::flatten::FLATTEN,
    &layers::batchnorm::BATCHNORM1D,
    &layers::batchnorm::BATCHNORM2D,
    &layers::layernorm::LAYERNORM,
    &layers::embedding::EMBEDDING,
    &layers::attention::SELF_ATTENTION,
    &layers::attention::POSITIONAL_EMBEDDING,
    &layers::recurrent::RNN,
    &layers::recurrent::GRU,
    &layers::recurrent::LSTM,
    &layers::gcn_conv::GCN_CONV,
    &layers::gcn_conv::GRAPH_MEAN_POOL,
    &layers::skip::RESIDUAL,
    &layers::skip::CONCAT,
];

/// Other names accepted for a layer (`linear` is PyTorch's name for `dense`).
const ALIASES: &[(&str, &str)] = &[("linear", "dense")];

/// The entry named `name` (or an alias).
pub fn lookup(name: &str) -> Option<&'static LayerKind> {
    let name = ALIASES.iter().find(|(a, _)| *a == name).map_or(name, |(_, n)| n);
    REGISTRY.iter().copied().find(|k| k.name == name)
}

/// Every layer's help line, for error messages.
pub fn known_layers() -> String {
    let names: Vec<&str> = REGISTRY.iter().map(|k| k.help).collect();
    names.join(", ")
}

impl LayerNode {
    /// A node without body.
    pub fn new(kind: &'static LayerKind, attrs: Attrs) -> Self {
        Self { kind, attrs, body: Vec::new() }
    }

    /// The spec string of this node: positional options first while they are present, the
    /// rest as `key=value`: `conv2d(8,3,padding=1)`, `residual(dense(4),relu)`.
    pub fn spec(&self) -> String {
        let mut args: Vec<String> = Vec::new();
        let mut positional = true;
        let mut used = Vec::new();
        for &p in self.kind.positional {
            match self.attrs.get(p) {
                Some(v) if positional => {
                    args.push(v.to_string());
                    used.push(p);
                }
                _ => positional = false,
            }
        }
        for (k, v) in &self.attrs.0 {
            if !used.contains(&k.as_str()) {
                args.push(format!("{k}={v}"));
            }
        }
        args.extend(self.body.iter().map(Self::spec));
        if args.is_empty() {
            self.kind.name.to_string()
        } else {
            format!("{}({})", self.kind.name, args.join(","))
        }
    }
}

/// The spec string of a list of nodes.
pub fn spec_string(nodes: &[LayerNode]) -> String {
    nodes.iter().map(LayerNode::spec).collect::<Vec<_>>().join(",")
}

/// The node that rebuilds `op` (its registry entry, options and body).
pub fn node_of(op: &dyn Op) -> LayerNode {
    LayerNode {
        kind: op.kind(),
        attrs: op.attrs(),
        body: op
            .body()
            .map(|b| b.layers.iter().map(|l| node_of(l.as_ref())).collect())
            .unwrap_or_default(),
    }
}

/// `Attr` shorthand for sizes.
pub fn size(v: usize) -> Attr {
    Attr::Nums(vec![v as f32])
}
