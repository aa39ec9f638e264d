//! int8 quantisation as TensorFlow Lite specifies it ("int8 quantization specification"):
//! activations affine per tensor ([`affine::Affine`]), weights symmetric per output channel,
//! biases `i32`, and each layer's outputs requantised by a fixed-point multiplier and shift
//! with TFLite's rounding ([`fixed_point`]). The integer kernels are in
//! [`crate::kernel::int8`]; the int8 path uses no float (the scales are turned into
//! multipliers once, when a model is quantised).

pub mod affine;
pub mod fixed_point;
