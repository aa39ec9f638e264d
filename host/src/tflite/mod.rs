//! Reading `.tflite` files (TensorFlow Lite's FlatBuffers format, `schema.fbs`): the first
//! subgraph's tensors (shape, type, data, quantisation) and operators (builtin code, inputs,
//! outputs and the options the int8 kernels need), checked as they are read
//! ([`flatbuf`]). The first step of `neurite import --tflite`: the int8 ops are run by the
//! core's kernels (`neurite::kernel::int8`), bit for bit as LiteRT runs them
//! (`tests/tests/litert_int8.rs`).

pub mod flatbuf;
pub mod run;
pub mod write;

use flatbuf::{FlatError, Table};

/// Builtin operator codes (`BuiltinOperator` in `schema.fbs`) of the ops read here.
pub mod op {
    /// `ADD`.
    pub const ADD: i32 = 0;
    /// `AVERAGE_POOL_2D`.
    pub const AVERAGE_POOL_2D: i32 = 1;
    /// `CONV_2D`.
    pub const CONV_2D: i32 = 3;
    /// `DEPTHWISE_CONV_2D`.
    pub const DEPTHWISE_CONV_2D: i32 = 4;
    /// `FULLY_CONNECTED`.
    pub const FULLY_CONNECTED: i32 = 9;
    /// `MAX_POOL_2D`.
    pub const MAX_POOL_2D: i32 = 17;
    /// `RESHAPE`.
    pub const RESHAPE: i32 = 22;
    /// `SOFTMAX`.
    pub const SOFTMAX: i32 = 25;
}

/// `TensorType::INT8`.
pub const INT8: u8 = 9;
/// `TensorType::INT32`.
pub const INT32: u8 = 2;

/// A tensor: shape, element type, its constant data (empty for activations) and its
/// quantisation (one scale and zero point per tensor, or per channel along
/// `quantized_dimension`).
#[derive(Clone, Debug, PartialEq)]
pub struct Tensor {
    /// Name.
    pub name: String,
    /// Shape.
    pub shape: Vec<i32>,
    /// `TensorType` (9: int8, 2: int32, 0: float32).
    pub dtype: u8,
    /// Constant data, little endian (weights, biases); empty for activations.
    pub data: Vec<u8>,
    /// Scales.
    pub scales: Vec<f32>,
    /// Zero points.
    pub zero_points: Vec<i64>,
    /// The axis the scales run along, when there is more than one.
    pub quantized_dimension: i32,
}

impl Tensor {
    /// The data as `i8` values.
    pub fn i8s(&self) -> Vec<i8> {
        self.data.iter().map(|&b| b as i8).collect()
    }

    /// The data as `i32` values.
    pub fn i32s(&self) -> Vec<i32> {
        self.data.chunks_exact(4).map(|b| i32::from_le_bytes([b[0], b[1], b[2], b[3]])).collect()
    }
}

/// `Padding` of a windowed op.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Padding {
    /// Output size `ceil(in / stride)`, the input padded (the odd value after).
    Same,
    /// No padding.
    Valid,
}

/// `ActivationFunctionType` fused into an op.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Fused {
    /// None.
    None,
    /// ReLU.
    Relu,
    /// ReLU clamped to [-1, 1].
    ReluN1To1,
    /// ReLU6.
    Relu6,
    /// Another (tanh, sign bit): not supported by the int8 kernels.
    Other(i8),
}

impl Fused {
    fn from_code(c: i8) -> Self {
        match c {
            0 => Self::None,
            1 => Self::Relu,
            2 => Self::ReluN1To1,
            3 => Self::Relu6,
            other => Self::Other(other),
        }
    }
}

/// The options of the ops read here.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Options {
    /// `Conv2DOptions`, `DepthwiseConv2DOptions` (depth multiplier; 0 for conv) and
    /// `Pool2DOptions` (filter size; 0 for convolutions).
    Window {
        /// Padding.
        padding: Padding,
        /// Horizontal stride.
        stride_w: i32,
        /// Vertical stride.
        stride_h: i32,
        /// Horizontal dilation (1 for pools).
        dilation_w: i32,
        /// Vertical dilation.
        dilation_h: i32,
        /// Pool window width.
        filter_w: i32,
        /// Pool window height.
        filter_h: i32,
        /// Depthwise channel multiplier.
        depth_multiplier: i32,
        /// Fused activation.
        fused: Fused,
    },
    /// `FullyConnectedOptions` and `AddOptions`: the fused activation.
    Fused(Fused),
    /// None read (reshape, softmax, others).
    None,
}

/// An operator: its builtin code, tensor indices and options.
#[derive(Clone, Debug, PartialEq)]
pub struct Operator {
    /// `BuiltinOperator` ([`op`]).
    pub code: i32,
    /// Input tensor indices (-1: an omitted optional input).
    pub inputs: Vec<i32>,
    /// Output tensor indices.
    pub outputs: Vec<i32>,
    /// Options.
    pub options: Options,
}

/// The first subgraph of a `.tflite` file.
#[derive(Clone, Debug, PartialEq)]
pub struct Model {
    /// Tensors.
    pub tensors: Vec<Tensor>,
    /// Operators, in execution order.
    pub operators: Vec<Operator>,
    /// The model's input tensors.
    pub inputs: Vec<i32>,
    /// Its output tensors.
    pub outputs: Vec<i32>,
}

/// Why a `.tflite` file could not be read.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum TfliteError {
    /// Not a well-formed FlatBuffer of the TFLite schema.
    Malformed(String),
    /// Well formed, but not what this reader handles.
    Unsupported(String),
}

impl std::fmt::Display for TfliteError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::Malformed(e) => write!(f, "not a valid .tflite file: {e}"),
            Self::Unsupported(e) => write!(f, "unsupported .tflite model: {e}"),
        }
    }
}

impl std::error::Error for TfliteError {}

impl From<FlatError> for TfliteError {
    fn from(e: FlatError) -> Self {
        Self::Malformed(e.0)
    }
}

/// The file identifier at bytes 4..8 of a `.tflite` file.
pub const IDENTIFIER: &[u8; 4] = b"TFL3";

/// Reads the first subgraph of a `.tflite` file.
pub fn read(bytes: &[u8]) -> Result<Model, TfliteError> {
    if bytes.get(4..8) != Some(IDENTIFIER) {
        return Err(TfliteError::Malformed("no TFL3 file identifier at bytes 4..8".into()));
    }
    let model = Table::root(bytes)?;
    // Model: 1 operator_codes, 2 subgraphs, 4 buffers
    let codes: Vec<i32> = model
        .tables(1)?
        .iter()
        .map(|c| {
            // OperatorCode: 0 deprecated_builtin_code (byte), 3 builtin_code (int): the
            // larger of the two
            Ok(i32::from(c.i8(0, 0)?).max(c.i32(3, 0)?))
        })
        .collect::<Result<_, FlatError>>()?;
    let buffers = model.tables(4)?;
    let subgraphs = model.tables(2)?;
    let graph = subgraphs
        .first()
        .ok_or_else(|| TfliteError::Malformed("the model has no subgraph".into()))?;
    if subgraphs.len() > 1 {
        return Err(TfliteError::Unsupported(format!(
            "{} subgraphs (one is read)",
            subgraphs.len()
        )));
    }
    // SubGraph: 0 tensors, 1 inputs, 2 outputs, 3 operators
    let tensors = graph
        .tables(0)?
        .iter()
        .map(|t| {
            // Tensor: 0 shape, 1 type, 2 buffer, 3 name, 4 quantization
            let buffer = t.u32(2, 0)? as usize;
            let data = match buffers.get(buffer) {
                Some(b) => b.bytes(0)?.to_vec(), // Buffer: 0 data
                None if buffer == 0 => Vec::new(),
                None => return Err(FlatError(format!("tensor buffer {buffer} does not exist"))),
            };
            // QuantizationParameters: 2 scale, 3 zero_point, 6 quantized_dimension
            let (scales, zero_points, quantized_dimension) = match t.table(4)? {
                Some(q) => (q.f32s(2)?, q.i64s(3)?, q.i32(6, 0)?),
                None => (Vec::new(), Vec::new(), 0),
            };
            Ok(Tensor {
                name: t.string(3)?,
                shape: t.i32s(0)?,
                dtype: t.u8(1, 0)?,
                data,
                scales,
                zero_points,
                quantized_dimension,
            })
        })
        .collect::<Result<Vec<_>, FlatError>>()?;
    let operators = graph
        .tables(3)?
        .iter()
        .map(|o| {
            // Operator: 0 opcode_index, 1 inputs, 2 outputs, 4 builtin_options
            let index = o.u32(0, 0)? as usize;
            let code = *codes
                .get(index)
                .ok_or_else(|| FlatError(format!("operator code {index} does not exist")))?;
            let options = match o.table(4)? {
                Some(t) => options(code, &t)?,
                None => Options::None,
            };
            Ok(Operator { code, inputs: o.i32s(1)?, outputs: o.i32s(2)?, options })
        })
        .collect::<Result<Vec<_>, FlatError>>()?;
    let count = tensors.len() as i64;
    for o in &operators {
        if let Some(&bad) =
            o.inputs.iter().chain(&o.outputs).find(|&&i| i < -1 || i64::from(i) >= count)
        {
            return Err(TfliteError::Malformed(format!(
                "an operator uses tensor {bad} of {count}"
            )));
        }
    }
    Ok(Model { tensors, operators, inputs: graph.i32s(1)?, outputs: graph.i32s(2)? })
}

fn padding(code: i8) -> Padding {
    if code == 1 {
        Padding::Valid
    } else {
        Padding::Same
    }
}

/// The builtin options table of an operator with `code`.
fn options(code: i32, t: &Table<'_>) -> Result<Options, FlatError> {
    Ok(match code {
        // Conv2DOptions: 0 padding, 1 stride_w, 2 stride_h, 3 fused, 4 dilation_w, 5 dilation_h
        op::CONV_2D => Options::Window {
            padding: padding(t.i8(0, 0)?),
            stride_w: t.i32(1, 0)?,
            stride_h: t.i32(2, 0)?,
            fused: Fused::from_code(t.i8(3, 0)?),
            dilation_w: t.i32(4, 1)?,
            dilation_h: t.i32(5, 1)?,
            filter_w: 0,
            filter_h: 0,
            depth_multiplier: 0,
        },
        // DepthwiseConv2DOptions: 0 padding, 1 stride_w, 2 stride_h, 3 depth_multiplier,
        // 4 fused, 5 dilation_w, 6 dilation_h
        op::DEPTHWISE_CONV_2D => Options::Window {
            padding: padding(t.i8(0, 0)?),
            stride_w: t.i32(1, 0)?,
            stride_h: t.i32(2, 0)?,
            depth_multiplier: t.i32(3, 0)?,
            fused: Fused::from_code(t.i8(4, 0)?),
            dilation_w: t.i32(5, 1)?,
            dilation_h: t.i32(6, 1)?,
            filter_w: 0,
            filter_h: 0,
        },
        // Pool2DOptions: 0 padding, 1 stride_w, 2 stride_h, 3 filter_width, 4 filter_height,
        // 5 fused
        op::MAX_POOL_2D | op::AVERAGE_POOL_2D => Options::Window {
            padding: padding(t.i8(0, 0)?),
            stride_w: t.i32(1, 0)?,
            stride_h: t.i32(2, 0)?,
            filter_w: t.i32(3, 0)?,
            filter_h: t.i32(4, 0)?,
            fused: Fused::from_code(t.i8(5, 0)?),
            dilation_w: 1,
            dilation_h: 1,
            depth_multiplier: 0,
        },
        // FullyConnectedOptions: 0 fused; AddOptions: 0 fused
        op::FULLY_CONNECTED | op::ADD => Options::Fused(Fused::from_code(t.i8(0, 0)?)),
        _ => Options::None,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn not_a_tflite_file_is_refused_with_the_reason() {
        assert_eq!(
            read(b"\x10\0\0\0NOPE").unwrap_err(),
            TfliteError::Malformed("no TFL3 file identifier at bytes 4..8".into())
        );
        let err = read(b"\xff\0\0\0TFL3").unwrap_err();
        assert!(
            matches!(err, TfliteError::Malformed(ref m) if m.contains("runs past the end")),
            "{err}"
        );
    }
}
