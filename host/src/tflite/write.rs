//! Writing a [`Model`] as a `.tflite` file (TFLite's `schema.fbs`, schema version 3), with
//! the `flatbuffers` crate's builder: what `neurite quantize` makes, and `neurite export
//! --tflite` writes, so that LiteRT runs neurite's int8 models (`tests/litert/`).
//!
//! One buffer per constant tensor (buffer 0 is the empty sentinel the schema asks for);
//! operator versions are those TensorFlow 2.21's converter gives int8 ops.

use super::{op, Fused, Model, Options, Padding, TfliteError};
use flatbuffers::{FlatBufferBuilder, UnionWIPOffset, WIPOffset};

/// The field's slot in its table's vtable (`4 + 2 * id`).
const fn slot(id: u16) -> u16 {
    4 + 2 * id
}

/// The `BuiltinOptions` union tag of each op's options table, and the op's version (as
/// TensorFlow's converter writes them for int8).
fn options_type_and_version(code: i32) -> Result<(u8, i32), TfliteError> {
    Ok(match code {
        op::CONV_2D => (1, 3),
        op::DEPTHWISE_CONV_2D => (2, 3),
        op::MAX_POOL_2D | op::AVERAGE_POOL_2D => (5, 2),
        op::FULLY_CONNECTED => (8, 4),
        op::ADD => (11, 2),
        op::RESHAPE => (0, 1),
        other => {
            return Err(TfliteError::Unsupported(format!("writing operator {other}")));
        }
    })
}

fn fused_code(f: Fused) -> i8 {
    match f {
        Fused::None => 0,
        Fused::Relu => 1,
        Fused::ReluN1To1 => 2,
        Fused::Relu6 => 3,
        Fused::Other(c) => c,
    }
}

fn padding_code(p: Padding) -> i8 {
    match p {
        Padding::Same => 0,
        Padding::Valid => 1,
    }
}

/// The options table of an operator with `code` (none for `RESHAPE`).
fn options<'b>(
    b: &mut FlatBufferBuilder<'b>,
    code: i32,
    options: Options,
) -> Option<WIPOffset<UnionWIPOffset>> {
    let start = b.start_table();
    match (code, options) {
        (
            op::CONV_2D,
            Options::Window { padding, stride_w, stride_h, dilation_w, dilation_h, fused, .. },
        ) => {
            b.push_slot::<i8>(slot(0), padding_code(padding), 0);
            b.push_slot::<i32>(slot(1), stride_w, 0);
            b.push_slot::<i32>(slot(2), stride_h, 0);
            b.push_slot::<i8>(slot(3), fused_code(fused), 0);
            b.push_slot::<i32>(slot(4), dilation_w, 1);
            b.push_slot::<i32>(slot(5), dilation_h, 1);
        }
        (
            op::DEPTHWISE_CONV_2D,
            Options::Window {
                padding,
                stride_w,
                stride_h,
                dilation_w,
                dilation_h,
                depth_multiplier,
                fused,
                ..
            },
        ) => {
            b.push_slot::<i8>(slot(0), padding_code(padding), 0);
            b.push_slot::<i32>(slot(1), stride_w, 0);
            b.push_slot::<i32>(slot(2), stride_h, 0);
            b.push_slot::<i32>(slot(3), depth_multiplier, 0);
            b.push_slot::<i8>(slot(4), fused_code(fused), 0);
            b.push_slot::<i32>(slot(5), dilation_w, 1);
            b.push_slot::<i32>(slot(6), dilation_h, 1);
        }
        (
            op::MAX_POOL_2D | op::AVERAGE_POOL_2D,
            Options::Window { padding, stride_w, stride_h, filter_w, filter_h, fused, .. },
        ) => {
            b.push_slot::<i8>(slot(0), padding_code(padding), 0);
            b.push_slot::<i32>(slot(1), stride_w, 0);
            b.push_slot::<i32>(slot(2), stride_h, 0);
            b.push_slot::<i32>(slot(3), filter_w, 0);
            b.push_slot::<i32>(slot(4), filter_h, 0);
            b.push_slot::<i8>(slot(5), fused_code(fused), 0);
        }
        (op::FULLY_CONNECTED | op::ADD, Options::Fused(fused)) => {
            b.push_slot::<i8>(slot(0), fused_code(fused), 0);
        }
        _ => {
            // no options: finish the empty table and drop it (the builder needs it closed)
            let _ = b.end_table(start);
            return None;
        }
    }
    Some(b.end_table(start).as_union_value())
}

/// The `.tflite` bytes of `m` (one subgraph).
pub fn write(m: &Model) -> Result<Vec<u8>, TfliteError> {
    let mut b = FlatBufferBuilder::with_capacity(1024);
    // operator codes: one per distinct builtin code, in order of first use
    let mut codes: Vec<i32> = Vec::new();
    for o in &m.operators {
        if !codes.contains(&o.code) {
            codes.push(o.code);
        }
    }
    let code_tables = codes
        .iter()
        .map(|&c| {
            let (_, version) = options_type_and_version(c)?;
            let t = b.start_table();
            b.push_slot::<i8>(slot(0), i8::try_from(c).unwrap_or(127), 0);
            b.push_slot::<i32>(slot(2), version, 1);
            b.push_slot::<i32>(slot(3), c, 0);
            Ok(b.end_table(t))
        })
        .collect::<Result<Vec<_>, TfliteError>>()?;
    let code_vector = b.create_vector(&code_tables);
    // buffers: 0 empty, then one per tensor with data
    let mut buffer_tables = Vec::with_capacity(m.tensors.len() + 1);
    let t = b.start_table();
    buffer_tables.push(b.end_table(t));
    let mut buffer_of = Vec::with_capacity(m.tensors.len());
    for tensor in &m.tensors {
        if tensor.data.is_empty() {
            buffer_of.push(0u32);
            continue;
        }
        let data = b.create_vector(&tensor.data);
        let t = b.start_table();
        b.push_slot_always(slot(0), data);
        buffer_of.push(buffer_tables.len() as u32);
        buffer_tables.push(b.end_table(t));
    }
    let buffer_vector = b.create_vector(&buffer_tables);
    let tensor_tables: Vec<_> = m
        .tensors
        .iter()
        .zip(&buffer_of)
        .map(|(tensor, &buffer)| {
            let shape = b.create_vector(&tensor.shape);
            let name = b.create_string(&tensor.name);
            let quantization = (!tensor.scales.is_empty()).then(|| {
                let scales = b.create_vector(&tensor.scales);
                let zero_points = b.create_vector(&tensor.zero_points);
                let q = b.start_table();
                b.push_slot_always(slot(2), scales);
                b.push_slot_always(slot(3), zero_points);
                b.push_slot::<i32>(slot(6), tensor.quantized_dimension, 0);
                b.end_table(q)
            });
            let t = b.start_table();
            b.push_slot_always(slot(0), shape);
            b.push_slot::<u8>(slot(1), tensor.dtype, 0);
            b.push_slot::<u32>(slot(2), buffer, 0);
            b.push_slot_always(slot(3), name);
            if let Some(q) = quantization {
                b.push_slot_always(slot(4), q);
            }
            b.end_table(t)
        })
        .collect();
    let tensor_vector = b.create_vector(&tensor_tables);
    let operator_tables = m
        .operators
        .iter()
        .map(|o| {
            let (options_type, _) = options_type_and_version(o.code)?;
            let index = codes.iter().position(|&c| c == o.code).unwrap_or(0) as u32;
            let inputs = b.create_vector(&o.inputs);
            let outputs = b.create_vector(&o.outputs);
            let opts = options(&mut b, o.code, o.options);
            let t = b.start_table();
            b.push_slot::<u32>(slot(0), index, 0);
            b.push_slot_always(slot(1), inputs);
            b.push_slot_always(slot(2), outputs);
            if let Some(opts) = opts {
                b.push_slot::<u8>(slot(3), options_type, 0);
                b.push_slot_always(slot(4), opts);
            }
            Ok(b.end_table(t))
        })
        .collect::<Result<Vec<_>, TfliteError>>()?;
    let operator_vector = b.create_vector(&operator_tables);
    let inputs = b.create_vector(&m.inputs);
    let outputs = b.create_vector(&m.outputs);
    let name = b.create_string("main");
    let g = b.start_table();
    b.push_slot_always(slot(0), tensor_vector);
    b.push_slot_always(slot(1), inputs);
    b.push_slot_always(slot(2), outputs);
    b.push_slot_always(slot(3), operator_vector);
    b.push_slot_always(slot(4), name);
    let graph = b.end_table(g);
    let subgraphs = b.create_vector(&[graph]);
    let description = b.create_string("neurite int8");
    let root = b.start_table();
    b.push_slot::<u32>(slot(0), 3, 0);
    b.push_slot_always(slot(1), code_vector);
    b.push_slot_always(slot(2), subgraphs);
    b.push_slot_always(slot(3), description);
    b.push_slot_always(slot(4), buffer_vector);
    let root = b.end_table(root);
    b.finish(root, Some("TFL3"));
    Ok(b.finished_data().to_vec())
}

#[cfg(test)]
mod tests {
    use super::super::read;
    use super::*;

    /// The committed converter files, written again and read back: the same model.
    #[test]
    fn converter_files_survive_a_write_and_read() {
        for name in ["digits_mlp_int8", "digits_add_int8"] {
            let path = format!("{}/../tests/litert/{name}.tflite", env!("CARGO_MANIFEST_DIR"));
            let model = read(&std::fs::read(path).unwrap()).unwrap();
            let again = read(&write(&model).unwrap()).unwrap();
            assert_eq!(again, model, "{name}");
        }
    }
}
