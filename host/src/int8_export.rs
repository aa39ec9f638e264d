//! `neurite export --rust` of an int8 model: a `no_std` Rust module for firmware with the
//! model's fully connected layers and convolutions packed for the Cortex-M4's DSP kernels
//! (`neurite::kernel::int8_packed`: weights, bias and requantisation in one word-aligned
//! static per layer, in flash), its pools, its input quantisation and standardisation, and
//! a `run` that computes what LiteRT computes, byte for byte (`firmware/src/bin/int8.rs`
//! checks it against LiteRT's outputs in QEMU).
//!
//! Graphs that are a chain of `FULLY_CONNECTED`, `CONV_2D`, `MAX_POOL_2D` and
//! `AVERAGE_POOL_2D` ops (what `neurite quantize` makes of an MLP or a CNN without
//! depthwise convolutions or residual blocks).

use crate::int8_model::Int8Model;
use crate::tflite::run::{geometry, weighted};
use crate::tflite::{op, Fused, Options};
use neurite::kernel::int8::Geom2d;
use neurite::kernel::int8_packed::{pack, packed_len, padded_cols};
use std::fmt::Write as _;

/// One op of the chain.
enum Step {
    /// A fully connected layer or a convolution (`geometry`), packed.
    Packed {
        packed: Vec<i8>,
        rows: usize,
        cols: usize,
        geometry: Option<Geom2d>,
        input_zero_point: i32,
        zero_point: i32,
        min: i8,
        max: i8,
    },
    /// A max (`true`) or average pool.
    Pool { max_pool: bool, geometry: Geom2d, min: i8, max: i8 },
}

/// The ops of a chain, each reading the one before, with their output lengths.
fn chain(m: &Int8Model) -> Result<Vec<(Step, usize)>, String> {
    let g = &m.graph;
    let mut current = *g.inputs.first().ok_or("the model has no input")?;
    let mut steps = Vec::new();
    for (i, o) in g.operators.iter().enumerate() {
        let supported = [op::FULLY_CONNECTED, op::CONV_2D, op::MAX_POOL_2D, op::AVERAGE_POOL_2D];
        if !supported.contains(&o.code) || o.inputs.first() != Some(&current) {
            return Err(format!(
                "operator {} (code {}): the Rust export takes chains of fully connected layers, \
                 convolutions and pools for now",
                i + 1,
                o.code
            ));
        }
        let out_len = g
            .tensors
            .get(usize::try_from(*o.outputs.first().unwrap_or(&-1)).unwrap_or(usize::MAX))
            .map(|t| t.shape.iter().map(|&d| d.max(0) as usize).product::<usize>())
            .ok_or("an operator without output")?;
        let step = if matches!(o.code, op::MAX_POOL_2D | op::AVERAGE_POOL_2D) {
            let window = geometry(g, o).map_err(|e| e.to_string())?;
            let out = m.graph.tensors[usize::try_from(o.outputs[0]).unwrap_or(0)].clone();
            let zp = out.zero_points.first().copied().unwrap_or(0);
            let (min, max) = match o.options {
                Options::Window { fused: Fused::None, .. } => (-128, 127),
                Options::Window { fused: Fused::Relu, .. } => (zp.clamp(-128, 127) as i8, 127),
                _ => return Err(format!("operator {}: a pool's fused activation", i + 1)),
            };
            Step::Pool { max_pool: o.code == op::MAX_POOL_2D, geometry: window, min, max }
        } else {
            let p = weighted(g, o).map_err(|e| e.to_string())?;
            let (rows, cols) = (p.channels, p.weights.len() / p.channels.max(1));
            let bias = if p.bias.is_empty() { vec![0; rows] } else { p.bias.clone() };
            let mut packed = vec![0i8; packed_len(rows, cols)];
            pack(&p.weights, rows, cols, &bias, &p.requantize(), &mut packed)
                .map_err(|e| format!("operator {}: cannot be packed: {e:?}", i + 1))?;
            let window = match o.code {
                op::CONV_2D => Some(geometry(g, o).map_err(|e| e.to_string())?),
                _ => None,
            };
            Step::Packed {
                packed,
                rows,
                cols,
                geometry: window,
                input_zero_point: p.input.zero_point,
                zero_point: p.output.zero_point,
                min: p.min,
                max: p.max,
            }
        };
        steps.push((step, out_len));
        current = *o.outputs.first().ok_or("an operator without output")?;
    }
    if g.outputs.first() != Some(&current) || steps.is_empty() {
        return Err("the last op is not the model's output".into());
    }
    Ok(steps)
}

/// Source text of a geometry.
fn geometry_text(g: &Geom2d) -> String {
    format!(
        "Geom2d {{ in_h: {}, in_w: {}, in_c: {}, out_h: {}, out_w: {}, out_c: {}, kernel_h: {}, \
         kernel_w: {}, stride_h: {}, stride_w: {}, pad_top: {}, pad_left: {}, dilation_h: {}, \
         dilation_w: {} }}",
        g.in_h,
        g.in_w,
        g.in_c,
        g.out_h,
        g.out_w,
        g.out_c,
        g.kernel_h,
        g.kernel_w,
        g.stride_h,
        g.stride_w,
        g.pad_top,
        g.pad_left,
        g.dilation_h,
        g.dilation_w
    )
}

fn list<T: std::fmt::Display>(values: impl IntoIterator<Item = T>) -> String {
    values.into_iter().map(|v| v.to_string()).collect::<Vec<_>>().join(", ")
}

/// `f32` source text that reads back as the same bits.
fn float(v: f32) -> String {
    format!("f32::from_bits({:#010x})", v.to_bits())
}

/// The Rust module of `m` (see the module documentation); `source` names where it came
/// from.
pub fn rust_module(m: &Int8Model, source: &str) -> Result<String, String> {
    let steps = chain(m)?;
    let inputs = m.inputs();
    let outputs = steps.last().map_or(0, |(_, n)| *n);
    let widest = steps.iter().map(|(_, n)| *n).max().unwrap_or(0);
    let packed_steps = || {
        steps.iter().filter_map(|(s, _)| match s {
            Step::Packed { packed, rows, cols, geometry, .. } => {
                Some((packed, rows, cols, geometry))
            }
            Step::Pool { .. } => None,
        })
    };
    let scratch = packed_steps().map(|(_, _, c, _)| padded_cols(*c)).max().unwrap_or(8);
    let flash: usize = packed_steps().map(|(p, _, _, _)| p.len()).sum();
    let macs: usize =
        packed_steps().map(|(_, r, c, g)| r * c * g.map_or(1, |g| g.out_h * g.out_w)).sum();
    let channels = match m.input_shape.as_slice() {
        [c, _, _] => *c,
        _ => 1,
    };
    let mut s = String::new();
    let w = &mut s;
    let _ = writeln!(
        w,
        "//! int8 model exported from `{source}` by `neurite export --rust` (generated)."
    );
    let _ = writeln!(w, "//! {} ops, {macs} MACs; packed for `neurite::kernel::int8_packed`: {flash} bytes of flash.", steps.len());
    let _ = writeln!(w, "#[allow(unused_imports)]\nuse neurite::kernel::int8::{{self, Geom2d}};");
    let _ = writeln!(w, "use neurite::kernel::int8_packed::{{self, Output}};");
    let _ = writeln!(w, "use neurite::quant::affine::Affine;\n");
    let _ = writeln!(w, "/// A packed layer, word-aligned (the DSP kernels' `ldrd`).\n#[repr(C, align(4))]\npub struct Packed<const N: usize>(pub [i8; N]);\n");
    let _ = writeln!(w, "/// Values per input row.\npub const INPUTS: usize = {inputs};");
    let _ = writeln!(w, "/// Input channels (a row is `CHANNELS x H x W`; the graph takes it channels last).\npub const CHANNELS: usize = {channels};");
    let _ = writeln!(w, "/// Values per output.\npub const OUTPUTS: usize = {outputs};");
    let _ = writeln!(w, "/// Multiply-accumulates per inference.\npub const MACS: usize = {macs};");
    let _ = writeln!(w, "/// Bytes of the packed layers.\npub const FLASH_BYTES: usize = {flash};");
    let _ = writeln!(w, "/// The widest activation.\npub const WIDEST: usize = {widest};");
    let _ = writeln!(w, "/// The widened inputs of the widest layer (`int8_packed::padded_cols`).\npub const SCRATCH: usize = {scratch};");
    let _ = writeln!(w, "/// Room for a layer's widened inputs, word-aligned (the DSP kernels' `ldrd`).\n#[repr(C, align(4))]\npub struct Scratch(pub [i16; SCRATCH]);");
    let (i, o) = (m.input(), m.output());
    let _ = writeln!(w, "/// The input tensor's quantisation.\npub const INPUT: Affine = Affine {{ scale: {}, zero_point: {} }};", float(i.scale), i.zero_point);
    let _ = writeln!(w, "/// The output tensor's quantisation.\npub const OUTPUT: Affine = Affine {{ scale: {}, zero_point: {} }};", float(o.scale), o.zero_point);
    let n = m.means.len();
    let _ = writeln!(w, "/// Feature means (empty: rows are used as they are).\npub const MEANS: [f32; {n}] = [{}];", list(m.means.iter().map(|&v| float(v))));
    let _ = writeln!(
        w,
        "/// Feature standard deviations.\npub const STDS: [f32; {n}] = [{}];\n",
        list(m.stds.iter().map(|&v| float(v)))
    );
    for (k, (step, _)) in steps.iter().enumerate() {
        match step {
            Step::Packed { packed, rows, cols, geometry, zero_point, min, max, .. } => {
                let _ = writeln!(w, "/// Op {k}: {cols} -> {rows}{}.\npub static LAYER_{k}: Packed<{}> = Packed([{}]);", if geometry.is_some() { " per position" } else { "" }, packed.len(), list(packed));
                let _ = writeln!(w, "const OUTPUT_{k}: Output = Output {{ zero_point: {zero_point}, min: {min}, max: {max} }};");
                if let Some(g) = geometry {
                    let _ = writeln!(w, "const GEOMETRY_{k}: Geom2d = {};", geometry_text(g));
                }
                let _ = writeln!(w);
            }
            Step::Pool { geometry, .. } => {
                let _ = writeln!(w, "const GEOMETRY_{k}: Geom2d = {};\n", geometry_text(geometry));
            }
        }
    }
    let _ = writeln!(
        w,
        "/// A raw row (`CHANNELS x H x W`) standardised and quantised as the model's input,"
    );
    let _ = writeln!(w, "/// channels last (`q = clamp(round(x / scale) + zero_point)`).");
    let _ = writeln!(w, "pub fn quantize(raw: &[f32; INPUTS], x: &mut [i8; INPUTS]) {{");
    let _ = writeln!(w, "    for (i, x) in x.iter_mut().enumerate() {{");
    let _ = writeln!(w, "        let at = (i % CHANNELS) * (INPUTS / CHANNELS) + i / CHANNELS;");
    let _ = writeln!(w, "        let v = match (MEANS.get(at), STDS.get(at)) {{ (Some(m), Some(s)) => (raw[at] - m) / s, _ => raw[at] }};");
    let _ = writeln!(w, "        *x = INPUT.quantize(v);\n    }}\n}}\n");
    let _ = writeln!(
        w,
        "/// The int8 output for a quantised input (`scratch`: the widened inputs of a layer)."
    );
    let _ = writeln!(
        w,
        "pub fn run(x: &[i8; INPUTS], scratch: &mut Scratch, y: &mut [i8; OUTPUTS]) {{"
    );
    let _ = writeln!(w, "    let (mut a, mut b) = ([0i8; WIDEST], [0i8; WIDEST]);");
    let last = steps.len() - 1;
    for (k, (step, len)) in steps.iter().enumerate() {
        let input = match k {
            0 => "x".to_string(),
            k if k % 2 == 1 => format!("&a[..{}]", steps[k - 1].1),
            _ => format!("&b[..{}]", steps[k - 1].1),
        };
        let output = match k {
            k if k == last => "y".to_string(),
            k if k % 2 == 0 => format!("&mut a[..{len}]"),
            _ => format!("&mut b[..{len}]"),
        };
        let _ = match step {
            Step::Packed { geometry: None, input_zero_point, .. } => writeln!(w, "    int8_packed::fully_connected(&LAYER_{k}.0, {input}, {input_zero_point}, &OUTPUT_{k}, &mut scratch.0, {output});"),
            Step::Packed { geometry: Some(_), input_zero_point, .. } => writeln!(w, "    int8_packed::conv2d(&GEOMETRY_{k}, &LAYER_{k}.0, {input}, {input_zero_point}, &OUTPUT_{k}, &mut scratch.0, {output});"),
            Step::Pool { max_pool, min, max, .. } => writeln!(w, "    int8::{}(&GEOMETRY_{k}, {input}, {min}, {max}, {output});", if *max_pool { "max_pool2d" } else { "avg_pool2d" }),
        };
    }
    let _ = writeln!(w, "    let _ = (&mut a, &mut b);\n}}");
    Ok(s)
}
