//! The layer spec string of the CLI: `conv2d(8,3,padding=1),relu,maxpool2d(2),flatten,
//! dense(10)`. Each item is a registry name with its options, given by position (the
//! entry's `positional` list) or as `key=value`; a pair is `3x5` (height x width); composite
//! layers take layers: `residual(conv2d(8,3,padding=1),relu)`. Sizes that follow from the
//! previous layer (in_channels, num_features, normalized_shape) are inferred.

use super::attrs::{Attr, Attrs};
use super::registry::{known_layers, lookup, LayerNode};
use std::fmt;

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
pub fn layer_names() -> String {
    known_layers()
}

/// How deep composite layers (`residual`, `concat`) may nest in a spec or a model file: a
/// layer is inside at most this many of them. Real models nest a few deep (a U-Net's skip
/// links, one per level); the parsers and builders recurse once per level, so an unbounded
/// depth from an untrusted file (a safetensors file's spec, a model file) would overflow the
/// stack instead of being refused.
pub const MAX_NESTING: usize = 64;

/// Parses a spec string into layer nodes.
pub fn parse_spec(spec: &str) -> Result<Vec<LayerNode>, SpecError> {
    let items = split_items(spec).map_err(|message| SpecError { item: 1, message })?;
    if items.iter().all(|s| s.trim().is_empty()) {
        return Err(SpecError { item: 1, message: "empty layer spec".into() });
    }
    items
        .iter()
        .enumerate()
        .map(|(i, s)| parse_item(s.trim(), 0).map_err(|message| SpecError { item: i + 1, message }))
        .collect()
}

/// Splits at commas outside parentheses.
fn split_items(spec: &str) -> Result<Vec<&str>, String> {
    let (mut depth, mut start, mut out) = (0i32, 0, Vec::new());
    for (i, c) in spec.char_indices() {
        match c {
            '(' => depth += 1,
            ')' => {
                depth -= 1;
                if depth < 0 {
                    return Err(format!("'{spec}': unbalanced ')'"));
                }
            }
            ',' if depth == 0 => {
                out.push(&spec[start..i]);
                start = i + 1;
            }
            _ => {}
        }
    }
    out.push(&spec[start..]);
    Ok(out)
}

fn parse_value(v: &str) -> Attr {
    let nums: Option<Vec<f32>> = v.split('x').map(|p| p.trim().parse::<f32>().ok()).collect();
    match (nums, v) {
        (Some(n), _) if !v.is_empty() => Attr::Nums(n),
        (_, "true") => Attr::Bool(true),
        (_, "false") => Attr::Bool(false),
        _ => Attr::Str(v.to_string()),
    }
}

/// One item, inside `nesting` composite layers.
fn parse_item(item: &str, nesting: usize) -> Result<LayerNode, String> {
    let (name, args) = match item.find('(') {
        Some(open) => {
            let Some(inner) = item[open + 1..].strip_suffix(')') else {
                return Err(format!("'{item}': missing closing parenthesis"));
            };
            let args = if inner.trim().is_empty() { Vec::new() } else { split_items(inner)? };
            (item[..open].trim(), args)
        }
        None => (item, Vec::new()),
    };
    if name.is_empty() {
        return Err("empty item".into());
    }
    let kind =
        lookup(name).ok_or_else(|| format!("unknown layer '{name}'; known: {}", known_layers()))?;
    if kind.composite {
        if nesting >= MAX_NESTING {
            return Err(format!("layers nested more than {MAX_NESTING} deep"));
        }
        let body = args
            .iter()
            .map(|a| parse_item(a.trim(), nesting + 1))
            .collect::<Result<Vec<_>, _>>()?;
        if body.is_empty() {
            return Err(format!("'{item}': {name} needs layers, e.g. {name}(dense(8),relu)"));
        }
        return Ok(LayerNode { kind, attrs: Attrs::new(), body });
    }
    let mut attrs = Attrs::new();
    let mut keyword_seen = false;
    for (i, arg) in args.iter().map(|a| a.trim()).enumerate() {
        let (key, value) = match arg.split_once('=') {
            Some((k, v)) => {
                keyword_seen = true;
                (k.trim(), v.trim())
            }
            None if keyword_seen => {
                return Err(format!(
                    "'{item}': positional argument '{arg}' after a keyword argument"
                ))
            }
            None => match kind.positional.get(i) {
                Some(k) => (*k, arg),
                None => {
                    return Err(format!(
                        "'{item}': {name} takes at most {} argument(s) by position ({})",
                        kind.positional.len(),
                        kind.positional.join(", ")
                    ))
                }
            },
        };
        if !kind.options.contains(&key) {
            return Err(format!(
                "'{item}': {name} has no option '{key}' (options: {})",
                kind.options.join(", ")
            ));
        }
        if attrs.get(key).is_some() {
            return Err(format!("'{item}': option '{key}' given twice"));
        }
        let value = parse_value(value);
        if let Attr::Nums(v) = &value {
            if v.iter().any(|x| !x.is_finite()) {
                return Err(format!("'{item}': option '{key}' is not a finite number"));
            }
        }
        attrs.set(key, value);
    }
    Ok(LayerNode::new(kind, attrs))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::dynamic::DynModel;

    #[test]
    fn parses_and_rejects() {
        let s = parse_spec("dense(64), relu, gelu(tanh), leaky_relu(0.2), dense(10)").unwrap();
        assert_eq!(s[0].kind.name, "dense");
        assert_eq!(s[2].attrs.get("approximate"), Some(&Attr::Str("tanh".into())));
        assert_eq!(s[3].attrs.get("negative_slope"), Some(&Attr::Nums(vec![0.2])));
        assert_eq!(parse_spec("dense(4),relux").unwrap_err().item, 2);
        assert!(parse_spec("dense(4").is_err());
        assert!(parse_spec("").is_err());
        assert!(parse_spec("dense(4,5)").is_err());
        assert!(parse_spec("conv2d(8,3,padd=1)").is_err());
        // Building checks values.
        for bad in ["dense(0)", "elu(abc)", "conv2d(8,9)", "maxpool2d(2,padding=2)", "dropout(1)"] {
            let nodes = parse_spec(bad).unwrap();
            assert!(DynModel::build(&nodes, &[1, 8, 8]).is_err(), "{bad}");
        }
    }

    /// `depth` composite layers inside one another around a `relu`.
    fn nested(depth: usize) -> String {
        format!("{}relu{}", "residual(".repeat(depth), ")".repeat(depth))
    }

    #[test]
    fn nesting_is_bounded() {
        // found beside the fuzz targets (fuzz/README.md, "Findings"): 3,000 levels
        // overflowed a test thread's stack
        let deepest = parse_spec(&nested(MAX_NESTING)).unwrap();
        assert!(DynModel::build(&deepest, &[4]).is_ok());
        let e = parse_spec(&nested(MAX_NESTING + 1)).unwrap_err();
        assert_eq!(e.item, 1);
        assert!(e.message.contains("nested more than 64 deep"), "{e}");
        assert!(parse_spec(&format!("dense(4),{}", nested(100_000))).is_err());
    }

    #[test]
    fn shapes_follow_the_layers_and_the_spec_round_trips() {
        let spec = "conv2d(8,3,padding=1),batchnorm2d,relu,maxpool2d(2),residual(conv2d(8,3,padding=1),relu),conv2d(4,3x1,stride=2x1,groups=4,bias=false),global_avg_pool,dense(10)";
        let model = DynModel::build(&parse_spec(spec).unwrap(), &[1, 8, 8]).unwrap();
        let shapes: Vec<Vec<usize>> =
            model.layers.iter().map(|l| l.output_shape().to_vec()).collect();
        assert_eq!(shapes[0], [8, 8, 8]);
        assert_eq!(shapes[3], [8, 4, 4]);
        assert_eq!(shapes[5], [4, 1, 4]);
        assert_eq!(shapes[7], [10]);
        let again = crate::dynamic::registry::spec_string(&model.nodes());
        let rebuilt = DynModel::build(&parse_spec(&again).unwrap(), &[1, 8, 8]).unwrap();
        assert_eq!(rebuilt.nodes(), model.nodes(), "{again}");
    }
}
