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
            // LiteRT's outputs stay while the inputs do (run_litert_on_exports.py remakes them)
            let litert = doc["models"][name]["litert"].clone();
            let same_inputs = doc["models"][name]["inputs"] == json!(x);
            doc["models"][name] = json!({"tflite": file, "inputs": x});
            if same_inputs && !litert.is_null() {
                doc["models"][name]["litert"] = litert;
            }
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

/// The firmware module (`firmware/src/int8_{name}_model.rs`, `neurite export --rust` of the
/// int8 model, its layers packed for the DSP kernels) and the LiteRT vectors beside it
/// (`int8_{name}_vectors.rs`: the 80 inputs and LiteRT's outputs): what the committed files
/// give (`NEURITE_BLESS=1` rewrites them). Returns the model.
fn check_firmware_files(name: &str) -> neurite_host::int8_model::Int8Model {
    let data = digits();
    let m = quantised(name, &data);
    let source = format!("tests/litert/neurite_{name}.neurite");
    let module = neurite_host::int8_export::rust_module(&m, &source).unwrap();
    let doc: Value = serde_json::from_str(
        &std::fs::read_to_string(litert_dir().join("neurite_exports.json")).unwrap(),
    )
    .unwrap();
    let case = &doc["models"][name];
    let (inputs, want) = (to_i8s(&case["inputs"]), to_i8s(&case["litert"]));
    let rows = |v: &[Vec<i8>]| {
        v.iter()
            .map(|r| {
                format!("    [{}],\n", r.iter().map(i8::to_string).collect::<Vec<_>>().join(", "))
            })
            .collect::<String>()
    };
    let vectors = format!(
        "//! LiteRT's outputs for `int8_{name}_model.rs` (generated by `tests/tests/litert_exports.rs`\n\
         //! from `tests/litert/neurite_exports.json`): the {n} int8 inputs and LiteRT's outputs.\n\n\
         /// The inputs (60 digits rows quantised, then 20 random vectors).\n\
         pub const INPUTS: [[i8; {i}]; {n}] = [\n{}];\n\n\
         /// LiteRT's outputs (reference kernels).\n\
         pub const LITERT: [[i8; {o}]; {n}] = [\n{}];\n",
        rows(&inputs),
        rows(&want),
        n = inputs.len(),
        i = m.inputs(),
        o = m.outputs(),
    );
    let firmware = Path::new(env!("CARGO_MANIFEST_DIR")).join("../firmware/src");
    let (model_rs, vectors_rs) = (
        firmware.join(format!("int8_{name}_model.rs")),
        firmware.join(format!("int8_{name}_vectors.rs")),
    );
    if std::env::var_os("NEURITE_BLESS").is_some() {
        std::fs::write(&model_rs, &module).unwrap();
        std::fs::write(&vectors_rs, &vectors).unwrap();
    }
    let stale = "is stale: run NEURITE_BLESS=1 cargo test -p neurite-tests --test litert_exports";
    assert!(
        std::fs::read_to_string(&model_rs).unwrap_or_default() == module,
        "{model_rs:?} {stale}"
    );
    assert!(
        std::fs::read_to_string(&vectors_rs).unwrap_or_default() == vectors,
        "{vectors_rs:?} {stale}"
    );
    m
}

/// The exported module's `run`, here on the host, gives LiteRT's outputs on all 80 inputs,
/// and its `quantize` the host's input quantisation; `firmware/src/bin/int8.rs` runs the same
/// on the Cortex-M4F.
macro_rules! firmware_matches_litert {
    ($test:ident, $name:literal, $model:ident, $vectors:ident) => {
        #[test]
        fn $test() {
            let m = check_firmware_files($name);
            use neurite_firmware::$model as fw;
            use neurite_firmware::$vectors::{INPUTS, LITERT};
            let mut scratch = fw::Scratch([0; fw::SCRATCH]);
            for (k, (x, want)) in INPUTS.iter().zip(&LITERT).enumerate() {
                let mut y = [0i8; fw::OUTPUTS];
                fw::run(x, &mut scratch, &mut y);
                assert_eq!(&y, want, "input {k}");
            }
            let data = digits();
            let raw: [f32; 64] = core::array::from_fn(|i| data.row(30)[i]);
            let mut x = [0i8; fw::INPUTS];
            fw::quantize(&raw, &mut x);
            assert_eq!(x.to_vec(), m.quantize_row(&raw));
        }
    };
}

firmware_matches_litert!(
    firmware_int8_mlp_is_the_litert_model,
    "mlp",
    int8_mlp_model,
    int8_mlp_vectors
);
firmware_matches_litert!(
    firmware_int8_cnn_is_the_litert_model,
    "cnn",
    int8_cnn_model,
    int8_cnn_vectors
);
