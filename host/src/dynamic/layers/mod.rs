//! The runtime-shaped layers: one file per layer family, each with its registry entries.

pub mod activation;
pub mod attention;
pub mod batchnorm;
pub mod conv;
pub mod conv_transpose;
pub mod dense;
pub mod dropout;
pub mod embedding;
pub mod fake_quant;
pub mod flatten;
pub mod gcn_conv;
pub mod layernorm;
pub mod pool;
pub mod prelu;
pub mod recurrent;
pub mod skip;
pub mod softmax;

pub(crate) use crate::dynamic::op::{each_sample, each_sample_back};

/// A weight and an optional bias as named tensors (conv layers).
pub(crate) fn weight_and_bias<'a>(
    w_shape: &'a [usize],
    weight: &'a [f32],
    b_shape: &'a [usize],
    bias: Option<&'a [f32]>,
) -> Vec<crate::dynamic::Tensor<'a>> {
    use crate::dynamic::Tensor;
    let mut t = vec![Tensor { name: "weight", shape: w_shape, values: weight }];
    if let Some(b) = bias {
        t.push(Tensor { name: "bias", shape: b_shape, values: b });
    }
    t
}

/// [`weight_and_bias`], mutable.
pub(crate) fn weight_and_bias_mut<'a>(
    weight: &'a mut [f32],
    bias: Option<&'a mut [f32]>,
) -> Vec<&'a mut [f32]> {
    let mut t = vec![weight];
    t.extend(bias);
    t
}

/// The gradient slots of [`weight_and_bias`]: the weight's and, if the layer has one, the
/// bias's.
pub(crate) fn weight_and_bias_grads(
    grads: &mut [Vec<f32>],
) -> Option<(&mut [f32], Option<&mut [f32]>)> {
    match grads {
        [gw, gb] => Some((gw, Some(gb))),
        [gw] => Some((gw, None)),
        _ => None,
    }
}

/// `Err` unless the input has `rank` axes (`what` names the expected layout).
pub(crate) fn expect_rank(shape: &[usize], ranks: &[usize], what: &str) -> Result<(), String> {
    if ranks.contains(&shape.len()) {
        Ok(())
    } else {
        Err(format!("needs an input of shape {what}, found {shape:?} (set --input-shape)"))
    }
}

/// The node of a version-1 model-file layer description (dense/activation chains).
pub fn v1_node(d: &neurite::layer::LayerDesc) -> Option<crate::dynamic::LayerNode> {
    use crate::dynamic::{Attrs, LayerNode};
    use neurite::layer::LayerDesc;
    Some(match *d {
        LayerDesc::Dense { outputs, .. } => {
            LayerNode::new(&dense::DENSE, Attrs::new().num("out", outputs as f32))
        }
        LayerDesc::Activation { kind, width } => {
            let a = activation::activation(kind, &[width]);
            crate::dynamic::registry::node_of(&a)
        }
        LayerDesc::Prelu { slopes, .. } => {
            let a = if slopes == 1 {
                Attrs::new()
            } else {
                Attrs::new().word("num_parameters", "channel")
            };
            LayerNode::new(&prelu::PRELU, a)
        }
        LayerDesc::Softmax { .. } => LayerNode::new(&softmax::SOFTMAX, Attrs::new()),
        LayerDesc::LogSoftmax { .. } => LayerNode::new(&softmax::LOG_SOFTMAX, Attrs::new()),
        // Version-1 files hold only the kinds above.
        LayerDesc::Other { .. } => return None,
    })
}
