//! The bodies of the fuzz targets (`fuzz/fuzz_targets/`, cargo-fuzz on nightly), shared
//! with the stable-Rust replay of their committed corpus (`tests/fuzz_corpus.rs`). Each
//! feeds one untrusted input to the parsers it is named after, then does with what they
//! accept what a caller does next (predict, save again, split); an `Err` is a correct
//! answer, a panic (a failed assertion included) is the bug.

use neurite::model_file::v2::{self, AttrValue, ModelFileV2};
use neurite::model_file::{crc32, ModelFile};
use neurite_host::data::{Dataset, Standardizer};
use neurite_host::dynamic::{parse_spec, spec_string, DynModel};
use neurite_host::export::{from_safetensors, to_safetensors};
use neurite_host::model_io::SavedModel;
use std::path::Path;

/// A target's body: one input, no result (a panic is the finding).
pub type Body = fn(&[u8]);

/// Every target: its name (its folder under `fuzz/corpus/` and `fuzz/seeds/`) and body.
pub const TARGETS: [(&str, Body); 4] = [
    ("model_file", model_file),
    ("safetensors", safetensors),
    ("csv", csv),
    ("layer_spec", layer_spec),
];

/// A loaded model predicts only with at most this many input values...
pub const MAX_PREDICT_INPUTS: usize = 1 << 16;
/// ... at most this many values in all its layers' outputs (a few bytes of `concat` records
/// can ask for gigabytes of activations: a cost, not a bug) ...
pub const MAX_PREDICT_VALUES: usize = 1 << 22;
/// ... and at most this many multiply-accumulates, so that one input runs in milliseconds.
pub const MAX_PREDICT_MACS: usize = 1 << 24;

/// Model files: the version-1 reader and the version-2/3 reader of the core
/// (`ModelFile::parse`, `ModelFileV2::parse`, every accessor and the optimiser's state), and
/// the desktop loader (`SavedModel::from_bytes`; a loaded model predicts, saves and loads
/// again with the same prediction). Run on the bytes as given, then with their last four
/// bytes replaced by the CRC-32 of the rest ([`with_checksum`]), so that mutations get past
/// the checksum to the checks behind it.
pub fn model_file(data: &[u8]) {
    model_file_readers(data);
    if let Some(fixed) = with_checksum(data) {
        model_file_readers(&fixed);
    }
}

/// `data` with its last four bytes replaced by the CRC-32 (little-endian) of the bytes
/// before them, where both readers look for it; `None` if `data` is shorter than four bytes
/// or its checksum is right already.
pub fn with_checksum(data: &[u8]) -> Option<Vec<u8>> {
    let n = data.len().checked_sub(4)?;
    let crc = crc32(&data[..n]).to_le_bytes();
    (data[n..] != crc).then(|| {
        let mut fixed = data.to_vec();
        fixed[n..].copy_from_slice(&crc);
        fixed
    })
}

fn model_file_readers(data: &[u8]) {
    if let Ok(f) = ModelFile::parse(data) {
        let _ = (f.task(), f.inputs(), f.outputs(), f.target_scale());
        assert_eq!(f.layers().count(), f.layer_count(), "version 1: a checked layer unreadable");
        assert_eq!(f.params().count(), f.param_count());
        let (means, stds) = f.standardisation();
        assert_eq!(means.count(), stds.count());
    }
    if let Ok(f) = ModelFileV2::parse(data) {
        let _ = (f.task(), f.input_shape(), f.input_rank(), f.target_scale(), f.columns().count());
        let mut records = 0;
        for r in f.records() {
            records += 1;
            for (_, value) in r.attrs() {
                if let AttrValue::Nums(n) = value {
                    assert_eq!(n.iter().count(), n.len());
                    assert!(n.get(n.len()).is_none());
                }
            }
        }
        assert_eq!(records, f.record_count(), "version 2: a checked record unreadable");
        assert_eq!(f.params().count(), f.param_count());
        assert_eq!(f.buffers().count(), f.buffer_count());
        let (means, stds) = f.standardisation();
        assert_eq!(means.count(), stds.count());
        let version = v2::version_of(data);
        match f.optimizer() {
            Some(o) => {
                assert_eq!(version, Some(v2::VERSION_WITH_OPTIMIZER));
                let _ = (o.steps, o.record.name, o.record.attrs().count());
                assert_eq!(o.state.len(), o.record.buffers);
                assert!(o.state.iter().all(f32::is_finite));
            }
            None => assert_eq!(version, Some(v2::VERSION)),
        }
    }
    if let Ok(saved) = SavedModel::from_bytes(data) {
        let before = bounded_prediction(&saved);
        let bytes = saved.to_bytes().expect("a loaded model saves");
        let again = SavedModel::from_bytes(&bytes).expect("a saved model loads");
        assert_eq!(bounded_prediction(&again), before, "the model changed on saving");
    }
}

/// The bits of `saved`'s prediction for an input of zeros, if the model is small enough
/// ([`MAX_PREDICT_INPUTS`], [`MAX_PREDICT_VALUES`], [`MAX_PREDICT_MACS`]).
fn bounded_prediction(saved: &SavedModel) -> Option<Vec<u32>> {
    let inputs = saved.model.inputs();
    let values = saved
        .model
        .layers
        .iter()
        .try_fold(inputs, |n, l| n.checked_add(l.output_shape().iter().product::<usize>()));
    let small = inputs <= MAX_PREDICT_INPUTS
        && values.is_some_and(|v| v <= MAX_PREDICT_VALUES)
        && saved.model.macs() <= MAX_PREDICT_MACS;
    small.then(|| saved.predict(&vec![0.0; inputs]).iter().map(|v| v.to_bits()).collect())
}

/// The safetensors importer (`from_safetensors`), with the architecture from the file's
/// metadata and with a given spec and input shape; a model it imports exports
/// (`to_safetensors`) and imports again unchanged.
pub fn safetensors(data: &[u8]) {
    if let Ok(model) = from_safetensors(data, None, None) {
        let bytes = to_safetensors(&model).expect("an imported model exports");
        let again = from_safetensors(&bytes, None, None).expect("an exported model imports");
        assert!(again == model, "the model changed on export");
    }
    let _ = from_safetensors(data, Some("dense(5),relu,dense(3)"), Some(&[4]));
}

/// The CSV loader (`Dataset::from_csv_text`; bytes that are not UTF-8 are read lossily),
/// with the last column as the target and behind a header `a,b,y` with `y` as the target;
/// a loaded dataset has one target per row, splits and standardises.
pub fn csv(data: &[u8]) {
    let text = String::from_utf8_lossy(data);
    for (text, target) in [(text.to_string(), None), (format!("a,b,y\n{text}"), Some("y"))] {
        if let Ok(d) = Dataset::from_csv_text(&text, Path::new("fuzz.csv"), target) {
            assert!(d.n_features > 0 && !d.is_empty());
            assert_eq!(d.features.len(), d.len() * d.n_features);
            assert_eq!(d.targets.len(), d.len());
            assert_eq!(d.sources.len(), d.len());
            assert_eq!(d.feature_names.len(), d.n_features);
            let _ = d.classes();
            let (mut train, _) = d.canonical_split();
            Standardizer::fit(&train).apply(&mut train);
        }
    }
}

/// Input shapes the layer-spec target builds for: flat, an image (channels, height, width)
/// and a sequence (channels, length).
pub const SPEC_SHAPES: [&[usize]; 3] = [&[16], &[1, 8, 8], &[2, 12]];

/// The layer-spec parser (`parse_spec`, UTF-8 only: it takes a `&str`) and the builder
/// (`DynModel::build` for each of [`SPEC_SHAPES`]); the spec string of a built model
/// (`spec_string`, what model files and safetensors metadata record) parses and builds the
/// same model.
pub fn layer_spec(data: &[u8]) {
    let Ok(spec) = std::str::from_utf8(data) else { return };
    let Ok(nodes) = parse_spec(spec) else { return };
    for shape in SPEC_SHAPES {
        if let Ok(model) = DynModel::build(&nodes, shape) {
            let again = spec_string(&model.nodes());
            let reparsed = parse_spec(&again)
                .unwrap_or_else(|e| panic!("'{spec}' built, its spec '{again}' fails: {e}"));
            let rebuilt = DynModel::build(&reparsed, shape)
                .unwrap_or_else(|e| panic!("'{spec}' built, its spec '{again}' fails: {e}"));
            assert!(rebuilt.nodes() == model.nodes(), "'{spec}' is '{again}' rebuilt otherwise");
        }
    }
}
