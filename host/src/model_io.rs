//! A trained model with what it needs at prediction time (standardisation statistics, task,
//! column names), stored in the core's binary model file format (`neurite::model_file`):
//! written as version 2 (any layer family), read as version 2 or 1.

use crate::dynamic::{Attr, Attrs, DynModel, LayerNode, Op, MAX_NESTING};
use neurite::model_file::v2::{self, AttrIn, AttrValue, HeaderV2, ModelFileV2, Record, WriterV2};
use neurite::model_file::{ModelFile, Task};
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
    /// The training data's column names, features then target (empty if unknown).
    pub columns: Vec<String>,
}

/// Writes the records of `layers` (pre-order) into `w`.
fn write_records(w: &mut WriterV2<'_>, model: &DynModel) -> Result<(), Error> {
    for layer in model.inference_layers() {
        let attrs = layer.attrs();
        let owned: Vec<(&str, AttrIn<'_>)> = attrs
            .0
            .iter()
            .map(|(k, v)| {
                let value = match v {
                    Attr::Nums(n) => AttrIn::Nums(n),
                    Attr::Str(s) => AttrIn::Word(s),
                    Attr::Bool(b) => AttrIn::Flag(*b),
                };
                (k.as_str(), value)
            })
            .collect();
        let own =
            |ts: Vec<crate::dynamic::Tensor<'_>>| ts.iter().map(|t| t.values.len()).sum::<usize>();
        let (params, buffers) = match layer.body() {
            Some(_) => (0, 0),
            None => (own(layer.params()), own(layer.buffers())),
        };
        let body = layer.body().map_or(0, |b| b.inference_layers().count());
        w.record(layer.kind().name, body, params, buffers, &owned)?;
        if let Some(b) = layer.body() {
            write_records(w, b)?;
        }
    }
    Ok(())
}

/// Every parameter tensor, then every buffer, of the inference layers in file order.
fn values(model: &DynModel) -> (Vec<&[f32]>, Vec<&[f32]>) {
    let (mut p, mut b) = (Vec::new(), Vec::new());
    crate::export::walk(model, "", &mut |_, op: &dyn Op| {
        p.extend(op.params().into_iter().map(|t| t.values));
        b.extend(op.buffers().into_iter().map(|t| t.values));
    });
    (p, b)
}

/// The layer nodes of a version-2 file's records (pre-order): `count` of them, inside
/// `nesting` composite layers (at most [`MAX_NESTING`]).
fn nodes_of(
    records: &mut v2::Records<'_>,
    count: usize,
    nesting: usize,
) -> Result<Vec<LayerNode>, String> {
    if nesting > MAX_NESTING && count > 0 {
        return Err(format!("layers nested more than {MAX_NESTING} deep"));
    }
    let mut out = Vec::with_capacity(count);
    for _ in 0..count {
        let r: Record<'_> = records.next().ok_or("records end early")?;
        let kind = crate::dynamic::lookup(r.name).ok_or_else(|| {
            format!("unknown layer '{}' (a newer neurite wrote this file?)", r.name)
        })?;
        let mut attrs = Attrs::new();
        for (k, v) in r.attrs() {
            attrs.set(
                k,
                match v {
                    AttrValue::Nums(n) => Attr::Nums(n.iter().collect()),
                    AttrValue::Word(s) => Attr::Str(s.to_string()),
                    AttrValue::Flag(f) => Attr::Bool(f),
                },
            );
        }
        let body = nodes_of(records, r.body, nesting + 1)?;
        out.push(LayerNode { kind, attrs, body });
    }
    Ok(out)
}

impl SavedModel {
    /// The model file's bytes (format version 2).
    pub fn to_bytes(&self) -> Result<Vec<u8>, Error> {
        let (params, buffers) = values(&self.model);
        let columns: Vec<&str> = self.columns.iter().map(String::as_str).collect();
        let header = HeaderV2 {
            task: self.task,
            input_shape: self.model.input_shape(),
            columns: &columns,
            means: &self.means,
            stds: &self.stds,
            target_mean: self.target_mean,
            target_std: self.target_std,
        };
        // Records are small: a generous bound, then the exact length.
        let values: usize = params.iter().chain(&buffers).map(|t| t.len()).sum();
        let names: usize = columns.iter().map(|c| c.len() + 1).sum();
        let records = 4096 + 512 * self.model.layers.len() * 4;
        let mut out =
            vec![0u8; v2::HEADER_LEN + records + names + 8 * self.means.len() + 4 * values + 4];
        let mut w = WriterV2::new(&mut out);
        write_records(&mut w, &self.model)?;
        let len = w.finish(&header, params, buffers)?;
        out.truncate(len);
        Ok(out)
    }

    /// Parses and checks a model file (version 2, or version 1 from earlier releases).
    pub fn from_bytes(bytes: &[u8]) -> Result<Self, Error> {
        if v2::version_of(bytes) == Some(1) {
            return Self::from_v1(bytes);
        }
        let file = ModelFileV2::parse(bytes)?;
        let shape = &file.input_shape()[..file.input_rank()];
        let mut records = file.records();
        let mut nodes = Vec::new();
        let malformed = |_| Error::MalformedLayer { layer: 0 };
        while records.clone().next().is_some() {
            nodes.extend(nodes_of(&mut records, 1, 0).map_err(malformed)?);
        }
        let mut model = DynModel::build(&nodes, shape).map_err(malformed)?;
        if model.param_count() != file.param_count() || model.buffer_count() != file.buffer_count()
        {
            return Err(Error::ArchitectureMismatch { layer: 0 });
        }
        let mut values = file.params();
        for t in model.tensors_mut() {
            for v in t.iter_mut() {
                *v = values.next().unwrap_or(0.0);
            }
        }
        let mut values = file.buffers();
        for t in model.buffers_mut() {
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
            columns: file.columns().map(str::to_string).collect(),
        })
    }

    /// A version-1 file (dense and activation chains).
    fn from_v1(bytes: &[u8]) -> Result<Self, Error> {
        let file = ModelFile::parse(bytes)?;
        let nodes: Vec<LayerNode> = file
            .layers()
            .map(|d| crate::dynamic::layers::v1_node(&d))
            .collect::<Option<_>>()
            .ok_or(Error::MalformedLayer { layer: 0 })?;
        let mut model = DynModel::build(&nodes, &[file.inputs()])
            .map_err(|_| Error::MalformedLayer { layer: 0 })?;
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
            columns: Vec::new(),
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
        crate::predictor::Predictor::predict(self, raw)
    }
}

/// Writes `bytes` to `path` whole or not at all: a new temporary file beside it, then a
/// rename.
///
/// - The temporary file's name has a random part and is created with `create_new` (never
///   an existing file, and never through a symbolic link planted there).
/// - An existing regular file keeps its permissions.
/// - A `path` that is a symbolic link is followed: its target is replaced, not the link.
/// - A `path` that exists and is not a regular file (a device such as `/dev/null`, a FIFO)
///   is written in place: renaming over it would replace the device with a file. A
///   directory is an error.
pub fn write_atomic(path: &Path, bytes: &[u8]) -> std::io::Result<()> {
    let resolved;
    let path = match std::fs::symlink_metadata(path) {
        Ok(m) if m.file_type().is_symlink() => {
            resolved = std::fs::canonicalize(path)?;
            resolved.as_path()
        }
        _ => path,
    };
    let existing = std::fs::metadata(path).ok();
    if let Some(m) = &existing {
        if m.is_dir() {
            return Err(std::io::Error::new(std::io::ErrorKind::IsADirectory, "is a directory"));
        }
        if !m.is_file() {
            let mut f = std::fs::OpenOptions::new().write(true).open(path)?;
            return f.write_all(bytes).and_then(|()| f.flush());
        }
    }
    let dir = path.parent().filter(|d| !d.as_os_str().is_empty()).unwrap_or(Path::new("."));
    let name = path.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default();
    let (tmp, mut f) = create_temporary(dir, &name)?;
    let result = (|| {
        f.write_all(bytes)?;
        if let Some(m) = &existing {
            f.set_permissions(m.permissions())?;
        }
        f.sync_all()?;
        drop(f);
        std::fs::rename(&tmp, path)
    })();
    if result.is_err() {
        let _ = std::fs::remove_file(&tmp);
    }
    result
}

/// A new file `.{name}.tmp-{random}` in `dir`, created exclusively (retried on a clash).
pub(crate) fn create_temporary(
    dir: &Path,
    name: &str,
) -> std::io::Result<(std::path::PathBuf, std::fs::File)> {
    use std::hash::{BuildHasher, Hasher};
    let mut last = None;
    for attempt in 0u64..16 {
        // the standard library's per-process random hash keys, mixed with the time
        let mut h = std::collections::hash_map::RandomState::new().build_hasher();
        h.write_u64(attempt);
        h.write_u128(
            std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .map_or(0, |d| d.as_nanos()),
        );
        let tmp = dir.join(format!(".{name}.tmp-{}-{:016x}", std::process::id(), h.finish()));
        match std::fs::OpenOptions::new().write(true).create_new(true).open(&tmp) {
            Ok(f) => return Ok((tmp, f)),
            Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => last = Some(e),
            Err(e) => return Err(e),
        }
    }
    Err(last.unwrap_or_else(|| std::io::Error::other("no temporary file name")))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::dynamic::parse_spec;

    /// A version-2 file of `depth` residual records inside one another around a `relu`.
    fn nested_file(depth: usize) -> Vec<u8> {
        let mut out = vec![0u8; v2::HEADER_LEN + 32 * (depth + 1) + 4];
        let mut w = WriterV2::new(&mut out);
        for _ in 0..depth {
            w.record("residual", 1, 0, 0, &[]).unwrap();
        }
        w.record("relu", 0, 0, 0, &[]).unwrap();
        let header = HeaderV2 {
            task: Task::Classification,
            input_shape: &[4],
            columns: &[],
            means: &[],
            stds: &[],
            target_mean: 0.0,
            target_std: 1.0,
        };
        let len = w.finish(&header, [], []).unwrap();
        out.truncate(len);
        out
    }

    #[test]
    fn nesting_is_bounded() {
        // the deepest spec loads from the file it saves to, and so does the same file written
        // by hand
        let spec = format!("{}relu{}", "residual(".repeat(MAX_NESTING), ")".repeat(MAX_NESTING));
        let model = DynModel::build(&parse_spec(&spec).unwrap(), &[4]).unwrap();
        let saved = SavedModel {
            model,
            task: Task::Classification,
            means: Vec::new(),
            stds: Vec::new(),
            target_mean: 0.0,
            target_std: 1.0,
            columns: Vec::new(),
        };
        let bytes = saved.to_bytes().unwrap();
        assert_eq!(bytes, nested_file(MAX_NESTING));
        assert_eq!(SavedModel::from_bytes(&bytes).unwrap(), saved);
        // one more level is refused; found beside the fuzz targets (fuzz/README.md,
        // "Findings"): 3,000 levels overflowed a test thread's stack
        for depth in [MAX_NESTING + 1, 3000] {
            let e = SavedModel::from_bytes(&nested_file(depth)).unwrap_err();
            assert_eq!(e, Error::MalformedLayer { layer: 0 }, "{depth}");
        }
    }
}
