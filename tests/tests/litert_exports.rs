//! neurite's own int8 models run by LiteRT: five float digits models (an MLP; a CNN with
//! batch norm folded and average pooling; a depthwise CNN with dropout; a 1-D CNN; an MLP with
//! a residual block, its sum TFLite's `ADD` with the ReLU after it fused), trained
//! by the CLI and committed (`tests/litert/neurite_*.neurite`), are quantised here by
//! `neurite_host::quantize` and written as `.tflite`. The files must be the committed ones
//! byte for byte (quantisation is deterministic), and on every committed input (60 digits rows
//! quantised as `neurite predict` quantises them, 20 random int8 vectors) neurite's int8
//! outputs must be LiteRT's reference interpreter's (`tests/litert/neurite_exports.json`,
//! from `run_litert_on_exports.py`), bit for bit. `make_neurite_exports.sh` regenerates it
//! all; `NEURITE_BLESS=1` rewrites the `.tflite` files and the inputs.

use neurite::rng::Rng;
use neurite_host::data::Dataset;
use neurite_host::model_io::SavedModel;
use neurite_host::tflite;
use serde_json::{json, Value};
use std::path::{Path, PathBuf};

const MODELS: [&str; 5] = ["mlp", "cnn", "depthwise", "conv1d", "residual"];
const RANDOM_INPUTS: usize = 20;

fn litert_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("litert")
}

fn digits() -> Dataset {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("../host/data/digits.csv");
    Dataset::load_csv(&path, None).unwrap()
}

/// The int8 model of a committed float model, calibrated on the digits training rows.
fn quantised(name: &str, data: &Dataset) -> neurite_host::int8_model::Int8Model {
    let path = litert_dir().join(format!("neurite_{name}.neurite"));
    let saved = SavedModel::from_bytes(&std::fs::read(path).unwrap()).unwrap();
    let (train, _) = data.canonical_split();
    let rows: Vec<&[f32]> = (0..train.len()).map(|i| train.row(i)).collect();
    neurite_host::quantize::quantize(&saved, &rows, neurite_host::quantize::Calibration::Mse)
        .unwrap()
}

/// The inputs fed: digits rows 0, 30, 60, ... (60 of them) quantised, then random vectors.
fn inputs(m: &neurite_host::int8_model::Int8Model, data: &Dataset) -> Vec<Vec<i8>> {
    let mut rng = Rng::new(15);
    let mut x: Vec<Vec<i8>> = (0..60).map(|i| m.quantize_row(data.row(30 * i))).collect();
    for _ in 0..RANDOM_INPUTS {
        x.push((0..m.inputs()).map(|_| rng.next_u32() as u8 as i8).collect());
    }
    x
}

fn to_i8s(v: &Value) -> Vec<Vec<i8>> {
    v.as_array()
        .unwrap()
        .iter()
        .map(|r| r.as_array().unwrap().iter().map(|x| x.as_i64().unwrap() as i8).collect())
        .collect()
}

#[test]
fn neurite_int8_exports_run_in_litert_with_neurites_outputs() {
    let data = digits();
    let json_path = litert_dir().join("neurite_exports.json");
    let bless = std::env::var_os("NEURITE_BLESS").is_some();
    let mut doc: Value = std::fs::read_to_string(&json_path)
        .ok()
        .and_then(|s| serde_json::from_str(&s).ok())
        .unwrap_or_else(|| json!({"models": {}}));
    for name in MODELS {
        let m = quantised(name, &data);
        let file = format!("neurite_{name}_int8.tflite");
        let x = inputs(&m, &data);
        if bless {
            std::fs::write(litert_dir().join(&file), &m.tflite).unwrap();
            doc["models"][name] = json!({"tflite": file, "inputs": x});
            continue;
        }
        let committed = std::fs::read(litert_dir().join(&file)).unwrap();
        assert!(committed == m.tflite, "{file} is stale: run tests/litert/make_neurite_exports.sh");
        let case = &doc["models"][name];
        assert_eq!(to_i8s(&case["inputs"]), x, "{name}: the inputs neurite feeds changed");
        let want = to_i8s(&case["litert"]);
        assert_eq!(want.len(), 60 + RANDOM_INPUTS, "{name}");
        let graph = tflite::read(&committed).unwrap();
        for (i, (x, want)) in x.iter().zip(&want).enumerate() {
            let got = tflite::run::run_int8(&graph, x).unwrap();
            assert_eq!(&got, want, "{name}, input {i}: neurite differs from LiteRT");
        }
    }
    if bless {
        std::fs::write(&json_path, serde_json::to_string(&doc).unwrap() + "\n").unwrap();
    }
}
