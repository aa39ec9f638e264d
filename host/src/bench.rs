//! The benchmark cases `neurite bench` runs, `benches/` times with criterion and
//! `benches/compare_pytorch.py` runs in PyTorch beside them: inference and one training step
//! (SGD and Adam, cross-entropy, mean) of the runtime-shaped model, the path the CLI trains
//! with, and a 1024^3 matrix product through the blocked dense kernel.
//!
//! Timing: after a warm-up, [`time_us`] runs the work in rounds of about 20 ms and reports
//! the median round's time per call, so a slow moment on a shared machine moves it little.
//! `gflops`: 2 flops per multiply-accumulate; a training step counts three products per
//! layer (forward, weight gradient, input gradient), so `3 x` inference's.

use crate::dynamic::backend::DEFAULT;
use crate::dynamic::{parse_spec, DynLoss, DynModel, DynOptimizer, DynTrainer, Workspace};
use neurite::init::LayerInit;
use neurite::loss::{Reduction, Target};
use neurite::optim::{AdamConfig, SgdConfig};
use neurite::rng::Rng;
use std::hint::black_box;
use std::time::Instant;

/// A model the suite runs.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ModelCase {
    /// Short name: `mlp-4-16-3`, `digits-cnn`.
    pub name: &'static str,
    /// Layer spec (`neurite train --layers`).
    pub spec: &'static str,
    /// One sample's shape.
    pub input_shape: &'static [usize],
    /// Samples per batch, each run as its own case.
    pub batches: &'static [usize],
}

/// The suite's models (issue "Performance"): the MLPs 4-16-3 (batch 1 and 16), 64-64-10
/// (32), 784-128-10 (64), 512-512-512-10 (64), and the digits CNN (32, 8x8 images).
pub const MODELS: [ModelCase; 5] = [
    ModelCase {
        name: "mlp-4-16-3",
        spec: "dense(16),relu,dense(3)",
        input_shape: &[4],
        batches: &[1, 16],
    },
    ModelCase {
        name: "mlp-64-64-10",
        spec: "dense(64),relu,dense(10)",
        input_shape: &[64],
        batches: &[32],
    },
    ModelCase {
        name: "mlp-784-128-10",
        spec: "dense(128),relu,dense(10)",
        input_shape: &[784],
        batches: &[64],
    },
    ModelCase {
        name: "mlp-512-512-512-10",
        spec: "dense(512),relu,dense(512),relu,dense(10)",
        input_shape: &[512],
        batches: &[64],
    },
    ModelCase { name: "digits-cnn", spec: DIGITS_CNN, input_shape: &[1, 8, 8], batches: &[32] },
];

/// The digits CNN (`tests/tests/cnn.rs`): two conv-batchnorm-relu-maxpool stages, then dense.
pub const DIGITS_CNN: &str = "conv2d(16,3,padding=1,bias=false),batchnorm2d,relu,maxpool2d(2),\
conv2d(32,3,padding=1,bias=false),batchnorm2d,relu,maxpool2d(2),flatten,dense(10)";

/// The side of the matrix product case.
pub const MATMUL: usize = 1024;

/// One measured case, as `neurite bench --json` prints it.
#[derive(Clone, Debug, PartialEq)]
pub struct Measurement {
    /// `mlp-784-128-10-b64-train-adam`, `matmul-1024`, ...
    pub name: String,
    /// Layer widths (`[784, 128, 10]`), the CNN's name, or the product's `[m, k, n]`.
    pub shape: serde_json::Value,
    /// Samples per batch (rows of the product).
    pub batch: usize,
    /// `inference`, `train` or `matmul`.
    pub kind: &'static str,
    /// The training step's optimiser.
    pub optimizer: Option<&'static str>,
    /// Microseconds per batch (per product).
    pub us_per_batch: f64,
    /// Billions of floating-point operations per second.
    pub gflops: f64,
    /// The product only: one core's peak measured in the same run ([`peak_gflops`]).
    pub peak_gflops: Option<f64>,
    /// Where it ran, when not on the CPU (`gpu: <adapter>`).
    pub device: Option<String>,
    /// A GPU case: the CPU's time for the same step (measured in the same run) over this one.
    pub speedup: Option<f64>,
}

impl Measurement {
    /// The JSON object `neurite bench --json` prints.
    pub fn to_json(&self) -> serde_json::Value {
        let mut json = serde_json::json!({
            "name": self.name,
            "shape": self.shape,
            "batch": self.batch,
            "kind": self.kind,
            "optimizer": self.optimizer,
            "us_per_batch": self.us_per_batch,
            "gflops": self.gflops,
            "peak_gflops": self.peak_gflops,
            "threads": crate::dynamic::threads::threads(),
        });
        if let (Some(device), Some(map)) = (&self.device, json.as_object_mut()) {
            map.insert("device".into(), device.clone().into());
            map.insert("speedup".into(), self.speedup.into());
        }
        json
    }
}

/// Microseconds per call of `f`: the median of `rounds` rounds of about 20 ms each, after a
/// warm-up round.
pub fn time_us(rounds: usize, mut f: impl FnMut()) -> f64 {
    let start = Instant::now();
    let mut calls = 0u64;
    while calls < 3 || start.elapsed().as_secs_f64() < 0.02 {
        f();
        calls += 1;
    }
    let per_call = start.elapsed().as_secs_f64() / calls as f64;
    let per_round = ((0.02 / per_call) as u64).max(1);
    let mut times: Vec<f64> = (0..rounds.max(1))
        .map(|_| {
            let t = Instant::now();
            for _ in 0..per_round {
                f();
            }
            t.elapsed().as_secs_f64() * 1e6 / per_round as f64
        })
        .collect();
    times.sort_by(f64::total_cmp);
    times[times.len() / 2]
}

/// Microseconds per call of an asynchronous `step` (a GPU step that only submits its
/// work): rounds of about 50 ms of calls each ended by `wait`, the median round, after a
/// warm-up round; so the time is the device's throughput with the steps pipelined, as in
/// training, not the latency of one step.
pub fn time_pipelined_us(rounds: usize, mut step: impl FnMut(), wait: impl Fn()) -> f64 {
    let start = Instant::now();
    for _ in 0..3 {
        step();
    }
    wait();
    let per_call = start.elapsed().as_secs_f64() / 3.0;
    let per_round = ((0.05 / per_call) as u64).max(3);
    let mut times: Vec<f64> = (0..rounds.max(1))
        .map(|_| {
            let t = Instant::now();
            for _ in 0..per_round {
                step();
            }
            wait();
            t.elapsed().as_secs_f64() * 1e6 / per_round as f64
        })
        .collect();
    times.sort_by(f64::total_cmp);
    times[times.len() / 2]
}

/// Builds a case's model (He-uniform, seed 1, as `neurite bench --layers`).
pub fn build(case: &ModelCase) -> DynModel {
    let layers = parse_spec(case.spec).expect("the suite's specs parse");
    let mut model = DynModel::build(&layers, case.input_shape).expect("the suite's models build");
    model.init(&LayerInit::HE_RELU, &mut Rng::new(1));
    model
}

/// Inputs (standard normal, seed 7) and class labels `i % classes` for `batch` samples.
pub fn batch_data(model: &DynModel, batch: usize) -> (Vec<f32>, Vec<usize>) {
    let mut rng = Rng::new(7);
    let x = (0..batch * model.inputs()).map(|_| rng.normal()).collect();
    (x, (0..batch).map(|i| i % model.outputs()).collect())
}

/// The optimisers of the training cases: SGD (lr 0.01) and Adam (lr 0.001).
pub fn optimizer(name: &str) -> DynOptimizer {
    match name {
        "sgd" => DynOptimizer::Sgd(SgdConfig::new(0.01)),
        _ => DynOptimizer::Adam(AdamConfig::adam(1e-3), false),
    }
}

/// A training step's work, ready to run: [`TrainStep::step`] is one batch's forward,
/// backward and optimiser step.
pub struct TrainStep {
    model: DynModel,
    trainer: DynTrainer,
    opt: crate::dynamic::DynOptimizerState,
    x: Vec<f32>,
    labels: Vec<usize>,
    loss: DynLoss,
}

impl TrainStep {
    /// The step for `model` on a batch of `batch` with optimiser `optimizer` (`sgd`, `adam`).
    pub fn new(model: &DynModel, batch: usize, optimizer_name: &str) -> Self {
        let model = model.clone();
        let lens: Vec<usize> = model.tensors().iter().map(|t| t.len()).collect();
        let opt = optimizer(optimizer_name).build(&lens).expect("valid optimiser");
        let (x, labels) = batch_data(&model, batch);
        let trainer = DynTrainer::new(&model);
        Self { model, trainer, opt, x, labels, loss: DynLoss::CrossEntropy(None, 0.0) }
    }

    /// One step; returns the batch loss.
    pub fn step(&mut self) -> f32 {
        let inputs = self.model.inputs();
        let rows: Vec<&[f32]> = self.x.chunks(inputs).collect();
        let targets: Vec<Target<'_>> = self.labels.iter().map(|&c| Target::Class(c)).collect();
        let classes = self.model.outputs();
        let (model, trainer) = (&mut self.model, &mut self.trainer);
        trainer.begin();
        let loss = self.loss.with(|l| {
            trainer.accumulate_batch(model, l, &rows, &targets, false)?;
            trainer.finish(l, Reduction::Mean, classes).map(|(v, _)| v)
        });
        self.opt.step(&mut self.model.tensors_mut(), &self.trainer.grads);
        loss.expect("the suite's steps are finite")
    }
}

/// An MLP's layer widths as JSON (`[512, 512, 512, 10]`): its input, then each dense
/// layer's outputs (a measurement's `shape`).
pub fn widths(model: &DynModel) -> serde_json::Value {
    let mut widths = vec![model.inputs()];
    widths.extend(
        model
            .inference_layers()
            .filter(|l| l.kind().name == "dense")
            .map(|l| l.output_shape().iter().product::<usize>()),
    );
    serde_json::json!(widths)
}

/// Runs every case of the suite whose name contains `filter` (`rounds` timing rounds each),
/// calling `report` as each finishes.
pub fn run_suite(rounds: usize, filter: &str, mut report: impl FnMut(&Measurement)) {
    let wanted = |name: &str| name.contains(filter);
    for case in &MODELS {
        let model = build(case);
        let shape = if case.name.starts_with("mlp") {
            widths(&model)
        } else {
            serde_json::json!(case.name)
        };
        let flops = 2.0 * model.macs() as f64;
        for &batch in case.batches {
            let (x, _) = batch_data(&model, batch);
            let mut ws = Workspace::default();
            let name = format!("{}-b{batch}-inference", case.name);
            if wanted(&name) {
                let us = time_us(rounds, || {
                    black_box(model.forward_batch(&DEFAULT, black_box(&x), batch, &mut ws));
                });
                report(&Measurement {
                    name,
                    shape: shape.clone(),
                    batch,
                    kind: "inference",
                    optimizer: None,
                    us_per_batch: us,
                    gflops: flops * batch as f64 / us / 1e3,
                    peak_gflops: None,
                    device: None,
                    speedup: None,
                });
            }
            for opt in ["sgd", "adam"] {
                let name = format!("{}-b{batch}-train-{opt}", case.name);
                if !wanted(&name) {
                    continue;
                }
                let mut step = TrainStep::new(&model, batch, opt);
                let us = time_us(rounds, || {
                    black_box(step.step());
                });
                report(&Measurement {
                    name,
                    shape: shape.clone(),
                    batch,
                    kind: "train",
                    optimizer: Some(opt),
                    us_per_batch: us,
                    gflops: 3.0 * flops * batch as f64 / us / 1e3,
                    peak_gflops: None,
                    device: None,
                    speedup: None,
                });
            }
        }
    }
    if wanted(&format!("matmul-{MATMUL}")) {
        report(&matmul(rounds));
    }
}

/// Multiply-add throughput with no memory traffic, for the matrix product's peak: each of
/// `rounds` rounds multiplies 6 independent 8-lane chains by `m` and adds `a` to 6 others
/// (96 flops, separate multiplies and adds: 6 chains cover a 3-cycle latency on two
/// multiply and two add pipes, and the 12 chains and 2 constants fit in the 16 vector
/// registers). Returns a checksum.
#[inline(always)]
pub fn peak_loop(rounds: usize, m: f32, a: f32) -> f32 {
    let mut x = [[1.0f32; 8]; 6];
    let mut y = [[0.0f32; 8]; 6];
    for _ in 0..rounds {
        for v in &mut x {
            for l in v {
                *l *= m;
            }
        }
        for v in &mut y {
            for l in v {
                *l += a;
            }
        }
    }
    x.iter().flatten().chain(y.iter().flatten()).sum()
}

/// One core's measured peak in GFLOP/s for separate multiplies and adds ([`peak_loop`] in
/// the build the dense kernels use: AVX when the CPU has it).
pub fn peak_gflops(rounds: usize) -> f64 {
    const ROUNDS: usize = 100_000;
    let us = time_us(rounds, || {
        black_box(crate::dynamic::simd::peak_loop(ROUNDS, black_box(1.0), black_box(0.0)));
    });
    96.0 * ROUNDS as f64 / us / 1e3
}

/// The 1024^3 matrix product `C = A B^T` (`A`, `B` 1024 x 1024) through the blocked dense
/// forward (a dense layer of 1024 outputs, zero bias, on 1024 rows).
pub fn matmul(rounds: usize) -> Measurement {
    let n = MATMUL;
    let mut rng = Rng::new(3);
    let a: Vec<f32> = (0..n * n).map(|_| rng.normal()).collect();
    let b: Vec<f32> = (0..n * n).map(|_| rng.normal()).collect();
    let bias = vec![0.0; n];
    let mut c = vec![0.0; n * n];
    use crate::dynamic::backend::Backend;
    let us = time_us(rounds, || {
        DEFAULT.dense_forward(black_box(&b), &bias, black_box(&a), &mut c, n);
    });
    let peak = peak_gflops(rounds);
    Measurement {
        peak_gflops: Some(peak),
        device: None,
        speedup: None,
        name: format!("matmul-{n}"),
        shape: serde_json::json!([n, n, n]),
        batch: n,
        kind: "matmul",
        optimizer: None,
        us_per_batch: us,
        gflops: 2.0 * (n * n * n) as f64 / us / 1e3,
    }
}
