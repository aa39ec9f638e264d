//! `neurite bench`: microseconds per inference and per training step.

use super::options::parse_optimizer;
use super::{CliError, CliResult};
use crate::dynamic::{DynLoss, DynTrainer};
use neurite::loss::{Reduction, Target};
use neurite::rng::Rng;
use std::hint::black_box;
use std::time::Instant;

/// Options of `neurite bench`.
#[derive(clap::Args, Debug)]
pub struct BenchArgs {
    #[command(flatten)]
    pub source: super::options::ModelSource,
    /// Optimiser of the training step.
    #[arg(long, default_value = "adam", value_name = "NAME")]
    pub optimizer: String,
    /// Samples per training step.
    #[arg(long, default_value_t = 32, value_name = "N")]
    pub batch: usize,
    /// Timed repetitions.
    #[arg(long, default_value_t = 2000, value_name = "N")]
    pub iters: usize,
    /// End with one JSON line (the suite: one JSON line per case).
    #[arg(long)]
    pub json: bool,
    /// The suite's timing rounds per case (the median round is reported).
    #[arg(long, default_value_t = 7, value_name = "N")]
    pub rounds: usize,
    /// Threads for the dense layers' minibatch work (whole rows or outputs per thread: the
    /// same bits as one).
    #[arg(long, default_value_t = 1, value_name = "N")]
    pub threads: usize,
    /// cpu: the standard suite on the CPU. gpu (a build with `--features gpu`): one training
    /// step of the MLP 512-512-512-10 at batches 64, 256 and 1024 on the GPU beside the CPU's.
    #[arg(long, default_value = "cpu", value_name = "DEVICE")]
    pub device: String,
    /// Runs only the suite's cases whose name contains this (e.g. `cnn`, `b64-train`).
    #[arg(long, default_value = "", value_name = "TEXT")]
    pub case: String,
}

/// The standard suite (`neurite_host::bench`): one line per case, JSON with `--json`.
fn suite(a: &BenchArgs) -> CliResult {
    if a.rounds == 0 {
        return Err(CliError::bad("--rounds must be at least 1"));
    }
    if !a.json {
        outln!(
            "{:<36}{:>14}{:>10}   ({} thread{}; {} build of the dense kernels)",
            "case",
            "us per batch",
            "GFLOP/s",
            a.threads,
            if a.threads == 1 { "" } else { "s" },
            if crate::dynamic::simd::avx() { "AVX" } else { "portable" }
        );
    }
    crate::bench::run_suite(a.rounds, &a.case, |m| {
        if a.json {
            outln!("{}", m.to_json());
        } else {
            outln!("{:<36}{:>14.3}{:>10.2}", m.name, m.us_per_batch, m.gflops);
        }
    });
    Ok(())
}

/// `--device gpu`: the GPU cases beside the CPU's (`crate::gpu::bench`).
#[cfg(feature = "gpu")]
fn gpu_suite(a: &BenchArgs) -> CliResult {
    let gpu = crate::gpu::Gpu::new().map_err(|e| CliError::fail(format!("--device gpu: {e}")))?;
    if !a.json {
        outln!("GPU: {}", gpu.describe());
        outln!("{:<40}{:>14}{:>10}{:>10}", "case", "us per batch", "GFLOP/s", "speedup");
    }
    crate::gpu::bench::run_suite(&gpu, a.rounds, &a.case, |m| {
        if a.json {
            outln!("{}", m.to_json());
        } else {
            let speedup = m.speedup.map_or(String::new(), |s| format!("{s:.2}x"));
            outln!("{:<40}{:>14.3}{:>10.2}{:>10}", m.name, m.us_per_batch, m.gflops, speedup);
        }
    })
    .map_err(CliError::fail)
}

#[cfg(not(feature = "gpu"))]
fn gpu_suite(_: &BenchArgs) -> CliResult {
    Err(CliError::bad(
        "--device gpu: this neurite was built without the `gpu` feature (cargo run --release --features gpu -- bench --device gpu)",
    ))
}

/// Runs `neurite bench`: the standard suite without a model, else the one model given.
pub fn run(a: &BenchArgs) -> CliResult {
    if a.threads == 0 || a.threads > 256 {
        return Err(CliError::bad("--threads must be 1 to 256"));
    }
    crate::dynamic::threads::set_threads(a.threads);
    match a.device.as_str() {
        "cpu" => {}
        "gpu" if a.source.model.is_none() && a.source.layers.is_none() => {
            if a.rounds == 0 {
                return Err(CliError::bad("--rounds must be at least 1"));
            }
            return gpu_suite(a);
        }
        "gpu" => {
            return Err(CliError::bad(
                "--device gpu runs the standard GPU cases; it takes no --model or --layers",
            ))
        }
        other => return Err(CliError::bad(format!("--device is cpu or gpu, not '{other}'"))),
    }
    if a.source.model.is_none() && a.source.layers.is_none() {
        return suite(a);
    }
    let model = a.source.load("bench")?;
    if a.iters == 0 || a.batch == 0 {
        return Err(CliError::bad("--iters and --batch must be at least 1"));
    }
    crate::dynamic::op::checked_values(&[a.batch, model.inputs()], "--batch's inputs")
        .map_err(CliError::bad)?;
    let mut rng = Rng::new(7);
    let xs: Vec<Vec<f32>> =
        (0..a.batch).map(|_| (0..model.inputs()).map(|_| rng.normal()).collect()).collect();
    let classes = model.outputs();
    let start = Instant::now();
    for i in 0..a.iters {
        black_box(model.forward(black_box(&xs[i % xs.len()])));
    }
    let infer_us = start.elapsed().as_secs_f64() * 1e6 / a.iters as f64;

    let mut m = model.clone();
    let lens: Vec<usize> = m.tensors().iter().map(|t| t.len()).collect();
    let mut opt =
        parse_optimizer(&a.optimizer, 1e-3, 0.9, 0.0)?.build(&lens).map_err(CliError::bad)?;
    let mut trainer = DynTrainer::new(&m);
    let loss = DynLoss::CrossEntropy(None, 0.0);
    let steps = (a.iters / a.batch).max(10);
    let start = Instant::now();
    for _ in 0..steps {
        trainer.begin();
        let rows: Vec<&[f32]> = xs.iter().map(Vec::as_slice).collect();
        let targets: Vec<Target<'_>> = (0..xs.len()).map(|i| Target::Class(i % classes)).collect();
        loss.with(|l| trainer.accumulate_batch(&mut m, l, &rows, &targets, false).map(|_| ()))
            .map_err(CliError::fail)?;
        loss.with(|l| trainer.finish(l, Reduction::Mean, classes)).map_err(CliError::fail)?;
        opt.step(&mut m.tensors_mut(), &trainer.grads);
    }
    let step_us = start.elapsed().as_secs_f64() * 1e6 / steps as f64;
    let macs = model.macs();
    if a.json {
        outln!(
            "{}",
            serde_json::json!({"inference_us": infer_us, "train_step_us": step_us, "batch": a.batch, "params": model.param_count(), "macs": macs})
        );
    } else {
        outln!(
            "{} parameters, {macs} multiply-accumulates per inference (runtime-shaped path)",
            model.param_count()
        );
        outln!("inference:            {infer_us:>10.3} us per sample");
        outln!(
            "training step:        {step_us:>10.3} us per batch of {} ({}, cross-entropy)",
            a.batch,
            a.optimizer
        );
        outln!("training per sample:  {:>10.3} us", step_us / a.batch as f64);
    }
    Ok(())
}
