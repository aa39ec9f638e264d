//! Recurrent layers through the `neurite` binary: the digits as 8 time steps of 8 pixels
//! (`--input-shape 8x8`), trained, saved, and evaluated from the saved file. Training is
//! deterministic, so the accuracies are asserted exactly (seed 1).

use assert_cmd::Command;
use neurite_tests::neurite_bin;
use serde_json::Value;

fn json_tail(stdout: &[u8]) -> Value {
    let text = String::from_utf8_lossy(stdout);
    let last = text.lines().last().unwrap_or_default();
    serde_json::from_str(last).unwrap_or_else(|e| panic!("last line is not JSON ({e}): {last}"))
}

#[test]
fn a_gru_and_an_lstm_learn_the_digits_row_by_row() {
    let dir = tempfile::tempdir().unwrap();
    let data = neurite_host::data::shipped_data_dir().join("digits.csv");
    // measured with seed 1, 5 epochs (the README gives longer runs: 0.965 and above)
    for (spec, expected) in [("gru(16),dense(10)", 0.9222), ("lstm(16),dense(10)", 0.8972)] {
        let model = dir.path().join("seq.nrtm");
        let out = Command::new(neurite_bin())
            .args(["train", "--data"])
            .arg(&data)
            .args(["--input-shape", "8x8", "--layers", spec, "--epochs", "5", "--lr", "0.01"])
            .args(["--seed", "1", "--json", "--out"])
            .arg(&model)
            .output()
            .unwrap();
        assert!(out.status.success(), "{spec}: {}", String::from_utf8_lossy(&out.stderr));
        let acc = json_tail(&out.stdout)["test_accuracy"].as_f64().unwrap();
        println!("{spec}: test accuracy {acc:.4}");
        assert!((acc - expected).abs() < 5e-5, "{spec}: test accuracy {acc}");
        // the saved file holds the recurrent layer: evaluating it gives the same accuracy
        let eval = Command::new(neurite_bin())
            .args(["eval", "--model"])
            .arg(&model)
            .arg("--data")
            .arg(&data)
            .arg("--json")
            .output()
            .unwrap();
        assert!(eval.status.success(), "{}", String::from_utf8_lossy(&eval.stderr));
        let again = json_tail(&eval.stdout)["test_accuracy"].as_f64().unwrap();
        assert_eq!(again, acc, "{spec}: eval of the saved model");
    }
}

/// The README's sequence commands (seed 1) reach the sequence issue's targets on the digits
/// read row by row: GRU and LSTM >= 0.965, a transformer encoder block >= 0.975 (the README's
/// sweeps give seeds 2 and 3). Deterministic, so the accuracies are asserted exactly.
#[test]
fn the_readme_sequence_commands_reach_their_targets() {
    let dir = tempfile::tempdir().unwrap();
    let data = neurite_host::data::shipped_data_dir().join("digits.csv");
    let transformer = "dense(32),positional_embedding,residual(self_attention(4)),layernorm,\
                       residual(dense(64),relu,dense(32)),layernorm,flatten,dense(10)";
    for (spec, epochs, lr, expected, target) in [
        ("gru(64),dense(10)", "60", "0.003", 348, 0.965),
        ("lstm(64),dense(10)", "40", "0.005", 348, 0.965),
        (transformer, "50", "0.002", 352, 0.975),
    ] {
        let out = Command::new(neurite_bin())
            .args(["train", "--data"])
            .arg(&data)
            .args(["--input-shape", "8x8", "--layers", spec, "--epochs", epochs, "--lr", lr])
            .args(["--seed", "1", "--json", "--quiet"])
            .current_dir(dir.path())
            .output()
            .unwrap();
        assert!(out.status.success(), "{spec}: {}", String::from_utf8_lossy(&out.stderr));
        let acc = json_tail(&out.stdout)["test_accuracy"].as_f64().unwrap();
        println!("{spec}: test accuracy {acc:.4}");
        assert!((acc * 360.0 - f64::from(expected)).abs() < 1e-3, "{spec}: test accuracy {acc}");
        assert!(acc >= target, "{spec}: {acc} < {target}");
    }
}

/// A GRU, an LSTM and a self-attention model trained in PyTorch
/// (`tests/pytorch/make_recurrent_safetensors.py`), imported from their safetensors state
/// dicts by PyTorch's parameter names (`nn.MultiheadAttention`'s `in_proj_weight`,
/// `out_proj.weight`, ...), give PyTorch's outputs.
#[test]
fn pytorch_trained_gru_and_lstm_import_with_pytorch_outputs() {
    let here = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("pytorch");
    let text = std::fs::read_to_string(here.join("digits_recurrent_expected.json")).unwrap();
    let expected: Value = serde_json::from_str(&text).unwrap();
    let dir = tempfile::tempdir().unwrap();
    for name in ["gru", "lstm", "attention"] {
        let case = &expected["models"][name];
        let out = dir.path().join(format!("{name}.nrtm"));
        let run = Command::new(neurite_bin())
            .args(["import", "--safetensors"])
            .arg(here.join(format!("digits_{name}.safetensors")))
            .args(["--layers", case["layers"].as_str().unwrap()])
            .args(["--input-shape", case["input_shape"].as_str().unwrap(), "--out"])
            .arg(&out)
            .output()
            .unwrap();
        assert!(run.status.success(), "{name}: {}", String::from_utf8_lossy(&run.stderr));
        let saved =
            neurite_host::model_io::SavedModel::from_bytes(&std::fs::read(&out).unwrap()).unwrap();
        let floats = |v: &Value| -> Vec<f32> {
            v.as_array().unwrap().iter().map(|x| x.as_f64().unwrap() as f32).collect()
        };
        let (xs, want) = (case["x"].as_array().unwrap(), case["output"].as_array().unwrap());
        assert_eq!(xs.len(), 30);
        for (x, w) in xs.iter().zip(want) {
            let got = saved.predict(&floats(x));
            neurite_tests::close(name, &got, &floats(w), 1e-5, 1e-5).unwrap();
        }
    }
}

/// A model that starts with an embedding reads each row as token indices (the digits'
/// pixel intensities 0..16 as 64 tokens here): not standardised, saved and evaluated as
/// trained; a value that is not a token index is refused with its file, line and column.
#[test]
fn an_embedding_reads_tokens_and_refuses_other_values() {
    let dir = tempfile::tempdir().unwrap();
    let data = neurite_host::data::shipped_data_dir().join("digits.csv");
    let model = dir.path().join("tokens.nrtm");
    let train = |spec: &str| {
        Command::new(neurite_bin())
            .args(["train", "--data"])
            .arg(&data)
            .args(["--layers", spec, "--epochs", "2", "--seed", "1", "--json", "--out"])
            .arg(&model)
            .output()
            .unwrap()
    };
    let out = train("embedding(17,4),flatten,dense(10)");
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let acc = json_tail(&out.stdout)["test_accuracy"].as_f64().unwrap();
    assert!(acc > 0.8, "test accuracy {acc}");
    let saved =
        neurite_host::model_io::SavedModel::from_bytes(&std::fs::read(&model).unwrap()).unwrap();
    assert!(saved.means.is_empty(), "token indices are not standardised");
    let eval = Command::new(neurite_bin())
        .args(["eval", "--json", "--model"])
        .arg(&model)
        .arg("--data")
        .arg(&data)
        .output()
        .unwrap();
    assert_eq!(json_tail(&eval.stdout)["test_accuracy"].as_f64(), Some(acc));
    // pixel intensities go up to 16: a table of 10 rows cannot take them
    std::fs::remove_file(&model).unwrap();
    let out = train("embedding(10,4),flatten,dense(10)");
    assert_eq!(out.status.code(), Some(2));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("digits.csv line 3, column 'pixel_0_3': 12 is not a token index"),
        "{err}"
    );
    assert!(!model.exists(), "no model file after a refused run");
}

/// A transformer encoder block through the binary: the digits' rows as 8 tokens, projected,
/// positions added, self-attention and a feed-forward block each in a residual followed by a
/// layer norm; saved and evaluated as trained.
#[test]
fn a_transformer_block_learns_the_digits_row_by_row() {
    let dir = tempfile::tempdir().unwrap();
    let data = neurite_host::data::shipped_data_dir().join("digits.csv");
    let model = dir.path().join("transformer.nrtm");
    let spec = "dense(16),positional_embedding,residual(self_attention(2)),layernorm,residual(dense(32),relu,dense(16)),layernorm,flatten,dense(10)";
    let out = Command::new(neurite_bin())
        .args(["train", "--data"])
        .arg(&data)
        .args(["--input-shape", "8x8", "--layers", spec, "--epochs", "3", "--lr", "0.003"])
        .args(["--seed", "1", "--json", "--out"])
        .arg(&model)
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let acc = json_tail(&out.stdout)["test_accuracy"].as_f64().unwrap();
    // measured with seed 1, 3 epochs: 0.9444
    assert!((acc - 0.9444).abs() < 5e-5, "test accuracy {acc}");
    let eval = Command::new(neurite_bin())
        .args(["eval", "--json", "--model"])
        .arg(&model)
        .arg("--data")
        .arg(&data)
        .output()
        .unwrap();
    assert_eq!(json_tail(&eval.stdout)["test_accuracy"].as_f64(), Some(acc));
}
