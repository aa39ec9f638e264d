//! `neurite export --rust` of an int8 model: a `no_std` Rust module for firmware with the
//! model's fully connected layers packed for the Cortex-M4's DSP kernels
//! (`neurite::kernel::int8_packed`: weights, bias and requantisation in one word-aligned
//! static per layer, in flash), its input quantisation and standardisation, and a `run`
//! that computes what LiteRT computes, byte for byte (`firmware/src/bin/int8.rs` checks it
//! against LiteRT's outputs in QEMU).
//!
//! Models whose graph is a chain of `FULLY_CONNECTED` ops (what `neurite quantize` makes of
//! an MLP); convolutions are not exported yet.

use crate::int8_model::Int8Model;
use crate::tflite::op;
use crate::tflite::run::weighted;
use neurite::kernel::int8_packed::{pack, packed_len, padded_cols};
use std::fmt::Write as _;

/// One packed layer of the chain.
struct Layer {
    packed: Vec<i8>,
    rows: usize,
    cols: usize,
    input_zero_point: i32,
    zero_point: i32,
    min: i8,
    max: i8,
}

/// The layers of a chain of fully connected ops, each reading the one before.
fn chain(m: &Int8Model) -> Result<Vec<Layer>, String> {
    let g = &m.graph;
    let mut current = *g.inputs.first().ok_or("the model has no input")?;
    let mut layers = Vec::new();
    for (i, o) in g.operators.iter().enumerate() {
        if o.code != op::FULLY_CONNECTED || o.inputs.first() != Some(&current) {
            return Err(format!(
                "operator {} (code {}): the Rust export takes chains of fully connected layers \
                 (an MLP) for now",
                i + 1,
                o.code
            ));
        }
        let p = weighted(g, o).map_err(|e| e.to_string())?;
        let (rows, cols) = (p.channels, p.weights.len() / p.channels.max(1));
        let bias = if p.bias.is_empty() { vec![0; rows] } else { p.bias.clone() };
        let mut packed = vec![0i8; packed_len(rows, cols)];
        pack(&p.weights, rows, cols, &bias, &p.requantize(), &mut packed)
            .map_err(|e| format!("operator {}: cannot be packed: {e:?}", i + 1))?;
        layers.push(Layer {
            packed,
            rows,
            cols,
            input_zero_point: p.input.zero_point,
            zero_point: p.output.zero_point,
            min: p.min,
            max: p.max,
        });
        current = *o.outputs.first().ok_or("an operator without output")?;
    }
    if g.outputs.first() != Some(&current) || layers.is_empty() {
        return Err("the last fully connected layer is not the model's output".into());
    }
    Ok(layers)
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
    let layers = chain(m)?;
    let inputs = m.inputs();
    let outputs = layers.last().map_or(0, |l| l.rows);
    let widest = layers.iter().map(|l| l.rows).max().unwrap_or(0);
    let scratch = layers.iter().map(|l| padded_cols(l.cols)).max().unwrap_or(0);
    let flash: usize = layers.iter().map(|l| l.packed.len()).sum();
    let macs: usize = layers.iter().map(|l| l.rows * l.cols).sum();
    let mut s = String::new();
    let w = &mut s;
    let _ = writeln!(
        w,
        "//! int8 model exported from `{source}` by `neurite export --rust` (generated)."
    );
    let _ = writeln!(w, "//! {} fully connected layers, {macs} MACs; packed for `neurite::kernel::int8_packed`: {flash} bytes of flash.", layers.len());
    let _ = writeln!(w, "use neurite::kernel::int8_packed::{{self, Output}};");
    let _ = writeln!(w, "use neurite::quant::affine::Affine;\n");
    let _ = writeln!(w, "/// A packed layer, word-aligned (the DSP kernels' `ldrd`).\n#[repr(C, align(4))]\npub struct Packed<const N: usize>(pub [i8; N]);\n");
    let _ = writeln!(w, "/// Values per input row.\npub const INPUTS: usize = {inputs};");
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
    for (k, l) in layers.iter().enumerate() {
        let _ = writeln!(
            w,
            "/// Layer {k}: {} -> {}.\npub static LAYER_{k}: Packed<{}> = Packed([{}]);",
            l.cols,
            l.rows,
            l.packed.len(),
            list(&l.packed)
        );
        let _ = writeln!(
            w,
            "const OUTPUT_{k}: Output = Output {{ zero_point: {}, min: {}, max: {} }};\n",
            l.zero_point, l.min, l.max
        );
    }
    let _ = writeln!(w, "/// A raw row standardised and quantised as the model's input (`q = clamp(round(x / scale) + zero_point)`).");
    let _ = writeln!(w, "pub fn quantize(raw: &[f32; INPUTS], x: &mut [i8; INPUTS]) {{");
    let _ = writeln!(w, "    for (i, (x, &v)) in x.iter_mut().zip(raw).enumerate() {{");
    let _ = writeln!(w, "        let v = match (MEANS.get(i), STDS.get(i)) {{ (Some(m), Some(s)) => (v - m) / s, _ => v }};");
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
    let last = layers.len() - 1;
    for (k, l) in layers.iter().enumerate() {
        let input = match k {
            0 => "x".to_string(),
            k if k % 2 == 1 => format!("&a[..{}]", layers[k - 1].rows),
            _ => format!("&b[..{}]", layers[k - 1].rows),
        };
        let output = match k {
            k if k == last => "y".to_string(),
            k if k % 2 == 0 => format!("&mut a[..{}]", l.rows),
            _ => format!("&mut b[..{}]", l.rows),
        };
        let _ = writeln!(w, "    int8_packed::fully_connected(&LAYER_{k}.0, {input}, {}, &OUTPUT_{k}, &mut scratch.0, {output});", l.input_zero_point);
    }
    let _ = writeln!(w, "    let _ = (&mut a, &mut b);\n}}");
    Ok(s)
}
