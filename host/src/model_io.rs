//! A trained model with what it needs at prediction time (standardisation statistics, task),
//! stored in the core's binary model file format (`neurite::model_file`).

use crate::dynamic::{DynLayer, DynModel};
use neurite::model_file::{self, Header, ModelFile, Task};
use neurite::Error;
use std::io::Write;
use std::path::Path;

/// A model ready to predict: layers, input standardisation and target scaling.
#[derive(Clone, Debug, PartialEq)]
pub struct SavedModel {
    /// The layers and parameters.
    pub model: DynModel,
    /// Classification or regression.
    pub task: Task,
    /// Feature means (empty: inputs are used as they are).
    pub means: Vec<f32>,
    /// Feature standard deviations.
    pub stds: Vec<f32>,
    /// Regression target mean (0 for classification).
    pub target_mean: f32,
    /// Regression target standard deviation (1 for classification).
    pub target_std: f32,
}

impl SavedModel {
    /// The model file's bytes.
    pub fn to_bytes(&self) -> Result<Vec<u8>, Error> {
        let descs = self.model.descs();
        let params = self.model.param_count();
        let mut out = vec![0u8; model_file::encoded_len(descs.len(), self.means.len(), params)];
        let header = Header {
            task: self.task,
            inputs: self.model.inputs(),
            means: &self.means,
            stds: &self.stds,
            target_mean: self.target_mean,
            target_std: self.target_std,
        };
        model_file::write(&mut out, &header, &descs, self.model.tensors())?;
        Ok(out)
    }

    /// Parses and checks a model file.
    pub fn from_bytes(bytes: &[u8]) -> Result<Self, Error> {
        let file = ModelFile::parse(bytes)?;
        let layers: Vec<DynLayer> = file.layers().map(|d| DynLayer::from_desc(&d)).collect();
        let mut model = DynModel { layers };
        let mut values = file.params();
        for t in model.tensors_mut() {
            for v in t.iter_mut() {
                *v = values.next().unwrap_or(0.0);
            }
        }
        let (means, stds) = file.standardisation();
        let (target_mean, target_std) = file.target_scale();
        Ok(Self {
            model,
            task: file.task(),
            means: means.collect(),
            stds: stds.collect(),
            target_mean,
            target_std,
        })
    }

    /// Standardises one row of raw features (a copy).
    pub fn prepare(&self, raw: &[f32]) -> Vec<f32> {
        if self.means.is_empty() {
            return raw.to_vec();
        }
        raw.iter().zip(&self.means).zip(&self.stds).map(|((v, m), s)| (v - m) / s).collect()
    }

    /// The model's prediction for raw features: class scores, or de-standardised values.
    pub fn predict(&self, raw: &[f32]) -> Vec<f32> {
        let mut out = self.model.forward(&self.prepare(raw));
        if self.task == Task::Regression {
            for v in &mut out {
                *v = *v * self.target_std + self.target_mean;
            }
        }
        out
    }
}

/// Writes `bytes` to `path` whole or not at all: a temporary file beside it, then a rename.
pub fn write_atomic(path: &Path, bytes: &[u8]) -> std::io::Result<()> {
    let dir = path.parent().filter(|d| !d.as_os_str().is_empty()).unwrap_or(Path::new("."));
    let name = path.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default();
    let tmp = dir.join(format!(".{name}.tmp-{}", std::process::id()));
    let result = (|| {
        let mut f = std::fs::File::create(&tmp)?;
        f.write_all(bytes)?;
        f.sync_all()?;
        std::fs::rename(&tmp, path)
    })();
    if result.is_err() {
        let _ = std::fs::remove_file(&tmp);
    }
    result
}
