//! The core's int8 kernels against LiteRT, bit for bit: `tests/litert/digits_mlp_int8.tflite`
//! (a 64-32-10 MLP quantised by TensorFlow's converter, per-channel weights) and what LiteRT's
//! reference interpreter computed with it (`digits_mlp_int8.json`, from
//! `tests/litert/make_int8_reference.py`). Each FULLY_CONNECTED op, its multipliers derived
//! from the file's scales as TFLite derives them, reproduces the op's int8 outputs on every
//! recorded row, and the two ops chained reproduce the model's outputs. Likewise a CNN's
//! convolution, depthwise convolution, pooling and fully connected ops.
//!
//! LiteRT rounds differently per op (measured here, `quant::fixed_point::Rounding`): per-channel
//! FULLY_CONNECTED once (the CNN's head differs from double rounding on 5 of 600 outputs),
//! CONV_2D and DEPTHWISE_CONV_2D twice (single rounding differs on 7 of 10,240 and 9 of
//! 5,120 outputs of 20 rows).

use neurite::kernel::int8::{fully_connected, Requantize};
use neurite::quant::affine::Affine;
use neurite::quant::fixed_point::per_channel_multiplier;
use neurite::quant::fixed_point::Rounding;
use serde_json::Value;

/// One FULLY_CONNECTED op as the JSON records it, ready for the kernel.
struct Op {
    weights: Vec<i8>,
    bias: Vec<i32>,
    input_zero_point: i32,
    multiplier: Vec<i32>,
    shift: Vec<i32>,
    output_zero_point: i32,
    min: i8,
    inputs: Vec<Vec<i8>>,
    outputs: Vec<Vec<i8>>,
}

fn ints<T: TryFrom<i64>>(v: &Value) -> Vec<T>
where
    T::Error: std::fmt::Debug,
{
    v.as_array().unwrap().iter().map(|x| T::try_from(x.as_i64().unwrap()).unwrap()).collect()
}

fn rows<T: TryFrom<i64>>(v: &Value) -> Vec<Vec<T>>
where
    T::Error: std::fmt::Debug,
{
    v.as_array().unwrap().iter().map(ints).collect()
}

fn reference() -> Value {
    let path = concat!(env!("CARGO_MANIFEST_DIR"), "/litert/digits_mlp_int8.json");
    serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap()
}

fn op(layer: &Value) -> Op {
    let f = |k: &str| layer[k].as_f64().unwrap() as f32;
    let input_scale = f("input_scale");
    let output =
        Affine::new(f("output_scale"), layer["output_zero_point"].as_i64().unwrap() as i32)
            .unwrap();
    let weight_scales: Vec<f32> = layer["weight_scales"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s.as_f64().unwrap() as f32)
        .collect();
    assert!(ints::<i32>(&layer["weight_zero_points"]).iter().all(|&z| z == 0), "symmetric");
    let (multiplier, shift) = weight_scales
        .iter()
        .map(|&ws| per_channel_multiplier(input_scale, ws, output.scale).unwrap())
        .unzip();
    let relu = layer["activation"].as_str() == Some("relu");
    Op {
        weights: rows::<i8>(&layer["weights"]).concat(),
        bias: ints(&layer["bias"]),
        input_zero_point: layer["input_zero_point"].as_i64().unwrap() as i32,
        multiplier,
        shift,
        output_zero_point: output.zero_point,
        min: if relu { output.relu_range(false).0 } else { -128 },
        inputs: rows(&layer["inputs"]),
        outputs: rows(&layer["outputs"]),
    }
}

impl Op {
    fn run(&self, x: &[i8]) -> Vec<i8> {
        let rq = Requantize {
            multiplier: &self.multiplier,
            shift: &self.shift,
            output_zero_point: self.output_zero_point,
            min: self.min,
            max: 127,
            rounding: Rounding::Single,
        };
        let mut y = vec![0i8; self.bias.len()];
        fully_connected(&self.weights, &self.bias, x, self.input_zero_point, &rq, &mut y);
        y
    }
}

#[test]
fn every_fully_connected_op_gives_litert_reference_outputs() {
    let r = reference();
    let layers = r["layers"].as_array().unwrap();
    assert_eq!(layers.len(), 2);
    let mut compared = 0;
    for (k, layer) in layers.iter().enumerate() {
        let op = op(layer);
        assert_eq!(op.multiplier.len(), op.bias.len(), "per-channel weights");
        assert_eq!(op.inputs.len(), 60);
        for (row, (x, want)) in op.inputs.iter().zip(&op.outputs).enumerate() {
            assert_eq!(&op.run(x), want, "op {k}, row {row}");
            compared += want.len();
        }
    }
    assert_eq!(compared, 60 * (32 + 10));
}

#[test]
fn the_chained_model_gives_litert_model_outputs() {
    let r = reference();
    let ops: Vec<Op> = r["layers"].as_array().unwrap().iter().map(op).collect();
    let xs: Vec<Vec<i8>> = rows(&r["x"]);
    let want: Vec<Vec<i8>> = rows(&r["output"]);
    // the model's input quantisation is the first op's input
    assert_eq!(r["input_zero_point"].as_i64(), Some(i64::from(ops[0].input_zero_point)));
    let mut changed = 0;
    for (x, want) in xs.iter().zip(&want) {
        let hidden = ops[0].run(x);
        assert_eq!(&ops[1].run(&hidden), want);
        // the ReLU's clamp is at work: some hidden units sit at the zero point
        changed += hidden.iter().filter(|&&h| i32::from(h) == ops[0].output_zero_point).count();
    }
    assert!(changed > 0);
}

/// The float inputs quantise as the generator quantised them for LiteRT
/// (`clip(round(x / scale) + zero_point)`, numpy's round is half to even, ties do not occur
/// at these pixel values): `Affine::quantize` gives the same int8 rows from the digits.
#[test]
fn float_pixels_quantise_to_the_recorded_inputs() {
    let r = reference();
    let input = Affine::new(
        r["input_scale"].as_f64().unwrap() as f32,
        r["input_zero_point"].as_i64().unwrap() as i32,
    )
    .unwrap();
    let data = neurite_host::data::shipped_digits().unwrap();
    let xs: Vec<Vec<i8>> = rows(&r["x"]);
    for (k, x) in xs.iter().enumerate() {
        let pixels = data.row(30 * k);
        let q: Vec<i8> = pixels.iter().map(|&p| input.quantize(p / 16.0)).collect();
        assert_eq!(&q, x, "row {}", 30 * k);
    }
}

/// The CNN's reference (`tests/litert/make_int8_cnn_reference.py`): CONV_2D (ReLU),
/// MAX_POOL_2D, DEPTHWISE_CONV_2D (depth multiplier 2, ReLU), AVERAGE_POOL_2D, RESHAPE and
/// FULLY_CONNECTED, each op's int8 input and output on 60 rows.
mod cnn {
    use super::*;
    use neurite::kernel::int8::{avg_pool2d, conv2d, depthwise_conv2d, max_pool2d, Geom2d};

    fn reference() -> Value {
        let path = concat!(env!("CARGO_MANIFEST_DIR"), "/litert/digits_cnn_int8.json");
        serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap()
    }

    fn affine(t: &Value) -> Affine {
        Affine::new(
            t["scales"][0].as_f64().unwrap() as f32,
            t["zero_points"][0].as_i64().unwrap() as i32,
        )
        .unwrap()
    }

    fn shape(t: &Value) -> Vec<usize> {
        t["shape"].as_array().unwrap().iter().map(|d| d.as_u64().unwrap() as usize).collect()
    }

    /// The geometry of an op on NHWC tensors: `SAME` padding as TFLite computes it.
    fn geom(op: &Value, kernel: (usize, usize)) -> Geom2d {
        let (i, o) = (shape(&op["input"]), shape(&op["output"]));
        let stride = op["stride"].as_u64().unwrap() as usize;
        let pad = |in_size: usize, out_size: usize, k: usize| match op["padding"].as_str() {
            Some("same") => ((out_size - 1) * stride + k).saturating_sub(in_size) / 2,
            _ => 0,
        };
        Geom2d {
            in_h: i[1],
            in_w: i[2],
            in_c: i[3],
            out_h: o[1],
            out_w: o[2],
            out_c: o[3],
            kernel_h: kernel.0,
            kernel_w: kernel.1,
            stride_h: stride,
            stride_w: stride,
            pad_top: pad(i[1], o[1], kernel.0),
            pad_left: pad(i[2], o[2], kernel.1),
            dilation_h: 1,
            dilation_w: 1,
        }
    }

    /// How LiteRT requantises `op` (measured: the module documentation).
    fn litert_rounding(op: &str) -> Rounding {
        if op == "FULLY_CONNECTED" {
            Rounding::Single
        } else {
            Rounding::Double
        }
    }

    /// Runs one recorded op on `x` with the core's kernels.
    fn run(op: &Value, x: &[i8]) -> Vec<i8> {
        let (input, output) = (affine(&op["input"]), affine(&op["output"]));
        let out_len: usize = shape(&op["output"]).iter().product();
        let mut y = vec![0i8; out_len];
        let relu = op["activation"].as_str() == Some("relu");
        let min = if relu { output.relu_range(false).0 } else { -128 };
        let name = op["op"].as_str().unwrap();
        if matches!(name, "MAX_POOL_2D" | "AVERAGE_POOL_2D") {
            let window = op["window"].as_u64().unwrap() as usize;
            assert_eq!((input, min), (output, -128), "{name}: pooling keeps the quantisation");
            let g = geom(op, (window, window));
            let pool = if name == "MAX_POOL_2D" { max_pool2d } else { avg_pool2d };
            pool(&g, x, -128, 127, &mut y);
            return y;
        }
        if name == "RESHAPE" {
            assert_eq!(input, output);
            return x.to_vec();
        }
        let w = &op["weights"];
        let values: Vec<i8> = ints(&w["values"]);
        let scales: Vec<f32> =
            w["scales"].as_array().unwrap().iter().map(|s| s.as_f64().unwrap() as f32).collect();
        assert!(ints::<i32>(&w["zero_points"]).iter().all(|&z| z == 0), "symmetric weights");
        let (multiplier, shift): (Vec<i32>, Vec<i32>) = scales
            .iter()
            .map(|&ws| per_channel_multiplier(input.scale, ws, output.scale).unwrap())
            .unzip();
        let bias: Vec<i32> = ints(&op["bias"]);
        let rq = Requantize {
            multiplier: &multiplier,
            shift: &shift,
            output_zero_point: output.zero_point,
            min,
            max: 127,
            rounding: litert_rounding(name),
        };
        let ws = shape(w);
        let zp = input.zero_point;
        match name {
            "CONV_2D" => conv2d(&geom(op, (ws[1], ws[2])), &values, &bias, x, zp, &rq, &mut y),
            "DEPTHWISE_CONV_2D" => {
                depthwise_conv2d(&geom(op, (ws[1], ws[2])), &values, &bias, x, zp, &rq, &mut y);
            }
            "FULLY_CONNECTED" => fully_connected(&values, &bias, x, zp, &rq, &mut y),
            other => panic!("op {other} is not in the int8 kernels"),
        }
        y
    }

    #[test]
    fn every_cnn_op_gives_litert_reference_outputs() {
        let r = reference();
        let ops = r["ops"].as_array().unwrap();
        let names: Vec<&str> = ops.iter().map(|o| o["op"].as_str().unwrap()).collect();
        assert_eq!(
            names,
            [
                "CONV_2D",
                "MAX_POOL_2D",
                "DEPTHWISE_CONV_2D",
                "AVERAGE_POOL_2D",
                "RESHAPE",
                "FULLY_CONNECTED"
            ]
        );
        for op in ops {
            let (xs, want): (Vec<Vec<i8>>, Vec<Vec<i8>>) =
                (rows(&op["inputs"]), rows(&op["outputs"]));
            assert_eq!(xs.len(), 60);
            for (row, (x, want)) in xs.iter().zip(&want).enumerate() {
                assert_eq!(&run(op, x), want, "{}, row {row}", op["op"]);
            }
        }
    }

    #[test]
    fn the_chained_cnn_gives_litert_model_outputs() {
        let r = reference();
        let ops = r["ops"].as_array().unwrap();
        let (xs, want): (Vec<Vec<i8>>, Vec<Vec<i8>>) = (rows(&r["x"]), rows(&r["output"]));
        for (x, want) in xs.iter().zip(&want) {
            let y = ops.iter().fold(x.clone(), |v, op| run(op, &v));
            assert_eq!(&y, want);
        }
    }
}

/// The committed `.tflite` files read by `neurite_host::tflite` (a checked FlatBuffers
/// reader) and run by the core's kernels op by op: LiteRT's outputs on every recorded row,
/// with every parameter (weights, biases, scales, zero points, strides, padding, fused
/// activations) taken from the file itself.
#[test]
fn the_tflite_files_run_to_litert_outputs() {
    use neurite_host::tflite::{self, op, run::run_int8};
    let dir = concat!(env!("CARGO_MANIFEST_DIR"), "/litert/");
    for (name, codes) in [
        ("digits_mlp_int8", vec![op::FULLY_CONNECTED, op::FULLY_CONNECTED]),
        (
            "digits_add_int8",
            vec![op::FULLY_CONNECTED, op::FULLY_CONNECTED, op::ADD, op::FULLY_CONNECTED],
        ),
        (
            "digits_cnn_int8",
            vec![
                op::CONV_2D,
                op::MAX_POOL_2D,
                op::DEPTHWISE_CONV_2D,
                op::AVERAGE_POOL_2D,
                op::RESHAPE,
                op::FULLY_CONNECTED,
            ],
        ),
    ] {
        let bytes = std::fs::read(format!("{dir}{name}.tflite")).unwrap();
        let model = tflite::read(&bytes).unwrap();
        let ran: Vec<i32> =
            model.operators.iter().map(|o| o.code).filter(|c| codes.contains(c)).collect();
        assert_eq!(ran, codes, "{name}");
        let r: Value =
            serde_json::from_str(&std::fs::read_to_string(format!("{dir}{name}.json")).unwrap())
                .unwrap();
        let (xs, want): (Vec<Vec<i8>>, Vec<Vec<i8>>) = (rows(&r["x"]), rows(&r["output"]));
        for (k, (x, want)) in xs.iter().zip(&want).enumerate() {
            assert_eq!(&run_int8(&model, x).unwrap(), want, "{name}, row {k}");
        }
        // every byte cut short or flipped: an error or a model, never a panic
        for n in (0..bytes.len()).step_by(7) {
            let _ = tflite::read(&bytes[..n]);
        }
        for i in (0..bytes.len()).step_by(3) {
            let mut c = bytes.clone();
            c[i] ^= 0xA5;
            if let Ok(m) = tflite::read(&c) {
                let _ = run_int8(&m, &xs[0]);
            }
        }
    }
}
