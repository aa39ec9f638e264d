//! The fuzz targets' committed inputs replayed on stable Rust: every file of
//! `fuzz/corpus/<target>/` (what `cargo fuzz` found, minimised with `cargo fuzz cmin`) and of
//! `fuzz/seeds/<target>/` (the valid inputs it started from) goes through the target's body
//! (`neurite_tests::fuzz`, the same function the fuzz target calls) without a panic. The
//! seeds must stay valid: a format change that makes them fail to parse would leave the
//! fuzzer starting from nothing. `cargo test --test fuzz_corpus -- --ignored` writes the
//! seeds again (`write_seeds`).

use neurite::model_file::v2::version_of;
use neurite::model_file::{self, save_typed_with_optimizer, Header, Task};
use neurite::prelude::*;
use neurite_host::data::Dataset;
use neurite_host::dynamic::{parse_spec, DynModel};
use neurite_host::export::{from_safetensors, to_safetensors};
use neurite_host::model_io::SavedModel;
use neurite_tests::fuzz::{SPEC_SHAPES, TARGETS};
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::path::{Path, PathBuf};

fn fuzz_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).parent().expect("the repository root").join("fuzz")
}

/// The files of `fuzz/<kind>/<target>/`, sorted.
fn files(kind: &str, target: &str) -> Vec<PathBuf> {
    let dir = fuzz_dir().join(kind).join(target);
    let mut out: Vec<PathBuf> = std::fs::read_dir(&dir)
        .unwrap_or_else(|e| panic!("{}: {e}", dir.display()))
        .map(|e| e.expect("directory entry").path())
        .filter(|p| p.is_file())
        .collect();
    out.sort();
    out
}

#[test]
fn every_corpus_and_seed_file_replays_without_a_panic() {
    let mut failed = Vec::new();
    for (target, body) in TARGETS {
        let corpus = files("corpus", target);
        let seeds = files("seeds", target);
        assert!(!corpus.is_empty() && !seeds.is_empty(), "{target}: no corpus or no seeds");
        for path in corpus.iter().chain(&seeds) {
            let bytes = std::fs::read(path).expect("read a corpus file");
            if catch_unwind(AssertUnwindSafe(|| body(&bytes))).is_err() {
                failed.push(path.display().to_string());
            }
        }
    }
    assert!(failed.is_empty(), "panicked (message above) on:\n{}", failed.join("\n"));
}

fn seed(target: &str, name: &str) -> Vec<u8> {
    let path = fuzz_dir().join("seeds").join(target).join(name);
    std::fs::read(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

#[test]
fn the_seeds_are_valid_inputs() {
    for (name, version) in
        [("v1_dense.nrtm", 1), ("v2_dense.nrtm", 2), ("v2_families.nrtm", 2), ("v2_conv1d.nrtm", 2)]
            .into_iter()
            .chain([("v2_sequence.nrtm", 2), ("v3_adam.nrtm", 3), ("v3_amsgrad.nrtm", 3)])
    {
        let bytes = seed("model_file", name);
        assert_eq!(version_of(&bytes), Some(version), "{name}");
        SavedModel::from_bytes(&bytes).unwrap_or_else(|e| panic!("{name}: {e:?}"));
    }
    for name in ["dense.safetensors", "families.safetensors"] {
        from_safetensors(&seed("safetensors", name), None, None)
            .unwrap_or_else(|e| panic!("{name}: {e:?}"));
    }
    from_safetensors(&seed("safetensors", "dense.safetensors"), Some(SAFETENSORS_SPEC), Some(&[4]))
        .expect("the fixed spec's file");
    for path in files("seeds", "csv") {
        let text = std::fs::read_to_string(&path).expect("UTF-8");
        let target = if path.ends_with("rows_only.csv") { Some("y") } else { None };
        let text = if target.is_some() { format!("a,b,y\n{text}") } else { text };
        Dataset::from_csv_text(&text, &path, target)
            .unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    }
    for path in files("seeds", "layer_spec") {
        let spec = std::fs::read_to_string(&path).expect("UTF-8");
        let nodes = parse_spec(&spec).unwrap_or_else(|e| panic!("{spec}: {e}"));
        assert!(SPEC_SHAPES.iter().any(|s| DynModel::build(&nodes, s).is_ok()), "{spec}");
    }
}

/// The spec the safetensors target also imports every input with (input shape `[4]`).
const SAFETENSORS_SPEC: &str = "dense(5),relu,dense(3)";

/// A spec with every layer family, for a `[1, 6, 6]` input.
const FAMILIES: &str = "conv2d(2,3,padding=1,bias=false),batchnorm2d(eps=0.001),relu,\
    residual(conv2d(2,3,padding=1,groups=2),gelu(tanh)),maxpool2d(2),\
    concat(avgpool2d(3,1,1),conv2d(1,3x1,stride=1x1,padding=1x0)),conv_transpose2d(2,2,stride=2),\
    flatten,dense(4),layernorm,prelu,dropout(0.1),dense(3),log_softmax";

const SPECS: &[&str] = &[
    "dense(64),relu,dense(10)",
    "dense(5),relu,dense(3)",
    "dense(16),relu,dropout(0.25),dense(3)",
    "dense(8),batchnorm1d,tanh,dense(3)",
    "dense(6),gelu,dense(5),prelu(channel),leaky_relu(0.2),dense(5),softplus(2,3),dense(3),log_softmax",
    "linear(4),sigmoid,step,identity,silu,swish,selu,elu(0.5),softmax",
    "residual(dense(16),relu),concat(dense(2),identity),dense(1)",
    "conv2d(8,3,padding=1),relu,maxpool2d(2),flatten,dense(10)",
    "conv2d(4,3x1,stride=2x1,groups=1,bias=false),batchnorm2d,global_avg_pool,dense(2)",
    "conv_transpose2d(2,3,stride=2),avgpool2d(2,stride=1,padding=1),flatten",
    "conv2d(2,3,dilation=2,padding=2),layernorm,flatten,dense(3)",
    "conv1d(3,3,stride=2,padding=1),batchnorm1d,leaky_relu(0.2),flatten,dense(3)",
    "conv1d(3,3,padding=1),maxpool1d(3,stride=2,padding=1),avgpool1d(2),flatten,dense(2)",
    FAMILIES,
    "gru(8),dense(3)",
    "rnn(6,nonlinearity=relu,return=sequence),lstm(4),dense(2)",
    "embedding(10,4),self_attention(2),positional_embedding,gru(6),dense(3)",
];

/// Recurrent and attention layers, for a `[5, 4]` input (steps, features).
const SEQUENCE: &str = "lstm(6,return=sequence),self_attention(2),positional_embedding,\
    rnn(4,return=sequence),gru(4),dense(3)";

fn dyn_model(spec: &str, shape: &[usize], seed: u64) -> DynModel {
    let mut m = DynModel::build(&parse_spec(spec).expect("seed spec"), shape).expect("builds");
    m.init(&LayerInit::XAVIER, &mut Rng::new(seed));
    for (i, b) in m.buffers_mut().into_iter().enumerate() {
        for (j, v) in b.iter_mut().enumerate() {
            *v = 0.5 + 0.125 * (i + j) as f32;
        }
    }
    m
}

fn saved(model: DynModel, task: Task, stats: bool, columns: &[&str]) -> Vec<u8> {
    let n = model.inputs();
    let (means, stds) = if stats { (vec![0.5; n], vec![2.0; n]) } else { (Vec::new(), Vec::new()) };
    let (target_mean, target_std) = if task == Task::Regression { (3.0, 0.5) } else { (0.0, 1.0) };
    let columns = columns.iter().map(|c| c.to_string()).collect();
    SavedModel { model, task, means, stds, target_mean, target_std, columns }
        .to_bytes()
        .expect("a seed model saves")
}

type Typed = neurite::Seq![Dense<3, 4>, Tanh<4>, Dense<4, 2>];
type TypedGrads = <Typed as Layer>::Grads;

fn v3<O: Optimizer<TypedGrads> + OptimizerState<TypedGrads>>(mut opt: O) -> Vec<u8> {
    let mut m = Typed::DEFAULT;
    m.init(&LayerInit::XAVIER, &mut Rng::new(5));
    let mut rng = Rng::new(9);
    for _ in 0..3 {
        let mut g = TypedGrads::ZEROED;
        for t in 0..TypedGrads::TENSORS {
            for v in g.tensor_mut(t) {
                *v = rng.normal();
            }
        }
        opt.step(&mut m, &g);
    }
    let mut file = vec![0u8; 4096];
    let n = save_typed_with_optimizer(&m, &opt, Task::Regression, &mut file).expect("saves");
    file.truncate(n);
    file
}

fn v1() -> Vec<u8> {
    type M = neurite::Seq![Dense<3, 5>, Tanh<5>, Dense<5, 2>, Softmax<2>];
    let mut m = M::DEFAULT;
    m.init(&LayerInit::XAVIER, &mut Rng::new(7));
    let mut descs = Vec::new();
    m.describe(&mut |d| descs.push(d));
    let header = Header {
        task: Task::Classification,
        inputs: 3,
        means: &[0.5, 1.0, -1.0],
        stds: &[2.0, 1.0, 0.5],
        target_mean: 0.0,
        target_std: 1.0,
    };
    let tensors: Vec<&[f32]> = (0..M::TENSORS).map(|i| m.tensor(i)).collect();
    let mut bytes = vec![0u8; model_file::encoded_len(descs.len(), 3, M::LEN)];
    model_file::write(&mut bytes, &header, &descs, tensors).expect("writes");
    bytes
}

/// The first `n` lines of a shipped dataset.
fn head(name: &str, n: usize) -> String {
    let path = neurite_host::data::shipped_data_dir().join(name);
    let text = std::fs::read_to_string(&path).expect("shipped dataset");
    text.lines().take(n).map(|l| format!("{l}\n")).collect()
}

/// Writes `fuzz/seeds/` again: small valid inputs of every target. Run by hand
/// (`--ignored`) after a format change; `the_seeds_are_valid_inputs` checks the result.
#[test]
#[ignore = "writes fuzz/seeds/; run by hand after a format change"]
fn write_seeds() {
    let classes = ["a", "b", "c", "d", "label"];
    let mut seeds: Vec<(&str, String, Vec<u8>)> = vec![
        ("model_file", "v1_dense.nrtm".into(), v1()),
        (
            "model_file",
            "v2_dense.nrtm".into(),
            saved(dyn_model(SAFETENSORS_SPEC, &[4], 1), Task::Classification, true, &classes),
        ),
        (
            "model_file",
            "v2_families.nrtm".into(),
            saved(dyn_model(FAMILIES, &[1, 6, 6], 2), Task::Classification, false, &[]),
        ),
        (
            "model_file",
            "v2_conv1d.nrtm".into(),
            saved(
                dyn_model("conv1d(2,3),batchnorm1d,elu,avgpool1d(2),flatten,dense(1)", &[1, 10], 3),
                Task::Regression,
                true,
                &[],
            ),
        ),
        (
            "model_file",
            "v2_sequence.nrtm".into(),
            saved(dyn_model(SEQUENCE, &[5, 4], 6), Task::Classification, false, &[]),
        ),
        (
            "model_file",
            "v3_adam.nrtm".into(),
            v3(Adam::<TypedGrads>::new(AdamConfig::adam(0.01)).unwrap()),
        ),
        (
            "model_file",
            "v3_amsgrad.nrtm".into(),
            v3(AmsGrad::<TypedGrads>::new(AdamConfig { amsgrad: true, ..AdamConfig::adamw(0.01) })
                .unwrap()),
        ),
        (
            "safetensors",
            "dense.safetensors".into(),
            to_safetensors(&dyn_model(SAFETENSORS_SPEC, &[4], 4)).unwrap(),
        ),
        (
            "safetensors",
            "families.safetensors".into(),
            to_safetensors(&dyn_model(FAMILIES, &[1, 6, 6], 5)).unwrap(),
        ),
        (
            "safetensors",
            "pytorch_iris_mlp.safetensors".into(),
            std::fs::read(
                Path::new(env!("CARGO_MANIFEST_DIR")).join("pytorch/iris_mlp.safetensors"),
            )
            .unwrap(),
        ),
    ];
    for name in ["iris", "wine", "breast_cancer", "diabetes", "digits"] {
        seeds.push(("csv", format!("{name}.csv"), head(&format!("{name}.csv"), 4).into_bytes()));
    }
    seeds.push((
        "csv",
        "crlf_quoted.csv".into(),
        b"x,\"y z\",t\r\n1,\"2.5\",0\r\n-3e-2, 4 ,1\r\n".to_vec(),
    ));
    seeds.push(("csv", "rows_only.csv".into(), b"1,2,0\n3.5,-4,1\n".to_vec()));
    for (i, spec) in SPECS.iter().enumerate() {
        seeds.push(("layer_spec", format!("spec_{i:02}.txt"), spec.as_bytes().to_vec()));
    }
    for (target, name, bytes) in seeds {
        let dir = fuzz_dir().join("seeds").join(target);
        std::fs::create_dir_all(&dir).unwrap();
        std::fs::write(dir.join(name), bytes).unwrap();
    }
}
