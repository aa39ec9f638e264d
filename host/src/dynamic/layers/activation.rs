//! Element-wise activations (`relu`, `gelu(tanh)`, `leaky_relu(0.1)`, ...): one registry
//! entry each, all computed by the core's [`ActivationKind`] kernels.

use crate::dynamic::attrs::Attrs;
use crate::dynamic::backend::Backend;
use crate::dynamic::op::{Ctx, Op, Saved};
use crate::dynamic::registry::{infer_nothing, LayerKind, LayerNode};
use neurite::activation::{ActivationKind, ActivationOption};

/// An element-wise activation over any sample shape.
#[derive(Clone, Debug, PartialEq)]
pub struct Activation {
    /// Which function, with its options.
    pub act: ActivationKind,
    kind: &'static LayerKind,
    shape: Vec<usize>,
}

/// The activation a node names, with PyTorch's defaults for missing options.
fn kind_of(node: &LayerNode) -> Result<ActivationKind, String> {
    let a = &node.attrs;
    a.only(node.kind.name, node.kind.options)?;
    Ok(match node.kind.name {
        "identity" => ActivationKind::Identity,
        "step" => ActivationKind::Step,
        "sigmoid" => ActivationKind::Sigmoid,
        "tanh" => ActivationKind::Tanh,
        "relu" => ActivationKind::Relu,
        "selu" => ActivationKind::Selu,
        "silu" => ActivationKind::Silu,
        "leaky_relu" => ActivationKind::LeakyRelu(a.f32("negative_slope", 0.01)?),
        "elu" => ActivationKind::Elu(a.f32("alpha", 1.0)?),
        "swish" => ActivationKind::Swish(a.f32("beta", 1.0)?),
        "softplus" => ActivationKind::Softplus(a.f32("beta", 1.0)?, a.f32("threshold", 20.0)?),
        "gelu" => match a.word_or("approximate", "none")? {
            "none" => ActivationKind::Gelu,
            "tanh" => ActivationKind::GeluTanh,
            other => return Err(format!("gelu: approximate is 'none' or 'tanh', not '{other}'")),
        },
        other => return Err(format!("{other} is not an activation")),
    })
}

/// The options that name `act` (inverse of [`kind_of`]), from the core's
/// [`ActivationKind::options`].
fn attrs_of(act: ActivationKind) -> Attrs {
    act.options().fold(Attrs::new(), |a, (key, value)| match value {
        ActivationOption::Num(v) => a.num(key, v),
        ActivationOption::Word(w) => a.word(key, w),
    })
}

/// The registry entry of an activation (every activation has one).
pub fn entry_of(act: ActivationKind) -> &'static LayerKind {
    match act {
        ActivationKind::Identity => &IDENTITY,
        ActivationKind::Step => &STEP,
        ActivationKind::Sigmoid => &SIGMOID,
        ActivationKind::Tanh => &TANH,
        ActivationKind::Relu => &RELU,
        ActivationKind::LeakyRelu(_) => &LEAKY_RELU,
        ActivationKind::Softplus(..) => &SOFTPLUS,
        ActivationKind::Gelu | ActivationKind::GeluTanh => &GELU,
        ActivationKind::Silu => &SILU,
        ActivationKind::Swish(_) => &SWISH,
        ActivationKind::Elu(_) => &ELU,
        ActivationKind::Selu => &SELU,
    }
}

/// Whether `kind` is an element-wise activation's entry.
pub fn is_activation(kind: &LayerKind) -> bool {
    [
        &IDENTITY,
        &STEP,
        &SIGMOID,
        &TANH,
        &RELU,
        &LEAKY_RELU,
        &SOFTPLUS,
        &GELU,
        &SILU,
        &SWISH,
        &ELU,
        &SELU,
    ]
    .iter()
    .any(|k| k.name == kind.name)
}

/// An activation layer over `shape`.
pub fn activation(act: ActivationKind, shape: &[usize]) -> Activation {
    Activation { act, kind: entry_of(act), shape: shape.to_vec() }
}

fn build(node: &LayerNode, shape: &[usize]) -> Result<Box<dyn Op>, String> {
    Ok(Box::new(activation(kind_of(node)?, shape)))
}

macro_rules! activations {
    ($($id:ident ($kind:expr) [$($pos:literal),*] $help:literal;)*) => {$(
        #[doc = concat!("Registry entry of `", $help, "`.")]
        pub static $id: LayerKind = LayerKind {
            name: $kind.name(),
            positional: &[$($pos),*],
            options: &[$($pos),*],
            help: $help,
            build,
            infer: infer_nothing,
            composite: false,
        };
    )*};
}

activations! {
    IDENTITY (ActivationKind::Identity) [] "identity";
    STEP (ActivationKind::Step) [] "step";
    SIGMOID (ActivationKind::Sigmoid) [] "sigmoid";
    TANH (ActivationKind::Tanh) [] "tanh";
    RELU (ActivationKind::Relu) [] "relu";
    LEAKY_RELU (ActivationKind::LeakyRelu(0.01)) ["negative_slope"] "leaky_relu(slope)";
    SOFTPLUS (ActivationKind::Softplus(1.0, 20.0)) ["beta", "threshold"] "softplus(beta,threshold)";
    GELU (ActivationKind::Gelu) ["approximate"] "gelu, gelu(tanh)";
    SILU (ActivationKind::Silu) [] "silu";
    SWISH (ActivationKind::Swish(1.0)) ["beta"] "swish(beta)";
    ELU (ActivationKind::Elu(1.0)) ["alpha"] "elu(alpha)";
    SELU (ActivationKind::Selu) [] "selu";
}

impl Op for Activation {
    fn kind(&self) -> &'static LayerKind {
        self.kind
    }
    fn attrs(&self) -> Attrs {
        attrs_of(self.act)
    }
    fn input_shape(&self) -> &[usize] {
        &self.shape
    }
    fn output_shape(&self) -> &[usize] {
        &self.shape
    }
    fn rust(&self) -> Option<(String, String)> {
        Some(crate::export::activation_rust(self.act, &self.shape))
    }
    fn forward(&self, _: &dyn Backend, x: &[f32], y: &mut [f32], _batch: usize) {
        self.act.forward(x, y);
    }
    fn backward(
        &self,
        _: &Ctx<'_>,
        x: &[f32],
        _y: &[f32],
        _: &mut Saved,
        dy: &[f32],
        dx: Option<&mut [f32]>,
        _: &mut [Vec<f32>],
        _batch: usize,
    ) {
        if let Some(dx) = dx {
            self.act.backward(x, dy, dx);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The host's names and options (registry entry, `kind_of`) and the core's
    /// (`ActivationKind::name`, `options`, which model files record) name the same activation.
    #[test]
    fn registry_and_core_agree_on_every_activation() {
        let all = [
            ActivationKind::Identity,
            ActivationKind::Step,
            ActivationKind::Sigmoid,
            ActivationKind::Tanh,
            ActivationKind::Relu,
            ActivationKind::LeakyRelu(0.2),
            ActivationKind::Softplus(2.0, 10.0),
            ActivationKind::Gelu,
            ActivationKind::GeluTanh,
            ActivationKind::Silu,
            ActivationKind::Swish(1.5),
            ActivationKind::Elu(0.5),
            ActivationKind::Selu,
        ];
        for act in all {
            let entry = entry_of(act);
            assert_eq!(entry.name, act.name());
            assert!(is_activation(entry));
            let node = LayerNode { kind: entry, attrs: attrs_of(act), body: Vec::new() };
            assert_eq!(kind_of(&node), Ok(act), "{}", act.name());
        }
    }
}
