//! The digits CNN through the CLI (`--input-shape 1x8x8`), on the canonical split: test
//! accuracy >= 0.985, plain and with batch norm. The seed sweep is in the README.

use assert_cmd::Command;
use neurite_tests::neurite_bin;

use neurite_host::fit::DIGITS_CNN as CNN;
/// The same with batch norm after each convolution (whose bias batch norm makes redundant).
pub const CNN_BN: &str = "conv2d(16,3,padding=1,bias=false),batchnorm2d,relu,maxpool2d(2),\
conv2d(32,3,padding=1,bias=false),batchnorm2d,relu,maxpool2d(2),flatten,dense(10)";

fn accuracy(spec: &str, out: &std::path::Path) -> f64 {
    let data = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../host/data/digits.csv");
    let assert = Command::new(neurite_bin())
        .args(["train", "--data", data.to_str().unwrap(), "--input-shape", "1x8x8"])
        .args(["--layers", spec, "--epochs", "30", "--lr", "0.003", "--seed", "1", "--json"])
        .arg("--out")
        .arg(out)
        .assert()
        .success();
    let stdout = String::from_utf8_lossy(&assert.get_output().stdout).into_owned();
    let last = stdout.lines().last().unwrap_or_default();
    let v: serde_json::Value = serde_json::from_str(last).unwrap();
    v["test_accuracy"].as_f64().unwrap()
}

#[test]
fn digits_cnn_reaches_0_985() {
    let dir = tempfile::tempdir().unwrap();
    let model = dir.path().join("cnn.neurite");
    let acc = accuracy(CNN, &model);
    println!("digits CNN, seed 1: test accuracy {acc:.4}");
    assert!(acc >= 0.985, "test accuracy {acc}");
    // The saved model evaluates to the same accuracy in a new process.
    let data = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../host/data/digits.csv");
    let eval = Command::new(neurite_bin())
        .args([
            "eval",
            "--model",
            model.to_str().unwrap(),
            "--data",
            data.to_str().unwrap(),
            "--json",
        ])
        .assert()
        .success();
    let stdout = String::from_utf8_lossy(&eval.get_output().stdout).into_owned();
    let v: serde_json::Value = serde_json::from_str(stdout.lines().last().unwrap()).unwrap();
    assert_eq!(v["test_accuracy"].as_f64().unwrap(), acc);
}

#[test]
fn digits_cnn_with_batch_norm_reaches_0_985() {
    let dir = tempfile::tempdir().unwrap();
    let acc = accuracy(CNN_BN, &dir.path().join("cnn_bn.neurite"));
    println!("digits CNN with batch norm, seed 1: test accuracy {acc:.4}");
    assert!(acc >= 0.985, "test accuracy {acc}");
}
