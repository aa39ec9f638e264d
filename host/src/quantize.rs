//! Post-training quantisation (`neurite quantize`): a float model and calibration rows in,
//! an int8 model ([`Int8Model`], a TFLite graph) out, quantised as TFLite's int8
//! specification asks:
//!
//! - activations asymmetric per tensor, `scale = (max - min) / 255` over the range every
//!   calibration row reaches (widened to hold 0), `zero_point = round(-128 - min / scale)`;
//! - weights symmetric per output channel, `scale_c = max |w_c| / 127`, `q = round(w / scale_c)`;
//! - biases int32, `round(b / (input_scale * scale_c))`;
//! - a ReLU or ReLU6 after a dense or convolution fused into it (its output range taken),
//!   a batch norm after a convolution folded into its weights, dropout left out, pools
//!   keeping their input's quantisation (TFLite's pools do not requantise).
//!
//! Layouts: neurite's tensors are `C x H x W` (PyTorch's), the graph's `[1, H, W, C]`;
//! convolution weights go from `[O, I, kH, kW]` to `[O, kH, kW, I]` (depthwise: `[1, kH, kW,
//! C * M]`), and a dense layer after `flatten` has its columns reordered from `C x H x W` to
//! `H x W x C`. A `[C, L]` sequence is a `[1, 1, L, C]` image.

use crate::dynamic::backend::DEFAULT;
use crate::dynamic::layers::fake_quant::{channel_scales, quantize_weight, FAKE_QUANT};
use crate::dynamic::{DynModel, Op, Workspace};
use crate::int8_model::Int8Model;
use crate::model_io::SavedModel;
use crate::tflite::{op, Fused, Model, Operator, Options, Padding, Tensor, INT32, INT8};
use neurite::quant::affine::Affine;

/// Rows run through the float model at once while calibrating.
const CALIBRATION_BATCH: usize = 64;

/// How activation ranges are chosen from the calibration rows.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Calibration {
    /// The smallest and largest value reached.
    MinMax,
    /// The range, shrunk from min/max in steps of 5% (to 20%), whose quantisation has the
    /// least squared error over every calibrated value: outliers are clipped so that the
    /// bulk of the values get finer steps.
    Mse,
}

/// Every layer input's values and the model output's (`values[k]`: layer `k`'s input over
/// all `rows`, row after row; the last entry the output) for `rows` (standardised).
fn activations(model: &DynModel, rows: &[Vec<f32>]) -> Vec<Vec<f32>> {
    let mut values: Vec<Vec<f32>> = vec![Vec::new(); model.layers.len() + 1];
    let mut ws = Workspace::default();
    for chunk in rows.chunks(CALIBRATION_BATCH) {
        let x: Vec<f32> = chunk.concat();
        model.forward_batch(&DEFAULT, &x, chunk.len(), &mut ws);
        for (all, act) in values.iter_mut().zip(&ws.acts) {
            all.extend_from_slice(act);
        }
    }
    values
}

/// The range of each layer input and of the model output (`ranges[k]`: layer `k`'s input;
/// the last entry the output) over `rows` (standardised), chosen by `method`.
pub fn calibrate(model: &DynModel, rows: &[Vec<f32>], method: Calibration) -> Vec<(f32, f32)> {
    activations(model, rows).iter().map(|v| range_of(v, method)).collect()
}

/// Bins of the histogram the squared error is measured on.
const BINS: usize = 2048;

/// The range `method` chooses for `values`. [`Calibration::Mse`] measures each candidate's
/// error on a histogram of the values ([`BINS`] bins over their range, each bin's values
/// counted at its centre), which takes the same time however many values there are.
fn range_of(values: &[f32], method: Calibration) -> (f32, f32) {
    let (min, max) = values
        .iter()
        .fold((f32::INFINITY, f32::NEG_INFINITY), |(lo, hi), &v| (lo.min(v), hi.max(v)));
    if method == Calibration::MinMax || max.partial_cmp(&min) != Some(core::cmp::Ordering::Greater)
    {
        return (min, max);
    }
    let width = (max - min) / BINS as f32;
    let mut counts = vec![0u64; BINS];
    for &v in values {
        counts[(((v - min) / width) as usize).min(BINS - 1)] += 1;
    }
    let error = |(lo, hi): (f32, f32)| -> f64 {
        let Some(q) = Affine::from_range(lo, hi) else { return f64::INFINITY };
        counts
            .iter()
            .enumerate()
            .filter(|(_, &n)| n > 0)
            .map(|(b, &n)| {
                let centre = min + (b as f32 + 0.5) * width;
                n as f64 * f64::from(centre - q.dequantize(q.quantize(centre))).powi(2)
            })
            .sum()
    };
    (4..=20)
        .rev()
        .map(|step| {
            let t = step as f32 * 0.05;
            (min * t, max * t)
        })
        .min_by(|a, b| error(*a).total_cmp(&error(*b)))
        .unwrap_or((min, max))
}

/// A `C x H x W` activation's image dimensions (a `[C, L]` one is `C x 1 x L`).
fn image_of(shape: &[usize]) -> Option<[usize; 3]> {
    match *shape {
        [c, h, w] => Some([c, h, w]),
        [c, l] => Some([c, 1, l]),
        _ => None,
    }
}

/// The graph as it is built: tensors and operators.
#[derive(Default)]
struct Graph {
    tensors: Vec<Tensor>,
    operators: Vec<Operator>,
}

impl Graph {
    fn push(&mut self, t: Tensor) -> i32 {
        self.tensors.push(t);
        (self.tensors.len() - 1) as i32
    }

    /// An int8 activation tensor of `shape` (the graph's layout).
    fn activation(&mut self, name: String, shape: Vec<i32>, q: Affine) -> i32 {
        self.push(Tensor {
            name,
            shape,
            dtype: INT8,
            data: Vec::new(),
            scales: vec![q.scale],
            zero_points: vec![i64::from(q.zero_point)],
            quantized_dimension: 0,
        })
    }

    /// Symmetric per-channel int8 weights (`values` in the graph's layout, its `channels`
    /// along `axis` of `shape`, quantised with `scales`), their bias as int32 against
    /// `input_scale`; returns the two tensor indices.
    #[allow(clippy::too_many_arguments)]
    fn weights(
        &mut self,
        name: &str,
        shape: Vec<i32>,
        axis: usize,
        values: &[f32],
        scales: &[f32],
        bias: &[f32],
        input_scale: f32,
    ) -> (i32, i32) {
        let channels = shape[axis] as usize;
        let inner: usize = shape[axis + 1..].iter().map(|&d| d as usize).product();
        let channel_of = |i: usize| (i / inner) % channels;
        let data: Vec<u8> = values
            .iter()
            .enumerate()
            .map(|(i, &v)| quantize_weight(v, scales[channel_of(i)]) as u8)
            .collect();
        let bias_q: Vec<u8> = (0..channels)
            .flat_map(|c| {
                let b = f64::from(bias.get(c).copied().unwrap_or(0.0));
                let s = f64::from(input_scale) * f64::from(scales[c]);
                let q = (b / s).round().clamp(f64::from(i32::MIN), f64::from(i32::MAX)) as i32;
                q.to_le_bytes()
            })
            .collect();
        let w = self.push(Tensor {
            name: format!("{name}/weight"),
            shape,
            dtype: INT8,
            data,
            scales: scales.to_vec(),
            zero_points: vec![0; channels],
            quantized_dimension: axis as i32,
        });
        let b = self.push(Tensor {
            name: format!("{name}/bias"),
            shape: vec![channels as i32],
            dtype: INT32,
            data: bias_q,
            scales: scales.iter().map(|s| s * input_scale).collect(),
            zero_points: vec![0; channels],
            quantized_dimension: 0,
        });
        (w, b)
    }
}

/// How the current tensor's values are laid out.
#[derive(Clone, Copy, Debug, PartialEq)]
enum Layout {
    /// A vector, the same order in neurite and in the graph.
    Vector,
    /// A `C x H x W` image, channels last in the graph.
    Image([usize; 3]),
    /// A flattened `C x H x W` image: neurite's order is `C x H x W`, the graph's `H x W x C`.
    Flat([usize; 3]),
}

fn int(v: usize) -> i32 {
    i32::try_from(v).unwrap_or(i32::MAX)
}

/// The index of the first layer at or after `from` that runs at inference (dropout does not).
fn next_layer(layers: &[Box<dyn Op>], from: usize) -> usize {
    (from..layers.len()).find(|&j| !layers[j].training_only()).unwrap_or(layers.len())
}

/// A ReLU right after layer `k` is fused into it: the fused activation and the index of the
/// tensor that the (fused) op outputs.
fn fusion(layers: &[Box<dyn Op>], k: usize) -> (Fused, usize) {
    let j = next_layer(layers, k + 1);
    match layers.get(j).map(|l| l.kind().name) {
        Some("relu") => (Fused::Relu, j + 1),
        _ => (Fused::None, k + 1),
    }
}

/// The batch norm right after the convolution at `k`, folded into it, if there is one.
fn folded_norm(layers: &[Box<dyn Op>], k: usize) -> Option<usize> {
    let conv = layers[k].kind().name.starts_with("conv");
    let j = next_layer(layers, k + 1);
    layers.get(j).filter(|n| conv && n.kind().name.starts_with("batchnorm")).map(|_| j)
}

/// The fused activation of the dense layer or convolution at `k` and the index of the
/// tensor its int8 op outputs (after a folded batch norm and a fused ReLU).
fn fused_output(layers: &[Box<dyn Op>], k: usize) -> (Fused, usize) {
    fusion(layers, folded_norm(layers, k).unwrap_or(k))
}

/// Whether the layer at `k` becomes an int8 op with weights (dense, convolution).
pub(crate) fn weighted(layers: &[Box<dyn Op>], k: usize) -> bool {
    matches!(layers[k].kind().name, "dense" | "conv1d" | "conv2d")
}

/// The tensors the int8 graph quantises anew (`k`: layer `k`'s input; `layers.len()`: the
/// output): the input and each weighted op's output. Pools keep their input's
/// quantisation; flatten, dropout and identity do not compute. Quantisation-aware training
/// puts its fake quantisation on exactly these.
pub fn quantised_tensors(model: &DynModel) -> Vec<usize> {
    let layers = &model.layers;
    let mut points = vec![0];
    points.extend(
        (0..layers.len()).filter(|&k| weighted(layers, k)).map(|k| fused_output(layers, k).1),
    );
    points
}

/// TFLite's padding for a PyTorch convolution's symmetric `padding` on one axis, if one of
/// `SAME`/`VALID` pads the same.
fn tflite_padding(
    padding: [usize; 2],
    stride: [usize; 2],
    dilation: [usize; 2],
    input: [usize; 2],
    kernel: [usize; 2],
    output: [usize; 2],
) -> Option<Padding> {
    if padding == [0, 0] {
        return Some(Padding::Valid);
    }
    let same = (0..2).all(|a| {
        let out = input[a].div_ceil(stride[a]);
        let pad = crate::tflite::run::pad(
            Padding::Same,
            stride[a],
            dilation[a],
            input[a],
            kernel[a],
            out,
        );
        out == output[a] && pad == padding[a]
    });
    same.then_some(Padding::Same)
}

/// One window option as `[height, width]`: a 1-D layer's single value is the width, its
/// height axis 1 wide, stride 1 and unpadded.
fn window_pair(l: &dyn Op, key: &str, default: usize, one_d: bool) -> Result<[usize; 2], String> {
    let v = l.attrs().pair(key, default)?;
    Ok(if one_d { [usize::from(key != "padding"), v[1]] } else { v })
}

/// The quantisation of a tensor: its range fixed by a QAT model's fake quantisation at
/// layer `k`, or calibrated.
fn fixed_or_calibrated(
    layers: &[Box<dyn Op>],
    ranges: &[(f32, f32)],
    k: usize,
) -> Result<Affine, String> {
    let fixed = layers.get(k).filter(|l| l.kind().name == FAKE_QUANT.name);
    let (min, max) = match fixed.and_then(|l| l.buffers().first().map(|b| b.values.to_vec())) {
        Some(r) if r.len() == 2 => (r[0], r[1]),
        _ => ranges[k],
    };
    Affine::from_range(min, max).ok_or_else(|| format!("layer {k}'s input reaches {min}..{max}"))
}

/// The graph ops of `model`'s layers on the tensor `input` (its index, quantisation and
/// layout), appended to `g`: `values` are the layers' calibration values
/// ([`activations`]), `prefix` names the tensors of a residual's body. Returns the last
/// tensor.
fn chain(
    g: &mut Graph,
    model: &DynModel,
    values: &[Vec<f32>],
    method: Calibration,
    prefix: &str,
    input: (i32, Affine, Layout),
) -> Result<(i32, Affine, Layout), String> {
    let layers = &model.layers;
    let ranges: Vec<(f32, f32)> = values.iter().map(|v| range_of(v, method)).collect();
    let affine = |k: usize| fixed_or_calibrated(layers, &ranges, k);
    let nhwc = |[c, h, w]: [usize; 3]| vec![1, int(h), int(w), int(c)];
    let (mut current, mut q, mut layout) = input;
    let mut k = next_layer(layers, 0);
    while k < layers.len() {
        let l = layers[k].as_ref();
        let name = l.kind().name;
        let unsupported = |why: &str| Err(format!("layer {} ({name}): {why}", k + 1));
        match name {
            "dense" => {
                let cols = match layout {
                    Layout::Vector | Layout::Flat(_) => l.input_shape().iter().product::<usize>(),
                    Layout::Image(_) => {
                        return unsupported("a dense layer on an image (flatten first)")
                    }
                };
                let params = l.params();
                let (w, b) = (params[0].values, params.get(1).map_or(&[][..], |t| t.values));
                let rows_out = w.len() / cols.max(1);
                let weights: Vec<f32> = match layout {
                    Layout::Flat([c, h, wd]) => (0..rows_out * cols)
                        .map(|i| {
                            let (o, j) = (i / cols, i % cols);
                            let (pixel, ch) = (j / c, j % c);
                            w[o * cols + ch * h * wd + pixel]
                        })
                        .collect(),
                    _ => w.to_vec(),
                };
                let (fused, out_k) = fused_output(layers, k);
                let out_q = affine(out_k)?;
                let (wi, bi) = g.weights(
                    &format!("{prefix}dense{k}"),
                    vec![int(rows_out), int(cols)],
                    0,
                    &weights,
                    &channel_scales(w, rows_out),
                    b,
                    q.scale,
                );
                let out =
                    g.activation(format!("{prefix}dense{k}/out"), vec![1, int(rows_out)], out_q);
                g.operators.push(Operator {
                    code: op::FULLY_CONNECTED,
                    inputs: vec![current, wi, bi],
                    outputs: vec![out],
                    options: Options::Fused(fused),
                });
                (current, q, layout, k) = (out, out_q, Layout::Vector, next_layer(layers, out_k));
            }
            "conv2d" | "conv1d" => {
                let Layout::Image([c, h, wd]) = layout else {
                    return unsupported("a convolution on a vector");
                };
                let one_d = name == "conv1d";
                let kernel = window_pair(l, "kernel_size", 1, one_d)?;
                let stride = window_pair(l, "stride", 1, one_d)?;
                let padding = window_pair(l, "padding", 0, one_d)?;
                let dilation = window_pair(l, "dilation", 1, one_d)?;
                let groups = l.attrs().usize("groups", 1)?;
                let out_image =
                    image_of(l.output_shape()).ok_or("a convolution's output is not an image")?;
                let [oc, oh, ow] = out_image;
                let Some(pad) =
                    tflite_padding(padding, stride, dilation, [h, wd], kernel, [oh, ow])
                else {
                    return unsupported(&format!(
                        "padding {padding:?} is neither SAME nor VALID in TFLite"
                    ));
                };
                let params = l.params();
                let mut w = params[0].values.to_vec();
                let mut b = params.get(1).map_or_else(|| vec![0.0; oc], |t| t.values.to_vec());
                // a batch norm after the convolution: folded into its weights and bias
                if let Some(norm) = folded_norm(layers, k).map(|j| &layers[j]) {
                    let (p, s) = (norm.params(), norm.buffers());
                    let eps = norm.attrs().f32("eps", 1e-5)?;
                    let per = w.len() / oc;
                    for ch in 0..oc {
                        let scale = p[0].values[ch] / (s[1].values[ch] + eps).sqrt();
                        for v in &mut w[ch * per..(ch + 1) * per] {
                            *v *= scale;
                        }
                        b[ch] = (b[ch] - s[0].values[ch]) * scale + p[1].values[ch];
                    }
                }
                let (fused, out_k) = fused_output(layers, k);
                let out_q = affine(out_k)?;
                let (kh, kw) = (kernel[0], kernel[1]);
                let depthwise = groups == c && groups > 1;
                if groups != 1 && !depthwise {
                    return unsupported("grouped convolution (only groups 1 or depthwise)");
                }
                // [O, I/g, kH, kW] -> [O, kH, kW, I] (depthwise: [1, kH, kW, O])
                let in_per = if depthwise { 1 } else { c };
                let (shape, axis, values): (Vec<i32>, usize, Vec<f32>) = if depthwise {
                    let v = (0..kh * kw * oc)
                        .map(|i| {
                            let (tap, o) = (i / oc, i % oc);
                            w[o * kh * kw + tap]
                        })
                        .collect();
                    (vec![1, int(kh), int(kw), int(oc)], 3, v)
                } else {
                    let v = (0..oc * kh * kw * in_per)
                        .map(|i| {
                            let (o, rest) = (i / (kh * kw * in_per), i % (kh * kw * in_per));
                            let (tap, ic) = (rest / in_per, rest % in_per);
                            w[(o * in_per + ic) * kh * kw + tap]
                        })
                        .collect();
                    (vec![int(oc), int(kh), int(kw), int(in_per)], 0, v)
                };
                let scales = channel_scales(&w, oc);
                let (wi, bi) = g.weights(
                    &format!("{prefix}conv{k}"),
                    shape,
                    axis,
                    &values,
                    &scales,
                    &b,
                    q.scale,
                );
                let out = g.activation(format!("{prefix}conv{k}/out"), nhwc(out_image), out_q);
                g.operators.push(Operator {
                    code: if depthwise { op::DEPTHWISE_CONV_2D } else { op::CONV_2D },
                    inputs: vec![current, wi, bi],
                    outputs: vec![out],
                    options: Options::Window {
                        padding: pad,
                        stride_w: int(stride[1]),
                        stride_h: int(stride[0]),
                        dilation_w: int(dilation[1]),
                        dilation_h: int(dilation[0]),
                        filter_w: 0,
                        filter_h: 0,
                        depth_multiplier: if depthwise { int(oc / c) } else { 0 },
                        fused,
                    },
                });
                (current, q, layout, k) =
                    (out, out_q, Layout::Image(out_image), next_layer(layers, out_k));
            }
            "maxpool2d" | "maxpool1d" | "avgpool2d" | "avgpool1d" => {
                let Layout::Image(_) = layout else { return unsupported("a pool on a vector") };
                let one_d = name.ends_with("1d");
                let kernel = window_pair(l, "kernel_size", 1, one_d)?;
                let stride = l
                    .attrs()
                    .get("stride")
                    .map_or(Ok(kernel), |_| window_pair(l, "stride", 1, one_d))?;
                if window_pair(l, "padding", 0, one_d)? != [0, 0] {
                    return unsupported("a padded pool");
                }
                let out_image =
                    image_of(l.output_shape()).ok_or("a pool's output is not an image")?;
                // TFLite's pools keep their input's quantisation
                let out = g.activation(format!("{prefix}pool{k}/out"), nhwc(out_image), q);
                g.operators.push(Operator {
                    code: if name.starts_with("max") {
                        op::MAX_POOL_2D
                    } else {
                        op::AVERAGE_POOL_2D
                    },
                    inputs: vec![current],
                    outputs: vec![out],
                    options: Options::Window {
                        padding: Padding::Valid,
                        stride_w: int(stride[1]),
                        stride_h: int(stride[0]),
                        dilation_w: 1,
                        dilation_h: 1,
                        filter_w: int(kernel[1]),
                        filter_h: int(kernel[0]),
                        depth_multiplier: 0,
                        fused: Fused::None,
                    },
                });
                (current, layout, k) = (out, Layout::Image(out_image), next_layer(layers, k + 1));
            }
            "flatten" => {
                if let Layout::Image(image) = layout {
                    layout = Layout::Flat(image);
                }
                k = next_layer(layers, k + 1);
            }
            "identity" => k = next_layer(layers, k + 1),
            "residual" => {
                // `x + body(x)`: the body on the same tensor, then TFLite's ADD (a ReLU after
                // the block fused into it)
                let Some(body) = l.body() else { return unsupported("a residual without body") };
                let per_row = l.input_shape().iter().product::<usize>().max(1);
                let rows: Vec<Vec<f32>> = values[k].chunks(per_row).map(<[f32]>::to_vec).collect();
                let body_values = activations(body, &rows);
                let name = format!("{prefix}residual{k}/");
                let (out, _, body_layout) =
                    chain(g, body, &body_values, method, &name, (current, q, layout))?;
                if body_layout != layout {
                    return unsupported("a body that changes the layout (flatten inside)");
                }
                let (fused, out_k) = fusion(layers, k);
                let out_q = affine(out_k)?;
                let dims = g.tensors[current as usize].shape.clone();
                let sum = g.activation(format!("{prefix}residual{k}/out"), dims, out_q);
                g.operators.push(Operator {
                    code: op::ADD,
                    inputs: vec![current, out],
                    outputs: vec![sum],
                    options: Options::Fused(fused),
                });
                (current, q, k) = (sum, out_q, next_layer(layers, out_k));
            }
            "relu" => {
                return unsupported("a ReLU that does not follow a dense layer or convolution")
            }
            _ => return unsupported("no int8 kernel for this layer yet"),
        }
    }
    Ok((current, q, layout))
}

/// Quantises `saved` with `calibration` raw rows (before standardisation; at least one).
pub fn quantize(
    saved: &SavedModel,
    calibration: &[&[f32]],
    method: Calibration,
) -> Result<Int8Model, String> {
    let model = &saved.model;
    if calibration.is_empty() {
        return Err("no calibration rows".into());
    }
    let rows: Vec<Vec<f32>> = calibration.iter().map(|r| saved.prepare(r)).collect();
    let values = activations(model, &rows);
    let input_range = range_of(&values[0], method);
    let mut g = Graph::default();
    let input_shape = model.input_shape();
    let layout = match image_of(input_shape) {
        Some(image) if input_shape.len() > 1 => Layout::Image(image),
        _ if input_shape.len() == 1 => Layout::Vector,
        _ => return Err(format!("input shape {input_shape:?}: [N], [C, L] or [C, H, W]")),
    };
    let nhwc = |[c, h, w]: [usize; 3]| vec![1, int(h), int(w), int(c)];
    let q = fixed_or_calibrated(&model.layers, &[input_range], 0)?;
    let input_dims = match layout {
        Layout::Image(image) => nhwc(image),
        _ => vec![1, int(model.inputs())],
    };
    let input = g.activation("input".into(), input_dims, q);
    let (current, _, layout) = chain(&mut g, model, &values, method, "", (input, q, layout))?;
    if layout != Layout::Vector {
        return Err("the model must end with a dense layer (its output is a vector)".into());
    }
    let graph = Model {
        tensors: g.tensors,
        operators: g.operators,
        inputs: vec![input],
        outputs: vec![current],
    };
    let bytes = crate::tflite::write::write(&graph).map_err(|e| e.to_string())?;
    let mut m = Int8Model::from_tflite(
        bytes,
        saved.task,
        saved.means.clone(),
        saved.stds.clone(),
        saved.columns.clone(),
    )?;
    (m.target_mean, m.target_std) = (saved.target_mean, saved.target_std);
    Ok(m)
}
