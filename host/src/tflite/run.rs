//! Runs a fully int8 `.tflite` model with the core's int8 kernels, op by op as LiteRT runs
//! it: `CONV_2D`, `DEPTHWISE_CONV_2D`, `MAX_POOL_2D`, `AVERAGE_POOL_2D`, `FULLY_CONNECTED`
//! (per-channel or per-tensor weights), `ADD` (same shapes) and `RESHAPE`; the int32 shape arithmetic a Keras
//! `Flatten` leaves (`SHAPE`, `STRIDED_SLICE`, `PACK`) is skipped, `RESHAPE` copies.
//! Requantisation rounds as LiteRT rounds each op (`neurite::quant::fixed_point::Rounding`).

use super::{op, Fused, Model, Operator, Options, Padding, Tensor, TfliteError, INT32, INT8};
use neurite::kernel::int8::{self, Geom2d, Requantize};
use neurite::quant::affine::Affine;
use neurite::quant::fixed_point::{per_channel_multiplier, per_tensor_multiplier, Rounding};
use std::collections::HashMap;

/// The most values a tensor may hold here (16 Mi), and the most multiply-accumulates an
/// op may take (256 Mi): a file that asks for more is refused, not run for hours.
pub const MAX_ELEMENTS: usize = 1 << 24;
/// See [`MAX_ELEMENTS`].
pub const MAX_MACS: usize = 1 << 28;

/// A tensor's element count, refused past [`MAX_ELEMENTS`].
fn elements(t: &Tensor) -> Result<usize, TfliteError> {
    t.shape
        .iter()
        .try_fold(1usize, |n, &d| n.checked_mul(usize::try_from(d).ok()?))
        .filter(|&n| n <= MAX_ELEMENTS)
        .ok_or_else(|| unsupported(format!("tensor '{}' of shape {:?}", t.name, t.shape)))
}

/// `SHAPE`, `STRIDED_SLICE`, `PACK`: int32 shape arithmetic, skipped.
const SHAPE_OPS: [i32; 3] = [77, 45, 83];

fn unsupported(what: String) -> TfliteError {
    TfliteError::Unsupported(what)
}

fn tensor(m: &Model, i: i32) -> Result<&Tensor, TfliteError> {
    usize::try_from(i)
        .ok()
        .and_then(|i| m.tensors.get(i))
        .ok_or_else(|| TfliteError::Malformed(format!("tensor {i} does not exist")))
}

/// The per-tensor quantisation of an activation tensor.
fn affine(t: &Tensor) -> Result<Affine, TfliteError> {
    match (t.scales.as_slice(), t.zero_points.as_slice()) {
        ([s], [z]) => Affine::new(*s, i32::try_from(*z).unwrap_or(i32::MAX))
            .ok_or_else(|| unsupported(format!("tensor '{}': scale {s}, zero point {z}", t.name))),
        _ => Err(unsupported(format!("tensor '{}' is not quantised per tensor", t.name))),
    }
}

/// The clamp a fused activation leaves on an output quantised as `out`.
fn clamp(fused: Fused, out: &Affine) -> Result<(i8, i8), TfliteError> {
    Ok(match fused {
        Fused::None => (-128, 127),
        Fused::Relu => out.relu_range(false),
        Fused::Relu6 => out.relu_range(true),
        Fused::ReluN1To1 => (out.quantize(-1.0), out.quantize(1.0)),
        Fused::Other(c) => return Err(unsupported(format!("fused activation {c}"))),
    })
}

/// `[1, h, w, c]` as `(h, w, c)`.
fn nhwc(t: &Tensor) -> Result<(usize, usize, usize), TfliteError> {
    match t.shape.as_slice() {
        [1, h, w, c] if *h > 0 && *w > 0 && *c > 0 && elements(t).is_ok() => {
            Ok((*h as usize, *w as usize, *c as usize))
        }
        s => Err(unsupported(format!("tensor '{}' has shape {s:?}, not [1, H, W, C]", t.name))),
    }
}

/// TFLite's padding before the input for one axis (`ComputePaddingHeightWidth`).
pub(crate) fn pad(
    padding: Padding,
    stride: usize,
    dilation: usize,
    input: usize,
    kernel: usize,
    output: usize,
) -> usize {
    match padding {
        Padding::Valid => 0,
        Padding::Same => {
            let effective = (kernel - 1) * dilation + 1;
            ((output - 1) * stride + effective).saturating_sub(input) / 2
        }
    }
}

/// Runs the model on one int8 input (its first input tensor's values); returns its first
/// output tensor's values.
pub fn run_int8(m: &Model, input: &[i8]) -> Result<Vec<i8>, TfliteError> {
    let first = *m.inputs.first().ok_or_else(|| unsupported("the model has no input".into()))?;
    let want = elements(tensor(m, first)?)?;
    if input.len() != want || tensor(m, first)?.dtype != INT8 {
        return Err(unsupported(format!(
            "the input holds {} values; the model takes {want} int8",
            input.len()
        )));
    }
    let mut values: HashMap<i32, Vec<i8>> = HashMap::from([(first, input.to_vec())]);
    for o in &m.operators {
        if SHAPE_OPS.contains(&o.code) {
            continue;
        }
        let x = o.inputs.first().and_then(|i| values.get(i)).ok_or_else(|| {
            unsupported(format!("operator {} reads a tensor not computed before it", o.code))
        })?;
        let out =
            *o.outputs.first().ok_or_else(|| unsupported("an operator without output".into()))?;
        let y = if o.code == op::ADD {
            let b = o.inputs.get(1).and_then(|i| values.get(i)).ok_or_else(|| {
                unsupported("an ADD whose second input is not computed before it".into())
            })?;
            run_add(m, o, out, x, b)?
        } else {
            run_op(m, o, out, x)?
        };
        values.insert(out, y);
    }
    let last = *m.outputs.first().ok_or_else(|| unsupported("the model has no output".into()))?;
    values.remove(&last).ok_or_else(|| unsupported("the output is never computed".into()))
}

fn run_op(m: &Model, o: &Operator, out: i32, x: &[i8]) -> Result<Vec<i8>, TfliteError> {
    let input_t = tensor(m, o.inputs[0])?;
    let output_t = tensor(m, out)?;
    let (input, output) = (affine(input_t)?, affine(output_t)?);
    let out_len = elements(output_t)?;
    let mut y = vec![0i8; out_len];
    if o.code == op::RESHAPE {
        if input != output || x.len() != out_len {
            return Err(unsupported("a RESHAPE that requantises or resizes".into()));
        }
        return Ok(x.to_vec());
    }
    let (Options::Window { .. } | Options::Fused(_)) = o.options else {
        return Err(unsupported(format!(
            "operator {} (only conv, depthwise conv, pools, fully connected, reshape)",
            o.code
        )));
    };
    if matches!(o.code, op::MAX_POOL_2D | op::AVERAGE_POOL_2D) {
        let Options::Window { fused, .. } = o.options else {
            return Err(TfliteError::Malformed("pool options".into()));
        };
        if input != output {
            return Err(unsupported("a pool that requantises".into()));
        }
        let g = geometry(m, o)?;
        let (min, max) = clamp(fused, &output)?;
        let pool = if o.code == op::MAX_POOL_2D { int8::max_pool2d } else { int8::avg_pool2d };
        pool(&g, x, min, max, &mut y);
        return Ok(y);
    }
    // weighted ops: weights, bias, per-channel or per-tensor multipliers
    let p = weighted(m, o)?;
    let rq = p.requantize();
    let channels = p.channels;
    let (bias, input) = (&p.bias, p.input);
    let weights = &p.weights;
    match (o.code, o.options) {
        (op::FULLY_CONNECTED, _) => {
            if weights.len() != channels * x.len() || out_len != channels {
                return Err(unsupported("a FULLY_CONNECTED with another batch or shape".into()));
            }
            int8::fully_connected(weights, bias, x, input.zero_point, &rq, &mut y);
        }
        (op::CONV_2D | op::DEPTHWISE_CONV_2D, Options::Window { .. }) => {
            let g = geometry(m, o)?;
            if o.code == op::CONV_2D {
                int8::conv2d(&g, weights, bias, x, input.zero_point, &rq, &mut y);
            } else {
                int8::depthwise_conv2d(&g, weights, bias, x, input.zero_point, &rq, &mut y);
            }
        }
        (code, _) => return Err(unsupported(format!("operator {code}"))),
    }
    Ok(y)
}

/// What a weighted op (`FULLY_CONNECTED`, `CONV_2D`, `DEPTHWISE_CONV_2D`) computes with,
/// read from its tensors as LiteRT reads them: the int8 weights, the int32 bias, the
/// multipliers per output channel (one per-tensor scale repeated), the input and output
/// quantisation, the fused activation's clamp and the op's rounding.
#[derive(Clone, Debug, PartialEq)]
pub struct Weighted {
    /// The weights (TFLite's layout).
    pub weights: Vec<i8>,
    /// The bias (empty when the op has none).
    pub bias: Vec<i32>,
    /// Q0.31 multipliers, one per output channel.
    pub multiplier: Vec<i32>,
    /// Their shifts.
    pub shift: Vec<i32>,
    /// Output channels.
    pub channels: usize,
    /// The input's quantisation.
    pub input: Affine,
    /// The output's quantisation.
    pub output: Affine,
    /// The fused activation's clamp.
    pub min: i8,
    /// See `min`.
    pub max: i8,
    /// LiteRT's requantisation for this op (measured, `tests/tests/litert_int8.rs`).
    pub rounding: Rounding,
}

impl Weighted {
    /// The requantisation the kernels take.
    pub fn requantize(&self) -> Requantize<'_> {
        Requantize {
            multiplier: &self.multiplier,
            shift: &self.shift,
            output_zero_point: self.output.zero_point,
            min: self.min,
            max: self.max,
            rounding: self.rounding,
        }
    }
}

/// The [`Weighted`] parameters of operator `o` of `m`.
pub fn weighted(m: &Model, o: &Operator) -> Result<Weighted, TfliteError> {
    let input_t = tensor(m, *o.inputs.first().unwrap_or(&-1))?;
    let output_t = tensor(m, *o.outputs.first().unwrap_or(&-1))?;
    let (input, output) = (affine(input_t)?, affine(output_t)?);
    let w = tensor(m, *o.inputs.get(1).unwrap_or(&-1))?;
    let bias = match o.inputs.get(2) {
        Some(&i) if i >= 0 => {
            let b = tensor(m, i)?;
            if b.dtype != INT32 {
                return Err(unsupported(format!("bias '{}' is not int32", b.name)));
            }
            b.i32s()
        }
        _ => Vec::new(),
    };
    if w.dtype != INT8 || w.zero_points.iter().any(|&z| z != 0) {
        return Err(unsupported(format!("weights '{}' are not symmetric int8", w.name)));
    }
    let per_channel = w.scales.len() > 1;
    if elements(w)? != w.data.len() {
        return Err(unsupported(format!("weights '{}' hold {} bytes", w.name, w.data.len())));
    }
    let (multiplier, shift): (Vec<i32>, Vec<i32>) = w
        .scales
        .iter()
        .map(|&ws| {
            let f = if per_channel { per_channel_multiplier } else { per_tensor_multiplier };
            f(input.scale, ws, output.scale)
                .ok_or_else(|| unsupported(format!("weight scale {ws}")))
        })
        .collect::<Result<Vec<_>, _>>()?
        .into_iter()
        .unzip();
    let channels = match o.code {
        op::DEPTHWISE_CONV_2D => w.shape.last(),
        _ => w.shape.first(),
    };
    let channels = channels
        .and_then(|&c| usize::try_from(c).ok())
        .filter(|&c| c > 0 && c <= MAX_ELEMENTS)
        .ok_or_else(|| unsupported(format!("weights '{}' of shape {:?}", w.name, w.shape)))?;
    let (multiplier, shift) = match multiplier.len() {
        1 => (vec![multiplier[0]; channels], vec![shift[0]; channels]),
        n if n == channels => (multiplier, shift),
        n => return Err(unsupported(format!("{n} weight scales for {channels} output channels"))),
    };
    let fused = match o.options {
        Options::Window { fused, .. } | Options::Fused(fused) => fused,
        Options::None => Fused::None,
    };
    let (min, max) = clamp(fused, &output)?;
    // LiteRT's requantisation per op (measured, tests/tests/litert_int8.rs)
    let rounding = if o.code == op::FULLY_CONNECTED { Rounding::Single } else { Rounding::Double };
    Ok(Weighted {
        weights: w.i8s(),
        bias,
        multiplier,
        shift,
        channels,
        input,
        output,
        min,
        max,
        rounding,
    })
}

/// The geometry of a windowed op (`CONV_2D`, `DEPTHWISE_CONV_2D`: the kernel from its
/// weights' shape; `MAX_POOL_2D`, `AVERAGE_POOL_2D`: from its options).
pub fn geometry(m: &Model, o: &Operator) -> Result<Geom2d, TfliteError> {
    let Options::Window {
        padding,
        stride_w,
        stride_h,
        dilation_w,
        dilation_h,
        filter_w,
        filter_h,
        ..
    } = o.options
    else {
        return Err(unsupported(format!("operator {} has no window", o.code)));
    };
    let input_t = tensor(m, *o.inputs.first().unwrap_or(&-1))?;
    let output_t = tensor(m, *o.outputs.first().unwrap_or(&-1))?;
    let kernel = match o.code {
        op::MAX_POOL_2D | op::AVERAGE_POOL_2D => (filter_h, filter_w),
        _ => match tensor(m, *o.inputs.get(1).unwrap_or(&-1))?.shape.as_slice() {
            [_, kh, kw, _] => (*kh, *kw),
            s => return Err(unsupported(format!("weights of shape {s:?}"))),
        },
    };
    let dilation = match o.code {
        op::MAX_POOL_2D | op::AVERAGE_POOL_2D => (1, 1),
        _ => (dilation_h, dilation_w),
    };
    window(input_t, output_t, padding, kernel, (stride_h, stride_w), dilation)
}

/// `ADD` of two int8 tensors of the same shape (no broadcasting), as LiteRT adds them.
fn run_add(m: &Model, o: &Operator, out: i32, a: &[i8], b: &[i8]) -> Result<Vec<i8>, TfliteError> {
    let (t1, t2, out_t) = (tensor(m, o.inputs[0])?, tensor(m, o.inputs[1])?, tensor(m, out)?);
    let n = elements(out_t)?;
    if t1.shape != out_t.shape || t2.shape != out_t.shape {
        return Err(unsupported("an ADD that broadcasts".into()));
    }
    let output = affine(out_t)?;
    let fused = match o.options {
        Options::Fused(f) => f,
        _ => Fused::None,
    };
    let p = int8::AddParams::from_scales(
        [affine(t1)?, affine(t2)?],
        output,
        clamp(fused, &output)?,
        ADD_ROUNDING,
    )
    .ok_or_else(|| unsupported("ADD scales".into()))?;
    let mut y = vec![0i8; n];
    int8::add(&p, a, b, &mut y);
    Ok(y)
}

/// How `ADD` requantises: TFLite's default (double) rounding. On the committed model both
/// roundings give LiteRT's outputs on all 60 rows (its data never reach a case where they
/// differ), so this choice is not yet confirmed against LiteRT.
const ADD_ROUNDING: Rounding = Rounding::Double;

/// The geometry of a windowed op from its tensors and options.
fn window(
    input: &Tensor,
    output: &Tensor,
    padding: Padding,
    kernel: (i32, i32),
    stride: (i32, i32),
    dilation: (i32, i32),
) -> Result<Geom2d, TfliteError> {
    let ((ih, iw, ic), (oh, ow, oc)) = (nhwc(input)?, nhwc(output)?);
    let positive = |v: i32| usize::try_from(v).ok().filter(|&v| v > 0);
    let (Some(kh), Some(kw), Some(sh), Some(sw), Some(dh), Some(dw)) = (
        positive(kernel.0),
        positive(kernel.1),
        positive(stride.0),
        positive(stride.1),
        positive(dilation.0),
        positive(dilation.1),
    ) else {
        return Err(unsupported(format!(
            "window {kernel:?}, stride {stride:?}, dilation {dilation:?}"
        )));
    };
    let taps = kh.checked_mul(kw).and_then(|t| t.checked_mul(ic));
    if taps.and_then(|t| t.checked_mul(oh * ow * oc)).is_none_or(|macs| macs > MAX_MACS) {
        return Err(unsupported(format!(
            "a {kh}x{kw} window over {ic} channels into {oh}x{ow}x{oc}"
        )));
    }
    Ok(Geom2d {
        in_h: ih,
        in_w: iw,
        in_c: ic,
        out_h: oh,
        out_w: ow,
        out_c: oc,
        kernel_h: kh,
        kernel_w: kw,
        stride_h: sh,
        stride_w: sw,
        pad_top: pad(padding, sh, dh, ih, kh, oh),
        pad_left: pad(padding, sw, dw, iw, kw, ow),
        dilation_h: dh,
        dilation_w: dw,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn t(name: &str, shape: &[i32], scale: f32, zero_point: i64) -> Tensor {
        Tensor {
            name: name.into(),
            shape: shape.to_vec(),
            dtype: INT8,
            data: Vec::new(),
            scales: vec![scale],
            zero_points: vec![zero_point],
            quantized_dimension: 0,
        }
    }

    /// `y = x + reshape(x)`: tensors 0 (input), 1 (the reshape), 2 (the sum).
    fn model(reshaped: &[i32], fused: Fused) -> Model {
        Model {
            tensors: vec![
                t("x", &[1, 4], 0.05, -10),
                t("r", reshaped, 0.05, -10),
                t("y", &[1, 4], 0.06, 3),
            ],
            operators: vec![
                Operator {
                    code: op::RESHAPE,
                    inputs: vec![0],
                    outputs: vec![1],
                    options: Options::None,
                },
                Operator {
                    code: op::ADD,
                    inputs: vec![0, 1],
                    outputs: vec![2],
                    options: Options::Fused(fused),
                },
            ],
            inputs: vec![0],
            outputs: vec![2],
        }
    }

    #[test]
    fn add_runs_with_its_fused_activation_and_refuses_broadcasting() {
        let x = [-128i8, -20, 0, 127];
        let plain = run_int8(&model(&[1, 4], Fused::None), &x).unwrap();
        let a = Affine::new(0.05, -10).unwrap();
        let p = int8::AddParams::from_scales(
            [a, a],
            Affine::new(0.06, 3).unwrap(),
            (-128, 127),
            ADD_ROUNDING,
        )
        .unwrap();
        let mut want = [0i8; 4];
        int8::add(&p, &x, &x, &mut want);
        assert_eq!(plain, want);
        assert!(plain[0] < 3, "{plain:?}");
        let relu = run_int8(&model(&[1, 4], Fused::Relu), &x).unwrap();
        assert_eq!(relu, plain.iter().map(|v| *v.max(&3)).collect::<Vec<_>>());
        // the second input of another shape (the same count): refused, not broadcast
        let err = run_int8(&model(&[4], Fused::None), &x).unwrap_err();
        assert_eq!(err, TfliteError::Unsupported("an ADD that broadcasts".into()));
        // an operator without output
        let mut none = model(&[1, 4], Fused::None);
        none.operators[1].outputs.clear();
        assert!(run_int8(&none, &x).is_err());
    }
}
