//! Quantisation-aware training (`neurite train --qat`): a trained float model is fine-tuned
//! computing as its int8 model will, then quantised ([`crate::quantize`]).
//!
//! 1. The float model's activation ranges are calibrated on the training rows (MSE, as
//!    post-training quantisation chooses them) and fixed.
//! 2. Every tensor the int8 graph quantises ([`crate::quantize::quantised_tensors`]: the
//!    input, each dense layer's and convolution's output after its fused ReLU) gets a
//!    [`FakeQuant`] with that range, and each dense layer and convolution computes with its
//!    weights quantised per output channel ([`QuantizedWeights`]); gradients pass straight
//!    through both (zero where an activation is clipped).
//! 3. The model trains on ([`crate::fit::train_from`]) with the float model's optimiser at a
//!    tenth of its learning rate, by default.
//! 4. [`crate::quantize::quantize`] turns it into the int8 model, taking each fake
//!    quantisation's range, and quantising the float master weights with the rule the
//!    training used: the int8 model computes what the fine-tuning saw, up to integer
//!    rounding inside the ops.
//!
//! A batch norm after a convolution trains on its batch statistics and is folded into the
//! convolution only when quantising, so its model is quantised after training as it was
//! not fine-tuned (say, `conv2d,batchnorm2d,relu`): the folded weights are requantised.

use crate::dynamic::layers::fake_quant::{FakeQuant, QuantizedWeights};
use crate::dynamic::{DynModel, Op};
use crate::model_io::SavedModel;
use crate::quantize::{calibrate, quantised_tensors, weighted, Calibration};

/// The float model made quantisation-aware: fake quantisation with ranges calibrated on
/// `calibration` (raw rows) on every quantised tensor, quantised weights in every dense
/// layer and convolution.
pub fn prepare(saved: &SavedModel, calibration: &[&[f32]]) -> Result<DynModel, String> {
    let model = &saved.model;
    if calibration.is_empty() {
        return Err("no calibration rows".into());
    }
    if let Some(k) = model.layers.iter().position(|l| l.body().is_some()) {
        return Err(format!(
            "layer {} ({}): quantisation-aware training of a residual or concat block is not \
             supported yet (post-training quantisation takes residual blocks: neurite quantize)",
            k + 1,
            model.layers[k].kind().name
        ));
    }
    let rows: Vec<Vec<f32>> = calibration.iter().map(|r| saved.prepare(r)).collect();
    let ranges = calibrate(model, &rows, Calibration::Mse);
    let points = quantised_tensors(model);
    let fake = |k: usize, shape: &[usize]| -> Result<Box<dyn Op>, String> {
        let (min, max) = ranges[k];
        FakeQuant::new(shape, (min, max))
            .map(|f| Box::new(f) as Box<dyn Op>)
            .ok_or_else(|| format!("layer {k}'s input reaches {min}..{max}"))
    };
    let mut layers: Vec<Box<dyn Op>> = Vec::with_capacity(model.layers.len() + points.len());
    for (k, l) in model.layers.iter().enumerate() {
        if points.contains(&k) {
            layers.push(fake(k, l.input_shape())?);
        }
        layers.push(if weighted(&model.layers, k) {
            Box::new(QuantizedWeights::new(l.clone()))
        } else {
            l.clone()
        });
    }
    if points.contains(&model.layers.len()) {
        layers.push(fake(model.layers.len(), model.output_shape())?);
    }
    let mut qat = model.clone();
    qat.layers = layers;
    Ok(qat)
}
