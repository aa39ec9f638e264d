//! The layer spec string of the CLI: `dense(64),relu,dense(10)`; the input width comes from
//! the data.

use super::model::{DynLayer, DynModel};
use neurite::activation::ActivationKind;
use std::fmt;

/// One layer of a spec, before widths are known.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum LayerSpec {
    /// `dense(N)`: N outputs.
    Dense(usize),
    /// An element-wise activation (`relu`, `leaky_relu(0.1)`, `gelu(tanh)`, ...).
    Activation(ActivationKind),
    /// `prelu` (one shared slope) or `prelu(channel)` (one per feature); slopes start at 0.25.
    Prelu {
        /// One slope per feature.
        per_feature: bool,
    },
    /// `softmax`.
    Softmax,
    /// `log_softmax`.
    LogSoftmax,
    /// `dropout(p)`: training-time inverted dropout.
    Dropout(f32),
}

/// A malformed spec: the item (1-based) and what is wrong with it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SpecError {
    /// 1-based position of the item in the comma-separated list.
    pub item: usize,
    /// What is wrong.
    pub message: String,
}

impl fmt::Display for SpecError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "layer spec item {}: {}", self.item, self.message)
    }
}

impl std::error::Error for SpecError {}

/// Names the spec understands, for error messages and `--help`.
pub const LAYER_NAMES: &str = "dense(N), identity, step, sigmoid, tanh, relu, \
leaky_relu(slope), prelu, prelu(channel), softplus(beta,threshold), gelu, gelu(tanh), silu, \
swish(beta), elu(alpha), selu, softmax, log_softmax, dropout(p)";

/// Parses `dense(64),relu,dense(10)`.
pub fn parse_spec(spec: &str) -> Result<Vec<LayerSpec>, SpecError> {
    let items = split_items(spec);
    if items.iter().all(|s| s.trim().is_empty()) {
        return Err(SpecError { item: 1, message: "empty layer spec".into() });
    }
    items.iter().enumerate().map(|(i, s)| parse_item(s.trim(), i + 1)).collect()
}

/// Splits at commas outside parentheses.
fn split_items(spec: &str) -> Vec<&str> {
    let (mut depth, mut start, mut out) = (0i32, 0, Vec::new());
    for (i, c) in spec.char_indices() {
        match c {
            '(' => depth += 1,
            ')' => depth -= 1,
            ',' if depth == 0 => {
                out.push(&spec[start..i]);
                start = i + 1;
            }
            _ => {}
        }
    }
    out.push(&spec[start..]);
    out
}

fn parse_item(item: &str, pos: usize) -> Result<LayerSpec, SpecError> {
    let err = |message: String| SpecError { item: pos, message };
    let (name, args) = match item.find('(') {
        Some(open) => {
            let Some(inner) = item[open + 1..].strip_suffix(')') else {
                return Err(err(format!("'{item}': missing closing parenthesis")));
            };
            let args: Vec<&str> = inner.split(',').map(str::trim).collect();
            (item[..open].trim(), args)
        }
        None => (item, Vec::new()),
    };
    let float = |i: usize, default: f32| -> Result<f32, SpecError> {
        match args.get(i) {
            None => Ok(default),
            Some(a) => a
                .parse::<f32>()
                .ok()
                .filter(|v| v.is_finite())
                .ok_or_else(|| err(format!("'{item}': argument '{a}' is not a number"))),
        }
    };
    let max_args = |n: usize| {
        if args.len() > n {
            Err(err(format!("'{item}': {name} takes at most {n} argument(s)")))
        } else {
            Ok(())
        }
    };
    let act = |k: ActivationKind| Ok(LayerSpec::Activation(k));
    match name {
        "dense" | "linear" => {
            let n = args.first().and_then(|a| a.parse::<usize>().ok()).filter(|&n| n > 0);
            match (n, args.len()) {
                (Some(n), 1) => Ok(LayerSpec::Dense(n)),
                _ => {
                    Err(err(format!("'{item}': dense needs one positive integer, e.g. dense(64)")))
                }
            }
        }
        "identity" => max_args(0).and(act(ActivationKind::Identity)),
        "step" => max_args(0).and(act(ActivationKind::Step)),
        "sigmoid" => max_args(0).and(act(ActivationKind::Sigmoid)),
        "tanh" => max_args(0).and(act(ActivationKind::Tanh)),
        "relu" => max_args(0).and(act(ActivationKind::Relu)),
        "selu" => max_args(0).and(act(ActivationKind::Selu)),
        "silu" => max_args(0).and(act(ActivationKind::Silu)),
        "softmax" => max_args(0).map(|()| LayerSpec::Softmax),
        "log_softmax" => max_args(0).map(|()| LayerSpec::LogSoftmax),
        "leaky_relu" => max_args(1).and(act(ActivationKind::LeakyRelu(float(0, 0.01)?))),
        "elu" => max_args(1).and(act(ActivationKind::Elu(float(0, 1.0)?))),
        "swish" => max_args(1).and(act(ActivationKind::Swish(float(0, 1.0)?))),
        "softplus" => {
            max_args(2).and(act(ActivationKind::Softplus(float(0, 1.0)?, float(1, 20.0)?)))
        }
        "gelu" => match args.as_slice() {
            [] | ["none"] => act(ActivationKind::Gelu),
            ["tanh"] => act(ActivationKind::GeluTanh),
            _ => Err(err(format!("'{item}': gelu takes 'none' or 'tanh'"))),
        },
        "prelu" => match args.as_slice() {
            [] => Ok(LayerSpec::Prelu { per_feature: false }),
            ["channel"] => Ok(LayerSpec::Prelu { per_feature: true }),
            _ => Err(err(format!("'{item}': prelu takes no argument or 'channel'"))),
        },
        "dropout" => match float(0, f32::NAN)? {
            p if (0.0..1.0).contains(&p) && args.len() == 1 => Ok(LayerSpec::Dropout(p)),
            _ => Err(err(format!(
                "'{item}': dropout needs a probability in [0, 1), e.g. dropout(0.2)"
            ))),
        },
        "" => Err(err("empty item".into())),
        other => Err(err(format!("unknown layer '{other}'; known: {LAYER_NAMES}"))),
    }
}

impl LayerSpec {
    /// The layer for input width `width`, parameters zero (PReLU slopes 0.25).
    pub fn build(&self, width: usize) -> DynLayer {
        match *self {
            Self::Dense(outputs) => DynLayer::Dense {
                inputs: width,
                outputs,
                weight: vec![0.0; width * outputs],
                bias: vec![0.0; outputs],
            },
            Self::Activation(kind) => DynLayer::Activation { kind, width },
            Self::Prelu { per_feature } => {
                DynLayer::Prelu { width, alpha: vec![0.25; if per_feature { width } else { 1 }] }
            }
            Self::Softmax => DynLayer::Softmax { width },
            Self::LogSoftmax => DynLayer::LogSoftmax { width },
            Self::Dropout(p) => DynLayer::Dropout { width, p },
        }
    }
}

impl DynModel {
    /// A model from a parsed spec for `inputs` input features (parameters zero: call `init`).
    pub fn from_spec(spec: &[LayerSpec], inputs: usize) -> Self {
        let mut width = inputs;
        let mut layers = Vec::with_capacity(spec.len());
        for s in spec {
            let layer = s.build(width);
            width = layer.outputs();
            layers.push(layer);
        }
        Self { layers }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_and_rejects() {
        let s = parse_spec("dense(64), relu, gelu(tanh), leaky_relu(0.2), dense(10)").unwrap();
        assert_eq!(s[0], LayerSpec::Dense(64));
        assert_eq!(s[2], LayerSpec::Activation(ActivationKind::GeluTanh));
        assert_eq!(s[3], LayerSpec::Activation(ActivationKind::LeakyRelu(0.2)));
        assert_eq!(parse_spec("dense(4),relux").unwrap_err().item, 2);
        assert!(parse_spec("dense(0)").is_err());
        assert!(parse_spec("dense(4").is_err());
        assert!(parse_spec("elu(abc)").is_err());
        assert!(parse_spec("").is_err());
    }
}
