//! The GPU path (`--features gpu`) against the CPU reference: every kernel through the layer
//! that uses it, on odd sizes (partial tiles, odd batches), every loss and optimiser the GPU
//! runs, the non-finite guard, and a whole digits training.
//!
//! Without a Vulkan adapter each test says so and passes, unless `NEURITE_REQUIRE_GPU=1`
//! (CI sets it after installing lavapipe), when it fails.
#![cfg(feature = "gpu")]

use neurite::init::LayerInit;
use neurite::loss::Target;
use neurite::optim::{AdagradConfig, AdamConfig, RmsPropConfig, SgdConfig};
use neurite::rng::Rng;
use neurite_host::dynamic::{parse_spec, DynLoss, DynModel, DynOptimizer, DynTrainer};
use neurite_host::gpu::{Gpu, GpuTrainer};

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

/// One batch's loss, output and gradients on the GPU and on the CPU: the largest relative
/// differences `(loss, output, gradients)`.
fn compare(
    gpu: &Gpu,
    spec: &str,
    shape: &[usize],
    loss: &DynLoss,
    rows: usize,
    seed: u64,
) -> [f32; 3] {
    let mut m = model(spec, shape, seed);
    let mut rng = Rng::new(seed + 100);
    let xs: Vec<Vec<f32>> = (0..rows).map(|_| random(m.inputs(), &mut rng)).collect();
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
    let (gl, gout, ggrads) = g.gradients(&x, &ts).expect("gpu batch");
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
    let d = compare(gpu, spec, shape, loss, rows, 7);
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
    check(&gpu, "dense(19),relu,dense(5)", &[37], &ce, 13, 2e-6);
    check(&gpu, "dense(70),tanh,dense(130),dense(3)", &[130], &ce, 67, 2e-6);
    check(&gpu, "dense(1)", &[1], &DynLoss::Mse, 1, 2e-6);
}
