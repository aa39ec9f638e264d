//! What `neurite eval` and `predict` need of a model, float ([`SavedModel`]) or int8
//! ([`Int8Model`]): its task, sizes, training columns and its outputs for a raw CSV row.

use crate::int8_model::Int8Model;
use crate::model_io::SavedModel;
use neurite::model_file::Task;

/// A model that predicts raw CSV rows.
pub trait Predictor {
    /// Classification or regression.
    fn task(&self) -> Task;
    /// Input values per row.
    fn inputs(&self) -> usize;
    /// Output values per row.
    fn outputs(&self) -> usize;
    /// The training data's column names, features then target (empty if unknown).
    fn columns(&self) -> &[String];
    /// The regression target's `(mean, std)` (0 and 1 for classification).
    fn target_scale(&self) -> (f32, f32);
    /// The model's output for one raw row (standardised as the model was trained): class
    /// scores, or the standardised regression target. An int8 model's output dequantised.
    fn scores(&self, raw: &[f32]) -> Vec<f32>;
    /// The prediction: class scores, or regression values in the target's units.
    fn predict(&self, raw: &[f32]) -> Vec<f32> {
        let mut out = self.scores(raw);
        if self.task() == Task::Regression {
            let (mean, std) = self.target_scale();
            for v in &mut out {
                *v = *v * std + mean;
            }
        }
        out
    }
}

impl Predictor for SavedModel {
    fn task(&self) -> Task {
        self.task
    }
    fn inputs(&self) -> usize {
        self.model.inputs()
    }
    fn outputs(&self) -> usize {
        self.model.outputs()
    }
    fn columns(&self) -> &[String] {
        &self.columns
    }
    fn target_scale(&self) -> (f32, f32) {
        (self.target_mean, self.target_std)
    }
    fn scores(&self, raw: &[f32]) -> Vec<f32> {
        self.model.forward(&self.prepare(raw))
    }
}

impl Predictor for Int8Model {
    fn task(&self) -> Task {
        self.task
    }
    fn inputs(&self) -> usize {
        self.inputs()
    }
    fn outputs(&self) -> usize {
        self.outputs()
    }
    fn columns(&self) -> &[String] {
        &self.columns
    }
    fn target_scale(&self) -> (f32, f32) {
        (self.target_mean, self.target_std)
    }
    fn scores(&self, raw: &[f32]) -> Vec<f32> {
        let out = self.output();
        self.run(raw).iter().map(|&q| out.dequantize(q)).collect()
    }
}

/// A model file of either kind, as `neurite eval` and `predict` read it.
pub enum AnyModel {
    /// Layers with float parameters (format versions 1 to 3).
    Float(SavedModel),
    /// An int8 graph (format version 4).
    Int8(Int8Model),
}

impl AnyModel {
    /// The model as a [`Predictor`].
    pub fn predictor(&self) -> &dyn Predictor {
        match self {
            Self::Float(m) => m,
            Self::Int8(m) => m,
        }
    }
}
