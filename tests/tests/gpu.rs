//! The GPU path (`--features gpu`) against the CPU reference: every kernel through the layer
//! that uses it, on odd sizes (partial tiles, odd batches), every loss and optimiser the GPU
//! runs, the non-finite guard, and a whole digits training.
//!
//! Tolerance: the largest `|gpu - cpu| / (1 + |cpu|)` of a loss, an output or a gradient,
//! [`TOLERANCE`]. Measured on lavapipe (Mesa 22.3.6): at most 2.0e-7 over every case here;
//! the bound leaves room for a hardware GPU's fused multiply-adds and `exp`.
//!
//! Without a Vulkan adapter each test says so and passes, unless `NEURITE_REQUIRE_GPU=1`
//! (CI sets it after installing lavapipe), when it fails.
#![cfg(feature = "gpu")]

use neurite::init::LayerInit;
use neurite::loss::Target;
use neurite::optim::{AdagradConfig, AdamConfig, RmsPropConfig, SgdConfig};
use neurite::rng::Rng;
use neurite_host::dynamic::{parse_spec, DynLoss, DynModel, DynOptimizer, DynTrainer};
use neurite_host::fit::{self, TrainConfig};
use neurite_host::gpu::{Gpu, GpuTrainer};
use neurite_host::placement::Device;

/// See the file's header.
const TOLERANCE: f32 = 1e-6;

/// The GPU, or `None` after saying why (a failure when `NEURITE_REQUIRE_GPU=1`).
fn gpu() -> Option<Gpu> {
    match Gpu::new() {
        Ok(g) => {
            eprintln!("GPU: {}", g.describe());
            Some(g)
        }
        Err(e) if std::env::var("NEURITE_REQUIRE_GPU").is_ok_and(|v| v == "1") => {
            panic!("NEURITE_REQUIRE_GPU=1 but no GPU: {e}")
        }
        Err(e) => {
            eprintln!("skipped: {e}");
            None
        }
    }
}

/// Largest `|a - b| / (1 + |b|)` over two equally long slices.
fn max_rel(a: &[f32], b: &[f32]) -> f32 {
    assert_eq!(a.len(), b.len());
    a.iter().zip(b).map(|(x, y)| (x - y).abs() / (1.0 + y.abs())).fold(0.0, f32::max)
}

fn random(n: usize, rng: &mut Rng) -> Vec<f32> {
    (0..n).map(|_| rng.normal()).collect()
}

/// A model of `spec` on samples of `shape`, initialised from `seed`.
fn model(spec: &str, shape: &[usize], seed: u64) -> DynModel {
    let mut m = DynModel::build(&parse_spec(spec).expect("spec"), shape).expect("model");
    m.init(&LayerInit::TORCH_DEFAULT, &mut Rng::new(seed));
    m
}

/// Targets for `loss`: classes below `outputs`, or values.
fn targets(loss: &DynLoss, rows: usize, outputs: usize, rng: &mut Rng) -> (Vec<usize>, Vec<f32>) {
    let classes = (0..rows).map(|_| rng.below(outputs)).collect();
    let values =
        (0..rows * outputs)
            .map(|_| {
                if matches!(loss, DynLoss::BceWithLogits(_)) {
                    rng.uniform()
                } else {
                    rng.normal()
                }
            })
            .collect();
    (classes, values)
}

/// One batch's loss, output and gradients on the GPU and on the CPU (the model and the
/// input rows changed by `prepare` first): the largest relative differences `(loss, output, gradients)`.
fn compare(
    gpu: &Gpu,
    spec: &str,
    shape: &[usize],
    loss: &DynLoss,
    rows: usize,
    prepare: &dyn Fn(&mut DynModel, &mut [Vec<f32>]),
) -> [f32; 3] {
    let seed = 7;
    let mut m = model(spec, shape, seed);
    let mut rng = Rng::new(seed + 100);
    let mut xs: Vec<Vec<f32>> = (0..rows).map(|_| random(m.inputs(), &mut rng)).collect();
    prepare(&mut m, &mut xs);
    let (classes, values) = targets(loss, rows, m.outputs(), &mut rng);
    let k = m.outputs();
    let ts: Vec<Target<'_>> = (0..rows)
        .map(|r| {
            if loss.wants_class() {
                Target::Class(classes[r])
            } else {
                Target::Values(&values[r * k..(r + 1) * k])
            }
        })
        .collect();
    let x: Vec<&[f32]> = xs.iter().map(Vec::as_slice).collect();
    let lens: Vec<usize> = m.tensors().iter().map(|t| t.len()).collect();
    let opt = DynOptimizer::Sgd(SgdConfig::new(0.1)).build(&lens).expect("optimiser");
    let mut g = GpuTrainer::new(gpu, &m, loss, &opt, rows).expect("lowered");
    let got = g.gradients(&x, &ts).expect("gpu batch");
    let (gl, gout, ggrads) = (got.loss, got.output, got.grads);
    let mut cpu = DynTrainer::new(&m);
    let (cl, cout, cgrads) = loss.with(|l| {
        cpu.begin();
        cpu.accumulate_batch(&mut m, l, &x, &ts, false).expect("cpu batch");
        let out = cpu.output().to_vec();
        let (value, _) = cpu.finish(l, neurite::loss::Reduction::Mean, k).expect("finite");
        (value, out, cpu.grads.clone())
    });
    let grads = ggrads.iter().zip(&cgrads).map(|(a, b)| max_rel(a, b)).fold(0.0, f32::max);
    [max_rel(&[gl], &[cl]), max_rel(&gout, &cout), grads]
}

fn check(gpu: &Gpu, spec: &str, shape: &[usize], loss: &DynLoss, rows: usize, tol: f32) {
    check_with(gpu, spec, shape, loss, rows, tol, &|_, _| {});
}

#[allow(clippy::too_many_arguments)]
fn check_with(
    gpu: &Gpu,
    spec: &str,
    shape: &[usize],
    loss: &DynLoss,
    rows: usize,
    tol: f32,
    prepare: &dyn Fn(&mut DynModel, &mut [Vec<f32>]),
) {
    let d = compare(gpu, spec, shape, loss, rows, prepare);
    eprintln!(
        "{spec} {shape:?} {loss:?} rows {rows}: loss {:.1e} output {:.1e} grads {:.1e}",
        d[0], d[1], d[2]
    );
    assert!(d.iter().all(|&v| v <= tol), "{spec} {loss:?}: {d:?} above {tol}");
}

/// The tiled matrix multiply in its three uses (forward, weight and input gradients) on
/// sizes that leave partial 64 x 64 tiles and 16-deep k steps, and on one of several tiles.
#[test]
fn dense_layers_match_the_cpu() {
    let Some(gpu) = gpu() else { return };
    let ce = DynLoss::CrossEntropy(None, 0.0);
    check(&gpu, "dense(19),relu,dense(5)", &[37], &ce, 13, TOLERANCE);
    check(&gpu, "dense(70),tanh,dense(130),dense(3)", &[130], &ce, 67, TOLERANCE);
    check(&gpu, "dense(1)", &[1], &DynLoss::Mse, 1, TOLERANCE);
    // dense on the last axis of [T, F] samples: batch x T rows
    check(&gpu, "dense(6),relu,dense(2),flatten,dense(3)", &[4, 5], &ce, 11, TOLERANCE);
    // a long k and a small weight gradient: the multiply split into parts of k, then summed
    check(&gpu, "dense(5),relu,dense(3)", &[7], &ce, 600, TOLERANCE);
}

/// Every activation of the core, forward and backward, between two dense layers.
#[test]
fn every_activation_matches_the_cpu() {
    let Some(gpu) = gpu() else { return };
    let ce = DynLoss::CrossEntropy(None, 0.0);
    for act in [
        "identity",
        "step",
        "sigmoid",
        "tanh",
        "relu",
        "leaky_relu(0.2)",
        "softplus(2,1)",
        "gelu",
        "gelu(tanh)",
        "silu",
        "swish(1.5)",
        "elu(0.5)",
        "selu",
    ] {
        check(&gpu, &format!("dense(33),{act},dense(4)"), &[9], &ce, 21, TOLERANCE);
        // the kinks: a first layer of zeros feeds exactly 0.0 to the activation, whose
        // derivative there (PyTorch's convention, the core's) reaches the first layer's
        // gradients
        let zero_first = |m: &mut DynModel, _: &mut [Vec<f32>]| {
            for t in m.tensors_mut().into_iter().take(2) {
                t.fill(0.0);
            }
        };
        check_with(&gpu, &format!("dense(5),{act},dense(4)"), &[3], &ce, 4, TOLERANCE, &zero_first);
    }
}

/// Every loss the GPU computes, with class weights and label smoothing.
#[test]
fn every_gpu_loss_matches_the_cpu() {
    let Some(gpu) = gpu() else { return };
    for loss in [
        DynLoss::CrossEntropy(None, 0.0),
        DynLoss::CrossEntropy(Some(vec![0.5, 2.0, 1.0, 0.25]), 0.1),
        DynLoss::Nll(Some(vec![1.0, 3.0, 0.5, 2.0])),
        DynLoss::Mse,
        DynLoss::Mae,
        DynLoss::Huber(0.7),
        DynLoss::BceWithLogits(None),
        DynLoss::BceWithLogits(Some(vec![2.0, 0.5, 1.0, 3.0])),
        DynLoss::BceWithLogits(Some(vec![1.5])),
        DynLoss::Quantile(0.3),
        DynLoss::Tukey(1.2),
        DynLoss::Barron(1.0, 0.8),
        DynLoss::Barron(0.0, 1.1),
        DynLoss::Barron(2.0, 0.9),
        DynLoss::Barron(-4.0, 0.7),
        DynLoss::Barron(f32::NEG_INFINITY, 1.3),
    ] {
        let spec =
            if matches!(loss, DynLoss::Nll(_)) { "dense(4),log_softmax" } else { "dense(4)" };
        check(&gpu, spec, &[11], &loss, 17, TOLERANCE);
    }
    for spec in ["dense(6),softmax,dense(4)", "dense(3),log_softmax,dense(4)"] {
        check(&gpu, spec, &[5], &DynLoss::CrossEntropy(None, 0.0), 17, TOLERANCE);
    }
    // over the last axis of [T, F] samples: batch x T rows
    for spec in ["dense(6),softmax,flatten,dense(4)", "dense(3),log_softmax,flatten,dense(4)"] {
        check(&gpu, spec, &[3, 5], &DynLoss::CrossEntropy(None, 0.0), 9, TOLERANCE);
    }
}

/// Convolutions (im2col, the batched matrix multiply, col2im, the permuted bias sums) with
/// stride, padding and dilation, 1-D and 2-D, and max and average pooling with overlapping
/// and padded windows.
#[test]
fn convolutions_and_pools_match_the_cpu() {
    let Some(gpu) = gpu() else { return };
    let ce = DynLoss::CrossEntropy(None, 0.0);
    for (spec, shape) in [
        ("conv2d(5,3,padding=1),relu,flatten,dense(3)", &[2usize, 7, 6][..]),
        // (a 1x1 convolution first, so that the strided one computes its input's gradient)
        ("conv2d(3,1),conv2d(4,3x2,stride=2x1,padding=1x0,dilation=1x2),flatten,dense(3)", &[3, 9, 8]),
        ("conv2d(3,3,bias=false),tanh,flatten,dense(3)", &[1, 5, 5]),
        ("conv1d(6,3,stride=2,padding=2),relu,flatten,dense(3)", &[2, 13]),
        ("conv2d(4,3,padding=1),relu,maxpool2d(2),flatten,dense(3)", &[1, 8, 8]),
        ("conv2d(4,3),maxpool2d(3,stride=2,padding=1),flatten,dense(3)", &[2, 9, 7]),
        ("conv2d(4,3),avgpool2d(3,stride=2,padding=1),flatten,dense(3)", &[2, 9, 7]),
        ("maxpool1d(3,stride=2),flatten,dense(3)", &[3, 11]),
        ("conv2d(4,3),avgpool2d(3x2,stride=2x1,padding=1x1),flatten,dense(3)", &[2, 9, 7]),
        ("conv2d(4,3),maxpool2d(3x2,stride=1x2,padding=1x1),flatten,dense(3)", &[2, 9, 7]),
        ("conv2d(2,1),conv2d(3,4,stride=3,padding=2),relu,flatten,dense(3)", &[2, 10, 11]),
        ("conv1d(2,1),conv1d(6,3,stride=3,padding=2,dilation=2),flatten,dense(3)", &[2, 17]),
        ("conv2d(16,3,padding=1),relu,maxpool2d(2),conv2d(32,3,padding=1),relu,maxpool2d(2),flatten,dense(10)", &[1, 8, 8]),
    ] {
        check(&gpu, spec, shape, &ce, 19, TOLERANCE);
    }
    // ties in max pooling (the first maximum of the window wins): integer inputs and
    // weights make equal window values, whose positions the convolution's weight gradient
    // tells apart
    let integers = |m: &mut DynModel, xs: &mut [Vec<f32>]| {
        for v in m.tensors_mut().into_iter().take(2).flatten().chain(xs.iter_mut().flatten()) {
            *v = (*v * 2.0).round();
        }
    };
    for spec in [
        "conv2d(3,2),maxpool2d(2),flatten,dense(3)",
        "conv2d(3,2),maxpool2d(3,stride=2,padding=1),flatten,dense(3)",
    ] {
        check_with(&gpu, spec, &[1, 7, 7], &ce, 9, TOLERANCE, &integers);
    }
}

/// Layers, losses and options the GPU does not run are refused with a message that says
/// what it runs, not run wrongly.
#[test]
fn unsupported_models_are_refused_with_a_reason() {
    let Some(gpu) = gpu() else { return };
    let opt = |m: &DynModel| {
        let lens: Vec<usize> = m.tensors().iter().map(|t| t.len()).collect();
        DynOptimizer::Sgd(SgdConfig::new(0.1)).build(&lens).expect("optimiser")
    };
    let ce = DynLoss::CrossEntropy(None, 0.0);
    let m = model("dense(8),layernorm,dense(3)", &[5], 1);
    let e = GpuTrainer::new(&gpu, &m, &ce, &opt(&m), 8).expect_err("layernorm");
    let ok = model("dense(8),relu,dense(3)", &[5], 1);
    let t = GpuTrainer::new(&gpu, &ok, &ce, &opt(&ok), 8).expect("lowered");
    assert!(format!("{t:?}").starts_with("GpuTrainer { layers: [GpuLayer { lowered: Dense"));
    // batches larger than the buffers, targets not one per row: errors, nothing run
    let mut t = t;
    let row = [0.5f32; 5];
    let rows: Vec<&[f32]> = vec![&row; 9];
    let ts: Vec<Target<'_>> = vec![Target::Class(1); 9];
    let too_many = neurite::Error::LengthMismatch { expected: 8, found: 9 };
    assert_eq!(t.gradients(&rows, &ts).err(), Some(too_many));
    assert_eq!(t.epoch(&rows, &ts, 9, None).err(), Some(too_many));
    let short = neurite::Error::LengthMismatch { expected: 8, found: 7 };
    assert_eq!(t.gradients(&rows[..8], &ts[..7]).err(), Some(short));
    assert_eq!(t.gradients(&[], &[]).err(), Some(neurite::Error::Empty));
    assert_eq!(t.epoch(&[], &[], 4, None).err(), Some(neurite::Error::Empty));
    assert_eq!(t.epoch(&rows[..8], &ts[..8], 0, None).err(), Some(neurite::Error::Empty));
    // a bad target in the second batch: the epoch stops there and names it
    let mut bad = ts[..8].to_vec();
    bad[5] = Target::Class(3);
    assert_eq!(
        t.epoch(&rows[..8], &bad, 3, None).err(),
        Some(neurite::Error::ClassOutOfRange { class: 3, classes: 3 })
    );
    assert_eq!(t.epoch_batch, (2, 3));
    assert!(e.contains("layer 2 (layernorm) has no GPU kernel"), "{e}");
    let m = model("conv2d(4,3,groups=2),flatten,dense(3)", &[2, 5, 5], 1);
    let e = GpuTrainer::new(&gpu, &m, &ce, &opt(&m), 8).expect_err("groups");
    assert!(e.contains("groups > 1"), "{e}");
    let m = model("dense(3)", &[5], 1);
    let e = GpuTrainer::new(&gpu, &m, &DynLoss::Dice(1.0), &opt(&m), 8).expect_err("dice");
    assert!(e.contains("has no GPU kernel") && e.contains("cross_entropy"), "{e}");
    let e = GpuTrainer::new(&gpu, &m, &DynLoss::Focal(2.0, 0.25), &opt(&m), 8).expect_err("focal");
    assert!(e.contains("has no GPU kernel") && e.contains("cross_entropy"), "{e}");
}

/// Three steps of every optimiser the CPU runs, with their options, on the GPU: the tensors
/// and the optimiser state come back within the tolerance of the CPU's.
#[test]
fn every_optimizer_matches_the_cpu() {
    let Some(gpu) = gpu() else { return };
    let adam = AdamConfig { weight_decay: 0.01, ..AdamConfig::adam(0.01) };
    for opt in [
        DynOptimizer::Sgd(SgdConfig::new(0.1)),
        DynOptimizer::Sgd(SgdConfig {
            momentum: 0.9,
            dampening: 0.1,
            weight_decay: 0.01,
            ..SgdConfig::new(0.05)
        }),
        DynOptimizer::Sgd(SgdConfig { momentum: 0.9, nesterov: true, ..SgdConfig::new(0.05) }),
        DynOptimizer::Adagrad(AdagradConfig {
            lr_decay: 0.1,
            weight_decay: 0.01,
            initial_accumulator_value: 0.1,
            ..AdagradConfig::new(0.1)
        }),
        DynOptimizer::RmsProp(RmsPropConfig::new(0.01)),
        DynOptimizer::RmsProp(RmsPropConfig {
            momentum: 0.5,
            centered: true,
            weight_decay: 0.01,
            ..RmsPropConfig::new(0.01)
        }),
        DynOptimizer::Adam(adam, false),
        DynOptimizer::Adam(AdamConfig::adamw(0.01), true),
    ] {
        let d = train_both(&gpu, "dense(12),relu,dense(3)", &[6], opt.clone(), 3, 10);
        eprintln!("{opt:?}: tensors {:.1e} state {:.1e}", d[0], d[1]);
        // centred RMSprop divides by sqrt(v - avg^2), a difference of nearly equal numbers
        // that magnifies rounding: 3.5e-6 measured on its state
        let centred = matches!(opt, DynOptimizer::RmsProp(c) if c.centered);
        let tol = if centred { 5.0 * TOLERANCE } else { TOLERANCE };
        assert!(d.iter().all(|&v| v <= tol), "{opt:?}: {d:?}");
    }
}

/// `epochs` epochs of `opt` on 30 random rows (batches of `batch`, the last one short; the
/// rate halved after the first epoch) on the GPU and on the CPU from the same weights and
/// shuffles: the largest relative
/// differences of the tensors and of the optimiser state.
fn train_both(
    gpu: &Gpu,
    spec: &str,
    shape: &[usize],
    opt: DynOptimizer,
    epochs: usize,
    batch: usize,
) -> [f32; 2] {
    let mut cpu_model = model(spec, shape, 3);
    let mut gpu_model = cpu_model.clone();
    let mut rng = Rng::new(9);
    let xs: Vec<Vec<f32>> = (0..30).map(|_| random(cpu_model.inputs(), &mut rng)).collect();
    let ts: Vec<Target<'_>> = (0..30).map(|i| Target::Class(i % 3)).collect();
    let x: Vec<&[f32]> = xs.iter().map(Vec::as_slice).collect();
    let lens: Vec<usize> = cpu_model.tensors().iter().map(|t| t.len()).collect();
    let mut cpu_opt = opt.clone().build(&lens).expect("optimiser");
    let mut gpu_opt = cpu_opt.clone();
    let loss = DynLoss::CrossEntropy(None, 0.0);
    let mut g = GpuTrainer::new(gpu, &gpu_model, &loss, &gpu_opt, batch).expect("lowered");
    let mut cpu = DynTrainer::new(&cpu_model);
    let (mut r1, mut r2) = (Rng::new(5), Rng::new(5));
    for epoch in 0..epochs {
        // a schedule: the rate halves after the first epoch
        if epoch == 1 {
            let lr = cpu_opt.lr() * 0.5;
            cpu_opt.set_lr(lr);
            g.set_lr(lr);
        }
        let cl = loss.with(|l| {
            cpu.epoch(
                &mut cpu_model,
                &mut cpu_opt,
                l,
                neurite::loss::Reduction::Mean,
                &x,
                &ts,
                batch,
                Some(&mut r1),
                |_, _| {},
            )
        });
        let gl = g.epoch(&x, &ts, batch, Some(&mut r2)).expect("gpu epoch");
        let cl = cl.expect("cpu epoch");
        assert!(max_rel(&[gl], &[cl]) <= TOLERANCE, "epoch loss {gl} vs {cl}");
    }
    g.download(&mut gpu_model, Some(&mut gpu_opt));
    assert_eq!(gpu_opt.steps, cpu_opt.steps);
    let tensors = gpu_model
        .tensors()
        .iter()
        .zip(cpu_model.tensors())
        .map(|(a, b)| max_rel(a, b))
        .fold(0.0, f32::max);
    let state = gpu_opt
        .slots()
        .iter()
        .zip(cpu_opt.slots())
        .flat_map(|(a, b)| a.iter().zip(b).map(|(x, y)| max_rel(x, y)))
        .fold(0.0, f32::max);
    [tensors, state]
}

/// A batch whose loss overflows ends the epoch with `NonFiniteLoss`, names the batch, and
/// neither it nor any later batch updates the model (the CPU's contract).
#[test]
fn a_non_finite_batch_stops_without_updating() {
    let Some(gpu) = gpu() else { return };
    let mut m = model("dense(4),relu,dense(1)", &[3], 2);
    let before = m.clone();
    let mut rng = Rng::new(1);
    let xs: Vec<Vec<f32>> = (0..12).map(|_| random(3, &mut rng)).collect();
    let mut values: Vec<[f32; 1]> = (0..12).map(|_| [rng.normal()]).collect();
    values[0] = [3e30]; // (p - t)^2 overflows
    let ts: Vec<Target<'_>> = values.iter().map(|v| Target::Values(v)).collect();
    let x: Vec<&[f32]> = xs.iter().map(Vec::as_slice).collect();
    let lens: Vec<usize> = m.tensors().iter().map(|t| t.len()).collect();
    let opt = DynOptimizer::Sgd(SgdConfig::new(0.1)).build(&lens).expect("optimiser");
    let mut g = GpuTrainer::new(&gpu, &m, &DynLoss::Mse, &opt, 4).expect("lowered");
    // unshuffled: row 0 is in the first batch of three
    assert_eq!(g.epoch(&x, &ts, 4, None), Err(neurite::Error::NonFiniteLoss));
    assert_eq!(g.epoch_batch, (1, 3));
    g.download(&mut m, None);
    assert_eq!(m.tensors(), before.tensors(), "no update after the failing batch");
}

/// The digits MLP (the demo's) and CNN (the README's) trained end to end on the GPU through
/// `fit::train`: each reaches the CPU's test accuracy within one point, and the model file
/// written after GPU training loads and predicts as the trained model.
#[test]
fn digits_trains_on_the_gpu_to_the_cpu_accuracy() {
    let Some(_gpu) = gpu() else { return };
    let data = neurite_host::data::Dataset::load_csv(
        &std::path::PathBuf::from(concat!(env!("CARGO_MANIFEST_DIR"), "/../host/data/digits.csv")),
        None,
    )
    .expect("digits");
    let (train, test) = data.canonical_split();
    for cfg in [TrainConfig::digits_demo(30), TrainConfig::digits_cnn(30)] {
        let accuracy = |device| {
            let cfg = TrainConfig { device, ..cfg.clone() };
            let t = fit::train(&cfg, &train, &test, |_| {}).expect("trains");
            assert_eq!(t.placement.gpu, device == Device::Gpu, "{}", t.placement.reason);
            (t.history.last().expect("epochs").test_metric, t)
        };
        let (on_cpu, _) = accuracy(Device::Cpu);
        let (on_gpu, trained) = accuracy(Device::Gpu);
        eprintln!("{:?}: cpu {on_cpu:.4}, gpu {on_gpu:.4}", cfg.layers.len());
        assert!((on_gpu - on_cpu).abs() <= 0.01, "gpu {on_gpu} vs cpu {on_cpu}");
        let bytes = trained.saved.to_bytes().expect("model file");
        let loaded = neurite_host::model_io::SavedModel::from_bytes(&bytes).expect("loads");
        for i in 0..test.len() {
            let row = test.row(i);
            assert_eq!(loaded.predict(row), trained.saved.predict(row), "row {i}");
        }
    }
}

fn neurite_gpu() -> assert_cmd::Command {
    assert_cmd::Command::new(neurite_tests::neurite_gpu_bin())
}

fn digits() -> String {
    neurite_host::data::shipped_data_dir().join("digits.csv").display().to_string()
}

fn json_tail(stdout: &[u8]) -> serde_json::Value {
    let text = String::from_utf8_lossy(stdout);
    serde_json::from_str(text.lines().last().unwrap_or_default()).expect("a JSON line")
}

/// `neurite train --device gpu|auto` (the binary built with the feature): gpu trains there
/// and says on which adapter; auto says why it chose the CPU (a software adapter); a model
/// the GPU cannot run is refused with the layer named, exit status 2.
#[test]
fn cli_trains_on_the_device_it_names() {
    let Some(_gpu) = gpu() else { return };
    let args = ["train", "--data", &digits(), "--epochs", "2", "--seed", "1", "--json"];
    let out = neurite_gpu().args(args).args(["--device", "gpu"]).output().expect("runs");
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let j = json_tail(&out.stdout);
    assert!(j["device"].as_str().is_some_and(|d| d.starts_with("gpu: ")), "{j}");
    assert!(j["test_accuracy"].as_f64().is_some_and(|a| a > 0.9), "{j}");
    let out = neurite_gpu().args(args).args(["--device", "auto"]).output().expect("runs");
    let j = json_tail(&out.stdout);
    let reason = j["device"].as_str().unwrap_or_default();
    let gpu = Gpu::new().expect("adapter");
    if gpu.is_software() {
        assert!(
            reason.starts_with("cpu (auto): the GPU adapter found") && reason.contains("software"),
            "{reason}"
        );
    } else {
        // the demo MLP's batch of 32 is far below the multiply-accumulates where a GPU gains
        assert!(reason.contains("multiply-accumulates per batch"), "{reason}");
    }
    let out = neurite_gpu()
        .args(args)
        .args(["--device", "gpu", "--layers", "dense(16),layernorm,dense(10)"])
        .output()
        .expect("runs");
    assert_eq!(out.status.code(), Some(2));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("--device gpu: layer 2 (layernorm) has no GPU kernel"), "{err}");
    assert!(!err.contains("panicked"), "{err}");
}

/// No Vulkan driver (the loader pointed at none): `--device gpu` says so and trains on the
/// CPU, never a panic; `bench --device gpu` fails with the same message.
#[test]
fn without_an_adapter_the_cli_says_so_and_uses_the_cpu() {
    let none = [
        ("VK_ICD_FILENAMES", "/nonexistent/icd.json"),
        ("VK_DRIVER_FILES", "/nonexistent/icd.json"),
    ];
    let args = ["train", "--data", &digits(), "--epochs", "1", "--json", "--device", "gpu"];
    let out = neurite_gpu().args(args).envs(none).output().expect("runs");
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let j = json_tail(&out.stdout);
    let reason = j["device"].as_str().unwrap_or_default();
    assert!(reason.starts_with("cpu: no GPU: no Vulkan GPU adapter"), "{reason}");
    assert!(reason.contains("mesa-vulkan-drivers"), "{reason}");
    let out = neurite_gpu().args(["bench", "--device", "gpu"]).envs(none).output().expect("runs");
    assert_eq!(out.status.code(), Some(1));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("--device gpu: no Vulkan GPU adapter") && !err.contains("panicked"),
        "{err}"
    );
}

/// `neurite bench --device gpu --json`: for each batch the CPU's step and the GPU's, the
/// GPU's with its device and its speedup over the CPU's (the ratio of the two times).
#[test]
fn bench_reports_gpu_and_cpu_side_by_side() {
    let Some(_gpu) = gpu() else { return };
    let out = neurite_gpu()
        .args(["bench", "--device", "gpu", "--json", "--rounds", "1", "--case", "b64"])
        .output()
        .expect("runs");
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let lines: Vec<serde_json::Value> = String::from_utf8_lossy(&out.stdout)
        .lines()
        .map(|l| serde_json::from_str(l).expect("JSON"))
        .collect();
    assert_eq!(lines.len(), 2, "{lines:?}");
    assert_eq!(lines[0]["name"], "mlp-512-512-512-10-b64-train-adam");
    assert_eq!(lines[1]["name"], "mlp-512-512-512-10-b64-train-adam-gpu");
    let (cpu, gpu) = (
        lines[0]["us_per_batch"].as_f64().unwrap_or(0.0),
        lines[1]["us_per_batch"].as_f64().unwrap_or(0.0),
    );
    assert!(cpu > 0.0 && gpu > 0.0);
    let speedup = lines[1]["speedup"].as_f64().unwrap_or(0.0);
    assert!((speedup - cpu / gpu).abs() <= 1e-9 * speedup, "{speedup} vs {cpu}/{gpu}");
    assert!(lines[1]["device"].as_str().is_some_and(|d| d.starts_with("gpu: ")));
}

/// The adapter in words (what `--device` reports): its name and backend, software or not.
#[test]
fn the_adapter_is_described() {
    let Some(gpu) = gpu() else { return };
    let text = gpu.describe();
    assert!(text.contains("(Vulkan, "), "{text}");
    assert!(format!("{gpu:?}").contains(&text));
    // lavapipe's adapter is llvmpipe, a software one; a hardware GPU's name is its own
    assert_eq!(gpu.is_software(), text.starts_with("llvmpipe"), "{text}");
    assert_eq!(gpu.is_software(), text.contains("software, on the CPU"), "{text}");
    let none = neurite_host::gpu::GpuUnavailable("no Vulkan GPU adapter".into());
    assert_eq!(none.to_string(), "no Vulkan GPU adapter");
}

/// `GpuTrainer::step` (what `bench --device gpu` times) is one training step: the weights
/// after it are those of a one-batch epoch.
#[test]
fn a_step_is_a_one_batch_epoch() {
    let Some(gpu) = gpu() else { return };
    let m = model("dense(7),relu,dense(3)", &[4], 5);
    let mut rng = Rng::new(2);
    let xs: Vec<Vec<f32>> = (0..6).map(|_| random(4, &mut rng)).collect();
    let x: Vec<&[f32]> = xs.iter().map(Vec::as_slice).collect();
    let ts: Vec<Target<'_>> = (0..6).map(|i| Target::Class(i % 3)).collect();
    let lens: Vec<usize> = m.tensors().iter().map(|t| t.len()).collect();
    let opt = DynOptimizer::Adam(AdamConfig::adam(0.01), false).build(&lens).expect("optimiser");
    let ce = DynLoss::CrossEntropy(None, 0.0);
    let (mut stepped, mut epoch) = (m.clone(), m.clone());
    let mut a = GpuTrainer::new(&gpu, &m, &ce, &opt, 6).expect("lowered");
    a.step(&x, &ts).expect("step");
    a.wait();
    a.download(&mut stepped, None);
    let mut b = GpuTrainer::new(&gpu, &m, &ce, &opt, 6).expect("lowered");
    b.epoch(&x, &ts, 6, None).expect("epoch");
    b.download(&mut epoch, None);
    assert_ne!(stepped.tensors(), m.tensors(), "the step changed the weights");
    assert_eq!(stepped.tensors(), epoch.tensors());
}
